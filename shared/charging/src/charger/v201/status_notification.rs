//! StatusNotification: status of one connector of one EVSE.

use crate::charger::wire::{charger_time, Dropped};
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
    timestamp: String,
    connector_status: String,
    evse_id: u32,
    connector_id: u32,
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
    let event = ChargerEvent::StatusChanged {
        evse_id: req.evse_id,
        connector_id: req.connector_id,
        status: req.connector_status,
        error_code: None,
        info: None,
        // An implausible status time becomes the receive time.
        at: charger_time("timestamp", &req.timestamp, now, &mut dropped),
    };
    svc.apply(conn, event, now).await?;
    svc.note_dropped(conn, "StatusNotification", dropped, now)
        .await;
    encode(&Response {})
}
