//! `/api/v1/sessions`: charging sessions and their meter readings.

use crate::error::ApiError;
use crate::util::{page, time, time_param, wh, Params};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::Json;
use csms_core::ports::{MeterTarget, SessionQuery};
use csms_domain::session::Session;
use csms_domain::{OrgId, SessionId, StationId};
use serde_json::{json, Value};

pub async fn list(
    State(state): State<ApiState>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let station_id = match params.get("stationId").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            StationId::parse(s.as_str())
                .map_err(|e| ApiError::BadRequest(format!("stationId: {e}")))?,
        ),
    };
    let from = time_param(&params, "from")?;
    let to = time_param(&params, "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::BadRequest("from: must not be after to".into()));
        }
    }
    let query = SessionQuery {
        org_id: OrgId::default_org(),
        station_id,
        from,
        to,
        page: page(&params)?,
    };
    let result = state.store.list_sessions(&query).await?;
    let items: Vec<Value> = result.items.iter().map(session_json).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

async fn find(state: &ApiState, raw: &str) -> Result<Session, ApiError> {
    let not_found = || ApiError::NotFound(format!("session {raw:?} not found"));
    let id = SessionId::parse(raw).map_err(|_| not_found())?;
    state.store.get_session(&id).await?.ok_or_else(not_found)
}

pub async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(session_json(&find(&state, &id).await?)))
}

pub async fn meter_values(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let session = find(&state, &id).await?;
    let readings = state
        .store
        .list_meter_readings(&MeterTarget::Session(session.id))
        .await?;
    let items: Vec<Value> = readings
        .iter()
        .map(|r| {
            json!({
                "timestamp": time(r.timestamp),
                "measurand": r.measurand,
                "phase": r.phase,
                "location": r.location,
                "context": r.context,
                "value": wh(r.value),
                "unit": r.unit,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub fn session_json(s: &Session) -> Value {
    json!({
        "id": s.id,
        "stationId": s.station_id,
        "siteId": s.site_id,
        "evseId": s.evse_id,
        "connectorId": s.connector_id,
        "transactionId": s.transaction_id,
        "idToken": s.id_token,
        "status": s.status.as_str(),
        "startedAt": s.started_at.map(time),
        "endedAt": s.ended_at.map(time),
        "meterStartWh": s.meter_start_wh().map(wh),
        "meterStopWh": s.meter_stop_wh().map(wh),
        "energyWh": s.energy_wh().map(wh),
        "stopReason": s.stop_reason,
        "startUnknown": s.start_unknown,
        "offlineEvents": s.offline_events,
        "updatedAt": time(s.updated_at),
    })
}
