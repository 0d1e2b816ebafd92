//! Reset: 1.6 Soft/Hard, 2.0.1 OnIdle/Immediate (optionally one EVSE).

use super::{call, Call, EncodeError};
use csms_domain::command::{ResetKind, ResetWhen};
use serde_json::json;

pub(super) fn encode(
    kind: Option<ResetKind>,
    when: Option<ResetWhen>,
    evse_id: Option<u32>,
    v16: bool,
) -> Result<Call, EncodeError> {
    if v16 {
        if evse_id.is_some() {
            return Err(EncodeError::Unsupported(
                "OCPP 1.6 resets the whole station; evseId is 2.0.1 only".into(),
            ));
        }
        let t = match kind.unwrap_or(ResetKind::Soft) {
            ResetKind::Soft => "Soft",
            ResetKind::Hard => "Hard",
        };
        Ok(call("Reset", json!({"type": t})))
    } else {
        let t = match when.unwrap_or(ResetWhen::OnIdle) {
            ResetWhen::OnIdle => "OnIdle",
            ResetWhen::Immediate => "Immediate",
        };
        Ok(call("Reset", json!({"type": t, "evseId": evse_id})))
    }
}
