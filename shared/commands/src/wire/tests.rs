//! Helpers the operation modules' tests share, and the checks that span
//! every command: the action names, the 2.0.1 request ids, error texts.

pub(super) use super::{encode, interpret, EncodeContext, EncodeError};
pub(super) use csms_domain::command::CommandStatus;
pub(super) use csms_domain::OcppVersion;

use super::{action_of, request_id, wire_version};
use chrono::TimeZone;
use csms_domain::command::{
    ChargingProfile, CommandId, CommandRequest, ConfigRef, ProfileKind, ProfilePurpose, RateUnit,
    SchedulePeriod,
};
use csms_domain::Timestamp;
use csms_ocpp::schema::{self, Kind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub(super) const V16: OcppVersion = OcppVersion::V16;
pub(super) const V201: OcppVersion = OcppVersion::V201;

const COMMAND_ID: &str = "01JDX3N6Q8Z4V7T2K9R5M1B0CE";

/// The test clock: 2026-11-23T12:00Z.
pub(super) fn now() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .unwrap()
}

/// The next day at `hour` (in the future of [`now`]).
pub(super) fn t(hour: u32) -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 24, hour, 0, 0)
        .unwrap()
}

pub(super) fn enc(req: &CommandRequest, v: OcppVersion) -> Result<super::Call, EncodeError> {
    let id = CommandId::parse(COMMAND_ID).unwrap();
    encode(
        req,
        v,
        &EncodeContext {
            command_id: &id,
            now: now(),
        },
    )
}

/// Encodes, and checks the payload against the official schema here too, so
/// the tests do not rest on `encode`'s own check alone.
pub(super) fn ok(req: &CommandRequest, v: OcppVersion) -> super::Call {
    let call = enc(req, v).unwrap_or_else(|e| panic!("{} on {v:?}: {e}", req.type_name()));
    assert_eq!(
        schema::validate(wire_version(v), call.action, Kind::Request, &call.payload),
        Ok(()),
        "{} on {v:?}: {}",
        req.type_name(),
        call.payload
    );
    call
}

/// The message of the `Invalid` error `req` must give.
pub(super) fn invalid(req: &CommandRequest, v: OcppVersion) -> String {
    match enc(req, v) {
        Err(EncodeError::Invalid(m)) => m,
        other => panic!(
            "{} on {v:?}: expected Invalid, got {other:?}",
            req.type_name()
        ),
    }
}

/// `yes` reads as accepted, `no` as rejected, `bad` breaks the schema.
pub(super) fn assert_answers(
    req: &CommandRequest,
    v: OcppVersion,
    yes: Value,
    no: Value,
    bad: Value,
) {
    assert_eq!(
        interpret(req, v, &yes),
        Ok(CommandStatus::Accepted),
        "{yes} on {v:?}"
    );
    assert_eq!(
        interpret(req, v, &no),
        Ok(CommandStatus::Rejected),
        "{no} on {v:?}"
    );
    assert_schema_violation(req, v, &bad);
}

/// For answers that carry data and no verdict: every valid one is a yes.
pub(super) fn assert_answers_any(
    req: &CommandRequest,
    v: OcppVersion,
    valid: &[Value],
    bad: Value,
) {
    for answer in valid {
        assert_eq!(
            interpret(req, v, answer),
            Ok(CommandStatus::Accepted),
            "{answer} on {v:?}"
        );
    }
    assert_schema_violation(req, v, &bad);
}

fn assert_schema_violation(req: &CommandRequest, v: OcppVersion, bad: &Value) {
    let action = action_of(req, v);
    match interpret(req, v, bad) {
        Err(why) => assert!(why.starts_with(&format!("{action} response: ")), "{why}"),
        other => panic!("{bad} on {v:?} should break the schema, got {other:?}"),
    }
}

/// A two-period absolute profile: 16 A on three phases, then 6.3 A.
pub(super) fn profile(purpose: ProfilePurpose, tx: Option<&str>) -> ChargingProfile {
    ChargingProfile {
        id: 7,
        stack_level: 2,
        purpose,
        kind: ProfileKind::Absolute,
        recurrency: None,
        valid_from: None,
        valid_to: None,
        transaction_id: tx.map(Into::into),
        start_schedule: Some(t(1)),
        duration_s: Some(3600),
        rate_unit: RateUnit::A,
        periods: vec![
            SchedulePeriod {
                start_period_s: 0,
                limit: Decimal::new(160, 1),
                number_phases: Some(3),
            },
            SchedulePeriod {
                start_period_s: 1800,
                limit: Decimal::new(63, 1),
                number_phases: None,
            },
        ],
        min_charging_rate: None,
    }
}

pub(super) fn key(component: Option<&str>, variable: &str) -> ConfigRef {
    ConfigRef {
        component: component.map(Into::into),
        component_instance: None,
        evse_id: None,
        variable: variable.into(),
        variable_instance: None,
    }
}

