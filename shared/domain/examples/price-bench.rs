//! Pricing throughput: prices N generated sessions (default 100,000), each
//! with one-minute energy register readings, under a tariff with a
//! scheduled peak price, a time fee with free minutes, an idle fee and a
//! session fee, and — for every other session — a spot-following energy
//! price over quarter-hour SE3 prices. Prints sessions per second and the
//! process's peak resident memory.
//!
//! `cargo run --release -p csms-domain --example price-bench [-- N]`
//!
//! The engine only: no store reads or writes (those are one Query for the
//! readings and one PutItem per session in AWS, measured separately by the
//! DynamoDB request figures).

use chrono::{NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use csms_domain::pricing::engine::{price, PricingInput, SpotTable};
use csms_domain::session::{Session, SessionEnd, SessionUpdate};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::tariff::{
    EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff, TariffElement, TimeUnit,
};
use csms_domain::{OrgId, StationId, Timestamp};
use rust_decimal::Decimal;
use std::time::Instant;

fn tariff(energy: EnergyPrice) -> Tariff {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Tariff {
        id: "bench".into(),
        org_id: OrgId::default_org(),
        name: "bench".into(),
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![
            TariffElement {
                components: vec![PriceComponent::Energy {
                    price: EnergyPrice::Fixed {
                        per_kwh: Decimal::new(495, 2),
                    },
                }],
                restrictions: Restrictions {
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
            },
            TariffElement {
                components: vec![
                    PriceComponent::Energy { price: energy },
                    PriceComponent::Time {
                        price: Decimal::new(60, 2),
                        per: TimeUnit::Hour,
                        free_minutes: 60,
                    },
                    PriceComponent::Idle {
                        price: Decimal::new(50, 2),
                        per: TimeUnit::Minute,
                        grace_minutes: 30,
                    },
                    PriceComponent::SessionFee {
                        price: Decimal::new(500, 2),
                    },
                ],
                restrictions: Restrictions::default(),
            },
        ],
        min_price: None,
        max_price: Some(Decimal::new(100_000, 2)),
        version: 1,
        effective_at: t0,
        created_at: t0,
        deleted_at: None,
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let zone = BiddingZone::parse("SE3").unwrap();
    let mut spot = SpotTable::new();
    let first = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    for d in 0..60 {
        let date = first + TimeDelta::days(d);
        let start = zone.day_start(date);
        let slots = (0..zone.day_length(date).num_minutes() / 15)
            .map(|i| SpotSlot {
                start: start + TimeDelta::minutes(15 * i),
                end: start + TimeDelta::minutes(15 * (i + 1)),
                price: Decimal::new((i * 37 + d * 11) % 400 - 40, 2),
            })
            .collect();
        spot.add_day(&SpotDay {
            zone,
            date,
            currency: "SEK".into(),
            resolution_minutes: 15,
            slots,
            source: SpotSource::Manual,
            fetched_at: start,
        });
    }
    let fixed = tariff(EnergyPrice::Fixed {
        per_kwh: Decimal::new(289, 2),
    });
    let dynamic = tariff(EnergyPrice::Spot(SpotFormula {
        zone,
        factor: Decimal::ONE,
        markup: Decimal::new(35, 2),
        grid_fee: Decimal::new(28, 2),
        energy_tax: Decimal::new(439, 3),
        floor: Some(Decimal::ZERO),
        ceiling: None,
    }));

    // Sessions are generated one at a time (a pricing consumer also holds
    // one session at a time); only the `price` calls are timed.
    let station = StationId::parse("BENCH-1").unwrap();
    let base: Timestamp = Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap();
    let all = Instant::now();
    let mut took = std::time::Duration::ZERO;
    let mut readings_total = 0usize;
    let mut lines = 0usize;
    let mut gross = Decimal::ZERO;
    for i in 0..n {
        let start = base + TimeDelta::minutes(((i * 7919) % (50 * 24 * 60)) as i64);
        let minutes = 30 + (i * 31) % 600; // 30 min to 10.5 h
        let charging = minutes * 3 / 4;
        let watts = [3_700i64, 7_400, 11_000, 22_000][i % 4];
        let meter0 = Decimal::from(1_000_000 + i as i64);
        let mut regs = Vec::with_capacity(minutes);
        for m in 1..minutes {
            let wh = watts * (m.min(charging) as i64) / 60;
            regs.push((
                start + TimeDelta::minutes(m as i64),
                meter0 + Decimal::from(wh),
            ));
        }
        readings_total += regs.len();
        let end = start + TimeDelta::minutes(minutes as i64);
        let mut s = Session::blank(
            &station,
            OrgId::default_org(),
            None,
            &csms_domain::TransactionId::parse(i.to_string()).unwrap(),
            start,
        );
        s.apply(&SessionUpdate {
            is_start: true,
            started_at: Some(start),
            meter_start_wh: Some(meter0),
            ..Default::default()
        });
        s.apply(&SessionUpdate {
            end: Some(SessionEnd {
                ended_at: end,
                reason: None,
                meter_stop_wh: Some(meter0 + Decimal::from(watts * charging as i64 / 60)),
            }),
            ..Default::default()
        });
        let tariff = if i % 2 == 0 { &fixed } else { &dynamic };
        let t = Instant::now();
        let b = price(&PricingInput {
            session: &s,
            registers: &regs,
            tariff,
            spot: &spot,
            max_duration: csms_domain::pricing::engine::DEFAULT_MAX_DURATION,
        })
        .expect("priced");
        took += t.elapsed();
        lines += b.lines.len();
        gross += b.gross;
    }
    let generated = all.elapsed() - took;
    println!("sessions priced:        {n}");
    println!(
        "register readings:      {readings_total} ({:.0} per session)",
        readings_total as f64 / n as f64
    );
    println!(
        "price lines:            {lines} ({:.1} per session)",
        lines as f64 / n as f64
    );
    println!("sum of gross:           {gross} SEK");
    println!(
        "generating inputs:      {:.2} s (not counted)",
        generated.as_secs_f64()
    );
    println!("pricing:                {:.2} s", took.as_secs_f64());
    println!(
        "sessions per second:    {:.0}",
        n as f64 / took.as_secs_f64()
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak memory (VmHWM):    {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak memory (VmHWM):    unavailable on this OS"),
    }
}

/// Peak resident set size from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
