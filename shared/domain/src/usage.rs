//! What reports are made of: the usage facts of one EVSE's day.
//!
//! A [`UsageDay`] holds, for one EVSE (or, as EVSE 0, the station itself)
//! and one UTC day, the facts the charger events brought: the marks of its
//! state (a connector status, or the station's connection going up or
//! down), the sessions that started that day with their energy and price,
//! and the highest power seen in each hour. Reports split the time between
//! marks into hours of any time zone at read time (`csms-reports`), so a
//! span across an hour, midnight or a DST change is split exactly, and
//! nothing is recomputed from raw meter values.
//!
//! Applying a fact is idempotent: a mark that repeats the state in force
//! at its time, a session already known with the same figures, a price
//! revision not newer than the one kept, or a power not above the hour's
//! peak change nothing ([`UsageDay::apply`] answers `false`, and nothing is
//! written). A replayed event therefore never counts twice.
//!
//! A day's facts are bounded ([`MAX_MARKS`], [`MAX_SESSIONS`]): a station
//! that floods status changes stops adding marks for that day rather than
//! growing the record without end.

use crate::{OrgId, SessionId, SiteId, StationId, Timestamp};
use chrono::{DurationRound, NaiveDate, TimeDelta};
use rust_decimal::Decimal;

/// Marks kept per EVSE and day at most: one a minute all day long.
pub const MAX_MARKS: usize = 1440;
/// Sessions kept per EVSE and day at most.
pub const MAX_SESSIONS: usize = 500;

/// What an EVSE was doing, as far as reports care; for EVSE 0 (the station)
/// only [`Use::Online`] and [`Use::Offline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Use {
    Available,
    /// Occupied (a car plugged, reserved, finishing) but not charging.
    Occupied,
    /// Occupied and charging.
    Charging,
    Unavailable,
    Faulted,
    Online,
    Offline,
}

impl Use {
    pub const ALL: [Use; 7] = [
        Use::Available,
        Use::Occupied,
        Use::Charging,
        Use::Unavailable,
        Use::Faulted,
        Use::Online,
        Use::Offline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Use::Available => "available",
            Use::Occupied => "occupied",
            Use::Charging => "charging",
            Use::Unavailable => "unavailable",
            Use::Faulted => "faulted",
            Use::Online => "online",
            Use::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Use> {
        Use::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The use a connector status (1.6 or 2.0.1) means; `None` for a status
    /// reports do not know.
    ///
    /// 2.0.1 says only `Occupied`: whether the car charges is not in its
    /// status, so a 2.0.1 EVSE's time is occupied, never charging.
    pub fn of_status(status: &str) -> Option<Use> {
        match status {
            "Available" => Some(Use::Available),
            "Charging" => Some(Use::Charging),
            "Preparing" | "SuspendedEV" | "SuspendedEVSE" | "Finishing" | "Occupied"
            | "Reserved" => Some(Use::Occupied),
            "Unavailable" => Some(Use::Unavailable),
            "Faulted" => Some(Use::Faulted),
            _ => None,
        }
    }
}

/// The state an EVSE (or station) entered at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub at: Timestamp,
    pub state: Use,
}

/// What a priced session earned (its newest price revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    pub revision: u32,
    pub currency: String,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// A session that started on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFact {
    pub session_id: SessionId,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub energy_wh: Option<Decimal>,
    pub revenue: Option<Revenue>,
}

/// The highest active power seen in an hour (UTC, its start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peak {
    pub hour: Timestamp,
    pub watts: Decimal,
}

/// Which EVSE's day: EVSE 0 is the station (its connection).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    pub org_id: OrgId,
    pub station_id: StationId,
    pub evse_id: u32,
    pub day: NaiveDate,
}

/// One EVSE's facts of one UTC day.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageDay {
    pub key: UsageKey,
    /// The station's site when the day's last fact was applied.
    pub site_id: Option<SiteId>,
    /// The state in force at the day's start: the previous day's (of this
    /// EVSE, however long ago) closing state when this day was first
    /// written; `None`: not known.
    pub opening: Option<Use>,
    /// In time order; a mark at the same time as another follows it.
    pub marks: Vec<Mark>,
    /// In order of id.
    pub sessions: Vec<SessionFact>,
    /// In order of hour.
    pub peaks: Vec<Peak>,
    /// 1 when first written, one more at each write.
    pub version: u64,
}

