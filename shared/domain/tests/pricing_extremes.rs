//! The pricing engine against the values a hostile or broken charger can
//! leave in a session: timestamps from year 1 to chrono's last instant,
//! backwards, registers at the decimal limits. Pricing must answer (a price or
//! a clean error), never panic, and its work must be bounded by the pricing
//! cap — checked by counting what it produced, not by the wall clock.

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use csms_domain::pricing::engine::{
    price, priced_end, PriceBreakdown, PricingError, PricingInput, SpotTable, DEFAULT_MAX_DURATION,
};
use csms_domain::session::Session;
use csms_domain::spot::BiddingZone;
use csms_domain::tariff::{
    EnergyPrice, PriceComponent, Restrictions, Tariff, TariffElement, TimeUnit,
};
use csms_domain::{OrgId, Timestamp};
use proptest::prelude::*;
use rust_decimal::Decimal;

mod common;

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// Every kind of component, switching four times a day (so each priced day
/// makes several pieces), in a zone with DST.
fn busy_tariff(price: Decimal, vat: Decimal) -> Tariff {
    let at = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    let restricted = |from, to| Restrictions {
        start_time: Some(from),
        end_time: Some(to),
        ..Default::default()
    };
    Tariff {
        id: "t".into(),
        org_id: OrgId::default_org(),
        name: "busy".into(),
        currency: "SEK".into(),
        vat_rate: vat,
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![
            TariffElement {
                components: vec![PriceComponent::Energy {
                    price: EnergyPrice::Fixed { per_kwh: price },
                }],
                restrictions: restricted(hm(6, 0), hm(9, 30)),
            },
            TariffElement {
                components: vec![
                    PriceComponent::Energy {
                        price: EnergyPrice::Fixed { per_kwh: price },
                    },
                    PriceComponent::Time {
                        price,
                        per: TimeUnit::Minute,
                        free_minutes: 30,
                    },
                    PriceComponent::Idle {
                        price,
                        per: TimeUnit::Hour,
                        grace_minutes: u32::MAX,
                    },
                    PriceComponent::SessionFee { price },
                ],
                restrictions: Restrictions::default(),
            },
        ],
        min_price: Some(Decimal::ONE),
        max_price: None,
        version: 1,
        effective_at: at,
        created_at: at,
        deleted_at: None,
    }
}

fn session(start: Timestamp, end: Timestamp, meter: (Option<Decimal>, Option<Decimal>)) -> Session {
    common::completed_session(start, end, meter.0, meter.1)
}

/// Instants a charger clock can claim, the extremes first.
fn instant() -> impl Strategy<Value = Timestamp> {
    let lo = DateTime::<Utc>::MIN_UTC.timestamp();
    let hi = DateTime::<Utc>::MAX_UTC.timestamp();
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        Just(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()),
        Just(Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap()),
        Just(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()),
        // Around a DST change in Stockholm.
        (0i64..7_200).prop_map(
            |s| Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).unwrap() + TimeDelta::seconds(s)
        ),
        (lo..=hi).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()),
        (0i64..4_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()),
    ]
}

fn amount() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
        Just(Decimal::new(1, 28)),
        Just(Decimal::from(1_000_000_000)),
        any::<i64>().prop_map(Decimal::from),
        (any::<i64>(), 0u32..=28).prop_map(|(m, e)| Decimal::new(m, e)),
    ]
}

