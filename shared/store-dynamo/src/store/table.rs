//! The table helper: the one place that speaks DynamoDB requests for the
//! context files (`charging.rs`, `commands.rs`, …), which say only what
//! their items are and which keys they have.
//!
//! # Layout
//! - Values and keys: [`s`], [`n`], [`epoch`]; [`Index`] (the table, GSI1,
//!   GSI2) with [`set_key`]; [`org_partition`], the `ORG#{org}#{KIND}` GSI1
//!   partition every organisation's listing uses.
//! - Encodings: item structs as ordinary attributes ([`to_item`],
//!   [`decode`]); records kept whole as JSON in `body` ([`json_item`],
//!   [`versioned_item`], [`body_from`]), domain records through their
//!   stored form (`csms-store-records`) with [`record_from`].
//! - Reads: `get` (strongly consistent) and `get_as` (with a decoder); a
//!   [`Query`] of a partition of the table or an index, read whole
//!   (`all_of`), a page at a time with a cursor (`page_of`), only its first
//!   item (`first_of`) or up to a number of items (`up_to`). Listings decode
//!   through `listed`: a record that does not decode is logged, counted and
//!   alarmed, and left out — it never fails the listing, so it never stops
//!   the service.
//! - Writes: `put` (last write wins); `put_if` with a [`Condition`], and
//!   `put_or_conflict`/`put_fresh`/`put_versioned`/`put_expecting`, which
//!   map a failed condition to `Conflict`; an [`Update`]; `delete`;
//!   `transact` of [`transact_put`](DynamoStore::transact_put)s and
//!   [`transact_delete`](DynamoStore::transact_delete)s; `batch_put` and
//!   `batch_delete` in batches of 25, retrying what DynamoDB leaves
//!   unprocessed.
//!
//! Every helper sends exactly the requests its caller would have sent by
//! hand: one per call, except those that follow `LastEvaluatedKey`
//! (`query_all`, `up_to`) or write batches.

use super::DynamoStore;
use crate::cursor::{self, Key, KeyShape};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest,
    ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, WriteRequest,
};
use chrono::Utc;
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{AlarmStore, Page, PageRequest, StoreError, StoreResult};
use csms_kernel::undecodable::undecodable;
use csms_store_records::Record;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// The sort key of an entity's main item.
pub(crate) const META: &str = "META";
/// DynamoDB's BatchWriteItem limit.
const BATCH_SIZE: usize = 25;
/// Attempts of one batch while DynamoDB leaves items unprocessed (throttling).
const BATCH_ATTEMPTS: u32 = 8;

// ---- attribute values ----

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Epoch seconds, as the `ttl` attribute wants them.
pub(crate) fn epoch(t: Timestamp) -> AttributeValue {
    n(t.timestamp())
}

// ---- keys ----

/// The table's key and its two indexes, each a partition key and a sort
/// key of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    /// The index name a query names; none for the table.
    fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("GSI1"),
            Index::Gsi2 => Some("GSI2"),
            Index::Gsi3 => Some("GSI3"),
        }
    }

    /// The partition and sort key attributes.
    fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => ("PK", "SK"),
            Index::Gsi1 => ("GSI1PK", "GSI1SK"),
            Index::Gsi2 => ("GSI2PK", "GSI2SK"),
            Index::Gsi3 => ("GSI3PK", "GSI3SK"),
        }
    }

    /// What a cursor of a listing on this key holds.
    fn cursor_shape(self) -> KeyShape {
        match self {
            Index::Table => cursor::TABLE,
            Index::Gsi1 => cursor::GSI1,
            Index::Gsi2 => cursor::GSI2,
            Index::Gsi3 => cursor::GSI3,
        }
    }
}

/// Puts `item` under `pk`/`sk` of `index` (the table's key, or an index's:
/// an item without an index's keys is not in that index).
pub(crate) fn set_key(item: &mut Key, index: Index, pk: impl Into<String>, sk: impl Into<String>) {
    let (pk_name, sk_name) = index.key_attributes();
    item.insert(pk_name.to_owned(), s(pk));
    item.insert(sk_name.to_owned(), s(sk));
}

