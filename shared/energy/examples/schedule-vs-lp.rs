//! The planner against the LP optimum (min-current rule relaxed) on
//! generated BRF days: cost, energy, time.
//!
//! `cargo run --release -p csms-energy --example schedule-vs-lp`

#[path = "../tests/lp/mod.rs"]
mod lp;

use csms_energy::schedule::plan;
use csms_energy::simulate::{Day, DayParams};
use csms_energy::{Mode, Site};
use std::time::Instant;

fn main() {
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "day", "demanded", "planner", "EUR", "LP", "EUR", "gap", "plan ms"
    );
    let statics = (1..=6).map(|seed| {
        (
            format!("static 63 A, seed {seed}"),
            Day::generate(DayParams::brf_static(seed)),
        )
    });
    let dynamics = (1..=3).map(|seed| {
        (
            format!("BRF dynamic, seed {seed}"),
            Day::generate(DayParams::brf(seed)),
        )
    });
    for (name, mut day) in statics.chain(dynamics) {
        let site = Site::new(day.site.clone()).unwrap();
        let mut horizon = day.horizon();
        if day.site.mode == Mode::Static {
            horizon.building_load = None;
        }
        // Scale the needs down until the LP can deliver them all, as the test does.
        let lp = loop {
            let sessions = day.plan_sessions();
            let demanded: f64 = sessions.iter().map(|s| f64::from(s.energy_wh)).sum();
            let lp = lp::lp_optimum(&site, &horizon, &sessions);
            if lp.delivered_wh >= demanded - 0.5 {
                break lp;
            }
            for v in &mut day.visits {
                v.energy_wh = v.energy_wh * 19 / 20;
            }
        };
        let start = Instant::now();
        let s = plan(&site, &horizon, &day.plan_sessions()).unwrap();
        let took = start.elapsed();
        let gap = (s.cost as f64 / s.delivered_wh as f64) / (lp.cost / lp.delivered_wh) - 1.0;
        println!(
            "{name:<24} {:>5.1} kWh {:>5.1} kWh {:>9.2} {:>5.1} kWh {:>9.2} {:>+7.3}% {:>8.1}",
            s.demanded_wh as f64 / 1000.0,
            s.delivered_wh as f64 / 1000.0,
            s.cost as f64 / 1e6,
            lp.delivered_wh / 1000.0,
            lp.cost / 1e6,
            gap * 100.0,
            took.as_secs_f64() * 1000.0,
        );
    }
}