/// What the engine produced bounds the work it did: lines are joined
/// pieces, and the pieces come from at most this many days.
fn check(input: &PricingInput<'_>) {
    let s = input.session;
    match price(input) {
        Ok(b) => {
            assert!(b.ended_at >= b.started_at);
            assert!(
                b.ended_at - b.started_at <= input.max_duration,
                "priced {} .. {}: longer than the cap",
                b.started_at,
                b.ended_at
            );
            // Four switches a day per component kind, plus the fee and the
            // price adjustment.
            let days = input.max_duration.num_days() + 2;
            assert!(
                b.lines.len() as i64 <= 4 * 4 * days + 2,
                "{} lines",
                b.lines.len()
            );
            for l in &b.lines {
                assert!(l.start >= b.started_at && l.end <= b.ended_at, "{l:?}");
            }
            let reported = s.ended_at.unwrap_or(s.updated_at);
            if reported > b.ended_at {
                assert!(
                    b.warnings.iter().any(|w| w.contains("pricing covers")),
                    "a capped session says so: {:?}",
                    b.warnings
                );
            }
        }
        Err(PricingError::OutOfRange(what)) => assert!(!what.is_empty()),
        Err(e) => panic!("unexpected error {e}"),
    }
    let end = priced_end(
        input.session.started_at.unwrap_or(input.session.updated_at),
        input.session.ended_at.unwrap_or(input.session.updated_at),
        input.max_duration,
    );
    let start = input.session.started_at.unwrap_or(end).min(end);
    let days = SpotTable::days_needed(BiddingZone::parse("SE3").unwrap(), start, end);
    assert!(days.len() as i64 <= input.max_duration.num_days() + 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_timestamps_and_registers_price_or_fail_cleanly_within_the_cap(
        start in instant(),
        end in instant(),
        meter_start in proptest::option::of(amount()),
        meter_stop in proptest::option::of(amount()),
        readings in proptest::collection::vec((instant(), amount()), 0..6),
        unit_price in amount(),
        vat in amount(),
        max_days in 0i64..40,
    ) {
        let s = session(start, end, (meter_start, meter_stop));
        let t = busy_tariff(unit_price, vat);
        check(&PricingInput {
            session: &s,
            registers: &readings,
            tariff: &t,
            spot: &SpotTable::new(),
            max_duration: TimeDelta::days(max_days),
        });
    }
}

/// `s` priced with `t`, no spot prices and the default longest duration.
fn price_without_spot(
    s: &Session,
    registers: &[(Timestamp, Decimal)],
    t: &Tariff,
) -> PriceBreakdown {
    price(&PricingInput {
        session: s,
        registers,
        tariff: t,
        spot: &SpotTable::new(),
        max_duration: DEFAULT_MAX_DURATION,
    })
    .unwrap()
}

#[test]
fn a_session_from_year_one_to_2001_is_priced_over_its_first_31_days() {
    let start = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap();
    let s = session(
        start,
        end,
        (Some(Decimal::from(1000)), Some(Decimal::from(31_000))),
    );
    let t = busy_tariff(Decimal::new(2, 0), Decimal::new(25, 2));
    let b = price_without_spot(&s, &[], &t);
    assert_eq!(b.ended_at, start + TimeDelta::days(31));
    // All metered energy is priced, not only the first 31 days' share.
    assert_eq!(b.energy_wh, Decimal::from(30_000));
    assert!(
        b.warnings.iter().any(|w| w.contains("31 days")),
        "{:?}",
        b.warnings
    );
}

#[test]
fn a_session_ending_at_chronos_last_instant_prices() {
    let end = DateTime::<Utc>::MAX_UTC;
    let s = session(
        end - TimeDelta::days(1),
        end,
        (Some(Decimal::ZERO), Some(Decimal::from(10_000))),
    );
    let t = busy_tariff(Decimal::ONE, Decimal::ZERO);
    let b = price_without_spot(&s, &[(end, Decimal::from(5))], &t);
    assert_eq!(b.energy_wh, Decimal::from(10_000));
}

#[test]
fn registers_at_minus_and_plus_the_decimal_limit_price_no_energy() {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let s = session(
        start,
        start + TimeDelta::hours(1),
        (Some(Decimal::MIN), Some(Decimal::MAX)),
    );
    let t = busy_tariff(Decimal::ONE, Decimal::ZERO);
    let b = price_without_spot(&s, &[], &t);
    assert_eq!(b.energy_wh, Decimal::ZERO);
    assert!(b.warnings.iter().any(|w| w.contains("too far apart")));
}
