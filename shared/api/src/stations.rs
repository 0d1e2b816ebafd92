//! `/api/v1/stations`: register and inspect charging stations.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, Params};
use crate::views;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use csms_charging::lifecycle;
use csms_charging::registry::{self, NewStation};
use csms_domain::station::{Station, StationView};
use csms_domain::{StationId, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateStation {
    /// The identity the charger connects with (`…/ocpp/{id}`): 1 to 48
    /// characters, letters, digits and `-_.:`.
    id: String,
    /// For OCPP Basic auth (security profile 1/2); without it the station
    /// connects without credentials.
    password: Option<String>,
    name: Option<String>,
    /// A site of the organisation (`POST /sites`); 400 `siteId: no such
    /// site` otherwise.
    site_id: Option<String>,
    /// What the station's BootNotification is answered: `accepted` (the
    /// default) `Accepted`; `pending` `Pending` until an operator approves
    /// it (meanwhile only its configuration can be read and changed);
    /// `rejected` `Rejected`.
    #[schema(value_type = Option<views::ApprovalName>)]
    approval: Option<String>,
}

/// What `PATCH /stations/{id}` changes; a field left out stays, `null`
/// removes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateStation {
    /// The operator's decision. Approving a connected `Pending` station
    /// (and any change a connected, not rejected station's last boot was
    /// answered otherwise) sends it TriggerMessage BootNotification, so
    /// the new answer applies at once.
    #[schema(value_type = Option<views::ApprovalName>)]
    approval: Option<String>,
    /// A new name (at most 200 characters); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    name: Option<Option<String>>,
    /// Moves the station to another site of its organisation; `null` to
    /// none. Sessions keep the site they happened at; those started after
    /// the move are of the new site.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    site_id: Option<Option<String>>,
}

/// A field that is present, `null` included: `Some(None)` for `null`, so
/// "remove" and "leave as it is" (absent, `None`) differ.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The body of `POST /stations/{id}/password`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RotatePassword {
    /// The new password (8 to 64 printable characters; OCPP 2.0.1 asks for
    /// 16 to 40). Left out, the CSMS makes one up (32 letters and digits)
    /// and answers it once.
    password: Option<String>,
    /// How long the previous password stays valid, so the charger can be
    /// re-configured without a gap: 0 to 720 hours, default 24.
    grace_hours: Option<i64>,
}

/// The answer to a password rotation.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordRotated {
    /// The password the CSMS made up, shown this once; `null` when the
    /// request gave one.
    password: Option<String>,
    /// Until when the previous password is still accepted; `null` when
    /// there was none or the grace is 0.
    #[schema(format = DateTime)]
    previous_valid_until: Option<String>,
    station: views::Station,
}

#[utoipa::path(post, path = "/stations", operation_id = "createStation", tag = "stations", summary = "Register a station", request_body = CreateStation, responses((status = 201, body = views::Station), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateStation = json_body(&body)?;
    crate::sites::require_site(&state, &who, req.site_id.as_deref()).await?;
    let new = NewStation {
        id: req.id,
        password: req.password,
        name: req.name,
        site_id: req.site_id,
        org_id: Some(who.org_id),
        approval: req.approval,
    };
    let station = registry::register_station(&*state.store, &*state.clock, new).await?;
    let view = StationView {
        station,
        connectors: vec![],
        connection: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(station_json(&view, state.clock.now())),
    ))
}

#[utoipa::path(get, path = "/stations", operation_id = "listStations", tag = "stations", summary = "List stations", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::Station>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let now = state.clock.now();
    let result = state.store.list_stations(&who.org_id, &page).await?;
    let items: Vec<Value> = result.items.iter().map(|v| station_json(v, now)).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("station {raw:?} not found"))
}

pub(crate) fn station_id(raw: &str) -> Result<StationId, ApiError> {
    StationId::parse(raw).map_err(|_| not_found(raw))
}

