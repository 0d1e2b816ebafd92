//! `/api/v1/me/…`: a signed-in person's own things — the identifiers they
//! hold and the sessions those started, at the stations of any
//! organisation, their ratings of those sessions, and the bookings they
//! make for themselves with their identifiers. Declared with the person's permission (`auth::require_person`):
//! an API key is refused, and every read goes by the caller's own id, so
//! another person's session is not found, exactly like one that does not
//! exist.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::ratings::RatingView;
use crate::util::{json_body, page, Params};
use crate::views;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use csms_charging::booking::{self, NewBooking};
use csms_charging::rating;
use csms_domain::actor::{ActedBy, Actor};
use csms_domain::rating::Rating;
use csms_domain::session::Session;
use csms_domain::token::IdTokenRecord;
use csms_domain::user::UserId;
use csms_domain::IdTokenValue;
use csms_kernel::ports::PageRequest;
use csms_kernel::views::BookingView;
use csms_kernel::views::{PricedSessionView, SessionView};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// The caller's id: the permission lets only people through.
pub(crate) fn person(who: &Principal) -> Result<&UserId, ApiError> {
    who.user_id
        .as_ref()
        .ok_or_else(|| ApiError::Internal("a person's route without a person".into()))
}

/// One of the caller's sessions, with its price and rating when it has
/// them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MySession {
    pub session: SessionView,
    /// The latest price; `null` while active or when no tariff applied.
    pub price: Option<PricedSessionView>,
    /// My rating of it; `null` until I rate it.
    pub rating: Option<RatingView>,
}

/// A rating of one of my sessions.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RateSession {
    /// 1 to 5.
    stars: i64,
    /// At most 1000 characters; `null` or left out: none.
    comment: Option<String>,
}

