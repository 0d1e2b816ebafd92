//! Alarms about a balanced site from what its recomputation sees, each
//! raised when its condition starts and resolved when it ends. The site's
//! state keeps the ids of those open ([`LoadState::alarms`]), so a run
//! touches the alarm store only on a change.
//!
//! - **Grid meter silent** (`gridMeterSilent`, warning): the site balances
//!   on a grid meter and its latest reading is older than the meter's
//!   `staleAfterSeconds` (or none came that long after the configuration):
//!   the chargers share the fallback current meanwhile.
//! - **Site over its fuse** (`siteOverFuse`, critical): a fresh grid meter
//!   reading shows a phase drawing more than the main fuse, by measurement.
//!   The balancer lowers the chargers at once; if it persists, the
//!   building's own load is more than the fuse.

use csms_domain::alarm::{Alarm, Severity};
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::{SiteId, Timestamp};

/// Alarm kind of a grid meter that stopped reporting.
pub const METER_SILENT_KIND: &str = "gridMeterSilent";
/// Alarm kind of a site whose measured draw is over its main fuse.
pub const OVER_FUSE_KIND: &str = "siteOverFuse";

pub fn meter_silent_alarm_id(site: &SiteId) -> String {
    format!("grid-meter-silent:{site}")
}

pub fn over_fuse_alarm_id(site: &SiteId) -> String {
    format!("site-over-fuse:{site}")
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The site's load alarms whose condition holds with `state` at `now`.
pub fn conditions(site: &LoadSite, state: &LoadState, now: Timestamp) -> Vec<Alarm> {
    let cfg = &site.config;
    let Some(meter) = &cfg.meter else {
        return Vec::new();
    };
    let stale_after = chrono::TimeDelta::seconds(meter.stale_after_seconds.into());
    let id = &site.site_id;
    let mut out = Vec::new();
    let last = state.grid.map(|g| g.at);
    let silent = match last {
        Some(at) => now - at > stale_after,
        None => now - site.updated_at > stale_after,
    };
    if silent {
        out.push(Alarm {
            title: Some(format!("Grid meter of site {id} is silent")),
            message: format!(
                "the grid meter of site {id} has sent no reading {}; the chargers share the fallback of {} A per phase meanwhile",
                last.map_or("since the site was configured".to_owned(), |at| format!("since {}", rfc3339(at))),
                meter.fallback_a
            ),
            action: Some(match &meter.station_id {
                Some(st) => format!("check meter station {st}: its connection and that it sends Current.Import per phase outside a transaction"),
                None => "check what posts the meter's readings to POST /sites/{id}/load/meter (its schedule, network and key)".to_owned(),
            }),
            details: serde_json::json!({
                "siteId": id.as_str(),
                "lastReadingAt": last.map(rfc3339),
                "staleAfterSeconds": meter.stale_after_seconds,
                "fallbackA": meter.fallback_a.to_string(),
                "meterStationId": meter.station_id.as_ref().map(|s| s.as_str()),
            }),
            ..Alarm::opened(
                meter_silent_alarm_id(id),
                site.org_id.clone(),
                METER_SILENT_KIND,
                Severity::Warning,
                now,
            )
        });
        return out;
    }
    let Some(reading) = state.grid else {
        return out;
    };
    let fuse = cfg.grid_fuse_a.as_array();
    let drawn = reading.current_a.as_array();
    let over: Vec<usize> = (0..3).filter(|&p| drawn[p] > fuse[p]).collect();
    if !over.is_empty() {
        let phases: Vec<String> = over
            .iter()
            .map(|&p| format!("L{}: {} A of {} A", p + 1, drawn[p], fuse[p]))
            .collect();
        out.push(Alarm {
            title: Some(format!("Site {id} draws more than its main fuse")),
            message: format!(
                "the grid meter of site {id} measured more than the main fuse at {} ({})",
                rfc3339(reading.at),
                phases.join(", ")
            ),
            action: Some(
                "the balancer lowers the chargers at once; if it lasts, the building's own load is over the fuse: check large loads, the fuse size in the site's configuration and the meter's phase order"
                    .to_owned(),
            ),
            details: serde_json::json!({
                "siteId": id.as_str(),
                "measuredAt": rfc3339(reading.at),
                "currentA": drawn.map(|a| a.to_string()),
                "fuseA": fuse.map(|a| a.to_string()),
            }),
            ..Alarm::opened(
                over_fuse_alarm_id(id),
                site.org_id.clone(),
                OVER_FUSE_KIND,
                Severity::Critical,
                now,
            )
        });
    }
    out
}
