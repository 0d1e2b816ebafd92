//! [`DynamoStore`]'s charging context: stations, connector statuses, live
//! connections, id tokens, sessions and their meter readings, the
//! transaction id counter, idempotency claims and station events.
//!
//! # Layout
//!
//! | item              | PK                     | SK                              | GSI1PK / GSI1SK                                   | GSI2PK / GSI2SK | ttl |
//! |-------------------|------------------------|---------------------------------|---------------------------------------------------|-----------------|-----|
//! | station           | `STATION#{id}`         | `META`                          | `ORG#{org}#STATION` / `{site or -}#{id}`          | `ORG#{org}#OFFLINE` / `{closedAt}#{id}` (sparse: gone, not back, not yet looked at) | |
//! | connector status  | `STATION#{id}`         | `EVSE#{evse:05}#CONN#{conn:05}` | | `ORG#{org}#LINGER` / `{status}#{updatedAt}#{id}#{evse}#{conn}` (sparse: in `Preparing` or `Finishing`, not yet looked at) | |
//! | live connection   | `CONN#{connectionId}`  | `CONN`                          | | | connected + 2 h 15 min |
//! | id token          | `IDTOKEN#{KEY}`        | `META`                          | `ORG#{org}#IDTOKEN` / `{KEY}`                     | `USER#{user}#IDTOKEN` / `{KEY}` (sparse: held ones) | |
//! | unregistered id   | `ORG#{org}#UNREG`      | `{KEY}`                         | | | |
//! | session           | `SESSION#{sessionId}`  | `META`                          | `ORG#{org}#SESSION` / `{time}#{sessionId}`        | `STATION#{id}#SESSION` / `{time}#{sessionId}` | |
//!
//! A session started with a held identifier is also on `GSI3`:
//! `USER#{user}#SESSION` / `{time}#{sessionId}` (sparse).
//! | meter reading     | `SESSION#{sessionId}` or `STATIONMETER#{id}` | `MV#{reading_key}` | | | |
//! | tx id counter     | `COUNTER#TXID`         | `COUNTER`                       | | | |
//! | idempotency claim | `IDEMP#{scope}#{key}`  | `IDEMP`                         | | | the claim's expiry |
//! | station event     | `STATIONLOG#{id}`      | `{time}#{random}`               | | | time + 180 days |
//!
//! `{time}` is [`sort_key_time`]. These entities are stored as ordinary
//! attributes (camelCase names, strings, numbers, maps) through the private
//! item structs below, so the stored schema does not change when a domain
//! field is renamed, and a field added to a domain type fails to compile here
//! until it is mapped. Decimals are stored as strings: DynamoDB numbers drop
//! the scale (`1000.0` becomes `1000`), and meter reading keys depend on it.
//! The idempotency claim holds its `value` and the counter its number `n`.
//!
//! A station and its connector statuses share a partition, so a station's
//! view is one `Query`; the connection is a `GetItem` of its own, since it is
//! written and touched by every message.

use super::table::{
    decode, epoch, first_condition_failed, n, org_partition, s, set_key, to_item, to_value,
    Condition, ConditionFailed, Index, Query, Update, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{TimeDelta, Utc};
use csms_domain::alarm::Lingering;
use csms_domain::meter::MeterReading;
use csms_domain::session::{CloseReason, InferredEnd, Session, SessionStatus};
use csms_domain::station::{
    Approval, BootInfo, ClockCheck, Connection, ConnectorStatus, FloodCheck, PreviousPassword,
    RegistrationStatus, SeenAddress, Station, StationChange, StationView,
};
use csms_domain::token::{
    IdTokenRecord, IdTokenType, TokenBlock, TokenStatus, UnregisteredToken, UNREGISTERED_MIN_GAP,
};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OcppVersion, OrgId, SessionId, SiteId, StationId, Timestamp};
use csms_kernel::ports::{
    reading_key, sort_key_time, ConnectionStore, IdempotencyStore, LingeringConnector, MeterTarget,
    OfflineStation, OfflineStore, Page, PageRequest, SessionQuery, SessionStore, StationEvent,
    StationStore, StatusWrite, StoreError, StoreResult, TokenStore,
};
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A connection record outlives the 2 h API Gateway limit a little, then
/// DynamoDB removes it even if `$disconnect` never arrived.
const CONNECTION_TTL: TimeDelta = TimeDelta::minutes(135);
const STATION_EVENT_TTL: TimeDelta = TimeDelta::days(180);
/// Stations whose connectors and connection are fetched at once when listing.
const LIST_CONCURRENCY: usize = 8;

// ---- keys ----

const CONN_SK: &str = "CONN";
const IDEMP_SK: &str = "IDEMP";

pub(super) fn station_pk(id: &StationId) -> String {
    format!("STATION#{id}")
}

fn connector_sk(evse_id: u32, connector_id: u32) -> String {
    format!("EVSE#{evse_id:05}#CONN#{connector_id:05}")
}

/// GSI2 partition of an organisation's stations gone offline (sparse: set
/// on the station item by a close, removed by a connect or the sweep).
fn offline_pk(org: &OrgId) -> String {
    org_partition(org, "OFFLINE")
}