/// Something a charger event says about an EVSE's day.
#[derive(Debug, Clone, PartialEq)]
pub enum UsageFact {
    State {
        at: Timestamp,
        state: Use,
    },
    /// A session started (or, as `ended` and `revenue`, its end and price
    /// are known): kept under its id, in the day it started.
    Session {
        session_id: SessionId,
        started_at: Timestamp,
        ended_at: Option<Timestamp>,
        energy_wh: Option<Decimal>,
        revenue: Option<Revenue>,
    },
    Power {
        at: Timestamp,
        watts: Decimal,
    },
}

impl UsageFact {
    /// The time that puts the fact in a day.
    pub fn at(&self) -> Timestamp {
        match self {
            UsageFact::State { at, .. } | UsageFact::Power { at, .. } => *at,
            UsageFact::Session { started_at, .. } => *started_at,
        }
    }
}

/// The UTC day of `t`.
pub fn day_of(t: Timestamp) -> NaiveDate {
    t.date_naive()
}

/// The start of `t`'s UTC hour.
pub fn hour_of(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

impl UsageDay {
    /// A day not written yet, opening in `opening`.
    pub fn new(key: UsageKey, site_id: Option<SiteId>, opening: Option<Use>) -> Self {
        UsageDay {
            key,
            site_id,
            opening,
            marks: Vec::new(),
            sessions: Vec::new(),
            peaks: Vec::new(),
            version: 0,
        }
    }

    /// The state in force at `at` (the last mark at or before it, else the
    /// opening).
    pub fn state_at(&self, at: Timestamp) -> Option<Use> {
        self.marks
            .iter()
            .rev()
            .find(|m| m.at <= at)
            .map(|m| m.state)
            .or(self.opening)
    }

    /// The state at the day's end, as far as known.
    pub fn closing(&self) -> Option<Use> {
        self.marks.last().map(|m| m.state).or(self.opening)
    }

    /// Applies `fact`; whether the day changed (`false`: a repeat, or over
    /// the day's bounds — nothing to write).
    pub fn apply(&mut self, fact: &UsageFact) -> bool {
        match fact {
            UsageFact::State { at, state } => {
                if self.state_at(*at) == Some(*state) || self.marks.len() >= MAX_MARKS {
                    return false;
                }
                let i = self.marks.partition_point(|m| m.at <= *at);
                self.marks.insert(
                    i,
                    Mark {
                        at: *at,
                        state: *state,
                    },
                );
                true
            }
            UsageFact::Session {
                session_id,
                started_at,
                ended_at,
                energy_wh,
                revenue,
            } => {
                match self
                    .sessions
                    .binary_search_by(|s| s.session_id.as_str().cmp(session_id.as_str()))
                {
                    Ok(i) => {
                        let s = &mut self.sessions[i];
                        let mut changed = false;
                        if ended_at.is_some() && s.ended_at != *ended_at {
                            s.ended_at = *ended_at;
                            changed = true;
                        }
                        if energy_wh.is_some() && s.energy_wh != *energy_wh {
                            s.energy_wh = *energy_wh;
                            changed = true;
                        }
                        if let Some(r) = revenue {
                            let newer = s.revenue.as_ref().is_none_or(|k| r.revision > k.revision);
                            if newer {
                                s.revenue = Some(r.clone());
                                changed = true;
                            }
                        }
                        changed
                    }
                    Err(i) => {
                        if self.sessions.len() >= MAX_SESSIONS {
                            return false;
                        }
                        self.sessions.insert(
                            i,
                            SessionFact {
                                session_id: session_id.clone(),
                                started_at: *started_at,
                                ended_at: *ended_at,
                                energy_wh: *energy_wh,
                                revenue: revenue.clone(),
                            },
                        );
                        true
                    }
                }
            }
            UsageFact::Power { at, watts } => {
                let hour = hour_of(*at);
                match self.peaks.binary_search_by(|p| p.hour.cmp(&hour)) {
                    Ok(i) if self.peaks[i].watts >= *watts => false,
                    Ok(i) => {
                        self.peaks[i].watts = *watts;
                        true
                    }
                    Err(i) => {
                        self.peaks.insert(
                            i,
                            Peak {
                                hour,
                                watts: *watts,
                            },
                        );
                        true
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn day() -> UsageDay {
        UsageDay::new(
            UsageKey {
                org_id: OrgId::default_org(),
                station_id: StationId::parse("CP-1").unwrap(),
                evse_id: 1,
                day: NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
            },
            None,
            Some(Use::Available),
        )
    }

    #[test]
    fn a_repeated_state_changes_nothing_and_marks_stay_in_time_order() {
        let mut d = day();
        assert!(!d.apply(&UsageFact::State {
            at: t("2026-11-05T08:00:00Z"),
            state: Use::Available
        }));
        let charging = UsageFact::State {
            at: t("2026-11-05T10:00:00Z"),
            state: Use::Charging,
        };
        assert!(d.apply(&charging));
        assert!(!d.apply(&charging), "a replay is not a second mark");
        // A late message from earlier in the day goes in its place.
        assert!(d.apply(&UsageFact::State {
            at: t("2026-11-05T09:00:00Z"),
            state: Use::Occupied
        }));
        let states: Vec<_> = d.marks.iter().map(|m| m.state).collect();
        assert_eq!(states, [Use::Occupied, Use::Charging]);
        assert_eq!(d.state_at(t("2026-11-05T09:30:00Z")), Some(Use::Occupied));
        assert_eq!(d.state_at(t("2026-11-05T01:00:00Z")), Some(Use::Available));
        assert_eq!(d.closing(), Some(Use::Charging));
    }

    #[test]
    fn sessions_are_kept_by_id_and_only_a_newer_price_replaces_one() {
        let mut d = day();
        let id = SessionId::parse("CP-1~7").unwrap();
        let start = UsageFact::Session {
            session_id: id.clone(),
            started_at: t("2026-11-05T10:00:00Z"),
            ended_at: None,
            energy_wh: None,
            revenue: None,
        };
        assert!(d.apply(&start));
        assert!(!d.apply(&start));
        let priced = |revision, gross: i64| UsageFact::Session {
            session_id: id.clone(),
            started_at: t("2026-11-05T10:00:00Z"),
            ended_at: Some(t("2026-11-05T11:00:00Z")),
            energy_wh: Some(Decimal::from(7000)),
            revenue: Some(Revenue {
                revision,
                currency: "SEK".into(),
                net: Decimal::from(gross),
                vat: Decimal::ZERO,
                gross: Decimal::from(gross),
            }),
        };
        assert!(d.apply(&priced(1, 20)));
        assert!(!d.apply(&priced(1, 20)));
        assert!(!d.apply(&priced(1, 99)), "an old revision replayed");
        assert!(d.apply(&priced(2, 25)));
        // The start replayed after the end keeps the end.
        assert!(!d.apply(&start));
        assert_eq!(d.sessions.len(), 1);
        assert_eq!(
            d.sessions[0].revenue.as_ref().unwrap().gross,
            Decimal::from(25)
        );
        assert_eq!(d.sessions[0].energy_wh, Some(Decimal::from(7000)));
    }

    #[test]
    fn the_peak_of_an_hour_only_rises() {
        let mut d = day();
        let p = |at: &str, w: i64| UsageFact::Power {
            at: t(at),
            watts: Decimal::from(w),
        };
        assert!(d.apply(&p("2026-11-05T10:10:00Z", 7000)));
        assert!(!d.apply(&p("2026-11-05T10:20:00Z", 6000)));
        assert!(d.apply(&p("2026-11-05T10:59:59Z", 11000)));
        assert!(d.apply(&p("2026-11-05T09:00:00Z", 3000)));
        assert_eq!(
            d.peaks,
            [
                Peak {
                    hour: t("2026-11-05T09:00:00Z"),
                    watts: Decimal::from(3000)
                },
                Peak {
                    hour: t("2026-11-05T10:00:00Z"),
                    watts: Decimal::from(11000)
                }
            ]
        );
    }

    #[test]
    fn statuses_of_both_versions_have_a_use() {
        assert_eq!(Use::of_status("Charging"), Some(Use::Charging));
        assert_eq!(Use::of_status("SuspendedEV"), Some(Use::Occupied));
        assert_eq!(Use::of_status("Occupied"), Some(Use::Occupied));
        assert_eq!(Use::of_status("Faulted"), Some(Use::Faulted));
        assert_eq!(Use::of_status("Bogus"), None);
        for u in Use::ALL {
            assert_eq!(Use::parse(u.as_str()), Some(u));
        }
    }
}
