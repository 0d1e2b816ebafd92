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
    /// The password before the last rotation, still accepted until its
    /// `valid_until`, so a charger can be re-configured without a gap.
    pub previous_password: Option<PreviousPassword>,
    /// Taken out of service: connections are refused and nothing can be
    /// sent to it; its history stays. `None`: in service.
    pub decommissioned_at: Option<Timestamp>,
    /// When the station connected within the last hour, oldest first (at
    /// most [`RECENT_MAX`]): the evidence of flapping. Written with each
    /// connect ([`recent`]), not on its own.
    pub recent_connects: Vec<Timestamp>,
    /// The distinct source addresses the station connected from within the
    /// last week, each with its latest connect, oldest first (at most
    /// [`ADDRESSES_MAX`]): the evidence of `stationManyAddresses`. Written
    /// with each connect ([`recent_addresses`]), not on its own.
    pub recent_addresses: Vec<SeenAddress>,
}

/// A source address a station connected from, and when it last did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenAddress {
    /// An IPv4 address, or an IPv6 /64 (`2001:db8:1:2::/64`: one
    /// subscriber's network, where privacy addresses rotate).
    pub address: String,
    pub at: Timestamp,
}

/// How long a station keeps the addresses it connected from: the longest
/// window an organisation may choose.
pub const ADDRESSES_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// The most addresses a station keeps: more than the highest threshold
/// ([`crate::alarm::Limit::MANY_ADDRESSES`]), so that the evidence always
/// shows why.
pub const ADDRESSES_MAX: usize = 32;

/// `earlier` with `address` seen at `now`: the addresses seen within
/// [`ADDRESSES_KEPT`] before `now`, each once with its latest time, oldest
/// first, at most [`ADDRESSES_MAX`] (the oldest go). Without an address
/// (the source was not known) only the old ones go. A time after `now` (a
/// clock that jumped back) is dropped.
pub fn recent_addresses(
    earlier: &[SeenAddress],
    address: Option<&str>,
    now: Timestamp,
) -> Vec<SeenAddress> {
    let from = now - ADDRESSES_KEPT;
    let mut kept: Vec<SeenAddress> = earlier
        .iter()
        .filter(|a| a.at > from && a.at <= now && Some(a.address.as_str()) != address)
        .cloned()
        .collect();
    kept.sort_by_key(|a| a.at);
    if let Some(address) = address {
        kept.push(SeenAddress {
            address: address.to_owned(),
            at: now,
        });
    }
    let extra = kept.len().saturating_sub(ADDRESSES_MAX);
    kept.drain(..extra);
    kept
}

/// The most connects or boots a station keeps of its last hour: as many as
/// the highest threshold an organisation may choose
/// ([`crate::alarm::Churn::MAX_COUNT`]).
pub const RECENT_MAX: usize = crate::alarm::Churn::MAX_COUNT as usize;

/// `earlier` (connects or boots) with `now` added: those within the hour
/// before `now` (the longest window an organisation may choose), oldest
/// first, at most [`RECENT_MAX`]. A time after `now` (a clock that jumped
/// back) is dropped.
pub fn recent(earlier: &[Timestamp], now: Timestamp) -> Vec<Timestamp> {
    let from = now - chrono::TimeDelta::seconds(crate::alarm::Churn::MAX_WINDOW_SECS.into());
    let mut kept: Vec<Timestamp> = earlier
        .iter()
        .copied()
        .filter(|t| *t > from && *t <= now)
        .collect();
    kept.sort();
    kept.push(now);
    let extra = kept.len().saturating_sub(RECENT_MAX);
    kept.drain(..extra);
    kept
}

/// A station's password before the last rotation (argon2id PHC string) and
/// until when a charger may still connect with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPassword {
    pub hash: String,
    pub valid_until: Timestamp,
}

impl Station {
    /// The password hashes a connection at `now` may present: the current
    /// one, then the previous one while its grace period runs.
    pub fn password_hashes(&self, now: Timestamp) -> Vec<&str> {
        let mut hashes: Vec<&str> = self.password_hash.iter().map(String::as_str).collect();
        if let Some(p) = &self.previous_password {
            if now < p.valid_until {
                hashes.push(&p.hash);
            }
        }
        hashes
    }

