//! Request bodies with fields the API does not know are refused with a 400
//! that names the field — at the top level, in nested objects, in arrays
//! and inside the tagged enums (commands, tariff components, energy
//! prices) — and the OpenAPI document says `additionalProperties: false`
//! for every request body schema. A field silently ignored would do
//! something else than the caller asked: `connectorId` next to `evseId`
//! in a remote start would start the charge on the charger's choice.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"))
        .header("authorization", format!("Bearer {KEY}"));
    if body.is_some() {
        r = r.header("content-type", "application/json");
    }
    let req = r
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// `body` is refused with a 400 whose message contains every fragment.
async fn refused(app: &axum::Router, method: &str, uri: &str, body: Value, fragments: &[&str]) {
    let (status, answer) = call(app, method, uri, Some(body.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    for f in fragments {
        assert!(
            message.contains(f),
            "{f:?} not in {message:?} (body {body})"
        );
    }
}

/// `body` is not refused as bad input.
async fn taken(app: &axum::Router, method: &str, uri: &str, body: Value) {
    let (status, answer) = call(app, method, uri, Some(body.clone())).await;
    assert!(status.is_success(), "{body} → {status} {answer}");
}

fn app() -> axum::Router {
    support::app(Arc::new(EmbeddedStore::temporary()), KEY)
}

#[tokio::test]
async fn a_remote_start_with_a_connector_id_is_refused_naming_it() {
    let app = app();
    taken(&app, "POST", "/stations", json!({"id": "CP-1"})).await;
    refused(
        &app,
        "POST",
        "/stations/CP-1/commands",
        json!({"type": "remoteStart", "idToken": "TAG-1", "connectorId": 1}),
        &["connectorId"],
    )
    .await;
    refused(
        &app,
        "POST",
        "/stations/CP-1/commands",
        json!({"type": "remoteStart", "idToken": "TAG-1", "connectorId": 1, "tokenKind": "x"}),
        &["`connectorId`", "`tokenKind`"],
    )
    .await;
    // The same without it is accepted (and queued for the station).
    taken(
        &app,
        "POST",
        "/stations/CP-1/commands",
        json!({"type": "remoteStart", "idToken": "TAG-1", "evseId": 1}),
    )
    .await;
    let (_, list) = call(&app, "GET", "/stations/CP-1/commands", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn every_kind_of_command_variant_refuses_unknown_fields() {
    let app = app();
    taken(&app, "POST", "/stations", json!({"id": "CP-1"})).await;
    let uri = "/stations/CP-1/commands";
    // A variant without fields, one with fields, and nested objects
    // (the charging profile, its periods, configuration keys, list entries).
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "clearCache", "force": true}),
        &["force"],
    )
    .await;
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "remoteStop", "transactionId": "1", "evseId": 2}),
        &["evseId"],
    )
    .await;
    let profile = json!({"id": 7, "stackLevel": 0, "purpose": "txDefault", "kind": "absolute",
                         "rateUnit": "A", "periods": [{"startPeriodS": 0, "limit": 16}]});
    taken(
        &app,
        "POST",
        uri,
        json!({"type": "setChargingProfile", "evseId": 1, "profile": profile}),
    )
    .await;
    let mut extra = profile.clone();
    extra["chargingRateUnit"] = json!("W");
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "setChargingProfile", "evseId": 1, "profile": extra}),
        &["chargingRateUnit"],
    )
    .await;
    let mut period = profile.clone();
    period["periods"][0]["numberOfPhases"] = json!(3);
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "setChargingProfile", "evseId": 1, "profile": period}),
        &["numberOfPhases"],
    )
    .await;
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "getConfiguration", "keys": [{"variable": "HeartbeatInterval", "key": "x"}]}),
        &["key"],
    )
    .await;
    refused(
        &app,
        "POST",
        uri,
        json!({"type": "sendLocalList", "version": 1, "full": true,
               "entries": [{"idToken": "T", "idTagInfo": {"status": "Accepted"}}]}),
        &["idTagInfo"],
    )
    .await;
}

