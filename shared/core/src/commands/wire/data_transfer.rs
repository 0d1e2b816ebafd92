//! DataTransfer from the CSMS: vendor-specific messages.

use super::{call, Call};
use serde_json::{json, Value};

pub(super) fn encode(
    vendor_id: &str,
    message_id: Option<&str>,
    data: Option<&Value>,
    v16: bool,
) -> Call {
    let data = match data {
        // 1.6 carries text only: JSON other than a string travels serialized.
        Some(Value::String(s)) if v16 => Some(Value::String(s.clone())),
        Some(other) if v16 => Some(Value::String(other.to_string())),
        other => other.cloned(),
    };
    call(
        "DataTransfer",
        json!({"vendorId": vendor_id, "messageId": message_id, "data": data}),
    )
}
