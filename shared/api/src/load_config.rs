//! The JSON form of a site's load-balancing configuration, both ways: the
//! body of `PUT /sites/{id}/load` and the `config` that `LoadSiteView`
//! echoes. One type serves both because the public shape is one (the
//! OpenAPI document describes it once, as `LoadConfig`).
//!
//! Kept apart from `csms_domain::load::LoadConfig` so that renaming a public
//! field never touches the domain (or what the stores keep), and the other
//! way round. The shape is today's exactly: names, optionality, defaults,
//! unknown fields refused. Values the domain parses at the edge (station ids,
//! rotations, decimals) are read by serde into those types, so a bad one is
//! refused by [`crate::util::json_body`] with its path (`evses[2].stationId:
//! …`); what is left is structure, so the conversions cannot fail. Whether
//! the configuration makes sense (fuses, minimums, stations on the site) is
//! the core's to check (`LoadService::configure`).
//!
//! The defaults are the API's (what a missing field means in a request);
//! the domain keeps its own for records stored before a field existed.

use csms_domain::load::{
    GridMeterConfig, LoadBoard, LoadConfig, LoadEvse, LoadMode, PhaseAmps, PvConfig,
};
use csms_domain::StationId;
use csms_energy::Rotation;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One value per phase, in amperes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(as = PhaseAmps)]
#[serde(deny_unknown_fields)]
pub struct PhaseAmpsJson {
    #[schema(value_type = f64)]
    pub l1: Decimal,
    #[schema(value_type = f64)]
    pub l2: Decimal,
    #[schema(value_type = f64)]
    pub l3: Decimal,
}

/// How the balancer learns how much of the fuse is free.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(as = LoadMode)]
#[serde(rename_all = "camelCase")]
pub enum LoadModeJson {
    /// The fuse is the chargers' alone.
    Static,
    /// A grid meter tells the building's own load.
    Dynamic,
    /// Dynamic, and what a car does not draw goes to the others.
    TrueDynamic,
}

/// A distribution board with its own per-phase fuse.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = LoadBoard)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBoardJson {
    pub id: String,
    /// Absent: fed from the grid connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Per grid phase.
    pub fuse_a: PhaseAmpsJson,
}

/// Where the grid meter's readings come from and what to do without them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = GridMeterConfig)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GridMeterJson {
    /// A meter station whose MeterValues (`Current.Import` per phase,
    /// outside a transaction) are the building's total; absent: readings
    /// arrive through `POST /sites/{id}/load/meter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub station_id: Option<StationId>,
    /// A reading older than this is stale.
    #[serde(default = "defaults::stale_after")]
    pub stale_after_seconds: u32,
    /// Without a fresh reading the chargers share this many amperes per
    /// phase, whatever the building does.
    #[serde(default = "defaults::fallback")]
    #[schema(value_type = f64)]
    pub fallback_a: Decimal,
}

/// One EVSE of the site as installed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = LoadEvse)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadEvseJson {
    #[schema(value_type = String)]
    pub station_id: StationId,
    /// 1.6 connector id / 2.0.1 EVSE id (1, 2, …).
    pub evse_id: u32,
    /// The board that feeds it; absent: the grid connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
    /// Phases wired: 1 or 3.
    #[serde(default = "defaults::phases")]
    pub phases: u8,
    /// Which grid phase each of the EVSE's L1/L2/L3 lands on.
    #[serde(default)]
    #[schema(value_type = String, example = "L1L2L3")]
    pub rotation: Rotation,
    #[schema(value_type = f64)]
    pub max_a: Decimal,
    #[serde(default = "defaults::min")]
    #[schema(value_type = f64)]
    pub min_a: Decimal,
    /// Higher is served first (0..=9).
    #[serde(default)]
    pub priority: u8,
    /// Charge only from solar surplus (what the grid meter shows exported,
    /// plus what this car already takes of it); needs a grid meter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pv_surplus: bool,
    /// The EVSE can switch a car between three phases and one (so that a
    /// small surplus still reaches the 6 A minimum on one phase).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phase_switching: bool,
}

/// How PV-surplus charging switches phases.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(as = PvConfig)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PvJson {
    /// Half-width, in watts, of the band around each switching threshold
    /// (≈ 4.1 kW: 6 A on three phases) in which nothing changes.
    #[serde(default = "defaults::hysteresis")]
    pub hysteresis_w: u32,
    /// Least time between two switches of one EVSE: each switch restarts
    /// the car's charger and wears the contactor.
    #[serde(default = "defaults::min_switch")]
    pub min_switch_seconds: u32,
}

impl Default for PvJson {
    fn default() -> Self {
        PvJson {
            hysteresis_w: defaults::hysteresis(),
            min_switch_seconds: defaults::min_switch(),
        }
    }
}

