//! OCPP 1.6 charger-initiated actions, one module each: the request and
//! response types and the mapping to and from the version-neutral model.

mod authorize;
mod boot_notification;
mod meter_values;
mod start_transaction;
mod status_notification;
mod stop_transaction;
pub(crate) mod types;

use super::{notify, ChargerService, HandlerError};
use crate::charger::ChargingStore;
use csms_domain::event::NotificationKind;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde_json::Value;

/// Handle a schema-valid request. `Ok(None)`: a known charger action this
/// CSMS does not implement.
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
        "DiagnosticsStatusNotification" => {
            notify(svc, conn, NotificationKind::DiagnosticsStatus, payload, now).await
        }
        "FirmwareStatusNotification" => {
            notify(svc, conn, NotificationKind::FirmwareStatus, payload, now).await
        }
        "Heartbeat" => super::heartbeat::handle(svc, conn, payload, now).await,
        "MeterValues" => meter_values::handle(svc, conn, payload, now).await,
        "StartTransaction" => start_transaction::handle(svc, conn, payload, now).await,
        "StatusNotification" => status_notification::handle(svc, conn, payload, now).await,
        "StopTransaction" => stop_transaction::handle(svc, conn, payload, now).await,
        _ => Ok(None),
    }
}
