//! Bookings of EVSEs: `POST|GET /stations/{id}/evses/{evseId}/bookings`,
//! `GET /bookings` (the organisation's), `GET /bookings/{id}` and
//! `POST /bookings/{id}/cancel`.
//!
//! A window that overlaps a booking holding the EVSE is a 409 whose body
//! has, next to the error, `freeWindows`: the EVSE's free windows in the
//! UTC days the asked window touches (from now on). Every bad value is a
//! 400 naming the field. Cancelling a booking the station has reserved
//! sends it a CancelReservation.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf, ListOf};
use crate::stations::station_id;
use crate::util::{json_body, page, time_param, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::TimeDelta;
use csms_charging::booking::{self, BookingError, NewBooking};
use csms_commands::service::SubmitOptions;
use csms_domain::booking::{BookingId, BookingStatus, Window};
use csms_domain::command::CommandRequest;
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, Timestamp};
use csms_kernel::views::BookingView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A booking to make.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BookingInput {
    /// The booker's id token: a registered id token of the organisation.
    /// During the window only it may start charging on the EVSE.
    #[schema(example = "04A2BC19")]
    id_token: String,
    /// The person the booking is for (`usr_…`), a member of the organisation.
    #[schema(example = "usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB")]
    user_id: Option<String>,
    /// RFC 3339; not in the past, at most 90 days ahead.
    #[schema(example = "2026-12-07T08:00:00Z", format = DateTime)]
    start: String,
    /// RFC 3339; after `start`, at most 24 hours after it.
    #[schema(example = "2026-12-07T10:00:00Z", format = DateTime)]
    end: String,
}

/// A window of time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
}

impl From<&Window> for WindowView {
    fn from(w: &Window) -> Self {
        WindowView {
            start: crate::util::time(w.start()),
            end: crate::util::time(w.end()),
        }
    }
}

/// A 409 to a booking: the window is taken (then with `freeWindows`), or
/// the station is decommissioned, or the EVSE was being booked at the same
/// moment (try again).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingConflict {
    pub error: crate::openapi::ErrorDetail,
    /// When the window is taken: the EVSE's free windows in the UTC days
    /// the asked window touches, from now on, in time order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_windows: Option<Vec<WindowView>>,
}

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

pub(crate) fn evse(raw: &str) -> Result<u32, ApiError> {
    evse_number(raw.parse::<u32>().unwrap_or(0))
}

/// An EVSE number as a body gives it: EVSEs count from 1.
pub(crate) fn evse_number(n: u32) -> Result<u32, ApiError> {
    (n >= 1)
        .then_some(n)
        .ok_or_else(|| bad("evseId", "must be a whole number from 1"))
}

pub(crate) fn booking_id(raw: &str) -> Result<BookingId, ApiError> {
    BookingId::parse(raw).map_err(|_| bad("id", "not a booking id (bk_…)"))
}

pub(crate) fn instant(field: &str, raw: &str) -> Result<Timestamp, ApiError> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            bad(
                field,
                "must be an RFC 3339 timestamp, e.g. 2026-01-31T23:00:00Z",
            )
        })
}

#[utoipa::path(post, path = "/stations/{id}/evses/{evseId}/bookings", operation_id = "createBooking", tag = "bookings", summary = "Book an EVSE for a window", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)")), request_body = BookingInput, responses((status = 201, body = BookingView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The window overlaps a booking of the EVSE (`freeWindows` lists the free ones around it), the station is decommissioned, or the EVSE was being booked at the same moment", body = BookingConflict)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let made = book_evse(&st, &who, &id, &evse_id, &body).await?;
    created(made)
}

/// `POST /stations/{id}/evses/{evseId}/bookings`'s use case: `body` parsed
/// as the route parses it (every bad value a 400 naming its field), then
/// the booking made, or [`BookingError::Taken`] with the EVSE's free
/// windows.
pub async fn book_evse(
    st: &ApiState,
    who: &Principal,
    id: &str,
    evse_id: &str,
    body: &[u8],
) -> Result<Result<csms_domain::booking::Booking, BookingError>, ApiError> {
    let sid = station_id(id)?;
    let evse_id = evse(evse_id)?;
    let req: BookingInput = json_body(&Bytes::copy_from_slice(body))?;
    let token = IdTokenValue::parse(req.id_token.trim()).map_err(|e| bad("idToken", e))?;
    let user_id = req
        .user_id
        .as_deref()
        .map(|u| UserId::parse(u.trim()).map_err(|e| bad("userId", e)))
        .transpose()?;
    let new = NewBooking {
        evse_id,
        token,
        user_id,
        start: instant("start", &req.start)?,
        end: instant("end", &req.end)?,
    };
    Ok(booking::create(&*st.store, &who.actor(), &sid, new, st.clock.now()).await)
}

