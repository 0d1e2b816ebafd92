//! A stored session that does not decode, through the real router: lists and
//! exports answer with the other sessions, reading that one answers a JSON
//! 500 naming it, and the operator finds the alarm under `/alarms`.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use csms_domain::session::Session;
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{SessionStore, Store};
use csms_store_redb::{EmbeddedStore, DATABASE_FILE};
use redb::{Database, TableDefinition};
use serde_json::Value;
use std::sync::Arc;

const KEY: &str = "test-admin-key-0123456789";

mod support;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = support::get(app, KEY, uri).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_undecodable_session_does_not_poison_the_api() {
    let dir = std::env::temp_dir().join(format!("csms-api-undecodable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let station = StationId::parse("CP-U").unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let (bad, good) = {
        let store = EmbeddedStore::open(&dir).unwrap();
        let mut ids = Vec::new();
        for tx in ["bad", "good"] {
            let mut s = Session::blank(
                &station,
                OrgId::default_org(),
                None,
                &csms_domain::TransactionId::parse(tx).unwrap(),
                t0,
            );
            s.version = 1;
            store.put_session(&s, 0).await.unwrap();
            ids.push(s.id);
        }
        (ids[0].clone(), ids[1].clone())
    };
    {
        let db = Database::open(dir.join(DATABASE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
            let mut t = txn.open_table(def).unwrap();
            t.insert(
                bad.as_str(),
                br#"{"id":"left by an old version"}"#.as_slice(),
            )
            .unwrap();
        }
        txn.commit().unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir).unwrap());
    let app = support::app(store, KEY);

    let (status, body) = get(&app, "/api/v1/sessions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [good.as_str()]);

    let (status, body) = get(&app, "/api/v1/sessions/export?format=json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(good.as_str()) && !body.contains(bad.as_str()));

    let (status, body) = get(&app, &format!("/api/v1/sessions/{bad}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "record_undecodable");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains(bad.as_str()), "{message}");

    let (status, _) = get(&app, &format!("/api/v1/sessions/{good}")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = get(&app, "/api/v1/alarms?active=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alarms: Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = alarms["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["storedRecordUndecodable"]);
    let _ = std::fs::remove_dir_all(&dir);
}
