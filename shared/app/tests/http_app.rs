//! The whole HTTP surface as `csms-local` and the `http-api` Lambda serve
//! it (`http_app`): the web portal's routes merged into the API's app
//! without changing the API, and the two sign-ins sharing one throttle.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use csms_api::Secret;
use csms_app::testkit::NoAdapters;
use csms_app::{http_app, Runtime, Settings, Wiring};
use csms_kernel::ports::{Store, SystemClock};
use std::sync::Arc;
use tower::ServiceExt;

fn app() -> axum::Router {
    world().0
}

fn world() -> (axum::Router, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
    let mut settings =
        Settings::from_lookup(Runtime::Local, &|_| None).expect("defaults are valid");
    settings.admin_key = Some(Secret::new("test-admin-key-0123456789"));
    let wiring = Wiring::new(settings, store.clone(), Arc::new(SystemClock), NoAdapters);
    let app = http_app(wiring.api_state().expect("test adapters are complete"));
    (app, store)
}

async fn send(app: &axum::Router, req: Request<Body>) -> (Response, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22).await.unwrap();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn get(app: &axum::Router, uri: &str) -> (Response, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn location(resp: &Response) -> &str {
    resp.headers()[header::LOCATION].to_str().unwrap()
}

/// The form guard a browser holds in its `csms_form` cookie and echoes in
/// the sign-in form (any well-formed value of the browser's own).
const GUARD: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

fn sign_in_form(email: &str, password: &str) -> Request<Body> {
    Request::post("/portal/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("csms_form={GUARD}"))
        .body(Body::from(format!(
            "email={}&password={password}&next=%2Fportal%2F&form={GUARD}",
            email.replace('@', "%40")
        )))
        .unwrap()
}

#[tokio::test]
async fn the_portal_is_served_beside_an_unchanged_api() {
    let app = app();
    let (resp, _) = get(&app, "/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/portal/");
    // Not signed in: to the sign-in page, and back afterwards.
    let (resp, _) = get(&app, "/portal/stations").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/portal/sign-in?next=%2Fportal%2Fstations");
    // A live fragment htmx fetches after the session ended moves the whole
    // page to the sign-in page instead of landing the form in the fragment.
    let req = Request::get("/portal/live/stations")
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let (resp, _) = send(&app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["hx-redirect"],
        "/portal/sign-in?next=%2Fportal%2Fstations"
    );
    let (resp, page) = get(&app, "/portal/sign-in").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"sv\">"),
        "{page}"
    );
    assert!(page.contains("<label for=\"email\">E-postadress</label>"));
    // The assets the page links are embedded, cached for a year.
    let htmx = page
        .split('"')
        .find(|s| s.starts_with("/portal/assets/htmx."))
        .expect("the page links htmx")
        .to_owned();
    let (resp, js) = get(&app, &htmx).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(js.starts_with("var htmx=function"));
    let (resp, _) = get(&app, "/portal/assets/htmx.000000000000.js").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // An unknown portal path is the portal's 404 page; anything else stays
    // the API's JSON 404, and the API's document knows nothing of the portal.
    let (resp, page) = get(&app, "/portal/no-such-page").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(page.contains("<h1>Hittades inte</h1>"), "{page}");
    let (resp, body) = get(&app, "/no-such-path").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(body.contains("\"not_found\""), "{body}");
    let (resp, doc) = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!doc.contains("/portal"));
}

#[tokio::test]
async fn the_portal_and_the_api_count_failed_sign_ins_together() {
    let app = app();
    let email = "guessed@example.se";
    // Five failures are free; the sixth locks the account for a while.
    for _ in 0..6 {
        let (resp, page) = send(&app, sign_in_form(email, "wrong-password")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{page}");
        assert!(page.contains("role=\"alert\""));
    }
    let req = Request::post("/api/v1/auth/sign-in")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"email":"{email}","password":"wrong-password"}}"#
        )))
        .unwrap();
    let (resp, body) = send(&app, req).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "{body}");
    // And the portal's form says so in the page.
    let (resp, page) = send(&app, sign_in_form(email, "x")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("För många misslyckade inloggningar"),
        "{page}"
    );
}

