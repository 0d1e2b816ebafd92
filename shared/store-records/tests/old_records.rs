//! Records written before later fields existed read with the defaults those
//! fields came with, and a record that does not convert is an error, not a
//! panic.

use csms_domain::command::Command;
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::tariff::{PriceComponent, Tariff, TariffAssignment, TimeUnit};
use csms_store_records::{from_json, DecodeError, Record};
use rust_decimal::Decimal;

fn read<T: Record>(json: &str) -> Result<T, DecodeError> {
    from_json(json.as_bytes())
}

#[test]
fn a_load_site_without_the_later_settings_reads_with_their_defaults() {
    let site: LoadSite = read(
        r#"{"siteId":"s1","orgId":"default","config":{"gridFuseA":{"l1":"25","l2":"25","l3":"25"},
        "mode":"dynamic","meter":{},"evses":[{"stationId":"CP-1","evseId":1,"maxA":"16"}]},
        "updatedAt":"2026-01-01T00:00:00Z","version":1}"#,
    )
    .unwrap();
    let c = &site.config;
    assert_eq!(
        (
            c.margin_a,
            c.headroom_a,
            c.settle_seconds,
            c.voltage,
            c.rotation_seconds
        ),
        (Decimal::from(2), Decimal::from(2), 60, 230, 900)
    );
    assert!(c.boards.is_empty() && c.group_priorities.is_empty());
    assert_eq!((c.pv.hysteresis_w, c.pv.min_switch_seconds), (300, 300));
    let meter = c.meter.as_ref().unwrap();
    assert_eq!(
        (
            meter.station_id.as_ref(),
            meter.stale_after_seconds,
            meter.fallback_a
        ),
        (None, 120, Decimal::from(6))
    );
    let evse = &c.evses[0];
    assert_eq!(
        (evse.phases, evse.min_a, evse.priority, evse.pv_surplus),
        (3, Decimal::from(6), 0, false)
    );
    assert_eq!(evse.rotation, csms_energy::Rotation::L1L2L3);
}

#[test]
fn a_load_state_of_only_a_site_and_version_reads_as_an_empty_state() {
    let state: LoadState = read(r#"{"siteId":"s1","version":4}"#).unwrap();
    let empty = LoadState {
        version: 4,
        ..LoadState::new(csms_domain::SiteId::parse("s1").unwrap())
    };
    assert_eq!(state, empty);
}

#[test]
fn a_time_component_without_free_minutes_reads_with_none_free() {
    let tariff: Tariff = read(
        r#"{"id":"t1","org_id":"default","name":"T","currency":"SEK","vat_rate":"0.25",
        "time_zone":"Europe/Stockholm","elements":[{"components":[{"type":"time","price":"1","per":"hour"}]}],
        "version":1,"effective_at":"2026-01-01T00:00:00Z","created_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(
        tariff.elements[0].components[0],
        PriceComponent::Time {
            price: Decimal::ONE,
            per: TimeUnit::Hour,
            free_minutes: 0
        }
    );
    assert!(tariff.elements[0].restrictions.is_empty());
    assert_eq!((tariff.min_price, tariff.deleted_at), (None, None));
}

#[test]
fn a_command_with_an_invalid_station_id_is_a_decode_error() {
    let err = read::<Command>(
        r#"{"id":"01JDZQ6W3R8Y5VXK2M4N7P9QAB","stationId":"","orgId":"default",
        "request":{"type":"clearCache"},"status":"pending","createdAt":"2026-01-01T00:00:00Z",
        "timeoutS":30,"version":0}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("station id"), "{err}");
}

#[test]
fn a_command_id_that_is_not_a_ulid_is_a_decode_error() {
    let err = read::<Command>(
        r#"{"id":"not-a-ulid","stationId":"CP-1","orgId":"default",
        "request":{"type":"clearCache"},"status":"pending","createdAt":"2026-01-01T00:00:00Z",
        "timeoutS":30,"version":0}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("not-a-ulid"), "{err}");
}

