//! Start links: an EVSE's charging key and QR code for operators
//! (`GET /stations/{id}/evses/{evseId}/charging-key`, `…/charging-key/rotate`,
//! `…/qr.svg`, `…/qr.png`), and the public routes behind the link for
//! drivers (`GET|POST /start/{key}`, `GET /start/{key}/starts/{commandId}`).
//!
//! The link is `{CSMS_PUBLIC_URL}/api/v1/start/{key}`: the public route
//! itself, so a code scanned today answers (JSON: what a driver app
//! shows), and the printed code never changes: a browser gets the portal's
//! start page at the same address (`csms_portal`'s start-link pages, in
//! front of this route), which calls the use cases here (`start_info`,
//! `start_by_link`, `start_of_link`, and the QR sheet's `evse_qr` and
//! `rotate_key`). Without `CSMS_PUBLIC_URL` the QR
//! routes answer 503 `not_configured`, and `startUrl` is null: a link is
//! never built from the request's `Host` header.
//!
//! The public routes need no key: the charging key is the permission to
//! see the EVSE, and the access mode decides who may start
//! (`csms_charging::start_link`). A signed-in person is recognised by the
//! session cookie (a `POST` with it needs the CSRF token, like every
//! state-changing request with the cookie). A start is a remote start
//! command through the command service, as an operator's: `202` while the
//! station has not answered, `200` once it has (`?wait=` holds the request
//! up to 25 s), pollable at `GET /start/{key}/starts/{commandId}`.
//! Anyone may start at most once per EVSE in [`START_GAP`]: a leaked link
//! cannot hammer a charger.

