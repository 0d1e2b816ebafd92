//! Tables, key layouts, cursors and the one pager every listing uses.
//!
//! Composite keys are strings joined with `\0`. Every part is either an id
//! restricted to URL-safe characters, a session id or upper-cased id token (no
//! control characters), or a fixed-width time, so `\0` never occurs inside a
//! part and byte order of the key is the order of its parts:
//! `{org}\0{site}\0{id}` sorts by site, then id, exactly like a DynamoDB sort
//! key would. The key builders check it all the same: a part holding `\0` or
//! `\x01` is refused with a `StoreError` rather than silently colliding.

use crate::error::{Fail, R};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::command::CommandId;
use csms_domain::spot::BiddingZone;
use csms_domain::user::UserId;
use csms_domain::{OrgId, SessionId, SiteId, StationId, Timestamp};
use csms_kernel::ports::{sort_key_time, MeterTarget, Page, StoreError};
use redb::{AccessGuard, ReadableTable, TableDefinition, Value};
use std::ops::Bound;

/// Station id → `Station` JSON.
pub(crate) const STATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("stations");
/// `{org}\0{site or ""}\0{station}` → station id. Stations without a site sort first.
pub(crate) const STATIONS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("stations_by_org");
/// `{station}\0{evse:010}\0{connector:010}` → `ConnectorStatus` JSON. Ten digits
/// hold any `u32`, so numeric order is key order.
pub(crate) const CONNECTORS: TableDefinition<&str, &[u8]> = TableDefinition::new("connectors");
/// Connection id → `Connection` JSON.
pub(crate) const CONNECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("connections");
/// `IdTokenValue::key()` (upper-cased) → `IdTokenRecord` JSON.
pub(crate) const ID_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("id_tokens");
/// `{org}\0{token key}` → token key.
pub(crate) const ID_TOKENS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("id_tokens_by_org");
/// `{user}\0{token key}` → token key: the identifiers a person holds.
pub(crate) const ID_TOKENS_BY_USER: TableDefinition<&str, &str> =
    TableDefinition::new("id_tokens_by_user");
/// `{org}\0{token key}` → `UnregisteredToken` JSON: identifiers seen at
/// the organisation's stations and not registered.
pub(crate) const UNREGISTERED_TOKENS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("unregistered_tokens");
/// Session id → `Session` JSON.
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
/// `{org}\0{sort time}\0{session}` → session id.
pub(crate) const SESSIONS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("sessions_by_org");
/// `{org}\0{station}\0{sort time}\0{session}` → session id. The org leads so a
/// listing by station can never reach another organisation's sessions.
pub(crate) const SESSIONS_BY_STATION: TableDefinition<&str, &str> =
    TableDefinition::new("sessions_by_station");
/// `{user}\0{sort time}\0{session}` → session id: the sessions a person's
/// identifiers started.
pub(crate) const SESSIONS_BY_USER: TableDefinition<&str, &str> =
    TableDefinition::new("sessions_by_user");
/// Session id → `Rating` JSON.
pub(crate) const RATINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("ratings");
/// `{org}\0{station}\0{first rated}\0{session}` → session id.
pub(crate) const RATINGS_BY_STATION: TableDefinition<&str, &str> =
    TableDefinition::new("ratings_by_station");
/// `{org}\0{T|S}\0{station or site}` → (count, sum of stars).
pub(crate) const RATING_SUMS: TableDefinition<&str, (u64, u64)> =
    TableDefinition::new("rating_sums");
/// `{S|T}\0{session or station}\0{reading_key}` → `MeterReading` JSON. The
/// reading key starts with the reading's time, so key order is time order.
pub(crate) const METER: TableDefinition<&str, &[u8]> = TableDefinition::new("meter");
/// `{user}\0{start}\0{booking}` → booking id: the bookings made for a person.
pub(crate) const BOOKINGS_BY_USER: TableDefinition<&str, &str> =
    TableDefinition::new("bookings_by_user");
