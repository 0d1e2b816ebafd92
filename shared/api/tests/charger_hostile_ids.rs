//! Hostile identifiers through the charger handlers of `csms-charging`, over the
//! embedded store: every transaction id, id tag and id token that could not be
//! stored and read back is refused with a CALLERROR naming its field, and
//! nothing of the refused message is written (no session, no readings, no
//! transaction id used up). The same cases run end to end against a real
//! charger in `tests/e2e/test_hostile_ids.py`.

use chrono::{TimeZone, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::NewStation;
use csms_domain::{OcppVersion, OrgId, SessionId, StationId, TransactionId};
use csms_kernel::ports::{MeterTarget, PageRequest, SessionQuery, Store};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;

mod support;
use support::{register_station, ManualClock};

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    charger: ChargerService<dyn Store>,
}

fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
    ));
    let charger = ChargerService::new(store.clone(), clock.clone(), ChargerConfig::default());
    World {
        store,
        clock,
        charger,
    }
}

impl World {
    async fn station(&self, id: &str, version: OcppVersion) -> StationId {
        let new = NewStation {
            id: id.into(),
            ..Default::default()
        };
        register_station(&*self.store, &*self.clock, new, Some(version)).await
    }

    /// Sends a CALL as the station and returns the reply frame.
    async fn call(&self, station: &StationId, action: &str, payload: Value) -> Value {
        let frame = json!([2, "m1", action, payload]).to_string();
        let out = self
            .charger
            .on_message(&format!("conn-{station}"), &frame)
            .await
            .expect("a CALL gets a reply");
        serde_json::from_str(&out).unwrap()
    }

    async fn sessions(&self, station: &StationId) -> Vec<SessionId> {
        let page = self
            .store
            .list_sessions(&SessionQuery {
                org_id: OrgId::default_org(),
                station_id: Some(station.clone()),
                from: None,
                to: None,
                page: PageRequest {
                    limit: 500,
                    cursor: None,
                },
            })
            .await
            .unwrap();
        page.items.into_iter().map(|s| s.id).collect()
    }

    async fn readings(&self, target: MeterTarget) -> usize {
        self.store.list_meter_readings(&target).await.unwrap().len()
    }
}

/// Every C0 control (NUL included), DEL, every C1 control, and `~`, each
/// inside an otherwise harmless id; then an over-long one.
fn hostile_ids(max: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0u32..=0x1f)
        .chain([0x7f])
        .chain(0x80..=0x9f)
        .filter_map(char::from_u32)
        .chain(['~'])
        .map(|c| format!("victim{c}x"))
        .collect();
    ids.push("x".repeat(max + 1));
    ids
}

fn assert_refused(reply: &Value, field: &str, id: &str) {
    assert_eq!(reply[0], 4, "{id:?}: {reply}");
    assert_eq!(reply[1], "m1");
    // An over-long value breaks the schema's maxLength before our rule.
    let code = reply[2].as_str().unwrap();
    assert!(
        matches!(
            code,
            "PropertyConstraintViolation" | "FormationViolation" | "FormatViolation"
        ),
        "{id:?}: {reply}"
    );
    // Our rule names the field as `a.b`, the schema check as `/a/b`.
    let description = reply[3].as_str().unwrap();
    let pointer = format!("/{}", field.replace('.', "/"));
    assert!(
        description.contains(field) || description.contains(&pointer),
        "{id:?}: {description}"
    );
}

fn sampled(value: &str) -> Value {
    json!([{"timestamp": "2026-11-23T10:00:00Z",
            "sampledValue": [{"value": value, "measurand": "Energy.Active.Import.Register"}]}])
}

fn sampled_201(value: i64) -> Value {
    json!([{"timestamp": "2026-11-23T10:00:00Z",
            "sampledValue": [{"value": value, "measurand": "Energy.Active.Import.Register"}]}])
}

/// A 2.0.1 `Started` TransactionEvent of `tx` authorised by `token`.
fn started_201(tx: &str, token: &str, seq_no: u64, wh: i64) -> Value {
    json!({
        "eventType": "Started",
        "timestamp": "2026-11-23T10:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": tx},
        "idToken": {"idToken": token, "type": "ISO14443"},
        "meterValue": sampled_201(wh),
    })
}

#[tokio::test]
async fn a_201_transaction_id_that_would_not_parse_back_is_refused_and_nothing_is_stored() {
    let w = world();
    let st = w.station("CP-H201", OcppVersion::V201).await;
    let victim = TransactionId::parse("victim").unwrap();
    let event = |tx: &str, kind: &str, seq: u64| {
        json!({
            "eventType": kind,
            "timestamp": "2026-11-23T10:00:00Z",
            "triggerReason": "Authorized",
            "seqNo": seq,
            "transactionInfo": {"transactionId": tx},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": sampled_201(1000 + seq as i64),
        })
    };
    let ok = w
        .call(&st, "TransactionEvent", event("victim", "Started", 0))
        .await;
    assert_eq!(ok[0], 3, "{ok}");
    let victim_readings = w
        .readings(MeterTarget::Session(SessionId::new(&st, &victim)))
        .await;
    assert_eq!(victim_readings, 1);

    for (i, tx) in hostile_ids(TransactionId::MAX_LEN).iter().enumerate() {
        for kind in ["Started", "Updated", "Ended"] {
            let reply = w
                .call(&st, "TransactionEvent", event(tx, kind, 1 + i as u64))
                .await;
            assert_refused(&reply, "transactionInfo.transactionId", tx);
        }
    }
    assert_eq!(
        w.sessions(&st).await,
        vec![SessionId::new(&st, &victim)],
        "no session of a refused id"
    );
    assert_eq!(
        w.readings(MeterTarget::Session(SessionId::new(&st, &victim)))
            .await,
        victim_readings,
        "nothing of \"victim\\u0000x\" reached \"victim\""
    );
    assert_eq!(w.readings(MeterTarget::Station(st.clone())).await, 0);
}

