//! UpdateFirmware; 2.0.1 adds a request id and signed firmware.

use super::{call, derived_id, time, Call, EncodeContext, EncodeError};
use csms_domain::command::CommandRequest;
use serde_json::json;

pub(super) fn encode(
    req: &CommandRequest,
    v16: bool,
    ctx: &EncodeContext,
) -> Result<Call, EncodeError> {
    let CommandRequest::UpdateFirmware {
        location,
        retrieve_at,
        retries,
        retry_interval_s,
        signing_certificate,
        signature,
    } = req
    else {
        unreachable!("firmware::encode is only called for updateFirmware");
    };
    if v16 {
        if signing_certificate.is_some() || signature.is_some() {
            return Err(EncodeError::Unsupported(
                "signed firmware needs OCPP 2.0.1 (or the 1.6 security extension, not supported)"
                    .into(),
            ));
        }
        Ok(call(
            "UpdateFirmware",
            json!({
                "location": location,
                "retrieveDate": time(*retrieve_at),
                "retries": retries,
                "retryInterval": retry_interval_s,
            }),
        ))
    } else {
        Ok(call(
            "UpdateFirmware",
            json!({
                "requestId": derived_id(ctx.command_id),
                "firmware": {
                    "location": location,
                    "retrieveDateTime": time(*retrieve_at),
                    "signingCertificate": signing_certificate,
                    "signature": signature,
                },
                "retries": retries,
                "retryInterval": retry_interval_s,
            }),
        ))
    }
}
