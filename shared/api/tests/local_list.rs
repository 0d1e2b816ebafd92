//! Local authorisation list sync over the embedded store, with a recording
//! socket: the sync request reads the limits and the version, a Full
//! update follows split by items per message, token changes go out as
//! differential updates, a refused differential update is followed by a
//! Full one, a reconnect with another version gets a Full one, and the
//! size limit holds. The same flows run against `ocpp` chargers in
//! `tests/e2e/test_local_list.py`.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::NewStation;
use csms_commands::service::{CommandError, CommandService, NoTimers};
use csms_domain::actor::{ActedBy, Actor};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::{IdTokenValue, OcppVersion, OrgId, StationId};
use csms_kernel::ports::{CallReplies, Clock, ConnectionSender, SendError, Store};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

mod support;
use support::{register_station, ManualClock};

#[derive(Default)]
struct Socket(Mutex<Vec<Value>>);

#[async_trait]
impl ConnectionSender for Socket {
    async fn send(&self, _connection_id: &str, frame: &str) -> Result<(), SendError> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_str(frame).unwrap());
        Ok(())
    }
    async fn close(&self, _connection_id: &str) -> Result<(), SendError> {
        Ok(())
    }
}

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    socket: Arc<Socket>,
    commands: CommandService<dyn Store>,
    charger: ChargerService<dyn Store>,
}

async fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap(),
    ));
    let socket = Arc::new(Socket::default());
    let commands = CommandService::new(
        store.clone(),
        clock.clone(),
        socket.clone(),
        Arc::new(NoTimers),
    );
    let charger = ChargerService::new(store.clone(), clock.clone(), ChargerConfig::default())
        .with_replies(Arc::new(commands.clone()));
    World {
        store,
        clock,
        socket,
        commands,
        charger,
    }
}

fn operator() -> Actor {
    Actor::new(OrgId::default_org(), ActedBy::PlatformAdmin)
}

impl World {
    async fn station(&self, id: &str, version: OcppVersion) -> StationId {
        let new = NewStation {
            id: id.into(),
            ..Default::default()
        };
        register_station(&*self.store, &*self.clock, new, Some(version)).await
    }

    /// Registers a token of `org`, created `secs` after the clock's now.
    async fn token(&self, value: &str, org: &OrgId, status: TokenStatus, secs: i64) {
        let record = IdTokenRecord {
            token: IdTokenValue::parse(value).unwrap(),
            token_type: IdTokenType::ISO14443,
            status,
            valid_from: None,
            valid_to: None,
            org_id: org.clone(),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: None,
            user_id: None,
            block: None,
            created_at: self.clock.now() + chrono::TimeDelta::seconds(secs),
            updated_at: None,
            version: 1,
        };
        self.store.create_id_token(&record).await.unwrap();
    }

    /// The last frame sent: `(id, action, payload)`.
    fn last(&self) -> (String, String, Value) {
        let f = self.socket.0.lock().unwrap().last().cloned().unwrap();
        (
            f[1].as_str().unwrap().into(),
            f[2].as_str().unwrap().into(),
            f[3].clone(),
        )
    }

    fn count(&self) -> usize {
        self.socket.0.lock().unwrap().len()
    }

    /// Answers the last call with `payload`; the call it answered.
    async fn answer(&self, station: &str, payload: Value) -> (String, Value) {
        let (id, action, sent) = self.last();
        let out = self
            .charger
            .on_message(
                &format!("conn-{station}"),
                &json!([3, id, payload]).to_string(),
            )
            .await;
        assert_eq!(out, None);
        (action, sent)
    }

    async fn report(&self, station: &StationId) -> csms_commands::service::LocalListReport {
        self.commands
            .local_list_report(&operator(), station)
            .await
            .unwrap()
    }
}

