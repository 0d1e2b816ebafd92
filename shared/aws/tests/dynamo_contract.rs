//! The store contract against DynamoDB, plus the request counter and the API
//! Gateway Management API sender.
//!
//! Needs a DynamoDB endpoint in `AWS_ENDPOINT_URL` — a moto server, which the
//! project's test script starts. By hand:
//!
//! ```text
//! moto_server -H 127.0.0.1 -p 5005 &
//! AWS_ENDPOINT_URL=http://127.0.0.1:5005 cargo test -p csms-aws --test dynamo_contract
//! ```
//!
//! Region and credentials default to dummies when unset. Every test works in
//! a table of its own, so tests run in parallel and need no reset.

mod support;

use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use chrono::{TimeZone, Utc};
use csms_aws::{ApiGatewaySender, DynamoStore, RequestCounter};
use csms_domain::station::Connection;
use csms_domain::{OcppVersion, OrgId, StationId};
use csms_kernel::contract;
use csms_kernel::ports::{
    ConnectionSender, ConnectionStore, IdempotencyStore, SendError, StationStore, StoreError,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{endpoint, sdk_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn unique_table() -> String {
    support::unique_table("csms-test")
}

async fn fresh_store() -> DynamoStore {
    let sdk = sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), unique_table());
    store.create_table().await.expect("create the test table");
    store
}

csms_kernel::store_contract_tests!(fresh_store().await);

async fn counted_store() -> (DynamoStore, RequestCounter) {
    let counter = RequestCounter::new();
    let store = DynamoStore::with_counter(&sdk_config().await, unique_table(), &counter);
    store.create_table().await.expect("create the test table");
    counter.reset();
    (store, counter)
}

fn connection(id: &str, station: &str) -> Connection {
    let at = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
    Connection {
        connection_id: id.into(),
        station_id: StationId::parse(station).unwrap(),
        org_id: OrgId::default_org(),
        site_id: None,
        ocpp_version: OcppVersion::V16,
        connected_at: at,
        last_seen_at: at,
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Default::default(),
        clock: None,
        messages: 0,
        flood: None,
    }
}

