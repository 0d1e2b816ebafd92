//! A billing period: one calendar month (`2026-11`), whose start and end are
//! the local midnights of its first day and of the next month's first day in
//! the organisation's time zone.

use super::Invalid;
use crate::Timestamp;
use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use std::fmt;

/// The zone of a billing period where the organisation names none.
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Stockholm;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// `YYYY-MM`, a month of the years 2000 to 2999.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid(format!("{s:?} is not a month as YYYY-MM"));
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Self::new(year, month).ok_or_else(bad)
    }

    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((2000..=2999).contains(&year) && (1..=12).contains(&month))
            .then_some(Period { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a checked month")
    }

    /// The month after this one.
    pub fn next(self) -> Period {
        match self.month {
            12 => Period {
                year: self.year + 1,
                month: 1,
            },
            m => Period {
                year: self.year,
                month: m + 1,
            },
        }
    }

    /// The month before this one, if it is of the years 2000 to 2999.
    pub fn previous(self) -> Option<Period> {
        match self.month {
            1 => Period::new(self.year - 1, 12),
            m => Period::new(self.year, m - 1),
        }
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a month after 2000 has a day before it")
    }

    /// The period `date` falls in.
    pub fn of(date: NaiveDate) -> Option<Period> {
        Period::new(date.year(), date.month())
    }

    /// The local midnight that starts the month in `zone`.
    pub fn start_in(self, zone: Tz) -> Timestamp {
        local_midnight(self.first_day(), zone)
    }

    /// The local midnight that starts the next month in `zone` (exclusive end).
    pub fn end_in(self, zone: Tz) -> Timestamp {
        self.next().start_in(zone)
    }

    /// Whether `t` is in the month in `zone`.
    pub fn contains(self, zone: Tz, t: Timestamp) -> bool {
        self.start_in(zone) <= t && t < self.end_in(zone)
    }
}

/// Midnight of `day` in `zone`; where midnight is skipped (a DST change at
/// midnight), the first instant of the day.
fn local_midnight(day: NaiveDate, zone: Tz) -> Timestamp {
    let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..4 {
        if let Some(local) = zone.from_local_datetime(&t).earliest() {
            return local.with_timezone(&chrono::Utc);
        }
        t += chrono::Duration::minutes(30);
    }
    // No zone skips two hours; unreachable with the tz database.
    t.and_utc()
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_months_and_refuses_the_rest() {
        assert_eq!(Period::parse("2026-11").unwrap().to_string(), "2026-11");
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "１９９９-01",
            "1999-12",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_month_starts_and_ends_at_local_midnight() {
        let nov = Period::parse("2026-11").unwrap();
        // Stockholm is UTC+1 in November (winter time).
        assert_eq!(nov.start_in(DEFAULT_ZONE), t("2026-10-31T23:00:00Z"));
        assert_eq!(nov.end_in(DEFAULT_ZONE), t("2026-11-30T23:00:00Z"));
        // In summer, UTC+2.
        let july = Period::parse("2026-07").unwrap();
        assert_eq!(july.start_in(DEFAULT_ZONE), t("2026-06-30T22:00:00Z"));
        // December runs into the next year.
        let dec = Period::parse("2026-12").unwrap();
        assert_eq!(dec.end_in(DEFAULT_ZONE), t("2026-12-31T23:00:00Z"));
        assert_eq!(dec.last_day().to_string(), "2026-12-31");
        assert!(nov.contains(DEFAULT_ZONE, t("2026-10-31T23:30:00Z")));
        assert!(!nov.contains(DEFAULT_ZONE, t("2026-11-30T23:00:00Z")));
    }
}