/// `{org}\0{fee}` → `Fee` JSON: an organisation's recurring fees.
pub(crate) const FEES: TableDefinition<&str, &[u8]> = TableDefinition::new("fees");
/// `{org}\0{charge}` → `OneOffCharge` JSON: an organisation's one-off charges.
pub(crate) const CHARGES: TableDefinition<&str, &[u8]> = TableDefinition::new("one_off_charges");
/// Link id → `EmailLink` JSON (invitations and password resets).
pub(crate) const EMAIL_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("email_links");
/// `{org}\0{created}\0{link}` → link id: an organisation's invitations.
pub(crate) const INVITATIONS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("invitations_by_org");
/// `{org}\0{reference}` → `LedgerTransaction` JSON: the ledger, one entry
/// per transaction, appended once per reference.
pub(crate) const LEDGER: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger");
/// Invoice id → `Invoice` JSON.
pub(crate) const INVOICES: TableDefinition<&str, &[u8]> = TableDefinition::new("invoices");
/// `{org}\0{seq:020}` → invoice id: an issuer's invoices in number order.
pub(crate) const INVOICES_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("invoices_by_org");
/// `{user}\0{created}\0{invoice}` → invoice id: a person's invoices.
pub(crate) const INVOICES_BY_USER: TableDefinition<&str, &str> =
    TableDefinition::new("invoices_by_user");
/// OCR reference → invoice id: what a payment's reference pays.
pub(crate) const INVOICES_BY_OCR: TableDefinition<&str, &str> =
    TableDefinition::new("invoices_by_ocr");
/// `{org}\0{seq:020}` → `CreditNote` JSON: an issuer's credit notes in
/// number order (their series' counter is `credit-notes:{org}` in `COUNTERS`).
pub(crate) const CREDIT_NOTES: TableDefinition<&str, &[u8]> = TableDefinition::new("credit_notes");
/// Payment id → `Payment` JSON.
pub(crate) const PAYMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("payments");
/// `{invoice}\0{payment}` → payment id: an invoice's payments.
pub(crate) const PAYMENTS_BY_INVOICE: TableDefinition<&str, &str> =
    TableDefinition::new("payments_by_invoice");
/// `unmatched\0{payment}` → payment id: payments matched to no invoice.
pub(crate) const UNMATCHED_PAYMENTS: TableDefinition<&str, &str> =
    TableDefinition::new("unmatched_payments");
/// Counter name → last value handed out.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// (scope, key) → `Claim` JSON. A tuple key: scopes and keys are free text.
pub(crate) const IDEMPOTENCY: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("idempotency");
/// `{station}\0{at}\0{seq:020}` → `StationEvent` JSON; the sequence keeps
/// events with the same time apart and in arrival order.
pub(crate) const STATION_EVENTS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("station_events");

/// Command id → `Command` JSON.
pub(crate) const COMMANDS: TableDefinition<&str, &[u8]> = TableDefinition::new("commands");
/// `{station}\0{command}` → command id, every command: the history. ULIDs
/// sort by creation time, so key order is age order.
pub(crate) const COMMANDS_BY_STATION: TableDefinition<&str, &str> =
    TableDefinition::new("commands_by_station");
/// `{station}\0{command}` → command id, pending commands only: the queue.
pub(crate) const COMMAND_QUEUE: TableDefinition<&str, &str> = TableDefinition::new("command_queue");

/// API key id → `ApiKey` JSON.
pub(crate) const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
/// `{org}\0{key id}` → key id.
pub(crate) const API_KEYS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("api_keys_by_org");

/// Webhook id → `Webhook` JSON (deleted ones too).
pub(crate) const WEBHOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhooks");
/// `{org}\0{webhook id}` → webhook id, live webhooks only.
pub(crate) const WEBHOOKS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("webhooks_by_org");
/// Delivery id → `Delivery` JSON.
pub(crate) const DELIVERIES: TableDefinition<&str, &[u8]> = TableDefinition::new("deliveries");
/// `{webhook}\0{delivery}` → delivery id: a webhook's history (ULIDs: age order).
pub(crate) const DELIVERIES_BY_WEBHOOK: TableDefinition<&str, &str> =
    TableDefinition::new("deliveries_by_webhook");
/// Delivery id → delivery id, pending deliveries only.
pub(crate) const DELIVERY_QUEUE: TableDefinition<&str, &str> =
    TableDefinition::new("delivery_queue");

