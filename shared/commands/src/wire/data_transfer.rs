//! DataTransfer from the CSMS: vendor-specific messages.

use super::{call, status_in, Call, EncodeError};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    vendor_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    /// 1.6: always a string; 2.0.1: any JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

pub(super) fn encode(
    vendor_id: &str,
    message_id: Option<&str>,
    data: Option<&Value>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    let data = match (version, data) {
        // 1.6 carries text only: a string goes as is, other JSON as its text.
        (OcppVersion::V16, Some(Value::String(s))) => Some(Value::String(s.clone())),
        (OcppVersion::V16, Some(other)) => Some(Value::String(other.to_string())),
        (_, other) => other.cloned(),
    };
    call(
        "DataTransfer",
        &Request {
            vendor_id,
            message_id,
            data,
        },
    )
}

/// Both versions: Accepted, or Rejected / UnknownMessageId / UnknownVendorId.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::{json, Value};

    fn transfer(data: Option<Value>) -> CommandRequest {
        CommandRequest::DataTransfer {
            vendor_id: "com.acme".into(),
            message_id: Some("cfg".into()),
            data,
        }
    }

    #[test]
    fn v16_data_is_text() {
        let c = ok(&transfer(Some(json!("hello"))), V16);
        assert_eq!(c.action, "DataTransfer");
        assert_eq!(
            c.payload,
            json!({"vendorId": "com.acme", "messageId": "cfg", "data": "hello"})
        );
        assert_eq!(
            ok(&transfer(Some(json!({"a": [1, 2]}))), V16).payload["data"],
            "{\"a\":[1,2]}"
        );
        assert_eq!(ok(&transfer(Some(json!(5))), V16).payload["data"], "5");
        assert_eq!(
            ok(&transfer(None), V16).payload,
            json!({"vendorId": "com.acme", "messageId": "cfg"})
        );
    }

    #[test]
    fn v201_data_is_any_json() {
        assert_eq!(
            ok(&transfer(Some(json!({"a": [1, 2]}))), V201).payload["data"],
            json!({"a": [1, 2]})
        );
        assert_eq!(
            ok(&transfer(Some(json!("hello"))), V201).payload["data"],
            "hello"
        );
    }

    #[test]
    fn refused() {
        let long = CommandRequest::DataTransfer {
            vendor_id: "v".repeat(256),
            message_id: None,
            data: None,
        };
        for v in [V16, V201] {
            assert!(invalid(&long, v).contains("/vendorId"));
        }
    }

    #[test]
    fn answers() {
        let req = transfer(None);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted", "data": "ok"}),
                json!({"status": "UnknownVendorId"}),
                json!({"status": "Unknown"}),
            );
        }
    }
}
