//! Alarms: conditions an operator must look at (tomorrow's spot prices are
//! missing, a station is offline, …). An alarm is raised once per condition
//! (its id is derived from the condition): raising it again while it is
//! active is a repeat, which counts and updates the open alarm
//! ([`Alarm::repeated`]) instead of opening another one. It is resolved when
//! the condition clears, or by hand.

use crate::{OrgId, Timestamp};

/// Ordered: `Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// Derived from the condition, e.g. `spot-missing:SE3:2026-11-24`.
    pub id: String,
    /// Platform-wide alarms (spot prices) belong to the default organisation.
    pub org_id: OrgId,
    /// Machine-readable kind, e.g. `spotPricesMissing`.
    pub kind: String,
    pub severity: Severity,
    /// A short title ("Station CP-1 offline"); `None` in alarms raised
    /// before alarms had one (the message says it).
    pub title: Option<String>,
    pub message: String,
    /// The evidence: kind-specific facts, the latest repeat's.
    pub details: serde_json::Value,
    /// What to do about it.
    pub action: Option<String>,
    pub raised_at: Timestamp,
    /// How often the condition was seen while the alarm was open: 1 when
    /// raised, one more for each repeat.
    pub occurrences: u32,
    /// The latest repeat; `None` before the first.
    pub last_seen_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// What people did about it: acknowledged, resolved by hand.
    pub handling: Handling,
    pub version: u64,
}

/// What people did about an alarm. Empty when raised (and raised again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handling {
    /// Someone is on it: who ([`crate::actor::Actor::audit_name`]) and when.
    pub acknowledged: Option<(String, Timestamp)>,
    /// Who resolved it by hand; `None` while active or when it resolved
    /// itself because the condition cleared.
    pub resolved_by: Option<String>,
    /// What the person who resolved it wrote.
    pub note: Option<String>,
}

/// Why an alarm cannot be acknowledged or resolved by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlingError {
    #[error("the alarm is resolved")]
    Resolved,
    #[error("the alarm is acknowledged already, by {by} at {}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))]
    Acknowledged { by: String, at: Timestamp },
    #[error("note: at most {max} characters", max = Alarm::MAX_NOTE)]
    NoteTooLong,
}

impl Alarm {
    pub const MAX_NOTE: usize = 2000;

    /// A `kind` alarm of `org` raised at `now`, once, handled by nobody
    /// yet; the caller fills in what it is about (title, message, action,
    /// evidence).
    pub fn opened(
        id: String,
        org_id: OrgId,
        kind: &str,
        severity: Severity,
        now: Timestamp,
    ) -> Alarm {
        Alarm {
            id,
            org_id,
            kind: kind.to_owned(),
            severity,
            title: None,
            message: String::new(),
            details: serde_json::Value::Null,
            action: None,
            raised_at: now,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Handling::default(),
            version: 1,
        }
    }

    pub fn is_active(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// This active alarm after its condition was seen `again`: counted, the
    /// latest evidence, title, message, action and severity; when it was
    /// raised and what people did about it stay. The version moves on.
    pub fn repeated(&self, again: &Alarm) -> Alarm {
        Alarm {
            severity: again.severity,
            title: again.title.clone().or_else(|| self.title.clone()),
            message: again.message.clone(),
            details: again.details.clone(),
            action: again.action.clone().or_else(|| self.action.clone()),
            occurrences: self.occurrences.saturating_add(1),
            last_seen_at: Some(again.raised_at.max(self.raised_at)),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// `by` is on it. Only an active alarm, and only once.
    pub fn acknowledge(&mut self, by: &str, at: Timestamp) -> Result<(), HandlingError> {
        if !self.is_active() {
            return Err(HandlingError::Resolved);
        }
        if let Some((by, at)) = &self.handling.acknowledged {
            return Err(HandlingError::Acknowledged {
                by: by.clone(),
                at: *at,
            });
        }
        self.handling.acknowledged = Some((by.to_owned(), at));
        Ok(())
    }

    /// `by` resolves it by hand, with an optional note (trimmed; empty is
    /// none). An unacknowledged alarm counts as acknowledged by the same
    /// person at the same time.
    pub fn resolve_by_hand(
        &mut self,
        by: &str,
        note: Option<&str>,
        at: Timestamp,
    ) -> Result<(), HandlingError> {
        if !self.is_active() {
            return Err(HandlingError::Resolved);
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > Self::MAX_NOTE) {
            return Err(HandlingError::NoteTooLong);
        }
        if self.handling.acknowledged.is_none() {
            self.handling.acknowledged = Some((by.to_owned(), at));
        }
        self.handling.resolved_by = Some(by.to_owned());
        self.handling.note = note.map(str::to_owned);
        self.resolved_at = Some(at);
        Ok(())
    }
}

/// An organisation's alarm thresholds. An organisation that never set them
/// uses the platform's ([`AlarmSettings::defaults`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSettings {
    pub org_id: OrgId,
    /// A station whose connection closed raises `stationOffline` when it
    /// has not come back for this long.
    pub offline_grace: OfflineGrace,
    /// A station that connects this often within the window raises
    /// `stationFlapping`.
    pub flapping: Churn,
    /// A station that boots this often within the window raises
    /// `stationBootLoop`.
    pub boot_loop: Churn,
    /// A connector that stays in `Preparing` or `Finishing` longer than
    /// this raises `connectorStuck`.
    pub lingering: Lingering,
    /// The duration thresholds of the other station and session rules
    /// (`noMeterValues`, `chargingNothing`, …).
    pub thresholds: Thresholds,
    /// More messages than this within its window from one station raise
    /// `messageFlood`.
    pub message_flood: Limit,
    /// More distinct source addresses than this within its window of one
    /// station's connects raise `stationManyAddresses`.
    pub many_addresses: Limit,
    /// A charger that draws more than its charging profile allows, by
    /// more than the tolerance for longer than its time, raises
    /// `profileIgnored`.
    pub profile_ignored: ProfileTolerance,
    /// A station that leaves this many commands in a row unanswered within
    /// their timeout raises `commandTimeouts`.
    pub command_timeouts: InARow,
    /// Who is mailed when an alarm opens and resolves, from which severity
    /// ([`AlarmSettings::MAX_RECIPIENTS`] at most; none by default).
    pub recipients: Vec<AlarmRecipient>,
    /// Warnings that open within these hours are not mailed at once but in
    /// one digest when they end; critical alarms always are.
    pub quiet_hours: Option<QuietHours>,
    /// Warnings are never mailed one by one: one digest a day, when the
    /// quiet hours end (07:00 Stockholm time without quiet hours).
    pub digest_warnings: bool,
    /// The end of the last digest's window (kept by the digest job, not
    /// set by people); `None` before the first.
    pub digest_through: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// 0 while never stored.
    pub version: u64,
}

/// Someone on duty: an address mailed about alarms of at least
/// `min_severity`, in `language`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRecipient {
    pub email: crate::tenant::Email,
    pub min_severity: Severity,
    pub language: crate::tenant::Language,
}

impl AlarmRecipient {
    /// Whether `alarm` is one this recipient is told about.
    pub fn wants(&self, alarm: &Alarm) -> bool {
        alarm.severity >= self.min_severity
    }
}

impl AlarmSettings {
    /// The platform's thresholds for `org`, with `offline_grace` from the
    /// deployment's setting.
    pub fn defaults(org: OrgId, offline_grace: OfflineGrace) -> Self {
        AlarmSettings {
            org_id: org,
            offline_grace,
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: Vec::new(),
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: None,
            version: 0,
        }
    }

