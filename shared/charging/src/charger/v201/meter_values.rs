//! MeterValues: readings outside a transaction (evseId 0 is the grid
//! connection of the station). Kept under the station.

use super::types::{readings, MeterValue};
use crate::charger::wire::Dropped;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError};
use csms_domain::event::ChargerEvent;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    evse_id: u32,
    meter_value: Vec<MeterValue>,
}

#[derive(Serialize)]
struct Response {}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let mut dropped = Dropped::default();
    let event = ChargerEvent::MeterValues {
        evse_id: req.evse_id,
        transaction_id: None,
        readings: readings(&req.meter_value, now, &mut dropped),
    };
    svc.apply(conn, event, now).await?;
    svc.note_dropped(conn, "MeterValues", dropped, now).await;
    encode(&Response {})
}
