//! Load balancing in AWS against a moto server: signals through the SQS FIFO
//! queue (`SqsLoadTrigger`), and the `load-balancer` handler fed the
//! recorded shape of an SQS → Lambda event (`tests/fixtures/sqs_load.json`)
//! and the scheduler's `{"sweep": true}`.
//!
//! Needs `AWS_ENDPOINT_URL` (the test script starts moto). Every test works
//! in a table and queue of its own.

mod support;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use csms_aws::load::{handle_load_event, LoadEventError, LoadResponse, SqsLoadTrigger};
use csms_aws::{ApiGatewaySender, DynamoStore};
use csms_charging::registry::{self, NewStation};
use csms_commands::service::{CommandService, NoTimers};
use csms_domain::load::{LoadConfig, LoadEvse, LoadMode, PhaseAmps};
use csms_domain::{OrgId, SiteId, StationId};
use csms_kernel::ports::{LoadStore, Store, SystemClock};
use csms_load::{LoadService, LoadSignal, LoadTrigger, SignalKind};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

const SQS_LOAD: &str = include_str!("fixtures/sqs_load.json");
const SITE: &str = "garage-north";
const STATION: &str = "LB-1";

fn sqs_event() -> Value {
    serde_json::from_str(SQS_LOAD).expect("fixture is JSON")
}

async fn fifo_queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name(format!("{}.fifo", unique_table("csms-load")))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .send()
        .await
        .expect("create the FIFO queue on moto")
        .queue_url
        .unwrap()
}

/// Every message on the queue, with its group id (FIFO: one receive hands
/// out at most one batch per group, so receive until empty).
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    while out.len() < n && started.elapsed() < std::time::Duration::from_secs(10) {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap();
        for m in got.messages.unwrap_or_default() {
            let group = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .expect("a FIFO message has a group id");
            delete_message(sqs, queue_url, &m).await;
            out.push((group, m.body.unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn a_signal_goes_on_the_fifo_queue_grouped_by_site_or_station() {
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = fifo_queue(&sqs).await;
    let trigger = SqsLoadTrigger::new(&sdk, &queue_url);

    let at = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 2, 10, 0, 0).unwrap();
    let mut meter = LoadSignal::new(SignalKind::Meter, at);
    meter.site_id = Some(SiteId::parse(SITE).unwrap());
    meter.station_id = Some(StationId::parse(STATION).unwrap());
    meter.evse_id = Some(1);
    meter.currents_a = Some([Some(Decimal::new(155, 1)), Some(Decimal::new(16, 0)), None]);
    trigger.signal(meter.clone()).await.expect("signal sent");
    // The same signal again is a second message: every send has its own
    // deduplication id.
    trigger.signal(meter.clone()).await.expect("signal sent");
    // A connect does not know its site: grouped by the station.
    let mut connected = LoadSignal::new(SignalKind::Connection, at);
    connected.station_id = Some(StationId::parse("LB-2").unwrap());
    trigger
        .signal(connected.clone())
        .await
        .expect("signal sent");

    let mut got = drain(&sqs, &queue_url, 3).await;
    got.sort();
    assert_eq!(got.len(), 3, "three messages: {got:?}");
    let parsed: Vec<(String, LoadSignal)> = got
        .into_iter()
        .map(|(g, b)| (g, serde_json::from_str(&b).expect("the body is a signal")))
        .collect();
    assert_eq!(parsed[0], ("LB-2".to_owned(), connected));
    assert_eq!(parsed[1], (SITE.to_owned(), meter.clone()));
    assert_eq!(parsed[2], (SITE.to_owned(), meter));
}

struct Balancer {
    store: Arc<DynamoStore>,
    service: LoadService<dyn Store>,
}

/// A table with station `LB-1` on site `garage-north` (registered, never
/// connected) and the site's static configuration of its EVSE 1; the load
/// service sends through the Management API on moto, as the function's does.
async fn balancer() -> Balancer {
    let sdk = sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        unique_table("csms-load"),
    ));
    store.create_table().await.expect("create the test table");
    let dyn_store: Arc<dyn Store> = store.clone();
    registry::register_station(
        &*dyn_store,
        &SystemClock,
        NewStation {
            id: STATION.into(),
            site_id: Some(SITE.into()),
            ..Default::default()
        },
    )
    .await
    .expect("register station");
    let service = load_service(&sdk, dyn_store);
    // A 32 A static site with one 16 A EVSE, everything else at its defaults.
    let config = LoadConfig::new(
        LoadMode::Static,
        PhaseAmps::uniform(Decimal::from(32)),
        vec![LoadEvse::three_phase(
            StationId::parse(STATION).unwrap(),
            1,
            Decimal::from(16),
        )],
    );
    service
        .configure(
            &OrgId::default_org(),
            &SiteId::parse(SITE).unwrap(),
            config,
            None,
        )
        .await
        .expect("configure the site");
    Balancer { store, service }
}

/// The load service on `store`, sending through the Management API on moto,
/// as the function's does.
fn load_service(sdk: &aws_config::SdkConfig, store: Arc<dyn Store>) -> LoadService<dyn Store> {
    let commands = CommandService::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(ApiGatewaySender::new(sdk, "")),
        Arc::new(NoTimers),
    );
    LoadService::new(store, Arc::new(SystemClock), commands)
}

