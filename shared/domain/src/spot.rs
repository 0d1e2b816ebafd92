//! Day-ahead electricity spot prices per bidding zone.
//!
//! A [`SpotDay`] holds one delivery day of one zone: the day is the zone's
//! *local* calendar day, so it has 92, 96 or 100 quarter-hour slots (23, 24 or
//! 25 hourly ones) depending on daylight-saving changes. Prices are per kWh in
//! the zone's currency, converted once at the edge (sources quote EUR/MWh or
//! SEK/kWh); nothing later does unit or currency arithmetic on them.

use crate::Timestamp;
use chrono::{NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A bidding zone the CSMS knows how to fetch. Adding one is a line in [`ZONES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BiddingZone(&'static ZoneInfo);

/// What is known about a bidding zone.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneInfo {
    /// The short name used in the API and by elprisetjustnu.se ("SE3").
    pub code: &'static str,
    /// The ENTSO-E EIC area code (`in_Domain`/`out_Domain`).
    pub eic: &'static str,
    /// Time zone whose calendar day is the delivery day.
    pub time_zone: &'static str,
    /// Currency prices are stored in.
    pub currency: &'static str,
}

/// Zones with their ENTSO-E area codes. Swedish zones first.
pub static ZONES: &[ZoneInfo] = &[
    ZoneInfo {
        code: "SE1",
        eic: "10Y1001A1001A44P",
        time_zone: "Europe/Stockholm",
        currency: "SEK",
    },
    ZoneInfo {
        code: "SE2",
        eic: "10Y1001A1001A45N",
        time_zone: "Europe/Stockholm",
        currency: "SEK",
    },
    ZoneInfo {
        code: "SE3",
        eic: "10Y1001A1001A46L",
        time_zone: "Europe/Stockholm",
        currency: "SEK",
    },
    ZoneInfo {
        code: "SE4",
        eic: "10Y1001A1001A47J",
        time_zone: "Europe/Stockholm",
        currency: "SEK",
    },
    ZoneInfo {
        code: "NO1",
        eic: "10YNO-1--------2",
        time_zone: "Europe/Oslo",
        currency: "NOK",
    },
    ZoneInfo {
        code: "NO2",
        eic: "10YNO-2--------T",
        time_zone: "Europe/Oslo",
        currency: "NOK",
    },
    ZoneInfo {
        code: "NO3",
        eic: "10YNO-3--------J",
        time_zone: "Europe/Oslo",
        currency: "NOK",
    },
    ZoneInfo {
        code: "NO4",
        eic: "10YNO-4--------9",
        time_zone: "Europe/Oslo",
        currency: "NOK",
    },
    ZoneInfo {
        code: "NO5",
        eic: "10Y1001A1001A48H",
        time_zone: "Europe/Oslo",
        currency: "NOK",
    },
    ZoneInfo {
        code: "DK1",
        eic: "10YDK-1--------W",
        time_zone: "Europe/Copenhagen",
        currency: "DKK",
    },
    ZoneInfo {
        code: "DK2",
        eic: "10YDK-2--------M",
        time_zone: "Europe/Copenhagen",
        currency: "DKK",
    },
    ZoneInfo {
        code: "FI",
        eic: "10YFI-1--------U",
        time_zone: "Europe/Helsinki",
        currency: "EUR",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bidding zone {0:?} (known: SE1–SE4, NO1–NO5, DK1, DK2, FI)")]
pub struct UnknownZone(pub String);

impl BiddingZone {
    pub fn parse(s: &str) -> Result<Self, UnknownZone> {
        ZONES
            .iter()
            .find(|z| z.code.eq_ignore_ascii_case(s.trim()))
            .map(BiddingZone)
            .ok_or_else(|| UnknownZone(s.to_owned()))
    }

    pub fn all() -> impl Iterator<Item = BiddingZone> {
        ZONES.iter().map(BiddingZone)
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    pub fn eic(self) -> &'static str {
        self.0.eic
    }

    pub fn currency(self) -> &'static str {
        self.0.currency
    }

    pub fn tz(self) -> Tz {
        self.0
            .time_zone
            .parse()
            .expect("zone table holds valid tz names")
    }

    /// First instant of the zone's local `date`.
    pub fn day_start(self, date: NaiveDate) -> Timestamp {
        local_midnight(self.tz(), date)
    }

    /// The zone's local calendar day that contains `t`.
    pub fn local_date(self, t: Timestamp) -> NaiveDate {
        local_time(t, self.tz()).date()
    }

    /// Length of the zone's local `date` (23, 24 or 25 hours).
    pub fn day_length(self, date: NaiveDate) -> TimeDelta {
        // The last date chrono knows has no next day: call it 24 hours.
        let Some(next) = date.succ_opt() else {
            return TimeDelta::hours(24);
        };
        self.day_start(next) - self.day_start(date)
    }
}

/// The wall-clock time in `tz` at `t`. Unlike chrono's `naive_local`, it
/// cannot panic: at the ends of chrono's range, where the local time would
/// fall outside it, the nearest representable time is returned.
pub fn local_time(t: Timestamp, tz: Tz) -> NaiveDateTime {
    let utc = t.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset)
        .unwrap_or(if offset.local_minus_utc() > 0 {
            NaiveDateTime::MAX
        } else {
            NaiveDateTime::MIN
        })
}

/// Midnight of `date` in `tz`, as UTC. Midnight always exists in the zones we
/// know (DST changes happen at 02:00/03:00); should a zone ever skip it, the
/// first instant after the gap is used.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Timestamp {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&chrono::Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&chrono::Utc),
        chrono::LocalResult::None => {
            // No zone has a gap longer than an hour; at the end of
            // chrono's range, midnight UTC stands in.
            naive
                .checked_add_signed(TimeDelta::hours(1))
                .and_then(|later| tz.from_local_datetime(&later).earliest())
                .map_or(naive.and_utc(), |t| t.with_timezone(&chrono::Utc))
        }
    }
}

impl TryFrom<String> for BiddingZone {
    type Error = UnknownZone;
    fn try_from(s: String) -> Result<Self, UnknownZone> {
        Self::parse(&s)
    }
}

impl From<BiddingZone> for String {
    fn from(z: BiddingZone) -> String {
        z.code().to_owned()
    }
}

impl std::fmt::Display for BiddingZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One price slot: `[start, end)` at `price` per kWh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotSlot {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Per kWh, in the day's currency, excluding VAT.
    pub price: Decimal,
}

/// Where a day's prices came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpotSource {
    /// elprisetjustnu.se.
    Elprisetjustnu,
    /// ENTSO-E Transparency Platform (day-ahead prices, document A44).
    Entsoe,
    /// Entered through the API.
    Manual,
    /// Filled in by the fallback rule because no source had the day; replaced
    /// as soon as a real source delivers.
    Fallback { rule: String },
}

impl SpotSource {
    pub fn is_fallback(&self) -> bool {
        matches!(self, SpotSource::Fallback { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            SpotSource::Elprisetjustnu => "elprisetjustnu",
            SpotSource::Entsoe => "entsoe",
            SpotSource::Manual => "manual",
            SpotSource::Fallback { .. } => "fallback",
        }
    }
}

/// One delivery day of one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotDay {
    pub zone: BiddingZone,
    /// The zone's local calendar day.
    pub date: NaiveDate,
    pub currency: String,
    /// Slot length in minutes (15 or 60).
    pub resolution_minutes: u32,
    /// Contiguous, ordered, covering the whole local day.
    pub slots: Vec<SpotSlot>,
    pub source: SpotSource,
    pub fetched_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpotDayError {
    #[error("resolution must be 15 or 60 minutes, got {0}")]
    Resolution(u32),
    #[error("{zone} {date}: expected {expected} slots of {resolution} min, got {got}")]
    SlotCount {
        zone: String,
        date: NaiveDate,
        expected: usize,
        got: usize,
        resolution: u32,
    },
    #[error("{zone} {date}: slot {index} is [{start}, {end}), expected to start at {expected}")]
    Gap {
        zone: String,
        date: NaiveDate,
        index: usize,
        start: Timestamp,
        end: Timestamp,
        expected: Timestamp,
    },
}

impl SpotDay {
    /// Checks that the slots tile the zone's local day exactly (92/96/100
    /// quarter-hours on DST days), so a price lookup never falls in a hole.
    pub fn validate(&self) -> Result<(), SpotDayError> {
        let res = self.resolution_minutes;
        if res != 15 && res != 60 {
            return Err(SpotDayError::Resolution(res));
        }
        let len = self.zone.day_length(self.date);
        let expected = (len.num_minutes() / i64::from(res)) as usize;
        if self.slots.len() != expected {
            return Err(SpotDayError::SlotCount {
                zone: self.zone.code().into(),
                date: self.date,
                expected,
                got: self.slots.len(),
                resolution: res,
            });
        }
        let step = TimeDelta::minutes(i64::from(res));
        let mut at = self.zone.day_start(self.date);
        for (index, s) in self.slots.iter().enumerate() {
            if s.start != at || s.end != at + step {
                return Err(SpotDayError::Gap {
                    zone: self.zone.code().into(),
                    date: self.date,
                    index,
                    start: s.start,
                    end: s.end,
                    expected: at,
                });
            }
            at += step;
        }
        Ok(())
    }

    /// The slot containing `t`, if the day covers it.
    pub fn slot_at(&self, t: Timestamp) -> Option<&SpotSlot> {
        let i = self.slots.partition_point(|s| s.end <= t);
        self.slots.get(i).filter(|s| s.start <= t)
    }

    /// The same prices at `resolution_minutes` = 15: an hourly day becomes four
    /// equal quarter-hours each (what a mixed-resolution lookup wants).
    pub fn to_quarter_hours(&self) -> SpotDay {
        if self.resolution_minutes == 15 {
            return self.clone();
        }
        let step = TimeDelta::minutes(15);
        let mut slots = Vec::with_capacity(self.slots.len() * 4);
        for s in &self.slots {
            let mut at = s.start;
            while at < s.end {
                slots.push(SpotSlot {
                    start: at,
                    end: at + step,
                    price: s.price,
                });
                at += step;
            }
        }
        SpotDay {
            resolution_minutes: 15,
            slots,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(zone: &str, date: &str, res: u32, n: usize) -> SpotDay {
        let zone = BiddingZone::parse(zone).unwrap();
        let date: NaiveDate = date.parse().unwrap();
        let step = TimeDelta::minutes(i64::from(res));
        let start = zone.day_start(date);
        SpotDay {
            zone,
            date,
            currency: "SEK".into(),
            resolution_minutes: res,
            slots: (0..n)
                .map(|i| SpotSlot {
                    start: start + step * i as i32,
                    end: start + step * (i as i32 + 1),
                    price: Decimal::from(i as i64),
                })
                .collect(),
            source: SpotSource::Manual,
            fetched_at: start,
        }
    }

    #[test]
    fn dst_days_have_92_96_100_quarter_hours() {
        assert!(day("SE3", "2026-03-29", 15, 92).validate().is_ok());
        assert!(day("SE3", "2026-03-30", 15, 96).validate().is_ok());
        assert!(day("SE3", "2026-10-25", 15, 100).validate().is_ok());
        assert!(day("SE3", "2026-10-25", 60, 25).validate().is_ok());
        assert!(matches!(
            day("SE3", "2026-10-25", 15, 96).validate(),
            Err(SpotDayError::SlotCount { expected: 100, .. })
        ));
        assert!(matches!(
            day("SE3", "2026-10-25", 30, 50).validate(),
            Err(SpotDayError::Resolution(30))
        ));
    }

    #[test]
    fn slot_lookup_and_quarter_hours() {
        let d = day("SE4", "2026-10-25", 60, 25);
        let q = d.to_quarter_hours();
        assert_eq!(q.slots.len(), 100);
        assert!(q.validate().is_ok());
        let t = d.slots[3].start + TimeDelta::minutes(20);
        assert_eq!(d.slot_at(t).unwrap().price, Decimal::from(3));
        assert_eq!(q.slot_at(t).unwrap().price, Decimal::from(3));
        assert!(d.slot_at(d.slots[24].end).is_none());
        assert!(d
            .slot_at(d.slots[0].start - TimeDelta::seconds(1))
            .is_none());
    }

    #[test]
    fn zones_parse_case_insensitively_and_serialise_as_code() {
        let z = BiddingZone::parse("se3").unwrap();
        assert_eq!(z.code(), "SE3");
        assert_eq!(z.eic(), "10Y1001A1001A46L");
        assert_eq!(serde_json::to_string(&z).unwrap(), "\"SE3\"");
        assert!(BiddingZone::parse("SE5").is_err());
    }
}
