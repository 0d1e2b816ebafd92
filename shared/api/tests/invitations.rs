//! Invitations and password resets: the mails the API sends (read back
//! from the outbox, as a person would read their inbox), the links in
//! them used once, and everything a link cannot do.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::TimeZone;
use csms_api::{router, Secret};
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{call_json, person_json, ManualClock};
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    app: axum::Router,
}

fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
    ));
    let app = support::app_with(store.clone(), KEY, clock.clone(), None);
    World { store, clock, app }
}

/// A request without any credential (the `/auth/…` link routes): status,
/// headers and JSON.
async fn public(app: &axum::Router, uri: &str, body: Value) -> (StatusCode, HeaderMap, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1{uri}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A link route's refusal: `status`, with a message holding `words`.
async fn refused(app: &axum::Router, uri: &str, body: Value, status: StatusCode, words: &str) {
    let (got, _, answer) = public(app, uri, body).await;
    assert_eq!(got, status, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{message}");
}

/// Undoes quoted-printable (soft line breaks and `=XX`), enough to read a
/// link out of a mail body.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The newest mail in the outbox: its listing entry and its decoded text.
async fn newest_mail(app: &axum::Router) -> (Value, String) {
    let (status, list) = call_json(app, "GET", "/outbox?limit=1", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let entry = list["items"][0].clone();
    assert!(entry.is_object(), "a mail was sent: {list}");
    let req = Request::builder()
        .uri(format!("/api/v1/outbox/{}", entry["id"].as_str().unwrap()))
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "message/rfc822");
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (entry, unquote(&String::from_utf8_lossy(&bytes)))
}

async fn mail_count(app: &axum::Router) -> usize {
    let (_, list) = call_json(app, "GET", "/outbox", KEY, None).await;
    list["items"].as_array().unwrap().len()
}

/// The `token` of the link under `path` in a mail.
fn token_in(mail: &str, path: &str) -> String {
    let start = format!("https://csms.example.test{path}?token=");
    let at = mail
        .find(&start)
        .unwrap_or_else(|| panic!("no {start} in {mail}"));
    mail[at + start.len()..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

async fn invite(w: &World, body: Value) -> (StatusCode, Value) {
    call_json(&w.app, "POST", "/invitations", KEY, Some(body.to_string())).await
}

async fn new_person(w: &World, email: &str, password: &str, role: &str) {
    let (status, body) = call_json(
        &w.app,
        "POST",
        "/users",
        KEY,
        Some(
            json!({"email": email, "name": "Known", "password": password, "role": role})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn an_invited_address_becomes_a_member_signed_in_once() {
    let w = world();
    let (status, made) = invite(
        &w,
        json!({"email": "Eva.Lind@Example.se", "role": "driver", "name": "Eva Lind", "language": "sv"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["email"], "eva.lind@example.se");
    assert_eq!(made["status"], "pending");
    assert_eq!(made["expiresAt"], "2026-12-14T09:00:00.000Z");
    assert!(
        !made.to_string().contains("token"),
        "never the link: {made}"
    );

    let (entry, mail) = newest_mail(&w.app).await;
    assert_eq!(entry["to"], "eva.lind@example.se");
    assert_eq!(entry["kind"], "invitation");
    assert!(mail.contains("som förare"), "{mail}");
    assert!(mail.contains("2026-12-14 10:00"), "Swedish time: {mail}");
    let token = token_in(&mail, "/invitation");

    let (status, _, offer) =
        public(&w.app, "/auth/invitations/inspect", json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{offer}");
    assert_eq!(offer["role"], "driver");
    assert_eq!(offer["hasAccount"], false);
    assert_eq!(offer["organisationId"], "default");

    // A new person needs a password that is one.
    refused(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "short"}),
        StatusCode::BAD_REQUEST,
        "password:",
    )
    .await;
    let (status, headers, signed_in) = public(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "eva-lösenord-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"]["name"], "Eva Lind");
    assert_eq!(signed_in["user"]["language"], "sv");
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("csms_session="));
    // The organisation's audit log says who joined, without the password.
    let (_, log) = call_json(&w.app, "GET", "/audit-log?limit=1", KEY, None).await;
    let entry = &log["items"][0];
    assert_eq!(entry["operation"], "POST /auth/invitations/accept", "{log}");
    assert_eq!(
        entry["actor"],
        format!("user:{}", signed_in["user"]["id"].as_str().unwrap())
    );
    assert_eq!(entry["fields"], json!(["password", "token"]));
    // The person signs in with the password they chose, as a driver.
    let session = support::sign_in(&w.app, "eva.lind@example.se", "eva-lösenord-1").await;
    let (status, me) = person_json(
        &w.app,
        "GET",
        "/me/id-tokens",
        (&session.0, &session.1),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // Once only.
    let (status, _, again) = public(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "another-password"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["error"]["message"].as_str().unwrap().contains("used"),
        "{again}"
    );
    let (_, list) = call_json(&w.app, "GET", "/invitations", KEY, None).await;
    assert_eq!(list["items"][0]["status"], "accepted");
    assert_eq!(list["items"][0]["acceptedAt"], "2026-12-07T09:00:00.000Z");
    // Inviting a member again is refused.
    let (status, body) = invite(
        &w,
        json!({"email": "eva.lind@example.se", "role": "viewer"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn a_person_with_an_account_gets_the_role_without_a_new_password() {
    let w = world();
    support::organisation(&*w.store, &OrgId::parse("brf-b").unwrap()).await;
    // Anna belongs to brf-b; the default organisation invites her.
    let (status, body) = call_json(
        &w.app,
        "POST",
        "/users",
        KEY,
        Some(json!({"email": "anna@example.se", "name": "Anna", "password": "anna-password", "role": "driver"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = invite(
        &w,
        json!({"email": "anna@example.se", "role": "operator", "language": "en"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a member of this organisation already"
    );

    let b_admin = support::partner_key(
        &*w.store,
        &OrgId::parse("brf-b").unwrap(),
        vec![Scope::Admin],
    )
    .await;
    let (status, made) = call_json(
        &w.app,
        "POST",
        "/invitations",
        &b_admin,
        Some(json!({"email": "anna@example.se", "role": "viewer", "language": "en"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, mail) = newest_mail(&w.app).await;
    assert!(mail.contains("as viewer"), "{mail}");
    let token = token_in(&mail, "/invitation");
    let (_, _, offer) = public(&w.app, "/auth/invitations/inspect", json!({"token": token})).await;
    assert_eq!(offer["hasAccount"], true);
    assert_eq!(offer["organisationId"], "brf-b");
    refused(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "new-password-1"}),
        StatusCode::BAD_REQUEST,
        "password:",
    )
    .await;
    let (status, _, signed_in) =
        public(&w.app, "/auth/invitations/accept", json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let roles: Vec<(String, String)> = signed_in["user"]["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["organisationId"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("default".to_owned(), "driver".to_owned()),
            ("brf-b".to_owned(), "viewer".to_owned())
        ]
    );
    // Her password is the one she had.
    support::sign_in(&w.app, "anna@example.se", "anna-password").await;
    // The invitation is brf-b's: the default organisation does not see it.
    let id = made["id"].as_str().unwrap();
    let (status, _) = call_json(&w.app, "GET", &format!("/invitations/{id}"), KEY, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, seen) =
        call_json(&w.app, "GET", &format!("/invitations/{id}"), &b_admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["status"], "accepted");
}

#[tokio::test]
async fn a_link_that_is_wrong_revoked_or_expired_opens_nothing() {
    let w = world();
    invite(
        &w,
        json!({"email": "a@example.se", "role": "driver", "name": "A"}),
    )
    .await;
    let (_, mail) = newest_mail(&w.app).await;
    let token = token_in(&mail, "/invitation");
    let (id, secret) = token.split_once('.').unwrap();
    let tampered = format!("{id}.{}", secret.chars().rev().collect::<String>());
    for bad in [
        "",
        "nonsense",
        "lnk_01JEQ3V3N7Q4G8W1Z5X2M9K0AB.x",
        tampered.as_str(),
    ] {
        let (status, _, body) =
            public(&w.app, "/auth/invitations/inspect", json!({"token": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(
            body["error"]["message"], "token: not a valid link; ask for a new one",
            "{bad}: one answer for every wrong token"
        );
    }
    let (status, _, body) = public(
        &w.app,
        "/auth/invitations/inspect",
        json!({"token": token, "extra": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Revoked: the link is dead, and a second revoke says so.
    let (status, revoked) =
        call_json(&w.app, "DELETE", &format!("/invitations/{id}"), KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revokedBy"], "admin");
    let (status, _) = call_json(&w.app, "DELETE", &format!("/invitations/{id}"), KEY, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    refused(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "a-password-1"}),
        StatusCode::CONFLICT,
        "revoked",
    )
    .await;

    // Expired after a week.
    invite(
        &w,
        json!({"email": "b@example.se", "role": "driver", "name": "B"}),
    )
    .await;
    let (_, mail) = newest_mail(&w.app).await;
    let token = token_in(&mail, "/invitation");
    w.clock.advance(7 * 86_400);
    refused(
        &w.app,
        "/auth/invitations/accept",
        json!({"token": token, "password": "b-password-1"}),
        StatusCode::CONFLICT,
        "expired",
    )
    .await;
    let (_, list) = call_json(&w.app, "GET", "/invitations", KEY, None).await;
    let states: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["expired", "revoked"]);
    assert!(w
        .store
        .find_user_by_email(&csms_domain::user::UserEmail::parse("b@example.se").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn invitations_are_checked_before_anything_is_sent() {
    let w = world();
    for (body, field) in [
        (json!({"email": "nope", "role": "driver"}), "email:"),
        (json!({"email": "a@example.se", "role": "king"}), "role:"),
        (
            json!({"email": "a@example.se", "role": "driver", "language": "de"}),
            "language:",
        ),
        (json!({"email": "a@example.se"}), ""),
    ] {
        let (status, answer) = invite(&w, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    let org_admin =
        support::partner_key(&*w.store, &OrgId::default_org(), vec![Scope::Admin]).await;
    let (status, answer) = call_json(
        &w.app,
        "POST",
        "/invitations",
        &org_admin,
        Some(json!({"email": "a@example.se", "role": "platformAdmin"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // Reading keys may not invite, and the outbox is the platform admin's.
    let reader = support::partner_key(&*w.store, &OrgId::default_org(), vec![Scope::Read]).await;
    let (status, _) = call_json(
        &w.app,
        "POST",
        "/invitations",
        &reader,
        Some(json!({"email": "a@example.se", "role": "driver"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call_json(&w.app, "GET", "/outbox", &org_admin, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(mail_count(&w.app).await, 0, "nothing was sent");
}

#[tokio::test]
async fn without_a_public_address_nothing_is_half_done() {
    let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
    let mut settings = Settings::from_lookup(Runtime::Aws, &|_| None).unwrap();
    settings.admin_key = Some(Secret::new(KEY));
    let wiring = Wiring::new(
        settings,
        store.clone(),
        Arc::new(csms_kernel::ports::SystemClock),
        NoAdapters,
    );
    let app = router(wiring.api_state().unwrap());
    let (status, body) = call_json(
        &app,
        "POST",
        "/invitations",
        KEY,
        Some(json!({"email": "a@example.se", "role": "driver"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "not_configured");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("CSMS_PUBLIC_URL"));
    let (status, _, body) = public(
        &app,
        "/auth/password-reset",
        json!({"email": "a@example.se"}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (_, list) = call_json(&app, "GET", "/invitations", KEY, None).await;
    assert_eq!(list["items"], json!([]), "no invitation was stored");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let w = world();
    new_person(&w, "olle@example.se", "old-password-1", "viewer").await;
    let before = support::sign_in(&w.app, "olle@example.se", "old-password-1").await;

    // Unknown and known addresses get the same answer; only one gets mail.
    let (status, _, unknown) = public(
        &w.app,
        "/auth/password-reset",
        json!({"email": "nobody@example.se"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(mail_count(&w.app).await, 0);
    let (status, _, known) = public(
        &w.app,
        "/auth/password-reset",
        json!({"email": "OLLE@example.se"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(known, unknown);
    let (entry, mail) = newest_mail(&w.app).await;
    assert_eq!(entry["kind"], "passwordReset");
    assert!(
        mail.contains("Välj ett nytt lösenord") || entry["subject"] == "Välj ett nytt lösenord",
        "{mail}"
    );
    let first = token_in(&mail, "/reset-password");

    // A second link; the first is used, which ends the second too.
    public(
        &w.app,
        "/auth/password-reset",
        json!({"email": "olle@example.se"}),
    )
    .await;
    let (_, mail) = newest_mail(&w.app).await;
    let second = token_in(&mail, "/reset-password");
    assert_ne!(first, second);

    refused(
        &w.app,
        "/auth/password-reset/complete",
        json!({"token": first, "password": "x"}),
        StatusCode::BAD_REQUEST,
        "password:",
    )
    .await;
    let (status, _, body) = public(
        &w.app,
        "/auth/password-reset/complete",
        json!({"token": first, "password": "new-password-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Signed out everywhere; the old password is gone, the new one works.
    let (status, _) =
        person_json(&w.app, "GET", "/me/id-tokens", (&before.0, &before.1), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = public(
        &w.app,
        "/auth/sign-in",
        json!({"email": "olle@example.se", "password": "old-password-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    support::sign_in(&w.app, "olle@example.se", "new-password-1").await;

    for (token, why) in [(&first, "used"), (&second, "password changed")] {
        let (status, _, body) = public(
            &w.app,
            "/auth/password-reset/complete",
            json!({"token": token, "password": "third-password-1"}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{why}: {body}");
    }
    // A reset link is no invitation, and the reverse.
    let (status, _, _) = public(
        &w.app,
        "/auth/invitations/inspect",
        json!({"token": second}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An hour later a fresh link has expired.
    public(
        &w.app,
        "/auth/password-reset",
        json!({"email": "olle@example.se"}),
    )
    .await;
    let (_, mail) = newest_mail(&w.app).await;
    let late = token_in(&mail, "/reset-password");
    w.clock.advance(3600);
    refused(
        &w.app,
        "/auth/password-reset/complete",
        json!({"token": late, "password": "third-password-1"}),
        StatusCode::CONFLICT,
        "expired",
    )
    .await;
}

#[tokio::test]
async fn reset_mails_are_limited_per_address() {
    let w = world();
    new_person(&w, "flood@example.se", "flood-password-1", "viewer").await;
    for _ in 0..3 {
        let (status, _, _) = public(
            &w.app,
            "/auth/password-reset",
            json!({"email": "flood@example.se"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, headers, body) = public(
        &w.app,
        "/auth/password-reset",
        json!({"email": "flood@example.se"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(mail_count(&w.app).await, 3);
    refused(
        &w.app,
        "/auth/password-reset",
        json!({"email": "not an address"}),
        StatusCode::BAD_REQUEST,
        "email:",
    )
    .await;
}
