//! BootNotification: record the hardware, answer with the station's
//! registration status (its approval) and the heartbeat interval, or the
//! boot interval while it is not accepted; an accepted station is asked
//! for its device model.

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
    charging_station: ChargingStation,
    reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingStation {
    model: String,
    vendor_name: String,
    serial_number: Option<String>,
    firmware_version: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    current_time: String,
    interval: u32,
    status: &'static str,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let cs = req.charging_station;
    let boot = BootInfo {
        vendor: cs.vendor_name,
        model: cs.model,
        serial_number: cs.serial_number,
        firmware_version: cs.firmware_version,
        reason: Some(req.reason),
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
                // Queued now, sent after this answer (see `request_report`).
                svc.booted(conn).await;
            }
            encode(&Response {
                current_time: format_time(now),
                interval: interval_secs,
                status: status.as_str(),
            })
        }
        other => unreachable!("boot yields a boot outcome, not {other:?}"),
    }
}
