//! The OpenAPI document: public, 3.1, and in step with the router — every
//! documented operation is routed (answers with its own error, not the
//! router's "no such endpoint"), and every documented request needs the key
//! the document says. The fuzz run (tests/fuzz) checks the rest: no 5xx,
//! every answer as documented.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_store_redb::EmbeddedStore;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    if method == "POST" {
        req = req.header("content-type", "application/json");
    }
    let resp = app
        .clone()
        .oneshot(
            req.body(Body::from(if method == "POST" { "{}" } else { "" }))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_document_is_public_and_matches_the_router() {
    let app = support::app(Arc::new(EmbeddedStore::temporary()), KEY);
    let (status, doc) = call(&app, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            let uri = format!("/api/v1{}", path.replace("{id}", "NO-SUCH-THING"));
            let method = method.to_uppercase();
            let (status, body) = call(&app, &method, &uri, Some(KEY)).await;
            assert!(
                body["error"]["message"] != "no such endpoint"
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed ({status})"
            );
            let documented: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
            assert!(
                documented.iter().any(|c| c.as_str() == status.as_str()),
                "{method} {uri} answered {status}, documented: {documented:?}"
            );
            // Signing in needs no key (`security: [{}]`); every other
            // operation does.
            let (status, _) = call(&app, &method, &uri, None).await;
            if op["security"] == serde_json::json!([{}]) {
                assert!(
                    documented.iter().any(|c| c.as_str() == status.as_str()),
                    "{method} {path} without a key answered {status}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} without a key"
                );
            }
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has an operationId"
            );
        }
    }
    assert_eq!(operations, 186, "every operation of API v1 is documented");
    for schema in [
        "Command",
        "CommandRequest",
        "Session",
        "Station",
        "WebhookEvent",
        "StationRegistrationEvent",
        "ApprovalName",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
}

#[test]
fn session_ids_are_described_with_the_separator_they_have() {
    let station = csms_domain::StationId::parse("CP-1").unwrap();
    let tx = csms_domain::TransactionId::parse("42").unwrap();
    let id = csms_domain::SessionId::new(&station, &tx);
    // What the code builds, written the way the document writes it.
    let described = id
        .as_str()
        .replace("CP-1", "{stationId}")
        .replace("42", "{transactionId}");
    let doc = csms_api::openapi::document();
    let mentions: Vec<&str> = doc
        .match_indices("{stationId}")
        .map(|(i, _)| &doc[i..(i + described.len()).min(doc.len())])
        .filter(|m| m.contains("transactionId"))
        .collect();
    assert!(mentions.len() >= 2, "{mentions:?}");
    for m in mentions {
        assert_eq!(m, described);
    }
}
