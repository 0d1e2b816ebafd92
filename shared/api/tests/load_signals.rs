//! When a batch of load signals may skip its recomputation: only when a run
//! began after the signals were *sent*. A signal is stamped when its message
//! came in, before the message's writes; a run that began in between read
//! the store without them (a station connecting while its site was being
//! recomputed got no limit until the periodic run, found by the fuse e2e).

use chrono::TimeDelta;
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_charging::registry::{self, NewStation};
use csms_domain::load::{LoadConfig, LoadEvse, LoadMode, PhaseAmps};
use csms_domain::{OrgId, SiteId, StationId, Timestamp};
use csms_kernel::ports::{Store, SystemClock};
use csms_load::{LoadService, LoadSignal, SignalKind};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use serde_json::json;
use std::sync::Arc;

/// A static site: `fuse_a` on every phase, the EVSEs as given, everything
/// else at its defaults.
fn static_site(fuse_a: i64, evses: Vec<LoadEvse>) -> LoadConfig {
    LoadConfig::new(
        LoadMode::Static,
        PhaseAmps::uniform(Decimal::from(fuse_a)),
        evses,
    )
}

/// EVSE 1 of `station`, three phases, `max_a` at most.
fn evse_one(station: &str, max_a: i64) -> LoadEvse {
    LoadEvse::three_phase(StationId::parse(station).unwrap(), 1, Decimal::from(max_a))
}

async fn site_with_one_station() -> (Arc<dyn Store>, LoadService<dyn Store>, SiteId, StationId) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let settings = Settings::from_lookup(Runtime::Aws, &|_| None).expect("defaults are valid");
    let wiring = Wiring::new(settings, store.clone(), Arc::new(SystemClock), NoAdapters);
    let load = wiring.load().expect("test adapters are complete");
    let site = SiteId::parse("SIG-SITE").unwrap();
    let station = registry::register_station(
        &*store,
        &SystemClock,
        NewStation {
            id: "SIG-1".into(),
            site_id: Some(site.to_string()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let config = static_site(32, vec![evse_one("SIG-1", 16)]);
    load.configure(&OrgId::default_org(), &site, config, None)
        .await
        .unwrap();
    (store, load, site, station.id)
}

async fn computed_at(store: &Arc<dyn Store>, site: &SiteId) -> Timestamp {
    store
        .get_load_state(site)
        .await
        .unwrap()
        .and_then(|s| s.computed_at)
        .expect("the site was recomputed")
}

fn connection(station: &StationId, at: Timestamp) -> LoadSignal {
    let mut s = LoadSignal::new(SignalKind::Connection, at);
    s.station_id = Some(station.clone());
    s
}

#[tokio::test]
async fn a_signal_sent_after_the_last_run_began_is_recomputed_even_if_it_happened_before() {
    let (store, load, site, station) = site_with_one_station().await;
    load.recompute(&site).await.unwrap();
    let ran = computed_at(&store, &site).await;

    // Happened before the run began, written and sent after: the run may
    // not have seen it.
    let late =
        connection(&station, ran - TimeDelta::seconds(1)).sent(ran + TimeDelta::milliseconds(5));
    load.absorb(vec![late]).await.unwrap();
    let again = computed_at(&store, &site).await;
    assert!(again > ran, "recomputed: {again} after {ran}");
}

#[tokio::test]
async fn a_signal_sent_before_the_last_run_began_is_not_recomputed_again() {
    let (store, load, site, station) = site_with_one_station().await;
    load.recompute(&site).await.unwrap();
    let ran = computed_at(&store, &site).await;

    let seen = connection(&station, ran - TimeDelta::seconds(2)).sent(ran - TimeDelta::seconds(1));
    load.absorb(vec![seen]).await.unwrap();
    assert_eq!(
        computed_at(&store, &site).await,
        ran,
        "skipped: the run saw it"
    );

    // From an older sender without the stamp: judged by when it happened.
    let unstamped = connection(&station, ran - TimeDelta::seconds(1));
    load.absorb(vec![unstamped]).await.unwrap();
    assert_eq!(computed_at(&store, &site).await, ran);
}

#[test]
fn the_stamp_survives_the_queue_and_older_bodies_still_read() {
    let at = chrono::Utc::now();
    let s = LoadSignal::new(SignalKind::Status, at).sent(at + TimeDelta::seconds(1));
    let body = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<LoadSignal>(&body).unwrap(), s);
    let old = json!({"kind": "status", "at": at.to_rfc3339()});
    let read: LoadSignal = serde_json::from_value(old).unwrap();
    assert_eq!(read.sent_at, None);
    assert_eq!(read.seen_after(), read.at);
}
