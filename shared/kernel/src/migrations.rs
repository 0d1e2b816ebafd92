//! Upgrades of stored data: each one idempotent (run again, it changes
//! nothing) and resumable (it goes a page at a time from a [`Resume`]
//! point, and a run cut short continues from the last point it reported,
//! or from the start: what was done is found done).
//!
//! - [`backfill_booking_persons`]: bookings written before the person
//!   index existed (`GET /me/bookings`, `BookingStore::list_user_bookings`)
//!   were not in it until they changed; this puts every booking made for a
//!   person in their index, going through each organisation's bookings
//!   (`list_bookings`: no scan).

use crate::ports::{BookingStore, OrganisationStore, PageRequest, StoreResult};
use crate::tenants::organisation_ids;
use csms_domain::OrgId;

/// Where a backfill goes on from: the organisation (`None`: the first of
/// [`organisation_ids`]) and the cursor of its next page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    pub org: Option<OrgId>,
    pub cursor: Option<String>,
}

/// What a backfill did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Bookings read.
    pub seen: u64,
    /// Index entries added (0 when everything was indexed already).
    pub indexed: u64,
}

impl std::ops::AddAssign for Backfilled {
    fn add_assign(&mut self, o: Self) {
        self.seen += o.seen;
        self.indexed += o.indexed;
    }
}

/// One page (up to `limit` bookings) of the person index's backfill from
/// `from`: what it did and where to go on from (`None`: done).
pub async fn backfill_booking_persons_page<S: BookingStore + ?Sized>(
    store: &S,
    orgs: &[OrgId],
    from: &Resume,
    limit: u32,
) -> StoreResult<(Backfilled, Option<Resume>)> {
    // An organisation removed meanwhile: from the start again (what was
    // done is found done).
    let at = match &from.org {
        Some(o) => orgs.iter().position(|x| x == o).unwrap_or(0),
        None => 0,
    };
    let Some(org) = orgs.get(at) else {
        return Ok((Backfilled::default(), None));
    };
    let cursor = if from.org.as_ref() == Some(org) {
        from.cursor.clone()
    } else {
        None
    };
    let mut page = PageRequest::first(limit);
    page.cursor = cursor;
    let got = store.list_bookings(org, &page).await?;
    let mut done = Backfilled::default();
    for booking in got.items.iter().filter(|b| b.user_id.is_some()) {
        done.seen += 1;
        if store.index_booking_person(booking).await? {
            done.indexed += 1;
        }
    }
    let next = match (got.next_cursor, orgs.get(at + 1)) {
        (Some(cursor), _) => Resume {
            org: Some(org.clone()),
            cursor: Some(cursor),
        },
        (None, Some(following)) => Resume {
            org: Some(following.clone()),
            cursor: None,
        },
        (None, None) => return Ok((done, None)),
    };
    Ok((done, Some(next)))
}

/// The whole backfill from `from` ([`Resume::default`]: the start), page
/// by page; `progress` hears each point reached, so a caller may keep it
/// and resume there after an interruption.
pub async fn backfill_booking_persons<S: BookingStore + OrganisationStore + ?Sized>(
    store: &S,
    from: Resume,
    mut progress: impl FnMut(&Resume, Backfilled),
) -> StoreResult<Backfilled> {
    let orgs = organisation_ids(store).await?;
    let mut total = Backfilled::default();
    let mut at = from;
    loop {
        let (done, next) =
            backfill_booking_persons_page(store, &orgs, &at, PageRequest::MAX_LIMIT).await?;
        total += done;
        match next {
            Some(n) => {
                progress(&n, total);
                at = n;
            }
            None => return Ok(total),
        }
    }
}
