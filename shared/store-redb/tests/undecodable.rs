//! Records that do not decode, written straight into the redb tables as an
//! older version or a bug would have left them: listings skip them, start-up
//! paths keep going, the operator gets one alarm per kind of record.

use csms_kernel::contract::{undecodable_plant, undecodable_records_are_skipped, Planted};
use csms_store_redb::{EmbeddedStore, DATABASE_FILE};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

mod common;
use common::TempDir;

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
    undecodable_records_are_skipped(&store, &bad).await;
    // Two rounds of listings above met the damaged session twice per round
    // (by organisation and by station): every skip is counted.
    assert_eq!(store.skipped_records("Session"), 4);
}
