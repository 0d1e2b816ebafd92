//! Ports: the small traits the use cases need from the outside world.
//!
//! Each has two implementations with the same behaviour — DynamoDB
//! (`csms-store-dynamo`) and the embedded redb store (`csms-store-redb`) — held to it by
//! the contract suite in `crate::contract`. Keys follow the single-table
//! layout documented in `infra/README.md`; the embedded store mirrors its
//! access patterns.

use async_trait::async_trait;
use csms_domain::access::{AccessAttempt, GarageIdentity, StationAccess};
use csms_domain::alarm::{Alarm, AlarmSettings};
use csms_domain::api_key::ApiKey;
use csms_domain::audit::AuditEntry;
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::fee::{ChargeId, Fee, FeeId, OneOffCharge};
use csms_domain::billing::invoice::{Invoice, InvoiceId, InvoiceNumber, InvoiceStatus};
use csms_domain::billing::ledger::{LedgerReference, LedgerTransaction};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_domain::billing::period::Period;
use csms_domain::booking::{Booking, BookingId, Window};
use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
use csms_domain::command::{Command, CommandId};
use csms_domain::device_model::{DeviceModel, ReportPart};
use csms_domain::email_link::{EmailLink, LinkId};
use csms_domain::event::NotificationKind;
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::local_list::LocalListState;
use csms_domain::meter::MeterReading;
use csms_domain::pricing::PricedSession;
use csms_domain::rating::{Rating, RatingSummary};
use csms_domain::session::Session;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::station::{
    Approval, BootInfo, Connection, ConnectorStatus, Station, StationChange, StationView,
};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::tenant::{Organisation, Site};
use csms_domain::token::{IdTokenRecord, UnregisteredToken};
use csms_domain::usage::{UsageDay, UsageKey};
use csms_domain::user::{User, UserEmail, UserId, UserSession};
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::{IdTokenValue, OrgId, SessionId, SiteId, StationId, Timestamp};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists, or changed since it was read.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A pagination cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("store backend failed: {0}")]
    Backend(String),
    /// A stored record that this version cannot read (written by an older
    /// version or a bug). Listings skip such records (logged, counted, and an
    /// alarm raised); a read of the one record fails with this error, which
    /// names it, and affects no other request.
    #[error("stored {kind} {key} does not decode: {reason}")]
    Undecodable {
        /// The kind of record, e.g. `Session`.
        kind: String,
        /// Its key in the store.
        key: String,
        reason: String,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a listing. `next_cursor` is opaque to callers.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    /// 1..=500; adapters clamp.
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit,
            cursor: None,
        }
    }

    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT as usize,
            n => n.min(Self::MAX_LIMIT) as usize,
        }
    }
}

/// Which sessions to list: by organisation, optionally one station, with
/// `from <= sort_time < to`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionQuery {
    pub org_id: OrgId,
    pub station_id: Option<StationId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub page: PageRequest,
}

/// Where meter readings belong: a session, or a station when the charger sent
/// no transaction id (kept too — never dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MeterTarget {
    Session(SessionId),
    Station(StationId),
}

/// Something a station reported that is kept as a log entry (firmware,
/// diagnostics and log upload status, reports, events, security events, data
/// transfers, values the CSMS could not use).
#[derive(Debug, Clone, PartialEq)]
pub struct StationEvent {
    pub station_id: StationId,
    pub at: Timestamp,
    pub entry: StationLogEntry,
}

/// What a station's log entry says. Stores keep it as a kind and a JSON
/// payload ([`StationEvent::kind`], [`StationEvent::payload`]), the form the
/// API shows, and read it back with [`StationEvent::from_stored`].
#[derive(Debug, Clone, PartialEq)]
pub enum StationLogEntry {
    /// A notification the CSMS records but needs no decision on: the
    /// message as the charger sent it.
    Notification {
        kind: NotificationKind,
        message: serde_json::Value,
    },
    /// A DataTransfer. No vendor extension is implemented: it is kept, not
    /// acted on.
    DataTransfer {
        vendor_id: String,
        message_id: Option<String>,
        data: Option<serde_json::Value>,
    },
    /// What a message sent that the CSMS did not use as sent:
    /// `{"action", "values": [{"field", "value", "problem"}], "omitted"}`.
    ImplausibleValues { notes: serde_json::Value },
    /// A stored entry this version cannot read as one of the above (written
    /// by a newer version, or by hand): kept and shown as stored, not lost.
    Unrecognised {
        kind: String,
        payload: serde_json::Value,
    },
}

impl StationEvent {
    const DATA_TRANSFER: &'static str = "DataTransfer";
    const IMPLAUSIBLE_VALUES: &'static str = "ImplausibleValues";

    /// The entry's kind as stored and shown: the notification
    /// (`SecurityEvent`, `FirmwareStatus`, …), `DataTransfer` or
    /// `ImplausibleValues`.
    pub fn kind(&self) -> &str {
        match &self.entry {
            StationLogEntry::Notification { kind, .. } => kind.as_str(),
            StationLogEntry::DataTransfer { .. } => Self::DATA_TRANSFER,
            StationLogEntry::ImplausibleValues { .. } => Self::IMPLAUSIBLE_VALUES,
            StationLogEntry::Unrecognised { kind, .. } => kind,
        }
    }

    /// The entry's JSON as stored and shown.
    pub fn payload(&self) -> serde_json::Value {
        match &self.entry {
            StationLogEntry::Notification { message, .. } => message.clone(),
            StationLogEntry::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => serde_json::json!({"vendorId": vendor_id, "messageId": message_id, "data": data}),
            StationLogEntry::ImplausibleValues { notes } => notes.clone(),
            StationLogEntry::Unrecognised { payload, .. } => payload.clone(),
        }
    }

    /// The entry a store kept as `kind` and `payload`. Never fails: what it
    /// cannot read is [`StationLogEntry::Unrecognised`].
    pub fn from_stored(
        station_id: StationId,
        at: Timestamp,
        kind: String,
        payload: serde_json::Value,
    ) -> Self {
        let entry = if let Some(k) = NotificationKind::parse(&kind) {
            StationLogEntry::Notification {
                kind: k,
                message: payload,
            }
        } else if kind == Self::IMPLAUSIBLE_VALUES {
            StationLogEntry::ImplausibleValues { notes: payload }
        } else {
            match (kind == Self::DATA_TRANSFER)
                .then(|| data_transfer(&payload))
                .flatten()
            {
                Some(entry) => entry,
                None => StationLogEntry::Unrecognised { kind, payload },
            }
        };
        StationEvent {
            station_id,
            at,
            entry,
        }
    }
}