use crate::auth::{self, Principal};
use crate::bookings::evse;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ErrorDetail};
use crate::stations::station_id;
use crate::util::{json_body, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_charging::start_link::{self, Decision};
use csms_commands::service::SubmitOptions;
use csms_domain::access::AccessRefusal;
use csms_domain::actor::{ActedBy, Actor};
use csms_domain::audit::AuditEntry;
use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
use csms_domain::command::{Command, CommandId, CommandRequest};
use csms_domain::station::StationView;
use csms_domain::token::{authorize_registered, AuthorizationStatus, IdTokenRecord};
use csms_domain::user::User;
use csms_domain::{IdTokenValue, Timestamp};
use csms_kernel::ports::PageRequest;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// At most one start through a link per EVSE in this time: as long as a
/// charger has to answer a remote start.
pub const START_GAP: Duration = Duration::from_secs(30);
/// `wait` may hold a request this long at most (as the operator's commands).
const MAX_WAIT_S: u64 = 25;
/// The identity a refused anonymous attempt is listed with.
const ANONYMOUS: &str = "anonymous";

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

/// The start link of `key`, or 503 when no public address is configured.
fn start_url(st: &ApiState, key: &ChargingKey) -> Option<String> {
    st.public_url
        .as_ref()
        .map(|u| u.join(&format!("/api/v1/start/{key}")))
}

fn not_configured() -> ApiError {
    ApiError::NotConfigured(
        "CSMS_PUBLIC_URL is not configured: the CSMS does not know the address drivers reach it \
         at, so it cannot make start links or QR codes"
            .into(),
    )
}

// ---------------------------------------------------------------- operators

/// An EVSE's charging key and the start link built from it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChargingKeyView {
    pub station_id: String,
    pub evse_id: u32,
    /// 32 characters (`a`–`z`, `2`–`7`), 160 random bits. Whoever has it
    /// may see the EVSE and start where the access mode lets them.
    pub key: String,
    /// `{CSMS_PUBLIC_URL}/api/v1/start/{key}`: what the QR code encodes.
    /// `null` while `CSMS_PUBLIC_URL` is not configured.
    pub start_url: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn key_view(st: &ApiState, k: &EvseChargingKey) -> ChargingKeyView {
    ChargingKeyView {
        station_id: k.station_id.to_string(),
        evse_id: k.evse_id,
        key: k.key.to_string(),
        start_url: start_url(st, &k.key),
        created_at: crate::util::time(k.created_at),
    }
}

async fn key_of(
    st: &ApiState,
    who: &Principal,
    id: &str,
    evse_id: &str,
) -> Result<EvseChargingKey, ApiError> {
    let sid = station_id(id)?;
    let evse = evse(evse_id)?;
    Ok(start_link::key_of(&*st.store, &who.actor(), &sid, evse, st.clock.now()).await?)
}

#[utoipa::path(get, path = "/stations/{id}/evses/{evseId}/charging-key", operation_id = "getChargingKey", tag = "start links", summary = "The EVSE's charging key and start link (made when first asked for)", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)")), responses((status = 200, body = ChargingKeyView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The key was being made or rotated at the same moment; try again", body = ErrorBody)))]
pub async fn get_key(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
) -> Result<Json<ChargingKeyView>, ApiError> {
    let k = key_of(&st, &who, &id, &evse_id).await?;
    Ok(Json(key_view(&st, &k)))
}

#[utoipa::path(post, path = "/stations/{id}/evses/{evseId}/charging-key/rotate", operation_id = "rotateChargingKey", tag = "start links", summary = "Give the EVSE a new charging key: links and QR codes with the old one stop working at once", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)")), responses((status = 200, body = ChargingKeyView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Rotated at the same moment by someone else; read it again", body = ErrorBody)))]
pub async fn rotate(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
) -> Result<Json<ChargingKeyView>, ApiError> {
    let sid = station_id(&id)?;
    let evse = evse(&evse_id)?;
    let k = start_link::rotate(&*st.store, &who.actor(), &sid, evse, st.clock.now()).await?;
    Ok(Json(key_view(&st, &k)))
}

/// The start link of the caller's EVSE, or 503 without a public address
/// (after the station's check: another organisation's id is a 404 all the
/// same).
async fn link_of(
    st: &ApiState,
    who: &Principal,
    id: &str,
    evse_id: &str,
) -> Result<String, ApiError> {
    let sid = station_id(id)?;
    let evse = evse(evse_id)?;
    csms_charging::lifecycle::own_station(&*st.store, &who.actor(), &sid).await?;
    if st.public_url.is_none() {
        return Err(not_configured());
    }
    let k = start_link::key_of(&*st.store, &who.actor(), &sid, evse, st.clock.now()).await?;
    start_url(st, &k.key).ok_or_else(not_configured)
}

/// The portal's sheet of QR codes: EVSE `evse` of the caller's station,
/// its key and start link (made when first asked for, as
/// `GET …/charging-key`) and the link's QR code as SVG (as `…/qr.svg`).
/// Without `CSMS_PUBLIC_URL`, 503 after the station's check.
pub async fn evse_qr(
    st: &ApiState,
    who: &Principal,
    station: &str,
    evse_id: u32,
) -> Result<(ChargingKeyView, String), ApiError> {
    let sid = station_id(station)?;
    csms_charging::lifecycle::own_station(&*st.store, &who.actor(), &sid).await?;
    if st.public_url.is_none() {
        return Err(not_configured());
    }
    let k = start_link::key_of(&*st.store, &who.actor(), &sid, evse_id, st.clock.now()).await?;
    let view = key_view(st, &k);
    let link = view.start_url.as_deref().ok_or_else(not_configured)?;
    let svg = crate::qr::svg(link).map_err(ApiError::Internal)?;
    Ok((view, svg))
}

/// `POST …/charging-key/rotate`'s use case: a new key for the caller's
/// EVSE (the old link stops working at once).
pub async fn rotate_key(
    st: &ApiState,
    who: &Principal,
    station: &str,
    evse_id: u32,
) -> Result<ChargingKeyView, ApiError> {
    let sid = station_id(station)?;
    let k = start_link::rotate(&*st.store, &who.actor(), &sid, evse_id, st.clock.now()).await?;
    Ok(key_view(st, &k))
}

/// A PNG picture (the document's `string`, `format: binary`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // only its schema is used: the handler answers the bytes
pub struct PngImage(Vec<u8>);

fn image(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The key may be rotated: no shared cache keeps the old code.
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(get, path = "/stations/{id}/evses/{evseId}/qr.svg", operation_id = "getEvseQrSvg", tag = "start links", summary = "The QR code of the EVSE's start link, as SVG (quiet zone of 4 modules, error correction M)", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)")), responses((status = 200, description = "The QR code", content_type = "image/svg+xml", body = String), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The key was being made or rotated at the same moment; try again", body = ErrorBody), (status = 503, description = "`CSMS_PUBLIC_URL` is not configured (`not_configured`)", body = ErrorBody)))]
pub async fn qr_svg(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let link = link_of(&st, &who, &id, &evse_id).await?;
    let svg = crate::qr::svg(&link).map_err(ApiError::Internal)?;
    Ok(image("image/svg+xml", svg.into_bytes()))
}

