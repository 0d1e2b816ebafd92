//! The mail outbox: where the local runner keeps the mail it "sends"
//! (`.eml` files in its data dir), listed for the platform admin. In AWS
//! mail leaves through SES and there is no outbox (404).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{time, Params};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_notify::mail::Outbox;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A message in the outbox.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    #[schema(example = "01JEQ3V3N7Q4G8W1Z5X2M9K0AB")]
    pub id: String,
    pub to: String,
    pub subject: String,
    /// `invitation`, `passwordReset`, …
    pub kind: String,
    pub written_at: String,
}

fn outbox<'a>(st: &'a ApiState, who: &Principal) -> Result<&'a dyn Outbox, ApiError> {
    if !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "the mail outbox is the platform admin's".into(),
        ));
    }
    st.mailer.outbox().ok_or_else(|| {
        ApiError::NotFound("mail is sent through the mail service here; there is no outbox".into())
    })
}

fn mail_failed(e: csms_notify::mail::MailError) -> ApiError {
    ApiError::Internal(format!("the outbox: {e}"))
}

#[utoipa::path(get, path = "/outbox", operation_id = "listOutbox", tag = "users", summary = "Mail kept by the local runner (invitations, password resets), newest first: the platform admin's", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "How many, default 50")), responses((status = 200, body = ListOf<OutboxMessage>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody), (status = 404, description = "No outbox here: mail goes out through SES", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::util::page(&params)?.limit as usize;
    let items: Vec<Value> = outbox(&st, &who)?
        .list(limit)
        .await
        .map_err(mail_failed)?
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "to": e.to,
                "subject": e.subject,
                "kind": e.kind,
                "writtenAt": time(e.written_at),
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "nextCursor": null})))
}

#[utoipa::path(get, path = "/outbox/{id}", operation_id = "getOutboxMessage", tag = "users", summary = "One kept message as sent (`message/rfc822`, opens in any mail program)", params(("id" = String, Path, description = "Message id")), responses((status = 200, description = "The message", content_type = "message/rfc822", body = String), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody), (status = 404, description = "No such message, or no outbox here", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = outbox(&st, &who)?
        .message(&id)
        .await
        .map_err(mail_failed)?
        .ok_or_else(|| ApiError::NotFound(format!("message {id} not found")))?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], bytes).into_response())
}
