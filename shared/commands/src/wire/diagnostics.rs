//! Diagnostics upload: 1.6 GetDiagnostics, 2.0.1 GetLog of the
//! DiagnosticsLog.

use super::{call, request_id, status_in, time, Call, EncodeError, Retries};
use csms_domain::command::CommandId;
use csms_domain::{OcppVersion, Timestamp};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16<'a> {
    location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_time: Option<String>,
    #[serde(flatten)]
    retries: Retries,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201<'a> {
    log_type: &'static str,
    request_id: i32,
    log: LogParameters<'a>,
    #[serde(flatten)]
    retries: Retries,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogParameters<'a> {
    remote_location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    oldest_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_timestamp: Option<String>,
}

pub(super) fn encode(
    location: &str,
    start_time: Option<Timestamp>,
    stop_time: Option<Timestamp>,
    retries: Retries,
    version: OcppVersion,
    command_id: &CommandId,
) -> Result<Call, EncodeError> {
    if let (Some(start), Some(stop)) = (start_time, stop_time) {
        if start > stop {
            return Err(EncodeError::Invalid(
                "startTime: after stopTime, the window holds nothing".into(),
            ));
        }
    }
    match version {
        OcppVersion::V16 => call(
            "GetDiagnostics",
            &Request16 {
                location,
                start_time: start_time.map(time),
                stop_time: stop_time.map(time),
                retries,
            },
        ),
        OcppVersion::V201 => call(
            "GetLog",
            &Request201 {
                log_type: "DiagnosticsLog",
                // Echoed in LogStatusNotification, linking the upload to us.
                request_id: request_id(command_id),
                log: LogParameters {
                    remote_location: location,
                    oldest_timestamp: start_time.map(time),
                    latest_timestamp: stop_time.map(time),
                },
                retries,
            },
        ),
    }
}

/// 1.6 answers with the file name it will upload (or none): there is no
/// "no", so any answer is a yes. 2.0.1 `AcceptedCanceled` accepts and
/// cancels an upload already running.
pub(super) fn accepted(version: OcppVersion, response: &Value) -> bool {
    match version {
        OcppVersion::V16 => true,
        OcppVersion::V201 => status_in(response, &["Accepted", "AcceptedCanceled"]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn diag(start: Option<u32>, stop: Option<u32>) -> CommandRequest {
        CommandRequest::GetDiagnostics {
            location: "ftp://logs.example.com/up".into(),
            start_time: start.map(t),
            stop_time: stop.map(t),
            retries: Some(3),
            retry_interval_s: Some(60),
        }
    }

    #[test]
    fn v16_get_diagnostics() {
        let c = ok(&diag(Some(1), Some(2)), V16);
        assert_eq!(c.action, "GetDiagnostics");
        assert_eq!(
            c.payload,
            json!({
                "location": "ftp://logs.example.com/up",
                "startTime": "2026-11-24T01:00:00.000Z",
                "stopTime": "2026-11-24T02:00:00.000Z",
                "retries": 3,
                "retryInterval": 60,
            })
        );
    }

    #[test]
    fn v201_get_log() {
        let c = ok(&diag(Some(1), None), V201);
        assert_eq!(c.action, "GetLog");
        assert_eq!(c.payload["logType"], "DiagnosticsLog");
        assert_eq!(
            c.payload["log"],
            json!({"remoteLocation": "ftp://logs.example.com/up", "oldestTimestamp": "2026-11-24T01:00:00.000Z"})
        );
        assert_eq!(c.payload["retries"], 3);
        assert_eq!(c.payload["retryInterval"], 60);
        assert!(c.payload["requestId"].as_i64().unwrap() > 0);
    }

    #[test]
    fn refused() {
        for v in [V16, V201] {
            assert!(invalid(&diag(Some(3), Some(2)), v).starts_with("startTime"));
        }
        let far = CommandRequest::GetDiagnostics {
            location: format!("https://{}", "x".repeat(510)),
            start_time: None,
            stop_time: None,
            retries: None,
            retry_interval_s: None,
        };
        assert!(invalid(&far, V201).contains("/log/remoteLocation"));
    }

    #[test]
    fn answers() {
        let req = diag(None, None);
        // 1.6 has no refusal: a name, or none when there is nothing to send.
        assert_answers_any(
            &req,
            V16,
            &[json!({"fileName": "diag.zip"}), json!({})],
            json!({"fileName": 5}),
        );
        assert_answers(
            &req,
            V201,
            json!({"status": "AcceptedCanceled", "filename": "diag.zip"}),
            json!({"status": "Rejected"}),
            json!({"status": "Accepted", "fileName": "x"}),
        );
    }
}