/// A stored DataTransfer payload: `vendorId` a string, `messageId` a string
/// or null, `data` anything (null: none).
fn data_transfer(payload: &serde_json::Value) -> Option<StationLogEntry> {
    let o = payload.as_object()?;
    let vendor_id = o.get("vendorId")?.as_str()?.to_owned();
    let message_id = match o.get("messageId") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(m)) => Some(m.clone()),
        Some(_) => return None,
    };
    let data = o.get("data").filter(|d| !d.is_null()).cloned();
    Some(StationLogEntry::DataTransfer {
        vendor_id,
        message_id,
        data,
    })
}

/// What [`StationStore::set_connector_status`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusWrite {
    /// Stored, replacing `previous` (none: the connector's first status).
    Stored { previous: Option<ConnectorStatus> },
    /// Not stored: a newer status is (a late replay).
    Late,
}

#[async_trait]
pub trait StationStore: Send + Sync {
    /// Fails with `Conflict` when the id is taken.
    async fn create_station(&self, station: &Station) -> StoreResult<()>;
    async fn get_station(&self, id: &StationId) -> StoreResult<Option<Station>>;
    /// The station with its connector statuses and live connection.
    async fn get_station_view(&self, id: &StationId) -> StoreResult<Option<StationView>>;
    /// Stations of an organisation ordered by site, then id.
    async fn list_stations(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationView>>;
    async fn record_boot(&self, id: &StationId, boot: &BootInfo) -> StoreResult<()>;
    /// Sets the station's approval, and that of its current connection
    /// record if it has one (every message is checked against the
    /// connection's). The station as it is now; `None` when it is not
    /// registered.
    async fn set_station_approval(
        &self,
        id: &StationId,
        approval: Approval,
    ) -> StoreResult<Option<Station>>;
    /// Makes an operator's change (name, site, password, service) in one
    /// write; a move also moves the current connection record, so sessions
    /// started from now on are of the new site (earlier ones keep theirs).
    /// The station as it is now; `None` when it is not registered.
    async fn update_station(
        &self,
        id: &StationId,
        change: &StationChange,
    ) -> StoreResult<Option<Station>>;
    /// Removes the station and its connector statuses (the caller checks it
    /// has no history). Removing one that is gone changes nothing.
    async fn delete_station(&self, id: &StationId) -> StoreResult<()>;
    /// Stores the status unless a newer one (by `updated_at`) is already stored,
    /// so statuses replayed after an offline period do not overwrite the present.
    /// What it replaced, in the same request (DynamoDB: `ReturnValues`), so
    /// a change of state (into or out of a fault) is seen without a read.
    /// A status a connector should not stay in
    /// ([`Lingering::watches`](csms_domain::alarm::Lingering::watches)) puts
    /// the connector on the organisation's `org` lingering list, any other
    /// takes it off, in the same write ([`OfflineStore::lingering_due`]).
    async fn set_connector_status(
        &self,
        org: &OrgId,
        id: &StationId,
        status: &ConnectorStatus,
    ) -> StoreResult<StatusWrite>;
    async fn append_station_event(&self, event: &StationEvent) -> StoreResult<()>;
    /// Newest first.
    async fn list_station_events(
        &self,
        id: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationEvent>>;
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Records a new live connection and points the station at it. Returns the
    /// station's previous connection id, if any, so the caller can close it.
    /// `recent_connects` replaces the station's (its connects of the last
    /// hour, this one included), and `recent_addresses` its source
    /// addresses, in the same write.
    async fn open_connection(
        &self,
        conn: &Connection,
        recent_connects: &[Timestamp],
        recent_addresses: &[csms_domain::station::SeenAddress],
    ) -> StoreResult<Option<String>>;
    /// Marks the connection as seen at `at`, counts one message more
    /// ([`Connection::messages`]) and returns it, in one request: this runs
    /// for every OCPP message.
    async fn touch_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>>;
    /// Records the clock-drift rule's decision on the connection (one
    /// request, only when it changes); false when the connection is gone.
    async fn set_connection_clock(
        &self,
        connection_id: &str,
        check: csms_domain::station::ClockCheck,
    ) -> StoreResult<bool>;
    /// Records the message-flood rule's state on the connection (one
    /// request, only when it changes); false when the connection is gone.
    async fn set_connection_flood(
        &self,
        connection_id: &str,
        check: csms_domain::station::FloodCheck,
    ) -> StoreResult<bool>;
    /// Removes the connection. The station is only marked disconnected if this
    /// is still its current connection (a reconnect may have replaced it).
    async fn close_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>>;
}

/// A station whose connection closed and that has not come back: what the
/// offline alarm looks at once its grace has passed.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineStation {
    /// The station as stored (its `last_seen_at` is its last message).
    pub station: Station,
    /// When its connection closed.
    pub since: Timestamp,
}

/// The lists the alarm sweep walks without a scan: stations gone offline
/// and connectors lingering in a status they should pass.
///
/// Stations gone offline: [`ConnectionStore::close_connection`] of a
/// station's current connection puts the station on its organisation's
/// offline list at the close time, in the same write;
/// [`ConnectionStore::open_connection`] takes it off (also the same write),
/// so a station that comes back within the grace leaves nothing to look at.
#[async_trait]
pub trait OfflineStore: Send + Sync {
    /// Up to `limit` of the organisation's stations on the offline list
    /// since `until` or earlier, longest gone first. Without a scan
    /// (DynamoDB: GSI2 `ORG#{org}#OFFLINE` on the station item).
    async fn offline_due(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<OfflineStation>>;
    /// Takes the station off the offline list if it is on it since `since`
    /// (it has not come back and gone again meanwhile). Whether it was:
    /// only the caller that takes it off acts on it.
    async fn settle_offline(&self, station: &StationId, since: Timestamp) -> StoreResult<bool>;
    /// Up to `limit` of the organisation's connectors in `status` (one a
    /// connector should not stay in) since `until` or earlier, longest
    /// first: [`StationStore::set_connector_status`] keeps the list, so the
    /// sweep finds them without a scan (DynamoDB: GSI2
    /// `ORG#{org}#LINGER` on the connector status item).
    async fn lingering_due(
        &self,
        org: &OrgId,
        status: &str,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<LingeringConnector>>;
    /// Takes the connector off the lingering list if its status is still
    /// the one stored at `since`. Whether it was: only the caller that
    /// takes it off acts on it.
    async fn settle_lingering(
        &self,
        station: &StationId,
        evse_id: u32,
        connector_id: u32,
        since: Timestamp,
    ) -> StoreResult<bool>;
}

/// A connector in a status it should not stay in: the station and the
/// status as stored (its `updated_at` is when it came).
#[derive(Debug, Clone, PartialEq)]
pub struct LingeringConnector {
    pub station_id: StationId,
    pub status: ConnectorStatus,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Fails with `Conflict` when the token (case-insensitively) exists.
    async fn create_id_token(&self, token: &IdTokenRecord) -> StoreResult<()>;
    async fn get_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>>;
    async fn list_id_tokens(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>>;

    // --- LaddID life cycle (issue 17.3) ---
    /// Replaces the token if the stored one is at `expected_version` (0: a
    /// record stored before tokens had a version), else `Conflict`; also
    /// `Conflict` when there is none.
    async fn put_id_token(&self, token: &IdTokenRecord, expected_version: u64) -> StoreResult<()>;
    /// Removes the token; the record it removed, if any.
    async fn delete_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>>;
    /// Records a sighting of an unknown identifier, one record per (org,
    /// value): a new one as given; an existing one gets `last_seen`,
    /// `station_id` and `token_type` from `seen` and `count + 1`, unless its
    /// `last_seen` is less than [`UNREGISTERED_MIN_GAP`] before `seen`'s:
    /// then nothing is written.
    ///
    /// [`UNREGISTERED_MIN_GAP`]: csms_domain::token::UNREGISTERED_MIN_GAP
    async fn note_unregistered(&self, seen: &UnregisteredToken) -> StoreResult<()>;
    async fn get_unregistered(
        &self,
        org: &OrgId,
        token: &IdTokenValue,
    ) -> StoreResult<Option<UnregisteredToken>>;
    /// The organisation's unregistered identifiers in order of their
    /// (case-folded) value.
    async fn list_unregistered(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<UnregisteredToken>>;
    /// Creates `token` and removes its organisation's unregistered record of
    /// the same value, both or neither; `Conflict` when the token exists.
    async fn register_unregistered(&self, token: &IdTokenRecord) -> StoreResult<()>;
    /// The identifiers a person holds (`user_id`), of every organisation,
    /// in order of their (case-folded) value.
    async fn list_user_id_tokens(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Next OCPP 1.6 transaction id: positive, strictly increasing, never reused.
    async fn next_transaction_id(&self) -> StoreResult<i64>;
    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>>;
    /// Writes `session` if the stored version is `expected_version` (0: the
    /// session must not exist yet); otherwise `Conflict`. The caller has
    /// already set `session.version` to the new version.
    async fn put_session(&self, session: &Session, expected_version: u64) -> StoreResult<()>;
    async fn list_sessions(&self, query: &SessionQuery) -> StoreResult<Page<Session>>;
    /// The sessions a person's identifiers started (`user_id`), of every
    /// organisation, newest first (by the time sessions sort by).
    async fn list_user_sessions(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Session>>;
    /// Idempotent: the same reading stored twice is kept once.
    async fn put_meter_readings(
        &self,
        target: &MeterTarget,
        readings: &[MeterReading],
    ) -> StoreResult<()>;
    /// Oldest first.
    async fn list_meter_readings(&self, target: &MeterTarget) -> StoreResult<Vec<MeterReading>>;
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Stores `value` under (`scope`, `key`) unless something is stored there;
    /// returns what was already stored (`None`: this call claimed the key).
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        value: &str,
        ttl: chrono::TimeDelta,
    ) -> StoreResult<Option<String>>;
}

/// Commands to stations and, per station, the queue of those still pending
/// (OCPP allows one outstanding CSMS call per station; the rest wait in
/// order). Reads that drive sending are strongly consistent.
#[async_trait]
pub trait CommandStore: Send + Sync {
    /// Stores a new command (`version` 1); `Conflict` if the id exists. A
    /// pending command joins its station's queue.
    async fn create_command(&self, cmd: &Command) -> StoreResult<()>;
    async fn get_command(&self, id: &CommandId) -> StoreResult<Option<Command>>;
    /// Writes `cmd` if the stored version is `expected_version`, else
    /// `Conflict`; the caller has set `cmd.version` to the new version. A
    /// command whose status is final leaves its station's queue.
    async fn put_command(&self, cmd: &Command, expected_version: u64) -> StoreResult<()>;
    /// The station's pending commands, oldest (smallest id) first.
    async fn pending_commands(&self, station: &StationId) -> StoreResult<Vec<Command>>;
    /// Every pending command of every station, oldest first, at most
    /// `limit`: for the sweep after a restart and for timeouts.
    async fn all_pending_commands(&self, limit: usize) -> StoreResult<Vec<Command>>;
    /// A station's commands, newest first.
    async fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Command>>;
}

/// Partner API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// `Conflict` if the id exists.
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn get_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>>;
    /// Writes `key` if the stored version is `expected_version`, else `Conflict`.
    async fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> StoreResult<()>;
    /// An organisation's keys, oldest first (revoked ones included).
    async fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<ApiKey>>;
}

/// Webhook subscriptions and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// `Conflict` if the id exists.
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()>;
    /// Deleted ones too (their deliveries stay readable).
    async fn get_webhook(&self, id: &str) -> StoreResult<Option<Webhook>>;
    /// Writes `hook` if the stored version is `expected_version`, else
    /// `Conflict`. A deleted webhook leaves its organisation's listing.
    async fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> StoreResult<()>;
    /// An organisation's live webhooks, oldest first.
    async fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Webhook>>;
    /// `Conflict` if the id exists. A pending delivery joins the retry queue.
    async fn create_delivery(&self, delivery: &Delivery) -> StoreResult<()>;
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;
    /// Writes `delivery` if the stored version is `expected_version`, else
    /// `Conflict`. A final delivery leaves the retry queue.
    async fn put_delivery(&self, delivery: &Delivery, expected_version: u64) -> StoreResult<()>;
    /// A webhook's deliveries, newest first.
    async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>>;
    /// Pending deliveries of every webhook, oldest first, at most `limit`:
    /// for re-arming retries after a restart.
    async fn pending_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>>;
}

/// Tariffs (every version kept) and their assignments.
#[async_trait]
pub trait TariffStore: Send + Sync {
    /// Stores `tariff` as its version `tariff.version`. `expected_version` is
    /// the current latest version (0: the tariff must not exist yet);
    /// otherwise `Conflict`. Earlier versions stay readable.
    async fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> StoreResult<()>;
    /// The latest version (deleted ones too).
    async fn get_tariff(&self, id: &str) -> StoreResult<Option<Tariff>>;
    /// All versions, oldest first.
    async fn tariff_versions(&self, id: &str) -> StoreResult<Vec<Tariff>>;
    /// An organisation's tariffs (latest versions, not deleted), by id.
    async fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Tariff>>;
    /// `Conflict` if the id exists.
    async fn create_assignment(&self, assignment: &TariffAssignment) -> StoreResult<()>;
    async fn get_assignment(&self, id: &str) -> StoreResult<Option<TariffAssignment>>;
    /// Returns whether it existed.
    async fn delete_assignment(&self, id: &str) -> StoreResult<bool>;
    /// All of an organisation's assignments, oldest first (an organisation has
    /// at most a few hundred: one per station, site and group).
    async fn list_assignments(&self, org: &OrgId) -> StoreResult<Vec<TariffAssignment>>;
}

/// Day-ahead spot prices, one item per zone and local day.
#[async_trait]
pub trait SpotPriceStore: Send + Sync {
    /// Stores the day, replacing what was stored for (zone, date): a re-fetch
    /// of the same prices writes the same thing.
    async fn put_spot_day(&self, day: &SpotDay) -> StoreResult<()>;
    async fn get_spot_day(
        &self,
        zone: BiddingZone,
        date: chrono::NaiveDate,
    ) -> StoreResult<Option<SpotDay>>;
}

/// Operator alarms.
#[async_trait]
pub trait AlarmStore: Send + Sync {
    /// Raises `alarm`. An active alarm with its id is repeated instead
    /// ([`Alarm::repeated`]: counted, the latest evidence; when it was
    /// raised and what people did about it stay). A resolved one is raised
    /// again, fresh. Returns whether it was raised (opened), not repeated.
    async fn raise_alarm(&self, alarm: &Alarm) -> StoreResult<bool>;
    /// Marks the alarm resolved at `at`. The alarm as resolved, when an
    /// active one existed (what the `alarm.resolved` event shows).
    async fn resolve_alarm(&self, id: &str, at: Timestamp) -> StoreResult<Option<Alarm>>;
    async fn get_alarm(&self, id: &str) -> StoreResult<Option<Alarm>>;
    /// Replaces the stored alarm if it is at `expected_version` (what people
    /// did about it: acknowledged, resolved by hand), else `Conflict`; the
    /// caller has moved `alarm.version` on. The organisation and raise time
    /// stay as they were.
    async fn put_alarm(&self, alarm: &Alarm, expected_version: u64) -> StoreResult<()>;
    /// An organisation's alarms, newest raised first; `active_only` skips resolved ones.
    async fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<Alarm>>;

    /// Tells `bus` of the alarms the store opens by itself — about stored
    /// records that do not decode — from now on, as every other alarm is
    /// told; the wiring calls it once its bus exists. A store that opens
    /// none needs nothing.
    fn announce_alarms_to(&self, _bus: std::sync::Arc<dyn crate::events::EventBus>) {}
}

/// Organisations' alarm thresholds: one record per organisation that set
/// them (the rules use the platform's defaults for the others).
#[async_trait]
pub trait AlarmSettingsStore: Send + Sync {
    async fn get_alarm_settings(&self, org: &OrgId) -> StoreResult<Option<AlarmSettings>>;
    /// Writes `settings` if the stored ones are at `expected_version` (0:
    /// none stored yet), else `Conflict`; the caller has set
    /// `settings.version`.
    async fn put_alarm_settings(
        &self,
        settings: &AlarmSettings,
        expected_version: u64,
    ) -> StoreResult<()>;
}

/// Priced sessions: immutable revisions.
#[async_trait]
pub trait PricedSessionStore: Send + Sync {
    /// Stores a revision; `Conflict` if (session, revision) exists — that is
    /// what makes pricing idempotent.
    async fn put_priced_session(&self, priced: &PricedSession) -> StoreResult<()>;
    /// The latest revision.
    async fn get_priced_session(&self, id: &SessionId) -> StoreResult<Option<PricedSession>>;
    /// All revisions, oldest first.
    async fn priced_revisions(&self, id: &SessionId) -> StoreResult<Vec<PricedSession>>;
}

/// Load balancing: per site, the configuration and the balancer's state,
/// each versioned on its own (the API writes the one, the balancer the other).
#[async_trait]
pub trait LoadStore: Send + Sync {
    /// Writes `site` if the stored version is `expected_version` (0: must not
    /// exist yet), else `Conflict`.
    async fn put_load_site(&self, site: &LoadSite, expected_version: u64) -> StoreResult<()>;
    async fn get_load_site(&self, site: &SiteId) -> StoreResult<Option<LoadSite>>;
    /// Removes the configuration and the state; returns whether it existed.
    async fn delete_load_site(&self, site: &SiteId) -> StoreResult<bool>;
    /// Every configured site of every organisation, by site id: for the
    /// periodic recomputation.
    async fn list_load_sites(&self, page: &PageRequest) -> StoreResult<Page<LoadSite>>;
    /// Writes `state` if the stored version is `expected_version` (0: must
    /// not exist yet), else `Conflict`.
    async fn put_load_state(&self, state: &LoadState, expected_version: u64) -> StoreResult<()>;
    async fn get_load_state(&self, site: &SiteId) -> StoreResult<Option<LoadState>>;
}

/// Who may charge at a station (its access policy and its EVSEs'
/// overrides) and the attempts the policy refused.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// `None`: the station has no policy (private to its organisation).
    async fn get_station_access(&self, station: &StationId) -> StoreResult<Option<StationAccess>>;
    /// Writes `access` if the stored version is `expected_version` (0: none
    /// stored yet), else `Conflict`; the caller has set `access.version`.
    async fn put_station_access(
        &self,
        access: &StationAccess,
        expected_version: u64,
    ) -> StoreResult<()>;
    /// The token's record and the station's access record: what a charger's
    /// Authorize reads, in one request where the store can (DynamoDB: one
    /// `BatchGetItem`).
    async fn get_token_and_access(
        &self,
        token: &IdTokenValue,
        station: &StationId,
    ) -> StoreResult<(Option<IdTokenRecord>, Option<StationAccess>)>;
    /// Keeps a refused attempt for [`csms_domain::access::ATTEMPT_RETENTION`]
    /// (DynamoDB: TTL; the embedded store prunes the station's older ones
    /// on each write).
    async fn add_access_attempt(&self, attempt: &AccessAttempt) -> StoreResult<()>;
    /// A station's refused attempts, newest first.
    async fn list_access_attempts(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessAttempt>>;
    /// The organisation's refused attempts at all its stations, newest first.
    async fn list_org_access_attempts(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessAttempt>>;
    /// The station's garage identity (at most one), if it has one.
    async fn get_garage_identity(&self, station: &StationId)
        -> StoreResult<Option<GarageIdentity>>;
    /// Writes `garage` if the stored version is `expected_version` (0: none
    /// stored yet), else `Conflict`; the caller has set `garage.version`.
    async fn put_garage_identity(
        &self,
        garage: &GarageIdentity,
        expected_version: u64,
    ) -> StoreResult<()>;
    /// Removes the station's garage identity; whether there was one.
    async fn delete_garage_identity(&self, station: &StationId) -> StoreResult<bool>;
}

/// Each EVSE's charging key, the secret of its start link: found by the
/// key (a driver's request) and by the EVSE (the operator's routes), each
/// with one read, no scan.
#[async_trait]
pub trait ChargingKeyStore: Send + Sync {
    /// The record of `key`; `None`: no such key, or one rotated away.
    async fn get_charging_key(&self, key: &ChargingKey) -> StoreResult<Option<EvseChargingKey>>;
    /// The EVSE's current key; `None`: it never had one.
    async fn get_evse_charging_key(
        &self,
        station: &StationId,
        evse: u32,
    ) -> StoreResult<Option<EvseChargingKey>>;
    /// Makes `new` the key of its EVSE if the EVSE's current key is
    /// `replaces` (`None`: it has none yet), and forgets `replaces`, all in
    /// one atomic write: the old key no longer resolves. Else (another
    /// writer got there first, or `new.key` exists) `Conflict`, and nothing
    /// is written.
    async fn put_charging_key(
        &self,
        new: &EvseChargingKey,
        replaces: Option<&ChargingKey>,
    ) -> StoreResult<()>;
}

/// Bookings of EVSEs for time windows.
///
/// A booking's station, EVSE and window never change after it is made;
/// its status, outcome and version do.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Writes a new booking (the caller has set `version` 1) unless a
    /// booking of the same EVSE that holds its window
    /// ([`csms_domain::booking::BookingStatus::occupies`]) overlaps it, or
    /// the id is taken: then `Conflict`, and nothing is written. The check
    /// and the write are one atomic step per EVSE (redb: one write
    /// transaction; DynamoDB: a transaction conditional on the EVSE's lock
    /// item). A concurrent booking of the same EVSE may also make it
    /// `Conflict`; the caller looks again.
    async fn create_booking(&self, booking: &Booking) -> StoreResult<()>;
    async fn get_booking(&self, id: &BookingId) -> StoreResult<Option<Booking>>;
    /// Writes `booking` if the stored version is `expected_version`, else
    /// `Conflict`; the caller has set `booking.version`. Its station, EVSE
    /// and window are the stored ones'.
    async fn put_booking(&self, booking: &Booking, expected_version: u64) -> StoreResult<()>;
    /// The EVSE's bookings (any status) whose window overlaps `range`, by
    /// start. One request (DynamoDB: one strongly consistent `Query`).
    async fn list_evse_bookings(
        &self,
        station: &StationId,
        evse: u32,
        range: &Window,
    ) -> StoreResult<Vec<Booking>>;
    /// The organisation's bookings, latest start first.
    async fn list_bookings(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Booking>>;
    /// The bookings made for `user` (their `user_id`), at any
    /// organisation's stations, latest start first.
    async fn list_user_bookings(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Booking>>;
    /// Puts `booking` in its person's index ([`Self::list_user_bookings`])
    /// if it is not there: a booking written before the index existed (the
    /// upgrade's backfill, [`crate::migrations::backfill_booking_persons`]).
    /// Idempotent; `true` when it added the entry, `false` when it was
    /// there already, the booking is for nobody or no longer stored.
    async fn index_booking_person(&self, booking: &Booking) -> StoreResult<bool>;
    /// Up to `limit` of the organisation's bookings that are not final
    /// ([`csms_domain::booking::BookingStatus::is_final`]) and start at or
    /// before `until`, earliest first: what the booking sweep looks at.
    /// Without a scan (DynamoDB: GSI2 `ORG#{org}#BOOKINGDUE`, left by a
    /// booking when it becomes final).
    async fn due_bookings(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Booking>>;
}

/// Stations' local authorisation list sync state: one record per station
/// whose list the CSMS keeps, listed by organisation (a token change fans
/// out to those stations only).
#[async_trait]
pub trait LocalListStore: Send + Sync {
    async fn get_local_list(&self, station: &StationId) -> StoreResult<Option<LocalListState>>;
    /// Writes `state` if the stored one is at `expected_version` (0: none
    /// stored yet), else `Conflict`; the caller has set
    /// `state.record_version`. A state whose organisation changed moves to
    /// the new organisation's listing.
    async fn put_local_list(
        &self,
        state: &LocalListState,
        expected_version: u64,
    ) -> StoreResult<()>;
    /// The organisation's stations' states, by station id.
    async fn list_local_lists(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<LocalListState>>;
}

/// Organisations (tenants). Ids are chosen by the platform admin.
#[async_trait]
pub trait OrganisationStore: Send + Sync {
    /// `Conflict` if the id is taken.
    async fn create_organisation(&self, org: &Organisation) -> StoreResult<()>;
    async fn get_organisation(&self, id: &OrgId) -> StoreResult<Option<Organisation>>;
    /// Writes `org` if the stored version is `expected_version`, else
    /// `Conflict`; the caller has set `org.version` to the new version.
    async fn put_organisation(&self, org: &Organisation, expected_version: u64) -> StoreResult<()>;
    /// Every organisation, by id: for the platform admin.
    async fn list_organisations(&self, page: &PageRequest) -> StoreResult<Page<Organisation>>;
}

/// Sites of organisations. Site ids are one namespace for all organisations
/// (a load configuration is kept by site id alone).
#[async_trait]
pub trait SiteStore: Send + Sync {
    /// `Conflict` if the id is taken (in any organisation).
    async fn create_site(&self, site: &Site) -> StoreResult<()>;
    async fn get_site(&self, id: &SiteId) -> StoreResult<Option<Site>>;
    /// Writes `site` if the stored version is `expected_version`, else
    /// `Conflict`; the caller has set `site.version` to the new version.
    async fn put_site(&self, site: &Site, expected_version: u64) -> StoreResult<()>;
    /// An organisation's sites, by id.
    async fn list_sites(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Site>>;
    /// Removes the site if the stored version is `expected_version`, else
    /// `Conflict` (whether its stations are gone is the caller's check);
    /// `false` when there is none.
    async fn delete_site(&self, id: &SiteId, expected_version: u64) -> StoreResult<bool>;
}

/// People who sign in. An e-mail address is one person's: creating or
/// changing a user to an address another has is a `Conflict`, and nothing
/// of the write is kept.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict` if the id or the e-mail address is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// The user signing in with `email` (one strongly consistent read of
    /// the address, then of the user).
    async fn find_user_by_email(&self, email: &UserEmail) -> StoreResult<Option<User>>;
    /// Writes `user` (e-mail, memberships and all) if the stored version is
    /// `expected_version`, else `Conflict`; `Conflict` too if the new e-mail
    /// address is another's. The caller has set `user.version`.
    async fn put_user(&self, user: &User, expected_version: u64) -> StoreResult<()>;
    /// The users with a membership in `org`, by id.
    async fn list_users(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<User>>;
    /// Removes the user and their address if the stored version is
    /// `expected_version`, else `Conflict`; `false` when there is none.
    async fn delete_user(&self, id: &UserId, expected_version: u64) -> StoreResult<bool>;
}

/// Signed-in sessions, by the SHA-256 (hex) of their secret.
#[async_trait]
pub trait UserSessionStore: Send + Sync {
    /// `Conflict` if the hash exists (a 256-bit secret never repeats).
    async fn create_user_session(&self, session: &UserSession) -> StoreResult<()>;
    /// The session, also one past its expiry (DynamoDB's TTL removes items
    /// late): whether it is live is the caller's check.
    async fn get_user_session(&self, id_hash: &str) -> StoreResult<Option<UserSession>>;
    /// Sets `last_seen_at` of a session that still exists; `false` if it
    /// does not (signed out meanwhile: it is not brought back).
    async fn touch_user_session(&self, id_hash: &str, last_seen_at: Timestamp)
        -> StoreResult<bool>;
    /// `false` when there was none.
    async fn delete_user_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Removes every session of `user`; how many there were.
    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<usize>;
}

/// The device models of 2.0.1 stations and the parts of reports still being
/// received.
#[async_trait]
pub trait DeviceModelStore: Send + Sync {
    /// Keeps one part of a report being received and returns `true`, unless
    /// the station already has `max_parts` parts kept (of all its reports
    /// together): then nothing is stored and the answer is `false`, so a
    /// station cannot make its kept parts grow without bound. The same
    /// (station, request, seqNo) sent again replaces the kept part, whatever
    /// the count.
    async fn put_report_part(&self, part: &ReportPart, max_parts: usize) -> StoreResult<bool>;
    /// The kept parts of the station's report `request_id`, by `seq_no`.
    async fn report_parts(
        &self,
        station: &StationId,
        request_id: i32,
    ) -> StoreResult<Vec<ReportPart>>;
    /// Forgets every kept part of the station's reports.
    async fn delete_report_parts(&self, station: &StationId) -> StoreResult<()>;
    /// Replaces the station's model with `model` if the stored one is at
    /// `expected_version` (0: none yet), else `Conflict`; the caller has set
    /// `model.version` to the new version. A reader sees the old model or
    /// the new one whole, never a mix.
    async fn put_device_model(&self, model: &DeviceModel, expected_version: u64)
        -> StoreResult<()>;
    async fn get_device_model(&self, station: &StationId) -> StoreResult<Option<DeviceModel>>;
}

/// The audit log: append-only, per organisation.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Keeps `entry`; two entries of the same instant are both kept.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// The organisation's entries, newest first.
    async fn list_audit(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<AuditEntry>>;
}

/// Routes the charger's replies to CSMS calls into the command service, and
/// the events that lead to CSMS calls (a boot). A port, so that charging
/// (which receives the replies) does not depend on commands (which sends the
/// calls and depends on charging's wire types): the command service
/// implements it.
/// Where ratings are summed: a station or a site (of one organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatedPlace<'a> {
    Station(&'a StationId),
    Site(&'a SiteId),
}

/// Drivers' ratings of their sessions (one per session), and the running
/// sums of each station and site.
#[async_trait]
pub trait RatingStore: Send + Sync {
    /// Writes `rating` over `previous` (what the caller read; `None`: there
    /// is none yet) and moves the sums of the rating's station and site in
    /// its organisation by the difference, all or nothing. `Conflict` when
    /// the stored rating is not `previous` (by version) any more.
    async fn put_rating(&self, rating: &Rating, previous: Option<&Rating>) -> StoreResult<()>;
    async fn get_rating(&self, session: &SessionId) -> StoreResult<Option<Rating>>;
    /// The ratings of `org`'s sessions at `station`, newest first (by when
    /// first rated).
    async fn list_station_ratings(
        &self,
        org: &OrgId,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Rating>>;
    /// The count and sum of `org`'s ratings at a station or site.
    async fn rating_summary(&self, org: &OrgId, of: RatedPlace<'_>) -> StoreResult<RatingSummary>;
}

/// Single-use links sent by e-mail: invitations and password resets.
#[async_trait]
pub trait EmailLinkStore: Send + Sync {
    /// Stores a new link; `Conflict` when its id exists.
    async fn create_email_link(&self, link: &EmailLink) -> StoreResult<()>;
    async fn get_email_link(&self, id: &LinkId) -> StoreResult<Option<EmailLink>>;
    /// Replaces the stored link if it is at `expected_version` (what the
    /// caller read; the caller has moved `link.version` on), else
    /// `Conflict`: of two uses of one link, one succeeds.
    async fn put_email_link(&self, link: &EmailLink, expected_version: u64) -> StoreResult<()>;
    /// `org`'s invitations, newest first (password resets are not listed).
    async fn list_invitations(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<EmailLink>>;
}

/// The ledger of client funds: balanced transactions, appended once per
/// organisation and external reference, never changed or removed.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Appends `tx` unless its organisation has a transaction with its
    /// reference. Returns the transaction stored under the reference (the
    /// first one: a retry, even with other postings, changes nothing) and
    /// whether this call appended it.
    async fn append_ledger_transaction(
        &self,
        tx: &LedgerTransaction,
    ) -> StoreResult<(LedgerTransaction, bool)>;
    async fn get_ledger_transaction(
        &self,
        org: &OrgId,
        reference: &LedgerReference,
    ) -> StoreResult<Option<LedgerTransaction>>;
    /// `org`'s transactions, in reference order.
    async fn list_ledger_transactions(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<LedgerTransaction>>;
}

/// An organisation's recurring monthly fees and one-off charges to its
/// drivers, each kept under its organisation: another organisation's id
/// reads as absent.
#[async_trait]
pub trait FeeStore: Send + Sync {
    /// `Conflict` if the id exists.
    async fn create_fee(&self, fee: &Fee) -> StoreResult<()>;
    async fn get_fee(&self, org: &OrgId, id: &FeeId) -> StoreResult<Option<Fee>>;
    /// Writes `fee` if the stored version is `expected_version` (the caller
    /// has moved `fee.version` on), else `Conflict` (also when it is gone).
    async fn put_fee(&self, fee: &Fee, expected_version: u64) -> StoreResult<()>;
    /// `false` when there is none.
    async fn delete_fee(&self, org: &OrgId, id: &FeeId) -> StoreResult<bool>;
    /// `org`'s fees, oldest first (by id).
    async fn list_fees(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Fee>>;
    /// `Conflict` if the id exists.
    async fn create_charge(&self, charge: &OneOffCharge) -> StoreResult<()>;
    async fn get_charge(&self, org: &OrgId, id: &ChargeId) -> StoreResult<Option<OneOffCharge>>;
    /// `false` when there is none.
    async fn delete_charge(&self, org: &OrgId, id: &ChargeId) -> StoreResult<bool>;
    /// `org`'s one-off charges, oldest first (by id); with `period`, only
    /// those dated in it.
    async fn list_charges(
        &self,
        org: &OrgId,
        period: Option<Period>,
        page: &PageRequest,
    ) -> StoreResult<Page<OneOffCharge>>;
}

/// Which invoices to list: an organisation's, optionally of one period,
/// one driver, one status; highest number first.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceQuery {
    pub org_id: OrgId,
    pub period: Option<Period>,
    pub user_id: Option<UserId>,
    pub status: Option<InvoiceStatus>,
    pub page: PageRequest,
}

/// Invoices to drivers and each issuer's gapless number series.
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// The last sequence number `org` issued (0: none yet).
    async fn last_invoice_number(&self, org: &OrgId) -> StoreResult<u64>;
    /// Stores `invoice` as the next number of its organisation's series in
    /// one atomic write: the series must stand at `invoice.number.seq() - 1`
    /// and no invoice may have its id or its OCR reference, else `Conflict`
    /// and nothing is written. So a retry or a crash neither burns nor
    /// repeats a number, and an OCR reference names one invoice platform-wide.
    async fn issue_invoice(&self, invoice: &Invoice) -> StoreResult<()>;
    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>>;
    /// Replaces an issued invoice if it is at `expected_version` (the
    /// caller has moved `invoice.version` on), else `Conflict`. Its number,
    /// OCR reference and listings stay as issued.
    async fn put_invoice(&self, invoice: &Invoice, expected_version: u64) -> StoreResult<()>;
    /// `org`'s billing code, the start of its invoices' OCR references: the
    /// next number of one platform-wide series (from 1), assigned on the
    /// first call and the same on every later one, also when two callers
    /// race.
    async fn billing_code(&self, org: &OrgId) -> StoreResult<u64>;
    /// The invoice an OCR reference pays (invoices issued before billing
    /// codes existed have none).
    async fn find_invoice_by_ocr(&self, ocr: &OcrReference) -> StoreResult<Option<Invoice>>;
    async fn list_invoices(&self, query: &InvoiceQuery) -> StoreResult<Page<Invoice>>;
    /// A person's invoices from every organisation, newest first.
    async fn list_user_invoices(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Invoice>>;
}

/// Credit notes, each issuer's own gapless series of them (`K1`, `K2`, …).
#[async_trait]
pub trait CreditNoteStore: Send + Sync {
    /// The last sequence number of `org`'s credit notes (0: none yet).
    async fn last_credit_note_number(&self, org: &OrgId) -> StoreResult<u64>;
    /// Stores `note` as the next number of its organisation's credit note
    /// series and `invoice` (the credited invoice, holding the note's
    /// reference, its version moved on) in one atomic write: the series must
    /// stand at `note.number.seq() - 1`, no note may have its number and the
    /// invoice must be at `expected_version`, else `Conflict` and nothing is
    /// written. So a number is never burnt or repeated, and two notes of one
    /// invoice never both see what is left uncredited.
    async fn issue_credit_note(
        &self,
        note: &CreditNote,
        invoice: &Invoice,
        expected_version: u64,
    ) -> StoreResult<()>;
    /// `org`'s credit note of `number`; another organisation's reads as absent.
    async fn get_credit_note(
        &self,
        org: &OrgId,
        number: &InvoiceNumber,
    ) -> StoreResult<Option<CreditNote>>;
}

/// `org`'s invoices not paid in full (issued or partly paid), every page:
/// what dunning decides on and what the reminders' mail walks.
pub async fn unpaid_invoices<S: InvoiceStore + ?Sized>(
    store: &S,
    org: &OrgId,
) -> StoreResult<Vec<Invoice>> {
    use csms_domain::billing::invoice::InvoiceStatus;
    let mut all = Vec::new();
    for status in [InvoiceStatus::Issued, InvoiceStatus::PartlyPaid] {
        let mut query = InvoiceQuery {
            org_id: org.clone(),
            period: None,
            user_id: None,
            status: Some(status),
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        loop {
            let page = store.list_invoices(&query).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => query.page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(all)
}

/// The usage facts of EVSEs' days, for reports (`csms_domain::usage`).
#[async_trait]
pub trait UsageStore: Send + Sync {
    async fn get_usage_day(&self, key: &UsageKey) -> StoreResult<Option<UsageDay>>;
    /// The EVSE's latest day before `key.day` (however long before), for a
    /// new day's opening state.
    async fn usage_day_before(&self, key: &UsageKey) -> StoreResult<Option<UsageDay>>;
    /// Writes `day` if the stored one is at `expected_version` (0: none is
    /// stored yet), else `Conflict`.
    async fn put_usage_day(&self, day: &UsageDay, expected_version: u64) -> StoreResult<()>;
    /// Every day of `org`'s EVSEs from `from` to `to` (UTC days, both
    /// included), skipping any that does not decode.
    async fn list_usage_days(
        &self,
        org: &OrgId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<UsageDay>>;
}

/// Payments received for invoices, matched or waiting to be matched.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Stores `payment` unless a payment has its id. Returns the stored one
    /// (the first: a second import of a file changes nothing) and whether
    /// this call stored it.
    async fn record_payment(&self, payment: &Payment) -> StoreResult<(Payment, bool)>;
    async fn get_payment(&self, id: &PaymentId) -> StoreResult<Option<Payment>>;
    /// Replaces the payment if it is at `expected_version` (the caller has
    /// moved `payment.version` on), else `Conflict`; its listings follow
    /// (matched: under its invoice; unmatched: in the unmatched list).
    async fn put_payment(&self, payment: &Payment, expected_version: u64) -> StoreResult<()>;
    /// An invoice's payments, in id order.
    async fn list_invoice_payments(&self, invoice: &InvoiceId) -> StoreResult<Vec<Payment>>;
    /// Payments matched to no invoice, in id order.
    async fn list_unmatched_payments(&self, page: &PageRequest) -> StoreResult<Page<Payment>>;
}

/// A document's key: `/`-separated segments of ASCII letters, digits, `.`,
/// `_`, `~` and `-`, none empty or starting with `.`, at most 512 bytes in
/// all. So it names a file under a folder (never outside it) and an S3
/// object alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentKey(String);

impl DocumentKey {
    pub const MAX_LEN: usize = 512;

    pub fn parse(key: &str) -> Result<Self, String> {
        if key.is_empty() || key.len() > Self::MAX_LEN {
            return Err(format!("a document key is 1 to {} bytes", Self::MAX_LEN));
        }
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
        };
        if !key.split('/').all(segment_ok) {
            return Err(format!(
                "{key:?} is not a document key (segments of letters, digits, . _ ~ -, none empty or starting with .)"
            ));
        }
        Ok(DocumentKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DocumentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Files the platform keeps (invoice PDFs): the data dir locally, S3 in
/// AWS. Not a record of the table: bytes under a key, written whole.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what is there; a reader sees
    /// the old document or the new one whole, never a part.
    async fn put_document(
        &self,
        key: &DocumentKey,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()>;
    /// The document under `key`, `None` if there is none.
    async fn get_document(&self, key: &DocumentKey) -> StoreResult<Option<Vec<u8>>>;
}

#[async_trait]
pub trait CallReplies: Send + Sync {
    async fn call_result(&self, conn: &Connection, message_id: &str, payload: Value);
    async fn call_error(&self, conn: &Connection, message_id: &str, code: &str, description: &str);
    /// The station was accepted at boot.
    async fn booted(&self, conn: &Connection);
    /// A status notification that may report on a command's work.
    async fn progress(
        &self,
        conn: &Connection,
        kind: NotificationKind,
        payload: &Value,
        at: Timestamp,
    );
}

/// Declares a bundle of store ports: a trait that is every listed port and
/// that every type with them all has, so a service can name the few ports it
/// uses in one word (`CommandService<S: CommandsStore>`) and any store that
/// has them is one.
#[macro_export]
macro_rules! store_ports {
    ($(#[$doc:meta])* $vis:vis trait $name:ident: $first:path $(, $port:path)* $(,)?) => {
        $(#[$doc])*
        $vis trait $name: $first $(+ $port)* {}
        impl<T: $first $(+ $port)* + ?Sized> $name for T {}
    };
}

store_ports! {
    /// Everything the CSMS stores: what a composition root hands out. No
    /// service asks for all of it; each names its own bundle.
    pub trait Store:
        StationStore,
        ConnectionStore,
        TokenStore,
        SessionStore,
        IdempotencyStore,
        CommandStore,
        ApiKeyStore,
        WebhookStore,
        TariffStore,
        SpotPriceStore,
        AlarmStore,
        PricedSessionStore,
        LoadStore,
        DeviceModelStore,
        OrganisationStore,
        SiteStore,
        AuditStore,
        UserStore,
        UserSessionStore,
        AccessStore,
        LocalListStore,
        RatingStore,
        BookingStore,
        EmailLinkStore,
        ChargingKeyStore,
        OfflineStore,
        AlarmSettingsStore,
        LedgerStore,
        InvoiceStore,
        UsageStore,
        PaymentStore,
        FeeStore,
        CreditNoteStore,
}

/// Time source, so tests can control "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// Stable id of a meter reading, so re-sent readings map to the same key.
/// FNV-1a over the reading's content: no hashing crate, identical on every platform.
pub fn reading_key(r: &MeterReading) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let parts = [
        r.measurand.as_str(),
        r.phase.as_deref().unwrap_or(""),
        r.location.as_deref().unwrap_or(""),
        r.context.as_deref().unwrap_or(""),
        &r.value.to_string(),
        r.unit.as_str(),
    ];
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!(
        "{}#{:016x}",
        r.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        h
    )
}

/// Sortable, fixed-width rendering of a time for index keys.
pub fn sort_key_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The connection no longer exists (API Gateway `GoneException`): the
    /// station is offline, whatever the connection record says.
    #[error("connection is gone")]
    Gone,
    #[error("sending failed: {0}")]
    Failed(String),
}

/// Pushes frames to, or closes, a charger's WebSocket connection: the API
/// Gateway Management API in AWS, the in-process socket registry locally.
#[async_trait]
pub trait ConnectionSender: Send + Sync {
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), SendError>;
    async fn close(&self, connection_id: &str) -> Result<(), SendError>;
}

#[cfg(test)]
mod tests {
    use super::{StationEvent, StationLogEntry};
    use csms_domain::event::NotificationKind;
    use csms_domain::StationId;
    use serde_json::json;

    fn event(entry: StationLogEntry) -> StationEvent {
        StationEvent {
            station_id: StationId::parse("CP-1").unwrap(),
            at: "2026-12-05T10:00:00Z".parse().unwrap(),
            entry,
        }
    }

    fn stored(e: &StationEvent) -> StationEvent {
        StationEvent::from_stored(e.station_id.clone(), e.at, e.kind().to_owned(), e.payload())
    }

    #[test]
    fn every_entry_reads_back_as_it_was_written() {
        let mut entries: Vec<StationLogEntry> = NotificationKind::ALL
            .into_iter()
            .map(|kind| StationLogEntry::Notification {
                kind,
                message: json!({"status": "Installed", "n": 1}),
            })
            .collect();
        entries.extend([
            StationLogEntry::DataTransfer {
                vendor_id: "com.example".into(),
                message_id: Some("m".into()),
                data: Some(json!("payload")),
            },
            StationLogEntry::DataTransfer {
                vendor_id: "com.example".into(),
                message_id: None,
                data: None,
            },
            StationLogEntry::ImplausibleValues {
                notes: json!({"action": "MeterValues", "values": [], "omitted": 0}),
            },
        ]);
        for entry in entries {
            let e = event(entry);
            assert_eq!(stored(&e), e);
        }
        let dt = event(StationLogEntry::DataTransfer {
            vendor_id: "v".into(),
            message_id: None,
            data: None,
        });
        assert_eq!(dt.kind(), "DataTransfer");
        assert_eq!(
            dt.payload(),
            json!({"vendorId": "v", "messageId": null, "data": null})
        );
    }

    #[test]
    fn what_cannot_be_read_is_kept_as_stored() {
        let at = "2026-12-05T10:00:00Z".parse().unwrap();
        let id = StationId::parse("CP-1").unwrap();
        for (kind, payload) in [
            ("BatterySwap", json!({"x": 1})),
            ("DataTransfer", json!({"vendorId": 7})),
            ("DataTransfer", json!("not an object")),
            ("DataTransfer", json!({"vendorId": "v", "messageId": 3})),
        ] {
            let e = StationEvent::from_stored(id.clone(), at, kind.into(), payload.clone());
            assert_eq!(
                e.entry,
                StationLogEntry::Unrecognised {
                    kind: kind.into(),
                    payload: payload.clone()
                }
            );
            assert_eq!((e.kind(), e.payload()), (kind, payload));
        }
    }
}
