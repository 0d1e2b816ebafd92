//! NotifyEVChargingNeeds: over ISO 15118 the car says how much energy it
//! wants, by when, and (DC) its state of charge and battery size. That is
//! a charging need for load balancing: the session is planned toward it
//! and gets its limits as a TxProfile, which is the schedule the charger
//! passes on to the car.
//!
//! Accepted only where a plan can follow (the station's site is load
//! balanced); elsewhere Rejected, and the car charges without a schedule.

use crate::charger::wire::parse_time;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError};
use chrono::TimeDelta;
use csms_domain::load::{ChargingNeed, NeedSource};
use csms_domain::meter::MAX_ENERGY_WH;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    charging_needs: ChargingNeeds,
    evse_id: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingNeeds {
    requested_energy_transfer: String,
    departure_time: Option<String>,
    ac_charging_parameters: Option<AcParameters>,
    dc_charging_parameters: Option<DcParameters>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcParameters {
    energy_amount: i64,
    ev_max_current: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DcParameters {
    energy_amount: Option<i64>,
    state_of_charge: Option<i64>,
    ev_energy_capacity: Option<i64>,
    #[serde(rename = "fullSoC")]
    full_soc: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_info: Option<StatusInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusInfo {
    reason_code: &'static str,
    additional_info: String,
}

/// The need the car stated; negative or zero figures are not needs, nor are
/// energies beyond 1 TWh, a state of charge outside 0..=100 or a departure
/// more than 7 days ahead (the bound the API puts on drivers).
fn need_of(n: &ChargingNeeds, now: Timestamp) -> ChargingNeed {
    let positive = |v: Option<i64>| {
        v.filter(|v| *v > 0 && *v <= MAX_ENERGY_WH)
            .map(Decimal::from)
    };
    let ac = n.ac_charging_parameters.as_ref();
    let dc = n.dc_charging_parameters.as_ref();
    let (battery_wh, soc, target_soc) = match dc {
        Some(dc) => (
            positive(dc.ev_energy_capacity),
            dc.state_of_charge
                .filter(|s| (0..=100).contains(s))
                .map(Decimal::from),
            dc.ev_energy_capacity.map(|_| {
                Decimal::from(dc.full_soc.filter(|s| (1..=100).contains(s)).unwrap_or(100))
            }),
        ),
        None => (None, None, None),
    };
    ChargingNeed {
        source: NeedSource::Iso15118,
        transaction_id: None,
        energy_wh: positive(ac.map(|a| a.energy_amount))
            .or(positive(dc.and_then(|d| d.energy_amount))),
        target_soc: target_soc.filter(|_| battery_wh.is_some() && soc.is_some()),
        battery_wh: battery_wh.filter(|_| soc.is_some()),
        soc,
        departure_at: n
            .departure_time
            .as_deref()
            .and_then(parse_time)
            .filter(|t| *t > now)
            .filter(|t| {
                now.checked_add_signed(TimeDelta::days(7))
                    .is_some_and(|latest| *t <= latest)
            }),
        // AC: amperes per phase, the unit of the limits we send. (DC
        // current is on the car's side of the rectifier; it says nothing
        // about the grid phases.)
        car_max_a: ac
            .filter(|_| n.requested_energy_transfer.starts_with("AC"))
            .map(|a| a.ev_max_current)
            .filter(|a| *a > 0)
            .map(Decimal::from),
        set_at: now,
        base_wh: None,
    }
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let balanced = match &conn.site_id {
        Some(site) => svc.store.get_load_site(site).await?.is_some_and(|s| {
            s.config
                .evses
                .iter()
                .any(|e| e.station_id == conn.station_id && e.evse_id == req.evse_id)
        }),
        None => false,
    };
    if !balanced {
        return encode(&Response {
            status: "Rejected",
            status_info: Some(StatusInfo {
                reason_code: "NoSchedule",
                additional_info: "this EVSE is not load balanced: charge without a schedule".into(),
            }),
        });
    }
    let need = need_of(&req.charging_needs, now);
    svc.signal_need(conn, req.evse_id, need, now).await;
    encode(&Response {
        status: "Accepted",
        status_info: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(v: Value) -> ChargingNeeds {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ac_needs_give_energy_departure_and_the_cars_current() {
        let now = parse_time("2026-11-23T18:00:00Z").unwrap();
        let n = need_of(
            &needs(serde_json::json!({
                "requestedEnergyTransfer": "AC_three_phase",
                "departureTime": "2026-11-24T06:30:00Z",
                "acChargingParameters": {"energyAmount": 24000, "evMinCurrent": 6, "evMaxCurrent": 16, "evMaxVoltage": 400}
            })),
            now,
        );
        assert_eq!(n.energy_wh, Some(Decimal::from(24_000)));
        assert_eq!(n.car_max_a, Some(Decimal::from(16)));
        assert_eq!(n.departure_at, parse_time("2026-11-24T06:30:00Z"));
        assert_eq!((n.target_soc, n.battery_wh), (None, None));
    }

    #[test]
    fn dc_needs_give_the_soc_and_the_battery() {
        let now = parse_time("2026-11-23T18:00:00Z").unwrap();
        let n = need_of(
            &needs(serde_json::json!({
                "requestedEnergyTransfer": "DC",
                "departureTime": "2026-11-23T17:00:00Z",
                "dcChargingParameters": {"evMaxCurrent": 200, "evMaxVoltage": 500, "stateOfCharge": 30, "evEnergyCapacity": 75000, "fullSoC": 90}
            })),
            now,
        );
        assert_eq!(n.soc, Some(Decimal::from(30)));
        assert_eq!(n.battery_wh, Some(Decimal::from(75_000)));
        assert_eq!(n.target_soc, Some(Decimal::from(90)));
        assert_eq!(n.car_max_a, None);
        // A departure already past is no departure.
        assert_eq!(n.departure_at, None);
    }
}
