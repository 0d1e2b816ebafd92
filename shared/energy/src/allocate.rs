//! The allocation engine: who gets how many amperes, now.
//!
//! # The problem as constraints
//!
//! Every EVSE `e` that has a car gets one current `I_e` (the same on each
//! phase it uses) and a number of phases `n_e`. Each *constraint* is a linear
//! bound over those currents:
//!
//! - one per (supply node, grid phase): the sum of `I_e` over the EVSEs below
//!   that node whose car loads that grid phase stays at or below the node's
//!   fuse. A three-phase car loads all three grid phases; a single-phase car
//!   charges on the EVSE's L1, which the EVSE's [`Rotation`] maps to one grid
//!   phase. At the grid connection in the dynamic modes the building's
//!   measured load and the safety margin are taken off first.
//! - the site power cap, if any: `Σ I_e × n_e × V` (plus the building in the
//!   dynamic modes) stays at or below the cap.
//!
//! Integer deciamperes throughout, rounded down, so what is handed out sums
//! exactly to at most each bound.
//!
//! # The algorithm
//!
//! 1. **Admission.** Not everybody may get the minimum (6 A). Cars are ranked:
//!    priority class first; within a class, cars that started or resumed less
//!    than `rotation_secs` ago, then paused cars (longest waiting first), then
//!    cars that have run longer than `rotation_secs` (longest running last).
//!    Walking that ranking, each car is admitted at its minimum if that still
//!    fits every constraint it touches, and paused otherwise. This is "pause
//!    the lowest priority, then the one that charged longest, recompute", done
//!    in one pass — and a car on an empty board is not paused just because a
//!    better-ranked car on a full board could not be served. The protected
//!    first tier stops a car that was just resumed from being paused again on
//!    the next recompute (contactor wear, drivers watching the app).
//! 2. **Water-filling per class.** From the highest class down, the admitted
//!    cars of the class are raised together, one common step at a time, until
//!    a car reaches its cap (EVSE maximum; the measured draw plus headroom in
//!    true-dynamic mode; the PV decision) or a constraint has no room left for
//!    another 0.1 A for each car on it. Those cars freeze; the rest continue.
//!    A saturated constraint stays saturated for the lower classes too, so a
//!    lower class never collects the rounding remainder a higher class could
//!    not split — that is what makes "higher priority is never worse off"
//!    hold exactly.
//!
//! Cost: ranking is a sort; admission and freezing touch each (car,
//! constraint) pair a constant number of times; each water-filling step costs
//! the number of constraints of the class, and there is at most one step per
//! car or constraint. 1,000 EVSEs on 60 boards take about half a millisecond
//! in a release build (see `examples/allocate-bench.rs`).

use crate::pv::PvDecision;
use crate::site::{EvseId, Mode, Node, Rotation, Site};
use crate::units::{Current, Phase, PhaseCurrents, Phases, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// Priority class; a higher number is served first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Priority(pub u8);

/// Whether a session is charging (was given current at the last recompute)
/// and since when; a newly arrived car is `Paused { since: arrival }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "since", rename_all = "camelCase")]
pub enum ChargeState {
    Running(Timestamp),
    Paused(Timestamp),
}

/// A car plugged into an EVSE, as the engine needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInput {
    pub evse: EvseId,
    /// `None` when unknown: the engine then assumes the EVSE's wiring, which
    /// overestimates the load of a single-phase car and is therefore safe.
    pub car_phases: Option<Phases>,
    pub priority: Priority,
    pub state: ChargeState,
    /// Last measured current per *EVSE* phase (the charger's own L1/L2/L3).
    pub measured: Option<PhaseCurrents>,
    /// Set in PV-surplus mode: the surplus controller's bound for this EVSE.
    pub pv: Option<PvDecision>,
    /// Set for a car with a price-optimised plan: the plan's current for the
    /// slot now running (zero: it charges later, in cheaper slots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Current>,
}

