//! Load balancing of a site: its electrical configuration
//! (`PUT/GET/DELETE /sites/{id}/load`), the allocation in force with the
//! reason for each value (`GET /sites/{id}/load/allocation`), grid meter
//! readings pushed by an integration (`POST /sites/{id}/load/meter`) and an
//! immediate recomputation (`POST /sites/{id}/load/recompute`).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::load_config::{LoadConfigJson, PhaseAmpsJson};
use crate::openapi::ErrorBody;
use crate::util::{if_match, json_body};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_domain::load::{
    GridReading, LoadConfig, LoadMode, LoadSite, LoadState, PhaseAmps, SentLimit, SentStatus,
};
use csms_domain::tenant::Site;
use csms_domain::{OrgId, SiteId};
use csms_energy::{ChargeState, Phase, Phases};
use csms_kernel::ports::PageRequest;
use csms_load::model::{load as load_of, phases_of};
use csms_load::{LoadError, LoadSignal, SignalKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl From<LoadError> for ApiError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::NotFound(m) => ApiError::NotFound(m),
            LoadError::Invalid(m) => ApiError::BadRequest(m),
            LoadError::Precondition(m) | LoadError::Conflict(m) => ApiError::Conflict(m),
            LoadError::Store(e) => e.into(),
            LoadError::Command(e) => ApiError::Internal(e.to_string()),
        }
    }
}

pub(crate) fn site_id(id: &str) -> Result<SiteId, ApiError> {
    SiteId::parse(id).map_err(|_| ApiError::NotFound(format!("site {id:?} not found")))
}

/// A site's configuration as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadSiteView {
    pub site_id: String,
    pub version: u64,
    pub updated_at: String,
    pub config: LoadConfigJson,
}

fn site_response(status: StatusCode, s: &LoadSite) -> Response {
    let view = LoadSiteView {
        site_id: s.site_id.to_string(),
        version: s.version,
        updated_at: s.updated_at.to_rfc3339(),
        config: LoadConfigJson::from(&s.config),
    };
    (
        status,
        [(header::ETAG, format!("\"{}\"", s.version))],
        Json(view),
    )
        .into_response()
}

async fn signal(st: &ApiState, site: &SiteId) {
    let mut s = LoadSignal::new(SignalKind::Config, st.clock.now());
    s.site_id = Some(site.clone());
    if let Err(e) = st.load_trigger.signal(s).await {
        tracing::warn!(site = %site, error = %e, "could not signal load balancing");
    }
}

/// Creates or replaces the configuration; the site is recomputed at once.
/// Every station named must exist and be registered on this site.
#[utoipa::path(put, path = "/sites/{id}/load", operation_id = "putSiteLoad", tag = "load", summary = "Configure load balancing of a site: fuses, boards, meter, mode, EVSEs and priorities", params(("id" = String, Path, description = "Site id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on: 412 if it is no longer the latest")), request_body = LoadConfigJson, responses((status = 200, body = LoadSiteView, headers(("ETag" = String, description = "The new version, quoted"))), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed concurrently", body = ErrorBody), (status = 412, description = "`If-Match` names another version", body = ErrorBody)))]
pub async fn put(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let site = site_id(&id)?;
    let expected = if_match(&headers, "configuration")?;
    let config: LoadConfig = json_body::<LoadConfigJson>(&body)?.into();
    match st
        .load
        .configure(&who.org_id, &site, config, expected)
        .await
    {
        Ok(s) => {
            signal(&st, &site).await;
            Ok(site_response(StatusCode::OK, &s))
        }
        Err(LoadError::Precondition(m)) => Err(ApiError::PreconditionFailed(m)),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/sites/{id}/load", operation_id = "getSiteLoad", tag = "load", summary = "A site's load-balancing configuration", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = LoadSiteView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let site = site_id(&id)?;
    let s = st.load.get(&who.org_id, &site).await?;
    Ok(site_response(StatusCode::OK, &s))
}

/// Stops balancing: the balancer's profiles are cleared from connected stations.
#[utoipa::path(delete, path = "/sites/{id}/load", operation_id = "deleteSiteLoad", tag = "load", summary = "Stop load balancing a site (its profiles are cleared from connected stations)", params(("id" = String, Path, description = "Site id")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let site = site_id(&id)?;
    st.load.delete(&who.org_id, &site).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A limit sent to a charger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentView {
    #[schema(value_type = f64)]
    pub limit_a: Decimal,
    pub phases: u8,
    /// `pending`, `accepted` or `failed` (to be sent again).
    pub status: String,
    pub sent_at: String,
    pub command_id: String,
}

fn sent(s: &Option<SentLimit>) -> Option<SentView> {
    s.as_ref().map(|s| SentView {
        limit_a: s.limit_a,
        phases: s.phases,
        status: match s.status {
            SentStatus::Pending => "pending",
            SentStatus::Accepted => "accepted",
            SentStatus::Failed => "failed",
        }
        .into(),
        sent_at: s.sent_at.to_rfc3339(),
        command_id: s.command_id.clone(),
    })
}

/// One EVSE's allocation and what its charger was told.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvseAllocationView {
    pub station_id: String,
    pub evse_id: u32,
    pub connected: bool,
    /// `charging`, `paused` (a car waits its turn), `idle` (no session) or
    /// `offline` (held at its last limit).
    pub state: String,
    pub transaction_id: Option<String>,
    /// Amperes per phase the car may draw.
    #[schema(value_type = Option<f64>)]
    pub current_a: Option<Decimal>,
    pub phases: Option<u8>,
    /// Why: `fairShare` (with the bound that stopped it), `evseMax`,
    /// `demand` (truly dynamic: its draw plus headroom), `paused` (with the
    /// cause and when its turn is due).
    #[schema(value_type = Option<Object>)]
    pub reason: Option<serde_json::Value>,
    /// The reason in one sentence.
    pub explanation: Option<String>,
    pub measured_a: Option<PhaseAmpsJson>,
    #[schema(value_type = Option<f64>)]
    pub soc: Option<Decimal>,
    /// The TxProfile of the running transaction.
    pub profile: Option<SentView>,
    /// The TxDefaultProfile: the most the EVSE takes on its own.
    pub default_profile: Option<SentView>,
}

