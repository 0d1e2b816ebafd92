//! The WebSocket Lambdas' handlers, fed API Gateway event JSON (the recorded
//! shapes in `tests/fixtures`) against a moto server: DynamoDB for the store,
//! the API Gateway Management API for closing replaced connections.
//!
//! Needs `AWS_ENDPOINT_URL` (the test script starts moto). Every test works
//! in a table of its own.

mod support;

use base64::Engine;
use chrono::Utc;
use csms_aws::ws::WsHandlers;
use csms_aws::{ApiGatewaySender, DynamoStore, RequestCounter};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::{self, NewIdToken, NewStation};
use csms_commands::service::{CommandService, NoTimers, SubmitOptions};
use csms_domain::command::{Command, CommandRequest, CommandStatus};
use csms_domain::session::SessionStatus;
use csms_domain::{SessionId, StationId};
use csms_kernel::ports::{Clock, ConnectionSender, SessionStore, StationStore, Store, SystemClock};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

struct Harness {
    handlers: WsHandlers,
    commands: CommandService<dyn Store>,
    store: Arc<DynamoStore>,
    ddb: RequestCounter,
    apigw: RequestCounter,
}

async fn harness() -> Harness {
    harness_with(|_| Vec::new()).await
}

/// The harness with `station` (no password) registered and connected as
/// connection `cid` offering `protocols`.
async fn connected_harness(station: &str, cid: &str, protocols: &str) -> Harness {
    let h = harness().await;
    h.station(station, None).await;
    h.connect(cid, station, protocols).await;
    h
}

/// Event subscribers made from the harness's store.
type Subscribers = Vec<Arc<dyn csms_kernel::events::Subscriber>>;

/// The harness with event subscribers made from its store (webhook tests).
async fn harness_with(subscribers: impl FnOnce(Arc<dyn Store>) -> Subscribers) -> Harness {
    harness_full(subscribers, Arc::new(csms_pricing::NoPricing)).await
}