/// The GSI1 partition of an organisation's records of a kind:
/// `ORG#{org}#{kind}`.
pub(crate) fn org_partition(org: &OrgId, kind: &str) -> String {
    format!("ORG#{org}#{kind}")
}

// ---- encodings ----

/// An item struct as attributes.
pub(crate) fn to_item<T: Serialize>(value: &T) -> StoreResult<Key> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode item: {e}")))
}

/// One attribute's value, for updates.
pub(crate) fn to_value<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode attribute: {e}")))
}

/// `PK/SK` of an item, for messages.
fn item_key(item: &Key) -> String {
    let part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => "?".to_owned(),
    };
    format!("{}/{}", part("PK"), part("SK"))
}

/// Reads an item into its item struct, then into the domain type. The error
/// names the domain type and the item's key.
pub(crate) fn decode<I: DeserializeOwned + Into<T>, T>(item: Key) -> StoreResult<T> {
    let key = item_key(&item);
    serde_dynamo::from_item::<_, I>(item)
        .map(Into::into)
        .map_err(|e| undecodable::<T>(&key, e))
}

/// A `{PK, SK, body}` item holding `value` as JSON (`what` names it in
/// errors).
pub(crate) fn json_item<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    value: &T,
    what: &str,
) -> StoreResult<Key> {
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what}: {e}")))?;
    let mut item = Key::new();
    set_key(&mut item, Index::Table, pk, sk);
    item.insert("body".into(), s(body));
    Ok(item)
}

/// [`json_item`] with the record's `version` next to the body, for the
/// conditions.
pub(crate) fn versioned_item<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    value: &T,
    version: u64,
    what: &str,
) -> StoreResult<Key> {
    let mut item = json_item(pk, sk, value, what)?;
    item.insert("version".into(), n(version));
    Ok(item)
}

/// The record kept as JSON in `body`; the error names the kind of record
/// and the item's key.
pub(crate) fn body_from<T: DeserializeOwned>(item: Key) -> StoreResult<T> {
    match item.get("body") {
        Some(AttributeValue::S(body)) => {
            serde_json::from_str(body).map_err(|e| undecodable::<T>(&item_key(&item), e))
        }
        _ => Err(undecodable::<T>(&item_key(&item), "no body attribute")),
    }
}

/// A domain record kept as JSON in `body` through its stored form
/// (`csms-store-records`); like [`body_from`], the error names the kind of
/// record (the domain type's name) and the item's key.
pub(crate) fn record_from<T: Record>(item: Key) -> StoreResult<T> {
    match item.get("body") {
        Some(AttributeValue::S(body)) => csms_store_records::from_json(body.as_bytes())
            .map_err(|e| undecodable::<T>(&item_key(&item), e)),
        _ => Err(undecodable::<T>(&item_key(&item), "no body attribute")),
    }
}

// ---- errors ----

pub(crate) fn backend<E, R>(operation: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!("{operation}: {}", DisplayErrorContext(&e)))
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

fn request(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A write's condition did not hold: another writer got there first, or
/// the item is not (or already) there. What that means is the caller's.
#[derive(Debug)]
pub(crate) struct ConditionFailed;

// ---- conditions, updates, queries ----

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Condition {
    pub(crate) fn new(expression: impl Into<String>) -> Self {
        Condition {
            expression: expression.into(),
            ..Condition::default()
        }
    }

    /// No item has the key yet.
    pub(crate) fn absent() -> Self {
        Condition::new("attribute_not_exists(PK)")
    }

    /// The item exists: an update does not create half an item.
    pub(crate) fn exists() -> Self {
        Condition::new("attribute_exists(PK)")
    }

    /// The stored `version` is `expected`.
    pub(crate) fn version(expected: u64) -> Self {
        Condition::new("#v = :expected")
            .name("#v", "version")
            .value(":expected", n(expected))
    }

    /// [`absent`](Self::absent) for `expected` 0 (a record not written
    /// yet), else [`version`](Self::version).
    pub(crate) fn expecting(expected: u64) -> Self {
        match expected {
            0 => Condition::absent(),
            v => Condition::version(v),
        }
    }

    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }

    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }
}

