//! What start-up current costs: a day replayed under three rules for what an
//! EVSE without a car may draw.
//!
//! A car that plugs in starts at whatever its EVSE already allows (its
//! TxDefaultProfile); the balancer needs a round trip — a recomputation and a
//! SetChargingProfile, about 1–5 s — before the others are lowered and the
//! new car has its share. What idle EVSEs hold until then is the choice:
//!
//! - [`Startup::Unsafe`]: every idle EVSE keeps a fixed "busy share" (its
//!   allocation with every EVSE busy) while the running cars get the whole
//!   fuse — the balancer's old rule. A car starts at once, and for one round
//!   trip the chargers may draw more than the fuse.
//! - [`Startup::Headroom`]: each idle EVSE's minimum (6 A) is kept free, as
//!   far as it fits after the running cars' minimum; the running cars share
//!   the rest. A car starts at once at its minimum; the room kept free is lost
//!   to the running cars all day.
//! - [`Startup::Leftover`]: the running cars are served first and the idle
//!   EVSEs get only what they leave, in whole amperes (0 below the minimum) —
//!   the rule the balancer has now. A car on an EVSE without room waits at
//!   0 A for one round trip.
//!
//! The day is `simulate`'s, minute by minute
//! with the same car model; a car that is full counts as gone (its EVSE is
//! idle). Start-ups are played out inside their minute: for the round trip
//! the running cars keep last minute's limits and the new car has its EVSE's
//! default from last minute; then everybody has this minute's allocation.
//! The report compares the energy delivered with the ideal — the
//! [`Strategy::Immediate`] day, where a car has its share from its first
//! second and no room is held back — and says how far the sum of what every
//! charger *may* draw (plus the building, at the grid connection) went above
//! a fuse, and for how long what the cars actually drew did.

use crate::allocate::{
    allocate, allocate_with_reserved, grid_phases, ChargeState, Conditions, EvseAllocation,
    Priority, Reserved, SessionInput,
};
use crate::simulate::{simulate, Day, SimError, Strategy, DAY_STEPS, STEP_SECS};
use crate::site::{Mode, Site, SiteConfig};
use crate::units::{Current, Phase, Phases, Timestamp};
use serde::{Deserialize, Serialize};

/// What an EVSE without a car may draw (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Startup {
    Unsafe,
    Headroom,
    Leftover,
}

impl Startup {
    pub const ALL: [Startup; 3] = [Startup::Unsafe, Startup::Headroom, Startup::Leftover];
}

/// A day's outcome under one start-up rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartupReport {
    pub startup: Startup,
    pub round_trip_secs: u32,
    pub demanded_wh: f64,
    pub delivered_wh: f64,
    /// Delivered on the ideal day (every car at its share from its first
    /// second, nothing held back for idle EVSEs).
    pub ideal_wh: f64,
    /// Highest (what every charger may draw + the building, at the grid
    /// connection) / fuse over every node, phase, minute and start-up; 1.0
    /// is a full fuse.
    pub peak_allowed: f64,
    /// Minutes in which that sum was above a fuse at some moment.
    pub minutes_over: u32,
    /// Seconds in which what the cars actually drew (plus the building) was
    /// above a fuse: start-ups before the others were lowered.
    pub overload_secs: u32,
    /// Cars that waited a round trip at 0 A.
    pub waited: u32,
}

impl StartupReport {
    /// Energy lost against the ideal day; negative when more was delivered
    /// (by drawing above the fuse).
    pub fn lost_wh(&self) -> f64 {
        self.ideal_wh - self.delivered_wh
    }
}

struct Car {
    left: f64,
    delivered: f64,
    /// Per phase, deciamperes, last minute (what the engine sees measured).
    draw: u32,
    state: ChargeState,
}

