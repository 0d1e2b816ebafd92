//! StatusNotification: connector status. 1.6 connector N>0 is kept as EVSE N
//! connector N (1.6 has no EVSE level: its connector is the 2.0.1 EVSE, and
//! the connector keeps the number the charger and its label use); connector
//! 0, the station as a whole, as EVSE 0 connector 0.

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
    connector_id: u32,
    error_code: String,
    info: Option<String>,
    status: String,
    timestamp: Option<String>,
    vendor_error_code: Option<String>,
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
    let (evse_id, connector_id) = (req.connector_id, req.connector_id);
    let info = match (req.info, req.vendor_error_code) {
        (Some(i), Some(v)) => Some(format!("{i} (vendor error {v})")),
        (i, v) => i.or(v.map(|v| format!("vendor error {v}"))),
    };
    let event = ChargerEvent::StatusChanged {
        evse_id,
        connector_id,
        status: req.status,
        error_code: Some(req.error_code),
        info,
        // An implausible status time becomes the receive time.
        at: req
            .timestamp
            .as_deref()
            .and_then(|t| charger_time("timestamp", t, now, &mut dropped)),
    };
    svc.apply(conn, event, now).await?;
    svc.note_dropped(conn, "StatusNotification", dropped, now)
        .await;
    encode(&Response {})
}