/// `Some(map)` unless empty: a request must not carry empty placeholder maps.
fn non_empty<V>(map: HashMap<String, V>) -> Option<HashMap<String, V>> {
    (!map.is_empty()).then_some(map)
}

/// An `UpdateItem` of one item, with its placeholders, an optional
/// condition and what it returns.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pk: String,
    sk: String,
    expression: String,
    /// The update's placeholders; the condition's join them when sent.
    placeholders: Condition,
    condition: Option<String>,
    returns: Option<ReturnValue>,
}

impl Update {
    pub(crate) fn new(
        pk: impl Into<String>,
        sk: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        Update {
            pk: pk.into(),
            sk: sk.into(),
            expression: expression.into(),
            placeholders: Condition::default(),
            condition: None,
            returns: None,
        }
    }

    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.placeholders = self.placeholders.name(placeholder, attribute);
        self
    }

    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.placeholders = self.placeholders.value(placeholder, value);
        self
    }

    /// Only if `condition` holds; its placeholders join the update's.
    pub(crate) fn only_if(mut self, condition: Condition) -> Self {
        self.placeholders.names.extend(condition.names);
        self.placeholders.values.extend(condition.values);
        self.condition = Some(condition.expression);
        self
    }

    pub(crate) fn returning(mut self, returns: ReturnValue) -> Self {
        self.returns = Some(returns);
        self
    }
}

/// Which sort keys of the partition a [`Query`] reads.
#[derive(Debug, Clone)]
enum SortKeys {
    All,
    Prefix(String),
    /// `from <= sk <= to`.
    Between(String, String),
}

/// A `Query` of one partition of the table or of an index.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    index: Index,
    pk: String,
    sort_keys: SortKeys,
    newest_first: bool,
    consistent: bool,
    projection: Option<&'static str>,
    filters: Vec<(&'static str, String)>,
}

impl Query {
    /// A partition of the table, read strongly consistent (a write is
    /// visible to the next read).
    pub(crate) fn partition(pk: impl Into<String>) -> Self {
        Query {
            consistent: true,
            ..Query::index(Index::Table, pk)
        }
    }

    /// A partition of `index`; indexes are eventually consistent.
    pub(crate) fn index(index: Index, pk: impl Into<String>) -> Self {
        Query {
            index,
            pk: pk.into(),
            sort_keys: SortKeys::All,
            newest_first: false,
            consistent: false,
            projection: None,
            filters: Vec::new(),
        }
    }

    /// Only the items whose sort key starts with `prefix`.
    pub(crate) fn sk_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort_keys = SortKeys::Prefix(prefix.into());
        self
    }

    /// Only the items whose sort key is in `from..=to`.
    pub(crate) fn sk_between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sort_keys = SortKeys::Between(from.into(), to.into());
        self
    }

    /// Descending sort keys.
    pub(crate) fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// A table partition read without `ConsistentRead`.
    pub(crate) fn eventually_consistent(mut self) -> Self {
        self.consistent = false;
        self
    }

    /// Only these attributes of each item (a projection expression).
    pub(crate) fn only(mut self, projection: &'static str) -> Self {
        self.projection = Some(projection);
        self
    }

    /// Only the items whose `attribute` is `value` (a filter: the items are
    /// read, and paid for, all the same); several filters must all hold.
    pub(crate) fn filter_eq(mut self, attribute: &'static str, value: impl Into<String>) -> Self {
        self.filters.push((attribute, value.into()));
        self
    }

    fn request(&self, store: &DynamoStore) -> QueryFluentBuilder {
        let (pk, sk) = self.index.key_attributes();
        let mut query = store
            .client
            .query()
            .table_name(&store.table)
            .set_index_name(self.index.name().map(str::to_owned))
            .expression_attribute_values(":pk", s(&self.pk));
        query = match &self.sort_keys {
            SortKeys::All => query.key_condition_expression(format!("{pk} = :pk")),
            SortKeys::Prefix(prefix) => query
                .key_condition_expression(format!("{pk} = :pk AND begins_with({sk}, :prefix)"))
                .expression_attribute_values(":prefix", s(prefix)),
            SortKeys::Between(from, to) => query
                .key_condition_expression(format!("{pk} = :pk AND {sk} BETWEEN :from AND :to"))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to)),
        };
        if !self.filters.is_empty() {
            let mut terms = Vec::new();
            for (i, (attribute, value)) in self.filters.iter().enumerate() {
                terms.push(format!("#filter{i} = :filter{i}"));
                query = query
                    .expression_attribute_names(format!("#filter{i}"), *attribute)
                    .expression_attribute_values(format!(":filter{i}"), s(value));
            }
            query = query.filter_expression(terms.join(" AND "));
        }
        if self.newest_first {
            query = query.scan_index_forward(false);
        }
        if self.consistent {
            query = query.consistent_read(true);
        }
        query.set_projection_expression(self.projection.map(str::to_owned))
    }
}