#[utoipa::path(get, path = "/stations/{id}/evses/{evseId}/qr.png", operation_id = "getEvseQrPng", tag = "start links", summary = "The QR code of the EVSE's start link, as PNG (quiet zone of 4 modules, error correction M)", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)"), ("size" = Option<u32>, Query, minimum = 100, maximum = 2000, description = "Pixels a side at most, default 400 (a whole number of pixels a module)")), responses((status = 200, description = "The QR code", content_type = "image/png", body = PngImage), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The key was being made or rotated at the same moment; try again", body = ErrorBody), (status = 503, description = "`CSMS_PUBLIC_URL` is not configured (`not_configured`)", body = ErrorBody)))]
pub async fn qr_png(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let range = crate::qr::PNG_SIZES;
    let size = match params
        .get("size")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => crate::qr::DEFAULT_PNG_SIZE,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                bad(
                    "size",
                    format!("pixels a side, {} to {}", range.start(), range.end()),
                )
            })?,
    };
    let link = link_of(&st, &who, &id, &evse_id).await?;
    let png = crate::qr::png(&link, size).map_err(ApiError::Internal)?;
    Ok(image("image/png", png))
}

// ---------------------------------------------------------------- drivers

pub(crate) fn charging_key(raw: &str) -> Result<ChargingKey, ApiError> {
    ChargingKey::parse(raw).map_err(|e| bad("key", e))
}

pub(crate) fn unknown_link() -> ApiError {
    ApiError::NotFound(
        "no such start link (its key may have been replaced: scan the code on the charger again)"
            .into(),
    )
}

/// The key's EVSE and station, or 404.
async fn resolve(st: &ApiState, raw: &str) -> Result<(EvseChargingKey, StationView), ApiError> {
    let key = charging_key(raw)?;
    start_link::resolve(&*st.store, &key)
        .await?
        .ok_or_else(unknown_link)
}

/// The person the request's session cookie names: `None` without a
/// cookie; `Err(SignedOut)` for an ended session.
async fn caller(
    st: &ApiState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<User>, ApiError> {
    if auth::session_secret(headers).is_none() {
        return Ok(None);
    }
    let (session, user) = auth::signed_in(st, headers).await?;
    auth::check_csrf(method, headers, &session)?;
    Ok(Some(user))
}

/// The status an EVSE shows a driver: `offline` (the station is not
/// connected), `unavailable` (also: decommissioned), or the charger's own
/// of its connectors (`available`, `preparing` (a car is plugged in),
/// `charging`, `suspended`, `finishing`, `occupied`, `reserved`,
/// `faulted`); `unknown` before it has reported one.
fn evse_status(view: &StationView, evse: u32, now: Timestamp) -> &'static str {
    if view.station.is_decommissioned() {
        return "unavailable";
    }
    if !view.connected(now) {
        return "offline";
    }
    // Of several connectors, the one that says most about the EVSE.
    let rank = |s: &str| match s {
        "Charging" => (9, "charging"),
        "SuspendedEV" | "SuspendedEVSE" => (8, "suspended"),
        "Finishing" => (7, "finishing"),
        "Preparing" => (6, "preparing"),
        "Occupied" => (5, "occupied"),
        "Reserved" => (4, "reserved"),
        "Faulted" => (3, "faulted"),
        "Unavailable" => (2, "unavailable"),
        "Available" => (1, "available"),
        _ => (0, "unknown"),
    };
    view.connectors_as_shown()
        .iter()
        .filter(|c| c.evse_id == evse)
        .map(|c| rank(&c.status))
        .max()
        .map_or("unknown", |(_, name)| name)
}

