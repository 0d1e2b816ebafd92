//! Bookings at run time: the operator's (or a driver app's) use cases —
//! book an EVSE for a window, read, list and cancel bookings — and the
//! booking that holds an EVSE now, which [`crate::access::admit`] asks
//! when a transaction starts there. Each use case checks the caller's
//! organisation itself: another organisation's station or booking is
//! [`RegistryError::NotFound`], like one that does not exist.
//!
//! Sending the ReserveNow before the window and the no-show rule are the
//! booking sweep's (`csms_commands::booking_sweep`): it needs the command
//! service, which this context does not know.

use crate::lifecycle::own_station;
use crate::registry::RegistryError;
use chrono::{TimeDelta, Timelike};
use csms_domain::actor::Actor;
use csms_domain::booking::{free_windows, overlapping, Booking, BookingId, BookingStatus, Window};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, StationId, Timestamp};
use csms_kernel::ports::{
    BookingStore, Page, PageRequest, StationStore, StoreError, TokenStore, UserStore,
};

/// What a new booking asks for, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub evse_id: u32,
    pub token: IdTokenValue,
    pub user_id: Option<UserId>,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Why a booking was not made.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The window overlaps a booking that holds the EVSE: the message, and
    /// the free windows of the EVSE in the UTC days the window touches
    /// (from now on).
    #[error("{message}")]
    Taken { message: String, free: Vec<Window> },
}

impl From<StoreError> for BookingError {
    fn from(e: StoreError) -> Self {
        BookingError::Registry(e.into())
    }
}

fn bad(field: &str, why: impl std::fmt::Display) -> RegistryError {
    RegistryError::Invalid(format!("{field}: {why}"))
}

/// How often a booking lost to a concurrent booking of the same EVSE is
/// tried again before the caller is told to retry.
const ATTEMPTS: usize = 3;

/// The UTC days `window` touches, not before `now`: where the free windows
/// of a conflict answer are looked for.
fn days_around(window: &Window, now: Timestamp) -> Option<Window> {
    let midnight = |t: Timestamp| {
        t.with_hour(0)
            .and_then(|t| t.with_minute(0))
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
    };
    let from = midnight(window.start())?.max(now);
    let to = midnight(window.end())?.checked_add_signed(TimeDelta::days(1))?;
    Window::stored(from, to)
}

