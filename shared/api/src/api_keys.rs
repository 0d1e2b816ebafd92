//! Partner API keys: `POST /api-keys` (the secret is shown once),
//! `GET /api-keys`, `GET /api-keys/{id}`, `DELETE /api-keys/{id}` (revoke).

use crate::auth::{secret_hash, Principal};
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, Params};
use crate::views;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use csms_domain::api_key::{ApiKey, Scope};
use csms_kernel::StoreError;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// Who the key is for (1 to 100 characters).
    name: String,
    /// Any of `read`, `commands`, `admin`.
    scopes: Vec<String>,
}

fn key_json(k: &ApiKey) -> Value {
    serde_json::to_value(crate::views::ApiKeyView::from(k)).expect("views serialise")
}

#[utoipa::path(post, path = "/api-keys", operation_id = "createApiKey", tag = "api-keys", summary = "Create a partner API key (the secret is shown once)", request_body = NewKey, responses((status = 201, body = views::ApiKeyView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let new: NewKey = json_body(&body)?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest("name: 1 to 100 characters".into()));
    }
    let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let mut scopes = new
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                ApiError::BadRequest(format!("scopes: {s:?} is not one of {}", names.join(", ")))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "scopes: at least one of {}",
            names.join(", ")
        )));
    }
    scopes.sort();
    scopes.dedup();
    let secret: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let key = ApiKey {
        id: ulid::Ulid::new().to_string(),
        org_id: who.org_id,
        name,
        scopes,
        secret_hash: secret_hash(&secret),
        created_at: st.clock.now(),
        revoked_at: None,
        version: 1,
    };
    st.store.create_api_key(&key).await?;
    let mut body = key_json(&key);
    body["key"] = json!(format!("csk_{}_{secret}", key.id));
    Ok((StatusCode::CREATED, Json(body)))
}

async fn own_key(st: &ApiState, who: &Principal, id: &str) -> Result<ApiKey, ApiError> {
    st.store
        .get_api_key(id)
        .await?
        .filter(|k| k.org_id == who.org_id)
        .ok_or_else(|| ApiError::NotFound(format!("API key {id:?} not found")))
}

#[utoipa::path(get, path = "/api-keys/{id}", operation_id = "getApiKey", tag = "api-keys", summary = "An API key", params(("id" = String, Path, description = "Key id")), responses((status = 200, body = views::ApiKeyView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(key_json(&own_key(&st, &who, &id).await?)))
}

#[utoipa::path(get, path = "/api-keys", operation_id = "listApiKeys", tag = "api-keys", summary = "List the organisation's API keys", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::ApiKeyView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = st.store.list_api_keys(&who.org_id, &page(&params)?).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(key_json).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}

/// Revoking is idempotent: a revoked key stays revoked, with its first time.
#[utoipa::path(delete, path = "/api-keys/{id}", operation_id = "revokeApiKey", tag = "api-keys", summary = "Revoke an API key", params(("id" = String, Path, description = "Key id")), responses((status = 204, description = "Revoked (also when it already was)"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn revoke(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    for _ in 0..5 {
        let key = own_key(&st, &who, &id).await?;
        if key.revoked_at.is_some() {
            return Ok(StatusCode::NO_CONTENT);
        }
        let expected = key.version;
        let mut revoked = key;
        revoked.revoked_at = Some(st.clock.now());
        revoked.version = expected + 1;
        match st.store.put_api_key(&revoked, expected).await {
            Ok(()) => return Ok(StatusCode::NO_CONTENT),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "API key {id} kept changing; retry"
    )))
}
