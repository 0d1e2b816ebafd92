//! Bookings: a driver (or an operator for them) books an EVSE for a time
//! window. Windows of one EVSE that still hold it ([`BookingStatus::occupies`])
//! never overlap; a conflict is answered with the free windows around it
//! ([`free_windows`]). During the window only the booker's id token may
//! start charging on that EVSE ([`Booking::admits`]).
//!
//! # Layout
//! - [`BookingId`]: `bk_` + ULID.
//! - [`Window`]: a checked time window ([`Window::new`] refuses a window that
//!   ends before it starts, lasts longer than [`MAX_LENGTH`], starts in the
//!   past or more than [`MAX_AHEAD`] ahead, naming the field).
//! - [`BookingStatus`], [`Booking`], [`overlapping`], [`free_windows`].

use crate::tenant::Invalid;
use crate::user::UserId;
use crate::{IdError, IdTokenValue, OrgId, StationId, Timestamp};
use chrono::TimeDelta;

/// The longest booking.
pub const MAX_LENGTH: TimeDelta = TimeDelta::hours(24);
/// How far ahead a booking may start.
pub const MAX_AHEAD: TimeDelta = TimeDelta::days(90);
/// How far in the past a new booking's start may lie (clock skew between
/// the booking app and the CSMS).
pub const PAST_SLACK: TimeDelta = TimeDelta::minutes(1);
/// The longest range free windows are computed over.
pub const MAX_RANGE: TimeDelta = TimeDelta::days(31);

/// A booking's id: `bk_` followed by a ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingId(String);

impl BookingId {
    pub const PREFIX: &'static str = "bk_";

    pub fn generate() -> Self {
        BookingId(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
    }

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let ok = s
            .strip_prefix(Self::PREFIX)
            .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok());
        if ok {
            Ok(BookingId(s))
        } else {
            Err(IdError::InvalidChars { kind: "booking id" })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reservation id the CSMS uses on the wire (ReserveNow,
    /// CancelReservation): 31 bits of an FNV-1a hash of the id, so it is
    /// the same on every retry and positive as OCPP wants.
    pub fn reservation_id(&self) -> i32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in self.0.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        // 31 bits: fits an i32 and is never negative.
        i32::try_from(h >> 1).unwrap_or(i32::MAX)
    }
}

impl std::fmt::Display for BookingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `start..end`, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    /// A window for a new booking at `now`: `end` after `start`, at most
    /// [`MAX_LENGTH`] long, `start` not in the past (beyond
    /// [`PAST_SLACK`]) and at most [`MAX_AHEAD`] ahead. The error names the
    /// field.
    pub fn new(
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> Result<Self, (&'static str, Invalid)> {
        if end <= start {
            return Err(("end", Invalid("must come after start".into())));
        }
        if end - start > MAX_LENGTH {
            return Err((
                "end",
                Invalid(format!(
                    "a booking lasts at most {} hours",
                    MAX_LENGTH.num_hours()
                )),
            ));
        }
        if start < now - PAST_SLACK {
            return Err(("start", Invalid("must not be in the past".into())));
        }
        if start > now + MAX_AHEAD {
            return Err((
                "start",
                Invalid(format!("at most {} days ahead", MAX_AHEAD.num_days())),
            ));
        }
        Ok(Window { start, end })
    }

    /// A range to look at (a listing's `from`/`to`): `to` after `from`, at
    /// most [`MAX_RANGE`] long.
    pub fn range(from: Timestamp, to: Timestamp) -> Result<Self, (&'static str, Invalid)> {
        if to <= from {
            return Err(("to", Invalid("must come after from".into())));
        }
        if to - from > MAX_RANGE {
            return Err((
                "to",
                Invalid(format!("at most {} days after from", MAX_RANGE.num_days())),
            ));
        }
        Ok(Window {
            start: from,
            end: to,
        })
    }

    /// A window as stored (already checked when it was made); `None` if
    /// it does not end after it starts.
    pub fn stored(start: Timestamp, end: Timestamp) -> Option<Self> {
        (end > start).then_some(Window { start, end })
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }

    pub fn end(&self) -> Timestamp {
        self.end
    }

    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingStatus {
    /// Made; no ReserveNow sent yet.
    Booked,
    /// The station accepted the ReserveNow.
    Reserved,
    /// The booker started charging in the window.
    Active,
    /// The window ended after the booker charged.
    Completed,
    Cancelled,
    /// The booker did not start within the grace period.
    NoShow,
    /// The station refused the ReserveNow, or was offline.
    Refused,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 7] = [
        BookingStatus::Booked,
        BookingStatus::Reserved,
        BookingStatus::Active,
        BookingStatus::Completed,
        BookingStatus::Cancelled,
        BookingStatus::NoShow,
        BookingStatus::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Reserved => "reserved",
            BookingStatus::Active => "active",
            BookingStatus::Completed => "completed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::NoShow => "noShow",
            BookingStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// Whether a booking in this state holds its window: no other booking
    /// may overlap it, and only its token charges on the EVSE during it.
    /// A refused reservation still holds it: the CSMS could not reserve
    /// the EVSE on the station, but the driver was promised the window.
    pub fn occupies(self) -> bool {
        matches!(
            self,
            BookingStatus::Booked
                | BookingStatus::Reserved
                | BookingStatus::Active
                | BookingStatus::Refused
        )
    }

    /// No step follows.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            BookingStatus::Completed | BookingStatus::Cancelled | BookingStatus::NoShow
        )
    }
}

