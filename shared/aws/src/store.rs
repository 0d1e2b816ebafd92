//! [`DynamoStore`]: the store ports on one DynamoDB table.
//!
//! # Layout
//! Single table, keys `PK`/`SK` (strings); indexes `GSI1` (`GSI1PK`/`GSI1SK`)
//! and `GSI2` (`GSI2PK`/`GSI2SK`), both projecting all attributes; TTL on `ttl`
//! (epoch seconds). `infra/README.md` documents the same table.
//!
//! | item              | PK                     | SK                              | GSI1PK / GSI1SK                                   | GSI2PK / GSI2SK |
//! |-------------------|------------------------|---------------------------------|---------------------------------------------------|-----------------|
//! | station           | `STATION#{id}`         | `META`                          | `ORG#{org}#STATION` / `{site or -}#{id}`          | |
//! | connector status  | `STATION#{id}`         | `EVSE#{evse:05}#CONN#{conn:05}` | | |
//! | live connection   | `CONN#{connectionId}`  | `CONN`                          | | |
//! | id token          | `IDTOKEN#{KEY}`        | `META`                          | `ORG#{org}#IDTOKEN` / `{KEY}`                     | |
//! | session           | `SESSION#{sessionId}`  | `META`                          | `ORG#{org}#SESSION` / `{time}#{sessionId}`        | `STATION#{id}#SESSION` / `{time}#{sessionId}` |
//! | meter reading     | `SESSION#{sessionId}` or `STATIONMETER#{id}` | `MV#{reading_key}` | | |
//! | tx id counter     | `COUNTER#TXID`         | `COUNTER`                       | | |
//! | idempotency claim | `IDEMP#{scope}#{key}`  | `IDEMP`                         | | |
//! | station event     | `STATIONLOG#{id}`      | `{time}#{random}`               | | |
//!
//! `{time}` is [`sort_key_time`]. Entities are stored as ordinary attributes
//! (camelCase names, strings, numbers, maps) through private item structs, so
//! the stored schema does not change when a domain field is renamed, and a
//! field added to a domain type fails to compile here until it is mapped.
//! Decimals are stored as strings: DynamoDB numbers drop the scale
//! (`1000.0` becomes `1000`), and meter reading keys depend on it.
//!
//! Reads of single items and partitions are strongly consistent, so a write is
//! visible to the next read as the contract requires; index listings are
//! eventually consistent, as GSIs are.
//!
//! Tariffs, tariff assignments, spot days, alarms and priced sessions are in
//! `store_pricing.rs`, with their keys in its header.

use crate::cursor::{self, Key, KeyShape};
use crate::metrics::RequestCounter;
use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{TimeDelta, Utc};
use csms_core::ports::{
    reading_key, sort_key_time, AlarmStore, ApiKeyStore, CommandStore, ConnectionStore,
    IdempotencyStore, MeterTarget, Page, PageRequest, SessionQuery, SessionStore, StationEvent,
    StationStore, StoreError, StoreResult, TokenStore, WebhookStore,
};
use csms_core::undecodable::{undecodable, SkippedRecords};
use csms_domain::api_key::ApiKey;
use csms_domain::command::{Command, CommandId};
use csms_domain::meter::MeterReading;
use csms_domain::session::{CloseReason, InferredEnd, Session, SessionStatus};
use csms_domain::station::{
    Approval, BootInfo, Connection, ConnectorStatus, RegistrationStatus, Station, StationView,
};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::{IdTokenValue, OcppVersion, OrgId, SessionId, SiteId, StationId, Timestamp};
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A connection record outlives the 2 h API Gateway limit a little, then
/// DynamoDB removes it even if `$disconnect` never arrived.
const CONNECTION_TTL: TimeDelta = TimeDelta::minutes(135);
const STATION_EVENT_TTL: TimeDelta = TimeDelta::days(180);
/// DynamoDB's BatchWriteItem limit.
pub(crate) const BATCH_SIZE: usize = 25;
/// Attempts of one batch while DynamoDB leaves items unprocessed (throttling).
const BATCH_ATTEMPTS: u32 = 8;
/// Stations whose connectors and connection are fetched at once when listing.
const LIST_CONCURRENCY: usize = 8;

