//! Reset: 1.6 Soft/Hard of the whole station, 2.0.1 OnIdle/Immediate of the
//! station or one EVSE. Each version reads only its own field (`kind` /
//! `when`): their meanings differ too much to translate one into the other.

use super::{call, status_in, Call, EncodeError};
use csms_domain::command::{ResetKind, ResetWhen};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Request16 {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201 {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    evse_id: Option<u32>,
}

pub(super) fn encode(
    kind: Option<ResetKind>,
    when: Option<ResetWhen>,
    evse_id: Option<u32>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => {
            if evse_id.is_some() {
                return Err(EncodeError::Unsupported(
                    "OCPP 1.6 resets the whole station; evseId is 2.0.1 only".into(),
                ));
            }
            let kind = match kind.unwrap_or(ResetKind::Soft) {
                ResetKind::Soft => "Soft",
                ResetKind::Hard => "Hard",
            };
            call("Reset", &Request16 { kind })
        }
        OcppVersion::V201 => {
            let kind = match when.unwrap_or(ResetWhen::OnIdle) {
                ResetWhen::OnIdle => "OnIdle",
                ResetWhen::Immediate => "Immediate",
            };
            call("Reset", &Request201 { kind, evse_id })
        }
    }
}

/// 2.0.1 `Scheduled` (reset once the running transactions end) is a yes; the
/// schema keeps it out of 1.6 answers.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted", "Scheduled"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::{CommandRequest, ResetKind, ResetWhen};
    use serde_json::json;

    fn reset(
        kind: Option<ResetKind>,
        when: Option<ResetWhen>,
        evse_id: Option<u32>,
    ) -> CommandRequest {
        CommandRequest::Reset {
            kind,
            when,
            evse_id,
        }
    }

    #[test]
    fn v16_soft_by_default() {
        let c = ok(&reset(None, None, None), V16);
        assert_eq!((c.action, c.payload), ("Reset", json!({"type": "Soft"})));
        assert_eq!(
            ok(
                &reset(Some(ResetKind::Hard), Some(ResetWhen::OnIdle), None),
                V16
            )
            .payload,
            json!({"type": "Hard"})
        );
        let e = enc(&reset(None, None, Some(1)), V16).unwrap_err();
        assert!(matches!(e, EncodeError::Unsupported(_)), "{e:?}");
    }

    #[test]
    fn v201_on_idle_by_default() {
        assert_eq!(
            ok(&reset(Some(ResetKind::Hard), None, None), V201).payload,
            json!({"type": "OnIdle"})
        );
        assert_eq!(
            ok(&reset(None, Some(ResetWhen::Immediate), Some(2)), V201).payload,
            json!({"type": "Immediate", "evseId": 2})
        );
    }

    #[test]
    fn answers() {
        let req = reset(None, None, None);
        assert_answers(
            &req,
            V16,
            json!({"status": "Accepted"}),
            json!({"status": "Rejected"}),
            json!({"status": "Scheduled"}),
        );
        assert_answers(
            &req,
            V201,
            json!({"status": "Scheduled"}),
            json!({"status": "Rejected"}),
            json!({}),
        );
        assert_eq!(
            interpret(&req, V201, &json!({"status": "Accepted"})),
            Ok(CommandStatus::Accepted)
        );
    }
}