// ---- reads ----

impl DynamoStore {
    /// GetItem, strongly consistent.
    pub(crate) async fn get(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> StoreResult<Option<Key>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        Ok(out.item)
    }

    /// Several items by key in one BatchGetItem, strongly consistent (keys
    /// left unprocessed are asked again); each answer in the order of
    /// `keys`, `None` for an item that does not exist. At most 100 keys.
    pub(crate) async fn get_many(
        &self,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<Option<Key>>> {
        let key_of = |pk: &str, sk: &str| -> Key {
            [("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))]
                .into_iter()
                .collect()
        };
        let mut wanted: Vec<Key> = keys.iter().map(|(pk, sk)| key_of(pk, sk)).collect();
        let mut found: Vec<Key> = Vec::new();
        for attempt in 1..=BATCH_ATTEMPTS {
            if wanted.is_empty() {
                break;
            }
            let ask = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut wanted)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(format!("BatchGetItem request: {e}")))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(|e| backend("BatchGetItem", e))?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            wanted = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !wanted.is_empty() && attempt < BATCH_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis((25u64 << attempt).min(1_000))).await;
            }
        }
        if !wanted.is_empty() {
            return Err(StoreError::Backend(format!(
                "BatchGetItem: {} keys still unprocessed after {BATCH_ATTEMPTS} attempts",
                wanted.len()
            )));
        }
        Ok(keys
            .iter()
            .map(|(pk, sk)| {
                found
                    .iter()
                    .position(|item| {
                        item.get("PK") == Some(&s(pk)) && item.get("SK") == Some(&s(sk))
                    })
                    .map(|i| found.swap_remove(i))
            })
            .collect())
    }

    /// [`get`](Self::get), decoded with `decode` ([`decode`] of an item
    /// struct, or [`body_from`]). An item read by its key that does not
    /// decode is an error: the caller asked for that record.
    pub(crate) async fn get_as<T>(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        decode: impl FnOnce(Key) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.get(pk, sk).await?.map(decode).transpose()
    }

    /// A listing's decoded items, without those that do not decode: each is
    /// logged with its key and counted, and the first of a kind raises the
    /// alarm in `org` — one bad item never fails a whole listing.
    pub(crate) async fn listed<T>(
        &self,
        org: &OrgId,
        decoded: impl IntoIterator<Item = StoreResult<T>>,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for r in decoded {
            match r {
                Ok(v) => out.push(v),
                Err(StoreError::Undecodable { kind, key, reason }) => {
                    let now = Utc::now();
                    if let Some(alarm) = self.skipped.skipped(org, &kind, &key, &reason, now) {
                        match self.raise_alarm(&alarm).await {
                            // Told on the bus like any other alarm.
                            Ok(true) => self.skipped.opened(&alarm).await,
                            Ok(false) => {}
                            Err(e) => {
                                tracing::error!(alarm = %alarm.id, error = %e, "could not raise the alarm about an undecodable item");
                                self.skipped.alarm_failed(&alarm.id);
                            }
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Every item of a query, following `LastEvaluatedKey`.
    pub(crate) async fn query_all(&self, query: &Query) -> StoreResult<Vec<Key>> {
        let request = query.request(self);
        let mut items = Vec::new();
        let mut start: Option<Key> = None;
        loop {
            let out = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Every record of a query, [`listed`](Self::listed) in `org`.
    pub(crate) async fn all_of<T>(
        &self,
        org: &OrgId,
        query: &Query,
        decode: impl Fn(Key) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let items = self.query_all(query).await?;
        self.listed(org, items.into_iter().map(decode)).await
    }

    /// One page of a query, [`listed`](Self::listed) in `org`. Asks for one
    /// item more than the page holds, so a page that ends exactly at the end
    /// of the data gets no cursor; the cursor belongs to the query's index
    /// and partition, so one from another listing is `InvalidCursor`.
    pub(crate) async fn page_of<T>(
        &self,
        org: &OrgId,
        query: &Query,
        page: &PageRequest,
        decode: impl Fn(Key) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let shape = query.index.cursor_shape();
        let limit = page.effective_limit();
        let start = page
            .cursor
            .as_deref()
            .map(|c| shape.decode(c, &query.pk))
            .transpose()?;
        let out = query
            .request(self)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        let mut items = out.items.unwrap_or_default();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|last| shape.encode(&shape.key_of(last)))
                .transpose()?
        } else {
            // Fewer items than asked for, yet more to read: the 1 MB response
            // limit or a filter cut the page short.
            out.last_evaluated_key
                .filter(|k| !k.is_empty())
                .map(|k| shape.encode(&k))
                .transpose()?
        };
        let items = self.listed(org, items.into_iter().map(decode)).await?;
        Ok(Page { items, next_cursor })
    }

    /// Up to `limit` records of a query, reading on while pages leave it
    /// short (each page asks for what is still missing).
    pub(crate) async fn up_to<T>(
        &self,
        org: &OrgId,
        query: &Query,
        limit: usize,
        decode: impl Fn(Key) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let request = query.request(self);
        let mut out = Vec::new();
        let mut start: Option<Key> = None;
        while out.len() < limit {
            let page = request
                .clone()
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", e))?;
            let items = page.items.unwrap_or_default();
            out.extend(self.listed(org, items.into_iter().map(&decode)).await?);
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The first item of a query (`Limit 1`), decoded; like
    /// [`get_as`](Self::get_as), an item that does not decode is an error.
    pub(crate) async fn first_of<T>(
        &self,
        query: &Query,
        decode: impl FnOnce(Key) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let out = query
            .request(self)
            .limit(1)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(decode)
            .transpose()
    }
}

// ---- writes ----

impl DynamoStore {
    /// A write without a condition: the item replaces whatever had its key
    /// (records whose last write wins: logs, spot days, report parts).
    pub(crate) async fn put(&self, item: Key) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| backend("PutItem", e))?;
        Ok(())
    }

    /// PutItem if `condition` holds.
    pub(crate) async fn put_if(
        &self,
        item: Key,
        condition: Condition,
    ) -> StoreResult<Result<(), ConditionFailed>> {
        Ok(self
            .put_if_returning(item, condition, false)
            .await?
            .map_err(|_| ConditionFailed))
    }

    /// [`put_if`](Self::put_if), and the item it replaced (`None`: there was
    /// none), in the same request.
    pub(crate) async fn put_if_returning_old(
        &self,
        item: Key,
        condition: Condition,
    ) -> StoreResult<Result<Option<Key>, ConditionFailed>> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values))
            .return_values(ReturnValue::AllOld);
        match put.send().await {
            Ok(out) => Ok(Ok(out.attributes.filter(|a| !a.is_empty()))),
            Err(e) if is_condition_failure(&e) => Ok(Err(ConditionFailed)),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    /// [`put_if`](Self::put_if), but a failed condition comes with the item
    /// it failed on (when DynamoDB sends it, which it normally does).
    pub(crate) async fn put_if_else_stored(
        &self,
        item: Key,
        condition: Condition,
    ) -> StoreResult<Result<(), Option<Key>>> {
        self.put_if_returning(item, condition, true).await
    }

    async fn put_if_returning(
        &self,
        item: Key,
        condition: Condition,
        return_stored: bool,
    ) -> StoreResult<Result<(), Option<Key>>> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values));
        if return_stored {
            put = put.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        match put.send().await {
            Ok(_) => Ok(Ok(())),
            Err(e) if is_condition_failure(&e) => Ok(Err(match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                _ => None,
            })),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    /// [`put_if`](Self::put_if); a failed condition is `Conflict(what())`.
    pub(crate) async fn put_or_conflict(
        &self,
        item: Key,
        condition: Condition,
        what: impl FnOnce() -> String,
    ) -> StoreResult<()> {
        self.put_if(item, condition)
            .await?
            .map_err(|ConditionFailed| StoreError::Conflict(what()))
    }

    /// PutItem of a record not stored yet, else `Conflict("{what} exists")`.
    pub(crate) async fn put_fresh(&self, item: Key, what: String) -> StoreResult<()> {
        self.put_or_conflict(item, Condition::absent(), || format!("{what} exists"))
            .await
    }

    /// PutItem if the stored `version` is `expected`, else
    /// `Conflict("{what} is not at version {expected}")`.
    pub(crate) async fn put_versioned(
        &self,
        item: Key,
        expected: u64,
        what: String,
    ) -> StoreResult<()> {
        self.put_or_conflict(item, Condition::version(expected), || {
            format!("{what} is not at version {expected}")
        })
        .await
    }

    /// [`put_fresh`](Self::put_fresh) for `expected` 0, else
    /// [`put_versioned`](Self::put_versioned).
    pub(crate) async fn put_expecting(
        &self,
        item: Key,
        expected: u64,
        what: String,
    ) -> StoreResult<()> {
        match expected {
            0 => self.put_fresh(item, what).await,
            v => self.put_versioned(item, v, what).await,
        }
    }

    /// UpdateItem; `Ok(attributes)` as asked for with
    /// [`returning`](Update::returning).
    pub(crate) async fn update(
        &self,
        update: Update,
    ) -> StoreResult<Result<Option<Key>, ConditionFailed>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(update.pk))
            .key("SK", s(update.sk))
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
            .set_expression_attribute_names(non_empty(update.placeholders.names))
            .set_expression_attribute_values(non_empty(update.placeholders.values))
            .set_return_values(update.returns)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Ok(out.attributes)),
            Err(e) if is_condition_failure(&e) => Ok(Err(ConditionFailed)),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    /// DeleteItem; the item it deleted, if there was one.
    pub(crate) async fn delete(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> StoreResult<Option<Key>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend("DeleteItem", e))?;
        Ok(out.attributes.filter(|a| !a.is_empty()))
    }

    /// DeleteItem if `condition` holds; `Ok(true)` when it deleted an item.
    pub(crate) async fn delete_if(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        condition: Condition,
    ) -> StoreResult<Result<bool, ConditionFailed>> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Ok(out.attributes.is_some_and(|a| !a.is_empty()))),
            Err(e) if is_condition_failure(&e) => Ok(Err(ConditionFailed)),
            Err(e) => Err(backend("DeleteItem", e)),
        }
    }

    /// A put inside a transaction, with an optional condition.
    pub(crate) fn transact_put(
        &self,
        item: Key,
        condition: Option<Condition>,
    ) -> StoreResult<TransactWriteItem> {
        let condition = condition.unwrap_or_default();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(non_empty_str(condition.expression))
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values))
            .build()
            .map_err(request)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An update inside a transaction (its condition, if any, with it).
    pub(crate) fn transact_update(&self, update: Update) -> StoreResult<TransactWriteItem> {
        let mut key = Key::new();
        set_key(&mut key, Index::Table, update.pk, update.sk);
        let item = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update.expression)
            .set_condition_expression(update.condition)
            .set_expression_attribute_names(non_empty(update.placeholders.names))
            .set_expression_attribute_values(non_empty(update.placeholders.values))
            .build()
            .map_err(request)?;
        Ok(TransactWriteItem::builder().update(item).build())
    }

    /// A delete inside a transaction, with an optional condition.
    pub(crate) fn transact_delete(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
        condition: Option<Condition>,
    ) -> StoreResult<TransactWriteItem> {
        let condition = condition.unwrap_or_default();
        let mut key = Key::new();
        set_key(&mut key, Index::Table, pk, sk);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(non_empty_str(condition.expression))
            .set_expression_attribute_names(non_empty(condition.names))
            .set_expression_attribute_values(non_empty(condition.values))
            .build()
            .map_err(request)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// TransactWriteItems. A cancellation that `lost` finds in the reasons
    /// (one per item, in order) is `ConditionFailed`; any other failure is a
    /// backend error.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        lost: impl FnOnce(&[CancellationReason]) -> bool,
    ) -> StoreResult<Result<(), ConditionFailed>> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c))
                    if lost(c.cancellation_reasons()) =>
                {
                    Ok(Err(ConditionFailed))
                }
                _ => Err(backend("TransactWriteItems", e)),
            },
        }
    }

    /// Puts `items` with BatchWriteItem, 25 a request (a batch must not
    /// name a key twice).
    pub(crate) async fn batch_put(&self, items: Vec<Key>) -> StoreResult<()> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("BatchWriteItem request: {e}")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }

    /// Deletes the items `sks` of partition `pk` with BatchWriteItem.
    pub(crate) async fn batch_delete(&self, pk: &str, sks: Vec<String>) -> StoreResult<()> {
        let requests = sks
            .into_iter()
            .map(|sk| {
                let del = DeleteRequest::builder()
                    .key("PK", s(pk))
                    .key("SK", s(sk))
                    .build()
                    .map_err(request)?;
                Ok(WriteRequest::builder().delete_request(del).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }

    /// Writes `requests` 25 at a time, retrying what DynamoDB leaves
    /// unprocessed.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(BATCH_SIZE) {
            let mut requests = chunk.to_vec();
            for attempt in 1..=BATCH_ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| backend("BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt < BATCH_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis((25u64 << attempt).min(1_000))).await;
                }
            }
            if !requests.is_empty() {
                return Err(StoreError::Backend(format!(
                    "BatchWriteItem: {} items still unprocessed after {BATCH_ATTEMPTS} attempts",
                    requests.len()
                )));
            }
        }
        Ok(())
    }
}