/// The allocation in force at a site.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationView {
    pub site_id: String,
    pub config_version: u64,
    /// `static`, `dynamic` or `trueDynamic`.
    pub mode: String,
    pub computed_at: Option<String>,
    pub grid_fuse_a: PhaseAmpsJson,
    /// Dynamic modes: the grid meter's last reading (the whole building).
    pub grid_meter: Option<GridMeterView>,
    /// Dynamic modes: the building's own load the computation assumed.
    pub building_load_a: Option<PhaseAmpsJson>,
    /// What the chargers may draw together, per grid phase (allocations of
    /// running sessions plus what offline stations hold).
    pub allocated_a: PhaseAmpsJson,
    pub warnings: Vec<String>,
    pub evses: Vec<EvseAllocationView>,
    /// Each station's own limit (ChargePointMaxProfile /
    /// ChargingStationMaxProfile): the sum of its EVSEs' limits.
    pub station_limits: Vec<StationLimitView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StationLimitView {
    pub station_id: String,
    pub profile: SentView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GridMeterView {
    pub at: String,
    pub current_a: PhaseAmpsJson,
}

async fn allocation_view(
    st: &ApiState,
    site: &LoadSite,
    state: &LoadState,
) -> Result<AllocationView, ApiError> {
    let now = st.clock.now();
    let mut connected = std::collections::HashMap::new();
    let mut totals = [Decimal::ZERO; 3];
    let mut evses = Vec::new();
    for c in &site.config.evses {
        let live = match connected.get(&c.station_id) {
            Some(l) => *l,
            None => {
                let l = st
                    .store
                    .get_station_view(&c.station_id)
                    .await?
                    .is_some_and(|v| v.connected(now));
                connected.insert(c.station_id.clone(), l);
                l
            }
        };
        let es = state.evse(&c.station_id, c.evse_id);
        let a = es.and_then(|e| e.allocation.as_ref());
        let tx = es.and_then(|e| e.transaction_id.clone());
        let status = match (live, &tx, es.and_then(|e| e.charge)) {
            (false, _, _) => "offline",
            (true, None, _) => "idle",
            (true, Some(_), _) if a.is_some_and(|a| a.current_a.is_zero()) => "paused",
            (true, Some(_), Some(ChargeState::Running(_))) => "charging",
            (true, Some(_), _) => "paused",
        };
        // What this EVSE may draw now, on which grid phases.
        let (draw, phases) = match (live, a) {
            (_, Some(a)) if tx.is_some() => (a.current_a, phases_of(a.phases)),
            (false, _) => (
                es.and_then(|e| e.default_profile.as_ref())
                    .map_or(c.max_a, |d| d.limit_a),
                phases_of(c.phases),
            ),
            _ => (Decimal::ZERO, phases_of(c.phases)),
        };
        let draw = csms_load::model::amps(load_of(draw));
        match phases {
            Phases::Three => {
                for t in &mut totals {
                    *t += draw;
                }
            }
            Phases::One => totals[c.rotation.grid_phase(Phase::L1).index()] += draw,
        }
        evses.push(EvseAllocationView {
            station_id: c.station_id.to_string(),
            evse_id: c.evse_id,
            connected: live,
            state: status.into(),
            transaction_id: tx,
            current_a: a.map(|a| a.current_a),
            phases: a.map(|a| a.phases),
            reason: a.map(|a| serde_json::to_value(&a.reason).unwrap_or_default()),
            explanation: a.map(|a| a.explanation.clone()),
            measured_a: es.and_then(|e| e.measured).map(|m| m.current_a.into()),
            soc: es.and_then(|e| e.soc),
            profile: es.and_then(|e| sent(&e.profile)),
            default_profile: es.and_then(|e| sent(&e.default_profile)),
        });
    }
    Ok(AllocationView {
        site_id: site.site_id.to_string(),
        config_version: state.config_version,
        mode: match site.config.mode {
            LoadMode::Static => "static",
            LoadMode::Dynamic => "dynamic",
            LoadMode::TrueDynamic => "trueDynamic",
        }
        .into(),
        computed_at: state.computed_at.map(|t| t.to_rfc3339()),
        grid_fuse_a: site.config.grid_fuse_a.into(),
        grid_meter: state.grid.map(|g| GridMeterView {
            at: g.at.to_rfc3339(),
            current_a: g.current_a.into(),
        }),
        building_load_a: state.building_load_a.map(Into::into),
        allocated_a: PhaseAmps::from_array(totals).into(),
        warnings: state.warnings.clone(),
        evses,
        station_limits: state
            .stations
            .iter()
            .filter_map(|st| {
                Some(StationLimitView {
                    station_id: st.station_id.to_string(),
                    profile: sent(&Some(st.max_profile.clone()))?,
                })
            })
            .collect(),
    })
}

/// A site's load balancing as organisation `org` sees it: the
/// configuration, the state of the last computation and the allocation in
/// force (what `GET /sites/{id}/load/allocation` answers, and the portal's
/// load page shows). Not found for another organisation's site or one
/// without load balancing.
pub async fn site_allocation(
    st: &ApiState,
    org: &OrgId,
    id: &str,
) -> Result<(LoadSite, LoadState, AllocationView), ApiError> {
    let site = site_id(id)?;
    let (config, state) = st.load.state(org, &site).await?;
    let view = allocation_view(st, &config, &state).await?;
    Ok((config, state, view))
}

/// The organisation's sites that are load balanced, in the order of its
/// sites (by id), each with its configuration.
pub async fn load_balanced_sites(
    st: &ApiState,
    org: &OrgId,
) -> Result<Vec<(Site, LoadSite)>, ApiError> {
    let mut found = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = st.store.list_sites(org, &page).await?;
        for site in listed.items {
            if let Some(load) = st
                .store
                .get_load_site(&site.id)
                .await?
                .filter(|l| &l.org_id == org)
            {
                found.push((site, load));
            }
        }
        match listed.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(found),
        }
    }
}

