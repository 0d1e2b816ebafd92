//! Records that do not decode, written straight into the redb tables as an
//! older version or a bug would have left them: listings skip them, start-up
//! paths keep going, the operator gets one alarm per kind of record.

use csms_kernel::contract::{undecodable_plant, undecodable_records_are_skipped, Planted};
use csms_store_redb::{EmbeddedStore, DATABASE_FILE};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

mod common;
use common::TempDir;
use csms_kernel::events::{DomainEvent, EventBus};
use csms_kernel::ports::AlarmStore;

/// The ids of the alarms opened on the bus.
#[derive(Default)]
struct Told(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl EventBus for Told {
    async fn publish(&self, event: DomainEvent) {
        if let DomainEvent::AlarmOpened { alarm, .. } = event {
            self.0.lock().unwrap().push(alarm.id);
        }
    }
}

/// Overwrites the value under `key` of the JSON table `table` with `bytes`.
fn damage(dir: &Path, table: &str, key: &str, bytes: &[u8]) {
    let db = Database::open(dir.join(DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let def: TableDefinition<&str, &[u8]> = TableDefinition::new(table);
        let mut t = txn.open_table(def).unwrap();
        assert!(
            t.get(key).unwrap().is_some(),
            "{table}/{key} must be a real key"
        );
        t.insert(key, bytes).unwrap();
    }
    txn.commit().unwrap();
}

fn damage_all(dir: &Path, bad: &Planted) {
    // Different kinds of damage: not JSON at all, JSON of the wrong shape,
    // a field of the wrong type, the empty value.
    damage(dir, "sessions", bad.session.as_str(), b"\xff\x00not json");
    damage(dir, "stations", bad.station.as_str(), br#"{"id": 7}"#);
    damage(dir, "id_tokens", &bad.token.key(), b"[]");
    damage(dir, "tariffs", &bad.tariff, b"");
    damage(dir, "commands", bad.command.as_str(), br#"{"id": "x"}"#);
    damage(dir, "webhooks", &bad.webhook, b"null");
    damage(dir, "deliveries", &bad.delivery, br#"{"status": 12}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_skip_records_that_do_not_decode_and_raise_one_alarm_per_kind() {
    let tmp = TempDir::new("lists");
    let bad = {
        let store = EmbeddedStore::open(tmp.path()).unwrap();
        undecodable_plant(&store).await
    };
    damage_all(tmp.path(), &bad);
    let store = EmbeddedStore::open(tmp.path()).expect("a damaged record must not stop opening");
    let told = std::sync::Arc::new(Told::default());
    store.announce_alarms_to(told.clone());
    undecodable_records_are_skipped(&store, &bad).await;
    // Each alarm the store opened was told on the bus, once.
    let told = told.0.lock().unwrap().clone();
    let mut ids: Vec<&str> = told.iter().map(String::as_str).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "one told per alarm: {told:?}");
    assert!(
        ids.contains(&"record-undecodable:default:Session"),
        "{told:?}"
    );
    assert!(ids.iter().all(|id| id.starts_with("record-undecodable:")));
    // Two rounds of listings above met the damaged session twice per round
    // (by organisation and by station): every skip is counted.
    assert_eq!(store.skipped_records("Session"), 4);
}