fn failures(r: &LoadResponse) -> Vec<String> {
    match r {
        LoadResponse::Batch(b) => b
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect(),
        other => panic!("expected a batch response, got {other:?}"),
    }
}

#[tokio::test]
async fn an_sqs_batch_is_absorbed_and_a_body_that_is_no_signal_is_dropped() {
    let b = balancer().await;
    let site = SiteId::parse(SITE).unwrap();
    assert!(b.store.get_load_state(&site).await.unwrap().is_none());

    let r = handle_load_event(&b.service, sqs_event()).await.unwrap();
    assert!(failures(&r).is_empty(), "nothing to retry: {r:?}");
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"batchItemFailures": []}),
        "the partial batch response Lambda expects"
    );
    let state = b
        .store
        .get_load_state(&site)
        .await
        .unwrap()
        .expect("the site was recomputed");
    assert!(state.computed_at.is_some());
    assert_eq!(state.config_version, 1);
    assert!(state
        .evses
        .iter()
        .any(|e| e.station_id.as_str() == STATION && e.evse_id == 1));

    // Only garbage: nothing to absorb, nothing to retry.
    let mut v = sqs_event();
    v["Records"].as_array_mut().unwrap().remove(0);
    let r = handle_load_event(&b.service, v).await.unwrap();
    assert!(failures(&r).is_empty());
}

#[tokio::test]
async fn a_store_failure_hands_every_signal_back_to_sqs() {
    let sdk = sdk_config().await;
    // A table that does not exist: every read fails.
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        unique_table("csms-missing"),
    ));
    let service = load_service(&sdk, store);
    let r = handle_load_event(&service, sqs_event()).await.unwrap();
    assert_eq!(
        failures(&r),
        vec!["0a3e5a1c-6c3b-4a8e-9d1f-2b7c4e5f6a01".to_owned()],
        "the signal is retried; the body that is no signal is not"
    );
}

#[tokio::test]
async fn the_scheduled_sweep_recomputes_every_configured_site() {
    let b = balancer().await;
    let r = handle_load_event(&b.service, json!({"sweep": true}))
        .await
        .unwrap();
    assert_eq!(r, LoadResponse::Swept { swept: 1 });
    assert_eq!(serde_json::to_value(&r).unwrap(), json!({"swept": 1}));
    let state = b
        .store
        .get_load_state(&SiteId::parse(SITE).unwrap())
        .await
        .unwrap()
        .expect("the site was recomputed");
    assert!(state.computed_at.is_some());

    for other in [json!({"sweep": false}), json!({}), json!("sweep")] {
        assert!(
            matches!(
                handle_load_event(&b.service, other.clone()).await,
                Err(LoadEventError::Unrecognised(_))
            ),
            "{other} is not an event of this function"
        );
    }
}