#[test]
fn an_unknown_command_type_is_a_decode_error() {
    let err = read::<Command>(
        r#"{"id":"01JDZQ6W3R8Y5VXK2M4N7P9QAB","stationId":"CP-1","orgId":"default",
        "request":{"type":"selfDestruct"},"status":"pending","createdAt":"2026-01-01T00:00:00Z",
        "timeoutS":30,"version":0}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("selfDestruct"), "{err}");
}

#[test]
fn a_spot_price_in_an_unknown_bidding_zone_is_a_decode_error() {
    let err = read::<Tariff>(
        r#"{"id":"t1","org_id":"default","name":"T","currency":"SEK","vat_rate":"0.25",
        "time_zone":"Europe/Stockholm","elements":[{"components":[{"type":"energy",
        "price":{"kind":"spot","zone":"SE9","factor":"1","markup":"0"}}]}],
        "version":1,"effective_at":"2026-01-01T00:00:00Z","created_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bidding zone"), "{err}");
}

#[test]
fn an_assignment_to_an_invalid_site_id_is_a_decode_error() {
    let long = "s".repeat(65);
    let json = format!(
        r#"{{"id":"a1","org_id":"default","tariff_id":"t1","target":{{"kind":"site","id":"{long}"}},
        "group":null,"created_at":"2026-01-01T00:00:00Z"}}"#
    );
    let err = read::<TariffAssignment>(&json).unwrap_err();
    assert!(err.to_string().contains("site id"), "{err}");
}

#[test]
fn a_board_id_the_engine_rejects_is_a_decode_error() {
    let err = read::<LoadState>(
        r#"{"siteId":"s1","evses":[{"stationId":"CP-1","evseId":1,"allocation":{"currentA":"6",
        "phases":3,"reason":{"kind":"fairShare","limit":{"kind":"fuse","node":{"kind":"board","id":""},
        "phase":"L1"}},"explanation":"x"}}],"version":1}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("board id"), "{err}");
}

#[test]
fn a_session_written_before_the_later_flags_reads_with_them_unset() {
    let session: csms_domain::session::Session = read(
        r#"{"id":"CP-1~7","station_id":"CP-1","org_id":"default","site_id":null,
        "transaction_id":"7","evse_id":1,"connector_id":1,"id_token":null,"status":"completed",
        "started_at":"2026-01-01T00:00:00Z","ended_at":"2026-01-01T01:00:00Z",
        "explicit_meter_start_wh":"0","explicit_meter_stop_wh":"7000","first_register":null,
        "last_register":null,"stop_reason":"Local","start_unknown":false,"seen_seq_nos":[],
        "offline_events":false,"version":3,"updated_at":"2026-01-01T01:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(
        (
            session.charger_clock_replaced,
            session.late_readings,
            session.inferred_end,
            session.charger_ended
        ),
        (false, false, None, false)
    );
    assert_eq!(session.meter_stop_wh(), Some(Decimal::from(7000)));
}

#[test]
fn a_session_whose_id_is_not_station_and_transaction_is_a_decode_error() {
    let err = read::<csms_domain::session::Session>(
        r#"{"id":"","station_id":"CP-1","org_id":"default","transaction_id":"7",
        "status":"active","start_unknown":true,"seen_seq_nos":[],"offline_events":false,
        "version":0,"updated_at":"2026-01-01T01:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("session id"), "{err}");
}

#[test]
fn a_station_and_connection_from_before_approvals_read_as_accepted() {
    use csms_domain::station::{Approval, Connection, RegistrationStatus, Station};
    let station: Station = read(
        r#"{"id":"CP-1","org_id":"default","site_id":null,"name":null,"password_hash":null,
        "created_at":"2026-01-01T00:00:00Z","boot":{"vendor":"V","model":"M","serial_number":null,
        "firmware_version":null,"reason":null,"booted_at":"2026-01-01T00:00:00Z"},
        "ocpp_version":"1.6","connection_id":null,"last_seen_at":null}"#,
    )
    .unwrap();
    assert_eq!(station.approval, Approval::Accepted);
    assert_eq!(
        station.boot.unwrap().registration,
        RegistrationStatus::Accepted
    );
    let connection: Connection = read(
        r#"{"connection_id":"c1","station_id":"CP-1","org_id":"default","ocpp_version":"2.0.1",
        "connected_at":"2026-01-01T00:00:00Z","last_seen_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(
        (connection.site_id, connection.approval),
        (None, Approval::Accepted)
    );
}

