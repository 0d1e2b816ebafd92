//! Every operation of the OpenAPI document declares the scope it needs
//! (next to its route in `lib.rs`), and the scopes are the ones the API had
//! when they were decided by matching the URL path: a route without a
//! declaration, or with a changed one, fails here.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

/// The scope each operation had when permissions came from the path (the
/// rule `auth.rs` applied before they were declared at the routes), kept
/// here as the reference the declarations must match.
fn scope_by_the_old_path_rule(method: &str, path: &str) -> Scope {
    let reads = method == "GET" || method == "HEAD";
    // People, invitations, the mail outbox and the audit log came after the
    // path rule, as admin business like keys.
    if path.starts_with("/api-keys")
        || path.starts_with("/users")
        || path.starts_with("/invitations")
        || path.starts_with("/outbox")
        // The client-funds Bankgiro's payments came after it: the platform's.
        || path.starts_with("/payments")
        || path == "/audit-log"
    {
        Scope::Admin
    } else if path.starts_with("/webhooks") {
        Scope::Read
    } else if (method == "POST" && path.ends_with("/commands"))
        // Alarms came after the path rule: operators acknowledge and resolve them.
        || (path.starts_with("/alarms/") && !reads)
        || (path.ends_with("/charging-need") && !reads)
        // Bookings came after the path rule: making and cancelling one is
        // what a driver app or an operator does for a driver.
        || ((path.ends_with("/bookings") || path.starts_with("/bookings/")) && !reads)
        // A local list sync came after it too: it sends commands.
        || (method == "POST" && path.ends_with("/local-list/sync"))
    {
        Scope::Commands
    } else if reads {
        Scope::Read
    } else {
        Scope::Admin
    }
}

async fn call(app: &axum::Router, method: &str, uri: &str, key: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(if method == "GET" { "" } else { "{}" }))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every documented operation as (method, path).
async fn operations(app: &axum::Router) -> Vec<(String, String)> {
    let (status, doc) = call(app, "GET", "/api/v1/openapi.json", KEY).await;
    assert_eq!(status, StatusCode::OK);
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(ops.len() >= 50, "the document lists the API: {}", ops.len());
    ops
}

/// The path with every `{parameter}` filled with a value no record has.
fn unknown_ids(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("parameters are closed") + open;
        out.push_str(&rest[..open]);
        out.push_str("NO-SUCH-THING");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    format!("/api/v1{out}")
}

fn lacks_scope(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::FORBIDDEN
        && body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("lacks the"))
}

#[tokio::test]
async fn every_documented_operation_declares_the_scope_the_path_rule_gave_it() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let org = OrgId::default_org();
    let mut keys = vec![(None, support::partner_key(&*store, &org, vec![]).await)];
    for scope in Scope::ALL {
        keys.push((
            Some(scope),
            support::partner_key(&*store, &org, vec![scope]).await,
        ));
    }
    for (method, path) in operations(&app).await {
        // Signing in and out takes no key and acts on the caller's own
        // session: no scope (tests/users.rs).
        if path.starts_with("/auth/") {
            continue;
        }
        // A start link takes no key and no scope: its charging key is the
        // permission, the access mode decides who may start
        // (tests/start_link.rs).
        if path.starts_with("/start/") {
            continue;
        }
        // A payment provider's webhook takes no key: the provider's signature
        // is the credential, and its event names the invoice it pays
        // (csms_billing::card's tests, tests/e2e/test_card_payments.py).
        if path.starts_with("/providers/") {
            continue;
        }
        // A person's own things take no scope and no key: every key is
        // refused, whatever it holds (tests/users.rs has the people).
        if path.starts_with("/me/") {
            for (held, key) in &keys {
                let (status, body) = call(&app, &method, &unknown_ids(&path), key).await;
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{method} {path} with a key holding {held:?}: {body}"
                );
            }
            continue;
        }
        let needed = scope_by_the_old_path_rule(&method, &path);
        let uri = unknown_ids(&path);
        for (held, key) in &keys {
            let (status, body) = call(&app, &method, &uri, key).await;
            let allowed = held.is_some_and(|h| h.covers(needed));
            assert_eq!(
                !lacks_scope(status, &body),
                allowed,
                "{method} {path} with a key holding {held:?} (needs {needed:?}) answered {status} {body}"
            );
        }
    }
}
