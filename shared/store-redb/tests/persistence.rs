//! The store on disk: what the local runner relies on across restarts.

use chrono::{TimeZone, Utc};
use csms_domain::session::Session;
use csms_domain::{OrgId, StationId};
use csms_kernel::contract::station;
use csms_kernel::ports::{SessionStore, StationStore, StoreError};
use csms_store_redb::EmbeddedStore;

mod common;
use common::TempDir;

#[tokio::test]
async fn data_survives_reopening() {
    let tmp = TempDir::new("reopen");
    // A directory that does not exist yet: `open` creates it.
    let dir = tmp.path().join("data");
    let st = station("CP-P", "default", Some("site-1"));
    let mut session = Session::blank(
        &st.id,
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(42),
        Utc.timestamp_opt(1_790_000_000, 0).unwrap(),
    );
    session.version = 1;

    let last_tx = {
        let store = EmbeddedStore::open(&dir).unwrap();
        store.create_station(&st).await.unwrap();
        store.put_session(&session, 0).await.unwrap();
        store.next_transaction_id().await.unwrap();
        store.next_transaction_id().await.unwrap()
    };
    assert!(dir.join(csms_store_redb::DATABASE_FILE).is_file());

    let store = EmbeddedStore::open(&dir).unwrap();
    assert_eq!(store.get_station(&st.id).await.unwrap(), Some(st));
    assert_eq!(
        store.get_session(&session.id).await.unwrap(),
        Some(session.clone())
    );
    let next = store.next_transaction_id().await.unwrap();
    assert!(
        next > last_tx,
        "transaction ids must continue after a restart: {next} after {last_tx}"
    );
    // The version check sees the persisted session too.
    assert!(matches!(
        store.put_session(&session, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store
        .get_station(&StationId::parse("other").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_second_open_of_the_same_directory_fails() {
    let tmp = TempDir::new("locked");
    let _first = EmbeddedStore::open(tmp.path()).unwrap();
    let second = EmbeddedStore::open(tmp.path());
    assert!(matches!(second, Err(StoreError::Backend(_))), "{second:?}");
}

#[test]
fn works_outside_a_tokio_runtime() {
    let store = EmbeddedStore::temporary();
    let id = futures_lite_block_on(store.next_transaction_id()).unwrap();
    assert_eq!(id, 1);
}

/// Polls a future to completion on this thread; enough for a store call that
/// never returns `Pending` outside a runtime.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("store call was pending outside a runtime"),
    }
}
