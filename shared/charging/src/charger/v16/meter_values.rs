//! MeterValues: readings for a transaction, or for the connector when the
//! charger sends no (or a zero) transaction id. Kept either way.

use super::types::{readings, MeterValue};
use crate::charger::wire::Dropped;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError};
use csms_domain::event::ChargerEvent;
use csms_domain::station::Connection;
use csms_domain::{Timestamp, TransactionId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    connector_id: u32,
    transaction_id: Option<i64>,
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
        evse_id: req.connector_id,
        // Chargers that started a transaction offline report id 0 or -1 until told otherwise.
        transaction_id: req
            .transaction_id
            .filter(|t| *t > 0)
            .map(TransactionId::from),
        readings: readings(&req.meter_value, now, &mut dropped),
    };
    svc.apply(conn, event, now).await?;
    svc.note_dropped(conn, "MeterValues", dropped, now).await;
    encode(&Response {})
}