    pub const MAX_RECIPIENTS: usize = 20;

    /// When the daily digest goes without quiet hours, in
    /// [`AlarmSettings::DIGEST_TZ`].
    pub const DIGEST_AT: chrono::NaiveTime = match chrono::NaiveTime::from_hms_opt(7, 0, 0) {
        Some(t) => t,
        None => panic!("07:00 is a time"),
    };
    pub const DIGEST_TZ: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

    /// Whether `alarm`, opening or resolving at `at`, waits for the digest
    /// instead of being mailed at once: a warning, when warnings are
    /// digested or it is quiet.
    pub fn holds(&self, alarm: &Alarm, at: Timestamp) -> bool {
        alarm.severity == Severity::Warning
            && (self.digest_warnings || self.quiet_hours.is_some_and(|q| q.contains(at)))
    }

    /// Whether anything is ever held for a digest.
    pub fn digests(&self) -> bool {
        self.digest_warnings || self.quiet_hours.is_some()
    }

    /// The first digest time strictly after `after`: the end of the quiet
    /// hours, else [`AlarmSettings::DIGEST_AT`].
    pub fn next_digest(&self, after: Timestamp) -> Timestamp {
        let (time, tz) = self
            .quiet_hours
            .map_or((Self::DIGEST_AT, Self::DIGEST_TZ), |q| (q.to, q.time_zone));
        let mut day = after.with_timezone(&tz).date_naive();
        loop {
            if let Some(at) = local_instant(day, time, tz) {
                if at > after {
                    return at;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
    }
}

/// `time` on `day` in `tz`: the earlier of an ambiguous time (the hour
/// that repeats in autumn), an hour later for one that does not exist (the
/// hour skipped in spring).
fn local_instant(
    day: chrono::NaiveDate,
    time: chrono::NaiveTime,
    tz: chrono_tz::Tz,
) -> Option<Timestamp> {
    use chrono::TimeZone;
    let naive = day.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Hours of the day, local to a time zone, when warnings wait: from `from`
/// up to `to`, across midnight when `to` is earlier (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub from: chrono::NaiveTime,
    pub to: chrono::NaiveTime,
    pub time_zone: chrono_tz::Tz,
}

impl QuietHours {
    /// Checked: whole minutes, and not empty (the error names the field).
    pub fn new(
        from: chrono::NaiveTime,
        to: chrono::NaiveTime,
        time_zone: chrono_tz::Tz,
    ) -> Result<Self, (&'static str, String)> {
        use chrono::Timelike;
        for (field, t) in [("from", from), ("to", to)] {
            if t.second() != 0 || t.nanosecond() != 0 {
                return Err((field, "whole minutes, HH:MM".into()));
            }
        }
        if from == to {
            return Err(("to", "must differ from `from`".into()));
        }
        Ok(QuietHours {
            from,
            to,
            time_zone,
        })
    }

    /// Whether `at` falls in the quiet hours.
    pub fn contains(&self, at: Timestamp) -> bool {
        let t = at.with_timezone(&self.time_zone).time();
        if self.from < self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

/// How long a station may be away before it is offline: whole seconds, at
/// least a minute (the sweep looks once a minute) and at most a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OfflineGrace(u32);

impl OfflineGrace {
    pub const MIN_SECS: u32 = 60;
    pub const MAX_SECS: u32 = 7 * 86_400;

    pub fn from_secs(secs: u64) -> Result<Self, String> {
        u32::try_from(secs)
            .ok()
            .filter(|s| (Self::MIN_SECS..=Self::MAX_SECS).contains(s))
            .map(OfflineGrace)
            .ok_or_else(|| {
                format!(
                    "must be whole seconds between {} and {}",
                    Self::MIN_SECS,
                    Self::MAX_SECS
                )
            })
    }

    /// A stored grace: what [`OfflineGrace::from_secs`] or
    /// [`OfflineGrace::platform`] made (1 second to a week).
    pub fn stored(secs: u64) -> Result<Self, String> {
        u32::try_from(secs)
            .ok()
            .filter(|s| (1..=Self::MAX_SECS).contains(s))
            .map(OfflineGrace)
            .ok_or_else(|| format!("must be whole seconds between 1 and {}", Self::MAX_SECS))
    }

    /// The deployment's default, which may be shorter than an
    /// organisation may choose (tests run with seconds).
    pub fn platform(secs: u64) -> Self {
        OfflineGrace(
            u32::try_from(secs)
                .unwrap_or(u32::MAX)
                .clamp(1, Self::MAX_SECS),
        )
    }

    pub fn secs(self) -> u32 {
        self.0
    }

    pub fn as_delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.0.into())
    }
}

/// How often something may happen within a window before it is an alarm:
/// `count` times (3 to 50) within `window` (1 minute to 1 hour).
///
/// The window is at most an hour so that what stations keep of their
/// history ([`crate::station::recent`]) is an hour, and so that API
/// Gateway's reconnect every two hours can never look like flapping; the
/// count is at least 3 so that a connect or boot reads the thresholds only
/// when it is the third within an hour (rare), not on every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Churn {
    count: u8,
    window_secs: u16,
}

impl Churn {
    pub const MIN_COUNT: u8 = 3;
    pub const MAX_COUNT: u8 = 50;
    pub const MIN_WINDOW_SECS: u16 = 60;
    pub const MAX_WINDOW_SECS: u16 = 3600;
    /// The platform's default for connects: 6 within an hour.
    pub const FLAPPING: Churn = Churn {
        count: 6,
        window_secs: 3600,
    };
    /// The platform's default for boots: 3 within 15 minutes.
    pub const BOOT_LOOP: Churn = Churn {
        count: 3,
        window_secs: 900,
    };

    /// Checked: the error says which value and its range (the caller names
    /// the field).
    pub fn new(count: u64, window_secs: u64) -> Result<Self, (&'static str, String)> {
        let count = u8::try_from(count)
            .ok()
            .filter(|c| (Self::MIN_COUNT..=Self::MAX_COUNT).contains(c))
            .ok_or_else(|| {
                (
                    "count",
                    format!(
                        "must be a whole number between {} and {}",
                        Self::MIN_COUNT,
                        Self::MAX_COUNT
                    ),
                )
            })?;
        let window_secs = u16::try_from(window_secs)
            .ok()
            .filter(|w| (Self::MIN_WINDOW_SECS..=Self::MAX_WINDOW_SECS).contains(w))
            .ok_or_else(|| {
                (
                    "windowSeconds",
                    format!(
                        "must be whole seconds between {} and {}",
                        Self::MIN_WINDOW_SECS,
                        Self::MAX_WINDOW_SECS
                    ),
                )
            })?;
        Ok(Churn { count, window_secs })
    }

    pub fn count(self) -> u8 {
        self.count
    }

    pub fn window_secs(self) -> u16 {
        self.window_secs
    }

    /// The times of `times` within the window that ends at `now`.
    pub fn within(self, times: &[Timestamp], now: Timestamp) -> Vec<Timestamp> {
        let from = now - chrono::TimeDelta::seconds(self.window_secs.into());
        times
            .iter()
            .copied()
            .filter(|t| *t > from && *t <= now)
            .collect()
    }

    /// Whether `times` hold `count` or more within the window ending at `now`.
    pub fn exceeded(self, times: &[Timestamp], now: Timestamp) -> bool {
        self.within(times, now).len() >= usize::from(self.count)
    }

    /// Whether `times` could exceed any churn an organisation may choose:
    /// fewer than [`Churn::MIN_COUNT`] within [`Churn::MAX_WINDOW_SECS`]
    /// cannot, and then the thresholds need not be read.
    pub fn may_exceed_any(times: &[Timestamp], now: Timestamp) -> bool {
        Churn {
            count: Self::MIN_COUNT,
            window_secs: Self::MAX_WINDOW_SECS,
        }
        .exceeded(times, now)
    }
}

/// How long a connector may stay in a status that should pass: `Preparing`
/// (plugged in or authorised, and no charging started) and `Finishing` (the
/// session ended, the connector not yet free: the cable is still in or the
/// car still parked). Each 5 minutes to 24 hours.
///
/// These are OCPP 1.6 statuses; 2.0.1 reports `Occupied` for both and for
/// charging, so the rule says nothing about 2.0.1 stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lingering {
    preparing_mins: u16,
    finishing_mins: u16,
}

impl Lingering {
    pub const MIN_MINS: u16 = 5;
    pub const MAX_MINS: u16 = 1440;
    /// The statuses a connector should not stay in.
    pub const STATUSES: [&'static str; 2] = ["Preparing", "Finishing"];
    /// The platform's default: 15 minutes in `Preparing` (a start that did
    /// not happen), 3 hours in `Finishing` (a car left plugged in after its
    /// session is common in a garage; longer is worth a look).
    pub const DEFAULT: Lingering = Lingering {
        preparing_mins: 15,
        finishing_mins: 180,
    };

    /// Checked: the error names the value (`preparingMinutes`,
    /// `finishingMinutes`) and its range.
    pub fn new(preparing_mins: u64, finishing_mins: u64) -> Result<Self, (&'static str, String)> {
        let mins = |name: &'static str, v: u64| {
            u16::try_from(v)
                .ok()
                .filter(|m| (Self::MIN_MINS..=Self::MAX_MINS).contains(m))
                .ok_or_else(|| {
                    (
                        name,
                        format!(
                            "must be whole minutes between {} and {}",
                            Self::MIN_MINS,
                            Self::MAX_MINS
                        ),
                    )
                })
        };
        Ok(Lingering {
            preparing_mins: mins("preparingMinutes", preparing_mins)?,
            finishing_mins: mins("finishingMinutes", finishing_mins)?,
        })
    }

