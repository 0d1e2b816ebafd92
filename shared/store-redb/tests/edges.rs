//! Behaviour beyond the shared contract: boundaries of keys and cursors that
//! only this adapter's layout can get wrong.

use chrono::{TimeDelta, TimeZone, Utc};
use csms_domain::session::Session;
use csms_domain::station::{BootInfo, Connection, ConnectorStatus};
use csms_domain::{OcppVersion, OrgId, StationId, Timestamp};
use csms_kernel::contract::station;
use csms_kernel::ports::*;
use csms_store_redb::EmbeddedStore;

fn t(secs: i64) -> Timestamp {
    Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
}

fn sid(s: &str) -> StationId {
    StationId::parse(s).unwrap()
}

fn org(s: &str) -> OrgId {
    OrgId::parse(s).unwrap()
}

fn session(station: &str, org_id: &str, tx: &str, started: Timestamp) -> Session {
    let mut s = Session::blank(
        &sid(station),
        org(org_id),
        None,
        &csms_domain::TransactionId::parse(tx).unwrap(),
        started,
    );
    s.started_at = Some(started);
    s.version = 1;
    s
}

fn query(org_id: &str, station: Option<&str>, page: PageRequest) -> SessionQuery {
    SessionQuery {
        org_id: org(org_id),
        station_id: station.map(sid),
        from: None,
        to: None,
        page,
    }
}

fn txs(p: &Page<Session>) -> Vec<&str> {
    p.items.iter().map(|s| s.transaction_id.as_str()).collect()
}

