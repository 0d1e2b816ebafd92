//! API-key authentication, the caller's organisation, and scopes.
//!
//! Two kinds of key: the operator's admin key from configuration (the
//! platform admin: every scope, in the default organisation unless the
//! request names another with `X-Organisation`), and partner keys made
//! through `POST /api-keys`, presented as `csk_{id}_{secret}`, checked
//! against the stored SHA-256 of the secret and bound to the organisation
//! they were made in.
//!
//! A person signed in through `POST /auth/sign-in` presents the session
//! cookie ([`SESSION_COOKIE`]) instead of a key: [`signed_in`] finds the
//! session (by the SHA-256 of the cookie's secret) and its person, each
//! state-changing request must carry the session's CSRF token in
//! [`CSRF_HEADER`], and the person's role in the organisation they act in
//! (the first of their memberships, or the one `X-Organisation` names,
//! which must be one of theirs) gives the scopes of the same table keys use
//! ([`role_scopes`]).
//!
//! Two steps, so a route cannot be served without a declared permission:
//! [`require_api_key`] (on the whole API) finds who is calling and puts an
//! [`Authenticated`] caller in the request; [`require_scope`] (on each
//! route's method, declared next to the route in `lib.rs`) checks the scope
//! and only then hands the handlers the [`Principal`] they take. A route
//! without a declaration has no `Principal`, so its handler is refused
//! (and the OpenAPI walk in `tests/scopes.rs` fails).

use crate::audit;
use crate::error::{ApiError, MAX_BODY};
use crate::ApiState;
use axum::body::Body;
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use csms_domain::actor::{ActedBy, Actor};
use csms_domain::api_key::{parse_presented, Scope};
use csms_domain::user::{Role, User, UserId, UserSession};
use csms_domain::OrgId;
use csms_kernel::throttle::{ClientAddr, Throttle, ThrottlePolicy};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The cookie that holds a signed-in session's secret.
pub const SESSION_COOKIE: &str = "csms_session";
/// The header a state-changing request with the session cookie carries the
/// session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The key check's state: the API's, and wrong keys counted per source
/// address (when the server tells us the address: the local runner does).
#[derive(Clone)]
pub struct AuthState {
    pub api: ApiState,
    pub wrong_keys: Throttle,
}

impl AuthState {
    pub fn new(api: ApiState) -> Self {
        AuthState {
            api,
            wrong_keys: Throttle::new(ThrottlePolicy::API_KEYS),
        }
    }
}

/// 429 in the API's error shape, with `Retry-After`.
fn throttled(retry_after: std::time::Duration) -> Response {
    too_many(
        retry_after,
        "too many requests with a wrong API key from this address; try again later",
    )
}

/// 429 saying `message`, with `Retry-After`.
pub(crate) fn too_many(retry_after: std::time::Duration, message: &str) -> Response {
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(serde_json::json!({"error": {
            "code": "too_many_requests",
            "message": message
        }})),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after.as_secs().max(1)),
    );
    resp
}

/// Who is calling, once the route's scope has been checked: what every
/// handler reads, the organisation above all (every read, list, write and
/// command is of `org_id` only).
#[derive(Debug, Clone)]
pub struct Principal {
    /// The organisation the request acts in: a partner key's own, or for
    /// the platform admin the one `X-Organisation` names (else the default).
    pub org_id: OrgId,
    pub scopes: Vec<Scope>,
    /// The partner key's id; `None` for the admin key and for people.
    pub key_id: Option<String>,
    /// The signed-in person; `None` for keys.
    pub user_id: Option<UserId>,
    /// The operator's configured key, or a person with the `platformAdmin`
    /// role.
    pub platform_admin: bool,
}

impl Principal {
    /// The operator's configured key or a platform-admin person: the only
    /// callers that may change data of no organisation (a bidding zone's
    /// spot prices). A partner key with the `admin` scope, or an `orgAdmin`,
    /// is an admin of its own organisation only.
    pub fn is_platform_admin(&self) -> bool {
        self.platform_admin
    }

    /// The caller as the services see it: they check the organisation of
    /// everything they read or change for it.
    pub fn actor(&self) -> Actor {
        let by = match (&self.user_id, &self.key_id) {
            (Some(user), _) => ActedBy::User(user.clone()),
            (None, Some(id)) => ActedBy::ApiKey(id.clone()),
            (None, None) => ActedBy::PlatformAdmin,
        };
        Actor::new(self.org_id.clone(), by)
    }
}