fn offline_sk(since: Timestamp, station: &StationId) -> String {
    format!("{}#{station}", sort_key_time(since))
}

/// GSI2 partition of an organisation's connectors in a status they should
/// not stay in (sparse: set on the connector status item by a status write
/// of such a status, removed by any other status or the sweep).
fn linger_pk(org: &OrgId) -> String {
    org_partition(org, "LINGER")
}

fn linger_sk(status: &str, since: Timestamp, station: &StationId, evse: u32, conn: u32) -> String {
    format!("{status}#{}#{station}#{evse}#{conn}", sort_key_time(since))
}

fn conn_pk(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}

/// An id token item decoded (for a read that batches it with others).
pub(super) fn token_from(item: Key) -> StoreResult<IdTokenRecord> {
    decode::<TokenItem, _>(item)
}

pub(super) fn token_pk(token: &IdTokenValue) -> String {
    format!("IDTOKEN#{}", token.key())
}

fn session_pk(id: &SessionId) -> String {
    format!("SESSION#{id}")
}

/// GSI2 partition of a station's sessions (of every organisation).
fn station_sessions_pk(id: &StationId) -> String {
    format!("STATION#{id}#SESSION")
}

fn meter_pk(target: &MeterTarget) -> String {
    match target {
        MeterTarget::Session(id) => session_pk(id),
        MeterTarget::Station(id) => format!("STATIONMETER#{id}"),
    }
}

fn log_pk(id: &StationId) -> String {
    format!("STATIONLOG#{id}")
}

// ---- item structs: the stored schema ----

/// `From<&Domain> for Item` and `From<Item> for Domain` for an item struct
/// whose fields are its domain type's, one for one. Fields after `mapped`
/// are options of a type with an item struct of its own, converted through
/// it. Both sides are destructured without `..`: a field added to the domain
/// type fails to compile here until it is listed, and listing it until the
/// item struct has it.
macro_rules! same_fields {
    ($domain:ident => $item:ident { $($field:ident),* $(,)? } $(mapped { $($mapped:ident),+ $(,)? })?) => {
        impl From<&$domain> for $item {
            fn from(d: &$domain) -> Self {
                let $domain { $($field,)* $($($mapped,)+)? } = d.clone();
                $item {
                    $($field,)*
                    $($($mapped: $mapped.as_ref().map(From::from),)+)?
                }
            }
        }

        impl From<$item> for $domain {
            fn from(i: $item) -> Self {
                let $item { $($field,)* $($($mapped,)+)? } = i;
                $domain {
                    $($field,)*
                    $($($mapped: $mapped.map(Into::into),)+)?
                }
            }
        }
    };
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_password: Option<PreviousPasswordItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decommissioned_at: Option<Timestamp>,
    /// Set by each connect; absent before connects were counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_connects: Vec<Timestamp>,
    /// Set by each connect; absent before source addresses were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_addresses: Vec<SeenAddress>,
}

same_fields!(Station => StationItem {
    id, org_id, site_id, name, password_hash, created_at, ocpp_version, connection_id,
    last_seen_at, approval, decommissioned_at, recent_connects, recent_addresses,
} mapped { boot, previous_password });

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviousPasswordItem {
    hash: String,
    valid_until: Timestamp,
}

same_fields!(PreviousPassword => PreviousPasswordItem { hash, valid_until });

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_boots: Vec<Timestamp>,
}

same_fields!(BootInfo => BootItem {
    vendor, model, serial_number, firmware_version, reason, booted_at, registration,
    recent_boots,
});

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
    /// Shifted along by each touch; absent before enough messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_seen_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    second_previous_seen_at: Option<Timestamp>,
    /// Absent in items written before the setting: accepted.
    #[serde(default)]
    approval: Approval,
    /// Absent until a message gave clock evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<ClockCheck>,
    /// Counted by each touch (`ADD`); absent before the first message.
    #[serde(default, skip_serializing_if = "is_zero")]
    messages: u64,
    /// Absent until the message-flood rule wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flood: Option<FloodCheck>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

same_fields!(Connection => ConnectionItem {
    connection_id, station_id, org_id, site_id, ocpp_version, connected_at, last_seen_at,
    previous_seen_at, second_previous_seen_at, approval, clock, messages, flood,
});

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenItem {
    token: IdTokenValue,
    token_type: IdTokenType,
    status: TokenStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<Timestamp>,
    /// The attribute's name from before tokens had a validity window.
    #[serde(rename = "expiresAt", default, skip_serializing_if = "Option::is_none")]
    valid_to: Option<Timestamp>,
    org_id: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_id: Option<IdTokenValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    emaid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_hold: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<Timestamp>,
    /// Absent in items written before tokens had a version: 0.
    #[serde(default)]
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    block: Option<BlockItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
}

same_fields!(IdTokenRecord => TokenItem {
    token, token_type, status, valid_from, valid_to, org_id, group, parent_id, emaid, payment_hold, label,
    created_at, updated_at, version, user_id,
} mapped { block });

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockItem {
    reason: String,
    by: String,
    at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unblocked_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unblocked_by: Option<String>,
}