/// Replays `day` with `startup`, each start-up taking `round_trip_secs`
/// (at most a minute).
pub fn simulate_startup(
    day: &Day,
    startup: Startup,
    round_trip_secs: u32,
) -> Result<StartupReport, SimError> {
    // The ideal day; it also checks the day is well-formed.
    let ideal = simulate(day, Strategy::Immediate)?;
    let site = Site::new(day.site.clone())?;
    let cfg = site.config();
    let voltage = f64::from(cfg.voltage);
    let rt = round_trip_secs.min(STEP_SECS);
    let ei: Vec<usize> = day
        .visits
        .iter()
        .map(|v| site.evse_index[&v.evse] as usize)
        .collect();
    let phases: Vec<Phases> = day
        .visits
        .iter()
        .zip(&ei)
        .map(|(v, &e)| cfg.evses[e].phases_wired.min(v.phases))
        .collect();
    let n_evses = cfg.evses.len();
    let busy = busy_shares(cfg)?;
    let mut cars: Vec<Car> = day
        .visits
        .iter()
        .map(|v| Car {
            left: f64::from(v.energy_wh),
            delivered: 0.0,
            draw: 0,
            state: ChargeState::Paused(Timestamp(v.arrive as i64 * 60)),
        })
        .collect();
    // Last minute: each car's limit, and each EVSE's default.
    let mut prev_given = vec![0u32; cars.len()];
    // Before the day, every EVSE idle.
    let mut prev_default = {
        let all: Vec<usize> = (0..n_evses).collect();
        let cond = Conditions {
            building_load: Some(day.building[0]),
            now: Timestamp(0),
        };
        match startup {
            Startup::Unsafe => busy.clone(),
            Startup::Headroom | Startup::Leftover => {
                idle_shares(&site, &all, &cond, &[], startup == Startup::Headroom)?
                    .into_iter()
                    .map(|(_, d)| d)
                    .collect()
            }
        }
    };
    let (mut peak, mut minutes_over, mut overload_secs, mut waited) = (0f64, 0u32, 0u32, 0u32);
    for m in 0..DAY_STEPS {
        let now = Timestamp(m as i64 * 60);
        let present: Vec<usize> = (0..cars.len())
            .filter(|&i| {
                let v = &day.visits[i];
                (v.arrive..v.depart).contains(&m) && cars[i].left > 1e-9
            })
            .collect();
        let mut occupied = vec![false; n_evses];
        for &i in &present {
            occupied[ei[i]] = true;
        }
        let idle: Vec<usize> = (0..n_evses).filter(|&e| !occupied[e]).collect();
        let (sessions, cond) =
            day.engine_input(m, &present, &phases, |i| (cars[i].state, cars[i].draw));
        let (out, defaults) = match startup {
            Startup::Unsafe => {
                let out = allocate(&site, &sessions, &cond)?;
                let d = idle.iter().map(|&e| (e, busy[e])).collect::<Vec<_>>();
                (out, d)
            }
            Startup::Leftover => {
                let out = allocate(&site, &sessions, &cond)?;
                let d = idle_shares(&site, &idle, &cond, &reserve(&out), false)?;
                (out, d)
            }
            Startup::Headroom => {
                // The running cars' minimum first, then each idle EVSE's
                // minimum while it fits, then the running cars share the rest.
                let first = allocate(&site, &sessions, &cond)?;
                let mins: Vec<Reserved> = first
                    .iter()
                    .filter(|a| !a.is_paused())
                    .map(|a| Reserved {
                        evse: a.evse.clone(),
                        current: site.evse(&a.evse).expect("known EVSE").min_current,
                        phases: a.phases,
                    })
                    .collect();
                let d = idle_shares(&site, &idle, &cond, &mins, true)?;
                let kept: Vec<Reserved> = d
                    .iter()
                    .filter(|&&(_, da)| da > 0)
                    .map(|&(e, da)| Reserved {
                        evse: cfg.evses[e].id.clone(),
                        current: Current::from_deciamps(da),
                        phases: cfg.evses[e].phases_wired,
                    })
                    .collect();
                let out = allocate_with_reserved(&site, &sessions, &cond, &kept)?;
                (out, d)
            }
        };
        let mut default = vec![0u32; n_evses];
        for &(e, d) in &defaults {
            default[e] = d;
        }

        // What every charger may draw, and what the cars draw, per node and
        // grid phase: the building at the grid connection first.
        let base = || {
            let mut load = vec![[0u32; 3]; site.nodes.len()];
            for p in Phase::ALL {
                load[0][p.index()] = day.building[m].get(p).deciamps();
            }
            load
        };
        let add = |load: &mut Vec<[u32; 3]>, e: usize, ph: Phases, d: u32| {
            for &node in &site.paths[e] {
                for gp in grid_phases(ph, cfg.evses[e].rotation) {
                    load[node as usize][gp.index()] += d;
                }
            }
        };
        let util = |load: &[[u32; 3]]| {
            let mut u = 0f64;
            for (n, l) in load.iter().enumerate() {
                for p in Phase::ALL {
                    let limit = site.node_limits[n].get(p).deciamps();
                    u = u.max(f64::from(l[p.index()]) / f64::from(limit));
                }
            }
            u
        };
        // Once everybody has this minute's limits.
        let mut allowed = base();
        let mut given = vec![0u32; cars.len()];
        for (&i, a) in present.iter().zip(&out) {
            given[i] = a.current.deciamps();
            add(&mut allowed, ei[i], a.phases, given[i]);
        }
        for &e in &idle {
            add(&mut allowed, e, cfg.evses[e].phases_wired, default[e]);
        }
        let mut u = util(&allowed);
        // During the start-ups of this minute: the others still at last
        // minute's limits, the new cars at their EVSE's default.
        let new: Vec<usize> = present
            .iter()
            .copied()
            .filter(|&i| day.visits[i].arrive == m)
            .collect();
        let mut start = vec![0u32; cars.len()];
        if !new.is_empty() {
            let mut before = base();
            let mut drawn = base();
            for &i in &present {
                let e = ei[i];
                let (lim, draw) = if day.visits[i].arrive == m {
                    let min = cfg.evses[e].min_current.deciamps();
                    start[i] = if prev_default[e] >= min {
                        prev_default[e]
                    } else {
                        waited += 1;
                        0
                    };
                    (start[i], start[i].min(day.visits[i].max_current.deciamps()))
                } else {
                    (prev_given[i], cars[i].draw)
                };
                add(&mut before, e, phases[i], lim);
                add(&mut drawn, e, phases[i], draw);
            }
            for &e in &idle {
                add(&mut before, e, cfg.evses[e].phases_wired, prev_default[e]);
            }
            u = u.max(util(&before));
            if util(&drawn) > 1.0 {
                overload_secs += rt;
            }
        }
        peak = peak.max(u);
        if u > 1.0 {
            minutes_over += 1;
        }

        // The minute's energy: a new car at its start for the round trip.
        let mut draw = vec![0u32; cars.len()];
        for &i in &present {
            let c = &mut cars[i];
            let v = &day.visits[i];
            let g = given[i];
            if g == 0 && matches!(c.state, ChargeState::Running(_)) {
                c.state = ChargeState::Paused(now);
            } else if g > 0 && matches!(c.state, ChargeState::Paused(_)) {
                c.state = ChargeState::Running(now);
            }
            let max = v.max_current.deciamps();
            let avg = if v.arrive == m {
                f64::from(start[i].min(max) * rt + g.min(max) * (STEP_SECS - rt))
                    / f64::from(STEP_SECS)
            } else {
                f64::from(g.min(max))
            };
            let n = f64::from(phases[i].count());
            let full_at = c.left * 600.0 / (n * voltage);
            let d = avg.min(full_at);
            let wh = d * n * voltage / 600.0;
            c.left -= wh;
            c.delivered += wh;
            draw[i] = d.ceil() as u32;
        }
        for (i, c) in cars.iter_mut().enumerate() {
            c.draw = draw[i];
            if !present.contains(&i) {
                if let ChargeState::Running(_) = c.state {
                    c.state = ChargeState::Paused(now);
                }
            }
        }
        prev_given = given;
        prev_default = default;
    }
    Ok(StartupReport {
        startup,
        round_trip_secs: rt,
        demanded_wh: ideal.demanded_wh,
        delivered_wh: cars.iter().map(|c| c.delivered).sum(),
        ideal_wh: ideal.delivered_wh,
        peak_allowed: peak,
        minutes_over,
        overload_secs,
        waited,
    })
}

