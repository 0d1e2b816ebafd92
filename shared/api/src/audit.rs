//! The audit log of an organisation: every write through the API that
//! succeeded, by whom, on what, and which fields it sent (never their
//! values: a body may hold a password or a key).
//!
//! Two steps, like authentication: [`crate::auth::require_scope`], which
//! knows the caller and the route, leaves a [`Change`] on the answer to a
//! write; [`record`], around the whole API, stores it when the answer is a
//! success. A change that failed changed nothing and is not logged. If the
//! entry cannot be stored the change stands (it has happened) and the
//! failure is logged as an error.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{page, Params};
use crate::ApiState;
use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::{Extension, Json};
use csms_domain::audit::AuditEntry;
use csms_domain::OrgId;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A write the route's permission let through, waiting for its answer.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub org_id: OrgId,
    pub actor: String,
    pub operation: String,
    pub path: String,
    pub fields: Vec<String>,
}

/// The top-level field names of a JSON object body; none for anything else.
pub(crate) fn body_fields(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Map<String, Value>>(body)
        .map(|m| m.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

/// Stores the [`Change`] a successful write left on its answer.
pub async fn record(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let Some(change) = resp.extensions_mut().remove::<Change>() else {
        return resp;
    };
    if !resp.status().is_success() {
        return resp;
    }
    let entry = AuditEntry::new(
        change.org_id,
        st.clock.now(),
        &change.actor,
        &change.operation,
        &change.path,
        change.fields,
        resp.status().as_u16(),
    );
    if let Err(e) = st.store.append_audit(&entry).await {
        tracing::error!(error = %e, operation = %entry.operation, path = %entry.path,
            "a change was made but its audit entry could not be stored");
    }
    resp
}

/// One change in the organisation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    pub at: String,
    /// Who: `admin` (the platform admin), an API key's id, or a user.
    pub actor: String,
    /// The operation: method and route, e.g. `PATCH /stations/{id}`.
    pub operation: String,
    /// The path called, with the ids of what changed.
    pub path: String,
    /// The top-level fields the request sent (names only, never values).
    pub fields: Vec<String>,
    /// The HTTP status of the answer.
    pub status: u16,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryView {
            at: csms_kernel::views::time(e.at),
            actor: e.actor.clone(),
            operation: e.operation.clone(),
            path: e.path.clone(),
            fields: e.fields.clone(),
            status: e.status,
        }
    }
}

#[utoipa::path(get, path = "/audit-log", operation_id = "listAuditLog", tag = "audit", summary = "Who changed what in the organisation, newest first", description = "Every write through the API that succeeded (keys, users and the platform admin acting in the organisation), with the fields it sent but never their values. Kept for two years.", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<AuditEntryView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = st.store.list_audit(&who.org_id, &page(&params)?).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(AuditEntryView::from).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}