    pub fn preparing_mins(self) -> u16 {
        self.preparing_mins
    }

    pub fn finishing_mins(self) -> u16 {
        self.finishing_mins
    }

    /// Whether a connector should not stay in `status`.
    pub fn watches(status: &str) -> bool {
        Self::STATUSES.contains(&status)
    }

    /// Statuses that cannot be true while a transaction runs on the
    /// connector (in both versions: ChangeAvailability answers `Scheduled`
    /// during a transaction, a reservation needs a free connector).
    /// `Available` is not among them: it ends an open session at once.
    pub const CONTRADICTING: [&'static str; 2] = ["Unavailable", "Reserved"];

    /// Whether `status` contradicts a running transaction.
    pub fn contradicts(status: &str) -> bool {
        Self::CONTRADICTING.contains(&status)
    }

    /// Whether the status write puts a connector in `status` on its
    /// organisation's watch list (by status and time, read by the sweep):
    /// the statuses it should not stay in, and those that contradict a
    /// transaction (the sweep looks for one once the status lasted).
    pub fn listed(status: &str) -> bool {
        Self::watches(status) || Self::contradicts(status)
    }

    /// How long a connector may stay in `status`; `None` for a status it
    /// may stay in.
    pub fn limit(self, status: &str) -> Option<chrono::TimeDelta> {
        let mins = match status {
            "Preparing" => self.preparing_mins,
            "Finishing" => self.finishing_mins,
            _ => return None,
        };
        Some(chrono::TimeDelta::minutes(mins.into()))
    }
}

/// How many of something may come within a window before it is an alarm:
/// more than `count` within `window_secs`, each within its rule's
/// [`LimitBounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    count: u32,
    window_secs: u32,
}

/// What a [`Limit`] may be, and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitBounds {
    pub min_count: u32,
    pub max_count: u32,
    pub min_window_secs: u32,
    pub max_window_secs: u32,
    pub default: Limit,
}

impl Limit {
    /// Messages from one station (`messageFlood`): more than 120 within a
    /// minute by default; 10 to 10000 within 10 s to an hour.
    pub const MESSAGE_FLOOD: LimitBounds = LimitBounds {
        min_count: 10,
        max_count: 10_000,
        min_window_secs: 10,
        max_window_secs: 3600,
        default: Limit {
            count: 120,
            window_secs: 60,
        },
    };
    /// Distinct source addresses of one station's connects
    /// (`stationManyAddresses`): more than 3 within a day by default; 1 to
    /// 20 within 10 s to a week (what a station keeps of its addresses,
    /// [`crate::station::ADDRESSES_KEPT`]).
    pub const MANY_ADDRESSES: LimitBounds = LimitBounds {
        min_count: 1,
        max_count: 20,
        min_window_secs: 10,
        max_window_secs: 7 * 86_400,
        default: Limit {
            count: 3,
            window_secs: 86_400,
        },
    };