fn reserve(out: &[EvseAllocation]) -> Vec<Reserved> {
    out.iter()
        .filter(|a| !a.is_paused())
        .map(|a| Reserved {
            evse: a.evse.clone(),
            current: a.current,
            phases: a.phases,
        })
        .collect()
}

/// Each idle EVSE's share of what `reserved` leaves, in whole amperes and 0
/// below its minimum; with `at_min`, at most its minimum.
fn idle_shares(
    site: &Site,
    idle: &[usize],
    cond: &Conditions,
    reserved: &[Reserved],
    at_min: bool,
) -> Result<Vec<(usize, u32)>, SimError> {
    let cfg = site.config();
    let sessions: Vec<SessionInput> = idle
        .iter()
        .map(|&e| SessionInput {
            evse: cfg.evses[e].id.clone(),
            car_phases: None,
            priority: Priority(0),
            state: ChargeState::Paused(Timestamp(0)),
            measured: None,
            pv: None,
            plan: at_min.then_some(cfg.evses[e].min_current),
        })
        .collect();
    let out = allocate_with_reserved(site, &sessions, cond, reserved)?;
    Ok(idle
        .iter()
        .zip(&out)
        .map(|(&e, a)| {
            let whole = a.current.deciamps() / 10 * 10;
            let d = if whole < cfg.evses[e].min_current.deciamps() {
                0
            } else {
                whole
            };
            (e, d)
        })
        .collect())
}

