//! [`DynamoStore`]'s tariffs, tariff assignments, spot days, alarms and priced
//! sessions: the ports pricing needs, on the same single table and the same
//! two indexes as everything else (`infra/README.md` documents the table).
//!
//! # Layout
//! Every item keeps its entity whole as JSON in `body` (exact decimals, no
//! per-field mapping), like commands and webhooks; versioned ones carry
//! `version` next to it for the conditions.
//!
//! | item              | PK                     | SK                  | GSI1PK / GSI1SK                                 | GSI2PK / GSI2SK |
//! |-------------------|------------------------|---------------------|-------------------------------------------------|-----------------|
//! | tariff (latest)   | `TARIFF#{id}`          | `META`              | `ORG#{org}#TARIFF` / `{id}` (sparse: not deleted) | |
//! | tariff version    | `TARIFF#{id}`          | `V#{version:020}`   | | |
//! | tariff assignment | `ASSIGN#{id}`          | `META`              | `ORG#{org}#ASSIGN` / `{createdAt}#{id}`         | |
//! | spot day          | `SPOT#{zone}`          | `DAY#{yyyy-mm-dd}`  | | |
//! | alarm settings    | `ALARMSETTINGS#{org}`  | `META`              | | |
//! | alarm             | `ALARM#{id}`           | `META`              | `ORG#{org}#ALARM` / `{raisedAt}#{id}`           | `ORG#{org}#ALARM#ACTIVE` / `{raisedAt}#{id}` (sparse: active only) |
//! | priced session    | `PRICE#{sessionId}`    | `REV#{revision:010}`| | |
//!
//! Times in sort keys are [`sort_key_time`]; zero-padded numbers sort as
//! numbers. Design choices:
//! - A tariff update writes the new version item and the `META` copy in one
//!   `TransactWriteItems`: the condition on `META`'s `version` is the
//!   optimistic lock, `attribute_not_exists` on the version item keeps
//!   versions immutable. The latest version is one `GetItem`, all versions one
//!   `Query` on the partition.
//! - Active alarms have their own sparse GSI2 partition, so "active only" is
//!   an index query with exact pages instead of a filter that could return
//!   short or empty pages.
//! - Priced sessions are one item per revision under a partition of their own,
//!   written with `attribute_not_exists`: that condition is what makes
//!   pricing idempotent. The latest revision is a reverse `Query` with
//!   `Limit 1`.
//! - A spot day is one item (at most 100 quarter-hours, a few KB), replaced
//!   whole by every fetch.

use super::table::{
    json_item, org_partition, record_from, set_key, versioned_item, Condition, ConditionFailed,
    Index, Query, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::CancellationReason;
use chrono::NaiveDate;
use csms_domain::alarm::{Alarm, AlarmSettings};
use csms_domain::pricing::PricedSession;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::{OrgId, SessionId, Timestamp};
use csms_kernel::ports::{
    sort_key_time, AlarmSettingsStore, AlarmStore, Page, PageRequest, PricedSessionStore,
    SpotPriceStore, StoreError, StoreResult, TariffStore,
};
use csms_store_records::Record;

/// Read-then-conditional-write loops (alarms) give up after this many lost
/// races; each loss means another writer changed the alarm meanwhile.
const CAS_ATTEMPTS: usize = 5;

fn tariff_pk(id: &str) -> String {
    format!("TARIFF#{id}")
}

fn tariff_version_sk(version: u64) -> String {
    format!("V#{version:020}")
}

fn assignment_pk(id: &str) -> String {
    format!("ASSIGN#{id}")
}

fn spot_pk(zone: BiddingZone) -> String {
    format!("SPOT#{}", zone.code())
}

fn spot_sk(date: NaiveDate) -> String {
    format!("DAY#{}", date.format("%Y-%m-%d"))
}

fn alarm_pk(id: &str) -> String {
    format!("ALARM#{id}")
}

fn price_pk(id: &SessionId) -> String {
    format!("PRICE#{id}")
}

fn price_sk(revision: u32) -> String {
    format!("REV#{revision:010}")
}

fn tariff_meta_item(t: &Tariff) -> StoreResult<Key> {
    let mut item = versioned_item(tariff_pk(&t.id), META, &t.to_stored(), t.version, "tariff")?;
    // Sparse: a deleted tariff drops out of its organisation's listing.
    if t.deleted_at.is_none() {
        set_key(
            &mut item,
            Index::Gsi1,
            org_partition(&t.org_id, "TARIFF"),
            &t.id,
        );
    }
    Ok(item)
}

fn tariff_version_item(t: &Tariff) -> StoreResult<Key> {
    let sk = tariff_version_sk(t.version);
    versioned_item(tariff_pk(&t.id), sk, &t.to_stored(), t.version, "tariff")
}

fn assignment_item(a: &TariffAssignment) -> StoreResult<Key> {
    let mut item = json_item(
        assignment_pk(&a.id),
        META,
        &a.to_stored(),
        "tariff assignment",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&a.org_id, "ASSIGN"),
        format!("{}#{}", sort_key_time(a.created_at), a.id),
    );
    Ok(item)
}

