//! Remote stop: 1.6 RemoteStopTransaction (integer transaction id), 2.0.1
//! RequestStopTransaction (string transaction id).

use super::{call, status_in, v16_transaction_id, Call, EncodeError};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16 {
    transaction_id: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201<'a> {
    transaction_id: &'a str,
}

pub(super) fn encode(transaction_id: &str, version: OcppVersion) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => call(
            "RemoteStopTransaction",
            &Request16 {
                transaction_id: v16_transaction_id("transactionId", transaction_id)?,
            },
        ),
        OcppVersion::V201 => call("RequestStopTransaction", &Request201 { transaction_id }),
    }
}

/// Both versions answer Accepted or Rejected.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn stop(tx: &str) -> CommandRequest {
        CommandRequest::RemoteStop {
            transaction_id: tx.into(),
        }
    }

    #[test]
    fn both_versions() {
        let c = ok(&stop("42"), V16);
        assert_eq!(c.action, "RemoteStopTransaction");
        assert_eq!(c.payload, json!({"transactionId": 42}));
        let c = ok(&stop("3f2a-tx"), V201);
        assert_eq!(c.action, "RequestStopTransaction");
        assert_eq!(c.payload, json!({"transactionId": "3f2a-tx"}));
    }

    #[test]
    fn refused_ids() {
        for tx in ["tx-a", "", " 42", "4294967296"] {
            let e = invalid(&stop(tx), V16);
            assert!(e.starts_with("transactionId: OCPP 1.6"), "{e}");
        }
        let e = invalid(&stop(&"x".repeat(37)), V201);
        assert!(
            e.contains("RequestStopTransaction") && e.contains("/transactionId"),
            "{e}"
        );
    }

    #[test]
    fn answers() {
        for v in [V16, V201] {
            assert_answers(
                &stop("42"),
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Stopped"}),
            );
        }
    }
}