    pub fn count(self) -> u32 {
        self.count
    }

    pub fn window_secs(self) -> u32 {
        self.window_secs
    }

    pub fn window(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.window_secs.into())
    }
}

impl LimitBounds {
    /// Checked: the error says which value and its range (the caller names
    /// the field).
    pub fn limit(self, count: u64, window_secs: u64) -> Result<Limit, (&'static str, String)> {
        let count = u32::try_from(count)
            .ok()
            .filter(|c| (self.min_count..=self.max_count).contains(c))
            .ok_or_else(|| {
                (
                    "count",
                    format!("must be between {} and {}", self.min_count, self.max_count),
                )
            })?;
        let window_secs = u32::try_from(window_secs)
            .ok()
            .filter(|w| (self.min_window_secs..=self.max_window_secs).contains(w))
            .ok_or_else(|| {
                (
                    "windowSeconds",
                    format!(
                        "must be whole seconds between {} and {}",
                        self.min_window_secs, self.max_window_secs
                    ),
                )
            })?;
        Ok(Limit { count, window_secs })
    }
}

/// How far and how long a charger may draw above its charging profile's
/// limit before `profileIgnored`: more than the limit plus `percent` of it
/// plus `amps`, for longer than `secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileTolerance {
    percent: u8,
    amps: u8,
    secs: u32,
}

