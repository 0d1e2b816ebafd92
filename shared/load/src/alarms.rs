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
//!   whose Current.Import (any phase), or whose Power.Active.Import against
//!   the limit's watts, is above the limit in force for its running
//!   transaction ([`limit_in_force`]: its TxProfile, else its
//!   TxDefaultProfile, under its station's own limit — whatever the
//!   balancer sent), by more than the organisation's tolerance (default
//!   10 % + 1 A), for longer than its time (default 2 minutes), by the
//!   charger's reading times. The readings
//!   already come into the state with each MeterValues signal; each run
//!   keeps since when an EVSE has been over ([`EvseLoadState::over_limit_since`],
//!   saved with the state anyway) and reads the organisation's tolerance
//!   only when an EVSE is more than [`ProfileTolerance::MIN_AMPS`] over its
//!   limit (no tolerance allows less). While it holds, each run repeats on
//!   the open alarm with the latest reading (two requests a run, only
//!   then). A reading within the tolerance resolves it; so does the transaction ending or the limit being raised
//!   above what it draws. The balancer sends limits in amperes; a power
//!   reading is compared with the limit × its phases × the site's voltage.

use csms_domain::alarm::{Alarm, ProfileTolerance, Severity};
use csms_domain::load::{
    EvseLoadState, LoadSite, LoadState, SentLimit, SentStatus, StationLoadState,
};
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

/// The limit in force for an EVSE while its transaction runs, whatever the
/// purpose of the profile the balancer sent for it: the transaction's
/// TxProfile once the charger accepted it (until then it may still hold the
/// one before); without one, the TxDefaultProfile it accepted; and under
/// either, its station's own accepted limit (the ChargingStationMaxProfile,
/// which caps each of the station's EVSEs). The lowest of those applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForce {
    pub limit_a: Decimal,
    /// The phases the limit was sent for.
    pub phases: u8,
    pub sent_at: Timestamp,
    /// `TxProfile`, `TxDefaultProfile` or `ChargingStationMaxProfile`.
    pub purpose: &'static str,
}

impl InForce {
    /// `amps` per phase on the limit's phases at the site's voltage, in W.
    pub fn watts(&self, amps: Decimal, voltage: u32) -> Decimal {
        amps.checked_mul(Decimal::from(self.phases))
            .and_then(|w| w.checked_mul(Decimal::from(voltage)))
            .unwrap_or(Decimal::MAX)
    }
}

/// See [`InForce`]. `None` while no transaction runs or nothing the
/// balancer sent is known to be in force.
pub fn limit_in_force(es: &EvseLoadState, stations: &[StationLoadState]) -> Option<InForce> {
    es.transaction_id.as_ref()?;
    let accepted = |p: &&SentLimit| p.status == SentStatus::Accepted;
    let of = |p: &SentLimit, purpose| InForce {
        limit_a: p.limit_a,
        phases: p.phases,
        sent_at: p.sent_at,
        purpose,
    };
    let own = es
        .profile
        .as_ref()
        .filter(|p| p.transaction_id.is_none() || p.transaction_id == es.transaction_id);
    let evse = match own {
        Some(p) => accepted(&p).then(|| of(p, "TxProfile")),
        None => es
            .default_profile
            .as_ref()
            .filter(accepted)
            .map(|p| of(p, "TxDefaultProfile")),
    };
    let station = stations
        .iter()
        .find(|s| s.station_id == es.station_id)
        .map(|s| &s.max_profile)
        .filter(accepted)
        .map(|p| of(p, "ChargingStationMaxProfile"));
    match (evse, station) {
        (Some(e), Some(s)) if s.limit_a < e.limit_a => Some(s),
        (Some(e), _) => Some(e),
        (None, s) => s,
    }
}

/// An EVSE drawing more than the limit in force by more than
/// [`ProfileTolerance::MIN_AMPS`] (less is within any tolerance), in
/// current (its highest phase's `Current.Import`) or in power (its
/// `Power.Active.Import` against the limit's watts on its phases at the
/// site's voltage), by readings taken after the limit was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Over {
    pub limit: InForce,
    /// The highest phase current read after the limit, and when.
    pub current: Option<(Timestamp, Decimal)>,
    /// The power read after the limit, and when.
    pub power: Option<(Timestamp, Decimal)>,
    pub voltage: u32,
}

impl Over {
    /// When the latest of its readings above `allowed_a` (in either unit)
    /// was taken; `None` when none is.
    fn above(&self, allowed_a: Decimal) -> Option<Timestamp> {
        let watts = self.limit.watts(allowed_a, self.voltage);
        let a = self.current.filter(|(_, a)| *a > allowed_a).map(|(t, _)| t);
        let w = self.power.filter(|(_, w)| *w > watts).map(|(t, _)| t);
        a.max(w)
    }

    /// The time of its latest reading.
    fn read_at(&self) -> Option<Timestamp> {
        self.current.map(|(t, _)| t).max(self.power.map(|(t, _)| t))
    }
}

