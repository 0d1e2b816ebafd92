//! Bookings of EVSEs: the booking records, an index per EVSE (the conflict
//! check reads it in the same write transaction that writes the booking),
//! an index per organisation and the organisation's bookings that are not
//! final yet (what the sweep reads).

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::booking::{overlapping, Booking, BookingId, Window, MAX_LENGTH};
use csms_domain::user::UserId;
use csms_domain::{OrgId, StationId, Timestamp};
use csms_kernel::ports::{sort_key_time, Page, PageRequest};
use redb::ReadableTable;

/// Reads the bookings of an EVSE whose window overlaps `range`: those that
/// start from `range.start - MAX_LENGTH` (no booking is longer) until
/// before `range.end`.
fn evse_bookings(
    db: &Db,
    index: &impl ReadableTable<&'static str, &'static str>,
    items: &impl ReadableTable<&'static str, &'static [u8]>,
    station: &StationId,
    evse: u32,
    range: &Window,
    org_for_skips: &OrgId,
) -> R<Vec<Booking>> {
    let scope = prefix(&booking_evse_scope(station, evse)?);
    let lo = format!("{scope}{}", sort_key_time(range.start() - MAX_LENGTH));
    let hi = format!("{scope}{}", sort_key_time(range.end()));
    let mut out = Vec::new();
    for entry in index.range::<&str>(lo.as_str()..hi.as_str())? {
        let (_, id) = entry?;
        let id = id.value();
        let record = items
            .get(id)?
            .map(|g| parse_record::<Booking>(id, g.value()));
        if let Some(b) = db.skip(org_for_skips, record.transpose())? {
            if b.window.overlaps(range) {
                out.push(b);
            }
        }
    }
    Ok(out)
}

