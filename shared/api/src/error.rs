//! API errors and their JSON form.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use csms_core::registry::RegistryError;
use csms_core::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
    /// A stored record this version cannot read. 500 because the request was
    /// fine and the fault is ours; the message names the record so the
    /// operator can find it (the log has the decoding error).
    #[error("stored {kind} {key} cannot be read; the operator has been alerted")]
    Undecodable { kind: String, key: String },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Undecodable { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "record_undecodable")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            // The detail may name tables or hosts: log it, don't send it.
            tracing::error!(detail, "internal error in API request");
        }
        let mut resp = (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert("www-authenticate", "Bearer".parse().expect("static header"));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => {
                ApiError::BadRequest("cursor: not a cursor this API handed out".into())
            }
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Backend(m) => ApiError::Internal(m),
            StoreError::Undecodable { kind, key, reason } => {
                tracing::error!(kind, key, reason, "stored record does not decode");
                ApiError::Undecodable { kind, key }
            }
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(m) => ApiError::BadRequest(m),
            RegistryError::Conflict(m) => ApiError::Conflict(m),
            RegistryError::Store(e) => e.into(),
        }
    }
}