/// The first item of a listing after `cursor`.
fn one_after(cursor: impl Into<String>) -> PageRequest {
    PageRequest {
        limit: 1,
        cursor: Some(cursor.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_without_a_site_come_first_then_by_site_and_id() {
    let store = EmbeddedStore::temporary();
    for (id, site) in [
        ("z", None),
        ("b", Some("s2")),
        ("a", Some("s2")),
        ("c", Some("s1")),
        ("y", None),
    ] {
        store.create_station(&station(id, "o", site)).await.unwrap();
    }
    let p = store
        .list_stations(&org("o"), &PageRequest::first(0))
        .await
        .unwrap();
    let ids: Vec<_> = p.items.iter().map(|v| v.station.id.to_string()).collect();
    assert_eq!(ids, ["y", "z", "c", "a", "b"]);
    assert!(
        p.next_cursor.is_none(),
        "limit 0 means the default page size"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_only_work_in_the_listing_that_issued_them() {
    let store = EmbeddedStore::temporary();
    for id in ["a", "b", "c"] {
        store
            .create_station(&station(id, "o1", None))
            .await
            .unwrap();
        store
            .create_station(&station(id.to_uppercase().as_str(), "o2", None))
            .await
            .unwrap();
    }
    let p = store
        .list_stations(&org("o1"), &PageRequest::first(1))
        .await
        .unwrap();
    let cursor = p.next_cursor.expect("more stations");
    let other_org = store
        .list_stations(&org("o2"), &one_after(cursor.clone()))
        .await;
    assert!(
        matches!(other_org, Err(StoreError::InvalidCursor)),
        "{other_org:?}"
    );
    let other_kind = store.list_id_tokens(&org("o1"), &one_after(cursor)).await;
    assert!(
        matches!(other_kind, Err(StoreError::InvalidCursor)),
        "{other_kind:?}"
    );

    for (tx, at) in [("1", 1), ("2", 2), ("3", 3)] {
        store
            .put_session(&session("a", "o1", tx, t(at)), 0)
            .await
            .unwrap();
    }
    let by_org = store
        .list_sessions(&query("o1", None, PageRequest::first(1)))
        .await
        .unwrap();
    let c = by_org.next_cursor.expect("more sessions");
    let by_station = store
        .list_sessions(&query("o1", Some("a"), one_after(c)))
        .await;
    assert!(
        matches!(by_station, Err(StoreError::InvalidCursor)),
        "{by_station:?}"
    );
    for garbage in ["", "AAAA", "%%%", "Z2FyYmFnZQ"] {
        let r = store
            .list_sessions(&query("o1", None, one_after(garbage)))
            .await;
        assert!(
            matches!(r, Err(StoreError::InvalidCursor)),
            "{garbage:?}: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_within_their_org_only() {
    let store = EmbeddedStore::temporary();
    store
        .put_session(&session("A", "o1", "1", t(1)), 0)
        .await
        .unwrap();
    store
        .put_session(&session("A", "o2", "2", t(2)), 0)
        .await
        .unwrap();
    let p = store
        .list_sessions(&query("o1", Some("A"), PageRequest::first(10)))
        .await
        .unwrap();
    assert_eq!(txs(&p), ["1"]);
    let p = store
        .list_sessions(&query("o2", None, PageRequest::first(10)))
        .await
        .unwrap();
    assert_eq!(txs(&p), ["2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_time_bounds_are_exact_below_a_microsecond() {
    let store = EmbeddedStore::temporary();
    let ns = |n: i64| t(0) + TimeDelta::nanoseconds(n);
    store
        .put_session(&session("A", "o", "early", ns(300)), 0)
        .await
        .unwrap();
    store
        .put_session(&session("A", "o", "late", ns(800)), 0)
        .await
        .unwrap();
    // All three times share one microsecond, so only the exact check tells them apart.
    let mut q = query("o", Some("A"), PageRequest::first(10));
    q.from = Some(ns(500));
    let p = store.list_sessions(&q).await.unwrap();
    assert_eq!(txs(&p), ["late"], "from is inclusive of later times only");
    q.from = None;
    q.to = Some(ns(500));
    let p = store.list_sessions(&q).await.unwrap();
    assert_eq!(txs(&p), ["early"], "to is exclusive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_last_page_has_no_cursor() {
    let store = EmbeddedStore::temporary();
    for i in 0..4 {
        store
            .put_session(&session("A", "o", &i.to_string(), t(i)), 0)
            .await
            .unwrap();
    }
    let q = |cursor| query("o", None, PageRequest { limit: 2, cursor });
    let p1 = store.list_sessions(&q(None)).await.unwrap();
    let p2 = store
        .list_sessions(&q(p1.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!((txs(&p1), txs(&p2)), (vec!["3", "2"], vec!["1", "0"]));
    assert!(p2.next_cursor.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_claims_can_be_claimed_again() {
    let store = EmbeddedStore::temporary();
    // In order: each claim, and the value it finds held (none: it is taken).
    for (scope, key, value, ttl, held) in [
        ("s", "k", "v1", TimeDelta::zero(), None),
        // v1 expired at once: v2 takes the key.
        ("s", "k", "v2", TimeDelta::days(1), None),
        ("s", "k", "v3", TimeDelta::days(1), Some("v2")),
        // Scope and key are free text: a separator inside them cannot make two claims collide.
        ("a\0b", "c", "x", TimeDelta::days(1), None),
        ("a", "b\0c", "y", TimeDelta::days(1), None),
    ] {
        assert_eq!(
            store
                .claim(scope, key, value, ttl)
                .await
                .unwrap()
                .as_deref(),
            held,
            "claim {scope:?}/{key:?} = {value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stations_are_not_created_by_charger_messages() {
    let store = EmbeddedStore::temporary();
    let id = sid("ghost");
    let boot = BootInfo {
        vendor: "V".into(),
        model: "M".into(),
        serial_number: None,
        firmware_version: None,
        reason: None,
        booted_at: t(0),
        registration: Default::default(),
        recent_boots: Vec::new(),
    };
    store.record_boot(&id, &boot).await.unwrap();
    let conn = Connection {
        connection_id: "c".into(),
        station_id: id.clone(),
        org_id: OrgId::default_org(),
        site_id: None,
        ocpp_version: OcppVersion::V16,
        connected_at: t(0),
        last_seen_at: t(0),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Default::default(),
        clock: None,
        messages: 0,
        flood: None,
    };
    assert_eq!(store.open_connection(&conn, &[], &[]).await.unwrap(), None);
    assert_eq!(store.close_connection("c", t(1)).await.unwrap(), Some(conn));
    assert!(store.get_station(&id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_at_the_same_time_overwrites_and_connectors_sort_numerically() {
    let store = EmbeddedStore::temporary();
    let st = station("CP", "o", None);
    store.create_station(&st).await.unwrap();
    let status = |evse: u32, s: &str| ConnectorStatus {
        evse_id: evse,
        connector_id: 1,
        status: s.into(),
        error_code: None,
        info: None,
        updated_at: t(5),
    };
    for (evse, s) in [
        (10, "Available"),
        (2, "Available"),
        (2, "Faulted"),
        (100_000, "Available"),
    ] {
        store
            .set_connector_status(&st.org_id, &st.id, &status(evse, s))
            .await
            .unwrap();
    }
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    let got: Vec<_> = view
        .connectors
        .iter()
        .map(|c| (c.evse_id, c.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [(2, "Faulted"), (10, "Available"), (100_000, "Available")]
    );
}