fn ops(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn touch_connection_costs_exactly_one_request() {
    let (store, counter) = counted_store().await;
    store
        .create_station(&contract::station("CP-C", "default", None))
        .await
        .unwrap();
    store
        .open_connection(&connection("c1", "CP-C"), &[], &[])
        .await
        .unwrap();

    counter.reset();
    let touched = store.touch_connection("c1", Utc::now()).await.unwrap();
    assert_eq!(touched.map(|c| c.connection_id), Some("c1".into()));
    assert_eq!(counter.snapshot(), ops(&[("UpdateItem", 1)]));

    counter.reset();
    assert!(store
        .touch_connection("unknown", Utc::now())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        counter.total(),
        1,
        "an unknown connection costs one request too"
    );
}

#[tokio::test]
async fn request_costs_of_the_connection_lifecycle() {
    let (store, counter) = counted_store().await;
    store
        .create_station(&contract::station("CP-D", "default", None))
        .await
        .unwrap();
    assert_eq!(counter.snapshot(), ops(&[("PutItem", 1)]));

    counter.reset();
    store
        .open_connection(&connection("c1", "CP-D"), &[], &[])
        .await
        .unwrap();
    assert_eq!(
        counter.snapshot(),
        ops(&[("PutItem", 1), ("UpdateItem", 1)])
    );

    counter.reset();
    let view = store
        .get_station_view(&StationId::parse("CP-D").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(view.connection.is_some());
    assert_eq!(counter.snapshot(), ops(&[("GetItem", 1), ("Query", 1)]));

    counter.reset();
    store.close_connection("c1", Utc::now()).await.unwrap();
    assert_eq!(
        counter.snapshot(),
        ops(&[("DeleteItem", 1), ("UpdateItem", 1)])
    );

    counter.reset();
    assert_eq!(
        store
            .claim("s", "k", "v1", chrono::TimeDelta::hours(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim("s", "k", "v2", chrono::TimeDelta::hours(1))
            .await
            .unwrap()
            .as_deref(),
        Some("v1")
    );
    assert_eq!(
        counter.snapshot(),
        ops(&[("PutItem", 2)]),
        "the stored value comes back with the failed put"
    );
}

#[tokio::test]
async fn api_gateway_sender_talks_to_the_management_api() {
    let sdk = sdk_config().await;
    // Empty endpoint: the SDK's own (AWS_ENDPOINT_URL) is used.
    let sender = ApiGatewaySender::new(&sdk, "");
    sender
        .send("conn-1", r#"[2,"m1","Reset",{"type":"Soft"}]"#)
        .await
        .unwrap();
    sender.close("conn-1").await.unwrap();
    // An explicit endpoint is used as given.
    let sender = ApiGatewaySender::new(&sdk, &endpoint());
    sender.send("conn-2", "[]").await.unwrap();
    sender.close("conn-2").await.unwrap();
}

/// Request lines (`POST /path HTTP/1.1`) a [`failing_server`] received.
type Seen = Arc<Mutex<Vec<String>>>;

/// A tiny HTTP server answering every request with `status`, an AWS error
/// type header and `body` (moto cannot fake failures).
async fn failing_server(
    status: &'static str,
    error_type: &'static str,
    body: &'static str,
) -> (std::net::SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let line = read_request(&mut socket).await;
                log.lock().unwrap().push(line);
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {error_type}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, seen)
}

fn offline_sdk_config(endpoint: Option<String>, max_attempts: u32) -> aws_config::SdkConfig {
    let mut sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-north-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        );
    if let Some(e) = endpoint {
        sdk = sdk.endpoint_url(e);
    }
    sdk.build()
}

/// moto never answers 410: a vanished connection must surface as `Gone`,
/// never as success or a generic failure.
#[tokio::test]
async fn api_gateway_gone_is_reported_as_gone() {
    let (addr, seen) = failing_server(
        "410 Gone",
        "GoneException",
        r#"{"message":"Connection gone"}"#,
    )
    .await;
    let sender =
        ApiGatewaySender::new(&offline_sdk_config(None, 1), &format!("http://{addr}/prod"));
    assert!(matches!(
        sender.send("gone-1", "[]").await,
        Err(SendError::Gone)
    ));
    assert!(matches!(sender.close("gone-1").await, Err(SendError::Gone)));
    // The stage in the endpoint is kept in front of the operation's path.
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "POST /prod/@connections/gone-1 HTTP/1.1",
            "DELETE /prod/@connections/gone-1 HTTP/1.1"
        ]
    );
}

#[tokio::test]
async fn retries_are_counted_as_requests() {
    let (addr, _) = failing_server(
        "500 Internal Server Error",
        "InternalServerError",
        r#"{"message":"boom"}"#,
    )
    .await;
    let counter = RequestCounter::new();
    let store = DynamoStore::with_counter(
        &offline_sdk_config(Some(format!("http://{addr}")), 3),
        "t",
        &counter,
    );
    let err = store
        .get_station(&StationId::parse("CP").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Backend(ref m) if m.contains("InternalServerError")),
        "{err}"
    );
    assert_eq!(counter.snapshot(), ops(&[("GetItem", 3)]));
}

#[tokio::test]
async fn create_table_accepts_an_existing_table() {
    let store = fresh_store().await;
    store.create_table().await.unwrap();
}

/// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes of body)
/// and returns its request line.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return String::new();
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let raw = String::from_utf8_lossy(&buf[..end]);
                return raw.lines().next().unwrap_or_default().to_owned();
            }
        }
    }
}

/// Updates of the station item never create half a station.
#[tokio::test]
async fn unregistered_stations_stay_unregistered() {
    let store = fresh_store().await;
    let id = StationId::parse("ghost").unwrap();
    let boot = csms_domain::station::BootInfo {
        vendor: "V".into(),
        model: "M".into(),
        serial_number: None,
        firmware_version: None,
        reason: None,
        booted_at: Utc::now(),
        registration: Default::default(),
        recent_boots: Vec::new(),
    };
    store.record_boot(&id, &boot).await.unwrap();
    assert_eq!(
        store
            .open_connection(&connection("g1", "ghost"), &[], &[])
            .await
            .unwrap(),
        None
    );
    assert!(store
        .close_connection("g1", Utc::now())
        .await
        .unwrap()
        .is_some());
    assert!(store.get_station(&id).await.unwrap().is_none());
    assert!(store.get_station_view(&id).await.unwrap().is_none());
}

