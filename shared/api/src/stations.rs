//! `/api/v1/stations`: register and inspect charging stations.

use crate::error::ApiError;
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use csms_core::registry::{self, NewStation};
use csms_domain::station::{ConnectorStatus, StationView};
use csms_domain::{OrgId, StationId, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateStation {
    id: String,
    password: Option<String>,
    name: Option<String>,
    site_id: Option<String>,
}

pub async fn create(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateStation = json_body(&body)?;
    let new = NewStation {
        id: req.id,
        password: req.password,
        name: req.name,
        site_id: req.site_id,
        org_id: None,
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

pub async fn list(
    State(state): State<ApiState>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let now = state.clock.now();
    let result = state
        .store
        .list_stations(&OrgId::default_org(), &page)
        .await?;
    let items: Vec<Value> = result.items.iter().map(|v| station_json(v, now)).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

fn station_id(raw: &str) -> Result<StationId, ApiError> {
    StationId::parse(raw).map_err(|_| ApiError::NotFound(format!("station {raw:?} not found")))
}

pub async fn get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid = station_id(&id)?;
    let view = state
        .store
        .get_station_view(&sid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {id:?} not found")))?;
    Ok(Json(station_json(&view, state.clock.now())))
}

/// The station's event log: firmware/diagnostics/log status, reports,
/// events, security events and data transfers, newest first.
pub async fn events(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let sid = station_id(&id)?;
    let page = page(&params)?;
    if state.store.get_station(&sid).await?.is_none() {
        return Err(ApiError::NotFound(format!("station {id:?} not found")));
    }
    let result = state.store.list_station_events(&sid, &page).await?;
    let items: Vec<Value> = result
        .items
        .iter()
        .map(|e| json!({"kind": e.kind, "at": time(e.at), "payload": e.payload}))
        .collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

fn connector_json(c: &ConnectorStatus) -> Value {
    json!({
        "id": c.connector_id,
        "status": c.status,
        "errorCode": c.error_code,
        "info": c.info,
        "updatedAt": time(c.updated_at),
    })
}

/// The station as the API shows it. Never includes the password hash.
pub fn station_json(view: &StationView, now: Timestamp) -> Value {
    let st = &view.station;
    let mut evses: Vec<Value> = Vec::new();
    let mut station_status = Value::Null;
    let mut current: Option<(u32, Vec<Value>)> = None;
    for c in &view.connectors {
        if c.evse_id == 0 {
            station_status = connector_json(c);
            continue;
        }
        match &mut current {
            Some((id, list)) if *id == c.evse_id => list.push(connector_json(c)),
            _ => {
                if let Some((id, list)) = current.take() {
                    evses.push(json!({"id": id, "connectors": list}));
                }
                current = Some((c.evse_id, vec![connector_json(c)]));
            }
        }
    }
    if let Some((id, list)) = current {
        evses.push(json!({"id": id, "connectors": list}));
    }
    let boot = st.boot.as_ref();
    json!({
        "id": st.id,
        "name": st.name,
        "siteId": st.site_id,
        "hasPassword": st.password_hash.is_some(),
        "connected": view.connected(now),
        "ocppVersion": st.ocpp_version.map(|v| v.as_str()),
        "vendor": boot.map(|b| &b.vendor),
        "model": boot.map(|b| &b.model),
        "serialNumber": boot.and_then(|b| b.serial_number.as_ref()),
        "firmwareVersion": boot.and_then(|b| b.firmware_version.as_ref()),
        "lastBootAt": boot.map(|b| time(b.booted_at)),
        "lastSeenAt": view.last_seen_at().map(time),
        "connectedSince": view.connection.as_ref().filter(|c| c.is_live(now)).map(|c| time(c.connected_at)),
        "createdAt": time(st.created_at),
        "stationStatus": station_status,
        "evses": evses,
    })
}