/// Tariff id → latest `Tariff` JSON (deleted ones too).
pub(crate) const TARIFFS: TableDefinition<&str, &[u8]> = TableDefinition::new("tariffs");
/// `{tariff}\0{version:020}` → `Tariff` JSON, every version ever stored;
/// twenty digits hold any `u64`, so key order is version order.
pub(crate) const TARIFF_VERSIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("tariff_versions");
/// `{org}\0{tariff}` → tariff id, tariffs whose latest version is not deleted.
pub(crate) const TARIFFS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("tariffs_by_org");
/// Assignment id → `TariffAssignment` JSON.
pub(crate) const ASSIGNMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("assignments");
/// `{org}\0{created_at}\0{assignment}` → assignment id: age order.
pub(crate) const ASSIGNMENTS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("assignments_by_org");
/// `{zone code}\0{local date}` → `SpotDay` JSON.
pub(crate) const SPOT_DAYS: TableDefinition<&str, &[u8]> = TableDefinition::new("spot_days");
/// Alarm id → `Alarm` JSON (resolved ones too).
pub(crate) const ALARMS: TableDefinition<&str, &[u8]> = TableDefinition::new("alarms");
/// `{org}\0{station}\0{evse:010}\0{day}` → `UsageDay` JSON: an EVSE's days
/// in day order.
pub(crate) const USAGE_DAYS: TableDefinition<&str, &[u8]> = TableDefinition::new("usage_days");
/// `{org}\0{day}\0{station}\0{evse:010}` → the `USAGE_DAYS` key: an
/// organisation's days in day order.
pub(crate) const USAGE_DAYS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("usage_days_by_org");
/// Organisation id → `AlarmSettings` JSON.
pub(crate) const ALARM_SETTINGS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("alarm_settings");
/// `{org}\0{raised_at}\0{alarm}` → alarm id; re-raising moves the key.
pub(crate) const ALARMS_BY_ORG: TableDefinition<&str, &str> = TableDefinition::new("alarms_by_org");
/// `{session}\0{revision:010}` → `PricedSession` JSON; ten digits hold any
/// `u32`, so the last key of a session is its latest revision.
/// Site id → `LoadSite` JSON (load-balancing configuration).
pub(crate) const LOAD_SITES: TableDefinition<&str, &[u8]> = TableDefinition::new("load_sites");
/// `all\0{site}` → site id: every configured site, for the periodic sweep.
pub(crate) const LOAD_SITES_INDEX: TableDefinition<&str, &str> =
    TableDefinition::new("load_sites_index");
/// Site id → `LoadState` JSON (the balancer's state).
pub(crate) const LOAD_STATES: TableDefinition<&str, &[u8]> = TableDefinition::new("load_states");
/// Station id → `DeviceModel` JSON (whole: redb has no item size limit).
pub(crate) const DEVICE_MODELS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("device_models");
/// `{station}\0{request id}\0{seq:010}` → `ReportPart` JSON: the parts of
/// reports still being received.
pub(crate) const REPORT_PARTS: TableDefinition<&str, &[u8]> = TableDefinition::new("report_parts");
pub(crate) const PRICED_SESSIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("priced_sessions");

/// `{org}\0{at}\0{seq:020}` → `AuditEntry` JSON: an organisation's audit
/// log, in time order (the sequence keeps entries of one instant apart).
pub(crate) const AUDIT_LOG: TableDefinition<&str, &[u8]> = TableDefinition::new("audit_log");

pub(crate) const TRANSACTION_COUNTER: &str = "transaction_id";
pub(crate) const AUDIT_COUNTER: &str = "audit";
pub(crate) const EVENT_COUNTER: &str = "station_event";

const SEP: char = '\0';

// ---- access --------------------------------------------------------------

/// Station id → `StationAccess` JSON.
pub(crate) const STATION_ACCESS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("station_access");
/// Station id → `GarageIdentity` JSON: a garage station's e-mail identity.
pub(crate) const GARAGE_IDENTITIES: TableDefinition<&str, &[u8]> =
    TableDefinition::new("garage_identities");
/// `{station}\0{at}\0{seq:020}` → `AccessAttempt` JSON: refused attempts,
/// pruned per station as new ones arrive.
pub(crate) const ACCESS_ATTEMPTS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("access_attempts");
pub(crate) const ACCESS_ATTEMPT_COUNTER: &str = "access_attempt";
/// `{org}\0{at}\0{seq:020}` → the attempt's key in [`ACCESS_ATTEMPTS`]: an
/// organisation's attempts at all its stations, in time order.
pub(crate) const ACCESS_ATTEMPTS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("access_attempts_by_org");

