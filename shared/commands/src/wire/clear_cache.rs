//! ClearCache: forget the authorization cache. The same message in both
//! versions.

use super::{call, status_in, Call, EncodeError};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Request {}

pub(super) fn encode() -> Result<Call, EncodeError> {
    call("ClearCache", &Request {})
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

    #[test]
    fn both_versions() {
        for v in [V16, V201] {
            let c = ok(&CommandRequest::ClearCache, v);
            assert_eq!((c.action, c.payload), ("ClearCache", json!({})));
        }
    }

    #[test]
    fn answers() {
        for v in [V16, V201] {
            assert_answers(
                &CommandRequest::ClearCache,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Cleared"}),
            );
        }
    }
}