impl Db {
    pub(crate) fn create_booking(&self, booking: &Booking) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(BOOKINGS)?;
            let mut by_evse = txn.open_table(BOOKINGS_BY_EVSE)?;
            let id = booking.id.as_str();
            if items.get(id)?.is_some() {
                return Err(conflict(format!("booking {id} exists")));
            }
            let existing = evse_bookings(
                self,
                &by_evse,
                &items,
                &booking.station_id,
                booking.evse_id,
                &booking.window,
                &booking.org_id,
            )?;
            if let Some(other) = overlapping(&existing, &booking.window).first() {
                return Err(conflict(format!(
                    "EVSE {} of station {} is booked from {} to {} ({})",
                    booking.evse_id,
                    booking.station_id,
                    other.window.start().to_rfc3339(),
                    other.window.end().to_rfc3339(),
                    other.id
                )));
            }
            let start = booking.window.start();
            put_record(&mut items, id, booking)?;
            by_evse.insert(
                booking_evse_key(&booking.station_id, booking.evse_id, start, id)?.as_str(),
                id,
            )?;
            let org_key = booking_org_key(&booking.org_id, start, id)?;
            txn.open_table(BOOKINGS_BY_ORG)?
                .insert(org_key.as_str(), id)?;
            if !booking.status.is_final() {
                txn.open_table(BOOKINGS_DUE)?.insert(org_key.as_str(), id)?;
            }
            if let Some(user) = &booking.user_id {
                let user_key = booking_user_key(user, &sort_key_time(start), id)?;
                txn.open_table(BOOKINGS_BY_USER)?
                    .insert(user_key.as_str(), id)?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_user_bookings(&self, user: &UserId, page: &PageRequest) -> R<Page<Booking>> {
        self.list_newest_first(
            BOOKINGS_BY_USER,
            BOOKINGS,
            user.as_str(),
            &OrgId::default_org(),
            page,
        )
    }

    pub(crate) fn index_booking_person(&self, booking: &Booking) -> R<bool> {
        let Some(user) = &booking.user_id else {
            return Ok(false);
        };
        // Read first: an indexed booking (every one, after the upgrade)
        // costs no write transaction.
        let start = sort_key_time(booking.window.start());
        let key = booking_user_key(user, &start, booking.id.as_str())?;
        let indexed = self.read(|txn| {
            Ok(txn
                .open_table(BOOKINGS_BY_USER)?
                .get(key.as_str())?
                .is_some())
        })?;
        if indexed {
            return Ok(false);
        }
        self.write(|txn| {
            let id = booking.id.as_str();
            // The stored booking's start and person, not the caller's copy.
            let Some(stored) = get_record::<Booking>(&txn.open_table(BOOKINGS)?, id)? else {
                return Ok(false);
            };
            if stored.user_id.as_ref() != Some(user) {
                return Ok(false);
            }
            let key = booking_user_key(user, &sort_key_time(stored.window.start()), id)?;
            let mut index = txn.open_table(BOOKINGS_BY_USER)?;
            if index.get(key.as_str())?.is_some() {
                return Ok(false);
            }
            index.insert(key.as_str(), id)?;
            Ok(true)
        })
    }

    /// A booking as written before the person index existed: the record
    /// and its EVSE and organisation entries, no person entry. For the
    /// backfill's tests.
    pub(crate) fn create_booking_without_person_index(&self, booking: &Booking) -> R<()> {
        self.create_booking(booking)?;
        let Some(user) = &booking.user_id else {
            return Ok(());
        };
        self.write(|txn| {
            let key = booking_user_key(
                user,
                &sort_key_time(booking.window.start()),
                booking.id.as_str(),
            )?;
            txn.open_table(BOOKINGS_BY_USER)?.remove(key.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_booking(&self, id: &BookingId) -> R<Option<Booking>> {
        self.read(|txn| get_record(&txn.open_table(BOOKINGS)?, id.as_str()))
    }

    pub(crate) fn put_booking(&self, booking: &Booking, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(BOOKINGS)?;
            let id = booking.id.as_str();
            let stored = get_record::<Booking>(&items, id)?;
            check_version(
                "booking",
                id,
                stored.as_ref().map(|b| b.version),
                expected_version,
            )?;
            put_record(&mut items, id, booking)?;
            if booking.status.is_final() {
                let org_key = booking_org_key(&booking.org_id, booking.window.start(), id)?;
                txn.open_table(BOOKINGS_DUE)?.remove(org_key.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_evse_bookings(
        &self,
        station: &StationId,
        evse: u32,
        range: &Window,
    ) -> R<Vec<Booking>> {
        self.read(|txn| {
            let index = txn.open_table(BOOKINGS_BY_EVSE)?;
            let items = txn.open_table(BOOKINGS)?;
            evse_bookings(
                self,
                &index,
                &items,
                station,
                evse,
                range,
                &OrgId::default_org(),
            )
        })
    }

    pub(crate) fn list_bookings(&self, org: &OrgId, page: &PageRequest) -> R<Page<Booking>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let index = txn.open_table(BOOKINGS_BY_ORG)?;
            let items = txn.open_table(BOOKINGS)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |_, id| {
                    let id = id.value();
                    let record = items
                        .get(id)?
                        .map(|g| parse_record::<Booking>(id, g.value()));
                    self.skip(org, record.transpose())
                },
            )
        })
    }

    pub(crate) fn due_bookings(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> R<Vec<Booking>> {
        let scope = prefix(org.as_str());
        // Every start up to and including `until`.
        let hi = format!("{scope}{}\u{1}", sort_key_time(until));
        self.read(|txn| {
            let index = txn.open_table(BOOKINGS_DUE)?;
            let items = txn.open_table(BOOKINGS)?;
            let mut out = Vec::new();
            for entry in index.range::<&str>(scope.as_str()..hi.as_str())? {
                if out.len() >= limit {
                    break;
                }
                let (_, id) = entry?;
                let id = id.value();
                let record = items
                    .get(id)?
                    .map(|g| parse_record::<Booking>(id, g.value()));
                if let Some(b) = self.skip(org, record.transpose())? {
                    out.push(b);
                }
            }
            Ok(out)
        })
    }
}
