//! A site's load balancing as stored: the operator's configuration
//! ([`StoredLoadSite`]) and the balancer's state ([`StoredLoadState`]),
//! including the engine's own values the state keeps (why an EVSE got what
//! it got, whether a car runs or waits, PV phase switching).
//!
//! A field missing from an old record reads as the default the domain had
//! when the field was added (a fuse margin of 2 A, 230 V, …): those defaults
//! are part of the stored format, so they are spelled out here.

use crate::{parse, try_all, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::load::{
    Allocated, ChargingNeed, EvseLoadState, GridMeterConfig, GridReading, HeldLimit, LoadBoard,
    LoadConfig, LoadEvse, LoadMode, LoadSite, LoadState, Measured, MeasuredPower, NeedSource,
    PhaseAmps, PlannedSession, PvConfig, RecomputeLease, SentLimit, SentStatus, SitePlan,
    StationLoadState,
};
use csms_domain::{OrgId, SiteId, StationId};
use csms_energy::{
    BoardId, ChargeState, Limit, Node, PauseCause, Phase, Phases, PvState, Reason, Rotation,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---- the configuration ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLoadSite {
    #[serde(rename = "siteId")]
    pub site_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "config")]
    pub config: StoredLoadConfig,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPhaseAmps {
    #[serde(rename = "l1")]
    pub l1: Decimal,
    #[serde(rename = "l2")]
    pub l2: Decimal,
    #[serde(rename = "l3")]
    pub l3: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredLoadMode {
    #[serde(rename = "static")]
    Static,
    #[serde(rename = "dynamic")]
    Dynamic,
    #[serde(rename = "trueDynamic")]
    TrueDynamic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLoadConfig {
    #[serde(rename = "gridFuseA")]
    pub grid_fuse_a: StoredPhaseAmps,
    #[serde(rename = "mode")]
    pub mode: StoredLoadMode,
    #[serde(rename = "marginA", default = "two_amps")]
    pub margin_a: Decimal,
    #[serde(rename = "headroomA", default = "two_amps")]
    pub headroom_a: Decimal,
    #[serde(rename = "settleSeconds", default = "sixty")]
    pub settle_seconds: u32,
    #[serde(rename = "powerCapW", default, skip_serializing_if = "Option::is_none")]
    pub power_cap_w: Option<u32>,
    #[serde(rename = "voltage", default = "volts")]
    pub voltage: u32,
    #[serde(rename = "rotationSeconds", default = "rotation_seconds")]
    pub rotation_seconds: u32,
    #[serde(rename = "boards", default)]
    pub boards: Vec<StoredLoadBoard>,
    #[serde(rename = "meter", default, skip_serializing_if = "Option::is_none")]
    pub meter: Option<StoredGridMeterConfig>,
    #[serde(rename = "evses")]
    pub evses: Vec<StoredLoadEvse>,
    #[serde(
        rename = "groupPriorities",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub group_priorities: BTreeMap<String, u8>,
    #[serde(rename = "pv", default)]
    pub pv: StoredPvConfig,
    #[serde(
        rename = "biddingZone",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bidding_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLoadBoard {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "parent", default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(rename = "fuseA")]
    pub fuse_a: StoredPhaseAmps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGridMeterConfig {
    #[serde(rename = "stationId", default, skip_serializing_if = "Option::is_none")]
    pub station_id: Option<String>,
    #[serde(rename = "staleAfterSeconds", default = "stale_after_seconds")]
    pub stale_after_seconds: u32,
    #[serde(rename = "fallbackA", default = "six_amps")]
    pub fallback_a: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLoadEvse {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "evseId")]
    pub evse_id: u32,
    #[serde(rename = "board", default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
    #[serde(rename = "phases", default = "three")]
    pub phases: u8,
    #[serde(rename = "rotation", default)]
    pub rotation: StoredRotation,
    #[serde(rename = "maxA")]
    pub max_a: Decimal,
    #[serde(rename = "minA", default = "six_amps")]
    pub min_a: Decimal,
    #[serde(rename = "priority", default)]
    pub priority: u8,
    #[serde(
        rename = "pvSurplus",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub pv_surplus: bool,
    #[serde(
        rename = "phaseSwitching",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub phase_switching: bool,
}

/// Which grid phase each of an EVSE's L1/L2/L3 lands on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRotation {
    #[default]
    #[serde(rename = "L1L2L3")]
    L1L2L3,
    #[serde(rename = "L1L3L2")]
    L1L3L2,
    #[serde(rename = "L2L1L3")]
    L2L1L3,
    #[serde(rename = "L2L3L1")]
    L2L3L1,
    #[serde(rename = "L3L1L2")]
    L3L1L2,
    #[serde(rename = "L3L2L1")]
    L3L2L1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPvConfig {
    #[serde(rename = "hysteresisW", default = "five_minutes_or_300_w")]
    pub hysteresis_w: u32,
    #[serde(rename = "minSwitchSeconds", default = "five_minutes_or_300_w")]
    pub min_switch_seconds: u32,
}

impl Default for StoredPvConfig {
    fn default() -> Self {
        StoredPvConfig {
            hysteresis_w: five_minutes_or_300_w(),
            min_switch_seconds: five_minutes_or_300_w(),
        }
    }
}

fn two_amps() -> Decimal {
    Decimal::from(2)
}

fn six_amps() -> Decimal {
    Decimal::from(6)
}

fn sixty() -> u32 {
    60
}

fn volts() -> u32 {
    230
}

fn rotation_seconds() -> u32 {
    900
}

fn stale_after_seconds() -> u32 {
    120
}

fn three() -> u8 {
    3
}

/// PV switching's hysteresis (W) and least time between switches (s) both
/// default to 300.
fn five_minutes_or_300_w() -> u32 {
    300
}

// ---- the state ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLoadState {
    #[serde(rename = "siteId")]
    pub site_id: String,
    #[serde(
        rename = "requestedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "computedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub computed_at: Option<DateTime<Utc>>,
    #[serde(rename = "configVersion", default)]
    pub config_version: u64,
    #[serde(rename = "grid", default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<StoredReading>,
    #[serde(
        rename = "buildingLoadA",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub building_load_a: Option<StoredPhaseAmps>,
    #[serde(rename = "warnings", default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(rename = "evses", default)]
    pub evses: Vec<StoredEvseLoadState>,
    #[serde(rename = "stations", default, skip_serializing_if = "Vec::is_empty")]
    pub stations: Vec<StoredStationLoadState>,
    #[serde(rename = "plan", default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<StoredSitePlan>,
    #[serde(rename = "lease", default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<StoredRecomputeLease>,
    /// Absent in states stored before load alarms.
    #[serde(rename = "alarms", default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    #[serde(rename = "version")]
    pub version: u64,
}

/// A reading of per-phase currents: the grid meter's, or what a charger
/// reported an EVSE draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReading {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "currentA")]
    pub current_a: StoredPhaseAmps,
}

/// A power reading: when, and how many watts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPower {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "w")]
    pub watts: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvseLoadState {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "evseId")]
    pub evse_id: u32,
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    #[serde(rename = "charge", default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<StoredChargeState>,
    #[serde(rename = "measured", default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<StoredReading>,
    /// Absent in states stored before power was compared, or when the
    /// charger reports none.
    #[serde(
        rename = "measuredPower",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub measured_power: Option<StoredPower>,
    #[serde(rename = "soc", default, skip_serializing_if = "Option::is_none")]
    pub soc: Option<Decimal>,
    #[serde(
        rename = "allocation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allocation: Option<StoredAllocated>,
    #[serde(rename = "profile", default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<StoredSentLimit>,
    #[serde(
        rename = "defaultProfile",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_profile: Option<StoredSentLimit>,
    #[serde(rename = "pv", default, skip_serializing_if = "Option::is_none")]
    pub pv: Option<StoredPvState>,
    #[serde(rename = "need", default, skip_serializing_if = "Option::is_none")]
    pub need: Option<StoredChargingNeed>,
    /// Absent while the EVSE complies with its profile, and in states
    /// stored before the rule existed.
    #[serde(
        rename = "overLimitSince",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub over_limit_since: Option<DateTime<Utc>>,
}

