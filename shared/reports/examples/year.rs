//! Figure: how long the usage report takes to compute over a year of 200
//! EVSEs with 100,000 sessions (the issue's budget: 200 ms locally), from
//! usage days in memory — the computation alone, not the store's read.
//!
//! ```text
//! cargo run --release -p csms-reports --example year
//! ```
//!
//! Each session is four marks (occupied, charging, suspended, available)
//! and a session fact with energy and price, spread evenly over the year.

use chrono::{NaiveDate, TimeDelta};
use csms_domain::usage::{Mark, Revenue, SessionFact, UsageDay, UsageKey, Use};
use csms_domain::{OrgId, SessionId, SiteId, StationId};
use csms_reports::compute::{compute, GroupBy, Scope, Span};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::time::Instant;

const EVSES: u32 = 200;
const SESSIONS: u32 = 100_000;

fn main() {
    let org = OrgId::parse("brf-figure").unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let start = first.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut days: BTreeMap<(u32, NaiveDate), UsageDay> = BTreeMap::new();
    let every = TimeDelta::seconds(365 * 86_400 / i64::from(SESSIONS / EVSES));
    for i in 0..SESSIONS {
        let evse = i % EVSES;
        let n = i / EVSES;
        let at = start + every * i32::try_from(n).unwrap() + TimeDelta::minutes(i64::from(evse));
        let day = at.date_naive();
        let d = days.entry((evse, day)).or_insert_with(|| {
            UsageDay::new(
                UsageKey {
                    org_id: org.clone(),
                    station_id: StationId::parse(format!("CP-{}", evse / 2)).unwrap(),
                    evse_id: evse % 2 + 1,
                    day,
                },
                Some(SiteId::parse(format!("site-{}", evse / 20)).unwrap()),
                Some(Use::Available),
            )
        });
        for (m, state) in [
            (0, Use::Occupied),
            (5, Use::Charging),
            (95, Use::Occupied),
            (110, Use::Available),
        ] {
            d.marks.push(Mark {
                at: at + TimeDelta::minutes(m),
                state,
            });
        }
        d.sessions.push(SessionFact {
            session_id: SessionId::parse(format!("CP-{}~{i}", evse / 2)).unwrap(),
            started_at: at,
            ended_at: Some(at + TimeDelta::minutes(110)),
            energy_wh: Some(Decimal::from(11_000)),
            revenue: Some(Revenue {
                revision: 1,
                currency: "SEK".into(),
                net: Decimal::new(2750, 2),
                vat: Decimal::new(688, 2),
                gross: Decimal::new(3438, 2),
            }),
        });
    }
    let days: Vec<UsageDay> = days.into_values().collect();
    let span = Span::new(first, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).unwrap();
    let now = NaiveDate::from_ymd_opt(2027, 1, 2)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    for group_by in GroupBy::ALL {
        let t = Instant::now();
        let u = compute(
            &days,
            &span,
            chrono_tz::Europe::Stockholm,
            group_by,
            &Scope::default(),
            now,
        );
        println!(
            "{:>7}: {:>4} rows, {} sessions, {} usage days, {:.0} ms",
            group_by.as_str(),
            u.rows.len(),
            u.total.sessions,
            days.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}