/// Why a start is refused, in a driver's words.
fn refusal_message(reason: AccessRefusal, view: &StationView, evse: u32) -> String {
    match reason {
        AccessRefusal::SignInRequired => format!(
            "EVSE {evse} is private now: sign in as a member of its organisation to start"
        ),
        AccessRefusal::OtherOrganisation => {
            format!("EVSE {evse} is private now, for members of its organisation only")
        }
        AccessRefusal::GroupNotAllowed => format!(
            "EVSE {evse} is private now, for some user groups only, and your id token is in none of them"
        ),
        AccessRefusal::Booked => format!("EVSE {evse} is booked for someone else now"),
        AccessRefusal::Unavailable if view.station.is_decommissioned() => {
            "the station is out of service".into()
        }
        AccessRefusal::Unavailable => "the station is offline".into(),
        AccessRefusal::Occupied => {
            format!("EVSE {evse} is in use now: a car is charging there")
        }
    }
}

/// The status of a refusal: 403 for who the caller is, 409 for the state
/// of the EVSE.
/// The answer to a start the access mode or the EVSE's state refuses.
pub(crate) fn refused_response(
    reason: AccessRefusal,
    mode: csms_domain::access::AccessMode,
    view: &StationView,
    evse: u32,
) -> Response {
    let refused = StartRefused {
        error: ErrorDetail {
            code: if refusal_status(reason) == StatusCode::CONFLICT {
                "conflict"
            } else {
                "forbidden"
            }
            .into(),
            message: refusal_message(reason, view, evse),
        },
        reason: reason.as_str().into(),
        mode: mode.as_str().into(),
    };
    (refusal_status(reason), Json(refused)).into_response()
}

fn refusal_status(reason: AccessRefusal) -> StatusCode {
    match reason {
        AccessRefusal::Booked | AccessRefusal::Unavailable | AccessRefusal::Occupied => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::FORBIDDEN,
    }
}

/// Why a start is not possible now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartRefusalView {
    /// `signInRequired` (private: sign in as a member), `otherOrganisation`
    /// (private, and you are not a member), `groupNotAllowed`, `booked`
    /// (for someone else now), `unavailable` (offline or out of service) or
    /// `occupied` (a car is charging at the EVSE: its connector says
    /// `Charging`, `SuspendedEV`, `SuspendedEVSE` or `Finishing`).
    pub reason: String,
    pub message: String,
}

/// What a driver needs to decide whether to start at the link's EVSE.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartInfoView {
    pub station_id: String,
    pub station_name: Option<String>,
    pub evse_id: u32,
    pub site: Option<StartSiteView>,
    /// `available`, `preparing` (a car is plugged in), `charging`,
    /// `suspended`, `finishing`, `occupied`, `reserved`, `faulted`,
    /// `unavailable` (also: out of service), `offline` or `unknown`.
    pub status: String,
    /// Whether a booking holds the EVSE now.
    pub booked: bool,
    /// The access mode now: `private`, `public` or `semiPublic`.
    pub mode: String,
    /// When the mode next changes; `null`: not within a year.
    #[schema(format = DateTime)]
    pub mode_until: Option<String>,
    /// Whether the request came with a live session cookie.
    pub signed_in: bool,
    /// Whether `POST` would start a charge now for this caller.
    pub can_start: bool,
    /// Why not, when `canStart` is false.
    pub refusal: Option<StartRefusalView>,
}

