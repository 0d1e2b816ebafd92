//! Who may charge at a station, and when: access modes on a weekly schedule.
//!
//! A station has an [`AccessPolicy`] (none stored: [`AccessPolicy::legacy`],
//! today's rule that only the station's organisation's tokens pass), and
//! each EVSE may override it with one of its own. A policy is a
//! [`Schedule`] of [`AccessMode`]s plus, for the private mode, the user
//! groups that may charge. The schedule is read in the local time of the
//! station's site ([`mode_at`] is pure: the caller turns an instant into the
//! site's wall-clock time).
//!
//! # Layout
//! - [`AccessMode`]: private, public, semi-public.
//! - [`Schedule`]: a default mode, weekly rules and dated exceptions, checked
//!   when built ([`Schedule::new`]); [`mode_at`] and [`Schedule::next_change`].
//! - [`AccessPolicy`], [`StationAccess`] (the stored record), [`admits`]
//!   (the decision for one token), [`AccessAttempt`] (a refusal kept for the
//!   operator).

use crate::tenant::{DayInterval, Invalid};
use crate::token::IdTokenRecord;
use crate::{IdTokenValue, OrgId, StationId, Timestamp};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Who may charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// Tokens of the station's organisation only (optionally only some of
    /// its user groups): today's rule.
    Private,
    /// Any valid token registered on this platform, of any organisation.
    /// Unknown tokens are still refused: there is no payment yet.
    Public,
    /// Like public for authorisation, but never listed to roaming partners
    /// (a flag the roaming work reads; nothing lists stations yet).
    SemiPublic,
}

impl AccessMode {
    pub const NAMES: [&'static str; 3] = ["private", "public", "semiPublic"];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Private => "private",
            AccessMode::Public => "public",
            AccessMode::SemiPublic => "semiPublic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AccessMode::Private,
            AccessMode::Public,
            AccessMode::SemiPublic,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether the station may be shown in public listings (roaming).
    pub fn listed(self) -> bool {
        self == AccessMode::Public
    }
}

/// The most rules and exceptions one schedule holds.
pub const MAX_RULES: usize = 50;
pub const MAX_EXCEPTIONS: usize = 100;
/// The most user groups a private mode names.
pub const MAX_GROUPS: usize = 50;

/// Weekdays as a bit set, Monday bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    /// The names, Monday first, as the API spells them (as opening hours).
    pub const NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// Refuses an empty set and unknown names.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, Invalid> {
        let mut bits = 0u8;
        for n in names {
            let i = Self::NAMES
                .iter()
                .position(|d| d.eq_ignore_ascii_case(n.trim()))
                .ok_or_else(|| Invalid(format!("{n:?} is not one of mon … sun")))?;
            bits |= 1 << i;
        }
        if bits == 0 {
            return Err(Invalid("must name at least one day".into()));
        }
        Ok(Weekdays(bits))
    }

    pub fn contains(self, day: chrono::Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| Self::NAMES[i])
            .collect()
    }

    fn overlaps(self, other: Weekdays) -> bool {
        self.0 & other.0 != 0
    }
}

/// On these weekdays, from `time.start()` to `time.end()` local time (end
/// excluded; `24:00` is the end of the day), the mode is `mode`. A stretch
/// across midnight is two rules (`22:00-24:00` and `00:00-06:00` of the next
/// days).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub days: Weekdays,
    pub time: DayInterval,
    pub mode: AccessMode,
}

/// From `from` to `to` (both included, whole local days) the mode is `mode`,
/// whatever the rules say: a holiday, a closed week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub mode: AccessMode,
}

/// A weekly schedule of modes. Rules do not overlap each other, nor
/// exceptions each other, so the order never matters: an exception wins over
/// the rules, a rule over the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    default: AccessMode,
    rules: Vec<Rule>,
    exceptions: Vec<Exception>,
}

