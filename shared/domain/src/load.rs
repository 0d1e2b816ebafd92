//! Load balancing of a site as stored: the operator's configuration and the
//! state the balancer keeps between two recomputations.
//!
//! The configuration speaks the operator's language — stations and their
//! EVSE numbers, amperes as decimals — and is turned into the engine's model
//! (`csms_energy::SiteConfig`, deciamperes, EVSE ids `station/evse`) by the
//! core use case, which is also where it is validated. The state records what
//! the engine decided (with the reason), what each charger was last told and
//! whether it agreed, and the latest measurements the decisions used.
//!
//! How a site and its state are written to a store is not decided here: the
//! stored JSON form is `csms_store_records::load`. Only a charging need has
//! a serde form of its own, as the load-signal queue carries it.

use crate::{OrgId, SiteId, StationId, Timestamp};
use csms_energy::{ChargeState, PvState, Reason, Rotation};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One value per phase, in amperes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseAmps {
    pub l1: Decimal,
    pub l2: Decimal,
    pub l3: Decimal,
}

impl PhaseAmps {
    pub fn uniform(a: Decimal) -> Self {
        PhaseAmps {
            l1: a,
            l2: a,
            l3: a,
        }
    }

    pub fn as_array(&self) -> [Decimal; 3] {
        [self.l1, self.l2, self.l3]
    }

    pub fn from_array(a: [Decimal; 3]) -> Self {
        PhaseAmps {
            l1: a[0],
            l2: a[1],
            l3: a[2],
        }
    }
}

/// How the balancer learns how much of the fuse is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// The fuse is the chargers' alone.
    Static,
    /// A grid meter tells the building's own load.
    Dynamic,
    /// Dynamic, and what a car does not draw goes to the others.
    TrueDynamic,
}

/// A distribution board with its own per-phase fuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBoard {
    pub id: String,
    /// Absent: fed from the grid connection.
    pub parent: Option<String>,
    /// Per grid phase.
    pub fuse_a: PhaseAmps,
}

/// Where the grid meter's readings come from and what to do without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridMeterConfig {
    /// A meter station whose MeterValues (`Current.Import` per phase,
    /// outside a transaction) are the building's total; absent: readings
    /// arrive through `POST /sites/{id}/load/meter`.
    pub station_id: Option<StationId>,
    /// A reading older than this is stale.
    pub stale_after_seconds: u32,
    /// Without a fresh reading the chargers share this many amperes per
    /// phase, whatever the building does.
    pub fallback_a: Decimal,
}

/// One EVSE of the site as installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadEvse {
    pub station_id: StationId,
    /// 1.6 connector id / 2.0.1 EVSE id (1, 2, …).
    pub evse_id: u32,
    /// The board that feeds it; absent: the grid connection.
    pub board: Option<String>,
    /// Phases wired: 1 or 3.
    pub phases: u8,
    /// Which grid phase each of the EVSE's L1/L2/L3 lands on.
    pub rotation: Rotation,
    pub max_a: Decimal,
    pub min_a: Decimal,
    /// Higher is served first (0..=9).
    pub priority: u8,
    /// Charge only from solar surplus (what the grid meter shows exported,
    /// plus what this car already takes of it); needs a grid meter.
    pub pv_surplus: bool,
    /// The EVSE can switch a car between three phases and one (so that a
    /// small surplus still reaches the 6 A minimum on one phase).
    pub phase_switching: bool,
}

/// How PV-surplus charging switches phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PvConfig {
    /// Half-width, in watts, of the band around each switching threshold
    /// (≈ 4.1 kW: 6 A on three phases) in which nothing changes.
    pub hysteresis_w: u32,
    /// Least time between two switches of one EVSE: each switch restarts
    /// the car's charger and wears the contactor.
    pub min_switch_seconds: u32,
}

impl Default for PvConfig {
    fn default() -> Self {
        PvConfig {
            hysteresis_w: default_hysteresis(),
            min_switch_seconds: default_min_switch(),
        }
    }
}

fn default_hysteresis() -> u32 {
    300
}

fn default_min_switch() -> u32 {
    300
}