fn tags(payload: &Value) -> Vec<(String, Option<String>)> {
    payload["localAuthorizationList"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["idTag"].as_str().unwrap().to_owned(),
                        e["idTagInfo"]["status"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_v16_list_is_filled_kept_up_to_date_and_replaced_after_a_mismatch() {
    let w = world().await;
    let org = OrgId::default_org();
    let st = w.station("CP-LL16", OcppVersion::V16).await;
    w.token("TAG-A", &org, TokenStatus::Accepted, 3).await;
    w.token("TAG-B", &org, TokenStatus::Blocked, 2).await;
    w.token("TAG-I", &org, TokenStatus::Invalid, 1).await;
    let other = OrgId::parse("other-org").unwrap();
    w.token("TAG-X", &other, TokenStatus::Accepted, 4).await;

    // Not kept yet: nothing is sent at a token change.
    w.commands.local_lists_changed(&org).await.unwrap();
    assert_eq!(w.count(), 0);
    assert!(w.report(&st).await.state.is_none());

    w.commands
        .request_local_list_sync(&operator(), &st)
        .await
        .unwrap();
    let (_, action, payload) = w.last();
    assert_eq!(action, "GetConfiguration");
    assert_eq!(
        payload,
        json!({"key": ["LocalAuthListMaxLength", "SendLocalListMaxLength"]})
    );
    w.answer(
        "CP-LL16",
        json!({"configurationKey": [
            {"key": "LocalAuthListMaxLength", "readonly": true, "value": "10"},
            {"key": "SendLocalListMaxLength", "readonly": true, "value": "1"}]}),
    )
    .await;
    assert_eq!(w.last().1, "GetLocalListVersion");
    w.answer("CP-LL16", json!({"listVersion": 0})).await;

    // Full, one entry per message: newest first is the order of values here.
    let (_, action, full) = w.last();
    assert_eq!(action, "SendLocalList");
    assert_eq!(full["updateType"], "Full");
    assert_eq!(full["listVersion"], 1);
    assert_eq!(
        tags(&full),
        [("TAG-A".to_owned(), Some("Accepted".to_owned()))]
    );
    w.answer("CP-LL16", json!({"status": "Accepted"})).await;
    let (_, _, rest) = w.last();
    assert_eq!(
        (rest["updateType"].as_str(), rest["listVersion"].as_i64()),
        (Some("Differential"), Some(2))
    );
    assert_eq!(
        tags(&rest),
        [("TAG-B".to_owned(), Some("Blocked".to_owned()))]
    );
    w.answer("CP-LL16", json!({"status": "Accepted"})).await;
    let report = w.report(&st).await;
    let state = report.state.clone().unwrap();
    assert_eq!((state.version, state.entries.len()), (2, 2));
    assert_eq!((state.limit, state.per_message), (Some(10), Some(1)));
    assert!(report.in_sync, "{report:?}");

    // Unblock B and delete A: one change per message, differential.
    let mut b = w
        .store
        .get_id_token(&IdTokenValue::parse("TAG-B").unwrap())
        .await
        .unwrap()
        .unwrap();
    b.status = TokenStatus::Accepted;
    b.version += 1;
    w.store.put_id_token(&b, 1).await.unwrap();
    w.store
        .delete_id_token(&IdTokenValue::parse("TAG-A").unwrap())
        .await
        .unwrap();
    let before = w.count();
    w.commands.local_lists_changed(&org).await.unwrap();
    assert_eq!(w.count(), before + 1, "one call at a time");
    let (_, _, removal) = w.last();
    assert_eq!(
        (
            removal["updateType"].as_str(),
            removal["listVersion"].as_i64()
        ),
        (Some("Differential"), Some(3))
    );
    assert_eq!(tags(&removal), [("TAG-A".to_owned(), None)]);
    assert!(!w.report(&st).await.in_sync, "updates in flight");
    w.answer("CP-LL16", json!({"status": "Accepted"})).await;
    let (_, _, change) = w.last();
    assert_eq!(change["listVersion"], 4);
    assert_eq!(
        tags(&change),
        [("TAG-B".to_owned(), Some("Accepted".to_owned()))]
    );

    // Refused: a Full update follows at once.
    w.answer("CP-LL16", json!({"status": "VersionMismatch"}))
        .await;
    let (_, _, again) = w.last();
    assert_eq!(
        (again["updateType"].as_str(), again["listVersion"].as_i64()),
        (Some("Full"), Some(4))
    );
    assert_eq!(
        tags(&again),
        [("TAG-B".to_owned(), Some("Accepted".to_owned()))]
    );
    w.answer("CP-LL16", json!({"status": "Accepted"})).await;
    let report = w.report(&st).await;
    assert!(report.in_sync, "{report:?}");
    let state = report.state.unwrap();
    assert_eq!(state.version, 4);
    assert_eq!(state.outcome.unwrap().result, "accepted");

    // A reconnect: the station says another version: Full.
    let view = w.store.get_station_view(&st).await.unwrap().unwrap();
    let conn = view.connection.unwrap();
    w.commands.booted(&conn).await;
    assert_eq!(w.last().1, "GetConfiguration");
    w.answer("CP-LL16", json!({"configurationKey": []})).await;
    assert_eq!(w.last().1, "GetLocalListVersion");
    w.answer("CP-LL16", json!({"listVersion": 9})).await;
    let (_, _, full) = w.last();
    assert_eq!(
        (full["updateType"].as_str(), full["listVersion"].as_i64()),
        (Some("Full"), Some(5))
    );
    w.answer("CP-LL16", json!({"status": "Accepted"})).await;
    assert!(w.report(&st).await.in_sync);

    // A reconnect with the right version and nothing changed: nothing sent.
    w.commands.booted(&conn).await;
    w.answer("CP-LL16", json!({"configurationKey": []})).await;
    let before = w.count();
    w.answer("CP-LL16", json!({"listVersion": 5})).await;
    assert_eq!(w.count(), before, "in sync: no update");
}

#[tokio::test]
async fn the_limit_holds_and_a_station_without_a_list_is_left_alone() {
    let w = world().await;
    let org = OrgId::default_org();
    let st = w.station("CP-LL201", OcppVersion::V201).await;
    for (i, v) in ["T1", "T2", "T3", "T4"].into_iter().enumerate() {
        w.token(v, &org, TokenStatus::Accepted, i64::try_from(i).unwrap())
            .await;
    }
    // The limit from the 1.6 key is not there: 2.0.1 reads ItemsPerMessage;
    // the size limit comes from the state (set here as a station would
    // through its device model).
    w.commands
        .request_local_list_sync(&operator(), &st)
        .await
        .unwrap();
    let (_, action, payload) = w.last();
    assert_eq!(action, "GetVariables");
    assert_eq!(
        payload["getVariableData"][0]["variable"]["name"],
        "ItemsPerMessage"
    );
    let mut state = w.store.get_local_list(&st).await.unwrap().unwrap();
    let expected = state.record_version;
    state.limit = Some(3);
    state.record_version += 1;
    w.store.put_local_list(&state, expected).await.unwrap();
    w.answer(
        "CP-LL201",
        json!({"getVariableResult": [{"attributeStatus": "Accepted",
            "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "ItemsPerMessage"},
            "attributeValue": "50"}]}),
    )
    .await;
    w.answer("CP-LL201", json!({"versionNumber": 0})).await;
    let (_, _, full) = w.last();
    assert_eq!(
        (full["updateType"].as_str(), full["versionNumber"].as_i64()),
        (Some("Full"), Some(1))
    );
    let listed: Vec<&str> = full["localAuthorizationList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["idToken"]["idToken"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["T2", "T3", "T4"], "the three newest");
    w.answer("CP-LL201", json!({"status": "Accepted"})).await;
    let report = w.report(&st).await;
    assert!(report.in_sync);
    assert_eq!(report.desired, 3);

    // A station that does not implement the list.
    let no = w.station("CP-LLNO", OcppVersion::V16).await;
    w.commands
        .request_local_list_sync(&operator(), &no)
        .await
        .unwrap();
    w.answer("CP-LLNO", json!({"configurationKey": []})).await;
    w.answer("CP-LLNO", json!({"listVersion": -1})).await;
    let state = w.report(&no).await.state.unwrap();
    assert!(!state.supported);
    assert_eq!(state.outcome.unwrap().result, "notSupported");
    let before = w.count();
    w.token("T5", &org, TokenStatus::Accepted, 9).await;
    w.commands.local_lists_changed(&org).await.unwrap();
    // CP-LL201 gets T5 (a differential of 2: T5 in, T2 out), CP-LLNO nothing.
    assert_eq!(w.count(), before + 1);
    let (_, _, diff) = w.last();
    assert_eq!(diff["updateType"], "Differential");
    assert_eq!(diff["localAuthorizationList"].as_array().unwrap().len(), 2);

    // Another organisation's actor sees no station.
    let stranger = Actor::new(OrgId::parse("other-org").unwrap(), ActedBy::PlatformAdmin);
    assert!(matches!(
        w.commands.local_list_report(&stranger, &st).await,
        Err(CommandError::NotFound(_))
    ));
    assert!(matches!(
        w.commands.request_local_list_sync(&stranger, &st).await,
        Err(CommandError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_api_shows_the_list_and_a_sync_request_keeps_it() {
    const KEY: &str = "test-admin-key-0123456789";
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let clock = ManualClock::at(Utc::now());
    let new = NewStation {
        id: "CP-API".into(),
        ..Default::default()
    };
    register_station(&*store, &clock, new, None).await;
    let (status, body) =
        support::call_json(&app, "GET", "/stations/CP-API/local-list", KEY, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(
        (body["limit"].as_u64(), body["itemsPerMessage"].as_u64()),
        (Some(100), Some(20))
    );

    // Offline: recorded, the Full update goes out at its next boot.
    let (status, body) =
        support::call_json(&app, "POST", "/stations/CP-API/local-list/sync", KEY, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["fullUpdateDue"], true);
    assert_eq!(body["inSync"], false);
    assert_eq!(body["version"], 0);
    let commands = store
        .list_station_commands(
            &StationId::parse("CP-API").unwrap(),
            &csms_kernel::ports::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert!(
        commands.items.is_empty(),
        "nothing sent to an offline station"
    );
    let (status, again) =
        support::call_json(&app, "GET", "/stations/CP-API/local-list", KEY, None).await;
    assert_eq!((status.as_u16(), &again["enabled"]), (200, &json!(true)));

    for (method, uri) in [
        ("GET", "/stations/NO-SUCH/local-list"),
        ("POST", "/stations/NO-SUCH/local-list/sync"),
    ] {
        let (status, body) = support::call_json(&app, method, uri, KEY, None).await;
        assert_eq!(status, 404, "{method} {uri}: {body}");
    }
}

#[tokio::test]
async fn an_update_without_an_answer_makes_the_next_one_full() {
    let w = world().await;
    let org = OrgId::default_org();
    let st = w.station("CP-LLTO", OcppVersion::V16).await;
    w.token("TAG-1", &org, TokenStatus::Accepted, 1).await;
    w.commands
        .request_local_list_sync(&operator(), &st)
        .await
        .unwrap();
    w.answer("CP-LLTO", json!({"configurationKey": []})).await;
    w.answer("CP-LLTO", json!({"listVersion": 0})).await;
    let (_, action, full) = w.last();
    assert_eq!(
        (action.as_str(), full["updateType"].as_str()),
        ("SendLocalList", Some("Full"))
    );

    // No answer within the command's timeout.
    w.clock.advance(3600);
    w.commands.check_timeout(&st).await.unwrap();
    let state = w.report(&st).await.state.unwrap();
    assert!(state.in_flight.is_empty() && state.needs_full, "{state:?}");
    assert_eq!(state.outcome.unwrap().result, "timeout");

    // The next change sends the whole list again, not a difference.
    w.token("TAG-2", &org, TokenStatus::Accepted, 2).await;
    w.commands.local_lists_changed(&org).await.unwrap();
    let (_, _, again) = w.last();
    assert_eq!(again["updateType"], "Full");
    assert_eq!(tags(&again).len(), 2);
    w.answer("CP-LLTO", json!({"status": "Accepted"})).await;
    assert!(w.report(&st).await.in_sync);
}

#[tokio::test]
async fn a_v201_size_limit_comes_from_its_device_model() {
    let w = world().await;
    let org = OrgId::default_org();
    let st = w.station("CP-LLDM", OcppVersion::V201).await;
    for (i, v) in ["D1", "D2", "D3"].into_iter().enumerate() {
        w.token(v, &org, TokenStatus::Accepted, i64::try_from(i).unwrap())
            .await;
    }
    let at = w.clock.now().to_rfc3339();
    let model: csms_domain::device_model::DeviceModel = serde_json::from_value(json!({
        "stationId": "CP-LLDM", "requestId": 1, "generatedAt": at, "receivedAt": at, "updatedAt": at,
        "variables": [{
            "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"},
            "attributes": [{"type": "Actual", "value": "0", "mutability": "ReadOnly",
                            "persistent": false, "constant": false}],
            "characteristics": {"dataType": "integer", "maxLimit": "2", "supportsMonitoring": false}
        }],
        "omitted": 0, "version": 1
    }))
    .unwrap();
    w.store.put_device_model(&model, 0).await.unwrap();
    w.commands
        .request_local_list_sync(&operator(), &st)
        .await
        .unwrap();
    w.answer("CP-LLDM", json!({"getVariableResult": []})).await;
    w.answer("CP-LLDM", json!({"versionNumber": 0})).await;
    let (_, _, full) = w.last();
    let listed: Vec<&str> = full["localAuthorizationList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["idToken"]["idToken"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["D2", "D3"], "the model's maxLimit of Entries: 2");
    w.answer("CP-LLDM", json!({"status": "Accepted"})).await;
    let report = w.report(&st).await;
    assert_eq!(report.state.unwrap().limit, Some(2));
    assert!(report.in_sync);
}
