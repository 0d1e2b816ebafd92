//! BootNotification: record the hardware, answer with the station's
//! registration status (its approval) and the heartbeat interval, or the
//! boot interval while it is not accepted.

use crate::charger::wire::format_time;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::event::ChargerEvent;
use csms_domain::station::{BootInfo, Connection, RegistrationStatus};
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    charge_point_vendor: String,
    charge_point_model: String,
    charge_point_serial_number: Option<String>,
    charge_box_serial_number: Option<String>,
    firmware_version: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: &'static str,
    current_time: String,
    interval: u32,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let boot = BootInfo {
        vendor: req.charge_point_vendor,
        model: req.charge_point_model,
        // chargeBoxSerialNumber is deprecated in 1.6 but still what many send.
        serial_number: req
            .charge_point_serial_number
            .or(req.charge_box_serial_number),
        firmware_version: req.firmware_version,
        reason: None,
        booted_at: now,
        // Decided by `apply` from the station's approval.
        registration: RegistrationStatus::default(),
        // Counted by `apply` from the station's earlier boots.
        recent_boots: Vec::new(),
    };
    match svc.apply(conn, ChargerEvent::Booted(boot), now).await? {
        Outcome::Boot {
            status,
            interval_secs,
            now,
        } => {
            if status == RegistrationStatus::Accepted {
                // Queued now, sent after this answer (the local list check).
                svc.booted(conn).await;
            }
            encode(&Response {
                status: status.as_str(),
                current_time: format_time(now),
                interval: interval_secs,
            })
        }
        other => unreachable!("boot yields a boot outcome, not {other:?}"),
    }
}
