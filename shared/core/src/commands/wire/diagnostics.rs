//! Diagnostics upload: 1.6 GetDiagnostics, 2.0.1 GetLog (DiagnosticsLog).

use super::{call, derived_id, time, Call, EncodeContext};
use csms_domain::command::CommandRequest;
use serde_json::json;

pub(super) fn encode(req: &CommandRequest, v16: bool, ctx: &EncodeContext) -> Call {
    let CommandRequest::GetDiagnostics {
        location,
        start_time,
        stop_time,
        retries,
        retry_interval_s,
    } = req
    else {
        unreachable!("diagnostics::encode is only called for getDiagnostics");
    };
    if v16 {
        call(
            "GetDiagnostics",
            json!({
                "location": location,
                "startTime": start_time.map(time),
                "stopTime": stop_time.map(time),
                "retries": retries,
                "retryInterval": retry_interval_s,
            }),
        )
    } else {
        call(
            "GetLog",
            json!({
                "logType": "DiagnosticsLog",
                "requestId": derived_id(ctx.command_id),
                "log": {
                    "remoteLocation": location,
                    "oldestTimestamp": start_time.map(time),
                    "latestTimestamp": stop_time.map(time),
                },
                "retries": retries,
                "retryInterval": retry_interval_s,
            }),
        )
    }
}