/// Where the station is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartSiteView {
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// The identity a start would charge with: the named or first valid id
/// token of the signed-in person, else a one-off central identity (held by
/// the person, if signed in). `named` is refused for anonymous callers.
async fn identity(
    st: &ApiState,
    k: &EvseChargingKey,
    user: Option<&User>,
    named: Option<&str>,
    now: Timestamp,
) -> Result<(IdTokenRecord, bool), ApiError> {
    let Some(user) = user else {
        if named.is_some() {
            return Err(bad(
                "idToken",
                "only a signed-in driver names one of their id tokens",
            ));
        }
        return Ok((start_link::one_off_identity(k, None, now), true));
    };
    let held = st
        .store
        .list_user_id_tokens(&user.id, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let valid = |t: &IdTokenRecord| {
        authorize_registered(Some(t), now).status == AuthorizationStatus::Accepted
    };
    match named {
        Some(raw) => {
            let value = IdTokenValue::parse(raw.trim()).map_err(|e| bad("idToken", e))?;
            let t = held
                .into_iter()
                .find(|t| t.token.key() == value.key())
                .ok_or_else(|| bad("idToken", "not one of your id tokens"))?;
            if !valid(&t) {
                let status = authorize_registered(Some(&t), now).status;
                return Err(bad(
                    "idToken",
                    format!("is {}, it cannot start a charge", status.as_str()),
                ));
            }
            Ok((t, false))
        }
        None => Ok(match held.into_iter().find(valid) {
            Some(t) => (t, false),
            None => (start_link::one_off_identity(k, Some(user), now), true),
        }),
    }
}

fn info_view(
    k: &EvseChargingKey,
    view: &StationView,
    site: Option<csms_domain::tenant::Site>,
    decision: &Decision,
    signed_in: bool,
    now: Timestamp,
) -> StartInfoView {
    StartInfoView {
        station_id: k.station_id.to_string(),
        station_name: view.station.name.clone(),
        evse_id: k.evse_id,
        site: site.map(|s| StartSiteView {
            name: s.name,
            street: s.address.street,
            postal_code: s.address.postal_code,
            city: s.address.city,
            country: s.address.country.as_str().to_owned(),
        }),
        status: evse_status(view, k.evse_id, now).into(),
        booked: decision.booked,
        mode: decision.mode.as_str().into(),
        mode_until: decision.until.map(crate::util::time),
        signed_in,
        can_start: decision.refusal.is_none(),
        refusal: decision.refusal.map(|r| StartRefusalView {
            reason: r.as_str().into(),
            message: refusal_message(r, view, k.evse_id),
        }),
    }
}

/// `GET /start/{key}`'s use case: what the link's EVSE is and whether
/// `user` (`None`: not signed in) may start there now, with the key it
/// resolved to (the portal's start page reads the station's organisation
/// and id from it). A bad key is a 400, an unknown one a 404.
pub async fn start_info(
    st: &ApiState,
    raw: &str,
    user: Option<&User>,
) -> Result<(EvseChargingKey, StartInfoView), ApiError> {
    let (k, view) = resolve(st, raw).await?;
    let now = st.clock.now();
    let (token, _) = identity(st, &k, user, None, now).await?;
    let decision = start_link::decide(&*st.store, &k, &view, user, &token, now).await?;
    let site = match &view.station.site_id {
        Some(s) => st.store.get_site(s).await?.filter(|s| s.org_id == k.org_id),
        None => None,
    };
    let info = info_view(&k, &view, site, &decision, user.is_some(), now);
    Ok((k, info))
}

/// What a start through the link would be charged now: the price preview's
/// use case for the id token the start would charge with (a signed-in
/// driver's first valid one, whose user group may have a tariff of its
/// own), else — a visitor, or a driver without a card of their own, who
/// would get a one-off identity without a group — the public price. The
/// preview's resolution says whether a group's tariff applied.
pub async fn link_price(
    st: &ApiState,
    k: &EvseChargingKey,
    user: Option<&User>,
) -> Result<csms_pricing::Preview, ApiError> {
    let (token, one_off) = identity(st, k, user, None, st.clock.now()).await?;
    let token = (!one_off).then_some(&token.token);
    crate::pricing::link_station_price(st, &k.org_id, &k.station_id, token).await
}

/// The statuses of every EVSE of the link's station, as a driver sees
/// them (`evse_status`'s words), sorted by EVSE: the public status page.
/// Nothing else of the station (no identifiers, no sessions).
pub async fn station_statuses(
    st: &ApiState,
    raw: &str,
) -> Result<(EvseChargingKey, StationView, Vec<(u32, &'static str)>), ApiError> {
    let (k, view) = resolve(st, raw).await?;
    let now = st.clock.now();
    let mut evses: Vec<u32> = view
        .connectors_as_shown()
        .iter()
        .map(|c| c.evse_id)
        .filter(|e| *e > 0)
        .collect();
    evses.push(k.evse_id);
    evses.sort_unstable();
    evses.dedup();
    let statuses = evses
        .into_iter()
        .map(|e| (e, evse_status(&view, e, now)))
        .collect();
    Ok((k, view, statuses))
}

/// The session cookie's person for a page that only shows: an ended
/// session reads as no one.
pub async fn link_caller(st: &ApiState, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    match caller(st, &Method::GET, headers).await {
        Ok(u) => Ok(u),
        Err(ApiError::SignedOut) => Ok(None),
        Err(e) => Err(e),
    }
}

#[utoipa::path(get, path = "/start/{key}", operation_id = "getStartLink", tag = "start links", summary = "What a start link's EVSE is, its status, and whether this caller may start there now (public: no key; a session cookie is recognised)", params(("key" = String, Path, description = "The charging key from the link or QR code")), responses((status = 200, body = StartInfoView), (status = 400, description = "Not a charging key", body = ErrorBody), (status = 404, description = "No such start link (never made, or rotated away)", body = ErrorBody)), security(()))]
pub async fn info(
    State(st): State<ApiState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Json<StartInfoView>, ApiError> {
    // A cookie whose session has ended reads as no one: this only shows.
    let user = link_caller(&st, &headers).await?;
    let (_, info) = start_info(&st, &raw, user.as_ref()).await?;
    Ok(Json(info))
}

/// What a driver may send to start: the id token to charge with.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StartInput {
    /// One of the signed-in driver's own id tokens (`GET /me/id-tokens`);
    /// default: the first valid one, else a one-off identity. Not for
    /// anonymous callers.
    #[schema(example = "04A2BC19")]
    id_token: Option<String>,
}

/// A start through a link: the remote start command and the identity it
/// charges with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartView {
    /// Poll `GET /start/{key}/starts/{commandId}`.
    pub command_id: String,
    /// `pending` (not answered yet), `accepted` (the charger will start:
    /// plug in if you have not), `rejected`, `failed`, `timeout` or
    /// `offline`.
    pub status: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub station_id: String,
    pub evse_id: u32,
    /// The identity the session is charged to: a one-off `SL…` central
    /// identity (valid 24 h) unless a signed-in driver's own id token.
    pub id_token: String,
    /// `Central` for a one-off identity, else the token's type.
    pub id_token_type: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
}

fn start_view(c: &Command) -> Option<StartView> {
    let CommandRequest::RemoteStart {
        id_token,
        token_type,
        evse_id: Some(evse_id),
        ..
    } = &c.request
    else {
        return None;
    };
    Some(StartView {
        command_id: c.id.to_string(),
        status: c.status.as_str().into(),
        error: c.error.clone(),
        station_id: c.station_id.to_string(),
        evse_id: *evse_id,
        id_token: id_token.clone(),
        id_token_type: token_type.clone().unwrap_or_else(|| "ISO14443".into()),
        created_at: crate::util::time(c.created_at),
        completed_at: c.completed_at.map(crate::util::time),
    })
}

/// 200 once final, 202 while pending, as the operator's commands.
fn respond(c: &Command) -> Result<Response, ApiError> {
    let view =
        start_view(c).ok_or_else(|| ApiError::Internal("a start is a remote start".into()))?;
    let status = if c.status.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(view)).into_response())
}

