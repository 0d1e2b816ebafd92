//! Heartbeat, the same message in 1.6 and 2.0.1: tell the time. Liveness was already recorded when the message
//! arrived (the connection touch), so this costs no further store request.

use crate::charger::wire::format_time;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError};
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    current_time: String,
}

pub(crate) async fn handle<S: ChargingStore + ?Sized>(
    _svc: &ChargerService<S>,
    _conn: &Connection,
    _payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    encode(&Response {
        current_time: format_time(now),
    })
}