/// What a role may do, in the scopes keys have: `platformAdmin` and
/// `orgAdmin` administer, an `operator` sends commands (and reads), an
/// `accountant` and a `viewer` read, a `driver` has nothing of the operator
/// API.
pub fn role_scopes(role: Role) -> Vec<Scope> {
    match role {
        Role::PlatformAdmin | Role::OrgAdmin => vec![Scope::Admin],
        Role::Operator => vec![Scope::Commands],
        Role::Accountant | Role::Viewer => vec![Scope::Read],
        Role::Driver => vec![],
    }
}

/// A caller whose key is good but whose scope is not checked yet; only
/// [`require_scope`] turns it into the [`Principal`] handlers take.
#[derive(Debug, Clone)]
pub struct Authenticated(Principal);

/// The header with which the platform admin acts in another organisation.
pub const ORGANISATION_HEADER: &str = "x-organisation";

/// The permission a route's method declares (`lib.rs`): refuses a caller
/// whose key lacks `needed` with 403, else gives the handler its
/// [`Principal`].
pub async fn require_scope(
    State(needed): State<Scope>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(Authenticated(principal)) = req.extensions_mut().remove::<Authenticated>() else {
        // Only reachable if the route sits outside `require_api_key`.
        return Err(ApiError::Internal(
            "a scoped route was served without the key check".into(),
        ));
    };
    if !principal.scopes.iter().any(|s| s.covers(needed)) {
        let who = if principal.user_id.is_some() {
            "your role"
        } else {
            "this API key"
        };
        return Err(ApiError::Forbidden(format!(
            "{who} lacks the {} scope",
            needed.as_str()
        )));
    }
    noted(principal, req, next).await
}

/// The permission of a person's own things (`/me/…`, declared next to the
/// routes like scopes): any signed-in person, whatever their role, acting
/// on what is theirs only; an API key is refused with 403 (a key belongs
/// to an organisation, not to a person).
pub async fn require_person(mut req: Request, next: Next) -> Result<Response, ApiError> {
    let Some(Authenticated(principal)) = req.extensions_mut().remove::<Authenticated>() else {
        return Err(ApiError::Internal(
            "a person's route was served without the key check".into(),
        ));
    };
    if principal.user_id.is_none() {
        return Err(ApiError::Forbidden(
            "only a signed-in person has their own identifiers, sessions and ratings; \
             an API key is not one"
                .into(),
        ));
    }
    noted(principal, req, next).await
}

/// Hands the handler its [`Principal`] and, for a write, notes it for the
/// audit log (`audit::record` stores it if the answer is a success): who,
/// which route, which path, which fields.
async fn noted(principal: Principal, mut req: Request, next: Next) -> Result<Response, ApiError> {
    // A write is noted for the audit log (`audit::record` stores it if the
    // answer is a success): who, which route, which path, which fields.
    let change = if !changes_state(req.method()) {
        None
    } else {
        let operation = format!(
            "{} {}",
            req.method(),
            req.extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str())
                .map(|m| m.strip_prefix("/api/v1").unwrap_or(m))
                .unwrap_or("?")
        );
        let path = req
            .extensions()
            .get::<OriginalUri>()
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|| req.uri().path().to_owned());
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            // Larger than the API reads (or cut off): the same 413 the
            // handler's extractor would have answered.
            return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
        };
        let fields = audit::body_fields(&bytes);
        req = Request::from_parts(parts, Body::from(bytes));
        Some(audit::Change {
            org_id: principal.org_id.clone(),
            actor: principal.actor().audit_name(),
            operation,
            path,
            fields,
        })
    };
    req.extensions_mut().insert(principal);
    let mut resp = next.run(req).await;
    if let Some(change) = change {
        resp.extensions_mut().insert(change);
    }
    Ok(resp)
}