    pub fn is_decommissioned(&self) -> bool {
        self.decommissioned_at.is_some()
    }
}

/// What an operator changes of a registered station in one write; `None`
/// leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationChange {
    /// `Some(None)` removes the name.
    pub name: Option<Option<String>>,
    /// Moves the station to another site of its organisation (`Some(None)`:
    /// to none). Sessions keep the site they happened at.
    pub site_id: Option<Option<SiteId>>,
    /// A new password (`None`: the station connects without Basic auth)
    /// and the old one's grace.
    pub password: Option<PasswordChange>,
    /// `Some(Some(at))` decommissions, `Some(None)` puts back in service.
    pub decommissioned_at: Option<Option<Timestamp>>,
}

/// A rotated password: the new hash, and the previous one while it may
/// still be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    pub hash: Option<String>,
    pub previous: Option<PreviousPassword>,
}

impl StationChange {
    pub fn is_empty(&self) -> bool {
        self == &StationChange::default()
    }

    /// `station` with this change made.
    pub fn apply(&self, station: &mut Station) {
        if let Some(name) = &self.name {
            station.name = name.clone();
        }
        if let Some(site) = &self.site_id {
            station.site_id = site.clone();
        }
        if let Some(p) = &self.password {
            station.password_hash = p.hash.clone();
            station.previous_password = p.previous.clone();
        }
        if let Some(d) = self.decommissioned_at {
            station.decommissioned_at = d;
        }
    }
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
    /// This boot and the station's boots within the hour before it, oldest
    /// first ([`recent`]): the evidence of a boot loop. Empty in boots
    /// recorded before they were counted.
    pub recent_boots: Vec<Timestamp>,
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
    /// When the two messages before the latest came (the connect's time
    /// stands in for those before the first): the touch shifts them along in
    /// the request it makes anyway, so the message-flood rule sees when a
    /// burst began without a request of its own. `None` before enough
    /// messages, and in connections stored before they were kept.
    pub previous_seen_at: Option<Timestamp>,
    pub second_previous_seen_at: Option<Timestamp>,
    /// The station's approval, copied at connect time and kept current by
    /// the API, so that every message is checked against it without a
    /// station read: while it is not `Accepted` the station may send only
    /// its BootNotification (and what the CSMS asked it for).
    pub approval: Approval,
    /// What the clock-drift rule last decided on this connection; `None`
    /// until a message gave evidence (the rule reads the thresholds and
    /// looks at the alarm once per connection, then only on a change).
    pub clock: Option<ClockCheck>,
    /// Messages on this connection so far: every message adds one in the
    /// request that touches the connection anyway.
    pub messages: u64,
    /// What the message-flood rule last decided on this connection; `None`
    /// until it had to write (its window starts at the connect).
    pub flood: Option<FloodCheck>,
}

/// The message-flood rule's state on a connection: where it counts from
/// (the window: from when, and [`Connection::messages`] before it, so that
/// every message after `window_base` came at or after `window_from`), the
/// later such marks it keeps (oldest first, at most
/// [`FloodCheck::MAX_MARKS`]), its decision (`None` while none) and the
/// organisation's limit once read (at most once per connection). Written
/// only when it changes: a new mark, a new decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FloodCheck {
    pub window_from: Timestamp,
    pub window_base: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<FloodMark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flooding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_window_secs: Option<u32>,
}

/// A point the message-flood rule counts from: every message after the
/// `base`th came at or after `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FloodMark {
    pub from: Timestamp,
    pub base: u64,
}

impl FloodCheck {
    /// Marks kept besides the window: with one every quarter of the limit,
    /// more than five within a window would have been a flood already.
    pub const MAX_MARKS: usize = 5;
}