/// Sets attribute `name` of the item (`pk`, `META`) to `value`, as an older
/// version or a bug would have left it.
async fn damage(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
    name: &str,
    value: aws_sdk_dynamodb::types::AttributeValue,
) {
    damage_at(client, table, pk, "META", name, value).await
}

async fn damage_at(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
    sk: &str,
    name: &str,
    value: aws_sdk_dynamodb::types::AttributeValue,
) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    client
        .update_item()
        .table_name(table)
        .key("PK", A::S(pk.clone()))
        .key("SK", A::S(sk.into()))
        .condition_expression("attribute_exists(PK)")
        .update_expression("SET #a = :v")
        .expression_attribute_names("#a", name)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("damaging {pk}: {e:?}"));
}

#[tokio::test]
async fn listings_skip_items_that_do_not_decode_and_raise_one_alarm_per_kind() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let store = fresh_store().await;
    let bad = contract::undecodable_plant(&store).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let t = store.table();
    // Attribute items: a field of the wrong type. Body items: not JSON.
    let wrong = || A::N("7".into());
    let junk = || A::S("{not json".into());
    for (pk, name, value) in [
        (format!("SESSION#{}", bad.session), "orgId", wrong()),
        (format!("STATION#{}", bad.station), "orgId", wrong()),
        (format!("IDTOKEN#{}", bad.token.key()), "orgId", wrong()),
        (format!("TARIFF#{}", bad.tariff), "body", junk()),
        (format!("COMMAND#{}", bad.command), "body", junk()),
        (format!("WEBHOOK#{}", bad.webhook), "body", junk()),
        (format!("DELIVERY#{}", bad.delivery), "body", junk()),
    ] {
        damage(&client, t, pk, name, value).await;
    }
    // A pending command has a twin in its station's queue: damaged alike.
    let queued = format!("CMDQ#{}", bad.command);
    damage_at(
        &client,
        t,
        "STATION#GOOD-ST".into(),
        &queued,
        "body",
        junk(),
    )
    .await;
    contract::undecodable_records_are_skipped(&store, &bad).await;
    assert!(store.skipped_records("Session") >= 2);
}

/// A token item written before tokens had a version (no `version`
/// attribute) reads as version 0 and takes a change conditional on that;
/// the change gives it a version, so a second change from 0 is a conflict.
/// A write never moves a token to another organisation.
#[tokio::test]
async fn a_token_stored_before_versions_is_changed_once_from_version_0() {
    use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
    use csms_domain::IdTokenValue;
    use csms_kernel::ports::TokenStore;
    let store = fresh_store().await;
    let at = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
    let token = IdTokenRecord {
        user_id: None,
        token: IdTokenValue::parse("OLD-CARD").unwrap(),
        token_type: IdTokenType::ISO14443,
        status: TokenStatus::Accepted,
        valid_from: None,
        valid_to: None,
        org_id: OrgId::default_org(),
        group: None,
        parent_id: None,
        emaid: None,
        payment_hold: None,
        label: None,
        block: None,
        created_at: at,
        updated_at: None,
        version: 1,
    };
    store.create_id_token(&token).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    client
        .update_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("IDTOKEN#OLD-CARD".into()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("META".into()),
        )
        .update_expression("REMOVE #v")
        .expression_attribute_names("#v", "version")
        .send()
        .await
        .unwrap();
    let old = store.get_id_token(&token.token).await.unwrap().unwrap();
    assert_eq!(old.version, 0);
    let mut moved = old.clone();
    moved.org_id = OrgId::parse("org-b").unwrap();
    moved.version = 1;
    assert!(matches!(
        store.put_id_token(&moved, 0).await,
        Err(StoreError::Conflict(_))
    ));
    let mut changed = old.clone();
    changed.label = Some("kept".into());
    changed.version = 1;
    store.put_id_token(&changed, 0).await.unwrap();
    assert_eq!(
        store.get_id_token(&token.token).await.unwrap(),
        Some(changed.clone())
    );
    assert!(matches!(
        store.put_id_token(&changed, 0).await,
        Err(StoreError::Conflict(_))
    ));
}
