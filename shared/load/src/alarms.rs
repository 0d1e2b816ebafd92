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
//! - **Charging profile ignored** (`profileIgnored`, warning): an EVSE
//!   whose Current.Import (any phase) is above the limit of the TxProfile
//!   it accepted for its running transaction, by more than the
//!   organisation's tolerance (default 10 % + 1 A), for longer than its time
//!   (default 2 minutes), by the charger's reading times. The readings
//!   already come into the state with each MeterValues signal; each run
//!   keeps since when an EVSE has been over ([`EvseLoadState::over_limit_since`],
//!   saved with the state anyway) and reads the organisation's tolerance
//!   only when an EVSE is more than [`ProfileTolerance::MIN_AMPS`] over its
//!   limit (no tolerance allows less). While it holds, each run repeats on
//!   the open alarm with the latest reading (two requests a run, only
//!   then). A reading within the tolerance resolves it; so does the transaction ending or the limit being raised
//!   above what it draws. Power.Active.Import is not compared: the
//!   balancer limits in amperes and keeps currents.

use csms_domain::alarm::{Alarm, ProfileTolerance, Severity};
use csms_domain::load::{EvseLoadState, LoadSite, LoadState, SentLimit, SentStatus};
use csms_domain::{SiteId, StationId, Timestamp};
use rust_decimal::Decimal;

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

/// Alarm kind of a charger that draws more than its charging profile.
pub const PROFILE_IGNORED_KIND: &str = "profileIgnored";

pub fn profile_ignored_alarm_id(station: &StationId, evse: u32) -> String {
    format!("profile-ignored:{station}:{evse}")
}

/// The TxProfile an EVSE accepted for its running transaction, and the
/// highest phase current it measured after the profile was sent, when that
/// is more than [`ProfileTolerance::MIN_AMPS`] above the limit (less is
/// within any tolerance).
pub fn drawing_over(es: &EvseLoadState) -> Option<(&SentLimit, Decimal)> {
    let profile = es.profile.as_ref()?;
    let measured = es.measured?;
    let running = es.transaction_id.is_some()
        && (profile.transaction_id.is_none() || profile.transaction_id == es.transaction_id);
    if profile.status != SentStatus::Accepted || !running || measured.at <= profile.sent_at {
        return None;
    }
    let drawn = measured
        .current_a
        .as_array()
        .into_iter()
        .max()
        .unwrap_or_default();
    (drawn > profile.limit_a + Decimal::from(ProfileTolerance::MIN_AMPS))
        .then_some((profile, drawn))
}

/// Keeps since when each EVSE has drawn more than its profile allows by
/// `tolerance` (read by the caller only when [`drawing_over`] says one
/// might: without it none is over). A limit sent after the EVSE went over
/// starts the time anew.
pub fn track_profiles(state: &mut LoadState, tolerance: Option<ProfileTolerance>) {
    for es in &mut state.evses {
        let over = match (drawing_over(es), tolerance, es.measured) {
            (Some((profile, drawn)), Some(t), Some(m)) if drawn > t.allowed(profile.limit_a) => {
                Some(profile.sent_at.max(m.at))
            }
            _ => None,
        };
        es.over_limit_since = match (over, es.over_limit_since, es.profile.as_ref()) {
            (None, _, _) => None,
            (Some(_), Some(since), Some(p)) if since > p.sent_at => Some(since),
            (Some(first), _, _) => Some(first),
        };
    }
}

