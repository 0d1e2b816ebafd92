//! ChangeAvailability of the station, an EVSE or a connector.

use super::{call, Call, EncodeError};
use serde_json::json;

pub(super) fn encode(
    evse_id: Option<u32>,
    connector_id: Option<u32>,
    operative: bool,
    v16: bool,
) -> Result<Call, EncodeError> {
    let status = if operative {
        "Operative"
    } else {
        "Inoperative"
    };
    if v16 {
        if connector_id.is_some() && evse_id.is_some() {
            return Err(EncodeError::Invalid(
                "OCPP 1.6 addresses a connector by one number: give evseId only".into(),
            ));
        }
        // 0 = the whole charge point.
        let connector = evse_id.or(connector_id).unwrap_or(0);
        Ok(call(
            "ChangeAvailability",
            json!({"connectorId": connector, "type": status}),
        ))
    } else {
        let evse = match (evse_id.filter(|&e| e > 0), connector_id) {
            (None, Some(_)) => {
                return Err(EncodeError::Invalid(
                    "connectorId needs an evseId in OCPP 2.0.1".into(),
                ))
            }
            (None, None) => None,
            (Some(e), c) => Some(json!({"id": e, "connectorId": c})),
        };
        Ok(call(
            "ChangeAvailability",
            json!({"operationalStatus": status, "evse": evse}),
        ))
    }
}
