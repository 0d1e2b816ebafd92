//! ReserveNow and CancelReservation.

use super::{call, time, Call, EncodeError};
use csms_domain::command::CommandRequest;
use serde_json::json;

pub(super) fn reserve(req: &CommandRequest, v16: bool) -> Result<Call, EncodeError> {
    let CommandRequest::ReserveNow {
        reservation_id,
        id_token,
        token_type,
        expires_at,
        evse_id,
        parent_id_token,
    } = req
    else {
        unreachable!("reservation::reserve is only called for reserveNow");
    };
    Ok(if v16 {
        call(
            "ReserveNow",
            json!({
                // 0 = any connector.
                "connectorId": evse_id.unwrap_or(0),
                "expiryDate": time(*expires_at),
                "idTag": id_token,
                "parentIdTag": parent_id_token,
                "reservationId": reservation_id,
            }),
        )
    } else {
        let kind = token_type.as_deref().unwrap_or("ISO14443");
        call(
            "ReserveNow",
            json!({
                "id": reservation_id,
                "expiryDateTime": time(*expires_at),
                "idToken": {"idToken": id_token, "type": kind},
                "evseId": evse_id,
                "groupIdToken": parent_id_token.as_ref().map(|p| json!({"idToken": p, "type": kind})),
            }),
        )
    })
}

pub(super) fn cancel(reservation_id: i32) -> Call {
    call(
        "CancelReservation",
        json!({"reservationId": reservation_id}),
    )
}
