//! DataTransfer: vendor-specific data. Kept in the station's event log; no
//! vendor extension is implemented, so the answer is UnknownVendorId.
//!
//! The message is the same in 1.6 and 2.0.1 but for `data`: a string in 1.6,
//! any JSON in 2.0.1. The version's schema has already checked which, so one
//! `Value` reads both (a 1.6 string stays a JSON string, as it was stored).

use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::event::ChargerEvent;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    vendor_id: String,
    message_id: Option<String>,
    data: Option<Value>,
}

#[derive(Serialize)]
struct Response {
    status: &'static str,
}

pub(crate) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let event = ChargerEvent::DataTransfer {
        vendor_id: req.vendor_id,
        message_id: req.message_id,
        data: req.data,
    };
    match svc.apply(conn, event, now).await? {
        Outcome::DataTransfer { accepted } => encode(&Response {
            status: if accepted {
                "Accepted"
            } else {
                "UnknownVendorId"
            },
        }),
        other => unreachable!("data transfer yields its own outcome, not {other:?}"),
    }
}
