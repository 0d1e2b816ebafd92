//! [`DynamoStore`]'s tariffs, tariff assignments, spot days, alarms and priced
//! sessions: the ports pricing needs, on the same single table and the same
//! two indexes as everything else (`infra/README.md` documents the table).
//!
//! # Layout
//! Every item keeps its entity whole as JSON in `body` (exact decimals, no
//! per-field mapping), like commands and webhooks in `store.rs`; versioned
//! ones carry `version` next to it for the conditions.
//!
//! | item              | PK                     | SK                  | GSI1PK / GSI1SK                                 | GSI2PK / GSI2SK |
//! |-------------------|------------------------|---------------------|-------------------------------------------------|-----------------|
//! | tariff (latest)   | `TARIFF#{id}`          | `META`              | `ORG#{org}#TARIFF` / `{id}` (sparse: not deleted) | |
//! | tariff version    | `TARIFF#{id}`          | `V#{version:020}`   | | |
//! | tariff assignment | `ASSIGN#{id}`          | `META`              | `ORG#{org}#ASSIGN` / `{createdAt}#{id}`         | |
//! | spot day          | `SPOT#{zone}`          | `DAY#{yyyy-mm-dd}`  | | |
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

use crate::cursor::{self, Key};
use crate::store::{backend, body_from, body_item, n, s, DynamoStore, META};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use chrono::NaiveDate;
use csms_core::ports::{
    sort_key_time, AlarmStore, Page, PageRequest, PricedSessionStore, SpotPriceStore, StoreError,
    StoreResult, TariffStore,
};
use csms_domain::alarm::Alarm;
use csms_domain::pricing::PricedSession;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::{OrgId, SessionId, Timestamp};
use serde::Serialize;

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

/// A `{PK, SK, body}` item for an entity without a version.
fn json_item<T: Serialize>(pk: String, sk: String, value: &T, what: &str) -> StoreResult<Key> {
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what}: {e}")))?;
    let mut item = Key::new();
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(sk));
    item.insert("body".into(), s(body));
    Ok(item)
}

fn tariff_meta_item(t: &Tariff) -> StoreResult<Key> {
    let mut item = body_item(tariff_pk(&t.id), t, t.version, "tariff")?;
    // Sparse: a deleted tariff drops out of its organisation's listing.
    if t.deleted_at.is_none() {
        item.insert("GSI1PK".into(), s(format!("ORG#{}#TARIFF", t.org_id)));
        item.insert("GSI1SK".into(), s(&t.id));
    }
    Ok(item)
}

fn tariff_version_item(t: &Tariff) -> StoreResult<Key> {
    let mut item = body_item(tariff_pk(&t.id), t, t.version, "tariff")?;
    item.insert("SK".into(), s(tariff_version_sk(t.version)));
    Ok(item)
}

fn assignment_item(a: &TariffAssignment) -> StoreResult<Key> {
    let mut item = json_item(assignment_pk(&a.id), META.into(), a, "tariff assignment")?;
    item.insert("GSI1PK".into(), s(format!("ORG#{}#ASSIGN", a.org_id)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{}#{}", sort_key_time(a.created_at), a.id)),
    );
    Ok(item)
}

fn alarm_item(a: &Alarm) -> StoreResult<Key> {
    let mut item = body_item(alarm_pk(&a.id), a, a.version, "alarm")?;
    let sk = format!("{}#{}", sort_key_time(a.raised_at), a.id);
    item.insert("GSI1PK".into(), s(format!("ORG#{}#ALARM", a.org_id)));
    item.insert("GSI1SK".into(), s(&sk));
    // Sparse: resolving an alarm rewrites the item without these.
    if a.is_active() {
        item.insert("GSI2PK".into(), s(format!("ORG#{}#ALARM#ACTIVE", a.org_id)));
        item.insert("GSI2SK".into(), s(sk));
    }
    Ok(item)
}

/// A conditional put inside a transaction; with `expected`, the condition
/// may use `#v` (the `version` attribute) and `:expected`.
fn transact_put(
    table: &str,
    item: Key,
    condition: &str,
    expected: Option<u64>,
) -> StoreResult<TransactWriteItem> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    if let Some(v) = expected {
        put = put
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(v));
    }
    let put = put
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl DynamoStore {
    /// Writes `item` if the stored alarm is at `expected` (0: absent).
    /// `Ok(false)` when that condition lost (someone else wrote first).
    async fn put_alarm_if(&self, item: Key, expected: u64, id: &str) -> StoreResult<bool> {
        let result = if expected == 0 {
            self.put_new(item, "attribute_not_exists(PK)", || {
                format!("alarm {id} exists")
            })
            .await
        } else {
            self.put_versioned(item, expected, format!("alarm {id}"))
                .await
        };
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl TariffStore for DynamoStore {
    async fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> StoreResult<()> {
        let (condition, expected) = match expected_version {
            0 => ("attribute_not_exists(PK)", None),
            v => ("#v = :expected", Some(v)),
        };
        let meta = transact_put(&self.table, tariff_meta_item(tariff)?, condition, expected)?;
        let version = transact_put(
            &self.table,
            tariff_version_item(tariff)?,
            "attribute_not_exists(PK)",
            None,
        )?;
        match self
            .client
            .transact_write_items()
            .transact_items(meta)
            .transact_items(version)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                // A failed condition on either item, or a concurrent
                // transaction on them, means another writer got there first.
                let lost = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().iter().any(|r| {
                            matches!(
                                r.code(),
                                Some("ConditionalCheckFailed" | "TransactionConflict")
                            )
                        })
                    }
                    _ => false,
                };
                if lost {
                    Err(StoreError::Conflict(format!(
                        "tariff {} is not at version {expected_version}, or version {} exists",
                        tariff.id, tariff.version
                    )))
                } else {
                    Err(backend("TransactWriteItems", e))
                }
            }
        }
    }

    async fn get_tariff(&self, id: &str) -> StoreResult<Option<Tariff>> {
        self.get_body(tariff_pk(id)).await
    }

    async fn tariff_versions(&self, id: &str) -> StoreResult<Vec<Tariff>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :v)")
            .expression_attribute_values(":pk", s(tariff_pk(id)))
            .expression_attribute_values(":v", s("V#"))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        self.bodies_from(&OrgId::default_org(), items).await
    }

    async fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Tariff>> {
        let pk = format!("ORG#{org}#TARIFF");
        let (items, next_cursor) = self.org_list_page(&pk, page).await?;
        let items = self.bodies_from(org, items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn create_assignment(&self, a: &TariffAssignment) -> StoreResult<()> {
        self.put_fresh(assignment_item(a)?, format!("tariff assignment {}", a.id))
            .await
    }

    async fn get_assignment(&self, id: &str) -> StoreResult<Option<TariffAssignment>> {
        self.get_body(assignment_pk(id)).await
    }

    async fn delete_assignment(&self, id: &str) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(assignment_pk(id)))
            .key("SK", s(META))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend("DeleteItem", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_assignments(&self, org: &OrgId) -> StoreResult<Vec<TariffAssignment>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(format!("ORG#{org}#ASSIGN")));
        let items = self.query_all(query).await?;
        self.bodies_from(org, items).await
    }
}