#[tokio::test]
async fn the_sign_in_form_asks_for_the_second_factor_and_signs_in_with_its_code() {
    let (app, store) = world();
    let req = Request::post("/api/v1/users")
        .header(header::AUTHORIZATION, "Bearer test-admin-key-0123456789")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"two@example.se","name":"Två Faktorer","password":"two-factor-123","role":"viewer"}"#,
        ))
        .unwrap();
    let (resp, body) = send(&app, req).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{body}");
    let email = csms_domain::user::UserEmail::parse("two@example.se").unwrap();
    let mut user = store.find_user_by_email(&email).await.unwrap().unwrap();
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    user.second_factor = Some(csms_domain::user::SecondFactor {
        secret: secret.into(),
        confirmed: true,
        last_step: 0,
    });
    let expected = user.version;
    user.version += 1;
    store.put_user(&user, expected).await.unwrap();

    // The right password alone: the form asks for the code.
    let (resp, page) = send(&app, sign_in_form("two@example.se", "two-factor-123")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(page.contains("<input id=\"code\""), "{page}");
    assert!(!page.contains("role=\"alert\""), "{page}");
    // A wrong code is refused like a wrong password.
    let with_code = |code: &str| {
        Request::post("/portal/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("csms_form={GUARD}"))
            .body(Body::from(format!(
                "email=two%40example.se&password=two-factor-123&code={code}&next=%2Fportal%2Fme&form={GUARD}"
            )))
            .unwrap()
    };
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret.into()).to_bytes().unwrap(),
    )
    .unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let near: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t))
        .collect();
    let wrong = ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap();
    let (resp, page) = send(&app, with_code(wrong)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    // The app's current code signs in, with the session cookie.
    let (resp, _) = send(&app, with_code(&totp.generate(now))).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/portal/me");
    let cookie = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("csms_session="))
        .expect("the session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let req = Request::get("/portal/me")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (resp, page) = send(&app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(page.contains("Inloggad som Två Faktorer"), "{page}");
}

/// A request with the admin key and a JSON body.
fn admin(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, "Bearer test-admin-key-0123456789")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn accepting(uri: &str, accept: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::ACCEPT, accept)
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_browser_gets_the_start_page_at_the_start_link_and_an_app_the_json() {
    let app = app();
    let (resp, _) = send(
        &app,
        admin(
            "POST",
            "/api/v1/stations",
            r#"{"id":"CP-QR","name":"Gården"}"#,
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (resp, body) = send(
        &app,
        admin("GET", "/api/v1/stations/CP-QR/evses/1/charging-key", ""),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{body}");
    let key: serde_json::Value = serde_json::from_str(&body).unwrap();
    let link = format!("/api/v1/start/{}", key["key"].as_str().unwrap());
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    let (resp, page) = send(&app, accepting(&link, browser)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(resp.headers()[header::VARY], "Accept");
    // In the browser's language; the station offline, so no start offered.
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{page}"
    );
    assert!(
        page.contains("Gården") && page.contains("Charging point 1"),
        "{page}"
    );
    assert!(
        page.contains("data-status=\"offline\"") && page.contains("data-reason=\"unavailable\"")
    );
    assert!(!page.contains("CP-QR"), "no station id on a public page");

    for accept in [
        "*/*",
        "application/json",
        "application/json, text/html;q=0.5",
    ] {
        let (resp, body) = send(&app, accepting(&link, accept)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{accept}");
        assert_eq!(resp.headers()[header::VARY], "Accept");
        let info: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["status"], "offline", "{accept}: {body}");
    }
    // Under the link, only the JSON routes; an unknown key is the page's 404
    // to a browser and the API's to an app.
    let (resp, body) = send(&app, accepting(&format!("{link}/starts/x"), browser)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(body.contains("\"not_found\""), "{body}");
    let unknown = "/api/v1/start/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let (resp, page) = send(&app, accepting(unknown, browser)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(page.contains("<h1>Not found</h1>"), "{page}");
    let (resp, body) = send(&app, accepting(unknown, "*/*")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(body.contains("\"not_found\""), "{body}");
}