/// What the engine is told besides the site and the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// The building's own load per *grid* phase, without the EV chargers
    /// (grid meter minus the chargers' draw). Required in the dynamic modes.
    pub building_load: Option<PhaseCurrents>,
    pub now: Timestamp,
}

/// A bound that stopped a car from getting more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Limit {
    Fuse { node: Node, phase: Phase },
    PowerCap,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Fuse { node, phase } => write!(f, "{node} {phase} limit"),
            Limit::PowerCap => f.write_str("site power cap"),
        }
    }
}

/// Why an EVSE got what it got; the API shows it to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Reason {
    /// Raised with the others until this bound was full.
    FairShare {
        limit: Limit,
    },
    EvseMax,
    /// True-dynamic: the car draws less, so it is capped at draw + headroom.
    Demand,
    /// PV-surplus controller's bound.
    PvSurplus,
    /// The car's charging plan asks for no more in this slot.
    Planned,
    Paused {
        cause: PauseCause,
        waiting_since: Timestamp,
        /// When a car of the same priority on the same bound will have run
        /// its rotation time, so this one is likely to take its turn.
        rotation_due: Option<Timestamp>,
    },
}

/// Why a car is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PauseCause {
    /// Its minimum current does not fit this bound.
    Limit {
        limit: Limit,
    },
    PvSurplus,
    /// Its plan charges it in cheaper slots later.
    Planned,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FairShare {
                limit: Limit::PowerCap,
            } => f.write_str("limited by site power cap"),
            Reason::FairShare { limit } => write!(f, "fair share of {limit}"),
            Reason::EvseMax => f.write_str("capped by EVSE max"),
            Reason::Demand => f.write_str("capped at measured draw plus headroom"),
            Reason::PvSurplus => f.write_str("PV surplus"),
            Reason::Planned => f.write_str("as planned for this slot"),
            Reason::Paused {
                cause,
                waiting_since,
                rotation_due,
            } => {
                match cause {
                    PauseCause::Limit { limit } => write!(f, "paused: no room in {limit}")?,
                    PauseCause::PvSurplus => f.write_str("paused: not enough PV surplus")?,
                    PauseCause::Planned => {
                        f.write_str("paused: its plan charges it in cheaper slots later")?
                    }
                }
                write!(f, ", waiting since {waiting_since}")?;
                if let Some(t) = rotation_due {
                    write!(f, ", rotation due at {t}")?;
                }
                Ok(())
            }
        }
    }
}

/// The engine's answer for one EVSE with a car.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvseAllocation {
    pub evse: EvseId,
    /// Per phase used; zero means paused, otherwise at least the minimum.
    pub current: Current,
    pub phases: Phases,
    pub reason: Reason,
}

impl EvseAllocation {
    pub fn is_paused(&self) -> bool {
        self.current == Current::ZERO
    }
}

/// Why no allocation could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocateError {
    #[error("session on unknown EVSE {0}")]
    UnknownEvse(EvseId),
    #[error("two sessions on EVSE {0}")]
    DuplicateSession(EvseId),
    #[error("dynamic mode needs the building load")]
    MissingBuildingLoad,
}

/// The grid phases a car using `phases` on an EVSE with `rotation` loads:
/// all three, or the one the EVSE's L1 terminal is wired to.
pub fn grid_phases(phases: Phases, rotation: Rotation) -> &'static [Phase] {
    match (phases, rotation.grid_phase(Phase::L1)) {
        (Phases::Three, _) => &Phase::ALL,
        (Phases::One, Phase::L1) => &[Phase::L1],
        (Phases::One, Phase::L2) => &[Phase::L2],
        (Phases::One, Phase::L3) => &[Phase::L3],
    }
}

/// Why a car's own cap is what it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CapReason {
    EvseMax,
    Demand,
    Pv,
    Plan,
}

