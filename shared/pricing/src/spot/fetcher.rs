//! The spot-price fetcher: keeps today's and tomorrow's prices of every
//! configured zone stored.
//!
//! Each run, per zone and day (zone-local calendar days):
//! - a day stored from a real source (or by hand) is left alone — re-runs are
//!   cheap and change nothing;
//! - tomorrow is asked for only from the publication time (default 13:00
//!   zone-local; the day-ahead auction publishes around 12:45–13:00 CET);
//!   today is always due;
//! - sources are asked in the configured order until one returns a valid day
//!   ([`SpotDay::validate`]), which is stored;
//! - from the alarm time (default 15:00 zone-local the day before; for today
//!   at once) a day still missing raises the alarm `spot-missing:{zone}:{date}`
//!   and the fallback rule fills the day in, stored as
//!   [`SpotSource::Fallback`];
//! - a fallback day is asked for again on every run and replaced as soon as a
//!   source has the real prices; the alarm is then resolved.
//!
//! Zones run concurrently; one zone's trouble (a source down, a store error)
//! does not stop the others. Nothing here logs on its own: the run returns a
//! [`SpotReport`] and the caller logs it ([`SpotReport::log`]).

use super::{PriceSource, SourceError};
use chrono::{NaiveDate, NaiveTime, TimeDelta, TimeZone};
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{AlarmStore, Clock, SpotPriceStore, StoreError};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// What fills in a day no source had by the alarm time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackRule {
    /// Nothing: sessions in the zone wait unpriced until prices are stored
    /// (by a source, or by hand through the API).
    None,
    /// The prices of the nearest earlier stored day (within a week), slot by
    /// slot at the same local clock time. Days of different length (DST) map
    /// by wall clock: the hour a spring day lacks is simply not copied, the
    /// hour an autumn day repeats gets the same prices twice, and a copy from
    /// a 23-hour day fills its missing 02:00 hour with the 01:00 prices.
    PreviousDay,
    /// One price per kWh (zone currency, excluding VAT) for the whole day.
    Fixed(Decimal),
}

/// How far back [`FallbackRule::PreviousDay`] looks for a day to copy.
const PREVIOUS_DAY_LOOKBACK: u64 = 7;

impl FallbackRule {
    /// `none`, `previous-day` or `fixed:<price>` (e.g. `fixed:0.85`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "none" => return Ok(FallbackRule::None),
            "previous-day" => return Ok(FallbackRule::PreviousDay),
            _ => {}
        }
        if let Some(p) = s.strip_prefix("fixed:") {
            let price: Decimal = p.trim().parse().map_err(|_| {
                format!("fixed:{p} — the price must be a decimal per kWh, e.g. fixed:0.85")
            })?;
            if price.abs() > Decimal::from(1000) {
                return Err(format!("fixed:{p} — prices are per kWh, not per MWh"));
            }
            return Ok(FallbackRule::Fixed(price));
        }
        Err(format!(
            "{s:?} is not none, previous-day or fixed:<price per kWh>"
        ))
    }
}

impl std::fmt::Display for FallbackRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FallbackRule::None => f.write_str("none"),
            FallbackRule::PreviousDay => f.write_str("previous-day"),
            FallbackRule::Fixed(p) => write!(f, "fixed:{p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetcherConfig {
    pub zones: Vec<BiddingZone>,
    /// Zone-local time of the day before from which a day is expected.
    pub publish_time: NaiveTime,
    /// Zone-local time of the day before after which a missing day raises
    /// an alarm and the fallback applies.
    pub alarm_time: NaiveTime,
    pub fallback: FallbackRule,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        FetcherConfig {
            zones: ["SE1", "SE2", "SE3", "SE4"]
                .iter()
                .map(|z| BiddingZone::parse(z).expect("known zone"))
                .collect(),
            publish_time: NaiveTime::from_hms_opt(13, 0, 0).expect("valid time"),
            alarm_time: NaiveTime::from_hms_opt(15, 0, 0).expect("valid time"),
            fallback: FallbackRule::PreviousDay,
        }
    }
}

/// The alarm kind for missing prices.
pub const ALARM_KIND: &str = "spotPricesMissing";

/// The alarm of a zone's missing day.
pub fn alarm_id(zone: BiddingZone, date: NaiveDate) -> String {
    format!("spot-missing:{}:{date}", zone.code())
}

