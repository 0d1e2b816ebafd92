//! `/api/v1/id-tokens`: the registry of identifiers drivers present.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, Params};
use crate::views;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use csms_charging::registry::{self, NewIdToken};
use csms_domain::token::IdTokenRecord;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateToken {
    id_token: String,
    /// `ISO14443`, `ISO15693`, `eMAID`, `MacAddress`, `Central`, `KeyCode`, `Local`, `NoAuthorization`.
    #[serde(rename = "type")]
    token_type: String,
    /// `Accepted`, `Blocked`, `Expired`, `Invalid`.
    status: String,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// User group ("residents", "staff"): tariffs assigned to the group apply
    /// to this token. Letters, digits, `.`, `_`, `-`; at most 64.
    group: Option<String>,
}

#[utoipa::path(post, path = "/id-tokens", operation_id = "createIdToken", tag = "id-tokens", summary = "Register an id token", request_body = CreateToken, responses((status = 201, body = views::IdToken), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateToken = json_body(&body)?;
    let expires_at = match req.expires_at {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|_| {
                    ApiError::BadRequest("expiresAt: must be an RFC 3339 timestamp".into())
                })?
                .with_timezone(&Utc),
        ),
    };
    if let Some(g) = &req.group {
        csms_domain::tariff::validate_group(g)
            .map_err(|e| ApiError::BadRequest(format!("group: {e}")))?;
    }
    let new = NewIdToken {
        id_token: req.id_token,
        token_type: req.token_type,
        status: req.status,
        expires_at,
        org_id: Some(who.org_id),
        group: req.group,
    };
    let record = registry::register_id_token(&*state.store, &*state.clock, new).await?;
    Ok((StatusCode::CREATED, Json(token_json(&record))))
}

#[utoipa::path(get, path = "/id-tokens", operation_id = "listIdTokens", tag = "id-tokens", summary = "List id tokens", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::IdToken>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state.store.list_id_tokens(&who.org_id, &page).await?;
    let items: Vec<Value> = result.items.iter().map(token_json).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

fn token_json(t: &IdTokenRecord) -> Value {
    serde_json::to_value(crate::views::IdToken::from(t)).expect("views serialise")
}
