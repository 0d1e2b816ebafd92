//! Registered charging stations, their live connection and connector status.

use crate::{OcppVersion, OrgId, SiteId, StationId, Timestamp};
use serde::{Deserialize, Serialize};

/// A station as registered through the API, plus what the charger reported at boot.
#[derive(Debug, Clone, PartialEq)]
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
    /// The operator's decision on the station: what its BootNotification is
    /// answered. Stations stored before the setting existed are accepted.
    pub approval: Approval,
}

/// The operator's decision on a station, set through the API. It decides the
/// answer to the station's BootNotification ([`Approval::registration`]) and
/// what the station and the API may send it until then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Approval {
    /// Answered `Accepted`: the station works.
    #[default]
    Accepted,
    /// Answered `Pending`: the operator has not decided yet; the CSMS may
    /// read and change the station's configuration, nothing else.
    Pending,
    /// Answered `Rejected`: the station may send nothing but its next boot.
    Rejected,
}

impl Approval {
    pub const NAMES: [&'static str; 3] = ["accepted", "pending", "rejected"];

    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Accepted => "accepted",
            Approval::Pending => "pending",
            Approval::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Approval::Accepted, Approval::Pending, Approval::Rejected]
            .into_iter()
            .find(|a| a.as_str() == s)
    }

    /// What a BootNotification of a station with this approval is answered.
    pub fn registration(self) -> RegistrationStatus {
        match self {
            Approval::Accepted => RegistrationStatus::Accepted,
            Approval::Pending => RegistrationStatus::Pending,
            Approval::Rejected => RegistrationStatus::Rejected,
        }
    }
}

/// OCPP's answer to a BootNotification (1.6 `RegistrationStatus`, 2.0.1
/// `RegistrationStatusEnumType`), spelled as on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegistrationStatus {
    #[default]
    Accepted,
    Pending,
    Rejected,
}

impl RegistrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Accepted => "Accepted",
            RegistrationStatus::Pending => "Pending",
            RegistrationStatus::Rejected => "Rejected",
        }
    }
}

/// What a BootNotification tells us about the hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    pub vendor: String,
    pub model: String,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub reason: Option<String>,
    pub booted_at: Timestamp,
    /// What the CSMS answered this boot; decided by the charger service
    /// from the station's [`Approval`]. Boots recorded before the answer
    /// was kept were all answered `Accepted`.
    pub registration: RegistrationStatus,
}

/// Status of one connector. OCPP 1.6 connector N is stored as EVSE N, connector N
/// (before that rule: connector 1; [`StationView::connectors_as_shown`] reads both);
/// 1.6 connector 0 (the whole station) as EVSE 0, connector 0.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub connection_id: String,
    pub station_id: StationId,
    pub org_id: OrgId,
    /// Copied from the station at connect time, so that every message can
    /// stamp its tenancy (sessions carry org and site) without a station read.
    pub site_id: Option<SiteId>,
    pub ocpp_version: OcppVersion,
    pub connected_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The station's approval, copied at connect time and kept current by
    /// the API, so that every message is checked against it without a
    /// station read: while it is not `Accepted` the station may send only
    /// its BootNotification (and what the CSMS asked it for).
    pub approval: Approval,
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

    /// The connector statuses as the API shows them. A 1.6 station has one
    /// connector per EVSE, numbered as the charger numbers it (EVSE N,
    /// connector N); statuses stored under the earlier rule (EVSE N,
    /// connector 1) are renumbered, and of two for one EVSE the newer wins.
    /// Sorted by EVSE, then connector.
    pub fn connectors_as_shown(&self) -> Vec<ConnectorStatus> {
        let mut out: Vec<ConnectorStatus> = Vec::with_capacity(self.connectors.len());
        let v16 = self.station.ocpp_version == Some(OcppVersion::V16);
        for c in &self.connectors {
            let mut c = c.clone();
            if v16 {
                c.connector_id = c.evse_id;
            }
            match out
                .iter_mut()
                .find(|o| o.evse_id == c.evse_id && o.connector_id == c.connector_id)
            {
                Some(o) if o.updated_at < c.updated_at => *o = c,
                Some(_) => {}
                None => out.push(c),
            }
        }
        out.sort_by_key(|c| (c.evse_id, c.connector_id));
        out
    }

    pub fn last_seen_at(&self) -> Option<Timestamp> {
        match (&self.connection, self.station.last_seen_at) {
            (Some(c), Some(s)) => Some(c.last_seen_at.max(s)),
            (Some(c), None) => Some(c.last_seen_at),
            (None, s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(evse_id: u32, connector_id: u32, status: &str, minute: u32) -> ConnectorStatus {
        ConnectorStatus {
            evse_id,
            connector_id,
            status: status.into(),
            error_code: None,
            info: None,
            updated_at: format!("2026-12-05T08:{minute:02}:00Z").parse().unwrap(),
        }
    }

    fn view(version: OcppVersion, connectors: Vec<ConnectorStatus>) -> StationView {
        StationView {
            station: Station {
                id: StationId::parse("CP-1").unwrap(),
                org_id: OrgId::default_org(),
                site_id: None,
                name: None,
                password_hash: None,
                created_at: "2026-12-05T08:00:00Z".parse().unwrap(),
                boot: None,
                ocpp_version: Some(version),
                connection_id: None,
                last_seen_at: None,
                approval: Approval::Accepted,
            },
            connectors,
            connection: None,
        }
    }

    fn shown(v: &StationView) -> Vec<(u32, u32, String)> {
        v.connectors_as_shown()
            .into_iter()
            .map(|c| (c.evse_id, c.connector_id, c.status))
            .collect()
    }

    #[test]
    fn a_v16_connector_is_shown_with_its_own_number_and_old_records_are_renumbered() {
        let v = view(
            OcppVersion::V16,
            vec![
                status(0, 0, "Available", 1),
                // Stored before the rule (connector 1), then again under it.
                status(2, 1, "Charging", 2),
                status(2, 2, "Available", 3),
                status(3, 1, "Faulted", 5),
                status(3, 3, "Available", 4),
                status(1, 1, "Preparing", 1),
            ],
        );
        assert_eq!(
            shown(&v),
            vec![
                (0, 0, "Available".into()),
                (1, 1, "Preparing".into()),
                (2, 2, "Available".into()),
                (3, 3, "Faulted".into()),
            ]
        );
    }

    #[test]
    fn a_v201_station_keeps_its_evse_and_connector() {
        let v = view(
            OcppVersion::V201,
            vec![status(2, 1, "Occupied", 1), status(2, 2, "Available", 2)],
        );
        assert_eq!(
            shown(&v),
            vec![(2, 1, "Occupied".into()), (2, 2, "Available".into())]
        );
    }
}
