//! The usage subscriber over the embedded store: charger events become
//! usage days, a replayed event counts once, and the report reads them.

use chrono::NaiveDate;
use csms_domain::session::Session;
use csms_domain::station::{Approval, Connection, ConnectorStatus};
use csms_domain::usage::{UsageKey, Use};
use csms_domain::{OcppVersion, OrgId, StationId, Timestamp, TransactionId};
use csms_kernel::events::{DomainEvent, StationRef, Subscriber};
use csms_kernel::ports::UsageStore;
use csms_reports::compute::{GroupBy, Scope, Span};
use csms_reports::{ReportRequest, ReportService, UsageSubscriber};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::sync::Arc;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn org() -> OrgId {
    OrgId::parse("brf-solrosen").unwrap()
}

fn station_ref() -> StationRef {
    StationRef {
        org_id: org(),
        station_id: StationId::parse("CP-1").unwrap(),
        site_id: None,
    }
}

fn status(s: &str, at: &str) -> DomainEvent {
    DomainEvent::ConnectorStatus {
        station: station_ref(),
        status: ConnectorStatus {
            evse_id: 1,
            connector_id: 1,
            status: s.into(),
            error_code: None,
            info: None,
            updated_at: t(at),
        },
        at: t(at),
    }
}

fn session(started: &str, ended: Option<&str>) -> Session {
    let mut s = Session::blank(
        &StationId::parse("CP-1").unwrap(),
        org(),
        None,
        &TransactionId::parse("7").unwrap(),
        t(started),
    );
    s.evse_id = Some(1);
    s.started_at = Some(t(started));
    s.ended_at = ended.map(t);
    s.explicit_meter_start_wh = Some(Decimal::from(1000));
    s.explicit_meter_stop_wh = ended.map(|_| Decimal::from(8500));
    if ended.is_some() {
        s.status = csms_domain::session::SessionStatus::Completed;
    }
    s
}

#[tokio::test]
async fn events_become_usage_days_and_a_replay_counts_once() {
    let store = Arc::new(EmbeddedStore::temporary());
    let subscriber = UsageSubscriber::new(store.clone());
    let connection = Connection {
        connection_id: "c1".into(),
        station_id: StationId::parse("CP-1").unwrap(),
        org_id: org(),
        site_id: None,
        ocpp_version: OcppVersion::V16,
        connected_at: t("2026-11-05T21:00:00Z"),
        last_seen_at: t("2026-11-05T21:00:00Z"),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: Approval::Accepted,
        clock: None,
        messages: 0,
        flood: None,
    };
    let events = vec![
        DomainEvent::StationConnected { connection },
        status("Available", "2026-11-05T21:00:00Z"),
        status("Preparing", "2026-11-05T22:30:00Z"),
        DomainEvent::SessionStarted {
            session: session("2026-11-05T22:30:00Z", None),
            at: t("2026-11-05T22:30:00Z"),
        },
        status("Charging", "2026-11-05T22:40:00Z"),
        status("SuspendedEV", "2026-11-06T00:40:00Z"),
        DomainEvent::SessionEnded {
            session: session("2026-11-05T22:30:00Z", Some("2026-11-06T01:10:00Z")),
            at: t("2026-11-06T01:10:00Z"),
        },
        status("Available", "2026-11-06T01:10:00Z"),
    ];
    for e in &events {
        subscriber.on(e).await;
    }
    let key = |d: &str, evse| UsageKey {
        org_id: org(),
        station_id: StationId::parse("CP-1").unwrap(),
        evse_id: evse,
        day: d.parse::<NaiveDate>().unwrap(),
    };
    let friday = store
        .get_usage_day(&key("2026-11-06", 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        friday.opening,
        Some(Use::Charging),
        "Thursday's closing state"
    );
    let before = store
        .list_usage_days(
            &org(),
            "2026-11-01".parse().unwrap(),
            "2026-11-30".parse().unwrap(),
        )
        .await
        .unwrap();

    // Every event again (a replayed queue, a resent message): nothing is
    // written, no version moves.
    for e in &events {
        subscriber.on(e).await;
    }
    let after = store
        .list_usage_days(
            &org(),
            "2026-11-01".parse().unwrap(),
            "2026-11-30".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(after, before);

    let reports = ReportService::new(store.clone());
    let report = reports
        .usage(
            &org(),
            &ReportRequest {
                span: Span::month(2026, 11).unwrap(),
                time_zone: Some(chrono_tz::Europe::Stockholm),
                group_by: GroupBy::Evse,
                scope: Scope::default(),
            },
            t("2026-11-06T02:10:00Z"),
        )
        .await
        .unwrap();
    let f = &report.usage.total;
    assert_eq!(f.sessions, 1);
    assert_eq!(f.energy_kwh(), Decimal::new(75, 1));
    assert_eq!(f.charging_secs(), 7200);
    assert_eq!(f.occupied_secs(), 9600);
    // From 21:00Z (when it connected) to now.
    assert_eq!(f.known_secs(), 5 * 3600 + 10 * 60);
    assert_eq!(f.average_session_secs(), Some(9600));
    assert_eq!(report.previous.sessions, 0);
    assert_eq!(report.previous_span.from, "2026-10-02".parse().unwrap());
}
