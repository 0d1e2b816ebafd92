//! API errors and their JSON form, and [`json_errors`], which puts the
//! answers axum makes itself (405, 413, extractor rejections) into it too.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use csms_charging::registry::RegistryError;
use csms_kernel::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid API key")]
    Unauthorized,
    /// A sign-in with an unknown address, a wrong password or a disabled
    /// person: one answer for all three.
    #[error("wrong e-mail address or password")]
    SignInFailed,
    /// The right password of a person with a second factor, without the
    /// code: sign in again with `code`.
    #[error("code: this account signs in with a code from its authenticator app as well")]
    SecondFactorRequired,
    /// A session cookie that is unknown, expired or of a disabled person.
    #[error("not signed in, or the session has ended")]
    SignedOut,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` names a version that is no longer the latest.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A provider the request needed (the mail service) failed.
    #[error("{0}")]
    Upstream(String),
    #[error("internal error")]
    Internal(String),
    /// A setting the request needs is not made (`CSMS_PUBLIC_URL` for
    /// links, `CSMS_MAIL_FROM` for mail): 503, the message names it.
    #[error("{0}")]
    NotConfigured(String),
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
            ApiError::Unauthorized | ApiError::SignInFailed | ApiError::SignedOut => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::SecondFactorRequired => (StatusCode::UNAUTHORIZED, "second_factor_required"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiError::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::NotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_configured"),
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
            RegistryError::NotFound(m) => ApiError::NotFound(m),
            RegistryError::Stale(m) => ApiError::PreconditionFailed(m),
            RegistryError::Store(e) => e.into(),
        }
    }
}

/// The largest request body the API reads (`413 payload_too_large` above
/// it): the biggest documented body, a day of quarter-hour spot prices, is
/// ~10 KiB; this is axum's default made explicit.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// Response middleware: an error answer that is not JSON yet — axum's own
/// empty 405, 413 from the body limit, plain-text extractor rejections —
/// gets the documented `{"error":{"code","message"}}` shape. Other headers
/// stay (axum adds the 405's `Allow` outside this layer).
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let code = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid_request".into(),
        StatusCode::INTERNAL_SERVER_ERROR => "internal".into(),
        s => s
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
            .replace([' ', '-'], "_"),
    };
    let message = match status {
        // axum adds `Allow` after this layer has run.
        StatusCode::METHOD_NOT_ALLOWED => {
            "method not allowed on this path; the Allow header lists the ones it has".into()
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body larger than {} bytes", MAX_BODY)
        }
        // An extractor's own words ("Failed to deserialize query string: …").
        _ => match axum::body::to_bytes(body, 1024).await {
            Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).trim().to_owned(),
            _ => status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned(),
        },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&json!({"error": {"code": code, "message": message}}))
        .unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}
