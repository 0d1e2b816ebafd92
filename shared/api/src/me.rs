//! `/api/v1/me/…`: a signed-in person's own things — the identifiers they
//! hold and the sessions those started, at the stations of any
//! organisation, and their ratings of those sessions. Declared with the person's permission (`auth::require_person`):
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
use axum::{Extension, Json};
use csms_charging::rating;
use csms_domain::session::Session;
use csms_domain::user::UserId;
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
    let id = crate::sessions::session_id(&raw)?;
    let (rating, new) = rating::rate_session(
        &*state.store,
        person(&who)?,
        &id,
        rating::RatingInput {
            stars: req.stars,
            comment: req.comment,
        },
        state.clock.now(),
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(RatingView::from(&rating))))
}