/// The operator's description of a site's electrical installation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = LoadConfig)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadConfigJson {
    /// The main fuse, per phase.
    pub grid_fuse_a: PhaseAmpsJson,
    pub mode: LoadModeJson,
    /// Dynamic modes: amperes per phase kept free for building load that
    /// rises between two meter readings.
    #[serde(default = "defaults::margin")]
    #[schema(value_type = f64)]
    pub margin_a: Decimal,
    /// Truly dynamic mode: a car is capped at its measured draw plus this.
    #[serde(default = "defaults::margin")]
    #[schema(value_type = f64)]
    pub headroom_a: Decimal,
    /// Truly dynamic mode: a car's draw counts only after it has run this long.
    #[serde(default = "defaults::settle")]
    pub settle_seconds: u32,
    /// Peak shaving: total import stays at or below this many watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_cap_w: Option<u32>,
    #[serde(default = "defaults::voltage")]
    pub voltage: u32,
    /// How long a car charges before a paused one of the same priority
    /// gets its turn, when not everybody's minimum fits.
    #[serde(default = "defaults::rotation")]
    pub rotation_seconds: u32,
    #[serde(default)]
    pub boards: Vec<LoadBoardJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter: Option<GridMeterJson>,
    pub evses: Vec<LoadEvseJson>,
    /// Priority by the driver's (or the vehicle's) identifier group: a
    /// session whose id token is in a group listed here charges at least
    /// at that priority (0..=9), whatever its EVSE's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_priorities: BTreeMap<String, u8>,
    /// PV-surplus charging's switching rules.
    #[serde(default)]
    pub pv: PvJson,
    /// Bidding zone (`SE3`, …) whose spot prices the plans use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bidding_zone: Option<String>,
}

/// What a field left out of a request means.
mod defaults {
    use csms_domain::load::{LoadConfig, LoadEvse};
    use rust_decimal::Decimal;

    pub fn stale_after() -> u32 {
        120
    }

    pub fn fallback() -> Decimal {
        Decimal::from(6)
    }

    pub fn phases() -> u8 {
        3
    }

    pub fn min() -> Decimal {
        LoadEvse::DEFAULT_MIN_A
    }

    pub fn hysteresis() -> u32 {
        300
    }

    pub fn min_switch() -> u32 {
        300
    }

    pub fn margin() -> Decimal {
        LoadConfig::DEFAULT_MARGIN_A
    }

    pub fn settle() -> u32 {
        LoadConfig::DEFAULT_SETTLE_SECONDS
    }

    pub fn voltage() -> u32 {
        LoadConfig::DEFAULT_VOLTAGE
    }

    pub fn rotation() -> u32 {
        LoadConfig::DEFAULT_ROTATION_SECONDS
    }
}

// ---------------------------------------------------------------- request → domain

impl From<PhaseAmpsJson> for PhaseAmps {
    fn from(p: PhaseAmpsJson) -> Self {
        PhaseAmps {
            l1: p.l1,
            l2: p.l2,
            l3: p.l3,
        }
    }
}

impl From<LoadModeJson> for LoadMode {
    fn from(m: LoadModeJson) -> Self {
        match m {
            LoadModeJson::Static => LoadMode::Static,
            LoadModeJson::Dynamic => LoadMode::Dynamic,
            LoadModeJson::TrueDynamic => LoadMode::TrueDynamic,
        }
    }
}

impl From<LoadConfigJson> for LoadConfig {
    fn from(c: LoadConfigJson) -> Self {
        LoadConfig {
            grid_fuse_a: c.grid_fuse_a.into(),
            mode: c.mode.into(),
            margin_a: c.margin_a,
            headroom_a: c.headroom_a,
            settle_seconds: c.settle_seconds,
            power_cap_w: c.power_cap_w,
            voltage: c.voltage,
            rotation_seconds: c.rotation_seconds,
            boards: c
                .boards
                .into_iter()
                .map(|b| LoadBoard {
                    id: b.id,
                    parent: b.parent,
                    fuse_a: b.fuse_a.into(),
                })
                .collect(),
            meter: c.meter.map(|m| GridMeterConfig {
                station_id: m.station_id,
                stale_after_seconds: m.stale_after_seconds,
                fallback_a: m.fallback_a,
            }),
            evses: c
                .evses
                .into_iter()
                .map(|e| LoadEvse {
                    station_id: e.station_id,
                    evse_id: e.evse_id,
                    board: e.board,
                    phases: e.phases,
                    rotation: e.rotation,
                    max_a: e.max_a,
                    min_a: e.min_a,
                    priority: e.priority,
                    pv_surplus: e.pv_surplus,
                    phase_switching: e.phase_switching,
                })
                .collect(),
            group_priorities: c.group_priorities,
            pv: PvConfig {
                hysteresis_w: c.pv.hysteresis_w,
                min_switch_seconds: c.pv.min_switch_seconds,
            },
            bidding_zone: c.bidding_zone,
        }
    }
}

// ---------------------------------------------------------------- domain → view

impl From<PhaseAmps> for PhaseAmpsJson {
    fn from(p: PhaseAmps) -> Self {
        PhaseAmpsJson {
            l1: p.l1,
            l2: p.l2,
            l3: p.l3,
        }
    }
}

