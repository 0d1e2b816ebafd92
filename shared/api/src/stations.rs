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

/// What `PATCH /stations/{id}` changes; a field left out stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateStation {
    /// The operator's decision. Approving a connected `Pending` station
    /// (and any change a connected, not rejected station's last boot was
    /// answered otherwise) sends it TriggerMessage BootNotification, so
    /// the new answer applies at once.
    #[schema(value_type = Option<views::ApprovalName>)]
    approval: Option<String>,
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

fn station_id(raw: &str) -> Result<StationId, ApiError> {
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
async fn own_station_view(
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
    Ok(Json(station_json(&view, state.clock.now())))
}

#[utoipa::path(patch, path = "/stations/{id}", operation_id = "updateStation", tag = "stations", summary = "Approve, hold or reject a station", params(("id" = String, Path, description = "Station id")), request_body = UpdateStation, responses((status = 200, body = views::Station), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let sid = own_station(&state, &who, &id).await?.id;
    let req: UpdateStation = json_body(&body)?;
    let Some(raw) = req.approval else {
        return Err(ApiError::BadRequest(
            "nothing to change: give approval".into(),
        ));
    };
    let approval = registry::parse_approval(&raw)?;
    csms_commands::approval::set_approval(&*state.store, &state.commands, &sid, approval)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let view = own_station_view(&state, &who, &id).await?;
    Ok(Json(station_json(&view, state.clock.now())))
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
