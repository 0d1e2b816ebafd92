//! Remote start and stop: 1.6 RemoteStart/RemoteStopTransaction, 2.0.1
//! RequestStart/RequestStopTransaction.

use super::{
    call, charging_profile, derived_id, v16_transaction_id, Call, EncodeContext, EncodeError,
};
use csms_domain::command::{CommandRequest, ProfilePurpose};
use serde_json::json;

pub(super) fn start(
    req: &CommandRequest,
    v16: bool,
    ctx: &EncodeContext,
) -> Result<Call, EncodeError> {
    let CommandRequest::RemoteStart {
        id_token,
        token_type,
        evse_id,
        charging_profile,
    } = req
    else {
        unreachable!("remote::start is only called for remoteStart");
    };
    if let Some(p) = charging_profile {
        // Both versions only take a transaction profile here.
        if p.purpose != ProfilePurpose::TxProfile {
            return Err(EncodeError::Invalid(
                "chargingProfile: a remote start takes a txProfile only".into(),
            ));
        }
    }
    let profile = charging_profile
        .as_ref()
        .map(|p| charging_profile::profile_json(p, v16))
        .transpose()?;
    Ok(if v16 {
        call(
            "RemoteStartTransaction",
            json!({"idTag": id_token, "connectorId": evse_id, "chargingProfile": profile}),
        )
    } else {
        call(
            "RequestStartTransaction",
            json!({
                "idToken": {"idToken": id_token, "type": token_type.as_deref().unwrap_or("ISO14443")},
                "remoteStartId": derived_id(ctx.command_id),
                "evseId": evse_id,
                "chargingProfile": profile,
            }),
        )
    })
}

pub(super) fn stop(transaction_id: &str, v16: bool) -> Result<Call, EncodeError> {
    Ok(if v16 {
        call(
            "RemoteStopTransaction",
            json!({"transactionId": v16_transaction_id(transaction_id)?}),
        )
    } else {
        call(
            "RequestStopTransaction",
            json!({"transactionId": transaction_id}),
        )
    })
}