impl From<LoadMode> for LoadModeJson {
    fn from(m: LoadMode) -> Self {
        match m {
            LoadMode::Static => LoadModeJson::Static,
            LoadMode::Dynamic => LoadModeJson::Dynamic,
            LoadMode::TrueDynamic => LoadModeJson::TrueDynamic,
        }
    }
}

impl From<&LoadConfig> for LoadConfigJson {
    fn from(c: &LoadConfig) -> Self {
        LoadConfigJson {
            grid_fuse_a: c.grid_fuse_a.into(),
            mode: c.mode.into(),
            margin_a: c.margin_a,
            headroom_a: c.headroom_a,
            settle_seconds: c.settle_seconds,
            power_cap_w: c.power_cap_w,
            voltage: c.voltage,
            rotation_seconds: c.rotation_seconds,
            boards: c
                .boards
                .iter()
                .map(|b| LoadBoardJson {
                    id: b.id.clone(),
                    parent: b.parent.clone(),
                    fuse_a: b.fuse_a.into(),
                })
                .collect(),
            meter: c.meter.as_ref().map(|m| GridMeterJson {
                station_id: m.station_id.clone(),
                stale_after_seconds: m.stale_after_seconds,
                fallback_a: m.fallback_a,
            }),
            evses: c
                .evses
                .iter()
                .map(|e| LoadEvseJson {
                    station_id: e.station_id.clone(),
                    evse_id: e.evse_id,
                    board: e.board.clone(),
                    phases: e.phases,
                    rotation: e.rotation,
                    max_a: e.max_a,
                    min_a: e.min_a,
                    priority: e.priority,
                    pv_surplus: e.pv_surplus,
                    phase_switching: e.phase_switching,
                })
                .collect(),
            group_priorities: c.group_priorities.clone(),
            pv: PvJson {
                hysteresis_w: c.pv.hysteresis_w,
                min_switch_seconds: c.pv.min_switch_seconds,
            },
            bidding_zone: c.bidding_zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A configuration with every field set, each to something other than
    /// its default.
    fn full() -> serde_json::Value {
        json!({
            "gridFuseA": {"l1": "63", "l2": "63", "l3": "50"},
            "mode": "trueDynamic",
            "marginA": "3",
            "headroomA": "1.5",
            "settleSeconds": 30,
            "powerCapW": 40000,
            "voltage": 240,
            "rotationSeconds": 600,
            "boards": [{"id": "B1", "parent": "B0", "fuseA": {"l1": "32", "l2": "32", "l3": "32"}}],
            "meter": {"stationId": "METER-1", "staleAfterSeconds": 60, "fallbackA": "8"},
            "evses": [{
                "stationId": "CP-1", "evseId": 2, "board": "B1", "phases": 1, "rotation": "L2L3L1",
                "maxA": "16", "minA": "7", "priority": 5, "pvSurplus": true, "phaseSwitching": true
            }],
            "groupPriorities": {"staff": 9},
            "pv": {"hysteresisW": 200, "minSwitchSeconds": 120},
            "biddingZone": "SE3"
        })
    }

    #[test]
    fn a_full_configuration_comes_back_as_it_was_sent() {
        let body = full();
        let config: LoadConfig = serde_json::from_value::<LoadConfigJson>(body.clone())
            .unwrap()
            .into();
        assert_eq!(config.evses[0].rotation, Rotation::L2L3L1);
        assert_eq!(config.meter.as_ref().unwrap().fallback_a, Decimal::from(8));
        assert_eq!(
            serde_json::to_value(LoadConfigJson::from(&config)).unwrap(),
            body
        );
    }

    #[test]
    fn fields_left_out_take_their_defaults_and_empty_ones_are_not_echoed() {
        let body = json!({
            "gridFuseA": {"l1": "63", "l2": "63", "l3": "63"},
            "mode": "dynamic",
            "meter": {},
            "evses": [{"stationId": "CP-1", "evseId": 1, "maxA": "16"}]
        });
        let config: LoadConfig = serde_json::from_value::<LoadConfigJson>(body)
            .unwrap()
            .into();
        let echoed = serde_json::to_value(LoadConfigJson::from(&config)).unwrap();
        assert_eq!(
            echoed,
            json!({
                "gridFuseA": {"l1": "63", "l2": "63", "l3": "63"},
                "mode": "dynamic",
                "marginA": "2",
                "headroomA": "2",
                "settleSeconds": 60,
                "voltage": 230,
                "rotationSeconds": 900,
                "boards": [],
                "meter": {"staleAfterSeconds": 120, "fallbackA": "6"},
                "evses": [{
                    "stationId": "CP-1", "evseId": 1, "phases": 3, "rotation": "L1L2L3",
                    "maxA": "16", "minA": "6", "priority": 0
                }],
                "pv": {"hysteresisW": 300, "minSwitchSeconds": 300}
            })
        );
    }
}