/// `GET /bookings`'s use case: a page of the organisation's bookings,
/// latest start first.
pub async fn org_bookings(
    st: &ApiState,
    who: &Principal,
    page: &csms_kernel::ports::PageRequest,
) -> Result<csms_kernel::ports::Page<csms_domain::booking::Booking>, ApiError> {
    Ok(booking::list(&*st.store, &who.actor(), page).await?)
}

/// `POST /bookings/{id}/cancel`'s use case, for the caller.
pub async fn cancel_booking(
    st: &ApiState,
    who: &Principal,
    id: &str,
) -> Result<BookingView, ApiError> {
    let id = booking_id(id)?;
    cancel_as(st, &who.actor(), &id).await
}

/// 201 with the booking, or the 409 with the free windows.
pub(crate) fn created(
    made: Result<csms_domain::booking::Booking, BookingError>,
) -> Result<Response, ApiError> {
    match made {
        Ok(b) => Ok((StatusCode::CREATED, Json(BookingView::from(&b))).into_response()),
        Err(BookingError::Registry(e)) => Err(e.into()),
        Err(BookingError::Taken { message, free }) => Ok((
            StatusCode::CONFLICT,
            Json(BookingConflict {
                error: crate::openapi::ErrorDetail {
                    code: "conflict".into(),
                    message,
                },
                free_windows: Some(free.iter().map(WindowView::from).collect()),
            }),
        )
            .into_response()),
    }
}

#[utoipa::path(get, path = "/stations/{id}/evses/{evseId}/bookings", operation_id = "listEvseBookings", tag = "bookings", summary = "The EVSE's bookings (any status) that overlap a range, by start", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)"), ("from" = Option<String>, Query, format = DateTime, description = "RFC 3339; default now"), ("to" = Option<String>, Query, format = DateTime, description = "RFC 3339, after `from` and at most 31 days after it; default a day after `from`")), responses((status = 200, body = ItemsOf<BookingView>), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn list_evse(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Json<ItemsOf<BookingView>>, ApiError> {
    let sid = station_id(&id)?;
    let evse_id = evse(&evse_id)?;
    let from = time_param(&params, "from")?.unwrap_or_else(|| st.clock.now());
    let to = match time_param(&params, "to")? {
        Some(to) => to,
        None => from
            .checked_add_signed(TimeDelta::days(1))
            .ok_or_else(|| bad("from", "too far in the future"))?,
    };
    let range = Window::range(from, to).map_err(|(field, e)| bad(field, e))?;
    let found = booking::list_evse(&*st.store, &who.actor(), &sid, evse_id, &range).await?;
    Ok(Json(ItemsOf {
        items: found.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/bookings", operation_id = "listBookings", tag = "bookings", summary = "The organisation's bookings, latest start first", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<BookingView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<BookingView>>, ApiError> {
    let listed = org_bookings(&st, &who, &page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(get, path = "/bookings/{id}", operation_id = "getBooking", tag = "bookings", summary = "A booking", params(("id" = String, Path, description = "Booking id (bk_…)")), responses((status = 200, body = BookingView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    let id = booking_id(&id)?;
    let b = booking::get(&*st.store, &who.actor(), &id).await?;
    Ok(Json((&b).into()))
}

#[utoipa::path(post, path = "/bookings/{id}/cancel", operation_id = "cancelBooking", tag = "bookings", summary = "Cancel a booking; a reservation the station holds is cancelled there too (CancelReservation)", params(("id" = String, Path, description = "Booking id (bk_…)")), responses((status = 200, body = BookingView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The booking is completed, cancelled or a no-show already, or changed concurrently", body = ErrorBody)))]
pub async fn cancel(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(cancel_booking(&st, &who, &id).await?))
}

/// Cancels booking `id` for `actor` (of the booking's organisation), and
/// tells the station when it holds the reservation.
pub(crate) async fn cancel_as(
    st: &ApiState,
    actor: &csms_domain::actor::Actor,
    id: &BookingId,
) -> Result<BookingView, ApiError> {
    let (before, after) = booking::cancel(&*st.store, actor, id, st.clock.now()).await?;
    // Reserved, or a ReserveNow still unanswered (the station may accept it).
    let held_by_station = before.status == BookingStatus::Reserved
        || before
            .reserve_outcome
            .as_deref()
            .is_some_and(|o| o.starts_with("pending:"));
    if held_by_station {
        let request = CommandRequest::CancelReservation {
            reservation_id: before.reservation_id(),
        };
        // The booking is cancelled whatever the station says: a failure
        // to send is logged, and the reservation expires at its end.
        if let Err(e) = st
            .commands
            .submit(actor, &before.station_id, request, SubmitOptions::default())
            .await
        {
            tracing::warn!(error = %e, booking = %id, "could not send CancelReservation");
        }
    }
    Ok((&after).into())
}