/// The operator's description of a site's electrical installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadConfig {
    /// The main fuse, per phase.
    pub grid_fuse_a: PhaseAmps,
    pub mode: LoadMode,
    /// Dynamic modes: amperes per phase kept free for building load that
    /// rises between two meter readings.
    pub margin_a: Decimal,
    /// Truly dynamic mode: a car is capped at its measured draw plus this.
    pub headroom_a: Decimal,
    /// Truly dynamic mode: a car's draw counts only after it has run this long.
    pub settle_seconds: u32,
    /// Peak shaving: total import stays at or below this many watts.
    pub power_cap_w: Option<u32>,
    pub voltage: u32,
    /// How long a car charges before a paused one of the same priority
    /// gets its turn, when not everybody's minimum fits.
    pub rotation_seconds: u32,
    pub boards: Vec<LoadBoard>,
    pub meter: Option<GridMeterConfig>,
    pub evses: Vec<LoadEvse>,
    /// Priority by the driver's (or the vehicle's) identifier group: a
    /// session whose id token is in a group listed here charges at least
    /// at that priority (0..=9), whatever its EVSE's.
    pub group_priorities: std::collections::BTreeMap<String, u8>,
    /// PV-surplus charging's switching rules.
    pub pv: PvConfig,
    /// Bidding zone (`SE3`, …) whose spot prices the plans use.
    pub bidding_zone: Option<String>,
}

impl LoadConfig {
    /// Amperes per phase kept free by default (dynamic modes), and a truly
    /// dynamic car's default headroom over its measured draw.
    pub const DEFAULT_MARGIN_A: Decimal = Decimal::TWO;
    pub const DEFAULT_SETTLE_SECONDS: u32 = 60;
    pub const DEFAULT_VOLTAGE: u32 = 230;
    pub const DEFAULT_ROTATION_SECONDS: u32 = 900;

    /// A site in `mode` under `grid_fuse_a` with these EVSEs, everything
    /// else at its default: no boards, meter, power cap, group priorities or
    /// bidding zone.
    pub fn new(mode: LoadMode, grid_fuse_a: PhaseAmps, evses: Vec<LoadEvse>) -> Self {
        LoadConfig {
            grid_fuse_a,
            mode,
            margin_a: Self::DEFAULT_MARGIN_A,
            headroom_a: Self::DEFAULT_MARGIN_A,
            settle_seconds: Self::DEFAULT_SETTLE_SECONDS,
            power_cap_w: None,
            voltage: Self::DEFAULT_VOLTAGE,
            rotation_seconds: Self::DEFAULT_ROTATION_SECONDS,
            boards: Vec::new(),
            meter: None,
            evses,
            group_priorities: Default::default(),
            pv: PvConfig::default(),
            bidding_zone: None,
        }
    }
}

impl LoadEvse {
    /// The lowest current a car may be offered (IEC 61851), the default
    /// minimum of an EVSE.
    pub const DEFAULT_MIN_A: Decimal = Decimal::from_parts(6, 0, 0, false, 0);

    /// EVSE `evse_id` of `station_id` on the grid connection: three phases
    /// in order, from the default minimum up to `max_a`, priority 0, no PV.
    pub fn three_phase(station_id: StationId, evse_id: u32, max_a: Decimal) -> Self {
        LoadEvse {
            station_id,
            evse_id,
            board: None,
            phases: 3,
            rotation: Rotation::default(),
            max_a,
            min_a: Self::DEFAULT_MIN_A,
            priority: 0,
            pv_surplus: false,
            phase_switching: false,
        }
    }
}

/// A site's load-balancing configuration, versioned.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSite {
    pub site_id: SiteId,
    pub org_id: OrgId,
    pub config: LoadConfig,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// Latest reading of the grid meter: the whole building, chargers included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridReading {
    pub at: Timestamp,
    pub current_a: PhaseAmps,
}

/// What a charger reported an EVSE draws, per EVSE phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub at: Timestamp,
    pub current_a: PhaseAmps,
}

/// The power a charger reported an EVSE draws, all phases together
/// (`Power.Active.Import`, in W).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasuredPower {
    pub at: Timestamp,
    pub watts: Decimal,
}

/// Where a profile sent to a charger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentStatus {
    Pending,
    Accepted,
    /// Rejected, failed, timed out or not delivered: to be sent again.
    Failed,
}

/// A limit the balancer sent to an EVSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentLimit {
    pub limit_a: Decimal,
    pub phases: u8,
    /// For a TxProfile, the transaction it limits.
    pub transaction_id: Option<String>,
    pub command_id: String,
    pub status: SentStatus,
    pub sent_at: Timestamp,
    /// What the charger was known to hold before this limit: it may still
    /// draw that while the limit is in flight, and after a refusal or a
    /// timeout (it may also have taken the new one). `None` when nothing
    /// was known: the EVSE's maximum.
    pub before: Option<HeldLimit>,
}