/// Books EVSE `new.evse_id` of the caller's station `station_id` for the
/// window, for `new.token` (a registered id token of the station's
/// organisation) and, if given, the person `new.user_id` (a member of it;
/// else the token's holder, if it has one).
pub async fn create<S: StationStore + TokenStore + UserStore + BookingStore + ?Sized>(
    store: &S,
    actor: &Actor,
    station_id: &StationId,
    new: NewBooking,
    now: Timestamp,
) -> Result<Booking, BookingError> {
    let station = own_station(store, actor, station_id).await?;
    if station.is_decommissioned() {
        return Err(
            RegistryError::Conflict(format!("station {station_id} is decommissioned")).into(),
        );
    }
    let window = Window::new(new.start, new.end, now).map_err(|(field, e)| bad(field, e))?;
    let token = store
        .get_id_token(&new.token)
        .await?
        .filter(|t| t.org_id == station.org_id)
        .ok_or_else(|| bad("idToken", "not a registered id token of the organisation"))?;
    if let Some(user) = &new.user_id {
        store
            .get_user(user)
            .await?
            .filter(|u| u.role_in(&station.org_id).is_some())
            .ok_or_else(|| bad("userId", "not a person of the organisation"))?;
    }
    let booking = Booking {
        id: BookingId::generate(),
        org_id: station.org_id.clone(),
        station_id: station.id.clone(),
        evse_id: new.evse_id,
        // For the person named, else the token's holder.
        user_id: new.user_id.or(token.user_id),
        token: token.token,
        window,
        status: BookingStatus::Booked,
        reserve_outcome: None,
        created_by: actor.audit_name(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    for _ in 0..ATTEMPTS {
        match store.create_booking(&booking).await {
            Ok(()) => return Ok(booking),
            Err(StoreError::Conflict(message)) => {
                let Some(days) = days_around(&window, now) else {
                    return Err(RegistryError::Conflict(message).into());
                };
                let existing = store
                    .list_evse_bookings(&station.id, new.evse_id, &days)
                    .await?;
                if overlapping(&existing, &window).is_empty() {
                    // Lost to a booking of another window made at the same
                    // moment: look again.
                    continue;
                }
                let busy = existing
                    .iter()
                    .filter(|b| b.status.occupies())
                    .map(|b| b.window);
                return Err(BookingError::Taken {
                    message,
                    free: free_windows(days, busy),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(RegistryError::Conflict(format!(
        "EVSE {} of station {station_id} is being booked concurrently; try again",
        new.evse_id
    ))
    .into())
}

fn booking_not_found(id: &BookingId) -> RegistryError {
    RegistryError::NotFound(format!("booking {:?} not found", id.as_str()))
}

/// The caller's booking `id`.
pub async fn get<S: BookingStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &BookingId,
) -> Result<Booking, RegistryError> {
    store
        .get_booking(id)
        .await?
        .filter(|b| actor.owns(&b.org_id))
        .ok_or_else(|| booking_not_found(id))
}

/// The bookings of EVSE `evse` of the caller's station that overlap
/// `range`, by start.
pub async fn list_evse<S: StationStore + BookingStore + ?Sized>(
    store: &S,
    actor: &Actor,
    station_id: &StationId,
    evse: u32,
    range: &Window,
) -> Result<Vec<Booking>, RegistryError> {
    let station = own_station(store, actor, station_id).await?;
    let mut found = store.list_evse_bookings(station_id, evse, range).await?;
    // Bookings of an earlier station of the same id, of another
    // organisation, are not this one's.
    found.retain(|b| b.org_id == station.org_id);
    Ok(found)
}

/// The caller's organisation's bookings, latest start first.
pub async fn list<S: BookingStore + ?Sized>(
    store: &S,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Booking>, RegistryError> {
    Ok(store.list_bookings(&actor.org_id, page).await?)
}

/// Cancels the caller's booking `id`: `Conflict` if it is final already.
/// Returns the booking as it was before and as it is now; the caller sends
/// the station a CancelReservation when the one before was reserved.
pub async fn cancel<S: BookingStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &BookingId,
    now: Timestamp,
) -> Result<(Booking, Booking), RegistryError> {
    let before = get(store, actor, id).await?;
    if before.status.is_final() {
        return Err(RegistryError::Conflict(format!(
            "booking {id} is {} already",
            before.status.as_str()
        )));
    }
    let mut after = before.clone();
    after.status = BookingStatus::Cancelled;
    after.updated_at = now;
    after.version = before
        .version
        .checked_add(1)
        .ok_or_else(|| RegistryError::Conflict(format!("booking {id} cannot change again")))?;
    store.put_booking(&after, before.version).await?;
    Ok((before, after))
}

/// The booking that holds EVSE `evse` of `station` at `at`, if any: one
/// request (DynamoDB: one `Query` of the EVSE's partition).
pub async fn holding<S: BookingStore + ?Sized>(
    store: &S,
    station: &StationId,
    evse: u32,
    at: Timestamp,
) -> Result<Option<Booking>, StoreError> {
    let Some(instant) = Window::stored(at, at + TimeDelta::seconds(1)) else {
        return Ok(None);
    };
    Ok(store
        .list_evse_bookings(station, evse, &instant)
        .await?
        .into_iter()
        .find(|b| b.holds_at(at)))
}

/// Marks `booking` active: its booker started charging in the window.
/// Losing to a concurrent change is fine (the sweep or the other writer
/// moved it on); a failure is logged, never the charger's answer.
pub async fn mark_started<S: BookingStore + ?Sized>(store: &S, booking: &Booking, now: Timestamp) {
    if booking.status == BookingStatus::Active {
        return;
    }
    let mut active = booking.clone();
    active.status = BookingStatus::Active;
    active.updated_at = now;
    active.version = booking.version.saturating_add(1);
    match store.put_booking(&active, booking.version).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => {
            tracing::error!(error = %e, booking = %booking.id, "could not mark a booking started")
        }
    }
}