#[utoipa::path(get, path = "/me/id-tokens", operation_id = "listMyIdTokens", tag = "me", summary = "The identifiers I hold (RFID cards, AutoCharge, app), of every organisation", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::IdToken>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody)))]
pub async fn id_tokens(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state
        .store
        .list_user_id_tokens(person(&who)?, &page)
        .await?;
    let items: Vec<views::IdToken> = result.items.iter().map(views::IdToken::from).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

#[utoipa::path(get, path = "/me/sessions", operation_id = "listMySessions", tag = "me", summary = "The sessions my identifiers started, newest first, at any organisation's stations", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<SessionView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody)))]
pub async fn sessions(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state.store.list_user_sessions(person(&who)?, &page).await?;
    let items: Vec<SessionView> = result.items.iter().map(SessionView::from).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

/// The caller's session `raw`: anyone else's is not found.
pub(crate) async fn my_session(
    state: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<Session, ApiError> {
    let id = crate::sessions::session_id(raw)?;
    let me = person(who)?;
    state
        .store
        .get_session(&id)
        .await?
        .filter(|s| s.user_id.as_ref() == Some(me))
        .ok_or_else(|| ApiError::NotFound(format!("session {raw:?} not found")))
}

#[utoipa::path(get, path = "/me/sessions/{id}", operation_id = "getMySession", tag = "me", summary = "One of my sessions, with its price", params(("id" = String, Path, description = "Session id")), responses((status = 200, body = MySession), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found (or not mine)", body = ErrorBody)))]
pub async fn session(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<MySession>, ApiError> {
    let session = my_session(&state, &who, &raw).await?;
    let price = state.store.get_priced_session(&session.id).await?;
    let rating = state.store.get_rating(&session.id).await?;
    Ok(Json(MySession {
        session: SessionView::from(&session),
        price: price.as_ref().map(PricedSessionView::from),
        rating: rating.as_ref().map(RatingView::from),
    }))
}

#[utoipa::path(put, path = "/me/sessions/{id}/rating", operation_id = "rateMySession", tag = "me", summary = "Rate one of my ended sessions, 1 to 5 stars with an optional comment; once, changeable for 7 days", params(("id" = String, Path, description = "Session id")), request_body = RateSession, responses((status = 200, description = "The rating changed", body = RatingView), (status = 201, description = "Rated", body = RatingView), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person; or no CSRF token", body = ErrorBody), (status = 404, description = "Not found (or not mine)", body = ErrorBody), (status = 409, description = "The session is still active, or the 7 days to change the rating are over", body = ErrorBody)))]
pub async fn rate(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    let req: RateSession = json_body(&body)?;
    let (rating, new) = rate_mine(
        &state,
        person(&who)?,
        &raw,
        rating::RatingInput {
            stars: req.stars,
            comment: req.comment,
        },
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(RatingView::from(&rating))))
}

/// Rates `me`'s session `raw` (anyone else's is not found): the use case
/// behind `PUT /me/sessions/{id}/rating` and the portal's rating form.
/// Once per session, changeable for 7 days (`csms_charging::rating`);
/// whether the rating is new.
pub async fn rate_mine(
    state: &ApiState,
    me: &UserId,
    raw: &str,
    input: rating::RatingInput,
) -> Result<(Rating, bool), ApiError> {
    let id = crate::sessions::session_id(raw)?;
    Ok(rating::rate_session(&*state.store, me, &id, input, state.clock.now()).await?)
}

/// A booking I make for myself.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MyBookingInput {
    /// A station of an organisation I belong to.
    station_id: String,
    /// EVSE id (1.6: connector id).
    evse_id: u32,
    /// One of my identifiers of the station's organisation; left out: the
    /// first of them.
    id_token: Option<String>,
    /// RFC 3339; not in the past, at most 90 days ahead.
    #[schema(format = DateTime)]
    start: String,
    /// RFC 3339; after `start`, at most 24 hours after it.
    #[schema(format = DateTime)]
    end: String,
}

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

/// Acting as `me` in `org`: for the use cases that check the organisation.
fn as_me(me: &UserId, org: &csms_domain::OrgId) -> Actor {
    Actor::new(org.clone(), ActedBy::User(me.clone()))
}

#[utoipa::path(get, path = "/me/bookings", operation_id = "listMyBookings", tag = "me", summary = "The bookings made for me (by me, or by an operator for my card), at any organisation's stations, latest start first", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<BookingView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody)))]
pub async fn my_bookings(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state.store.list_user_bookings(person(&who)?, &page).await?;
    let items: Vec<BookingView> = result.items.iter().map(BookingView::from).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

#[utoipa::path(post, path = "/me/bookings", operation_id = "createMyBooking", tag = "me", summary = "Book an EVSE for myself, with one of my identifiers, at a station of an organisation I belong to", request_body = MyBookingInput, responses((status = 201, body = BookingView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person; or no CSRF token", body = ErrorBody), (status = 404, description = "No such station among my organisations'", body = ErrorBody), (status = 409, description = "The window overlaps a booking of the EVSE (`freeWindows` lists the free ones around it), the station is decommissioned, or the EVSE was being booked at the same moment", body = crate::bookings::BookingConflict)))]
pub async fn book(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: MyBookingInput = json_body(&body)?;
    let me = person(&who)?;
    let station_id = crate::stations::station_id(&req.station_id)?;
    let missing = || ApiError::NotFound(format!("station {:?} not found", req.station_id));
    let station = state
        .store
        .get_station(&station_id)
        .await?
        .ok_or_else(missing)?;
    let member = state
        .store
        .get_user(me)
        .await?
        .is_some_and(|u| u.role_in(&station.org_id).is_some());
    if !member {
        return Err(missing());
    }
    let evse_id = crate::bookings::evse_number(req.evse_id)?;
    let (start, end) = (
        crate::bookings::instant("start", &req.start)?,
        crate::bookings::instant("end", &req.end)?,
    );
    // My identifiers of the station's organisation (a person holds a few).
    let held: Vec<IdTokenRecord> = state
        .store
        .list_user_id_tokens(me, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items
        .into_iter()
        .filter(|t| t.org_id == station.org_id)
        .collect();
    let token = match &req.id_token {
        Some(raw) => {
            let value = IdTokenValue::parse(raw.trim()).map_err(|e| bad("idToken", e))?;
            held.iter()
                .find(|t| t.token.key() == value.key())
                .ok_or_else(|| {
                    bad(
                        "idToken",
                        "not one of your identifiers of the station's organisation",
                    )
                })?
                .token
                .clone()
        }
        None => held
            .first()
            .ok_or_else(|| {
                bad(
                    "idToken",
                    "you hold no identifier of the station's organisation; ask its operator for one",
                )
            })?
            .token
            .clone(),
    };
    let new = NewBooking {
        evse_id,
        token,
        user_id: Some(me.clone()),
        start,
        end,
    };
    let made = booking::create(
        &*state.store,
        &as_me(me, &station.org_id),
        &station.id,
        new,
        state.clock.now(),
    )
    .await;
    crate::bookings::created(made)
}

/// My booking `raw`: anyone else's is not found.
async fn my_booking(
    state: &ApiState,
    me: &UserId,
    raw: &str,
) -> Result<csms_domain::booking::Booking, ApiError> {
    let id = crate::bookings::booking_id(raw)?;
    state
        .store
        .get_booking(&id)
        .await?
        .filter(|b| b.user_id.as_ref() == Some(me))
        .ok_or_else(|| ApiError::NotFound(format!("booking {raw:?} not found")))
}

#[utoipa::path(get, path = "/me/bookings/{id}", operation_id = "getMyBooking", tag = "me", summary = "One of my bookings", params(("id" = String, Path, description = "Booking id (bk_…)")), responses((status = 200, body = BookingView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found (or not mine)", body = ErrorBody)))]
pub async fn my_booking_get(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(
        (&my_booking(&state, person(&who)?, &raw).await?).into(),
    ))
}

#[utoipa::path(post, path = "/me/bookings/{id}/cancel", operation_id = "cancelMyBooking", tag = "me", summary = "Cancel one of my bookings; a reservation the station holds is cancelled there too", params(("id" = String, Path, description = "Booking id (bk_…)")), responses((status = 200, body = BookingView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person; or no CSRF token", body = ErrorBody), (status = 404, description = "Not found (or not mine)", body = ErrorBody), (status = 409, description = "Completed, cancelled or a no-show already", body = ErrorBody)))]
pub async fn my_booking_cancel(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(cancel_mine(&state, person(&who)?, &raw).await?))
}

/// Cancels `me`'s booking `raw` (anyone else's is not found), at the
/// station too when it holds the reservation: the use case behind
/// `POST /me/bookings/{id}/cancel` and the portal's cancel button.
pub async fn cancel_mine(
    state: &ApiState,
    me: &UserId,
    raw: &str,
) -> Result<BookingView, ApiError> {
    let b = my_booking(state, me, raw).await?;
    crate::bookings::cancel_as(state, &as_me(me, &b.org_id), &b.id).await
}
