//! [`DynamoStore`]'s bookings of EVSEs.
//!
//! # Layout
//!
//! | item     | PK                           | SK              | GSI1PK / GSI1SK                   | GSI2PK / GSI2SK (until final)         | other |
//! |----------|------------------------------|-----------------|-----------------------------------|---------------------------------------|-------|
//! | booking  | `BOOKINGS#{station}#{evse}`  | `{start}#{id}`  | `ORG#{org}#BOOKING` / `{start}#{id}` | `ORG#{org}#BOOKINGDUE` / `{start}#{id}` | `body`, `version`; GSI3 `USER#{user}#BOOKING` / `{start}#{id}` when made for a person |
//! | EVSE lock| `BOOKINGS#{station}#{evse}`  | `LOCK`          |                                   |                                       | `version` |
//! | pointer  | `BOOKING#{id}`               | `META`          |                                   |                                       | `bookingPk`, `bookingSk` |
//!
//! An EVSE's bookings are one partition, so the conflict check and the
//! listing of a range are one strongly consistent `Query` (`SK BETWEEN
//! {from − 24 h} AND {to}`: no booking is longer than a day; the lock's SK
//! sorts after every time). Making a booking reads the lock's version
//! (`GetItem`), checks the overlapping bookings (`Query`) and writes in one
//! `TransactWriteItems`: the lock at the next version on the condition that
//! it is still at the one read, the booking and its pointer on the
//! condition that they do not exist — a concurrent booking of the same EVSE
//! cancels the whole write (`Conflict`), nothing is half-written. Reading a
//! booking by id is the pointer then the booking (two `GetItem`s); a change
//! is one conditional `PutItem` on its version, which drops the GSI2 keys
//! once the booking is final, so the sweep's `Query` of GSI2 sees only
//! bookings with a step left. No `Scan`. A booking written before GSI3
//! existed gets its keys from the upgrade's backfill (one conditional
//! `UpdateItem` each, `attribute_not_exists(GSI3PK)`: run again, it
//! changes nothing).

use super::table::{
    n, org_partition, record_from, s, set_key, versioned_item, Condition, ConditionFailed, Index,
    Query, Update, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use csms_domain::booking::{overlapping, Booking, BookingId, Window, MAX_LENGTH};
use csms_domain::user::UserId;
use csms_domain::{OrgId, StationId, Timestamp};
use csms_kernel::ports::{sort_key_time, BookingStore, Page, PageRequest, StoreError, StoreResult};
use csms_store_records::Record;

const LOCK: &str = "LOCK";

fn evse_pk(station: &StationId, evse: u32) -> String {
    format!("BOOKINGS#{station}#{evse}")
}

fn booking_sk(start: Timestamp, id: &BookingId) -> String {
    format!("{}#{id}", sort_key_time(start))
}

fn pointer_pk(id: &BookingId) -> String {
    format!("BOOKING#{id}")
}

/// The sparse GSI3 partition of a person's bookings.
fn user_bookings_pk(user: &UserId) -> String {
    format!("USER#{}#BOOKING", user.as_str())
}

fn booking_item(b: &Booking) -> StoreResult<Key> {
    let sk = booking_sk(b.window.start(), &b.id);
    let mut item = versioned_item(
        evse_pk(&b.station_id, b.evse_id),
        sk.clone(),
        &b.to_stored(),
        b.version,
        "booking",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&b.org_id, "BOOKING"),
        sk.clone(),
    );
    if let Some(user) = &b.user_id {
        set_key(&mut item, Index::Gsi3, user_bookings_pk(user), sk.clone());
    }
    if !b.status.is_final() {
        set_key(
            &mut item,
            Index::Gsi2,
            org_partition(&b.org_id, "BOOKINGDUE"),
            sk,
        );
    }
    Ok(item)
}

fn pointer_item(b: &Booking) -> Key {
    let mut item = Key::new();
    set_key(&mut item, Index::Table, pointer_pk(&b.id), META);
    item.insert("bookingPk".into(), s(evse_pk(&b.station_id, b.evse_id)));
    item.insert("bookingSk".into(), s(booking_sk(b.window.start(), &b.id)));
    item
}

fn lock_item(station: &StationId, evse: u32, version: u64) -> Key {
    let mut item = Key::new();
    set_key(&mut item, Index::Table, evse_pk(station, evse), LOCK);
    item.insert("version".into(), n(version));
    item
}