impl ProfileTolerance {
    pub const MAX_PERCENT: u8 = 50;
    /// At least an ampere: what a car draws above its limit for rounding
    /// and measuring is no alarm, and the balancer reads the settings only
    /// for an EVSE more than this above its limit.
    pub const MIN_AMPS: u8 = 1;
    pub const MAX_AMPS: u8 = 16;
    pub const MIN_SECS: u32 = 10;
    pub const MAX_SECS: u32 = 3600;
    /// 10 % + 1 A for 2 minutes.
    pub const DEFAULT: ProfileTolerance = ProfileTolerance {
        percent: 10,
        amps: 1,
        secs: 120,
    };

    /// Checked: the error says which value and its range (the caller names
    /// the field).
    pub fn new(percent: u64, amps: u64, secs: u64) -> Result<Self, (&'static str, String)> {
        let percent = u8::try_from(percent)
            .ok()
            .filter(|p| *p <= Self::MAX_PERCENT)
            .ok_or((
                "percent",
                format!("must be between 0 and {}", Self::MAX_PERCENT),
            ))?;
        let amps = u8::try_from(amps)
            .ok()
            .filter(|a| (Self::MIN_AMPS..=Self::MAX_AMPS).contains(a))
            .ok_or((
                "amps",
                format!(
                    "must be whole amperes between {} and {}",
                    Self::MIN_AMPS,
                    Self::MAX_AMPS
                ),
            ))?;
        let secs = u32::try_from(secs)
            .ok()
            .filter(|s| (Self::MIN_SECS..=Self::MAX_SECS).contains(s))
            .ok_or((
                "seconds",
                format!(
                    "must be whole seconds between {} and {}",
                    Self::MIN_SECS,
                    Self::MAX_SECS
                ),
            ))?;
        Ok(ProfileTolerance {
            percent,
            amps,
            secs,
        })
    }

    pub fn percent(self) -> u8 {
        self.percent
    }

    pub fn amps(self) -> u8 {
        self.amps
    }

    pub fn secs(self) -> u32 {
        self.secs
    }

    pub fn duration(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.secs.into())
    }

    /// The most a charger held to `limit_a` may draw: the limit, plus the
    /// percentage of it, plus the amperes (exact decimals).
    pub fn allowed(self, limit_a: rust_decimal::Decimal) -> rust_decimal::Decimal {
        use rust_decimal::Decimal;
        limit_a
            + limit_a * Decimal::from(self.percent) / Decimal::ONE_HUNDRED
            + Decimal::from(self.amps)
    }
}

/// One rule's threshold: a duration of whole seconds, within the rule's
/// [`Bounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Threshold(u32);

impl Threshold {
    pub fn secs(self) -> u32 {
        self.0
    }

    pub fn as_delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.0.into())
    }

    /// In the unit of its bounds (minutes are whole: the bounds make them).
    pub fn in_unit(self, bounds: Bounds) -> u32 {
        self.0 / bounds.unit.secs()
    }
}

/// The unit a threshold is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Minutes,
}

impl Unit {
    const fn secs(self) -> u32 {
        match self {
            Unit::Seconds => 1,
            Unit::Minutes => 60,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Minutes => "minutes",
        }
    }
}

/// What a rule's threshold may be, in the unit it is set in, and its
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub default: u32,
    pub unit: Unit,
}

impl Bounds {
    /// The default threshold.
    pub const fn default_threshold(self) -> Threshold {
        Threshold(self.default * self.unit.secs())
    }

    /// Checked: `value` in the bounds' unit, within them (the error says
    /// the range; the caller names the field).
    pub fn threshold(self, value: u64) -> Result<Threshold, String> {
        u32::try_from(value)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .and_then(|v| v.checked_mul(self.unit.secs()))
            .map(Threshold)
            .ok_or_else(|| {
                format!(
                    "must be whole {} between {} and {}",
                    self.unit.name(),
                    self.min,
                    self.max
                )
            })
    }

    /// A stored threshold (seconds): what [`Bounds::threshold`] made.
    pub fn stored(self, secs: u32) -> Result<Threshold, String> {
        let unit = self.unit.secs();
        if !secs.is_multiple_of(unit) {
            return Err(format!("{secs} s is not whole {}", self.unit.name()));
        }
        self.threshold((secs / unit).into())
    }
}

/// How many times in a row something must happen before it is an alarm:
/// [`InARow::MIN`] to [`InARow::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InARow(u8);

impl InARow {
    /// Two: one timeout alone is a lost message, not a station that does
    /// not answer.
    pub const MIN: u8 = 2;
    /// Ten: the rule looks at a station's latest commands, not its history.
    pub const MAX: u8 = 10;
    /// Three commands in a row unanswered raise `commandTimeouts`.
    pub const COMMAND_TIMEOUTS: InARow = InARow(3);

    /// Checked: within [`InARow::MIN`]..=[`InARow::MAX`] (the error says
    /// the range; the caller names the field).
    pub fn new(count: u64) -> Result<Self, String> {
        u8::try_from(count)
            .ok()
            .filter(|c| (Self::MIN..=Self::MAX).contains(c))
            .map(InARow)
            .ok_or_else(|| {
                format!(
                    "must be a whole number between {} and {}",
                    Self::MIN,
                    Self::MAX
                )
            })
    }

    pub fn count(self) -> u8 {
        self.0
    }
}