same_fields!(TokenBlock => BlockItem { reason, by, at, unblocked_at, unblocked_by });

/// An identifier seen and not registered; `lastSeenMs` (epoch
/// milliseconds, written next to it) is what the write's condition compares.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnregisteredItem {
    org_id: OrgId,
    token: IdTokenValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_type: Option<IdTokenType>,
    station_id: StationId,
    first_seen: Timestamp,
    last_seen: Timestamp,
    count: u64,
}

same_fields!(UnregisteredToken => UnregisteredItem {
    org_id, token, token_type, station_id, first_seen, last_seen, count,
});

fn unregistered_pk(org: &OrgId) -> String {
    org_partition(org, "UNREG")
}

/// An energy register reading kept on a session.
#[derive(Serialize, Deserialize)]
struct RegisterItem {
    at: Timestamp,
    #[serde(with = "rust_decimal::serde::str")]
    wh: Decimal,
}

impl From<&(Timestamp, Decimal)> for RegisterItem {
    fn from(&(at, wh): &(Timestamp, Decimal)) -> Self {
        RegisterItem { at, wh }
    }
}

impl From<RegisterItem> for (Timestamp, Decimal) {
    fn from(r: RegisterItem) -> Self {
        (r.at, r.wh)
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
}

same_fields!(Session => SessionItem {
    id, station_id, org_id, site_id, transaction_id, evse_id, connector_id, id_token, status,
    started_at, ended_at, explicit_meter_start_wh, explicit_meter_stop_wh, stop_reason,
    start_unknown, seen_seq_nos, offline_events, charger_clock_replaced, late_readings,
    charger_ended, version, updated_at, user_id,
} mapped { first_register, last_register, inferred_end });

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferredEndItem {
    at: Timestamp,
    reason: CloseReason,
}

same_fields!(InferredEnd => InferredEndItem { at, reason });

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

same_fields!(MeterReading => ReadingItem {
    timestamp, measurand, phase, location, context, value, unit,
});

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

// ---- whole items ----

fn station_item(station: &Station) -> StoreResult<Key> {
    let mut item = to_item(&StationItem::from(station))?;
    set_key(&mut item, Index::Table, station_pk(&station.id), META);
    let site = station.site_id.as_ref().map_or("-", SiteId::as_str);
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&station.org_id, "STATION"),
        format!("{site}#{}", station.id),
    );
    Ok(item)
}

fn token_item(token: &IdTokenRecord) -> StoreResult<Key> {
    let mut item = to_item(&TokenItem::from(token))?;
    set_key(&mut item, Index::Table, token_pk(&token.token), META);
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&token.org_id, "IDTOKEN"),
        token.token.key(),
    );
    // Sparse: only a held identifier is listed under its holder.
    if let Some(user) = &token.user_id {
        set_key(
            &mut item,
            Index::Gsi2,
            user_tokens_pk(user),
            token.token.key(),
        );
    }
    Ok(item)
}

/// GSI2 partition of the identifiers a person holds.
fn user_tokens_pk(user: &UserId) -> String {
    format!("USER#{}#IDTOKEN", user.as_str())
}

/// GSI3 partition of the sessions a person's identifiers started.
fn user_sessions_pk(user: &UserId) -> String {
    format!("USER#{}#SESSION", user.as_str())
}

fn session_item(session: &Session) -> StoreResult<Key> {
    let mut item = to_item(&SessionItem::from(session))?;
    set_key(&mut item, Index::Table, session_pk(&session.id), META);
    let sort = format!("{}#{}", sort_key_time(session.sort_time()), session.id);
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&session.org_id, "SESSION"),
        &sort,
    );
    if let Some(user) = &session.user_id {
        set_key(&mut item, Index::Gsi3, user_sessions_pk(user), &sort);
    }
    set_key(
        &mut item,
        Index::Gsi2,
        station_sessions_pk(&session.station_id),
        sort,
    );
    Ok(item)
}

// ---- the ports ----

impl DynamoStore {
    /// Fills in a station's connector statuses and live connection.
    async fn complete_view(&self, org: &OrgId, station: Station) -> StoreResult<StationView> {
        let connectors = Query::partition(station_pk(&station.id)).sk_prefix("EVSE#");
        let connectors = self
            .all_of(org, &connectors, decode::<ConnectorItem, _>)
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
            Some(cid) => {
                self.get_as(conn_pk(cid), CONN_SK, decode::<ConnectionItem, _>)
                    .await
            }
        }
    }
}

#[async_trait]
impl StationStore for DynamoStore {
    async fn create_station(&self, station: &Station) -> StoreResult<()> {
        self.put_or_conflict(station_item(station)?, Condition::absent(), || {
            format!("station {} already exists", station.id)
        })
        .await
    }

    async fn get_station(&self, id: &StationId) -> StoreResult<Option<Station>> {
        self.get_as(station_pk(id), META, decode::<StationItem, _>)
            .await
    }

