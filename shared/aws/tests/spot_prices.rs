//! The `spot-prices` function's handler against DynamoDB on moto: scheduled
//! runs store a day, raise the missing-prices alarm with the fallback, stay
//! cheap when everything is stored, and recover when the prices come.
//! elprisetjustnu.se is a fake `HttpGet` serving the sample documents of
//! `shared/pricing/tests/fixtures/spot`; the clock is fixed.
//!
//! Needs `AWS_ENDPOINT_URL` (the test script starts moto).

mod support;

use async_trait::async_trait;
use chrono::NaiveDate;
use csms_aws::{DynamoStore, RequestCounter};
use csms_domain::spot::{BiddingZone, SpotSource};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{AlarmStore, Clock, PageRequest, SpotPriceStore, Store};
use csms_pricing::spot::config::SpotSettings;
use csms_pricing::spot::HttpGet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::*;

#[derive(Default)]
struct FakeHttp(Mutex<HashMap<String, (u16, String)>>);

impl FakeHttp {
    fn answer(&self, url: &str, status: u16, body: String) {
        self.0
            .lock()
            .unwrap()
            .insert(url.to_owned(), (status, body));
    }
}

#[async_trait]
impl HttpGet for FakeHttp {
    async fn get(&self, url: &str) -> Result<(u16, String), String> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .unwrap_or((404, "Not Found".into())))
    }
}

struct At(Timestamp);
impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn sample() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pricing/tests/fixtures/spot/elpris-2025-10-01-SE3.json"
    );
    std::fs::read_to_string(path).expect("the sample day")
}

fn summaries(report: &serde_json::Value) -> Vec<String> {
    report["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn scheduled_runs_store_alarm_fall_back_and_recover() {
    let sdk = sdk_config().await;
    let ddb = RequestCounter::new();
    let store = Arc::new(DynamoStore::with_counter(
        &sdk,
        unique_table("csms-spot"),
        &ddb,
    ));
    store.create_table().await.expect("create the test table");
    let http = Arc::new(FakeHttp::default());
    http.answer("http://prices.test/p/2025/10-01_SE3.json", 200, sample());
    let vars: HashMap<&str, &str> = [
        ("CSMS_SPOT_ZONES", "SE3"),
        ("CSMS_ELPRIS_BASE_URL", "http://prices.test/p"),
    ]
    .into();
    let settings = SpotSettings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    // 16:00 in Stockholm: tomorrow is late.
    let now: Timestamp = "2025-10-01T14:00:00Z".parse().unwrap();
    let dyn_store: Arc<dyn Store> = store.clone();
    let fetcher = settings.fetcher(dyn_store.clone(), Arc::new(At(now)), http.clone());
    let se3 = BiddingZone::parse("SE3").unwrap();
    let today: NaiveDate = "2025-10-01".parse().unwrap();
    let tomorrow: NaiveDate = "2025-10-02".parse().unwrap();

    let report = csms_aws::spot::handle_schedule(&fetcher).await;
    assert_eq!(
        summaries(&report),
        [
            "SE3 2025-10-01: fetched from elprisetjustnu (96 slots)",
            "SE3 2025-10-02: missing, fallback previous-day stored, alarm raised [elprisetjustnu: not published yet]",
        ]
    );
    let stored = store.get_spot_day(se3, today).await.unwrap().unwrap();
    let expected = csms_pricing::spot::elpris::parse_day(&sample(), se3, today, now)
        .unwrap()
        .unwrap();
    assert_eq!(
        stored, expected,
        "the day survives DynamoDB unchanged, digits and all"
    );
    let fallback = store.get_spot_day(se3, tomorrow).await.unwrap().unwrap();
    assert_eq!(
        fallback.source,
        SpotSource::Fallback {
            rule: "previous-day".into()
        }
    );
    assert_eq!(fallback.slots[40].price, stored.slots[40].price);
    let active = store
        .list_alarms(&OrgId::default_org(), true, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(active.items.len(), 1);
    assert_eq!(active.items[0].id, "spot-missing:SE3:2025-10-02");

    // A run with nothing new to store: reads only.
    ddb.reset();
    let report = csms_aws::spot::handle_schedule(&fetcher).await;
    assert_eq!(
        summaries(&report),
        [
            "SE3 2025-10-01: stored (elprisetjustnu)",
            "SE3 2025-10-02: still missing, fallback kept [elprisetjustnu: not published yet]",
        ]
    );
    let calls = ddb.snapshot();
    assert!(
        calls.keys().all(|op| op == "GetItem") && ddb.total() <= 3,
        "{calls:?}"
    );

    // Tomorrow is published: it replaces the fallback and ends the alarm.
    http.answer(
        "http://prices.test/p/2025/10-02_SE3.json",
        200,
        // The sample re-dated: its last slot ends at the next midnight first.
        sample()
            .replace("2025-10-02T00:00:00+02:00", "2025-10-03T00:00:00+02:00")
            .replace("2025-10-01T", "2025-10-02T"),
    );
    let report = csms_aws::spot::handle_schedule(&fetcher).await;
    assert_eq!(
        summaries(&report)[1],
        "SE3 2025-10-02: fetched from elprisetjustnu (96 slots), replacing the fallback, alarm resolved"
    );
    assert_eq!(
        store
            .get_spot_day(se3, tomorrow)
            .await
            .unwrap()
            .unwrap()
            .source,
        SpotSource::Elprisetjustnu
    );
    let active = store
        .list_alarms(&OrgId::default_org(), true, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(active.items.is_empty(), "{:?}", active.items);
}
