//! Remote start: 1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction.

use super::charging_profile::{self, Profile16, Profile201};
use super::{call, request_id, status_in, Call, EncodeError, IdToken201, Token};
use csms_domain::command::{ChargingProfile, CommandId, ProfilePurpose};
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16<'a> {
    id_tag: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile: Option<Profile16>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201<'a> {
    id_token: IdToken201<'a>,
    remote_start_id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    evse_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile: Option<Profile201>,
}

pub(super) fn encode(
    token: Token,
    evse_id: Option<u32>,
    profile: Option<&ChargingProfile>,
    version: OcppVersion,
    command_id: &CommandId,
) -> Result<Call, EncodeError> {
    // Both versions: "SHALL be > 0"; leaving it out lets the charger choose.
    if evse_id == Some(0) {
        return Err(EncodeError::Invalid(
            "evseId: a transaction starts on an EVSE > 0 (leave it out to let the charger choose)"
                .into(),
        ));
    }
    if let Some(p) = profile {
        // The profile of a remote start limits the transaction it starts:
        // a TxProfile, and there is no transaction id to name yet.
        if p.purpose != ProfilePurpose::TxProfile {
            return Err(EncodeError::Invalid(
                "chargingProfile.purpose: a remote start takes a txProfile only".into(),
            ));
        }
        if p.transaction_id.is_some() {
            return Err(EncodeError::Invalid(
                "chargingProfile.transactionId: the transaction does not exist yet; leave it out"
                    .into(),
            ));
        }
        charging_profile::check_user_profile("chargingProfile", p)?;
    }
    match version {
        OcppVersion::V16 => call(
            "RemoteStartTransaction",
            &Request16 {
                id_tag: token.id,
                connector_id: evse_id,
                charging_profile: profile
                    .map(|p| charging_profile::v16("chargingProfile", p))
                    .transpose()?,
            },
        ),
        OcppVersion::V201 => call(
            "RequestStartTransaction",
            &Request201 {
                id_token: token.v201(),
                remote_start_id: request_id(command_id),
                evse_id,
                charging_profile: profile
                    .map(|p| charging_profile::v201("chargingProfile", p))
                    .transpose()?,
            },
        ),
    }
}

/// Both versions answer Accepted or Rejected.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::{CommandRequest, ProfilePurpose};
    use serde_json::json;

    fn start(profile: Option<csms_domain::command::ChargingProfile>) -> CommandRequest {
        CommandRequest::RemoteStart {
            id_token: "TAG-1".into(),
            token_type: None,
            evse_id: Some(2),
            charging_profile: profile,
        }
    }

    #[test]
    fn v16_remote_start_transaction() {
        let c = ok(&start(None), V16);
        assert_eq!(c.action, "RemoteStartTransaction");
        assert_eq!(c.payload, json!({"idTag": "TAG-1", "connectorId": 2}));

        let c = ok(&start(Some(profile(ProfilePurpose::TxProfile, None))), V16);
        let p = &c.payload["chargingProfile"];
        assert_eq!(p["chargingProfilePurpose"], "TxProfile");
        assert_eq!(p["chargingProfileId"], 7);
        assert_eq!(p.get("transactionId"), None);
        assert_eq!(
            p["chargingSchedule"]["chargingSchedulePeriod"][0],
            json!({"startPeriod": 0, "limit": 16, "numberPhases": 3})
        );
    }

    #[test]
    fn v201_request_start_transaction() {
        let c = ok(&start(Some(profile(ProfilePurpose::TxProfile, None))), V201);
        assert_eq!(c.action, "RequestStartTransaction");
        assert_eq!(
            c.payload["idToken"],
            json!({"idToken": "TAG-1", "type": "ISO14443"})
        );
        assert_eq!(c.payload["evseId"], 2);
        let id = c.payload["remoteStartId"].as_i64().unwrap();
        assert!(id > 0 && id <= i64::from(i32::MAX), "{id}");
        assert_eq!(c.payload["chargingProfile"]["chargingSchedule"][0]["id"], 1);
        // Re-encoding at send time gives the very CALL checked at submit.
        assert_eq!(
            ok(&start(Some(profile(ProfilePurpose::TxProfile, None))), V201),
            c
        );

        let app = CommandRequest::RemoteStart {
            id_token: "user-42".into(),
            token_type: Some("Central".into()),
            evse_id: None,
            charging_profile: None,
        };
        let c = ok(&app, V201);
        assert_eq!(c.payload["idToken"]["type"], "Central");
        assert_eq!(c.payload.get("evseId"), None);
    }

    #[test]
    fn refused_starts() {
        let long = CommandRequest::RemoteStart {
            id_token: "X".repeat(21),
            token_type: None,
            evse_id: None,
            charging_profile: None,
        };
        let e = invalid(&long, V16);
        assert!(
            e.contains("RemoteStartTransaction") && e.contains("/idTag"),
            "{e}"
        );
        let bad_type = CommandRequest::RemoteStart {
            id_token: "A".into(),
            token_type: Some("Barcode".into()),
            evse_id: None,
            charging_profile: None,
        };
        assert!(invalid(&bad_type, V201).contains("/idToken/type"));
        let zero = CommandRequest::RemoteStart {
            id_token: "A".into(),
            token_type: None,
            evse_id: Some(0),
            charging_profile: None,
        };
        for v in [V16, V201] {
            assert!(invalid(&zero, v).starts_with("evseId"));
            let e = invalid(&start(Some(profile(ProfilePurpose::TxDefault, None))), v);
            assert!(e.contains("txProfile"), "{e}");
            let e = invalid(
                &start(Some(profile(ProfilePurpose::TxProfile, Some("5")))),
                v,
            );
            assert!(e.starts_with("chargingProfile.transactionId"), "{e}");
        }
    }

    #[test]
    fn answers() {
        let req = start(None);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Started"}),
            );
        }
    }
}
