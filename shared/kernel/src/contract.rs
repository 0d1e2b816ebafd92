//! The store contract: one suite that every [`Store`] implementation must pass.
//!
//! Adapters instantiate it with [`store_contract_tests!`], giving an async
//! expression that yields a fresh, empty store. Each check is its own test so
//! failures name the broken behaviour.

use crate::ports::*;
use chrono::{TimeDelta, TimeZone, Utc};
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::api_key::{ApiKey, Scope};
use csms_domain::audit::AuditEntry;
use csms_domain::command::{
    ChargingProfile, Command, CommandId, CommandRequest, CommandStatus, ProfileKind,
    ProfilePurpose, RateUnit, SchedulePeriod,
};
use csms_domain::device_model::{
    AttributeType, AttributeValue, Characteristics, ComponentRef, DataType, DeviceModel,
    DeviceVariable, Mutability, Name, ReportPart, Unit, VariableAttribute, VariableRef,
};
use csms_domain::email_link::{EmailLink, Invitation, LinkId, LinkPurpose};
use csms_domain::event::NotificationKind;
use csms_domain::load::{
    Allocated, GridMeterConfig, GridReading, LoadBoard, LoadConfig, LoadEvse, LoadMode, LoadSite,
    LoadState, Measured, PhaseAmps, SentLimit, SentStatus,
};
use csms_domain::meter::MeterReading;
use csms_domain::pricing::{LineKind, PriceLine, PricedSession, PricingAudit, ROUNDING_RULE};
use csms_domain::rating::{Rating, RatingSummary, Stars};
use csms_domain::session::{CloseReason, InferredEnd, Session, SessionEnd, SessionUpdate};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::station::{
    Approval, BootInfo, Connection, ConnectorStatus, RegistrationStatus, Station,
};
use csms_domain::tariff::{
    AssignmentTarget, EnergyPrice, PriceComponent, Restrictions, Tariff, TariffAssignment,
    TariffElement,
};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenBlock, TokenStatus, UnregisteredToken};
use csms_domain::usage::{Revenue, UsageDay, UsageFact, UsageKey, Use};
use csms_domain::webhook::{Attempt, Delivery, DeliveryStatus, EventType, Webhook};
use csms_domain::{
    IdTokenValue, OcppVersion, OrgId, SessionId, SiteId, StationId, Timestamp, TransactionId,
};
use rust_decimal::Decimal;

fn t(secs: i64) -> Timestamp {
    Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
}

fn sid(s: &str) -> StationId {
    StationId::parse(s).unwrap()
}

pub fn station(id: &str, org: &str, site: Option<&str>) -> Station {
    Station {
        id: sid(id),
        org_id: OrgId::parse(org).unwrap(),
        site_id: site.map(|s| SiteId::parse(s).unwrap()),
        name: Some(format!("Station {id}")),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: t(0),
        boot: None,
        ocpp_version: None,
        connection_id: None,
        last_seen_at: None,
        approval: Approval::Accepted,
        previous_password: None,
        decommissioned_at: None,
        recent_connects: Vec::new(),
        recent_addresses: Vec::new(),
    }
}

pub fn token(v: &str, org: &str) -> IdTokenRecord {
    IdTokenRecord {
        user_id: None,
        token: IdTokenValue::parse(v).unwrap(),
        token_type: IdTokenType::ISO14443,
        status: TokenStatus::Accepted,
        valid_from: None,
        valid_to: Some(t(86_400)),
        org_id: OrgId::parse(org).unwrap(),
        group: Some("residents".into()),
        parent_id: None,
        emaid: None,
        payment_hold: None,
        label: None,
        block: None,
        created_at: t(0),
        updated_at: None,
        version: 1,
    }
}

fn session(station: &str, tx: &str, started: i64) -> Session {
    let mut s = Session::blank(
        &sid(station),
        OrgId::default_org(),
        None,
        &TransactionId::parse(tx).unwrap(),
        t(started),
    );
    s.apply(&SessionUpdate {
        is_start: true,
        connector_id: Some(1),
        id_token: Some("TAG".into()),
        started_at: Some(t(started)),
        meter_start_wh: Some(Decimal::from(1000)),
        ..Default::default()
    });
    s.version = 1;
    s
}

pub async fn stations_create_get_conflict<S: StationStore>(store: &S) {
    let st = station("CP-1", "default", Some("site-a"));
    store.create_station(&st).await.unwrap();
    let got = store
        .get_station(&st.id)
        .await
        .unwrap()
        .expect("stored station");
    assert_eq!(got, st);
    let err = store.create_station(&st).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "duplicate id must conflict, got {err:?}"
    );
    assert!(store.get_station(&sid("nope")).await.unwrap().is_none());
    assert!(store
        .get_station_view(&sid("nope"))
        .await
        .unwrap()
        .is_none());
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(view.station, st);
    assert!(view.connectors.is_empty());
    assert!(view.connection.is_none());
}