// ---- charging keys -------------------------------------------------------

/// Charging key → `EvseChargingKey` JSON: a start link's lookup.
pub(crate) const CHARGING_KEYS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("charging_keys");
/// `{station}\0{evse:010}` → the EVSE's current `EvseChargingKey` JSON.
pub(crate) const EVSE_CHARGING_KEYS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("evse_charging_keys");

pub(crate) fn evse_key(station: &StationId, evse: u32) -> R<String> {
    join([station.as_str(), &format!("{evse:010}")])
}

// ---- local list ----------------------------------------------------------

/// Station id → `LocalListState` JSON.
pub(crate) const LOCAL_LISTS: TableDefinition<&str, &[u8]> = TableDefinition::new("local_lists");
/// `{org}\0{station}` → station id: an organisation's stations with a local
/// list state.
pub(crate) const LOCAL_LISTS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("local_lists_by_org");

pub(crate) fn local_list_org_key(org: &OrgId, station: &StationId) -> R<String> {
    join([org.as_str(), station.as_str()])
}

pub(crate) fn access_attempt_org_key(org: &OrgId, at: Timestamp, seq: u64) -> R<String> {
    join([org.as_str(), &sort_key_time(at), &format!("{seq:020}")])
}

pub(crate) fn access_attempt_key(station: &StationId, at: Timestamp, seq: u64) -> R<String> {
    join([station.as_str(), &sort_key_time(at), &format!("{seq:020}")])
}
// ---- bookings ------------------------------------------------------------

/// Booking id → `Booking` JSON.
pub(crate) const BOOKINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("bookings");
/// `{station}\0{evse:010}\0{start}\0{id}` → booking id: an EVSE's
/// bookings by start (the DynamoDB store's `BOOKINGS#{station}#{evse}`).
pub(crate) const BOOKINGS_BY_EVSE: TableDefinition<&str, &str> =
    TableDefinition::new("bookings_by_evse");
/// `{org}\0{start}\0{id}` → booking id: an organisation's bookings (GSI1
/// `ORG#{org}#BOOKING`).
pub(crate) const BOOKINGS_BY_ORG: TableDefinition<&str, &str> =
    TableDefinition::new("bookings_by_org");
/// `{org}\0{start}\0{id}` → booking id: the organisation's bookings that
/// are not final yet (GSI2 `ORG#{org}#BOOKINGDUE`).
pub(crate) const BOOKINGS_DUE: TableDefinition<&str, &str> = TableDefinition::new("bookings_due");

/// `{org}\0{since}\0{station}` → station id: the organisation's stations
/// whose connection closed and that have not come back (GSI2
/// `ORG#{org}#OFFLINE` on the station item).
pub(crate) const OFFLINE_DUE: TableDefinition<&str, &str> = TableDefinition::new("offline_due");
/// Station id → its key in [`OFFLINE_DUE`], so a reconnect takes it off.
pub(crate) const OFFLINE_BY_STATION: TableDefinition<&str, &str> =
    TableDefinition::new("offline_by_station");

/// `{org}\0{status}\0{since}\0{station}\0{evse}\0{connector}` → the
/// connector's key in `CONNECTORS`: the organisation's connectors in a
/// status they should not stay in (GSI2 `ORG#{org}#LINGER` on the
/// connector status item).
pub(crate) const LINGER_DUE: TableDefinition<&str, &str> = TableDefinition::new("linger_due");
/// A connector's key in `CONNECTORS` → its key in [`LINGER_DUE`], so the
/// next status takes it off.
pub(crate) const LINGER_BY_CONNECTOR: TableDefinition<&str, &str> =
    TableDefinition::new("linger_by_connector");

pub(crate) fn linger_key(
    org: &OrgId,
    status: &str,
    since: Timestamp,
    connector_key: &str,
) -> R<String> {
    // The connector key's own separators are its parts' (already checked).
    Ok(format!(
        "{}{SEP}{connector_key}",
        join([org.as_str(), status, &sort_key_time(since)])?
    ))
}

