//! Ratings: a driver rates a completed session of theirs, 1 to 5 stars with
//! an optional comment, once; they may change it for [`EDIT_WINDOW`] after
//! first rating it. Each station and site keeps a running count and sum
//! ([`RatingSummary`]) so its average is one read, for operators now and
//! the reports later.

use crate::session::{Session, SessionStatus};
use crate::user::UserId;
use crate::{OrgId, SessionId, SiteId, StationId, Timestamp};
use chrono::TimeDelta;
use rust_decimal::Decimal;

/// How long after the first rating it may still be changed.
pub const EDIT_WINDOW: TimeDelta = TimeDelta::days(7);
/// A comment's length limit, in characters.
pub const COMMENT_MAX: usize = 1000;

/// 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stars(u8);

impl Stars {
    pub fn new(n: u8) -> Option<Stars> {
        (1..=5).contains(&n).then_some(Stars(n))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A driver's rating of one session (one per session).
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub session_id: SessionId,
    /// The session's organisation, station and site (where it happened).
    pub org_id: OrgId,
    pub station_id: StationId,
    pub site_id: Option<SiteId>,
    pub user_id: UserId,
    pub stars: Stars,
    pub comment: Option<String>,
    /// When first rated: the edit window runs from here.
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// 1 when created, +1 each change.
    pub version: u64,
}

impl Rating {
    /// Until when it may be changed.
    pub fn editable_until(&self) -> Timestamp {
        self.created_at + EDIT_WINDOW
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("stars: must be a whole number from 1 to 5")]
    Stars,
    #[error("comment: at most {COMMENT_MAX} characters")]
    CommentTooLong,
    #[error("the session is still active: rate it when it has ended")]
    NotEnded,
    #[error(
        "the rating can no longer be changed: it was given at {0} and may be changed for 7 days"
    )]
    EditWindowClosed(Timestamp),
}

/// The rating `user` gives `session` now: a new one, or `existing` changed.
/// The caller has made sure the session is the user's.
pub fn rate(
    session: &Session,
    user: &UserId,
    existing: Option<&Rating>,
    stars: Stars,
    comment: Option<String>,
    now: Timestamp,
) -> Result<Rating, RatingError> {
    if session.status != SessionStatus::Completed {
        return Err(RatingError::NotEnded);
    }
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > COMMENT_MAX)
    {
        return Err(RatingError::CommentTooLong);
    }
    Ok(match existing {
        Some(r) if now > r.editable_until() => {
            return Err(RatingError::EditWindowClosed(r.created_at))
        }
        Some(r) => Rating {
            stars,
            comment,
            updated_at: now,
            version: r.version + 1,
            ..r.clone()
        },
        None => Rating {
            session_id: session.id.clone(),
            org_id: session.org_id.clone(),
            station_id: session.station_id.clone(),
            site_id: session.site_id.clone(),
            user_id: user.clone(),
            stars,
            comment,
            created_at: now,
            updated_at: now,
            version: 1,
        },
    })
}

/// A station's or site's ratings in sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatingSummary {
    pub count: u64,
    /// Of all stars given.
    pub sum: u64,
}

impl RatingSummary {
    /// The average to two decimals; `None` without ratings.
    pub fn average(&self) -> Option<Decimal> {
        if self.count == 0 {
            return None;
        }
        let avg = Decimal::from(self.sum).checked_div(Decimal::from(self.count))?;
        Some(avg.round_dp(2))
    }

    /// What a write of `new` over `old` adds to the count and the sum.
    pub fn change(old: Option<&Rating>, new: &Rating) -> (i64, i64) {
        let stars = |r: &Rating| i64::from(r.stars.get());
        match old {
            Some(o) => (0, stars(new) - stars(o)),
            None => (1, stars(new)),
        }
    }

    /// This summary with a change applied (saturating at zero: a change
    /// never takes more than was added).
    pub fn with(self, (count, sum): (i64, i64)) -> RatingSummary {
        let apply = |v: u64, d: i64| {
            if d >= 0 {
                v.saturating_add(d.unsigned_abs())
            } else {
                v.saturating_sub(d.unsigned_abs())
            }
        };
        RatingSummary {
            count: apply(self.count, count),
            sum: apply(self.sum, sum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionUpdate;
    use crate::TransactionId;
    use chrono::{TimeZone, Utc};

    fn t(h: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + TimeDelta::hours(h)
    }

    fn session(ended: bool) -> Session {
        let mut s = Session::blank(
            &StationId::parse("CP-1").unwrap(),
            OrgId::default_org(),
            Some(SiteId::parse("garage").unwrap()),
            &TransactionId::parse("7").unwrap(),
            t(0),
        );
        s.apply(&SessionUpdate {
            is_start: true,
            started_at: Some(t(0)),
            ..Default::default()
        });
        if ended {
            s.apply(&SessionUpdate {
                end: Some(crate::session::SessionEnd {
                    ended_at: t(1),
                    reason: None,
                    meter_stop_wh: None,
                }),
                ..Default::default()
            });
        }
        s
    }

    #[test]
    fn stars_are_one_to_five() {
        assert_eq!(Stars::new(0), None);
        assert_eq!(Stars::new(6), None);
        assert_eq!(Stars::new(5).map(Stars::get), Some(5));
    }

    #[test]
    fn a_completed_session_is_rated_once_and_changed_within_seven_days() {
        let user = UserId::generate();
        let four = Stars::new(4).unwrap();
        assert_eq!(
            rate(&session(false), &user, None, four, None, t(2)),
            Err(RatingError::NotEnded)
        );
        let s = session(true);
        let first = rate(&s, &user, None, four, Some("  Bra laddare ".into()), t(2)).unwrap();
        assert_eq!(
            (first.version, first.comment.as_deref()),
            (1, Some("Bra laddare"))
        );
        assert_eq!(first.site_id, s.site_id);
        let changed = rate(
            &s,
            &user,
            Some(&first),
            Stars::new(2).unwrap(),
            None,
            t(2 + 7 * 24),
        )
        .unwrap();
        assert_eq!(
            (changed.version, changed.stars.get(), changed.created_at),
            (2, 2, t(2))
        );
        assert_eq!(changed.comment, None);
        assert_eq!(
            rate(&s, &user, Some(&changed), four, None, t(3 + 7 * 24)),
            Err(RatingError::EditWindowClosed(t(2)))
        );
        let long = "å".repeat(COMMENT_MAX + 1);
        assert_eq!(
            rate(&s, &user, None, four, Some(long), t(2)),
            Err(RatingError::CommentTooLong)
        );
    }

    #[test]
    fn summaries_count_new_ratings_and_move_by_changes() {
        let user = UserId::generate();
        let s = session(true);
        let first = rate(&s, &user, None, Stars::new(5).unwrap(), None, t(2)).unwrap();
        let again = rate(&s, &user, Some(&first), Stars::new(3).unwrap(), None, t(3)).unwrap();
        let sum = RatingSummary::default()
            .with(RatingSummary::change(None, &first))
            .with(RatingSummary::change(Some(&first), &again));
        assert_eq!(sum, RatingSummary { count: 1, sum: 3 });
        let two = sum.with((1, 4));
        assert_eq!(two.average(), Some(Decimal::new(350, 2)));
        assert_eq!(RatingSummary::default().average(), None);
        assert_eq!(
            RatingSummary { count: 3, sum: 10 }.average(),
            Some(Decimal::new(333, 2))
        );
    }
}