impl Schedule {
    /// One mode all the time.
    pub fn always(mode: AccessMode) -> Self {
        Schedule {
            default: mode,
            rules: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// Refuses too many rules or exceptions, an exception that ends before
    /// it starts, and overlaps, naming the field (`rules[1]`,
    /// `exceptions[0].to`).
    pub fn new(
        default: AccessMode,
        rules: Vec<Rule>,
        exceptions: Vec<Exception>,
    ) -> Result<Self, (String, Invalid)> {
        if rules.len() > MAX_RULES {
            return Err(("rules".into(), Invalid(format!("at most {MAX_RULES}"))));
        }
        if exceptions.len() > MAX_EXCEPTIONS {
            return Err((
                "exceptions".into(),
                Invalid(format!("at most {MAX_EXCEPTIONS}")),
            ));
        }
        for (i, r) in rules.iter().enumerate() {
            let overlapping = rules[..i].iter().position(|o| {
                o.days.overlaps(r.days)
                    && o.time.start() < r.time.end()
                    && r.time.start() < o.time.end()
            });
            if let Some(j) = overlapping {
                return Err((
                    format!("rules[{i}]"),
                    Invalid(format!("overlaps rules[{j}] on a day both name")),
                ));
            }
        }
        for (i, e) in exceptions.iter().enumerate() {
            if e.to < e.from {
                return Err((
                    format!("exceptions[{i}].to"),
                    Invalid("must not come before from".into()),
                ));
            }
            if let Some(j) = exceptions[..i]
                .iter()
                .position(|o| o.from <= e.to && e.from <= o.to)
            {
                return Err((
                    format!("exceptions[{i}]"),
                    Invalid(format!("overlaps exceptions[{j}]")),
                ));
            }
        }
        Ok(Schedule {
            default,
            rules,
            exceptions,
        })
    }

    pub fn default_mode(&self) -> AccessMode {
        self.default
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// The first instant after `now` at which the mode in `zone` differs
    /// from the mode at `now`, looking up to a year ahead; `None`: it does
    /// not change within that year.
    pub fn next_change(&self, zone: Tz, now: Timestamp) -> Option<Timestamp> {
        let local = now.with_timezone(&zone).naive_local();
        let current = mode_at(self, local);
        let today = local.date();
        // Only midnights and the rules' edges can change the mode.
        let mut edges: Vec<u16> = self
            .rules
            .iter()
            .flat_map(|r| [r.time.start(), r.time.end()])
            .filter(|m| *m < DayInterval::END_OF_DAY)
            .collect();
        edges.push(0);
        edges.sort_unstable();
        edges.dedup();
        for day in 0..=366 {
            let date = today + TimeDelta::days(day);
            for m in &edges {
                let at = date.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(*m));
                if at <= local || mode_at(self, at) == current {
                    continue;
                }
                let instant = local_instant(zone, at);
                if instant > now {
                    return Some(instant);
                }
            }
        }
        None
    }
}

/// The instant of a wall-clock time in `zone`: the earlier one when the
/// clock is set back (the hour is passed twice), the end of the gap when it
/// is set forward (02:30 on the last Sunday of March in Stockholm is 03:00).
pub fn local_instant(zone: Tz, local: NaiveDateTime) -> Timestamp {
    let mut at = local;
    loop {
        if let Some(t) = zone.from_local_datetime(&at).earliest() {
            return t.with_timezone(&chrono::Utc);
        }
        // Inside a gap: the first minute after it.
        at = (at + TimeDelta::minutes(1))
            .with_second(0)
            .unwrap_or(at + TimeDelta::minutes(1));
    }
}

/// The mode a schedule sets at a local wall-clock time: an exception that
/// covers the date, else the rule that covers the weekday and time, else the
/// default.
pub fn mode_at(schedule: &Schedule, local: NaiveDateTime) -> AccessMode {
    let date = local.date();
    if let Some(e) = schedule
        .exceptions
        .iter()
        .find(|e| e.from <= date && date <= e.to)
    {
        return e.mode;
    }
    let minute = (local.hour() * 60 + local.minute()) as u16;
    schedule
        .rules
        .iter()
        .find(|r| {
            r.days.contains(date.weekday()) && r.time.start() <= minute && minute < r.time.end()
        })
        .map_or(schedule.default, |r| r.mode)
}

/// A station's (or one EVSE's) access: the schedule, and the user groups
/// that may charge while it is private (empty: every token of the
/// organisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    pub schedule: Schedule,
    pub groups: Vec<String>,
}

impl AccessPolicy {
    /// A station without a stored policy: private, every group.
    pub fn legacy() -> Self {
        AccessPolicy {
            schedule: Schedule::always(AccessMode::Private),
            groups: Vec::new(),
        }
    }
}

/// The access record of one station: its policy and its EVSEs' overrides,
/// versioned like other records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationAccess {
    pub station_id: StationId,
    pub org_id: OrgId,
    pub policy: AccessPolicy,
    /// EVSE id → the policy that EVSE follows instead of the station's.
    pub evses: BTreeMap<u32, AccessPolicy>,
    pub updated_at: Timestamp,
    /// 1 when first written, one more at each change.
    pub version: u64,
}