/// The caller's station `raw`: a station of another organisation is
/// answered exactly like one that does not exist, so ids of other tenants
/// can be neither read nor probed.
pub(crate) async fn own_station(
    state: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<Station, ApiError> {
    state
        .store
        .get_station(&station_id(raw)?)
        .await?
        .filter(|s| s.org_id == who.org_id)
        .ok_or_else(|| not_found(raw))
}

/// [`own_station`] with its connector statuses and connection.
pub async fn own_station_view(
    state: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<StationView, ApiError> {
    state
        .store
        .get_station_view(&station_id(raw)?)
        .await?
        .filter(|v| v.station.org_id == who.org_id)
        .ok_or_else(|| not_found(raw))
}

#[utoipa::path(get, path = "/stations/{id}", operation_id = "getStation", tag = "stations", summary = "A station with its connector statuses", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = views::Station), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = own_station_view(&state, &who, &id).await?;
    let now = state.clock.now();
    let mut shown = views::Station::new(&view, now);
    // One query per EVSE: the bookings the station holds it for now.
    let mut reserved = Vec::new();
    for evse in shown.evses.iter().map(|e| e.id) {
        let range =
            csms_domain::booking::Window::stored(now, now + csms_domain::booking::MAX_LENGTH);
        let Some(range) = range else { continue };
        let found = state
            .store
            .list_evse_bookings(&view.station.id, evse, &range)
            .await?;
        reserved.extend(found.into_iter().filter(|b| {
            b.org_id == view.station.org_id
                && b.status == csms_domain::booking::BookingStatus::Reserved
                && b.window.end() > now
        }));
    }
    shown.reserve(&reserved);
    Ok(Json(
        serde_json::to_value(shown).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

#[utoipa::path(patch, path = "/stations/{id}", operation_id = "updateStation", tag = "stations", summary = "Approve, hold or reject, rename or move a station", params(("id" = String, Path, description = "Station id")), request_body = UpdateStation, responses((status = 200, body = views::Station), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let sid = own_station(&state, &who, &id).await?.id;
    let req: UpdateStation = json_body(&body)?;
    if req.approval.is_none() && req.name.is_none() && req.site_id.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: give approval, name or siteId".into(),
        ));
    }
    let approval = req
        .approval
        .as_deref()
        .map(registry::parse_approval)
        .transpose()?;
    // A move is to a site of the caller's organisation.
    let to_site = req.site_id.as_ref().and_then(|s| s.as_deref());
    crate::sites::require_site(&state, &who, to_site).await?;
    let edit = lifecycle::StationEdit {
        name: req.name,
        site_id: req.site_id,
    };
    lifecycle::edit_station(&*state.store, &who.actor(), &sid, edit).await?;
    if let Some(approval) = approval {
        csms_commands::approval::set_approval(&*state.store, &state.commands, &sid, approval)
            .await?
            .ok_or_else(|| not_found(&id))?;
    }
    let view = own_station_view(&state, &who, &id).await?;
    Ok(Json(station_json(&view, state.clock.now())))
}

#[utoipa::path(post, path = "/stations/{id}/password", operation_id = "rotateStationPassword", tag = "stations", summary = "Give a station a new Basic-auth password; the old one stays valid for a grace period", params(("id" = String, Path, description = "Station id")), request_body = RotatePassword, responses((status = 200, body = PasswordRotated), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn rotate_password(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PasswordRotated>, ApiError> {
    let sid = station_id(&id)?;
    let req: RotatePassword = json_body(&body)?;
    let grace = lifecycle::grace_hours(req.grace_hours)?;
    let now = state.clock.now();
    let rotated =
        lifecycle::rotate_password(&*state.store, &who.actor(), &sid, req.password, grace, now)
            .await?;
    let view = own_station_view(&state, &who, &id).await?;
    Ok(Json(PasswordRotated {
        password: rotated.generated,
        previous_valid_until: rotated
            .station
            .previous_password
            .as_ref()
            .map(|p| csms_kernel::views::time(p.valid_until)),
        station: views::Station::new(&view, now),
    }))
}

#[utoipa::path(post, path = "/stations/{id}/decommission", operation_id = "decommissionStation", tag = "stations", summary = "Take a station out of service: its connection is closed and refused, its history stays", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = views::Station), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn decommission(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid = station_id(&id)?;
    let now = state.clock.now();
    lifecycle::decommission(
        &*state.store,
        state.commands.sender(),
        &who.actor(),
        &sid,
        now,
    )
    .await?;
    let view = own_station_view(&state, &who, &id).await?;
    Ok(Json(station_json(&view, now)))
}

#[utoipa::path(post, path = "/stations/{id}/recommission", operation_id = "recommissionStation", tag = "stations", summary = "Put a decommissioned station back in service", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = views::Station), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn recommission(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid = station_id(&id)?;
    lifecycle::recommission(&*state.store, &who.actor(), &sid).await?;
    let view = own_station_view(&state, &who, &id).await?;
    Ok(Json(station_json(&view, state.clock.now())))
}

#[utoipa::path(delete, path = "/stations/{id}", operation_id = "deleteStation", tag = "stations", summary = "Delete a station that has no history (no session, no command)", params(("id" = String, Path, description = "Station id")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The station has history: decommission it instead", body = ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let sid = station_id(&id)?;
    lifecycle::delete(&*state.store, state.commands.sender(), &who.actor(), &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The station's event log: firmware/diagnostics/log status, reports,
/// events, security events and data transfers, newest first.
#[utoipa::path(get, path = "/stations/{id}/events", operation_id = "listStationEvents", tag = "stations", summary = "The station's event log, newest first", params(("id" = String, Path, description = "Station id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::StationEventView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn events(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let station = own_station(&state, &who, &id).await?;
    let result = state.store.list_station_events(&station.id, &page).await?;
    let items: Vec<Value> = result
        .items
        .iter()
        .map(|e| serde_json::to_value(views::StationEventView::from(e)).expect("views serialise"))
        .collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

/// The station as the API shows it. Never includes the password hash.
pub fn station_json(view: &StationView, now: Timestamp) -> Value {
    serde_json::to_value(views::Station::new(view, now)).expect("views serialise")
}
