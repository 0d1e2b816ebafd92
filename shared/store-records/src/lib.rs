//! The stored form of the domain records the stores keep as JSON: commands,
//! load-balancing sites and states, tariff versions and tariff assignments,
//! charging sessions, stations with their connector statuses and connections,
//! id tokens, API keys, webhooks and their deliveries, alarms, spot prices
//! and priced sessions, meter readings, organisations and sites, people and their sessions.
//!
//! # Why this crate exists
//! The redb store writes these records as JSON values and the DynamoDB
//! store as JSON in an item's `body`. Both used to serialise the domain
//! types themselves, so the JSON on disk was whatever the domain's serde
//! attributes said today: renaming a field of `Command` or `LoadConfig`
//! would silently change what is written and make every record written
//! before unreadable. Here each record has one stored form that both
//! adapters share (not a copy per adapter that could drift apart), with
//! every JSON name spelled out. The conversions name every domain field,
//! so a rename in the domain is a compile error in this crate, and the fix
//! is made here, where the stored name stays as it was.
//!
//! The golden fixtures in `tests/fixtures` are the JSON the stores wrote
//! before this crate existed; the tests check that the stored forms still
//! write exactly those bytes and read them back.
//!
//! # Layout
//! - [`Record`]: a domain type with a stored form; [`to_json`] and
//!   [`from_json`] go through it, and a record that does not convert is a
//!   [`DecodeError`], never a panic.
//! - [`command`]: [`StoredCommand`](command::StoredCommand) with its
//!   request ([`StoredCommandRequest`](command::StoredCommandRequest), all
//!   command types) and charging profiles.
//! - [`load`]: [`StoredLoadSite`](load::StoredLoadSite) (the operator's
//!   configuration) and [`StoredLoadState`](load::StoredLoadState) (the
//!   balancer's state, with the engine's reasons and PV state).
//! - [`tariff`]: [`StoredTariff`](tariff::StoredTariff) (each version and
//!   the latest copy) and [`StoredTariffAssignment`](tariff::StoredTariffAssignment).
//! - [`session`]: [`StoredSession`](session::StoredSession), written by the
//!   embedded store only (DynamoDB keeps sessions as named attributes).
//! - [`station`]: stations, connector statuses and connections
//!   ([`StoredStation`](station::StoredStation) and its neighbours), also
//!   written by the embedded store only.
//! - [`token`]: [`StoredIdToken`](token::StoredIdToken), embedded store only.
//! - [`notify`]: API keys, webhooks and deliveries
//!   ([`StoredApiKey`](notify::StoredApiKey) and its neighbours).
//! - [`alarm`]: alarms, as [`StoredAlarm`](alarm::StoredAlarm).
//! - [`audit`]: audit log entries, as [`StoredAuditEntry`](audit::StoredAuditEntry).
//! - [`pricing`]: [`StoredSpotDay`](pricing::StoredSpotDay) and
//!   [`StoredPricedSession`](pricing::StoredPricedSession).
//! - [`tenant`]: organisations and sites ([`StoredOrganisation`](tenant::StoredOrganisation),
//!   [`StoredSite`](tenant::StoredSite)), new with tenants: their fixtures are what they were
//!   first written as.
//! - [`user`]: people and their signed-in sessions ([`StoredUser`](user::StoredUser),
//!   [`StoredUserSession`](user::StoredUserSession)), new with sign-in.
//! - [`access`]: a station's access policy with its EVSEs' overrides
//!   ([`StoredStationAccess`](access::StoredStationAccess)) and refused attempts
//!   ([`StoredAccessAttempt`](access::StoredAccessAttempt)), new with access modes.
//! - [`booking`]: bookings of EVSEs ([`StoredBooking`](booking::StoredBooking)), new with bookings.
//! - [`charging_key`]: EVSEs' charging keys ([`StoredChargingKey`](charging_key::StoredChargingKey)),
//!   new with start links.
//! - [`local_list`]: a station's local authorisation list sync state
//!   ([`StoredLocalList`](local_list::StoredLocalList)), new with local list sync.
//! - [`billing`]: ledger transactions and invoices
//!   ([`StoredLedgerTransaction`](billing::StoredLedgerTransaction),
//!   [`StoredInvoice`](billing::StoredInvoice)), new with billing.
//! - [`email_link`]: invitations and password resets sent by e-mail
//!   ([`StoredEmailLink`](email_link::StoredEmailLink)), new with e-mail links.
//! - [`meter`]: readings, as [`StoredMeterReading`](meter::StoredMeterReading),
//!   embedded store only.
//!
//! Decimals (`rust_decimal`, written as strings) and times (`chrono`) keep
//! their own serde forms: they belong to those libraries, not to the domain.

pub mod access;
pub mod alarm;
pub mod audit;
pub mod billing;
pub mod booking;
pub mod charging_key;
pub mod command;
pub mod email_link;
pub mod load;
pub mod local_list;
pub mod meter;
pub mod notify;
pub mod pricing;
pub mod rating;
pub mod session;
pub mod station;
pub mod tariff;
pub mod tenant;
pub mod token;
pub mod usage;
pub mod user;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A stored record that does not convert into its domain type: JSON that
/// does not parse as the stored form, or a value the domain rejects (an
/// invalid id, an unknown bidding zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    pub fn new(reason: impl std::fmt::Display) -> Self {
        DecodeError(reason.to_string())
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<std::convert::Infallible> for DecodeError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// A domain type that is stored as JSON through its stored form: the stored
/// form is made from the record, and converts back into it (infallibly, or
/// with a [`DecodeError`] for a value the domain rejects). An implementation
/// names its stored form; the conversions are its `From`/`TryFrom` impls.
pub trait Record: Sized {
    type Stored: Serialize
        + DeserializeOwned
        + for<'a> From<&'a Self>
        + TryInto<Self, Error: Into<DecodeError>>;

    fn to_stored(&self) -> Self::Stored {
        self.into()
    }

    fn from_stored(stored: Self::Stored) -> Result<Self, DecodeError> {
        stored.try_into().map_err(Into::into)
    }
}

/// The golden fixture `name` (`tests/fixtures/{name}`): each record with the
/// JSON line every store has always written for it. For the stores' tests.
#[cfg(feature = "golden")]
pub fn golden<T: Record>(name: &str) -> Vec<(T, String)> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|line| {
            let record = from_json(line.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"));
            (record, line.to_owned())
        })
        .collect()
}

/// The JSON a store writes for `record`.
pub fn to_json<T: Record>(record: &T) -> serde_json::Result<String> {
    serde_json::to_string(&record.to_stored())
}

/// The record a store wrote as `json`.
pub fn from_json<T: Record>(json: &[u8]) -> Result<T, DecodeError> {
    let stored: T::Stored = serde_json::from_slice(json).map_err(DecodeError::new)?;
    T::from_stored(stored)
}

/// Parses a stored id (or other validated text) into its domain type.
fn parse<T, E: std::fmt::Display>(
    what: &str,
    s: String,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, DecodeError> {
    parse(s).map_err(|e| DecodeError(format!("{what}: {e}")))
}

/// Converts every element, failing on the first that does not.
fn try_all<S, D>(items: Vec<S>) -> Result<Vec<D>, DecodeError>
where
    D: TryFrom<S, Error = DecodeError>,
{
    items.into_iter().map(D::try_from).collect()
}
