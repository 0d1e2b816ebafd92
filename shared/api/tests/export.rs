//! `GET /api/v1/sessions/export` over more sessions than one store page
//! (500), through the real router on the embedded store: every session
//! exactly once, in both formats, with CSV quoting that survives hostile ids.

use axum::http::StatusCode;
use chrono::{TimeDelta, TimeZone, Utc};
use csms_domain::session::{Session, SessionEnd, SessionUpdate};
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::sync::Arc;

const KEY: &str = "test-admin-key-0123456789";

mod support;

async fn app_with_sessions(n: usize) -> axum::Router {
    app_with(n, |_| false).await
}

/// `n` sessions ten minutes apart; those `running` picks have not ended.
async fn app_with(n: usize, running: impl Fn(usize) -> bool) -> axum::Router {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let station = StationId::parse("CP-EXP").unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for i in 0..n {
        let started = t0 + TimeDelta::minutes(i as i64 * 10);
        let mut s = Session::blank(
            &station,
            OrgId::default_org(),
            None,
            &csms_domain::TransactionId::parse(i.to_string()).unwrap(),
            started,
        );
        s.apply(&SessionUpdate {
            user_id: None,
            is_start: true,
            evse_id: Some(1),
            connector_id: Some(1),
            // The first one carries what a CSV must quote and defuse.
            id_token: Some(if i == 0 {
                "=HYPERLINK(\"x\"),1".into()
            } else {
                format!("TAG{i}")
            }),
            started_at: Some(started),
            meter_start_wh: Some(Decimal::from(1000 * i)),
            end: (!running(i)).then(|| SessionEnd {
                ended_at: started + TimeDelta::minutes(5),
                reason: Some("Local".into()),
                meter_stop_wh: Some(Decimal::from(1000 * i + 250)),
            }),
            registers: vec![],
            seq_no: None,
            offline: false,
            clock_replaced: false,
            inferred_end: None,
        });
        s.version = 1;
        store.put_session(&s, 0).await.unwrap();
    }
    support::app(store, KEY)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let (status, headers, body) = support::get(app, KEY, uri).await;
    let ctype = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, body)
}

#[tokio::test]
async fn csv_and_json_hold_every_session_once() {
    let app = app_with_sessions(1203).await;

    let (status, ctype, csv) = get(&app, "/api/v1/sessions/export?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 1203, "header plus one line per session");
    assert!(lines[0].starts_with("id,stationId,siteId,"));
    let ids: std::collections::BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 1203, "no session twice across pages");
    assert!(
        lines[1].starts_with("CP-EXP~1202,"),
        "newest first: {}",
        lines[1]
    );
    let first = lines.last().unwrap();
    assert!(
        first.contains(r#""'=HYPERLINK(""x""),1""#),
        "quoted and defused: {first}"
    );
    assert!(first.contains(",completed,"), "{first}");
    assert!(
        first.contains(",0,250,250,Local,"),
        "start, stop, energy, reason: {first}"
    );

    let (status, ctype, json) = get(&app, "/api/v1/sessions/export?format=json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    let items: Vec<serde_json::Value> = serde_json::from_str(&json).expect("one JSON array");
    assert_eq!(items.len(), 1203);
    assert!(items.iter().all(|s| s["energyWh"] == 250));

    // A time window cuts both ends: sessions 10..20 started in [100 min, 200 min).
    let (_, _, csv) = get(
        &app,
        "/api/v1/sessions/export?from=2026-01-01T01:40:00Z&to=2026-01-01T03:20:00Z",
    )
    .await;
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 10);
}

#[tokio::test]
async fn an_empty_export_is_still_well_formed() {
    let app = app_with_sessions(0).await;
    let (_, _, json) = get(&app, "/api/v1/sessions/export?format=json").await;
    assert_eq!(json, "[]");
    let (_, _, csv) = get(&app, "/api/v1/sessions/export").await;
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 1);
    let (status, _, body) = get(&app, "/api/v1/sessions/export?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn json(app: &axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = get(app, uri).await;
    (status, serde_json::from_str(&body).unwrap_or_default())
}

#[tokio::test]
async fn status_and_identifier_filter_the_list_page_by_page_and_the_export() {
    // 120 sessions, every tenth (5, 15, …) still running.
    let app = app_with(120, |i| i % 10 == 5).await;
    let (status, body) = json(&app, "/api/v1/sessions?status=active&limit=5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut seen = Vec::new();
    let mut page = body;
    loop {
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        for s in items {
            assert_eq!(s["status"], "active", "{s}");
            seen.push(s["transactionId"].as_str().unwrap().to_owned());
        }
        let Some(next) = page["nextCursor"].as_str() else {
            break;
        };
        let uri = format!("/api/v1/sessions?status=active&limit=5&cursor={next}");
        page = json(&app, &uri).await.1;
    }
    let want: Vec<String> = (0..120)
        .rev()
        .filter(|i| i % 10 == 5)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(seen, want, "every running session once, newest first");

    // The identifier is compared ignoring ASCII case, as OCPP does.
    let (_, body) = json(&app, "/api/v1/sessions?idToken=tag7").await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["idToken"], "TAG7");
    let (_, body) = json(&app, "/api/v1/sessions?idToken=TAG7&status=active").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 0, "{body}");

    let (_, _, csv) = get(&app, "/api/v1/sessions/export?status=completed").await;
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 108);
    assert!(!csv.contains(",active,"));

    let (status, _, body) = get(&app, "/api/v1/sessions?status=running").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("status:"), "{body}");
    let (status, _, body) = get(&app, "/api/v1/sessions/export?idToken=%01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("idToken:"), "{body}");
}