#[tokio::test]
async fn a_201_id_token_with_a_control_character_is_refused_before_anything_is_written() {
    let w = world();
    let st = w.station("CP-T201", OcppVersion::V201).await;
    for token in hostile_ids(36) {
        let reply = w
            .call(
                &st,
                "Authorize",
                json!({"idToken": {"idToken": token, "type": "ISO14443"}}),
            )
            .await;
        assert_refused(&reply, "idToken.idToken", &token);
        let reply = w
            .call(&st, "TransactionEvent", started_201("T1", &token, 0, 5))
            .await;
        assert_refused(&reply, "idToken.idToken", &token);
    }
    assert_eq!(w.sessions(&st).await, vec![]);
    let t1 = SessionId::new(&st, &TransactionId::parse("T1").unwrap());
    assert_eq!(w.readings(MeterTarget::Session(t1)).await, 0);
}

#[tokio::test]
async fn a_16_id_tag_with_a_control_character_is_refused_and_uses_up_no_transaction_id() {
    let w = world();
    let st = w.station("CP-H16", OcppVersion::V16).await;
    for tag in hostile_ids(20) {
        let reply = w.call(&st, "Authorize", json!({"idTag": tag})).await;
        assert_refused(&reply, "idTag", &tag);
        let reply = w
            .call(
                &st,
                "StartTransaction",
                json!({"connectorId": 1, "idTag": tag, "meterStart": 0,
                       "timestamp": "2026-11-23T10:00:00Z"}),
            )
            .await;
        assert_refused(&reply, "idTag", &tag);
        let reply = w
            .call(
                &st,
                "StopTransaction",
                json!({"transactionId": 77, "idTag": tag, "meterStop": 10,
                       "timestamp": "2026-11-23T10:00:00Z",
                       "transactionData": sampled("10")}),
            )
            .await;
        assert_refused(&reply, "idTag", &tag);
    }
    assert_eq!(w.sessions(&st).await, vec![], "no stop was half-stored");
    let tx77 = SessionId::new(&st, &TransactionId::from(77));
    assert_eq!(w.readings(MeterTarget::Session(tx77)).await, 0);

    let reply = w
        .call(
            &st,
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "GOOD", "meterStart": 0,
                   "timestamp": "2026-11-23T10:00:00Z"}),
        )
        .await;
    assert_eq!(reply[0], 3, "{reply}");
    assert_eq!(
        reply[2]["transactionId"], 1,
        "the refused starts used no id"
    );
}

#[tokio::test]
async fn a_16_integer_transaction_id_goes_through_the_same_rule_and_reads_back() {
    let w = world();
    let st = w.station("CP-I16", OcppVersion::V16).await;
    for tx in [i64::MIN, -1, 0, i64::MAX] {
        let reply = w
            .call(
                &st,
                "StopTransaction",
                json!({"transactionId": tx, "meterStop": 10,
                       "timestamp": "2026-11-23T10:00:00Z"}),
            )
            .await;
        assert_eq!(reply[0], 3, "{tx}: {reply}");
    }
    let mut ids = w.sessions(&st).await;
    ids.sort();
    assert_eq!(ids.len(), 4);
    for id in ids {
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
    }
}

/// Random transaction ids and id tokens from a pool of awkward characters
/// (controls, separators, wide and combining characters), lengths 0 to 40:
/// each message is either refused with a CALLERROR or accepted, and every
/// accepted session is listed and read back by its id. A fixed seed keeps
/// failures reproducible.
#[tokio::test]
async fn random_awkward_ids_are_either_refused_or_read_back() {
    let w = world();
    let st = w.station("CP-R201", OcppVersion::V201).await;
    let pool: Vec<char> =
        "aZ09 -_.:|#/~\u{0}\u{1}\u{1f}\u{7f}\u{80}\u{9f}\u{a0}é\u{301}\u{2028}\u{feff}😀"
            .chars()
            .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut accepted = Vec::new();
    for i in 0..400u64 {
        // Half short (most of those pass), half up to one over the limit.
        let len = if next(2) == 0 { next(6) } else { next(38) };
        let tx: String = (0..len).map(|_| pool[next(pool.len())]).collect();
        let token: String = match next(2) {
            0 => "GOOD".into(),
            _ => (0..1 + next(6)).map(|_| pool[next(pool.len())]).collect(),
        };
        let reply = w
            .call(
                &st,
                "TransactionEvent",
                started_201(&tx, &token, i, i as i64),
            )
            .await;
        match reply[0].as_u64() {
            Some(3) => accepted.push(tx),
            Some(4) => {}
            _ => panic!("{tx:?} / {token:?}: {reply}"),
        }
    }
    assert!(
        accepted.len() >= 10,
        "the pool also makes acceptable ids: {accepted:?}"
    );
    let listed = w.sessions(&st).await;
    for tx in &accepted {
        let id = SessionId::try_new(&st, tx).unwrap();
        assert!(listed.contains(&id), "{tx:?} is listed");
        let session = w.store.get_session(&id).await.unwrap().unwrap();
        assert_eq!(&session.transaction_id, tx);
    }
}