#[async_trait]
impl SpotPriceStore for DynamoStore {
    async fn put_spot_day(&self, day: &SpotDay) -> StoreResult<()> {
        let item = json_item(spot_pk(day.zone), spot_sk(day.date), day, "spot day")?;
        self.put_unconditionally(item).await?;
        Ok(())
    }

    async fn get_spot_day(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
    ) -> StoreResult<Option<SpotDay>> {
        self.get(spot_pk(zone), &spot_sk(date))
            .await?
            .map(body_from)
            .transpose()
    }
}

#[async_trait]
impl AlarmStore for DynamoStore {
    /// Read, then a conditional write on what was read; a lost race reads
    /// again. An alarm that stays active costs one `GetItem` per raise.
    async fn raise_alarm(&self, alarm: &Alarm) -> StoreResult<bool> {
        for _ in 0..CAS_ATTEMPTS {
            let stored: Option<Alarm> = self.get_body(alarm_pk(&alarm.id)).await?;
            let (raised, expected) = match stored {
                Some(a) if a.is_active() => return Ok(false),
                Some(a) => (
                    Alarm {
                        version: a.version + 1,
                        ..alarm.clone()
                    },
                    a.version,
                ),
                None => (alarm.clone(), 0),
            };
            if self
                .put_alarm_if(alarm_item(&raised)?, expected, &alarm.id)
                .await?
            {
                return Ok(true);
            }
        }
        Err(StoreError::Conflict(format!(
            "alarm {} kept changing while being raised",
            alarm.id
        )))
    }

    async fn resolve_alarm(&self, id: &str, at: Timestamp) -> StoreResult<bool> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(mut a) = self.get_body::<Alarm>(alarm_pk(id)).await? else {
                return Ok(false);
            };
            if !a.is_active() {
                return Ok(false);
            }
            let expected = a.version;
            a.resolved_at = Some(at);
            a.version += 1;
            if self.put_alarm_if(alarm_item(&a)?, expected, id).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Conflict(format!(
            "alarm {id} kept changing while being resolved"
        )))
    }

    async fn get_alarm(&self, id: &str) -> StoreResult<Option<Alarm>> {
        self.get_body(alarm_pk(id)).await
    }

    async fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<Alarm>> {
        let (index, shape, pk) = if active_only {
            ("GSI2", cursor::GSI2, format!("ORG#{org}#ALARM#ACTIVE"))
        } else {
            ("GSI1", cursor::GSI1, format!("ORG#{org}#ALARM"))
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{index}PK = :pk"))
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false);
        let (items, next_cursor) = self.query_page(query, shape, &pk, page).await?;
        let items = self.bodies_from(org, items).await?;
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl PricedSessionStore for DynamoStore {
    async fn put_priced_session(&self, p: &PricedSession) -> StoreResult<()> {
        let item = json_item(
            price_pk(&p.session_id),
            price_sk(p.revision),
            p,
            "priced session",
        )?;
        self.put_new(item, "attribute_not_exists(PK)", || {
            format!(
                "session {} is priced at revision {}",
                p.session_id, p.revision
            )
        })
        .await
    }

    async fn get_priced_session(&self, id: &SessionId) -> StoreResult<Option<PricedSession>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :rev)")
            .expression_attribute_values(":pk", s(price_pk(id)))
            .expression_attribute_values(":rev", s("REV#"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(body_from)
            .transpose()
    }

    async fn priced_revisions(&self, id: &SessionId) -> StoreResult<Vec<PricedSession>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :rev)")
            .expression_attribute_values(":pk", s(price_pk(id)))
            .expression_attribute_values(":rev", s("REV#"))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        self.bodies_from(&OrgId::default_org(), items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            message: "m".into(),
            details: serde_json::json!({}),
            raised_at: t,
            resolved_at: None,
            version: 1,
        };
        let item = alarm_item(&a).unwrap();
        assert!(item.contains_key("GSI2PK") && item.contains_key("GSI1PK"));
        a.resolved_at = Some(t);
        let item = alarm_item(&a).unwrap();
        assert!(!item.contains_key("GSI2PK") && item.contains_key("GSI1PK"));
    }
}
