//! Price-optimised charging plans in 15-minute slots.
//!
//! Given the day-ahead prices, each car's energy need and departure, the
//! planner decides one current per car per slot so that the energy is bought
//! when it is cheap — within the same limits [`allocate()`](crate::allocate())
//! enforces at every instant.
//!
//! # The problem
//!
//! Variables: `I[s][t]`, the current (deciamperes, per phase) of session `s`
//! in slot `t`, zero outside the session's window `arrival..departure`.
//! Constraints, per slot, exactly those of the engine: per (supply node, grid
//! phase) the sum of the currents of the cars loading it (after rotation and
//! the car's number of phases) stays within the fuse — less the building's
//! forecast load and the margin at the grid connection in the dynamic modes —
//! and the power cap. Each `I[s][t]` is 0 or between the EVSE's minimum and
//! the smaller of the EVSE's and the car's maximum. Objective: deliver each
//! car's need (as much of it as fits) at the least cost `Σ price[t] × energy`.
//!
//! Without the minimum-current rule this is a linear program (a transport
//! problem when there is one constraint per slot). The rule "0 or ≥ 6 A" makes
//! it non-convex, so the planner is a greedy with local improvement, and the
//! tests compare it with the LP relaxation solved exactly.
//!
//! # The algorithm
//!
//! 1. **Greedy**, from two starting orders: by priority (highest first),
//!    then either departure (earliest first: the least flexible choose
//!    before those with alternatives) or phases (three-phase cars first,
//!    then departure: a three-phase car carries three times the energy per
//!    ampere of a congested phase). Each session fills the cheapest slots of
//!    its window with as much current as every constraint leaves, until its
//!    need is met. A remainder below the minimum current is planned at the
//!    minimum and the excess taken back from the session's dearest slots
//!    that stay at or above the minimum.
//! 2. **Improvement**, repeated until nothing changes (at most 50 rounds):
//!    a session short of its need takes room in its window, directly or by
//!    moving another session out of the way (*fill*); a session moves
//!    current from a dear slot to a cheaper one with room (*shift*); when the
//!    cheaper slot is full, another session charging there moves to a slot of
//!    its own window and the first takes its place (*chain*); and each
//!    session is taken out and planned again greedily around the others
//!    (*replan*). Every move is applied tentatively and kept only if every
//!    constraint of the slots it touches still holds and it delivers more or
//!    costs less.
//! 3. **Ejection**: once those moves find nothing more, the rounds go on
//!    with one more move (*eject*). A chain frees one constraint by moving
//!    one session; a three-phase car is often stopped by two or three full
//!    phases at once, each filled by a different single-phase car, and no
//!    single one of them moving out lets it in. Eject moves as much of the
//!    car's current as it can from the dear slot to the cheap one and, for
//!    each of its constraints short of room there, moves out the session
//!    charging on that constraint that is cheapest to move — to the
//!    cheapest slot of its own window with room, possibly the one the car
//!    has just left — as long as the car's saving pays for the others'
//!    extra cost. It comes last, after the plan has settled, because trying
//!    it from the start leads some days to a worse plan; this way each
//!    start ends at least as cheap as without it.
//!
//! Of the two improved plans the one delivering more, then costing less, is
//! returned. Energy comes first: a move may cost more if it delivers more.
//!
//! # Where it can miss the optimum
//!
//! - the minimum current: capacity below 6 A left in a slot is wasted, and
//!   a car cannot take a 2 A sliver of a cheap slot (the LP can);
//! - integer deciamperes: each car's last slot is rounded up to a whole 0.1 A
//!   (the car stops when full, so only the energy needed is paid for);
//! - local search: each session moved out of the way must find room in a
//!   slot of its own window at once; longer chains, where it would in turn
//!   push a third session elsewhere, are not tried. This still matters when
//!   single-phase cars crowd one grid phase for most of the night: the
//!   cheapest slots should go to three-phase cars, but a single-phase car
//!   moved out of one finds its phase full nearly everywhere else.
//!
//! Measured against the LP relaxation (`tests/schedule_lp.rs`,
//! `examples/schedule-vs-lp.rs`) on generated days of 20 cars at a 63 A
//! site: +0.09 % to +0.65 % on nine days. The worst is the day of many
//! single-phase cars on one phase, at +1.07 % before the eject move; the
//! eight others were then at +0.12 % to +0.78 %.
//!
//! Cost: each improvement round tries, per session and pair of slots, the
//! other sessions in the cheaper slot and their slots — about
//! `sessions² × slots²` cheap checks; 20 sessions over 96 slots take 60 to
//! 300 ms in a release build on the days above, about a third more than
//! without eject (its rounds come on top of the others). Not meant for a
//! 1,000-EVSE site as it stands: plan per board there.

use crate::allocate::{grid_phases, Limit, Priority};
use crate::site::{EvseId, Mode, Site};
use crate::units::{Current, Phase, PhaseCurrents, Phases};
use serde::{Deserialize, Serialize};

/// Length of a slot: the settlement period of the day-ahead market.
pub const SLOT_SECS: u32 = 900;

/// A car to plan for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSession {
    pub evse: EvseId,
    /// `None`: assume the EVSE's wiring (the engine does the same).
    pub car_phases: Option<Phases>,
    /// The car's on-board charger limit per phase, if known; the EVSE's
    /// maximum applies as well.
    pub car_max: Option<Current>,
    pub priority: Priority,
    /// Energy still wanted: from the driver, or from ISO 15118 SoC data.
    pub energy_wh: u32,
    /// First slot the car is plugged in.
    pub arrival: usize,
    /// First slot the car is gone (exclusive end of its window).
    pub departure: usize,
}