/// A booked EVSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: BookingId,
    /// The station's organisation.
    pub org_id: OrgId,
    pub station_id: StationId,
    pub evse_id: u32,
    /// The booker's id token: a registered token of the organisation.
    pub token: IdTokenValue,
    /// The person the booking is for, if given.
    pub user_id: Option<UserId>,
    pub window: Window,
    pub status: BookingStatus,
    /// What the station answered to the ReserveNow (`Accepted`,
    /// `Occupied`, `offline`, …); `None`: not sent yet.
    pub reserve_outcome: Option<String>,
    /// Who made it (the audit's name of the caller).
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// 1 when made, one more at each change.
    pub version: u64,
}

impl Booking {
    /// The reservation id on the wire.
    pub fn reservation_id(&self) -> i32 {
        self.id.reservation_id()
    }

    /// Whether this booking holds its EVSE at `at`.
    pub fn holds_at(&self, at: Timestamp) -> bool {
        self.status.occupies() && self.window.contains(at)
    }

    /// Whether `token` may start charging on the booked EVSE at `at`:
    /// outside the window, or when the booking no longer holds it, anyone
    /// (the access mode decides); inside it only the booker's token.
    pub fn admits(&self, token: &IdTokenValue, at: Timestamp) -> bool {
        !self.holds_at(at) || &self.token == token
    }
}

/// The bookings among `existing` whose window overlaps `window` and that
/// hold it: what a new booking of `window` would conflict with.
pub fn overlapping<'a>(
    existing: impl IntoIterator<Item = &'a Booking>,
    window: &Window,
) -> Vec<&'a Booking> {
    existing
        .into_iter()
        .filter(|b| b.status.occupies() && b.window.overlaps(window))
        .collect()
}