struct Car {
    session: usize,
    prio: u8,
    phases: Phases,
    min: i64,
    cap: i64,
    cap_reason: CapReason,
    /// Range into `Engine::cons`.
    cons: (u32, u32),
    /// Sort key within the priority class: (tier, time).
    tier: (u8, i64),
    since: Timestamp,
    running: bool,
}

/// An EVSE whose current the caller cannot change right now (its station is
/// offline and runs on the last limit it was given): its load is taken off
/// every bound on its path before anybody else is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reserved {
    pub evse: EvseId,
    pub current: Current,
    pub phases: Phases,
}

/// Computes every session's current. Sessions come back in input order.
pub fn allocate(
    site: &Site,
    sessions: &[SessionInput],
    cond: &Conditions,
) -> Result<Vec<EvseAllocation>, AllocateError> {
    allocate_with_reserved(site, sessions, cond, &[])
}

/// Every bound's room left once the building, the margin and `reserved`
/// are taken off: one per (supply node, grid phase), node × 3 + phase, and
/// the power cap last (in deciwatts).
struct Bounds {
    slack: Vec<i64>,
    power_c: u32,
    voltage: i64,
    /// Headroom and settle time in true-dynamic mode.
    true_dynamic: Option<(Current, u32)>,
}

impl Bounds {
    fn new(
        site: &Site,
        cond: &Conditions,
        reserved: &[Reserved],
        seen: &mut [bool],
    ) -> Result<Bounds, AllocateError> {
        let cfg = &site.config;
        let voltage = i64::from(cfg.voltage);
        let (building, margin, true_dynamic) = match cfg.mode {
            Mode::Static => (None, 0, None),
            Mode::Dynamic { margin } => (
                Some(
                    cond.building_load
                        .ok_or(AllocateError::MissingBuildingLoad)?,
                ),
                margin.deciamps(),
                None,
            ),
            Mode::TrueDynamic {
                margin,
                headroom,
                settle_secs,
            } => (
                Some(
                    cond.building_load
                        .ok_or(AllocateError::MissingBuildingLoad)?,
                ),
                margin.deciamps(),
                Some((headroom, settle_secs)),
            ),
        };

        let n_nodes = site.nodes.len();
        let power_c = (n_nodes * 3) as u32;
        let mut slack: Vec<i64> = Vec::with_capacity(n_nodes * 3 + 1);
        for (n, limit) in site.node_limits.iter().enumerate() {
            for p in Phase::ALL {
                let mut s = i64::from(limit.get(p).deciamps());
                if let (0, Some(b)) = (n, building) {
                    s -= i64::from(b.get(p).deciamps()) + i64::from(margin);
                }
                slack.push(s);
            }
        }
        // Power in deciwatts: deciamperes × volts.
        let power_slack = cfg.power_cap_w.map(|w| {
            let building_dw: i64 = building.map_or(0, |b| {
                b.0.iter().map(|c| i64::from(c.deciamps()) * voltage).sum()
            });
            i64::from(w) * 10 - building_dw
        });
        slack.push(power_slack.unwrap_or(i64::MAX / 4));

        for r in reserved {
            let &ei = site
                .evse_index
                .get(&r.evse)
                .ok_or_else(|| AllocateError::UnknownEvse(r.evse.clone()))?;
            if std::mem::replace(&mut seen[ei as usize], true) {
                return Err(AllocateError::DuplicateSession(r.evse.clone()));
            }
            let evse = &cfg.evses[ei as usize];
            let phases = evse.phases_wired.min(r.phases);
            let load = i64::from(r.current.deciamps());
            for &node in &site.paths[ei as usize] {
                for gp in grid_phases(phases, evse.rotation) {
                    slack[(node * 3) as usize + gp.index()] -= load;
                }
            }
            if cfg.power_cap_w.is_some() {
                slack[power_c as usize] -= load * i64::from(phases.count()) * voltage;
            }
        }
        Ok(Bounds {
            slack,
            power_c,
            voltage,
            true_dynamic,
        })
    }