/// Running or paused since a moment in engine time (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "since")]
pub enum StoredChargeState {
    #[serde(rename = "running")]
    Running(i64),
    #[serde(rename = "paused")]
    Paused(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAllocated {
    #[serde(rename = "currentA")]
    pub current_a: Decimal,
    #[serde(rename = "phases")]
    pub phases: u8,
    #[serde(rename = "reason")]
    pub reason: StoredReason,
    #[serde(rename = "explanation")]
    pub explanation: String,
}

/// Why the engine gave an EVSE what it gave. The paused reason's fields have
/// always been stored in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredReason {
    #[serde(rename = "fairShare")]
    FairShare {
        #[serde(rename = "limit")]
        limit: StoredLimit,
    },
    #[serde(rename = "evseMax")]
    EvseMax,
    #[serde(rename = "demand")]
    Demand,
    #[serde(rename = "pvSurplus")]
    PvSurplus,
    #[serde(rename = "planned")]
    Planned,
    #[serde(rename = "paused")]
    Paused {
        #[serde(rename = "cause")]
        cause: StoredPauseCause,
        #[serde(rename = "waiting_since")]
        waiting_since: i64,
        #[serde(rename = "rotation_due", default)]
        rotation_due: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredLimit {
    #[serde(rename = "fuse")]
    Fuse {
        #[serde(rename = "node")]
        node: StoredNode,
        #[serde(rename = "phase")]
        phase: StoredPhase,
    },
    #[serde(rename = "powerCap")]
    PowerCap,
}

/// The grid connection, or a distribution board by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id")]
pub enum StoredNode {
    #[serde(rename = "grid")]
    Grid,
    #[serde(rename = "board")]
    Board(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredPhase {
    #[serde(rename = "L1")]
    L1,
    #[serde(rename = "L2")]
    L2,
    #[serde(rename = "L3")]
    L3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredPauseCause {
    #[serde(rename = "limit")]
    Limit {
        #[serde(rename = "limit")]
        limit: StoredLimit,
    },
    #[serde(rename = "pvSurplus")]
    PvSurplus,
    #[serde(rename = "planned")]
    Planned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSentLimit {
    #[serde(rename = "limitA")]
    pub limit_a: Decimal,
    #[serde(rename = "phases")]
    pub phases: u8,
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    #[serde(rename = "commandId")]
    pub command_id: String,
    #[serde(rename = "status")]
    pub status: StoredSentStatus,
    #[serde(rename = "sentAt")]
    pub sent_at: DateTime<Utc>,
    #[serde(rename = "before", default, skip_serializing_if = "Option::is_none")]
    pub before: Option<StoredHeldLimit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredSentStatus {
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "accepted")]
    Accepted,
    #[serde(rename = "failed")]
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHeldLimit {
    #[serde(rename = "limitA")]
    pub limit_a: Decimal,
    #[serde(rename = "phases")]
    pub phases: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPvState {
    #[serde(rename = "phases")]
    pub phases: StoredPhases,
    #[serde(rename = "lastSwitch", default)]
    pub last_switch: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredPhases {
    #[serde(rename = "One")]
    One,
    #[serde(rename = "Three")]
    Three,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChargingNeed {
    #[serde(rename = "source")]
    pub source: StoredNeedSource,
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    #[serde(rename = "energyWh", default, skip_serializing_if = "Option::is_none")]
    pub energy_wh: Option<Decimal>,
    #[serde(rename = "targetSoc", default, skip_serializing_if = "Option::is_none")]
    pub target_soc: Option<Decimal>,
    #[serde(rename = "batteryWh", default, skip_serializing_if = "Option::is_none")]
    pub battery_wh: Option<Decimal>,
    #[serde(rename = "soc", default, skip_serializing_if = "Option::is_none")]
    pub soc: Option<Decimal>,
    #[serde(
        rename = "departureAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub departure_at: Option<DateTime<Utc>>,
    #[serde(rename = "carMaxA", default, skip_serializing_if = "Option::is_none")]
    pub car_max_a: Option<Decimal>,
    #[serde(rename = "setAt")]
    pub set_at: DateTime<Utc>,
    #[serde(rename = "baseWh", default, skip_serializing_if = "Option::is_none")]
    pub base_wh: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredNeedSource {
    #[serde(rename = "driver")]
    Driver,
    #[serde(rename = "iso15118")]
    Iso15118,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStationLoadState {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "maxProfile")]
    pub max_profile: StoredSentLimit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSitePlan {
    #[serde(rename = "madeAt")]
    pub made_at: DateTime<Utc>,
    #[serde(rename = "start")]
    pub start: DateTime<Utc>,
    #[serde(rename = "slotMinutes")]
    pub slot_minutes: u32,
    #[serde(rename = "biddingZone")]
    pub bidding_zone: String,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "prices")]
    pub prices: Vec<Decimal>,
    #[serde(rename = "sessions")]
    pub sessions: Vec<StoredPlannedSession>,
    #[serde(rename = "configVersion")]
    pub config_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPlannedSession {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "evseId")]
    pub evse_id: u32,
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    #[serde(rename = "departureAt")]
    pub departure_at: DateTime<Utc>,
    #[serde(rename = "needWh")]
    pub need_wh: Decimal,
    #[serde(rename = "phases")]
    pub phases: u8,
    #[serde(rename = "currentsA")]
    pub currents_a: Vec<Decimal>,
    #[serde(rename = "plannedWh")]
    pub planned_wh: Decimal,
    #[serde(rename = "unmetWh")]
    pub unmet_wh: Decimal,
    #[serde(rename = "unmet", default, skip_serializing_if = "Option::is_none")]
    pub unmet: Option<String>,
    #[serde(rename = "cost")]
    pub cost: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecomputeLease {
    #[serde(rename = "holder")]
    pub holder: String,
    #[serde(rename = "until")]
    pub until: DateTime<Utc>,
}

// ---- domain → stored ----

fn station_text(id: &StationId) -> String {
    id.as_str().to_owned()
}

impl From<&LoadSite> for StoredLoadSite {
    fn from(s: &LoadSite) -> Self {
        let LoadSite {
            site_id,
            org_id,
            config,
            updated_at,
            version,
        } = s;
        StoredLoadSite {
            site_id: site_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            config: config.into(),
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl From<PhaseAmps> for StoredPhaseAmps {
    fn from(p: PhaseAmps) -> Self {
        let PhaseAmps { l1, l2, l3 } = p;
        StoredPhaseAmps { l1, l2, l3 }
    }
}

impl From<&LoadConfig> for StoredLoadConfig {
    fn from(c: &LoadConfig) -> Self {
        let LoadConfig {
            grid_fuse_a,
            mode,
            margin_a,
            headroom_a,
            settle_seconds,
            power_cap_w,
            voltage,
            rotation_seconds,
            boards,
            meter,
            evses,
            group_priorities,
            pv,
            bidding_zone,
        } = c;
        StoredLoadConfig {
            grid_fuse_a: (*grid_fuse_a).into(),
            mode: match mode {
                LoadMode::Static => StoredLoadMode::Static,
                LoadMode::Dynamic => StoredLoadMode::Dynamic,
                LoadMode::TrueDynamic => StoredLoadMode::TrueDynamic,
            },
            margin_a: *margin_a,
            headroom_a: *headroom_a,
            settle_seconds: *settle_seconds,
            power_cap_w: *power_cap_w,
            voltage: *voltage,
            rotation_seconds: *rotation_seconds,
            boards: boards
                .iter()
                .map(|LoadBoard { id, parent, fuse_a }| StoredLoadBoard {
                    id: id.clone(),
                    parent: parent.clone(),
                    fuse_a: (*fuse_a).into(),
                })
                .collect(),
            meter: meter.as_ref().map(
                |GridMeterConfig {
                     station_id,
                     stale_after_seconds,
                     fallback_a,
                 }| StoredGridMeterConfig {
                    station_id: station_id.as_ref().map(station_text),
                    stale_after_seconds: *stale_after_seconds,
                    fallback_a: *fallback_a,
                },
            ),
            evses: evses.iter().map(Into::into).collect(),
            group_priorities: group_priorities.clone(),
            pv: {
                let PvConfig {
                    hysteresis_w,
                    min_switch_seconds,
                } = *pv;
                StoredPvConfig {
                    hysteresis_w,
                    min_switch_seconds,
                }
            },
            bidding_zone: bidding_zone.clone(),
        }
    }
}

impl From<&LoadEvse> for StoredLoadEvse {
    fn from(e: &LoadEvse) -> Self {
        let LoadEvse {
            station_id,
            evse_id,
            board,
            phases,
            rotation,
            max_a,
            min_a,
            priority,
            pv_surplus,
            phase_switching,
        } = e;
        StoredLoadEvse {
            station_id: station_text(station_id),
            evse_id: *evse_id,
            board: board.clone(),
            phases: *phases,
            rotation: (*rotation).into(),
            max_a: *max_a,
            min_a: *min_a,
            priority: *priority,
            pv_surplus: *pv_surplus,
            phase_switching: *phase_switching,
        }
    }
}

impl From<Rotation> for StoredRotation {
    fn from(r: Rotation) -> Self {
        match r {
            Rotation::L1L2L3 => StoredRotation::L1L2L3,
            Rotation::L1L3L2 => StoredRotation::L1L3L2,
            Rotation::L2L1L3 => StoredRotation::L2L1L3,
            Rotation::L2L3L1 => StoredRotation::L2L3L1,
            Rotation::L3L1L2 => StoredRotation::L3L1L2,
            Rotation::L3L2L1 => StoredRotation::L3L2L1,
        }
    }
}

impl From<&LoadState> for StoredLoadState {
    fn from(s: &LoadState) -> Self {
        let LoadState {
            site_id,
            requested_at,
            computed_at,
            config_version,
            grid,
            building_load_a,
            warnings,
            evses,
            stations,
            plan,
            lease,
            alarms,
            version,
        } = s;
        StoredLoadState {
            site_id: site_id.as_str().to_owned(),
            requested_at: *requested_at,
            computed_at: *computed_at,
            config_version: *config_version,
            grid: grid.map(|GridReading { at, current_a }| StoredReading {
                at,
                current_a: current_a.into(),
            }),
            building_load_a: building_load_a.map(Into::into),
            warnings: warnings.clone(),
            evses: evses.iter().map(Into::into).collect(),
            stations: stations
                .iter()
                .map(
                    |StationLoadState {
                         station_id,
                         max_profile,
                     }| StoredStationLoadState {
                        station_id: station_text(station_id),
                        max_profile: max_profile.into(),
                    },
                )
                .collect(),
            plan: plan.as_ref().map(Into::into),
            lease: lease
                .as_ref()
                .map(|RecomputeLease { holder, until }| StoredRecomputeLease {
                    holder: holder.clone(),
                    until: *until,
                }),
            alarms: alarms.clone(),
            version: *version,
        }
    }
}

impl From<&EvseLoadState> for StoredEvseLoadState {
    fn from(e: &EvseLoadState) -> Self {
        let EvseLoadState {
            station_id,
            evse_id,
            transaction_id,
            charge,
            measured,
            measured_power,
            soc,
            allocation,
            profile,
            default_profile,
            pv,
            need,
            over_limit_since,
        } = e;
        StoredEvseLoadState {
            station_id: station_text(station_id),
            evse_id: *evse_id,
            transaction_id: transaction_id.clone(),
            charge: charge.map(|c| match c {
                ChargeState::Running(t) => StoredChargeState::Running(t.0),
                ChargeState::Paused(t) => StoredChargeState::Paused(t.0),
            }),
            measured: measured.map(|Measured { at, current_a }| StoredReading {
                at,
                current_a: current_a.into(),
            }),
            measured_power: measured_power
                .map(|MeasuredPower { at, watts }| StoredPower { at, watts }),
            soc: *soc,
            allocation: allocation.as_ref().map(
                |Allocated {
                     current_a,
                     phases,
                     reason,
                     explanation,
                 }| StoredAllocated {
                    current_a: *current_a,
                    phases: *phases,
                    reason: reason.into(),
                    explanation: explanation.clone(),
                },
            ),
            profile: profile.as_ref().map(Into::into),
            default_profile: default_profile.as_ref().map(Into::into),
            pv: pv.map(
                |PvState {
                     phases,
                     last_switch,
                 }| StoredPvState {
                    phases: match phases {
                        Phases::One => StoredPhases::One,
                        Phases::Three => StoredPhases::Three,
                    },
                    last_switch: last_switch.map(|t| t.0),
                },
            ),
            need: need.as_ref().map(Into::into),
            over_limit_since: *over_limit_since,
        }
    }
}

impl From<&Reason> for StoredReason {
    fn from(r: &Reason) -> Self {
        match r {
            Reason::FairShare { limit } => StoredReason::FairShare {
                limit: limit.into(),
            },
            Reason::EvseMax => StoredReason::EvseMax,
            Reason::Demand => StoredReason::Demand,
            Reason::PvSurplus => StoredReason::PvSurplus,
            Reason::Planned => StoredReason::Planned,
            Reason::Paused {
                cause,
                waiting_since,
                rotation_due,
            } => StoredReason::Paused {
                cause: match cause {
                    PauseCause::Limit { limit } => StoredPauseCause::Limit {
                        limit: limit.into(),
                    },
                    PauseCause::PvSurplus => StoredPauseCause::PvSurplus,
                    PauseCause::Planned => StoredPauseCause::Planned,
                },
                waiting_since: waiting_since.0,
                rotation_due: rotation_due.map(|t| t.0),
            },
        }
    }
}

impl From<&Limit> for StoredLimit {
    fn from(l: &Limit) -> Self {
        match l {
            Limit::Fuse { node, phase } => StoredLimit::Fuse {
                node: match node {
                    Node::Grid => StoredNode::Grid,
                    Node::Board(b) => StoredNode::Board(b.as_str().to_owned()),
                },
                phase: match phase {
                    Phase::L1 => StoredPhase::L1,
                    Phase::L2 => StoredPhase::L2,
                    Phase::L3 => StoredPhase::L3,
                },
            },
            Limit::PowerCap => StoredLimit::PowerCap,
        }
    }
}

impl From<&SentLimit> for StoredSentLimit {
    fn from(s: &SentLimit) -> Self {
        let SentLimit {
            limit_a,
            phases,
            transaction_id,
            command_id,
            status,
            sent_at,
            before,
        } = s;
        StoredSentLimit {
            limit_a: *limit_a,
            phases: *phases,
            transaction_id: transaction_id.clone(),
            command_id: command_id.clone(),
            status: match status {
                SentStatus::Pending => StoredSentStatus::Pending,
                SentStatus::Accepted => StoredSentStatus::Accepted,
                SentStatus::Failed => StoredSentStatus::Failed,
            },
            sent_at: *sent_at,
            before: before.map(|HeldLimit { limit_a, phases }| StoredHeldLimit { limit_a, phases }),
        }
    }
}

impl From<&ChargingNeed> for StoredChargingNeed {
    fn from(n: &ChargingNeed) -> Self {
        let ChargingNeed {
            source,
            transaction_id,
            energy_wh,
            target_soc,
            battery_wh,
            soc,
            departure_at,
            car_max_a,
            set_at,
            base_wh,
        } = n;
        StoredChargingNeed {
            source: match source {
                NeedSource::Driver => StoredNeedSource::Driver,
                NeedSource::Iso15118 => StoredNeedSource::Iso15118,
            },
            transaction_id: transaction_id.clone(),
            energy_wh: *energy_wh,
            target_soc: *target_soc,
            battery_wh: *battery_wh,
            soc: *soc,
            departure_at: *departure_at,
            car_max_a: *car_max_a,
            set_at: *set_at,
            base_wh: *base_wh,
        }
    }
}

impl From<&SitePlan> for StoredSitePlan {
    fn from(p: &SitePlan) -> Self {
        let SitePlan {
            made_at,
            start,
            slot_minutes,
            bidding_zone,
            currency,
            prices,
            sessions,
            config_version,
        } = p;
        StoredSitePlan {
            made_at: *made_at,
            start: *start,
            slot_minutes: *slot_minutes,
            bidding_zone: bidding_zone.clone(),
            currency: currency.clone(),
            prices: prices.clone(),
            sessions: sessions.iter().map(Into::into).collect(),
            config_version: *config_version,
        }
    }
}

impl From<&PlannedSession> for StoredPlannedSession {
    fn from(s: &PlannedSession) -> Self {
        let PlannedSession {
            station_id,
            evse_id,
            transaction_id,
            departure_at,
            need_wh,
            phases,
            currents_a,
            planned_wh,
            unmet_wh,
            unmet,
            cost,
        } = s;
        StoredPlannedSession {
            station_id: station_text(station_id),
            evse_id: *evse_id,
            transaction_id: transaction_id.clone(),
            departure_at: *departure_at,
            need_wh: *need_wh,
            phases: *phases,
            currents_a: currents_a.clone(),
            planned_wh: *planned_wh,
            unmet_wh: *unmet_wh,
            unmet: unmet.clone(),
            cost: *cost,
        }
    }
}

// ---- stored → domain ----

fn station(s: String) -> Result<StationId, DecodeError> {
    parse("station id", s, StationId::parse)
}

fn engine_time(t: i64) -> csms_energy::Timestamp {
    csms_energy::Timestamp(t)
}

impl TryFrom<StoredLoadSite> for LoadSite {
    type Error = DecodeError;

    fn try_from(s: StoredLoadSite) -> Result<Self, DecodeError> {
        let StoredLoadSite {
            site_id,
            org_id,
            config,
            updated_at,
            version,
        } = s;
        Ok(LoadSite {
            site_id: parse("site id", site_id, SiteId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            config: config.try_into()?,
            updated_at,
            version,
        })
    }
}

impl From<StoredPhaseAmps> for PhaseAmps {
    fn from(p: StoredPhaseAmps) -> Self {
        let StoredPhaseAmps { l1, l2, l3 } = p;
        PhaseAmps { l1, l2, l3 }
    }
}

impl TryFrom<StoredLoadConfig> for LoadConfig {
    type Error = DecodeError;

    fn try_from(c: StoredLoadConfig) -> Result<Self, DecodeError> {
        let StoredLoadConfig {
            grid_fuse_a,
            mode,
            margin_a,
            headroom_a,
            settle_seconds,
            power_cap_w,
            voltage,
            rotation_seconds,
            boards,
            meter,
            evses,
            group_priorities,
            pv,
            bidding_zone,
        } = c;
        Ok(LoadConfig {
            grid_fuse_a: grid_fuse_a.into(),
            mode: match mode {
                StoredLoadMode::Static => LoadMode::Static,
                StoredLoadMode::Dynamic => LoadMode::Dynamic,
                StoredLoadMode::TrueDynamic => LoadMode::TrueDynamic,
            },
            margin_a,
            headroom_a,
            settle_seconds,
            power_cap_w,
            voltage,
            rotation_seconds,
            boards: boards
                .into_iter()
                .map(|StoredLoadBoard { id, parent, fuse_a }| LoadBoard {
                    id,
                    parent,
                    fuse_a: fuse_a.into(),
                })
                .collect(),
            meter: meter
                .map(
                    |StoredGridMeterConfig {
                         station_id,
                         stale_after_seconds,
                         fallback_a,
                     }| {
                        Ok::<_, DecodeError>(GridMeterConfig {
                            station_id: station_id.map(station).transpose()?,
                            stale_after_seconds,
                            fallback_a,
                        })
                    },
                )
                .transpose()?,
            evses: try_all(evses)?,
            group_priorities,
            pv: PvConfig {
                hysteresis_w: pv.hysteresis_w,
                min_switch_seconds: pv.min_switch_seconds,
            },
            bidding_zone,
        })
    }
}

impl TryFrom<StoredLoadEvse> for LoadEvse {
    type Error = DecodeError;

    fn try_from(e: StoredLoadEvse) -> Result<Self, DecodeError> {
        let StoredLoadEvse {
            station_id,
            evse_id,
            board,
            phases,
            rotation,
            max_a,
            min_a,
            priority,
            pv_surplus,
            phase_switching,
        } = e;
        Ok(LoadEvse {
            station_id: station(station_id)?,
            evse_id,
            board,
            phases,
            rotation: rotation.into(),
            max_a,
            min_a,
            priority,
            pv_surplus,
            phase_switching,
        })
    }
}

impl From<StoredRotation> for Rotation {
    fn from(r: StoredRotation) -> Self {
        match r {
            StoredRotation::L1L2L3 => Rotation::L1L2L3,
            StoredRotation::L1L3L2 => Rotation::L1L3L2,
            StoredRotation::L2L1L3 => Rotation::L2L1L3,
            StoredRotation::L2L3L1 => Rotation::L2L3L1,
            StoredRotation::L3L1L2 => Rotation::L3L1L2,
            StoredRotation::L3L2L1 => Rotation::L3L2L1,
        }
    }
}

impl TryFrom<StoredLoadState> for LoadState {
    type Error = DecodeError;

    fn try_from(s: StoredLoadState) -> Result<Self, DecodeError> {
        let StoredLoadState {
            site_id,
            requested_at,
            computed_at,
            config_version,
            grid,
            building_load_a,
            warnings,
            evses,
            stations,
            plan,
            lease,
            alarms,
            version,
        } = s;
        Ok(LoadState {
            site_id: parse("site id", site_id, SiteId::parse)?,
            requested_at,
            computed_at,
            config_version,
            grid: grid.map(|StoredReading { at, current_a }| GridReading {
                at,
                current_a: current_a.into(),
            }),
            building_load_a: building_load_a.map(Into::into),
            warnings,
            evses: try_all(evses)?,
            stations: stations
                .into_iter()
                .map(
                    |StoredStationLoadState {
                         station_id,
                         max_profile,
                     }| {
                        Ok(StationLoadState {
                            station_id: station(station_id)?,
                            max_profile: max_profile.into(),
                        })
                    },
                )
                .collect::<Result<_, DecodeError>>()?,
            plan: plan.map(TryInto::try_into).transpose()?,
            lease: lease
                .map(|StoredRecomputeLease { holder, until }| RecomputeLease { holder, until }),
            alarms,
            version,
        })
    }
}

impl TryFrom<StoredEvseLoadState> for EvseLoadState {
    type Error = DecodeError;

    fn try_from(e: StoredEvseLoadState) -> Result<Self, DecodeError> {
        let StoredEvseLoadState {
            station_id,
            evse_id,
            transaction_id,
            charge,
            measured,
            measured_power,
            soc,
            allocation,
            profile,
            default_profile,
            pv,
            need,
            over_limit_since,
        } = e;
        Ok(EvseLoadState {
            station_id: station(station_id)?,
            evse_id,
            transaction_id,
            charge: charge.map(|c| match c {
                StoredChargeState::Running(t) => ChargeState::Running(engine_time(t)),
                StoredChargeState::Paused(t) => ChargeState::Paused(engine_time(t)),
            }),
            measured: measured.map(|StoredReading { at, current_a }| Measured {
                at,
                current_a: current_a.into(),
            }),
            measured_power: measured_power
                .map(|StoredPower { at, watts }| MeasuredPower { at, watts }),
            soc,
            allocation: allocation
                .map(
                    |StoredAllocated {
                         current_a,
                         phases,
                         reason,
                         explanation,
                     }| {
                        Ok::<_, DecodeError>(Allocated {
                            current_a,
                            phases,
                            reason: reason.try_into()?,
                            explanation,
                        })
                    },
                )
                .transpose()?,
            profile: profile.map(Into::into),
            default_profile: default_profile.map(Into::into),
            pv: pv.map(
                |StoredPvState {
                     phases,
                     last_switch,
                 }| PvState {
                    phases: match phases {
                        StoredPhases::One => Phases::One,
                        StoredPhases::Three => Phases::Three,
                    },
                    last_switch: last_switch.map(engine_time),
                },
            ),
            need: need.map(Into::into),
            over_limit_since,
        })
    }
}

impl TryFrom<StoredReason> for Reason {
    type Error = DecodeError;

    fn try_from(r: StoredReason) -> Result<Self, DecodeError> {
        Ok(match r {
            StoredReason::FairShare { limit } => Reason::FairShare {
                limit: limit.try_into()?,
            },
            StoredReason::EvseMax => Reason::EvseMax,
            StoredReason::Demand => Reason::Demand,
            StoredReason::PvSurplus => Reason::PvSurplus,
            StoredReason::Planned => Reason::Planned,
            StoredReason::Paused {
                cause,
                waiting_since,
                rotation_due,
            } => Reason::Paused {
                cause: match cause {
                    StoredPauseCause::Limit { limit } => PauseCause::Limit {
                        limit: limit.try_into()?,
                    },
                    StoredPauseCause::PvSurplus => PauseCause::PvSurplus,
                    StoredPauseCause::Planned => PauseCause::Planned,
                },
                waiting_since: engine_time(waiting_since),
                rotation_due: rotation_due.map(engine_time),
            },
        })
    }
}

impl TryFrom<StoredLimit> for Limit {
    type Error = DecodeError;

    fn try_from(l: StoredLimit) -> Result<Self, DecodeError> {
        Ok(match l {
            StoredLimit::Fuse { node, phase } => Limit::Fuse {
                node: match node {
                    StoredNode::Grid => Node::Grid,
                    StoredNode::Board(b) => Node::Board(parse("board id", b, BoardId::parse)?),
                },
                phase: match phase {
                    StoredPhase::L1 => Phase::L1,
                    StoredPhase::L2 => Phase::L2,
                    StoredPhase::L3 => Phase::L3,
                },
            },
            StoredLimit::PowerCap => Limit::PowerCap,
        })
    }
}

impl From<StoredSentLimit> for SentLimit {
    fn from(s: StoredSentLimit) -> Self {
        let StoredSentLimit {
            limit_a,
            phases,
            transaction_id,
            command_id,
            status,
            sent_at,
            before,
        } = s;
        SentLimit {
            limit_a,
            phases,
            transaction_id,
            command_id,
            status: match status {
                StoredSentStatus::Pending => SentStatus::Pending,
                StoredSentStatus::Accepted => SentStatus::Accepted,
                StoredSentStatus::Failed => SentStatus::Failed,
            },
            sent_at,
            before: before.map(|StoredHeldLimit { limit_a, phases }| HeldLimit { limit_a, phases }),
        }
    }
}

impl From<StoredChargingNeed> for ChargingNeed {
    fn from(n: StoredChargingNeed) -> Self {
        let StoredChargingNeed {
            source,
            transaction_id,
            energy_wh,
            target_soc,
            battery_wh,
            soc,
            departure_at,
            car_max_a,
            set_at,
            base_wh,
        } = n;
        ChargingNeed {
            source: match source {
                StoredNeedSource::Driver => NeedSource::Driver,
                StoredNeedSource::Iso15118 => NeedSource::Iso15118,
            },
            transaction_id,
            energy_wh,
            target_soc,
            battery_wh,
            soc,
            departure_at,
            car_max_a,
            set_at,
            base_wh,
        }
    }
}

impl TryFrom<StoredSitePlan> for SitePlan {
    type Error = DecodeError;

    fn try_from(p: StoredSitePlan) -> Result<Self, DecodeError> {
        let StoredSitePlan {
            made_at,
            start,
            slot_minutes,
            bidding_zone,
            currency,
            prices,
            sessions,
            config_version,
        } = p;
        Ok(SitePlan {
            made_at,
            start,
            slot_minutes,
            bidding_zone,
            currency,
            prices,
            sessions: try_all(sessions)?,
            config_version,
        })
    }
}

impl TryFrom<StoredPlannedSession> for PlannedSession {
    type Error = DecodeError;

    fn try_from(s: StoredPlannedSession) -> Result<Self, DecodeError> {
        let StoredPlannedSession {
            station_id,
            evse_id,
            transaction_id,
            departure_at,
            need_wh,
            phases,
            currents_a,
            planned_wh,
            unmet_wh,
            unmet,
            cost,
        } = s;
        Ok(PlannedSession {
            station_id: station(station_id)?,
            evse_id,
            transaction_id,
            departure_at,
            need_wh,
            phases,
            currents_a,
            planned_wh,
            unmet_wh,
            unmet,
            cost,
        })
    }
}

impl Record for LoadSite {
    type Stored = StoredLoadSite;
}

impl Record for LoadState {
    type Stored = StoredLoadState;
}
