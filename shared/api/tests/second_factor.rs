//! A second factor from the outside: set up, confirmed with a code, asked
//! for at sign-in, each code used once, turned off with a code.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeZone;
use csms_kernel::ports::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{call_json, person_json, ManualClock};
use totp_rs::{Algorithm, Secret, TOTP};
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn sign_in(app: &axum::Router, body: Value) -> (StatusCode, Value, Option<(String, String)>) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/sign-in")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("csms_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let session = cookie.map(|c| (c, json["csrfToken"].as_str().unwrap_or_default().to_owned()));
    (status, json, session)
}

fn code(secret: &str, clock: &ManualClock) -> String {
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret.to_owned()).to_bytes().unwrap(),
    )
    .unwrap();
    totp.generate(u64::try_from(csms_kernel::ports::Clock::now(clock).timestamp()).unwrap())
}

#[tokio::test]
async fn a_second_factor_is_confirmed_asked_for_used_once_and_turned_off() {
    let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 10).unwrap(),
    ));
    let app = support::app_with(store, KEY, clock.clone(), None);
    let (status, _) = call_json(
        &app,
        "POST",
        "/users",
        KEY,
        Some(json!({"email": "admin@example.se", "name": "Admin", "password": "admin-password-1", "role": "orgAdmin"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let password = json!({"email": "admin@example.se", "password": "admin-password-1"});
    let (_, _, session) = sign_in(&app, password.clone()).await;
    let (cookie, csrf) = session.unwrap();
    let me = (cookie.as_str(), csrf.as_str());

    let (status, setup) = person_json(&app, "POST", "/auth/second-factor", me, None).await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauthUri"].as_str().unwrap().starts_with(&format!(
        "otpauth://totp/CSMS:admin@example.se?secret={secret}&issuer=CSMS"
    )));
    // Not confirmed yet: the password alone still signs in.
    assert_eq!(sign_in(&app, password.clone()).await.0, StatusCode::OK);

    let (status, body) = person_json(
        &app,
        "POST",
        "/auth/second-factor/confirm",
        me,
        Some(json!({"code": "000000"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("code:"));
    let (status, body) = person_json(
        &app,
        "POST",
        "/auth/second-factor/confirm",
        me,
        Some(json!({"code": code(&secret, &clock)}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, who) = person_json(&app, "GET", "/auth/me", me, None).await;
    assert_eq!(who["user"]["secondFactor"], true);

    // Now the password alone is not enough, and says what is missing.
    let (status, body, session) = sign_in(&app, password.clone()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("second_factor_required")),
        "{body}"
    );
    assert!(session.is_none());
    let with = |code: String| json!({"email": "admin@example.se", "password": "admin-password-1", "code": code});
    let (status, body, _) = sign_in(&app, with("123456".into())).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    // The confirming code was used: the next step's code signs in, once.
    clock.advance(30);
    let fresh = code(&secret, &clock);
    let (status, body, session) = sign_in(&app, with(fresh.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(session.is_some());
    let (status, _, _) = sign_in(&app, with(fresh)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");
    // A wrong password with a right code is still wrong.
    clock.advance(30);
    let (status, _, _) = sign_in(&app, json!({"email": "admin@example.se", "password": "wrong-password-1", "code": code(&secret, &clock)})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = person_json(&app, "POST", "/auth/second-factor", me, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "on already");
    let (status, _) = person_json(
        &app,
        "POST",
        "/auth/second-factor/disable",
        me,
        Some(json!({"code": "000000"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = person_json(
        &app,
        "POST",
        "/auth/second-factor/disable",
        me,
        Some(json!({"code": code(&secret, &clock)}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(sign_in(&app, password).await.0, StatusCode::OK);
    // Without the CSRF token nothing changes.
    let (status, _) = person_json(&app, "POST", "/auth/second-factor", (me.0, "wrong"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
