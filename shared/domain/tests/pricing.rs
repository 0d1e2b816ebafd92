//! The pricing engine: worked examples whose totals are computed by hand, and
//! property tests over generated sessions, tariffs and spot prices.

use chrono::{NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use csms_domain::pricing::engine::{
    price, PriceBreakdown, PricingInput, SpotTable, DEFAULT_MAX_DURATION,
};
use csms_domain::pricing::LineKind;
use csms_domain::session::{Session, SessionEnd, SessionUpdate};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::tariff::{
    EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff, TariffElement, TimeUnit,
};
use csms_domain::{OrgId, StationId, Timestamp};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

mod common;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn sthlm(y: i32, m: u32, day: u32, h: u32, min: u32) -> Timestamp {
    chrono_tz::Europe::Stockholm
        .with_ymd_and_hms(y, m, day, h, min, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn tariff(elements: Vec<TariffElement>) -> Tariff {
    Tariff {
        id: "t1".into(),
        org_id: OrgId::default_org(),
        name: "test".into(),
        currency: "SEK".into(),
        vat_rate: d("0.25"),
        time_zone: Some("Europe/Stockholm".into()),
        elements,
        min_price: None,
        max_price: None,
        version: 1,
        effective_at: sthlm(2020, 1, 1, 0, 0),
        created_at: sthlm(2020, 1, 1, 0, 0),
        deleted_at: None,
    }
}

fn energy(per_kwh: &str) -> PriceComponent {
    PriceComponent::Energy {
        price: EnergyPrice::Fixed {
            per_kwh: d(per_kwh),
        },
    }
}

fn element(components: Vec<PriceComponent>, restrictions: Restrictions) -> TariffElement {
    TariffElement {
        components,
        restrictions,
    }
}

/// A completed session with a constant charging power and a register reading
/// every `every` minutes; charging stops at `charge_end`, the session at `end`.
fn session(
    start: Timestamp,
    charge_end: Timestamp,
    end: Timestamp,
    watts: i64,
    every: i64,
) -> (Session, Vec<(Timestamp, Decimal)>) {
    let meter_start = d("100000");
    let wh_at = |t: Timestamp| -> Decimal {
        let until = t.min(charge_end);
        let ms = (until - start).num_milliseconds().max(0);
        meter_start + Decimal::from(watts * ms / 3_600_000)
    };
    let mut readings = Vec::new();
    let mut t = start + TimeDelta::minutes(every);
    while t < end {
        readings.push((t, wh_at(t)));
        t += TimeDelta::minutes(every);
    }
    let stop = wh_at(end);
    let s = common::completed_session(start, end, Some(meter_start), Some(stop));
    (s, readings)
}

fn run(
    s: &Session,
    readings: &[(Timestamp, Decimal)],
    t: &Tariff,
    spot: &SpotTable,
) -> PriceBreakdown {
    price(&PricingInput {
        session: s,
        registers: readings,
        tariff: t,
        spot,
        max_duration: DEFAULT_MAX_DURATION,
    })
    .unwrap()
}

fn kwh_by_price(b: &PriceBreakdown) -> Vec<(Decimal, Decimal)> {
    b.lines
        .iter()
        .filter(|l| l.kind == LineKind::Energy)
        .map(|l| (l.unit_price, l.quantity))
        .collect()
}

#[test]
fn scheduled_tariff_splits_energy_at_the_peak_boundary() {
    // Weekdays 17–20 cost 5 SEK/kWh, otherwise 3; plus 10 SEK per session.
    let t = tariff(vec![
        element(
            vec![energy("5")],
            Restrictions {
                days_of_week: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
                start_time: NaiveTime::from_hms_opt(17, 0, 0),
                end_time: NaiveTime::from_hms_opt(20, 0, 0),
                ..Default::default()
            },
        ),
        element(
            vec![energy("3"), PriceComponent::SessionFee { price: d("10") }],
            Restrictions::default(),
        ),
    ]);
    // Monday 2 March 2026, 16:30–17:30 local at 11 kW.
    let (s, r) = session(
        sthlm(2026, 3, 2, 16, 30),
        sthlm(2026, 3, 2, 17, 30),
        sthlm(2026, 3, 2, 17, 30),
        11_000,
        1,
    );
    let b = run(&s, &r, &t, &SpotTable::new());
    assert_eq!(
        kwh_by_price(&b),
        vec![(d("3"), d("5.5")), (d("5"), d("5.5"))]
    );
    assert_eq!(b.net, d("54.00")); // 16.50 + 27.50 + 10
    assert_eq!(b.vat, d("13.50"));
    assert_eq!(b.gross, d("67.50"));
    assert_eq!(b.energy_wh, d("11000"));

    // The same hour on a Saturday is all off-peak.
    let (s, r) = session(
        sthlm(2026, 3, 7, 16, 30),
        sthlm(2026, 3, 7, 17, 30),
        sthlm(2026, 3, 7, 17, 30),
        11_000,
        1,
    );
    let b = run(&s, &r, &t, &SpotTable::new());
    assert_eq!(kwh_by_price(&b), vec![(d("3"), d("11"))]);
}

/// Quarter-hour SE3 prices for a local day, slot i costing `base + i/100`.
fn spot_day(date: NaiveDate, base: &str) -> SpotDay {
    let zone = BiddingZone::parse("SE3").unwrap();
    let start = zone.day_start(date);
    let n = zone.day_length(date).num_minutes() / 15;
    SpotDay {
        zone,
        date,
        currency: "SEK".into(),
        resolution_minutes: 15,
        slots: (0..n)
            .map(|i| SpotSlot {
                start: start + TimeDelta::minutes(15 * i),
                end: start + TimeDelta::minutes(15 * (i + 1)),
                price: d(base) + Decimal::new(i, 2),
            })
            .collect(),
        source: SpotSource::Manual,
        fetched_at: start,
    }
}

fn spot_tariff() -> Tariff {
    tariff(vec![element(
        vec![PriceComponent::Energy {
            price: EnergyPrice::Spot(SpotFormula {
                zone: BiddingZone::parse("SE3").unwrap(),
                factor: d("1"),
                markup: d("0.25"),
                grid_fee: d("0"),
                energy_tax: d("0.439"),
                floor: Some(d("0")),
                ceiling: None,
            }),
        }],
        Restrictions::default(),
    )])
}

#[test]
fn spot_tariff_across_the_autumn_dst_change() {
    // 25 Oct 2026: clocks go back 03:00 → 02:00; the day has 100 quarter-hours.
    let date = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
    let day = spot_day(date, "-0.20");
    assert_eq!(day.slots.len(), 100);
    day.validate().unwrap();
    let mut spot = SpotTable::new();
    spot.add_day(&day);
    spot.add_day(&spot_day(
        NaiveDate::from_ymd_opt(2026, 10, 24).unwrap(),
        "1.00",
    ));
    // 01:30 local (CEST) to 02:30 local (CET): 2 real hours at 6 kW = 12 kWh.
    let start = sthlm(2026, 10, 25, 1, 30);
    let end = chrono_tz::Europe::Stockholm
        .with_ymd_and_hms(2026, 10, 25, 2, 30, 0)
        .latest()
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(end - start, TimeDelta::hours(2));
    let (s, r) = session(start, end, end, 6_000, 1);
    let b = run(&s, &r, &spot_tariff(), &spot);
    let lines = kwh_by_price(&b);
    assert_eq!(lines.len(), 8, "eight quarter-hours");
    assert!(lines.iter().all(|(_, q)| *q == d("1.5")));
    // Slots 6..14 of the day: spot −0.14 … −0.07 → floored to 0, + markup + tax.
    assert_eq!(b.lines[0].spot_price, Some(d("-0.14")));
    // −0.14 + 0.25 markup = 0.11 (above the floor) + 0.439 tax.
    assert_eq!(b.lines[0].unit_price, d("0.549"));
    // … up to the last slot: −0.07 + 0.25 + 0.439.
    let expected: Decimal = (6..14)
        .map(|i| (Decimal::new(i - 20, 2) + d("0.25")).max(Decimal::ZERO) + d("0.439"))
        .map(|p| (p * d("1.5")).round_dp(2))
        .sum();
    // Each line is rounded on its own (the named rounding rule), then summed.
    assert_eq!(b.net, expected);
}

#[test]
fn floor_turns_negative_spot_into_zero_not_credit() {
    let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    let mut spot = SpotTable::new();
    spot.add_day(&spot_day(date, "-2.00"));
    let t = spot_tariff();
    let (s, r) = session(
        sthlm(2026, 6, 10, 3, 0),
        sthlm(2026, 6, 10, 4, 0),
        sthlm(2026, 6, 10, 4, 0),
        4_000,
        5,
    );
    let b = run(&s, &r, &t, &spot);
    assert!(b.lines.iter().all(|l| l.unit_price == d("0.439")));
    assert_eq!(b.net, d("1.76")); // 4 kWh × 0.439 = 1.756
}

#[test]
fn time_idle_fee_and_bounds() {
    let t = Tariff {
        min_price: Some(d("20")),
        max_price: Some(d("100")),
        ..tariff(vec![element(
            vec![
                energy("2"),
                PriceComponent::Time {
                    price: d("0.10"),
                    per: TimeUnit::Minute,
                    free_minutes: 30,
                },
                PriceComponent::Idle {
                    price: d("6"),
                    per: TimeUnit::Hour,
                    grace_minutes: 15,
                },
            ],
            Restrictions::default(),
        )])
    };
    // 60 min charging at 3 kW (3 kWh), then 60 min parked.
    let start = sthlm(2026, 1, 31, 23, 30);
    let (s, r) = session(
        start,
        start + TimeDelta::minutes(60),
        start + TimeDelta::minutes(120),
        3_000,
        1,
    );
    let b = run(&s, &r, &t, &SpotTable::new());
    assert_eq!(b.charging_ended_at, start + TimeDelta::minutes(60));
    let sum =
        |k: LineKind| -> Decimal { b.lines.iter().filter(|l| l.kind == k).map(|l| l.net).sum() };
    assert_eq!(sum(LineKind::Energy), d("6.00"));
    assert_eq!(sum(LineKind::Time), d("9.00")); // 90 paid minutes
    assert_eq!(sum(LineKind::Idle), d("4.50")); // 45 minutes after grace
                                                // 19.50 < 20: the minimum applies.
    assert_eq!(sum(LineKind::MinimumPriceAdjustment), d("0.50"));
    assert_eq!(b.net, d("20.00"));
    // The session crossed midnight into February: lines still join up.
    assert_eq!(
        b.lines
            .iter()
            .filter(|l| l.kind == LineKind::Energy)
            .count(),
        1
    );
}

#[test]
fn missing_spot_prices_fail_instead_of_guessing() {
    let (s, r) = session(
        sthlm(2026, 6, 10, 3, 0),
        sthlm(2026, 6, 10, 4, 0),
        sthlm(2026, 6, 10, 4, 0),
        4_000,
        5,
    );
    let e = price(&PricingInput {
        session: &s,
        registers: &r,
        tariff: &spot_tariff(),
        spot: &SpotTable::new(),
        max_duration: DEFAULT_MAX_DURATION,
    });
    assert!(matches!(
        e,
        Err(csms_domain::pricing::engine::PricingError::MissingSpotPrice { .. })
    ));
}

// ---- properties ----

fn arb_restrictions() -> impl Strategy<Value = Restrictions> {
    (
        prop::collection::vec(0u32..7, 0..3),
        prop::option::of((0u32..24, prop::sample::select(vec![0u32, 15, 30, 45]))),
        prop::option::of((0u32..24, prop::sample::select(vec![0u32, 15, 30, 45]))),
        prop::option::of(0i64..30),
    )
        .prop_map(|(days, st, et, date_off)| Restrictions {
            days_of_week: days
                .into_iter()
                .map(|d| Weekday::try_from(d as u8).unwrap())
                .collect(),
            start_time: st.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
            end_time: et.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
            start_date: date_off
                .map(|o| NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + TimeDelta::days(o)),
            end_date: None,
        })
        .prop_filter("start == end is invalid", |r| {
            r.start_time.is_none() || r.start_time != r.end_time
        })
}

fn arb_component() -> impl Strategy<Value = PriceComponent> {
    let price = (0i64..1000).prop_map(|c| Decimal::new(c, 2));
    prop_oneof![
        price.clone().prop_map(|p| energy(&p.to_string())),
        (price.clone(), -50i64..50, 0i64..3).prop_map(|(m, f, c)| PriceComponent::Energy {
            price: EnergyPrice::Spot(SpotFormula {
                zone: BiddingZone::parse("SE3").unwrap(),
                factor: Decimal::new(f, 1),
                markup: m,
                grid_fee: Decimal::new(c * 7, 2),
                energy_tax: d("0.439"),
                floor: if c == 0 { None } else { Some(d("0")) },
                ceiling: if c == 2 { Some(d("3")) } else { None },
            })
        }),
        (price.clone(), 0u32..40).prop_map(|(p, f)| PriceComponent::Time {
            price: p,
            per: TimeUnit::Hour,
            free_minutes: f
        }),
        price
            .clone()
            .prop_map(|p| PriceComponent::SessionFee { price: p }),
        (price, 0u32..30).prop_map(|(p, g)| PriceComponent::Idle {
            price: p,
            per: TimeUnit::Minute,
            grace_minutes: g
        }),
    ]
}

fn arb_tariff() -> impl Strategy<Value = Tariff> {
    (
        prop::collection::vec((arb_component(), arb_restrictions()), 0..5),
        arb_component(),
        prop::option::of(0i64..5000),
        prop::option::of(0i64..50000),
    )
        .prop_map(|(restricted, fallback, min, max)| {
            let mut elements: Vec<TariffElement> = restricted
                .into_iter()
                .map(|(c, r)| element(vec![c], r))
                .collect();
            // An unrestricted energy price last, so every instant has one.
            let mut last = vec![energy("2.5")];
            if !matches!(fallback, PriceComponent::Energy { .. }) {
                last.push(fallback);
            }
            elements.push(element(last, Restrictions::default()));
            let min = min.map(|m| Decimal::new(m, 2));
            let max = max
                .map(|m| Decimal::new(m, 2))
                .map(|m| min.map_or(m, |lo| m.max(lo)));
            Tariff {
                min_price: min,
                max_price: max,
                ..tariff(elements)
            }
        })
}

/// A session somewhere in March–November 2026 (both DST changes inside),
/// with irregular readings, some of them glitches.
fn arb_session() -> impl Strategy<Value = (Session, Vec<(Timestamp, Decimal)>)> {
    (
        0i64..(260 * 24 * 60),
        1i64..(30 * 60),
        prop::collection::vec((1i64..40, 0i64..4000), 0..80),
        prop::collection::vec((0i64..2000, 0i64..100_000), 0..3),
    )
        .prop_map(|(start_min, dur_min, steps, glitches)| {
            let start = sthlm(2026, 3, 1, 0, 0)
                + TimeDelta::minutes(start_min)
                + TimeDelta::seconds(start_min % 59);
            let end = start + TimeDelta::minutes(dur_min);
            let meter_start = d("52340");
            let mut readings = Vec::new();
            let mut t = start;
            let mut wh = meter_start;
            for (dt, dwh) in steps {
                t += TimeDelta::minutes(dt);
                if t >= end {
                    break;
                }
                wh += Decimal::new(dwh, 1);
                readings.push((t, wh));
            }
            let stop = wh + d("3");
            for (off, v) in glitches {
                readings.push((
                    start + TimeDelta::minutes(off % (dur_min + 1)),
                    Decimal::new(v, 0),
                ));
            }
            let s = common::completed_session(start, end, Some(meter_start), Some(stop));
            (s, readings)
        })
}

fn spot_for(s: &Session, seed: i64) -> SpotTable {
    let zone = BiddingZone::parse("SE3").unwrap();
    let mut table = SpotTable::new();
    for date in SpotTable::days_needed(zone, s.started_at.unwrap(), s.ended_at.unwrap()) {
        let mut day = spot_day(date, "0");
        for (i, slot) in day.slots.iter_mut().enumerate() {
            // Prices between −0.50 and 4.49, negative ones included.
            slot.price = Decimal::new(((i as i64 * 7919 + seed) % 500) - 50, 2);
        }
        table.add_day(&day);
    }
    table
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn lines_sum_to_total_and_energy_is_conserved(
        (s, readings) in arb_session(),
        t in arb_tariff(),
        seed in 0i64..1000,
        shuffle_seed in any::<u64>(),
    ) {
        let spot = spot_for(&s, seed);
        let b = run(&s, &readings, &t, &spot);
        let lines: Decimal = b.lines.iter().map(|l| l.net).sum();
        prop_assert_eq!(lines, b.net);
        prop_assert_eq!(b.gross, b.net + b.vat);
        prop_assert_eq!(b.vat, (b.net * t.vat_rate).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero));
        let energy: Decimal = b.lines.iter().filter(|l| l.kind == LineKind::Energy).map(|l| l.quantity * Decimal::ONE_THOUSAND).sum();
        prop_assert_eq!(energy, s.energy_wh().unwrap());
        prop_assert_eq!(b.energy_wh, s.energy_wh().unwrap());
        for l in &b.lines {
            prop_assert!(l.start >= b.started_at && l.end <= b.ended_at && l.start <= l.end);
            prop_assert_eq!(l.net, l.net.round_dp(2));
        }
        if let Some(min) = t.min_price { prop_assert!(b.net >= min.round_dp(2)); }
        if let Some(max) = t.max_price { prop_assert!(b.net <= max.round_dp(2)); }

        // Readings arriving in another order price the same.
        let mut shuffled = readings.clone();
        let mut x = shuffle_seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(run(&s, &shuffled, &t, &spot), b);
    }

    #[test]
    fn session_messages_in_any_order_price_the_same(
        (s, readings) in arb_session(),
        t in arb_tariff(),
    ) {
        // Rebuild the session from its start and stop applied in reverse order.
        let station = StationId::parse("CP1").unwrap();
        let mut r = Session::blank(&station, OrgId::default_org(), None, &csms_domain::TransactionId::from(1), s.updated_at);
        let start = SessionUpdate { is_start: true, started_at: s.started_at, meter_start_wh: s.explicit_meter_start_wh, ..Default::default() };
        let stop = SessionUpdate {
            end: Some(SessionEnd { ended_at: s.ended_at.unwrap(), reason: None, meter_stop_wh: s.explicit_meter_stop_wh }),
            ..Default::default()
        };
        r.apply(&stop);
        r.apply(&start);
        r.apply(&stop);
        let spot = spot_for(&s, 7);
        prop_assert_eq!(run(&r, &readings, &t, &spot), run(&s, &readings, &t, &spot));
    }
}