fn alarm_item(a: &Alarm) -> StoreResult<Key> {
    let mut item = versioned_item(alarm_pk(&a.id), META, &a.to_stored(), a.version, "alarm")?;
    let sk = format!("{}#{}", sort_key_time(a.raised_at), a.id);
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&a.org_id, "ALARM"),
        &sk,
    );
    // Sparse: resolving an alarm rewrites the item without these.
    if a.is_active() {
        set_key(
            &mut item,
            Index::Gsi2,
            org_partition(&a.org_id, "ALARM#ACTIVE"),
            sk,
        );
    }
    Ok(item)
}

impl DynamoStore {
    /// Writes `item` if the stored alarm is at `expected` (0: absent).
    /// `Ok(false)` when that condition lost (someone else wrote first).
    async fn put_alarm_if(&self, item: Key, expected: u64) -> StoreResult<bool> {
        Ok(self
            .put_if(item, Condition::expecting(expected))
            .await?
            .is_ok())
    }
}

#[async_trait]
impl TariffStore for DynamoStore {
    async fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> StoreResult<()> {
        let meta = self.transact_put(
            tariff_meta_item(tariff)?,
            Some(Condition::expecting(expected_version)),
        )?;
        let version = self.transact_put(tariff_version_item(tariff)?, Some(Condition::absent()))?;
        // A failed condition on either item, or a concurrent transaction on
        // them, means another writer got there first.
        let lost = |reasons: &[CancellationReason]| {
            reasons.iter().any(|r| {
                matches!(
                    r.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        };
        match self.transact(vec![meta, version], lost).await? {
            Ok(()) => Ok(()),
            Err(ConditionFailed) => Err(StoreError::Conflict(format!(
                "tariff {} is not at version {expected_version}, or version {} exists",
                tariff.id, tariff.version
            ))),
        }
    }

    async fn get_tariff(&self, id: &str) -> StoreResult<Option<Tariff>> {
        self.get_as(tariff_pk(id), META, record_from).await
    }

    async fn tariff_versions(&self, id: &str) -> StoreResult<Vec<Tariff>> {
        let query = Query::partition(tariff_pk(id)).sk_prefix("V#");
        self.all_of(&OrgId::default_org(), &query, record_from)
            .await
    }

    async fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Tariff>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "TARIFF"));
        self.page_of(org, &query, page, record_from).await
    }

    async fn create_assignment(&self, a: &TariffAssignment) -> StoreResult<()> {
        self.put_fresh(assignment_item(a)?, format!("tariff assignment {}", a.id))
            .await
    }

    async fn get_assignment(&self, id: &str) -> StoreResult<Option<TariffAssignment>> {
        self.get_as(assignment_pk(id), META, record_from).await
    }

    async fn delete_assignment(&self, id: &str) -> StoreResult<bool> {
        Ok(self.delete(assignment_pk(id), META).await?.is_some())
    }

    async fn list_assignments(&self, org: &OrgId) -> StoreResult<Vec<TariffAssignment>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "ASSIGN"));
        self.all_of(org, &query, record_from).await
    }
}