/// The duration thresholds of the rules that have one number each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A running session without an energy register reading for this long
    /// raises `noMeterValues`.
    pub no_meter_values: Threshold,
    /// A running session whose register stands still this long while its
    /// connector says `Charging` raises `chargingNothing`.
    pub charging_nothing: Threshold,
    /// A connector that reports a status contradicting the transaction
    /// running on it for this long raises `statusContradictsSession`.
    pub status_contradiction: Threshold,
    /// A station whose clock is off by more than this raises `clockDrift`.
    pub clock_drift: Threshold,
}

impl Thresholds {
    /// 30 minutes (5 to 1440).
    pub const NO_METER_VALUES: Bounds = Bounds {
        min: 5,
        max: 1440,
        default: 30,
        unit: Unit::Minutes,
    };
    /// 30 minutes (5 to 1440).
    pub const CHARGING_NOTHING: Bounds = Bounds {
        min: 5,
        max: 1440,
        default: 30,
        unit: Unit::Minutes,
    };
    /// 120 seconds (5 to 3600): a status sent just before the
    /// StopTransaction that ends the session is normal ordering.
    pub const STATUS_CONTRADICTION: Bounds = Bounds {
        min: 5,
        max: 3600,
        default: 120,
        unit: Unit::Seconds,
    };
    /// 300 seconds (30 to 86400).
    pub const CLOCK_DRIFT: Bounds = Bounds {
        min: 30,
        max: 86_400,
        default: 300,
        unit: Unit::Seconds,
    };

