//! TriggerMessage: ask the station to send a message now. Which messages
//! can be asked for differs per version; the official schema's enum decides,
//! so the list here can never drift from the spec.

use super::{call, check, evse201, refused, status_in, v16_connector, Call, EncodeError, Evse201};
use csms_domain::OcppVersion;
use csms_ocpp::schema::{V16_SCHEMAS, V201_SCHEMAS};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16<'a> {
    requested_message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_id: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201<'a> {
    requested_message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    evse: Option<Evse201>,
}

pub(super) fn encode(
    message: &str,
    evse_id: Option<u32>,
    connector_id: Option<u32>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    let call = match version {
        OcppVersion::V16 => call(
            "TriggerMessage",
            &Request16 {
                requested_message: message,
                // Connector 0 is the station: the same as naming none.
                connector_id: v16_connector(evse_id, connector_id)?.filter(|&c| c > 0),
            },
        )?,
        OcppVersion::V201 => call(
            "TriggerMessage",
            &Request201 {
                requested_message: message,
                evse: evse201(evse_id, connector_id)?,
            },
        )?,
    };
    match check(version, &call) {
        Ok(()) => Ok(call),
        // A name outside the version's enum is a message the version does
        // not have (TransactionEvent on 1.6), not a typo to fix in a field.
        Err(v) if v.path == "/requestedMessage" => Err(EncodeError::Unsupported(format!(
            "message: {message:?} cannot be triggered in OCPP {}; one of {}",
            version.as_str(),
            triggerable(version).join(", ")
        ))),
        Err(v) => Err(refused(&call, &v)),
    }
}

/// The `requestedMessage` enum of the version's official schema.
fn triggerable(version: OcppVersion) -> Vec<String> {
    let (table, name) = match version {
        OcppVersion::V16 => (V16_SCHEMAS, "TriggerMessage"),
        OcppVersion::V201 => (V201_SCHEMAS, "TriggerMessageRequest"),
    };
    let Some(schema) = table
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, src)| serde_json::from_str::<Value>(src).ok())
    else {
        return Vec::new();
    };
    let property = &schema["properties"]["requestedMessage"];
    // 2.0.1 keeps its enums in `definitions` behind a `$ref`.
    let definition = property["$ref"]
        .as_str()
        .and_then(|r| schema.pointer(r.trim_start_matches('#')))
        .unwrap_or(property);
    definition["enum"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Both versions: Accepted, or Rejected / NotImplemented.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::triggerable;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn trigger(message: &str, evse_id: Option<u32>, connector_id: Option<u32>) -> CommandRequest {
        CommandRequest::TriggerMessage {
            message: message.into(),
            evse_id,
            connector_id,
        }
    }

    #[test]
    fn v16_trigger_message() {
        let c = ok(&trigger("StatusNotification", Some(1), None), V16);
        assert_eq!(c.action, "TriggerMessage");
        assert_eq!(
            c.payload,
            json!({"requestedMessage": "StatusNotification", "connectorId": 1})
        );
        assert_eq!(
            ok(&trigger("Heartbeat", Some(0), None), V16).payload,
            json!({"requestedMessage": "Heartbeat"})
        );
        assert_eq!(
            ok(&trigger("DiagnosticsStatusNotification", None, None), V16).payload,
            json!({"requestedMessage": "DiagnosticsStatusNotification"})
        );
    }

    #[test]
    fn v201_trigger_message() {
        let c = ok(&trigger("StatusNotification", Some(1), Some(2)), V201);
        assert_eq!(
            c.payload,
            json!({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 2}})
        );
        assert_eq!(
            ok(&trigger("TransactionEvent", None, None), V201).payload,
            json!({"requestedMessage": "TransactionEvent"})
        );
        assert!(invalid(&trigger("MeterValues", None, Some(1)), V201).contains("needs an evseId"));
    }

    #[test]
    fn names_of_the_other_version_are_unsupported() {
        for (name, v, listed) in [
            ("TransactionEvent", V16, "DiagnosticsStatusNotification"),
            ("LogStatusNotification", V16, "StatusNotification"),
            (
                "DiagnosticsStatusNotification",
                V201,
                "LogStatusNotification",
            ),
            ("Reboot", V201, "PublishFirmwareStatusNotification"),
        ] {
            match enc(&trigger(name, None, None), v) {
                Err(EncodeError::Unsupported(m)) => {
                    assert!(m.contains(name) && m.contains(listed), "{m}")
                }
                other => panic!("{name} on {v:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_lists_come_from_the_schemas() {
        assert_eq!(triggerable(V16).len(), 6, "{:?}", triggerable(V16));
        assert_eq!(triggerable(V201).len(), 11, "{:?}", triggerable(V201));
        for v in [V16, V201] {
            for name in triggerable(v) {
                ok(&trigger(&name, None, None), v);
            }
        }
    }

    #[test]
    fn answers() {
        let req = trigger("Heartbeat", None, None);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "NotImplemented"}),
                json!({"status": "Triggered"}),
            );
        }
    }
}