/// A refused start: the error, and the reason as a code.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartRefused {
    pub error: ErrorDetail,
    /// As `StartInfo.refusal.reason`.
    pub reason: String,
    /// The access mode now.
    pub mode: String,
}

pub(crate) fn wait_param(params: &Params) -> Result<Option<Duration>, ApiError> {
    match params
        .get("wait")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_WAIT_S)
            .map(|n| Some(Duration::from_secs(n)))
            .ok_or_else(|| bad("wait", format!("must be 0 to {MAX_WAIT_S} seconds"))),
    }
}

#[utoipa::path(post, path = "/start/{key}", operation_id = "startByLink", tag = "start links", summary = "Start charging at the link's EVSE: a remote start for the signed-in driver's id token or a one-off identity, where the access mode allows (public: no key; with the session cookie, X-CSRF-Token)", params(("key" = String, Path, description = "The charging key from the link or QR code"), ("wait" = Option<u32>, Query, maximum = 25, description = "Seconds to wait for the station's answer")), request_body(content = Option<StartInput>, description = "Optional; only a signed-in driver names an id token"), responses((status = 200, description = "The station has answered (`status`)", body = StartView), (status = 202, description = "Sent; the station has not answered yet: poll `GET /start/{key}/starts/{commandId}`", body = StartView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "The session cookie's session has ended", body = ErrorBody), (status = 403, description = "The access mode refuses this caller now (`reason`), or X-CSRF-Token is missing", body = StartRefused), (status = 404, description = "No such start link (never made, or rotated away)", body = ErrorBody), (status = 409, description = "The EVSE is booked for someone else, a car is charging there, or the station is offline or out of service (`reason`)", body = StartRefused), (status = 429, description = "A start through a link was made at this EVSE less than 30 s ago; `Retry-After`", body = ErrorBody)), security(()))]
pub async fn start(
    State(st): State<ApiState>,
    Path(raw): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = charging_key(&raw)?;
    let wait = wait_param(&params)?;
    let input: Option<StartInput> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(json_body(&body)?)
    };
    let (k, view) = start_link::resolve(&*st.store, &key)
        .await?
        .ok_or_else(unknown_link)?;
    let user = caller(&st, &Method::POST, &headers).await?;
    let named = input.as_ref().and_then(|i| i.id_token.as_deref());
    let launched = start_by_link(&st, &raw, &k, &view, user.as_ref(), named, wait, &body).await?;
    launched.into_response(&view, k.evse_id)
}

