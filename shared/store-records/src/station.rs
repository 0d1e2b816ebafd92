//! Stations, their connector statuses and live connections as stored by the
//! embedded store: [`StoredStation`], [`StoredConnectorStatus`],
//! [`StoredConnection`]. They have always been stored with snake-case
//! names and `null` for an absent optional value. The DynamoDB store keeps
//! all three as items of named attributes (its own item structs), not as
//! JSON, so only the embedded store writes these forms.
//!
//! Stations and connections written before the operator's approval existed
//! read as accepted, boots recorded before the answer was kept as answered
//! `Accepted`, and connections from before the site was copied onto them
//! without a site.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::station::{
    Approval, BootInfo, ClockCheck, Connection, ConnectorStatus, FloodCheck, FloodMark,
    PreviousPassword, RegistrationStatus, SeenAddress, Station,
};
use csms_domain::{OcppVersion, OrgId, SiteId, StationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStation {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "site_id", default)]
    pub site_id: Option<String>,
    #[serde(rename = "name", default)]
    pub name: Option<String>,
    #[serde(rename = "password_hash", default)]
    pub password_hash: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "boot", default)]
    pub boot: Option<StoredBootInfo>,
    #[serde(rename = "ocpp_version", default)]
    pub ocpp_version: Option<StoredOcppVersion>,
    #[serde(rename = "connection_id", default)]
    pub connection_id: Option<String>,
    #[serde(rename = "last_seen_at", default)]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(rename = "approval", default)]
    pub approval: StoredApproval,
    /// Written only when set (stations stored before rotation existed have
    /// none, and their bytes do not change).
    #[serde(
        rename = "previous_password",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_password: Option<StoredPreviousPassword>,
    #[serde(
        rename = "decommissioned_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub decommissioned_at: Option<DateTime<Utc>>,
    /// Written only when there are some (stations stored before connects
    /// were counted have none).
    #[serde(
        rename = "recent_connects",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recent_connects: Vec<DateTime<Utc>>,
    /// Written only when there are some (stations stored before source
    /// addresses were kept have none).
    #[serde(
        rename = "recent_addresses",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recent_addresses: Vec<StoredSeenAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSeenAddress {
    #[serde(rename = "address")]
    pub address: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPreviousPassword {
    #[serde(rename = "hash")]
    pub hash: String,
    #[serde(rename = "valid_until")]
    pub valid_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBootInfo {
    #[serde(rename = "vendor")]
    pub vendor: String,
    #[serde(rename = "model")]
    pub model: String,
    #[serde(rename = "serial_number", default)]
    pub serial_number: Option<String>,
    #[serde(rename = "firmware_version", default)]
    pub firmware_version: Option<String>,
    #[serde(rename = "reason", default)]
    pub reason: Option<String>,
    #[serde(rename = "booted_at")]
    pub booted_at: DateTime<Utc>,
    #[serde(rename = "registration", default)]
    pub registration: StoredRegistrationStatus,
    #[serde(
        rename = "recent_boots",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recent_boots: Vec<DateTime<Utc>>,
}

/// Spelled as OCPP spells it (capitalised), unlike [`StoredApproval`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRegistrationStatus {
    #[default]
    #[serde(rename = "Accepted")]
    Accepted,
    #[serde(rename = "Pending")]
    Pending,
    #[serde(rename = "Rejected")]
    Rejected,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredApproval {
    #[default]
    #[serde(rename = "accepted")]
    Accepted,
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "rejected")]
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredOcppVersion {
    #[serde(rename = "1.6")]
    V16,
    #[serde(rename = "2.0.1")]
    V201,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConnectorStatus {
    #[serde(rename = "evse_id")]
    pub evse_id: u32,
    #[serde(rename = "connector_id")]
    pub connector_id: u32,
    /// OCPP's status name, as the charger sent it.
    #[serde(rename = "status")]
    pub status: String,
    #[serde(rename = "error_code", default)]
    pub error_code: Option<String>,
    #[serde(rename = "info", default)]
    pub info: Option<String>,
    #[serde(rename = "updated_at")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConnection {
    #[serde(rename = "connection_id")]
    pub connection_id: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "site_id", default)]
    pub site_id: Option<String>,
    #[serde(rename = "ocpp_version")]
    pub ocpp_version: StoredOcppVersion,
    #[serde(rename = "connected_at")]
    pub connected_at: DateTime<Utc>,
    #[serde(rename = "last_seen_at")]
    pub last_seen_at: DateTime<Utc>,
    /// Absent before enough messages, and in connections stored before
    /// they were kept.
    #[serde(
        rename = "previous_seen_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_seen_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "second_previous_seen_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub second_previous_seen_at: Option<DateTime<Utc>>,
    #[serde(rename = "approval", default)]
    pub approval: StoredApproval,
    /// Absent before a message gave clock evidence, and in connections
    /// stored before the clock was checked.
    #[serde(rename = "clock", default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<StoredClockCheck>,
    /// Absent while 0, and in connections stored before messages were
    /// counted.
    #[serde(rename = "messages", default, skip_serializing_if = "is_zero")]
    pub messages: u64,
    /// Absent until the message-flood rule wrote, and in connections
    /// stored before it.
    #[serde(rename = "flood", default, skip_serializing_if = "Option::is_none")]
    pub flood: Option<StoredFloodCheck>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFloodCheck {
    #[serde(rename = "window_from")]
    pub window_from: DateTime<Utc>,
    #[serde(rename = "window_base")]
    pub window_base: u64,
    /// Absent while none, and in checks stored before marks were kept.
    #[serde(rename = "marks", default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<StoredFloodMark>,
    #[serde(rename = "flooding", default, skip_serializing_if = "Option::is_none")]
    pub flooding: Option<bool>,
    #[serde(
        rename = "limit_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub limit_count: Option<u32>,
    #[serde(
        rename = "limit_window_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub limit_window_secs: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFloodMark {
    #[serde(rename = "from")]
    pub from: DateTime<Utc>,
    #[serde(rename = "base")]
    pub base: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClockCheck {
    #[serde(rename = "drifting", default, skip_serializing_if = "Option::is_none")]
    pub drifting: Option<bool>,
    #[serde(
        rename = "tolerance_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerance_secs: Option<u32>,
}

// ---- the enums, both ways ----

impl From<Approval> for StoredApproval {
    fn from(a: Approval) -> Self {
        match a {
            Approval::Accepted => StoredApproval::Accepted,
            Approval::Pending => StoredApproval::Pending,
            Approval::Rejected => StoredApproval::Rejected,
        }
    }
}

impl From<StoredApproval> for Approval {
    fn from(a: StoredApproval) -> Self {
        match a {
            StoredApproval::Accepted => Approval::Accepted,
            StoredApproval::Pending => Approval::Pending,
            StoredApproval::Rejected => Approval::Rejected,
        }
    }
}

impl From<RegistrationStatus> for StoredRegistrationStatus {
    fn from(r: RegistrationStatus) -> Self {
        match r {
            RegistrationStatus::Accepted => StoredRegistrationStatus::Accepted,
            RegistrationStatus::Pending => StoredRegistrationStatus::Pending,
            RegistrationStatus::Rejected => StoredRegistrationStatus::Rejected,
        }
    }
}

impl From<StoredRegistrationStatus> for RegistrationStatus {
    fn from(r: StoredRegistrationStatus) -> Self {
        match r {
            StoredRegistrationStatus::Accepted => RegistrationStatus::Accepted,
            StoredRegistrationStatus::Pending => RegistrationStatus::Pending,
            StoredRegistrationStatus::Rejected => RegistrationStatus::Rejected,
        }
    }
}

impl From<OcppVersion> for StoredOcppVersion {
    fn from(v: OcppVersion) -> Self {
        match v {
            OcppVersion::V16 => StoredOcppVersion::V16,
            OcppVersion::V201 => StoredOcppVersion::V201,
        }
    }
}

impl From<StoredOcppVersion> for OcppVersion {
    fn from(v: StoredOcppVersion) -> Self {
        match v {
            StoredOcppVersion::V16 => OcppVersion::V16,
            StoredOcppVersion::V201 => OcppVersion::V201,
        }
    }
}

fn site_id(s: Option<String>) -> Result<Option<SiteId>, DecodeError> {
    s.map(|s| parse("site id", s, SiteId::parse)).transpose()
}

// ---- domain → stored ----

impl From<&Station> for StoredStation {
    fn from(s: &Station) -> Self {
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
            previous_password,
            decommissioned_at,
            recent_connects,
            recent_addresses,
        } = s;
        StoredStation {
            id: id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            site_id: site_id.as_ref().map(|s| s.as_str().to_owned()),
            name: name.clone(),
            password_hash: password_hash.clone(),
            created_at: *created_at,
            boot: boot.as_ref().map(Into::into),
            ocpp_version: ocpp_version.map(Into::into),
            connection_id: connection_id.clone(),
            last_seen_at: *last_seen_at,
            approval: (*approval).into(),
            previous_password: previous_password.as_ref().map(|p| StoredPreviousPassword {
                hash: p.hash.clone(),
                valid_until: p.valid_until,
            }),
            decommissioned_at: *decommissioned_at,
            recent_connects: recent_connects.clone(),
            recent_addresses: recent_addresses
                .iter()
                .map(|a| StoredSeenAddress {
                    address: a.address.clone(),
                    at: a.at,
                })
                .collect(),
        }
    }
}

impl From<&BootInfo> for StoredBootInfo {
    fn from(b: &BootInfo) -> Self {
        let BootInfo {
            vendor,
            model,
            serial_number,
            firmware_version,
            reason,
            booted_at,
            registration,
            recent_boots,
        } = b;
        StoredBootInfo {
            vendor: vendor.clone(),
            model: model.clone(),
            serial_number: serial_number.clone(),
            firmware_version: firmware_version.clone(),
            reason: reason.clone(),
            booted_at: *booted_at,
            registration: (*registration).into(),
            recent_boots: recent_boots.clone(),
        }
    }
}

impl From<&ConnectorStatus> for StoredConnectorStatus {
    fn from(c: &ConnectorStatus) -> Self {
        let ConnectorStatus {
            evse_id,
            connector_id,
            status,
            error_code,
            info,
            updated_at,
        } = c;
        StoredConnectorStatus {
            evse_id: *evse_id,
            connector_id: *connector_id,
            status: status.clone(),
            error_code: error_code.clone(),
            info: info.clone(),
            updated_at: *updated_at,
        }
    }
}

impl From<&Connection> for StoredConnection {
    fn from(c: &Connection) -> Self {
        let Connection {
            connection_id,
            station_id,
            org_id,
            site_id,
            ocpp_version,
            connected_at,
            last_seen_at,
            previous_seen_at,
            second_previous_seen_at,
            approval,
            clock,
            messages,
            flood,
        } = c;
        StoredConnection {
            connection_id: connection_id.clone(),
            station_id: station_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            site_id: site_id.as_ref().map(|s| s.as_str().to_owned()),
            ocpp_version: (*ocpp_version).into(),
            connected_at: *connected_at,
            last_seen_at: *last_seen_at,
            previous_seen_at: *previous_seen_at,
            second_previous_seen_at: *second_previous_seen_at,
            approval: (*approval).into(),
            clock: clock.map(|c| StoredClockCheck {
                drifting: c.drifting,
                tolerance_secs: c.tolerance_secs,
            }),
            messages: *messages,
            flood: flood.as_ref().map(|f| StoredFloodCheck {
                window_from: f.window_from,
                window_base: f.window_base,
                marks: f
                    .marks
                    .iter()
                    .map(|m| StoredFloodMark {
                        from: m.from,
                        base: m.base,
                    })
                    .collect(),
                flooding: f.flooding,
                limit_count: f.limit_count,
                limit_window_secs: f.limit_window_secs,
            }),
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredStation> for Station {
    type Error = DecodeError;

    fn try_from(s: StoredStation) -> Result<Self, DecodeError> {
        let StoredStation {
            id,
            org_id,
            site_id: site,
            name,
            password_hash,
            created_at,
            boot,
            ocpp_version,
            connection_id,
            last_seen_at,
            approval,
            previous_password,
            decommissioned_at,
            recent_connects,
            recent_addresses,
        } = s;
        Ok(Station {
            id: parse("station id", id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            site_id: site_id(site)?,
            name,
            password_hash,
            created_at,
            boot: boot.map(Into::into),
            ocpp_version: ocpp_version.map(Into::into),
            connection_id,
            last_seen_at,
            approval: approval.into(),
            previous_password: previous_password.map(|p| PreviousPassword {
                hash: p.hash,
                valid_until: p.valid_until,
            }),
            decommissioned_at,
            recent_connects,
            recent_addresses: recent_addresses
                .into_iter()
                .map(|a| SeenAddress {
                    address: a.address,
                    at: a.at,
                })
                .collect(),
        })
    }
}

impl From<StoredBootInfo> for BootInfo {
    fn from(b: StoredBootInfo) -> Self {
        let StoredBootInfo {
            vendor,
            model,
            serial_number,
            firmware_version,
            reason,
            booted_at,
            registration,
            recent_boots,
        } = b;
        BootInfo {
            vendor,
            model,
            serial_number,
            firmware_version,
            reason,
            booted_at,
            registration: registration.into(),
            recent_boots,
        }
    }
}

impl From<StoredConnectorStatus> for ConnectorStatus {
    fn from(c: StoredConnectorStatus) -> Self {
        let StoredConnectorStatus {
            evse_id,
            connector_id,
            status,
            error_code,
            info,
            updated_at,
        } = c;
        ConnectorStatus {
            evse_id,
            connector_id,
            status,
            error_code,
            info,
            updated_at,
        }
    }
}

impl TryFrom<StoredConnection> for Connection {
    type Error = DecodeError;

    fn try_from(c: StoredConnection) -> Result<Self, DecodeError> {
        let StoredConnection {
            connection_id,
            station_id,
            org_id,
            site_id: site,
            ocpp_version,
            connected_at,
            last_seen_at,
            previous_seen_at,
            second_previous_seen_at,
            approval,
            clock,
            messages,
            flood,
        } = c;
        Ok(Connection {
            connection_id,
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            site_id: site_id(site)?,
            ocpp_version: ocpp_version.into(),
            connected_at,
            last_seen_at,
            previous_seen_at,
            second_previous_seen_at,
            approval: approval.into(),
            clock: clock.map(|c| ClockCheck {
                drifting: c.drifting,
                tolerance_secs: c.tolerance_secs,
            }),
            messages,
            flood: flood.map(|f| FloodCheck {
                window_from: f.window_from,
                window_base: f.window_base,
                marks: f
                    .marks
                    .into_iter()
                    .map(|m| FloodMark {
                        from: m.from,
                        base: m.base,
                    })
                    .collect(),
                flooding: f.flooding,
                limit_count: f.limit_count,
                limit_window_secs: f.limit_window_secs,
            }),
        })
    }
}

impl Record for Station {
    type Stored = StoredStation;
}

impl Record for ConnectorStatus {
    type Stored = StoredConnectorStatus;
}

impl Record for Connection {
    type Stored = StoredConnection;
}