/// The organisation a request acts in. The platform admin may name any
/// (`X-Organisation` or `?org=`); a partner key may name only its own, and naming
/// another answers 404 like an id of another organisation would, so a key
/// learns nothing about which organisations exist.
async fn acting_org(
    state: &ApiState,
    named: Option<&Named>,
    own: OrgId,
    platform_admin: bool,
) -> Result<OrgId, ApiError> {
    let Some(Named { value: raw, source }) = named else {
        return Ok(own);
    };
    let named = raw
        .to_str()
        .ok()
        .and_then(|v| OrgId::parse(v.trim()).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{source}: an organisation id (1 to {} letters, digits, '.', '_' or '-')",
                OrgId::MAX_LEN
            ))
        })?;
    if named == own {
        return Ok(named);
    }
    let not_found = || ApiError::NotFound(format!("organisation {:?} not found", named.as_str()));
    if !platform_admin {
        return Err(not_found());
    }
    // The platform admin acts only in organisations that exist (the
    // default one always does: an upgraded installation's data is there).
    if named != OrgId::default_org() && state.store.get_organisation(&named).await?.is_none() {
        return Err(not_found());
    }
    Ok(named)
}

/// The query parameter that names the organisation, like the header does
/// (for links and tools that cannot set headers).
pub const ORGANISATION_PARAM: &str = "org";

/// An organisation a request names, and where (for the error message).
struct Named {
    value: HeaderValue,
    source: &'static str,
}

/// The organisation a request names: the `X-Organisation` header or the
/// `org` query parameter; both naming different ones is a 400.
fn named_organisation(req: &Request) -> Result<Option<Named>, ApiError> {
    let header = req.headers().get(ORGANISATION_HEADER).map(|h| Named {
        value: h.clone(),
        source: "X-Organisation",
    });
    let param =
        axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
            .ok()
            .and_then(|q| q.0.get(ORGANISATION_PARAM).cloned());
    let Some(param) = param else {
        return Ok(header);
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "org: an organisation id (1 to {} letters, digits, '.', '_' or '-')",
            OrgId::MAX_LEN
        ))
    };
    let param = HeaderValue::from_str(&param).map_err(|_| bad())?;
    match header {
        Some(h) if h.value.as_bytes().trim_ascii() != param.as_bytes().trim_ascii() => Err(
            ApiError::BadRequest("org: names another organisation than X-Organisation".into()),
        ),
        _ => Ok(Some(Named {
            value: param,
            source: "org",
        })),
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
    State(auth): State<AuthState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let source = req.extensions().get::<ClientAddr>().copied();
    let key = source.map(|s| s.throttle_key());
    if let Some(k) = &key {
        if let Err(locked) = auth.wrong_keys.check(k, Instant::now()) {
            return Ok(throttled(locked.retry_after));
        }
    }
    let outcome = check_api_key(&auth.api, req, next).await;
    if let (Err(ApiError::Unauthorized), Some(k)) = (&outcome, &key) {
        let f = auth.wrong_keys.fail(k, Instant::now());
        if f.repeated() {
            tracing::warn!(
                source = %k,
                failures = f.failures,
                locked_secs = f.locked_for.map_or(0, |d| d.as_secs()),
                "repeated wrong API keys: address locked out for a while"
            );
        }
    }
    outcome
}

/// Who the key says the caller is, and whether that may do the request.
/// A missing `Authorization` header is 401 too, but only a presented wrong
/// key counts as a guess (see [`require_api_key`]).
async fn check_api_key(
    state: &ApiState,
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
        .map(str::trim);
    let Some(presented) = presented else {
        if session_secret(req.headers()).is_some() {
            let named = named_organisation(&req)?;
            let principal =
                session_principal(state, req.method(), req.headers(), named.as_ref()).await?;
            req.extensions_mut().insert(Authenticated(principal));
            return Ok(next.run(req).await);
        }
        // Not a guess: answer 401 without counting it.
        return Ok(ApiError::Unauthorized.into_response());
    };
    let named = named_organisation(&req)?;
    let principal = if state
        .admin_key
        .as_ref()
        .is_some_and(|k| constant_time_eq(presented.as_bytes(), k.expose().as_bytes()))
    {
        Principal {
            org_id: acting_org(state, named.as_ref(), OrgId::default_org(), true).await?,
            scopes: vec![Scope::Admin],
            key_id: None,
            user_id: None,
            platform_admin: true,
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
            org_id: acting_org(state, named.as_ref(), key.org_id, false).await?,
            scopes: key.scopes,
            key_id: Some(key.id),
            user_id: None,
            platform_admin: false,
        }
    };
    req.extensions_mut().insert(Authenticated(principal));
    Ok(next.run(req).await)
}