/// The status time a [`LINGER_DUE`] key holds.
pub(crate) fn linger_key_since(key: &str) -> R<Timestamp> {
    key.split(SEP)
        .nth(2)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            Fail(StoreError::Backend(format!(
                "linger key {key:?} holds no time"
            )))
        })
}

/// The station a connector's key in `CONNECTORS` names.
pub(crate) fn connector_key_station(key: &str) -> &str {
    key.split(SEP).next().unwrap_or_default()
}

pub(crate) fn offline_key(org: &OrgId, since: Timestamp, station: &StationId) -> R<String> {
    join([org.as_str(), &sort_key_time(since), station.as_str()])
}

/// The organisation and close time an [`OFFLINE_DUE`] key holds.
pub(crate) fn offline_key_parts(key: &str) -> R<(&str, Timestamp)> {
    let mut parts = key.splitn(3, SEP);
    let org = parts.next().unwrap_or_default();
    let since = parts
        .next()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| {
            Fail(StoreError::Backend(format!(
                "offline key {key:?} holds no time"
            )))
        })?;
    Ok((org, since.with_timezone(&Utc)))
}

pub(crate) fn booking_evse_scope(station: &StationId, evse: u32) -> R<String> {
    join([station.as_str(), &format!("{evse:010}")])
}

pub(crate) fn booking_evse_key(
    station: &StationId,
    evse: u32,
    start: Timestamp,
    id: &str,
) -> R<String> {
    join([
        station.as_str(),
        &format!("{evse:010}"),
        &sort_key_time(start),
        id,
    ])
}

pub(crate) fn booking_org_key(org: &OrgId, start: Timestamp, id: &str) -> R<String> {
    join([org.as_str(), &sort_key_time(start), id])
}

// ---- tenants -----------------------------------------------------------

/// Organisation id → `Organisation` JSON.
pub(crate) const ORGANISATIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("organisations");
/// `ORGS\0{org}` → org id: every organisation, by id (the DynamoDB
/// store's `ORGS` partition).
pub(crate) const ORGANISATIONS_INDEX: TableDefinition<&str, &str> =
    TableDefinition::new("organisations_index");
/// The one partition of [`ORGANISATIONS_INDEX`].
pub(crate) const ALL_ORGANISATIONS: &str = "ORGS";
/// Site id → `Site` JSON.
pub(crate) const SITES: TableDefinition<&str, &[u8]> = TableDefinition::new("sites");
/// `{org}\0{site}` → site id.
pub(crate) const SITES_BY_ORG: TableDefinition<&str, &str> = TableDefinition::new("sites_by_org");

pub(crate) fn organisation_index_key(org: &OrgId) -> R<String> {
    join([ALL_ORGANISATIONS, org.as_str()])
}

pub(crate) fn org_item_key(org: &OrgId, id: &str) -> R<String> {
    join([org.as_str(), id])
}

pub(crate) fn site_org_key(org: &OrgId, site: &SiteId) -> R<String> {
    join([org.as_str(), site.as_str()])
}

// ---- people -------------------------------------------------------------

/// User id → `User` JSON.
pub(crate) const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// Lower-case e-mail → user id: one person per address (the DynamoDB
/// store's `USEREMAIL#{email}` items).
pub(crate) const USER_EMAILS: TableDefinition<&str, &str> = TableDefinition::new("user_emails");
/// `{org}\0{user}` → user id: an organisation's members (GSI1
/// `ORG#{org}#USER`).
pub(crate) const USERS_BY_ORG: TableDefinition<&str, &str> = TableDefinition::new("users_by_org");
/// SHA-256 (hex) of a session's secret → `UserSession` JSON.
pub(crate) const USER_SESSIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("user_sessions");
/// `{user}\0{hash}` → hash: a person's sessions, for signing out everywhere.
pub(crate) const USER_SESSIONS_BY_USER: TableDefinition<&str, &str> =
    TableDefinition::new("user_sessions_by_user");

pub(crate) fn user_org_key(org: &OrgId, user: &UserId) -> R<String> {
    join([org.as_str(), user.as_str()])
}

pub(crate) fn user_session_key(user: &UserId, hash: &str) -> R<String> {
    join([user.as_str(), hash])
}

/// The byte just above [`SEP`], which [`prefix_end`] uses to end a range.
const PAST_SEP: char = '\u{1}';