/// The DynamoDB implementation of every store port.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// Undecodable items met by listings: counted, logged, alarmed once per
    /// process (the alarm itself is idempotent across Lambda instances).
    skipped: Arc<SkippedRecords>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            skipped: Arc::default(),
        }
    }

    /// A store on the default AWS configuration (environment, profile, role).
    /// `AWS_ENDPOINT_URL` points it at moto or LocalStack.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&sdk), table)
    }

    /// A store whose every DynamoDB request (retries included) is counted in `counter`.
    pub fn with_counter(
        sdk: &aws_config::SdkConfig,
        table: impl Into<String>,
        counter: &RequestCounter,
    ) -> Self {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(counter.interceptor())
            .build();
        Self::new(Client::from_conf(config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its indexes and TTL (on-demand capacity). An
    /// existing table is fine. For tests and local set-ups; deployments create
    /// the table from the infrastructure template.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let gsi = |name: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}PK"), KeyType::Hash)?)
                .key_schema(key(&format!("{name}SK"), KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
        };
        let build = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::Backend(format!("CreateTable request: {e}"))
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("PK", KeyType::Hash).map_err(build)?)
            .key_schema(key("SK", KeyType::Range).map_err(build)?)
            .global_secondary_indexes(gsi("GSI1").map_err(build)?)
            .global_secondary_indexes(gsi("GSI2").map_err(build)?);
        for name in ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            create = create.attribute_definitions(attr(name).map_err(build)?);
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(backend("CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(300))
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "waiting for table {}: {}",
                    self.table,
                    DisplayErrorContext(&e)
                ))
            })?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("ttl")
            .build()
            .map_err(build)?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.code() == Some("ValidationException")
                    && e.message().is_some_and(|m| m.contains("already enabled")) =>
            {
                Ok(())
            }
            Err(e) => Err(backend("UpdateTimeToLive", e)),
        }
    }

    /// How many items of `kind` (e.g. `Session`) listings left out since
    /// this store was made because they do not decode.
    pub fn skipped_records(&self, kind: &str) -> u64 {
        self.skipped.count(kind)
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
                        if let Err(e) = self.raise_alarm(&alarm).await {
                            tracing::error!(alarm = %alarm.id, error = %e, "could not raise the alarm about an undecodable item");
                            self.skipped.alarm_failed(&alarm.id);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// [`listed`](Self::listed) for items that keep their record in `body`.
    pub(crate) async fn bodies_from<T: DeserializeOwned>(
        &self,
        org: &OrgId,
        items: Vec<Key>,
    ) -> StoreResult<Vec<T>> {
        self.listed(org, items.into_iter().map(body_from)).await
    }

    // ---- requests shared by several ports ----

    pub(crate) async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Key>> {
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

    /// PutItem with a condition; a failed condition is `Conflict(what)`.
    pub(crate) async fn put_new(
        &self,
        item: Key,
        condition: &str,
        what: impl FnOnce() -> String,
    ) -> StoreResult<()> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::Conflict(what())),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    /// Every item of a query, following `LastEvaluatedKey`.
    pub(crate) async fn query_all(&self, query: QueryFluentBuilder) -> StoreResult<Vec<Key>> {
        let mut items = Vec::new();
        let mut start: Option<Key> = None;
        loop {
            let out = query
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

    /// One page of a query. Asks for one item more than the page holds, so a
    /// page that ends exactly at the end of the data gets no cursor.
    pub(crate) async fn query_page(
        &self,
        query: QueryFluentBuilder,
        shape: KeyShape,
        partition: &str,
        page: &PageRequest,
    ) -> StoreResult<(Vec<Key>, Option<String>)> {
        let limit = page.effective_limit();
        let start = page
            .cursor
            .as_deref()
            .map(|c| shape.decode(c, partition))
            .transpose()?;
        let out = query
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        let mut items = out.items.unwrap_or_default();
        let next = if items.len() > limit {
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
        Ok((items, next))
    }

    /// One page of an organisation's list (stations, id tokens, …): they
    /// share GSI1, partitioned by `ORG#{org}#{KIND}`.
    pub(crate) async fn org_list_page(
        &self,
        pk: &str,
        page: &PageRequest,
    ) -> StoreResult<(Vec<Key>, Option<String>)> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(pk));
        self.query_page(query, cursor::GSI1, pk, page).await
    }

    /// Fills in a station's connector statuses and live connection.
    async fn complete_view(&self, org: &OrgId, station: Station) -> StoreResult<StationView> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :evse)")
            .expression_attribute_values(":pk", s(station_pk(&station.id)))
            .expression_attribute_values(":evse", s("EVSE#"))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        let connectors = self
            .listed(org, items.into_iter().map(decode::<ConnectorItem, _>))
            .await?;
        let connection = self
            .listed(org, [self.connection_of(&station).await])
            .await?
            .pop()
            .flatten();
        Ok(StationView {
            station,
            connectors,
            connection,
        })
    }

    async fn connection_of(&self, station: &Station) -> StoreResult<Option<Connection>> {
        match &station.connection_id {
            None => Ok(None),
            Some(cid) => self
                .get(conn_pk(cid), CONN_SK)
                .await?
                .map(decode::<ConnectionItem, _>)
                .transpose(),
        }
    }

    /// Writes up to 25 items, retrying what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> StoreResult<()> {
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
                return Ok(());
            }
            if attempt < BATCH_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis((25u64 << attempt).min(1_000))).await;
            }
        }
        Err(StoreError::Backend(format!(
            "BatchWriteItem: {} items still unprocessed after {BATCH_ATTEMPTS} attempts",
            requests.len()
        )))
    }
}

// ---- keys ----

pub(crate) const META: &str = "META";
const CONN_SK: &str = "CONN";

fn station_pk(id: &StationId) -> String {
    format!("STATION#{id}")
}

fn connector_sk(evse_id: u32, connector_id: u32) -> String {
    format!("EVSE#{evse_id:05}#CONN#{connector_id:05}")
}

fn conn_pk(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}

fn token_pk(token: &IdTokenValue) -> String {
    format!("IDTOKEN#{}", token.key())
}

fn session_pk(id: &SessionId) -> String {
    format!("SESSION#{id}")
}

fn meter_pk(target: &MeterTarget) -> String {
    match target {
        MeterTarget::Session(id) => session_pk(id),
        MeterTarget::Station(id) => format!("STATIONMETER#{id}"),
    }
}

fn with_keys(mut item: Key, keys: [(&str, String); 2]) -> Key {
    for (name, value) in keys {
        item.insert(name.to_owned(), s(value));
    }
    item
}

// ---- attribute values and errors ----

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn epoch(t: Timestamp) -> AttributeValue {
    n(t.timestamp())
}

fn to_item<T: Serialize>(value: &T) -> StoreResult<Key> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode item: {e}")))
}

fn to_value<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
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
fn decode<I: DeserializeOwned + Into<T>, T>(item: Key) -> StoreResult<T> {
    let key = item_key(&item);
    serde_dynamo::from_item::<_, I>(item)
        .map(Into::into)
        .map_err(|e| undecodable::<T>(&key, e))
}

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

// ---- item structs: the stored schema ----

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StationItem {
    id: StationId,
    org_id: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
    created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    boot: Option<BootItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ocpp_version: Option<OcppVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_seen_at: Option<Timestamp>,
    /// Absent in items written before the setting: accepted.
    #[serde(default)]
    approval: Approval,
}

impl From<&Station> for StationItem {
    fn from(st: &Station) -> Self {
        let Station {
            id,
            org_id,
            site_id,
            name,
            password_hash,
            created_at,
            boot,
            ocpp_version,
            connection_id,
            last_seen_at,
            approval,
        } = st.clone();
        StationItem {
            id,
            org_id,
            site_id,
            name,
            password_hash,
            created_at,
            boot: boot.as_ref().map(BootItem::from),
            ocpp_version,
            connection_id,
            last_seen_at,
            approval,
        }
    }
}