    fn limit(&self, site: &Site, c: u32) -> Limit {
        if c == self.power_c {
            Limit::PowerCap
        } else {
            Limit::Fuse {
                node: site.nodes[(c / 3) as usize].clone(),
                phase: Phase::ALL[(c % 3) as usize],
            }
        }
    }
}

/// Every bound that `loads` together exceed — every fuse on every grid
/// phase, and the power cap — with how far (deciamperes; deciwatts for the
/// cap), the building's load and the margin taken off first in the dynamic
/// modes. Empty when they all fit.
///
/// This is the invariant the balancer keeps at every instant: the caller
/// passes what each EVSE *may* draw now (the limit its charger holds), not
/// what it was allocated, and raises a limit only if that adds no excess.
pub fn excess(
    site: &Site,
    loads: &[Reserved],
    cond: &Conditions,
) -> Result<Vec<(Limit, i64)>, AllocateError> {
    let mut seen = vec![false; site.config.evses.len()];
    let b = Bounds::new(site, cond, loads, &mut seen)?;
    Ok(b.slack
        .iter()
        .enumerate()
        .filter(|(_, &s)| s < 0)
        .map(|(c, &s)| (b.limit(site, c as u32), -s))
        .collect())
}

/// [`allocate`] with some EVSEs held at a fixed load. A reserved EVSE must
/// not also have a session.
pub fn allocate_with_reserved(
    site: &Site,
    sessions: &[SessionInput],
    cond: &Conditions,
    reserved: &[Reserved],
) -> Result<Vec<EvseAllocation>, AllocateError> {
    let cfg = &site.config;
    let mut seen = vec![false; cfg.evses.len()];
    let mut bounds = Bounds::new(site, cond, reserved, &mut seen)?;
    let mut slack = std::mem::take(&mut bounds.slack);
    let (power_c, voltage, true_dynamic) = (bounds.power_c, bounds.voltage, bounds.true_dynamic);
    let mut out: Vec<Option<EvseAllocation>> = vec![None; sessions.len()];
    let mut cars: Vec<Car> = Vec::with_capacity(sessions.len());
    let mut cons: Vec<(u32, i64)> = Vec::with_capacity(sessions.len() * 8);
    for (si, s) in sessions.iter().enumerate() {
        let &ei = site
            .evse_index
            .get(&s.evse)
            .ok_or_else(|| AllocateError::UnknownEvse(s.evse.clone()))?;
        if std::mem::replace(&mut seen[ei as usize], true) {
            return Err(AllocateError::DuplicateSession(s.evse.clone()));
        }
        let evse = &cfg.evses[ei as usize];
        let mut phases = evse.phases_wired.min(s.car_phases.unwrap_or(Phases::Three));
        let min = i64::from(evse.min_current.deciamps());
        let mut cap = i64::from(evse.max_current.deciamps());
        let mut cap_reason = CapReason::EvseMax;
        let (running, since) = match s.state {
            ChargeState::Running(t) => (true, t),
            ChargeState::Paused(t) => (false, t),
        };
        if let (Some((headroom, settle)), Some(m), true) = (true_dynamic, s.measured, running) {
            if cond.now.secs_since(since) >= i64::from(settle) {
                let drawn = match phases {
                    Phases::One => m.get(Phase::L1),
                    Phases::Three => m.max(),
                };
                let demand =
                    (i64::from(drawn.deciamps()) + i64::from(headroom.deciamps())).max(min);
                if demand < cap {
                    cap = demand;
                    cap_reason = CapReason::Demand;
                }
            }
        }
        if let Some(pv) = s.pv {
            phases = phases.min(pv.phases);
            let pv_cap = i64::from(pv.max_current.deciamps());
            if pv_cap < min {
                out[si] = Some(EvseAllocation {
                    evse: s.evse.clone(),
                    current: Current::ZERO,
                    phases,
                    reason: Reason::Paused {
                        cause: PauseCause::PvSurplus,
                        waiting_since: if running { cond.now } else { since },
                        rotation_due: None,
                    },
                });
                continue;
            }
            if pv_cap <= cap {
                cap = pv_cap;
                cap_reason = CapReason::Pv;
            }
        }
        if let Some(plan) = s.plan {
            let plan_cap = i64::from(plan.deciamps());
            if plan_cap < min {
                out[si] = Some(EvseAllocation {
                    evse: s.evse.clone(),
                    current: Current::ZERO,
                    phases,
                    reason: Reason::Paused {
                        cause: PauseCause::Planned,
                        waiting_since: if running { cond.now } else { since },
                        rotation_due: None,
                    },
                });
                continue;
            }
            if plan_cap <= cap {
                cap = plan_cap;
                cap_reason = CapReason::Plan;
            }
        }
        let start = cons.len() as u32;
        for &node in &site.paths[ei as usize] {
            for gp in grid_phases(phases, evse.rotation) {
                cons.push((node * 3 + gp.index() as u32, 1));
            }
        }
        if cfg.power_cap_w.is_some() {
            cons.push((power_c, i64::from(phases.count()) * voltage));
        }
        let rotation = i64::from(cfg.rotation_secs);
        let tier = match running {
            true if cond.now.secs_since(since) < rotation => (0, since.0),
            false => (1, since.0),
            true => (2, -since.0),
        };
        cars.push(Car {
            session: si,
            prio: s.priority.0,
            phases,
            min,
            cap,
            cap_reason,
            cons: (start, cons.len() as u32),
            tier,
            since,
            running,
        });
    }
    let car_cons = |c: &Car| &cons[c.cons.0 as usize..c.cons.1 as usize];

    // 1. Admission in rank order.
    let mut rank: Vec<u32> = (0..cars.len() as u32).collect();
    rank.sort_unstable_by_key(|&i| {
        let c = &cars[i as usize];
        (std::cmp::Reverse(c.prio), c.tier, c.session)
    });
    let mut current: Vec<i64> = vec![0; cars.len()];
    let mut blocked: Vec<(u32, u32)> = Vec::new(); // (car, constraint)
    for &i in &rank {
        let car = &cars[i as usize];
        let cs = car_cons(car);
        match cs.iter().find(|&&(c, w)| slack[c as usize] < car.min * w) {
            Some(&(c, _)) => blocked.push((i, c)),
            None => {
                for &(c, w) in cs {
                    slack[c as usize] -= car.min * w;
                }
                current[i as usize] = car.min;
            }
        }
    }

    // 2. Water-filling, class by class. `reason` is filled as cars freeze.
    let mut cars_on: Vec<Vec<u32>> = vec![Vec::new(); slack.len()];
    for (i, car) in cars.iter().enumerate() {
        if current[i] > 0 {
            for &(c, _) in car_cons(car) {
                cars_on[c as usize].push(i as u32);
            }
        }
    }
    let mut saturated = vec![false; slack.len()];
    let mut weight = vec![0i64; slack.len()];
    let mut frozen = vec![false; cars.len()];
    let mut limit_of: Vec<Option<u32>> = vec![None; cars.len()];
    let admitted: Vec<u32> = rank
        .iter()
        .copied()
        .filter(|&i| current[i as usize] > 0)
        .collect();
    let mut class_start = 0;
    while class_start < admitted.len() {
        let prio = cars[admitted[class_start] as usize].prio;
        let class_end = admitted[class_start..]
            .iter()
            .position(|&i| cars[i as usize].prio != prio)
            .map_or(admitted.len(), |p| class_start + p);
        let mut class: Vec<u32> = admitted[class_start..class_end].to_vec();
        class_start = class_end;
        // Cars reach their caps in order of room above their minimum.
        class.sort_unstable_by_key(|&i| cars[i as usize].cap - cars[i as usize].min);
        let mut active: Vec<u32> = Vec::new();
        for &i in &class {
            let car = &cars[i as usize];
            if let Some(&(c, _)) = car_cons(car).iter().find(|&&(c, _)| saturated[c as usize]) {
                frozen[i as usize] = true;
                limit_of[i as usize] = Some(c);
                continue;
            }
            for &(c, w) in car_cons(car) {
                if weight[c as usize] == 0 {
                    active.push(c);
                }
                weight[c as usize] += w;
            }
        }
        let mut raised = 0i64;
        let mut next = 0;
        loop {
            while next < class.len() && frozen[class[next] as usize] {
                next += 1;
            }
            let Some(&lowest) = class.get(next) else {
                break;
            };
            let lowest = &cars[lowest as usize];
            let mut step = lowest.cap - lowest.min - raised;
            for &c in &active {
                let w = weight[c as usize];
                if w > 0 {
                    step = step.min(slack[c as usize] / w);
                }
            }
            raised += step;
            for &c in &active {
                slack[c as usize] -= step * weight[c as usize];
            }
            // A frozen car keeps what it has; its weight leaves its constraints.
            let freeze = |i: u32, frozen: &mut [bool], weight: &mut [i64], current: &mut [i64]| {
                frozen[i as usize] = true;
                let car = &cars[i as usize];
                current[i as usize] = car.min + raised;
                for &(c, w) in car_cons(car) {
                    weight[c as usize] -= w;
                }
            };
            while let Some(&i) = class.get(next) {
                let car = &cars[i as usize];
                if !frozen[i as usize] {
                    if car.cap - car.min > raised {
                        break;
                    }
                    freeze(i, &mut frozen, &mut weight, &mut current);
                }
                next += 1;
            }
            for &c in &active {
                let c = c as usize;
                let w = weight[c];
                if w > 0 && slack[c] < w {
                    saturated[c] = true;
                    for &i in &cars_on[c] {
                        if cars[i as usize].prio == prio && !frozen[i as usize] {
                            limit_of[i as usize] = Some(c as u32);
                            freeze(i, &mut frozen, &mut weight, &mut current);
                        }
                    }
                }
            }
            active.retain(|&c| weight[c as usize] > 0);
        }
    }

    // 3. Answers.
    let limit = |c: u32| bounds.limit(site, c);
    // Earliest end of a protected turn per (constraint, class), for the
    // "rotation due" hint of paused cars.
    let mut turn_ends: HashMap<(u32, u8), Timestamp> = HashMap::new();
    if !blocked.is_empty() {
        for &i in &admitted {
            let car = &cars[i as usize];
            if car.tier.0 == 0 {
                let end = car.since.plus_secs(cfg.rotation_secs);
                for &(c, _) in car_cons(car) {
                    let e = turn_ends.entry((c, car.prio)).or_insert(end);
                    *e = (*e).min(end);
                }
            }
        }
    }
    for &(i, c) in &blocked {
        let car = &cars[i as usize];
        out[car.session] = Some(EvseAllocation {
            evse: sessions[car.session].evse.clone(),
            current: Current::ZERO,
            phases: car.phases,
            reason: Reason::Paused {
                cause: PauseCause::Limit { limit: limit(c) },
                waiting_since: if car.running { cond.now } else { car.since },
                rotation_due: turn_ends.get(&(c, car.prio)).copied(),
            },
        });
    }
    for &i in &admitted {
        let car = &cars[i as usize];
        let reason = match (limit_of[i as usize], car.cap_reason) {
            (Some(c), _) => Reason::FairShare { limit: limit(c) },
            (None, CapReason::EvseMax) => Reason::EvseMax,
            (None, CapReason::Demand) => Reason::Demand,
            (None, CapReason::Pv) => Reason::PvSurplus,
            (None, CapReason::Plan) => Reason::Planned,
        };
        out[car.session] = Some(EvseAllocation {
            evse: sessions[car.session].evse.clone(),
            current: Current::from_deciamps(current[i as usize] as u32),
            phases: car.phases,
            reason,
        });
    }
    Ok(out.into_iter().flatten().collect())
}