/// See [`Over`].
pub fn drawing_over(
    es: &EvseLoadState,
    stations: &[StationLoadState],
    voltage: u32,
) -> Option<Over> {
    let limit = limit_in_force(es, stations)?;
    let current = es.measured.filter(|m| m.at > limit.sent_at).map(|m| {
        let drawn = m.current_a.as_array().into_iter().max().unwrap_or_default();
        (m.at, drawn)
    });
    let power = es
        .measured_power
        .filter(|m| m.at > limit.sent_at)
        .map(|m| (m.at, m.watts));
    let over = Over {
        limit,
        current,
        power,
        voltage,
    };
    let margin = limit
        .limit_a
        .saturating_add(Decimal::from(ProfileTolerance::MIN_AMPS));
    over.above(margin).is_some().then_some(over)
}

/// Keeps since when each EVSE has drawn more than its limit in force
/// allows by `tolerance` (read by the caller only when [`drawing_over`]
/// says one might: without it none is over). A limit sent after the EVSE
/// went over starts the time anew.
pub fn track_profiles(state: &mut LoadState, tolerance: Option<ProfileTolerance>, voltage: u32) {
    for i in 0..state.evses.len() {
        let over = match (
            state
                .evses
                .get(i)
                .and_then(|es| drawing_over(es, &state.stations, voltage)),
            tolerance,
        ) {
            (Some(o), Some(t)) => o
                .above(t.allowed(o.limit.limit_a))
                .map(|at| (o.limit.sent_at, at)),
            _ => None,
        };
        let Some(es) = state.evses.get_mut(i) else {
            continue;
        };
        es.over_limit_since = match (over, es.over_limit_since) {
            (None, _) => None,
            (Some((sent_at, _)), Some(since)) if since > sent_at => Some(since),
            (Some((sent_at, at)), _) => Some(sent_at.max(at)),
        };
    }
}

