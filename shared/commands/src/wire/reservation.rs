//! ReserveNow and CancelReservation.

use super::{call, status_in, time, Call, EncodeError, IdToken201, Token};
use csms_domain::{OcppVersion, Timestamp};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReserveNow16<'a> {
    /// 0 = any connector.
    connector_id: u32,
    expiry_date: String,
    id_tag: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id_tag: Option<&'a str>,
    reservation_id: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReserveNow201<'a> {
    id: i32,
    expiry_date_time: String,
    id_token: IdToken201<'a>,
    /// Absent = any EVSE.
    #[serde(skip_serializing_if = "Option::is_none")]
    evse_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id_token: Option<IdToken201<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CancelReservation {
    reservation_id: i32,
}

pub(super) fn reserve(
    reservation_id: i32,
    token: Token,
    expires_at: Timestamp,
    evse_id: Option<u32>,
    parent_id_token: Option<&str>,
    version: OcppVersion,
    now: Timestamp,
) -> Result<Call, EncodeError> {
    // A reservation that has already ended would be accepted and mean nothing.
    if expires_at <= now {
        return Err(EncodeError::Invalid(format!(
            "expiresAt: {} is not in the future",
            time(expires_at)
        )));
    }
    match version {
        OcppVersion::V16 => call(
            "ReserveNow",
            &ReserveNow16 {
                connector_id: evse_id.unwrap_or(0),
                expiry_date: time(expires_at),
                id_tag: token.id,
                parent_id_tag: parent_id_token,
                reservation_id,
            },
        ),
        OcppVersion::V201 => call(
            "ReserveNow",
            &ReserveNow201 {
                id: reservation_id,
                expiry_date_time: time(expires_at),
                id_token: token.v201(),
                // EVSE 0 is the station: "any", which 2.0.1 says by omission.
                evse_id: evse_id.filter(|&e| e > 0),
                // The group shares the token's type: the API carries one.
                group_id_token: parent_id_token.map(|p| Token::new(p, token.kind).v201()),
            },
        ),
    }
}

pub(super) fn cancel(reservation_id: i32) -> Result<Call, EncodeError> {
    call("CancelReservation", &CancelReservation { reservation_id })
}

/// ReserveNow: Accepted, or Faulted / Occupied / Rejected / Unavailable;
/// CancelReservation: Accepted or Rejected.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn reserve(evse_id: Option<u32>, parent: Option<&str>, hour: u32) -> CommandRequest {
        CommandRequest::ReserveNow {
            reservation_id: 9,
            id_token: "A1".into(),
            token_type: None,
            expires_at: t(hour),
            evse_id,
            parent_id_token: parent.map(Into::into),
        }
    }

    #[test]
    fn v16_reserve_now() {
        let c = ok(&reserve(None, Some("FLEET"), 6), V16);
        assert_eq!(c.action, "ReserveNow");
        assert_eq!(
            c.payload,
            json!({"connectorId": 0, "expiryDate": "2026-11-24T06:00:00.000Z", "idTag": "A1",
                   "parentIdTag": "FLEET", "reservationId": 9})
        );
        assert_eq!(
            ok(&reserve(Some(2), None, 6), V16).payload["connectorId"],
            2
        );
    }

    #[test]
    fn v201_reserve_now() {
        let c = ok(&reserve(Some(2), Some("FLEET"), 6), V201);
        assert_eq!(
            c.payload,
            json!({"id": 9, "expiryDateTime": "2026-11-24T06:00:00.000Z",
                   "idToken": {"idToken": "A1", "type": "ISO14443"}, "evseId": 2,
                   "groupIdToken": {"idToken": "FLEET", "type": "ISO14443"}})
        );
        assert_eq!(
            ok(&reserve(Some(0), None, 6), V201).payload.get("evseId"),
            None
        );
    }

    #[test]
    fn refused() {
        // The test clock is 2026-11-23T12:00Z; t(h) is the next day.
        let past = CommandRequest::ReserveNow {
            reservation_id: 9,
            id_token: "A1".into(),
            token_type: None,
            expires_at: now() - chrono::TimeDelta::minutes(1),
            evse_id: None,
            parent_id_token: None,
        };
        for v in [V16, V201] {
            assert!(invalid(&past, v).starts_with("expiresAt"));
        }
        assert!(invalid(&reserve(None, Some(&"P".repeat(21)), 6), V16).contains("/parentIdTag"));
    }

    #[test]
    fn cancel_reservation() {
        let req = CommandRequest::CancelReservation { reservation_id: 9 };
        for v in [V16, V201] {
            let c = ok(&req, v);
            assert_eq!(
                (c.action, c.payload),
                ("CancelReservation", json!({"reservationId": 9}))
            );
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Occupied"}),
            );
        }
    }

    #[test]
    fn reserve_answers() {
        let req = reserve(None, None, 6);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Occupied"}),
                json!({"status": "Reserved"}),
            );
        }
    }
}