/// `parts` joined with `\0`. A part holding `\0` or `\x01` is refused: it
/// would make two different part lists the same key (readings of session
/// `victim\0x` listed under `victim`) or move a range end. The id types
/// already refuse control characters at the edge; this is the second wall,
/// for whatever reaches the store another way.
fn join<const N: usize>(parts: [&str; N]) -> R<String> {
    if let Some(bad) = parts.iter().find(|p| p.contains([SEP, PAST_SEP])) {
        return Err(Fail(StoreError::Backend(format!(
            "key part {bad:?} holds a key separator (\\0 or \\x01); refused rather than collide"
        ))));
    }
    Ok(parts.join("\0"))
}

pub(crate) fn station_org_key(
    org: &OrgId,
    site: Option<&SiteId>,
    station: &StationId,
) -> R<String> {
    join([
        org.as_str(),
        site.map_or("", SiteId::as_str),
        station.as_str(),
    ])
}

pub(crate) fn connector_key(station: &StationId, evse: u32, connector: u32) -> R<String> {
    join([
        station.as_str(),
        &format!("{evse:010}"),
        &format!("{connector:010}"),
    ])
}

pub(crate) fn command_station_key(station: &StationId, id: &CommandId) -> R<String> {
    join([station.as_str(), id.as_str()])
}

pub(crate) fn token_org_key(org: &OrgId, token_key: &str) -> R<String> {
    join([org.as_str(), token_key])
}

/// The index scope of a session listing: the org, or the org and station.
/// The scope a station's ratings are listed under (then `{time}\0{session}`).
pub(crate) fn rating_station_scope(org: &OrgId, station: &StationId) -> R<String> {
    join([org.as_str(), station.as_str()])
}

/// The key a booking is listed under for its person.
pub(crate) fn booking_user_key(user: &UserId, start: &str, booking: &str) -> R<String> {
    join([user.as_str(), start, booking])
}

/// The key an invitation is listed under in its organisation.
pub(crate) fn invitation_org_key(org: &OrgId, time: &str, link: &str) -> R<String> {
    join([org.as_str(), time, link])
}

/// The key of a ledger transaction.
pub(crate) fn ledger_key(org: &OrgId, reference: &str) -> R<String> {
    join([org.as_str(), reference])
}

/// The key an invoice is listed under in its organisation.
pub(crate) fn invoice_org_key(org: &OrgId, seq: u64) -> R<String> {
    join([org.as_str(), &format!("{seq:020}")])
}

/// The key a payment is listed under in its invoice.
pub(crate) fn payment_invoice_key(invoice: &str, payment: &str) -> R<String> {
    join([invoice, payment])
}

/// The key a payment is listed under while unmatched.
pub(crate) fn unmatched_payment_key(scope: &str, payment: &str) -> R<String> {
    join([scope, payment])
}

/// The key an invoice is listed under for its person.
pub(crate) fn invoice_user_key(user: &UserId, created: &str, invoice: &str) -> R<String> {
    join([user.as_str(), created, invoice])
}

/// The key of a station's (`T`) or site's (`S`) rating sums.
pub(crate) fn rating_sum_key(org: &OrgId, kind: &str, id: &str) -> R<String> {
    join([org.as_str(), kind, id])
}

/// The key a person's identifier is listed under.
pub(crate) fn token_user_key(user: &UserId, token_key: &str) -> R<String> {
    join([user.as_str(), token_key])
}

/// The scope a person's sessions are listed under ([`session_index_key`]).
pub(crate) fn user_session_scope(user: &UserId) -> R<String> {
    join([user.as_str()])
}

pub(crate) fn session_scope(org: &OrgId, station: Option<&StationId>) -> R<String> {
    match station {
        Some(st) => join([org.as_str(), st.as_str()]),
        None => join([org.as_str()]),
    }
}

/// `scope` is made by [`session_scope`], so it holds separators by design.
pub(crate) fn session_index_key(scope: &str, sort_time: Timestamp, id: &SessionId) -> R<String> {
    let rest = join([&sort_key_time(sort_time), id.as_str()])?;
    Ok(format!("{scope}{SEP}{rest}"))
}

