//! People and sign-in: `/users` and `/auth/…`, and the API with a session
//! cookie instead of a key (CSRF, roles as scopes, the organisation chosen
//! with `X-Organisation`, expiry, sign-out, disabled people, throttling).

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use csms_domain::user::UserEmail;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use support::ManualClock;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

struct Answer {
    status: StatusCode,
    set_cookie: Option<String>,
    body: Value,
}

/// Who calls: the admin key, a partner key, or a signed-in person (with or
/// without the CSRF token).
#[derive(Clone)]
enum As {
    Key(String),
    Person {
        cookie: String,
        csrf: Option<String>,
    },
    Nobody,
}

impl As {
    fn admin() -> Self {
        As::Key(KEY.into())
    }

    fn without_csrf(&self) -> Self {
        match self {
            As::Person { cookie, .. } => As::Person {
                cookie: cookie.clone(),
                csrf: None,
            },
            other => other.clone(),
        }
    }
}

async fn call(
    app: &axum::Router,
    who: &As,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"));
    match who {
        As::Key(k) => req = req.header("authorization", format!("Bearer {k}")),
        As::Person { cookie, csrf } => {
            req = req.header("cookie", format!("theme=dark; csms_session={cookie}"));
            if let Some(t) = csrf {
                req = req.header("x-csrf-token", t);
            }
        }
        As::Nobody => {}
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        set_cookie,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn message(a: &Answer) -> String {
    a.body["error"]["message"].as_str().unwrap_or("").to_owned()
}

/// Adds a person with `role` in `org` through the platform admin.
async fn person(app: &axum::Router, org: &str, email: &str, role: &str) -> Value {
    let a = call(
        app,
        &As::admin(),
        "POST",
        "/users",
        &[("x-organisation", org)],
        Some(json!({"email": email, "name": "Someone", "password": "password-123", "role": role})),
    )
    .await;
    assert!(a.status.is_success(), "{email}: {} {}", a.status, a.body);
    a.body
}

/// Adds a person who has an account to `org` with `role` (the platform
/// admin's).
async fn membership(app: &axum::Router, org: &str, email: &str, role: &str) {
    let a = call(
        app,
        &As::admin(),
        "POST",
        "/users",
        &[("x-organisation", org)],
        Some(json!({"email": email, "role": role})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{email}: {}", a.body);
}

async fn sign_in(app: &axum::Router, email: &str) -> As {
    let (cookie, csrf) = support::sign_in(app, email, "password-123").await;
    As::Person {
        cookie,
        csrf: Some(csrf),
    }
}

fn setup() -> (Arc<dyn Store>, axum::Router) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    (store, app)
}

#[tokio::test]
async fn signing_in_sets_the_cookie_and_answers_the_person_with_a_csrf_token() {
    let (_, app) = setup();
    person(&app, "default", "Anna.Berg@Example.SE", "operator").await;
    let a = call(
        &app,
        &As::Nobody,
        "POST",
        "/auth/sign-in",
        &[],
        Some(json!({"email": "anna.berg@example.se", "password": "password-123"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let cookie = a.set_cookie.unwrap();
    assert!(cookie.starts_with("csms_session="), "{cookie}");
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=604800",
        "Secure",
    ] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let secret = cookie["csms_session=".len()..].split(';').next().unwrap();
    assert!(secret.len() >= 43, "256 bits: {secret}");
    assert_eq!(a.body["user"]["email"], "anna.berg@example.se");
    assert_eq!(
        a.body["user"]["memberships"],
        json!([{"organisationId": "default", "role": "operator"}])
    );
    assert!(a.body["user"].get("passwordHash").is_none());
    let csrf = a.body["csrfToken"].as_str().unwrap().to_owned();

    let me_as = As::Person {
        cookie: secret.to_owned(),
        csrf: None,
    };
    let me = call(&app, &me_as, "GET", "/auth/me", &[], None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["email"], "anna.berg@example.se");
    assert_eq!(me.body["csrfToken"], csrf);
    let nobody = call(&app, &As::Nobody, "GET", "/auth/me", &[], None).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let forged = As::Person {
        cookie: "x".repeat(43),
        csrf: None,
    };
    let forged = call(&app, &forged, "GET", "/stations", &[], None).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cookie_is_not_secure_when_the_setting_is_off() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app_with(
        store,
        KEY,
        Arc::new(csms_kernel::ports::SystemClock),
        Some(false),
    );
    person(&app, "default", "local@example.se", "viewer").await;
    let a = call(
        &app,
        &As::Nobody,
        "POST",
        "/auth/sign-in",
        &[],
        Some(json!({"email": "local@example.se", "password": "password-123"})),
    )
    .await;
    assert!(!a.set_cookie.unwrap().contains("Secure"));
}

#[tokio::test]
async fn a_wrong_password_an_unknown_address_and_a_disabled_person_get_the_same_401() {
    let (_, app) = setup();
    let made = person(&app, "default", "anna@example.se", "viewer").await;
    person(&app, "default", "bo@example.se", "viewer").await;
    let mut answers = vec![];
    for (email, password) in [
        ("anna@example.se", "wrong-password"),
        ("nobody@example.se", "password-123"),
    ] {
        let a = call(
            &app,
            &As::Nobody,
            "POST",
            "/auth/sign-in",
            &[],
            Some(json!({"email": email, "password": password})),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.set_cookie.is_none());
        answers.push(a.body);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0]["error"]["message"],
        "wrong e-mail address or password"
    );

    // Disabled: the session dies, and sign-in is refused alike.
    let anna = sign_in(&app, "anna@example.se").await;
    let id = made["id"].as_str().unwrap();
    let off = call(
        &app,
        &As::admin(),
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["disabled"], true);
    let dead = call(&app, &anna, "GET", "/auth/me", &[], None).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED);
    let refused = call(
        &app,
        &As::Nobody,
        "POST",
        "/auth/sign-in",
        &[],
        Some(json!({"email": "anna@example.se", "password": "password-123"})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body, answers[0]);

    // Bad input names the field.
    for (body, field) in [
        (json!({"email": "anna", "password": "x"}), "email:"),
        (
            json!({"email": "anna@example.se", "password": ""}),
            "password:",
        ),
        (json!({"email": "anna@example.se"}), "password"),
    ] {
        let a = call(&app, &As::Nobody, "POST", "/auth/sign-in", &[], Some(body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(message(&a).contains(field), "{field}: {}", message(&a));
    }
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account() {
    let (_, app) = setup();
    person(&app, "default", "anna@example.se", "viewer").await;
    let attempt = |password: &'static str| {
        let app = app.clone();
        async move {
            call(
                &app,
                &As::Nobody,
                "POST",
                "/auth/sign-in",
                &[],
                Some(json!({"email": "ANNA@example.se", "password": password})),
            )
            .await
        }
    };
    let mut statuses = vec![];
    for _ in 0..8 {
        statuses.push(attempt("wrong-password").await.status);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let locked = attempt("password-123").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // The organisation's operators see the run as one alarm, with whose
    // account it is.
    let alarms = call(&app, &As::admin(), "GET", "/alarms", &[], None).await;
    let found: Vec<&serde_json::Value> = alarms.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "signInFailures")
        .collect();
    assert_eq!(found.len(), 1, "{}", alarms.body);
    assert!(found[0]["title"]
        .as_str()
        .unwrap()
        .contains("anna@example.se"));
}

#[tokio::test]
async fn with_the_cookie_every_state_changing_request_needs_the_csrf_token() {
    let (_, app) = setup();
    person(&app, "default", "admin@example.se", "orgAdmin").await;
    let admin = sign_in(&app, "admin@example.se").await;
    let station = json!({"id": "CP-1"});
    let missing = call(
        &app,
        &admin.without_csrf(),
        "POST",
        "/stations",
        &[],
        Some(station.clone()),
    )
    .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(
        message(&missing).starts_with("X-CSRF-Token"),
        "{}",
        message(&missing)
    );
    let wrong = As::Person {
        cookie: match &admin {
            As::Person { cookie, .. } => cookie.clone(),
            _ => unreachable!(),
        },
        csrf: Some("not-the-token".into()),
    };
    let refused = call(
        &app,
        &wrong,
        "POST",
        "/stations",
        &[],
        Some(station.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reads = call(&app, &admin.without_csrf(), "GET", "/stations", &[], None).await;
    assert_eq!(reads.status, StatusCode::OK, "a read needs no token");
    let made = call(&app, &admin, "POST", "/stations", &[], Some(station)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let out = call(
        &app,
        &admin.without_csrf(),
        "POST",
        "/auth/sign-out",
        &[],
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::FORBIDDEN, "signing out too");
}

#[tokio::test]
async fn roles_give_the_scopes_of_the_key_table() {
    let (_, app) = setup();
    call(
        &app,
        &As::admin(),
        "POST",
        "/stations",
        &[],
        Some(json!({"id": "CP-1"})),
    )
    .await;
    let cases = [
        ("orgAdmin", true, true, true),
        ("operator", true, true, false),
        ("accountant", true, false, false),
        ("viewer", true, false, false),
        ("driver", false, false, false),
    ];
    for (role, reads, commands, admin) in cases {
        let email = format!("{}@example.se", role.to_lowercase());
        person(&app, "default", &email, role).await;
        let who = sign_in(&app, &email).await;
        let read = call(&app, &who, "GET", "/stations", &[], None).await;
        assert_eq!(
            read.status.is_success(),
            reads,
            "{role} reads: {}",
            read.status
        );
        let command = call(
            &app,
            &who,
            "POST",
            "/stations/CP-1/commands",
            &[],
            Some(json!({"type": "clearCache"})),
        )
        .await;
        assert_eq!(
            command.status.is_success(),
            commands,
            "{role} commands: {} {}",
            command.status,
            command.body
        );
        let write = call(
            &app,
            &who,
            "PATCH",
            "/stations/CP-1",
            &[],
            Some(json!({"name": role})),
        )
        .await;
        assert_eq!(
            write.status.is_success(),
            admin,
            "{role} administers: {}",
            write.status
        );
        if !admin {
            assert_eq!(write.status, StatusCode::FORBIDDEN);
            assert!(message(&write).contains("lacks the"), "{}", message(&write));
        }
        let users = call(&app, &who, "GET", "/users", &[], None).await;
        assert_eq!(users.status.is_success(), admin, "{role} lists people");
        // Every role may read who they are.
        assert_eq!(
            call(&app, &who, "GET", "/auth/me", &[], None).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_person_acts_in_their_organisations_only() {
    let (store, app) = setup();
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    support::organisation(&*store, &OrgId::parse("org-c").unwrap()).await;
    call(
        &app,
        &As::admin(),
        "POST",
        "/stations",
        &[],
        Some(json!({"id": "CP-A"})),
    )
    .await;
    call(
        &app,
        &As::admin(),
        "POST",
        "/stations",
        &[("x-organisation", "org-c")],
        Some(json!({"id": "CP-C"})),
    )
    .await;
    person(&app, "org-b", "bea@example.se", "orgAdmin").await;
    // The platform admin adds Bea to C too (the second membership).
    membership(&app, "org-c", "bea@example.se", "viewer").await;
    let bea = sign_in(&app, "bea@example.se").await;
    let a_station = call(&app, &bea, "GET", "/stations/CP-A", &[], None).await;
    assert_eq!(
        a_station.status,
        StatusCode::NOT_FOUND,
        "A's station is not B's"
    );
    // The first membership by default; X-Organisation chooses another of hers.
    let own = call(&app, &bea, "GET", "/stations", &[], None).await;
    assert_eq!(own.body["items"], json!([]));
    let in_c = call(
        &app,
        &bea,
        "GET",
        "/stations/CP-C",
        &[("x-organisation", "org-c")],
        None,
    )
    .await;
    assert_eq!(in_c.status, StatusCode::OK, "{}", in_c.body);
    let write_c = call(
        &app,
        &bea,
        "PATCH",
        "/stations/CP-C",
        &[("x-organisation", "org-c")],
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(write_c.status, StatusCode::FORBIDDEN, "a viewer in C");
    let in_a = call(
        &app,
        &bea,
        "GET",
        "/stations",
        &[("x-organisation", "default")],
        None,
    )
    .await;
    assert_eq!(in_a.status, StatusCode::NOT_FOUND, "not one of hers");
    let me = call(&app, &bea, "GET", "/auth/me", &[], None).await;
    assert_eq!(me.body["user"]["memberships"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_organisations_admin_manages_its_people() {
    let (store, app) = setup();
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let b_person = person(&app, "org-b", "b@example.se", "viewer").await;
    person(&app, "default", "boss@example.se", "orgAdmin").await;
    let boss = sign_in(&app, "boss@example.se").await;

    let made = call(&app, &boss, "POST", "/users", &[], Some(json!({"email": "New@Example.se", "name": "New", "password": "password-123", "role": "viewer", "language": "en"}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["email"], "new@example.se");
    assert_eq!(made.body["role"], "viewer");
    assert_eq!(made.body["language"], "en");
    assert!(made.body["id"].as_str().unwrap().starts_with("usr_"));
    let id = made.body["id"].as_str().unwrap().to_owned();

    for (body, field, status) in [
        (
            json!({"email": "x", "name": "X", "password": "password-123", "role": "viewer"}),
            "email:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "name": "X", "password": "password-123", "role": "root"}),
            "role:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "name": "X", "password": "short", "role": "viewer"}),
            "password:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "name": "X", "password": "password-123", "role": "viewer", "language": "de"}),
            "language:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "password": "password-123", "role": "viewer"}),
            "name:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "name": "X", "role": "viewer"}),
            "password:",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "x@example.se", "name": "X", "password": "password-123", "role": "platformAdmin"}),
            "role:",
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"email": "new@example.se", "role": "viewer"}),
            "already a member",
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "b@example.se", "role": "viewer"}),
            "is taken",
            StatusCode::CONFLICT,
        ),
    ] {
        let a = call(&app, &boss, "POST", "/users", &[], Some(body)).await;
        assert_eq!(a.status, status, "{field}: {}", a.body);
        assert!(message(&a).contains(field), "{field}: {}", message(&a));
    }

    let listed = call(&app, &boss, "GET", "/users", &[], None).await;
    let emails: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(emails.contains(&"boss@example.se") && emails.contains(&"new@example.se"));
    let b_id = b_person["id"].as_str().unwrap();
    for method in ["GET", "PATCH", "DELETE"] {
        let body = (method == "PATCH").then(|| json!({"role": "orgAdmin"}));
        let a = call(&app, &boss, method, &format!("/users/{b_id}"), &[], body).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{method} B's person");
    }
    let odd = call(&app, &boss, "GET", "/users/not-an-id", &[], None).await;
    assert_eq!(odd.status, StatusCode::NOT_FOUND);

    let changed = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"role": "operator", "name": "Renamed"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        (changed.body["role"].as_str(), changed.body["name"].as_str()),
        (Some("operator"), Some("Renamed"))
    );
    let taken = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"email": "boss@example.se"})),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    let bad = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"role": "king"})),
    )
    .await;
    assert!(message(&bad).starts_with("role:"), "{}", message(&bad));

    // A new password ends the person's sessions.
    let new = sign_in(&app, "new@example.se").await;
    let reset = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"password": "another-password"})),
    )
    .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert_eq!(
        call(&app, &new, "GET", "/auth/me", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    support::sign_in(&app, "new@example.se", "another-password").await;

    // Removing the last membership deletes the person.
    let gone = call(&app, &boss, "DELETE", &format!("/users/{id}"), &[], None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let after = call(
        &app,
        &As::admin(),
        "GET",
        &format!("/users/{id}"),
        &[],
        None,
    )
    .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    let email = UserEmail::parse("new@example.se").unwrap();
    assert!(store.find_user_by_email(&email).await.unwrap().is_none());
}

#[tokio::test]
async fn a_person_of_several_organisations_keeps_their_account_from_an_organisations_admin() {
    let (store, app) = setup();
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let both = person(&app, "default", "both@example.se", "viewer").await;
    membership(&app, "org-b", "both@example.se", "viewer").await;
    person(&app, "default", "boss@example.se", "orgAdmin").await;
    let boss = sign_in(&app, "boss@example.se").await;
    let id = both["id"].as_str().unwrap();
    let seen = call(&app, &boss, "GET", &format!("/users/{id}"), &[], None).await;
    assert_eq!(
        seen.body["memberships"].as_array().unwrap().len(),
        1,
        "B's membership is not shown"
    );
    let renamed = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::FORBIDDEN);
    let role = call(
        &app,
        &boss,
        "PATCH",
        &format!("/users/{id}"),
        &[],
        Some(json!({"role": "operator"})),
    )
    .await;
    assert_eq!(role.status, StatusCode::OK);
    // Removing the membership here leaves the person in B.
    let removed = call(&app, &boss, "DELETE", &format!("/users/{id}"), &[], None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let in_b = call(
        &app,
        &As::admin(),
        "GET",
        &format!("/users/{id}"),
        &[("x-organisation", "org-b")],
        None,
    )
    .await;
    assert_eq!(in_b.body["role"], "viewer");
    assert_eq!(in_b.body["memberships"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn signing_out_ends_one_session_and_everywhere_ends_them_all() {
    let (_, app) = setup();
    person(&app, "default", "anna@example.se", "viewer").await;
    let laptop = sign_in(&app, "anna@example.se").await;
    let phone = sign_in(&app, "anna@example.se").await;
    let tablet = sign_in(&app, "anna@example.se").await;
    let out = call(&app, &laptop, "POST", "/auth/sign-out", &[], None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.set_cookie.unwrap().contains("Max-Age=0"),
        "the cookie is cleared"
    );
    assert_eq!(
        call(&app, &laptop, "GET", "/auth/me", &[], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, &phone, "GET", "/auth/me", &[], None)
            .await
            .status,
        StatusCode::OK
    );
    let all = call(&app, &phone, "POST", "/auth/sign-out-everywhere", &[], None).await;
    assert_eq!(all.status, StatusCode::NO_CONTENT);
    for s in [&phone, &tablet] {
        assert_eq!(
            call(&app, s, "GET", "/auth/me", &[], None).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, s, "GET", "/stations", &[], None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn sessions_end_when_idle_or_old_and_are_touched_at_most_once_a_minute() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap(),
    ));
    let app = support::app_with(store.clone(), KEY, clock.clone(), None);
    person(&app, "default", "anna@example.se", "viewer").await;
    let anna = sign_in(&app, "anna@example.se").await;
    let As::Person { cookie, .. } = &anna else {
        unreachable!()
    };
    let hash = csms_api_hash(cookie);
    let seen = || {
        let store = store.clone();
        let hash = hash.clone();
        async move {
            store
                .get_user_session(&hash)
                .await
                .unwrap()
                .unwrap()
                .last_seen_at
        }
    };
    let t0 = seen().await;
    clock.advance(30);
    assert_eq!(
        call(&app, &anna, "GET", "/stations", &[], None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(seen().await, t0, "no write within the minute");
    clock.advance(31);
    call(&app, &anna, "GET", "/stations", &[], None).await;
    assert_eq!(seen().await, t0 + chrono::Duration::seconds(61));

    // Kept busy every 7 hours, the session still ends after 7 days.
    for _ in 0..23 {
        clock.advance(7 * 3600);
        assert_eq!(
            call(&app, &anna, "GET", "/auth/me", &[], None).await.status,
            StatusCode::OK
        );
    }
    clock.advance(7 * 3600);
    assert_eq!(
        call(&app, &anna, "GET", "/auth/me", &[], None).await.status,
        StatusCode::UNAUTHORIZED,
        "7 days after sign-in"
    );

    // Idle for 8 hours: over.
    let bo = sign_in(&app, "anna@example.se").await;
    clock.advance(8 * 3600);
    assert_eq!(
        call(&app, &bo, "GET", "/stations", &[], None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The session's key: the SHA-256 (hex) of the cookie's secret.
fn csms_api_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_platform_admin_person_acts_anywhere_and_may_add_people_of_other_organisations() {
    let (store, app) = setup();
    let now = Utc::now();
    assert!(csms_api::people::bootstrap_platform_admin(
        &*store,
        "Root@Example.se",
        "root-password",
        now
    )
    .await
    .unwrap());
    assert!(
        !csms_api::people::bootstrap_platform_admin(
            &*store,
            "root@example.se",
            "other-password",
            now
        )
        .await
        .unwrap(),
        "made once"
    );
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let (cookie, csrf) = support::sign_in(&app, "root@example.se", "root-password").await;
    let root = As::Person {
        cookie,
        csrf: Some(csrf),
    };
    let made = call(
        &app,
        &root,
        "POST",
        "/stations",
        &[("x-organisation", "org-b")],
        Some(json!({"id": "CP-B"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let nowhere = call(
        &app,
        &root,
        "GET",
        "/stations",
        &[("x-organisation", "org-x")],
        None,
    )
    .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    person(&app, "default", "anna@example.se", "viewer").await;
    let added = call(
        &app,
        &root,
        "POST",
        "/users",
        &[("x-organisation", "org-b")],
        Some(json!({"email": "anna@example.se", "role": "operator"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["memberships"].as_array().unwrap().len(), 2);
    let grant = call(
        &app,
        &root,
        "PATCH",
        &format!("/users/{}", added.body["id"].as_str().unwrap()),
        &[],
        Some(json!({"role": "platformAdmin"})),
    )
    .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.body);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_client_address_too() {
    let (_, app) = setup();
    person(&app, "default", "anna@example.se", "viewer").await;
    let from = |addr: [u8; 4], email: String| {
        let app = app.clone();
        async move {
            let mut req = Request::builder()
                .method("POST")
                .uri("/api/v1/auth/sign-in")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"email": email, "password": "password-123"}).to_string(),
                ))
                .unwrap();
            req.extensions_mut()
                .insert(csms_kernel::throttle::ClientAddr(addr.into()));
            app.oneshot(req).await.unwrap().status()
        }
    };
    // A different unknown address each time: the account throttle never
    // trips, the client address's does.
    let mut statuses = vec![];
    for n in 0..30 {
        statuses.push(from([192, 0, 2, 7], format!("guess{n}@example.se")).await);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(
        from([192, 0, 2, 7], "anna@example.se".into()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the locked address waits, even with a right password"
    );
    assert_eq!(
        from([198, 51, 100, 1], "anna@example.se".into()).await,
        StatusCode::OK,
        "another address signs in"
    );
}

#[tokio::test]
async fn a_password_longer_than_any_person_can_have_is_refused_before_hashing() {
    let (_, app) = setup();
    person(&app, "default", "long@example.se", "viewer").await;
    let a = call(
        &app,
        &As::Nobody,
        "POST",
        "/auth/sign-in",
        &[],
        Some(json!({"email": "long@example.se", "password": "p".repeat(65)})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        message(&a).starts_with("password: at most 64"),
        "{}",
        a.body
    );
    // 64 is a password one can have: only wrong.
    let a = call(
        &app,
        &As::Nobody,
        "POST",
        "/auth/sign-in",
        &[],
        Some(json!({"email": "long@example.se", "password": "p".repeat(64)})),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
}
