//! Operational metrics as CloudWatch embedded metric format (EMF): one JSON
//! log line per event, which CloudWatch Logs turns into metrics without an
//! API call (no `PutMetricData` in the message path, no cost in latency).
//!
//! The WebSocket Lambdas count, in the namespace `CSMS` (or
//! `CSMS_METRICS_NAMESPACE`):
//! - `Messages` by `Action` (the OCPP action of a call, or `CallResult`,
//!   `CallError` for the charger's answers to ours, `Malformed` for a frame
//!   that is not one) and `Outcome` (`ok`, or `error` when the reply is a
//!   CALLERROR);
//! - `Connections` by `Result` (`accepted`, `refused`) and `Disconnections`;
//!
//! and every function that settles commands counts `Commands` by `Type`
//! (`remoteStart`, …) and `Status` (`accepted`, `rejected`, `failed`,
//! `timeout`, `offline`), from the domain event ([`CommandOutcomes`]).

use serde::de::IgnoredAny;
use serde_json::{json, Value};

/// The namespace of every metric, from `CSMS_METRICS_NAMESPACE` (default
/// `CSMS`).
pub fn namespace() -> String {
    std::env::var("CSMS_METRICS_NAMESPACE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "CSMS".to_owned())
}

/// One EMF line: `count` of `metric` (unit Count) with `dimensions`, at
/// `timestamp_ms`.
pub fn line(
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    count: u64,
    timestamp_ms: i64,
) -> String {
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [names],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        metric: count,
    });
    if let Value::Object(fields) = &mut doc {
        for (k, v) in dimensions {
            fields.insert((*k).to_owned(), Value::String((*v).to_owned()));
        }
    }
    doc.to_string()
}

/// What a frame from a charger was, for the `Action` dimension: the action
/// of a CALL (only names of letters, the longest OCPP action is far under
/// 64; anything else is `Other`, so a hostile charger cannot mint metrics),
/// `CallResult`, `CallError`, or `Malformed`.
pub fn frame_action(frame: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Call(u8, IgnoredAny, String, IgnoredAny);
    if let Ok(Call(2, _, action, _)) = serde_json::from_str::<Call>(frame) {
        let plain = !action.is_empty()
            && action.len() <= 64
            && action.bytes().all(|b| b.is_ascii_alphabetic());
        return if plain { action } else { "Other".to_owned() };
    }
    match serde_json::from_str::<Vec<IgnoredAny>>(frame).map(|v| v.len()) {
        Ok(_) if frame.trim_start().starts_with("[3") => "CallResult".to_owned(),
        Ok(_) if frame.trim_start().starts_with("[4") => "CallError".to_owned(),
        _ => "Malformed".to_owned(),
    }
}

/// `error` when the reply to the frame is a CALLERROR, else `ok`.
pub fn outcome(reply: Option<&str>) -> &'static str {
    match reply {
        Some(r) if r.trim_start().starts_with("[4") => "error",
        _ => "ok",
    }
}

/// Writes the line to standard output, where Lambda sends it to CloudWatch
/// Logs (the log lines of `tracing` go there too, as text).
pub fn emit(metric: &str, dimensions: &[(&str, &str)]) {
    println!(
        "{}",
        line(
            &namespace(),
            metric,
            dimensions,
            1,
            chrono::Utc::now().timestamp_millis()
        )
    );
}

/// Counts settled commands (`Commands` by `Type` and `Status`): a
/// subscriber on the domain-event bus of the Lambdas.
pub struct CommandOutcomes;

impl CommandOutcomes {
    /// The metric line of `event`, if it is a settled command.
    pub fn line_for(event: &csms_kernel::events::DomainEvent, namespace: &str) -> Option<String> {
        let csms_kernel::events::DomainEvent::CommandCompleted { command, at } = event else {
            return None;
        };
        Some(line(
            namespace,
            "Commands",
            &[
                ("Type", command.request.type_name()),
                ("Status", command.status.as_str()),
            ],
            1,
            at.timestamp_millis(),
        ))
    }
}

#[async_trait::async_trait]
impl csms_kernel::events::Subscriber for CommandOutcomes {
    async fn on(&self, event: &csms_kernel::events::DomainEvent) {
        if let Some(line) = Self::line_for(event, &namespace()) {
            println!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settled_command_counts_by_type_and_status() {
        use csms_domain::command::{Command, CommandRequest, CommandStatus};
        use csms_kernel::events::DomainEvent;
        let at = chrono::DateTime::from_timestamp_millis(1_765_000_000_000).unwrap();
        let command = Command {
            id: csms_domain::command::CommandId::new(),
            station_id: csms_domain::StationId::parse("CP-1").unwrap(),
            org_id: csms_domain::OrgId::default_org(),
            request: CommandRequest::ClearCache,
            status: CommandStatus::Timeout,
            created_at: at,
            sent_at: Some(at),
            completed_at: Some(at),
            timeout_s: 30,
            action: Some("ClearCache".into()),
            response: None,
            error: None,
            progress: vec![],
            version: 3,
        };
        let line =
            CommandOutcomes::line_for(&DomainEvent::CommandCompleted { command, at }, "CSMS/x")
                .expect("a command outcome is counted");
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["Commands"], 1);
        assert_eq!(doc["Type"], "clearCache");
        assert_eq!(doc["Status"], "timeout");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["Type", "Status"])
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_765_000_000_000_i64);
    }

    #[test]
    fn a_line_is_what_cloudwatch_reads_as_embedded_metrics() {
        let l = line(
            "CSMS",
            "Messages",
            &[("Action", "Heartbeat"), ("Outcome", "ok")],
            1,
            1_765_000_000_000,
        );
        assert!(!l.contains('\n'));
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            v,
            json!({
                "_aws": {
                    "Timestamp": 1_765_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "CSMS",
                        "Dimensions": [["Action", "Outcome"]],
                        "Metrics": [{"Name": "Messages", "Unit": "Count"}],
                    }],
                },
                "Messages": 1,
                "Action": "Heartbeat",
                "Outcome": "ok",
            })
        );
    }

    #[test]
    fn frames_are_named_by_their_action_or_kind_and_nothing_a_charger_invents() {
        assert_eq!(frame_action(r#"[2,"1","Heartbeat",{}]"#), "Heartbeat");
        assert_eq!(
            frame_action(r#"[2,"1","TransactionEvent",{"a":[1,2]}]"#),
            "TransactionEvent"
        );
        assert_eq!(frame_action(r#"[3,"1",{}]"#), "CallResult");
        assert_eq!(frame_action(r#"[4,"1","NotSupported","",{}]"#), "CallError");
        assert_eq!(frame_action(r#"[2,"1","Heart beat!",{}]"#), "Other");
        assert_eq!(
            frame_action(&format!(r#"[2,"1","{}",{{}}]"#, "A".repeat(65))),
            "Other"
        );
        assert_eq!(frame_action("not json"), "Malformed");
        assert_eq!(frame_action(r#"{"a":1}"#), "Malformed");
        assert_eq!(outcome(Some(r#"[4,"1","FormatViolation","",{}]"#)), "error");
        assert_eq!(outcome(Some(r#"[3,"1",{}]"#)), "ok");
        assert_eq!(outcome(None), "ok");
    }
}