pub(crate) fn meter_prefix(target: &MeterTarget) -> R<String> {
    match target {
        MeterTarget::Session(id) => join(["S", id.as_str(), ""]),
        MeterTarget::Station(id) => join(["T", id.as_str(), ""]),
    }
}

pub(crate) fn event_key(station: &StationId, at: Timestamp, seq: u64) -> R<String> {
    join([station.as_str(), &sort_key_time(at), &format!("{seq:020}")])
}

pub(crate) fn audit_key(org: &OrgId, at: Timestamp, seq: u64) -> R<String> {
    join([org.as_str(), &sort_key_time(at), &format!("{seq:020}")])
}

pub(crate) fn tariff_version_key(id: &str, version: u64) -> R<String> {
    join([id, &format!("{version:020}")])
}

pub(crate) fn tariff_org_key(org: &OrgId, id: &str) -> R<String> {
    join([org.as_str(), id])
}

pub(crate) fn assignment_org_key(org: &OrgId, created_at: Timestamp, id: &str) -> R<String> {
    join([org.as_str(), &sort_key_time(created_at), id])
}

pub(crate) fn spot_day_key(zone: BiddingZone, date: NaiveDate) -> String {
    format!("{}{SEP}{}", zone.code(), date.format("%Y-%m-%d"))
}

pub(crate) fn alarm_org_key(org: &OrgId, raised_at: Timestamp, id: &str) -> R<String> {
    join([org.as_str(), &sort_key_time(raised_at), id])
}

pub(crate) fn priced_key(session: &SessionId, revision: u32) -> R<String> {
    join([session.as_str(), &format!("{revision:010}")])
}

/// `request` `None`: the prefix of every part of the station's reports.
pub(crate) fn report_part_key(
    station: &StationId,
    request: Option<i32>,
    seq: Option<u32>,
) -> R<String> {
    let request = request.map(|r| format!("{r:+011}")).unwrap_or_default();
    let seq = seq.map(|s| format!("{s:010}")).unwrap_or_default();
    match (request.is_empty(), seq.is_empty()) {
        (true, _) => join([station.as_str(), ""]),
        (false, true) => join([station.as_str(), &request, ""]),
        (false, false) => join([station.as_str(), &request, &seq]),
    }
}

/// The scope of an EVSE's usage days (then `\0{day}`).
pub(crate) fn usage_evse_scope(org: &OrgId, station: &StationId, evse: u32) -> R<String> {
    join([org.as_str(), station.as_str(), &format!("{evse:010}")])
}

/// The key of an EVSE's usage day in the organisation's day index.
pub(crate) fn usage_org_key(org: &OrgId, day: &str, station: &StationId, evse: u32) -> R<String> {
    join([org.as_str(), day, station.as_str(), &format!("{evse:010}")])
}

/// The scope of an organisation's usage days of one day.
pub(crate) fn usage_org_day_scope(org: &OrgId, day: &str) -> R<String> {
    join([org.as_str(), day])
}

/// `{parts…}\0`: the prefix shared by every key of one partition.
pub(crate) fn prefix(scope: &str) -> String {
    format!("{scope}{SEP}")
}

/// The least string above every key that starts with `prefix` (which ends in
/// `\0`): `\x01` occurs in no key part.
pub(crate) fn prefix_end(prefix: &str) -> String {
    debug_assert!(prefix.ends_with(SEP));
    format!("{}{PAST_SEP}", &prefix[..prefix.len() - 1])
}

/// A listing's key range, `lo` inclusive and `hi` exclusive.
pub(crate) struct KeyRange {
    pub lo: String,
    pub hi: String,
}

impl KeyRange {
    /// Every key that starts with `prefix` (which ends in `\0`).
    pub fn under(prefix: String) -> Self {
        let hi = prefix_end(&prefix);
        KeyRange { lo: prefix, hi }
    }