/// The harness with event subscribers and, subscribed after them, pricing
/// on a queue.
async fn harness_full(
    subscribers: impl FnOnce(Arc<dyn Store>) -> Subscribers,
    pricing: Arc<dyn csms_pricing::PricingQueue>,
) -> Harness {
    let sdk = sdk_config().await;
    let ddb = RequestCounter::new();
    let store = Arc::new(DynamoStore::with_counter(
        &sdk,
        unique_table("csms-lambda"),
        &ddb,
    ));
    store.create_table().await.expect("create the test table");
    // The Management API client on moto, counted like the DynamoDB one, so a
    // test can see which calls really went out.
    let apigw = RequestCounter::new();
    let conf = aws_sdk_apigatewaymanagement::config::Builder::from(&sdk)
        .interceptor(apigw.interceptor())
        .build();
    let sender: Arc<dyn ConnectionSender> = Arc::new(ApiGatewaySender::from_client(
        aws_sdk_apigatewaymanagement::Client::from_conf(conf),
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dyn_store: Arc<dyn Store> = store.clone();
    let mut subscribers = subscribers(dyn_store.clone());
    subscribers.push(Arc::new(csms_pricing::PricingSubscriber::new(pricing)));
    let events = Arc::new(csms_kernel::events::Bus::new(subscribers));
    // As the Lambdas wire it: the API sends commands through the Management
    // API, `$default` resolves them from the charger's answers.
    let commands = CommandService::new(
        dyn_store.clone(),
        clock.clone(),
        sender.clone(),
        Arc::new(NoTimers),
    );
    let charger = ChargerService::new(
        dyn_store,
        clock.clone(),
        ChargerConfig {
            heartbeat_interval_secs: 300,
            ..ChargerConfig::default()
        },
    )
    .with_replies(Arc::new(commands.clone()))
    .with_events(events);
    ddb.reset();
    Harness {
        commands,
        handlers: WsHandlers::new(charger, clock, Some(sender)),
        store,
        ddb,
        apigw,
    }
}

impl Harness {
    async fn station(&self, id: &str, password: Option<&str>) {
        registry::register_station(
            &*self.store,
            &SystemClock,
            NewStation {
                id: id.into(),
                password: password.map(Into::into),
                site_id: Some("garage-north".into()),
                ..Default::default()
            },
        )
        .await
        .expect("register station");
    }

    async fn token(&self, value: &str, status: &str) {
        registry::register_id_token(
            &*self.store,
            &SystemClock,
            NewIdToken {
                id_token: value.into(),
                token_type: "ISO14443".into(),
                fields: csms_charging::laddid::TokenFields {
                    status: Some(status.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("register id token");
    }

    /// `$connect` that must succeed; returns the chosen subprotocol.
    async fn connect(&self, cid: &str, station: &str, protocols: &str) -> String {
        let r = self
            .handlers
            .connect(connect_event(cid, station, Some(protocols), None))
            .await;
        assert_eq!(r.status_code, 200, "connect refused: {:?}", r.body);
        r.headers
            .get("sec-websocket-protocol")
            .expect("the chosen subprotocol is echoed")
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// One frame through `$default`; the reply frame, parsed.
    async fn send(&self, cid: &str, frame: Value) -> Value {
        self.send_text(cid, &frame.to_string())
            .await
            .expect("a CALL gets a reply")
    }

    /// A 1.6 StartTransaction on connector 1 through `$default`; the
    /// CALLRESULT's payload.
    async fn start_transaction(
        &self,
        cid: &str,
        tag: &str,
        meter_start: i64,
        timestamp: &str,
    ) -> Value {
        let frame = call(
            "start",
            "StartTransaction",
            json!({"connectorId": 1, "idTag": tag, "meterStart": meter_start,
                   "timestamp": timestamp}),
        );
        result_of(&self.send(cid, frame).await, "start")
    }

    /// The charger's CALLRESULT `{"status": "Accepted"}` to `command`
    /// through `$default`; the reply, if any.
    async fn accept(&self, cid: &str, command: &Command) -> Option<Value> {
        self.send_text(
            cid,
            &json!([3, command.id.as_str(), {"status": "Accepted"}]).to_string(),
        )
        .await
    }

    async fn send_text(&self, cid: &str, text: &str) -> Option<Value> {
        let r = self.handlers.message(message_event(cid, text)).await;
        assert_eq!(r.status_code, 200);
        r.body.map(|b| match b {
            aws_lambda_events::encodings::Body::Text(t) => {
                serde_json::from_str(&t).expect("reply is JSON")
            }
            other => panic!("reply is not text: {other:?}"),
        })
    }
}

/// `ClearCache` for `station`, submitted with the default options.
async fn submit_clear_cache(commands: &CommandService<dyn Store>, station: &StationId) -> Command {
    commands
        .submit(
            &operator(),
            station,
            CommandRequest::ClearCache,
            SubmitOptions::default(),
        )
        .await
        .unwrap()
}

fn call(id: &str, action: &str, payload: Value) -> Value {
    json!([2, id, action, payload])
}

fn result_of(reply: &Value, id: &str) -> Value {
    assert_eq!(reply[0], 3, "expected a CALLRESULT, got {reply}");
    assert_eq!(reply[1], id);
    reply[2].clone()
}

fn error_code(reply: &Value) -> String {
    assert_eq!(reply[0], 4, "expected a CALLERROR, got {reply}");
    reply[2].as_str().unwrap().to_owned()
}

fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn connect_refuses_an_unknown_station_with_404() {
    let h = harness().await;
    let r = h
        .handlers
        .connect(connect_event("c-unknown", "NOPE-1", Some("ocpp1.6"), None))
        .await;
    assert_eq!(r.status_code, 404);
    let r = h
        .handlers
        .connect(connect_event_without_station("c-none"))
        .await;
    assert_eq!(r.status_code, 404, "no stationId at all is no identity");
}

#[tokio::test]
async fn connect_checks_basic_auth_for_a_station_with_password() {
    let h = harness().await;
    h.station("CP-PW", Some("correct horse battery")).await;
    let basic = |user: &str, pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    };
    for (label, auth) in [
        ("missing", None),
        ("wrong password", Some(basic("CP-PW", "wrong password!!"))),
        (
            "wrong user",
            Some(basic("CP-OTHER", "correct horse battery")),
        ),
        ("not basic", Some("Bearer abc".to_owned())),
    ] {
        let r = h
            .handlers
            .connect(connect_event(
                "c-pw",
                "CP-PW",
                Some("ocpp1.6"),
                auth.as_deref(),
            ))
            .await;
        assert_eq!(r.status_code, 401, "{label} credentials must be refused");
    }
    let r = h
        .handlers
        .connect(connect_event(
            "c-pw",
            "CP-PW",
            Some("ocpp1.6"),
            Some(&basic("CP-PW", "correct horse battery")),
        ))
        .await;
    assert_eq!(r.status_code, 200);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_with_429_in_the_lambda_too() {
    let h = harness().await;
    h.station("CP-GUESS", Some("correct horse battery")).await;
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("CP-GUESS:not the password")
    );
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = h
            .handlers
            .connect(connect_event(
                "c-guess",
                "CP-GUESS",
                Some("ocpp1.6"),
                Some(&wrong),
            ))
            .await;
        statuses.push(r.status_code);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 401, 429],
        "five free failures, the sixth locks the station, the seventh is refused unchecked"
    );
}

#[tokio::test]
async fn connect_negotiates_the_subprotocol() {
    let h = harness().await;
    h.station("CP-NEG", None).await;
    assert_eq!(
        h.connect("c1", "CP-NEG", "ocpp1.6,ocpp2.0.1").await,
        "ocpp2.0.1",
        "2.0.1 is preferred whatever the client's order"
    );
    assert_eq!(h.connect("c2", "CP-NEG", " ocpp1.6 ").await, "ocpp1.6");
    assert_eq!(
        h.connect("c4", "CP-NEG", "OCPP1.6").await,
        "OCPP1.6",
        "answered as the client spelled it: strict clients abort on anything they did not offer"
    );
    for offered in [Some("ocpp1.5, ocpp2.1-draft"), Some(""), None] {
        let r = h
            .handlers
            .connect(connect_event("c3", "CP-NEG", offered, None))
            .await;
        assert_eq!(r.status_code, 400, "offered {offered:?}");
        assert!(!r.headers.contains_key("sec-websocket-protocol"));
    }
}

#[tokio::test]
async fn a_reconnect_closes_the_previous_connection_through_the_management_api() {
    let h = connected_harness("CP-RE", "old-conn", "ocpp1.6").await;
    assert_eq!(h.apigw.total(), 0, "a first connection closes nothing");
    h.connect("new-conn", "CP-RE", "ocpp1.6").await;
    assert_eq!(
        h.apigw.snapshot().get("DeleteConnection"),
        Some(&1),
        "the replaced socket is closed: {:?}",
        h.apigw.snapshot()
    );
    let view = h
        .store
        .get_station_view(&StationId::parse("CP-RE").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        view.connection.map(|c| c.connection_id).as_deref(),
        Some("new-conn")
    );
    // A late $disconnect of the old socket must not mark the station offline.
    h.handlers.disconnect(disconnect_event("old-conn")).await;
    let view = h
        .store
        .get_station_view(&StationId::parse("CP-RE").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(view.connected(Utc::now()), "the new connection stays live");
    // The old socket, should it still speak, is told to reconnect.
    let reply = h.send("old-conn", call("1", "Heartbeat", json!({}))).await;
    assert_eq!(error_code(&reply), "SecurityError");
}

#[tokio::test]
async fn ocpp16_session_through_the_default_route() {
    let h = connected_harness("CP-16", "c16", "ocpp1.6").await;
    h.token("TAG-16", "Accepted").await;
    h.token("TAG-BLOCKED", "Blocked").await;

    let boot = h
        .send(
            "c16",
            call(
                "b",
                "BootNotification",
                json!({"chargePointVendor": "Acme", "chargePointModel": "Wallbox 22",
                       "chargePointSerialNumber": "SN-1", "firmwareVersion": "1.2.3"}),
            ),
        )
        .await;
    let boot = result_of(&boot, "b");
    assert_eq!(boot["status"], "Accepted");
    assert_eq!(boot["interval"], 300);

    for (id, tag, status) in [
        ("a1", "TAG-16", "Accepted"),
        ("a2", "TAG-BLOCKED", "Blocked"),
        ("a3", "NEVER-SEEN", "Invalid"),
    ] {
        let auth = h
            .send("c16", call(id, "Authorize", json!({"idTag": tag})))
            .await;
        assert_eq!(result_of(&auth, id)["idTagInfo"]["status"], status, "{tag}");
    }

    let status = h
        .send(
            "c16",
            call(
                "s",
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Preparing",
                       "timestamp": now_iso()}),
            ),
        )
        .await;
    assert_eq!(result_of(&status, "s"), json!({}));

    let start = h.start_transaction("c16", "TAG-16", 1000, &now_iso()).await;
    assert_eq!(start["idTagInfo"]["status"], "Accepted");
    let tx = start["transactionId"].as_i64().unwrap();
    assert!(tx > 0);

    let mv = h
        .send(
            "c16",
            call(
                "m",
                "MeterValues",
                json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
                "timestamp": now_iso(),
                "sampledValue": [
                    {"value": "3.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}
                ]}]}),
            ),
        )
        .await;
    assert_eq!(result_of(&mv, "m"), json!({}));

    let stop = call(
        "sp",
        "StopTransaction",
        json!({"transactionId": tx, "meterStop": 6500, "timestamp": now_iso(),
               "reason": "Local", "idTag": "TAG-16"}),
    );
    let reply = h.send("c16", stop.clone()).await;
    assert_eq!(result_of(&reply, "sp")["idTagInfo"]["status"], "Accepted");

    let id = SessionId::try_new(&StationId::parse("CP-16").unwrap(), &tx.to_string()).unwrap();
    let session = h.store.get_session(&id).await.unwrap().expect("session");
    assert_eq!(session.status, SessionStatus::Completed);
    assert_eq!(session.energy_wh(), Some(Decimal::from(5500)));
    assert_eq!(session.stop_reason.as_deref(), Some("Local"));
    assert_eq!(
        session.site_id.as_ref().map(|s| s.as_str()),
        Some("garage-north"),
        "the session belongs to the station's site"
    );

    // A resent StopTransaction is answered and changes nothing.
    let reply = h.send("c16", stop).await;
    assert_eq!(result_of(&reply, "sp")["idTagInfo"]["status"], "Accepted");
    let again = h.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(again.version, session.version);

    // The next transaction gets a new id.
    let start = h.start_transaction("c16", "TAG-16", 6500, &now_iso()).await;
    assert!(start["transactionId"].as_i64().unwrap() > tx);
}