    async fn get_station_view(&self, id: &StationId) -> StoreResult<Option<StationView>> {
        // META and the connector items share the partition: one query.
        let mut station = None;
        let mut connectors = Vec::new();
        for item in self.query_all(&Query::partition(station_pk(id))).await? {
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
        let query = Query::index(Index::Gsi1, org_partition(org, "STATION"));
        let stations = self
            .page_of(org, &query, page, decode::<StationItem, Station>)
            .await?;
        let items = futures::stream::iter(
            stations
                .items
                .into_iter()
                .map(|st| self.complete_view(org, st)),
        )
        .buffered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
        Ok(Page {
            items,
            next_cursor: stations.next_cursor,
        })
    }

    async fn record_boot(&self, id: &StationId, boot: &BootInfo) -> StoreResult<()> {
        let update = Update::new(station_pk(id), META, "SET #boot = :boot")
            .name("#boot", "boot")
            .value(":boot", to_value(&BootItem::from(boot))?)
            .only_if(Condition::exists());
        // The condition keeps the update from creating half a station; a
        // boot of a station that is not registered (it could not have
        // connected) is dropped, as the embedded store does.
        if let Err(ConditionFailed) = self.update(update).await? {
            tracing::warn!(station = %id, "boot of an unregistered station ignored");
        }
        Ok(())
    }

    async fn set_station_approval(
        &self,
        id: &StationId,
        approval: Approval,
    ) -> StoreResult<Option<Station>> {
        let value = to_value(&approval)?;
        let set = |pk: String, sk: &str| {
            Update::new(pk, sk, "SET #a = :a")
                .name("#a", "approval")
                .value(":a", value.clone())
                .only_if(Condition::exists())
        };
        let update = set(station_pk(id), META).returning(ReturnValue::AllNew);
        let Ok(Some(stored)) = self.update(update).await? else {
            return Ok(None);
        };
        let station: Station = decode::<StationItem, Station>(stored)?;
        if let Some(cid) = &station.connection_id {
            // A failed condition: the connection closed meanwhile, and the
            // next one copies the station's approval.
            let _closed = self.update(set(conn_pk(cid), CONN_SK)).await?;
        }
        Ok(Some(station))
    }

    async fn update_station(
        &self,
        id: &StationId,
        change: &StationChange,
    ) -> StoreResult<Option<Station>> {
        // Only the attributes the change names are written, so concurrent
        // boots, connections and other changes are not undone.
        let Some(before) = self.get_station(id).await? else {
            return Ok(None);
        };
        if change.is_empty() {
            return Ok(Some(before));
        }
        let mut after = before.clone();
        change.apply(&mut after);
        let mut set: Vec<(&str, AttributeValue)> = Vec::new();
        let mut remove: Vec<&str> = Vec::new();
        let mut field = |attr: &'static str, value: Option<AttributeValue>| match value {
            Some(v) => set.push((attr, v)),
            None => remove.push(attr),
        };
        if change.name.is_some() {
            field("name", after.name.as_deref().map(s));
        }
        if change.site_id.is_some() {
            field("siteId", after.site_id.as_ref().map(|x| s(x.as_str())));
            let site = after.site_id.as_ref().map_or("-", SiteId::as_str);
            field("GSI1SK", Some(s(format!("{site}#{id}"))));
        }
        if change.password.is_some() {
            field("passwordHash", after.password_hash.as_deref().map(s));
            let previous = after
                .previous_password
                .as_ref()
                .map(|p| to_value(&PreviousPasswordItem::from(p)))
                .transpose()?;
            field("previousPassword", previous);
        }
        if change.decommissioned_at.is_some() {
            let at = after.decommissioned_at.as_ref().map(to_value).transpose()?;
            field("decommissionedAt", at);
        }
        let mut expression = Vec::new();
        let mut update_names = Vec::new();
        let mut update_values = Vec::new();
        if !set.is_empty() {
            let parts: Vec<String> = set
                .iter()
                .enumerate()
                .map(|(i, _)| format!("#s{i} = :s{i}"))
                .collect();
            expression.push(format!("SET {}", parts.join(", ")));
        }
        if !remove.is_empty() {
            let parts: Vec<String> = (0..remove.len()).map(|i| format!("#r{i}")).collect();
            expression.push(format!("REMOVE {}", parts.join(", ")));
        }
        for (i, (attr, value)) in set.into_iter().enumerate() {
            update_names.push((format!("#s{i}"), attr));
            update_values.push((format!(":s{i}"), value));
        }
        for (i, attr) in remove.into_iter().enumerate() {
            update_names.push((format!("#r{i}"), attr));
        }
        let mut update = Update::new(station_pk(id), META, expression.join(" "))
            .only_if(Condition::exists())
            .returning(ReturnValue::AllNew);
        for (placeholder, attr) in &update_names {
            update = update.name(placeholder, attr);
        }
        for (placeholder, value) in update_values {
            update = update.value(&placeholder, value);
        }
        let Ok(Some(stored)) = self.update(update).await? else {
            // Deleted meanwhile.
            return Ok(None);
        };
        let station: Station = decode::<StationItem, Station>(stored)?;
        if change.site_id.is_some() {
            if let Some(cid) = &station.connection_id {
                let site = Update::new(
                    conn_pk(cid),
                    CONN_SK,
                    match &station.site_id {
                        Some(_) => "SET #site = :site",
                        None => "REMOVE #site",
                    },
                )
                .name("#site", "siteId")
                .only_if(Condition::exists());
                let site = match &station.site_id {
                    Some(x) => site.value(":site", s(x.as_str())),
                    None => site,
                };
                // A failed condition: the connection closed meanwhile, and
                // the next one copies the station's site.
                let _closed = self.update(site).await?;
            }
        }
        Ok(Some(station))
    }

