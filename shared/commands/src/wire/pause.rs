//! Pause and resume a running transaction. OCPP has no such message: a
//! pause is a TxProfile limiting the transaction to 0 A, and resume clears
//! exactly that profile, found again by its id derived from the transaction.

use super::charging_profile::set_any;
use super::{call, fnv1a, status_in, v16_transaction_id, Call, EncodeError};
use csms_domain::command::{
    ChargingProfile, ProfileKind, ProfilePurpose, RateUnit, SchedulePeriod,
};
use csms_domain::OcppVersion;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::ops::Range;

/// Profile ids pause uses: the top of the positive i32 range, far above the
/// small ids operators pick (and refused for profiles from the API).
pub(super) const PAUSE_PROFILE_IDS: Range<i32> = 1_900_000_000..i32::MAX;

/// Stack level of the pause profile: a TxProfile only competes with other
/// TxProfiles of the same transaction, and the highest level wins, so the
/// pause sits above any level an operator plausibly uses.
const PAUSE_STACK_LEVEL: u32 = 90;

/// The profile id `pause` uses for a transaction, so `resume` clears exactly
/// it: deterministic (no state to keep between the two commands) and inside
/// `PAUSE_PROFILE_IDS`.
pub fn pause_profile_id(transaction_id: &str) -> i32 {
    let span = PAUSE_PROFILE_IDS.end.abs_diff(PAUSE_PROFILE_IDS.start);
    // `fnv1a % span` < span, so the sum stays below PAUSE_PROFILE_IDS.end.
    PAUSE_PROFILE_IDS.start + (fnv1a(transaction_id) % span) as i32
}

/// A 0 A limit from the start of the transaction on, for as long as it runs.
fn pause_profile(transaction_id: &str) -> ChargingProfile {
    ChargingProfile {
        id: pause_profile_id(transaction_id),
        stack_level: PAUSE_STACK_LEVEL,
        purpose: ProfilePurpose::TxProfile,
        // Relative: counted from the transaction's start, so no clock is
        // needed and period 0 covers all of it.
        kind: ProfileKind::Relative,
        recurrency: None,
        valid_from: None,
        valid_to: None,
        transaction_id: Some(transaction_id.to_owned()),
        start_schedule: None,
        duration_s: None,
        rate_unit: RateUnit::A,
        periods: vec![SchedulePeriod {
            start_period_s: 0,
            limit: Decimal::ZERO,
            number_phases: None,
        }],
        min_charging_rate: None,
    }
}

pub(super) fn pause(
    transaction_id: &str,
    evse_id: Option<u32>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    // SetChargingProfile addresses the connector/EVSE the transaction runs
    // on; the CSMS fills it in from the session when it knows it.
    let evse_id = evse_id.filter(|&e| e > 0).ok_or_else(|| {
        EncodeError::Invalid(
            "evseId is needed to pause a transaction (the EVSE it runs on, > 0)".into(),
        )
    })?;
    if version == OcppVersion::V16 {
        v16_transaction_id("transactionId", transaction_id)?;
    }
    set_any(evse_id, &pause_profile(transaction_id), version)
}

#[derive(Serialize)]
struct Resume16 {
    id: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resume201 {
    charging_profile_id: i32,
}

/// Clearing by id alone removes the pause profile wherever it is, so no
/// EVSE is needed.
pub(super) fn resume(transaction_id: &str, version: OcppVersion) -> Result<Call, EncodeError> {
    let id = pause_profile_id(transaction_id);
    match version {
        OcppVersion::V16 => {
            // No 1.6 pause can exist for a non-integer id: refuse it the
            // same way pause does rather than clear a profile that never was.
            v16_transaction_id("transactionId", transaction_id)?;
            call("ClearChargingProfile", &Resume16 { id })
        }
        OcppVersion::V201 => call(
            "ClearChargingProfile",
            &Resume201 {
                charging_profile_id: id,
            },
        ),
    }
}

/// Pause (SetChargingProfile): Accepted or Rejected. Resume
/// (ClearChargingProfile): Accepted, or Unknown when the station holds no
/// such profile — the transaction was not paused, or has ended.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::{pause_profile_id, PAUSE_PROFILE_IDS, PAUSE_STACK_LEVEL};
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn pause(tx: &str, evse_id: Option<u32>) -> CommandRequest {
        CommandRequest::Pause {
            transaction_id: tx.into(),
            evse_id,
        }
    }

    fn resume(tx: &str) -> CommandRequest {
        CommandRequest::Resume {
            transaction_id: tx.into(),
            evse_id: None,
        }
    }

    #[test]
    fn profile_ids_are_stable_distinct_and_in_range() {
        assert_eq!(pause_profile_id("17"), pause_profile_id("17"));
        assert_ne!(pause_profile_id("17"), pause_profile_id("18"));
        for tx in [
            "",
            "0",
            "17",
            "2147483647",
            "c1b7d5e6-55aa-4e0f-9a3e-2f9c1d7e8b00",
        ] {
            let id = pause_profile_id(tx);
            assert!(PAUSE_PROFILE_IDS.contains(&id), "{tx}: {id}");
        }
        // Pinned: a change in the derivation would leave the pauses set
        // before a deployment uncleared by the resumes sent after it.
        assert_eq!(pause_profile_id("17"), 2_104_135_346);
        assert_eq!(pause_profile_id("tx-abc"), 2_092_767_629);
    }

    #[test]
    fn v16_pause_and_resume() {
        let id = pause_profile_id("17");
        let c = ok(&pause("17", Some(2)), V16);
        assert_eq!(c.action, "SetChargingProfile");
        assert_eq!(
            c.payload,
            json!({"connectorId": 2, "csChargingProfiles": {
                "chargingProfileId": id,
                "transactionId": 17,
                "stackLevel": PAUSE_STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}],
                },
            }})
        );
        let c = ok(&resume("17"), V16);
        assert_eq!(
            (c.action, c.payload),
            ("ClearChargingProfile", json!({"id": id}))
        );
    }

    #[test]
    fn v201_pause_and_resume() {
        let id = pause_profile_id("tx-abc");
        let c = ok(&pause("tx-abc", Some(1)), V201);
        assert_eq!(
            c.payload,
            json!({"evseId": 1, "chargingProfile": {
                "id": id,
                "transactionId": "tx-abc",
                "stackLevel": PAUSE_STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [{
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}],
                }],
            }})
        );
        let c = ok(&resume("tx-abc"), V201);
        assert_eq!(
            (c.action, c.payload),
            ("ClearChargingProfile", json!({"chargingProfileId": id}))
        );
    }

    #[test]
    fn refused() {
        for v in [V16, V201] {
            assert!(invalid(&pause("17", None), v).starts_with("evseId is needed"));
            assert!(invalid(&pause("17", Some(0)), v).starts_with("evseId is needed"));
        }
        assert!(invalid(&pause("tx-abc", Some(1)), V16).starts_with("transactionId: OCPP 1.6"));
        assert!(invalid(&resume("tx-abc"), V16).starts_with("transactionId: OCPP 1.6"));
        assert!(invalid(&pause(&"t".repeat(37), Some(1)), V201)
            .contains("/chargingProfile/transactionId"));
    }

    #[test]
    fn answers() {
        for v in [V16, V201] {
            assert_answers(
                &pause("17", Some(1)),
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Paused"}),
            );
            assert_answers(
                &resume("17"),
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Unknown"}),
                json!({"status": "Rejected"}),
            );
        }
    }
}
