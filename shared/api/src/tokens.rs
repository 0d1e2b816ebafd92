//! `/api/v1/id-tokens`: the registry of identifiers drivers present.

use crate::error::ApiError;
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use csms_core::registry::{self, NewIdToken};
use csms_domain::token::IdTokenRecord;
use csms_domain::OrgId;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateToken {
    id_token: String,
    #[serde(rename = "type")]
    token_type: String,
    status: String,
    expires_at: Option<String>,
}

pub async fn create(
    State(state): State<ApiState>,
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
    let new = NewIdToken {
        id_token: req.id_token,
        token_type: req.token_type,
        status: req.status,
        expires_at,
        org_id: None,
    };
    let record = registry::register_id_token(&*state.store, &*state.clock, new).await?;
    Ok((StatusCode::CREATED, Json(token_json(&record))))
}

pub async fn list(
    State(state): State<ApiState>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state
        .store
        .list_id_tokens(&OrgId::default_org(), &page)
        .await?;
    let items: Vec<Value> = result.items.iter().map(token_json).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

fn token_json(t: &IdTokenRecord) -> Value {
    json!({
        "idToken": t.token,
        "type": t.token_type.as_str(),
        "status": t.status.as_str(),
        "expiresAt": t.expires_at.map(time),
        "createdAt": time(t.created_at),
    })
}
