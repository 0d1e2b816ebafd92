//! ChangeAvailability of the station, an EVSE or a connector.

use super::{call, evse201, status_in, v16_connector, Call, EncodeError, Evse201};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16 {
    /// 0 = the whole charge point.
    connector_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201 {
    operational_status: &'static str,
    /// Absent = the whole station.
    #[serde(skip_serializing_if = "Option::is_none")]
    evse: Option<Evse201>,
}

pub(super) fn encode(
    evse_id: Option<u32>,
    connector_id: Option<u32>,
    operative: bool,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    let status = if operative {
        "Operative"
    } else {
        "Inoperative"
    };
    match version {
        OcppVersion::V16 => call(
            "ChangeAvailability",
            &Request16 {
                connector_id: v16_connector(evse_id, connector_id)?.unwrap_or(0),
                kind: status,
            },
        ),
        OcppVersion::V201 => call(
            "ChangeAvailability",
            &Request201 {
                operational_status: status,
                evse: evse201(evse_id, connector_id)?,
            },
        ),
    }
}

/// `Scheduled` (the change waits for a running transaction) is a yes in
/// both versions.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted", "Scheduled"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn change(evse_id: Option<u32>, connector_id: Option<u32>, operative: bool) -> CommandRequest {
        CommandRequest::ChangeAvailability {
            evse_id,
            connector_id,
            operative,
        }
    }

    #[test]
    fn v16_connector_zero_is_the_station() {
        let c = ok(&change(None, None, false), V16);
        assert_eq!(c.action, "ChangeAvailability");
        assert_eq!(c.payload, json!({"connectorId": 0, "type": "Inoperative"}));
        assert_eq!(
            ok(&change(Some(2), None, true), V16).payload,
            json!({"connectorId": 2, "type": "Operative"})
        );
        assert_eq!(
            ok(&change(Some(2), Some(2), true), V16).payload,
            json!({"connectorId": 2, "type": "Operative"}),
            "1.6 connector N is EVSE N, connector N"
        );
        assert!(invalid(&change(Some(2), Some(1), true), V16).starts_with("connectorId: 1"));
    }

    #[test]
    fn v201_station_evse_connector() {
        assert_eq!(
            ok(&change(None, None, false), V201).payload,
            json!({"operationalStatus": "Inoperative"})
        );
        assert_eq!(
            ok(&change(Some(0), None, true), V201).payload,
            json!({"operationalStatus": "Operative"}),
            "EVSE 0 is the station"
        );
        assert_eq!(
            ok(&change(Some(1), Some(2), true), V201).payload,
            json!({"operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 2}})
        );
        assert!(invalid(&change(None, Some(2), true), V201).contains("needs an evseId"));
    }

    #[test]
    fn answers() {
        let req = change(None, None, true);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Scheduled"}),
                json!({"status": "Rejected"}),
                json!({"status": "Unavailable"}),
            );
            assert_eq!(
                interpret(&req, v, &json!({"status": "Accepted"})),
                Ok(CommandStatus::Accepted)
            );
        }
    }
}
