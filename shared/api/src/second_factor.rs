//! A second factor for sign-in: codes from an authenticator app (TOTP,
//! RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, via `totp-rs`).
//!
//! A signed-in person sets one up (`POST /auth/second-factor`: a new
//! secret and its `otpauth://` address for the app), proves the app holds
//! it with a code (`POST /auth/second-factor/confirm`), and from then on
//! signs in with a `code` besides the password. `POST
//! /auth/second-factor/disable` with a current code removes it. A code is
//! accepted for the step before, the current and the next one (a phone's
//! clock may be half a minute off) and only once: the step it was used for
//! is kept, and a code of that step or an earlier one is refused.

use crate::auth::{self, signed_in};
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::people::save_user;
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use csms_domain::user::SecondFactor;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};
use utoipa::ToSchema;

const STEP_SECS: u64 = 30;
const ISSUER: &str = "CSMS";

fn generator(secret: &str) -> Result<TOTP, ApiError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| ApiError::Internal(format!("a stored second-factor secret: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, bytes)
        .map_err(|e| ApiError::Internal(format!("a stored second-factor secret: {e:?}")))
}

/// The step `code` is right for, near `unix` and after `factor`'s last
/// use; `None` for a wrong, reused or malformed code.
pub(crate) fn check(factor: &SecondFactor, code: &str, unix: u64) -> Result<Option<u64>, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = generator(&factor.secret)?;
    let now = unix / STEP_SECS;
    for step in [now.saturating_sub(1), now, now + 1] {
        if step > factor.last_step
            && auth::constant_time_eq(totp.generate(step * STEP_SECS).as_bytes(), code.as_bytes())
        {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// Now, in whole seconds since 1970: what codes are computed from.
pub(crate) fn unix(st: &ApiState) -> u64 {
    u64::try_from(st.clock.now().timestamp()).unwrap_or(0)
}

/// A new second factor, to add to the authenticator app.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecondFactorSetup {
    /// The shared secret (base32), for typing into the app.
    pub secret: String,
    /// `otpauth://totp/…`: what the app reads from a QR code.
    pub otpauth_uri: String,
}

#[utoipa::path(post, path = "/auth/second-factor", operation_id = "setUpSecondFactor", tag = "auth", summary = "Start setting up an authenticator app as a second factor (needs X-CSRF-Token); confirm it with a code", responses((status = 200, body = SecondFactorSetup), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody), (status = 403, description = "X-CSRF-Token missing or wrong", body = ErrorBody), (status = 409, description = "A second factor is on already: disable it first", body = ErrorBody)), security(()))]
pub async fn set_up(
    State(st): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (session, mut user) = signed_in(&st, &headers).await?;
    auth::check_csrf(&Method::POST, &headers, &session)?;
    if user.second_factor.as_ref().is_some_and(|f| f.confirmed) {
        return Err(ApiError::Conflict(
            "a second factor is on already; disable it first".into(),
        ));
    }
    let mut raw = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut raw);
    let Secret::Encoded(secret) = Secret::Raw(raw.to_vec()).to_encoded() else {
        return Err(ApiError::Internal("base32 of a secret".into()));
    };
    let uri = format!(
        "otpauth://totp/{ISSUER}:{email}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECS}",
        email = user.email
    );
    user.second_factor = Some(SecondFactor {
        secret: secret.clone(),
        confirmed: false,
        last_step: 0,
    });
    save_user(&st, user, "try again").await?;
    Ok(Json(json!({"secret": secret, "otpauthUri": uri})))
}

/// A code from the app.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CodeInput {
    #[schema(example = "492039")]
    code: String,
}

#[utoipa::path(post, path = "/auth/second-factor/confirm", operation_id = "confirmSecondFactor", tag = "auth", summary = "Confirm the second factor being set up with a code from the app: from now on sign-in asks for a code (needs X-CSRF-Token)", request_body = CodeInput, responses((status = 204, description = "On"), (status = 400, description = "The code is wrong, used or not 6 digits", body = ErrorBody), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody), (status = 403, description = "X-CSRF-Token missing or wrong", body = ErrorBody), (status = 409, description = "Nothing is being set up", body = ErrorBody)), security(()))]
pub async fn confirm(
    State(st): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: CodeInput = json_body(&body)?;
    let (session, mut user) = signed_in(&st, &headers).await?;
    auth::check_csrf(&Method::POST, &headers, &session)?;
    let Some(factor) = user.second_factor.as_mut().filter(|f| !f.confirmed) else {
        return Err(ApiError::Conflict(
            "no second factor is being set up; start with POST /auth/second-factor".into(),
        ));
    };
    let step = check(factor, &req.code, unix(&st))?.ok_or_else(|| {
        ApiError::BadRequest("code: wrong or used; enter the app's current code".into())
    })?;
    factor.confirmed = true;
    factor.last_step = step;
    save_user(&st, user, "try again").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/auth/second-factor/disable", operation_id = "disableSecondFactor", tag = "auth", summary = "Turn the second factor off with a current code (needs X-CSRF-Token)", request_body = CodeInput, responses((status = 204, description = "Off"), (status = 400, description = "The code is wrong, used or not 6 digits", body = ErrorBody), (status = 401, description = "Not signed in, or the session has ended", body = ErrorBody), (status = 403, description = "X-CSRF-Token missing or wrong", body = ErrorBody), (status = 409, description = "No second factor is on", body = ErrorBody)), security(()))]
pub async fn disable(
    State(st): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: CodeInput = json_body(&body)?;
    let (session, mut user) = signed_in(&st, &headers).await?;
    auth::check_csrf(&Method::POST, &headers, &session)?;
    let Some(factor) = user.second_factor.as_ref().filter(|f| f.confirmed) else {
        return Err(ApiError::Conflict("no second factor is on".into()));
    };
    if check(factor, &req.code, unix(&st))?.is_none() {
        return Err(ApiError::BadRequest(
            "code: wrong or used; enter the app's current code".into(),
        ));
    }
    user.second_factor = None;
    save_user(&st, user, "try again").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor() -> SecondFactor {
        SecondFactor {
            // RFC 6238's SHA-1 test key, "12345678901234567890", in base32.
            secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
            confirmed: true,
            last_step: 0,
        }
    }

    #[test]
    fn the_rfc_6238_test_vector_checks_once_within_a_step_of_now() {
        // RFC 6238 appendix B: at 59 s the 8-digit code is 94287082, so the
        // 6-digit one is 287082 (step 1).
        let f = factor();
        assert_eq!(check(&f, "287082", 59).unwrap(), Some(1));
        assert_eq!(
            check(&f, " 287082 ", 59 + 30).unwrap(),
            Some(1),
            "the step before"
        );
        assert_eq!(check(&f, "287082", 59 + 90).unwrap(), None, "too old");
        let used = SecondFactor {
            last_step: 1,
            ..f.clone()
        };
        assert_eq!(check(&used, "287082", 59).unwrap(), None, "used once");
        for bad in ["", "28708", "2870822", "28708a"] {
            assert_eq!(check(&f, bad, 59).unwrap(), None, "{bad:?}");
        }
    }
}