/// The link's key and station, or 404 (a bad key is a 400).
pub async fn resolve_link(
    st: &ApiState,
    raw: &str,
) -> Result<(EvseChargingKey, StationView), ApiError> {
    resolve(st, raw).await
}

/// `POST /start/{key}`'s use case, after the caller is known (and their
/// CSRF token checked): a start for `user`'s named or first valid id token,
/// else a one-off identity. `body` is the request's, for the audit entry's
/// field names.
#[allow(clippy::too_many_arguments)]
pub async fn start_by_link(
    st: &ApiState,
    raw: &str,
    k: &EvseChargingKey,
    view: &StationView,
    user: Option<&User>,
    named: Option<&str>,
    wait: Option<Duration>,
    body: &[u8],
) -> Result<Launched, ApiError> {
    let now = st.clock.now();
    let (token, one_off) = identity(st, k, user, named, now).await?;
    launch(st, raw, k, view, user, token, one_off, wait, body).await
}

/// What became of a start through a link.
#[derive(Debug)]
pub enum Launched {
    /// The remote start was sent: the command as it stands (final once the
    /// station answered within the wait).
    Sent(Box<Command>),
    /// The access mode or the EVSE's state refused it (kept as an access
    /// attempt).
    Refused {
        reason: AccessRefusal,
        mode: csms_domain::access::AccessMode,
    },
    /// Another start through a link went to this EVSE less than
    /// [`START_GAP`] ago.
    TooSoon,
}

impl Launched {
    /// The API's answer: the start (200/202), the refusal (403/409 with
    /// `reason`), or 429 with `Retry-After`.
    pub(crate) fn into_response(self, view: &StationView, evse: u32) -> Result<Response, ApiError> {
        match self {
            Launched::Sent(cmd) => respond(&cmd),
            Launched::Refused { reason, mode } => Ok(refused_response(reason, mode, view, evse)),
            Launched::TooSoon => Ok(auth::too_many(
                START_GAP,
                "a start through a link was made at this EVSE a moment ago; try again shortly",
            )),
        }
    }
}