/// The `profileIgnored` alarms that hold: EVSEs over their profile by the
/// tolerance since at least its time before their latest reading.
pub fn profile_conditions(
    site: &LoadSite,
    state: &LoadState,
    tolerance: Option<ProfileTolerance>,
    now: Timestamp,
) -> Vec<Alarm> {
    let Some(tolerance) = tolerance else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for es in &state.evses {
        let (Some(since), Some(measured), Some((profile, drawn))) =
            (es.over_limit_since, es.measured, drawing_over(es))
        else {
            continue;
        };
        if measured.at - since < tolerance.duration() {
            continue;
        }
        let station = &es.station_id;
        let evse = es.evse_id;
        let mins = (measured.at - since).num_seconds();
        out.push(Alarm {
            title: Some(format!(
                "Station {station} EVSE {evse} draws more than its charging profile"
            )),
            message: format!(
                "station {station} EVSE {evse} has drawn more than its limit of {} A (allowed {} A with the tolerance) for {mins} s: {drawn} A at {}",
                profile.limit_a,
                tolerance.allowed(profile.limit_a),
                rfc3339(measured.at)
            ),
            action: Some(
                "check that the charger applies charging profiles (its firmware, a local limit that overrides the CSMS, the phase order of its meter); until it does, lower the site's fuse or take the charger out of load balancing, since the balancer counts on the limits it sends"
                    .to_owned(),
            ),
            details: serde_json::json!({
                "siteId": site.site_id.as_str(),
                "stationId": station.as_str(),
                "evseId": evse,
                "transactionId": es.transaction_id,
                "limitA": profile.limit_a.to_string(),
                "allowedA": tolerance.allowed(profile.limit_a).to_string(),
                "measuredA": measured.current_a.as_array().map(|a| a.to_string()),
                "measuredAt": rfc3339(measured.at),
                "overSince": rfc3339(since),
                "profileSentAt": rfc3339(profile.sent_at),
                "tolerance": {
                    "percent": tolerance.percent(),
                    "amps": tolerance.amps(),
                    "seconds": tolerance.secs(),
                },
            }),
            ..Alarm::opened(
                profile_ignored_alarm_id(station, evse),
                site.org_id.clone(),
                PROFILE_IGNORED_KIND,
                Severity::Warning,
                now,
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};
    use csms_domain::load::{Measured, PhaseAmps};
    use csms_domain::OrgId;

    fn t(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_790_000_000, 0).unwrap() + TimeDelta::seconds(secs)
    }

    fn a(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn site() -> LoadSite {
        LoadSite {
            site_id: SiteId::parse("garage").unwrap(),
            org_id: OrgId::default_org(),
            config: csms_domain::load::LoadConfig::new(
                csms_domain::load::LoadMode::Static,
                PhaseAmps::uniform(a("32")),
                Vec::new(),
            ),
            updated_at: t(0),
            version: 1,
        }
    }

    /// An EVSE held to 16 A since t(0), charging transaction `tx-1`.
    fn state() -> LoadState {
        let mut s = LoadState::new(SiteId::parse("garage").unwrap());
        let es = s.evse_mut(&StationId::parse("CP-1").unwrap(), 1);
        es.transaction_id = Some("tx-1".into());
        es.profile = Some(SentLimit {
            limit_a: a("16"),
            phases: 3,
            transaction_id: Some("tx-1".into()),
            command_id: "cmd-1".into(),
            status: SentStatus::Accepted,
            sent_at: t(0),
            before: None,
        });
        s
    }

    fn read(s: &mut LoadState, at: i64, l1: &str) {
        s.evses[0].measured = Some(Measured {
            at: t(at),
            current_a: PhaseAmps::from_array([a(l1), a("3"), a("0")]),
        });
    }

    fn run(s: &mut LoadState, tolerance: ProfileTolerance, at: i64) -> Vec<Alarm> {
        let needed = s.evses.iter().any(|e| drawing_over(e).is_some());
        let tolerance = needed.then_some(tolerance);
        track_profiles(s, tolerance);
        profile_conditions(&site(), s, tolerance, t(at))
    }

    #[test]
    fn a_charger_over_its_profile_by_the_tolerance_for_its_time_ignores_it() {
        let tol = ProfileTolerance::DEFAULT; // 16 A allows 18.6 A for 120 s
        let mut s = state();
        read(&mut s, 10, "17");
        assert!(
            drawing_over(&s.evses[0]).is_none(),
            "1 A over: within any tolerance"
        );
        assert!(run(&mut s, tol, 10).is_empty());
        read(&mut s, 20, "18.5");
        assert!(drawing_over(&s.evses[0]).is_some(), "the settings are read");
        assert!(run(&mut s, tol, 20).is_empty());
        assert_eq!(s.evses[0].over_limit_since, None, "within 10 % + 1 A");
        read(&mut s, 30, "24");
        assert!(run(&mut s, tol, 30).is_empty(), "over, not yet for long");
        assert_eq!(s.evses[0].over_limit_since, Some(t(30)));
        read(&mut s, 149, "24");
        assert!(run(&mut s, tol, 149).is_empty(), "119 s");
        read(&mut s, 150, "23");
        let alarms = run(&mut s, tol, 151);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let al = &alarms[0];
        assert_eq!(al.id, "profile-ignored:CP-1:1");
        assert_eq!(
            (al.kind.as_str(), al.severity),
            (PROFILE_IGNORED_KIND, Severity::Warning)
        );
        assert_eq!(al.details["limitA"], "16");
        assert_eq!(al.details["allowedA"], "18.60");
        assert_eq!(al.details["overSince"], rfc3339(t(30)));
        assert!(al.message.contains("for 120 s: 23 A"), "{}", al.message);
        // It complies: nothing holds, so the run resolves the open alarm.
        read(&mut s, 180, "15.8");
        assert!(run(&mut s, tol, 180).is_empty());
        assert_eq!(s.evses[0].over_limit_since, None);
    }

    #[test]
    fn only_an_accepted_profile_of_the_running_transaction_and_readings_after_it_count() {
        let tol = ProfileTolerance::new(0, 1, 10).unwrap();
        let mut s = state();
        read(&mut s, 0, "30");
        assert!(
            drawing_over(&s.evses[0]).is_none(),
            "read when the profile was sent"
        );
        read(&mut s, 30, "30");
        s.evses[0].profile.as_mut().unwrap().status = SentStatus::Pending;
        assert!(drawing_over(&s.evses[0]).is_none(), "not accepted yet");
        s.evses[0].profile.as_mut().unwrap().status = SentStatus::Accepted;
        s.evses[0].transaction_id = Some("tx-2".into());
        assert!(drawing_over(&s.evses[0]).is_none(), "another transaction's");
        s.evses[0].transaction_id = Some("tx-1".into());
        assert!(run(&mut s, tol, 30).is_empty());
        assert_eq!(s.evses[0].over_limit_since, Some(t(30)));
        // A new, lower limit at t(35): the time starts anew after it.
        {
            let p = s.evses[0].profile.as_mut().unwrap();
            p.limit_a = a("10");
            p.sent_at = t(35);
        }
        read(&mut s, 41, "30");
        assert!(run(&mut s, tol, 41).is_empty());
        assert_eq!(s.evses[0].over_limit_since, Some(t(41)));
        read(&mut s, 51, "30");
        assert_eq!(run(&mut s, tol, 51).len(), 1, "10 s over the new limit");
        // The transaction ends: nothing holds.
        s.evses[0].transaction_id = None;
        assert!(run(&mut s, tol, 60).is_empty());
        assert_eq!(s.evses[0].over_limit_since, None);
    }
}