/// What one run did, for the log and the Lambda's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotReport {
    pub at: Timestamp,
    pub days: Vec<DayReport>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayReport {
    pub zone: BiddingZone,
    pub date: NaiveDate,
    pub outcome: Outcome,
    /// What the sources said when they did not deliver.
    pub problems: Vec<String>,
    pub alarm: Option<AlarmChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored before (by this job from `source`, or by hand): nothing asked.
    AlreadyStored {
        source: &'static str,
    },
    /// Before the publication time: not asked yet.
    NotDue,
    Fetched {
        source: &'static str,
        slots: usize,
        replaced_fallback: bool,
    },
    /// Asked; no source has it; not late yet.
    NotPublished,
    /// Late; the fallback stored earlier stays.
    FallbackKept,
    /// Late; the fallback was stored now.
    FellBack {
        rule: String,
    },
    /// Late; no fallback (rule `none`, or nothing to copy).
    Missing,
    StoreFailed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmChange {
    Raised,
    Resolved,
}

impl DayReport {
    /// Whether an operator should hear of it (a warn line).
    pub fn is_trouble(&self) -> bool {
        match &self.outcome {
            Outcome::AlreadyStored { .. } | Outcome::NotDue | Outcome::Fetched { .. } => false,
            // "Not yet" is normal in the publication window; errors are not.
            Outcome::NotPublished => self.problems.iter().any(|p| !p.ends_with(NOT_PUBLISHED)),
            _ => true,
        }
    }
}

const NOT_PUBLISHED: &str = "not published yet";

impl std::fmt::Display for DayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.zone, self.date)?;
        match &self.outcome {
            Outcome::AlreadyStored { source } => write!(f, "stored ({source})")?,
            Outcome::NotDue => f.write_str("not due yet")?,
            Outcome::Fetched {
                source,
                slots,
                replaced_fallback,
            } => {
                write!(f, "fetched from {source} ({slots} slots)")?;
                if *replaced_fallback {
                    f.write_str(", replacing the fallback")?;
                }
            }
            Outcome::NotPublished => f.write_str("not published yet")?,
            Outcome::FallbackKept => f.write_str("still missing, fallback kept")?,
            Outcome::FellBack { rule } => write!(f, "missing, fallback {rule} stored")?,
            Outcome::Missing => f.write_str("missing, no fallback")?,
            Outcome::StoreFailed(e) => write!(f, "store failed: {e}")?,
        }
        match self.alarm {
            Some(AlarmChange::Raised) => f.write_str(", alarm raised")?,
            Some(AlarmChange::Resolved) => f.write_str(", alarm resolved")?,
            None => {}
        }
        if !self.problems.is_empty() && !matches!(self.outcome, Outcome::Fetched { .. }) {
            write!(f, " [{}]", self.problems.join("; "))?;
        }
        Ok(())
    }
}

impl SpotReport {
    pub fn has_trouble(&self) -> bool {
        self.days.iter().any(DayReport::is_trouble)
    }

    /// One line per day worth telling: info for what was fetched, warn for
    /// trouble (a source down, the fallback in use), debug for the rest.
    pub fn log(&self) {
        for d in &self.days {
            if d.is_trouble() {
                tracing::warn!(target: "csms::spot", "spot prices {d}");
            } else if matches!(d.outcome, Outcome::Fetched { .. }) || d.alarm.is_some() {
                tracing::info!(target: "csms::spot", "spot prices {d}");
            } else {
                tracing::debug!(target: "csms::spot", "spot prices {d}");
            }
        }
    }

    /// The report as JSON (the Lambda's answer).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "at": csms_kernel::views::time(self.at),
            "days": self.days.iter().map(|d| json!({
                "zone": d.zone.code(),
                "date": d.date.to_string(),
                "summary": d.to_string(),
                "trouble": d.is_trouble(),
            })).collect::<Vec<_>>(),
        })
    }
}

pub struct SpotFetcher<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    sources: Vec<Arc<dyn PriceSource>>,
    config: FetcherConfig,
    /// Where the missing-prices alarm's opening and resolution are told
    /// (webhooks, the people on duty).
    events: Arc<dyn csms_kernel::events::EventBus>,
}

impl<S: ?Sized> Clone for SpotFetcher<S> {
    fn clone(&self) -> Self {
        SpotFetcher {
            store: self.store.clone(),
            clock: self.clock.clone(),
            sources: self.sources.clone(),
            config: self.config.clone(),
            events: self.events.clone(),
        }
    }
}

/// `time` on the zone-local `date`, as an instant. A time in the spring gap
/// counts as the first instant after it; an autumn repeated time as its first
/// occurrence.
fn local_instant(zone: BiddingZone, date: NaiveDate, time: NaiveTime) -> Timestamp {
    let tz = zone.tz();
    let naive = date.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| zone.day_start(date))
}

