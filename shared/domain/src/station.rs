//! Registered charging stations, their live connection and connector status.

use crate::{OcppVersion, OrgId, SiteId, StationId, Timestamp};
use serde::{Deserialize, Serialize};

/// A station as registered through the API, plus what the charger reported at boot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub id: StationId,
    pub org_id: OrgId,
    pub site_id: Option<SiteId>,
    pub name: Option<String>,
    /// PHC string (argon2id); `None` means the station connects without Basic auth.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub boot: Option<BootInfo>,
    /// Protocol of the current or most recent connection.
    pub ocpp_version: Option<OcppVersion>,
    /// The API Gateway (or local) connection id while connected.
    pub connection_id: Option<String>,
    /// Last message from the station, written when a connection closes (the
    /// live value is on the connection record, touched on every message).
    pub last_seen_at: Option<Timestamp>,
}

/// What a BootNotification tells us about the hardware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootInfo {
    pub vendor: String,
    pub model: String,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub reason: Option<String>,
    pub booted_at: Timestamp,
}

/// Status of one connector. OCPP 1.6 connector N is stored as EVSE N, connector 1;
/// 1.6 connector 0 (the whole station) as EVSE 0, connector 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorStatus {
    pub evse_id: u32,
    pub connector_id: u32,
    pub status: String,
    pub error_code: Option<String>,
    pub info: Option<String>,
    /// When the charger says the status changed (its timestamp, or receipt time).
    pub updated_at: Timestamp,
}

/// A live WebSocket connection of a station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: String,
    pub station_id: StationId,
    pub org_id: OrgId,
    /// Copied from the station at connect time, so that every message can
    /// stamp its tenancy (sessions carry org and site) without a station read.
    #[serde(default)]
    pub site_id: Option<SiteId>,
    pub ocpp_version: OcppVersion,
    pub connected_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl Connection {
    /// API Gateway closes every WebSocket after two hours; a connection record
    /// older than that whose `$disconnect` never arrived is not live.
    pub const MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::minutes(125);

    pub fn is_live(&self, now: Timestamp) -> bool {
        now - self.connected_at < Self::MAX_AGE
    }
}

/// A station with everything the API shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StationView {
    pub station: Station,
    pub connectors: Vec<ConnectorStatus>,
    pub connection: Option<Connection>,
}

impl StationView {
    pub fn connected(&self, now: Timestamp) -> bool {
        self.connection.as_ref().is_some_and(|c| c.is_live(now))
    }

    pub fn last_seen_at(&self) -> Option<Timestamp> {
        match (&self.connection, self.station.last_seen_at) {
            (Some(c), Some(s)) => Some(c.last_seen_at.max(s)),
            (Some(c), None) => Some(c.last_seen_at),
            (None, s) => s,
        }
    }
}
