//! Pure domain types of the CSMS.
//!
//! Nothing here knows about OCPP wire formats, HTTP or AWS: values are parsed
//! into these types at the edges (the OCPP layer, the API, the store adapters)
//! and the use cases in the context crates (`csms-charging`, `csms-commands`, …) work only with them.
//!
//! # Layout
//! - [`ids`]: newtypes for identities that are validated once at the edge
//!   (`StationId`, `OrgId`, `SiteId`, `IdTokenValue`, `SessionId`).
//! - [`station`]: registered stations, their boot information and connector status.
//! - [`token`]: the id-token registry entries and the authorization decision.
//! - [`session`]: charging sessions and the rules that merge transaction
//!   events into them idempotently.
//! - [`meter`]: meter readings normalised to base units.
//! - [`event`]: the version-neutral model of what a charger tells us.
//! - [`api_key`]: partner API keys and their scopes.
//! - [`command`]: what the CSMS asks a charger to do, and the record that
//!   tracks each request to its outcome.
//! - [`webhook`]: partner subscriptions to events and their deliveries.
//! - [`tariff`]: tariffs, their elements and restrictions, assignments and
//!   how the applicable tariff is resolved.
//! - [`spot`]: bidding zones and day-ahead spot prices per local day.
//! - [`pricing`]: priced sessions and the engine that prices a session.
//! - [`access`]: access modes (private, public, semi-public) on a weekly schedule in the site's
//!   time zone, and which tokens they admit.
//! - [`rating`]: drivers' ratings of their sessions, and each station's and site's sum of them.
//! - [`actor`]: who a use case acts for (organisation and caller), checked by the services.
//! - [`alarm`]: conditions an operator must look at.
//! - [`audit`]: who changed what in an organisation, and when.
//! - [`booking`]: bookings of an EVSE for a time window, conflicts and free windows.
//! - [`charging_key`]: an EVSE's charging key (its start link and QR code) and the one-off
//!   identity an anonymous start through the link charges with.
//! - [`device_model`]: the components and variables a 2.0.1 station reports.
//! - [`tenant`]: organisations and sites, and the values they are made of
//!   (organisation and VAT numbers, addresses, payout accounts, opening hours).
//! - [`user`]: people who sign in, their roles in organisations, and their sessions.

pub mod access;
pub mod actor;
pub mod alarm;
pub mod api_key;
pub mod audit;
pub mod billing;
pub mod booking;
pub mod charging_key;
pub mod command;
pub mod device_model;
pub mod email_link;
pub mod event;
pub mod ids;
pub mod load;
pub mod local_list;
pub mod meter;
pub mod pricing;
pub mod rating;
pub mod session;
pub mod spot;
pub mod station;
pub mod tariff;
pub mod tenant;
pub mod token;
pub mod usage;
pub mod user;
pub mod webhook;

pub use ids::{IdError, IdTokenValue, OrgId, SessionId, SiteId, StationId, TransactionId};

/// Time as used everywhere in the domain: UTC with the precision the charger sent.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// OCPP protocol versions the CSMS speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OcppVersion {
    #[serde(rename = "1.6")]
    V16,
    #[serde(rename = "2.0.1")]
    V201,
}

impl OcppVersion {
    /// The WebSocket subprotocol name (`Sec-WebSocket-Protocol`).
    pub fn subprotocol(self) -> &'static str {
        match self {
            OcppVersion::V16 => "ocpp1.6",
            OcppVersion::V201 => "ocpp2.0.1",
        }
    }

    /// The version as shown in the API ("1.6", "2.0.1").
    pub fn as_str(self) -> &'static str {
        match self {
            OcppVersion::V16 => "1.6",
            OcppVersion::V201 => "2.0.1",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "1.6" => Some(OcppVersion::V16),
            "2.0.1" => Some(OcppVersion::V201),
            _ => None,
        }
    }

    /// Versions in the order the CSMS prefers them when a charger offers several.
    pub const PREFERENCE: [OcppVersion; 2] = [OcppVersion::V201, OcppVersion::V16];

    /// Pick the protocol from a client's `Sec-WebSocket-Protocol` header values.
    ///
    /// The header may be repeated and each value may hold a comma-separated
    /// list; entries are trimmed because chargers (and proxies) put spaces after
    /// commas. Our preference decides, not the client's order.
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<OcppVersion> {
        let offered: Vec<&str> = offered
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::PREFERENCE.into_iter().find(|v| {
            offered
                .iter()
                .any(|o| o.eq_ignore_ascii_case(v.subprotocol()))
        })
    }
}

impl std::fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_trims_and_prefers_201() {
        assert_eq!(
            OcppVersion::negotiate(["ocpp1.6 , ocpp2.0.1"]),
            Some(OcppVersion::V201)
        );
        assert_eq!(OcppVersion::negotiate(["ocpp1.6"]), Some(OcppVersion::V16));
        assert_eq!(
            OcppVersion::negotiate(["ocpp1.6", " ocpp2.0.1"]),
            Some(OcppVersion::V201)
        );
        assert_eq!(OcppVersion::negotiate(["ocpp1.5,ocpp2.0"]), None);
        assert_eq!(OcppVersion::negotiate([""]), None);
        assert_eq!(OcppVersion::negotiate(Vec::<&str>::new()), None);
    }
}