impl<S: SpotPriceStore + AlarmStore + ?Sized> SpotFetcher<S> {
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        sources: Vec<Arc<dyn PriceSource>>,
        config: FetcherConfig,
    ) -> Self {
        SpotFetcher {
            store,
            clock,
            sources,
            config,
            events: Arc::new(csms_kernel::events::NoEvents),
        }
    }

    /// Tells `events` when the missing-prices alarm opens or resolves.
    pub fn with_events(mut self, events: Arc<dyn csms_kernel::events::EventBus>) -> Self {
        self.events = events;
        self
    }

    pub fn config(&self) -> &FetcherConfig {
        &self.config
    }

    /// One pass over every zone: today, then tomorrow.
    pub async fn run(&self) -> SpotReport {
        let at = self.clock.now();
        let zones = self.config.zones.iter().map(|&zone| async move {
            let today = zone.local_date(at);
            let tomorrow = today.succ_opt().expect("date in range");
            // In order: tomorrow's fallback may copy today.
            vec![
                self.ensure(zone, today, at).await,
                self.ensure(zone, tomorrow, at).await,
            ]
        });
        let days = futures::future::join_all(zones)
            .await
            .into_iter()
            .flatten()
            .collect();
        SpotReport { at, days }
    }

    /// Makes sure `date` of `zone` is stored as far as `now` allows.
    pub async fn ensure(&self, zone: BiddingZone, date: NaiveDate, now: Timestamp) -> DayReport {
        let mut report = DayReport {
            zone,
            date,
            outcome: Outcome::NotDue,
            problems: Vec::new(),
            alarm: None,
        };
        if let Err(e) = self.ensure_inner(zone, date, now, &mut report).await {
            report.outcome = Outcome::StoreFailed(e.to_string());
        }
        report
    }

    async fn ensure_inner(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
        now: Timestamp,
        report: &mut DayReport,
    ) -> Result<(), StoreError> {
        let day_before = date.pred_opt().expect("date in range");
        let late = now >= local_instant(zone, day_before, self.config.alarm_time);
        let stored = self.store.get_spot_day(zone, date).await?;
        if let Some(day) = stored.as_ref().filter(|d| !d.source.is_fallback()) {
            report.outcome = Outcome::AlreadyStored {
                source: day.source.name(),
            };
            // The prices may have come another way (by hand through the API)
            // after the alarm was raised; then it is over.
            if late {
                report.alarm = self.resolve(zone, date, now).await?;
            }
            return Ok(());
        }
        if now < local_instant(zone, day_before, self.config.publish_time) {
            report.outcome = Outcome::NotDue;
            return Ok(());
        }
        for source in &self.sources {
            match source.fetch(zone, date).await {
                Ok(Some(day)) => match day.validate() {
                    Ok(()) if day.zone == zone && day.date == date => {
                        self.store.put_spot_day(&day).await?;
                        report.outcome = Outcome::Fetched {
                            source: source.name(),
                            slots: day.slots.len(),
                            replaced_fallback: stored.is_some(),
                        };
                        if late || stored.is_some() {
                            report.alarm = self.resolve(zone, date, now).await?;
                        }
                        return Ok(());
                    }
                    Ok(()) => report
                        .problems
                        .push(format!("{}: answered another zone or day", source.name())),
                    Err(e) => report.problems.push(format!("{}: {e}", source.name())),
                },
                Ok(None) => report
                    .problems
                    .push(format!("{}: {NOT_PUBLISHED}", source.name())),
                Err(SourceError::Unsupported { .. }) => {}
                Err(e) => report.problems.push(format!("{}: {e}", source.name())),
            }
        }
        if stored.is_some() {
            report.outcome = Outcome::FallbackKept;
            return Ok(());
        }
        if !late {
            report.outcome = Outcome::NotPublished;
            return Ok(());
        }
        let (fallback, copied_from) = self.fallback_day(zone, date, now).await?;
        let rule = self.config.fallback.to_string();
        let message = match (&fallback, copied_from) {
            (Some(_), Some(from)) => format!(
                "No day-ahead prices for {zone} on {date} by {} {}; using the prices of {from} ({rule}) until they arrive",
                self.config.alarm_time.format("%H:%M"),
                zone.tz().name()
            ),
            (Some(_), None) => format!(
                "No day-ahead prices for {zone} on {date} by {} {}; using the fallback {rule} until they arrive",
                self.config.alarm_time.format("%H:%M"),
                zone.tz().name()
            ),
            (None, _) => format!(
                "No day-ahead prices for {zone} on {date} by {} {} and no fallback ({}): sessions there wait unpriced until prices are stored (PUT /api/v1/spot-prices/{zone}/{date})",
                self.config.alarm_time.format("%H:%M"),
                zone.tz().name(),
                match self.config.fallback {
                    FallbackRule::PreviousDay => "no earlier day stored within a week",
                    _ => "the rule is none",
                }
            ),
        };
        if let Some(day) = &fallback {
            self.store.put_spot_day(day).await?;
            report.outcome = Outcome::FellBack { rule: rule.clone() };
        } else {
            report.outcome = Outcome::Missing;
        }
        // Raising is idempotent: an alarm already active stays as it is.
        let alarm = Alarm {
            id: alarm_id(zone, date),
            org_id: OrgId::default_org(),
            kind: ALARM_KIND.to_owned(),
            severity: Severity::Warning,
            title: Some(format!("Spot prices missing: {} {date}", zone.code())),
            message,
            details: json!({
                "zone": zone.code(),
                "date": date.to_string(),
                "fallback": rule,
                "fallbackApplied": fallback.is_some(),
                "copiedFrom": copied_from.map(|d| d.to_string()),
                "sources": report.problems,
            }),
            raised_at: now,
            action: Some(
                "check what each source said (in the evidence: an ENTSO-E token, the source's status); the fallback prices the day until the real prices come"
                    .to_owned(),
            ),
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 1,
        };
        if csms_kernel::events::raise_alarm(&*self.store, &*self.events, &alarm, now).await? {
            report.alarm = Some(AlarmChange::Raised);
        }
        Ok(())
    }

    /// Resolves the day's alarm if one is active (stores make that a read
    /// when none is).
    async fn resolve(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
        now: Timestamp,
    ) -> Result<Option<AlarmChange>, StoreError> {
        let resolved = csms_kernel::events::resolve_alarm(
            &*self.store,
            &*self.events,
            &alarm_id(zone, date),
            now,
        )
        .await?;
        Ok(resolved.map(|_| AlarmChange::Resolved))
    }

    /// The day the fallback rule makes, and the day it copied (previous-day).
    async fn fallback_day(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
        now: Timestamp,
    ) -> Result<(Option<SpotDay>, Option<NaiveDate>), StoreError> {
        let source = SpotSource::Fallback {
            rule: self.config.fallback.to_string(),
        };
        match &self.config.fallback {
            FallbackRule::None => Ok((None, None)),
            FallbackRule::Fixed(price) => {
                let step = TimeDelta::minutes(15);
                let end = zone.day_start(date.succ_opt().expect("date in range"));
                let mut slots = Vec::with_capacity(100);
                let mut at = zone.day_start(date);
                while at < end {
                    slots.push(SpotSlot {
                        start: at,
                        end: at + step,
                        price: *price,
                    });
                    at += step;
                }
                Ok((
                    Some(SpotDay {
                        zone,
                        date,
                        currency: zone.currency().to_owned(),
                        resolution_minutes: 15,
                        slots,
                        source,
                        fetched_at: now,
                    }),
                    None,
                ))
            }
            FallbackRule::PreviousDay => {
                for back in 1..=PREVIOUS_DAY_LOOKBACK {
                    let Some(earlier) = date.checked_sub_days(chrono::Days::new(back)) else {
                        break;
                    };
                    if let Some(prev) = self.store.get_spot_day(zone, earlier).await? {
                        return Ok((Some(copy_onto(&prev, date, source, now)), Some(earlier)));
                    }
                }
                Ok((None, None))
            }
        }
    }
}