/// The slots to plan over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Horizon {
    /// Price per kWh in micro-units of the currency (1 EUR = 1,000,000), one
    /// per slot; negative prices are allowed.
    pub prices: Vec<i64>,
    /// Dynamic modes: forecast of the building's own load per slot (the
    /// highest expected within the slot), per grid phase.
    pub building_load: Option<Vec<PhaseCurrents>>,
}

/// Why a session does not get all it asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Unmet {
    /// Even at its maximum current in every slot of its window, the car
    /// could not take that much energy.
    WindowTooShort,
    /// The bound that was full in most of the slots the session could not
    /// use.
    Capacity { limit: Limit },
}

/// The plan of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPlan {
    pub evse: EvseId,
    pub phases: Phases,
    /// One per slot of the horizon; zero or at least the EVSE's minimum.
    pub currents: Vec<Current>,
    pub delivered_wh: u32,
    pub unmet_wh: u32,
    pub unmet: Option<Unmet>,
    /// In micro-units of the currency.
    pub cost: i64,
}

/// Plans of all sessions, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub sessions: Vec<SessionPlan>,
    pub delivered_wh: u64,
    pub demanded_wh: u64,
    /// In micro-units of the currency.
    pub cost: i64,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("session on unknown EVSE {0}")]
    UnknownEvse(EvseId),
    #[error("two sessions overlap on EVSE {0}")]
    Overlap(EvseId),
    #[error("session on EVSE {0}: window must be non-empty and inside the horizon")]
    BadWindow(EvseId),
    #[error("dynamic mode needs a building load forecast for every slot")]
    MissingBuildingLoad,
}

/// One session as the planner works on it. Currents are deciamperes;
/// energy is counted in "units" of 0.1 A for one slot on the session's
/// phases, `n × V / 40` Wh each.
#[derive(Clone)]
struct Car {
    min: i64,
    cap: i64,
    n: i64,
    need: i64,
    window: (usize, usize),
    cons: Vec<(usize, i64)>,
}

/// The per-slot constraints of a site, as in [`crate::allocate()`]:
/// index `node × 3 + grid phase`, the power cap last.
#[derive(Clone)]
pub(crate) struct Constraints {
    pub(crate) slack: Vec<Vec<i64>>,
    pub(crate) power_c: usize,
}

impl Constraints {
    pub(crate) fn new(
        site: &Site,
        slots: usize,
        building: Option<&[PhaseCurrents]>,
    ) -> Result<Self, PlanError> {
        let cfg = &site.config;
        let margin = match cfg.mode {
            Mode::Static => None,
            Mode::Dynamic { margin } | Mode::TrueDynamic { margin, .. } => Some(margin),
        };
        let building = match (margin, building) {
            (None, _) => None,
            (Some(m), Some(b)) if b.len() >= slots => Some((m, b)),
            (Some(_), _) => return Err(PlanError::MissingBuildingLoad),
        };
        let voltage = i64::from(cfg.voltage);
        let power_c = site.nodes.len() * 3;
        let slack = (0..slots)
            .map(|t| {
                let mut s = Vec::with_capacity(power_c + 1);
                for (n, limit) in site.node_limits.iter().enumerate() {
                    for p in Phase::ALL {
                        let mut v = i64::from(limit.get(p).deciamps());
                        if let (0, Some((m, b))) = (n, building) {
                            v -= i64::from(b[t].get(p).deciamps()) + i64::from(m.deciamps());
                        }
                        s.push(v);
                    }
                }
                // Deciwatts, as in the engine.
                s.push(cfg.power_cap_w.map_or(i64::MAX / 4, |w| {
                    let b: i64 = building.map_or(0, |(_, b)| {
                        b[t].0
                            .iter()
                            .map(|c| i64::from(c.deciamps()) * voltage)
                            .sum()
                    });
                    i64::from(w) * 10 - b
                }));
                s
            })
            .collect();
        Ok(Constraints { slack, power_c })
    }

    /// The constraints a car on EVSE `ei` using `phases` loads, with weights.
    pub(crate) fn of(site: &Site, ei: usize, phases: Phases) -> Vec<(usize, i64)> {
        let cfg = &site.config;
        let evse = &cfg.evses[ei];
        let mut cons = Vec::new();
        for &node in &site.paths[ei] {
            for gp in grid_phases(phases, evse.rotation) {
                cons.push((node as usize * 3 + gp.index(), 1));
            }
        }
        if cfg.power_cap_w.is_some() {
            cons.push((
                site.nodes.len() * 3,
                i64::from(phases.count()) * i64::from(cfg.voltage),
            ));
        }
        cons
    }

    pub(crate) fn limit(&self, site: &Site, c: usize) -> Limit {
        if c == self.power_c {
            Limit::PowerCap
        } else {
            Limit::Fuse {
                node: site.nodes[c / 3].clone(),
                phase: Phase::ALL[c % 3],
            }
        }
    }
}

struct Planner<'a> {
    cars: Vec<Car>,
    prices: &'a [i64],
    cons: Constraints,
    /// `cur[s][t]`.
    cur: Vec<Vec<i64>>,
    /// Per session, the slots of its window, cheapest first (earlier on a
    /// tie); shared so a loop over them can change the plan.
    by_price: Vec<std::rc::Rc<[usize]>>,
    /// Per slot, counts the changes to its currents; `room` remembers its
    /// answer per session and slot until the slot changes (the exchange
    /// moves ask the same many times over).
    version: Vec<u64>,
    room_memo: Vec<std::cell::Cell<(u64, i64)>>,
}

