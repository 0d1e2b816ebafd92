//! Figure: how long the usage report takes over a year of 200 EVSEs with
//! 100,000 sessions (the issue's budget: 200 ms locally).
//!
//! ```text
//! cargo run --release -p csms-reports --example year
//! ```
//!
//! Each session is four marks (occupied, charging, suspended, available)
//! and a session fact with energy and price, spread evenly over the year;
//! each station comes online on the year's first day. Two figures: the
//! computation alone from usage days in memory (`compute`, one period),
//! and the whole answer of `ReportService::usage` — the store's read of
//! the two periods' days (in-memory redb: the file's pages are in the page
//! cache locally as well) and both periods' computation.

use chrono::{NaiveDate, TimeDelta};
use csms_domain::usage::{Mark, Revenue, SessionFact, UsageDay, UsageKey, Use};
use csms_domain::{OrgId, SessionId, SiteId, StationId};
use csms_kernel::ports::UsageStore;
use csms_reports::compute::{compute, GroupBy, Scope, Span};
use csms_reports::{ReportRequest, ReportService};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVSES: u32 = 200;
const SESSIONS: u32 = 100_000;
/// Runs of each measurement; the median is shown (other builds share the
/// machine).
const RUNS: usize = 5;

/// The CPU time this process has used, all threads (the store's reads run
/// on tokio's blocking pool): what a measurement costs on a machine that
/// has a core for it, which wall time on a shared one does not show.
fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Wall and CPU time of `runs` measurements: their medians, in ms.
struct Timed {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Timed {
    fn new() -> Self {
        Timed {
            wall: Vec::new(),
            cpu: Vec::new(),
        }
    }

    fn start(&self) -> (Instant, Duration) {
        (Instant::now(), cpu())
    }

    fn stop(&mut self, (wall, cpu_at): (Instant, Duration)) {
        self.wall.push(wall.elapsed());
        self.cpu.push(cpu().saturating_sub(cpu_at));
    }

    fn show(self) -> String {
        format!(
            "{:>6.1} ms wall, {:>6.1} ms CPU",
            median(self.wall),
            median(self.cpu)
        )
    }
}

fn key(org: &OrgId, evse: u32, day: NaiveDate) -> UsageKey {
    UsageKey {
        org_id: org.clone(),
        station_id: StationId::parse(format!("CP-{}", evse / 2)).unwrap(),
        evse_id: evse % 2 + 1,
        day,
    }
}

fn site(evse: u32) -> Option<SiteId> {
    Some(SiteId::parse(format!("site-{}", evse / 20)).unwrap())
}

fn year(org: &OrgId, first: NaiveDate) -> Vec<UsageDay> {
    let start = first.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut days: BTreeMap<(u32, NaiveDate), UsageDay> = BTreeMap::new();
    let every = TimeDelta::seconds(365 * 86_400 / i64::from(SESSIONS / EVSES));
    for i in 0..SESSIONS {
        let evse = i % EVSES;
        let n = i / EVSES;
        let at = start + every * i32::try_from(n).unwrap() + TimeDelta::minutes(i64::from(evse));
        let day = at.date_naive();
        let d = days.entry((evse, day)).or_insert_with(|| {
            UsageDay::new(key(org, evse, day), site(evse), Some(Use::Available))
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
    let mut out: Vec<UsageDay> = days.into_values().collect();
    for station in 0..EVSES / 2 {
        let mut k = key(org, station * 2, first);
        k.evse_id = 0;
        let mut d = UsageDay::new(k, site(station * 2), None);
        d.marks.push(Mark {
            at: start,
            state: Use::Online,
        });
        out.push(d);
    }
    out
}

fn median(mut runs: Vec<Duration>) -> f64 {
    runs.sort();
    runs[runs.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let org = OrgId::parse("brf-figure").unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let days = year(&org, first);
    let span = Span::new(first, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).unwrap();
    let now = NaiveDate::from_ymd_opt(2027, 1, 2)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let tz = chrono_tz::Europe::Stockholm;
    println!(
        "{EVSES} EVSEs, {SESSIONS} sessions, {} usage days; median of {RUNS} runs",
        days.len()
    );
    for group_by in GroupBy::ALL {
        let mut timed = Timed::new();
        let mut rows = 0;
        for _ in 0..RUNS {
            let t = timed.start();
            let u = compute(&days, &span, tz, group_by, &Scope::default(), now);
            timed.stop(t);
            rows = u.rows.len();
            assert_eq!(u.total.sessions, u64::from(SESSIONS));
        }
        println!(
            "compute  {:>7}: {rows:>4} rows, {}",
            group_by.as_str(),
            timed.show()
        );
    }

    let store = Arc::new(EmbeddedStore::temporary());
    for d in &days {
        store.put_usage_day(d, 0).await.unwrap();
    }
    let reports = ReportService::new(store.clone());
    let mut timed = Timed::new();
    for _ in 0..RUNS {
        let t = timed.start();
        let read = store
            .list_usage_days(
                &org,
                first.pred_opt().unwrap(),
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            )
            .await
            .unwrap();
        timed.stop(t);
        assert_eq!(read.len(), days.len());
    }
    println!("store read of the year's days: {}", timed.show());
    for group_by in GroupBy::ALL {
        let req = ReportRequest {
            span,
            time_zone: Some(tz),
            group_by,
            scope: Scope::default(),
        };
        let mut timed = Timed::new();
        for _ in 0..RUNS {
            let t = timed.start();
            let r = reports.usage(&org, &req, now).await.unwrap();
            timed.stop(t);
            assert_eq!(r.usage.total.sessions, u64::from(SESSIONS));
        }
        println!(
            "answer   {:>7}: {} (the store's read, both periods computed)",
            group_by.as_str(),
            timed.show()
        );
    }
}