/// The clock-drift rule's state on a connection: its decision (`None`
/// while no message decided) and the organisation's tolerance once read
/// (at most once per connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drifting: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_secs: Option<u32>,
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

    /// Whether EVSE `evse` is in use by a car: one of its connectors says
    /// it is charging (`Charging`, `SuspendedEV`, `SuspendedEVSE`) or has
    /// just finished with the car still plugged in (`Finishing`). A car
    /// plugged in and waiting (1.6 `Preparing`, 2.0.1 `Occupied`, which a
    /// 2.0.1 connector reports from the moment a cable is in) is not: that
    /// is the driver who is about to start.
    pub fn evse_in_use(&self, evse: u32) -> bool {
        self.connectors_as_shown().iter().any(|c| {
            c.evse_id == evse
                && matches!(
                    c.status.as_str(),
                    "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing"
                )
        })
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
    #[test]
    fn a_station_keeps_each_address_once_for_a_week_and_at_most_its_maximum() {
        use super::{recent_addresses, SeenAddress, ADDRESSES_MAX};
        use chrono::{TimeDelta, TimeZone, Utc};
        let t = |h: i64| Utc.timestamp_opt(1_790_000_000, 0).unwrap() + TimeDelta::hours(h);
        let a = recent_addresses(&[], Some("192.0.2.1"), t(0));
        let a = recent_addresses(&a, Some("192.0.2.2"), t(1));
        let a = recent_addresses(&a, Some("192.0.2.1"), t(2));
        assert_eq!(
            a,
            vec![
                SeenAddress {
                    address: "192.0.2.2".into(),
                    at: t(1)
                },
                SeenAddress {
                    address: "192.0.2.1".into(),
                    at: t(2)
                },
            ],
            "once each, by its latest connect"
        );
        assert_eq!(
            recent_addresses(&a, None, t(2)),
            a,
            "an unknown source adds nothing"
        );
        assert_eq!(
            recent_addresses(&a, None, t(1 + 7 * 24)).len(),
            1,
            "a week old is gone"
        );
        assert!(
            recent_addresses(&a, None, t(0)).is_empty(),
            "after now is dropped"
        );
        let mut many = Vec::new();
        for i in 0..40 {
            many = recent_addresses(&many, Some(&format!("198.51.100.{i}")), t(i));
        }
        assert_eq!(many.len(), ADDRESSES_MAX);
        assert_eq!(many[0].address, "198.51.100.8", "the oldest go");
    }

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

    #[test]
    fn recent_keeps_the_last_hour_oldest_first_and_at_most_the_highest_threshold() {
        let at = |s: i64| -> Timestamp {
            chrono::DateTime::from_timestamp(1_790_000_000 + s, 0).unwrap()
        };
        assert_eq!(recent(&[], at(0)), vec![at(0)]);
        // An hour ago and older are gone; a time after now (a clock jump) too.
        assert_eq!(
            recent(&[at(-3600), at(-3599), at(-10), at(5)], at(0)),
            vec![at(-3599), at(-10), at(0)]
        );
        assert_eq!(
            recent(&[at(-5), at(-20)], at(0)),
            vec![at(-20), at(-5), at(0)]
        );
        let many: Vec<Timestamp> = (0..80).map(|i| at(i - 100)).collect();
        let kept = recent(&many, at(0));
        assert_eq!(kept.len(), RECENT_MAX);
        assert_eq!(kept.last(), Some(&at(0)));
        assert_eq!(kept[0], at(-100 + 80 - (RECENT_MAX as i64 - 1)));
    }

    #[test]
    fn the_previous_password_is_accepted_only_in_its_grace_period() {
        let mut station = view(OcppVersion::V16, Vec::new()).station;
        let at = |h: u32| -> Timestamp { format!("2026-12-05T{h:02}:00:00Z").parse().unwrap() };
        assert!(station.password_hashes(at(9)).is_empty(), "no password");
        StationChange {
            password: Some(PasswordChange {
                hash: Some("new".into()),
                previous: Some(PreviousPassword {
                    hash: "old".into(),
                    valid_until: at(10),
                }),
            }),
            ..Default::default()
        }
        .apply(&mut station);
        assert_eq!(station.password_hashes(at(9)), ["new", "old"]);
        assert_eq!(station.password_hashes(at(10)), ["new"], "the grace ends");
        StationChange {
            name: Some(Some("Bay 1".into())),
            decommissioned_at: Some(Some(at(11))),
            ..Default::default()
        }
        .apply(&mut station);
        assert_eq!(station.name.as_deref(), Some("Bay 1"));
        assert_eq!(station.password_hash.as_deref(), Some("new"), "untouched");
        assert!(station.is_decommissioned());
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
                previous_password: None,
                decommissioned_at: None,
                recent_connects: Vec::new(),
                recent_addresses: Vec::new(),
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