impl<'a> Planner<'a> {
    fn new(
        cars: Vec<Car>,
        prices: &'a [i64],
        cons: Constraints,
        by_price: Vec<std::rc::Rc<[usize]>>,
    ) -> Self {
        let slots = prices.len();
        Planner {
            cur: vec![vec![0; slots]; cars.len()],
            room_memo: vec![std::cell::Cell::new((0, 0)); cars.len() * slots],
            version: vec![1; slots],
            cars,
            prices,
            cons,
            by_price,
        }
    }

    /// More current `s` could get in slot `t`, by the constraints alone.
    fn room(&self, s: usize, t: usize) -> i64 {
        let memo = &self.room_memo[s * self.prices.len() + t];
        let (version, room) = memo.get();
        if version == self.version[t] {
            return room;
        }
        let slack = &self.cons.slack[t];
        let room = self.cars[s]
            .cons
            .iter()
            // Fuses weigh 1: spare them the division.
            .map(|&(c, w)| if w == 1 { slack[c] } else { slack[c] / w })
            .min()
            .unwrap_or(i64::MAX / 4);
        memo.set((self.version[t], room));
        room
    }

    fn set(&mut self, s: usize, t: usize, value: i64) {
        let delta = value - self.cur[s][t];
        self.version[t] += 1;
        self.cur[s][t] = value;
        for &(c, w) in &self.cars[s].cons {
            self.cons.slack[t][c] -= delta * w;
        }
    }

    fn valid(&self, s: usize, value: i64) -> bool {
        let car = &self.cars[s];
        value == 0 || (car.min..=car.cap).contains(&value)
    }

    /// Price-weighted cost of one unit of `s` in `t`.
    fn unit_cost(&self, s: usize, t: usize) -> i64 {
        self.prices[t] * self.cars[s].n
    }

    /// Applies `changes` (session, slot, new current) if every value obeys
    /// the min/max rule, no constraint of the touched slots is pushed below
    /// zero, and the cost falls; otherwise leaves everything as it was.
    fn try_apply(&mut self, changes: &[(usize, usize, i64)]) -> bool {
        self.try_apply_if(changes, true)
    }

    /// As [`Self::try_apply`]; `cheaper: false` accepts a dearer result
    /// (to deliver more energy, which comes first).
    fn try_apply_if(&mut self, changes: &[(usize, usize, i64)], cheaper: bool) -> bool {
        if changes.iter().any(|&(s, _, v)| !self.valid(s, v)) {
            return false;
        }
        let mut gain = 0i64;
        let mut old = Vec::with_capacity(changes.len());
        for &(s, t, v) in changes {
            gain += (self.cur[s][t] - v) * self.unit_cost(s, t);
            old.push((s, t, self.cur[s][t]));
        }
        if cheaper && gain <= 0 {
            return false;
        }
        let before: Vec<Vec<i64>> = changes
            .iter()
            .map(|&(_, t, _)| self.cons.slack[t].clone())
            .collect();
        for &(s, t, v) in changes {
            self.set(s, t, v);
        }
        let ok = changes.iter().zip(&before).all(|(&(_, t, _), b)| {
            self.cons.slack[t]
                .iter()
                .zip(b)
                .all(|(&after, &before)| after >= 0 || after >= before)
        });
        if !ok {
            for &(s, t, v) in old.iter().rev() {
                self.set(s, t, v);
            }
        }
        ok
    }

    /// Slots of the window of `s`, cheapest first (earlier on a tie).
    fn by_price(&self, s: usize) -> std::rc::Rc<[usize]> {
        self.by_price[s].clone()
    }

    fn greedy(&mut self, s: usize) {
        let (min, cap) = (self.cars[s].min, self.cars[s].cap);
        let mut left = self.cars[s].need;
        for &t in self.by_price(s).iter() {
            if left <= 0 {
                break;
            }
            let room = self.room(s, t).min(cap);
            if room < min {
                continue;
            }
            let give = room.min(left);
            if give >= min {
                self.set(s, t, give);
                left -= give;
                continue;
            }
            // A remainder below the minimum: plan the minimum here and take
            // the excess back from the dearest slots that can spare it.
            self.set(s, t, min);
            let mut excess = min - left;
            left = 0;
            let mut dearest: Vec<usize> = (self.cars[s].window.0..self.cars[s].window.1)
                .filter(|&u| u != t && self.cur[s][u] > min)
                .collect();
            dearest.sort_by_key(|&u| std::cmp::Reverse((self.prices[u], u)));
            for u in dearest {
                let take = (self.cur[s][u] - min).min(excess);
                self.set(s, u, self.cur[s][u] - take);
                excess -= take;
                if excess == 0 {
                    break;
                }
            }
        }
    }

    /// The largest amount `s` can move out of slot `from` that leaves a
    /// valid current there, at most `want`.
    fn movable(&self, s: usize, from: usize, want: i64) -> i64 {
        let have = self.cur[s][from];
        if want >= have {
            have
        } else {
            want.min(have - self.cars[s].min).max(0)
        }
    }

    fn left(&self, s: usize) -> i64 {
        let (a, d) = self.cars[s].window;
        self.cars[s].need - self.cur[s][a..d].iter().sum::<i64>()
    }