/// The `profileIgnored` alarms that hold: EVSEs over their limit in force
/// by the tolerance since at least its time before their latest reading.
pub fn profile_conditions(
    site: &LoadSite,
    state: &LoadState,
    tolerance: Option<ProfileTolerance>,
    now: Timestamp,
) -> Vec<Alarm> {
    let Some(tolerance) = tolerance else {
        return Vec::new();
    };
    let voltage = site.config.voltage;
    let mut out = Vec::new();
    for es in &state.evses {
        let (Some(since), Some(over)) = (
            es.over_limit_since,
            drawing_over(es, &state.stations, voltage),
        ) else {
            continue;
        };
        let Some(read_at) = over.read_at() else {
            continue;
        };
        if read_at - since < tolerance.duration() {
            continue;
        }
        let station = &es.station_id;
        let evse = es.evse_id;
        let secs = (read_at - since).num_seconds();
        let limit = over.limit;
        let allowed = tolerance.allowed(limit.limit_a);
        let drawn: Vec<String> = over
            .current
            .map(|(_, a)| format!("{a} A"))
            .into_iter()
            .chain(over.power.map(|(_, w)| format!("{w} W")))
            .collect();
        out.push(Alarm {
            title: Some(format!(
                "Station {station} EVSE {evse} draws more than its charging profile"
            )),
            message: format!(
                "station {station} EVSE {evse} has drawn more than its limit of {} A ({} W on {} phases at {} V; its {}) for {secs} s, allowed {} A with the tolerance: {} at {}",
                limit.limit_a,
                limit.watts(limit.limit_a, voltage),
                limit.phases,
                voltage,
                limit.purpose,
                allowed,
                drawn.join(", "),
                rfc3339(read_at)
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
                "purpose": limit.purpose,
                "limitA": limit.limit_a.to_string(),
                "phases": limit.phases,
                "limitW": limit.watts(limit.limit_a, voltage).to_string(),
                "allowedA": allowed.to_string(),
                "allowedW": limit.watts(allowed, voltage).to_string(),
                "measuredA": es.measured.filter(|_| over.current.is_some()).map(|m| m.current_a.as_array().map(|a| a.to_string())),
                "measuredW": over.power.map(|(_, w)| w.to_string()),
                "measuredAt": rfc3339(read_at),
                "overSince": rfc3339(since),
                "profileSentAt": rfc3339(limit.sent_at),
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
        let needed = s
            .evses
            .iter()
            .any(|e| drawing_over(e, &s.stations, 230).is_some());
        let tolerance = needed.then_some(tolerance);
        track_profiles(s, tolerance, 230);
        profile_conditions(&site(), s, tolerance, t(at))
    }

    #[test]
    fn a_charger_over_its_profile_by_the_tolerance_for_its_time_ignores_it() {
        let tol = ProfileTolerance::DEFAULT; // 16 A allows 18.6 A for 120 s
        let mut s = state();
        read(&mut s, 10, "17");
        assert!(
            drawing_over(&s.evses[0], &s.stations, 230).is_none(),
            "1 A over: within any tolerance"
        );
        assert!(run(&mut s, tol, 10).is_empty());
        read(&mut s, 20, "18.5");
        assert!(
            drawing_over(&s.evses[0], &s.stations, 230).is_some(),
            "the settings are read"
        );
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
        assert!(
            al.message.contains("for 120 s, allowed 18.60 A"),
            "{}",
            al.message
        );
        assert!(al.message.contains(": 23 A at"), "{}", al.message);
        assert_eq!(al.details["purpose"], "TxProfile");
        assert_eq!(al.details["limitW"], "11040", "16 A × 3 × 230 V");
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
            drawing_over(&s.evses[0], &s.stations, 230).is_none(),
            "read when the profile was sent"
        );
        read(&mut s, 30, "30");
        s.evses[0].profile.as_mut().unwrap().status = SentStatus::Pending;
        assert!(
            drawing_over(&s.evses[0], &s.stations, 230).is_none(),
            "not accepted yet"
        );
        s.evses[0].profile.as_mut().unwrap().status = SentStatus::Accepted;
        s.evses[0].transaction_id = Some("tx-2".into());
        assert!(
            drawing_over(&s.evses[0], &s.stations, 230).is_none(),
            "another transaction's"
        );
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

    fn power(s: &mut LoadState, at: i64, w: &str) {
        s.evses[0].measured_power = Some(csms_domain::load::MeasuredPower {
            at: t(at),
            watts: a(w),
        });
    }

    #[test]
    fn power_is_compared_with_the_limits_watts_and_a_default_profile_counts() {
        // No TxProfile: the TxDefaultProfile of 10 A on 3 phases is in
        // force, 6900 W at 230 V; the tolerance 0 % + 1 A allows 11 A, 7590 W.
        let tol = ProfileTolerance::new(0, 1, 10).unwrap();
        let mut s = state();
        let mut default = s.evses[0].profile.take().unwrap();
        default.limit_a = a("10");
        default.transaction_id = None;
        s.evses[0].default_profile = Some(default);
        power(&mut s, 20, "7800");
        let over = drawing_over(&s.evses[0], &s.stations, 230).expect("over by power alone");
        assert_eq!(over.limit.purpose, "TxDefaultProfile");
        assert_eq!(over.current, None, "no current read");
        assert!(run(&mut s, tol, 20).is_empty());
        assert_eq!(s.evses[0].over_limit_since, Some(t(20)));
        power(&mut s, 30, "7700");
        let alarms = run(&mut s, tol, 30);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let d = &alarms[0].details;
        assert_eq!(
            (&d["limitW"], &d["allowedW"], &d["measuredW"], &d["purpose"]),
            (
                &serde_json::json!("6900"),
                &serde_json::json!("7590"),
                &serde_json::json!("7700"),
                &serde_json::json!("TxDefaultProfile")
            )
        );
        assert_eq!(d["measuredA"], serde_json::Value::Null);
        assert!(
            alarms[0].message.contains("7700 W"),
            "{}",
            alarms[0].message
        );
        // In kW terms 7.5 kW is within 7590 W: it complies.
        power(&mut s, 40, "7500");
        assert!(run(&mut s, tol, 40).is_empty());
        assert_eq!(s.evses[0].over_limit_since, None);
        // Current within the limit does not excuse power over it, nor the
        // other way round: either unit over is over.
        read(&mut s, 50, "10");
        power(&mut s, 50, "9000");
        assert!(drawing_over(&s.evses[0], &s.stations, 230).is_some());
    }

    #[test]
    fn the_stations_own_limit_caps_and_a_transaction_profile_in_flight_is_not_judged() {
        let tol = ProfileTolerance::new(0, 1, 10).unwrap();
        let mut s = state();
        // The station's limit (accepted) of 12 A is lower than the EVSE's 16 A.
        let mut cap = s.evses[0].profile.clone().unwrap();
        cap.limit_a = a("12");
        cap.transaction_id = None;
        s.stations.push(csms_domain::load::StationLoadState {
            station_id: StationId::parse("CP-1").unwrap(),
            max_profile: cap.clone(),
        });
        read(&mut s, 10, "14.5");
        let over = drawing_over(&s.evses[0], &s.stations, 230).unwrap();
        assert_eq!(
            (over.limit.purpose, over.limit.limit_a),
            ("ChargingStationMaxProfile", a("12"))
        );
        assert!(run(&mut s, tol, 10).is_empty());
        read(&mut s, 20, "14.5");
        let alarms = run(&mut s, tol, 20);
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].details["limitA"], "12");
        // The station's limit refused: the EVSE's 16 A applies again.
        s.stations[0].max_profile.status = SentStatus::Failed;
        assert!(drawing_over(&s.evses[0], &s.stations, 230).is_none());
        // The transaction's profile in flight: what the charger holds is
        // not known, so nothing is judged by the EVSE's profiles, even with
        // a lower default accepted.
        s.evses[0].profile.as_mut().unwrap().status = SentStatus::Pending;
        let mut default = cap;
        default.limit_a = a("6");
        s.evses[0].default_profile = Some(default);
        read(&mut s, 30, "14.5");
        assert_eq!(limit_in_force(&s.evses[0], &s.stations), None);
        assert!(run(&mut s, tol, 30).is_empty());
        assert_eq!(s.evses[0].over_limit_since, None);
    }
}
