//! [`DynamoStore`]'s usage days: EVSEs' usage facts per UTC day, for
//! reports.
//!
//! # Layout
//!
//! | item      | PK                                  | SK            | GSI1PK / GSI1SK |
//! |-----------|-------------------------------------|---------------|-----------------|
//! | usage day | `USAGE#{org}#{stationId}#{evseId}`  | `DAY#{date}`  | `ORG#{org}#USAGE#{yyyy-mm}` / `{date}#{stationId}#{evseId}` |
//!
//! One item per EVSE (EVSE 0: the station's connection) and UTC day, kept
//! whole as JSON in `body` (its stored form) with `version` beside it for
//! the condition. One item per day rather than per hour: a charger event
//! reads and writes one item (a status change, a start, an end, a price, a
//! new hourly peak), so the aggregate costs one `GetItem` and at most one
//! `PutItem` per event, and the day's first event one `Query` (`Limit 1`,
//! newest first) for the EVSE's previous day, whose closing state opens the
//! new one. A report reads one GSI1 partition per month of its range.

use super::table::{org_partition, record_from, set_key, versioned_item, Index, Query};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use csms_domain::usage::{UsageDay, UsageKey};
use csms_domain::OrgId;
use csms_kernel::ports::{StoreResult, UsageStore};
use csms_store_records::Record;

fn usage_pk(key: &UsageKey) -> String {
    format!("USAGE#{}#{}#{}", key.org_id, key.station_id, key.evse_id)
}

fn day_sk(day: NaiveDate) -> String {
    format!("DAY#{}", day.format("%Y-%m-%d"))
}

fn month_partition(org: &OrgId, year: i32, month: u32) -> String {
    org_partition(org, &format!("USAGE#{year:04}-{month:02}"))
}

fn usage_item(d: &UsageDay) -> StoreResult<Key> {
    let mut item = versioned_item(
        usage_pk(&d.key),
        day_sk(d.key.day),
        &d.to_stored(),
        d.version,
        "usage day",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        month_partition(&d.key.org_id, d.key.day.year(), d.key.day.month()),
        format!(
            "{}#{}#{}",
            d.key.day.format("%Y-%m-%d"),
            d.key.station_id,
            d.key.evse_id
        ),
    );
    Ok(item)
}

#[async_trait]
impl UsageStore for DynamoStore {
    async fn get_usage_day(&self, key: &UsageKey) -> StoreResult<Option<UsageDay>> {
        self.get_as(usage_pk(key), day_sk(key.day), record_from)
            .await
    }

    async fn usage_day_before(&self, key: &UsageKey) -> StoreResult<Option<UsageDay>> {
        let Some(previous) = key.day.pred_opt() else {
            return Ok(None);
        };
        let query = Query::partition(usage_pk(key))
            .sk_between("DAY#", day_sk(previous))
            .newest_first();
        self.first_of(&query, record_from).await
    }

    async fn put_usage_day(&self, day: &UsageDay, expected_version: u64) -> StoreResult<()> {
        self.put_expecting(
            usage_item(day)?,
            expected_version,
            format!(
                "usage day {} {} {} {}",
                day.key.org_id, day.key.station_id, day.key.evse_id, day.key.day
            ),
        )
        .await
    }

    async fn list_usage_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<UsageDay>> {
        let mut out = Vec::new();
        let (mut year, mut month) = (from.year(), from.month());
        while (year, month) <= (to.year(), to.month()) {
            let query = Query::index(Index::Gsi1, month_partition(org, year, month)).sk_between(
                from.format("%Y-%m-%d").to_string(),
                // `$` sorts right after `#`: every key of the last day.
                format!("{}$", to.format("%Y-%m-%d")),
            );
            out.extend(self.all_of(org, &query, record_from).await?);
            (year, month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
        }
        Ok(out)
    }
}
