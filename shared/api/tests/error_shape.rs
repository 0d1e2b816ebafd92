//! Every error the API answers has the documented `{"error":{"code","message"}}`
//! shape — including the ones axum makes itself: 405 for a method a path
//! does not have, 413 for a body over the limit, 404 for an unknown path,
//! and rejections of bodies that are not JSON — and the OpenAPI document
//! says so.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use csms_store_redb::EmbeddedStore;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {:?}", String::from_utf8_lossy(&bytes)));
    (status, headers, body)
}

fn req(method: &str, uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {KEY}"));
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    r.body(Body::from(body)).unwrap()
}

fn assert_shape(body: &Value, code: &str) -> String {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{body}");
    message.to_owned()
}

#[tokio::test]
async fn a_method_a_path_does_not_have_is_a_json_405_with_allow() {
    let app = support::app(Arc::new(EmbeddedStore::temporary()), KEY);
    let (status, headers, body) = call(&app, req("PATCH", "/api/v1/stations", None, vec![])).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let allow = headers[header::ALLOW].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let message = assert_shape(&body, "method_not_allowed");
    assert!(message.contains("Allow"), "{message}");
    let (status, _, body) = call(&app, req("PUT", "/api/v1/webhooks/x", None, vec![])).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_shape(&body, "method_not_allowed");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413() {
    let app = support::app(Arc::new(EmbeddedStore::temporary()), KEY);
    let big = vec![b' '; csms_api::error::MAX_BODY + 1];
    let (status, _, body) = call(
        &app,
        req("POST", "/api/v1/stations", Some("application/json"), big),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_shape(&body, "payload_too_large");
    // Just under the limit the body is read (and is not valid JSON).
    let fits = vec![b' '; csms_api::error::MAX_BODY];
    let (status, _, body) = call(
        &app,
        req("POST", "/api/v1/stations", Some("application/json"), fits),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_shape(&body, "invalid_request");
}

#[tokio::test]
async fn unknown_paths_and_bodies_that_are_not_json_answer_in_the_shape() {
    let app = support::app(Arc::new(EmbeddedStore::temporary()), KEY);
    for uri in ["/api/v1/no-such-thing", "/nowhere", "/api/v2/stations"] {
        let (status, _, body) = call(&app, req("GET", uri, None, vec![])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_shape(&body, "not_found");
    }
    for (ct, bytes) in [
        (Some("application/x-www-form-urlencoded"), &b"id=CP-1"[..]),
        (Some("text/plain"), b"hello"),
        (Some("application/xml"), b"<station id='x'/>"),
        (None, b"\xff\xfe"),
    ] {
        let (status, _, body) =
            call(&app, req("POST", "/api/v1/stations", ct, bytes.to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct:?}");
        assert_shape(&body, "invalid_request");
    }
    // A query string that does not decode: axum's plain-text rejection, reshaped.
    let (status, _, body) =
        call(&app, req("GET", "/api/v1/stations?limit=%zz", None, vec![])).await;
    assert!(status.is_client_error(), "{status}");
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn the_document_lists_the_codes_and_413_on_every_body() {
    let app = support::app(Arc::new(EmbeddedStore::temporary()), KEY);
    let (status, _, doc) = call(&app, req("GET", "/api/v1/openapi.json", None, vec![])).await;
    assert_eq!(status, StatusCode::OK);
    let codes = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["description"]
        .as_str()
        .unwrap_or_default();
    for code in ["method_not_allowed", "payload_too_large", "not_found"] {
        assert!(
            codes.contains(code),
            "ErrorDetail.code does not list {code}: {codes}"
        );
    }
    let mut with_body = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                with_body += 1;
                assert_eq!(
                    op["responses"]["413"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path}"
                );
            }
        }
    }
    assert!(with_body > 10, "{with_body} operations take a body");
}