pub async fn stations_list_paginates_within_org<S: StationStore>(store: &S) {
    for id in ["b", "a", "c", "e", "d"] {
        store
            .create_station(&station(id, "org1", None))
            .await
            .unwrap();
    }
    store
        .create_station(&station("x", "org2", None))
        .await
        .unwrap();
    let org = OrgId::parse("org1").unwrap();
    let mut seen = vec![];
    let mut page = PageRequest::first(2);
    loop {
        let p = store.list_stations(&org, &page).await.unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|v| v.station.id.to_string()));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let bad = store
        .list_stations(
            &org,
            &PageRequest {
                limit: 2,
                cursor: Some("garbage!".into()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
}

pub async fn boot_and_connector_status_newest_wins<S: StationStore>(store: &S) {
    let st = station("CP-2", "default", None);
    store.create_station(&st).await.unwrap();
    let boot = BootInfo {
        vendor: "Acme".into(),
        model: "Wallbox 22".into(),
        serial_number: Some("SN1".into()),
        firmware_version: Some("1.2.3".into()),
        reason: Some("PowerUp".into()),
        booted_at: t(10),
        registration: RegistrationStatus::Pending,
        recent_boots: vec![t(4), t(10)],
    };
    store.record_boot(&st.id, &boot).await.unwrap();
    let status = |status: &str, at: i64| ConnectorStatus {
        evse_id: 1,
        connector_id: 1,
        status: status.into(),
        error_code: Some("NoError".into()),
        info: None,
        updated_at: t(at),
    };
    assert_eq!(
        store
            .set_connector_status(&st.org_id, &st.id, &status("Charging", 20))
            .await
            .unwrap(),
        StatusWrite::Stored { previous: None },
        "the connector's first status"
    );
    assert_eq!(
        store
            .set_connector_status(&st.org_id, &st.id, &status("Preparing", 15))
            .await
            .unwrap(),
        StatusWrite::Late,
        "a late replay is not stored"
    );
    let faulted = ConnectorStatus {
        error_code: Some("GroundFailure".into()),
        info: Some("RCD tripped".into()),
        ..status("Faulted", 25)
    };
    store
        .set_connector_status(&st.org_id, &st.id, &faulted)
        .await
        .unwrap();
    assert_eq!(
        store
            .set_connector_status(&st.org_id, &st.id, &status("Charging", 25))
            .await
            .unwrap(),
        StatusWrite::Stored {
            previous: Some(faulted)
        },
        "the status it replaced, as stored (equal times: the later write wins)"
    );
    store
        .set_connector_status(
            &st.org_id,
            &st.id,
            &ConnectorStatus {
                evse_id: 2,
                ..status("Available", 5)
            },
        )
        .await
        .unwrap();
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(view.station.boot, Some(boot));
    assert_eq!(
        view.station.password_hash, st.password_hash,
        "boot must not touch other fields"
    );
    let statuses: Vec<(u32, u32, &str)> = view
        .connectors
        .iter()
        .map(|c| (c.evse_id, c.connector_id, c.status.as_str()))
        .collect();
    assert_eq!(statuses, [(1, 1, "Charging"), (2, 1, "Available")]);
}

pub async fn connections_open_touch_close<S: StationStore + ConnectionStore>(store: &S) {
    let st = station("CP-3", "default", Some("garage"));
    store.create_station(&st).await.unwrap();
    let conn = |id: &str, at: i64| Connection {
        connection_id: id.into(),
        station_id: st.id.clone(),
        org_id: st.org_id.clone(),
        site_id: st.site_id.clone(),
        ocpp_version: OcppVersion::V16,
        connected_at: t(at),
        last_seen_at: t(at),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Approval::Accepted,
        clock: None,
        messages: 0,
        flood: None,
    };
    assert_eq!(
        store
            .open_connection(&conn("c1", 100), &[], &[])
            .await
            .unwrap(),
        None
    );
    let touched = store
        .touch_connection("c1", t(160))
        .await
        .unwrap()
        .expect("live connection");
    assert_eq!(touched.station_id, st.id);
    assert_eq!(
        touched.site_id, st.site_id,
        "the site travels with the connection"
    );
    assert_eq!(touched.last_seen_at, t(160));
    assert_eq!(
        (touched.previous_seen_at, touched.second_previous_seen_at),
        (Some(t(100)), Some(t(100))),
        "the connect's time stands in for the messages before the first"
    );
    assert_eq!(touched.clock, None, "no clock evidence yet");
    let check = csms_domain::station::ClockCheck {
        drifting: Some(true),
        tolerance_secs: Some(300),
    };
    assert!(store.set_connection_clock("c1", check).await.unwrap());
    let touched = store.touch_connection("c1", t(160)).await.unwrap().unwrap();
    assert_eq!(
        (touched.clock, touched.last_seen_at),
        (Some(check), t(160)),
        "the touch returns the rule's decision with it"
    );
    assert!(!store.set_connection_clock("unknown", check).await.unwrap());
    assert_eq!(touched.messages, 2, "each touch counts a message");
    assert_eq!(touched.flood, None);
    let flood = csms_domain::station::FloodCheck {
        window_from: t(160),
        window_base: 2,
        marks: vec![csms_domain::station::FloodMark {
            from: t(161),
            base: 3,
        }],
        flooding: Some(true),
        limit_count: Some(120),
        limit_window_secs: Some(60),
    };
    assert!(store
        .set_connection_flood("c1", flood.clone())
        .await
        .unwrap());
    let touched = store.touch_connection("c1", t(170)).await.unwrap().unwrap();
    assert_eq!(
        (touched.flood.clone(), touched.messages, touched.clock),
        (Some(flood.clone()), 3, Some(check)),
        "the touch returns the flood state and keeps counting"
    );
    assert_eq!(
        (touched.previous_seen_at, touched.second_previous_seen_at),
        (Some(t(160)), Some(t(160))),
        "and when the two messages before it came"
    );
    assert!(!store.set_connection_flood("unknown", flood).await.unwrap());
    assert!(store
        .touch_connection("unknown", t(160))
        .await
        .unwrap()
        .is_none());
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(
        view.connection.as_ref().map(|c| c.connection_id.as_str()),
        Some("c1")
    );
    assert_eq!(view.station.ocpp_version, Some(OcppVersion::V16));
    assert_eq!(view.last_seen_at(), Some(t(170)));

    // The charger reconnects before the old connection's $disconnect arrives.
    let mut c2 = conn("c2", 200);
    c2.ocpp_version = OcppVersion::V201;
    assert_eq!(
        store
            .open_connection(
                &c2,
                &[t(100), t(200)],
                &[csms_domain::station::SeenAddress {
                    address: "192.0.2.1".into(),
                    at: t(200),
                }]
            )
            .await
            .unwrap()
            .as_deref(),
        Some("c1")
    );
    assert_eq!(
        store
            .get_station(&st.id)
            .await
            .unwrap()
            .unwrap()
            .recent_connects,
        vec![t(100), t(200)],
        "the connects of the last hour, written with the connect"
    );
    assert_eq!(
        store
            .get_station(&st.id)
            .await
            .unwrap()
            .unwrap()
            .recent_addresses,
        vec![csms_domain::station::SeenAddress {
            address: "192.0.2.1".into(),
            at: t(200),
        }],
        "and where it connected from"
    );
    let closed = store.close_connection("c1", t(210)).await.unwrap();
    assert_eq!(closed.map(|c| c.connection_id), Some("c1".into()));
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(
        view.connection.map(|c| c.connection_id),
        Some("c2".into()),
        "stale close must not disconnect"
    );
    assert_eq!(view.station.ocpp_version, Some(OcppVersion::V201));

    store.touch_connection("c2", t(300)).await.unwrap();
    store.close_connection("c2", t(310)).await.unwrap();
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert!(view.connection.is_none());
    assert_eq!(view.station.connection_id, None);
    assert_eq!(
        view.station.last_seen_at,
        Some(t(300)),
        "last message time survives the disconnect"
    );
    assert!(
        store
            .close_connection("c2", t(320))
            .await
            .unwrap()
            .is_none(),
        "second close is a no-op"
    );
}

/// A close puts the station on its organisation's offline list, a connect
/// takes it off; the sweep takes it off once, and only while it is still
/// off since the time it read.
pub async fn lingering_connectors_listed_until_their_status_changes<
    S: StationStore + OfflineStore,
>(
    store: &S,
) {
    let org = OrgId::parse("org-linger").unwrap();
    let (a, b) = (
        station("CP-LING-A", "org-linger", None),
        station("CP-LING-B", "org-linger2", None),
    );
    for st in [&a, &b] {
        store.create_station(st).await.unwrap();
    }
    let status = |evse: u32, s: &str, at: i64| ConnectorStatus {
        evse_id: evse,
        connector_id: 1,
        status: s.into(),
        error_code: None,
        info: None,
        updated_at: t(at),
    };
    let due = |status: &'static str, until: i64, limit: usize| {
        let org = org.clone();
        async move {
            store
                .lingering_due(&org, status, t(until), limit)
                .await
                .unwrap()
                .into_iter()
                .map(|l| {
                    (
                        l.station_id.to_string(),
                        l.status.evse_id,
                        l.status.updated_at,
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert!(due("Preparing", 10_000, 10).await.is_empty());
    store
        .set_connector_status(&a.org_id, &a.id, &status(1, "Preparing", 100))
        .await
        .unwrap();
    store
        .set_connector_status(&a.org_id, &a.id, &status(2, "Preparing", 90))
        .await
        .unwrap();
    store
        .set_connector_status(&a.org_id, &a.id, &status(3, "Finishing", 80))
        .await
        .unwrap();
    store
        .set_connector_status(&a.org_id, &a.id, &status(4, "Charging", 70))
        .await
        .unwrap();
    store
        .set_connector_status(&b.org_id, &b.id, &status(1, "Preparing", 60))
        .await
        .unwrap();
    assert_eq!(
        due("Preparing", 10_000, 10).await,
        [
            ("CP-LING-A".to_owned(), 2, t(90)),
            ("CP-LING-A".to_owned(), 1, t(100))
        ],
        "longest first, that status and organisation only"
    );
    assert_eq!(
        due("Preparing", 95, 10).await.len(),
        1,
        "since `until` or earlier"
    );
    assert_eq!(due("Preparing", 100, 10).await.len(), 2, "`until` included");
    assert_eq!(
        due("Preparing", 10_000, 1).await.len(),
        1,
        "at most `limit`"
    );
    assert_eq!(
        due("Finishing", 10_000, 10).await,
        [("CP-LING-A".to_owned(), 3, t(80))]
    );
    assert!(due("Charging", 10_000, 10).await.is_empty(), "not listed");
    // A status contradicting a transaction is listed the same way (the
    // sweep looks for a running one).
    store
        .set_connector_status(&a.org_id, &a.id, &status(4, "Unavailable", 95))
        .await
        .unwrap();
    assert_eq!(
        due("Unavailable", 10_000, 10).await,
        [("CP-LING-A".to_owned(), 4, t(95))]
    );
    assert!(store.settle_lingering(&a.id, 4, 1, t(95)).await.unwrap());
    assert!(due("Unavailable", 10_000, 10).await.is_empty());
    let listed = store
        .lingering_due(&org, "Finishing", t(10_000), 10)
        .await
        .unwrap();
    assert_eq!(
        listed[0].status,
        status(3, "Finishing", 80),
        "the status as stored"
    );

    // A new status takes it off; a new lingering status puts it back at its time.
    store
        .set_connector_status(&a.org_id, &a.id, &status(2, "Charging", 200))
        .await
        .unwrap();
    store
        .set_connector_status(&a.org_id, &a.id, &status(3, "Preparing", 210))
        .await
        .unwrap();
    assert_eq!(
        due("Preparing", 10_000, 10).await,
        [
            ("CP-LING-A".to_owned(), 1, t(100)),
            ("CP-LING-A".to_owned(), 3, t(210))
        ]
    );
    assert!(due("Finishing", 10_000, 10).await.is_empty());

    // Settled once, at the time it is listed with.
    assert!(
        !store.settle_lingering(&a.id, 1, 1, t(99)).await.unwrap(),
        "another time"
    );
    assert!(store.settle_lingering(&a.id, 1, 1, t(100)).await.unwrap());
    assert!(
        !store.settle_lingering(&a.id, 1, 1, t(100)).await.unwrap(),
        "once"
    );
    assert!(
        !store.settle_lingering(&a.id, 4, 1, t(70)).await.unwrap(),
        "never listed"
    );
    assert_eq!(
        due("Preparing", 10_000, 10).await,
        [("CP-LING-A".to_owned(), 3, t(210))]
    );
    let view = store.get_station_view(&a.id).await.unwrap().unwrap();
    assert_eq!(view.connectors.len(), 4, "settling keeps the status");

    // A deleted station leaves nothing listed.
    store.delete_station(&a.id).await.unwrap();
    assert!(due("Preparing", 10_000, 10).await.is_empty());
}

pub async fn offline_list_left_by_a_reconnect<S: StationStore + ConnectionStore + OfflineStore>(
    store: &S,
) {
    let org = OrgId::parse("org-off").unwrap();
    let other = OrgId::parse("org-off2").unwrap();
    let conn = |st: &Station, id: &str, at: i64| Connection {
        connection_id: id.into(),
        station_id: st.id.clone(),
        org_id: st.org_id.clone(),
        site_id: st.site_id.clone(),
        ocpp_version: OcppVersion::V16,
        connected_at: t(at),
        last_seen_at: t(at),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Approval::Accepted,
        clock: None,
        messages: 0,
        flood: None,
    };
    let (a, b, c) = (
        station("CP-OFF-A", "org-off", None),
        station("CP-OFF-B", "org-off", Some("s1")),
        station("CP-OFF-C", "org-off2", None),
    );
    for st in [&a, &b, &c] {
        store.create_station(st).await.unwrap();
    }
    let due = |org: OrgId, until: i64, limit: usize| async move {
        store
            .offline_due(&org, t(until), limit)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.station.id.to_string(), o.since))
            .collect::<Vec<_>>()
    };
    assert!(due(org.clone(), 10_000, 10).await.is_empty());
    store
        .open_connection(&conn(&a, "a1", 100), &[], &[])
        .await
        .unwrap();
    store
        .open_connection(&conn(&b, "b1", 100), &[], &[])
        .await
        .unwrap();
    store
        .open_connection(&conn(&c, "c1", 100), &[], &[])
        .await
        .unwrap();
    store.touch_connection("a1", t(150)).await.unwrap();
    store.close_connection("a1", t(200)).await.unwrap();
    store.close_connection("b1", t(190)).await.unwrap();
    store.close_connection("c1", t(180)).await.unwrap();
    assert_eq!(
        due(org.clone(), 10_000, 10).await,
        [
            ("CP-OFF-B".to_owned(), t(190)),
            ("CP-OFF-A".to_owned(), t(200))
        ],
        "longest gone first, own organisation only"
    );
    assert_eq!(
        due(org.clone(), 195, 10).await.len(),
        1,
        "closed by `until`"
    );
    assert_eq!(due(org.clone(), 200, 10).await.len(), 2, "`until` included");
    assert_eq!(
        due(org.clone(), 10_000, 1).await.len(),
        1,
        "at most `limit`"
    );
    let listed = store.offline_due(&org, t(10_000), 10).await.unwrap();
    assert_eq!(
        listed[1].station.last_seen_at,
        Some(t(150)),
        "the station as stored: its last message"
    );
    assert_eq!(
        due(other.clone(), 10_000, 10).await,
        [("CP-OFF-C".to_owned(), t(180))]
    );

    // B comes back: off the list. A stale close of an old connection of a
    // station that is back changes nothing.
    store
        .open_connection(&conn(&b, "b2", 300), &[], &[])
        .await
        .unwrap();
    assert!(store
        .close_connection("b1", t(310))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        due(org.clone(), 10_000, 10).await,
        [("CP-OFF-A".to_owned(), t(200))]
    );
    // B goes again: on the list at its new close time.
    store.close_connection("b2", t(400)).await.unwrap();
    assert_eq!(
        due(org.clone(), 10_000, 10).await,
        [
            ("CP-OFF-A".to_owned(), t(200)),
            ("CP-OFF-B".to_owned(), t(400))
        ]
    );
    // The sweep takes A off, once; a stale time does not take B off.
    assert!(store.settle_offline(&a.id, t(200)).await.unwrap());
    assert!(!store.settle_offline(&a.id, t(200)).await.unwrap());
    assert!(!store.settle_offline(&b.id, t(190)).await.unwrap());
    assert_eq!(
        due(org.clone(), 10_000, 10).await,
        [("CP-OFF-B".to_owned(), t(400))]
    );
    assert!(!store
        .settle_offline(&sid("CP-NOWHERE"), t(1))
        .await
        .unwrap());
    // A deleted station leaves the list.
    store.delete_station(&c.id).await.unwrap();
    assert!(due(other, 10_000, 10).await.is_empty());
}

pub async fn station_approval_reaches_the_connection<S: StationStore + ConnectionStore>(store: &S) {
    assert_eq!(
        store
            .set_station_approval(&sid("CP-NONE"), Approval::Pending)
            .await
            .unwrap(),
        None,
        "no station, nothing created"
    );
    assert!(store.get_station(&sid("CP-NONE")).await.unwrap().is_none());
    let mut st = station("CP-APPR", "default", None);
    st.approval = Approval::Pending;
    store.create_station(&st).await.unwrap();
    assert_eq!(
        store.get_station(&st.id).await.unwrap().unwrap().approval,
        Approval::Pending
    );
    // Not connected: only the station changes.
    let changed = store
        .set_station_approval(&st.id, Approval::Rejected)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(changed.approval, Approval::Rejected);
    assert_eq!(
        changed.password_hash, st.password_hash,
        "nothing else changes"
    );
    let conn = Connection {
        connection_id: "c-appr".into(),
        station_id: st.id.clone(),
        org_id: st.org_id.clone(),
        site_id: None,
        ocpp_version: OcppVersion::V201,
        connected_at: t(100),
        last_seen_at: t(100),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Approval::Rejected,
        clock: None,
        messages: 0,
        flood: None,
    };
    store.open_connection(&conn, &[], &[]).await.unwrap();
    let changed = store
        .set_station_approval(&st.id, Approval::Accepted)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(changed.approval, Approval::Accepted);
    assert_eq!(changed.connection_id.as_deref(), Some("c-appr"));
    let touched = store
        .touch_connection("c-appr", t(110))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(
        touched.approval,
        Approval::Accepted,
        "the next message is checked against the new approval"
    );
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(view.station.approval, Approval::Accepted);
    assert_eq!(
        view.connection.map(|c| c.approval),
        Some(Approval::Accepted)
    );
    // A closed connection is not brought back.
    store.close_connection("c-appr", t(120)).await.unwrap();
    store
        .set_station_approval(&st.id, Approval::Pending)
        .await
        .unwrap();
    assert!(store
        .touch_connection("c-appr", t(130))
        .await
        .unwrap()
        .is_none());
}

pub async fn id_tokens_case_insensitive<S: TokenStore>(store: &S) {
    store
        .create_id_token(&token("04aBcD", "default"))
        .await
        .unwrap();
    let err = store
        .create_id_token(&token("04ABCD", "default"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    let got = store
        .get_id_token(&IdTokenValue::parse("04abcd").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, token("04aBcD", "default"));
    assert!(store
        .get_id_token(&IdTokenValue::parse("other").unwrap())
        .await
        .unwrap()
        .is_none());
    for v in ["t3", "t1", "t2"] {
        store.create_id_token(&token(v, "org9")).await.unwrap();
    }
    let org = OrgId::parse("org9").unwrap();
    let org = &org;
    let (all, pages) = read_all(2, |p| async move { store.list_id_tokens(org, &p).await }).await;
    let all: Vec<String> = all.iter().map(|t| t.token.to_string()).collect();
    assert_eq!(all, ["t1", "t2", "t3"]);
    assert_eq!(pages, 2, "no empty page after the last one");
}

// --- LaddID life cycle (issue 17.3) ---

pub async fn id_tokens_versioned_update_and_delete<S: TokenStore>(store: &S) {
    let first = token("04LIFE", "org7");
    store.create_id_token(&first).await.unwrap();
    let mut changed = first.clone();
    changed.status = TokenStatus::Blocked;
    changed.valid_from = Some(t(10));
    changed.parent_id = Some(IdTokenValue::parse("FLEET").unwrap());
    changed.emaid = Some("SE-ABC-C12345678-X".into());
    changed.label = Some("Anna".into());
    changed.block = Some(TokenBlock {
        reason: "lost".into(),
        by: "admin".into(),
        at: t(5),
        unblocked_at: None,
        unblocked_by: None,
    });
    changed.updated_at = Some(t(5));
    changed.version = 2;
    store.put_id_token(&changed, 1).await.unwrap();
    let got = store.get_id_token(&first.token).await.unwrap();
    assert_eq!(got.as_ref(), Some(&changed));
    // A stale version, and a token that does not exist, are conflicts.
    assert!(matches!(
        store.put_id_token(&changed, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.put_id_token(&token("04NONE", "org7"), 1).await,
        Err(StoreError::Conflict(_))
    ));
    // Still listed once, with its new fields.
    let org = OrgId::parse("org7").unwrap();
    let listed = store
        .list_id_tokens(&org, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![changed.clone()]);
    // Delete: gone from reads and from the listing; a second delete finds nothing.
    let gone = store.delete_id_token(&first.token).await.unwrap();
    assert_eq!(gone, Some(changed));
    assert_eq!(store.get_id_token(&first.token).await.unwrap(), None);
    let listed = store
        .list_id_tokens(&org, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    assert_eq!(store.delete_id_token(&first.token).await.unwrap(), None);
    // The value can be registered again.
    store.create_id_token(&first).await.unwrap();
}

/// A person's identifiers (of every organisation) and the sessions they
/// started are listed for that person only; a changed or removed holder
/// moves the token's listing with it; a session keeps the person it was
/// started by.
pub async fn held_tokens_and_sessions_listed_per_person<S: TokenStore + SessionStore>(store: &S) {
    let anna = csms_domain::user::UserId::generate();
    let bo = csms_domain::user::UserId::generate();
    let mut cards = vec![];
    for (v, org) in [
        ("04HELD2", "org8"),
        ("04HELD1", "org9"),
        ("04HELD3", "org8"),
    ] {
        let mut tk = token(v, org);
        tk.user_id = Some(anna.clone());
        store.create_id_token(&tk).await.unwrap();
        cards.push(tk);
    }
    let mut bos = token("04BOS", "org8");
    bos.user_id = Some(bo.clone());
    store.register_unregistered(&bos).await.unwrap();
    store
        .create_id_token(&token("04NOBODY", "org8"))
        .await
        .unwrap();
    let values = |p: Page<IdTokenRecord>| -> Vec<String> {
        p.items
            .iter()
            .map(|t| t.token.as_str().to_owned())
            .collect()
    };
    let first = store
        .list_user_id_tokens(&anna, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(values(first.clone()), vec!["04HELD1", "04HELD2"]);
    let rest = store
        .list_user_id_tokens(
            &anna,
            &PageRequest {
                limit: 2,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(values(rest), vec!["04HELD3"]);
    assert_eq!(
        values(
            store
                .list_user_id_tokens(&bo, &PageRequest::first(10))
                .await
                .unwrap()
        ),
        vec!["04BOS"]
    );
    // A card handed to Bo leaves Anna's list; a removed one leaves it too.
    let mut handed = cards[0].clone();
    handed.user_id = Some(bo.clone());
    handed.version = 2;
    store.put_id_token(&handed, 1).await.unwrap();
    store.delete_id_token(&cards[2].token).await.unwrap();
    assert_eq!(
        values(
            store
                .list_user_id_tokens(&anna, &PageRequest::first(10))
                .await
                .unwrap()
        ),
        vec!["04HELD1"]
    );
    assert_eq!(
        values(
            store
                .list_user_id_tokens(&bo, &PageRequest::first(10))
                .await
                .unwrap()
        ),
        vec!["04BOS", "04HELD2"]
    );
    // Sessions: Anna's two, newest first, across stations; Bo's none.
    for (station, tx, at, user) in [
        ("CP-U1", "71", 100, Some(&anna)),
        ("CP-U2", "72", 300, Some(&anna)),
        ("CP-U1", "73", 200, None),
    ] {
        let mut s = session(station, tx, at);
        s.user_id = user.cloned();
        store.put_session(&s, 0).await.unwrap();
    }
    let hers = store
        .list_user_sessions(&anna, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(hers.items.len(), 1);
    assert_eq!(hers.items[0].transaction_id, "72");
    assert_eq!(hers.items[0].user_id.as_ref(), Some(&anna));
    let older = store
        .list_user_sessions(
            &anna,
            &PageRequest {
                limit: 1,
                cursor: hers.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(older.items.len(), 1);
    assert_eq!(older.items[0].transaction_id, "71");
    assert!(
        older.next_cursor.is_none() || {
            let empty = store
                .list_user_sessions(
                    &anna,
                    &PageRequest {
                        limit: 1,
                        cursor: older.next_cursor.clone(),
                    },
                )
                .await
                .unwrap();
            empty.items.is_empty()
        }
    );
    // An update (the session ends) keeps it listed once.
    let mut ended = hers.items[0].clone();
    ended.stop_reason = Some("Local".into());
    ended.version = 2;
    store.put_session(&ended, 1).await.unwrap();
    let all = store
        .list_user_sessions(&anna, &PageRequest::first(10))
        .await
        .unwrap();
    let txs: Vec<&str> = all
        .items
        .iter()
        .map(|s| s.transaction_id.as_str())
        .collect();
    assert_eq!(txs, vec!["72", "71"]);
    assert!(store
        .list_user_sessions(&bo, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
}

fn rating(
    session: &str,
    org: &str,
    station: &str,
    site: Option<&str>,
    stars: u8,
    at: i64,
) -> Rating {
    Rating {
        session_id: SessionId::parse(session).unwrap(),
        org_id: OrgId::parse(org).unwrap(),
        station_id: sid(station),
        site_id: site.map(|s| SiteId::parse(s).unwrap()),
        user_id: csms_domain::user::UserId::generate(),
        stars: Stars::new(stars).unwrap(),
        comment: Some("ok".into()),
        created_at: t(at),
        updated_at: t(at),
        version: 1,
    }
}

/// A rating is written once per session and changed by version; the sums of
/// its station and site move with it, per organisation; a station's
/// ratings are listed newest first, paged.
pub async fn ratings_versioned_listed_and_summed<S: RatingStore>(store: &S) {
    let first = rating("CP-R~1", "org-r", "CP-R", Some("garage"), 5, 100);
    store.put_rating(&first, None).await.unwrap();
    // Twice "new" is a conflict, and nothing moves.
    assert!(matches!(
        store.put_rating(&first, None).await,
        Err(StoreError::Conflict(_))
    ));
    let second = rating("CP-R~2", "org-r", "CP-R", Some("garage"), 2, 200);
    store.put_rating(&second, None).await.unwrap();
    let elsewhere = rating("CP-S~1", "org-r", "CP-S", Some("garage"), 4, 300);
    store.put_rating(&elsewhere, None).await.unwrap();
    // Another organisation's station of the same id and site of the same id.
    let theirs = rating("CP-R~9", "org-q", "CP-R", Some("garage"), 1, 400);
    store.put_rating(&theirs, None).await.unwrap();

    let org = OrgId::parse("org-r").unwrap();
    let station = sid("CP-R");
    let garage = SiteId::parse("garage").unwrap();
    let summary = |s: RatingSummary| (s.count, s.sum);
    assert_eq!(
        summary(
            store
                .rating_summary(&org, RatedPlace::Station(&station))
                .await
                .unwrap()
        ),
        (2, 7)
    );
    assert_eq!(
        summary(
            store
                .rating_summary(&org, RatedPlace::Site(&garage))
                .await
                .unwrap()
        ),
        (3, 11)
    );
    // A change moves the sums by the difference, once.
    let mut changed = first.clone();
    changed.stars = Stars::new(3).unwrap();
    changed.comment = None;
    changed.version = 2;
    changed.updated_at = t(500);
    store.put_rating(&changed, Some(&first)).await.unwrap();
    assert!(matches!(
        store.put_rating(&changed, Some(&first)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_rating(&first.session_id).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        summary(
            store
                .rating_summary(&org, RatedPlace::Station(&station))
                .await
                .unwrap()
        ),
        (2, 5)
    );
    assert_eq!(
        summary(
            store
                .rating_summary(&org, RatedPlace::Site(&garage))
                .await
                .unwrap()
        ),
        (3, 9)
    );
    assert_eq!(
        summary(
            store
                .rating_summary(
                    &OrgId::parse("org-q").unwrap(),
                    RatedPlace::Station(&station)
                )
                .await
                .unwrap()
        ),
        (1, 1)
    );
    assert_eq!(
        summary(
            store
                .rating_summary(&org, RatedPlace::Station(&sid("CP-NONE")))
                .await
                .unwrap()
        ),
        (0, 0)
    );
    // Newest first by when first rated (a change keeps its place), paged.
    let page = store
        .list_station_ratings(&org, &station, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items, vec![second.clone()]);
    let rest = store
        .list_station_ratings(
            &org,
            &station,
            &PageRequest {
                limit: 5,
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items, vec![changed]);
    assert!(rest.next_cursor.is_none());
    assert_eq!(
        store
            .get_rating(&SessionId::parse("CP-R~3").unwrap())
            .await
            .unwrap(),
        None
    );
}

fn seen(org: &str, v: &str, station: &str, at: i64) -> UnregisteredToken {
    UnregisteredToken {
        org_id: OrgId::parse(org).unwrap(),
        token: IdTokenValue::parse(v).unwrap(),
        token_type: None,
        station_id: sid(station),
        first_seen: t(at),
        last_seen: t(at),
        count: 1,
    }
}

pub async fn unregistered_tokens_bounded_listed_and_registered<S: TokenStore>(store: &S) {
    let org = OrgId::parse("org8").unwrap();
    store
        .note_unregistered(&seen("org8", "04seen", "CP-1", 0))
        .await
        .unwrap();
    // Within a minute: not written (the station stays CP-1, count 1).
    store
        .note_unregistered(&seen("org8", "04SEEN", "CP-2", 59))
        .await
        .unwrap();
    let v = IdTokenValue::parse("04Seen").unwrap();
    let got = store.get_unregistered(&org, &v).await.unwrap().unwrap();
    assert_eq!(got, seen("org8", "04seen", "CP-1", 0));
    // A minute later: updated, first seen kept, counted.
    let mut later = seen("org8", "04SEEN", "CP-2", 60);
    later.token_type = Some(IdTokenType::ISO15693);
    store.note_unregistered(&later).await.unwrap();
    let got = store.get_unregistered(&org, &v).await.unwrap().unwrap();
    assert_eq!(
        (
            got.station_id.as_str(),
            got.first_seen,
            got.last_seen,
            got.count,
            got.token_type
        ),
        ("CP-2", t(0), t(60), 2, Some(IdTokenType::ISO15693))
    );
    // Per organisation.
    let other = OrgId::parse("org8b").unwrap();
    assert_eq!(store.get_unregistered(&other, &v).await.unwrap(), None);
    store
        .note_unregistered(&seen("org8b", "04seen", "CP-9", 0))
        .await
        .unwrap();
    for v in ["04c", "04a", "04b"] {
        store
            .note_unregistered(&seen("org8", v, "CP-1", 0))
            .await
            .unwrap();
    }
    let org_ref = &org;
    let (all, pages) = read_all(
        2,
        |p| async move { store.list_unregistered(org_ref, &p).await },
    )
    .await;
    assert_eq!(
        ids_of(&all, |u| u.token.as_str()),
        ["04a", "04b", "04c", "04SEEN"]
    );
    assert_eq!(pages, 2);
    // Registering creates the token and takes it off the list, in one go.
    let mut reg = token("04seen", "org8");
    reg.token_type = IdTokenType::ISO15693;
    store.register_unregistered(&reg).await.unwrap();
    assert_eq!(store.get_id_token(&v).await.unwrap(), Some(reg.clone()));
    assert_eq!(store.get_unregistered(&org, &v).await.unwrap(), None);
    // The other organisation's sighting stays.
    assert!(store.get_unregistered(&other, &v).await.unwrap().is_some());
    // Registered already: a conflict, and nothing changes.
    store
        .note_unregistered(&seen("org8", "04a", "CP-1", 200))
        .await
        .unwrap();
    let mut again = token("04SEEN", "org8");
    again.label = Some("x".into());
    assert!(matches!(
        store.register_unregistered(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_id_token(&v).await.unwrap(), Some(reg));
}

pub async fn transaction_ids_unique_and_increasing<S: SessionStore>(store: &S) {
    let mut last = 0;
    for _ in 0..5 {
        let id = store.next_transaction_id().await.unwrap();
        assert!(id > last, "ids must increase: {id} after {last}");
        last = id;
    }
    let many = futures_join_all((0..20).map(|_| store.next_transaction_id())).await;
    let mut ids: Vec<i64> = many.into_iter().map(Result::unwrap).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "concurrent allocations must not repeat");
    assert!(ids[0] > last);
}

pub async fn sessions_are_versioned<S: SessionStore>(store: &S) {
    let s = session("CP-4", "17", 0);
    store.put_session(&s, 0).await.unwrap();
    assert_eq!(store.get_session(&s.id).await.unwrap(), Some(s.clone()));
    let err = store.put_session(&s, 0).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "creating twice must conflict"
    );
    let mut s2 = s.clone();
    s2.id_token = Some("OTHER".into());
    // Closed by the CSMS, then corrected by the charger with a late reading:
    // every lifecycle field must come back as written.
    s2.apply(&SessionUpdate {
        inferred_end: Some(InferredEnd {
            at: t(600),
            reason: CloseReason::StationRebooted,
        }),
        ..Default::default()
    });
    s2.apply(&SessionUpdate {
        end: Some(SessionEnd {
            ended_at: t(300),
            reason: Some("Local".into()),
            meter_stop_wh: Some(Decimal::from(1500)),
        }),
        registers: vec![(t(900), Decimal::from(1600))],
        ..Default::default()
    });
    assert!(s2.late_readings && s2.charger_ended && s2.inferred_end.is_some());
    s2.version = 2;
    store.put_session(&s2, 1).await.unwrap();
    let mut stale = s.clone();
    stale.version = 2;
    assert!(matches!(
        store.put_session(&stale, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_session(&s.id).await.unwrap(), Some(s2));
    assert!(store
        .get_session(&SessionId::parse("CP-4~nope").unwrap())
        .await
        .unwrap()
        .is_none());
}

pub async fn sessions_list_by_station_and_time<S: SessionStore>(store: &S) {
    for (st, tx, at) in [
        ("A", "1", 10),
        ("A", "2", 20),
        ("B", "3", 30),
        ("A", "4", 40),
        ("A", "5", 50),
    ] {
        store.put_session(&session(st, tx, at), 0).await.unwrap();
    }
    let q = |station: Option<&str>,
             from: Option<i64>,
             to: Option<i64>,
             limit: u32,
             cursor: Option<String>| {
        SessionQuery {
            org_id: OrgId::default_org(),
            station_id: station.map(sid),
            from: from.map(t),
            to: to.map(t),
            page: PageRequest { limit, cursor },
        }
    };
    let txs = |p: &Page<Session>| {
        p.items
            .iter()
            .map(|s| s.transaction_id.clone())
            .collect::<Vec<_>>()
    };
    let all = store
        .list_sessions(&q(None, None, None, 50, None))
        .await
        .unwrap();
    assert_eq!(txs(&all), ["5", "4", "3", "2", "1"], "newest first");
    let a = store
        .list_sessions(&q(Some("A"), Some(20), Some(50), 50, None))
        .await
        .unwrap();
    assert_eq!(txs(&a), ["4", "2"], "from inclusive, to exclusive");
    let p1 = store
        .list_sessions(&q(Some("A"), None, None, 3, None))
        .await
        .unwrap();
    assert_eq!(txs(&p1), ["5", "4", "2"]);
    let p2 = store
        .list_sessions(&q(Some("A"), None, None, 3, p1.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(txs(&p2), ["1"]);
    assert!(p2.next_cursor.is_none());

    // An update that moves the start time moves the session in the listings.
    let mut s = store
        .get_session(&SessionId::parse("A~5").unwrap())
        .await
        .unwrap()
        .unwrap();
    s.started_at = Some(t(5));
    s.version += 1;
    store.put_session(&s, s.version - 1).await.unwrap();
    let all = store
        .list_sessions(&q(Some("A"), None, None, 50, None))
        .await
        .unwrap();
    assert_eq!(txs(&all), ["4", "2", "1", "5"]);
}

fn reading(at: i64, measurand: &str, value: i64, unit: &str) -> MeterReading {
    MeterReading {
        timestamp: t(at),
        measurand: measurand.into(),
        phase: None,
        location: None,
        context: Some("Sample.Periodic".into()),
        value: Decimal::from(value),
        unit: unit.into(),
    }
}

pub async fn meter_readings_idempotent_and_ordered<S: SessionStore>(store: &S) {
    let target = MeterTarget::Session(SessionId::parse("CP-5~9").unwrap());
    let batch1 = vec![
        reading(60, "Energy.Active.Import.Register", 2000, "Wh"),
        reading(60, "Power.Active.Import", 7000, "W"),
    ];
    let batch0 = vec![reading(0, "Energy.Active.Import.Register", 1000, "Wh")];
    store.put_meter_readings(&target, &batch1).await.unwrap();
    store.put_meter_readings(&target, &batch0).await.unwrap();
    store.put_meter_readings(&target, &batch1).await.unwrap();
    let got = store.list_meter_readings(&target).await.unwrap();
    assert_eq!(got.len(), 3, "a resent reading is stored once: {got:?}");
    assert_eq!(got[0], batch0[0]);
    assert!(got[1..].contains(&batch1[0]) && got[1..].contains(&batch1[1]));
    // More than one DynamoDB batch (25 items) worth of readings.
    let many: Vec<MeterReading> = (0..60)
        .map(|i| reading(1000 + i, "Current.Import", i, "A"))
        .collect();
    let st = MeterTarget::Station(sid("CP-5"));
    store.put_meter_readings(&st, &many).await.unwrap();
    assert_eq!(store.list_meter_readings(&st).await.unwrap(), many);
    assert_eq!(
        store.list_meter_readings(&target).await.unwrap().len(),
        3,
        "targets are separate"
    );
    store.put_meter_readings(&st, &[]).await.unwrap();
}

pub async fn idempotency_keys_claim_once<S: IdempotencyStore>(store: &S) {
    let ttl = TimeDelta::days(2);
    assert_eq!(store.claim("start", "k1", "v1", ttl).await.unwrap(), None);
    assert_eq!(
        store
            .claim("start", "k1", "v2", ttl)
            .await
            .unwrap()
            .as_deref(),
        Some("v1")
    );
    assert_eq!(
        store.claim("other", "k1", "v3", ttl).await.unwrap(),
        None,
        "scopes are separate"
    );
}

/// An operator's change writes what it names and nothing else; a move
/// re-files the station under its new site in the organisation's list and
/// moves the live connection; a delete removes the station and its
/// connector statuses.
pub async fn stations_change_move_and_delete<S: StationStore + ConnectionStore>(store: &S) {
    use csms_domain::station::{PasswordChange, PreviousPassword, StationChange};
    let none = StationChange {
        name: Some(None),
        ..Default::default()
    };
    assert_eq!(
        store.update_station(&sid("CP-NONE"), &none).await.unwrap(),
        None
    );
    assert!(store.get_station(&sid("CP-NONE")).await.unwrap().is_none());

    let st = station("CP-LIFE", "org-life", Some("site-a"));
    store.create_station(&st).await.unwrap();
    store
        .create_station(&station("CP-LIFE2", "org-life", Some("site-b")))
        .await
        .unwrap();
    let conn = Connection {
        connection_id: "c-life".into(),
        station_id: st.id.clone(),
        org_id: st.org_id.clone(),
        site_id: st.site_id.clone(),
        ocpp_version: OcppVersion::V16,
        connected_at: t(100),
        last_seen_at: t(100),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Approval::Accepted,
        clock: None,
        messages: 0,
        flood: None,
    };
    store.open_connection(&conn, &[], &[]).await.unwrap();
    store
        .set_connector_status(
            &st.org_id,
            &st.id,
            &ConnectorStatus {
                evse_id: 1,
                connector_id: 1,
                status: "Available".into(),
                error_code: None,
                info: None,
                updated_at: t(101),
            },
        )
        .await
        .unwrap();

    let rename = StationChange {
        name: Some(Some("Bay 7".into())),
        ..Default::default()
    };
    let renamed = store
        .update_station(&st.id, &rename)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Bay 7"));
    assert_eq!(renamed.password_hash, st.password_hash, "nothing else");
    assert_eq!(
        renamed.connection_id.as_deref(),
        Some("c-life"),
        "connection kept"
    );

    let rotate = StationChange {
        password: Some(PasswordChange {
            hash: Some("$argon2id$new".into()),
            previous: Some(PreviousPassword {
                hash: st.password_hash.clone().unwrap(),
                valid_until: t(500),
            }),
        }),
        decommissioned_at: Some(Some(t(200))),
        ..Default::default()
    };
    store
        .update_station(&st.id, &rotate)
        .await
        .unwrap()
        .unwrap();
    let read = store.get_station(&st.id).await.unwrap().unwrap();
    assert_eq!(
        read.name.as_deref(),
        Some("Bay 7"),
        "the earlier change stays"
    );
    assert_eq!(read.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(
        read.previous_password.as_ref().map(|p| p.valid_until),
        Some(t(500))
    );
    assert_eq!(read.decommissioned_at, Some(t(200)));
    let back = StationChange {
        name: Some(None),
        decommissioned_at: Some(None),
        ..Default::default()
    };
    store.update_station(&st.id, &back).await.unwrap().unwrap();
    let read = store.get_station(&st.id).await.unwrap().unwrap();
    assert_eq!((read.name, read.decommissioned_at), (None, None), "removed");
    assert!(read.previous_password.is_some(), "untouched");

    // Moved from site-a to site-c: listed after site-b's station now.
    let org = OrgId::parse("org-life").unwrap();
    let order =
        |p: Page<csms_domain::station::StationView>| ids_of(&p.items, |v| v.station.id.as_str());
    let page = store
        .list_stations(&org, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(order(page), ["CP-LIFE", "CP-LIFE2"]);
    let to_c = StationChange {
        site_id: Some(Some(SiteId::parse("site-c").unwrap())),
        ..Default::default()
    };
    let moved = store.update_station(&st.id, &to_c).await.unwrap().unwrap();
    assert_eq!(moved.site_id.as_ref().map(SiteId::as_str), Some("site-c"));
    let page = store
        .list_stations(&org, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        order(page),
        ["CP-LIFE2", "CP-LIFE"],
        "filed under its new site"
    );
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert_eq!(
        view.connection
            .and_then(|c| c.site_id)
            .as_ref()
            .map(SiteId::as_str),
        Some("site-c"),
        "sessions started from now on are of the new site"
    );

    store.delete_station(&st.id).await.unwrap();
    assert!(store.get_station(&st.id).await.unwrap().is_none());
    assert!(store.get_station_view(&st.id).await.unwrap().is_none());
    let page = store
        .list_stations(&org, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(order(page), ["CP-LIFE2"]);
    store.delete_station(&st.id).await.unwrap();
    // Registered again under the same id: no connector of the old one.
    store
        .create_station(&station("CP-LIFE", "org-life", None))
        .await
        .unwrap();
    let view = store.get_station_view(&st.id).await.unwrap().unwrap();
    assert!(view.connectors.is_empty(), "{:?}", view.connectors);
}

pub async fn station_events_newest_first<S: StationStore>(store: &S) {
    let id = sid("CP-6");
    for i in 0..5 {
        store
            .append_station_event(&StationEvent {
                station_id: id.clone(),
                at: t(i),
                entry: StationLogEntry::Notification {
                    kind: NotificationKind::FirmwareStatus,
                    message: serde_json::json!({"status": format!("s{i}")}),
                },
            })
            .await
            .unwrap();
    }
    let p1 = store
        .list_station_events(&id, &PageRequest::first(3))
        .await
        .unwrap();
    let kinds: Vec<i64> = p1
        .items
        .iter()
        .map(|e| e.at.timestamp() - 1_790_000_000)
        .collect();
    assert_eq!(kinds, [4, 3, 2]);
    let p2 = store
        .list_station_events(
            &id,
            &PageRequest {
                limit: 3,
                cursor: p1.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 2);
    assert!(store
        .list_station_events(&sid("other"), &PageRequest::first(3))
        .await
        .unwrap()
        .items
        .is_empty());
}

fn command(id: &str, station: &str, created: i64) -> Command {
    Command {
        id: CommandId::parse(id).unwrap(),
        station_id: sid(station),
        org_id: OrgId::default_org(),
        request: CommandRequest::RemoteStart {
            id_token: "TAG-1".into(),
            token_type: Some("ISO14443".into()),
            evse_id: Some(1),
            charging_profile: Some(ChargingProfile {
                id: 3,
                stack_level: 1,
                purpose: ProfilePurpose::TxProfile,
                kind: ProfileKind::Relative,
                recurrency: None,
                valid_from: Some(t(created)),
                valid_to: None,
                transaction_id: None,
                start_schedule: None,
                duration_s: Some(3600),
                rate_unit: RateUnit::A,
                periods: vec![SchedulePeriod {
                    start_period_s: 0,
                    limit: Decimal::new(1605, 2),
                    number_phases: Some(3),
                }],
                min_charging_rate: None,
            }),
        },
        status: CommandStatus::Pending,
        created_at: t(created),
        sent_at: None,
        completed_at: None,
        timeout_s: 30,
        action: None,
        response: None,
        error: None,
        progress: vec![],
        version: 1,
    }
}

/// ULIDs in increasing order, as `CommandId::new` makes them over time.
const CMD: [&str; 5] = [
    "01JDX3N6Q8Z4V7T2K9R5M1B0C1",
    "01JDX3N6Q8Z4V7T2K9R5M1B0C2",
    "01JDX3N6Q8Z4V7T2K9R5M1B0C3",
    "01JDX3N6Q8Z4V7T2K9R5M1B0C4",
    "01JDX3N6Q8Z4V7T2K9R5M1B0C5",
];

pub async fn commands_create_get_put<S: CommandStore>(store: &S) {
    let c = command(CMD[0], "CP-C1", 0);
    store.create_command(&c).await.unwrap();
    assert_eq!(
        store.get_command(&c.id).await.unwrap(),
        Some(c.clone()),
        "round trip, decimals and all"
    );
    assert!(matches!(
        store.create_command(&c).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .get_command(&CommandId::parse(CMD[4]).unwrap())
            .await
            .unwrap(),
        None
    );

    let mut sent = c.clone();
    sent.sent_at = Some(t(1));
    sent.action = Some("RemoteStartTransaction".into());
    sent.version = 2;
    assert!(
        matches!(
            store.put_command(&sent, 5).await,
            Err(StoreError::Conflict(_))
        ),
        "a stale version loses"
    );
    store.put_command(&sent, 1).await.unwrap();
    assert_eq!(store.get_command(&c.id).await.unwrap(), Some(sent.clone()));
    assert!(matches!(
        store.put_command(&sent, 1).await,
        Err(StoreError::Conflict(_))
    ));
    let mut unknown = command(CMD[3], "CP-C1", 0);
    unknown.version = 2;
    assert!(matches!(
        store.put_command(&unknown, 1).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn commands_queue_per_station<S: CommandStore>(store: &S) {
    // Created out of order on purpose: the queue orders by id.
    for (id, st) in [
        (CMD[2], "CP-Q1"),
        (CMD[0], "CP-Q1"),
        (CMD[1], "CP-Q2"),
        (CMD[3], "CP-Q1"),
    ] {
        store.create_command(&command(id, st, 0)).await.unwrap();
    }
    let ids = |v: Vec<Command>| v.into_iter().map(|c| c.id.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ids(store.pending_commands(&sid("CP-Q1")).await.unwrap()),
        [CMD[0], CMD[2], CMD[3]]
    );
    assert_eq!(
        ids(store.pending_commands(&sid("CP-Q2")).await.unwrap()),
        [CMD[1]]
    );
    assert!(store
        .pending_commands(&sid("CP-Q3"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store.all_pending_commands(10).await.unwrap()),
        [CMD[0], CMD[1], CMD[2], CMD[3]]
    );
    assert_eq!(
        ids(store.all_pending_commands(2).await.unwrap()),
        [CMD[0], CMD[1]]
    );

    // Sent but unanswered: still pending, still queued, with its new state.
    let mut first = store
        .get_command(&CommandId::parse(CMD[0]).unwrap())
        .await
        .unwrap()
        .unwrap();
    first.sent_at = Some(t(5));
    first.version = 2;
    store.put_command(&first, 1).await.unwrap();
    let queue = store.pending_commands(&sid("CP-Q1")).await.unwrap();
    assert_eq!(queue[0], first, "the queue shows the latest state");

    // Answered: leaves the queue, stays readable.
    let mut done = first.clone();
    done.status = CommandStatus::Accepted;
    done.completed_at = Some(t(6));
    done.response = Some(serde_json::json!({"status": "Accepted"}));
    done.version = 3;
    store.put_command(&done, 2).await.unwrap();
    assert_eq!(
        ids(store.pending_commands(&sid("CP-Q1")).await.unwrap()),
        [CMD[2], CMD[3]]
    );
    assert_eq!(
        ids(store.all_pending_commands(10).await.unwrap()),
        [CMD[1], CMD[2], CMD[3]]
    );
    assert_eq!(store.get_command(&done.id).await.unwrap(), Some(done));

    // Born final (an offline station): never queued.
    let mut offline = command(CMD[4], "CP-Q2", 0);
    offline.status = CommandStatus::Offline;
    store.create_command(&offline).await.unwrap();
    assert_eq!(
        ids(store.pending_commands(&sid("CP-Q2")).await.unwrap()),
        [CMD[1]]
    );
}

pub async fn commands_history_newest_first<S: CommandStore>(store: &S) {
    for id in CMD {
        store.create_command(&command(id, "CP-H", 0)).await.unwrap();
    }
    store
        .create_command(&command("01JDX3N6Q8Z4V7T2K9R5M1B0D9", "CP-OTHER", 0))
        .await
        .unwrap();
    let station = &sid("CP-H");
    let (commands, pages) = read_all(2, |p| async move {
        store.list_station_commands(station, &p).await
    })
    .await;
    let seen: Vec<String> = commands.iter().map(|c| c.id.to_string()).collect();
    let expected: Vec<String> = CMD.iter().rev().map(|s| s.to_string()).collect();
    assert_eq!(
        seen, expected,
        "newest first, no gaps or repeats, no other station"
    );
    assert_eq!(pages, 3);
    assert!(store
        .list_station_commands(&sid("CP-NONE"), &PageRequest::first(5))
        .await
        .unwrap()
        .items
        .is_empty());
}

fn api_key(id: &str, org: &str) -> ApiKey {
    ApiKey {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        name: format!("key {id}"),
        scopes: vec![Scope::Read, Scope::Commands],
        secret_hash: "ab".repeat(32),
        created_at: t(0),
        revoked_at: None,
        version: 1,
    }
}

pub async fn api_keys_create_revoke_list<S: ApiKeyStore>(store: &S) {
    let k = api_key(CMD[0], "default");
    store.create_api_key(&k).await.unwrap();
    assert!(matches!(
        store.create_api_key(&k).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_api_key(CMD[0]).await.unwrap(), Some(k.clone()));
    assert_eq!(store.get_api_key(CMD[4]).await.unwrap(), None);

    let mut revoked = k.clone();
    revoked.revoked_at = Some(t(10));
    revoked.version = 2;
    assert!(matches!(
        store.put_api_key(&revoked, 7).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_api_key(&revoked, 1).await.unwrap();
    assert_eq!(store.get_api_key(CMD[0]).await.unwrap(), Some(revoked));

    for id in [CMD[2], CMD[1]] {
        store.create_api_key(&api_key(id, "default")).await.unwrap();
    }
    store
        .create_api_key(&api_key(CMD[3], "other-org"))
        .await
        .unwrap();
    let org = &OrgId::default_org();
    let (keys, pages) = read_all(2, |p| async move { store.list_api_keys(org, &p).await }).await;
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(
        (ids.as_slice(), pages),
        ([CMD[0], CMD[1], CMD[2]].as_slice(), 2),
        "oldest first, own organisation only"
    );
}

/// A listing read to its end `limit` items at a time: every item in the
/// order the pages gave them, and how many pages it took (a listing answers
/// no empty page after its last one, which callers check through the count).
/// No page holds more than `limit`, and no cursor leads to an empty page.
async fn read_all<T, F, Fut>(limit: u32, mut list: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None);
    loop {
        let asked_more = cursor.is_some();
        let page = list(PageRequest { limit, cursor }).await.unwrap();
        assert!(page.items.len() <= limit as usize, "a page over its limit");
        assert!(
            !page.items.is_empty() || !asked_more,
            "a cursor led to an empty page"
        );
        pages += 1;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) if pages < 100 => cursor = Some(next),
            Some(_) => panic!("a listing that does not end"),
            None => return (items, pages),
        }
    }
}

/// Join without pulling in `futures` just for this.
async fn futures_join_all<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = fs.map(Box::pin).collect();
    // Poll all futures together so a store with real I/O sees them concurrently.
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().map(|o| o.expect("all ready")));
    out
}

fn webhook(id: &str, org: &str) -> Webhook {
    Webhook {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        url: "https://hooks.example.com/csms".into(),
        events: vec![EventType::SessionStarted, EventType::SessionEnded],
        description: Some("billing".into()),
        secret: "whsec_test".into(),
        created_by: None,
        created_at: t(0),
        deleted_at: None,
        failing_since: None,
        version: 1,
    }
}

pub async fn webhooks_create_delete_list<S: WebhookStore>(store: &S) {
    let h = webhook(CMD[0], "default");
    store.create_webhook(&h).await.unwrap();
    assert!(matches!(
        store.create_webhook(&h).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_webhook(CMD[0]).await.unwrap(), Some(h.clone()));
    assert_eq!(store.get_webhook(CMD[4]).await.unwrap(), None);
    for id in [CMD[2], CMD[1]] {
        store.create_webhook(&webhook(id, "default")).await.unwrap();
    }
    store
        .create_webhook(&webhook(CMD[3], "other-org"))
        .await
        .unwrap();

    let mut deleted = h.clone();
    deleted.deleted_at = Some(t(10));
    deleted.version = 2;
    assert!(matches!(
        store.put_webhook(&deleted, 5).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_webhook(&deleted, 1).await.unwrap();
    assert_eq!(
        store.get_webhook(CMD[0]).await.unwrap(),
        Some(deleted),
        "a deleted webhook stays readable"
    );
    let org = &OrgId::default_org();
    let (hooks, pages) = read_all(1, |p| async move { store.list_webhooks(org, &p).await }).await;
    let ids: Vec<&str> = hooks.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        (ids.as_slice(), pages),
        ([CMD[1], CMD[2]].as_slice(), 2),
        "live ones of the organisation, oldest first"
    );
}

fn delivery(id: &str, webhook_id: &str) -> Delivery {
    Delivery {
        id: id.into(),
        webhook_id: webhook_id.into(),
        org_id: OrgId::default_org(),
        event_id: "01JEVENT0000000000000000000".into(),
        event_type: EventType::SessionStarted,
        body: r#"{"id":"x","data":{"energyWh":1.5}}"#.into(),
        status: DeliveryStatus::Pending,
        attempts: vec![],
        next_attempt_at: Some(t(0)),
        created_at: t(0),
        version: 1,
    }
}

pub async fn deliveries_history_and_queue<S: WebhookStore>(store: &S) {
    for id in [CMD[0], CMD[1], CMD[2]] {
        store
            .create_delivery(&delivery(id, "hook-a"))
            .await
            .unwrap();
    }
    store
        .create_delivery(&delivery(CMD[3], "hook-b"))
        .await
        .unwrap();
    assert!(matches!(
        store.create_delivery(&delivery(CMD[0], "hook-a")).await,
        Err(StoreError::Conflict(_))
    ));
    let pending: Vec<String> = store
        .pending_deliveries(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(pending, [CMD[0], CMD[1], CMD[2], CMD[3]], "oldest first");

    let mut done = store.get_delivery(CMD[1]).await.unwrap().unwrap();
    done.attempts.push(Attempt {
        at: t(1),
        status_code: Some(204),
        response_body: None,
        error: None,
        duration_ms: 12,
    });
    done.status = DeliveryStatus::Succeeded;
    done.next_attempt_at = None;
    done.version = 2;
    assert!(matches!(
        store.put_delivery(&done, 2).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_delivery(&done, 1).await.unwrap();
    assert_eq!(store.get_delivery(CMD[1]).await.unwrap(), Some(done));
    let pending: Vec<String> = store
        .pending_deliveries(2)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        pending,
        [CMD[0], CMD[2]],
        "a settled delivery leaves the queue"
    );

    let (deliveries, pages) = read_all(
        2,
        |p| async move { store.list_deliveries("hook-a", &p).await },
    )
    .await;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        (ids.as_slice(), pages),
        ([CMD[2], CMD[1], CMD[0]].as_slice(), 2),
        "newest first, one webhook only"
    );
}

// ---- pricing: tariffs, assignments, spot days, alarms, priced sessions ----

fn tariff(id: &str, org: &str, version: u64, per_kwh: i64) -> Tariff {
    Tariff {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        name: format!("{id} v{version}"),
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![TariffElement {
            components: vec![
                PriceComponent::Energy {
                    price: EnergyPrice::Fixed {
                        // Two decimals: the scale must survive the store.
                        per_kwh: Decimal::new(per_kwh, 2),
                    },
                },
                PriceComponent::SessionFee {
                    price: Decimal::new(500, 2),
                },
            ],
            restrictions: Restrictions::default(),
        }],
        min_price: None,
        max_price: Some(Decimal::new(50_000, 2)),
        version,
        effective_at: t(version as i64 * 100),
        created_at: t(0),
        deleted_at: None,
    }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_owned()).collect()
}

pub async fn tariffs_versions_and_listing<S: TariffStore>(store: &S) {
    let v1 = tariff("trf-a", "default", 1, 350);
    store.put_tariff(&v1, 0).await.unwrap();
    assert!(
        matches!(store.put_tariff(&v1, 0).await, Err(StoreError::Conflict(_))),
        "expected version 0 means: must not exist yet"
    );
    let v2 = tariff("trf-a", "default", 2, 425);
    for stale in [0, 2, 7] {
        assert!(
            matches!(
                store.put_tariff(&v2, stale).await,
                Err(StoreError::Conflict(_))
            ),
            "latest is 1, not {stale}"
        );
    }
    assert_eq!(store.get_tariff("trf-a").await.unwrap(), Some(v1.clone()));
    store.put_tariff(&v2, 1).await.unwrap();
    assert!(
        matches!(
            store.put_tariff(&tariff("trf-a", "default", 3, 1), 1).await,
            Err(StoreError::Conflict(_))
        ),
        "version 1 is no longer the latest"
    );
    assert_eq!(store.get_tariff("trf-a").await.unwrap(), Some(v2.clone()));
    assert_eq!(
        store.tariff_versions("trf-a").await.unwrap(),
        [v1.clone(), v2.clone()],
        "every version kept, oldest first"
    );
    assert_eq!(store.get_tariff("trf-nope").await.unwrap(), None);
    assert!(store.tariff_versions("trf-nope").await.unwrap().is_empty());

    // Ten versions: numeric, not lexicographic, order.
    let mut latest = 0;
    for v in 1..=10 {
        store
            .put_tariff(&tariff("trf-many", "other-org", v, v as i64), latest)
            .await
            .unwrap();
        latest = v;
    }
    let versions: Vec<u64> = store
        .tariff_versions("trf-many")
        .await
        .unwrap()
        .iter()
        .map(|t| t.version)
        .collect();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        store
            .get_tariff("trf-many")
            .await
            .unwrap()
            .map(|t| t.version),
        Some(10)
    );

    for id in ["trf-d", "trf-c", "trf-b", "trf-e"] {
        store
            .put_tariff(&tariff(id, "default", 1, 300), 0)
            .await
            .unwrap();
    }
    let deleted = Tariff {
        version: 2,
        deleted_at: Some(t(500)),
        ..tariff("trf-d", "default", 1, 300)
    };
    store.put_tariff(&deleted, 1).await.unwrap();
    assert_eq!(
        store.get_tariff("trf-d").await.unwrap(),
        Some(deleted.clone()),
        "a deleted tariff stays readable"
    );
    assert_eq!(store.tariff_versions("trf-d").await.unwrap().len(), 2);

    let org = OrgId::default_org();
    let (seen, pages) = {
        let org = &org;
        read_all(2, |p| async move { store.list_tariffs(org, &p).await }).await
    };
    assert_eq!(
        ids(&seen, |t| &t.id),
        ["trf-a", "trf-b", "trf-c", "trf-e"],
        "own organisation, not deleted, by id"
    );
    assert_eq!(pages, 2, "no empty page after the last one");
    assert_eq!(seen[0], v2, "the latest version is listed");

    let first = store
        .list_tariffs(&org, &PageRequest::first(1))
        .await
        .unwrap();
    let foreign = store
        .list_tariffs(
            &OrgId::parse("other-org").unwrap(),
            &PageRequest {
                limit: 1,
                cursor: first.next_cursor.clone(),
            },
        )
        .await;
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "another organisation's cursor: {foreign:?}"
    );
    let garbage = store
        .list_tariffs(
            &org,
            &PageRequest {
                limit: 1,
                cursor: Some("garbage!".into()),
            },
        )
        .await;
    assert!(
        matches!(garbage, Err(StoreError::InvalidCursor)),
        "{garbage:?}"
    );
}

fn assignment(id: &str, org: &str, target: AssignmentTarget, created: i64) -> TariffAssignment {
    TariffAssignment {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        tariff_id: format!("trf-{id}"),
        target,
        group: Some("residents".into()),
        created_at: t(created),
    }
}

pub async fn tariff_assignments<S: TariffStore>(store: &S) {
    let b = assignment(
        "as-b",
        "default",
        AssignmentTarget::Station(sid("CP-1")),
        10,
    );
    let a = assignment(
        "as-a",
        "default",
        AssignmentTarget::Site(SiteId::parse("brf").unwrap()),
        10,
    );
    let c = TariffAssignment {
        group: None,
        ..assignment("as-c", "default", AssignmentTarget::Organisation, 5)
    };
    for x in [&b, &a, &c] {
        store.create_assignment(x).await.unwrap();
    }
    store
        .create_assignment(&assignment(
            "as-x",
            "other-org",
            AssignmentTarget::Organisation,
            1,
        ))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_assignment(&assignment(
                "as-a",
                "default",
                AssignmentTarget::Organisation,
                99
            ))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_assignment("as-a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.get_assignment("as-c").await.unwrap(), Some(c.clone()));
    assert_eq!(store.get_assignment("as-nope").await.unwrap(), None);

    let org = OrgId::default_org();
    assert_eq!(
        store.list_assignments(&org).await.unwrap(),
        [c.clone(), a.clone(), b.clone()],
        "own organisation, oldest first, then by id"
    );

    assert!(store.delete_assignment("as-a").await.unwrap());
    assert!(
        !store.delete_assignment("as-a").await.unwrap(),
        "already gone"
    );
    assert!(!store.delete_assignment("as-nope").await.unwrap());
    assert_eq!(store.get_assignment("as-a").await.unwrap(), None);
    assert_eq!(
        store.list_assignments(&org).await.unwrap(),
        [c.clone(), b.clone()]
    );
    // The id is free again.
    store.create_assignment(&a).await.unwrap();
    assert_eq!(
        ids(&store.list_assignments(&org).await.unwrap(), |a| &a.id),
        ["as-c", "as-a", "as-b"]
    );
    assert!(store
        .list_assignments(&OrgId::parse("empty-org").unwrap())
        .await
        .unwrap()
        .is_empty());
}

fn spot_day(zone: &str, date: &str, source: SpotSource, base: i64) -> SpotDay {
    let zone = BiddingZone::parse(zone).unwrap();
    let date: chrono::NaiveDate = date.parse().unwrap();
    let start = zone.day_start(date);
    let slots = (0..zone.day_length(date).num_minutes() / 15)
        .map(|i| SpotSlot {
            start: start + TimeDelta::minutes(15 * i),
            end: start + TimeDelta::minutes(15 * (i + 1)),
            // Negative prices happen; four decimals are what sources give.
            price: Decimal::new(base + i * 37 - 900, 4),
        })
        .collect();
    SpotDay {
        zone,
        date,
        currency: zone.currency().into(),
        resolution_minutes: 15,
        slots,
        source,
        fetched_at: t(base),
    }
}

pub async fn spot_days_replace<S: SpotPriceStore>(store: &S) {
    let se3 = BiddingZone::parse("SE3").unwrap();
    let se4 = BiddingZone::parse("SE4").unwrap();
    let dst: chrono::NaiveDate = "2026-10-25".parse().unwrap();
    let fallback = spot_day(
        "SE3",
        "2026-10-25",
        SpotSource::Fallback {
            rule: "previous day".into(),
        },
        1,
    );
    assert_eq!(fallback.slots.len(), 100, "a 25-hour day");
    fallback.validate().unwrap();
    assert_eq!(store.get_spot_day(se3, dst).await.unwrap(), None);
    store.put_spot_day(&fallback).await.unwrap();
    assert_eq!(
        store.get_spot_day(se3, dst).await.unwrap(),
        Some(fallback.clone())
    );
    store.put_spot_day(&fallback).await.unwrap();
    assert_eq!(
        store.get_spot_day(se3, dst).await.unwrap(),
        Some(fallback.clone()),
        "the same day written twice is the same day"
    );

    let real = spot_day("SE3", "2026-10-25", SpotSource::Entsoe, 5000);
    store.put_spot_day(&real).await.unwrap();
    assert_eq!(
        store.get_spot_day(se3, dst).await.unwrap(),
        Some(real.clone()),
        "a later fetch replaces the day"
    );

    let other_zone = spot_day("SE4", "2026-10-25", SpotSource::Elprisetjustnu, 7);
    let next_day = spot_day("SE3", "2026-10-26", SpotSource::Manual, 9);
    store.put_spot_day(&other_zone).await.unwrap();
    store.put_spot_day(&next_day).await.unwrap();
    assert_eq!(store.get_spot_day(se3, dst).await.unwrap(), Some(real));
    assert_eq!(
        store.get_spot_day(se4, dst).await.unwrap(),
        Some(other_zone)
    );
    assert_eq!(
        store
            .get_spot_day(se3, dst.succ_opt().unwrap())
            .await
            .unwrap(),
        Some(next_day)
    );
    assert_eq!(
        store
            .get_spot_day(se4, dst.pred_opt().unwrap())
            .await
            .unwrap(),
        None
    );
}

fn alarm(id: &str, org: &str, raised: i64) -> Alarm {
    Alarm {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        kind: "spotPricesMissing".into(),
        severity: Severity::Critical,
        title: Some(format!("Alarm {id}")),
        message: format!("{id} raised at {raised}"),
        details: serde_json::json!({ "zone": "SE3", "date": "2026-11-24" }),
        raised_at: t(raised),
        action: Some("look at it".into()),
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// Every alarm of `org` through pages of `limit`, checking that no page is
/// empty and the last one has no cursor.
async fn all_alarms<S: AlarmStore>(
    store: &S,
    org: &str,
    active_only: bool,
    limit: u32,
) -> Vec<String> {
    let org = &OrgId::parse(org).unwrap();
    let (alarms, _) = read_all(limit, |p| async move {
        store.list_alarms(org, active_only, &p).await
    })
    .await;
    alarms.into_iter().map(|a| a.id).collect()
}

pub async fn alarms_handled_by_hand<S: AlarmStore>(store: &S) {
    let id = "station-offline:CP-H";
    assert!(store.raise_alarm(&alarm(id, "org-h", 5)).await.unwrap());
    let mut a = store.get_alarm(id).await.unwrap().unwrap();
    let v = a.version;
    a.acknowledge("key-1", t(6)).unwrap();
    a.version = v + 1;
    store.put_alarm(&a, v).await.unwrap();
    assert_eq!(store.get_alarm(id).await.unwrap().as_ref(), Some(&a));
    // A writer holding the old version loses.
    assert!(matches!(
        store.put_alarm(&a, v).await,
        Err(StoreError::Conflict(_))
    ));
    // Still active: listed as such; acknowledged is not resolved.
    assert_eq!(all_alarms(store, "org-h", true, 10).await, [id]);
    a.resolve_by_hand("admin", Some("breaker reset"), t(7))
        .unwrap();
    a.version = v + 2;
    store.put_alarm(&a, v + 1).await.unwrap();
    let stored = store.get_alarm(id).await.unwrap().unwrap();
    assert_eq!(stored, a);
    assert!(!stored.is_active());
    assert!(all_alarms(store, "org-h", true, 10).await.is_empty());
    assert_eq!(all_alarms(store, "org-h", false, 10).await, [id]);
    // The condition clearing later changes nothing: it is resolved.
    assert!(store.resolve_alarm(id, t(8)).await.unwrap().is_none());
    // Raised again: a fresh alarm, nobody has done anything about it yet.
    assert!(store.raise_alarm(&alarm(id, "org-h", 9)).await.unwrap());
    let again = store.get_alarm(id).await.unwrap().unwrap();
    assert!(again.is_active());
    assert_eq!(again.handling, Default::default());
    // An alarm nobody raised cannot be put.
    let mut ghost = alarm("nobody-raised-this", "org-h", 1);
    ghost.version = 2;
    assert!(matches!(
        store.put_alarm(&ghost, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store
        .get_alarm("nobody-raised-this")
        .await
        .unwrap()
        .is_none());
}

pub async fn alarm_settings_versioned_per_org<S: AlarmSettingsStore>(store: &S) {
    use csms_domain::alarm::{AlarmSettings, OfflineGrace};
    let org = OrgId::parse("org-as").unwrap();
    assert_eq!(store.get_alarm_settings(&org).await.unwrap(), None);
    let mut s = AlarmSettings {
        org_id: org.clone(),
        offline_grace: OfflineGrace::from_secs(900).unwrap(),
        flapping: csms_domain::alarm::Churn::new(4, 600).unwrap(),
        boot_loop: csms_domain::alarm::Churn::BOOT_LOOP,
        lingering: csms_domain::alarm::Lingering::new(10, 240).unwrap(),
        thresholds: csms_domain::alarm::Thresholds {
            clock_drift: csms_domain::alarm::Thresholds::CLOCK_DRIFT
                .threshold(90)
                .unwrap(),
            ..csms_domain::alarm::Thresholds::DEFAULT
        },
        message_flood: csms_domain::alarm::Limit::MESSAGE_FLOOD
            .limit(300, 60)
            .unwrap(),
        many_addresses: csms_domain::alarm::Limit::MANY_ADDRESSES.default,
        profile_ignored: csms_domain::alarm::ProfileTolerance::new(20, 2, 300).unwrap(),
        command_timeouts: csms_domain::alarm::InARow::new(5).unwrap(),
        quiet_hours: Some(
            csms_domain::alarm::QuietHours::new(
                chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                chrono::NaiveTime::from_hms_opt(6, 30, 0).unwrap(),
                csms_domain::alarm::AlarmSettings::DIGEST_TZ,
            )
            .unwrap(),
        ),
        digest_warnings: true,
        digest_through: Some(t(3)),
        recipients: vec![csms_domain::alarm::AlarmRecipient {
            email: csms_domain::tenant::Email::parse("jour@example.se").unwrap(),
            min_severity: Severity::Critical,
            language: csms_domain::tenant::Language::Sv,
        }],
        updated_at: Some(t(5)),
        version: 1,
    };
    assert!(
        matches!(
            store.put_alarm_settings(&s, 1).await,
            Err(StoreError::Conflict(_))
        ),
        "nothing stored is version 0"
    );
    store.put_alarm_settings(&s, 0).await.unwrap();
    assert_eq!(
        store.get_alarm_settings(&org).await.unwrap().as_ref(),
        Some(&s)
    );
    assert!(
        matches!(
            store.put_alarm_settings(&s, 0).await,
            Err(StoreError::Conflict(_))
        ),
        "a second first write loses"
    );
    s.offline_grace = OfflineGrace::from_secs(120).unwrap();
    s.version = 2;
    store.put_alarm_settings(&s, 1).await.unwrap();
    assert_eq!(
        store.get_alarm_settings(&org).await.unwrap(),
        Some(s.clone())
    );
    assert!(matches!(
        store.put_alarm_settings(&s, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .get_alarm_settings(&OrgId::parse("org-as2").unwrap())
            .await
            .unwrap(),
        None,
        "per organisation"
    );
}

pub async fn alarms_raise_resolve<S: AlarmStore>(store: &S) {
    let id = "spot-missing:SE3:2026-11-24";
    let first = alarm(id, "default", 10);
    assert!(store.raise_alarm(&first).await.unwrap());
    assert_eq!(store.get_alarm(id).await.unwrap(), Some(first.clone()));
    let mut again = alarm(id, "default", 20);
    again.details = serde_json::json!({"zone": "SE3", "sources": ["elprisetjustnu: 404"]});
    again.message = "still missing".into();
    assert!(
        !store.raise_alarm(&again).await.unwrap(),
        "already active: a repeat, not a new alarm"
    );
    let repeated = store.get_alarm(id).await.unwrap().unwrap();
    assert_eq!(
        repeated,
        first.repeated(&again),
        "a repeat counts, keeps the raise time and takes the latest evidence"
    );
    assert_eq!(
        (repeated.occurrences, repeated.last_seen_at),
        (2, Some(t(20)))
    );
    assert_eq!(all_alarms(store, "default", true, 10).await, [id]);
    let first = repeated;

    assert!(store.resolve_alarm(id, t(30)).await.unwrap().is_some());
    let resolved = store.get_alarm(id).await.unwrap().unwrap();
    assert_eq!(resolved.resolved_at, Some(t(30)));
    assert_eq!(resolved.raised_at, t(10));
    assert!(
        resolved.version > first.version,
        "resolving is a new version"
    );
    assert!(
        store.resolve_alarm(id, t(31)).await.unwrap().is_none(),
        "already resolved"
    );
    assert_eq!(
        store.get_alarm(id).await.unwrap().unwrap().resolved_at,
        Some(t(30))
    );
    assert!(store
        .resolve_alarm("no-such-alarm", t(31))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.get_alarm("no-such-alarm").await.unwrap(), None);

    let again = alarm(id, "default", 40);
    assert!(
        store.raise_alarm(&again).await.unwrap(),
        "a resolved alarm is raised again"
    );
    let raised = store.get_alarm(id).await.unwrap().unwrap();
    assert_eq!(raised.raised_at, t(40));
    assert_eq!(raised.resolved_at, None);
    assert_eq!(raised.message, again.message);
    assert!(
        raised.version > resolved.version,
        "raising again is a new version: {} after {}",
        raised.version,
        resolved.version
    );

    for (other, at) in [("a-15", 15), ("a-25", 25), ("a-35", 35)] {
        assert!(store
            .raise_alarm(&alarm(other, "default", at))
            .await
            .unwrap());
    }
    assert!(store.resolve_alarm("a-25", t(36)).await.unwrap().is_some());
    assert!(store
        .raise_alarm(&alarm("o-50", "other-org", 50))
        .await
        .unwrap());

    assert_eq!(
        all_alarms(store, "default", false, 2).await,
        [id, "a-35", "a-25", "a-15"],
        "newest raised first, resolved ones included, own organisation"
    );
    assert_eq!(
        all_alarms(store, "default", true, 2).await,
        [id, "a-35", "a-15"],
        "active only"
    );
    assert_eq!(all_alarms(store, "default", true, 1).await.len(), 3);
    assert_eq!(all_alarms(store, "other-org", false, 10).await, ["o-50"]);

    // Resolving moves an alarm out of the active listing, raising back in.
    assert!(store.resolve_alarm(id, t(60)).await.unwrap().is_some());
    assert_eq!(
        all_alarms(store, "default", true, 10).await,
        ["a-35", "a-15"]
    );
    assert_eq!(all_alarms(store, "default", false, 10).await.len(), 4);

    let bad = store
        .list_alarms(
            &OrgId::default_org(),
            false,
            &PageRequest {
                limit: 2,
                cursor: Some("garbage!".into()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
}

fn priced(session: &SessionId, revision: u32, net: i64) -> PricedSession {
    let net = Decimal::new(net, 2);
    let vat = (net * Decimal::new(25, 2)).round_dp(2);
    PricedSession {
        session_id: session.clone(),
        station_id: sid("CP-1"),
        org_id: OrgId::default_org(),
        revision,
        tariff_id: "trf-a".into(),
        tariff_version: 2,
        tariff_name: "Standard".into(),
        tariff_reason: vec!["station CP-1, everyone".into()],
        id_token: Some("TAG".into()),
        group: None,
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        started_at: t(0),
        ended_at: t(3_600),
        charging_ended_at: t(3_000),
        energy_wh: Decimal::new(10_500, 0),
        lines: vec![PriceLine {
            kind: LineKind::Energy,
            start: t(0),
            end: t(3_000),
            quantity: Decimal::new(10_500, 3),
            unit: "kWh".into(),
            unit_price: Decimal::new(35_125, 4),
            net,
            element: Some(0),
            spot_price: Some(Decimal::new(-125, 4)),
        }],
        net,
        vat,
        gross: net + vat,
        rounding: ROUNDING_RULE.into(),
        warnings: vec![],
        priced_at: t(4_000 + i64::from(revision)),
        audit: PricingAudit {
            reason: if revision == 1 {
                "session completed".into()
            } else {
                format!("repricing {revision}")
            },
            requested_by: (revision > 1).then(|| "key-1".into()),
        },
    }
}

pub async fn priced_sessions_revisions<S: PricedSessionStore>(store: &S) {
    let id = SessionId::try_new(&sid("CP-1"), "42").unwrap();
    let other = SessionId::try_new(&sid("CP-1"), "43").unwrap();
    assert_eq!(store.get_priced_session(&id).await.unwrap(), None);
    assert!(store.priced_revisions(&id).await.unwrap().is_empty());

    let r1 = priced(&id, 1, 3688);
    store.put_priced_session(&r1).await.unwrap();
    assert!(
        matches!(
            store.put_priced_session(&priced(&id, 1, 9999)).await,
            Err(StoreError::Conflict(_))
        ),
        "a revision is written once"
    );
    assert_eq!(
        store.get_priced_session(&id).await.unwrap(),
        Some(r1.clone()),
        "the first write stands"
    );

    let r2 = priced(&id, 2, 3500);
    let r10 = priced(&id, 10, 3400);
    store.put_priced_session(&r10).await.unwrap();
    store.put_priced_session(&r2).await.unwrap();
    assert_eq!(
        store.get_priced_session(&id).await.unwrap(),
        Some(r10.clone()),
        "the highest revision, by number"
    );
    assert_eq!(
        store.priced_revisions(&id).await.unwrap(),
        [r1, r2, r10],
        "oldest first"
    );
    assert_eq!(store.get_priced_session(&other).await.unwrap(), None);
    assert!(store.priced_revisions(&other).await.unwrap().is_empty());
}

// ---- load balancing: site configurations and the balancer's state ----

/// Amperes in tenths: `amps(65)` is 6.5 A.
fn amps(tenths: i64) -> Decimal {
    Decimal::new(tenths, 1)
}

fn site_id(s: &str) -> SiteId {
    SiteId::parse(s).unwrap()
}

fn load_site(site: &str, org: &str, version: u64) -> LoadSite {
    LoadSite {
        site_id: site_id(site),
        org_id: OrgId::parse(org).unwrap(),
        config: LoadConfig {
            grid_fuse_a: PhaseAmps {
                l1: amps(630),
                l2: amps(630),
                l3: amps(500),
            },
            mode: LoadMode::TrueDynamic,
            margin_a: amps(25),
            headroom_a: amps(20),
            settle_seconds: 60,
            // Differs per version, so a replaced configuration is told apart.
            power_cap_w: Some(30_000 + version as u32),
            voltage: 230,
            rotation_seconds: 900,
            boards: vec![
                LoadBoard {
                    id: "garage".into(),
                    parent: None,
                    fuse_a: PhaseAmps::uniform(amps(350)),
                },
                LoadBoard {
                    id: "garage-b".into(),
                    parent: Some("garage".into()),
                    fuse_a: PhaseAmps {
                        l1: amps(160),
                        l2: amps(160),
                        l3: amps(100),
                    },
                },
            ],
            meter: Some(GridMeterConfig {
                station_id: Some(sid("METER-1")),
                stale_after_seconds: 90,
                fallback_a: amps(65),
            }),
            evses: vec![
                LoadEvse {
                    station_id: sid("CP-1"),
                    evse_id: 1,
                    board: Some("garage-b".into()),
                    phases: 3,
                    rotation: csms_energy::Rotation::L2L3L1,
                    max_a: amps(160),
                    min_a: amps(60),
                    priority: 5,
                    pv_surplus: true,
                    phase_switching: true,
                },
                LoadEvse {
                    station_id: sid("CP-2"),
                    evse_id: 2,
                    board: None,
                    phases: 1,
                    rotation: csms_energy::Rotation::default(),
                    max_a: amps(320),
                    min_a: amps(65),
                    priority: 0,
                    pv_surplus: false,
                    phase_switching: false,
                },
            ],
            group_priorities: [("staff".to_owned(), 7)].into(),
            pv: csms_domain::load::PvConfig {
                hysteresis_w: 250,
                min_switch_seconds: 600,
            },
            bidding_zone: Some("SE3".into()),
        },
        updated_at: t(version as i64 * 10),
        version,
    }
}

fn load_state(site: &str, version: u64) -> LoadState {
    let mut st = LoadState::new(site_id(site));
    st.requested_at = Some(t(100 + version as i64));
    st.computed_at = Some(t(101));
    st.config_version = 2;
    st.grid = Some(GridReading {
        at: t(95),
        current_a: PhaseAmps {
            l1: amps(412),
            l2: amps(388),
            l3: amps(65),
        },
    });
    st.building_load_a = Some(PhaseAmps::uniform(amps(105)));
    st.warnings = vec![format!("grid meter reading is {version}0 s old")];
    st.lease = Some(csms_domain::load::RecomputeLease {
        holder: "01JRUN".into(),
        until: t(160),
    });
    st.version = version;
    let cp1 = st.evse_mut(&sid("CP-1"), 1);
    cp1.transaction_id = Some("tx-42".into());
    cp1.charge = Some(csms_energy::ChargeState::Running(csms_energy::Timestamp(
        1_790_000_050,
    )));
    cp1.measured = Some(Measured {
        at: t(96),
        current_a: PhaseAmps {
            l1: amps(159),
            l2: amps(158),
            l3: amps(0),
        },
    });
    cp1.soc = Some(amps(475));
    cp1.allocation = Some(Allocated {
        current_a: amps(65),
        phases: 3,
        reason: csms_energy::Reason::FairShare {
            limit: csms_energy::Limit::Fuse {
                node: csms_energy::Node::Grid,
                phase: csms_energy::Phase::L2,
            },
        },
        explanation: "fair share of grid connection L2 limit".into(),
    });
    cp1.profile = Some(SentLimit {
        limit_a: amps(65),
        phases: 3,
        transaction_id: Some("tx-42".into()),
        command_id: "01JZ8Q6Y3V6QK1M2N3P4R5S6T7".into(),
        status: SentStatus::Accepted,
        sent_at: t(102),
        before: None,
    });
    let cp2 = st.evse_mut(&sid("CP-2"), 2);
    cp2.charge = Some(csms_energy::ChargeState::Paused(csms_energy::Timestamp(
        1_790_000_070,
    )));
    cp2.default_profile = Some(SentLimit {
        limit_a: amps(60),
        phases: 1,
        transaction_id: None,
        command_id: "01JZ8Q6Y3V6QK1M2N3P4R5S6T8".into(),
        status: SentStatus::Failed,
        sent_at: t(103),
        before: Some(csms_domain::load::HeldLimit {
            limit_a: amps(160),
            phases: 3,
        }),
    });
    cp2.pv = Some(csms_energy::PvState {
        phases: csms_energy::Phases::One,
        last_switch: Some(csms_energy::Timestamp(1_790_000_060)),
    });
    st
}

/// Every configured site through pages of `limit`, checking that no page is
/// empty or too long and the last one has no cursor. Returns the pages.
async fn load_site_pages<S: LoadStore>(store: &S, limit: u32) -> Vec<Vec<String>> {
    let mut pages = vec![];
    let mut page = PageRequest::first(limit);
    loop {
        let p = store.list_load_sites(&page).await.unwrap();
        assert!(p.items.len() <= limit as usize);
        assert!(
            !p.items.is_empty() || page.cursor.is_none(),
            "a cursor led to an empty page"
        );
        pages.push(ids(&p.items, |s| s.site_id.as_str()));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return pages,
        }
    }
}

pub async fn load_sites_versioned_and_listed<S: TariffStore + LoadStore>(store: &S) {
    let a = site_id("site-a");
    assert_eq!(store.get_load_site(&a).await.unwrap(), None);
    let v1 = load_site("site-a", "default", 1);
    store.put_load_site(&v1, 0).await.unwrap();
    assert_eq!(
        store.get_load_site(&a).await.unwrap(),
        Some(v1.clone()),
        "stored whole: boards, meter, EVSEs, decimals"
    );
    assert!(
        matches!(
            store.put_load_site(&v1, 0).await,
            Err(StoreError::Conflict(_))
        ),
        "expected version 0 means: must not exist yet"
    );
    let v2 = LoadSite {
        config: LoadConfig {
            mode: LoadMode::Static,
            meter: None,
            grid_fuse_a: PhaseAmps::uniform(amps(65)),
            ..v1.config.clone()
        },
        ..load_site("site-a", "default", 2)
    };
    for stale in [2, 7] {
        assert!(
            matches!(
                store.put_load_site(&v2, stale).await,
                Err(StoreError::Conflict(_))
            ),
            "stored is 1, not {stale}"
        );
    }
    assert_eq!(store.get_load_site(&a).await.unwrap(), Some(v1.clone()));
    store.put_load_site(&v2, 1).await.unwrap();
    assert_eq!(
        store.get_load_site(&a).await.unwrap(),
        Some(v2.clone()),
        "the right version replaces"
    );
    assert!(
        matches!(
            store
                .put_load_site(&load_site("site-a", "default", 3), 1)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "version 1 is no longer stored"
    );
    assert!(
        matches!(
            store
                .put_load_site(&load_site("site-nope", "default", 2), 1)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a version of nothing"
    );
    assert_eq!(
        store.get_load_site(&site_id("site-nope")).await.unwrap(),
        None
    );

    // Every organisation's sites, by site id whatever the write order.
    for (site, org) in [
        ("site-d", "other-org"),
        ("site-b", "default"),
        ("site-e", "third-org"),
        ("site-c", "other-org"),
    ] {
        store
            .put_load_site(&load_site(site, org, 1), 0)
            .await
            .unwrap();
    }
    let pages = load_site_pages(store, 2).await;
    assert_eq!(
        pages,
        [
            vec!["site-a", "site-b"],
            vec!["site-c", "site-d"],
            vec!["site-e"]
        ],
        "no duplicates, no gaps, no empty page after the last one"
    );
    assert_eq!(
        load_site_pages(store, 5).await,
        [vec!["site-a", "site-b", "site-c", "site-d", "site-e"]]
    );
    let all = store
        .list_load_sites(&PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(all.next_cursor, None);
    assert_eq!(all.items[0], v2, "the stored configuration is listed");
    assert_eq!(all.items[3], load_site("site-d", "other-org", 1));

    let garbage = store
        .list_load_sites(&PageRequest {
            limit: 2,
            cursor: Some("garbage!".into()),
        })
        .await;
    assert!(
        matches!(garbage, Err(StoreError::InvalidCursor)),
        "{garbage:?}"
    );
    // A cursor of another listing is not one of this.
    let tariffs_cursor = {
        for id in ["trf-a", "trf-b"] {
            store
                .put_tariff(&tariff(id, "default", 1, 300), 0)
                .await
                .unwrap();
        }
        store
            .list_tariffs(&OrgId::default_org(), &PageRequest::first(1))
            .await
            .unwrap()
            .next_cursor
    };
    let foreign = store
        .list_load_sites(&PageRequest {
            limit: 2,
            cursor: tariffs_cursor,
        })
        .await;
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "{foreign:?}"
    );
}

pub async fn load_states_versioned_and_deleted_with_site<S: LoadStore>(store: &S) {
    let a = site_id("site-a");
    let b = site_id("site-b");
    for site in ["site-a", "site-b"] {
        store
            .put_load_site(&load_site(site, "default", 1), 0)
            .await
            .unwrap();
    }
    assert_eq!(store.get_load_state(&a).await.unwrap(), None);

    let s1 = load_state("site-a", 1);
    store.put_load_state(&s1, 0).await.unwrap();
    assert_eq!(
        store.get_load_state(&a).await.unwrap(),
        Some(s1.clone()),
        "stored whole: charge states, reasons, profiles, decimals"
    );
    assert_eq!(
        store.get_load_site(&a).await.unwrap(),
        Some(load_site("site-a", "default", 1)),
        "the state is versioned apart from the configuration"
    );
    assert!(
        matches!(
            store.put_load_state(&s1, 0).await,
            Err(StoreError::Conflict(_))
        ),
        "expected version 0 means: must not exist yet"
    );
    let s2 = load_state("site-a", 2);
    for stale in [0, 2, 9] {
        assert!(
            matches!(
                store.put_load_state(&s2, stale).await,
                Err(StoreError::Conflict(_))
            ),
            "stored is 1, not {stale}"
        );
    }
    assert_eq!(store.get_load_state(&a).await.unwrap(), Some(s1.clone()));
    store.put_load_state(&s2, 1).await.unwrap();
    assert_eq!(store.get_load_state(&a).await.unwrap(), Some(s2.clone()));
    assert!(matches!(
        store.put_load_state(&load_state("site-b", 2), 1).await,
        Err(StoreError::Conflict(_))
    ));
    let b1 = load_state("site-b", 1);
    store.put_load_state(&b1, 0).await.unwrap();
    // A configuration write leaves the state alone, and the other way round.
    store
        .put_load_site(&load_site("site-a", "default", 2), 1)
        .await
        .unwrap();
    assert_eq!(store.get_load_state(&a).await.unwrap(), Some(s2.clone()));

    assert!(store.delete_load_site(&a).await.unwrap());
    assert_eq!(store.get_load_site(&a).await.unwrap(), None);
    assert_eq!(
        store.get_load_state(&a).await.unwrap(),
        None,
        "the state goes with the configuration"
    );
    assert!(!store.delete_load_site(&a).await.unwrap(), "already gone");
    assert!(!store.delete_load_site(&site_id("site-nope")).await.unwrap());
    assert_eq!(load_site_pages(store, 10).await, [vec!["site-b"]]);
    assert_eq!(
        store.get_load_state(&b).await.unwrap(),
        Some(b1),
        "other sites are untouched"
    );

    // The id is free again, state included.
    store
        .put_load_site(&load_site("site-a", "default", 1), 0)
        .await
        .unwrap();
    store.put_load_state(&s1, 0).await.unwrap();
    assert_eq!(store.get_load_state(&a).await.unwrap(), Some(s1));
    assert_eq!(
        load_site_pages(store, 1).await,
        [vec!["site-a"], vec!["site-b"]]
    );
}

/// The records [`undecodable_plant`] wrote, one of each kind for the
/// adapter's test to damage in its own storage — raw bytes or attributes of
/// the wrong type under the record's real key, as an older version or a bug
/// would have left them — before [`undecodable_records_are_skipped`].
#[derive(Debug, Clone)]
pub struct Planted {
    pub session: SessionId,
    pub station: StationId,
    pub token: IdTokenValue,
    pub tariff: String,
    pub command: CommandId,
    pub webhook: String,
    pub delivery: String,
}

/// Writes two records of every listed kind (all in the default
/// organisation) and returns the ones to damage.
pub async fn undecodable_plant<
    S: StationStore + TokenStore + SessionStore + CommandStore + WebhookStore + TariffStore,
>(
    store: &S,
) -> Planted {
    for id in ["BAD-ST", "GOOD-ST"] {
        store
            .create_station(&station(id, "default", None))
            .await
            .unwrap();
    }
    let bad_session = session("GOOD-ST", "bad-tx", 10);
    store.put_session(&bad_session, 0).await.unwrap();
    store
        .put_session(&session("GOOD-ST", "good-tx", 20), 0)
        .await
        .unwrap();
    for v in ["BADTOKEN", "GOODTOKEN"] {
        store.create_id_token(&token(v, "default")).await.unwrap();
    }
    for id in ["bad-tariff", "good-tariff"] {
        store
            .put_tariff(&tariff(id, "default", 1, 150), 0)
            .await
            .unwrap();
    }
    for (i, id) in CMD[..2].iter().enumerate() {
        store
            .create_command(&command(id, "GOOD-ST", i as i64))
            .await
            .unwrap();
    }
    for id in ["bad-hook", "good-hook"] {
        store.create_webhook(&webhook(id, "default")).await.unwrap();
    }
    for id in ["01JBADDELIVERY0000000000000", "01JGOODDELIVERY000000000000"] {
        store
            .create_delivery(&delivery(id, "good-hook"))
            .await
            .unwrap();
    }
    Planted {
        session: bad_session.id,
        station: sid("BAD-ST"),
        token: IdTokenValue::parse("BADTOKEN").unwrap(),
        tariff: "bad-tariff".into(),
        command: CommandId::parse(CMD[0]).unwrap(),
        webhook: "bad-hook".into(),
        delivery: "01JBADDELIVERY0000000000000".into(),
    }
}

/// After the adapter damaged the [`Planted`] records: every listing leaves
/// them out and returns the others, a read of one names it, and one alarm
/// per kind of record is raised however often the listings run.
pub async fn undecodable_records_are_skipped<
    S: StationStore
        + TokenStore
        + SessionStore
        + CommandStore
        + WebhookStore
        + TariffStore
        + AlarmStore,
>(
    store: &S,
    bad: &Planted,
) {
    let org = OrgId::default_org();
    let all = PageRequest::first(PageRequest::MAX_LIMIT);
    for _ in 0..2 {
        let sessions = store
            .list_sessions(&SessionQuery {
                org_id: org.clone(),
                station_id: None,
                from: None,
                to: None,
                page: all.clone(),
            })
            .await
            .expect("a session that does not decode must not fail the listing");
        let txs: Vec<_> = sessions
            .items
            .iter()
            .map(|s| s.transaction_id.as_str())
            .collect();
        assert_eq!(txs, ["good-tx"]);
        let by_station = store
            .list_sessions(&SessionQuery {
                org_id: org.clone(),
                station_id: Some(sid("GOOD-ST")),
                from: None,
                to: None,
                page: all.clone(),
            })
            .await
            .unwrap();
        assert_eq!(by_station.items.len(), 1);
        let stations = store.list_stations(&org, &all).await.unwrap();
        let ids: Vec<_> = stations
            .items
            .iter()
            .map(|v| v.station.id.to_string())
            .collect();
        assert_eq!(ids, ["GOOD-ST"]);
        let tokens = store.list_id_tokens(&org, &all).await.unwrap();
        let ids: Vec<_> = tokens.items.iter().map(|t| t.token.to_string()).collect();
        assert_eq!(ids, ["GOODTOKEN"]);
        let tariffs = store.list_tariffs(&org, &all).await.unwrap();
        assert_eq!(ids_of(&tariffs.items, |t| t.id.as_str()), ["good-tariff"]);
        let commands = store
            .list_station_commands(&sid("GOOD-ST"), &all)
            .await
            .unwrap();
        assert_eq!(ids_of(&commands.items, |c| c.id.as_str()), [CMD[1]]);
        let pending = store.pending_commands(&sid("GOOD-ST")).await.unwrap();
        assert_eq!(ids_of(&pending, |c| c.id.as_str()), [CMD[1]]);
        let pending = store.all_pending_commands(100).await.unwrap();
        assert_eq!(ids_of(&pending, |c| c.id.as_str()), [CMD[1]]);
        let hooks = store.list_webhooks(&org, &all).await.unwrap();
        assert_eq!(ids_of(&hooks.items, |h| h.id.as_str()), ["good-hook"]);
        let deliveries = store.list_deliveries("good-hook", &all).await.unwrap();
        assert_eq!(
            ids_of(&deliveries.items, |d| d.id.as_str()),
            ["01JGOODDELIVERY000000000000"]
        );
        let pending = store.pending_deliveries(100).await.unwrap();
        assert_eq!(
            ids_of(&pending, |d| d.id.as_str()),
            ["01JGOODDELIVERY000000000000"]
        );
    }
    match store.get_session(&bad.session).await {
        Err(StoreError::Undecodable { kind, key, .. }) => {
            assert_eq!(kind, "Session");
            assert!(key.contains(bad.session.as_str()), "{key} names the record");
        }
        other => panic!("reading the damaged session must say so, got {other:?}"),
    }
    assert!(matches!(
        store.get_station(&bad.station).await,
        Err(StoreError::Undecodable { .. })
    ));
    let good = session("GOOD-ST", "good-tx", 20);
    assert!(store.get_session(&good.id).await.unwrap().is_some());
    let alarms = store
        .list_alarms(&org, true, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await
        .unwrap();
    let mut kinds: Vec<String> = alarms
        .items
        .iter()
        .filter(|a| a.kind == crate::undecodable::ALARM_KIND)
        .map(|a| a.details["recordKind"].as_str().unwrap_or("?").to_owned())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Command",
            "Delivery",
            "IdTokenRecord",
            "Session",
            "Station",
            "Tariff",
            "Webhook"
        ],
        "one alarm per kind of record, however many listings met it"
    );
}

fn device_variable(
    component: &str,
    evse: Option<u32>,
    variable: &str,
    value: &str,
) -> DeviceVariable {
    DeviceVariable::new(
        ComponentRef {
            name: Name::parse(component).unwrap(),
            instance: None,
            evse_id: evse,
            connector_id: evse.map(|_| 1),
        },
        VariableRef {
            name: Name::parse(variable).unwrap(),
            instance: Some(Name::parse("main").unwrap()),
        },
        vec![VariableAttribute {
            kind: AttributeType::Actual,
            value: Some(AttributeValue::parse(value).unwrap()),
            mutability: Mutability::ReadWrite,
            persistent: true,
            constant: false,
        }],
        Some(Characteristics {
            unit: Some(Unit::parse("W").unwrap()),
            data_type: DataType::Decimal,
            min_limit: Some(Decimal::ZERO),
            max_limit: Some(Decimal::new(221, 1)),
            values_list: None,
            supports_monitoring: true,
        }),
    )
    .unwrap()
}

fn report_part(station: &str, request_id: i32, seq_no: u32, tbc: bool, n: usize) -> ReportPart {
    ReportPart {
        station_id: sid(station),
        request_id,
        seq_no,
        generated_at: t(10),
        received_at: t(20 + i64::from(seq_no)),
        tbc,
        variables: (0..n)
            .map(|i| device_variable("EVSE", Some(1), &format!("V{seq_no}x{i}"), "11000"))
            .collect(),
    }
}

pub async fn device_model_report_parts<S: DeviceModelStore>(store: &S) {
    let cp = sid("CP-DM1");
    assert!(store.report_parts(&cp, 7).await.unwrap().is_empty());
    assert!(store
        .put_report_part(&report_part("CP-DM1", 7, 1, false, 2), 10)
        .await
        .unwrap());
    assert!(store
        .put_report_part(&report_part("CP-DM1", 7, 0, true, 1), 10)
        .await
        .unwrap());
    // A resent part replaces the one kept.
    let resent = report_part("CP-DM1", 7, 0, true, 3);
    assert!(store.put_report_part(&resent, 10).await.unwrap());
    assert!(store
        .put_report_part(&report_part("CP-DM1", 8, 0, false, 1), 10)
        .await
        .unwrap());
    assert!(store
        .put_report_part(&report_part("CP-DM1", -7, 0, false, 1), 10)
        .await
        .unwrap());
    assert!(store
        .put_report_part(&report_part("CP-DM2", 7, 0, false, 1), 10)
        .await
        .unwrap());

    let parts = store.report_parts(&cp, 7).await.unwrap();
    assert_eq!(parts.iter().map(|p| p.seq_no).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(parts[0], resent);
    assert_eq!(parts[1].variables.len(), 2);
    assert_eq!(store.report_parts(&cp, 8).await.unwrap().len(), 1);
    assert_eq!(store.report_parts(&cp, -7).await.unwrap().len(), 1);

    store.delete_report_parts(&cp).await.unwrap();
    assert!(store.report_parts(&cp, 7).await.unwrap().is_empty());
    assert!(store.report_parts(&cp, 8).await.unwrap().is_empty());
    // Another station's parts stay.
    assert_eq!(
        store.report_parts(&sid("CP-DM2"), 7).await.unwrap().len(),
        1
    );
}

/// A station's kept parts stop at the bound the caller gives: a part with a
/// new key beyond it is not stored, one with a kept key still replaces it,
/// and neither another station nor the next report (after the parts are
/// forgotten) is held back.
pub async fn device_model_report_parts_bounded<S: DeviceModelStore>(store: &S) {
    let cp = sid("CP-DM5");
    for (request, seq) in [(1, 0), (1, 1), (2, 5)] {
        assert!(store
            .put_report_part(&report_part("CP-DM5", request, seq, true, 1), 3)
            .await
            .unwrap());
    }
    // Full: neither a new part of a kept report nor one of another report.
    assert!(!store
        .put_report_part(&report_part("CP-DM5", 1, 2, true, 1), 3)
        .await
        .unwrap());
    assert!(!store
        .put_report_part(&report_part("CP-DM5", 3, 0, false, 1), 3)
        .await
        .unwrap());
    let seqs = |parts: Vec<ReportPart>| parts.iter().map(|p| p.seq_no).collect::<Vec<_>>();
    assert_eq!(seqs(store.report_parts(&cp, 1).await.unwrap()), [0, 1]);
    assert!(store.report_parts(&cp, 3).await.unwrap().is_empty());
    // A kept part sent again replaces it.
    let resent = report_part("CP-DM5", 1, 1, true, 4);
    assert!(store.put_report_part(&resent, 3).await.unwrap());
    assert_eq!(store.report_parts(&cp, 1).await.unwrap()[1], resent);
    // Another station has a bound of its own.
    assert!(store
        .put_report_part(&report_part("CP-DM6", 1, 0, true, 1), 3)
        .await
        .unwrap());
    // Once the parts are forgotten the station's next report is kept.
    store.delete_report_parts(&cp).await.unwrap();
    assert!(store
        .put_report_part(&report_part("CP-DM5", 4, 0, true, 1), 3)
        .await
        .unwrap());
    assert_eq!(store.report_parts(&cp, 4).await.unwrap().len(), 1);
}

pub async fn device_models_versioned_and_whole<S: DeviceModelStore>(store: &S) {
    let cp = sid("CP-DM3");
    assert_eq!(store.get_device_model(&cp).await.unwrap(), None);
    let mut first =
        DeviceModel::from_parts(vec![report_part("CP-DM3", 1, 0, false, 3)], t(30)).unwrap();
    first.version = 1;
    store.put_device_model(&first, 0).await.unwrap();
    assert!(matches!(
        store.put_device_model(&first, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_device_model(&cp).await.unwrap(),
        Some(first.clone())
    );

    // Far beyond one DynamoDB item: kept whole all the same.
    let long = "x".repeat(1000);
    let mut big_part = report_part("CP-DM3", 2, 0, false, 0);
    big_part.variables = (0..1200)
        .map(|i| device_variable("Ctrlr", None, &format!("Var{i:05}"), &long))
        .collect();
    let mut second = DeviceModel::from_parts(vec![big_part], t(40)).unwrap();
    second.version = 2;
    store.put_device_model(&second, 1).await.unwrap();
    let stored = store.get_device_model(&cp).await.unwrap().unwrap();
    assert_eq!(stored.variables.len(), 1200);
    assert_eq!(stored, second);

    // A stale writer loses and leaves the model as it was.
    let mut stale = first.clone();
    stale.version = 2;
    assert!(matches!(
        store.put_device_model(&stale, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_device_model(&cp).await.unwrap(),
        Some(second.clone())
    );

    // Smaller again: nothing of the big one is left in it.
    let mut third = first.clone();
    third.version = 3;
    store.put_device_model(&third, 2).await.unwrap();
    assert_eq!(store.get_device_model(&cp).await.unwrap(), Some(third));
    assert_eq!(store.get_device_model(&sid("CP-DM4")).await.unwrap(), None);
}

fn ids_of<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|x| id(x).to_owned()).collect()
}

// ---- tenants: organisations and sites ---------------------------------

pub fn organisation(id: &str) -> csms_domain::tenant::Organisation {
    use csms_domain::tenant::*;
    Organisation {
        id: OrgId::parse(id).unwrap(),
        kind: OrgKind::Brf,
        legal_name: format!("Bostadsrättsföreningen {id}"),
        organisation_number: Some(OrganisationNumber::parse("556036-0793").unwrap()),
        vat_number: Some(VatNumber::parse("SE556036079301").unwrap()),
        address: Some(Address::parse("Storgatan 1", "111 22", "Stockholm", "SE").unwrap()),
        contact_email: Some(Email::parse("styrelsen@example.se").unwrap()),
        language: Language::Sv,
        payout_account: Some(PayoutAccount::Iban {
            iban: Iban::parse("SE4550000000058398257466").unwrap(),
            bic: Some(Bic::parse("ESSESESS").unwrap()),
        }),
        payment_terms: None,
        dunning: None,
        invoice_run_day: None,
        payout_terms: None,
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    }
}

pub fn site(id: &str, org: &str) -> csms_domain::tenant::Site {
    use csms_domain::tenant::*;
    let mut days: [Vec<DayInterval>; 7] = Default::default();
    days[0] = vec![DayInterval::parse("06:00-18:00").unwrap()];
    Site {
        id: SiteId::parse(id).unwrap(),
        org_id: OrgId::parse(org).unwrap(),
        name: format!("Garage {id}"),
        address: Address::parse("Storgatan 1", "111 22", "Stockholm", "SE").unwrap(),
        coordinates: Some(Coordinates::new(59.33, 18.06).unwrap()),
        time_zone: time_zone("Europe/Stockholm").unwrap(),
        bidding_zone: Some(BiddingZone::parse("SE3").unwrap()),
        opening_hours: Some(OpeningHours::weekly(days).unwrap()),
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    }
}

pub async fn organisations_versioned_and_listed<S: OrganisationStore>(store: &S) {
    let a = organisation("brf-a");
    store.create_organisation(&a).await.unwrap();
    assert!(matches!(
        store.create_organisation(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_organisation(&a.id).await.unwrap(),
        Some(a.clone())
    );
    let missing = OrgId::parse("nope").unwrap();
    assert_eq!(store.get_organisation(&missing).await.unwrap(), None);

    let mut renamed = a.clone();
    renamed.legal_name = "Brf A".into();
    renamed.vat_number = None;
    renamed.version = 2;
    assert!(matches!(
        store.put_organisation(&renamed, 5).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_organisation(&renamed, 1).await.unwrap();
    assert_eq!(
        store.get_organisation(&a.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert!(
        matches!(
            store.put_organisation(&renamed, 1).await,
            Err(StoreError::Conflict(_))
        ),
        "a stale version conflicts"
    );
    let mut ghost = organisation("ghost");
    ghost.version = 2;
    assert!(matches!(
        store.put_organisation(&ghost, 1).await,
        Err(StoreError::Conflict(_))
    ));

    for id in ["cpo-c", "acme", "brf-b"] {
        store.create_organisation(&organisation(id)).await.unwrap();
    }
    let (orgs, pages) = read_all(2, |p| async move { store.list_organisations(&p).await }).await;
    let ids: Vec<&str> = orgs.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        (ids.as_slice(), pages),
        (["acme", "brf-a", "brf-b", "cpo-c"].as_slice(), 2),
        "every organisation, by id"
    );
    assert_eq!(orgs[1], renamed);
}

pub async fn default_organisation_made_once<S: OrganisationStore>(store: &S) {
    use crate::tenants::ensure_default_organisation;
    let default = OrgId::default_org();
    assert!(ensure_default_organisation(store, t(5)).await.unwrap());
    let made = store.get_organisation(&default).await.unwrap().unwrap();
    assert_eq!(
        made,
        csms_domain::tenant::Organisation::default_placeholder(t(5))
    );
    assert!(!ensure_default_organisation(store, t(6)).await.unwrap());
    let mut filled = made.clone();
    filled.legal_name = "Laddbolaget AB".into();
    filled.version = 2;
    store.put_organisation(&filled, 1).await.unwrap();
    assert!(!ensure_default_organisation(store, t(7)).await.unwrap());
    assert_eq!(
        store.get_organisation(&default).await.unwrap(),
        Some(filled),
        "an existing record is left as it is"
    );
}

pub async fn sites_versioned_listed_by_org_and_deleted<S: SiteStore>(store: &S) {
    let a1 = site("site-1", "org-a");
    store.create_site(&a1).await.unwrap();
    assert!(
        matches!(
            store.create_site(&site("site-1", "org-b")).await,
            Err(StoreError::Conflict(_))
        ),
        "site ids are one namespace"
    );
    assert_eq!(store.get_site(&a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        store
            .get_site(&SiteId::parse("nope").unwrap())
            .await
            .unwrap(),
        None
    );
    for (id, org) in [
        ("site-3", "org-a"),
        ("site-0", "org-b"),
        ("site-2", "org-a"),
    ] {
        store.create_site(&site(id, org)).await.unwrap();
    }
    let mut bare = site("site-4", "org-a");
    (bare.coordinates, bare.bidding_zone, bare.opening_hours) = (None, None, None);
    bare.opening_hours = Some(csms_domain::tenant::OpeningHours::AlwaysOpen);
    store.create_site(&bare).await.unwrap();

    let org_a = &OrgId::parse("org-a").unwrap();
    let (sites, pages) = read_all(2, |p| async move { store.list_sites(org_a, &p).await }).await;
    let ids: Vec<&str> = sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        (ids.as_slice(), pages),
        (["site-1", "site-2", "site-3", "site-4"].as_slice(), 2),
        "the organisation's own sites, by id"
    );
    assert_eq!(sites[3], bare);
    let org_c = &OrgId::parse("org-c").unwrap();
    let (none, _) = read_all(2, |p| async move { store.list_sites(org_c, &p).await }).await;
    assert!(none.is_empty());

    let mut renamed = a1.clone();
    renamed.name = "Norra garaget".into();
    renamed.opening_hours = None;
    renamed.version = 2;
    assert!(matches!(
        store.put_site(&renamed, 3).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_site(&renamed, 1).await.unwrap();
    assert_eq!(store.get_site(&a1.id).await.unwrap(), Some(renamed));

    assert!(
        matches!(
            store.delete_site(&a1.id, 1).await,
            Err(StoreError::Conflict(_))
        ),
        "a stale version does not delete"
    );
    assert!(store.delete_site(&a1.id, 2).await.unwrap());
    assert!(!store.delete_site(&a1.id, 2).await.unwrap());
    assert_eq!(store.get_site(&a1.id).await.unwrap(), None);
    let (left, _) = read_all(10, |p| async move { store.list_sites(org_a, &p).await }).await;
    assert_eq!(
        left.len(),
        3,
        "a deleted site leaves its organisation's list"
    );
}

pub async fn audit_log_newest_first_per_org<S: AuditStore>(store: &S) {
    let a = OrgId::parse("audit-a").unwrap();
    let b = OrgId::parse("audit-b").unwrap();
    let entry = |org: &OrgId, at: i64, path: &str| {
        AuditEntry::new(
            org.clone(),
            t(at),
            "key-1",
            "PATCH /stations/{id}",
            path,
            ["name".to_owned(), "siteId".to_owned()],
            200,
        )
    };
    for i in 0..4 {
        store
            .append_audit(&entry(&a, i, &format!("/api/v1/stations/CP-{i}")))
            .await
            .unwrap();
    }
    // Two entries of the same instant are both kept.
    store
        .append_audit(&entry(&a, 3, "/api/v1/stations/CP-3b"))
        .await
        .unwrap();
    store
        .append_audit(&entry(&b, 9, "/api/v1/stations/B-1"))
        .await
        .unwrap();
    let p1 = store.list_audit(&a, &PageRequest::first(3)).await.unwrap();
    assert_eq!(p1.items.len(), 3);
    assert!(p1.items.iter().all(|e| e.org_id == a));
    let times: Vec<i64> = p1
        .items
        .iter()
        .map(|e| e.at.timestamp() - 1_790_000_000)
        .collect();
    assert_eq!(times, [3, 3, 2]);
    assert_eq!(p1.items[2], entry(&a, 2, "/api/v1/stations/CP-2"));
    let p2 = store
        .list_audit(
            &a,
            &PageRequest {
                limit: 3,
                cursor: p1.next_cursor,
            },
        )
        .await
        .unwrap();
    let paths: Vec<&str> = p2.items.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/api/v1/stations/CP-1", "/api/v1/stations/CP-0"]);
    assert!(p2.next_cursor.is_none());
    let bs = store.list_audit(&b, &PageRequest::first(10)).await.unwrap();
    assert_eq!(bs.items, vec![entry(&b, 9, "/api/v1/stations/B-1")]);
}

// ---- people and their sessions -----------------------------------------

/// A user `n` with the given memberships (`(org, role)`).
pub fn user(
    n: u64,
    email: &str,
    memberships: &[(&str, csms_domain::user::Role)],
) -> csms_domain::user::User {
    use csms_domain::user::*;
    User {
        id: UserId::parse(format!("usr_01J00000000000000000000{n:03}")).unwrap(),
        email: UserEmail::parse(email).unwrap(),
        name: format!("Person {n}"),
        language: csms_domain::tenant::Language::Sv,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        memberships: memberships
            .iter()
            .map(|(org, role)| Membership {
                org_id: OrgId::parse(*org).unwrap(),
                role: *role,
            })
            .collect(),
        second_factor: None,
        stripe_customer: None,
        saved_card: None,
        company: None,
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    }
}

pub async fn users_unique_by_email_versioned_and_listed_by_org<S: UserStore>(store: &S) {
    use csms_domain::user::{Role, UserEmail};
    let anna = user(
        1,
        "anna@example.se",
        &[("org-a", Role::OrgAdmin), ("org-b", Role::Viewer)],
    );
    store.create_user(&anna).await.unwrap();
    assert!(matches!(
        store.create_user(&anna).await,
        Err(StoreError::Conflict(_))
    ));
    let twin = user(2, "anna@example.se", &[("org-a", Role::Viewer)]);
    assert!(
        matches!(store.create_user(&twin).await, Err(StoreError::Conflict(_))),
        "an address is one person's"
    );
    assert_eq!(
        store.get_user(&twin.id).await.unwrap(),
        None,
        "nothing half-written"
    );
    assert_eq!(store.get_user(&anna.id).await.unwrap(), Some(anna.clone()));
    let by_mail = UserEmail::parse("anna@example.se").unwrap();
    assert_eq!(
        store.find_user_by_email(&by_mail).await.unwrap(),
        Some(anna.clone())
    );
    let nobody = UserEmail::parse("nobody@example.se").unwrap();
    assert_eq!(store.find_user_by_email(&nobody).await.unwrap(), None);

    for (n, mail, org) in [
        (4, "d@example.se", "org-a"),
        (3, "c@example.se", "org-a"),
        (5, "e@example.se", "org-c"),
    ] {
        store
            .create_user(&user(n, mail, &[(org, Role::Operator)]))
            .await
            .unwrap();
    }
    let org_a = &OrgId::parse("org-a").unwrap();
    let org_b = &OrgId::parse("org-b").unwrap();
    let (members, pages) = read_all(2, |p| async move { store.list_users(org_a, &p).await }).await;
    assert_eq!(
        (ids_of(&members, |u| u.id.as_str()), pages),
        (
            vec![
                anna.id.to_string(),
                user(3, "c@x.se", &[]).id.to_string(),
                user(4, "d@x.se", &[]).id.to_string()
            ],
            2
        ),
        "the organisation's members, by id"
    );
    let (b_members, _) = read_all(10, |p| async move { store.list_users(org_b, &p).await }).await;
    assert_eq!(b_members, vec![anna.clone()]);

    // A new address, a membership gone and one changed: the old address is
    // free again, the lists follow.
    let mut changed = anna.clone();
    changed.email = UserEmail::parse("anna.berg@example.se").unwrap();
    changed.remove_membership(org_b);
    changed.set_role(org_a, Role::Accountant);
    changed.version = 2;
    assert!(matches!(
        store.put_user(&changed, 7).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_user(&changed, 1).await.unwrap();
    assert_eq!(
        store.get_user(&anna.id).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(store.find_user_by_email(&by_mail).await.unwrap(), None);
    assert_eq!(
        store.find_user_by_email(&changed.email).await.unwrap(),
        Some(changed.clone())
    );
    let (b_members, _) = read_all(10, |p| async move { store.list_users(org_b, &p).await }).await;
    assert!(b_members.is_empty(), "a removed membership leaves the list");
    let (a_members, _) = read_all(10, |p| async move { store.list_users(org_a, &p).await }).await;
    assert_eq!(a_members[0], changed, "the list shows the user as changed");

    // Taking another's address conflicts and changes nothing.
    let mut thief = changed.clone();
    thief.email = UserEmail::parse("c@example.se").unwrap();
    thief.version = 3;
    assert!(matches!(
        store.put_user(&thief, 2).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_user(&anna.id).await.unwrap(),
        Some(changed.clone())
    );
    // The freed address can be taken by someone new.
    store
        .create_user(&user(6, "anna@example.se", &[]))
        .await
        .unwrap();

    assert!(matches!(
        store.delete_user(&anna.id, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.delete_user(&anna.id, 2).await.unwrap());
    assert!(!store.delete_user(&anna.id, 2).await.unwrap());
    assert_eq!(store.get_user(&anna.id).await.unwrap(), None);
    assert_eq!(
        store.find_user_by_email(&changed.email).await.unwrap(),
        None
    );
    let (a_members, _) = read_all(10, |p| async move { store.list_users(org_a, &p).await }).await;
    assert_eq!(a_members.len(), 2, "a deleted user leaves every list");
}

pub async fn user_sessions_touched_and_deleted<S: UserSessionStore>(store: &S) {
    use csms_domain::user::UserSession;
    let u1 = user(1, "a@example.se", &[]).id;
    let u2 = user(2, "b@example.se", &[]).id;
    let s1 = UserSession::new("a".repeat(64), u1.clone(), "csrf-1".into(), t(0));
    let s2 = UserSession::new("b".repeat(64), u1.clone(), "csrf-2".into(), t(10));
    let s3 = UserSession::new("c".repeat(64), u2.clone(), "csrf-3".into(), t(20));
    for s in [&s1, &s2, &s3] {
        store.create_user_session(s).await.unwrap();
    }
    assert!(matches!(
        store.create_user_session(&s1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_user_session(&s1.id_hash).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(store.get_user_session(&"d".repeat(64)).await.unwrap(), None);

    assert!(store.touch_user_session(&s1.id_hash, t(100)).await.unwrap());
    let touched = store.get_user_session(&s1.id_hash).await.unwrap().unwrap();
    assert_eq!(
        (touched.last_seen_at, touched.expires_at),
        (t(100), s1.expires_at)
    );

    assert!(store.delete_user_session(&s1.id_hash).await.unwrap());
    assert!(!store.delete_user_session(&s1.id_hash).await.unwrap());
    assert!(
        !store.touch_user_session(&s1.id_hash, t(200)).await.unwrap(),
        "a touch does not bring a signed-out session back"
    );
    assert_eq!(store.get_user_session(&s1.id_hash).await.unwrap(), None);

    store.create_user_session(&s1).await.unwrap();
    assert_eq!(store.delete_user_sessions(&u1).await.unwrap(), 2);
    assert_eq!(store.get_user_session(&s1.id_hash).await.unwrap(), None);
    assert_eq!(store.get_user_session(&s2.id_hash).await.unwrap(), None);
    assert_eq!(
        store.get_user_session(&s3.id_hash).await.unwrap(),
        Some(s3),
        "another person's session stays"
    );
    assert_eq!(store.delete_user_sessions(&u1).await.unwrap(), 0);
}

/// A station's garage identity is one record per station, versioned (0:
/// none yet), read back whole, and deleted (saying whether there was one);
/// another station's is its own.
pub async fn garage_identities_one_per_station_versioned_and_deleted<S: AccessStore>(store: &S) {
    use csms_domain::access::GarageIdentity;
    let id = sid("CP-GARAGE");
    assert_eq!(store.get_garage_identity(&id).await.unwrap(), None);
    let mut garage = GarageIdentity {
        station_id: id.clone(),
        org_id: OrgId::parse("org-a").unwrap(),
        id_token: IdTokenValue::parse("anna@example.se").unwrap(),
        user_id: csms_domain::user::UserId::generate(),
        free_vend_id_tag: Some(IdTokenValue::parse("FREEVEND").unwrap()),
        updated_at: t(0),
        version: 1,
    };
    assert!(matches!(
        store.put_garage_identity(&garage, 1).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_garage_identity(&garage, 0).await.unwrap();
    assert!(
        matches!(
            store.put_garage_identity(&garage, 0).await,
            Err(StoreError::Conflict(_))
        ),
        "a station has at most one"
    );
    assert_eq!(
        store.get_garage_identity(&id).await.unwrap(),
        Some(garage.clone())
    );
    garage.free_vend_id_tag = None;
    garage.version = 2;
    garage.updated_at = t(5);
    assert!(matches!(
        store.put_garage_identity(&garage, 3).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_garage_identity(&garage, 1).await.unwrap();
    assert_eq!(
        store.get_garage_identity(&id).await.unwrap(),
        Some(garage.clone())
    );
    let other = GarageIdentity {
        station_id: sid("CP-GARAGE-2"),
        version: 1,
        ..garage.clone()
    };
    store.put_garage_identity(&other, 0).await.unwrap();
    assert!(store.delete_garage_identity(&id).await.unwrap());
    assert!(!store.delete_garage_identity(&id).await.unwrap());
    assert_eq!(store.get_garage_identity(&id).await.unwrap(), None);
    assert_eq!(
        store.get_garage_identity(&other.station_id).await.unwrap(),
        Some(other)
    );
    // Gone, it can be made again from nothing.
    garage.version = 1;
    store.put_garage_identity(&garage, 0).await.unwrap();
}

/// A station's access record is versioned (0: none yet) and keeps its EVSE
/// overrides; refused attempts list newest first, a page at a time, per
/// station, also when two share an instant.
pub async fn station_access_versioned_and_attempts_newest_first<S: AccessStore + TokenStore>(
    store: &S,
) {
    use csms_domain::access::*;
    let id = sid("CP-ACC");
    assert_eq!(store.get_station_access(&id).await.unwrap(), None);
    let mut access = StationAccess {
        station_id: id.clone(),
        org_id: OrgId::parse("org-a").unwrap(),
        policy: AccessPolicy {
            schedule: Schedule::new(
                AccessMode::Public,
                vec![Rule {
                    days: Weekdays::parse(["mon", "fri"]).unwrap(),
                    time: csms_domain::tenant::DayInterval::parse("06:00-18:00").unwrap(),
                    mode: AccessMode::Private,
                }],
                vec![],
            )
            .unwrap(),
            groups: vec!["residents".into()],
        },
        evses: Default::default(),
        updated_at: t(0),
        version: 1,
    };
    assert!(matches!(
        store.put_station_access(&access, 1).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_station_access(&access, 0).await.unwrap();
    assert!(
        matches!(
            store.put_station_access(&access, 0).await,
            Err(StoreError::Conflict(_))
        ),
        "0 means none stored yet"
    );
    assert_eq!(
        store.get_station_access(&id).await.unwrap(),
        Some(access.clone())
    );
    access.evses.insert(2, AccessPolicy::legacy());
    access.version = 2;
    access.updated_at = t(5);
    store.put_station_access(&access, 1).await.unwrap();
    assert_eq!(
        store.get_station_access(&id).await.unwrap(),
        Some(access.clone())
    );
    // What an Authorize reads, together.
    let card = IdTokenValue::parse("acc-card").unwrap();
    assert_eq!(
        store.get_token_and_access(&card, &id).await.unwrap(),
        (None, Some(access.clone()))
    );
    store
        .create_id_token(&token("ACC-CARD", "org-b"))
        .await
        .unwrap();
    let (got, with) = store.get_token_and_access(&card, &id).await.unwrap();
    assert_eq!(got.map(|t| t.org_id.to_string()).as_deref(), Some("org-b"));
    assert_eq!(with, Some(access));
    assert_eq!(
        store
            .get_token_and_access(&card, &sid("CP-NONE"))
            .await
            .unwrap()
            .1,
        None
    );

    let attempt = |secs: i64, token: &str| AccessAttempt {
        station_id: id.clone(),
        org_id: OrgId::parse("org-a").unwrap(),
        evse_id: Some(1),
        connector_id: None,
        token: IdTokenValue::parse(token).unwrap(),
        at: t(secs),
        mode: AccessMode::Private,
        reason: AccessRefusal::OtherOrganisation,
        source: "Authorize".into(),
    };
    for (secs, token) in [(1, "A"), (3, "C"), (2, "B"), (3, "D")] {
        store
            .add_access_attempt(&attempt(secs, token))
            .await
            .unwrap();
    }
    let mut other = attempt(4, "X");
    other.station_id = sid("CP-OTHER");
    store.add_access_attempt(&other).await.unwrap();
    let (all, pages) = read_all(3, |p| {
        let id = id.clone();
        async move { store.list_access_attempts(&id, &p).await }
    })
    .await;
    let seen: Vec<(i64, &str)> = all
        .iter()
        .map(|a| (a.at.timestamp() - 1_790_000_000, a.token.as_str()))
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(pages, 2);
    assert_eq!(&seen[2..], [(2, "B"), (1, "A")], "newest first");
    assert!(seen[..2].iter().all(|(s, _)| *s == 3));
    assert_eq!(all[3], attempt(1, "A"));
    // The organisation's attempts at all its stations, newest first.
    let org_a = OrgId::parse("org-a").unwrap();
    let (of_org, _) = read_all(2, |p| {
        let org = org_a.clone();
        async move { store.list_org_access_attempts(&org, &p).await }
    })
    .await;
    let stations: Vec<(&str, &str)> = of_org
        .iter()
        .map(|a| (a.station_id.as_str(), a.token.as_str()))
        .collect();
    assert_eq!(stations.len(), 5, "{stations:?}");
    assert_eq!(stations[0], ("CP-OTHER", "X"));
    assert_eq!(&stations[3..], [("CP-ACC", "B"), ("CP-ACC", "A")]);
    let org_b = OrgId::parse("org-b").unwrap();
    assert!(store
        .list_org_access_attempts(&org_b, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
}

/// A person's bookings, at any organisation's stations, latest start first,
/// paged; a booking for nobody (a card without holder) is nobody's, and a
/// change keeps it listed.
/// A booking is put in its person's index once: one made now is there
/// already (`false`), so is one for nobody and one not stored; the
/// backfill over the organisations' bookings then adds nothing, and the
/// person's list is unchanged.
pub async fn booking_person_index_backfill_is_idempotent<S: BookingStore + OrganisationStore>(
    store: &S,
) {
    use crate::migrations::{backfill_booking_persons, Resume};
    use csms_domain::booking::*;
    use csms_domain::user::UserId;
    let eva = UserId::generate();
    let make = |from: i64, user: Option<&UserId>| Booking {
        id: BookingId::generate(),
        org_id: OrgId::default_org(),
        station_id: sid("CP-BACKFILL"),
        evse_id: 1,
        token: IdTokenValue::parse("BOOKER").unwrap(),
        user_id: user.cloned(),
        window: Window::stored(t(from * 3600), t((from + 1) * 3600)).unwrap(),
        status: BookingStatus::Booked,
        reserve_outcome: None,
        created_by: "admin".into(),
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    };
    let hers = make(20, Some(&eva));
    let nobodys = make(22, None);
    store.create_booking(&hers).await.unwrap();
    store.create_booking(&nobodys).await.unwrap();
    assert!(
        !store.index_booking_person(&hers).await.unwrap(),
        "indexed when made"
    );
    assert!(!store.index_booking_person(&nobodys).await.unwrap());
    assert!(
        !store
            .index_booking_person(&make(24, Some(&eva)))
            .await
            .unwrap(),
        "a booking that is not stored is not indexed"
    );
    let mut points = 0;
    let done = backfill_booking_persons(store, Resume::default(), |_, _| points += 1)
        .await
        .unwrap();
    assert_eq!(done.indexed, 0, "{done:?}");
    assert!(done.seen >= 1, "{done:?}");
    let mine = store
        .list_user_bookings(&eva, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(mine.items, vec![hers]);
}

pub async fn bookings_listed_per_person<S: BookingStore>(store: &S) {
    use csms_domain::booking::*;
    use csms_domain::user::UserId;
    let (eva, olle) = (UserId::generate(), UserId::generate());
    let make = |org: &str, station: &str, from: i64, user: Option<&UserId>| Booking {
        id: BookingId::generate(),
        org_id: OrgId::parse(org).unwrap(),
        station_id: sid(station),
        evse_id: 1,
        token: IdTokenValue::parse("BOOKER").unwrap(),
        user_id: user.cloned(),
        window: Window::stored(t(from * 3600), t((from + 1) * 3600)).unwrap(),
        status: BookingStatus::Booked,
        reserve_outcome: None,
        created_by: "admin".into(),
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    };
    let first = make("org-p", "CP-P1", 10, Some(&eva));
    let second = make("org-q", "CP-Q1", 12, Some(&eva));
    let third = make("org-p", "CP-P2", 11, Some(&eva));
    for b in [
        &first,
        &second,
        &third,
        &make("org-p", "CP-P3", 13, Some(&olle)),
        &make("org-p", "CP-P4", 14, None),
    ] {
        store.create_booking(b).await.unwrap();
    }
    let mut cancelled = third.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.version = 2;
    store.put_booking(&cancelled, 1).await.unwrap();
    let page = store
        .list_user_bookings(&eva, &PageRequest::first(2))
        .await
        .unwrap();
    let ids = |p: &Page<Booking>| p.items.iter().map(|b| b.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&page), [second.id.clone(), third.id.clone()]);
    assert_eq!(page.items[1], cancelled, "as last written");
    let rest = store
        .list_user_bookings(
            &eva,
            &PageRequest {
                limit: 2,
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest), std::slice::from_ref(&first.id));
    assert!(rest.next_cursor.is_none());
    assert_eq!(
        store
            .list_user_bookings(&olle, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// A booking conflicts with an overlapping one of the same EVSE that holds
/// its window, and nothing of it is written; touching windows, other EVSEs
/// and final bookings do not conflict. Writes are versioned; an EVSE's
/// bookings are listed by overlap with a range, an organisation's latest
/// first, and the due ones (not final, started by then) earliest first.
pub async fn bookings_conflict_versioned_and_due<S: BookingStore>(store: &S) {
    use csms_domain::booking::*;
    let org = OrgId::parse("org-a").unwrap();
    let at = |h: i64| t(h * 3600);
    let make = |station: &str, evse: u32, from: i64, to: i64| Booking {
        id: BookingId::generate(),
        org_id: org.clone(),
        station_id: sid(station),
        evse_id: evse,
        token: IdTokenValue::parse("BOOKER").unwrap(),
        user_id: None,
        window: Window::stored(at(from), at(to)).unwrap(),
        status: BookingStatus::Booked,
        reserve_outcome: None,
        created_by: "admin".into(),
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    };
    let ten = make("CP-B", 1, 10, 12);
    store.create_booking(&ten).await.unwrap();
    assert_eq!(store.get_booking(&ten.id).await.unwrap(), Some(ten.clone()));
    // The same id again.
    assert!(matches!(
        store.create_booking(&ten).await,
        Err(StoreError::Conflict(_))
    ));
    // Overlapping on the same EVSE: refused, nothing written.
    let clash = make("CP-B", 1, 11, 13);
    assert!(matches!(
        store.create_booking(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_booking(&clash.id).await.unwrap(), None);
    // Touching, another EVSE, another station: fine.
    let noon = make("CP-B", 1, 12, 14);
    let other_evse = make("CP-B", 2, 11, 13);
    let other_station = make("CP-C", 1, 11, 13);
    for b in [&noon, &other_evse, &other_station] {
        store.create_booking(b).await.unwrap();
    }
    let window = |from: i64, to: i64| Window::stored(at(from), at(to)).unwrap();
    let ids = |v: Vec<Booking>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_evse_bookings(&sid("CP-B"), 1, &window(0, 48))
            .await
            .unwrap()),
        [ten.id.clone(), noon.id.clone()]
    );
    // A range inside a booking finds it (it started before the range).
    assert_eq!(
        ids(store
            .list_evse_bookings(&sid("CP-B"), 1, &window(13, 14))
            .await
            .unwrap()),
        vec![noon.id.clone()]
    );
    assert!(store
        .list_evse_bookings(&sid("CP-B"), 1, &window(14, 20))
        .await
        .unwrap()
        .is_empty());
    // Versioned writes.
    let mut cancelled = noon.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.version = 2;
    assert!(matches!(
        store.put_booking(&cancelled, 2).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_booking(&cancelled, 1).await.unwrap();
    assert_eq!(
        store.get_booking(&noon.id).await.unwrap(),
        Some(cancelled.clone())
    );
    assert!(matches!(
        store.put_booking(&cancelled, 1).await,
        Err(StoreError::Conflict(_))
    ));
    // A cancelled booking frees its window.
    let again = make("CP-B", 1, 12, 14);
    store.create_booking(&again).await.unwrap();
    // The organisation's bookings, latest start first, a page at a time.
    let (all, pages) = read_all(2, |p| {
        let org = org.clone();
        async move { store.list_bookings(&org, &p).await }
    })
    .await;
    assert_eq!(all.len(), 5);
    assert!(pages >= 3);
    assert!(all
        .windows(2)
        .all(|w| w[0].window.start() >= w[1].window.start()));
    assert!(store
        .list_bookings(&OrgId::parse("org-b").unwrap(), &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
    // Due: not final, started by then, earliest first; the cancelled one left.
    let due = store.due_bookings(&org, at(11), 10).await.unwrap();
    let mut want = vec![&ten.id, &other_evse.id, &other_station.id];
    want.sort_by_key(|id| {
        [&ten, &other_evse, &other_station]
            .into_iter()
            .find(|b| &&b.id == id)
            .map(|b| (b.window.start(), b.id.clone()))
    });
    assert_eq!(due.iter().map(|b| &b.id).collect::<Vec<_>>(), want);
    assert_eq!(due[0].id, ten.id);
    let due = store.due_bookings(&org, at(12), 10).await.unwrap();
    assert_eq!(due.len(), 4, "the new one at 12:00 is due too");
    assert!(!due.iter().any(|b| b.id == noon.id));
    assert_eq!(store.due_bookings(&org, at(12), 2).await.unwrap().len(), 2);
    assert!(store
        .due_bookings(&org, at(9), 10)
        .await
        .unwrap()
        .is_empty());
}

/// A station's local list state is versioned (0: none yet), read back
/// whole, and listed by organisation by station id; a state whose
/// organisation changed leaves the old organisation's listing.
pub async fn local_lists_versioned_and_listed_by_org<S: LocalListStore>(store: &S) {
    use csms_domain::local_list::*;
    let org_a = OrgId::parse("org-a").unwrap();
    let org_b = OrgId::parse("org-b").unwrap();
    assert_eq!(store.get_local_list(&sid("CP-L1")).await.unwrap(), None);
    let entry = ListEntry {
        token_type: IdTokenType::ISO14443,
        status: ListStatus::Accepted,
        expires_at: Some(t(100)),
    };
    let mut state = LocalListState::new(sid("CP-L1"), org_a.clone(), t(0));
    state.entries.insert("TAG-1".into(), entry.clone());
    state.in_flight.push(SentUpdate {
        version: 1,
        full: true,
        changes: vec![("TAG-1".into(), Some(entry))],
    });
    state.record_version = 1;
    assert!(matches!(
        store.put_local_list(&state, 1).await,
        Err(StoreError::Conflict(_))
    ));
    store.put_local_list(&state, 0).await.unwrap();
    assert!(matches!(
        store.put_local_list(&state, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_local_list(&sid("CP-L1")).await.unwrap(),
        Some(state.clone())
    );
    state.version = 1;
    state.in_flight.clear();
    state.needs_full = false;
    state.record_version = 2;
    store.put_local_list(&state, 1).await.unwrap();
    assert!(matches!(
        store.put_local_list(&state, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_local_list(&sid("CP-L1")).await.unwrap(),
        Some(state.clone())
    );
    for id in ["CP-L3", "CP-L2"] {
        let mut other = LocalListState::new(sid(id), org_a.clone(), t(1));
        other.record_version = 1;
        store.put_local_list(&other, 0).await.unwrap();
    }
    let mut foreign = LocalListState::new(sid("CP-L9"), org_b.clone(), t(1));
    foreign.record_version = 1;
    store.put_local_list(&foreign, 0).await.unwrap();
    let listed = |org: OrgId, limit: u32| async move {
        let (all, _) = read_all(limit, |p| {
            let org = org.clone();
            async move { store.list_local_lists(&org, &p).await }
        })
        .await;
        all.into_iter()
            .map(|s| s.station_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(org_a.clone(), 2).await, ["CP-L1", "CP-L2", "CP-L3"]);
    assert_eq!(listed(org_b.clone(), 10).await, ["CP-L9"]);
    // The station moves to org-b: its state follows.
    state.org_id = org_b.clone();
    state.record_version = 3;
    store.put_local_list(&state, 2).await.unwrap();
    assert_eq!(listed(org_a, 10).await, ["CP-L2", "CP-L3"]);
    assert_eq!(listed(org_b, 10).await, ["CP-L1", "CP-L9"]);
}

fn invitation(org: &str, email: &str, at: i64) -> EmailLink {
    EmailLink::new(
        LinkId::generate(),
        "ab".repeat(32),
        LinkPurpose::Invitation(Invitation {
            org_id: OrgId::parse(org).unwrap(),
            email: csms_domain::user::UserEmail::parse(email).unwrap(),
            role: csms_domain::user::Role::Driver,
            name: Some("Eva".into()),
            language: csms_domain::tenant::Language::Sv,
            invited_by: "admin".into(),
        }),
        t(at),
    )
}

/// A link is written once and changed by version (two uses: one wins);
/// an organisation's invitations are listed newest first, paged, and
/// password resets are not among them.
pub async fn email_links_versioned_and_invitations_listed_by_org<S: EmailLinkStore>(store: &S) {
    let first = invitation("org-i", "a@example.se", 100);
    store.create_email_link(&first).await.unwrap();
    assert!(matches!(
        store.create_email_link(&first).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_email_link(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_email_link(&LinkId::generate()).await.unwrap(),
        None
    );
    let second = invitation("org-i", "b@example.se", 200);
    store.create_email_link(&second).await.unwrap();
    let third = invitation("org-i", "c@example.se", 300);
    store.create_email_link(&third).await.unwrap();
    store
        .create_email_link(&invitation("org-j", "a@example.se", 400))
        .await
        .unwrap();
    let reset = EmailLink::new(
        LinkId::generate(),
        "cd".repeat(32),
        LinkPurpose::PasswordReset {
            user_id: csms_domain::user::UserId::generate(),
            password_fingerprint: "f".into(),
        },
        t(500),
    );
    store.create_email_link(&reset).await.unwrap();
    assert_eq!(store.get_email_link(&reset.id).await.unwrap(), Some(reset));

    // Used once: the second use, made from the same read, is a conflict.
    let mut used = first.clone();
    used.use_at(t(150)).unwrap();
    store.put_email_link(&used, first.version).await.unwrap();
    let mut again = first.clone();
    again.use_at(t(160)).unwrap();
    assert!(matches!(
        store.put_email_link(&again, first.version).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_email_link(&first.id).await.unwrap(),
        Some(used.clone())
    );

    let org = OrgId::parse("org-i").unwrap();
    let page = store
        .list_invitations(&org, &PageRequest::first(2))
        .await
        .unwrap();
    let ids = |p: &Page<EmailLink>| p.items.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&page), [third.id.clone(), second.id.clone()]);
    let rest = store
        .list_invitations(
            &org,
            &PageRequest {
                limit: 2,
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest), [used.id.clone()]);
    assert_eq!(rest.items[0], used, "listed as last written");
    assert!(rest.next_cursor.is_none());
}

/// A charging key is found by the key and by its EVSE; rotating replaces
/// it atomically (the old key no longer resolves), a write based on a key
/// that is no longer the EVSE's, or a key that exists, is a `Conflict` that
/// writes nothing.
pub async fn charging_keys_by_key_and_evse_and_rotated<S: ChargingKeyStore>(store: &S) {
    use csms_domain::charging_key::{ChargingKey, EvseChargingKey, KEY_BYTES};
    let key = |b: u8| ChargingKey::from_random([b; KEY_BYTES]);
    let record = |k: ChargingKey, station: &str, evse: u32| EvseChargingKey {
        key: k,
        station_id: sid(station),
        org_id: OrgId::parse("org-a").unwrap(),
        evse_id: evse,
        created_at: t(0),
    };
    assert_eq!(store.get_charging_key(&key(1)).await.unwrap(), None);
    assert_eq!(
        store.get_evse_charging_key(&sid("CP-K1"), 1).await.unwrap(),
        None
    );
    let first = record(key(1), "CP-K1", 1);
    // Based on a key the EVSE does not have: nothing written.
    assert!(matches!(
        store.put_charging_key(&first, Some(&key(9))).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_charging_key(&key(1)).await.unwrap(), None);
    store.put_charging_key(&first, None).await.unwrap();
    assert_eq!(
        store.get_charging_key(&key(1)).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_evse_charging_key(&sid("CP-K1"), 1).await.unwrap(),
        Some(first.clone())
    );
    // Another EVSE of the station, and the same EVSE of another station,
    // are their own.
    assert_eq!(
        store.get_evse_charging_key(&sid("CP-K1"), 2).await.unwrap(),
        None
    );
    let other = record(key(2), "CP-K2", 1);
    store.put_charging_key(&other, None).await.unwrap();
    // A second "first" key for the EVSE loses.
    let racing = record(key(3), "CP-K1", 1);
    assert!(matches!(
        store.put_charging_key(&racing, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_charging_key(&key(3)).await.unwrap(), None);
    // A key that exists (another EVSE's) is not taken over.
    let stolen = record(key(2), "CP-K1", 2);
    assert!(matches!(
        store.put_charging_key(&stolen, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_evse_charging_key(&sid("CP-K1"), 2).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_charging_key(&key(2)).await.unwrap(),
        Some(other.clone())
    );
    // Rotation: the new key resolves, the old one no longer does.
    let mut rotated = record(key(4), "CP-K1", 1);
    rotated.created_at = t(60);
    store
        .put_charging_key(&rotated, Some(&key(1)))
        .await
        .unwrap();
    assert_eq!(store.get_charging_key(&key(1)).await.unwrap(), None);
    assert_eq!(
        store.get_charging_key(&key(4)).await.unwrap(),
        Some(rotated.clone())
    );
    assert_eq!(
        store.get_evse_charging_key(&sid("CP-K1"), 1).await.unwrap(),
        Some(rotated.clone())
    );
    // A second rotation based on the old key loses, and writes nothing.
    let late = record(key(5), "CP-K1", 1);
    assert!(matches!(
        store.put_charging_key(&late, Some(&key(1))).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_charging_key(&key(5)).await.unwrap(), None);
    assert_eq!(
        store.get_charging_key(&key(4)).await.unwrap(),
        Some(rotated)
    );
}

fn ledger_tx(
    org: &str,
    reference: &str,
    amount: &str,
) -> csms_domain::billing::ledger::LedgerTransaction {
    use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
    let org = OrgId::parse(org).unwrap();
    let amount: Decimal = amount.parse().unwrap();
    LedgerTransaction::new(
        org.clone(),
        LedgerReference::parse(reference).unwrap(),
        "SEK".into(),
        format!("{reference} of {amount}"),
        vec![
            Posting::debit(
                Account::DriverReceivable {
                    org: org.clone(),
                    user: csms_domain::user::UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ0")
                        .unwrap(),
                },
                amount,
            ),
            Posting::credit(Account::OrganisationPayable { org }, amount),
        ],
        t(100),
    )
    .unwrap()
}

/// A ledger transaction is appended once per organisation and reference:
/// a retry (even with other amounts) returns the first and changes
/// nothing; another organisation's same reference is its own; an
/// organisation's transactions are listed in reference order, paged.
pub async fn ledger_appends_once_per_reference<S: LedgerStore>(store: &S) {
    use csms_domain::billing::ledger::LedgerReference;
    let first = ledger_tx("org-l", "invoice:2", "125.50");
    assert_eq!(
        store.append_ledger_transaction(&first).await.unwrap(),
        (first.clone(), true)
    );
    let retry = ledger_tx("org-l", "invoice:2", "999");
    assert_eq!(
        store.append_ledger_transaction(&retry).await.unwrap(),
        (first.clone(), false)
    );
    let org = OrgId::parse("org-l").unwrap();
    let reference = LedgerReference::parse("invoice:2").unwrap();
    assert_eq!(
        store
            .get_ledger_transaction(&org, &reference)
            .await
            .unwrap(),
        Some(first.clone())
    );
    let other = ledger_tx("org-m", "invoice:2", "5");
    assert!(store.append_ledger_transaction(&other).await.unwrap().1);
    assert_eq!(
        store
            .get_ledger_transaction(&OrgId::parse("org-m").unwrap(), &reference)
            .await
            .unwrap(),
        Some(other)
    );
    let one = ledger_tx("org-l", "invoice:1", "10");
    let three = ledger_tx("org-l", "invoice:3", "30");
    for tx in [&three, &one] {
        assert!(store.append_ledger_transaction(tx).await.unwrap().1);
    }
    let page = store
        .list_ledger_transactions(&org, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(page.items, [one, first]);
    let rest = store
        .list_ledger_transactions(
            &org,
            &PageRequest {
                limit: 2,
                cursor: page.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items, [three]);
    assert!(rest.next_cursor.is_none());
    assert_eq!(
        store
            .get_ledger_transaction(&org, &LedgerReference::parse("invoice:9").unwrap())
            .await
            .unwrap(),
        None
    );
}

/// A buyer who charged for a company when the document was issued.
pub fn sample_company() -> csms_domain::billing::invoice::ChargedFor {
    csms_domain::billing::invoice::ChargedFor::Company(csms_domain::user::BuyerCompany {
        legal_name: "Bergs Bygg AB".into(),
        organisation_number: csms_domain::tenant::OrganisationNumber::parse("556677-8899").unwrap(),
    })
}

pub fn sample_invoice(
    org: &str,
    period: &str,
    user: &str,
    seq: u64,
) -> csms_domain::billing::invoice::Invoice {
    use csms_domain::billing::invoice::{
        Buyer, ChargedFor, Invoice, InvoiceLine, InvoiceNumber, InvoiceParts, Seller,
    };
    use csms_domain::billing::period::Period;
    let dec = |s: &str| s.parse::<Decimal>().unwrap();
    Invoice::issue(InvoiceParts {
        org_id: OrgId::parse(org).unwrap(),
        period: Period::parse(period).unwrap(),
        number: InvoiceNumber::new("F-", seq).unwrap(),
        currency: "SEK".into(),
        issue_date: "2026-12-01".parse().unwrap(),
        due_date: "2026-12-31".parse().unwrap(),
        seller: Seller {
            legal_name: format!("{org} AB"),
            organisation_number: Some("556677-8899".into()),
            vat_number: Some("SE556677889901".into()),
            address: Some("Storgatan 1, 111 22 Stockholm".into()),
        },
        buyer: Buyer {
            user_id: csms_domain::user::UserId::parse(user).unwrap(),
            name: "Eva".into(),
            email: "eva@example.se".into(),
            charged_for: ChargedFor::Private,
        },
        charges: Vec::new(),
        lines: vec![InvoiceLine {
            session_id: SessionId::parse(format!("CP-I~{seq}")).unwrap(),
            station_id: sid("CP-I"),
            started_at: t(0),
            ended_at: t(3600),
            energy_kwh: dec("12.345"),
            tariff_name: "Boende".into(),
            price_revision: 1,
            vat_rate: dec("0.25"),
            net: dec("40.00"),
            vat: dec("10.00"),
            gross: dec("50.00"),
        }],
        created_at: t(seq as i64),
    })
    .map(|mut invoice| {
        invoice.ocr =
            csms_domain::billing::ocr::OcrReference::for_invoice(sample_code(org), seq).unwrap();
        invoice
    })
    .unwrap()
}

/// Fees and one-off charges are kept under their organisation: another
/// organisation's id reads as absent and deletes nothing; a fee's change
/// needs the version read (`Conflict` otherwise, also once it is gone); a
/// second create of an id is a `Conflict`; listings are in id order, paged,
/// and a period's charges are those dated in it.
pub async fn fees_and_charges_kept_per_org_versioned_and_listed<S: FeeStore>(store: &S) {
    use csms_domain::billing::fee::{ChargeId, Fee, FeeId, FeeTarget, OneOffCharge};
    use csms_domain::billing::period::Period;
    use csms_domain::user::UserId;
    let (a, b) = (
        OrgId::parse("fee-a").unwrap(),
        OrgId::parse("fee-b").unwrap(),
    );
    let user = UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
    let fee = |org: &OrgId, n: u8| Fee {
        id: FeeId::parse(&format!(
            "fee_01ARZ3NDEKTSV4RRFFQ69G5FA{}",
            char::from(b'0' + n)
        ))
        .unwrap(),
        org_id: org.clone(),
        name: format!("Parkeringsplats {n}"),
        target: match n % 2 {
            0 => FeeTarget::Driver(user.clone()),
            _ => FeeTarget::Group("residents".into()),
        },
        amount: Decimal::new(50_000, 2),
        includes_vat: n.is_multiple_of(2),
        vat_rate: Decimal::new(25, 2),
        start: "2026-11-16".parse().unwrap(),
        end: (n == 1).then(|| "2027-06-30".parse().unwrap()),
        created_at: t(i64::from(n)),
        updated_at: None,
        version: 1,
    };
    for n in [3, 1, 2] {
        store.create_fee(&fee(&a, n)).await.unwrap();
    }
    store.create_fee(&fee(&b, 4)).await.unwrap();
    assert!(matches!(
        store.create_fee(&fee(&a, 1)).await,
        Err(StoreError::Conflict(_))
    ));
    let f1 = fee(&a, 1);
    assert_eq!(store.get_fee(&a, &f1.id).await.unwrap(), Some(f1.clone()));
    assert_eq!(
        store.get_fee(&b, &f1.id).await.unwrap(),
        None,
        "another org's id"
    );
    let first = store.list_fees(&a, &PageRequest::first(2)).await.unwrap();
    let names: Vec<_> = first.items.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Parkeringsplats 1", "Parkeringsplats 2"]);
    let rest = store
        .list_fees(
            &a,
            &PageRequest {
                limit: 2,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items, vec![fee(&a, 3)]);
    assert_eq!(rest.next_cursor, None);
    let mut changed = f1.clone();
    changed.amount = Decimal::new(600, 0);
    changed.version = 2;
    changed.updated_at = Some(t(100));
    store.put_fee(&changed, 1).await.unwrap();
    assert!(matches!(
        store.put_fee(&changed, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_fee(&a, &f1.id).await.unwrap(),
        Some(changed.clone())
    );
    assert!(
        !store.delete_fee(&b, &f1.id).await.unwrap(),
        "another org's id"
    );
    assert!(store.delete_fee(&a, &f1.id).await.unwrap());
    assert!(!store.delete_fee(&a, &f1.id).await.unwrap());
    assert_eq!(store.get_fee(&a, &f1.id).await.unwrap(), None);
    changed.version = 3;
    assert!(matches!(
        store.put_fee(&changed, 2).await,
        Err(StoreError::Conflict(_))
    ));
    let charge = |org: &OrgId, n: u8, date: &str| OneOffCharge {
        id: ChargeId::parse(&format!(
            "chg_01ARZ3NDEKTSV4RRFFQ69G5FA{}",
            char::from(b'0' + n)
        ))
        .unwrap(),
        org_id: org.clone(),
        user_id: user.clone(),
        description: format!("Nyckelbricka {n}"),
        amount: Decimal::new(10_000, 2),
        includes_vat: true,
        vat_rate: Decimal::new(25, 2),
        date: date.parse().unwrap(),
        created_at: t(i64::from(n)),
    };
    store
        .create_charge(&charge(&a, 1, "2026-11-30"))
        .await
        .unwrap();
    store
        .create_charge(&charge(&a, 2, "2026-12-01"))
        .await
        .unwrap();
    store
        .create_charge(&charge(&a, 3, "2026-11-01"))
        .await
        .unwrap();
    store
        .create_charge(&charge(&b, 4, "2026-11-15"))
        .await
        .unwrap();
    assert!(matches!(
        store.create_charge(&charge(&a, 1, "2026-11-30")).await,
        Err(StoreError::Conflict(_))
    ));
    let c1 = charge(&a, 1, "2026-11-30");
    assert_eq!(
        store.get_charge(&a, &c1.id).await.unwrap(),
        Some(c1.clone())
    );
    assert_eq!(store.get_charge(&b, &c1.id).await.unwrap(), None);
    let november = Period::parse("2026-11").unwrap();
    let listed = store
        .list_charges(&a, Some(november), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![c1.clone(), charge(&a, 3, "2026-11-01")]);
    let all = store
        .list_charges(&a, None, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    // Paged through a filter: one a page, November's two, then done.
    let mut page = PageRequest::first(1);
    let mut seen = Vec::new();
    loop {
        let p = store.list_charges(&a, Some(november), &page).await.unwrap();
        seen.extend(p.items.into_iter().map(|c| c.id));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec![c1.id.clone(), charge(&a, 3, "2026-11-01").id]);
    assert!(!store.delete_charge(&b, &c1.id).await.unwrap());
    assert!(store.delete_charge(&a, &c1.id).await.unwrap());
    assert_eq!(store.get_charge(&a, &c1.id).await.unwrap(), None);
}

/// A billing code per sample organisation (its name's bytes summed), so
/// the samples' OCR references differ between organisations.
fn sample_code(org: &str) -> u64 {
    org.bytes().map(u64::from).sum()
}

/// Invoices take the next number of their issuer's series in the write
/// that stores them: a retry of an invoice already stored, or a number
/// that is not the next, is a `Conflict` that writes nothing (no number
/// burnt or repeated); each organisation has its own series; listings
/// filter by period, driver and status, highest number first, and a
/// person's invoices come from every organisation.
/// A credit note of `invoice` crediting `amount` (gross, at 25 %) as the
/// `seq`th of its issuer's credit notes.
pub fn sample_credit_note(
    invoice: &csms_domain::billing::invoice::Invoice,
    seq: u64,
    amount: &str,
) -> csms_domain::billing::credit_note::CreditNote {
    use csms_domain::billing::credit_note::{
        credit, number, CreditAmount, CreditHeader, CreditRequest,
    };
    credit(
        invoice,
        &[],
        &CreditRequest {
            sessions: vec![],
            charges: vec![],
            amount: Some(CreditAmount {
                amount: amount.parse().unwrap(),
                includes_vat: true,
                vat_rate: "0.25".parse().unwrap(),
            }),
            reason: "Rabatt".into(),
        },
        CreditHeader {
            number: number(seq).unwrap(),
            issue_date: "2026-12-10".parse().unwrap(),
            created_by: "user:usr_01JABCDEFGHJKMNPQRSTVWXYZ9".into(),
            created_at: t(100 + seq as i64),
        },
    )
    .unwrap()
}

pub async fn credit_notes_numbered_gaplessly_with_their_invoice<
    S: InvoiceStore + CreditNoteStore,
>(
    store: &S,
) {
    const U1: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ1";
    let org = OrgId::parse("org-cn").unwrap();
    let other = OrgId::parse("org-cm").unwrap();
    // A company's invoice: the note keeps the buyer's company as issued.
    let mut invoice = sample_invoice("org-cn", "2026-11", U1, 1);
    invoice.buyer.charged_for = sample_company();
    store.issue_invoice(&invoice).await.unwrap();
    assert_eq!(store.last_credit_note_number(&org).await.unwrap(), 0);
    let credited = |invoice: &csms_domain::billing::invoice::Invoice,
                    note: &csms_domain::billing::credit_note::CreditNote| {
        let mut next = invoice.clone();
        next.credit_notes.push(note.reference());
        next.version = invoice.version + 1;
        next
    };
    let first = sample_credit_note(&invoice, 1, "10");
    let after_first = credited(&invoice, &first);
    store
        .issue_credit_note(&first, &after_first, invoice.version)
        .await
        .unwrap();
    assert_eq!(store.last_credit_note_number(&org).await.unwrap(), 1);
    assert_eq!(
        store.get_credit_note(&org, &first.number).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_invoice(&invoice.id).await.unwrap(),
        Some(after_first.clone())
    );
    // Another organisation does not see it.
    assert_eq!(
        store.get_credit_note(&other, &first.number).await.unwrap(),
        None
    );
    // A second note that read the invoice before the first (its version is
    // gone) is refused whole: neither the number nor the invoice moves.
    let stale = sample_credit_note(&invoice, 2, "5");
    assert!(matches!(
        store
            .issue_credit_note(&stale, &credited(&invoice, &stale), invoice.version)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.last_credit_note_number(&org).await.unwrap(), 1);
    assert_eq!(
        store.get_credit_note(&org, &stale.number).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_invoice(&invoice.id).await.unwrap(),
        Some(after_first.clone())
    );
    // A number taken, or one that skips, is refused.
    for seq in [1, 3] {
        let wrong = sample_credit_note(&after_first, seq, "5");
        assert!(matches!(
            store
                .issue_credit_note(&wrong, &credited(&after_first, &wrong), after_first.version)
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(
        store.get_invoice(&invoice.id).await.unwrap(),
        Some(after_first.clone())
    );
    let second = sample_credit_note(&after_first, 2, "5");
    let after_second = credited(&after_first, &second);
    store
        .issue_credit_note(&second, &after_second, after_first.version)
        .await
        .unwrap();
    assert_eq!(store.last_credit_note_number(&org).await.unwrap(), 2);
    let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
    assert_eq!(stored.credit_notes.len(), 2);
    assert_eq!(stored.credited(), Some("15.00".parse().unwrap()));
    // The credit note series is apart from the invoice series.
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 1);
}

pub async fn invoices_numbered_gaplessly_per_issuer<S: InvoiceStore>(store: &S) {
    use csms_domain::billing::invoice::InvoiceStatus;
    use csms_domain::billing::period::Period;
    use csms_domain::user::UserId;
    const U1: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ1";
    const U2: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ2";
    let org = OrgId::parse("org-v").unwrap();
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 0);
    let first = sample_invoice("org-v", "2026-10", U1, 1);
    store.issue_invoice(&first).await.unwrap();
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 1);
    assert_eq!(
        store.get_invoice(&first.id).await.unwrap(),
        Some(first.clone())
    );
    // A retry of the same invoice with the next number: it exists, nothing moves.
    let retry = sample_invoice("org-v", "2026-10", U1, 2);
    assert!(matches!(
        store.issue_invoice(&retry).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 1);
    assert_eq!(
        store.get_invoice(&first.id).await.unwrap(),
        Some(first.clone())
    );
    // A number already taken, or one that skips, is refused.
    for seq in [1, 3] {
        let wrong = sample_invoice("org-v", "2026-10", U2, seq);
        assert!(matches!(
            store.issue_invoice(&wrong).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.get_invoice(&wrong.id).await.unwrap(), None);
    }
    let second = sample_invoice("org-v", "2026-10", U2, 2);
    store.issue_invoice(&second).await.unwrap();
    // The buyer's company as issued is kept with the invoice.
    let mut third = sample_invoice("org-v", "2026-11", U1, 3);
    third.buyer.charged_for = sample_company();
    store.issue_invoice(&third).await.unwrap();
    assert_eq!(
        store.get_invoice(&third.id).await.unwrap(),
        Some(third.clone())
    );
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 3);
    // Another issuer's series starts at 1.
    let elsewhere = sample_invoice("org-w", "2026-10", U1, 1);
    store.issue_invoice(&elsewhere).await.unwrap();
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 3);

    let list = |period: Option<&str>, user: Option<&str>, limit: u32, cursor: Option<String>| {
        let query = InvoiceQuery {
            org_id: org.clone(),
            period: period.map(|p| Period::parse(p).unwrap()),
            user_id: user.map(|u| UserId::parse(u).unwrap()),
            status: Some(InvoiceStatus::Issued),
            page: PageRequest { limit, cursor },
        };
        async move { store.list_invoices(&query).await.unwrap() }
    };
    let numbers = |p: &Page<csms_domain::billing::invoice::Invoice>| {
        p.items.iter().map(|i| i.number.seq()).collect::<Vec<_>>()
    };
    let page = list(None, None, 2, None).await;
    assert_eq!(numbers(&page), [3, 2]);
    let rest = list(None, None, 2, page.next_cursor.clone()).await;
    assert_eq!(numbers(&rest), [1]);
    assert!(rest.next_cursor.is_none());
    assert_eq!(
        numbers(&list(Some("2026-10"), None, 10, None).await),
        [2, 1]
    );
    assert_eq!(numbers(&list(None, Some(U1), 10, None).await), [3, 1]);
    assert_eq!(
        numbers(&list(Some("2026-11"), Some(U2), 10, None).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        list(Some("2026-10"), Some(U2), 10, None).await.items,
        [second]
    );

    let mine = store
        .list_user_invoices(&UserId::parse(U1).unwrap(), &PageRequest::first(10))
        .await
        .unwrap();
    let ids: Vec<_> = mine.items.iter().map(|i| i.id.clone()).collect();
    // Newest first; of two made at once, the higher id first.
    assert_eq!(ids, [third.id, elsewhere.id, first.id]);
}

fn usage_day(org: &str, station: &str, evse: u32, day: &str) -> UsageDay {
    let day: chrono::NaiveDate = day.parse().unwrap();
    let at = day.and_hms_opt(10, 15, 0).unwrap().and_utc();
    let mut d = UsageDay::new(
        UsageKey {
            org_id: OrgId::parse(org).unwrap(),
            station_id: sid(station),
            evse_id: evse,
            day,
        },
        Some(SiteId::parse("garage").unwrap()),
        Some(Use::Available),
    );
    d.apply(&UsageFact::State {
        at,
        state: Use::Charging,
    });
    d.apply(&UsageFact::Session {
        session_id: SessionId::parse(format!("{station}~{evse}")).unwrap(),
        started_at: at,
        ended_at: Some(at + TimeDelta::minutes(90)),
        energy_wh: Some(Decimal::new(12_345, 1)),
        revenue: Some(Revenue {
            revision: 1,
            currency: "SEK".into(),
            net: Decimal::new(800, 2),
            vat: Decimal::new(200, 2),
            gross: Decimal::new(1000, 2),
        }),
    });
    d.apply(&UsageFact::Power {
        at,
        watts: Decimal::from(11_000),
    });
    d.version = 1;
    d
}

/// An EVSE's day is written new once and then by version; the latest day
/// before another is found however far back; an organisation's days of a
/// date range are listed across months, and no other organisation's.
pub async fn usage_days_versioned_and_listed_by_org<S: UsageStore>(store: &S) {
    let first = usage_day("org-u", "CP-U", 1, "2026-11-05");
    store.put_usage_day(&first, 0).await.unwrap();
    assert!(matches!(
        store.put_usage_day(&first, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_usage_day(&first.key).await.unwrap().as_ref(),
        Some(&first)
    );
    let mut second = first.clone();
    second.apply(&UsageFact::State {
        at: first.marks[0].at + TimeDelta::hours(1),
        state: Use::Occupied,
    });
    second.version = 2;
    store.put_usage_day(&second, 1).await.unwrap();
    assert!(matches!(
        store.put_usage_day(&second, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_usage_day(&first.key).await.unwrap(),
        Some(second.clone())
    );

    let october = usage_day("org-u", "CP-U", 1, "2026-10-31");
    let later = usage_day("org-u", "CP-U", 1, "2026-11-08");
    let other_evse = usage_day("org-u", "CP-U", 2, "2026-11-05");
    let station = usage_day("org-u", "CP-U", 0, "2026-11-06");
    let theirs = usage_day("org-w", "CP-U", 1, "2026-11-05");
    for d in [&october, &later, &other_evse, &station, &theirs] {
        store.put_usage_day(d, 0).await.unwrap();
    }

    let before = |d: &UsageDay| {
        let key = d.key.clone();
        async move { store.usage_day_before(&key).await.unwrap() }
    };
    assert_eq!(before(&later).await, Some(second.clone()));
    assert_eq!(before(&second).await, Some(october.clone()));
    assert_eq!(before(&october).await, None);
    assert_eq!(before(&other_evse).await, None);
    assert_eq!(before(&theirs).await, None);

    let org = OrgId::parse("org-u").unwrap();
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let listed = |from: &'static str, to: &'static str| {
        let org = org.clone();
        async move {
            let mut days = store
                .list_usage_days(&org, day(from), day(to))
                .await
                .unwrap();
            days.sort_by(|a, b| a.key.cmp(&b.key));
            days
        }
    };
    assert_eq!(
        listed("2026-10-31", "2026-11-08").await,
        [station, october, second.clone(), later, other_evse.clone()]
    );
    assert_eq!(
        listed("2026-11-01", "2026-11-05").await,
        [second, other_evse]
    );
    assert_eq!(listed("2026-11-09", "2026-12-31").await, []);
}

/// Each organisation gets one billing code, from 1 and never repeated,
/// also when callers race; an issued invoice is found by its OCR
/// reference, and a second invoice with a taken reference is a `Conflict`
/// that writes nothing.
pub async fn invoices_found_by_ocr_and_billing_codes_assigned_once<S: InvoiceStore>(store: &S) {
    use csms_domain::billing::ocr::OcrReference;
    const U1: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ1";
    const U2: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ2";
    let (a, b) = (
        OrgId::parse("org-ocr-a").unwrap(),
        OrgId::parse("org-ocr-b").unwrap(),
    );
    let (first_a, first_b) = tokio::join!(store.billing_code(&a), store.billing_code(&b));
    let (code_a, code_b) = (first_a.unwrap(), first_b.unwrap());
    assert_ne!(code_a, code_b);
    let mut codes = [code_a, code_b];
    codes.sort();
    assert_eq!(codes, [1, 2]);
    let (x, y, z) = tokio::join!(
        store.billing_code(&a),
        store.billing_code(&a),
        store.billing_code(&a)
    );
    for code in [x, y, z] {
        assert_eq!(code.unwrap(), code_a);
    }
    assert_eq!(store.billing_code(&b).await.unwrap(), code_b);

    let invoice = sample_invoice("org-ocr-a", "2026-10", U1, 1);
    let unknown = OcrReference::for_invoice(999, 1).unwrap();
    assert_eq!(store.find_invoice_by_ocr(&invoice.ocr).await.unwrap(), None);
    store.issue_invoice(&invoice).await.unwrap();
    assert_eq!(
        store.find_invoice_by_ocr(&invoice.ocr).await.unwrap(),
        Some(invoice.clone())
    );
    assert_eq!(store.find_invoice_by_ocr(&unknown).await.unwrap(), None);
    // Another invoice with the same reference is refused, nothing written.
    let mut twin = sample_invoice("org-ocr-b", "2026-10", U2, 1);
    twin.ocr = invoice.ocr.clone();
    assert!(matches!(
        store.issue_invoice(&twin).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_invoice(&twin.id).await.unwrap(), None);
    assert_eq!(store.last_invoice_number(&b).await.unwrap(), 0);
    assert_eq!(
        store.find_invoice_by_ocr(&invoice.ocr).await.unwrap(),
        Some(invoice)
    );
}

pub fn sample_payment(
    id: &str,
    reference: &str,
    amount: &str,
) -> csms_domain::billing::payment::Payment {
    use csms_domain::billing::payment::{Payment, PaymentId};
    Payment {
        id: PaymentId::parse(id).unwrap(),
        provider: "bankgiro".into(),
        reference: reference.into(),
        amount: amount.parse().unwrap(),
        currency: "SEK".into(),
        paid_on: "2026-12-04".parse().unwrap(),
        payer_name: Some("Eva".into()),
        invoice_id: None,
        org_id: None,
        surplus: Decimal::ZERO,
        received_at: t(100),
        version: 1,
    }
}

/// A payment is recorded once per id (a second import returns the first);
/// unmatched payments are listed until matched, then under their
/// invoice; a versioned write with a stale version is a `Conflict`; an
/// invoice's status is replaced by a versioned write.
pub async fn payments_recorded_once_matched_and_listed<S: InvoiceStore + PaymentStore>(store: &S) {
    use csms_domain::billing::invoice::InvoiceStatus;
    const U1: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ1";
    let invoice = sample_invoice("org-pay", "2026-10", U1, 1);
    store.issue_invoice(&invoice).await.unwrap();

    let a = sample_payment("bgmax:17:000000000001", "123", "10.00");
    let b = sample_payment("bgmax:17:000000000002", "", "20.00");
    let c = sample_payment("bgmax:18:000000000001", "9", "30.00");
    for p in [&a, &b, &c] {
        assert_eq!(store.record_payment(p).await.unwrap(), (p.clone(), true));
    }
    let mut again = a.clone();
    again.amount = "999".parse().unwrap();
    assert_eq!(
        store.record_payment(&again).await.unwrap(),
        (a.clone(), false)
    );
    assert_eq!(store.get_payment(&a.id).await.unwrap(), Some(a.clone()));

    let first = store
        .list_unmatched_payments(&PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(first.items, [a.clone(), b.clone()]);
    let rest = store
        .list_unmatched_payments(&PageRequest {
            limit: 2,
            cursor: first.next_cursor.clone(),
        })
        .await
        .unwrap();
    assert_eq!(rest.items, std::slice::from_ref(&c));
    assert!(rest.next_cursor.is_none());

    // Matching moves it from the unmatched list to the invoice's.
    let mut matched = b.clone();
    matched.invoice_id = Some(invoice.id.clone());
    matched.org_id = Some(invoice.org_id.clone());
    matched.version = 2;
    store.put_payment(&matched, 1).await.unwrap();
    assert!(matches!(
        store.put_payment(&matched, 1).await,
        Err(StoreError::Conflict(_))
    ));
    let unmatched = store
        .list_unmatched_payments(&PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(unmatched.items, [a.clone(), c.clone()]);
    assert_eq!(
        store.list_invoice_payments(&invoice.id).await.unwrap(),
        [matched.clone()]
    );
    let other = sample_invoice("org-pay", "2026-10", "usr_01JABCDEFGHJKMNPQRSTVWXYZ2", 2);
    assert_eq!(store.list_invoice_payments(&other.id).await.unwrap(), []);

    let mut paid = invoice.clone();
    paid.status = InvoiceStatus::Paid;
    // Its reminders and block are kept with it.
    paid.reminders = vec![csms_domain::billing::dunning::Reminder {
        number: 1,
        on: "2027-01-03".parse().unwrap(),
        amount_due: "50.00".parse().unwrap(),
        fee: Some("60.00".parse().unwrap()),
        recorded_at: t(10),
        mailed_at: Some(t(11)),
    }];
    paid.block = Some(csms_domain::billing::dunning::InvoiceBlock {
        on: "2027-01-17".parse().unwrap(),
        at: t(12),
        lifted_at: Some(t(13)),
        lifted_by: Some("payment".into()),
    });
    paid.version = 2;
    store.put_invoice(&paid, 1).await.unwrap();
    assert!(matches!(
        store.put_invoice(&paid, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_invoice(&invoice.id).await.unwrap(),
        Some(paid.clone())
    );
    assert_eq!(
        store.find_invoice_by_ocr(&invoice.ocr).await.unwrap(),
        Some(paid)
    );
}

/// Expands to one `#[tokio::test]` per contract check. `$make` is an async
/// expression producing a fresh, empty store.
/// A document store (not part of [`Store`]; its adapters call this from a
/// test of their own): bytes back as written, replaced whole, keys apart.
pub async fn documents_stored_whole_and_replaced<S: DocumentStore + ?Sized>(store: &S) {
    let key = |k: &str| DocumentKey::parse(k).unwrap();
    let a = key("invoices/brf-a/brf-a~2026-11~usr_1.pdf");
    assert_eq!(store.get_document(&a).await.unwrap(), None);
    let first: Vec<u8> = b"%PDF-1.3\n\x00\xff binary".to_vec();
    store
        .put_document(&a, "application/pdf", &first)
        .await
        .unwrap();
    assert_eq!(store.get_document(&a).await.unwrap(), Some(first.clone()));
    // Keys apart: a prefix, a longer name and another folder are others.
    for other in [
        "invoices/brf-a/brf-a~2026-11~usr_1",
        "invoices/brf-a/brf-a~2026-11~usr_1.pdf.bak",
        "invoices/brf-b/brf-a~2026-11~usr_1.pdf",
    ] {
        assert_eq!(
            store.get_document(&key(other)).await.unwrap(),
            None,
            "{other}"
        );
    }
    // Replaced whole, by a larger and then a smaller one.
    let large: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put_document(&a, "application/pdf", &large)
        .await
        .unwrap();
    assert_eq!(store.get_document(&a).await.unwrap(), Some(large));
    store
        .put_document(&a, "application/pdf", b"x")
        .await
        .unwrap();
    assert_eq!(store.get_document(&a).await.unwrap(), Some(b"x".to_vec()));
    // An empty document is a document.
    let empty = key("empty.txt");
    store.put_document(&empty, "text/plain", b"").await.unwrap();
    assert_eq!(store.get_document(&empty).await.unwrap(), Some(Vec::new()));
    // Keys that would leave the folder or name nothing are not keys.
    for bad in [
        "", "/a", "a/", "a//b", "../a", "a/../b", ".hidden", "a b", "å", "a\\b",
    ] {
        assert!(DocumentKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            stations_create_get_conflict,
            stations_list_paginates_within_org,
            boot_and_connector_status_newest_wins,
            connections_open_touch_close,
            offline_list_left_by_a_reconnect,
            lingering_connectors_listed_until_their_status_changes,
            station_approval_reaches_the_connection,
            stations_change_move_and_delete,
            id_tokens_case_insensitive,
            id_tokens_versioned_update_and_delete,
            unregistered_tokens_bounded_listed_and_registered,
            transaction_ids_unique_and_increasing,
            sessions_are_versioned,
            sessions_list_by_station_and_time,
            meter_readings_idempotent_and_ordered,
            idempotency_keys_claim_once,
            station_events_newest_first,
            commands_create_get_put,
            commands_queue_per_station,
            commands_history_newest_first,
            api_keys_create_revoke_list,
            webhooks_create_delete_list,
            deliveries_history_and_queue,
            tariffs_versions_and_listing,
            tariff_assignments,
            spot_days_replace,
            alarms_raise_resolve,
            alarms_handled_by_hand,
            alarm_settings_versioned_per_org,
            priced_sessions_revisions,
            load_sites_versioned_and_listed,
            load_states_versioned_and_deleted_with_site,
            device_model_report_parts,
            device_model_report_parts_bounded,
            device_models_versioned_and_whole,
            organisations_versioned_and_listed,
            default_organisation_made_once,
            sites_versioned_listed_by_org_and_deleted,
            audit_log_newest_first_per_org,
            users_unique_by_email_versioned_and_listed_by_org,
            user_sessions_touched_and_deleted,
            station_access_versioned_and_attempts_newest_first,
            garage_identities_one_per_station_versioned_and_deleted,
            local_lists_versioned_and_listed_by_org,
            held_tokens_and_sessions_listed_per_person,
            ratings_versioned_listed_and_summed,
            bookings_conflict_versioned_and_due,
            bookings_listed_per_person,
            booking_person_index_backfill_is_idempotent,
            email_links_versioned_and_invitations_listed_by_org,
            charging_keys_by_key_and_evse_and_rotated,
            ledger_appends_once_per_reference,
            invoices_numbered_gaplessly_per_issuer,
            usage_days_versioned_and_listed_by_org,
            invoices_found_by_ocr_and_billing_codes_assigned_once,
            payments_recorded_once_matched_and_listed,
            fees_and_charges_kept_per_org_versioned_and_listed,
            credit_notes_numbered_gaplessly_with_their_invoice
        );
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make;
                $crate::contract::$name(&store).await;
            }
        )*
    };
}