    pub const DEFAULT: Thresholds = Thresholds {
        no_meter_values: Self::NO_METER_VALUES.default_threshold(),
        charging_nothing: Self::CHARGING_NOTHING.default_threshold(),
        status_contradiction: Self::STATUS_CONTRADICTION.default_threshold(),
        clock_drift: Self::CLOCK_DRIFT.default_threshold(),
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn lingering_limits_are_checked_and_apply_to_preparing_and_finishing_only() {
        use super::*;
        let l = Lingering::new(10, 60).unwrap();
        assert_eq!(l.limit("Preparing"), Some(chrono::TimeDelta::minutes(10)));
        assert_eq!(l.limit("Finishing"), Some(chrono::TimeDelta::minutes(60)));
        assert_eq!(l.limit("Charging"), None);
        assert!(Lingering::watches("Finishing") && !Lingering::watches("Available"));
        assert!(Lingering::listed("Reserved") && Lingering::listed("Preparing"));
        assert!(!Lingering::watches("Unavailable") && Lingering::contradicts("Unavailable"));
        assert!(!Lingering::listed("Available") && !Lingering::listed("Charging"));
        assert_eq!(Lingering::new(4, 60).unwrap_err().0, "preparingMinutes");
        assert_eq!(Lingering::new(10, 1441).unwrap_err().0, "finishingMinutes");
        assert_eq!(
            Lingering::new(10, u64::MAX).unwrap_err().0,
            "finishingMinutes"
        );
    }

    #[test]
    fn a_count_in_a_row_is_between_two_and_ten() {
        use super::*;
        assert_eq!(InARow::COMMAND_TIMEOUTS.count(), 3);
        assert_eq!(InARow::new(2).unwrap().count(), 2);
        assert_eq!(InARow::new(10).unwrap().count(), 10);
        for bad in [0, 1, 11, 256, u64::MAX] {
            assert_eq!(
                InARow::new(bad).unwrap_err(),
                "must be a whole number between 2 and 10"
            );
        }
    }

    #[test]
    fn thresholds_are_checked_in_their_unit_and_stored_in_seconds() {
        use super::*;
        let b = Thresholds::NO_METER_VALUES;
        assert_eq!(b.threshold(30), Ok(Thresholds::DEFAULT.no_meter_values));
        assert_eq!(b.threshold(45).unwrap().secs(), 2700);
        assert_eq!(b.threshold(45).unwrap().in_unit(b), 45);
        assert!(b.threshold(4).is_err() && b.threshold(1441).is_err());
        assert!(b.threshold(u64::MAX).is_err());
        assert_eq!(b.stored(2700), b.threshold(45));
        assert!(b.stored(2701).is_err(), "not whole minutes");
        assert!(b.stored(60).is_err(), "below the bounds");
        let drift = Thresholds::CLOCK_DRIFT;
        assert_eq!(Thresholds::DEFAULT.clock_drift.secs(), 300);
        assert_eq!(
            drift.stored(45).unwrap().as_delta(),
            chrono::TimeDelta::seconds(45)
        );
        assert_eq!(
            drift.threshold(29).unwrap_err(),
            "must be whole seconds between 30 and 86400"
        );
    }

    #[test]
    fn quiet_hours_cross_midnight_and_the_digest_goes_when_they_end() {
        use super::*;
        use chrono::{NaiveTime, TimeZone, Utc};
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let q = QuietHours::new(hm(22, 0), hm(7, 0), chrono_tz::Europe::Stockholm).unwrap();
        // Stockholm is UTC+1 in December.
        let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        assert!(q.contains(utc(7, 21, 0)), "22:00 local");
        assert!(q.contains(utc(8, 5, 59)), "06:59 local");
        assert!(!q.contains(utc(8, 6, 0)), "07:00 local");
        assert!(!q.contains(utc(7, 20, 59)), "21:59 local");
        let day = QuietHours::new(hm(12, 0), hm(13, 0), chrono_tz::UTC).unwrap();
        assert!(day.contains(utc(7, 12, 30)) && !day.contains(utc(7, 13, 0)));
        assert_eq!(
            QuietHours::new(hm(7, 0), hm(7, 0), chrono_tz::UTC)
                .unwrap_err()
                .0,
            "to"
        );
        assert_eq!(
            QuietHours::new(
                NaiveTime::from_hms_opt(7, 0, 5).unwrap(),
                hm(8, 0),
                chrono_tz::UTC
            )
            .unwrap_err()
            .0,
            "from"
        );

        let mut s =
            AlarmSettings::defaults(crate::OrgId::default_org(), OfflineGrace::platform(60));
        assert!(!s.digests());
        s.quiet_hours = Some(q);
        assert!(s.digests());
        assert_eq!(
            s.next_digest(utc(7, 21, 0)),
            utc(8, 6, 0),
            "the quiet hours' end"
        );
        assert_eq!(s.next_digest(utc(8, 6, 0)), utc(9, 6, 0), "strictly after");
        s.quiet_hours = None;
        s.digest_warnings = true;
        assert_eq!(
            s.next_digest(utc(8, 10, 0)),
            utc(9, 6, 0),
            "07:00 Stockholm"
        );
        // Across the spring change (2027-03-28, UTC+1 → UTC+2).
        let spring = Utc.with_ymd_and_hms(2027, 3, 27, 12, 0, 0).unwrap();
        assert_eq!(
            s.next_digest(spring),
            Utc.with_ymd_and_hms(2027, 3, 28, 5, 0, 0).unwrap()
        );

        let warning = Alarm {
            severity: Severity::Warning,
            ..alarm()
        };
        let critical = Alarm {
            severity: Severity::Critical,
            ..alarm()
        };
        assert!(
            s.holds(&warning, utc(8, 12, 0)),
            "digested warnings always wait"
        );
        assert!(!s.holds(&critical, utc(8, 12, 0)), "critical ones never");
        s.digest_warnings = false;
        s.quiet_hours = Some(q);
        assert!(s.holds(&warning, utc(8, 2, 0)) && !s.holds(&warning, utc(8, 12, 0)));
    }

    #[test]
    fn churn_counts_only_the_window_and_checks_its_ranges() {
        use super::Churn;
        use chrono::{TimeZone, Utc};
        let t = |m: i64| Utc.timestamp_opt(1_790_000_000 + m * 60, 0).unwrap();
        let churn = Churn::new(3, 600).unwrap();
        let times = [t(0), t(4), t(8), t(9)];
        assert!(churn.exceeded(&times, t(9)), "4 within 10 min");
        assert!(churn.exceeded(&times, t(10)), "t(0) is out: 3 left");
        assert!(!churn.exceeded(&times, t(15)), "t(4) is out too: 2 left");
        assert!(!churn.exceeded(&times[..2], t(4)));
        assert_eq!(churn.within(&times, t(12)), vec![t(4), t(8), t(9)]);
        assert!(Churn::may_exceed_any(&times, t(60)), "3 within the hour");
        assert!(!Churn::may_exceed_any(&times, t(65)));
        assert_eq!(Churn::new(2, 600).unwrap_err().0, "count");
        assert_eq!(Churn::new(51, 600).unwrap_err().0, "count");
        assert_eq!(Churn::new(3, 59).unwrap_err().0, "windowSeconds");
        assert_eq!(Churn::new(3, 3601).unwrap_err().0, "windowSeconds");
        assert_eq!(Churn::new(u64::MAX, 600).unwrap_err().0, "count");
        assert_eq!(Churn::new(6, 3600), Ok(Churn::FLAPPING));
        assert_eq!(Churn::new(3, 900), Ok(Churn::BOOT_LOOP));
    }

    #[test]
    fn limits_are_checked_against_their_rules_bounds() {
        use super::{Limit, LimitBounds};
        let flood: LimitBounds = Limit::MESSAGE_FLOOD;
        assert_eq!(flood.limit(120, 60), Ok(flood.default));
        assert_eq!(flood.limit(9, 60).unwrap_err().0, "count");
        assert_eq!(flood.limit(10_001, 60).unwrap_err().0, "count");
        assert_eq!(flood.limit(u64::MAX, 60).unwrap_err().0, "count");
        assert_eq!(flood.limit(50, 9).unwrap_err().0, "windowSeconds");
        assert_eq!(flood.limit(50, 3601).unwrap_err().0, "windowSeconds");
        let spread = Limit::MANY_ADDRESSES;
        assert_eq!(spread.default.count(), 3);
        assert_eq!(spread.default.window().num_hours(), 24);
        assert_eq!(spread.limit(0, 60).unwrap_err().0, "count");
        assert_eq!(spread.limit(1, 7 * 86_400).unwrap().window_secs(), 604_800);
        assert_eq!(
            spread.limit(1, 7 * 86_400 + 1).unwrap_err().1,
            "must be whole seconds between 10 and 604800"
        );
    }

    #[test]
    fn a_profile_tolerance_is_a_share_and_amperes_over_the_limit_for_a_time() {
        use super::ProfileTolerance;
        use rust_decimal::Decimal;
        let t = ProfileTolerance::DEFAULT;
        assert_eq!(
            t.allowed(Decimal::from(16)),
            Decimal::new(186, 1),
            "16 + 1.6 + 1"
        );
        assert_eq!(t.duration().num_seconds(), 120);
        assert_eq!(ProfileTolerance::new(10, 1, 120), Ok(t));
        assert_eq!(ProfileTolerance::new(51, 1, 120).unwrap_err().0, "percent");
        assert_eq!(ProfileTolerance::new(0, 0, 120).unwrap_err().0, "amps");
        assert_eq!(ProfileTolerance::new(0, 17, 120).unwrap_err().0, "amps");
        assert_eq!(ProfileTolerance::new(0, 1, 9).unwrap_err().0, "seconds");
        assert_eq!(
            ProfileTolerance::new(u64::MAX, 1, 10).unwrap_err().0,
            "percent"
        );
        assert_eq!(
            ProfileTolerance::new(0, 2, 10)
                .unwrap()
                .allowed(Decimal::new(65, 1)),
            Decimal::new(85, 1)
        );
    }

    #[test]
    fn a_platform_grace_shorter_than_an_organisation_may_choose_still_reads_back() {
        assert!(
            super::OfflineGrace::from_secs(3).is_err(),
            "too short to choose"
        );
        let platform = super::OfflineGrace::platform(3);
        assert_eq!(
            super::OfflineGrace::stored(platform.secs().into()),
            Ok(platform)
        );
        assert!(super::OfflineGrace::stored(0).is_err());
        assert!(super::OfflineGrace::stored(u64::from(super::OfflineGrace::MAX_SECS) + 1).is_err());
        assert_eq!(
            super::OfflineGrace::platform(u64::MAX).secs(),
            super::OfflineGrace::MAX_SECS
        );
    }

    use super::*;
    use chrono::{TimeZone, Utc};

    fn alarm() -> Alarm {
        Alarm {
            id: "a".into(),
            org_id: OrgId::default_org(),
            kind: "k".into(),
            severity: Severity::Warning,
            title: None,
            message: "m".into(),
            details: serde_json::json!({}),
            action: None,
            raised_at: Utc.timestamp_opt(0, 0).unwrap(),
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Handling::default(),
            version: 1,
        }
    }

    #[test]
    fn a_repeat_counts_and_keeps_the_raise_and_the_handling() {
        let mut a = alarm();
        a.acknowledge("key-1", Utc.timestamp_opt(30, 0).unwrap())
            .unwrap();
        let again = Alarm {
            severity: Severity::Critical,
            title: Some("t".into()),
            message: "m2".into(),
            details: serde_json::json!({"errorCode": "OverVoltage"}),
            raised_at: Utc.timestamp_opt(60, 0).unwrap(),
            ..alarm()
        };
        let r = a.repeated(&again);
        assert_eq!(r.occurrences, 2);
        assert_eq!(r.last_seen_at, Some(Utc.timestamp_opt(60, 0).unwrap()));
        assert_eq!(r.raised_at, a.raised_at);
        assert_eq!(r.handling, a.handling);
        assert_eq!(r.details, again.details);
        assert_eq!(
            (r.severity, r.title.as_deref(), r.message.as_str()),
            (Severity::Critical, Some("t"), "m2")
        );
        assert_eq!(r.version, a.version + 1);
        assert_eq!(r.repeated(&again).occurrences, 3);
    }

    #[test]
    fn an_offline_grace_is_a_minute_to_a_week() {
        assert_eq!(OfflineGrace::from_secs(600).unwrap().secs(), 600);
        assert!(OfflineGrace::from_secs(59).is_err());
        assert!(OfflineGrace::from_secs(7 * 86_400 + 1).is_err());
        assert!(OfflineGrace::from_secs(u64::MAX).is_err());
        assert_eq!(OfflineGrace::platform(3).as_delta().num_seconds(), 3);
    }

    #[test]
    fn acknowledged_once_and_resolved_by_hand_once() {
        let at = Utc.timestamp_opt(60, 0).unwrap();
        let mut a = alarm();
        a.acknowledge("key-1", at).unwrap();
        let again = a.acknowledge("key-2", at).unwrap_err();
        assert_eq!(
            again.to_string(),
            "the alarm is acknowledged already, by key-1 at 1970-01-01T00:01:00.000Z"
        );
        a.resolve_by_hand("key-2", Some("  replaced the fuse "), at)
            .unwrap();
        assert_eq!(a.handling.acknowledged, Some(("key-1".into(), at)));
        assert_eq!(a.handling.resolved_by.as_deref(), Some("key-2"));
        assert_eq!(a.handling.note.as_deref(), Some("replaced the fuse"));
        assert!(!a.is_active());
        assert_eq!(a.acknowledge("key-3", at), Err(HandlingError::Resolved));
        assert_eq!(
            a.resolve_by_hand("key-3", None, at),
            Err(HandlingError::Resolved)
        );
    }

    #[test]
    fn resolving_unacknowledged_acknowledges_and_long_notes_are_refused() {
        let at = Utc.timestamp_opt(60, 0).unwrap();
        let mut a = alarm();
        let long = "x".repeat(Alarm::MAX_NOTE + 1);
        assert_eq!(
            a.resolve_by_hand("k", Some(&long), at),
            Err(HandlingError::NoteTooLong)
        );
        assert!(a.is_active());
        a.resolve_by_hand("k", Some("   "), at).unwrap();
        assert_eq!(a.handling.acknowledged, Some(("k".into(), at)));
        assert_eq!(a.handling.note, None);
    }
}