/// A limit a charger holds: per phase, on how many phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLimit {
    pub limit_a: Decimal,
    pub phases: u8,
}

impl HeldLimit {
    /// The larger of two: the higher current, on the more phases.
    pub fn max(self, other: HeldLimit) -> HeldLimit {
        HeldLimit {
            limit_a: self.limit_a.max(other.limit_a),
            phases: self.phases.max(other.phases),
        }
    }
}

impl SentLimit {
    /// What the charger may draw under this limit now: the limit once
    /// accepted; while in flight, or after a refusal or timeout, the
    /// larger of it and what held before (`max` when that is unknown). A
    /// refused raise is thus still counted as raised until the limit is
    /// sent again — cautious, never unsafe.
    pub fn held(&self, max: HeldLimit) -> HeldLimit {
        let this = HeldLimit {
            limit_a: self.limit_a,
            phases: self.phases,
        };
        match self.status {
            SentStatus::Accepted => this,
            SentStatus::Pending | SentStatus::Failed => this.max(self.before.unwrap_or(max)),
        }
    }
}

/// The engine's answer for an EVSE, kept for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub current_a: Decimal,
    pub phases: u8,
    pub reason: Reason,
    /// The reason in one sentence.
    pub explanation: String,
}

/// Everything the balancer remembers about one EVSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvseLoadState {
    pub station_id: StationId,
    pub evse_id: u32,
    /// The running transaction, if any.
    pub transaction_id: Option<String>,
    /// Running or paused, and since when (engine time, Unix seconds).
    pub charge: Option<ChargeState>,
    pub measured: Option<Measured>,
    /// Its latest power reading, when the charger reports one.
    pub measured_power: Option<MeasuredPower>,
    /// State of charge in percent, when the charger reports it.
    pub soc: Option<Decimal>,
    pub allocation: Option<Allocated>,
    /// The TxProfile in force for the running transaction.
    pub profile: Option<SentLimit>,
    /// The TxDefaultProfile: what a new session gets before the balancer
    /// has spoken, and all it gets while the station is offline.
    pub default_profile: Option<SentLimit>,
    pub pv: Option<PvState>,
    /// What the car still needs and by when, from the driver or the car.
    pub need: Option<ChargingNeed>,
    /// Since when (the charger's reading time) the EVSE has drawn more than
    /// the limit in force allows by the organisation's tolerance, in current
    /// or in power; `None` while it complies. The evidence of `profileIgnored`, kept by each run.
    pub over_limit_since: Option<Timestamp>,
}

/// Who said how much a car needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NeedSource {
    /// The driver or an integration, through the API.
    Driver,
    /// The car, over ISO 15118 (OCPP 2.0.1 NotifyEVChargingNeeds).
    Iso15118,
}

/// A session's energy need and departure: what a price-optimised plan
/// works toward. Either an amount of energy, or a target state of charge
/// with the battery's capacity (then the car's reported SoC says what is
/// left, which is more exact than counting energy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingNeed {
    pub source: NeedSource,
    /// The transaction it belongs to; `None` until the balancer has seen
    /// the transaction of the EVSE (the car may speak before it starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Energy still wanted when the need was given, in Wh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_wh: Option<Decimal>,
    /// Target state of charge in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_soc: Option<Decimal>,
    /// Usable battery capacity in Wh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_wh: Option<Decimal>,
    /// State of charge the car reported with its need (ISO 15118 DC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc: Option<Decimal>,
    /// When the car must be done; without it there is nothing to plan
    /// toward and the car charges at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure_at: Option<Timestamp>,
    /// The car's own limit per phase, when it said (ISO 15118).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub car_max_a: Option<Decimal>,
    pub set_at: Timestamp,
    /// The session's energy register (Wh) when the need was given, so that
    /// what has been charged since can be counted off; filled in by the
    /// first recomputation that sees the need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_wh: Option<Decimal>,
}