/// The parts of `range` no window in `busy` covers, in time order.
pub fn free_windows(range: Window, busy: impl IntoIterator<Item = Window>) -> Vec<Window> {
    let mut busy: Vec<Window> = busy.into_iter().filter(|b| b.overlaps(&range)).collect();
    busy.sort();
    let mut free = Vec::new();
    let mut from = range.start;
    for b in busy {
        if b.start > from {
            free.push(Window {
                start: from,
                end: b.start,
            });
        }
        from = from.max(b.end);
    }
    if from < range.end {
        free.push(Window {
            start: from,
            end: range.end,
        });
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn w(a: &str, b: &str) -> Window {
        Window::stored(t(a), t(b)).unwrap()
    }

    const NOW: &str = "2026-12-06T10:00:00Z";

    #[test]
    fn a_window_is_checked_naming_the_field() {
        let now = t(NOW);
        assert!(Window::new(t("2026-12-06T12:00:00Z"), t("2026-12-06T13:00:00Z"), now).is_ok());
        let field = |a: &str, b: &str| Window::new(t(a), t(b), now).unwrap_err().0;
        assert_eq!(field("2026-12-06T12:00:00Z", "2026-12-06T12:00:00Z"), "end");
        assert_eq!(field("2026-12-06T12:00:00Z", "2026-12-06T11:00:00Z"), "end");
        assert_eq!(field("2026-12-06T12:00:00Z", "2026-12-07T12:00:01Z"), "end");
        assert!(Window::new(t("2026-12-06T12:00:00Z"), t("2026-12-07T12:00:00Z"), now).is_ok());
        assert_eq!(
            field("2026-12-06T09:58:59Z", "2026-12-06T11:00:00Z"),
            "start"
        );
        assert!(
            Window::new(t("2026-12-06T09:59:30Z"), t("2026-12-06T11:00:00Z"), now).is_ok(),
            "a few seconds of skew are fine"
        );
        assert_eq!(
            field("2027-03-06T10:00:01Z", "2027-03-06T11:00:00Z"),
            "start"
        );
        assert!(Window::new(t("2027-03-06T10:00:00Z"), t("2027-03-06T11:00:00Z"), now).is_ok());
        assert_eq!(
            Window::range(t("2026-12-01T00:00:00Z"), t("2027-01-02T00:00:00Z"))
                .unwrap_err()
                .0,
            "to"
        );
        assert_eq!(
            Window::range(t("2026-12-01T00:00:00Z"), t("2026-12-01T00:00:00Z"))
                .unwrap_err()
                .0,
            "to"
        );
    }

    #[test]
    fn windows_that_only_touch_do_not_overlap() {
        let a = w("2026-12-06T12:00:00Z", "2026-12-06T13:00:00Z");
        assert!(!a.overlaps(&w("2026-12-06T13:00:00Z", "2026-12-06T14:00:00Z")));
        assert!(!a.overlaps(&w("2026-12-06T11:00:00Z", "2026-12-06T12:00:00Z")));
        assert!(a.overlaps(&w("2026-12-06T12:59:59Z", "2026-12-06T14:00:00Z")));
        assert!(a.overlaps(&w("2026-12-06T11:00:00Z", "2026-12-06T15:00:00Z")));
        assert!(a.overlaps(&w("2026-12-06T12:10:00Z", "2026-12-06T12:20:00Z")));
        assert!(a.contains(t("2026-12-06T12:00:00Z")));
        assert!(!a.contains(t("2026-12-06T13:00:00Z")));
    }

    fn booking(window: Window, status: BookingStatus) -> Booking {
        Booking {
            id: BookingId::generate(),
            org_id: OrgId::parse("org-a").unwrap(),
            station_id: StationId::parse("CP-1").unwrap(),
            evse_id: 1,
            token: IdTokenValue::parse("BOOKER").unwrap(),
            user_id: None,
            window,
            status,
            reserve_outcome: None,
            created_by: "admin".into(),
            created_at: t(NOW),
            updated_at: t(NOW),
            version: 1,
        }
    }

    #[test]
    fn only_bookings_that_hold_their_window_conflict() {
        let noon = w("2026-12-06T12:00:00Z", "2026-12-06T13:00:00Z");
        let held = booking(noon, BookingStatus::Reserved);
        let refused = booking(noon, BookingStatus::Refused);
        let cancelled = booking(noon, BookingStatus::Cancelled);
        let later = booking(
            w("2026-12-06T13:00:00Z", "2026-12-06T14:00:00Z"),
            BookingStatus::Booked,
        );
        let all = [held.clone(), refused.clone(), cancelled, later];
        let hits = overlapping(&all, &w("2026-12-06T12:30:00Z", "2026-12-06T13:00:00Z"));
        assert_eq!(
            hits.iter().map(|b| &b.id).collect::<Vec<_>>(),
            [&held.id, &refused.id]
        );
    }

    #[test]
    fn during_the_window_only_the_booker_is_admitted() {
        let b = booking(
            w("2026-12-06T12:00:00Z", "2026-12-06T13:00:00Z"),
            BookingStatus::Reserved,
        );
        let booker = IdTokenValue::parse("BOOKER").unwrap();
        let other = IdTokenValue::parse("OTHER").unwrap();
        assert!(b.admits(&booker, t("2026-12-06T12:30:00Z")));
        assert!(!b.admits(&other, t("2026-12-06T12:30:00Z")));
        assert!(b.admits(&other, t("2026-12-06T11:59:59Z")), "before");
        assert!(b.admits(&other, t("2026-12-06T13:00:00Z")), "after");
        let cancelled = Booking {
            status: BookingStatus::Cancelled,
            ..b
        };
        assert!(cancelled.admits(&other, t("2026-12-06T12:30:00Z")));
    }

    #[test]
    fn free_windows_are_the_range_without_the_busy_ones() {
        let day = w("2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z");
        let busy = [
            w("2026-12-06T14:00:00Z", "2026-12-06T15:00:00Z"),
            w("2026-12-06T08:00:00Z", "2026-12-06T10:00:00Z"),
            // Overlapping busy windows merge.
            w("2026-12-06T09:00:00Z", "2026-12-06T11:00:00Z"),
            // Touching the next one: no empty window between.
            w("2026-12-06T15:00:00Z", "2026-12-06T16:00:00Z"),
            // Outside the range.
            w("2026-12-07T01:00:00Z", "2026-12-07T02:00:00Z"),
        ];
        let free: Vec<(String, String)> = free_windows(day, busy)
            .into_iter()
            .map(|f| (f.start().to_rfc3339(), f.end().to_rfc3339()))
            .collect();
        assert_eq!(
            free,
            [
                ("2026-12-06T00:00:00+00:00", "2026-12-06T08:00:00+00:00"),
                ("2026-12-06T11:00:00+00:00", "2026-12-06T14:00:00+00:00"),
                ("2026-12-06T16:00:00+00:00", "2026-12-07T00:00:00+00:00"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        // A busy window over the range's edges leaves nothing there.
        let edge = [w("2026-12-05T23:00:00Z", "2026-12-06T01:00:00Z")];
        assert_eq!(
            free_windows(day, edge)[0].start(),
            t("2026-12-06T01:00:00Z")
        );
        assert!(free_windows(day, [day]).is_empty());
        assert_eq!(free_windows(day, []), [day]);
    }

    #[test]
    fn ids_and_reservation_ids() {
        let id = BookingId::generate();
        assert_eq!(BookingId::parse(id.as_str()).unwrap(), id);
        assert!(BookingId::parse("bk_x").is_err());
        assert!(BookingId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").is_err());
        let r = id.reservation_id();
        assert!(r >= 0);
        assert_eq!(r, BookingId::parse(id.as_str()).unwrap().reservation_id());
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
        }
    }
}