#[async_trait]
impl SpotPriceStore for DynamoStore {
    async fn put_spot_day(&self, day: &SpotDay) -> StoreResult<()> {
        self.put(json_item(
            spot_pk(day.zone),
            spot_sk(day.date),
            &day.to_stored(),
            "spot day",
        )?)
        .await
    }

    async fn get_spot_day(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
    ) -> StoreResult<Option<SpotDay>> {
        self.get_as(spot_pk(zone), spot_sk(date), record_from).await
    }
}

fn alarm_settings_pk(org: &OrgId) -> String {
    format!("ALARMSETTINGS#{org}")
}

#[async_trait]
impl AlarmSettingsStore for DynamoStore {
    async fn get_alarm_settings(&self, org: &OrgId) -> StoreResult<Option<AlarmSettings>> {
        self.get_as(alarm_settings_pk(org), META, record_from).await
    }

    async fn put_alarm_settings(
        &self,
        settings: &AlarmSettings,
        expected_version: u64,
    ) -> StoreResult<()> {
        let item = versioned_item(
            alarm_settings_pk(&settings.org_id),
            META,
            &settings.to_stored(),
            settings.version,
            "alarm settings",
        )?;
        self.put_or_conflict(item, Condition::expecting(expected_version), || {
            format!(
                "alarm settings of {} are not at version {expected_version}",
                settings.org_id
            )
        })
        .await
    }
}

#[async_trait]
impl AlarmStore for DynamoStore {
    /// Read, then a conditional write on what was read; a lost race reads
    /// again. A repeat of an active alarm costs a `GetItem` and a `PutItem`.
    async fn raise_alarm(&self, alarm: &Alarm) -> StoreResult<bool> {
        for _ in 0..CAS_ATTEMPTS {
            let stored: Option<Alarm> = self.get_as(alarm_pk(&alarm.id), META, record_from).await?;
            let (raised, expected) = match stored {
                Some(a) if a.is_active() => {
                    if self
                        .put_alarm_if(alarm_item(&a.repeated(alarm))?, a.version)
                        .await?
                    {
                        return Ok(false);
                    }
                    continue;
                }
                Some(a) => (
                    Alarm {
                        version: a.version + 1,
                        ..alarm.clone()
                    },
                    a.version,
                ),
                None => (alarm.clone(), 0),
            };
            if self.put_alarm_if(alarm_item(&raised)?, expected).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Conflict(format!(
            "alarm {} kept changing while being raised",
            alarm.id
        )))
    }

    async fn resolve_alarm(&self, id: &str, at: Timestamp) -> StoreResult<Option<Alarm>> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(mut a) = self
                .get_as::<Alarm>(alarm_pk(id), META, record_from)
                .await?
            else {
                return Ok(None);
            };
            if !a.is_active() {
                return Ok(None);
            }
            let expected = a.version;
            a.resolved_at = Some(at);
            a.version += 1;
            if self.put_alarm_if(alarm_item(&a)?, expected).await? {
                return Ok(Some(a));
            }
        }
        Err(StoreError::Conflict(format!(
            "alarm {id} kept changing while being resolved"
        )))
    }

    async fn get_alarm(&self, id: &str) -> StoreResult<Option<Alarm>> {
        self.get_as(alarm_pk(id), META, record_from).await
    }

    /// A `PutItem` on the condition that the stored `version` is the
    /// expected one (so the alarm exists), and its organisation's index key
    /// is the same (it never moves).
    async fn put_alarm(&self, alarm: &Alarm, expected_version: u64) -> StoreResult<()> {
        let sk = format!("{}#{}", sort_key_time(alarm.raised_at), alarm.id);
        let condition = Condition::new("#v = :expected AND #org = :org AND #sk = :sk")
            .name("#v", "version")
            .value(":expected", super::table::n(expected_version))
            .name("#org", "GSI1PK")
            .value(
                ":org",
                super::table::s(org_partition(&alarm.org_id, "ALARM")),
            )
            .name("#sk", "GSI1SK")
            .value(":sk", super::table::s(sk));
        let id = alarm.id.clone();
        self.put_or_conflict(alarm_item(alarm)?, condition, || {
            format!("alarm {id} is not at version {expected_version}")
        })
        .await
    }

    async fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<Alarm>> {
        let query = if active_only {
            Query::index(Index::Gsi2, org_partition(org, "ALARM#ACTIVE"))
        } else {
            Query::index(Index::Gsi1, org_partition(org, "ALARM"))
        };
        self.page_of(org, &query.newest_first(), page, record_from)
            .await
    }

    fn announce_alarms_to(&self, bus: std::sync::Arc<dyn csms_kernel::events::EventBus>) {
        self.skipped.announce_to(bus);
    }
}

