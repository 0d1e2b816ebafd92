//! The audit log: every successful write through the API is an entry of
//! the caller's organisation (who, which operation, which path, which
//! fields — never their values); failed writes and reads are not; only
//! admins read it, and an organisation sees only its own.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    support::call_json(app, method, uri, key, body.map(|b| b.to_string())).await
}

fn setup() -> (Arc<dyn Store>, axum::Router) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    (store, app)
}

fn site(id: &str) -> Value {
    json!({
        "id": id, "name": "Norra garaget",
        "address": {"street": "Solvägen 3", "postalCode": "123 45", "city": "Solna"}
    })
}

async fn log(app: &axum::Router, key: &str) -> Vec<Value> {
    let (status, body) = call(app, "GET", "/audit-log", key, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn successful_writes_are_logged_with_who_what_and_the_field_names() {
    let (store, app) = setup();
    let org = OrgId::default_org();
    let partner = support::partner_key(&*store, &org, vec![Scope::Admin]).await;
    let key_id = partner.split('_').nth(1).unwrap().to_owned();

    let (s, _) = call(
        &app,
        "POST",
        "/stations",
        KEY,
        Some(json!({"id": "CP-AUD", "password": "a-very-secret-password-1"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        &app,
        "PATCH",
        "/stations/CP-AUD",
        &partner,
        Some(json!({"name": "Garage 1"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A failed write changed nothing and is not logged; nor are reads.
    let (s, _) = call(
        &app,
        "PATCH",
        "/stations/CP-NONE",
        &partner,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&app, "GET", "/stations/CP-AUD", &partner, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&app, "POST", "/stations/CP-AUD/decommission", KEY, None).await;
    assert_eq!(s, StatusCode::OK);

    let entries = log(&app, KEY).await;
    assert_eq!(entries.len(), 3, "{entries:#?}");
    // Newest first.
    assert_eq!(entries[0]["actor"], "admin");
    assert_eq!(entries[0]["operation"], "POST /stations/{id}/decommission");
    assert_eq!(entries[0]["path"], "/api/v1/stations/CP-AUD/decommission");
    assert_eq!(entries[0]["fields"], json!([]));
    assert_eq!(entries[1]["actor"], key_id.as_str());
    assert_eq!(entries[1]["operation"], "PATCH /stations/{id}");
    assert_eq!(entries[1]["fields"], json!(["name"]));
    assert_eq!(entries[1]["status"], 200);
    assert_eq!(entries[2]["operation"], "POST /stations");
    assert_eq!(entries[2]["fields"], json!(["id", "password"]));
    assert_eq!(entries[2]["status"], 201);
    // Names, never values: the password is nowhere in the log.
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("a-very-secret-password-1"), "{text}");
    assert!(entries[0]["at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn each_organisation_reads_only_its_own_log_and_only_admins_read_it() {
    let (store, app) = setup();
    let a = OrgId::default_org();
    let b = OrgId::parse("brf-b").unwrap();
    let admin_b = support::partner_key(&*store, &b, vec![Scope::Admin]).await;
    let read_b = support::partner_key(&*store, &b, vec![Scope::Read]).await;
    let admin_a = support::partner_key(&*store, &a, vec![Scope::Admin]).await;

    let (s, _) = call(&app, "POST", "/sites", &admin_b, Some(site("b-site"))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(&app, "POST", "/sites", &admin_a, Some(site("a-site"))).await;
    assert_eq!(s, StatusCode::CREATED);

    let of_b = log(&app, &admin_b).await;
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0]["path"], "/api/v1/sites");
    let of_a = log(&app, &admin_a).await;
    assert_eq!(of_a.len(), 1);
    assert_ne!(of_a[0]["actor"], of_b[0]["actor"]);
    // The platform admin reads B's through X-Organisation.
    let req = Request::builder()
        .uri("/api/v1/audit-log")
        .header("authorization", format!("Bearer {KEY}"))
        .header("x-organisation", "brf-b")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 1);

    let (s, _) = call(&app, "GET", "/audit-log", &read_b, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_log_pages_and_a_too_large_write_is_still_refused() {
    let (_, app) = setup();
    for i in 0..5 {
        let (s, _) = call(&app, "POST", "/sites", KEY, Some(site(&format!("s{i}")))).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, p1) = call(&app, "GET", "/audit-log?limit=3", KEY, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p1["items"].as_array().unwrap().len(), 3);
    let cursor = p1["nextCursor"].as_str().unwrap();
    let (s, p2) = call(
        &app,
        "GET",
        &format!("/audit-log?limit=3&cursor={cursor}"),
        KEY,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p2["items"].as_array().unwrap().len(), 2);
    let (s, _) = call(&app, "GET", "/audit-log?limit=0", KEY, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let mut huge = site("big");
    huge["name"] = json!("x".repeat(3 * 1024 * 1024));
    let (s, body) = call(&app, "POST", "/sites", KEY, Some(huge)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let (_, p) = call(&app, "GET", "/audit-log?limit=50", KEY, None).await;
    assert_eq!(p["items"].as_array().unwrap().len(), 5);
}