impl StationAccess {
    /// The policy at `evse` (`None`: the station as a whole, e.g. an
    /// Authorize, which names no EVSE).
    pub fn policy_at(&self, evse: Option<u32>) -> &AccessPolicy {
        evse.and_then(|e| self.evses.get(&e))
            .unwrap_or(&self.policy)
    }
}

/// A private garage charger's identity: the station starts for one person
/// without a card. Its identifier is an id token of type `EMail` whose
/// value is the person's normalised e-mail address and whose holder is the
/// person (a member of the station's organisation); a station has at most
/// one. A 2.0.1 `TransactionEvent Started` without an id token (or with a
/// `NoAuthorization` one) is that identifier's, and so is a 1.6
/// StartTransaction whose idTag is `free_vend_id_tag` (what the charger is
/// configured to send in free-vend mode: 1.6 always sends one) while that
/// tag is not a registered identifier itself. The identifier is then
/// authorised like a card (its status, validity, the access mode, a
/// booking), so the session is the person's: priced, in `/me/sessions`, on
/// their invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarageIdentity {
    pub station_id: StationId,
    pub org_id: OrgId,
    /// The `EMail` identifier (the person's address).
    pub id_token: IdTokenValue,
    pub user_id: crate::user::UserId,
    /// The 1.6 idTag the charger sends in free-vend mode (at most 20
    /// characters); `None` for a 2.0.1 station (or a 1.6 one that is not
    /// in free-vend mode).
    pub free_vend_id_tag: Option<IdTokenValue>,
    pub updated_at: Timestamp,
    /// 1 when first written, one more at each change.
    pub version: u64,
}

impl GarageIdentity {
    /// The longest 1.6 `idTag`.
    pub const FREE_VEND_TAG_MAX: usize = 20;

    /// Whether a 1.6 idTag is this station's free-vend tag (compared like
    /// registry keys, without regard to case).
    pub fn is_free_vend_tag(&self, tag: &IdTokenValue) -> bool {
        self.free_vend_id_tag
            .as_ref()
            .is_some_and(|t| t.key() == tag.key())
    }
}

/// Why a registered token was refused by the access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessRefusal {
    /// Private, and the token is another organisation's.
    OtherOrganisation,
    /// Private for some user groups, and the token is in none of them.
    GroupNotAllowed,
    /// The EVSE is booked for another id token now
    /// ([`crate::booking::Booking::admits`]).
    Booked,
    /// Private, and the start link was used without signing in.
    SignInRequired,
    /// The start link's station is offline or decommissioned.
    Unavailable,
    /// The start link's EVSE is in use: its connector says a car is
    /// charging there (or suspended, or just finished and still plugged in).
    Occupied,
}

