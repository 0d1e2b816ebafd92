//! API-key authentication and scopes.
//!
//! Two kinds of key: the operator's admin key from configuration (every
//! scope, in the default organisation), and partner keys made through
//! `POST /api-keys`, presented as `csk_{id}_{secret}` and checked against the
//! stored SHA-256 of the secret. What a route needs is decided here, in one
//! table ([`needed_scope`]), so no handler can forget it.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use csms_domain::api_key::{parse_presented, Scope};
use csms_domain::OrgId;
use sha2::{Digest, Sha256};

/// Who is calling, for handlers that need it (e.g. to scope new keys).
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: OrgId,
    pub scopes: Vec<Scope>,
    /// The partner key's id; `None` for the admin key.
    pub key_id: Option<String>,
}

/// The scope a request needs, by method and path (below `/api/v1`).
pub fn needed_scope(method: &Method, path: &str) -> Scope {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    if path.starts_with("/api-keys") {
        Scope::Admin
    } else if path.starts_with("/webhooks") {
        // A webhook pushes what the key may read anyway.
        Scope::Read
    } else if *method == Method::POST && path.ends_with("/commands") {
        Scope::Commands
    } else if path.ends_with("/charging-need") && *method != Method::GET && *method != Method::HEAD
    {
        // Telling when a car must be ready is a driver's app's business,
        // like starting the charge.
        Scope::Commands
    } else if *method == Method::GET || *method == Method::HEAD {
        Scope::Read
    } else {
        Scope::Admin
    }
}

/// Hex SHA-256 of a key's secret part.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn require_api_key(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let principal = if state
        .admin_key
        .as_ref()
        .is_some_and(|k| constant_time_eq(presented.as_bytes(), k.expose().as_bytes()))
    {
        Principal {
            org_id: OrgId::default_org(),
            scopes: vec![Scope::Admin],
            key_id: None,
        }
    } else {
        let (id, secret) = parse_presented(presented).ok_or(ApiError::Unauthorized)?;
        let key = state
            .store
            .get_api_key(id)
            .await?
            .filter(|k| k.revoked_at.is_none())
            .ok_or(ApiError::Unauthorized)?;
        if !constant_time_eq(secret_hash(secret).as_bytes(), key.secret_hash.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
        Principal {
            org_id: key.org_id,
            scopes: key.scopes,
            key_id: Some(key.id),
        }
    };
    let needed = needed_scope(req.method(), req.uri().path());
    if !principal.scopes.iter().any(|s| s.covers(needed)) {
        return Err(ApiError::Forbidden(format!(
            "this API key lacks the {} scope",
            needed.as_str()
        )));
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// Compare without an early exit, so response time does not reveal how much
/// of a guessed key was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn scopes_by_route() {
        assert_eq!(needed_scope(&Method::GET, "/stations"), Scope::Read);
        assert_eq!(
            needed_scope(&Method::GET, "/api/v1/sessions/export"),
            Scope::Read
        );
        assert_eq!(
            needed_scope(&Method::POST, "/stations/CP-1/commands"),
            Scope::Commands
        );
        assert_eq!(needed_scope(&Method::POST, "/stations"), Scope::Admin);
        assert_eq!(
            needed_scope(&Method::PUT, "/api/v1/sessions/CP~1/charging-need"),
            Scope::Commands
        );
        assert_eq!(needed_scope(&Method::GET, "/api-keys"), Scope::Admin);
        assert_eq!(needed_scope(&Method::DELETE, "/api-keys/x"), Scope::Admin);
        assert_eq!(needed_scope(&Method::POST, "/webhooks"), Scope::Read);
        assert_eq!(needed_scope(&Method::DELETE, "/webhooks/x"), Scope::Read);
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
