//! UnlockConnector: 1.6 addresses a connector by its station-wide number,
//! 2.0.1 a connector of an EVSE.

use super::{call, status_in, v16_connector, Call, EncodeError};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16 {
    connector_id: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201 {
    evse_id: u32,
    connector_id: u32,
}

pub(super) fn encode(
    evse_id: u32,
    connector_id: Option<u32>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    // 0 is the station itself, which has no cable to release.
    if evse_id == 0 {
        return Err(EncodeError::Invalid(
            "evseId: unlock addresses an EVSE > 0".into(),
        ));
    }
    match version {
        OcppVersion::V16 => call(
            "UnlockConnector",
            &Request16 {
                connector_id: v16_connector(Some(evse_id), connector_id)?.unwrap_or(evse_id),
            },
        ),
        OcppVersion::V201 => call(
            "UnlockConnector",
            &Request201 {
                evse_id,
                // Most EVSEs have one connector: 1 unless told otherwise.
                connector_id: connector_id.unwrap_or(1),
            },
        ),
    }
}

/// `Unlocked` is the only yes in both versions.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Unlocked"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn unlock(evse_id: u32, connector_id: Option<u32>) -> CommandRequest {
        CommandRequest::Unlock {
            evse_id,
            connector_id,
        }
    }

    #[test]
    fn both_versions() {
        assert_eq!(ok(&unlock(2, None), V16).payload, json!({"connectorId": 2}));
        assert_eq!(
            ok(&unlock(2, Some(2)), V16).payload,
            json!({"connectorId": 2})
        );
        assert_eq!(
            ok(&unlock(2, None), V201).payload,
            json!({"evseId": 2, "connectorId": 1})
        );
        assert_eq!(
            ok(&unlock(2, Some(2)), V201).payload,
            json!({"evseId": 2, "connectorId": 2})
        );
        assert_eq!(ok(&unlock(2, None), V201).action, "UnlockConnector");
    }

    #[test]
    fn refused() {
        for v in [V16, V201] {
            assert!(invalid(&unlock(0, None), v).starts_with("evseId"));
        }
        // 1.6 connector N is EVSE N, connector N: any other connector is refused.
        assert!(invalid(&unlock(1, Some(2)), V16).starts_with("connectorId: 2"));
        assert!(invalid(&unlock(2, Some(1)), V16).starts_with("connectorId: 1"));
    }

    #[test]
    fn answers() {
        assert_answers(
            &unlock(1, None),
            V16,
            json!({"status": "Unlocked"}),
            json!({"status": "NotSupported"}),
            json!({"status": "Accepted"}),
        );
        assert_answers(
            &unlock(1, None),
            V201,
            json!({"status": "Unlocked"}),
            json!({"status": "OngoingAuthorizedTransaction"}),
            json!({"status": "NotSupported"}),
        );
    }
}