/// The old rule's default: each EVSE's allocation with every EVSE busy, in
/// static terms (the fuses alone).
fn busy_shares(cfg: &SiteConfig) -> Result<Vec<u32>, SimError> {
    let site = Site::new(SiteConfig {
        mode: Mode::Static,
        ..cfg.clone()
    })?;
    let all: Vec<SessionInput> = cfg
        .evses
        .iter()
        .map(|e| SessionInput {
            evse: e.id.clone(),
            car_phases: None,
            priority: Priority(0),
            state: ChargeState::Paused(Timestamp(0)),
            measured: None,
            pv: None,
            plan: None,
        })
        .collect();
    let cond = Conditions {
        building_load: None,
        now: Timestamp(0),
    };
    Ok(allocate(&site, &all, &cond)?
        .iter()
        .map(|a| a.current.deciamps())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{Visit, DAY_SLOTS};
    use crate::site::{EvseConfig, EvseId, Rotation};
    use crate::units::PhaseCurrents;

    /// The site: five EVSEs of 32 A on a 32 A fuse; two cars charge
    /// from noon, a third arrives ten minutes later. Every car wants more
    /// than the afternoon can give.
    fn three_cars() -> Day {
        let evse = |i: usize| EvseId::parse(format!("e{i}")).unwrap();
        let site = SiteConfig {
            grid: PhaseCurrents::uniform(Current::amps(32)),
            boards: vec![],
            evses: (0..5)
                .map(|i| EvseConfig {
                    id: evse(i),
                    board: None,
                    phases_wired: Phases::Three,
                    rotation: Rotation::L1L2L3,
                    max_current: Current::amps(32),
                    min_current: Current::amps(6),
                    phase_switching: false,
                })
                .collect(),
            mode: Mode::Static,
            power_cap_w: None,
            voltage: 230,
            rotation_secs: 900,
        };
        let visit = |i: usize, arrive: usize| Visit {
            evse: evse(i),
            arrive,
            depart: 300,
            energy_wh: 200_000,
            phases: Phases::Three,
            max_current: Current::amps(32),
            priority: Priority(0),
        };
        Day {
            site,
            prices: vec![100_000; DAY_SLOTS],
            building: vec![PhaseCurrents::default(); DAY_STEPS],
            visits: vec![visit(0, 0), visit(1, 0), visit(2, 10)],
        }
    }

    #[test]
    fn the_old_rule_exceeds_the_fuse_while_the_third_car_starts() {
        let r = simulate_startup(&three_cars(), Startup::Unsafe, 3).unwrap();
        // Two cars at 16 A and the new one at its busy share of 6.4 A draw
        // 38.4 A for one round trip; what the chargers may draw is more
        // still (every idle EVSE holds its 6.4 A beside the full fuse).
        assert_eq!(r.overload_secs, 3);
        assert!(r.peak_allowed >= 1.2 - 1e-9, "{r:?}");
        assert!(r.minutes_over > 200, "{r:?}");
        assert_eq!(r.waited, 0);
    }

    #[test]
    fn leftover_never_exceeds_the_fuse_and_costs_one_round_trip() {
        let r = simulate_startup(&three_cars(), Startup::Leftover, 3).unwrap();
        assert!(r.peak_allowed <= 1.0, "{r:?}");
        assert_eq!((r.minutes_over, r.overload_secs), (0, 0));
        // The running cars use the whole fuse: the third car waits 3 s at
        // 0 A (3 s × 10.6 A × 3 × 230 V ≈ 6 Wh); the first two started on
        // their 6 A defaults, 10 A below their share for 3 s (≈ 12 Wh).
        assert_eq!(r.waited, 1);
        assert!(r.lost_wh() > 15.0 && r.lost_wh() < 20.0, "{r:?}");
    }

    #[test]
    fn headroom_is_safe_but_loses_energy_all_day() {
        let day = three_cars();
        let r = simulate_startup(&day, Startup::Headroom, 3).unwrap();
        let leftover = simulate_startup(&day, Startup::Leftover, 3).unwrap();
        assert!(r.peak_allowed <= 1.0, "{r:?}");
        assert_eq!((r.minutes_over, r.overload_secs), (0, 0));
        // For the first ten minutes two cars share 32 − 3 × 6 = 14 A
        // instead of 32 A: 2 × 9 A × 3 × 230 V × 10 min ≈ 2 kWh.
        assert!(r.lost_wh() > 1_500.0, "{r:?}");
        assert!(
            r.lost_wh() > 100.0 * leftover.lost_wh(),
            "{r:?} {leftover:?}"
        );
        assert_eq!(r.waited, 0);
    }

    #[test]
    fn the_brf_day_is_within_its_fuses_under_leftover_and_headroom_only() {
        let day = Day::generate(crate::simulate::DayParams::brf(1));
        for s in Startup::ALL {
            let r = simulate_startup(&day, s, 3).unwrap();
            assert!(r.delivered_wh <= r.demanded_wh + 1e-6, "{r:?}");
            match s {
                Startup::Unsafe => assert!(r.peak_allowed > 1.0 && r.overload_secs > 0, "{r:?}"),
                _ => assert!(r.peak_allowed <= 1.0 && r.overload_secs == 0, "{r:?}"),
            }
        }
    }
}
