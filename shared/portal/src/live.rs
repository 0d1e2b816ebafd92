//! What the operator pages show of the organisation's stations now, read
//! through the same store ports and owner checks as the API's routes
//! (`GET /stations`, `/sessions`, `/alarms`): connector statuses, running
//! sessions with their current power, open alarms.

use csms_api::error::ApiError;
use csms_api::shared::Principal;
use csms_domain::alarm::Alarm;
use csms_domain::meter::MeterReading;
use csms_domain::session::{Session, SessionStatus};
use csms_domain::station::StationView;
use csms_domain::{SiteId, StationId, Timestamp};
use csms_kernel::ports::{MeterTarget, PageRequest, SessionQuery, Store};
use rust_decimal::Decimal;

/// How many of the organisation's newest sessions are looked through for
/// the running ones (a first increment's bound; a running-sessions index
/// is the next step).
const SESSIONS_LOOKED_AT: u32 = 500;

/// One station's row of the overview.
pub struct StationNow {
    pub view: StationView,
    /// A live connection now.
    pub connected: bool,
    pub running: usize,
    /// Watts, summed over its running sessions that report power.
    pub power_w: Option<Decimal>,
    pub open_alarms: usize,
}

/// The station an alarm is about, if any (`details.stationId`).
pub fn alarm_station(alarm: &Alarm) -> Option<&str> {
    alarm.details.get("stationId").and_then(|v| v.as_str())
}

/// The organisation's open alarms (at most one page of 500).
pub async fn open_alarms(store: &dyn Store, who: &Principal) -> Result<Vec<Alarm>, ApiError> {
    Ok(store
        .list_alarms(
            &who.org_id,
            true,
            &PageRequest::first(PageRequest::MAX_LIMIT),
        )
        .await?
        .items)
}

/// The organisation's running sessions (of its newest ones), at `station`
/// if given.
pub async fn running_sessions(
    store: &dyn Store,
    who: &Principal,
    station: Option<&StationId>,
) -> Result<Vec<Session>, ApiError> {
    let q = SessionQuery {
        org_id: who.org_id.clone(),
        station_id: station.cloned(),
        from: None,
        to: None,
        page: PageRequest::first(SESSIONS_LOOKED_AT),
    };
    Ok(store
        .list_sessions(&q)
        .await?
        .items
        .into_iter()
        .filter(|s| s.status == SessionStatus::Active)
        .collect())
}

/// The power of a session now: its latest `Power.Active.Import` reading
/// (the phases of that moment summed when there is no total).
pub fn current_power(readings: &[MeterReading]) -> Option<Decimal> {
    let power: Vec<&MeterReading> = readings
        .iter()
        .filter(|r| r.measurand == "Power.Active.Import")
        .filter(|r| r.unit == "W" || r.unit == "kW")
        .collect();
    let latest = power.iter().map(|r| r.timestamp).max()?;
    let at: Vec<&MeterReading> = power
        .into_iter()
        .filter(|r| r.timestamp == latest)
        .collect();
    moment_total(&at, "kW")
}

/// The value of one moment's readings of one measurand in its base unit
/// (W, Wh): the reading without a phase when there is one, else the
/// phases summed; `kilo` (kW, kWh) is scaled by a thousand.
pub fn moment_total(at: &[&MeterReading], kilo: &str) -> Option<Decimal> {
    let base = |r: &MeterReading| {
        if r.unit == kilo {
            r.value.checked_mul(Decimal::ONE_THOUSAND)
        } else {
            Some(r.value)
        }
    };
    if let Some(total) = at.iter().find(|r| r.phase.is_none()) {
        return base(total);
    }
    at.iter()
        .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(base(r)?))
}

/// The summed power of `sessions` (those that report any).
pub async fn power_of(
    store: &dyn Store,
    sessions: &[&Session],
) -> Result<Option<Decimal>, ApiError> {
    let mut total: Option<Decimal> = None;
    for s in sessions {
        let readings = store
            .list_meter_readings(&MeterTarget::Session(s.id.clone()))
            .await?;
        if let Some(w) = current_power(&readings) {
            total = Some(
                total
                    .unwrap_or(Decimal::ZERO)
                    .checked_add(w)
                    .unwrap_or(Decimal::MAX),
            );
        }
    }
    Ok(total)
}

/// The overview's rows: the organisation's stations (at `site` if given),
/// each with its running sessions, power and open alarms.
pub async fn stations_now(
    store: &dyn Store,
    who: &Principal,
    site: Option<&SiteId>,
    now: Timestamp,
) -> Result<Vec<StationNow>, ApiError> {
    let stations = store
        .list_stations(&who.org_id, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let stations: Vec<StationView> = stations
        .into_iter()
        .filter(|v| site.is_none() || v.station.site_id.as_ref() == site)
        .collect();
    if stations.is_empty() {
        return Ok(vec![]);
    }
    let running = running_sessions(store, who, None).await?;
    let alarms = open_alarms(store, who).await?;
    let mut rows = Vec::with_capacity(stations.len());
    for view in stations {
        let here: Vec<&Session> = running
            .iter()
            .filter(|s| s.station_id == view.station.id)
            .collect();
        let power_w = power_of(store, &here).await?;
        let open_alarms = alarms
            .iter()
            .filter(|a| alarm_station(a) == Some(view.station.id.as_str()))
            .count();
        rows.push(StationNow {
            connected: view.connected(now),
            running: here.len(),
            power_w,
            open_alarms,
            view,
        });
    }
    Ok(rows)
}

/// Each session with its latest price, if it has one.
pub async fn with_prices(
    store: &dyn Store,
    sessions: Vec<Session>,
) -> Result<Vec<(Session, Option<csms_domain::pricing::PricedSession>)>, ApiError> {
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let price = match s.status {
            SessionStatus::Active => None,
            SessionStatus::Completed => store.get_priced_session(&s.id).await?,
        };
        out.push((s, price));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(minute: u32, phase: Option<&str>, value: i64, unit: &str) -> MeterReading {
        MeterReading {
            timestamp: format!("2026-12-07T13:{minute:02}:00Z").parse().unwrap(),
            measurand: "Power.Active.Import".into(),
            phase: phase.map(Into::into),
            location: None,
            context: None,
            value: Decimal::from(value),
            unit: unit.into(),
        }
    }

    #[test]
    fn the_latest_power_counts_and_phases_add_up() {
        assert_eq!(current_power(&[]), None);
        let r = [reading(1, None, 7000, "W"), reading(2, None, 11, "kW")];
        assert_eq!(current_power(&r), Some(Decimal::from(11000)));
        let phases = [
            reading(3, Some("L1"), 2300, "W"),
            reading(3, Some("L2"), 2300, "W"),
            reading(3, Some("L3"), 2200, "W"),
            reading(1, None, 9999, "W"),
        ];
        assert_eq!(current_power(&phases), Some(Decimal::from(6800)));
        let mut energy = reading(5, None, 5, "Wh");
        energy.measurand = "Energy.Active.Import.Register".into();
        assert_eq!(current_power(&[energy]), None);
    }
}
