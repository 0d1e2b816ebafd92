//! Webhook subscriptions: `POST /webhooks` (the signing secret is shown
//! once), `GET /webhooks`, `GET /webhooks/{id}`, `DELETE /webhooks/{id}`,
//! `GET /webhooks/{id}/deliveries`.
//!
//! A webhook pushes what its organisation may read, so the `read` scope
//! manages them — except that only an `admin` key may point one outside the
//! public internet (see [`target`]), and only where the operator enabled
//! such targets: a partner must not make the CSMS call internal services.

use crate::auth::Principal;
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
use csms_domain::api_key::Scope;
use csms_domain::webhook::{Delivery, EventType, Webhook};
use csms_kernel::StoreError;
use csms_notify::{deliver, target};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

/// Per organisation: each live webhook costs a delivery per event.
const MAX_WEBHOOKS: usize = 20;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhook {
    /// Where deliveries are POSTed: `https` with a public host. Where the
    /// operator enabled private targets (the local runner does by default),
    /// `http` is accepted too, and an `admin` key may also name a private
    /// address, `localhost` or a `*.internal`-style name; other keys get 403.
    url: String,
    /// Any of `session.started`, `session.ended`, `session.priced`, `station.status`, `station.registration`,
    /// `station.connected`, `station.disconnected`, `command.completed`, `booking.refused`, `alarm.opened`,
    /// `alarm.resolved`, `invoice.issued`, `invoice.paid`, `invoice.reminded`, `invoice.blocked`.
    events: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

fn webhook_json(h: &Webhook) -> Value {
    serde_json::to_value(crate::views::WebhookView::from(h)).expect("views serialise")
}

/// A delivery as the webhook's readers see it. The deliverer stores no
/// answer body for a private target and only coarse error texts; attempts
/// recorded before it did are shown the same way here: a private target's
/// bodies dropped, any other error text read as `request failed`.
fn delivery_json(d: &Delivery, private: bool) -> Value {
    let mut view = crate::views::DeliveryView::from(d);
    for a in &mut view.attempts {
        if private {
            a.response_body = None;
        }
        a.error = a.error.take().map(|e| {
            if COARSE_ERRORS.contains(&e.as_str()) || e.starts_with("endpoint answered ") {
                e
            } else {
                deliver::FAILED_REQUEST.to_owned()
            }
        });
    }
    serde_json::to_value(view).expect("views serialise")
}

/// Every failure text the deliverer records today.
const COARSE_ERRORS: [&str; 6] = [
    deliver::REFUSED,
    deliver::FAILED_DNS,
    deliver::FAILED_CONNECT,
    deliver::FAILED_TLS,
    deliver::FAILED_TIMEOUT,
    deliver::FAILED_REQUEST,
];

#[utoipa::path(post, path = "/webhooks", operation_id = "createWebhook", tag = "webhooks", summary = "Subscribe to events (the signing secret is shown once)", request_body = NewWebhook, responses((status = 201, body = views::WebhookView), (status = 400, description = "Invalid input; the message says what is wrong (a private `url` where the operator did not enable private targets)", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope, or is not an admin key and the `url` names a target outside the public internet", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let new: NewWebhook = json_body(&body)?;
    let checked = target::check(new.url.trim(), st.webhook_policy).map_err(ApiError::BadRequest)?;
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
    // After the syntax checks, so a bad field is a 400 whoever asks.
    if checked.private && !who.scopes.iter().any(|s| s.covers(Scope::Admin)) {
        return Err(ApiError::Forbidden(
            "url: names a host outside the public internet; only an admin key may register such a target"
                .into(),
        ));
    }
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
            &csms_kernel::ports::PageRequest::first(MAX_WEBHOOKS as u32 + 1),
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
        url: checked.url,
        events,
        description,
        secret: format!("whsec_{secret}"),
        created_by: who
            .key_id
            .clone()
            .or_else(|| who.user_id.as_ref().map(|_| who.actor().audit_name())),
        created_at: st.clock.now(),
        deleted_at: None,
        failing_since: None,
        version: 1,
    };
    st.store.create_webhook(&hook).await?;
    st.webhook_subscriptions.subscriptions_changed(&who.org_id);
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

#[utoipa::path(get, path = "/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks", summary = "A webhook", params(("id" = String, Path, description = "Webhook id")), responses((status = 200, body = views::WebhookView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(webhook_json(&own_webhook(&st, &who, &id).await?)))
}

#[utoipa::path(get, path = "/webhooks", operation_id = "listWebhooks", tag = "webhooks", summary = "List the organisation's webhooks", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::WebhookView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks", summary = "Delete a webhook (its delivery log stays readable)", params(("id" = String, Path, description = "Webhook id")), responses((status = 204, description = "Deleted (also when it already was)"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
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
                st.webhook_subscriptions.subscriptions_changed(&who.org_id);
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

#[utoipa::path(get, path = "/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks", summary = "A webhook's deliveries with every attempt, newest first", params(("id" = String, Path, description = "Webhook id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::DeliveryView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn deliveries(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let hook = own_webhook(&st, &who, &id).await?;
    let page = st.store.list_deliveries(&hook.id, &page(&params)?).await?;
    let private = target::is_private_url(&hook.url);
    Ok(Json(json!({
        "items": page.items.iter().map(|d| delivery_json(d, private)).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}
