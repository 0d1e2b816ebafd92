//! Signing in: `POST /auth/sign-in`, `GET /auth/me`, `POST /auth/sign-out`,
//! `POST /auth/sign-out-everywhere`.
//!
//! A sign-in checks the password (argon2id, on the blocking pool) and makes
//! a session: 256 random bits in the `csms_session` cookie (`HttpOnly`,
//! `SameSite=Lax`, `Path=/`, `Secure` with `CSMS_SECURE_COOKIES`), of which
//! the store keeps only the SHA-256. The answer carries the person, their
//! memberships and the session's CSRF token, which every state-changing
//! request with the cookie sends in `X-CSRF-Token`.
//!
//! An unknown address, a wrong password and a disabled person get the same
//! 401 after the same work (an unknown address is checked against a dummy
//! hash). Failed sign-ins are throttled per account and per client address
//! (`csms_kernel::throttle`, like charger passwords and API keys).
//!
//! These routes take no key and declare no scope: they act on the caller's
//! own session only (a driver may sign in and read `/auth/me`).

use crate::auth::{self, signed_in, too_many, SESSION_COOKIE};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::people::{user_json, UserView};
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use csms_charging::password;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::user::{User, UserEmail, UserSession};
use csms_kernel::throttle::{ClientAddr, Failure, Throttle, ThrottlePolicy};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;
use utoipa::ToSchema;

/// The sign-in's state: the API's, and failed sign-ins counted per
/// account (the lower-case address) and per client address.
#[derive(Clone)]
pub struct SignInState {
    pub api: ApiState,
    pub accounts: Throttle,
    pub addresses: Throttle,
}

impl SignInState {
    pub fn new(api: ApiState) -> Self {
        SignInState {
            api,
            accounts: Throttle::new(ThrottlePolicy::STATIONS),
            addresses: Throttle::new(ThrottlePolicy::ADDRESSES),
        }
    }
}

/// The longest password a person can have (`csms_charging::password`).
const PASSWORD_MAX: usize = 64;

/// E-mail address and password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SignIn {
    #[schema(example = "anna.berg@example.se")]
    email: String,
    password: String,
    /// The authenticator app's current code, for a person with a second
    /// factor (asked for with `401 second_factor_required`).
    #[schema(example = "492039")]
    code: Option<String>,
}

/// The signed-in person and the session's CSRF token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// With every membership.
    pub user: UserView,
    /// Send in `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A hash no password matches in practice, verified for an unknown
/// address so that it takes as long as a known one.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        password::hash(&random_token()[..40]).expect("hashing a valid password works")
    })
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}"
    ))
    .expect("the cookie is ASCII")
}

fn signed_in_json(user: &User, session: &UserSession) -> Value {
    json!({"user": user_json(user, None, true), "csrfToken": session.csrf_token})
}

#[utoipa::path(post, path = "/auth/sign-in", operation_id = "signIn", tag = "auth", summary = "Sign in with e-mail address and password: sets the session cookie", request_body = SignIn, responses((status = 200, description = "Signed in; `Set-Cookie: csms_session=…`", body = SignedIn), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Wrong e-mail address, password or code (`unauthorized`); or the right password of a person with a second factor and no `code` (`second_factor_required`)", body = ErrorBody), (status = 429, description = "Too many failed sign-ins for the account or from the address", body = ErrorBody)), security(()))]
pub async fn sign_in(
    State(st): State<SignInState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: SignIn = json_body(&body)?;
    let client = client.as_ref().map(|Extension(a)| a);
    match authenticate(&st, client, &req.email, &req.password, req.code.as_deref()).await {
        Ok(user) => start_session(&st.api, &user).await,
        Err(Refusal::Throttled(retry_after)) => Ok(too_many(retry_after, THROTTLED)),
        Err(Refusal::Error(e)) => Err(e),
    }
}

/// What the throttled sign-in's 429 says.
const THROTTLED: &str =
    "too many failed sign-ins for this account or from this address; try again later";

/// Why [`authenticate`] signed nobody in.
#[derive(Debug)]
pub enum Refusal {
    /// Too many failed sign-ins for the account or from the address: try
    /// again after this long.
    Throttled(std::time::Duration),
    /// Invalid input (`BadRequest` naming the field), a wrong address,
    /// password or code (`SignInFailed`), a missing code
    /// (`SecondFactorRequired`), or the store's failure.
    Error(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Error(e)
    }
}