/// `from`'s prices on `date`, slot by slot at the same local clock time (see
/// [`FallbackRule::PreviousDay`]), at `from`'s resolution.
pub fn copy_onto(from: &SpotDay, date: NaiveDate, source: SpotSource, now: Timestamp) -> SpotDay {
    let zone = from.zone;
    let tz = zone.tz();
    let mut by_clock: HashMap<NaiveTime, Decimal> = HashMap::with_capacity(from.slots.len());
    for s in &from.slots {
        // First occurrence: the autumn day's repeated hour copies its first pass.
        by_clock
            .entry(s.start.with_timezone(&tz).time())
            .or_insert(s.price);
    }
    let step = TimeDelta::minutes(i64::from(from.resolution_minutes));
    let end = zone.day_start(date.succ_opt().expect("date in range"));
    let mut slots: Vec<SpotSlot> = Vec::with_capacity(100);
    let mut at = zone.day_start(date);
    while at < end {
        let clock = at.with_timezone(&tz).time();
        let price = by_clock
            .get(&clock)
            // Only a 23-hour source lacks a clock time (02:00–02:59).
            .or_else(|| by_clock.get(&(clock - TimeDelta::hours(1))))
            .copied()
            .or_else(|| slots.last().map(|s| s.price))
            .unwrap_or(from.slots.first().map(|s| s.price).unwrap_or_default());
        slots.push(SpotSlot {
            start: at,
            end: at + step,
            price,
        });
        at += step;
    }
    SpotDay {
        zone,
        date,
        currency: from.currency.clone(),
        resolution_minutes: from.resolution_minutes,
        slots,
        source,
        fetched_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spot::tests::{fixture, FakeHttp};
    use crate::spot::ElprisSource;
    use async_trait::async_trait;
    use csms_kernel::ports::{Page, PageRequest, StoreResult};
    use std::collections::VecDeque;
    use std::sync::Mutex;

    // ------------------------------------------------------------------ fakes

    #[derive(Default)]
    struct MemStore {
        days: Mutex<HashMap<(BiddingZone, NaiveDate), SpotDay>>,
        alarms: Mutex<HashMap<String, Alarm>>,
        puts: Mutex<usize>,
        raises: Mutex<usize>,
        fail: Mutex<bool>,
    }

    impl MemStore {
        fn check(&self) -> StoreResult<()> {
            if *self.fail.lock().unwrap() {
                Err(StoreError::Backend("table unavailable".into()))
            } else {
                Ok(())
            }
        }
        fn day(&self, z: &str, d: &str) -> Option<SpotDay> {
            self.days.lock().unwrap().get(&(zone(z), date(d))).cloned()
        }
        fn alarm(&self, id: &str) -> Option<Alarm> {
            self.alarms.lock().unwrap().get(id).cloned()
        }
    }

    #[async_trait]
    impl SpotPriceStore for MemStore {
        async fn put_spot_day(&self, day: &SpotDay) -> StoreResult<()> {
            self.check()?;
            *self.puts.lock().unwrap() += 1;
            self.days
                .lock()
                .unwrap()
                .insert((day.zone, day.date), day.clone());
            Ok(())
        }
        async fn get_spot_day(
            &self,
            zone: BiddingZone,
            date: NaiveDate,
        ) -> StoreResult<Option<SpotDay>> {
            self.check()?;
            Ok(self.days.lock().unwrap().get(&(zone, date)).cloned())
        }
    }

    #[async_trait]
    impl AlarmStore for MemStore {
        async fn raise_alarm(&self, alarm: &Alarm) -> StoreResult<bool> {
            self.check()?;
            let mut alarms = self.alarms.lock().unwrap();
            if alarms.get(&alarm.id).is_some_and(|a| a.is_active()) {
                return Ok(false);
            }
            *self.raises.lock().unwrap() += 1;
            alarms.insert(alarm.id.clone(), alarm.clone());
            Ok(true)
        }
        async fn resolve_alarm(&self, id: &str, at: Timestamp) -> StoreResult<Option<Alarm>> {
            self.check()?;
            let mut alarms = self.alarms.lock().unwrap();
            match alarms.get_mut(id) {
                Some(a) if a.is_active() => {
                    a.resolved_at = Some(at);
                    Ok(Some(a.clone()))
                }
                _ => Ok(None),
            }
        }
        async fn get_alarm(&self, id: &str) -> StoreResult<Option<Alarm>> {
            self.check()?;
            Ok(self.alarms.lock().unwrap().get(id).cloned())
        }
        async fn put_alarm(&self, alarm: &Alarm, expected: u64) -> StoreResult<()> {
            self.check()?;
            let mut alarms = self.alarms.lock().unwrap();
            match alarms.get(&alarm.id) {
                Some(a) if a.version == expected => {
                    alarms.insert(alarm.id.clone(), alarm.clone());
                    Ok(())
                }
                _ => Err(StoreError::Conflict(format!("alarm {}", alarm.id))),
            }
        }
        async fn list_alarms(
            &self,
            _: &OrgId,
            _: bool,
            _: &PageRequest,
        ) -> StoreResult<Page<Alarm>> {
            unimplemented!()
        }
    }

    struct TestClock(Mutex<Timestamp>);
    impl Clock for TestClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }
    impl TestClock {
        fn set(&self, t: &str) {
            *self.0.lock().unwrap() = t.parse().unwrap();
        }
    }

    type Answer = Result<Option<SpotDay>, SourceError>;

    /// Answers from a per-(zone, date) script; records every ask.
    struct Scripted {
        name: &'static str,
        answers: Mutex<HashMap<(BiddingZone, NaiveDate), VecDeque<Answer>>>,
        default: Result<Option<SpotDay>, SourceError>,
        asked: Mutex<Vec<(BiddingZone, NaiveDate)>>,
    }

    impl Scripted {
        fn new(name: &'static str, default: Result<Option<SpotDay>, SourceError>) -> Arc<Self> {
            Arc::new(Scripted {
                name,
                answers: Mutex::default(),
                default,
                asked: Mutex::default(),
            })
        }
        fn will(&self, z: &str, d: &str, answer: Result<Option<SpotDay>, SourceError>) {
            self.answers
                .lock()
                .unwrap()
                .entry((zone(z), date(d)))
                .or_default()
                .push_back(answer);
        }
        fn asked(&self) -> usize {
            self.asked.lock().unwrap().len()
        }
    }

    #[async_trait]
    impl PriceSource for Scripted {
        fn name(&self) -> &'static str {
            self.name
        }
        async fn fetch(
            &self,
            zone: BiddingZone,
            date: NaiveDate,
        ) -> Result<Option<SpotDay>, SourceError> {
            self.asked.lock().unwrap().push((zone, date));
            self.answers
                .lock()
                .unwrap()
                .get_mut(&(zone, date))
                .and_then(|q| q.pop_front())
                .unwrap_or_else(|| self.default.clone())
        }
    }

    // ------------------------------------------------------------------ helpers

    fn zone(z: &str) -> BiddingZone {
        BiddingZone::parse(z).unwrap()
    }

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A real-looking day: the price of slot i is i/100 (so copies are traceable).
    fn real_day(z: &str, d: &str, res: u32, source: SpotSource) -> SpotDay {
        let zone = zone(z);
        let date = date(d);
        let step = TimeDelta::minutes(i64::from(res));
        let n = (zone.day_length(date).num_minutes() / i64::from(res)) as usize;
        let start = zone.day_start(date);
        SpotDay {
            zone,
            date,
            currency: zone.currency().into(),
            resolution_minutes: res,
            slots: (0..n)
                .map(|i| SpotSlot {
                    start: start + step * i as i32,
                    end: start + step * (i as i32 + 1),
                    price: Decimal::new(i as i64, 2),
                })
                .collect(),
            source,
            fetched_at: start,
        }
    }

    struct Rig {
        store: Arc<MemStore>,
        clock: Arc<TestClock>,
        fetcher: SpotFetcher<MemStore>,
    }

    fn rig(
        zones: &[&str],
        fallback: FallbackRule,
        sources: Vec<Arc<dyn PriceSource>>,
        now: &str,
    ) -> Rig {
        let store = Arc::new(MemStore::default());
        let clock = Arc::new(TestClock(Mutex::new(now.parse().unwrap())));
        let config = FetcherConfig {
            zones: zones.iter().map(|z| zone(z)).collect(),
            fallback,
            ..FetcherConfig::default()
        };
        let fetcher = SpotFetcher::new(store.clone(), clock.clone(), sources, config);
        Rig {
            store,
            clock,
            fetcher,
        }
    }

    fn outcome<'a>(r: &'a SpotReport, z: &str, d: &str) -> &'a DayReport {
        r.days
            .iter()
            .find(|x| x.zone == zone(z) && x.date == date(d))
            .unwrap_or_else(|| panic!("no report for {z} {d}: {r:?}"))
    }

    // ------------------------------------------------------------------ tests

    #[tokio::test]
    async fn today_is_fetched_at_once_tomorrow_from_the_publication_time_and_reruns_change_nothing()
    {
        let src = Scripted::new("elprisetjustnu", Ok(None));
        src.will(
            "SE3",
            "2026-11-24",
            Ok(Some(real_day(
                "SE3",
                "2026-11-24",
                15,
                SpotSource::Elprisetjustnu,
            ))),
        );
        // 10:00 in Stockholm (UTC+1).
        let rig = rig(
            &["SE3"],
            FallbackRule::PreviousDay,
            vec![src.clone()],
            "2026-11-24T09:00:00Z",
        );
        let r = rig.fetcher.run().await;
        assert_eq!(r.days.len(), 2);
        assert!(matches!(
            outcome(&r, "SE3", "2026-11-24").outcome,
            Outcome::Fetched {
                source: "elprisetjustnu",
                slots: 96,
                replaced_fallback: false
            }
        ));
        assert_eq!(outcome(&r, "SE3", "2026-11-25").outcome, Outcome::NotDue);
        assert_eq!(src.asked(), 1);
        assert!(!r.has_trouble());
        assert!(rig.store.day("SE3", "2026-11-24").is_some());

        // Again: nothing asked, nothing written.
        let r = rig.fetcher.run().await;
        assert_eq!(
            outcome(&r, "SE3", "2026-11-24").outcome,
            Outcome::AlreadyStored {
                source: "elprisetjustnu"
            }
        );
        assert_eq!(src.asked(), 1);
        assert_eq!(*rig.store.puts.lock().unwrap(), 1);

        // 13:05 local: tomorrow is due, not out yet — normal, no alarm.
        rig.clock.set("2026-11-24T12:05:00Z");
        let r = rig.fetcher.run().await;
        let t = outcome(&r, "SE3", "2026-11-25");
        assert_eq!(t.outcome, Outcome::NotPublished);
        assert_eq!(t.alarm, None);
        assert!(!t.is_trouble());
        assert_eq!(src.asked(), 2);
    }

    #[tokio::test]
    async fn late_prices_raise_one_alarm_and_the_previous_day_stands_in_until_they_arrive() {
        let src = Scripted::new("elprisetjustnu", Ok(None));
        let mut rig = rig(
            &["SE3"],
            FallbackRule::PreviousDay,
            vec![src.clone()],
            "2026-11-24T14:30:00Z",
        );
        let told = Arc::new(Told::default());
        rig.fetcher = rig.fetcher.clone().with_events(told.clone());
        rig.store
            .put_spot_day(&real_day(
                "SE3",
                "2026-11-24",
                15,
                SpotSource::Elprisetjustnu,
            ))
            .await
            .unwrap();

        // 15:30 local, tomorrow still missing.
        let r = rig.fetcher.run().await;
        let t = outcome(&r, "SE3", "2026-11-25");
        assert_eq!(
            t.outcome,
            Outcome::FellBack {
                rule: "previous-day".into()
            }
        );
        assert_eq!(t.alarm, Some(AlarmChange::Raised));
        assert!(t.is_trouble());
        let alarm = rig.store.alarm("spot-missing:SE3:2026-11-25").unwrap();
        assert_eq!(alarm.kind, "spotPricesMissing");
        assert_eq!(alarm.severity, Severity::Warning);
        assert_eq!(alarm.org_id, OrgId::default_org());
        assert!(alarm.is_active());
        assert_eq!(alarm.details["copiedFrom"], "2026-11-24");
        assert_eq!(
            alarm.details["sources"][0],
            "elprisetjustnu: not published yet"
        );
        let fallback = rig.store.day("SE3", "2026-11-25").unwrap();
        assert_eq!(
            fallback.source,
            SpotSource::Fallback {
                rule: "previous-day".into()
            }
        );
        assert!(fallback.validate().is_ok());
        assert_eq!(fallback.slots[37].price, dec("0.37"));

        // The next run asks again, keeps the fallback, raises nothing new.
        let r = rig.fetcher.run().await;
        assert_eq!(
            outcome(&r, "SE3", "2026-11-25").outcome,
            Outcome::FallbackKept
        );
        assert_eq!(outcome(&r, "SE3", "2026-11-25").alarm, None);
        assert_eq!(*rig.store.raises.lock().unwrap(), 1);

        // The real prices arrive: stored over the fallback, alarm resolved.
        let mut real = real_day("SE3", "2026-11-25", 15, SpotSource::Elprisetjustnu);
        real.slots[37].price = dec("1.5");
        src.will("SE3", "2026-11-25", Ok(Some(real.clone())));
        rig.clock.set("2026-11-24T16:00:00Z");
        let r = rig.fetcher.run().await;
        let t = outcome(&r, "SE3", "2026-11-25");
        assert!(matches!(
            t.outcome,
            Outcome::Fetched {
                replaced_fallback: true,
                ..
            }
        ));
        assert_eq!(t.alarm, Some(AlarmChange::Resolved));
        assert_eq!(rig.store.day("SE3", "2026-11-25").unwrap(), real);
        assert!(!rig
            .store
            .alarm("spot-missing:SE3:2026-11-25")
            .unwrap()
            .is_active());
        // And then it is just stored.
        let r = rig.fetcher.run().await;
        assert_eq!(outcome(&r, "SE3", "2026-11-25").alarm, None);
        assert!(!r.has_trouble());
        // Told once each (webhooks, the people on duty), not per run.
        assert_eq!(
            *told.0.lock().unwrap(),
            [
                "alarmOpened spot-missing:SE3:2026-11-25",
                "alarmResolved spot-missing:SE3:2026-11-25"
            ]
        );
    }

    /// The alarm events published: "{name} {alarm id}".
    #[derive(Default)]
    struct Told(Mutex<Vec<String>>);

    #[async_trait]
    impl csms_kernel::events::EventBus for Told {
        async fn publish(&self, event: csms_kernel::events::DomainEvent) {
            use csms_kernel::events::DomainEvent as E;
            if let E::AlarmOpened { alarm, .. } | E::AlarmResolved { alarm, .. } = &event {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("{} {}", event.name(), alarm.id));
            }
        }
    }

    #[tokio::test]
    async fn sources_are_asked_in_order_until_one_has_a_valid_day() {
        let first = Scripted::new(
            "elprisetjustnu",
            Err(SourceError::Transport("dns error".into())),
        );
        let second = Scripted::new("entsoe", Ok(None));
        let mut broken = real_day("SE4", "2026-11-24", 15, SpotSource::Entsoe);
        broken.slots.pop();
        second.will("SE4", "2026-11-24", Ok(Some(broken)));
        second.will(
            "SE4",
            "2026-11-24",
            Ok(Some(real_day("SE4", "2026-11-24", 60, SpotSource::Entsoe))),
        );
        let rig = rig(
            &["SE4"],
            FallbackRule::None,
            vec![first.clone(), second.clone()],
            "2026-11-24T09:00:00Z",
        );
        let r = rig.fetcher.run().await;
        let t = outcome(&r, "SE4", "2026-11-24");
        // Invalid (95 slots) is not stored; today is late at once, rule none.
        assert_eq!(t.outcome, Outcome::Missing);
        assert_eq!(t.alarm, Some(AlarmChange::Raised));
        assert_eq!(t.problems.len(), 2);
        assert!(
            t.problems[1].contains("expected 96 slots"),
            "{:?}",
            t.problems
        );
        assert!(rig.store.day("SE4", "2026-11-24").is_none());
        assert!(rig
            .store
            .alarm("spot-missing:SE4:2026-11-24")
            .unwrap()
            .message
            .contains("PUT /api/v1/spot-prices/SE4/2026-11-24"));

        let r = rig.fetcher.run().await;
        let t = outcome(&r, "SE4", "2026-11-24");
        assert!(matches!(
            t.outcome,
            Outcome::Fetched {
                source: "entsoe",
                slots: 24,
                replaced_fallback: false
            }
        ));
        assert_eq!(t.alarm, Some(AlarmChange::Resolved));
        assert_eq!(first.asked(), 2);
    }

    #[tokio::test]
    async fn a_day_stored_by_hand_ends_the_alarm() {
        let src = Scripted::new("elprisetjustnu", Ok(None));
        let rig = rig(
            &["SE1"],
            FallbackRule::None,
            vec![src.clone()],
            "2026-11-24T15:00:00Z",
        );
        rig.store
            .put_spot_day(&real_day("SE1", "2026-11-24", 15, SpotSource::Manual))
            .await
            .unwrap();
        let r = rig.fetcher.run().await;
        assert_eq!(
            outcome(&r, "SE1", "2026-11-25").alarm,
            Some(AlarmChange::Raised)
        );
        rig.store
            .put_spot_day(&real_day("SE1", "2026-11-25", 15, SpotSource::Manual))
            .await
            .unwrap();
        let r = rig.fetcher.run().await;
        assert_eq!(
            outcome(&r, "SE1", "2026-11-25").outcome,
            Outcome::AlreadyStored { source: "manual" }
        );
        assert_eq!(
            outcome(&r, "SE1", "2026-11-25").alarm,
            Some(AlarmChange::Resolved)
        );
    }

    #[tokio::test]
    async fn a_fixed_fallback_and_a_failing_store_do_not_stop_other_zones() {
        let src = Scripted::new("elprisetjustnu", Ok(None));
        let rig = rig(
            &["SE2", "SE3"],
            FallbackRule::Fixed(dec("0.85")),
            vec![src],
            "2026-03-28T15:00:00Z",
        );
        let r = rig.fetcher.run().await;
        // Tomorrow is the short spring day: 92 quarter-hours at 0.85.
        let d = rig.store.day("SE2", "2026-03-29").unwrap();
        assert_eq!(d.slots.len(), 92);
        assert!(d.validate().is_ok());
        assert!(d.slots.iter().all(|s| s.price == dec("0.85")));
        assert_eq!(
            d.source,
            SpotSource::Fallback {
                rule: "fixed:0.85".into()
            }
        );
        assert_eq!(r.days.len(), 4);

        *rig.store.fail.lock().unwrap() = true;
        let r = rig.fetcher.run().await;
        assert_eq!(r.days.len(), 4);
        assert!(r
            .days
            .iter()
            .all(|d| matches!(d.outcome, Outcome::StoreFailed(_))));
        assert!(r.has_trouble());
        assert!(r.to_json()["days"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("store failed"));
    }

    #[test]
    fn previous_day_copies_map_by_wall_clock_across_dst() {
        let fb = || SpotSource::Fallback {
            rule: "previous-day".into(),
        };
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let local = |d: &SpotDay, i: usize| d.slots[i].start.with_timezone(&d.zone.tz()).time();

        // 96 → 100 (autumn): the repeated 02:00 hour gets 02:00's prices twice.
        let before = real_day("SE3", "2026-10-24", 15, SpotSource::Entsoe);
        let long = copy_onto(&before, date("2026-10-25"), fb(), now);
        assert_eq!(long.slots.len(), 100);
        assert!(long.validate().is_ok());
        assert_eq!(local(&long, 8).to_string(), "02:00:00");
        assert_eq!(local(&long, 12).to_string(), "02:00:00");
        assert_eq!(long.slots[8].price, before.slots[8].price);
        assert_eq!(long.slots[12].price, before.slots[8].price);
        assert_eq!(long.slots[13].price, before.slots[9].price);
        assert_eq!(long.slots[99].price, before.slots[95].price);

        // 96 → 92 (spring): 02:00–02:45 is not copied, 03:00 is 03:00.
        let before = real_day("SE3", "2026-03-28", 15, SpotSource::Entsoe);
        let short = copy_onto(&before, date("2026-03-29"), fb(), now);
        assert_eq!(short.slots.len(), 92);
        assert!(short.validate().is_ok());
        assert_eq!(short.slots[8].price, before.slots[12].price);

        // 92 → 96: the hour the short day lacks takes its 01:00 hour.
        let back = copy_onto(&short, date("2026-03-30"), fb(), now);
        assert_eq!(back.slots.len(), 96);
        assert!(back.validate().is_ok());
        assert_eq!(back.slots[8].price, short.slots[4].price);
        assert_eq!(back.slots[12].price, short.slots[8].price);

        // Hourly stays hourly: 24 → 25.
        let hourly = real_day("SE1", "2025-10-25", 60, SpotSource::Elprisetjustnu);
        let copy = copy_onto(&hourly, date("2025-10-26"), fb(), now);
        assert_eq!(copy.resolution_minutes, 60);
        assert_eq!(copy.slots.len(), 25);
        assert!(copy.validate().is_ok());
        assert_eq!(copy.slots[3].price, hourly.slots[2].price);
    }

    #[tokio::test]
    async fn over_http_with_the_elprisetjustnu_source() {
        let http = Arc::new(FakeHttp::default());
        let clock: Arc<dyn Clock> = Arc::new(crate::spot::tests::FixedClock(
            "2025-10-01T06:00:00Z".parse().unwrap(),
        ));
        let src = Arc::new(ElprisSource::new(
            http.clone(),
            clock.clone(),
            "http://127.0.0.1:1/p",
        ));
        http.answer(
            "http://127.0.0.1:1/p/2025/10-01_SE3.json",
            200,
            &fixture("elpris-2025-10-01-SE3.json"),
        );
        let store = Arc::new(MemStore::default());
        let fetcher = SpotFetcher::new(
            store.clone(),
            clock,
            vec![src],
            FetcherConfig {
                zones: vec![zone("SE3"), zone("SE4")],
                ..FetcherConfig::default()
            },
        );
        let r = fetcher.run().await;
        assert!(matches!(
            outcome(&r, "SE3", "2025-10-01").outcome,
            Outcome::Fetched { slots: 96, .. }
        ));
        // SE4 has no answer at all ("connection refused"): today is late at
        // once, and nothing earlier is stored to copy.
        let se4 = outcome(&r, "SE4", "2025-10-01");
        assert_eq!(se4.outcome, Outcome::Missing);
        assert_eq!(
            se4.problems,
            ["elprisetjustnu: no answer: connection refused"]
        );
        assert!(se4.to_string().contains("connection refused"), "{se4}");
        assert_eq!(
            store.day("SE3", "2025-10-01").unwrap().source,
            SpotSource::Elprisetjustnu
        );
    }

    #[test]
    fn fallback_rules_parse_and_print() {
        for s in ["none", "previous-day", "fixed:0.85", "fixed:-0.1"] {
            assert_eq!(FallbackRule::parse(s).unwrap().to_string(), s);
        }
        assert!(FallbackRule::parse("fixed:1500").is_err());
        assert!(FallbackRule::parse("median").is_err());
    }
}
