//! Figure: DynamoDB requests of a start link, through the API router over
//! the DynamoDB store against a moto server.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:5005 cargo run -p csms-aws --example start-link-requests
//! ```
//!
//! A connected station with a public EVSE: the operator reads the EVSE's
//! charging key (the first read makes it, the second only reads), and an
//! anonymous driver reads the link and starts through it; then a private
//! EVSE refuses the anonymous start. Each API request's DynamoDB requests
//! (retries included) are counted and printed as Markdown. The command is
//! sent from the API process here (the local runner's way, no dispatch
//! queue); the station's socket reaches nobody, so the command fails to
//! send: the count of `POST` includes that attempt.

#[path = "../tests/support/mod.rs"]
mod support;

use anyhow::{bail, Context};
use axum::body::Body;
use csms_api::{router, PublicUrl, Secret};
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_aws::{DynamoStore, RequestCounter};
use csms_charging::registry::{self, NewStation};
use csms_domain::OcppVersion;
use csms_kernel::ports::{Clock, Store, SystemClock};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use tower::ServiceExt;

const KEY: &str = "figure-admin-key-0123456789";

async fn request(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: bool,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"));
    if key {
        req = req.header("authorization", format!("Bearer {KEY}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))?,
        None => req.body(Body::empty())?,
    };
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sdk = sdk_config().await;
    let counter = RequestCounter::new();
    let dynamo = DynamoStore::with_counter(&sdk, unique_table("csms-figure"), &counter);
    dynamo.create_table().await.context("creating the table")?;
    let store: Arc<dyn Store> = Arc::new(dynamo);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let station = registry::register_station(
        &*store,
        &*clock,
        NewStation {
            id: "FIG-SL".into(),
            ..Default::default()
        },
    )
    .await?;
    csms_charging::connect::opened(
        &*store,
        &csms_kernel::events::NoEvents,
        None,
        &station,
        csms_charging::connect::Opening {
            connection_id: "fig-conn",
            version: OcppVersion::V16,
            source: None,
        },
        clock.now(),
    )
    .await?;
    let mut settings = Settings::from_lookup(Runtime::Aws, &|_| None)?;
    settings.admin_key = Some(Secret::new(KEY));
    settings.public_url =
        Some(PublicUrl::parse("https://csms.example.com").map_err(anyhow::Error::msg)?);
    let wiring = Wiring::new(settings, store, clock, NoAdapters);
    let app = router(wiring.api_state()?);
    for (evse, mode) in [(1, "public"), (2, "private")] {
        let uri = format!("/stations/FIG-SL/evses/{evse}/access");
        let (status, _) = request(&app, "PUT", &uri, true, Some(json!({"default": mode}))).await?;
        if status != 200 {
            bail!("PUT {uri}: {status}");
        }
    }

    println!("| request | DynamoDB requests | by operation |");
    println!("|---|---|---|");
    let mut keys = Vec::new();
    let steps: [(&str, &str, bool, u16); 6] = [
        ("GET", "/stations/FIG-SL/evses/1/charging-key", true, 200),
        ("GET", "/stations/FIG-SL/evses/1/charging-key", true, 200),
        ("GET", "/start/{1}", false, 200),
        ("POST", "/start/{1}", false, 0),
        ("GET", "/stations/FIG-SL/evses/2/charging-key", true, 200),
        ("POST", "/start/{2}", false, 403),
    ];
    for (i, (method, uri, key, expected)) in steps.into_iter().enumerate() {
        let uri = match uri {
            "/start/{1}" => format!("/start/{}", keys[0]),
            "/start/{2}" => format!("/start/{}", keys[1]),
            u => u.to_owned(),
        };
        counter.reset();
        let (status, body) = request(&app, method, &uri, key, None).await?;
        if expected != 0 && status != expected {
            bail!("{method} {uri}: {status} {body}");
        }
        if (i == 0 || i == 4) && status == 200 {
            keys.push(body["key"].as_str().unwrap_or_default().to_owned());
        }
        let detail = counter
            .snapshot()
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let label = match i {
            0 => "GET …/charging-key (first: made)".to_owned(),
            1 => "GET …/charging-key (again)".to_owned(),
            2 => "GET /start/{key} (anonymous, public)".to_owned(),
            3 => format!("POST /start/{{key}} (anonymous, public) → {status}"),
            4 => "GET …/charging-key (EVSE 2, made)".to_owned(),
            _ => "POST /start/{key} (anonymous, private) → 403".to_owned(),
        };
        println!("| {label} | {} | {detail} |", counter.total());
    }
    Ok(())
}
