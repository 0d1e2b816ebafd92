//! A replayed day never loads a fuse beyond 100 %, never delivers more than
//! was asked, and delivers everything when the site has room for it.

use csms_energy::simulate::{simulate, Day, DayParams, Report, Strategy};

fn check(name: &str, r: &Report) {
    println!(
        "{name} {:?}: {:.1} of {:.1} kWh, peak {:.1} kW, {} pauses, {:.2} EUR, fuse {:.1} %",
        r.strategy,
        r.delivered_wh / 1000.0,
        r.demanded_wh / 1000.0,
        r.peak_grid_w / 1000.0,
        r.pauses,
        r.cost / 1e6,
        r.max_fuse_utilisation * 100.0
    );
    assert!(
        r.max_fuse_utilisation <= 1.0,
        "{name}: a fuse at {:.3}",
        r.max_fuse_utilisation
    );
    for c in &r.cars {
        assert!(
            c.delivered_wh <= f64::from(c.demanded_wh) + 1e-6,
            "{name}: {}",
            c.evse
        );
    }
}

#[test]
fn the_brf_day_never_exceeds_a_fuse_in_either_strategy() {
    let day = Day::generate(DayParams::brf(1));
    for strategy in [Strategy::Immediate, Strategy::Scheduled] {
        check("brf", &simulate(&day, strategy).unwrap());
    }
}

#[test]
fn an_uncongested_day_delivers_everything_and_scheduling_pays_less() {
    // Five cars on the BRF site: plenty of room all night.
    let day = Day::generate(DayParams {
        cars: 5,
        ..DayParams::brf(3)
    });
    let immediate = simulate(&day, Strategy::Immediate).unwrap();
    let scheduled = simulate(&day, Strategy::Scheduled).unwrap();
    for r in [&immediate, &scheduled] {
        check("uncongested", r);
        for c in &r.cars {
            assert!(
                c.delivered_wh >= f64::from(c.demanded_wh) - 1.0,
                "{:?} {}: {:.0} of {} Wh",
                r.strategy,
                c.evse,
                c.delivered_wh,
                c.demanded_wh
            );
        }
    }
    assert!(scheduled.cost < immediate.cost);
}

#[test]
fn a_day_with_missing_prices_is_refused() {
    let mut day = Day::generate(DayParams::brf(1));
    day.prices.truncate(10);
    assert_eq!(
        simulate(&day, Strategy::Immediate),
        Err(csms_energy::simulate::SimError::BadDay)
    );
}
