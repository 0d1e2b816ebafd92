//! Alarms handled by people: read one, acknowledge it (once), resolve it by
//! hand with a note (once); operators may, readers may not; another
//! organisation's alarm is unknown; the audit log shows who did it.

mod support;

use axum::http::StatusCode;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    support::call_json(app, method, uri, key, body.map(str::to_owned)).await
}

fn alarm(id: &str, org: &OrgId) -> Alarm {
    Alarm {
        id: id.into(),
        org_id: org.clone(),
        kind: "stationOffline".into(),
        severity: Severity::Warning,
        title: None,
        message: "CP-1 is offline".into(),
        details: json!({"stationId": "CP-1"}),
        raised_at: chrono::Utc::now(),
        action: None,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

#[tokio::test]
async fn an_operator_acknowledges_once_and_resolves_with_a_note() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let org = OrgId::default_org();
    let operator = support::partner_key(&*store, &org, vec![Scope::Commands]).await;
    let operator_id = operator.split('_').nth(1).unwrap().to_owned();
    let reader = support::partner_key(&*store, &org, vec![Scope::Read]).await;
    let id = "station-offline:CP-1";
    store.raise_alarm(&alarm(id, &org)).await.unwrap();
    let path = format!("/alarms/{id}");

    let (s, a) = call(&app, "GET", &path, &reader, None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["active"], true);
    assert_eq!(a["acknowledgedBy"], Value::Null);

    // Reading is not handling.
    let (s, _) = call(&app, "POST", &format!("{path}/acknowledge"), &reader, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, a) = call(
        &app,
        "POST",
        &format!("{path}/acknowledge"),
        &operator,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["acknowledgedBy"], operator_id.as_str());
    assert!(a["acknowledgedAt"].as_str().is_some());
    assert_eq!(a["active"], true, "acknowledged is not resolved");
    let (s, e) = call(&app, "POST", &format!("{path}/acknowledge"), KEY, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "the alarm is acknowledged already, by {operator_id} at "
            )),
        "{e}"
    );

    let long = json!({"note": "x".repeat(2001)}).to_string();
    let (s, e) = call(
        &app,
        "POST",
        &format!("{path}/resolve"),
        &operator,
        Some(&long),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["message"], "note: at most 2000 characters");
    let (s, e) = call(
        &app,
        "POST",
        &format!("{path}/resolve"),
        &operator,
        Some(r#"{"notes": "typo"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("notes"),
        "{e}"
    );

    let (s, a) = call(
        &app,
        "POST",
        &format!("{path}/resolve"),
        KEY,
        Some(r#"{"note": " Breaker reset by the caretaker "}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["active"], false);
    assert_eq!(a["resolvedBy"], "admin");
    assert_eq!(a["resolutionNote"], "Breaker reset by the caretaker");
    assert_eq!(a["acknowledgedBy"], operator_id.as_str());
    let (s, _) = call(&app, "POST", &format!("{path}/resolve"), KEY, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, list) = call(&app, "GET", "/alarms?active=true", &reader, None).await;
    assert_eq!(list["items"], json!([]));

    // Who did what is in the audit log.
    let (_, log) = call(&app, "GET", "/audit-log", KEY, None).await;
    let ops: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["POST /alarms/{id}/resolve", "POST /alarms/{id}/acknowledge"]
    );
}

#[tokio::test]
async fn an_alarm_of_another_organisation_is_unknown() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let b = OrgId::parse("org-b").unwrap();
    let key_b = support::partner_key(&*store, &b, Scope::ALL.to_vec()).await;
    store
        .raise_alarm(&alarm("station-offline:A-1", &OrgId::default_org()))
        .await
        .unwrap();
    for (method, path) in [
        ("GET", "/alarms/station-offline:A-1"),
        ("POST", "/alarms/station-offline:A-1/acknowledge"),
        ("POST", "/alarms/station-offline:A-1/resolve"),
        ("GET", "/alarms/no-such-alarm"),
    ] {
        let (s, e) = call(&app, method, path, &key_b, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {e}");
    }
    let (_, a) = call(&app, "GET", "/alarms/station-offline:A-1", KEY, None).await;
    assert_eq!(a["acknowledgedBy"], Value::Null, "B changed nothing");
}
