//! Webhook subscriptions: `POST /webhooks` (the signing secret is shown
//! once), `GET /webhooks`, `GET /webhooks/{id}`, `DELETE /webhooks/{id}`,
//! `GET /webhooks/{id}/deliveries`.
//!
//! A webhook pushes what its organisation may read, so the `read` scope
//! manages them.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use csms_core::webhooks::target;
use csms_core::StoreError;
use csms_domain::webhook::{Delivery, EventType, Webhook};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

/// Per organisation: each live webhook costs a delivery per event.
const MAX_WEBHOOKS: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

fn webhook_json(h: &Webhook) -> Value {
    json!({
        "id": h.id,
        "url": h.url,
        "events": h.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "description": h.description,
        "createdAt": time(h.created_at),
        "deletedAt": h.deleted_at.map(time),
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "webhookId": d.webhook_id,
        "eventId": d.event_id,
        "eventType": d.event_type.as_str(),
        "status": d.status.as_str(),
        "attempts": d.attempts.iter().map(|a| json!({
            "at": time(a.at),
            "statusCode": a.status_code,
            "error": a.error,
            "responseBody": a.response_body,
            "durationMs": a.duration_ms,
        })).collect::<Vec<_>>(),
        "nextAttemptAt": d.next_attempt_at.map(time),
        "createdAt": time(d.created_at),
        "payload": serde_json::from_str::<Value>(&d.body).unwrap_or(Value::Null),
    })
}

pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let new: NewWebhook = json_body(&body)?;
    let url = target::check(new.url.trim(), st.webhook_policy).map_err(ApiError::BadRequest)?;
    let names: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
    let mut events = new
        .events
        .iter()
        .map(|e| {
            EventType::parse(e).ok_or_else(|| {
                ApiError::BadRequest(format!("events: {e:?} is not one of {}", names.join(", ")))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if events.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "events: at least one of {}",
            names.join(", ")
        )));
    }
    events.sort();
    events.dedup();
    let description = new
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 200)
    {
        return Err(ApiError::BadRequest(
            "description: at most 200 characters".into(),
        ));
    }
    let existing = st
        .store
        .list_webhooks(
            &who.org_id,
            &csms_core::ports::PageRequest::first(MAX_WEBHOOKS as u32 + 1),
        )
        .await?;
    if existing.items.len() >= MAX_WEBHOOKS {
        return Err(ApiError::Conflict(format!(
            "an organisation can have at most {MAX_WEBHOOKS} webhooks; delete one first"
        )));
    }
    let secret: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let hook = Webhook {
        id: ulid::Ulid::new().to_string(),
        org_id: who.org_id.clone(),
        url,
        events,
        description,
        secret: format!("whsec_{secret}"),
        created_by: who.key_id.clone(),
        created_at: st.clock.now(),
        deleted_at: None,
        version: 1,
    };
    st.store.create_webhook(&hook).await?;
    st.events.subscriptions_changed(&who.org_id);
    let mut body = webhook_json(&hook);
    body["secret"] = json!(hook.secret);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn own_webhook(st: &ApiState, who: &Principal, id: &str) -> Result<Webhook, ApiError> {
    st.store
        .get_webhook(id)
        .await?
        .filter(|h| h.org_id == who.org_id)
        .ok_or_else(|| ApiError::NotFound(format!("webhook {id:?} not found")))
}

pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(webhook_json(&own_webhook(&st, &who, &id).await?)))
}

pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = st.store.list_webhooks(&who.org_id, &page(&params)?).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(webhook_json).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}

/// Deleting stops new deliveries (pending ones end `failed`) and keeps the
/// delivery history readable. Idempotent.
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    for _ in 0..5 {
        let hook = own_webhook(&st, &who, &id).await?;
        if hook.deleted_at.is_some() {
            return Ok(StatusCode::NO_CONTENT);
        }
        let expected = hook.version;
        let mut gone = hook;
        gone.deleted_at = Some(st.clock.now());
        gone.version = expected + 1;
        match st.store.put_webhook(&gone, expected).await {
            Ok(()) => {
                st.events.subscriptions_changed(&who.org_id);
                return Ok(StatusCode::NO_CONTENT);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "webhook {id} kept changing; retry"
    )))
}

pub async fn deliveries(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let hook = own_webhook(&st, &who, &id).await?;
    let page = st.store.list_deliveries(&hook.id, &page(&params)?).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(delivery_json).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}
