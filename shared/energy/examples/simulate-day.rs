//! Replays the default BRF day twice — every car charging at once, and
//! following the price-optimised schedule — and prints what each car got;
//! then replays it under each start-up rule (what an idle EVSE may draw while
//! a new car waits for its share) and prints what safety costs.
//!
//! `cargo run --release -p csms-energy --example simulate-day [seed] [round trip s]`

use csms_energy::simulate::{simulate, Day, DayParams, Strategy};
use csms_energy::startup::{simulate_startup, Startup};

fn clock(minute: usize) -> String {
    let m = (12 * 60 + minute) % (24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1);
    let round_trip: u32 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let day = Day::generate(DayParams::brf(seed));
    println!(
        "BRF day, seed {seed}: {} EVSEs on a 63 A car-park board behind a 100 A connection shared with the apartments, {} cars",
        day.site.evses.len(),
        day.visits.len()
    );
    let immediate = simulate(&day, Strategy::Immediate)?;
    let scheduled = simulate(&day, Strategy::Scheduled)?;
    println!();
    println!(
        "{:<8} {:>5} {:>5} {:>9} {:>9} | {:>9} {:>8} | {:>9} {:>8}",
        "EVSE", "in", "out", "car", "demanded", "immediate", "EUR", "scheduled", "EUR"
    );
    for ((v, a), b) in day.visits.iter().zip(&immediate.cars).zip(&scheduled.cars) {
        println!(
            "{:<8} {:>5} {:>5} {:>9} {:>6.1} kWh | {:>5.1} kWh {:>8.2} | {:>5.1} kWh {:>8.2}",
            v.evse.as_str(),
            clock(v.arrive),
            clock(v.depart),
            format!("{}p {} A", v.phases.count(), v.max_current.deciamps() / 10),
            f64::from(v.energy_wh) / 1000.0,
            a.delivered_wh / 1000.0,
            a.cost / 1e6,
            b.delivered_wh / 1000.0,
            b.cost / 1e6,
        );
    }
    println!();
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>9} {:>7} {:>9} {:>9}",
        "strategy", "demanded", "delivered", "peak grid", "peak EV", "pauses", "cost", "max fuse"
    );
    for r in [&immediate, &scheduled] {
        println!(
            "{:<10} {:>6.1} kWh {:>6.1} kWh {:>7.1} kW {:>6.1} kW {:>7} {:>5.2} EUR {:>7.1} %",
            format!("{:?}", r.strategy),
            r.demanded_wh / 1000.0,
            r.delivered_wh / 1000.0,
            r.peak_grid_w / 1000.0,
            r.peak_ev_w / 1000.0,
            r.pauses,
            r.cost / 1e6,
            r.max_fuse_utilisation * 100.0,
        );
    }
    println!();
    println!(
        "Start-up: what an idle EVSE may draw while a new car waits {round_trip} s for its share (cars charge at once)"
    );
    // The same cars on a car-park board half the size: the room an idle
    // EVSE holds is then room a running car goes without.
    let tight = Day::generate(DayParams {
        board_amps: Some(32),
        ..DayParams::brf(seed)
    });
    for (name, day) in [("63 A board", &day), ("32 A board", &tight)] {
        println!(
            "{:<10} {:<9} {:>10} {:>10} {:>10} {:>13} {:>9} {:>10} {:>9}",
            name,
            "rule",
            "demanded",
            "delivered",
            "vs ideal",
            "peak allowed",
            "min over",
            "overload",
            "at 0 A"
        );
        for startup in Startup::ALL {
            let r = simulate_startup(day, startup, round_trip)?;
            println!(
                "{:<10} {:<9} {:>6.1} kWh {:>6.1} kWh {:>+7.0} Wh {:>11.1} % {:>9} {:>8} s {:>9}",
                "",
                format!("{startup:?}"),
                r.demanded_wh / 1000.0,
                r.delivered_wh / 1000.0,
                -r.lost_wh(),
                r.peak_allowed * 100.0,
                r.minutes_over,
                r.overload_secs,
                r.waited,
            );
        }
    }
    Ok(())
}
