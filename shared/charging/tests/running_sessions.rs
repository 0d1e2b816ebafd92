//! The running-session rules of the idle-session sweep, over the embedded
//! store: a session without energy readings raises `noMeterValues` once
//! and a reading resolves it; a register that stands still while the
//! connector says `Charging` raises `chargingNothing`, a paused car
//! (`SuspendedEV`) raises nothing, and the end of the session resolves it.

use chrono::{DateTime, TimeDelta, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::station::ConnectorStatus;
use csms_domain::{OrgId, StationId, TransactionId};
use csms_kernel::contract::station;
use csms_kernel::ports::{AlarmStore, SessionStore, StationStore, SystemClock};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn running(store: &EmbeddedStore, cs: &str, tx: i64, started: &str) -> Session {
    let mut s = Session::blank(
        &StationId::parse(cs).unwrap(),
        OrgId::default_org(),
        None,
        &TransactionId::from(tx),
        t(started),
    );
    s.status = SessionStatus::Active;
    s.started_at = Some(t(started));
    s.evse_id = Some(1);
    s.connector_id = Some(1);
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    s
}

async fn active(store: &EmbeddedStore, id: &str) -> bool {
    store
        .get_alarm(id)
        .await
        .unwrap()
        .is_some_and(|a| a.is_active())
}

#[tokio::test]
async fn running_sessions_without_readings_or_energy_raise_and_resolve() {
    let store = Arc::new(EmbeddedStore::temporary());
    let charger = ChargerService::new(
        store.clone(),
        Arc::new(SystemClock),
        ChargerConfig::default(),
    );
    let org = OrgId::default_org();
    let idle = TimeDelta::hours(24);
    let lookback = TimeDelta::days(35);
    for cs in ["CP-QUIET", "CP-STILL", "CP-PAUSED"] {
        store
            .create_station(&station(cs, "default", None))
            .await
            .unwrap();
    }

    // Started an hour ago, no reading since.
    let mut quiet = running(&store, "CP-QUIET", 1, "2026-12-07T09:00:00Z").await;
    quiet.updated_at = t("2026-12-07T09:00:00Z");
    quiet.version = 2;
    store.put_session(&quiet, 1).await.unwrap();
    // Readings every minute, the register at 5000 Wh since 09:05.
    let mut still = running(&store, "CP-STILL", 2, "2026-12-07T09:00:00Z").await;
    still.first_register = Some((t("2026-12-07T09:05:00Z"), Decimal::new(5000, 0)));
    still.last_register = Some((t("2026-12-07T09:59:00Z"), Decimal::new(5000, 0)));
    still.updated_at = t("2026-12-07T09:59:00Z");
    still.version = 2;
    store.put_session(&still, 1).await.unwrap();
    let mut paused = running(&store, "CP-PAUSED", 3, "2026-12-07T09:00:00Z").await;
    paused.first_register = still.first_register;
    paused.last_register = still.last_register;
    paused.updated_at = still.updated_at;
    paused.version = 2;
    store.put_session(&paused, 1).await.unwrap();
    for (cs, status) in [("CP-STILL", "Charging"), ("CP-PAUSED", "SuspendedEV")] {
        let status = ConnectorStatus {
            evse_id: 1,
            connector_id: 1,
            status: status.into(),
            error_code: None,
            info: None,
            updated_at: t("2026-12-07T09:01:00Z"),
        };
        store
            .set_connector_status(&org, &StationId::parse(cs).unwrap(), &status)
            .await
            .unwrap();
    }

    // 09:20: nothing is late yet.
    let early = t("2026-12-07T09:20:00Z");
    assert_eq!(
        charger
            .close_idle_sessions(&org, idle, lookback, early)
            .await
            .unwrap(),
        0
    );
    let quiet_alarm = format!("no-meter-values:{}", quiet.id);
    let still_alarm = format!("charging-nothing:{}", still.id);
    assert!(!active(&store, &quiet_alarm).await);
    assert!(!active(&store, &still_alarm).await);

    // 10:00: an hour without readings; 55 min of readings without energy.
    let now = t("2026-12-07T10:00:00Z");
    charger
        .close_idle_sessions(&org, idle, lookback, now)
        .await
        .unwrap();
    assert!(active(&store, &quiet_alarm).await);
    assert!(active(&store, &still_alarm).await);
    let raised = store.get_alarm(&still_alarm).await.unwrap().unwrap();
    assert_eq!(raised.kind, "chargingNothing");
    assert_eq!(raised.details["stationId"], "CP-STILL");
    assert!(raised.message.contains("5000 Wh"), "{}", raised.message);
    // The paused car is normal.
    assert!(!active(&store, &format!("charging-nothing:{}", paused.id)).await);
    // Swept again: still one alarm each, not counted again.
    charger
        .close_idle_sessions(&org, idle, lookback, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_alarm(&quiet_alarm)
            .await
            .unwrap()
            .unwrap()
            .occurrences,
        1
    );

    // A reading arrives at the quiet one; the still one ends.
    quiet.last_register = Some((t("2026-12-07T10:01:00Z"), Decimal::new(100, 0)));
    quiet.first_register = quiet.last_register;
    quiet.updated_at = t("2026-12-07T10:01:00Z");
    quiet.version = 3;
    store.put_session(&quiet, 2).await.unwrap();
    still.status = SessionStatus::Completed;
    still.ended_at = Some(t("2026-12-07T10:02:00Z"));
    still.version = 3;
    store.put_session(&still, 2).await.unwrap();
    let later = t("2026-12-07T10:05:00Z");
    charger
        .close_idle_sessions(&org, idle, lookback, later)
        .await
        .unwrap();
    assert!(!active(&store, &quiet_alarm).await, "a reading resolves it");
    assert!(!active(&store, &still_alarm).await, "the end resolves it");
}

#[tokio::test]
async fn the_organisations_thresholds_decide_when_a_running_session_is_late() {
    use csms_domain::alarm::{AlarmSettings, OfflineGrace, Thresholds};
    use csms_kernel::ports::AlarmSettingsStore;
    let store = Arc::new(EmbeddedStore::temporary());
    let charger = ChargerService::new(
        store.clone(),
        Arc::new(SystemClock),
        ChargerConfig::default(),
    );
    let org = OrgId::default_org();
    let (idle, lookback) = (TimeDelta::hours(24), TimeDelta::days(35));
    store
        .create_station(&station("CP-SLOW", "default", None))
        .await
        .unwrap();
    let settings = AlarmSettings {
        thresholds: Thresholds {
            no_meter_values: Thresholds::NO_METER_VALUES.threshold(90).unwrap(),
            ..Thresholds::DEFAULT
        },
        updated_at: Some(t("2026-12-07T08:00:00Z")),
        version: 1,
        ..AlarmSettings::defaults(org.clone(), OfflineGrace::platform(600))
    };
    store.put_alarm_settings(&settings, 0).await.unwrap();
    let slow = running(&store, "CP-SLOW", 7, "2026-12-07T09:00:00Z").await;
    let alarm = format!("no-meter-values:{}", slow.id);

    // An hour without readings: late by the default, not by 90 minutes.
    charger
        .close_idle_sessions(&org, idle, lookback, t("2026-12-07T10:00:00Z"))
        .await
        .unwrap();
    assert!(!active(&store, &alarm).await);
    charger
        .close_idle_sessions(&org, idle, lookback, t("2026-12-07T10:31:00Z"))
        .await
        .unwrap();
    let raised = store.get_alarm(&alarm).await.unwrap().unwrap();
    assert!(raised.is_active());
    assert!(raised.message.contains("for 91 min"), "{}", raised.message);
}