#[test]
fn a_station_of_an_unknown_ocpp_version_is_a_decode_error() {
    let err = read::<csms_domain::station::Station>(
        r#"{"id":"CP-1","org_id":"default","created_at":"2026-01-01T00:00:00Z","ocpp_version":"2.1"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("2.1"), "{err}");
}

#[test]
fn an_id_token_of_an_unknown_type_is_a_decode_error() {
    let err = read::<csms_domain::token::IdTokenRecord>(
        r#"{"token":"AB","token_type":"Fingerprint","status":"Accepted","expires_at":null,
        "org_id":"default","created_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Fingerprint"), "{err}");
}

#[test]
fn a_webhook_and_delivery_without_their_optional_fields_read() {
    use csms_domain::webhook::{Delivery, Webhook};
    let hook: Webhook = read(
        r#"{"id":"wh-1","orgId":"default","url":"https://example.com","events":["session.ended"],
        "secret":"s","createdAt":"2026-01-01T00:00:00Z","version":0}"#,
    )
    .unwrap();
    assert_eq!(
        (hook.description, hook.created_by, hook.deleted_at),
        (None, None, None)
    );
    let delivery: Delivery = read(
        r#"{"id":"d-1","webhookId":"wh-1","orgId":"default","eventId":"e","eventType":"session.ended",
        "body":"{}","status":"failed","attempts":[{"at":"2026-01-01T00:00:00Z","durationMs":5}],
        "createdAt":"2026-01-01T00:00:00Z","version":1}"#,
    )
    .unwrap();
    assert_eq!(delivery.next_attempt_at, None);
    assert_eq!(delivery.attempts[0].status_code, None);
}

#[test]
fn an_api_key_with_an_unknown_scope_is_a_decode_error() {
    let err = read::<csms_domain::api_key::ApiKey>(
        r#"{"id":"k","orgId":"default","name":"n","scopes":["root"],"secretHash":"h",
        "createdAt":"2026-01-01T00:00:00Z","version":0}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("root"), "{err}");
}

#[test]
fn a_priced_session_from_before_warnings_reads_with_none() {
    let priced: csms_domain::pricing::PricedSession = read(
        r#"{"sessionId":"CP-1~7","stationId":"CP-1","orgId":"default","revision":1,"tariffId":"t",
        "tariffVersion":1,"tariffName":"T","tariffReason":[],"idToken":null,"group":null,
        "currency":"SEK","vatRate":"0.25","startedAt":"2026-01-01T00:00:00Z",
        "endedAt":"2026-01-01T01:00:00Z","chargingEndedAt":"2026-01-01T01:00:00Z","energyWh":"0",
        "lines":[{"kind":"sessionFee","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z",
        "quantity":"1","unit":"session","unitPrice":"5","net":"5"}],"net":"5","vat":"1.25",
        "gross":"6.25","rounding":"r","pricedAt":"2026-01-01T01:00:00Z",
        "audit":{"reason":"session completed","requestedBy":null}}"#,
    )
    .unwrap();
    assert!(priced.warnings.is_empty());
    assert_eq!(
        (priced.lines[0].element, priced.lines[0].spot_price),
        (None, None)
    );
}

#[test]
fn a_spot_day_in_an_unknown_bidding_zone_is_a_decode_error() {
    let err = read::<csms_domain::spot::SpotDay>(
        r#"{"zone":"XX9","date":"2026-01-01","currency":"SEK","resolution_minutes":60,"slots":[],
        "source":"manual","fetched_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bidding zone"), "{err}");
}

