//! Stored records that do not decode: what both stores do when a listing
//! meets one.
//!
//! A record written by an older version or by a bug must not take a listing,
//! start-up recovery or the API down for everyone. A listing skips it, logs it
//! at error level with its key, counts it, and raises one alarm per
//! organisation and kind of record (not one per row and request): the
//! operator sees it under `GET /alarms` and the log names every key.
//!
//! The alarm is raised once per process: after an operator resolves it, a
//! record of that kind met again raises it again only after a restart (the
//! log keeps naming each skipped record meanwhile).
//!
//! The store raises it itself (the listing that met the record has nothing
//! else to tell), and once the process's event bus exists it is told on it
//! like every other alarm ([`SkippedRecords::announce_to`]): an opened one
//! goes out as [`DomainEvent::AlarmOpened`], so the `alarm.opened` webhook
//! and the people on duty hear of it.

use crate::events::{DomainEvent, EventBus};
use crate::ports::StoreError;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::{OrgId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

/// The alarm kind of undecodable records.
pub const ALARM_KIND: &str = "storedRecordUndecodable";

/// The alarm id of undecodable records of `kind` in `org`.
pub fn alarm_id(org: &OrgId, kind: &str) -> String {
    format!("record-undecodable:{org}:{kind}")
}

/// Bookkeeping of skipped records, shared by every listing of one store.
#[derive(Default)]
pub struct SkippedRecords {
    inner: Mutex<Inner>,
    /// Where alarms the store opened are told; unset until the process's
    /// bus is built (and in tools that have none).
    bus: OnceLock<Arc<dyn EventBus>>,
}

impl std::fmt::Debug for SkippedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkippedRecords")
            .field("inner", &self.inner)
            .field("announced", &self.bus.get().is_some())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Records skipped per kind since start.
    counts: BTreeMap<String, u64>,
    /// Alarm ids raised (or being raised) by this process.
    alarmed: BTreeSet<String>,
}

impl SkippedRecords {
    /// Notes that a listing of `org` skipped the record `key` of `kind`:
    /// logs and counts it. Returns the alarm to raise the first time this
    /// process meets that kind of record in that organisation.
    pub fn skipped(
        &self,
        org: &OrgId,
        kind: &str,
        key: &str,
        reason: &str,
        now: Timestamp,
    ) -> Option<Alarm> {
        // A poisoned lock only means another thread panicked while counting:
        // the counts are still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let count = inner.counts.entry(kind.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        let count = *count;
        tracing::error!(
            kind,
            key,
            reason,
            skipped_so_far = count,
            "stored record does not decode: left out of the listing"
        );
        let id = alarm_id(org, kind);
        if !inner.alarmed.insert(id.clone()) {
            return None;
        }
        Some(Alarm {
            id,
            org_id: org.clone(),
            kind: ALARM_KIND.to_owned(),
            severity: Severity::Critical,
            title: Some(format!("Stored {kind} records do not decode")),
            message: format!(
                "a stored {kind} record does not decode (first: {key}); listings leave such records out, the log names each one"
            ),
            details: serde_json::json!({"recordKind": kind, "key": key, "reason": reason}),
            raised_at: now,
            action: Some(
                "read the log for each key, then restore or correct the records; resolve the alarm by hand".to_owned(),
            ),
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 1,
        })
    }

    /// Tells `bus` of every alarm the store opens from now on. The first
    /// bus stays (one per process); whether this one was taken.
    pub fn announce_to(&self, bus: Arc<dyn EventBus>) -> bool {
        self.bus.set(bus).is_ok()
    }

    /// The store opened `alarm` (not a repeat): publishes it on the bus,
    /// if there is one yet.
    pub async fn opened(&self, alarm: &Alarm) {
        if let Some(bus) = self.bus.get() {
            bus.publish(DomainEvent::AlarmOpened {
                alarm: alarm.clone(),
                at: alarm.raised_at,
            })
            .await;
        }
    }

    /// Raising the alarm failed: let the next skipped record try again.
    pub fn alarm_failed(&self, alarm_id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.alarmed.remove(alarm_id);
    }

    /// How many records of `kind` were skipped since start.
    pub fn count(&self, kind: &str) -> u64 {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.counts.get(kind).copied().unwrap_or(0)
    }
}

/// The kind of record a Rust type is stored as: its name without the path,
/// e.g. `Session` for `csms_domain::session::Session`.
pub fn kind_of<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    // Generic parameters would contain `::` too; stored types have none.
    full.rsplit("::").next().unwrap_or(full)
}

/// The error for a record of type `T` under `key` that does not decode.
pub fn undecodable<T>(key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Undecodable {
        kind: kind_of::<T>().to_owned(),
        key: key.to_owned(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn one_alarm_per_organisation_and_kind_however_many_records() {
        let skipped = SkippedRecords::default();
        let org = OrgId::default_org();
        let now = Utc::now();
        let first = skipped.skipped(&org, "Session", "s1", "bad", now);
        assert_eq!(
            first.map(|a| a.id),
            Some("record-undecodable:default:Session".to_owned())
        );
        assert!(skipped.skipped(&org, "Session", "s2", "bad", now).is_none());
        assert!(skipped.skipped(&org, "Station", "cp", "bad", now).is_some());
        assert_eq!(skipped.count("Session"), 2);
        skipped.alarm_failed("record-undecodable:default:Session");
        assert!(skipped.skipped(&org, "Session", "s3", "bad", now).is_some());
    }

    /// Keeps what is published.
    #[derive(Default)]
    struct Capture(Mutex<Vec<DomainEvent>>);

    #[async_trait::async_trait]
    impl EventBus for Capture {
        async fn publish(&self, event: DomainEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[tokio::test]
    async fn an_opened_alarm_is_told_on_the_bus_once_there_is_one() {
        let skipped = SkippedRecords::default();
        let now = Utc::now();
        let org = OrgId::default_org();
        let before = skipped.skipped(&org, "Session", "s1", "bad", now).unwrap();
        skipped.opened(&before).await;
        let bus = Arc::new(Capture::default());
        assert!(skipped.announce_to(bus.clone()));
        assert!(
            !skipped.announce_to(Arc::new(Capture::default())),
            "one bus"
        );
        let alarm = skipped.skipped(&org, "Station", "cp", "bad", now).unwrap();
        skipped.opened(&alarm).await;
        let told = bus.0.lock().unwrap();
        assert_eq!(told.len(), 1, "nothing before the bus: {told:?}");
        assert!(matches!(
            &told[0],
            DomainEvent::AlarmOpened { alarm: a, at } if a.id == "record-undecodable:default:Station" && *at == now
        ));
    }

    #[test]
    fn the_kind_is_the_type_name_without_its_path() {
        assert_eq!(kind_of::<csms_domain::session::Session>(), "Session");
    }
}