#[tokio::test]
async fn ocpp201_transaction_events_and_replays() {
    let h = connected_harness("CP-201", "c201", "ocpp2.0.1").await;
    h.token("TAG-201", "Accepted").await;

    let boot = h
        .send(
            "c201",
            call(
                "b",
                "BootNotification",
                json!({"reason": "PowerUp",
                       "chargingStation": {"vendorName": "Acme", "model": "AC-22"}}),
            ),
        )
        .await;
    assert_eq!(result_of(&boot, "b")["status"], "Accepted");

    let tx_event = |seq: u64, kind: &str, wh: u32| {
        let mut p = json!({
            "eventType": kind,
            "timestamp": now_iso(),
            "triggerReason": if kind == "Ended" { "StopAuthorized" } else { "MeterValuePeriodic" },
            "seqNo": seq,
            "transactionInfo": {"transactionId": "TX-A"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": now_iso(), "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register"}]}]
        });
        if kind == "Started" {
            p["idToken"] = json!({"idToken": "TAG-201", "type": "ISO14443"});
            p["triggerReason"] = json!("Authorized");
        }
        if kind == "Ended" {
            p["transactionInfo"]["stoppedReason"] = json!("Local");
        }
        call(&format!("t{seq}"), "TransactionEvent", p)
    };
    let started = h.send("c201", tx_event(0, "Started", 20_000)).await;
    assert_eq!(
        result_of(&started, "t0")["idTokenInfo"]["status"],
        "Accepted"
    );
    h.send("c201", tx_event(1, "Updated", 25_000)).await;
    let ended = tx_event(2, "Ended", 31_250);
    h.send("c201", ended.clone()).await;

    let id = SessionId::try_new(&StationId::parse("CP-201").unwrap(), "TX-A").unwrap();
    let session = h.store.get_session(&id).await.unwrap().expect("session");
    assert_eq!(session.status, SessionStatus::Completed);
    assert_eq!(session.energy_wh(), Some(Decimal::from(11_250)));

    // The same seqNo again is answered and ignored.
    let reply = h.send("c201", ended).await;
    assert_eq!(reply[0], 3);
    let again = h.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(again.version, session.version);
}

#[tokio::test]
async fn malformed_frames_get_a_callerror_and_the_connection_stays_usable() {
    let h = connected_harness("CP-BAD", "cbad", "ocpp1.6").await;

    let reply = h.send_text("cbad", "this is not json").await.unwrap();
    assert_eq!(error_code(&reply), "FormationViolation");
    let reply = h.send("cbad", call("x", "NoSuchAction", json!({}))).await;
    assert_eq!(error_code(&reply), "NotImplemented");
    let reply = h
        .send(
            "cbad",
            call(
                "y",
                "BootNotification",
                json!({"chargePointVendor": "Acme"}),
            ),
        )
        .await;
    assert_eq!(error_code(&reply), "OccurenceConstraintViolation");
    // A CALLRESULT for nothing we sent needs no reply.
    assert!(h.send_text("cbad", r#"[3,"zz",{}]"#).await.is_none());

    // API Gateway base64-encodes frames it does not take for text.
    let r = h
        .handlers
        .message(binary_message_event("cbad", br#"[2,"h","Heartbeat",{}]"#))
        .await;
    let body = match r.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => t,
        other => panic!("no reply: {other:?}"),
    };
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert!(result_of(&reply, "h")["currentTime"].is_string());
}

#[tokio::test]
async fn a_heartbeat_costs_one_dynamodb_request() {
    let h = connected_harness("CP-HB", "chb", "ocpp1.6").await;
    h.ddb.reset();
    let reply = h.send("chb", call("1", "Heartbeat", json!({}))).await;
    assert!(result_of(&reply, "1")["currentTime"].is_string());
    assert_eq!(
        h.ddb.total(),
        1,
        "Heartbeat must cost one request: {:?}",
        h.ddb.snapshot()
    );
}

#[tokio::test]
async fn a_flood_of_heartbeats_costs_its_touches_and_a_handful_more_for_one_alarm() {
    let h = connected_harness("CP-FL", "cfl", "ocpp1.6").await;
    h.ddb.reset();
    // More than the platform's 120 within a minute: the touches count them,
    // the rule reads the settings once, records its limit, raises once.
    for n in 0..150 {
        let reply = h
            .send("cfl", call(&n.to_string(), "Heartbeat", json!({})))
            .await;
        assert!(result_of(&reply, &n.to_string())["currentTime"].is_string());
    }
    let total = h.ddb.total();
    assert!(
        (150..=160).contains(&total),
        "150 heartbeats cost {total} requests: {:?}",
        h.ddb.snapshot()
    );
    let alarm = csms_kernel::ports::AlarmStore::get_alarm(&*h.store, "message-flood:CP-FL")
        .await
        .unwrap()
        .expect("the flood alarm");
    assert!(alarm.is_active());
    assert_eq!(
        (alarm.occurrences, alarm.details["messages"].as_u64()),
        (1, Some(121))
    );
}

#[tokio::test]
async fn behind_cloudfront_a_handshake_without_the_origin_secret_is_refused_before_any_read() {
    use csms_aws::ws::ViewerAddress;
    let h = harness().await;
    h.station("CP-CF", None).await;
    let Harness {
        handlers,
        store,
        ddb,
        ..
    } = h;
    let secret = "Zr8c1VtqP0aQx3mW7nYb2kLd9sF4hJ6gT5eR";
    let handlers = handlers.with_viewer_address(ViewerAddress::CloudFront {
        origin_secret: csms_api::Secret::new(secret),
    });
    let event = |cid: &str, verify: Option<&str>| {
        let mut v =
            serde_json::to_value(connect_event(cid, "CP-CF", Some("ocpp1.6"), None)).unwrap();
        set_header(
            &mut v,
            "CloudFront-Viewer-Address",
            Some("203.0.113.7:50123"),
        );
        set_header(&mut v, "X-Csms-Origin-Verify", verify);
        serde_json::from_value(v).unwrap()
    };
    ddb.reset();
    // Straight to the API's endpoint, naming an address of its choice.
    for (cid, verify) in [("cf1", None), ("cf2", Some("not-the-secret"))] {
        let r = handlers.connect(event(cid, verify)).await;
        assert_eq!(r.status_code, 403, "{verify:?}");
        assert_eq!(ddb.total(), 0, "refused before the store is asked");
    }
    // Through CloudFront: the viewer's address is the one the station keeps.
    let r = handlers.connect(event("cf3", Some(secret))).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let id = StationId::parse("CP-CF").unwrap();
    let station = store.get_station(&id).await.unwrap().unwrap();
    let seen: Vec<&str> = station
        .recent_addresses
        .iter()
        .map(|a| a.address.as_str())
        .collect();
    assert_eq!(seen, ["203.0.113.7"]);
}

#[tokio::test]
async fn disconnect_marks_the_station_offline() {
    let h = connected_harness("CP-DC", "cdc", "ocpp2.0.1").await;
    let id = StationId::parse("CP-DC").unwrap();
    let view = h.store.get_station_view(&id).await.unwrap().unwrap();
    assert!(view.connected(Utc::now()));

    let r = h.handlers.disconnect(disconnect_event("cdc")).await;
    assert_eq!(r.status_code, 200);
    let view = h.store.get_station_view(&id).await.unwrap().unwrap();
    assert!(!view.connected(Utc::now()));
    assert!(view.last_seen_at().is_some(), "when it was last seen stays");

    // A repeated $disconnect (API Gateway may retry) is harmless.
    let r = h.handlers.disconnect(disconnect_event("cdc")).await;
    assert_eq!(r.status_code, 200);
    // And messages on the dead connection are refused, not lost silently.
    let reply = h.send("cdc", call("1", "Heartbeat", json!({}))).await;
    assert_eq!(error_code(&reply), "SecurityError");
}

#[tokio::test]
async fn a_command_goes_out_through_the_management_api_and_its_answer_comes_back_through_default() {
    let h = connected_harness("CP-CMD", "ccmd", "ocpp1.6").await;
    let station = StationId::parse("CP-CMD").unwrap();
    h.apigw.reset();
    let cmd = submit_clear_cache(&h.commands, &station).await;
    assert_eq!(cmd.status, CommandStatus::Pending);
    assert!(cmd.sent_at.is_some());
    assert_eq!(
        h.apigw.snapshot().get("PostToConnection"),
        Some(&1),
        "the CALL went to the charger's connection: {:?}",
        h.apigw.snapshot()
    );
    // The charger's CALLRESULT arrives as a $default event; it needs no reply.
    assert!(h.accept("ccmd", &cmd).await.is_none());
    let done = h.commands.get(&cmd.id).await.unwrap().unwrap();
    assert_eq!(done.status, CommandStatus::Accepted);
    assert_eq!(done.response, Some(json!({"status": "Accepted"})));
}

#[tokio::test]
async fn an_unanswered_command_is_timed_out_by_its_delayed_sqs_message() {
    let h = connected_harness("CP-TMO", "ctmo", "ocpp2.0.1").await;
    let sdk = sdk_config().await;
    let (sqs, queue_url) = sqs_queue(&sdk, "csms-timers").await;
    let dyn_store: Arc<dyn Store> = h.store.clone();
    let commands = CommandService::new(
        dyn_store,
        Arc::new(SystemClock),
        Arc::new(ApiGatewaySender::new(&sdk, "")),
        Arc::new(csms_aws::timers::SqsTimers::new(&sdk, &queue_url)),
    );
    let station = StationId::parse("CP-TMO").unwrap();
    let cmd = commands
        .submit(
            &operator(),
            &station,
            CommandRequest::ClearCache,
            SubmitOptions {
                timeout_s: Some(1),
                idempotency_key: None,
                ..SubmitOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(cmd.sent_at.is_some());

    // The message is delayed until just after the deadline.
    let started = std::time::Instant::now();
    let body = receive_one(&sqs, &queue_url).await;
    let msg: csms_aws::timers::TimerMessage = serde_json::from_str(&body).unwrap();
    assert_eq!(msg.command_id, cmd.id);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "not before the deadline"
    );

    csms_aws::timers::handle_timer_message(&commands, &body)
        .await
        .unwrap();
    let done = h.commands.get(&cmd.id).await.unwrap().unwrap();
    assert_eq!(done.status, CommandStatus::Timeout);
    assert!(matches!(
        csms_aws::timers::handle_timer_message(&commands, "{\"nonsense\":1}").await,
        Err(csms_aws::timers::TimerError::Malformed(_))
    ));
}

/// A one-request-at-a-time HTTP endpoint on 127.0.0.1 answering `status`,
/// keeping each raw request.
async fn receiver(status: u16) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                } else if n == 0 {
                    break;
                }
            }
            keep.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).to_string());
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_connect_event_is_delivered_signed_through_the_sqs_queue() {
    use csms_domain::webhook::{DeliveryStatus, EventType, Webhook};
    use csms_notify::{Deliverer, RetrySchedule, WebhookPublisher};
    let sdk = sdk_config().await;
    let (sqs, queue_url) = sqs_queue(&sdk, "csms-webhooks").await;
    let queue = Arc::new(csms_aws::webhooks::SqsDeliveryQueue::new(&sdk, &queue_url));
    let q = queue.clone();
    let h = harness_with(move |store| {
        vec![Arc::new(WebhookPublisher::new(
            store,
            Arc::new(SystemClock),
            q,
            std::time::Duration::from_secs(30),
        ))]
    })
    .await;
    let (ok_url, ok_seen) = receiver(204).await;
    let (bad_url, bad_seen) = receiver(500).await;
    for (id, url) in [
        ("01JDX3N6Q8Z4V7T2K9R5M1B0W1", &ok_url),
        ("01JDX3N6Q8Z4V7T2K9R5M1B0W2", &bad_url),
    ] {
        csms_kernel::ports::WebhookStore::create_webhook(
            &*h.store,
            &Webhook {
                id: id.into(),
                org_id: csms_domain::OrgId::default_org(),
                url: url.clone(),
                events: vec![EventType::StationConnected],
                description: None,
                secret: format!("whsec_{id}"),
                created_by: None,
                created_at: Utc::now(),
                deleted_at: None,
                failing_since: None,
                version: 1,
            },
        )
        .await
        .unwrap();
    }
    h.station("CP-WH", None).await;
    h.connect("cwh", "CP-WH", "ocpp1.6").await;

    let dyn_store: Arc<dyn Store> = h.store.clone();
    let deliverer = Deliverer::new(
        dyn_store,
        Arc::new(SystemClock),
        // The receiver is on loopback, as with CSMS_WEBHOOK_ALLOW_PRIVATE=true.
        Arc::new(csms_http_out::HyperTransport::for_webhooks(
            std::time::Duration::from_secs(10),
            csms_notify::target::TargetPolicy {
                allow_private: true,
            },
        )),
        queue,
        RetrySchedule::parse("1").unwrap(),
    );
    // One message per webhook; handled as the webhook-deliveries Lambda does.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let body = receive_one(&sqs, &queue_url).await;
        let msg: csms_aws::webhooks::DeliveryMessage = serde_json::from_str(&body).unwrap();
        ids.push(msg.delivery_id);
        csms_aws::webhooks::handle_delivery_message(&deliverer, &body)
            .await
            .unwrap();
    }
    let request = ok_seen
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("the receiver got a POST");
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    let sig = head
        .lines()
        .find_map(|l| l.strip_prefix("csms-signature: "))
        .expect("signed");
    assert_eq!(
        csms_notify::signature::verify(
            "whsec_01JDX3N6Q8Z4V7T2K9R5M1B0W1",
            sig,
            body,
            Utc::now().timestamp()
        ),
        Ok(())
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "station.connected");
    assert_eq!(event["data"]["stationId"], "CP-WH");
    assert_eq!(bad_seen.lock().unwrap().len(), 1);

    let mut statuses = Vec::new();
    for id in &ids {
        let d = csms_kernel::ports::WebhookStore::get_delivery(&*h.store, id)
            .await
            .unwrap()
            .unwrap();
        statuses.push((d.webhook_id.clone(), d.status, d.attempts.len()));
    }
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        statuses,
        [
            (
                "01JDX3N6Q8Z4V7T2K9R5M1B0W1".to_owned(),
                DeliveryStatus::Succeeded,
                1
            ),
            (
                "01JDX3N6Q8Z4V7T2K9R5M1B0W2".to_owned(),
                DeliveryStatus::Pending,
                1
            ),
        ]
    );
    // The failed one is back on the queue, delayed by the schedule; its
    // retry is the last attempt the schedule allows.
    let retry = receive_one(&sqs, &queue_url).await;
    csms_aws::webhooks::handle_delivery_message(&deliverer, &retry)
        .await
        .unwrap();
    assert_eq!(bad_seen.lock().unwrap().len(), 2);
    let pending = csms_kernel::ports::WebhookStore::pending_deliveries(&*h.store, 10)
        .await
        .unwrap();
    assert!(
        pending.is_empty(),
        "given up after the schedule: {pending:?}"
    );
    assert!(matches!(
        csms_aws::webhooks::handle_delivery_message(&deliverer, "[]").await,
        Err(csms_aws::webhooks::DeliveryMessageError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_submitted_command_goes_out_through_the_dispatch_queue() {
    let h = connected_harness("CP-DSP", "cdsp", "ocpp2.0.1").await;
    let sdk = sdk_config().await;
    let (sqs, queue_url) = sqs_queue(&sdk, "csms-commands").await;
    // The API function's service: records, then hands the station to the queue.
    let api = h
        .commands
        .clone()
        .with_dispatch(Arc::new(csms_aws::dispatch::SqsDispatch::new(
            &sdk, &queue_url,
        )));
    let station = StationId::parse("CP-DSP").unwrap();
    h.apigw.reset();
    let cmd = submit_clear_cache(&api, &station).await;
    assert_eq!(cmd.status, CommandStatus::Pending);
    assert!(
        cmd.sent_at.is_none(),
        "the API function sends nothing itself"
    );
    assert_eq!(h.apigw.snapshot().get("PostToConnection"), None);

    // The dispatcher function gets the station and sends the CALL.
    let body = receive_one(&sqs, &queue_url).await;
    let msg: csms_aws::dispatch::DispatchMessage = serde_json::from_str(&body).unwrap();
    assert_eq!(msg.station_id, station);
    csms_aws::dispatch::handle_dispatch_message(&h.commands, &body)
        .await
        .unwrap();
    assert_eq!(h.apigw.snapshot().get("PostToConnection"), Some(&1));
    let sent = h.commands.get(&cmd.id).await.unwrap().unwrap();
    assert!(sent.sent_at.is_some());
    assert_eq!(sent.action.as_deref(), Some("ClearCache"));
    // A duplicate message sends nothing twice.
    csms_aws::dispatch::handle_dispatch_message(&h.commands, &body)
        .await
        .unwrap();
    assert_eq!(h.apigw.snapshot().get("PostToConnection"), Some(&1));

    // The answer comes back through $default.
    h.accept("cdsp", &cmd).await;
    assert_eq!(
        h.commands.get(&cmd.id).await.unwrap().unwrap().status,
        CommandStatus::Accepted
    );
    assert!(matches!(
        csms_aws::dispatch::handle_dispatch_message(&h.commands, "{}").await,
        Err(csms_aws::dispatch::DispatchError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_completed_session_is_priced_through_the_pricing_queue() {
    use csms_domain::tariff::{
        AssignmentTarget, EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff,
        TariffAssignment, TariffElement,
    };
    use csms_domain::OrgId;
    use csms_kernel::ports::{PricedSessionStore, TariffStore};
    use csms_pricing::PricingService;
    let sdk = sdk_config().await;
    let (sqs, queue_url) = sqs_queue(&sdk, "csms-pricing").await;
    let queue = Arc::new(csms_aws::pricing::SqsPricingQueue::new(&sdk, &queue_url));
    let h = harness_full(|_| Vec::new(), queue).await;
    h.station("CP-PRICE", None).await;
    h.token("TAG-PRICE", "Accepted").await;
    let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 2, 9, 0, 0).unwrap();
    let tariff = |id: &str, energy: EnergyPrice| Tariff {
        id: id.into(),
        org_id: OrgId::default_org(),
        name: id.into(),
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![TariffElement {
            components: vec![
                PriceComponent::Energy { price: energy },
                PriceComponent::SessionFee {
                    price: Decimal::new(500, 2),
                },
            ],
            restrictions: Restrictions::default(),
        }],
        min_price: None,
        max_price: None,
        version: 1,
        effective_at: t0,
        created_at: t0,
        deleted_at: None,
    };
    h.store
        .put_tariff(
            &tariff(
                "trf-fixed",
                EnergyPrice::Fixed {
                    per_kwh: Decimal::new(300, 2),
                },
            ),
            0,
        )
        .await
        .unwrap();
    h.store
        .create_assignment(&TariffAssignment {
            id: "ast-1".into(),
            org_id: OrgId::default_org(),
            tariff_id: "trf-fixed".into(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t0,
        })
        .await
        .unwrap();

    h.connect("cp", "CP-PRICE", "ocpp1.6").await;
    let start = h
        .start_transaction("cp", "TAG-PRICE", 2000, "2026-11-02T10:00:00Z")
        .await;
    let tx = start["transactionId"].as_i64().unwrap();
    h.send(
        "cp",
        call(
            "m",
            "MeterValues",
            json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
                "timestamp": "2026-11-02T10:30:00Z",
                "sampledValue": [{"value": "7000", "measurand": "Energy.Active.Import.Register"}]}]}),
        ),
    )
    .await;
    h.send(
        "cp",
        call(
            "e",
            "StopTransaction",
            json!({"transactionId": tx, "meterStop": 12000, "timestamp": "2026-11-02T11:00:00Z"}),
        ),
    )
    .await;

    // `$default` queued the session; the pricing function's handler prices it.
    let body = receive_one(&sqs, &queue_url).await;
    let id = SessionId::try_new(&StationId::parse("CP-PRICE").unwrap(), &tx.to_string()).unwrap();
    assert_eq!(body, json!({"sessionId": id.to_string()}).to_string());
    let dyn_store: Arc<dyn Store> = h.store.clone();
    let service = PricingService::new(dyn_store, Arc::new(SystemClock));
    csms_aws::pricing::handle_pricing_message(&service, &body)
        .await
        .expect("priced");
    let priced = h
        .store
        .get_priced_session(&id)
        .await
        .unwrap()
        .expect("stored");
    // 10 kWh × 3.00 + 5.00 = 35.00 net, 8.75 VAT.
    assert_eq!(priced.net, Decimal::new(3500, 2));
    assert_eq!(priced.vat, Decimal::new(875, 2));
    assert_eq!(priced.gross, Decimal::new(4375, 2));
    assert_eq!(priced.revision, 1);

    // Redelivered: nothing changes.
    csms_aws::pricing::handle_pricing_message(&service, &body)
        .await
        .expect("a redelivery is fine");
    assert_eq!(
        h.store.priced_revisions(&id).await.unwrap(),
        vec![priced.clone()]
    );

    // A session whose spot prices are missing fails (SQS retries it later,
    // then dead-letters it), as does a message that is not a pricing message;
    // one for a session that does not exist is dropped.
    h.store
        .put_tariff(
            &Tariff {
                version: 2,
                effective_at: t0 - chrono::TimeDelta::days(1),
                ..tariff(
                    "trf-fixed",
                    EnergyPrice::Spot(SpotFormula {
                        zone: csms_domain::spot::BiddingZone::parse("SE3").unwrap(),
                        factor: Decimal::ONE,
                        markup: Decimal::ZERO,
                        grid_fee: Decimal::ZERO,
                        energy_tax: Decimal::ZERO,
                        floor: None,
                        ceiling: None,
                    }),
                )
            },
            1,
        )
        .await
        .unwrap();
    let other = SessionId::try_new(&StationId::parse("CP-PRICE").unwrap(), "999").unwrap();
    let mut s = csms_domain::session::Session::blank(
        &StationId::parse("CP-PRICE").unwrap(),
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(999),
        t0,
    );
    s.apply(&csms_domain::session::SessionUpdate {
        is_start: true,
        started_at: Some(t0),
        meter_start_wh: Some(Decimal::ZERO),
        end: Some(csms_domain::session::SessionEnd {
            ended_at: t0 + chrono::TimeDelta::hours(1),
            reason: None,
            meter_stop_wh: Some(Decimal::from(1000)),
        }),
        ..Default::default()
    });
    s.version = 1;
    h.store.put_session(&s, 0).await.unwrap();
    let msg = json!({"sessionId": other.to_string()}).to_string();
    let err = csms_aws::pricing::handle_pricing_message(&service, &msg).await;
    assert!(err.is_err(), "missing spot prices must be retried");
    assert!(csms_aws::pricing::handle_pricing_message(&service, "{}")
        .await
        .is_err());
    let gone = json!({"sessionId": "CP-PRICE~404"}).to_string();
    csms_aws::pricing::handle_pricing_message(&service, &gone)
        .await
        .expect("nothing to retry");
}

/// The `session-sweep` function's run: a session that heard nothing for the
/// idle time is closed (reason `noMessages`, at its last message); a second
/// run finds nothing more to close.
#[tokio::test]
async fn the_scheduled_sweep_closes_a_session_the_charger_never_ended() {
    use csms_aws::sessions::handle_sweep;
    let h = connected_harness("CP-SWEEP", "csw", "ocpp1.6").await;
    h.token("TAG-SWEEP", "Accepted").await;
    let start = h
        .start_transaction("csw", "TAG-SWEEP", 100, &now_iso())
        .await;
    let tx = start["transactionId"].as_i64().unwrap();
    let id = SessionId::parse(format!("CP-SWEEP~{tx}")).unwrap();

    // And one of another organisation: the sweep goes through them all.
    let org_b = csms_domain::OrgId::parse("brf-sweep-b").unwrap();
    let mut record = csms_domain::tenant::Organisation::default_placeholder(Utc::now());
    record.id = org_b.clone();
    csms_kernel::ports::OrganisationStore::create_organisation(&*h.store, &record)
        .await
        .unwrap();
    let mut other = csms_domain::session::Session::blank(
        &StationId::parse("CP-SWEEP-B").unwrap(),
        org_b,
        None,
        &csms_domain::TransactionId::from(1),
        Utc::now(),
    );
    other.version = 1;
    h.store.put_session(&other, 0).await.unwrap();

    let store: Arc<dyn Store> = h.store.clone();
    let charger = ChargerService::new(store, Arc::new(SystemClock), ChargerConfig::default());
    let settings = chrono::TimeDelta::hours(1);

    // Within the idle time: left open.
    let r = handle_sweep(&charger, settings, Utc::now()).await.unwrap();
    assert_eq!(r, json!({"closed": 0}));
    let later = Utc::now() + chrono::TimeDelta::hours(2);
    let r = handle_sweep(&charger, settings, later).await.unwrap();
    assert_eq!(r, json!({"closed": 2}), "both organisations' sessions");
    let other = h.store.get_session(&other.id).await.unwrap().unwrap();
    assert_eq!(other.status, SessionStatus::Completed);
    let s = h
        .store
        .get_session(&id)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(s.status, SessionStatus::Completed);
    assert!(s.ended_by_csms(), "{s:?}");
    assert_eq!(
        s.inferred_end.map(|e| e.reason),
        Some(csms_domain::session::CloseReason::NoMessages)
    );
    // And the operator is told: one alarm, with the evidence.
    let alarm =
        csms_kernel::ports::AlarmStore::get_alarm(&*h.store, &format!("session-stuck:{id}"))
            .await
            .unwrap()
            .expect("a stuck-session alarm");
    assert_eq!(alarm.kind, "sessionStuck");
    assert_eq!(alarm.details["sessionId"], id.as_str());
    assert!(alarm.is_active());
    let r = handle_sweep(&charger, settings, later).await.unwrap();
    assert_eq!(r, json!({"closed": 0}));
}

/// The operator acting in the default organisation, where these stations are.
fn operator() -> csms_domain::actor::Actor {
    csms_domain::actor::Actor::new(
        csms_domain::OrgId::default_org(),
        csms_domain::actor::ActedBy::PlatformAdmin,
    )
}
