//! A station's local authorisation list: `GET /stations/{id}/local-list`
//! (what the CSMS knows of it) and `POST /stations/{id}/local-list/sync`
//! (keep it, and replace it whole now). What a list holds and when updates
//! are sent: `csms_domain::local_list` and the command service's
//! `local_list` module.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::stations::station_id;
use crate::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use csms_commands::service::LocalListReport;
use csms_domain::local_list::{DEFAULT_LIMIT, DEFAULT_PER_MESSAGE, MAX_ENTRIES};
use serde::Serialize;
use utoipa::ToSchema;

/// How the last exchange about the list ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalListOutcomeView {
    #[schema(format = DateTime)]
    pub at: String,
    /// `accepted`, `failed`, `versionMismatch`, `notSupported`, `error`
    /// (a CALLERROR), `timeout`, `offline` (not sent: the station went
    /// away) or `versionChecked` (the station said its version).
    pub result: String,
    /// The version sent, or the one the station reported.
    pub version: i32,
}

/// What the CSMS knows of a station's local authorisation list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalListView {
    pub station_id: String,
    /// Whether the CSMS keeps this station's list (after a sync request).
    pub enabled: bool,
    /// `false` once the station said it has no local list; a sync request
    /// tries again.
    pub supported: bool,
    /// The version the station confirmed last (0: none).
    pub version: i32,
    /// Entries the station holds at that version.
    pub size: usize,
    /// Entries the list should hold now.
    pub desired_size: usize,
    /// The size limit used: the station's, else the default (100), at most 1000.
    pub limit: u32,
    /// Whether `limit` is the station's own (else the default).
    pub limit_from_station: bool,
    /// Entries per message used: the station's, else 20.
    pub items_per_message: u32,
    /// Updates sent and not answered yet.
    pub in_flight: usize,
    /// The next update replaces the whole list.
    pub full_update_due: bool,
    /// The station holds what it should, as far as the CSMS knows.
    pub in_sync: bool,
    pub last_outcome: Option<LocalListOutcomeView>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

fn view(station: &str, r: &LocalListReport) -> LocalListView {
    match &r.state {
        Some(s) => LocalListView {
            station_id: station.to_owned(),
            enabled: true,
            supported: s.supported,
            version: s.version,
            size: s.entries.len(),
            desired_size: r.desired,
            limit: s.effective_limit(),
            limit_from_station: s.limit.is_some(),
            items_per_message: s.effective_per_message(),
            in_flight: s.in_flight.len(),
            full_update_due: s.needs_full,
            in_sync: r.in_sync,
            last_outcome: s.outcome.as_ref().map(|o| LocalListOutcomeView {
                at: crate::util::time(o.at),
                result: o.result.clone(),
                version: o.version,
            }),
            updated_at: Some(crate::util::time(s.updated_at)),
        },
        None => LocalListView {
            station_id: station.to_owned(),
            enabled: false,
            supported: true,
            version: 0,
            size: 0,
            desired_size: 0,
            limit: DEFAULT_LIMIT.min(MAX_ENTRIES),
            limit_from_station: false,
            items_per_message: DEFAULT_PER_MESSAGE,
            in_flight: 0,
            full_update_due: false,
            in_sync: false,
            last_outcome: None,
            updated_at: None,
        },
    }
}

#[utoipa::path(get, path = "/stations/{id}/local-list", operation_id = "getLocalList", tag = "stations", summary = "The station's local authorisation list as the CSMS keeps it: version, size, limit, last outcome, in sync or not", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = LocalListView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<LocalListView>, ApiError> {
    let sid = station_id(&id)?;
    let report = st.commands.local_list_report(&who.actor(), &sid).await?;
    Ok(Json(view(sid.as_str(), &report)))
}

#[utoipa::path(post, path = "/stations/{id}/local-list/sync", operation_id = "syncLocalList", tag = "stations", summary = "Keep the station's local authorisation list in sync, and replace it whole now: the station is asked for its limits and list version, then sent a Full update (at its next connection when offline)", params(("id" = String, Path, description = "Station id")), responses((status = 202, description = "Recorded; the updates go through the station's command queue", body = LocalListView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The station is decommissioned, or changed concurrently", body = ErrorBody)))]
pub async fn sync(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<LocalListView>), ApiError> {
    let sid = station_id(&id)?;
    let actor = who.actor();
    st.commands.request_local_list_sync(&actor, &sid).await?;
    let report = st.commands.local_list_report(&actor, &sid).await?;
    Ok((StatusCode::ACCEPTED, Json(view(sid.as_str(), &report))))
}

/// The organisation's tokens changed: its stations' lists follow. A
/// failure is logged, never the request's: the lists catch up at the
/// stations' next boot or sync request.
pub(crate) async fn tokens_changed(st: &ApiState, org: &csms_domain::OrgId) {
    if let Err(e) = st.commands.local_lists_changed(org).await {
        tracing::warn!(org = %org, error = %e, "could not update the local lists");
    }
}

/// The station's access policy changed: its list follows (logged like
/// [`tokens_changed`]).
pub(crate) async fn access_changed(st: &ApiState, station: &csms_domain::StationId) {
    if let Err(e) = st.commands.sync_local_list(station, false).await {
        tracing::warn!(station = %station, error = %e, "could not update the local list");
    }
}