impl From<StationItem> for Station {
    fn from(i: StationItem) -> Self {
        Station {
            id: i.id,
            org_id: i.org_id,
            site_id: i.site_id,
            name: i.name,
            password_hash: i.password_hash,
            created_at: i.created_at,
            boot: i.boot.map(Into::into),
            ocpp_version: i.ocpp_version,
            connection_id: i.connection_id,
            last_seen_at: i.last_seen_at,
            approval: i.approval,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BootItem {
    vendor: String,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firmware_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    booted_at: Timestamp,
    /// Absent in items written before the answer was kept: `Accepted`.
    #[serde(default)]
    registration: RegistrationStatus,
}

impl From<&BootInfo> for BootItem {
    fn from(b: &BootInfo) -> Self {
        let BootInfo {
            vendor,
            model,
            serial_number,
            firmware_version,
            reason,
            booted_at,
            registration,
        } = b.clone();
        BootItem {
            vendor,
            model,
            serial_number,
            firmware_version,
            reason,
            booted_at,
            registration,
        }
    }
}

impl From<BootItem> for BootInfo {
    fn from(i: BootItem) -> Self {
        BootInfo {
            vendor: i.vendor,
            model: i.model,
            serial_number: i.serial_number,
            firmware_version: i.firmware_version,
            reason: i.reason,
            booted_at: i.booted_at,
            registration: i.registration,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectorItem {
    evse_id: u32,
    connector_id: u32,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<String>,
    updated_at: Timestamp,
    /// `updated_at` as epoch milliseconds, for the newest-wins condition.
    updated_at_ms: i64,
}

impl From<&ConnectorStatus> for ConnectorItem {
    fn from(c: &ConnectorStatus) -> Self {
        let ConnectorStatus {
            evse_id,
            connector_id,
            status,
            error_code,
            info,
            updated_at,
        } = c.clone();
        ConnectorItem {
            evse_id,
            connector_id,
            status,
            error_code,
            info,
            updated_at,
            updated_at_ms: updated_at.timestamp_millis(),
        }
    }
}

impl From<ConnectorItem> for ConnectorStatus {
    fn from(i: ConnectorItem) -> Self {
        ConnectorStatus {
            evse_id: i.evse_id,
            connector_id: i.connector_id,
            status: i.status,
            error_code: i.error_code,
            info: i.info,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionItem {
    connection_id: String,
    station_id: StationId,
    org_id: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
    ocpp_version: OcppVersion,
    connected_at: Timestamp,
    last_seen_at: Timestamp,
    /// Absent in items written before the setting: accepted.
    #[serde(default)]
    approval: Approval,
}

impl From<&Connection> for ConnectionItem {
    fn from(c: &Connection) -> Self {
        let Connection {
            connection_id,
            station_id,
            org_id,
            site_id,
            ocpp_version,
            connected_at,
            last_seen_at,
            approval,
        } = c.clone();
        ConnectionItem {
            connection_id,
            station_id,
            org_id,
            site_id,
            ocpp_version,
            connected_at,
            last_seen_at,
            approval,
        }
    }
}

impl From<ConnectionItem> for Connection {
    fn from(i: ConnectionItem) -> Self {
        Connection {
            connection_id: i.connection_id,
            station_id: i.station_id,
            org_id: i.org_id,
            site_id: i.site_id,
            ocpp_version: i.ocpp_version,
            connected_at: i.connected_at,
            last_seen_at: i.last_seen_at,
            approval: i.approval,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenItem {
    token: IdTokenValue,
    token_type: IdTokenType,
    status: TokenStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
    org_id: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    created_at: Timestamp,
}

impl From<&IdTokenRecord> for TokenItem {
    fn from(t: &IdTokenRecord) -> Self {
        let IdTokenRecord {
            token,
            token_type,
            status,
            expires_at,
            org_id,
            group,
            created_at,
        } = t.clone();
        TokenItem {
            token,
            token_type,
            status,
            expires_at,
            org_id,
            group,
            created_at,
        }
    }
}

impl From<TokenItem> for IdTokenRecord {
    fn from(i: TokenItem) -> Self {
        IdTokenRecord {
            token: i.token,
            token_type: i.token_type,
            status: i.status,
            expires_at: i.expires_at,
            org_id: i.org_id,
            group: i.group,
            created_at: i.created_at,
        }
    }
}

/// An energy register reading kept on a session.
#[derive(Serialize, Deserialize)]
struct RegisterItem {
    at: Timestamp,
    #[serde(with = "rust_decimal::serde::str")]
    wh: Decimal,
}

impl From<(Timestamp, Decimal)> for RegisterItem {
    fn from((at, wh): (Timestamp, Decimal)) -> Self {
        RegisterItem { at, wh }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionItem {
    id: SessionId,
    station_id: StationId,
    org_id: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
    transaction_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evse_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connector_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<Timestamp>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    explicit_meter_start_wh: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    explicit_meter_stop_wh: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_register: Option<RegisterItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_register: Option<RegisterItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop_reason: Option<String>,
    start_unknown: bool,
    #[serde(default)]
    seen_seq_nos: Vec<u64>,
    offline_events: bool,
    #[serde(default)]
    charger_clock_replaced: bool,
    #[serde(default)]
    late_readings: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inferred_end: Option<InferredEndItem>,
    #[serde(default)]
    charger_ended: bool,
    version: u64,
    updated_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferredEndItem {
    at: Timestamp,
    reason: CloseReason,
}

impl From<&Session> for SessionItem {
    fn from(x: &Session) -> Self {
        let Session {
            id,
            station_id,
            org_id,
            site_id,
            transaction_id,
            evse_id,
            connector_id,
            id_token,
            status,
            started_at,
            ended_at,
            explicit_meter_start_wh,
            explicit_meter_stop_wh,
            first_register,
            last_register,
            stop_reason,
            start_unknown,
            seen_seq_nos,
            offline_events,
            charger_clock_replaced,
            late_readings,
            inferred_end,
            charger_ended,
            version,
            updated_at,
        } = x.clone();
        SessionItem {
            id,
            station_id,
            org_id,
            site_id,
            transaction_id,
            evse_id,
            connector_id,
            id_token,
            status,
            started_at,
            ended_at,
            explicit_meter_start_wh,
            explicit_meter_stop_wh,
            first_register: first_register.map(Into::into),
            last_register: last_register.map(Into::into),
            stop_reason,
            start_unknown,
            seen_seq_nos,
            offline_events,
            charger_clock_replaced,
            late_readings,
            inferred_end: inferred_end.map(|i| InferredEndItem {
                at: i.at,
                reason: i.reason,
            }),
            charger_ended,
            version,
            updated_at,
        }
    }
}

impl From<SessionItem> for Session {
    fn from(i: SessionItem) -> Self {
        Session {
            id: i.id,
            station_id: i.station_id,
            org_id: i.org_id,
            site_id: i.site_id,
            transaction_id: i.transaction_id,
            evse_id: i.evse_id,
            connector_id: i.connector_id,
            id_token: i.id_token,
            status: i.status,
            started_at: i.started_at,
            ended_at: i.ended_at,
            explicit_meter_start_wh: i.explicit_meter_start_wh,
            explicit_meter_stop_wh: i.explicit_meter_stop_wh,
            first_register: i.first_register.map(|r| (r.at, r.wh)),
            last_register: i.last_register.map(|r| (r.at, r.wh)),
            stop_reason: i.stop_reason,
            start_unknown: i.start_unknown,
            seen_seq_nos: i.seen_seq_nos,
            offline_events: i.offline_events,
            charger_clock_replaced: i.charger_clock_replaced,
            late_readings: i.late_readings,
            inferred_end: i.inferred_end.map(|e| InferredEnd {
                at: e.at,
                reason: e.reason,
            }),
            charger_ended: i.charger_ended,
            version: i.version,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadingItem {
    timestamp: Timestamp,
    measurand: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    value: Decimal,
    unit: String,
}

impl From<&MeterReading> for ReadingItem {
    fn from(r: &MeterReading) -> Self {
        let MeterReading {
            timestamp,
            measurand,
            phase,
            location,
            context,
            value,
            unit,
        } = r.clone();
        ReadingItem {
            timestamp,
            measurand,
            phase,
            location,
            context,
            value,
            unit,
        }
    }
}

impl From<ReadingItem> for MeterReading {
    fn from(i: ReadingItem) -> Self {
        MeterReading {
            timestamp: i.timestamp,
            measurand: i.measurand,
            phase: i.phase,
            location: i.location,
            context: i.context,
            value: i.value,
            unit: i.unit,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventItem {
    station_id: StationId,
    kind: String,
    at: Timestamp,
    payload: serde_json::Value,
}

impl From<&StationEvent> for EventItem {
    fn from(e: &StationEvent) -> Self {
        EventItem {
            station_id: e.station_id.clone(),
            kind: e.kind().to_owned(),
            at: e.at,
            payload: e.payload(),
        }
    }
}

impl From<EventItem> for StationEvent {
    fn from(i: EventItem) -> Self {
        StationEvent::from_stored(i.station_id, i.at, i.kind, i.payload)
    }
}

// ---- the ports ----

#[async_trait]
impl StationStore for DynamoStore {
    async fn create_station(&self, station: &Station) -> StoreResult<()> {
        let mut item = with_keys(
            to_item(&StationItem::from(station))?,
            [("PK", station_pk(&station.id)), ("SK", META.into())],
        );
        let site = station.site_id.as_ref().map_or("-", SiteId::as_str);
        item.insert(
            "GSI1PK".into(),
            s(format!("ORG#{}#STATION", station.org_id)),
        );
        item.insert("GSI1SK".into(), s(format!("{site}#{}", station.id)));
        self.put_new(item, "attribute_not_exists(PK)", || {
            format!("station {} already exists", station.id)
        })
        .await
    }

    async fn get_station(&self, id: &StationId) -> StoreResult<Option<Station>> {
        self.get(station_pk(id), META)
            .await?
            .map(decode::<StationItem, _>)
            .transpose()
    }

    async fn get_station_view(&self, id: &StationId) -> StoreResult<Option<StationView>> {
        // META and the connector items share the partition: one query.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(station_pk(id)))
            .consistent_read(true);
        let mut station = None;
        let mut connectors = Vec::new();
        for item in self.query_all(query).await? {
            match item.get("SK") {
                Some(AttributeValue::S(sk)) if sk == META => {
                    station = Some(decode::<StationItem, Station>(item)?)
                }
                Some(AttributeValue::S(sk)) if sk.starts_with("EVSE#") => {
                    connectors.push(decode::<ConnectorItem, _>(item)?)
                }
                _ => {}
            }
        }
        let Some(station) = station else {
            return Ok(None);
        };
        let connection = self.connection_of(&station).await?;
        Ok(Some(StationView {
            station,
            connectors,
            connection,
        }))
    }

    async fn list_stations(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationView>> {
        let pk = format!("ORG#{org}#STATION");
        let (items, next_cursor) = self.org_list_page(&pk, page).await?;
        let stations: Vec<Station> = self
            .listed(org, items.into_iter().map(decode::<StationItem, _>))
            .await?;
        let items =
            futures::stream::iter(stations.into_iter().map(|st| self.complete_view(org, st)))
                .buffered(LIST_CONCURRENCY)
                .try_collect()
                .await?;
        Ok(Page { items, next_cursor })
    }

    async fn record_boot(&self, id: &StationId, boot: &BootInfo) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(station_pk(id)))
            .key("SK", s(META))
            .update_expression("SET #boot = :boot")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#boot", "boot")
            .expression_attribute_values(":boot", to_value(&BootItem::from(boot))?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The condition keeps the update from creating half a station; a
            // boot of a station that is not registered (it could not have
            // connected) is dropped, as the embedded store does.
            Err(e) if is_condition_failure(&e) => {
                tracing::warn!(station = %id, "boot of an unregistered station ignored");
                Ok(())
            }
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn set_station_approval(
        &self,
        id: &StationId,
        approval: Approval,
    ) -> StoreResult<Option<Station>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(station_pk(id)))
            .key("SK", s(META))
            .update_expression("SET #a = :a")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#a", "approval")
            .expression_attribute_values(":a", to_value(&approval)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let station: Station = match result {
            Ok(out) => match out.attributes {
                Some(a) => decode::<StationItem, Station>(a)?,
                None => return Ok(None),
            },
            Err(e) if is_condition_failure(&e) => return Ok(None),
            Err(e) => return Err(backend("UpdateItem", e)),
        };
        if let Some(cid) = &station.connection_id {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(conn_pk(cid)))
                .key("SK", s(CONN_SK))
                .update_expression("SET #a = :a")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_names("#a", "approval")
                .expression_attribute_values(":a", to_value(&approval)?)
                .send()
                .await;
            match result {
                // The connection closed meanwhile: the next one copies the
                // station's approval.
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(backend("UpdateItem", e)),
            }
        }
        Ok(Some(station))
    }

    async fn set_connector_status(
        &self,
        id: &StationId,
        status: &ConnectorStatus,
    ) -> StoreResult<()> {
        let item = with_keys(
            to_item(&ConnectorItem::from(status))?,
            [
                ("PK", station_pk(id)),
                ("SK", connector_sk(status.evse_id, status.connector_id)),
            ],
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #ms <= :ms")
            .expression_attribute_names("#ms", "updatedAtMs")
            .expression_attribute_values(":ms", n(status.updated_at.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A newer status is stored: this one is a late replay.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    async fn append_station_event(&self, event: &StationEvent) -> StoreResult<()> {
        let sk = format!("{}#{:016x}", sort_key_time(event.at), rand::random::<u64>());
        let mut item = with_keys(
            to_item(&EventItem::from(event))?,
            [
                ("PK", format!("STATIONLOG#{}", event.station_id)),
                ("SK", sk),
            ],
        );
        item.insert("ttl".into(), epoch(event.at + STATION_EVENT_TTL));
        self.put_unconditionally(item).await?;
        Ok(())
    }

    async fn list_station_events(
        &self,
        id: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationEvent>> {
        let pk = format!("STATIONLOG#{id}");
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false);
        let (items, next_cursor) = self.query_page(query, cursor::TABLE, &pk, page).await?;
        let items = self
            .listed(
                &OrgId::default_org(),
                items.into_iter().map(decode::<EventItem, _>),
            )
            .await?;
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn open_connection(&self, conn: &Connection) -> StoreResult<Option<String>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(station_pk(&conn.station_id)))
            .key("SK", s(META))
            .update_expression("SET #cid = :cid, #v = :v")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#cid", "connectionId")
            .expression_attribute_names("#v", "ocppVersion")
            .expression_attribute_values(":cid", s(&conn.connection_id))
            .expression_attribute_values(":v", to_value(&conn.ocpp_version)?)
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        let previous = match result {
            Ok(out) => match out.attributes.as_ref().and_then(|a| a.get("connectionId")) {
                Some(AttributeValue::S(prev)) if *prev != conn.connection_id => Some(prev.clone()),
                _ => None,
            },
            // The station was removed after the handshake checked it: record
            // the connection anyway (as the embedded store does) without
            // creating half a station.
            Err(e) if is_condition_failure(&e) => {
                tracing::warn!(station = %conn.station_id, "connection of an unregistered station");
                None
            }
            Err(e) => return Err(backend("UpdateItem", e)),
        };
        let mut item = with_keys(
            to_item(&ConnectionItem::from(conn))?,
            [("PK", conn_pk(&conn.connection_id)), ("SK", CONN_SK.into())],
        );
        item.insert("ttl".into(), epoch(conn.connected_at + CONNECTION_TTL));
        self.put_unconditionally(item).await?;
        Ok(previous)
    }

    async fn touch_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(conn_pk(connection_id)))
            .key("SK", s(CONN_SK))
            .update_expression("SET #ls = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#ls", "lastSeenAt")
            .expression_attribute_values(":at", to_value(&at)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(decode::<ConnectionItem, _>).transpose(),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn close_connection(
        &self,
        connection_id: &str,
        _at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(conn_pk(connection_id)))
            .key("SK", s(CONN_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend("DeleteItem", e))?;
        let Some(conn) = out
            .attributes
            .filter(|a| !a.is_empty())
            .map(decode::<ConnectionItem, Connection>)
            .transpose()?
        else {
            return Ok(None);
        };
        // The station keeps the time of the last message; the live value was on
        // the connection record.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(station_pk(&conn.station_id)))
            .key("SK", s(META))
            .update_expression("REMOVE #cid SET #ls = :ls")
            .condition_expression("#cid = :cid")
            .expression_attribute_names("#cid", "connectionId")
            .expression_attribute_names("#ls", "lastSeenAt")
            .expression_attribute_values(":cid", s(connection_id))
            .expression_attribute_values(":ls", to_value(&conn.last_seen_at)?)
            .send()
            .await;
        match result {
            // Failed condition: a newer connection owns the station now.
            Ok(_) => Ok(Some(conn)),
            Err(e) if is_condition_failure(&e) => Ok(Some(conn)),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn create_id_token(&self, token: &IdTokenRecord) -> StoreResult<()> {
        let key = token.token.key();
        let mut item = with_keys(
            to_item(&TokenItem::from(token))?,
            [("PK", token_pk(&token.token)), ("SK", META.into())],
        );
        item.insert("GSI1PK".into(), s(format!("ORG#{}#IDTOKEN", token.org_id)));
        item.insert("GSI1SK".into(), s(key));
        self.put_new(item, "attribute_not_exists(PK)", || {
            format!("id token {} already exists", token.token)
        })
        .await
    }

    async fn get_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>> {
        self.get(token_pk(token), META)
            .await?
            .map(decode::<TokenItem, _>)
            .transpose()
    }

    async fn list_id_tokens(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>> {
        let pk = format!("ORG#{org}#IDTOKEN");
        let (items, next_cursor) = self.org_list_page(&pk, page).await?;
        let items = self
            .listed(org, items.into_iter().map(decode::<TokenItem, _>))
            .await?;
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn next_transaction_id(&self) -> StoreResult<i64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s("COUNTER#TXID"))
            .key("SK", s("COUNTER"))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        match out.attributes.as_ref().and_then(|a| a.get("n")) {
            Some(AttributeValue::N(v)) => v
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| StoreError::Backend(format!("transaction id counter holds {v}"))),
            other => Err(StoreError::Backend(format!(
                "transaction id counter returned {other:?}"
            ))),
        }
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        self.get(session_pk(id), META)
            .await?
            .map(decode::<SessionItem, _>)
            .transpose()
    }

    async fn put_session(&self, session: &Session, expected_version: u64) -> StoreResult<()> {
        let mut item = with_keys(
            to_item(&SessionItem::from(session))?,
            [("PK", session_pk(&session.id)), ("SK", META.into())],
        );
        let sort = format!("{}#{}", sort_key_time(session.sort_time()), session.id);
        item.insert(
            "GSI1PK".into(),
            s(format!("ORG#{}#SESSION", session.org_id)),
        );
        item.insert("GSI1SK".into(), s(&sort));
        item.insert(
            "GSI2PK".into(),
            s(format!("STATION#{}#SESSION", session.station_id)),
        );
        item.insert("GSI2SK".into(), s(sort));
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", n(expected_version))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::Conflict(format!(
                "session {} is not at version {expected_version}",
                session.id
            ))),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    async fn list_sessions(&self, q: &SessionQuery) -> StoreResult<Page<Session>> {
        if let (Some(from), Some(to)) = (q.from, q.to) {
            if from >= to {
                return Ok(Page {
                    items: vec![],
                    next_cursor: None,
                });
            }
        }
        // Keys are `{time}#{id}`: every key at `from` sorts after `sort_key_time(from)`
        // and every key at `to` after `sort_key_time(to)`, so BETWEEN is from <= t < to.
        let from = q.from.map_or_else(|| "0".to_owned(), sort_key_time);
        let to = q.to.map_or_else(|| "~".to_owned(), sort_key_time);
        let (index, shape, pk) = match &q.station_id {
            Some(st) => ("GSI2", cursor::GSI2, format!("STATION#{st}#SESSION")),
            None => ("GSI1", cursor::GSI1, format!("ORG#{}#SESSION", q.org_id)),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", format!("{index}PK"))
            .expression_attribute_names("#sk", format!("{index}SK"))
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(false);
        if q.station_id.is_some() {
            // The station index spans organisations; keep tenants apart.
            query = query
                .filter_expression("#org = :org")
                .expression_attribute_names("#org", "orgId")
                .expression_attribute_values(":org", s(q.org_id.as_str()));
        }
        let (items, next_cursor) = self.query_page(query, shape, &pk, &q.page).await?;
        let items = self
            .listed(&q.org_id, items.into_iter().map(decode::<SessionItem, _>))
            .await?;
        Ok(Page { items, next_cursor })
    }

    async fn put_meter_readings(
        &self,
        target: &MeterTarget,
        readings: &[MeterReading],
    ) -> StoreResult<()> {
        let pk = meter_pk(target);
        // One batch must not name a key twice; a resent reading has the same key.
        let mut by_key = BTreeMap::new();
        for r in readings {
            let sk = format!("MV#{}", reading_key(r));
            let item = with_keys(
                to_item(&ReadingItem::from(r))?,
                [("PK", pk.clone()), ("SK", sk.clone())],
            );
            by_key.insert(sk, item);
        }
        let mut requests = Vec::with_capacity(by_key.len());
        for item in by_key.into_values() {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::Backend(format!("BatchWriteItem request: {e}")))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in requests.chunks(BATCH_SIZE) {
            self.batch_write(chunk.to_vec()).await?;
        }
        Ok(())
    }

    async fn list_meter_readings(&self, target: &MeterTarget) -> StoreResult<Vec<MeterReading>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :mv)")
            .expression_attribute_values(":pk", s(meter_pk(target)))
            .expression_attribute_values(":mv", s("MV#"))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        self.listed(
            &OrgId::default_org(),
            items.into_iter().map(decode::<ReadingItem, _>),
        )
        .await
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        value: &str,
        ttl: TimeDelta,
    ) -> StoreResult<Option<String>> {
        let pk = format!("IDEMP#{scope}#{key}");
        let now = Utc::now();
        let item: Key = [
            ("PK".to_owned(), s(&pk)),
            ("SK".to_owned(), s("IDEMP")),
            ("value".to_owned(), s(value)),
            ("ttl".to_owned(), epoch(now + ttl)),
        ]
        .into_iter()
        .collect();
        // TTL deletion lags by up to days: an expired claim counts as free.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #ttl < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", epoch(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match result {
            Ok(_) => return Ok(None),
            Err(e) if is_condition_failure(&e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                _ => None,
            },
            Err(e) => return Err(backend("PutItem", e)),
        };
        // The stored item normally comes with the failure; read it otherwise.
        let existing = match existing {
            Some(item) if !item.is_empty() => Some(item),
            _ => self.get(pk.clone(), "IDEMP").await?,
        };
        match existing.as_ref().and_then(|i| i.get("value")) {
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            other => Err(StoreError::Backend(format!(
                "idempotency item {pk} holds {other:?}"
            ))),
        }
    }
}

// ---- commands ----
//
// The command item holds the whole command as JSON in `body` (exact round
// trip of decimals and of the charger's raw answer) next to the key and
// `version` attributes the conditions use. A pending command has a twin
// queue item in its station's partition, written in the same transaction,
// so the queue is one consistent Query.

fn command_pk(id: &CommandId) -> String {
    format!("COMMAND#{id}")
}

fn command_queue_sk(id: &CommandId) -> String {
    format!("CMDQ#{id}")
}

/// Item names used in `TransactWriteItems` cancellation reasons: the first
/// entry is always the command item, whose condition is the version check.
const COMMAND_TXN_CONDITION: usize = 0;

impl DynamoStore {
    /// A write without a condition: the item replaces whatever had its key
    /// (records whose last write wins: logs, spot days, report parts).
    pub(crate) async fn put_unconditionally(&self, item: Key) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| backend("PutItem", e))?;
        Ok(())
    }

    fn command_items(cmd: &Command) -> StoreResult<(Key, Key)> {
        let body = serde_json::to_string(cmd)
            .map_err(|e| StoreError::Backend(format!("cannot encode command: {e}")))?;
        let mut item = Key::new();
        item.insert("PK".into(), s(command_pk(&cmd.id)));
        item.insert("SK".into(), s(META));
        item.insert("body".into(), s(&body));
        item.insert("version".into(), n(cmd.version));
        item.insert("stationId".into(), s(cmd.station_id.as_str()));
        item.insert("orgId".into(), s(cmd.org_id.as_str()));
        item.insert(
            "GSI2PK".into(),
            s(format!("STATION#{}#COMMAND", cmd.station_id)),
        );
        item.insert("GSI2SK".into(), s(cmd.id.as_str()));
        let mut queued = Key::new();
        queued.insert("PK".into(), s(station_pk(&cmd.station_id)));
        queued.insert("SK".into(), s(command_queue_sk(&cmd.id)));
        queued.insert("body".into(), s(body));
        queued.insert("version".into(), n(cmd.version));
        // Sparse index over everything in flight, for recovery after a restart.
        queued.insert("GSI1PK".into(), s("CMDQ"));
        queued.insert("GSI1SK".into(), s(cmd.id.as_str()));
        Ok((item, queued))
    }

    /// The command item with its condition, then the queue twin: put while
    /// pending, deleted once final.
    async fn write_command(
        &self,
        cmd: &Command,
        condition: &str,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let (item, queued) = Self::command_items(cmd)?;
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(v) = expected_version {
            put = put
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", n(v));
        }
        let first = TransactWriteItem::builder()
            .put(
                put.build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            )
            .build();
        let second = if cmd.status.is_final() {
            let mut key = Key::new();
            key.insert("PK".into(), s(station_pk(&cmd.station_id)));
            key.insert("SK".into(), s(command_queue_sk(&cmd.id)));
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                )
                .build()
        } else {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(queued))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                )
                .build()
        };
        match self
            .client
            .transact_write_items()
            .transact_items(first)
            .transact_items(second)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let lost = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons()
                            .get(COMMAND_TXN_CONDITION)
                            .and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    }
                    _ => false,
                };
                if lost {
                    Err(StoreError::Conflict(match expected_version {
                        None => format!("command {} exists", cmd.id),
                        Some(v) => format!("command {} is not at version {v}", cmd.id),
                    }))
                } else {
                    Err(backend("TransactWriteItems", e))
                }
            }
        }
    }
}

fn command_from(item: Key) -> StoreResult<Command> {
    body_from(item)
}

#[async_trait]
impl CommandStore for DynamoStore {
    async fn create_command(&self, cmd: &Command) -> StoreResult<()> {
        self.write_command(cmd, "attribute_not_exists(PK)", None)
            .await
    }

    async fn get_command(&self, id: &CommandId) -> StoreResult<Option<Command>> {
        self.get(command_pk(id), META)
            .await?
            .map(command_from)
            .transpose()
    }

    async fn put_command(&self, cmd: &Command, expected_version: u64) -> StoreResult<()> {
        self.write_command(cmd, "#v = :expected", Some(expected_version))
            .await
    }

    async fn pending_commands(&self, station: &StationId) -> StoreResult<Vec<Command>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :q)")
            .expression_attribute_values(":pk", s(station_pk(station)))
            .expression_attribute_values(":q", s("CMDQ#"))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        self.listed(&OrgId::default_org(), items.into_iter().map(command_from))
            .await
    }

    async fn all_pending_commands(&self, limit: usize) -> StoreResult<Vec<Command>> {
        let mut out = Vec::new();
        let mut start: Option<Key> = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :pk")
                .expression_attribute_values(":pk", s("CMDQ"))
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", e))?;
            let items = page.items.unwrap_or_default();
            out.extend(
                self.listed(&OrgId::default_org(), items.into_iter().map(command_from))
                    .await?,
            );
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Command>> {
        let pk = format!("STATION#{station}#COMMAND");
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false);
        let (items, next_cursor) = self.query_page(query, cursor::GSI2, &pk, page).await?;
        let items = self
            .listed(&OrgId::default_org(), items.into_iter().map(command_from))
            .await?;
        Ok(Page { items, next_cursor })
    }
}

// ---- API keys, webhooks, deliveries ----
//
// Kept whole as JSON in `body`, like commands; `version` for the condition.

fn api_key_pk(id: &str) -> String {
    format!("APIKEY#{id}")
}

fn webhook_pk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

fn delivery_pk(id: &str) -> String {
    format!("DELIVERY#{id}")
}

/// A `{PK, SK: META, body, version}` item holding `value` as JSON.
pub(crate) fn body_item<T: Serialize>(
    pk: String,
    value: &T,
    version: u64,
    what: &str,
) -> StoreResult<Key> {
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what}: {e}")))?;
    let mut item = Key::new();
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(META));
    item.insert("body".into(), s(body));
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

fn api_key_item(key: &ApiKey) -> StoreResult<Key> {
    let mut item = body_item(api_key_pk(&key.id), key, key.version, "API key")?;
    item.insert("GSI1PK".into(), s(format!("ORG#{}#APIKEY", key.org_id)));
    item.insert("GSI1SK".into(), s(&key.id));
    Ok(item)
}

fn webhook_item(hook: &Webhook) -> StoreResult<Key> {
    let mut item = body_item(webhook_pk(&hook.id), hook, hook.version, "webhook")?;
    // Sparse: a deleted webhook drops out of its organisation's listing.
    if hook.deleted_at.is_none() {
        item.insert("GSI1PK".into(), s(format!("ORG#{}#WEBHOOK", hook.org_id)));
        item.insert("GSI1SK".into(), s(&hook.id));
    }
    Ok(item)
}

fn delivery_item(d: &Delivery) -> StoreResult<Key> {
    let mut item = body_item(delivery_pk(&d.id), d, d.version, "delivery")?;
    item.insert(
        "GSI2PK".into(),
        s(format!("WEBHOOK#{}#DELIVERY", d.webhook_id)),
    );
    item.insert("GSI2SK".into(), s(&d.id));
    // Sparse index over deliveries still to be tried.
    if !d.status.is_final() {
        item.insert("GSI1PK".into(), s("WHDQ"));
        item.insert("GSI1SK".into(), s(&d.id));
    }
    Ok(item)
}

impl DynamoStore {
    /// PutItem if the stored `version` is `expected`, else `Conflict`.
    pub(crate) async fn put_versioned(
        &self,
        item: Key,
        expected: u64,
        what: String,
    ) -> StoreResult<()> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::Conflict(format!(
                "{what} is not at version {expected}"
            ))),
            Err(e) => Err(backend("PutItem", e)),
        }
    }

    pub(crate) async fn put_fresh(&self, item: Key, what: String) -> StoreResult<()> {
        self.put_new(item, "attribute_not_exists(PK)", || {
            format!("{what} exists")
        })
        .await
    }

    pub(crate) async fn get_body<T: DeserializeOwned>(&self, pk: String) -> StoreResult<Option<T>> {
        self.get_body_at(pk, META).await
    }

    /// The record kept in `body` of the item (`pk`, `sk`).
    pub(crate) async fn get_body_at<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> StoreResult<Option<T>> {
        self.get(pk, sk).await?.map(body_from).transpose()
    }
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.put_fresh(api_key_item(key)?, format!("API key {}", key.id))
            .await
    }

    async fn get_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        self.get_body(api_key_pk(id)).await
    }

    async fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            api_key_item(key)?,
            expected_version,
            format!("API key {}", key.id),
        )
        .await
    }

    async fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<ApiKey>> {
        let pk = format!("ORG#{org}#APIKEY");
        let (items, next_cursor) = self.org_list_page(&pk, page).await?;
        let items = self.bodies_from(org, items).await?;
        Ok(Page { items, next_cursor })
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        self.put_fresh(webhook_item(hook)?, format!("webhook {}", hook.id))
            .await
    }

    async fn get_webhook(&self, id: &str) -> StoreResult<Option<Webhook>> {
        self.get_body(webhook_pk(id)).await
    }

    async fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            webhook_item(hook)?,
            expected_version,
            format!("webhook {}", hook.id),
        )
        .await
    }

    async fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Webhook>> {
        let pk = format!("ORG#{org}#WEBHOOK");
        let (items, next_cursor) = self.org_list_page(&pk, page).await?;
        let items = self.bodies_from(org, items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn create_delivery(&self, d: &Delivery) -> StoreResult<()> {
        self.put_fresh(delivery_item(d)?, format!("delivery {}", d.id))
            .await
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        self.get_body(delivery_pk(id)).await
    }

    async fn put_delivery(&self, d: &Delivery, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            delivery_item(d)?,
            expected_version,
            format!("delivery {}", d.id),
        )
        .await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let pk = format!("WEBHOOK#{webhook_id}#DELIVERY");
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false);
        let (items, next_cursor) = self.query_page(query, cursor::GSI2, &pk, page).await?;
        let items = self.bodies_from(&OrgId::default_org(), items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn pending_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s("WHDQ"));
        let page = PageRequest::first(u32::try_from(limit).unwrap_or(u32::MAX));
        let (items, _) = self.query_page(query, cursor::GSI1, "WHDQ", &page).await?;
        self.bodies_from(&OrgId::default_org(), items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use csms_domain::session::SessionUpdate;

    fn t(secs: i64, nanos: u32) -> Timestamp {
        Utc.timestamp_opt(1_790_000_000 + secs, nanos).unwrap()
    }

    fn round_trip<I, T>(value: &T) -> (T, Key)
    where
        I: Serialize + DeserializeOwned + Into<T> + for<'a> From<&'a T>,
    {
        let item = to_item(&I::from(value)).unwrap();
        (decode::<I, T>(item.clone()).unwrap(), item)
    }

    #[test]
    fn sessions_round_trip_exactly() {
        let st = StationId::parse("CP-1").unwrap();
        let mut s = Session::blank(
            &st,
            OrgId::default_org(),
            Some(SiteId::parse("s1").unwrap()),
            &csms_domain::TransactionId::from(42),
            t(0, 123_456_789),
        );
        s.apply(&SessionUpdate {
            is_start: true,
            connector_id: Some(2),
            started_at: Some(t(1, 1)),
            meter_start_wh: Some("1000.50".parse().unwrap()),
            registers: vec![
                (t(2, 0), "1000.500".parse().unwrap()),
                (t(3, 999), "1200".parse().unwrap()),
            ],
            seq_no: Some(7),
            ..Default::default()
        });
        s.version = 3;
        let (back, item) = round_trip::<SessionItem, _>(&s);
        assert_eq!(back, s);
        // Scale survives, not just the value.
        assert_eq!(back.explicit_meter_start_wh.unwrap().to_string(), "1000.50");
        assert_eq!(back.first_register.unwrap().1.to_string(), "1000.500");
        assert_eq!(item.get("version"), Some(&AttributeValue::N("3".into())));
        assert_eq!(
            item.get("status"),
            Some(&AttributeValue::S("active".into()))
        );
        assert!(
            !item.contains_key("stopReason"),
            "absent values are not stored as NULL"
        );
        assert!(matches!(
            item.get("firstRegister"),
            Some(AttributeValue::M(_))
        ));
    }

    #[test]
    fn stations_and_readings_round_trip() {
        let station = Station {
            id: StationId::parse("CP-9").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            name: Some("Nine".into()),
            password_hash: None,
            created_at: t(0, 5),
            boot: Some(BootInfo {
                vendor: "V".into(),
                model: "M".into(),
                serial_number: None,
                firmware_version: Some("1".into()),
                reason: None,
                booted_at: t(1, 0),
                registration: RegistrationStatus::Pending,
            }),
            ocpp_version: Some(OcppVersion::V201),
            connection_id: Some("abc=".into()),
            last_seen_at: Some(t(2, 1_000)),
            approval: Approval::Rejected,
        };
        let (back, item) = round_trip::<StationItem, _>(&station);
        assert_eq!(back, station);
        assert_eq!(
            item.get("ocppVersion"),
            Some(&AttributeValue::S("2.0.1".into()))
        );
        assert_eq!(
            to_value(&OcppVersion::V201).unwrap(),
            AttributeValue::S("2.0.1".into())
        );

        let reading = MeterReading {
            timestamp: t(5, 0),
            measurand: "Energy.Active.Import.Register".into(),
            phase: Some("L1".into()),
            location: None,
            context: None,
            value: "-0.0010".parse().unwrap(),
            unit: "Wh".into(),
        };
        let (back, _) = round_trip::<ReadingItem, _>(&reading);
        assert_eq!(back.value.to_string(), "-0.0010");
        assert_eq!(back, reading);
    }

    #[test]
    fn tokens_and_events_round_trip() {
        let token = IdTokenRecord {
            token: IdTokenValue::parse("aB").unwrap(),
            token_type: IdTokenType::EMaid,
            status: TokenStatus::Blocked,
            expires_at: None,
            org_id: OrgId::default_org(),
            group: Some("residents".into()),
            created_at: t(0, 0),
        };
        let (back, item) = round_trip::<TokenItem, _>(&token);
        assert_eq!(back, token);
        assert_eq!(
            item.get("tokenType"),
            Some(&AttributeValue::S("eMAID".into()))
        );
        let event = StationEvent {
            station_id: StationId::parse("CP").unwrap(),
            at: t(0, 0),
            entry: csms_core::ports::StationLogEntry::Notification {
                kind: csms_domain::event::NotificationKind::SecurityEvent,
                message: serde_json::json!({"type": "x", "n": 3, "f": 1.5, "list": [true, null, "s"], "nested": {"a": ""}}),
            },
        };
        let (back, item) = round_trip::<EventItem, _>(&event);
        assert_eq!(back, event);
        assert!(matches!(item.get("payload"), Some(AttributeValue::M(_))));
    }

    #[test]
    fn connector_keys_sort_numerically() {
        assert_eq!(connector_sk(1, 1), "EVSE#00001#CONN#00001");
        assert!(connector_sk(2, 1) < connector_sk(10, 1));
    }
}
