//! Every command on both versions: the action, the key fields, and that the
//! payload passes the official schema (which `encode` itself enforces).

use super::*;
use chrono::TimeZone;
use csms_domain::command::*;
use rust_decimal::Decimal;
use serde_json::json;

const V16: OcppVersion = OcppVersion::V16;
const V201: OcppVersion = OcppVersion::V201;

fn enc(req: &CommandRequest, v: OcppVersion) -> Result<Call, EncodeError> {
    let id = CommandId::parse("01JDX3N6Q8Z4V7T2K9R5M1B0CE").unwrap();
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .unwrap();
    encode(
        req,
        v,
        &EncodeContext {
            command_id: &id,
            now,
        },
    )
}

fn ok(req: &CommandRequest, v: OcppVersion) -> Call {
    enc(req, v).unwrap_or_else(|e| panic!("{} on {v:?}: {e}", req.type_name()))
}

fn t(h: u32) -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, h, 0, 0).unwrap()
}

fn profile(purpose: ProfilePurpose, tx: Option<&str>) -> ChargingProfile {
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

#[test]
fn remote_start_and_stop() {
    let req = CommandRequest::RemoteStart {
        id_token: "TAG-1".into(),
        token_type: None,
        evse_id: Some(2),
        charging_profile: Some(profile(ProfilePurpose::TxProfile, None)),
    };
    let c = ok(&req, V16);
    assert_eq!(c.action, "RemoteStartTransaction");
    assert_eq!(c.payload["idTag"], "TAG-1");
    assert_eq!(c.payload["connectorId"], 2);
    assert_eq!(
        c.payload["chargingProfile"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
        json!(16)
    );
    let c = ok(&req, V201);
    assert_eq!(c.action, "RequestStartTransaction");
    assert_eq!(
        c.payload["idToken"],
        json!({"idToken": "TAG-1", "type": "ISO14443"})
    );
    assert!(c.payload["remoteStartId"].as_i64().unwrap() > 0);
    assert_eq!(c.payload["chargingProfile"]["chargingSchedule"][0]["id"], 1);
    // Same command, same remoteStartId: the send matches the validation.
    assert_eq!(ok(&req, V201), c);

    let stop = CommandRequest::RemoteStop {
        transaction_id: "42".into(),
    };
    assert_eq!(ok(&stop, V16).payload, json!({"transactionId": 42}));
    assert_eq!(ok(&stop, V201).payload, json!({"transactionId": "42"}));
    let bad = CommandRequest::RemoteStop {
        transaction_id: "tx-a".into(),
    };
    assert!(matches!(enc(&bad, V16), Err(EncodeError::Invalid(_))));
    assert_eq!(ok(&bad, V201).action, "RequestStopTransaction");

    let long = CommandRequest::RemoteStart {
        id_token: "X".repeat(40),
        token_type: None,
        evse_id: None,
        charging_profile: None,
    };
    let err = enc(&long, V16).unwrap_err().to_string();
    assert!(err.contains("RemoteStartTransaction"), "{err}");
}

#[test]
fn pause_and_resume_use_one_profile_id() {
    let pause = CommandRequest::Pause {
        transaction_id: "17".into(),
        evse_id: Some(1),
    };
    let resume = CommandRequest::Resume {
        transaction_id: "17".into(),
        evse_id: Some(1),
    };
    let id = pause_profile_id("17");
    assert!(id >= 1_900_000_000);
    let c = ok(&pause, V16);
    assert_eq!(c.action, "SetChargingProfile");
    assert_eq!(c.payload["connectorId"], 1);
    let p = &c.payload["csChargingProfiles"];
    assert_eq!(p["chargingProfileId"], id);
    assert_eq!(p["transactionId"], 17);
    assert_eq!(p["chargingProfilePurpose"], "TxProfile");
    assert_eq!(
        p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
        json!(0)
    );
    assert_eq!(ok(&resume, V16).payload, json!({"id": id}));

    let c = ok(&pause, V201);
    assert_eq!(c.payload["evseId"], 1);
    assert_eq!(c.payload["chargingProfile"]["transactionId"], "17");
    assert_eq!(ok(&resume, V201).payload, json!({"chargingProfileId": id}));

    let no_evse = CommandRequest::Pause {
        transaction_id: "17".into(),
        evse_id: None,
    };
    assert!(matches!(enc(&no_evse, V201), Err(EncodeError::Invalid(_))));
}

#[test]
fn unlock_reset_availability() {
    let unlock = CommandRequest::Unlock {
        evse_id: 2,
        connector_id: None,
    };
    assert_eq!(ok(&unlock, V16).payload, json!({"connectorId": 2}));
    assert_eq!(
        ok(&unlock, V201).payload,
        json!({"evseId": 2, "connectorId": 1})
    );

    let reset = CommandRequest::Reset {
        kind: Some(ResetKind::Hard),
        when: Some(ResetWhen::Immediate),
        evse_id: None,
    };
    assert_eq!(ok(&reset, V16).payload, json!({"type": "Hard"}));
    assert_eq!(ok(&reset, V201).payload, json!({"type": "Immediate"}));
    let evse_reset = CommandRequest::Reset {
        kind: None,
        when: None,
        evse_id: Some(1),
    };
    assert!(matches!(
        enc(&evse_reset, V16),
        Err(EncodeError::Unsupported(_))
    ));
    assert_eq!(
        ok(&evse_reset, V201).payload,
        json!({"type": "OnIdle", "evseId": 1})
    );

    let station = CommandRequest::ChangeAvailability {
        evse_id: None,
        connector_id: None,
        operative: false,
    };
    assert_eq!(
        ok(&station, V16).payload,
        json!({"connectorId": 0, "type": "Inoperative"})
    );
    assert_eq!(
        ok(&station, V201).payload,
        json!({"operationalStatus": "Inoperative"})
    );
    let one = CommandRequest::ChangeAvailability {
        evse_id: Some(1),
        connector_id: Some(2),
        operative: true,
    };
    assert_eq!(
        ok(&one, V201).payload,
        json!({"operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 2}})
    );
}

#[test]
fn diagnostics_and_firmware() {
    let diag = CommandRequest::GetDiagnostics {
        location: "ftp://logs.example.com/up".into(),
        start_time: Some(t(1)),
        stop_time: None,
        retries: Some(3),
        retry_interval_s: Some(60),
    };
    let c = ok(&diag, V16);
    assert_eq!(c.action, "GetDiagnostics");
    assert_eq!(c.payload["startTime"], "2026-11-24T01:00:00.000Z");
    assert_eq!(c.payload["retryInterval"], 60);
    let c = ok(&diag, V201);
    assert_eq!(c.action, "GetLog");
    assert_eq!(c.payload["logType"], "DiagnosticsLog");
    assert_eq!(
        c.payload["log"]["remoteLocation"],
        "ftp://logs.example.com/up"
    );

    let fw = CommandRequest::UpdateFirmware {
        location: "https://fw.example.com/v2.bin".into(),
        retrieve_at: t(3),
        retries: None,
        retry_interval_s: None,
        signing_certificate: Some("-----BEGIN CERTIFICATE-----".into()),
        signature: Some("c2ln".into()),
    };
    assert!(matches!(enc(&fw, V16), Err(EncodeError::Unsupported(_))));
    let c = ok(&fw, V201);
    assert_eq!(
        c.payload["firmware"]["retrieveDateTime"],
        "2026-11-24T03:00:00.000Z"
    );
    assert!(c.payload["requestId"].as_i64().unwrap() > 0);
}

fn key(component: Option<&str>, variable: &str) -> ConfigRef {
    ConfigRef {
        component: component.map(Into::into),
        component_instance: None,
        evse_id: None,
        variable: variable.into(),
        variable_instance: None,
    }
}

#[test]
fn configuration() {
    let all = CommandRequest::GetConfiguration { keys: vec![] };
    assert_eq!(ok(&all, V16).payload, json!({}));
    assert!(matches!(enc(&all, V201), Err(EncodeError::Invalid(_))));
    let some = CommandRequest::GetConfiguration {
        keys: vec![key(Some("OCPPCommCtrlr"), "HeartbeatInterval")],
    };
    assert!(matches!(enc(&some, V16), Err(EncodeError::Unsupported(_))));
    assert_eq!(
        ok(&some, V201).payload,
        json!({"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
    );
    let change = CommandRequest::ChangeConfiguration {
        key: key(None, "HeartbeatInterval"),
        value: "120".into(),
    };
    assert_eq!(
        ok(&change, V16).payload,
        json!({"key": "HeartbeatInterval", "value": "120"})
    );
    assert!(matches!(enc(&change, V201), Err(EncodeError::Invalid(_))));
}

#[test]
fn trigger_cache_lists_reservations_data() {
    let trig = CommandRequest::TriggerMessage {
        message: "StatusNotification".into(),
        evse_id: Some(1),
        connector_id: None,
    };
    assert_eq!(
        ok(&trig, V16).payload,
        json!({"requestedMessage": "StatusNotification", "connectorId": 1})
    );
    assert_eq!(
        ok(&trig, V201).payload,
        json!({"requestedMessage": "StatusNotification", "evse": {"id": 1}})
    );
    let only201 = CommandRequest::TriggerMessage {
        message: "TransactionEvent".into(),
        evse_id: None,
        connector_id: None,
    };
    assert!(matches!(
        enc(&only201, V16),
        Err(EncodeError::Unsupported(_))
    ));

    assert_eq!(ok(&CommandRequest::ClearCache, V16).action, "ClearCache");
    assert_eq!(
        ok(&CommandRequest::GetLocalListVersion, V201).payload,
        json!({})
    );

    let list = CommandRequest::SendLocalList {
        version: 3,
        full: false,
        entries: vec![
            LocalListEntry {
                id_token: "A1".into(),
                token_type: None,
                status: Some("Accepted".into()),
                expires_at: Some(t(5)),
            },
            LocalListEntry {
                id_token: "B2".into(),
                token_type: None,
                status: None,
                expires_at: None,
            },
        ],
    };
    let c = ok(&list, V16);
    assert_eq!(c.payload["updateType"], "Differential");
    assert_eq!(
        c.payload["localAuthorizationList"][1],
        json!({"idTag": "B2"})
    );
    let c = ok(&list, V201);
    assert_eq!(c.payload["versionNumber"], 3);
    assert_eq!(
        c.payload["localAuthorizationList"][0]["idTokenInfo"]["status"],
        "Accepted"
    );

    let reserve = CommandRequest::ReserveNow {
        reservation_id: 9,
        id_token: "A1".into(),
        token_type: None,
        expires_at: t(6),
        evse_id: None,
        parent_id_token: None,
    };
    assert_eq!(ok(&reserve, V16).payload["connectorId"], 0);
    assert_eq!(ok(&reserve, V201).payload["id"], 9);
    let cancel = CommandRequest::CancelReservation { reservation_id: 9 };
    assert_eq!(ok(&cancel, V201).payload, json!({"reservationId": 9}));

    let data = CommandRequest::DataTransfer {
        vendor_id: "com.acme".into(),
        message_id: Some("cfg".into()),
        data: Some(json!({"a": 1})),
    };
    assert_eq!(ok(&data, V16).payload["data"], "{\"a\":1}");
    assert_eq!(ok(&data, V201).payload["data"], json!({"a": 1}));
}

#[test]
fn charging_profiles() {
    let max = CommandRequest::SetChargingProfile {
        evse_id: 0,
        profile: profile(ProfilePurpose::StationMax, None),
    };
    let c = ok(&max, V16);
    assert_eq!(
        c.payload["csChargingProfiles"]["chargingProfilePurpose"],
        "ChargePointMaxProfile"
    );
    assert_eq!(
        c.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][1]["limit"],
        json!(6.3)
    );
    let c = ok(&max, V201);
    assert_eq!(
        c.payload["chargingProfile"]["chargingProfilePurpose"],
        "ChargingStationMaxProfile"
    );
    let tx_without_tx = CommandRequest::SetChargingProfile {
        evse_id: 1,
        profile: profile(ProfilePurpose::TxProfile, None),
    };
    assert!(matches!(
        enc(&tx_without_tx, V16),
        Err(EncodeError::Invalid(_))
    ));
    let mut precise = profile(ProfilePurpose::TxDefault, None);
    precise.periods[0].limit = Decimal::new(1234, 2);
    let c = ok(
        &CommandRequest::SetChargingProfile {
            evse_id: 1,
            profile: precise.clone(),
        },
        V16,
    );
    assert_eq!(
        c.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
        json!(12.3),
        "1.6 limits are multiples of 0.1"
    );

    let clear = CommandRequest::ClearChargingProfile {
        profile_id: None,
        evse_id: Some(1),
        purpose: Some(ProfilePurpose::TxDefault),
        stack_level: None,
    };
    assert_eq!(
        ok(&clear, V16).payload,
        json!({"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile"})
    );
    assert_eq!(
        ok(&clear, V201).payload,
        json!({"chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile"}})
    );
    let comp = CommandRequest::GetCompositeSchedule {
        evse_id: 1,
        duration_s: 86_400,
        rate_unit: Some(RateUnit::W),
    };
    assert_eq!(
        ok(&comp, V16).payload,
        json!({"connectorId": 1, "duration": 86400, "chargingRateUnit": "W"})
    );
    assert_eq!(ok(&comp, V201).payload["evseId"], 1);
}

#[test]
fn answers() {
    let reset = CommandRequest::Reset {
        kind: None,
        when: None,
        evse_id: None,
    };
    assert_eq!(
        interpret(&reset, V16, &json!({"status": "Accepted"})),
        Ok(CommandStatus::Accepted)
    );
    assert_eq!(
        interpret(&reset, V16, &json!({"status": "Rejected"})),
        Ok(CommandStatus::Rejected)
    );
    assert_eq!(
        interpret(&reset, V201, &json!({"status": "Scheduled"})),
        Ok(CommandStatus::Accepted)
    );
    assert!(
        interpret(&reset, V16, &json!({"status": "Scheduled"})).is_err(),
        "1.6 has no Scheduled"
    );
    assert!(interpret(&reset, V16, &json!({})).is_err());

    let unlock = CommandRequest::Unlock {
        evse_id: 1,
        connector_id: None,
    };
    assert_eq!(
        interpret(&unlock, V16, &json!({"status": "Unlocked"})),
        Ok(CommandStatus::Accepted)
    );
    assert_eq!(
        interpret(&unlock, V201, &json!({"status": "UnlockFailed"})),
        Ok(CommandStatus::Rejected)
    );

    let get = CommandRequest::GetConfiguration { keys: vec![] };
    let answer = json!({"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "300"}]});
    assert_eq!(interpret(&get, V16, &answer), Ok(CommandStatus::Accepted));
    let fw = CommandRequest::UpdateFirmware {
        location: "x".into(),
        retrieve_at: t(1),
        retries: None,
        retry_interval_s: None,
        signing_certificate: None,
        signature: None,
    };
    assert_eq!(interpret(&fw, V16, &json!({})), Ok(CommandStatus::Accepted));
    assert_eq!(
        interpret(&fw, V201, &json!({"status": "InvalidCertificate"})),
        Ok(CommandStatus::Rejected)
    );

    let set = CommandRequest::ChangeConfiguration {
        key: key(Some("OCPPCommCtrlr"), "HeartbeatInterval"),
        value: "60".into(),
    };
    let result = |s: &str| {
        json!({"setVariableResult": [{"attributeStatus": s,
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
    };
    assert_eq!(
        interpret(&set, V201, &result("RebootRequired")),
        Ok(CommandStatus::Accepted)
    );
    assert_eq!(
        interpret(&set, V201, &result("UnknownVariable")),
        Ok(CommandStatus::Rejected)
    );
}