    async fn delete_station(&self, id: &StationId) -> StoreResult<()> {
        // The station's partition: the station and its connector statuses.
        let items = self.query_all(&Query::partition(station_pk(id))).await?;
        for item in items {
            let Some(AttributeValue::S(sk)) = item.get("SK") else {
                continue;
            };
            self.delete(station_pk(id), sk.clone()).await?;
        }
        Ok(())
    }

    async fn set_connector_status(
        &self,
        org: &OrgId,
        id: &StationId,
        status: &ConnectorStatus,
    ) -> StoreResult<StatusWrite> {
        let mut item = to_item(&ConnectorItem::from(status))?;
        set_key(
            &mut item,
            Index::Table,
            station_pk(id),
            connector_sk(status.evse_id, status.connector_id),
        );
        // The put replaces the item: any other status takes it off the list.
        if Lingering::listed(&status.status) {
            set_key(
                &mut item,
                Index::Gsi2,
                linger_pk(org),
                linger_sk(
                    &status.status,
                    status.updated_at,
                    id,
                    status.evse_id,
                    status.connector_id,
                ),
            );
        }
        let not_older = Condition::new("attribute_not_exists(PK) OR #ms <= :ms")
            .name("#ms", "updatedAtMs")
            .value(":ms", n(status.updated_at.timestamp_millis()));
        // A failed condition: a newer status is stored, this one is a late
        // replay. The one replaced comes back with the write: no read.
        Ok(match self.put_if_returning_old(item, not_older).await? {
            Ok(previous) => StatusWrite::Stored {
                previous: previous
                    .map(decode::<ConnectorItem, ConnectorStatus>)
                    .transpose()?,
            },
            Err(ConditionFailed) => StatusWrite::Late,
        })
    }

    async fn append_station_event(&self, event: &StationEvent) -> StoreResult<()> {
        let sk = format!("{}#{:016x}", sort_key_time(event.at), rand::random::<u64>());
        let mut item = to_item(&EventItem::from(event))?;
        set_key(&mut item, Index::Table, log_pk(&event.station_id), sk);
        item.insert("ttl".into(), epoch(event.at + STATION_EVENT_TTL));
        self.put(item).await
    }

    async fn list_station_events(
        &self,
        id: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationEvent>> {
        // Not strongly consistent, as this listing has always been.
        let query = Query::partition(log_pk(id))
            .newest_first()
            .eventually_consistent();
        self.page_of(&OrgId::default_org(), &query, page, decode::<EventItem, _>)
            .await
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn open_connection(
        &self,
        conn: &Connection,
        recent_connects: &[Timestamp],
        recent_addresses: &[SeenAddress],
    ) -> StoreResult<Option<String>> {
        // Back: off the offline list (see `close_connection`).
        let update = Update::new(
            station_pk(&conn.station_id),
            META,
            "SET #cid = :cid, #v = :v, #rc = :rc, #ra = :ra REMOVE GSI2PK, GSI2SK",
        )
        .name("#cid", "connectionId")
        .name("#v", "ocppVersion")
        .name("#rc", "recentConnects")
        .name("#ra", "recentAddresses")
        .value(":cid", s(&conn.connection_id))
        .value(":v", to_value(&conn.ocpp_version)?)
        .value(":rc", to_value(&recent_connects)?)
        .value(":ra", to_value(&recent_addresses)?)
        .only_if(Condition::exists())
        .returning(ReturnValue::UpdatedOld);
        let previous = match self.update(update).await? {
            Ok(old) => match old.as_ref().and_then(|a| a.get("connectionId")) {
                Some(AttributeValue::S(prev)) if *prev != conn.connection_id => Some(prev.clone()),
                _ => None,
            },
            // The station was removed after the handshake checked it: record
            // the connection anyway (as the embedded store does) without
            // creating half a station.
            Err(ConditionFailed) => {
                tracing::warn!(station = %conn.station_id, "connection of an unregistered station");
                None
            }
        };
        let mut item = to_item(&ConnectionItem::from(conn))?;
        set_key(
            &mut item,
            Index::Table,
            conn_pk(&conn.connection_id),
            CONN_SK,
        );
        item.insert("ttl".into(), epoch(conn.connected_at + CONNECTION_TTL));
        self.put(item).await?;
        Ok(previous)
    }

    async fn touch_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        // The message count and the times of the two messages before ride
        // on the touch (no request more): the message-flood rule reads them
        // from what the touch returns. Every operand of an update
        // expression is the item's value before it, so `#p1 = #ls` moves
        // the previous time along (the connect's stands in for the times
        // before the first message).
        let update = Update::new(
            conn_pk(connection_id),
            CONN_SK,
            "SET #p2 = if_not_exists(#p1, #ls), #p1 = #ls, #ls = :at ADD #n :one",
        )
        .name("#p2", "secondPreviousSeenAt")
        .name("#p1", "previousSeenAt")
        .name("#ls", "lastSeenAt")
        .name("#n", "messages")
        .value(":at", to_value(&at)?)
        .value(":one", AttributeValue::N("1".into()))
        .only_if(Condition::exists())
        .returning(ReturnValue::AllNew);
        // A failed condition: the connection is gone.
        self.update(update)
            .await?
            .ok()
            .flatten()
            .map(decode::<ConnectionItem, _>)
            .transpose()
    }

    async fn set_connection_clock(
        &self,
        connection_id: &str,
        check: ClockCheck,
    ) -> StoreResult<bool> {
        let update = Update::new(conn_pk(connection_id), CONN_SK, "SET #clk = :clk")
            .name("#clk", "clock")
            .value(":clk", to_value(&check)?)
            .only_if(Condition::exists());
        // A failed condition: the connection is gone.
        Ok(self.update(update).await?.is_ok())
    }

    async fn set_connection_flood(
        &self,
        connection_id: &str,
        check: FloodCheck,
    ) -> StoreResult<bool> {
        let update = Update::new(conn_pk(connection_id), CONN_SK, "SET #fl = :fl")
            .name("#fl", "flood")
            .value(":fl", to_value(&check)?)
            .only_if(Condition::exists());
        // A failed condition: the connection is gone.
        Ok(self.update(update).await?.is_ok())
    }

    async fn close_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        let Some(conn) = self
            .delete(conn_pk(connection_id), CONN_SK)
            .await?
            .map(decode::<ConnectionItem, Connection>)
            .transpose()?
        else {
            return Ok(None);
        };
        // The station keeps the time of the last message; the live value was on
        // the connection record. In the same write it goes on its
        // organisation's offline list (GSI2), which the next connect leaves.
        let update = Update::new(
            station_pk(&conn.station_id),
            META,
            "REMOVE #cid SET #ls = :ls, GSI2PK = :opk, GSI2SK = :osk",
        )
        .name("#cid", "connectionId")
        .name("#ls", "lastSeenAt")
        .value(":ls", to_value(&conn.last_seen_at)?)
        .value(":opk", s(offline_pk(&conn.org_id)))
        .value(":osk", s(offline_sk(at, &conn.station_id)))
        .only_if(Condition::new("#cid = :cid").value(":cid", s(connection_id)));
        // A failed condition: a newer connection owns the station now.
        let _newer = self.update(update).await?;
        Ok(Some(conn))
    }
}