    /// Every key of one partition: `{scope}\0…`.
    pub fn partition(scope: &str) -> Self {
        Self::under(prefix(scope))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
}

pub(crate) fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Turns a cursor back into the key it was made from, accepting only keys of
/// this listing's partition with `parts` `\0`-separated parts after the
/// prefix, the last one non-empty. Anything else is `InvalidCursor`: a cursor
/// from another listing or organisation must not move this one.
pub(crate) fn decode_cursor(cursor: &str, prefix: &str, parts: usize) -> R<String> {
    let invalid = || Fail(StoreError::InvalidCursor);
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let key = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = key.strip_prefix(prefix).ok_or_else(invalid)?;
    let split: Vec<&str> = rest.split(SEP).collect();
    if split.len() != parts || split.last().is_none_or(|p| p.is_empty()) || rest.contains('\u{1}') {
        return Err(invalid());
    }
    Ok(key)
}

/// One page of `range` in `order`, continuing after `cursor` (a key already
/// checked by [`decode_cursor`]). `item` turns an entry into a result or skips
/// it (`None`). A cursor is returned only when another accepted item exists:
/// the pager reads one past the page to know.
pub(crate) fn paginate<V, T>(
    table: &impl ReadableTable<&'static str, V>,
    range: &KeyRange,
    cursor: Option<&str>,
    order: Order,
    limit: usize,
    mut item: impl FnMut(&str, AccessGuard<'_, V>) -> R<Option<T>>,
) -> R<Page<T>>
where
    V: Value + 'static,
{
    let lo = range.lo.as_str();
    let hi = range.hi.as_str();
    // Resume strictly after the cursor, but never outside the range: a
    // caller may change `from`/`to` between pages.
    let (start, end) = match (order, cursor) {
        (Order::Ascending, Some(c)) if c >= lo => (Bound::Excluded(c), Bound::Excluded(hi)),
        (Order::Descending, Some(c)) if c < hi => (Bound::Included(lo), Bound::Excluded(c)),
        _ => (Bound::Included(lo), Bound::Excluded(hi)),
    };
    let entries = table.range::<&str>((start, end))?;
    let entries: Box<dyn Iterator<Item = _>> = match order {
        Order::Ascending => Box::new(entries),
        Order::Descending => Box::new(entries.rev()),
    };
    let mut items = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for entry in entries {
        let (k, v) = entry?;
        let key = k.value();
        if let Some(t) = item(key, v)? {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(t);
            last_key = Some(key.to_owned());
        }
    }
    let next_cursor = if more {
        last_key.as_deref().map(encode_cursor)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: R<String>) -> bool {
        matches!(r, Err(Fail(StoreError::Backend(m))) if m.contains("key separator"))
    }

    #[test]
    fn a_key_part_holding_a_separator_is_refused_instead_of_colliding() {
        let org = OrgId::parse("o").unwrap();
        for bad in ["victim\0x", "\0", "x\u{1}", "\u{1}"] {
            assert!(refused(tariff_org_key(&org, bad)), "{bad:?}");
            assert!(refused(token_org_key(&org, bad)), "{bad:?}");
            assert!(refused(tariff_version_key(bad, 1)), "{bad:?}");
            assert!(
                refused(assignment_org_key(&org, Timestamp::UNIX_EPOCH, bad)),
                "{bad:?}"
            );
            assert!(
                refused(alarm_org_key(&org, Timestamp::UNIX_EPOCH, bad)),
                "{bad:?}"
            );
        }
        // Without the check these two would be the same key.
        assert_ne!(
            tariff_version_key("a", 1).ok(),
            tariff_org_key(&org, "a\0").ok()
        );
    }

    #[test]
    fn checked_parts_join_as_before() {
        let org = OrgId::parse("o").unwrap();
        let st = StationId::parse("CP-1").unwrap();
        let session = SessionId::parse("CP-1~TX:1|a#b").unwrap();
        assert_eq!(
            station_org_key(&org, None, &st).ok().as_deref(),
            Some("o\0\0CP-1")
        );
        assert_eq!(
            meter_prefix(&MeterTarget::Session(session.clone()))
                .ok()
                .as_deref(),
            Some("S\0CP-1~TX:1|a#b\0")
        );
        assert_eq!(
            connector_key(&st, 1, 2).ok().as_deref(),
            Some("CP-1\x000000000001\x000000000002")
        );
        let scope = session_scope(&org, Some(&st)).unwrap_or_default();
        assert_eq!(
            session_index_key(&scope, Timestamp::UNIX_EPOCH, &session)
                .ok()
                .map(|k| k.split(SEP).count()),
            Some(4)
        );
        assert_eq!(
            priced_key(&session, 3).ok().as_deref(),
            Some("CP-1~TX:1|a#b\x000000000003")
        );
    }
}
