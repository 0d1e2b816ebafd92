//! OCPP-J RPC frames.
//!
//! ```text
//! CALL        [2, "<messageId>", "<action>", {payload}]
//! CALLRESULT  [3, "<messageId>", {payload}]
//! CALLERROR   [4, "<messageId>", "<errorCode>", "<description>", {details}]
//! ```

use crate::error::{CallError, ErrorCode};
use crate::Version;
use serde_json::{json, Map, Value};

/// Longest message id either version allows (2.0.1: 36; 1.6 sets no limit but
/// chargers use UUIDs). Longer ids are refused before they reach a store key.
pub const MAX_MESSAGE_ID_LEN: usize = 36;

/// A message id we can echo, log and look up: 1 to [`MAX_MESSAGE_ID_LEN`]
/// characters, none of them a control character (a newline or NUL in an id
/// would forge log lines and break store keys). Anything else is treated as
/// no id at all: a CALL gets a CALLERROR with id "-1".
pub fn usable_message_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_MESSAGE_ID_LEN && !s.chars().any(char::is_control)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        message_id: String,
        action: String,
        payload: Map<String, Value>,
    },
    CallResult {
        message_id: String,
        payload: Value,
    },
    CallError {
        message_id: String,
        code: String,
        description: String,
        details: Value,
    },
    /// A reply-type frame (CALLRESULT/CALLERROR) too broken to use. OCPP allows
    /// no answer to a reply, so it is only logged.
    BrokenReply {
        reason: String,
    },
}

/// Parse one WebSocket text message. `Err` carries the CALLERROR to send back.
pub fn parse_frame(version: Version, text: &str) -> Result<Frame, CallError> {
    let unknown = |code, msg: &str| CallError::new(CallError::UNKNOWN_ID, code, msg);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        unknown(
            ErrorCode::RpcFrameworkError,
            &format!("frame is not valid JSON: {e}"),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(unknown(
            ErrorCode::RpcFrameworkError,
            "frame is not a JSON array",
        ));
    };
    let id = match items.get(1) {
        Some(Value::String(s)) if usable_message_id(s) => Some(s.clone()),
        _ => None,
    };
    let fail = |code, msg: &str| {
        CallError::new(
            id.clone().unwrap_or_else(|| CallError::UNKNOWN_ID.into()),
            code,
            msg,
        )
    };
    let Some(type_id) = items.first().and_then(Value::as_u64) else {
        return Err(fail(
            ErrorCode::RpcFrameworkError,
            "first element must be the message type number",
        ));
    };
    if !(2..=4).contains(&type_id) {
        return Err(fail(
            ErrorCode::MessageTypeNotSupported,
            &format!("message type {type_id} is not supported"),
        ));
    }
    let Some(message_id) = id.clone() else {
        let msg = format!(
            "message id must be a string of 1 to {MAX_MESSAGE_ID_LEN} characters, none a control character"
        );
        return match type_id {
            2 => Err(fail(ErrorCode::RpcFrameworkError, &msg)),
            _ => Ok(Frame::BrokenReply { reason: msg }),
        };
    };
    match type_id {
        2 => {
            let Some(Value::String(action)) = items.get(2) else {
                return Err(fail(
                    ErrorCode::RpcFrameworkError,
                    "CALL must name its action as a string",
                ));
            };
            match items.len() {
                3 => {
                    // 1.6 calls a missing payload "incomplete" (ProtocolError);
                    // 2.0.1 treats it as a malformed RPC frame.
                    let code = match version {
                        Version::V16 => ErrorCode::ProtocolError,
                        Version::V201 => ErrorCode::RpcFrameworkError,
                    };
                    Err(fail(code, "CALL has no payload"))
                }
                4 => match &items[3] {
                    Value::Object(payload) => Ok(Frame::Call {
                        message_id,
                        action: action.clone(),
                        payload: payload.clone(),
                    }),
                    _ => Err(fail(
                        ErrorCode::FormatViolation,
                        "CALL payload must be a JSON object",
                    )),
                },
                n => Err(fail(
                    ErrorCode::RpcFrameworkError,
                    &format!("CALL must have 4 elements, not {n}"),
                )),
            }
        }
        3 => match items.len() {
            3 => Ok(Frame::CallResult {
                message_id,
                payload: items[2].clone(),
            }),
            n => Ok(Frame::BrokenReply {
                reason: format!("CALLRESULT with {n} elements"),
            }),
        },
        _ => match (items.get(2), items.get(3)) {
            (Some(Value::String(code)), Some(Value::String(description))) => Ok(Frame::CallError {
                message_id,
                code: code.clone(),
                description: description.clone(),
                details: items.get(4).cloned().unwrap_or_else(|| json!({})),
            }),
            _ => Ok(Frame::BrokenReply {
                reason: "CALLERROR without code and description".into(),
            }),
        },
    }
}