#[async_trait]
impl PricedSessionStore for DynamoStore {
    async fn put_priced_session(&self, p: &PricedSession) -> StoreResult<()> {
        let sk = price_sk(p.revision);
        let item = json_item(
            price_pk(&p.session_id),
            sk,
            &p.to_stored(),
            "priced session",
        )?;
        self.put_or_conflict(item, Condition::absent(), || {
            format!(
                "session {} is priced at revision {}",
                p.session_id, p.revision
            )
        })
        .await
    }

    async fn get_priced_session(&self, id: &SessionId) -> StoreResult<Option<PricedSession>> {
        let latest = Query::partition(price_pk(id))
            .sk_prefix("REV#")
            .newest_first();
        self.first_of(&latest, record_from).await
    }

    async fn priced_revisions(&self, id: &SessionId) -> StoreResult<Vec<PricedSession>> {
        let query = Query::partition(price_pk(id)).sk_prefix("REV#");
        self.all_of(&OrgId::default_org(), &query, record_from)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tariff_versions_and_assignments_hold_the_golden_json_and_read_back() {
        use crate::store::table::s;
        use csms_store_records::golden;
        for (tariff, line) in golden::<Tariff>("tariffs.jsonl") {
            for item in [
                tariff_meta_item(&tariff).unwrap(),
                tariff_version_item(&tariff).unwrap(),
            ] {
                assert_eq!(item["body"], s(&line));
                assert_eq!(record_from::<Tariff>(item).unwrap(), tariff);
            }
        }
        for (a, line) in golden::<TariffAssignment>("tariff_assignments.jsonl") {
            let item = assignment_item(&a).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(record_from::<TariffAssignment>(item).unwrap(), a);
        }
    }

    #[test]
    fn sort_keys_sort_numerically() {
        assert!(tariff_version_sk(9) < tariff_version_sk(10));
        assert!(price_sk(9) < price_sk(10));
        assert_eq!(price_sk(u32::MAX).len(), "REV#".len() + 10);
        assert_eq!(tariff_version_sk(u64::MAX).len(), "V#".len() + 20);
    }

    #[test]
    fn resolved_alarms_leave_the_active_index() {
        let t = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let mut a = Alarm {
            id: "spot-missing:SE3:2026-11-24".into(),
            org_id: OrgId::default_org(),
            kind: "spotPricesMissing".into(),
            severity: csms_domain::alarm::Severity::Critical,
            title: None,
            message: "m".into(),
            details: serde_json::json!({}),
            raised_at: t,
            action: None,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 1,
        };
        let item = alarm_item(&a).unwrap();
        assert!(item.contains_key("GSI2PK") && item.contains_key("GSI1PK"));
        a.resolved_at = Some(t);
        let item = alarm_item(&a).unwrap();
        assert!(!item.contains_key("GSI2PK") && item.contains_key("GSI1PK"));
    }
}

#[cfg(test)]
mod stored_forms {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn alarms_spot_days_and_priced_sessions_hold_the_golden_json_and_read_back() {
        for (a, line) in golden::<Alarm>("alarms.jsonl") {
            let item = alarm_item(&a).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(alarm_pk(&a.id)));
            assert_eq!(record_from::<Alarm>(item).unwrap(), a);
        }
        for (day, line) in golden::<SpotDay>("spot_days.jsonl") {
            let item = json_item("P", "S", &day.to_stored(), "spot day").unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(record_from::<SpotDay>(item).unwrap(), day);
        }
        for (p, line) in golden::<PricedSession>("priced_sessions.jsonl") {
            let item = json_item("P", "S", &p.to_stored(), "priced session").unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(record_from::<PricedSession>(item).unwrap(), p);
        }
    }
}
