//! A private garage charger's e-mail identity (issue 17.3):
//! `GET|PUT|DELETE /stations/{id}/garage-identity`. The station then
//! starts for its person without a card; see `csms_charging::garage`.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::stations::station_id;
use crate::util::{if_match, json_body, time};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use csms_charging::garage::{self, GarageInput};
use csms_domain::access::GarageIdentity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whose garage the station is.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GarageInputBody {
    /// The person (`usr_…`), a member of the station's organisation; their
    /// e-mail address (at most 36 characters) becomes their `EMail`
    /// identifier.
    #[schema(example = "usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB")]
    user_id: String,
    /// OCPP 1.6 only: the idTag the charger sends in free-vend mode (at
    /// most 20 characters; no registered identifier may have it).
    #[schema(example = "FREEVEND")]
    free_vend_id_tag: Option<String>,
}

/// A station's garage identity.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GarageIdentityView {
    pub station_id: String,
    pub user_id: String,
    /// The `EMail` identifier its sessions are recorded for.
    #[schema(example = "anna@example.se")]
    pub id_token: String,
    pub free_vend_id_tag: Option<String>,
    pub updated_at: String,
    pub version: u64,
}

fn view(g: &GarageIdentity) -> GarageIdentityView {
    GarageIdentityView {
        station_id: g.station_id.to_string(),
        user_id: g.user_id.to_string(),
        id_token: g.id_token.as_str().to_owned(),
        free_vend_id_tag: g.free_vend_id_tag.as_ref().map(|t| t.as_str().to_owned()),
        updated_at: time(g.updated_at),
        version: g.version,
    }
}

#[utoipa::path(get, path = "/stations/{id}/garage-identity", operation_id = "getGarageIdentity", tag = "access", summary = "The person a private garage station starts for without a card", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = GarageIdentityView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "No such station, or it has no garage identity", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<GarageIdentityView>, ApiError> {
    let sid = station_id(&id)?;
    let g = garage::get(&*st.store, &who.actor(), &sid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {id} has no garage identity")))?;
    Ok(Json(view(&g)))
}

#[utoipa::path(put, path = "/stations/{id}/garage-identity", operation_id = "putGarageIdentity", tag = "access", summary = "Make the station a person's private garage charger: it starts for their e-mail identity without a card (2.0.1: no id token or NoAuthorization; 1.6: the free-vend idTag)", params(("id" = String, Path, description = "Station id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (0: none yet): 412 if there is a newer one")), request_body = GarageInputBody, responses((status = 200, body = GarageIdentityView), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The address is an identifier of another kind, organisation or holder; or changed concurrently", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn put(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<GarageIdentityView>, ApiError> {
    let sid = station_id(&id)?;
    let req: GarageInputBody = json_body(&body)?;
    let expected = if_match(&headers, "garage identity")?;
    let g = garage::set(
        &*st.store,
        &who.actor(),
        &sid,
        GarageInput {
            user_id: req.user_id,
            free_vend_id_tag: req.free_vend_id_tag,
        },
        expected,
        st.clock.now(),
    )
    .await?;
    Ok(Json(view(&g)))
}

#[utoipa::path(delete, path = "/stations/{id}/garage-identity", operation_id = "deleteGarageIdentity", tag = "access", summary = "The station no longer starts for anyone without a card (the EMail identifier and its sessions stay)", params(("id" = String, Path, description = "Station id")), responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "No such station, or it has no garage identity", body = ErrorBody)))]
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let sid = station_id(&id)?;
    garage::remove(&*st.store, &who.actor(), &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