/// A start through the link for `token` (a one-off identity, made here,
/// when `one_off`), where the access mode and the EVSE's state allow it:
/// refused ones are listed as attempts; a start is a remote start command.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn launch(
    st: &ApiState,
    raw: &str,
    k: &EvseChargingKey,
    view: &StationView,
    user: Option<&User>,
    token: IdTokenRecord,
    one_off: bool,
    wait: Option<Duration>,
    body: &[u8],
) -> Result<Launched, ApiError> {
    let (st, k, view) = (st.clone(), k.clone(), view.clone());
    let user = user.cloned();
    let now = st.clock.now();
    let decision = start_link::decide(&*st.store, &k, &view, user.as_ref(), &token, now).await?;
    if let Some(reason) = decision.refusal {
        // Listed with the identity presented: the driver's own token, or
        // `anonymous` (a one-off identity nobody will see again).
        let shown = if one_off && user.is_none() {
            IdTokenValue::parse(ANONYMOUS).expect("a plain word is an id token")
        } else {
            token.token.clone()
        };
        start_link::refused(&*st.store, &k, &shown, decision.mode, reason, now).await;
        return Ok(Launched::Refused {
            reason,
            mode: decision.mode,
        });
    }
    let slot = format!("{}#{}", k.station_id, k.evse_id);
    let gap = chrono::TimeDelta::from_std(START_GAP).expect("a short time");
    if st
        .store
        .claim(start_link::SOURCE, &slot, &crate::util::time(now), gap)
        .await?
        .is_some()
    {
        return Ok(Launched::TooSoon);
    }
    if one_off {
        st.store.create_id_token(&token).await?;
    }
    let by = match &user {
        Some(u) => ActedBy::User(u.id.clone()),
        None => ActedBy::System,
    };
    let request = CommandRequest::RemoteStart {
        id_token: token.token.as_str().to_owned(),
        token_type: Some(token.token_type.as_str().to_owned()),
        evse_id: Some(k.evse_id),
        charging_profile: None,
    };
    let actor = Actor::new(k.org_id.clone(), by);
    let cmd = st
        .commands
        .submit(&actor, &k.station_id, request, SubmitOptions::default())
        .await?;
    let cmd = match wait {
        Some(w) if !w.is_zero() && !cmd.status.is_final() => st.commands.wait(&cmd.id, w).await?,
        _ => cmd,
    };
    let status = if cmd.status.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    // This route takes no key, so the audit layer does not see it: the
    // start is logged here, by whom (a driver, or `anonymous`).
    let entry = AuditEntry::new(
        k.org_id.clone(),
        now,
        &user
            .as_ref()
            .map_or_else(|| ANONYMOUS.to_owned(), |u| format!("user:{}", u.id)),
        "POST /start/{key}",
        &format!("/api/v1/start/{raw}"),
        crate::audit::body_fields(body),
        status.as_u16(),
    );
    if let Err(e) = st.store.append_audit(&entry).await {
        tracing::error!(error = %e, "a start through a link was sent but its audit entry could not be stored");
    }
    Ok(Launched::Sent(Box::new(cmd)))
}

#[utoipa::path(get, path = "/start/{key}/starts/{commandId}", operation_id = "getStartByLink", tag = "start links", summary = "A start through the link and the station's answer (public: no key)", params(("key" = String, Path, description = "The charging key from the link or QR code"), ("commandId" = String, Path, description = "`commandId` of the start")), responses((status = 200, description = "The station has answered (`status`)", body = StartView), (status = 202, description = "The station has not answered yet", body = StartView), (status = 400, description = "Not a charging key", body = ErrorBody), (status = 404, description = "No such start link, or no such start at its EVSE", body = ErrorBody)), security(()))]
pub async fn get_start(
    State(st): State<ApiState>,
    Path((raw, command_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let cmd = start_of_link(&st, &raw, &command_id).await?;
    respond(&cmd)
}

/// `GET /start/{key}/starts/{commandId}`'s use case: a start through the
/// link's EVSE (any other command, or another EVSE's, is not found).
pub async fn start_of_link(
    st: &ApiState,
    raw: &str,
    command_id: &str,
) -> Result<Command, ApiError> {
    let key = charging_key(raw)?;
    let (k, _) = start_link::resolve(&*st.store, &key)
        .await?
        .ok_or_else(unknown_link)?;
    let not_found = || ApiError::NotFound(format!("no start {command_id:?} at this link's EVSE"));
    let cid = CommandId::parse(command_id).ok_or_else(not_found)?;
    st.commands
        .get(&cid)
        .await?
        .filter(|c| c.station_id == k.station_id && c.org_id == k.org_id)
        .filter(|c| start_view(c).is_some_and(|v| v.evse_id == k.evse_id))
        .ok_or_else(not_found)
}