    /// A session short of its need takes room in its window, directly or
    /// by moving another session to a slot of that one's window with room.
    fn fill(&mut self, s: usize) -> bool {
        let mut changed = false;
        for &t2 in self.by_price(s).iter() {
            let left = self.left(s);
            if left <= 0 {
                break;
            }
            let (min, cap, have) = (self.cars[s].min, self.cars[s].cap, self.cur[s][t2]);
            let room = self.room(s, t2).min(cap - have);
            let add = |room: i64| {
                let add = room.min(left);
                match (have, add) {
                    (0, a) if a < min && room >= min => min,
                    (0, a) if a < min => 0,
                    (_, a) => a,
                }
            };
            let a = add(room);
            if a > 0 && self.try_apply_if(&[(s, t2, have + a)], false) {
                changed = true;
                continue;
            }
            'others: for b in 0..self.cars.len() {
                let hb = self.cur[b][t2];
                if b == s || hb == 0 {
                    continue;
                }
                for &t3 in self.by_price(b).iter() {
                    if t3 == t2 {
                        continue;
                    }
                    let (bmin, bcap, b3) = (self.cars[b].min, self.cars[b].cap, self.cur[b][t3]);
                    let broom = self.room(b, t3).min(bcap - b3);
                    let mut give = self.movable(b, t2, broom);
                    if b3 == 0 && give < bmin {
                        give = bmin;
                        if broom < give || self.movable(b, t2, give) != give {
                            continue;
                        }
                    }
                    if give <= 0 {
                        continue;
                    }
                    self.set(b, t2, hb - give);
                    let room = self.room(s, t2).min(cap - have);
                    self.set(b, t2, hb);
                    let a = add(room);
                    if a > 0
                        && self.try_apply_if(
                            &[(b, t2, hb - give), (b, t3, b3 + give), (s, t2, have + a)],
                            false,
                        )
                    {
                        changed = true;
                        break 'others;
                    }
                }
            }
        }
        changed
    }

    /// Takes the plan of `s` out and plans it again greedily around the
    /// others; keeps the new plan if it delivers as much, cheaper.
    fn replan(&mut self, s: usize) -> bool {
        let (a, d) = self.cars[s].window;
        let old: Vec<i64> = self.cur[s][a..d].to_vec();
        let cost = |p: &Self| (a..d).map(|t| p.cur[s][t] * p.unit_cost(s, t)).sum::<i64>();
        let (old_left, old_cost) = (self.left(s).max(0), cost(self));
        for t in a..d {
            self.set(s, t, 0);
        }
        self.greedy(s);
        if (self.left(s).max(0), cost(self)) < (old_left, old_cost) {
            return true;
        }
        for (t, &v) in (a..d).zip(&old) {
            self.set(s, t, v);
        }
        false
    }

    /// One round of improvement; true if anything changed. `eject`: try
    /// the eject move too, where shift and chain fail.
    fn improve(&mut self, eject: bool) -> bool {
        let mut changed = false;
        for s in 0..self.cars.len() {
            if self.cars[s].cap > 0 && self.left(s) > 0 {
                changed |= self.fill(s);
            }
        }

        for s in 0..self.cars.len() {
            let (a, d) = self.cars[s].window;
            let mut used: Vec<usize> = (a..d).filter(|&t| self.cur[s][t] > 0).collect();
            used.sort_by_key(|&t| std::cmp::Reverse((self.prices[t], t)));
            let cheap = self.by_price(s);
            for &t1 in &used {
                for &t2 in cheap.iter() {
                    if self.prices[t2] >= self.prices[t1] || self.cur[s][t1] == 0 {
                        break;
                    }
                    changed |= self.shift(s, t1, t2)
                        || self.chain(s, t1, t2)
                        || (eject && self.eject(s, t1, t2));
                }
            }
        }
        changed
    }

    /// `s` moves current from `t1` to the cheaper `t2` where there is room.
    fn shift(&mut self, s: usize, t1: usize, t2: usize) -> bool {
        let room = self.room(s, t2).min(self.cars[s].cap - self.cur[s][t2]);
        let mut delta = self.movable(s, t1, room);
        if self.cur[s][t2] == 0 && delta < self.cars[s].min {
            // Make the minimum in t2 by taking more from t1 if t1 allows it.
            delta = self.cars[s].min;
            if room < delta || self.movable(s, t1, delta) != delta {
                return false;
            }
        }
        delta > 0
            && self.try_apply(&[
                (s, t1, self.cur[s][t1] - delta),
                (s, t2, self.cur[s][t2] + delta),
            ])
    }

    /// `t2` is full for `s`: another session `b` charging in `t2` moves out
    /// to a slot `t3` of its window cheaper than `t1`, and `s` takes its place.
    fn chain(&mut self, s: usize, t1: usize, t2: usize) -> bool {
        // Only worth it where a constraint, not the car, stops s.
        let wants = (self.cars[s].cap - self.cur[s][t2]).min(self.cur[s][t1]);
        let room0 = self.room(s, t2);
        if wants <= 0 || room0 >= wants.max(self.cars[s].min) {
            return false;
        }
        // The constraints that stop s: only a session loading all of them
        // can make room for it by leaving.
        let binding: Vec<usize> = self.cars[s]
            .cons
            .iter()
            .filter(|&&(c, w)| self.cons.slack[t2][c] / w == room0)
            .map(|&(c, _)| c)
            .collect();
        let (p1, p2) = (self.prices[t1], self.prices[t2]);
        let ns = self.cars[s].n;
        // What s could move at most, whatever b frees.
        let most = self.cur[s][t1].min(self.cars[s].cap - self.cur[s][t2]);
        for b in 0..self.cars.len() {
            let have = self.cur[b][t2];
            if b == s
                || have == 0
                || !binding
                    .iter()
                    .all(|&c| self.cars[b].cons.iter().any(|&(cb, _)| cb == c))
            {
                continue;
            }
            let nb = self.cars[b].n;
            // All of b, all above its minimum, or as much as s gives up;
            // with each, what s can then move from t1 to t2 (0: nothing).
            let options = [
                have,
                have - self.cars[b].min,
                self.movable(b, t2, self.cur[s][t1]),
            ]
            .map(|give| {
                (
                    give,
                    if give > 0 {
                        self.taken(s, t1, t2, b, give)
                    } else {
                        0
                    },
                )
            });
            // s saves (p1 − p2) per unit of its own, b pays (p3 − p2) per
            // unit of b's, and s can take about what b frees: past the
            // dearest t3 any option pays for, no option does.
            let free = room0.max(0);
            let worth = |p3: i64| {
                nb * (p3 - p2) < 2 * ns * (p1 - p2)
                    && options.iter().any(|&(give, delta)| {
                        delta > 0 && ns * most.min(give + free) * (p1 - p2) > nb * give * (p3 - p2)
                    })
            };
            for &t3 in self.by_price(b).iter() {
                let p3 = self.prices[t3];
                if !worth(p3) {
                    break;
                }
                if t3 == t2 {
                    continue;
                }
                let mut broom = None;
                for &(give, delta) in &options {
                    if delta <= 0 || ns * most.min(give + free) * (p1 - p2) <= nb * give * (p3 - p2)
                    {
                        continue;
                    }
                    // b must fit in t3 (in t1, s is about to make room).
                    let b3 = self.cur[b][t3] + give;
                    if !self.valid(b, b3)
                        || (t3 != t1 && *broom.get_or_insert_with(|| self.room(b, t3)) < give)
                    {
                        continue;
                    }
                    let changes = [
                        (b, t2, have - give),
                        (s, t2, self.cur[s][t2] + delta),
                        (s, t1, self.cur[s][t1] - delta),
                        // t3 may coincide with t1, where s has just made room.
                        (b, t3, b3),
                    ];
                    if self.try_apply(&changes) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// How much `s` can move from `t1` to `t2` once `b` gives up `give` in
    /// `t2`, keeping both of its currents valid; 0 if nothing.
    fn taken(&self, s: usize, t1: usize, t2: usize, b: usize, give: i64) -> i64 {
        let slack = &self.cons.slack[t2];
        let bcons = &self.cars[b].cons;
        let room = self.cars[s]
            .cons
            .iter()
            .map(|&(c, w)| {
                let freed = bcons
                    .iter()
                    .find(|&&(cb, _)| cb == c)
                    .map_or(0, |&(_, wb)| give * wb);
                (slack[c] + freed) / w
            })
            .min()
            .unwrap_or(i64::MAX / 4)
            .min(self.cars[s].cap - self.cur[s][t2]);
        let mut delta = self.movable(s, t1, room);
        if self.cur[s][t2] == 0 && delta < self.cars[s].min {
            delta = self.cars[s].min;
            if room < delta || self.movable(s, t1, delta) != delta {
                return 0;
            }
        }
        delta.max(0)
    }

    /// `t2` is full for `s` on one or more of its constraints (typically
    /// two or three grid phases, each filled by a different single-phase
    /// car): for each, one session charging there moves out of `t2` to a
    /// slot of its own window, and `s` moves as much as it can from `t1`
    /// into the room they leave. Kept if the whole costs less.
    fn eject(&mut self, s: usize, t1: usize, t2: usize) -> bool {
        let (min, cap, ns) = (self.cars[s].min, self.cars[s].cap, self.cars[s].n);
        let (have1, have2) = (self.cur[s][t1], self.cur[s][t2]);
        let mut delta = self.movable(s, t1, cap - have2);
        if have2 == 0 && delta < min {
            delta = min;
            if cap - have2 < delta || self.movable(s, t1, delta) != delta {
                return false;
            }
        }
        if delta <= 0 {
            return false;
        }
        // What s saves: the others' moves must cost less in all.
        let (p1, p2) = (self.prices[t1], self.prices[t2]);
        let budget = ns * (p1 - p2) * delta;
        let mut changes = vec![(s, t1, have1 - delta), (s, t2, have2 + delta)];
        // Applied tentatively so each eviction sees the room of the others;
        // undone before the whole is checked by try_apply.
        let mut undo = vec![(s, t1, have1)];
        self.set(s, t1, have1 - delta);
        let mut spent = 0i64;
        let mut moved: Vec<usize> = vec![s];
        let mut ok = true;
        for i in 0..self.cars[s].cons.len() {
            let (c, w) = self.cars[s].cons[i];
            // Earlier evictions may have freed this constraint too.
            let deficit = delta * w - self.cons.slack[t2][c];
            if deficit <= 0 {
                continue;
            }
            // The cheapest eviction that frees it: (cost, b, t3, amount).
            let mut best: Option<(i64, usize, usize, i64)> = None;
            for b in 0..self.cars.len() {
                let hb = self.cur[b][t2];
                if hb == 0 || moved.contains(&b) {
                    continue;
                }
                let Some(&(_, wb)) = self.cars[b].cons.iter().find(|&&(cb, _)| cb == c) else {
                    continue;
                };
                let need = (deficit + wb - 1) / wb;
                if need > hb {
                    continue;
                }
                let (bmin, nb) = (self.cars[b].min, self.cars[b].n);
                // Just the deficit, at least b's minimum (for a slot where b
                // does not charge yet), or all of b; each, if b is left
                // with a valid current. Zero: no (more) search.
                let mut options = [need, need.max(bmin), hb];
                for i in 0..options.len() {
                    let g = options[i];
                    if !self.valid(b, hb - g) || options[..i].contains(&g) {
                        options[i] = 0;
                    }
                }
                // One pass over b's slots, cheapest first: the first slot
                // each amount fits in is the cheapest for it.
                for &t3 in self.by_price(b).iter() {
                    let dp = self.prices[t3] - p2;
                    let mut broom = None;
                    let mut open = false;
                    for g in &mut options {
                        let cost = nb * dp * *g;
                        if *g == 0
                            || spent + cost >= budget
                            || best.is_some_and(|(bc, ..)| cost >= bc)
                        {
                            *g = 0;
                            continue;
                        }
                        open = true;
                        let b3 = self.cur[b][t3] + *g;
                        if t3 == t2
                            || !self.valid(b, b3)
                            || *broom.get_or_insert_with(|| self.room(b, t3)) < *g
                        {
                            continue;
                        }
                        best = Some((cost, b, t3, *g));
                        *g = 0;
                    }
                    if !open {
                        break;
                    }
                }
            }
            let Some((cost, b, t3, g)) = best else {
                ok = false;
                break;
            };
            let (hb, b3) = (self.cur[b][t2], self.cur[b][t3]);
            changes.push((b, t2, hb - g));
            changes.push((b, t3, b3 + g));
            undo.push((b, t2, hb));
            undo.push((b, t3, b3));
            self.set(b, t2, hb - g);
            self.set(b, t3, b3 + g);
            moved.push(b);
            spent += cost;
        }
        for &(u, t, v) in undo.iter().rev() {
            self.set(u, t, v);
        }
        ok && changes.len() > 2 && self.try_apply(&changes)
    }
}

/// Plans every session over the horizon. Sessions come back in input order.
pub fn plan(
    site: &Site,
    horizon: &Horizon,
    sessions: &[PlanSession],
) -> Result<Schedule, PlanError> {
    let cfg = &site.config;
    let slots = horizon.prices.len();
    let voltage = i64::from(cfg.voltage);
    let cons = Constraints::new(site, slots, horizon.building_load.as_deref())?;
    let mut cars = Vec::with_capacity(sessions.len());
    let mut busy: Vec<Vec<(usize, usize)>> = vec![Vec::new(); cfg.evses.len()];
    for s in sessions {
        let &ei = site
            .evse_index
            .get(&s.evse)
            .ok_or_else(|| PlanError::UnknownEvse(s.evse.clone()))?;
        let ei = ei as usize;
        if s.arrival >= s.departure || s.departure > slots {
            return Err(PlanError::BadWindow(s.evse.clone()));
        }
        if busy[ei]
            .iter()
            .any(|&(a, d)| s.arrival < d && a < s.departure)
        {
            return Err(PlanError::Overlap(s.evse.clone()));
        }
        busy[ei].push((s.arrival, s.departure));
        let evse = &cfg.evses[ei];
        let phases = evse.phases_wired.min(s.car_phases.unwrap_or(Phases::Three));
        let n = i64::from(phases.count());
        let min = i64::from(evse.min_current.deciamps());
        let cap = i64::from(
            s.car_max
                .map_or(evse.max_current, |m| m.min(evse.max_current))
                .deciamps(),
        );
        // Units are n × V / 40 Wh; round the need up to whole units.
        let need = (i64::from(s.energy_wh) * 40 + n * voltage - 1) / (n * voltage);
        cars.push(Car {
            min,
            // A car slower than the EVSE's minimum cannot be planned.
            cap: if cap < min { 0 } else { cap },
            n,
            need,
            window: (s.arrival, s.departure),
            cons: Constraints::of(site, ei, phases),
        });
    }
    let by_price: Vec<std::rc::Rc<[usize]>> = cars
        .iter()
        .map(|c| {
            let mut slots: Vec<usize> = (c.window.0..c.window.1).collect();
            slots.sort_by_key(|&t| (horizon.prices[t], t));
            slots.into()
        })
        .collect();
    // Two starting orders, as neither is always the better: earliest
    // departure first (the least flexible choose first), and three-phase
    // cars first (a three-phase car carries three times the energy per
    // ampere of a congested phase, so cheap phase capacity is worth more to
    // it). Both are improved; the plan delivering more, then cheaper, wins.
    let run = |three_phase_first: bool| {
        let mut order: Vec<usize> = (0..sessions.len()).collect();
        order.sort_by_key(|&i| {
            let first = if three_phase_first { -cars[i].n } else { 0 };
            (
                std::cmp::Reverse(sessions[i].priority),
                first,
                sessions[i].departure,
                i,
            )
        });
        let mut p = Planner::new(
            cars.clone(),
            &horizon.prices,
            cons.clone(),
            by_price.clone(),
        );
        for &s in &order {
            if p.cars[s].cap > 0 {
                p.greedy(s);
            }
        }
        // Eject only once the plan has settled without it: from the start
        // it leads some days to a worse local optimum, and after it can
        // only make the plan cheaper.
        for eject in [false, true] {
            for _ in 0..50 {
                let mut changed = p.improve(eject);
                for s in 0..p.cars.len() {
                    changed |= p.cars[s].cap > 0 && p.replan(s);
                }
                if !changed {
                    break;
                }
            }
        }
        let score = p
            .cars
            .iter()
            .enumerate()
            .fold((0i64, 0i64), |(left, cost), (s, car)| {
                let (a, d) = car.window;
                let cost = cost + (a..d).map(|t| p.cur[s][t] * p.unit_cost(s, t)).sum::<i64>();
                (left + p.left(s).max(0) * car.n, cost)
            });
        (score, p)
    };
    let (a, b) = (run(false), run(true));
    let p = if b.0 < a.0 { b.1 } else { a.1 };

    let mut out = Vec::with_capacity(sessions.len());
    let (mut delivered_total, mut demanded_total, mut cost_total) = (0u64, 0u64, 0i64);
    for (s, input) in sessions.iter().enumerate() {
        let car = &p.cars[s];
        let unit_wh = car.n * voltage; // × 1/40 Wh
                                       // The car draws its plan in time order and stops when full.
        let (mut left, mut cost) = (car.need, 0i128);
        for t in car.window.0..car.window.1 {
            let drawn = p.cur[s][t].min(left);
            left -= drawn;
            cost += i128::from(drawn * unit_wh) * i128::from(horizon.prices[t]);
        }
        let delivered_units = car.need - left;
        let delivered_wh =
            ((delivered_units * unit_wh) / 40).min(i64::from(input.energy_wh)) as u32;
        let unmet_wh = input.energy_wh - delivered_wh;
        let unmet = (left > 0).then(|| {
            let window = (car.window.1 - car.window.0) as i64;
            if car.cap * window < car.need {
                Unmet::WindowTooShort
            } else {
                let mut count = vec![0u32; p.cons.power_c + 1];
                for t in car.window.0..car.window.1 {
                    if p.cur[s][t] < car.cap {
                        // What stops it now, with everybody else in place.
                        let saved = p.cur[s][t];
                        if let Some(c) = p.cars[s]
                            .cons
                            .iter()
                            .find(|&&(c, w)| p.cons.slack[t][c] / w + saved < car.cap)
                            .map(|&(c, _)| c)
                        {
                            count[c] += 1;
                        }
                    }
                }
                let c = (0..count.len()).max_by_key(|&c| count[c]).unwrap_or(0);
                Unmet::Capacity {
                    limit: p.cons.limit(site, c),
                }
            }
        });
        // Units × V × n / 40 Wh × price per kWh / 1000.
        let cost = (cost as f64 / 40_000.0).round() as i64;
        delivered_total += u64::from(delivered_wh);
        demanded_total += u64::from(input.energy_wh);
        cost_total += cost;
        out.push(SessionPlan {
            evse: input.evse.clone(),
            phases: match car.n {
                1 => Phases::One,
                _ => Phases::Three,
            },
            currents: p.cur[s]
                .iter()
                .map(|&c| Current::from_deciamps(c as u32))
                .collect(),
            delivered_wh,
            unmet_wh,
            unmet,
            cost,
        });
    }
    Ok(Schedule {
        sessions: out,
        delivered_wh: delivered_total,
        demanded_wh: demanded_total,
        cost: cost_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::{EvseConfig, Rotation, SiteConfig};

    fn site(grid: u32, evses: &[(Phases, Rotation)]) -> Site {
        Site::new(SiteConfig {
            grid: PhaseCurrents::uniform(Current::amps(grid)),
            boards: vec![],
            evses: evses
                .iter()
                .enumerate()
                .map(|(i, &(phases_wired, rotation))| EvseConfig {
                    id: EvseId::parse(format!("e{i}")).unwrap(),
                    board: None,
                    phases_wired,
                    rotation,
                    max_current: Current::amps(16),
                    min_current: Current::amps(6),
                    phase_switching: false,
                })
                .collect(),
            mode: Mode::Static,
            power_cap_w: None,
            voltage: 230,
            rotation_secs: 900,
        })
        .unwrap()
    }

    fn session(evse: usize, wh: u32, window: (usize, usize), prio: u8) -> PlanSession {
        PlanSession {
            evse: EvseId::parse(format!("e{evse}")).unwrap(),
            car_phases: None,
            car_max: None,
            priority: Priority(prio),
            energy_wh: wh,
            arrival: window.0,
            departure: window.1,
        }
    }

    fn horizon(prices: &[i64]) -> Horizon {
        Horizon {
            prices: prices.to_vec(),
            building_load: None,
        }
    }

    fn amps(p: &SessionPlan) -> Vec<u32> {
        p.currents.iter().map(|c| c.deciamps() / 10).collect()
    }

    /// 16 A × 3 × 230 V for 15 minutes.
    const SLOT_AT_16A_WH: u32 = 2760;
    /// EUR 0.40, 0.10, 0.20, 0.30 per kWh.
    const PRICES: [i64; 4] = [400_000, 100_000, 200_000, 300_000];

    #[test]
    fn two_cars_share_the_cheap_slots_by_departure() {
        // 16 A fuse: one car at a time. A leaves after slot 1 and needs one
        // slot, B stays all day and needs two. Best: A in slot 1 (0.10),
        // B in slots 2 and 3 (0.20 + 0.30), 2.76 kWh each.
        let s = site(16, &[(Phases::Three, Rotation::L1L2L3); 2]);
        let plan = plan(
            &s,
            &horizon(&PRICES),
            &[
                session(0, SLOT_AT_16A_WH, (0, 2), 0),
                session(1, 2 * SLOT_AT_16A_WH, (0, 4), 0),
            ],
        )
        .unwrap();
        assert_eq!(amps(&plan.sessions[0]), [0, 16, 0, 0]);
        assert_eq!(amps(&plan.sessions[1]), [0, 0, 16, 16]);
        assert_eq!(plan.sessions[0].cost, 276_000);
        assert_eq!(plan.sessions[1].cost, 552_000 + 828_000);
        assert_eq!(plan.cost, 1_656_000);
        assert_eq!(plan.delivered_wh, plan.demanded_wh);
        assert!(plan.sessions.iter().all(|p| p.unmet.is_none()));
    }

    #[test]
    fn a_priority_car_that_grabbed_the_cheap_slot_is_moved_by_a_chain() {
        // B has priority and is planned first: it takes slot 1, leaving A
        // only slot 0 at 0.40. The chain move puts B in slot 2 and A in
        // slot 1: the same plan as above, 0.20 per kWh cheaper for A.
        let s = site(16, &[(Phases::Three, Rotation::L1L2L3); 2]);
        let plan = plan(
            &s,
            &horizon(&PRICES),
            &[
                session(0, SLOT_AT_16A_WH, (0, 2), 0),
                session(1, 2 * SLOT_AT_16A_WH, (0, 4), 1),
            ],
        )
        .unwrap();
        assert_eq!(amps(&plan.sessions[0]), [0, 16, 0, 0]);
        assert_eq!(amps(&plan.sessions[1]), [0, 0, 16, 16]);
        assert_eq!(plan.cost, 1_656_000);
    }

    #[test]
    fn two_single_phase_cars_make_way_together_for_a_three_phase_car() {
        // 16 A fuse. B (on L1) and C (on L2) have priority and take the
        // cheap slot 1; A, three-phase, then finds L1 and L2 full there and
        // goes to slot 0 at 0.40. Neither B nor C moving alone lets A in
        // (a chain frees one phase): the eject move sends both to slot 0,
        // and A's saving (3 phases × 0.30) pays for their extra cost
        // (2 × 1 phase × 0.30).
        let s = site(
            16,
            &[
                (Phases::Three, Rotation::L1L2L3),
                (Phases::One, Rotation::L1L2L3),
                (Phases::One, Rotation::L2L3L1),
            ],
        );
        let plan = plan(
            &s,
            &horizon(&PRICES[..2]),
            &[
                session(0, SLOT_AT_16A_WH, (0, 2), 0),
                session(1, SLOT_AT_16A_WH / 3, (0, 2), 1),
                session(2, SLOT_AT_16A_WH / 3, (0, 2), 1),
            ],
        )
        .unwrap();
        assert_eq!(amps(&plan.sessions[0]), [0, 16]);
        assert_eq!(amps(&plan.sessions[1]), [16, 0]);
        assert_eq!(amps(&plan.sessions[2]), [16, 0]);
        assert_eq!(plan.cost, 276_000 + 2 * 368_000);
    }

    #[test]
    fn single_phase_cars_on_rotated_evses_charge_side_by_side() {
        let s = site(
            16,
            &[
                (Phases::One, Rotation::L1L2L3),
                (Phases::One, Rotation::L2L3L1),
            ],
        );
        let plan = plan(
            &s,
            &horizon(&PRICES),
            &[session(0, 920, (0, 4), 0), session(1, 920, (0, 4), 0)],
        )
        .unwrap();
        // 16 A × 230 V × 0.25 h = 920 Wh: both in the cheapest slot.
        assert_eq!(amps(&plan.sessions[0]), [0, 16, 0, 0]);
        assert_eq!(amps(&plan.sessions[1]), [0, 16, 0, 0]);
    }

    #[test]
    fn a_small_remainder_is_planned_at_the_minimum_and_paid_for_as_used() {
        // 1 kWh at 3 × 230 V needs 5.8 A for a slot; the minimum is 6 A.
        let s = site(32, &[(Phases::Three, Rotation::L1L2L3)]);
        let plan = plan(&s, &horizon(&PRICES), &[session(0, 1000, (0, 4), 0)]).unwrap();
        assert_eq!(amps(&plan.sessions[0]), [0, 6, 0, 0]);
        assert_eq!(plan.sessions[0].delivered_wh, 1000);
        // 58 units of 17.25 Wh at 0.10 per kWh.
        assert_eq!(plan.sessions[0].cost, 100_050);
    }

    #[test]
    fn a_remainder_takes_its_minimum_from_the_dearest_slot() {
        // 3.26 kWh: 16 A in the cheapest slot leaves 2.9 A for the next,
        // under the minimum. The next slot gets 6 A and the cheapest gives
        // the 3.1 A excess back.
        let s = site(32, &[(Phases::Three, Rotation::L1L2L3)]);
        let plan = plan(&s, &horizon(&PRICES), &[session(0, 3260, (0, 4), 0)]).unwrap();
        let a = &plan.sessions[0];
        let total: u32 = a.currents.iter().map(|c| c.deciamps()).sum();
        // ceil(3260 × 40 / 690) = 189 units.
        assert_eq!(total, 189);
        assert_eq!(a.currents[1].deciamps(), 129);
        assert_eq!(a.currents[2].deciamps(), 60);
        assert_eq!(a.delivered_wh, 3260);
    }

    #[test]
    fn what_does_not_fit_is_reported_with_the_full_fuse() {
        let s = site(16, &[(Phases::Three, Rotation::L1L2L3); 2]);
        let plan = plan(
            &s,
            &horizon(&PRICES[..2]),
            &[
                session(0, 2 * SLOT_AT_16A_WH, (0, 2), 0),
                session(1, SLOT_AT_16A_WH, (0, 2), 0),
            ],
        )
        .unwrap();
        assert_eq!(plan.delivered_wh, u64::from(2 * SLOT_AT_16A_WH));
        assert_eq!(plan.sessions[1].unmet_wh, SLOT_AT_16A_WH);
        assert!(matches!(
            plan.sessions[1].unmet,
            Some(Unmet::Capacity {
                limit: Limit::Fuse { .. }
            })
        ));
        let short = plan_short(&s);
        assert_eq!(short.sessions[0].unmet, Some(Unmet::WindowTooShort));
    }

    fn plan_short(s: &Site) -> Schedule {
        plan(
            s,
            &horizon(&PRICES),
            &[session(0, 3 * SLOT_AT_16A_WH, (1, 3), 0)],
        )
        .unwrap()
    }

    #[test]
    fn bad_input_is_refused() {
        let s = site(16, &[(Phases::Three, Rotation::L1L2L3)]);
        let h = horizon(&PRICES);
        assert!(matches!(
            plan(&s, &h, &[session(0, 1, (2, 2), 0)]),
            Err(PlanError::BadWindow(_))
        ));
        assert!(matches!(
            plan(
                &s,
                &h,
                &[session(0, 1, (0, 2), 0), session(0, 1, (1, 3), 0)]
            ),
            Err(PlanError::Overlap(_))
        ));
        assert!(plan(
            &s,
            &h,
            &[session(0, 1, (0, 2), 0), session(0, 1, (2, 3), 0)]
        )
        .is_ok());
        assert!(matches!(
            plan(&s, &h, &[session(3, 1, (0, 2), 0)]),
            Err(PlanError::UnknownEvse(_))
        ));
    }
}
