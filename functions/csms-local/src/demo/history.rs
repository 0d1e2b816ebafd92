//! The month before the demo's first start: the charging sessions each
//! simulated charger replays, with the timestamps they happened at, the way
//! a charger that was offline sends what it queued. Drawn from a generator
//! seeded by the station's id, so a newcomer always gets the same month
//! (relative to when they first start).

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::world::{Station, SOLROSEN};
use chrono::TimeZone;
use chrono_tz::Europe::Stockholm;

/// How far back the history reaches.
pub const DAYS: i64 = 30;

/// A finished session in the past.
#[derive(Debug, Clone, PartialEq)]
pub struct PastSession {
    /// 1-based: the 1.6 connector or the 2.0.1 EVSE.
    pub connector: u32,
    pub tag: &'static str,
    pub start: DateTime<Utc>,
    pub stop: DateTime<Utc>,
    /// Energy delivered, Wh.
    pub wh: u32,
}

impl PastSession {
    /// The mean power of the session, W.
    pub fn mean_power_w(&self) -> f64 {
        let hours = (self.stop - self.start).num_seconds().max(1) as f64 / 3600.0;
        f64::from(self.wh) / hours
    }
}

/// A stable seed from the station's id (FNV-1a; no randomness between runs).
fn seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// When and how long people charge: residents in the evening and over
/// night, at an operator's public chargers in the day.
struct Habit {
    /// Local start hours: each window `[from, to)` may see one session a day.
    windows: &'static [(u32, u32)],
    /// The chance of a session in a window on a day.
    chance: f64,
    minutes: std::ops::Range<i64>,
}

const RESIDENTS: Habit = Habit {
    windows: &[(16, 22)],
    chance: 0.8,
    minutes: 180..660,
};

const PUBLIC: Habit = Habit {
    windows: &[(7, 12), (12, 19)],
    chance: 0.45,
    minutes: 30..240,
};

/// The station's sessions of the [`DAYS`] before `now`, oldest first, each
/// connector's one after the other (never two at once on a connector), the
/// last ending at least half an hour before `now`.
pub fn month_of(station: &Station, tags: &[&'static str], now: DateTime<Utc>) -> Vec<PastSession> {
    if tags.is_empty() {
        return Vec::new();
    }
    let habit = if station.org == SOLROSEN {
        &RESIDENTS
    } else {
        &PUBLIC
    };
    let mut rng = StdRng::seed_from_u64(seed(station.id));
    let end = now - Duration::minutes(30);
    let first_day = (now - Duration::days(DAYS))
        .with_timezone(&Stockholm)
        .date_naive();
    let mut sessions = Vec::new();
    for connector in 1..=station.connectors {
        let mut free_from = now - Duration::days(DAYS);
        for day in first_day.iter_days().take(DAYS as usize + 1) {
            for &(from, to) in habit.windows {
                if !rng.gen_bool(habit.chance) {
                    continue;
                }
                let minute = rng.gen_range(i64::from(from) * 60..i64::from(to) * 60);
                let local = day.and_hms_opt(0, 0, 0).expect("midnight") + Duration::minutes(minute);
                // A local time the clock skips (spring forward) has no session.
                let Some(start) = Stockholm
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                else {
                    continue;
                };
                let minutes = rng.gen_range(habit.minutes.clone());
                let stop = start + Duration::minutes(minutes);
                if start < free_from || stop > end {
                    continue;
                }
                // The car takes 3.7 kW up to what the connector gives until
                // its battery (10–60 kWh to fill) is full.
                let power = rng.gen_range(3_700..=station.max_w.min(11_000)) as f64;
                let want = rng.gen_range(8_000.0..60_000.0);
                let wh = (power * minutes as f64 / 60.0 * 0.95).min(want) as u32;
                sessions.push(PastSession {
                    connector,
                    tag: tags[rng.gen_range(0..tags.len())],
                    start,
                    stop,
                    wh: wh.max(500),
                });
                free_from = stop + Duration::minutes(5);
            }
        }
    }
    sessions.sort_by_key(|s| s.start);
    sessions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::world::{tags_of, STATIONS};
    use chrono::Timelike;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_month_of_sessions_is_spread_over_the_days_and_never_overlaps_on_a_connector() {
        let mut total = 0;
        for station in STATIONS {
            let tags = tags_of(station.org);
            let month = month_of(station, &tags, now());
            assert_eq!(month, month_of(station, &tags, now()), "the same each run");
            for c in 1..=station.connectors {
                let mine: Vec<_> = month.iter().filter(|s| s.connector == c).collect();
                assert!(
                    mine.len() >= 15,
                    "{} connector {c}: {}",
                    station.id,
                    mine.len()
                );
                for pair in mine.windows(2) {
                    assert!(pair[0].stop <= pair[1].start, "{pair:?}");
                }
            }
            for s in &month {
                assert!(s.start >= now() - Duration::days(DAYS) && s.stop < now());
                let hour = s.start.with_timezone(&Stockholm).hour();
                let habit = if station.org == SOLROSEN {
                    &RESIDENTS
                } else {
                    &PUBLIC
                };
                assert!(
                    habit.windows.iter().any(|(f, t)| (*f..*t).contains(&hour)),
                    "{s:?} at {hour}"
                );
                assert!(s.wh >= 500 && s.wh <= 60_000, "{s:?}");
                assert!(s.mean_power_w() <= f64::from(station.max_w), "{s:?}");
                assert!(tags.contains(&s.tag));
            }
            let days: std::collections::BTreeSet<_> =
                month.iter().map(|s| s.start.date_naive()).collect();
            assert!(days.len() >= 12, "{}: {} days", station.id, days.len());
            total += month.len();
        }
        assert!((150..=400).contains(&total), "{total} sessions in all");
    }

    #[test]
    fn no_tags_no_sessions() {
        assert!(month_of(&STATIONS[0], &[], now()).is_empty());
    }
}