// ---------------------------------------------------------------- sessions

/// The value of the request's cookie `name`, if it sent one (the first, of
/// every `Cookie` header), trimmed; `None` when it is empty.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The secret of the session cookie, if the request has one.
pub fn session_secret(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The live session the request's cookie names and its person: `SignedOut`
/// for no cookie, an unknown or ended session (idle or past its absolute
/// end), or a disabled or deleted person. Writes the session's last-seen
/// time at most once a minute.
pub async fn signed_in(
    state: &ApiState,
    headers: &axum::http::HeaderMap,
) -> Result<(UserSession, User), ApiError> {
    let secret = session_secret(headers).ok_or(ApiError::SignedOut)?;
    let hash = secret_hash(&secret);
    let session = state
        .store
        .get_user_session(&hash)
        .await?
        .ok_or(ApiError::SignedOut)?;
    let now = state.clock.now();
    if !session.is_live(now) {
        state.store.delete_user_session(&hash).await?;
        return Err(ApiError::SignedOut);
    }
    let user = state
        .store
        .get_user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(ApiError::SignedOut)?;
    if session.needs_touch(now) && !state.store.touch_user_session(&hash, now).await? {
        return Err(ApiError::SignedOut);
    }
    Ok((session, user))
}

/// Whether `method` may change something: anything but `GET`, `HEAD` and
/// `OPTIONS`. Such a request is logged for the audit and, with the session
/// cookie, must carry the CSRF token.
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing method ([`changes_state`]) with
/// the session cookie must carry the session's CSRF token: a page of
/// another site can make the browser send the cookie, not read the token.
pub fn check_csrf(
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    session: &UserSession,
) -> Result<(), ApiError> {
    if !changes_state(method) {
        return Ok(());
    }
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if csrf_matches(sent, session) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "X-CSRF-Token: missing, or not this session's token (see the sign-in answer)".into(),
        ))
    }
}

/// Who a signed-in person is in this request: the organisation they act in
/// and the scopes of their role there.
async fn session_principal(
    state: &ApiState,
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    named: Option<&Named>,
) -> Result<Principal, ApiError> {
    let (session, user) = signed_in(state, headers).await?;
    check_csrf(method, headers, &session)?;
    principal_of(state, user, named).await
}

/// Who a signed-in person is where no organisation is named (the web
/// portal): the first organisation of their memberships and their role's
/// scopes there, as the API would see them.
pub async fn person_principal(state: &ApiState, user: User) -> Result<Principal, ApiError> {
    principal_of(state, user, None).await
}

/// Whether `sent` is the session's CSRF token (a form's hidden field in the
/// web portal; the header in the API).
pub fn csrf_matches(sent: &str, session: &UserSession) -> bool {
    constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes())
}

async fn principal_of(
    state: &ApiState,
    user: User,
    named: Option<&Named>,
) -> Result<Principal, ApiError> {
    let platform_admin = user.is_platform_admin();
    let first = user.memberships.first().map(|m| m.org_id.clone());
    let org_id = if platform_admin {
        let own = first.unwrap_or_else(OrgId::default_org);
        acting_org(state, named, own, true).await?
    } else {
        let Some(first) = first else {
            return Err(ApiError::Forbidden(
                "you have no role in any organisation".into(),
            ));
        };
        match acting_org(state, named, first.clone(), false).await {
            // A header naming another of the person's organisations.
            Err(ApiError::NotFound(m)) => {
                let raw = named
                    .and_then(|n| n.value.to_str().ok())
                    .unwrap_or("")
                    .trim();
                match OrgId::parse(raw) {
                    Ok(org) if user.role_in(&org).is_some() => org,
                    _ => return Err(ApiError::NotFound(m)),
                }
            }
            other => other?,
        }
    };
    let scopes = if platform_admin {
        vec![Scope::Admin]
    } else {
        user.role_in(&org_id).map(role_scopes).unwrap_or_default()
    };
    Ok(Principal {
        org_id,
        scopes,
        key_id: None,
        user_id: Some(user.id),
        platform_admin,
    })
}

/// Compare without an early exit, so response time reveals neither how much
/// of a guessed key was right nor the real key's length: both sides are
/// hashed first and the fixed-size digests compared in full.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