fn version_of(item: &Key) -> u64 {
    match item.get("version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

fn text(item: &Key, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn any_condition_failed(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|r| r.code() == Some("ConditionalCheckFailed"))
}

impl DynamoStore {
    /// The EVSE's bookings that start from `range.start − MAX_LENGTH` until
    /// before `range.end` and overlap `range`: one strongly consistent
    /// `Query` of the EVSE's partition.
    async fn evse_bookings(
        &self,
        station: &StationId,
        evse: u32,
        range: &Window,
    ) -> StoreResult<Vec<Booking>> {
        let query = Query::partition(evse_pk(station, evse)).sk_between(
            sort_key_time(range.start() - MAX_LENGTH),
            sort_key_time(range.end()),
        );
        let all = self
            .all_of(&OrgId::default_org(), &query, record_from::<Booking>)
            .await?;
        Ok(all
            .into_iter()
            .filter(|b| b.window.overlaps(range))
            .collect())
    }
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn create_booking(&self, booking: &Booking) -> StoreResult<()> {
        let pk = evse_pk(&booking.station_id, booking.evse_id);
        let lock = self.get(pk.clone(), LOCK).await?;
        let version = lock.as_ref().map_or(0, version_of);
        let existing = self
            .evse_bookings(&booking.station_id, booking.evse_id, &booking.window)
            .await?;
        if let Some(other) = overlapping(&existing, &booking.window).first() {
            return Err(StoreError::Conflict(format!(
                "EVSE {} of station {} is booked from {} to {} ({})",
                booking.evse_id,
                booking.station_id,
                other.window.start().to_rfc3339(),
                other.window.end().to_rfc3339(),
                other.id
            )));
        }
        let next = version
            .checked_add(1)
            .ok_or_else(|| StoreError::Backend(format!("the booking lock of {pk} overflowed")))?;
        let items = vec![
            self.transact_put(
                lock_item(&booking.station_id, booking.evse_id, next),
                Some(Condition::expecting(version)),
            )?,
            self.transact_put(booking_item(booking)?, Some(Condition::absent()))?,
            self.transact_put(pointer_item(booking), Some(Condition::absent()))?,
        ];
        self.transact(items, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| {
                StoreError::Conflict(format!(
                    "booking {} exists, or EVSE {} of station {} was booked concurrently",
                    booking.id, booking.evse_id, booking.station_id
                ))
            })
    }

    async fn get_booking(&self, id: &BookingId) -> StoreResult<Option<Booking>> {
        let Some(pointer) = self.get(pointer_pk(id), META).await? else {
            return Ok(None);
        };
        let (Some(pk), Some(sk)) = (text(&pointer, "bookingPk"), text(&pointer, "bookingSk"))
        else {
            return Err(csms_kernel::undecodable::undecodable::<Booking>(
                &format!("{}/{META}", pointer_pk(id)),
                "the pointer names no booking item",
            ));
        };
        self.get_as(pk, sk, record_from).await
    }

    async fn put_booking(&self, booking: &Booking, expected_version: u64) -> StoreResult<()> {
        let what = format!("booking {}", booking.id);
        self.put_versioned(booking_item(booking)?, expected_version, what)
            .await
    }

    async fn list_evse_bookings(
        &self,
        station: &StationId,
        evse: u32,
        range: &Window,
    ) -> StoreResult<Vec<Booking>> {
        self.evse_bookings(station, evse, range).await
    }

    async fn list_bookings(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Booking>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "BOOKING")).newest_first();
        self.page_of(org, &query, page, record_from).await
    }

    async fn index_booking_person(&self, b: &Booking) -> StoreResult<bool> {
        let Some(user) = &b.user_id else {
            return Ok(false);
        };
        let sk = booking_sk(b.window.start(), &b.id);
        // Only an item that is there and not in a person's index yet.
        let update = Update::new(
            evse_pk(&b.station_id, b.evse_id),
            sk.clone(),
            "SET #upk = :upk, #usk = :usk",
        )
        .name("#upk", "GSI3PK")
        .name("#usk", "GSI3SK")
        .value(":upk", s(user_bookings_pk(user)))
        .value(":usk", s(sk))
        .only_if(Condition::new(
            "attribute_exists(PK) AND attribute_not_exists(#upk)",
        ));
        Ok(self.update(update).await?.is_ok())
    }

    async fn list_user_bookings(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Booking>> {
        let query = Query::index(Index::Gsi3, user_bookings_pk(user)).newest_first();
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }

    async fn due_bookings(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Booking>> {
        // `{until}~` sorts after `{until}#{id}`: every start up to `until`.
        let query = Query::index(Index::Gsi2, org_partition(org, "BOOKINGDUE"))
            .sk_between("0", format!("{}~", sort_key_time(until)));
        self.up_to(org, &query, limit, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn bookings_hold_the_golden_json_and_their_keys() {
        for (booking, line) in golden::<Booking>("bookings.jsonl") {
            let item = booking_item(&booking).unwrap();
            assert_eq!(item["body"], s(&line));
            let pk = format!("BOOKINGS#{}#{}", booking.station_id, booking.evse_id);
            assert_eq!(item["PK"], s(&pk));
            assert_eq!(item["GSI1PK"], s(format!("ORG#{}#BOOKING", booking.org_id)));
            assert_eq!(
                item["GSI2PK"],
                s(format!("ORG#{}#BOOKINGDUE", booking.org_id)),
                "not final: due"
            );
            let pointer = pointer_item(&booking);
            assert_eq!(pointer["bookingPk"], s(&pk));
            assert_eq!(pointer["bookingSk"], item["SK"]);
            assert_eq!(record_from::<Booking>(item).unwrap(), booking);
            let done = Booking {
                status: csms_domain::booking::BookingStatus::Cancelled,
                ..booking
            };
            assert!(!booking_item(&done).unwrap().contains_key("GSI2PK"));
        }
    }
}