/// The sign-in use case, shared by `POST /auth/sign-in` and the web
/// portal's sign-in form: checks the address, the password (argon2id on
/// the blocking pool) and the second factor's code, under the throttle per
/// account and per client address, raising the alarms of a run of
/// failures. Makes no session: [`new_session`] does.
pub async fn authenticate(
    st: &SignInState,
    client: Option<&ClientAddr>,
    email: &str,
    password: &str,
    code: Option<&str>,
) -> Result<User, Refusal> {
    let email = UserEmail::parse(email).map_err(|e| ApiError::BadRequest(format!("email: {e}")))?;
    if password.is_empty() {
        return Err(ApiError::BadRequest("password: must not be empty".into()).into());
    }
    // No password is longer (they are set with 8–64 characters), and a
    // long one would only cost argon2 time: refused before any lookup, the
    // same for every account.
    if password.chars().count() > PASSWORD_MAX {
        return Err(
            ApiError::BadRequest(format!("password: at most {PASSWORD_MAX} characters")).into(),
        );
    }
    let now = Instant::now();
    let address = match client {
        Some(a) => match st.addresses.begin(&a.throttle_key(), now) {
            Ok(attempt) => Some(attempt),
            Err(l) => return Err(Refusal::Throttled(l.retry_after)),
        },
        None => None,
    };
    let account = match st.accounts.begin(email.as_str(), now) {
        Ok(attempt) => attempt,
        Err(l) => return Err(Refusal::Throttled(l.retry_after)),
    };
    let user = st
        .api
        .store
        .find_user_by_email(&email)
        .await
        .map_err(ApiError::from)?;
    let hash = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let plain = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify(&plain, &hash))
        .await
        .unwrap_or(false);
    let (user, known) = match user {
        Some(u) if matches && !u.disabled => (Some(u), None),
        other => (None, other),
    };
    let Some(user) = user else {
        let f = account.failed(Instant::now());
        let by_address = address.map(|a| a.failed(Instant::now()));
        failed(&st.api, client, f, by_address, known.as_ref()).await;
        return Err(ApiError::SignInFailed.into());
    };
    // The password was right; a second factor asks for its code too.
    let user = match user.second_factor.clone().filter(|f| f.confirmed) {
        None => user,
        Some(factor) => {
            let Some(code) = code else {
                account.finished();
                if let Some(a) = address {
                    a.finished();
                }
                return Err(ApiError::SecondFactorRequired.into());
            };
            let unix = crate::second_factor::unix(&st.api);
            let Some(step) = crate::second_factor::check(&factor, code, unix)? else {
                let f = account.failed(Instant::now());
                let by_address = address.map(|a| a.failed(Instant::now()));
                failed(&st.api, client, f, by_address, Some(&user)).await;
                return Err(ApiError::SignInFailed.into());
            };
            // The code is used: written before the session, so a copy of
            // it signs nobody else in (a concurrent use loses the write).
            let mut user = user;
            let expected = user.version;
            if let Some(f) = user.second_factor.as_mut() {
                f.last_step = step;
            }
            user.version = expected + 1;
            st.api
                .store
                .put_user(&user, expected)
                .await
                .map_err(|e| match e {
                    csms_kernel::ports::StoreError::Conflict(_) => ApiError::SignInFailed,
                    e => e.into(),
                })?;
            user
        }
    };
    account.succeeded();
    if let Some(a) = address {
        a.finished();
    }
    Ok(user)
}

/// After a failed sign-in: a run of them for an account (one that exists)
/// or from an address raises an alarm, once per run.
async fn failed(
    st: &ApiState,
    client: Option<&ClientAddr>,
    by_account: Failure,
    by_address: Option<Failure>,
    known: Option<&User>,
) {
    if by_account.repeated() {
        tracing::warn!(
            failures = by_account.failures,
            "repeated failed sign-ins for one account"
        );
        // A guessed account is told to its organisations' people on duty
        // (an unknown address has nobody to tell but the log).
        if let Some(user) = known {
            let from = client.map(|a| a.0.to_string());
            for org in user.memberships.iter().map(|m| &m.org_id) {
                let alarm = sign_in_alarm(
                    org,
                    user,
                    by_account.failures,
                    from.as_deref(),
                    st.clock.now(),
                );
                raise(st, alarm).await;
            }
        }
    }
    if let (Some(f), Some(a)) = (by_address, client) {
        if f.repeated() {
            raise(
                st,
                address_alarm(&a.0.to_string(), f.failures, st.clock.now()),
            )
            .await;
        }
    }
}

/// Alarm kind of an account whose password is being guessed.
pub const SIGN_IN_ALARM_KIND: &str = "signInFailures";