/// The plan of one session, slot by slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSession {
    pub station_id: StationId,
    pub evse_id: u32,
    pub transaction_id: String,
    pub departure_at: Timestamp,
    /// Energy still needed when the plan was made, in Wh.
    pub need_wh: Decimal,
    pub phases: u8,
    /// Amperes per phase, one per slot of the plan; zero: not charging.
    pub currents_a: Vec<Decimal>,
    pub planned_wh: Decimal,
    pub unmet_wh: Decimal,
    /// Why not all of the need fits, in one sentence.
    pub unmet: Option<String>,
    /// Cost of the planned energy at spot prices, in the plan's currency.
    pub cost: Decimal,
}

/// The site's price-optimised plan for the next hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePlan {
    pub made_at: Timestamp,
    /// Start of the first slot (a quarter-hour boundary).
    pub start: Timestamp,
    pub slot_minutes: u32,
    pub bidding_zone: String,
    pub currency: String,
    /// Spot price per kWh (excl. VAT), one per slot.
    pub prices: Vec<Decimal>,
    pub sessions: Vec<PlannedSession>,
    /// The configuration version the plan was made with.
    pub config_version: u64,
}

impl SitePlan {
    /// Index of the slot that contains `t`, if the plan covers it.
    pub fn slot_at(&self, t: Timestamp) -> Option<usize> {
        let secs = (t - self.start).num_seconds();
        let len = i64::from(self.slot_minutes) * 60;
        if secs < 0 || len == 0 {
            return None;
        }
        let i = usize::try_from(secs / len).ok()?;
        (i < self.prices.len()).then_some(i)
    }
}

/// What the balancer told a whole station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationLoadState {
    pub station_id: StationId,
    pub max_profile: SentLimit,
}

/// The balancer's state of one site, versioned like the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadState {
    pub site_id: SiteId,
    /// The latest event that asks for a recomputation.
    pub requested_at: Option<Timestamp>,
    pub computed_at: Option<Timestamp>,
    /// The configuration version the last computation used.
    pub config_version: u64,
    pub grid: Option<GridReading>,
    /// The building's own load the last computation assumed, per grid phase.
    pub building_load_a: Option<PhaseAmps>,
    /// What the operator should know about the last computation (a stale
    /// meter, a charger that refused its profile, …).
    pub warnings: Vec<String>,
    pub evses: Vec<EvseLoadState>,
    /// Per station, the ChargePointMaxProfile / ChargingStationMaxProfile
    /// sent: the sum of its EVSEs' limits, a backstop under any other
    /// profile on the station.
    pub stations: Vec<StationLoadState>,
    /// The price-optimised plan of the sessions that have a need.
    pub plan: Option<SitePlan>,
    /// Who is recomputing the site right now, and until when at most. Two
    /// recomputations that overlap (the balancer's signal, the periodic
    /// sweep, the API's `recompute`) would each send limits computed from a
    /// state the other is changing: the lease lets one run at a time.
    pub lease: Option<RecomputeLease>,
    /// The ids of the site's load alarms that are open (a silent grid
    /// meter, a building over its fuse), so a recomputation raises or
    /// resolves one only when its condition changes: no alarm read per run.
    pub alarms: Vec<String>,
    pub version: u64,
}

/// See [`LoadState::lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecomputeLease {
    pub holder: String,
    pub until: Timestamp,
}

impl LoadState {
    pub fn new(site_id: SiteId) -> Self {
        LoadState {
            site_id,
            requested_at: None,
            computed_at: None,
            config_version: 0,
            grid: None,
            building_load_a: None,
            warnings: Vec::new(),
            evses: Vec::new(),
            stations: Vec::new(),
            plan: None,
            lease: None,
            alarms: Vec::new(),
            version: 0,
        }
    }

    pub fn evse_mut(&mut self, station: &StationId, evse_id: u32) -> &mut EvseLoadState {
        let i = match self
            .evses
            .iter()
            .position(|e| &e.station_id == station && e.evse_id == evse_id)
        {
            Some(i) => i,
            None => {
                self.evses.push(EvseLoadState {
                    station_id: station.clone(),
                    evse_id,
                    transaction_id: None,
                    charge: None,
                    measured: None,
                    measured_power: None,
                    soc: None,
                    allocation: None,
                    profile: None,
                    default_profile: None,
                    pv: None,
                    need: None,
                    over_limit_since: None,
                });
                self.evses.len() - 1
            }
        };
        &mut self.evses[i]
    }

    pub fn evse(&self, station: &StationId, evse_id: u32) -> Option<&EvseLoadState> {
        self.evses
            .iter()
            .find(|e| &e.station_id == station && e.evse_id == evse_id)
    }
}
