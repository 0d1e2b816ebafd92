//! TriggerMessage: ask the station to send a message now.

use super::{call, Call, EncodeError};
use serde_json::json;

const V16: &[&str] = &[
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
];

const V201: &[&str] = &[
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargingStationCertificate",
    "SignV2GCertificate",
    "StatusNotification",
    "TransactionEvent",
    "SignCombinedCertificate",
    "PublishFirmwareStatusNotification",
];

pub(super) fn encode(
    message: &str,
    evse_id: Option<u32>,
    connector_id: Option<u32>,
    v16: bool,
) -> Result<Call, EncodeError> {
    let valid = if v16 { V16 } else { V201 };
    if !valid.contains(&message) {
        return Err(EncodeError::Unsupported(format!(
            "message {message:?} cannot be triggered; one of {}",
            valid.join(", ")
        )));
    }
    if v16 {
        Ok(call(
            "TriggerMessage",
            json!({"requestedMessage": message, "connectorId": evse_id.or(connector_id)}),
        ))
    } else {
        let evse = match (evse_id, connector_id) {
            (None, Some(_)) => {
                return Err(EncodeError::Invalid(
                    "connectorId needs an evseId in OCPP 2.0.1".into(),
                ))
            }
            (None, None) => None,
            (Some(e), c) => Some(json!({"id": e, "connectorId": c})),
        };
        Ok(call(
            "TriggerMessage",
            json!({"requestedMessage": message, "evse": evse}),
        ))
    }
}