/// One valid request of every type, read from the API's JSON form so a
/// type added to the domain without a case here fails below.
fn one_of_each() -> Vec<CommandRequest> {
    let bodies = [
        json!({"type": "remoteStart", "idToken": "TAG-1", "evseId": 1}),
        json!({"type": "remoteStop", "transactionId": "55"}),
        json!({"type": "pause", "transactionId": "55", "evseId": 1}),
        json!({"type": "resume", "transactionId": "55", "evseId": 1}),
        json!({"type": "unlock", "evseId": 1}),
        json!({"type": "reset"}),
        json!({"type": "changeAvailability", "operative": true}),
        json!({"type": "getDiagnostics", "location": "ftp://logs.example.com/in"}),
        json!({"type": "updateFirmware", "location": "https://fw.example.com/a.bin",
               "retrieveAt": "2026-11-24T01:00:00Z"}),
        json!({"type": "getConfiguration", "keys": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]}),
        json!({"type": "changeConfiguration", "key": {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
               "value": "60"}),
        json!({"type": "triggerMessage", "message": "Heartbeat"}),
        json!({"type": "clearCache"}),
        json!({"type": "sendLocalList", "version": 2, "full": true, "entries": [{"idToken": "A", "status": "Accepted"}]}),
        json!({"type": "getLocalListVersion"}),
        json!({"type": "reserveNow", "reservationId": 3, "idToken": "A", "expiresAt": "2026-11-24T01:00:00Z"}),
        json!({"type": "cancelReservation", "reservationId": 3}),
        json!({"type": "dataTransfer", "vendorId": "com.acme"}),
        json!({"type": "setChargingProfile", "evseId": 0, "profile": {"id": 1, "stackLevel": 0,
               "purpose": "stationMax", "kind": "relative", "rateUnit": "A",
               "periods": [{"startPeriodS": 0, "limit": "32"}]}}),
        json!({"type": "clearChargingProfile", "profileId": 1}),
        json!({"type": "getCompositeSchedule", "evseId": 1, "durationS": 60}),
    ];
    bodies
        .into_iter()
        .map(|b| serde_json::from_value(b.clone()).unwrap_or_else(|e| panic!("{b}: {e}")))
        .collect()
}

#[test]
fn every_type_encodes_on_both_versions_as_its_action() {
    let reqs = one_of_each();
    let mut names: Vec<&str> = reqs.iter().map(CommandRequest::type_name).collect();
    names.sort_unstable();
    let mut all = CommandRequest::TYPE_NAMES.to_vec();
    all.sort_unstable();
    assert_eq!(names, all, "one case per command type");

    // 1.6 keys are plain names: the one 2.0.1-style key case is swapped.
    let v16_key = |r: &CommandRequest| match r {
        CommandRequest::GetConfiguration { .. } => CommandRequest::GetConfiguration {
            keys: vec![key(None, "HeartbeatInterval")],
        },
        CommandRequest::ChangeConfiguration { value, .. } => CommandRequest::ChangeConfiguration {
            key: key(None, "HeartbeatInterval"),
            value: value.clone(),
        },
        other => other.clone(),
    };
    for req in &reqs {
        for v in [V16, V201] {
            let req = if v == V16 { v16_key(req) } else { req.clone() };
            let call = ok(&req, v);
            assert_eq!(call.action, action_of(&req, v), "{}", req.type_name());
        }
    }
}

#[test]
fn request_ids_derive_from_the_command_id() {
    let a = CommandId::parse(COMMAND_ID).unwrap();
    let b = CommandId::parse("01JDX3N6Q8Z4V7T2K9R5M1B0CF").unwrap();
    assert_eq!(request_id(&a), request_id(&a.clone()));
    assert_ne!(request_id(&a), request_id(&b));
    for id in [a, b, CommandId::new()] {
        assert!(request_id(&id) > 0, "{id}");
    }
    // GetLog and UpdateFirmware of one command carry the same request id as
    // a remote start would: one number per command, whatever the action.
    let log = ok(
        &CommandRequest::GetDiagnostics {
            location: "ftp://x".into(),
            start_time: None,
            stop_time: None,
            retries: None,
            retry_interval_s: None,
        },
        V201,
    );
    let start = ok(
        &CommandRequest::RemoteStart {
            id_token: "A".into(),
            token_type: None,
            evse_id: None,
            charging_profile: None,
        },
        V201,
    );
    assert_eq!(log.payload["requestId"], start.payload["remoteStartId"]);
}

#[test]
fn schema_refusals_name_the_action_and_the_field() {
    let req = CommandRequest::Unlock {
        evse_id: 1,
        connector_id: None,
    };
    let long = CommandRequest::DataTransfer {
        vendor_id: "com.acme".into(),
        message_id: Some("m".repeat(51)),
        data: None,
    };
    let e = invalid(&long, V16);
    assert!(e.starts_with("DataTransfer: /messageId: "), "{e}");
    assert!(e.contains("longer than 50"), "{e}");
    // A well-formed answer of another action is no answer to this one.
    let e = interpret(&req, V16, &json!({"status": "Accepted"})).unwrap_err();
    assert!(e.starts_with("UnlockConnector response: /status: "), "{e}");
    let e = interpret(&req, V201, &json!([])).unwrap_err();
    assert!(e.contains("UnlockConnector response"), "{e}");
}