impl AccessRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRefusal::OtherOrganisation => "otherOrganisation",
            AccessRefusal::GroupNotAllowed => "groupNotAllowed",
            AccessRefusal::Booked => "booked",
            AccessRefusal::SignInRequired => "signInRequired",
            AccessRefusal::Unavailable => "unavailable",
            AccessRefusal::Occupied => "occupied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AccessRefusal::OtherOrganisation,
            AccessRefusal::GroupNotAllowed,
            AccessRefusal::Booked,
            AccessRefusal::SignInRequired,
            AccessRefusal::Unavailable,
            AccessRefusal::Occupied,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Whether `mode` (with the policy's `groups`) lets a registered token
/// charge at a station of `station_org`. Its status and dates are the
/// token's own check ([`crate::token::authorize`]).
pub fn admits(
    mode: AccessMode,
    groups: &[String],
    station_org: &OrgId,
    token: &IdTokenRecord,
) -> Result<(), AccessRefusal> {
    match mode {
        AccessMode::Public | AccessMode::SemiPublic => Ok(()),
        AccessMode::Private if &token.org_id != station_org => {
            Err(AccessRefusal::OtherOrganisation)
        }
        AccessMode::Private
            if !groups.is_empty() && !token.group.as_ref().is_some_and(|g| groups.contains(g)) =>
        {
            Err(AccessRefusal::GroupNotAllowed)
        }
        AccessMode::Private => Ok(()),
    }
}

/// How long refused attempts are kept.
pub const ATTEMPT_RETENTION: TimeDelta = TimeDelta::days(90);

/// A refused attempt to charge, kept for the station's operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAttempt {
    pub station_id: StationId,
    /// The station's organisation (whose operator sees it).
    pub org_id: OrgId,
    /// `None`: an Authorize, which names no EVSE.
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub token: IdTokenValue,
    pub at: Timestamp,
    pub mode: AccessMode,
    pub reason: AccessRefusal,
    /// Where it came from: `Authorize`, `StartTransaction`,
    /// `TransactionEvent`, `remoteStart`, `startLink`.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{IdTokenType, TokenStatus};

    fn rule(days: &[&str], time: &str, mode: AccessMode) -> Rule {
        Rule {
            days: Weekdays::parse(days.iter().copied()).unwrap(),
            time: DayInterval::parse(time).unwrap(),
            mode,
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Private Mon–Fri 06:00–18:00, public otherwise; public on 1 May.
    fn office() -> Schedule {
        Schedule::new(
            AccessMode::Public,
            vec![rule(
                &["mon", "tue", "wed", "thu", "fri"],
                "06:00-18:00",
                AccessMode::Private,
            )],
            vec![Exception {
                from: date("2026-05-01"),
                to: date("2026-05-01"),
                mode: AccessMode::Public,
            }],
        )
        .unwrap()
    }

    #[test]
    fn rules_exceptions_and_the_default_decide_in_that_order() {
        let s = office();
        assert_eq!(
            mode_at(&s, local("2026-04-30T05:59:00")),
            AccessMode::Public
        );
        assert_eq!(
            mode_at(&s, local("2026-04-30T06:00:00")),
            AccessMode::Private
        );
        assert_eq!(
            mode_at(&s, local("2026-04-30T17:59:59")),
            AccessMode::Private
        );
        assert_eq!(
            mode_at(&s, local("2026-04-30T18:00:00")),
            AccessMode::Public,
            "the end is excluded"
        );
        assert_eq!(
            mode_at(&s, local("2026-05-01T10:00:00")),
            AccessMode::Public,
            "a Friday, but a holiday"
        );
        assert_eq!(
            mode_at(&s, local("2026-05-02T10:00:00")),
            AccessMode::Public,
            "Saturday"
        );
    }

    #[test]
    fn the_schedule_follows_the_sites_clock_across_a_dst_change() {
        let s = office();
        let zone: Tz = "Europe/Stockholm".parse().unwrap();
        let at = |t: &str| mode_at(&s, utc(t).with_timezone(&zone).naive_local());
        // Clocks go forward on Sunday 29 March 2026: 06:00 local is 05:00
        // UTC the Friday before and 04:00 UTC the Monday after.
        assert_eq!(at("2026-03-27T04:30:00Z"), AccessMode::Public);
        assert_eq!(at("2026-03-27T05:00:00Z"), AccessMode::Private);
        assert_eq!(at("2026-03-30T04:30:00Z"), AccessMode::Private);
        assert_eq!(at("2026-03-30T03:59:00Z"), AccessMode::Public);
        // From Saturday, the next change is Monday 06:00 in summer time.
        assert_eq!(
            s.next_change(zone, utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-30T04:00:00Z"))
        );
        assert_eq!(
            s.next_change(zone, utc("2026-03-21T12:00:00Z")),
            Some(utc("2026-03-23T05:00:00Z"))
        );
        // Back on Sunday 25 October: 18:00 on Friday 23rd is 16:00 UTC, on
        // Monday 26th 17:00 UTC.
        assert_eq!(
            s.next_change(zone, utc("2026-10-23T10:00:00Z")),
            Some(utc("2026-10-23T16:00:00Z"))
        );
        assert_eq!(
            s.next_change(zone, utc("2026-10-26T10:00:00Z")),
            Some(utc("2026-10-26T17:00:00Z"))
        );
        // The holiday: Thursday 18:00 until Monday 06:00.
        assert_eq!(
            s.next_change(zone, utc("2026-04-30T17:00:00Z")),
            Some(utc("2026-05-04T04:00:00Z"))
        );
        assert_eq!(
            Schedule::always(AccessMode::Public).next_change(zone, utc("2026-03-28T12:00:00Z")),
            None
        );
    }

    #[test]
    fn a_rule_inside_the_skipped_hour_starts_when_the_clock_resumes() {
        let zone: Tz = "Europe/Stockholm".parse().unwrap();
        // 02:30 does not exist on 29 March 2026 in Stockholm.
        assert_eq!(
            local_instant(zone, local("2026-03-29T02:30:00")),
            utc("2026-03-29T01:00:00Z")
        );
        // 02:30 happens twice on 25 October: the first.
        assert_eq!(
            local_instant(zone, local("2026-10-25T02:30:00")),
            utc("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn overlaps_and_backwards_exceptions_are_refused_naming_the_field() {
        let err = Schedule::new(
            AccessMode::Public,
            vec![
                rule(&["mon"], "06:00-18:00", AccessMode::Private),
                rule(&["tue"], "06:00-18:00", AccessMode::Private),
                rule(&["tue", "sun"], "17:00-20:00", AccessMode::SemiPublic),
            ],
            vec![],
        )
        .unwrap_err();
        assert_eq!(err.0, "rules[2]");
        assert!(err.1 .0.contains("rules[1]"), "{}", err.1);
        // Touching is fine.
        Schedule::new(
            AccessMode::Public,
            vec![
                rule(&["mon"], "06:00-18:00", AccessMode::Private),
                rule(&["mon"], "18:00-24:00", AccessMode::SemiPublic),
            ],
            vec![],
        )
        .unwrap();
        let backwards = Exception {
            from: date("2026-12-26"),
            to: date("2026-12-24"),
            mode: AccessMode::Public,
        };
        assert_eq!(
            Schedule::new(AccessMode::Public, vec![], vec![backwards])
                .unwrap_err()
                .0,
            "exceptions[0].to"
        );
        let week = |from: &str, to: &str| Exception {
            from: date(from),
            to: date(to),
            mode: AccessMode::Public,
        };
        assert_eq!(
            Schedule::new(
                AccessMode::Private,
                vec![],
                vec![
                    week("2026-12-24", "2026-12-26"),
                    week("2026-12-26", "2026-12-31")
                ]
            )
            .unwrap_err()
            .0,
            "exceptions[1]"
        );
        let many = vec![rule(&["mon"], "06:00-07:00", AccessMode::Public); MAX_RULES + 1];
        assert_eq!(
            Schedule::new(AccessMode::Public, many, vec![])
                .unwrap_err()
                .0,
            "rules"
        );
        assert!(Weekdays::parse(["mon", "funday"]).is_err());
        assert!(Weekdays::parse([]).is_err());
    }

    fn token(org: &str, group: Option<&str>) -> IdTokenRecord {
        IdTokenRecord {
            user_id: None,
            token: IdTokenValue::parse("04A2BC19").unwrap(),
            token_type: IdTokenType::ISO14443,
            status: TokenStatus::Accepted,
            valid_from: None,
            valid_to: None,
            org_id: OrgId::parse(org).unwrap(),
            group: group.map(str::to_owned),
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: None,
            block: None,
            created_at: utc("2026-01-01T00:00:00Z"),
            updated_at: None,
            version: 1,
        }
    }

    #[test]
    fn private_admits_the_organisation_and_its_chosen_groups_public_anyone_registered() {
        let a = OrgId::parse("org-a").unwrap();
        let residents = vec!["residents".to_owned()];
        let own = token("org-a", None);
        let resident = token("org-a", Some("residents"));
        let guest = token("org-a", Some("guests"));
        let other = token("org-b", Some("residents"));
        assert_eq!(admits(AccessMode::Private, &[], &a, &own), Ok(()));
        assert_eq!(
            admits(AccessMode::Private, &[], &a, &other),
            Err(AccessRefusal::OtherOrganisation)
        );
        assert_eq!(
            admits(AccessMode::Private, &residents, &a, &resident),
            Ok(())
        );
        assert_eq!(
            admits(AccessMode::Private, &residents, &a, &guest),
            Err(AccessRefusal::GroupNotAllowed)
        );
        assert_eq!(
            admits(AccessMode::Private, &residents, &a, &own),
            Err(AccessRefusal::GroupNotAllowed)
        );
        assert_eq!(
            admits(AccessMode::Private, &residents, &a, &other),
            Err(AccessRefusal::OtherOrganisation),
            "another organisation's group of the same name is not ours"
        );
        for mode in [AccessMode::Public, AccessMode::SemiPublic] {
            assert_eq!(admits(mode, &residents, &a, &other), Ok(()));
            assert_eq!(admits(mode, &residents, &a, &guest), Ok(()));
        }
        assert!(!AccessMode::SemiPublic.listed());
    }
}