#[tokio::test]
async fn plain_bodies_refuse_unknown_fields() {
    let app = app();
    refused(
        &app,
        "POST",
        "/stations",
        json!({"id": "CP-1", "model": "X"}),
        &["model"],
    )
    .await;
    refused(
        &app,
        "POST",
        "/id-tokens",
        json!({"idToken": "TAG-1", "blocked": false}),
        &["blocked"],
    )
    .await;
    refused(
        &app,
        "POST",
        "/api-keys",
        json!({"name": "p", "scopes": ["read"], "expires": 1}),
        &["expires"],
    )
    .await;
    refused(
        &app,
        "POST",
        "/webhooks",
        json!({"url": "https://example.com/h", "events": ["session.ended"], "secret": "s"}),
        &["secret"],
    )
    .await;
}

#[tokio::test]
async fn nested_load_configuration_names_where_the_unknown_field_is() {
    let app = app();
    let good = json!({"gridFuseA": {"l1": 63, "l2": 63, "l3": 63}, "mode": "static", "evses": []});
    let mut fuse = good.clone();
    fuse["gridFuseA"]["n"] = json!(63);
    refused(
        &app,
        "PUT",
        "/sites/SITE-1/load",
        fuse,
        &["gridFuseA", "`n`"],
    )
    .await;
    let mut pv = good.clone();
    pv["pv"] = json!({"hysteresisW": 200, "hysteresisWatts": 200});
    refused(
        &app,
        "PUT",
        "/sites/SITE-1/load",
        pv,
        &["pv", "hysteresisWatts"],
    )
    .await;
}

#[tokio::test]
async fn tariffs_refuse_unknown_fields_in_components_and_prices() {
    let app = app();
    let tariff = |component: Value| json!({"name": "t", "currency": "SEK", "elements": [{"components": [component]}]});
    taken(
        &app,
        "POST",
        "/tariffs",
        tariff(json!({"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}})),
    )
    .await;
    refused(
        &app,
        "POST",
        "/tariffs",
        tariff(json!({"type": "energy", "vat": 25, "price": {"kind": "fixed", "perKwh": "2.50"}})),
        &["vat"],
    )
    .await;
    refused(
        &app,
        "POST",
        "/tariffs",
        tariff(json!({"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50", "perKw": 1}})),
        &["perKw"],
    )
    .await;
}

/// The request body schemas of the OpenAPI document, resolved.
fn request_schemas(doc: &Value) -> Vec<(String, Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if let Some(r) = schema["$ref"].as_str() {
                let name = r.trim_start_matches("#/components/schemas/");
                out.push((
                    format!("{method} {path}"),
                    doc["components"]["schemas"][name].clone(),
                ));
            }
        }
    }
    out
}

/// Every object schema reachable from `schema` says `additionalProperties: false`.
fn closed(doc: &Value, schema: &Value, at: &str, seen: &mut Vec<String>, open: &mut Vec<String>) {
    match schema {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if seen.iter().any(|s| s == r) {
                    return;
                }
                seen.push(r.to_owned());
                let name = r.trim_start_matches("#/components/schemas/");
                closed(doc, &doc["components"]["schemas"][name], name, seen, open);
                return;
            }
            if m.contains_key("properties") && m.get("additionalProperties") != Some(&json!(false))
            {
                open.push(at.to_owned());
            }
            for (k, v) in m {
                // A map's value schema (`additionalProperties: {…}`) is
                // not itself a body object.
                closed(doc, v, &format!("{at}.{k}"), seen, open);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                closed(doc, v, &format!("{at}[{i}]"), seen, open);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_closes_every_request_body_object() {
    let app = app();
    let (status, doc) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let bodies = request_schemas(&doc);
    assert!(bodies.len() >= 10, "{bodies:?}");
    for (op, schema) in bodies {
        let (mut seen, mut open) = (vec![], vec![]);
        closed(&doc, &schema, &op, &mut seen, &mut open);
        assert!(
            open.is_empty(),
            "{op}: objects without additionalProperties: false: {open:?}"
        );
    }
}