fn non_empty_str(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The first item's condition failed (its cancellation reason): the
/// transactions whose first item carries the deciding condition.
pub(crate) fn first_condition_failed(reasons: &[CancellationReason]) -> bool {
    reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_to_the_attributes_of_their_index() {
        let mut item = Key::new();
        set_key(&mut item, Index::Table, "A#1", META);
        set_key(&mut item, Index::Gsi2, "B", "c");
        assert_eq!(item.get("PK"), Some(&s("A#1")));
        assert_eq!(item.get("SK"), Some(&s("META")));
        assert_eq!(item.get("GSI2PK"), Some(&s("B")));
        assert_eq!(item.get("GSI2SK"), Some(&s("c")));
        assert!(!item.contains_key("GSI1PK"));
    }

    #[test]
    fn versioned_items_hold_body_and_version() {
        let item = versioned_item("X#1", META, &serde_json::json!({"a": 1}), 7, "x").unwrap();
        assert_eq!(item.len(), 4);
        assert_eq!(item.get("body"), Some(&s(r#"{"a":1}"#)));
        assert_eq!(item.get("version"), Some(&n(7)));
        let back: serde_json::Value = body_from(item).unwrap();
        assert_eq!(back["a"], 1);
    }

    #[test]
    fn a_missing_body_is_undecodable_naming_the_key() {
        let mut item = Key::new();
        set_key(&mut item, Index::Table, "X#1", META);
        match body_from::<serde_json::Value>(item) {
            Err(StoreError::Undecodable { key, .. }) => assert_eq!(key, "X#1/META"),
            other => panic!("{other:?}"),
        }
    }
}
