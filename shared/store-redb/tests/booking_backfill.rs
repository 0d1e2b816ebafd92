//! The upgrade's backfill of the bookings' person index (issue 17): a store
//! from before `bookings_by_user` existed holds bookings made for people
//! that `GET /me/bookings` (`list_user_bookings`) does not find until the
//! backfill puts them there — a page at a time, resumable from the point a
//! run reached, and idempotent.

use chrono::{TimeZone, Utc};
use csms_domain::booking::{Booking, BookingId, BookingStatus, Window};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, StationId, Timestamp};
use csms_kernel::contract::organisation;
use csms_kernel::migrations::{
    backfill_booking_persons, backfill_booking_persons_page, Backfilled, Resume,
};
use csms_kernel::ports::{BookingStore, OrganisationStore, PageRequest};
use csms_kernel::tenants::organisation_ids;
use csms_store_redb::EmbeddedStore;

fn t(hours: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + hours * 3600, 0).unwrap()
}

fn booking(org: &str, station: &str, hour: i64, user: Option<&UserId>) -> Booking {
    Booking {
        id: BookingId::generate(),
        org_id: OrgId::parse(org).unwrap(),
        station_id: StationId::parse(station).unwrap(),
        evse_id: 1,
        token: IdTokenValue::parse("BOOKER").unwrap(),
        user_id: user.cloned(),
        window: Window::stored(t(hour), t(hour + 1)).unwrap(),
        status: BookingStatus::Booked,
        reserve_outcome: None,
        created_by: "admin".into(),
        created_at: t(0),
        updated_at: t(0),
        version: 1,
    }
}

async fn mine(store: &EmbeddedStore, user: &UserId) -> Vec<BookingId> {
    let mut ids: Vec<BookingId> = store
        .list_user_bookings(user, &PageRequest::first(50))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|b| b.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn old_bookings_reach_the_persons_list_once_resumably() {
    let store = EmbeddedStore::temporary();
    store
        .create_organisation(&organisation("brf-norr"))
        .await
        .unwrap();
    let (eva, olle) = (UserId::generate(), UserId::generate());
    // Written before the index: Eva's at two organisations, Olle's, and one
    // for nobody.
    let old = [
        booking("default", "CP-D1", 1, Some(&eva)),
        booking("default", "CP-D2", 2, Some(&eva)),
        booking("brf-norr", "CP-N1", 3, Some(&eva)),
        booking("brf-norr", "CP-N2", 4, Some(&olle)),
        booking("brf-norr", "CP-N3", 5, None),
    ];
    for b in &old {
        store
            .create_booking_as_before_the_person_index(b)
            .await
            .unwrap();
    }
    // And one made since, indexed when made.
    let new = booking("default", "CP-D3", 6, Some(&eva));
    store.create_booking(&new).await.unwrap();
    assert_eq!(
        mine(&store, &eva).await,
        vec![new.id.clone()],
        "the old ones are missing"
    );

    // A run cut short after its first page of one booking ...
    let orgs = organisation_ids(&store).await.unwrap();
    let (first, at) = backfill_booking_persons_page(&store, &orgs, &Resume::default(), 1)
        .await
        .unwrap();
    let at = at.expect("more to do");
    assert_eq!(at.org, Some(OrgId::default_org()));
    // ... resumes where it stopped, and finishes.
    let mut points = Vec::new();
    let rest = backfill_booking_persons(&store, at, |p, _| points.push(p.clone()))
        .await
        .unwrap();
    assert!(
        points
            .iter()
            .any(|p| p.org.as_ref().map(OrgId::as_str) == Some("brf-norr")),
        "{points:?}"
    );
    assert_eq!(first.indexed + rest.indexed, 4, "{first:?} {rest:?}");
    let mut eva_expected: Vec<BookingId> = vec![
        old[0].id.clone(),
        old[1].id.clone(),
        old[2].id.clone(),
        new.id.clone(),
    ];
    eva_expected.sort();
    assert_eq!(mine(&store, &eva).await, eva_expected);
    assert_eq!(mine(&store, &olle).await, vec![old[3].id.clone()]);

    // Again, from the start: nothing to add, nothing doubled.
    let again = backfill_booking_persons(&store, Resume::default(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        again,
        Backfilled {
            seen: 5,
            indexed: 0
        }
    );
    assert_eq!(mine(&store, &eva).await.len(), 4);
}
