//! The planner against the LP optimum on generated days, and every plan
//! checked against the fuses by an independent recount.
//!
//! `cargo test -p csms-energy --test schedule_lp -- --nocapture` prints the
//! figures.

mod lp;

use csms_energy::allocate::grid_phases;
use csms_energy::schedule::{plan, Horizon, PlanSession, Schedule};
use csms_energy::simulate::{Day, DayParams};
use csms_energy::*;
use lp::lp_optimum;

/// Every slot's load on every node and grid phase within the fuse (less the
/// building forecast and margin), every current 0 or within the EVSE's and
/// the car's range.
fn assert_within_fuses(site: &Site, horizon: &Horizon, sessions: &[PlanSession], s: &Schedule) {
    let cfg = site.config();
    let margin = match cfg.mode {
        Mode::Static => 0,
        Mode::Dynamic { margin } | Mode::TrueDynamic { margin, .. } => margin.deciamps(),
    };
    for t in 0..horizon.prices.len() {
        let mut load: Vec<(Node, [u32; 3])> = Vec::new();
        for (input, p) in sessions.iter().zip(&s.sessions) {
            let c = p.currents[t];
            let evse = site.evse(&input.evse).unwrap();
            let cap = input
                .car_max
                .map_or(evse.max_current, |m| m.min(evse.max_current));
            assert!(
                c == Current::ZERO || (evse.min_current..=cap).contains(&c),
                "{} slot {t}: {c}",
                input.evse
            );
            if c == Current::ZERO {
                continue;
            }
            assert!((input.arrival..input.departure).contains(&t));
            for node in site.path(&input.evse).unwrap() {
                let i = match load.iter().position(|(n, _)| n == node) {
                    Some(i) => i,
                    None => {
                        load.push((node.clone(), [0; 3]));
                        load.len() - 1
                    }
                };
                for gp in grid_phases(p.phases, evse.rotation) {
                    load[i].1[gp.index()] += c.deciamps();
                }
            }
        }
        for (node, l) in &load {
            let limit = site.limit(node).unwrap();
            for p in Phase::ALL {
                let mut room = limit.get(p).deciamps();
                if let (Node::Grid, Some(b)) = (node, &horizon.building_load) {
                    room = room.saturating_sub(b[t].get(p).deciamps() + margin);
                }
                assert!(
                    l[p.index()] <= room,
                    "slot {t}: {node} {p} at {} of {room}",
                    l[p.index()]
                );
            }
        }
    }
}

fn horizon_of(day: &Day) -> Horizon {
    let mut horizon = day.horizon();
    if day.site.mode == Mode::Static {
        horizon.building_load = None;
    }
    horizon
}

/// Scales the needs down 5 % at a time until the LP can deliver them all:
/// with more demand than the fuses can carry, "cheapest" would compare
/// plans that serve different drivers.
fn feasible(mut day: Day) -> Day {
    let site = Site::new(day.site.clone()).unwrap();
    let horizon = horizon_of(&day);
    loop {
        let sessions = day.plan_sessions();
        let demanded: f64 = sessions.iter().map(|s| f64::from(s.energy_wh)).sum();
        if lp_optimum(&site, &horizon, &sessions).delivered_wh >= demanded - 0.5 {
            return day;
        }
        for v in &mut day.visits {
            v.energy_wh = v.energy_wh * 19 / 20;
        }
    }
}

/// Returns the gap of the planner's cost per kWh over the LP's, in percent.
fn compare(name: &str, day: &Day) -> f64 {
    let site = Site::new(day.site.clone()).unwrap();
    let horizon = horizon_of(day);
    let sessions = day.plan_sessions();
    let s = plan(&site, &horizon, &sessions).unwrap();
    assert_within_fuses(&site, &horizon, &sessions, &s);
    let lp = lp_optimum(&site, &horizon, &sessions);
    let demanded = s.demanded_wh as f64;
    let per_kwh = s.cost as f64 / s.delivered_wh as f64;
    let lp_per_kwh = lp.cost / lp.delivered_wh;
    let gap = (per_kwh / lp_per_kwh - 1.0) * 100.0;
    println!(
        "{name}: demanded {:.1} kWh, planner {:.1} kWh at {:.2} EUR ({:.4}/kWh), LP {:.1} kWh at {:.2} EUR ({:.4}/kWh): gap {gap:+.3} %",
        demanded / 1000.0,
        s.delivered_wh as f64 / 1000.0,
        s.cost as f64 / 1e6,
        per_kwh / 1e3,
        lp.delivered_wh / 1000.0,
        lp.cost / 1e6,
        lp_per_kwh / 1e3,
    );
    gap
}

/// The day: a BRF car park with 20 EVSEs behind a 63 A connection,
/// 20 cars arriving in the evening and needing 10–40 kWh by the morning.
fn brf_static(seed: u64) -> Day {
    Day::generate(DayParams::brf_static(seed))
}

#[test]
fn planner_is_within_1_percent_of_the_lp_optimum_on_static_days() {
    let mut gaps = Vec::new();
    for seed in [1, 3, 4, 5, 6] {
        let day = feasible(brf_static(seed));
        gaps.push((seed, compare(&format!("static 63 A, seed {seed}"), &day)));
        let s = plan_all(&day);
        assert_eq!(s.delivered_wh, s.demanded_wh);
    }
    for (seed, gap) in gaps {
        assert!(gap <= 1.0, "seed {seed}: {gap:.3} % over the LP optimum");
    }
}

/// Seed 2, on its own: many single-phase cars crowd one grid phase, and
/// the cheapest slots should go to three-phase cars, which needs several
/// single-phase cars to move out at once. Shift and chain alone left it at
/// +1.07 % over the LP optimum; the eject move brings it to about +0.65 %.
#[test]
fn planner_is_within_1_percent_of_the_lp_optimum_on_static_day_2() {
    let day = feasible(brf_static(2));
    let gap = compare("static 63 A, seed 2", &day);
    assert!(gap <= 1.0, "{gap:.3} % over the LP optimum");
}

#[test]
fn planner_is_within_1_percent_of_the_lp_optimum_with_apartments_and_a_car_park_board() {
    for seed in 1..=3 {
        let day = feasible(Day::generate(DayParams::brf(seed)));
        let gap = compare(&format!("BRF dynamic, seed {seed}"), &day);
        let s = plan_all(&day);
        assert_eq!(s.delivered_wh, s.demanded_wh);
        assert!(gap <= 1.0, "seed {seed}: {gap:.3} % over the LP optimum");
    }
}

fn plan_all(day: &Day) -> Schedule {
    let site = Site::new(day.site.clone()).unwrap();
    plan(&site, &horizon_of(day), &day.plan_sessions()).unwrap()
}

#[test]
fn an_overbooked_day_stays_within_the_fuses() {
    // 32 A for 20 cars: not everybody can be served. The planner serves by
    // priority and departure; the LP maximises kWh (it prefers three-phase
    // cars, which carry three times the energy per ampere of a phase), so
    // the two deliver different energy and only the figures are printed.
    let mut day = brf_static(7);
    day.site.grid = PhaseCurrents::uniform(Current::amps(32));
    compare("overbooked static 32 A, seed 7", &day);
}