fn sign_in_alarm(
    org: &csms_domain::OrgId,
    user: &User,
    failures: u32,
    from: Option<&str>,
    now: csms_domain::Timestamp,
) -> Alarm {
    Alarm {
        // Per organisation: every organisation of the person is told.
        id: format!("sign-in-failures:{org}:{}", user.id),
        org_id: org.clone(),
        kind: SIGN_IN_ALARM_KIND.to_owned(),
        severity: Severity::Warning,
        title: Some(format!("Repeated failed sign-ins for {}", user.email)),
        message: format!(
            "{} wrong passwords or codes in a row for {} ({}); further attempts are throttled",
            failures, user.email, user.name
        ),
        details: json!({"userId": user.id.as_str(), "failures": failures, "lastSource": from}),
        action: Some(
            "Ask the person whether it was them; if not, have them choose a new password (POST /auth/password-reset) and add a second factor".to_owned(),
        ),
        raised_at: now,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// One client address failing sign-ins for many accounts: the platform's.
fn address_alarm(address: &str, failures: u32, now: csms_domain::Timestamp) -> Alarm {
    Alarm {
        id: format!("sign-in-failures-from:{address}"),
        org_id: csms_domain::OrgId::default_org(),
        kind: SIGN_IN_ALARM_KIND.to_owned(),
        severity: Severity::Warning,
        title: Some(format!("Repeated failed sign-ins from {address}")),
        message: format!(
            "{failures} failed sign-ins in a row from {address}; further attempts from it are throttled"
        ),
        details: json!({"source": address, "failures": failures}),
        action: Some("If the address is not one of yours, block it in front of the API (WAF, firewall)".to_owned()),
        raised_at: now,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// Raises `alarm`; when it opened (not a repeat) it is published (webhooks,
/// the people on duty). A failure is logged: the sign-in's answer stands.
async fn raise(st: &ApiState, alarm: Alarm) {
    let raised =
        csms_kernel::events::raise_alarm(&*st.store, &*st.events, &alarm, st.clock.now()).await;
    if let Err(e) = raised {
        tracing::warn!(alarm = %alarm.id, error = %e, "could not raise a sign-in alarm");
    }
}

/// A new session for `user`: the answer with the person and the CSRF
/// token, and the cookie (sign-in, an accepted invitation).
pub(crate) async fn start_session(st: &ApiState, user: &User) -> Result<Response, ApiError> {
    let (session, cookie) = new_session(st, user).await?;
    let mut resp = Json(signed_in_json(user, &session)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// A new session for `user`, stored, and the `Set-Cookie` value that
/// carries its secret (the API's sign-in and the portal's).
pub async fn new_session(
    st: &ApiState,
    user: &User,
) -> Result<(UserSession, HeaderValue), ApiError> {
    let secret = random_token();
    let session = UserSession::new(
        auth::secret_hash(&secret),
        user.id.clone(),
        random_token(),
        st.clock.now(),
    );
    st.store.create_user_session(&session).await?;
    let cookie = cookie(
        &secret,
        UserSession::ABSOLUTE.num_seconds(),
        st.secure_cookies,
    );
    Ok((session, cookie))
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie(st: &ApiState) -> HeaderValue {
    cookie("", 0, st.secure_cookies)
}

#[utoipa::path(get, path = "/auth/me", operation_id = "getMe", tag = "auth", summary = "The signed-in person, their memberships and the CSRF token", responses((status = 200, body = SignedIn), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody)), security(()))]
pub async fn me(State(st): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let (session, user) = signed_in(&st, &headers).await?;
    Ok(Json(signed_in_json(&user, &session)))
}

fn signed_out(st: &ApiState) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(st));
    resp
}

#[utoipa::path(post, path = "/auth/sign-out", operation_id = "signOut", tag = "auth", summary = "End this session (needs X-CSRF-Token)", responses((status = 204, description = "Signed out; the cookie is cleared"), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody), (status = 403, description = "X-CSRF-Token missing or wrong", body = ErrorBody)), security(()))]
pub async fn sign_out(
    State(st): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (session, _) = signed_in(&st, &headers).await?;
    auth::check_csrf(&Method::POST, &headers, &session)?;
    st.store.delete_user_session(&session.id_hash).await?;
    Ok(signed_out(&st))
}

#[utoipa::path(post, path = "/auth/sign-out-everywhere", operation_id = "signOutEverywhere", tag = "auth", summary = "End every session of the signed-in person (needs X-CSRF-Token)", responses((status = 204, description = "Signed out everywhere; the cookie is cleared"), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody), (status = 403, description = "X-CSRF-Token missing or wrong", body = ErrorBody)), security(()))]
pub async fn sign_out_everywhere(
    State(st): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (session, user) = signed_in(&st, &headers).await?;
    auth::check_csrf(&Method::POST, &headers, &session)?;
    st.store.delete_user_sessions(&user.id).await?;
    Ok(signed_out(&st))
}