#[utoipa::path(get, path = "/sites/{id}/load/allocation", operation_id = "getSiteAllocation", tag = "load", summary = "The current allocation per EVSE, with the reason for each value", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = AllocationView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn allocation(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<AllocationView>, ApiError> {
    let (_, _, view) = site_allocation(&st, &who.org_id, &id).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/sites/{id}/load/recompute", operation_id = "recomputeSiteLoad", tag = "load", summary = "Recompute the site now and send what changed; answers the new allocation", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = AllocationView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn recompute(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<AllocationView>, ApiError> {
    let site = site_id(&id)?;
    let config = st.load.get(&who.org_id, &site).await?;
    let state = st
        .load
        .recompute(&site)
        .await?
        .unwrap_or_else(|| LoadState::new(site.clone()));
    Ok(Json(allocation_view(&st, &config, &state).await?))
}

/// A grid meter reading: the whole building's current per phase, chargers
/// included. Negative values are export (solar): 0 against the fuse, and
/// surplus for the EVSEs on PV surplus.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeterInput {
    #[schema(value_type = f64)]
    pub l1: Decimal,
    #[schema(value_type = f64)]
    pub l2: Decimal,
    #[schema(value_type = f64)]
    pub l3: Decimal,
    /// When it was measured; default now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

#[utoipa::path(post, path = "/sites/{id}/load/meter", operation_id = "postSiteMeter", tag = "load", summary = "Report the grid meter (building total per phase); the site is recomputed", params(("id" = String, Path, description = "Site id")), request_body = MeterInput, responses((status = 200, body = AllocationView), (status = 400, description = "Invalid input, or the site has no meter configured", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn meter(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<AllocationView>, ApiError> {
    let site = site_id(&id)?;
    let input: MeterInput = json_body(&body)?;
    let reading = GridReading {
        at: input.at.unwrap_or_else(|| st.clock.now()),
        current_a: PhaseAmps {
            l1: input.l1,
            l2: input.l2,
            l3: input.l3,
        },
    };
    let (config, state) = st.load.record_grid(&who.org_id, &site, reading).await?;
    Ok(Json(allocation_view(&st, &config, &state).await?))
}