/// `[3, id, payload]`.
pub fn render_call_result(message_id: &str, payload: &Value) -> String {
    json!([3, message_id, payload]).to_string()
}

/// `[2, id, action, payload]`.
pub fn render_call(message_id: &str, action: &str, payload: &Value) -> String {
    json!([2, message_id, action, payload]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(v: Version, text: &str) -> (String, &'static str) {
        let e = parse_frame(v, text).unwrap_err();
        (e.message_id, e.code.as_str(v))
    }

    #[test]
    fn garbage_never_panics_and_maps_to_codes() {
        use Version::*;
        assert_eq!(err(V16, "not json"), ("-1".into(), "FormationViolation"));
        assert_eq!(err(V201, "not json"), ("-1".into(), "RpcFrameworkError"));
        assert_eq!(err(V201, r#"{"a":1}"#), ("-1".into(), "RpcFrameworkError"));
        assert_eq!(
            err(V201, r#"[7,"m10","Heartbeat",{}]"#),
            ("m10".into(), "MessageTypeNotSupported")
        );
        assert_eq!(
            err(V16, r#"[7,"m10","Heartbeat",{}]"#),
            ("m10".into(), "FormationViolation")
        );
        assert_eq!(
            err(V16, r#"[2,"m7","Heartbeat"]"#),
            ("m7".into(), "ProtocolError")
        );
        assert_eq!(
            err(V201, r#"[2,"m7","Heartbeat"]"#),
            ("m7".into(), "RpcFrameworkError")
        );
        assert_eq!(
            err(V16, r#"[2,"m6","Heartbeat",{},"extra"]"#),
            ("m6".into(), "FormationViolation")
        );
        assert_eq!(
            err(V201, r#"[2,"m",5,{}]"#),
            ("m".into(), "RpcFrameworkError")
        );
        assert_eq!(
            err(V201, r#"[2,"m","Heartbeat",[]]"#),
            ("m".into(), "FormatViolation")
        );
        assert_eq!(
            err(V201, r#"[2,12,"Heartbeat",{}]"#),
            ("-1".into(), "RpcFrameworkError")
        );
        assert_eq!(
            err(
                V201,
                &format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37))
            )
            .0,
            "-1"
        );
        assert_eq!(err(V201, "[]"), ("-1".into(), "RpcFrameworkError"));
        assert_eq!(err(V201, "[null]"), ("-1".into(), "RpcFrameworkError"));
        assert_eq!(err(V201, &"\u{0}".repeat(200_000)).1, "RpcFrameworkError");
    }

    #[test]
    fn message_ids_with_control_characters_or_over_36_characters_are_refused() {
        for c in (0u32..=0x1f).chain([0x7f]).chain(0x80..=0x9f) {
            let id = format!("m{}", char::from_u32(c).unwrap());
            let frame = serde_json::json!([2, id, "Heartbeat", {}]).to_string();
            for v in [Version::V16, Version::V201] {
                let e = parse_frame(v, &frame).unwrap_err();
                assert_eq!(e.message_id, "-1", "{c:#x}");
                assert!(e.description.contains("message id"), "{c:#x}");
            }
            let reply = serde_json::json!([3, id, {}]).to_string();
            assert!(matches!(
                parse_frame(Version::V201, &reply).unwrap(),
                Frame::BrokenReply { .. }
            ));
        }
        // 36 characters, not bytes: a non-ASCII id the schema allows is kept.
        let wide = "é".repeat(36);
        let frame = serde_json::json!([2, wide, "Heartbeat", {}]).to_string();
        assert!(matches!(
            parse_frame(Version::V201, &frame).unwrap(),
            Frame::Call { message_id, .. } if message_id == wide
        ));
        let long = serde_json::json!([2, "é".repeat(37), "Heartbeat", {}]).to_string();
        assert_eq!(
            parse_frame(Version::V201, &long).unwrap_err().message_id,
            "-1"
        );
        assert!(parse_frame(Version::V16, r#"[2,"~#|","Heartbeat",{}]"#).is_ok());
    }

    #[test]
    fn frames_parse() {
        let f = parse_frame(Version::V16, r#"[2,"a","Heartbeat",{}]"#).unwrap();
        assert!(matches!(f, Frame::Call { ref action, .. } if action == "Heartbeat"));
        let f = parse_frame(Version::V16, r#"[3,"a",{"x":1}]"#).unwrap();
        assert!(matches!(f, Frame::CallResult { .. }));
        let f = parse_frame(Version::V16, r#"[4,"a","GenericError","bad",{}]"#).unwrap();
        assert!(matches!(f, Frame::CallError { ref code, .. } if code == "GenericError"));
        assert!(matches!(
            parse_frame(Version::V16, r#"[3,"a"]"#).unwrap(),
            Frame::BrokenReply { .. }
        ));
        assert!(matches!(
            parse_frame(Version::V16, r#"[3,null,{}]"#).unwrap(),
            Frame::BrokenReply { .. }
        ));
    }
}
