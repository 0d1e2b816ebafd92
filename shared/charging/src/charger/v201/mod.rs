//! OCPP 2.0.1 charger-initiated actions, one module each: the request and
//! response types and the mapping to and from the version-neutral model.

mod authorize;
mod boot_notification;
mod meter_values;
mod notify_ev_charging_needs;
mod notify_report;
mod status_notification;
mod transaction_event;
pub(crate) mod types;

pub use notify_report::{component_ref, variable_ref, WireComponent, WireVariable};

use super::{notify, ChargerService, HandlerError};
use crate::charger::ChargingStore;
use csms_domain::event::NotificationKind;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde_json::Value;

/// Handle a schema-valid request. `Ok(None)`: a known charger action this
/// CSMS does not implement (certificates, display messages, …).
pub(crate) async fn dispatch<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    action: &str,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    match action {
        "Authorize" => authorize::handle(svc, conn, payload, now).await,
        "BootNotification" => boot_notification::handle(svc, conn, payload, now).await,
        "DataTransfer" => super::data_transfer::handle(svc, conn, payload, now).await,
        "FirmwareStatusNotification" => {
            notify(svc, conn, NotificationKind::FirmwareStatus, payload, now).await
        }
        "Heartbeat" => super::heartbeat::handle(svc, conn, payload, now).await,
        "LogStatusNotification" => {
            notify(svc, conn, NotificationKind::LogStatus, payload, now).await
        }
        "MeterValues" => meter_values::handle(svc, conn, payload, now).await,
        "NotifyEVChargingNeeds" => notify_ev_charging_needs::handle(svc, conn, payload, now).await,
        "NotifyEvent" => notify(svc, conn, NotificationKind::Event, payload, now).await,
        "NotifyReport" => notify_report::handle(svc, conn, payload, now).await,
        "SecurityEventNotification" => {
            notify(svc, conn, NotificationKind::SecurityEvent, payload, now).await
        }
        "StatusNotification" => status_notification::handle(svc, conn, payload, now).await,
        "TransactionEvent" => transaction_event::handle(svc, conn, payload, now).await,
        _ => Ok(None),
    }
}