#[test]
fn organisations_and_sites_the_domain_would_refuse_are_decode_errors() {
    use csms_domain::tenant::{Organisation, Site};
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
    };
    let org = fixture("organisations.jsonl");
    let site = fixture("sites.jsonl");
    for (from, to, what) in [
        ("769600-1234", "769600-1235", "organisation number"),
        ("\"brf-solsidan\"", "\"\"", "organisation id"),
        ("\"5050-1055\"", "\"5050-1056\"", "bankgiro"),
        ("styrelsen@solsidan.se", "styrelsen", "contact e-mail"),
        ("\"SE\"", "\"XX\"", "address country"),
        ("\"kind\":\"brf\"", "\"kind\":\"club\"", "unknown variant"),
    ] {
        let bad = org.replacen(from, to, 1);
        assert_ne!(bad, org, "{from}");
        let err = read::<Organisation>(&bad).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    for (from, to, what) in [
        ("Europe/Stockholm", "Mars/Olympus", "time zone"),
        ("\"SE3\"", "\"SE9\"", "bidding zone"),
        ("\"lat\":59.36", "\"lat\":91", "coordinates lat"),
        ("\"13:00-18:00\"", "\"11:00-18:00\"", "overlaps"),
        ("\"13:00-18:00\"", "\"13:00\"", "opening hours"),
        ("\"garage-north\"", "\"garage north\"", "site id"),
    ] {
        let bad = site.replacen(from, to, 1);
        assert_ne!(bad, site, "{from}");
        let err = read::<Site>(&bad).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    for junk in ["", "null", "[]", "{}", "{\"id\":1}", &org[..org.len() / 2]] {
        assert!(read::<Organisation>(junk).is_err(), "{junk}");
        assert!(read::<Site>(junk).is_err(), "{junk}");
    }
}

#[test]
fn users_and_sessions_the_domain_would_refuse_are_decode_errors() {
    use csms_domain::user::{User, UserSession};
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
    };
    let user = fixture("users.jsonl");
    let session = fixture("user_sessions.jsonl");
    for (from, to, what) in [
        ("\"usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB\"", "\"01JEQ\"", "user id"),
        ("anna.berg@brf-solsidan.se", "anna.berg", "e-mail"),
        ("\"brf-solsidan\"", "\"brf solsidan\"", "organisation id"),
        ("\"orgAdmin\"", "\"root\"", "unknown variant"),
    ] {
        let bad = user.replacen(from, to, 1);
        assert_ne!(bad, user, "{from}");
        let err = read::<User>(&bad).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    let bad = session.replacen("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB", "someone", 1);
    assert!(read::<UserSession>(&bad)
        .unwrap_err()
        .to_string()
        .contains("user id"));
    for junk in ["", "null", "{}", &user[..user.len() / 2]] {
        assert!(read::<User>(junk).is_err(), "{junk}");
        assert!(read::<UserSession>(junk).is_err(), "{junk}");
    }
}

#[test]
fn a_ledger_transaction_that_does_not_balance_is_a_decode_error() {
    let err = read::<csms_domain::billing::ledger::LedgerTransaction>(
        r#"{"org_id":"o","reference":"invoice:1","currency":"SEK","description":"d",
        "postings":[{"account":"payable:o","side":"credit","amount":"10"},
        {"account":"platform:fees","side":"debit","amount":"9.99"}],
        "recorded_at":"2026-12-01T00:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("do not equal"), "{err}");
}

#[test]
fn an_invoice_whose_total_is_not_its_lines_sum_is_a_decode_error() {
    let line = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invoices.jsonl"
    ))
    .unwrap();
    let first = line.lines().next().unwrap();
    assert!(read::<csms_domain::billing::invoice::Invoice>(first).is_ok());
    let changed = first.replace(r#""gross":"156.00""#, r#""gross":"157.00""#);
    assert_ne!(changed, first);
    let err = read::<csms_domain::billing::invoice::Invoice>(&changed).unwrap_err();
    assert!(err.to_string().contains("lines' sum"), "{err}");
}
