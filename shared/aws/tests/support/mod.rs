//! Shared by the Lambda handler tests and the `ddb-requests` example: an SDK
//! configuration for the moto server in `AWS_ENDPOINT_URL`, and API Gateway
//! WebSocket events built from the recorded shapes in `tests/fixtures`.
#![allow(dead_code)] // each user takes what it needs

use aws_config::SdkConfig;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_sdk_dynamodb::config::Credentials;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

const CONNECT: &str = include_str!("../fixtures/connect.json");
const DEFAULT: &str = include_str!("../fixtures/default.json");
const DISCONNECT: &str = include_str!("../fixtures/disconnect.json");

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .expect("set AWS_ENDPOINT_URL to a moto server (tests/run.sh starts one)")
}

/// Region and credentials fall back to dummies, so a bare
/// `AWS_ENDPOINT_URL=… cargo test` works too.
pub async fn sdk_config() -> SdkConfig {
    endpoint();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("eu-north-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"));
    }
    loader.load().await
}

/// A fresh standard SQS queue on moto named after `prefix`: the client and
/// the queue URL.
pub async fn sqs_queue(sdk: &SdkConfig, prefix: &str) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_table(prefix))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create the {prefix} queue on moto: {e:?}"))
        .queue_url
        .unwrap();
    (sqs, queue_url)
}

/// Take a received message off the queue (it was handled).
pub async fn delete_message(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    message: &aws_sdk_sqs::types::Message,
) {
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(message.receipt_handle.clone().unwrap())
        .send()
        .await
        .unwrap();
}

/// The body of the next message on the queue, taken off it; fails after
/// 10 s without one.
pub async fn receive_one(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
            delete_message(sqs, queue_url, &m).await;
            return m.body.unwrap();
        }
    }
    panic!("no message on {queue_url}");
}

/// A table name no other test or run uses.
pub fn unique_table(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "{prefix}-{nanos}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn event(mut v: Value) -> ApiGatewayWebsocketProxyRequest {
    serde_json::from_value(v.take()).expect("fixture deserialises as a WebSocket proxy event")
}

fn fixture(src: &str, connection_id: &str) -> Value {
    let mut v: Value = serde_json::from_str(src).expect("fixture is JSON");
    v["requestContext"]["connectionId"] = json!(connection_id);
    v
}

/// Set a header in both the single- and the multi-value map, as API Gateway does.
pub fn set_header(v: &mut Value, name: &str, value: Option<&str>) {
    for (map, val) in [
        ("headers", value.map(|s| json!(s))),
        ("multiValueHeaders", value.map(|s| json!([s]))),
    ] {
        let m = v[map].as_object_mut().expect("header map");
        m.retain(|k, _| !k.eq_ignore_ascii_case(name));
        if let Some(val) = val {
            m.insert(name.to_owned(), val);
        }
    }
}

/// `$connect` for `station_id` offering `subprotocols` (one header value,
/// comma-separated as a browser or charger sends it; `None` = no header).
pub fn connect_event(
    connection_id: &str,
    station_id: &str,
    subprotocols: Option<&str>,
    authorization: Option<&str>,
) -> ApiGatewayWebsocketProxyRequest {
    let mut v = fixture(CONNECT, connection_id);
    v["queryStringParameters"] = json!({ "stationId": station_id });
    v["multiValueQueryStringParameters"] = json!({ "stationId": [station_id] });
    set_header(&mut v, "Sec-WebSocket-Protocol", subprotocols);
    set_header(&mut v, "Authorization", authorization);
    event(v)
}

/// `$connect` without any query string (a client that bypassed CloudFront).
pub fn connect_event_without_station(connection_id: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut v = fixture(CONNECT, connection_id);
    v.as_object_mut().unwrap().remove("queryStringParameters");
    v.as_object_mut()
        .unwrap()
        .remove("multiValueQueryStringParameters");
    event(v)
}

/// `$default` carrying one text frame.
pub fn message_event(connection_id: &str, body: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut v = fixture(DEFAULT, connection_id);
    v["body"] = json!(body);
    event(v)
}

/// `$default` carrying a frame API Gateway chose to base64-encode.
pub fn binary_message_event(connection_id: &str, body: &[u8]) -> ApiGatewayWebsocketProxyRequest {
    use base64::Engine;
    let mut v = fixture(DEFAULT, connection_id);
    v["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    v["isBase64Encoded"] = json!(true);
    event(v)
}

pub fn disconnect_event(connection_id: &str) -> ApiGatewayWebsocketProxyRequest {
    event(fixture(DISCONNECT, connection_id))
}