#[async_trait]
impl OfflineStore for DynamoStore {
    async fn offline_due(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<OfflineStation>> {
        // `{until}~` sorts after `{until}#{id}`: every close up to `until`.
        let query = Query::index(Index::Gsi2, offline_pk(org))
            .sk_between("0", format!("{}~", sort_key_time(until)));
        self.up_to(org, &query, limit, offline_station).await
    }

    async fn settle_offline(&self, station: &StationId, since: Timestamp) -> StoreResult<bool> {
        let update = Update::new(station_pk(station), META, "REMOVE GSI2PK, GSI2SK")
            .only_if(Condition::new("GSI2SK = :osk").value(":osk", s(offline_sk(since, station))));
        // A failed condition: it came back (and maybe went again) meanwhile.
        Ok(self.update(update).await?.is_ok())
    }

    async fn lingering_due(
        &self,
        org: &OrgId,
        status: &str,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<LingeringConnector>> {
        // `{status}#{until}~` sorts after every `{status}#{until}#…`.
        let query = Query::index(Index::Gsi2, linger_pk(org)).sk_between(
            format!("{status}#"),
            format!("{status}#{}~", sort_key_time(until)),
        );
        self.up_to(org, &query, limit, lingering_connector).await
    }

    async fn settle_lingering(
        &self,
        station: &StationId,
        evse_id: u32,
        connector_id: u32,
        since: Timestamp,
    ) -> StoreResult<bool> {
        let update = Update::new(
            station_pk(station),
            connector_sk(evse_id, connector_id),
            "REMOVE GSI2PK, GSI2SK",
        )
        .only_if(
            Condition::new("#ms = :ms AND attribute_exists(GSI2SK)")
                .name("#ms", "updatedAtMs")
                .value(":ms", n(since.timestamp_millis())),
        );
        // A failed condition: a newer status came meanwhile.
        Ok(self.update(update).await?.is_ok())
    }
}

/// A connector on the lingering list: its station from the item's key.
fn lingering_connector(item: Key) -> StoreResult<LingeringConnector> {
    let station = match item.get("PK") {
        Some(AttributeValue::S(pk)) => pk
            .strip_prefix("STATION#")
            .and_then(|id| StationId::parse(id).ok()),
        _ => None,
    };
    let status: ConnectorStatus = decode::<ConnectorItem, _>(item)?;
    let station_id = station.ok_or_else(|| StoreError::Undecodable {
        kind: "ConnectorStatus".into(),
        key: "LINGER".into(),
        reason: "its key names no station".into(),
    })?;
    Ok(LingeringConnector { station_id, status })
}

/// A station on the offline list: the station, and its close time from its
/// GSI2 sort key.
fn offline_station(item: Key) -> StoreResult<OfflineStation> {
    let since = match item.get("GSI2SK") {
        Some(AttributeValue::S(sk)) => sk
            .split_once('#')
            .and_then(|(t, _)| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    let station: Station = decode::<StationItem, _>(item)?;
    let since = since.ok_or_else(|| StoreError::Undecodable {
        kind: "Station".into(),
        key: station_pk(&station.id),
        reason: "its offline list key holds no time".into(),
    })?;
    Ok(OfflineStation { station, since })
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn create_id_token(&self, token: &IdTokenRecord) -> StoreResult<()> {
        self.put_or_conflict(token_item(token)?, Condition::absent(), || {
            format!("id token {} already exists", token.token)
        })
        .await
    }

    async fn get_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>> {
        self.get_as(token_pk(token), META, decode::<TokenItem, _>)
            .await
    }

    async fn list_id_tokens(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "IDTOKEN"));
        self.page_of(org, &query, page, decode::<TokenItem, _>)
            .await
    }

    async fn list_user_id_tokens(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>> {
        let query = Query::index(Index::Gsi2, user_tokens_pk(user));
        self.page_of(&OrgId::default_org(), &query, page, decode::<TokenItem, _>)
            .await
    }

    // --- LaddID life cycle (issue 17.3) ---

    async fn put_id_token(&self, token: &IdTokenRecord, expected_version: u64) -> StoreResult<()> {
        // The organisation is fixed: a write never moves a token.
        let condition = match expected_version {
            // Stored before tokens had a version.
            0 => {
                Condition::new("attribute_exists(PK) AND attribute_not_exists(#v) AND #org = :org")
            }
            v => Condition::new("#v = :expected AND #org = :org").value(":expected", n(v)),
        }
        .name("#v", "version")
        .name("#org", "orgId")
        .value(":org", s(token.org_id.as_str()));
        self.put_or_conflict(token_item(token)?, condition, || {
            format!(
                "id token {} is not at version {expected_version}",
                token.token
            )
        })
        .await
    }

    async fn delete_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>> {
        self.delete(token_pk(token), META)
            .await?
            .map(decode::<TokenItem, _>)
            .transpose()
    }

    /// One UpdateItem, whether it writes or not: the condition skips a
    /// sighting within [`UNREGISTERED_MIN_GAP`] of the last.
    async fn note_unregistered(&self, seen: &UnregisteredToken) -> StoreResult<()> {
        let mut set = vec![
            "#org = :org",
            "#tok = :tok",
            "#st = :st",
            "#ls = :ls",
            "#lsms = :lsms",
            "#fs = if_not_exists(#fs, :ls)",
        ];
        if seen.token_type.is_some() {
            set.push("#tt = :tt");
        }
        let mut update = Update::new(
            unregistered_pk(&seen.org_id),
            seen.token.key(),
            format!("SET {} ADD #c :one", set.join(", ")),
        )
        .name("#org", "orgId")
        .name("#tok", "token")
        .name("#st", "stationId")
        .name("#ls", "lastSeen")
        .name("#lsms", "lastSeenMs")
        .name("#fs", "firstSeen")
        .name("#c", "count")
        .value(":org", s(seen.org_id.as_str()))
        .value(":tok", s(seen.token.as_str()))
        .value(":st", s(seen.station_id.as_str()))
        .value(":ls", to_value(&seen.last_seen)?)
        .value(":lsms", n(seen.last_seen.timestamp_millis()))
        .value(":one", n(seen.count.max(1)))
        .only_if(
            Condition::new("attribute_not_exists(PK) OR #lsms <= :cutoff")
                .name("#lsms", "lastSeenMs")
                .value(
                    ":cutoff",
                    n((seen.last_seen - UNREGISTERED_MIN_GAP).timestamp_millis()),
                ),
        );
        if let Some(t) = seen.token_type {
            update = update.name("#tt", "tokenType").value(":tt", to_value(&t)?);
        }
        // A failed condition: seen within the gap, nothing to write.
        let _recent = self.update(update).await?;
        Ok(())
    }

    async fn get_unregistered(
        &self,
        org: &OrgId,
        token: &IdTokenValue,
    ) -> StoreResult<Option<UnregisteredToken>> {
        self.get_as(
            unregistered_pk(org),
            token.key(),
            decode::<UnregisteredItem, _>,
        )
        .await
    }

    async fn list_unregistered(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<UnregisteredToken>> {
        let query = Query::partition(unregistered_pk(org));
        self.page_of(org, &query, page, decode::<UnregisteredItem, _>)
            .await
    }

    async fn register_unregistered(&self, token: &IdTokenRecord) -> StoreResult<()> {
        let put = self.transact_put(token_item(token)?, Some(Condition::absent()))?;
        let seen = self.transact_delete(unregistered_pk(&token.org_id), token.token.key(), None)?;
        match self
            .transact(vec![put, seen], first_condition_failed)
            .await?
        {
            Ok(()) => Ok(()),
            Err(ConditionFailed) => Err(StoreError::Conflict(format!(
                "id token {} already exists",
                token.token
            ))),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn next_transaction_id(&self) -> StoreResult<i64> {
        let update = Update::new("COUNTER#TXID", "COUNTER", "ADD #n :one")
            .name("#n", "n")
            .value(":one", n(1))
            .returning(ReturnValue::UpdatedNew);
        let counter = self.update(update).await?.ok().flatten();
        match counter.as_ref().and_then(|a| a.get("n")) {
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
        self.get_as(session_pk(id), META, decode::<SessionItem, _>)
            .await
    }

    async fn put_session(&self, session: &Session, expected_version: u64) -> StoreResult<()> {
        self.put_or_conflict(
            session_item(session)?,
            Condition::expecting(expected_version),
            || {
                format!(
                    "session {} is not at version {expected_version}",
                    session.id
                )
            },
        )
        .await
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
        let query = match &q.station_id {
            // The station index spans organisations; keep tenants apart.
            Some(st) => Query::index(Index::Gsi2, station_sessions_pk(st))
                .filter_eq("orgId", q.org_id.as_str()),
            None => Query::index(Index::Gsi1, org_partition(&q.org_id, "SESSION")),
        };
        let query = query.sk_between(from, to).newest_first();
        self.page_of(&q.org_id, &query, &q.page, decode::<SessionItem, _>)
            .await
    }

    async fn list_user_sessions(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Session>> {
        let query = Query::index(Index::Gsi3, user_sessions_pk(user)).newest_first();
        self.page_of(
            &OrgId::default_org(),
            &query,
            page,
            decode::<SessionItem, _>,
        )
        .await
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
            let mut item = to_item(&ReadingItem::from(r))?;
            set_key(&mut item, Index::Table, &pk, &sk);
            by_key.insert(sk, item);
        }
        self.batch_put(by_key.into_values().collect()).await
    }

    async fn list_meter_readings(&self, target: &MeterTarget) -> StoreResult<Vec<MeterReading>> {
        let query = Query::partition(meter_pk(target)).sk_prefix("MV#");
        self.all_of(&OrgId::default_org(), &query, decode::<ReadingItem, _>)
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
        let mut item = Key::new();
        set_key(&mut item, Index::Table, &pk, IDEMP_SK);
        item.insert("value".into(), s(value));
        item.insert("ttl".into(), epoch(now + ttl));
        // TTL deletion lags by up to days: an expired claim counts as free.
        let free = Condition::new("attribute_not_exists(PK) OR #ttl < :now")
            .name("#ttl", "ttl")
            .value(":now", epoch(now));
        let existing = match self.put_if_else_stored(item, free).await? {
            Ok(()) => return Ok(None),
            Err(stored) => stored,
        };
        // The stored item normally comes with the failure; read it otherwise.
        let existing = match existing {
            Some(item) if !item.is_empty() => Some(item),
            _ => self.get(pk.clone(), IDEMP_SK).await?,
        };
        match existing.as_ref().and_then(|i| i.get("value")) {
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            other => Err(StoreError::Backend(format!(
                "idempotency item {pk} holds {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use csms_domain::session::SessionUpdate;
    use serde::de::DeserializeOwned;

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
                recent_boots: vec![t(0, 500), t(1, 0)],
            }),
            ocpp_version: Some(OcppVersion::V201),
            connection_id: Some("abc=".into()),
            last_seen_at: Some(t(2, 1_000)),
            approval: Approval::Rejected,
            previous_password: Some(PreviousPassword {
                hash: "$argon2id$old".into(),
                valid_until: t(3, 0),
            }),
            decommissioned_at: Some(t(4, 0)),
            recent_connects: vec![t(1, 0), t(2, 0)],
            recent_addresses: vec![SeenAddress {
                address: "192.0.2.7".into(),
                at: t(2, 0),
            }],
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
            user_id: None,
            token: IdTokenValue::parse("aB").unwrap(),
            token_type: IdTokenType::EMaid,
            status: TokenStatus::Blocked,
            valid_from: Some(t(0, 0)),
            valid_to: Some(t(1, 0)),
            org_id: OrgId::default_org(),
            group: Some("residents".into()),
            parent_id: Some(IdTokenValue::parse("P").unwrap()),
            emaid: Some("SE-ABC-C12345678-X".into()),
            payment_hold: None,
            label: Some("Anna".into()),
            block: Some(TokenBlock {
                reason: "lost".into(),
                by: "admin".into(),
                at: t(0, 0),
                unblocked_at: None,
                unblocked_by: None,
            }),
            created_at: t(0, 0),
            updated_at: Some(t(0, 0)),
            version: 2,
        };
        let (back, item) = round_trip::<TokenItem, _>(&token);
        assert_eq!(back, token);
        assert_eq!(
            item.get("tokenType"),
            Some(&AttributeValue::S("eMAID".into()))
        );
        // `valid_to` keeps the attribute name tokens always had.
        assert!(item.contains_key("expiresAt") && !item.contains_key("validTo"));
        let event = StationEvent {
            station_id: StationId::parse("CP").unwrap(),
            at: t(0, 0),
            entry: csms_kernel::ports::StationLogEntry::Notification {
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
