//! What the API crate's integration tests share.

#![allow(dead_code)] // each test file uses its own part

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::TimeDelta;
use csms_api::{router, Secret};
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_charging::connect;
use csms_charging::registry::{self, NewStation};
use csms_domain::station::Station;
use csms_domain::{OcppVersion, StationId, Timestamp};
use csms_kernel::ports::{Clock, Store, SystemClock};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A clock the test moves by hand.
pub struct ManualClock(pub Mutex<Timestamp>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        ManualClock(Mutex::new(t))
    }

    pub fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += TimeDelta::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// The API router over `store`, with `key` as the admin key, no chargers
/// and no webhooks: the one wiring (`csms-app`) over adapters that reach
/// nothing.
pub fn app(store: Arc<dyn Store>, key: &str) -> axum::Router {
    let mut settings = Settings::from_lookup(Runtime::Aws, &|_| None).expect("defaults are valid");
    settings.admin_key = Some(Secret::new(key));
    settings.public_url = Some(test_public_url());
    let wiring = Wiring::new(settings, store, Arc::new(SystemClock), NoAdapters);
    router(wiring.api_state().expect("test adapters are complete"))
}

/// Where the test API's links point.
pub fn test_public_url() -> csms_api::PublicUrl {
    csms_api::PublicUrl::parse("https://csms.example.test").expect("a web address")
}

/// `station` connected over `version` as connection `conn` at the clock's
/// now, as `$connect` records it.
pub async fn open_connection(
    store: &dyn Store,
    clock: &dyn Clock,
    station: &Station,
    conn: &str,
    version: OcppVersion,
) {
    connect::opened(
        store,
        &csms_kernel::events::NoEvents,
        None,
        station,
        connect::Opening {
            connection_id: conn,
            version,
            source: None,
        },
        clock.now(),
    )
    .await
    .unwrap();
}

/// Registers `new` and, given a version, connects it as `conn-{id}`.
pub async fn register_station(
    store: &dyn Store,
    clock: &dyn Clock,
    new: NewStation,
    version: Option<OcppVersion>,
) -> StationId {
    let conn = format!("conn-{}", new.id);
    let st = registry::register_station(store, clock, new).await.unwrap();
    if let Some(version) = version {
        open_connection(store, clock, &st, &conn, version).await;
    }
    st.id
}

/// `GET uri` through `app` as the bearer of `key`: the status, the headers
/// and the body (which must be UTF-8).
pub async fn get(app: &axum::Router, key: &str, uri: &str) -> (StatusCode, HeaderMap, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("authorization", format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).expect("the body is UTF-8");
    (status, headers, body)
}

/// A partner key of `org` with `scopes`, put straight into the store (the
/// API makes keys only in the caller's own organisation, and never without
/// a scope); returns the key as presented in `Authorization`.
/// A record for organisation `org` unless it has one (the platform admin
/// acts only in organisations that exist): a placeholder, like the default
/// organisation's.
#[allow(dead_code)] // Not every test binary uses every helper.
pub async fn organisation(store: &dyn Store, org: &csms_domain::OrgId) {
    if store.get_organisation(org).await.unwrap().is_some() {
        return;
    }
    let mut record = csms_domain::tenant::Organisation::default_placeholder(chrono::Utc::now());
    record.id = org.clone();
    record.legal_name = format!("Organisation {org}");
    store.create_organisation(&record).await.unwrap();
}

/// A partner key of `org` (whose record is made if need be) with `scopes`.
pub async fn partner_key(
    store: &dyn Store,
    org: &csms_domain::OrgId,
    scopes: Vec<csms_domain::api_key::Scope>,
) -> String {
    use sha2::{Digest, Sha256};
    organisation(store, org).await;
    let id = ulid::Ulid::new().to_string();
    let secret = format!("secret-of-{id}");
    let hash: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    store
        .create_api_key(&csms_domain::api_key::ApiKey {
            id: id.clone(),
            org_id: org.clone(),
            name: format!("partner of {org}"),
            scopes,
            secret_hash: hash,
            created_at: chrono::Utc::now(),
            revoked_at: None,
            version: 1,
        })
        .await
        .expect("the key is stored");
    format!("csk_{id}_{secret}")
}

/// Signs `email` in with `password`: the session cookie's value and the
/// CSRF token.
pub async fn sign_in(app: &axum::Router, email: &str, password: &str) -> (String, String) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/sign-in")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"email": email, "password": password}).to_string(),
        ))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "sign-in of {email}");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("csms_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    (cookie, body["csrfToken"].as_str().unwrap().to_owned())
}

/// [`app`] with `clock` and, when `secure_cookies` is given, that setting.
pub fn app_with(
    store: Arc<dyn Store>,
    key: &str,
    clock: Arc<dyn Clock>,
    secure_cookies: Option<bool>,
) -> axum::Router {
    let mut settings = Settings::from_lookup(Runtime::Aws, &|_| None).expect("defaults are valid");
    settings.admin_key = Some(Secret::new(key));
    settings.public_url = Some(test_public_url());
    if let Some(secure) = secure_cookies {
        settings.secure_cookies = secure;
    }
    let wiring = Wiring::new(settings, store, clock, NoAdapters);
    router(wiring.api_state().expect("test adapters are complete"))
}

/// A request to API v1 (`uri` after `/api/v1`) with `key` as the Bearer key
/// and `body` as JSON; the status and the JSON answer (`Null` if none).
pub async fn call_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let auth = [("authorization", format!("Bearer {key}"))];
    send_json(app, method, uri, &auth, body).await
}

/// A request to API v1 as a signed-in person (`sign_in`'s cookie and CSRF
/// token); the status and the JSON answer (`Null` if none).
pub async fn person_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    (cookie, csrf): (&str, &str),
    body: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let auth = [
        ("cookie", format!("csms_session={cookie}")),
        ("x-csrf-token", csrf.to_owned()),
    ];
    send_json(app, method, uri, &auth, body).await
}

async fn send_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, String)],
    body: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let req = req.body(body.map_or(Body::empty(), Body::from)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// An API answer: status, JSON body (`Null` if none) and the raw text.
pub struct Answer {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub text: String,
}

/// The API and the charger handlers over one embedded store, at a clock
/// the test moves: what the access, id-token and booking tests drive.
pub struct ChargerWorld {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub app: axum::Router,
    pub charger: csms_charging::charger::ChargerService<dyn Store>,
}

/// The key [`ChargerWorld::admin`] calls with.
pub const WORLD_KEY: &str = "test-admin-key-0123456789";

impl ChargerWorld {
    /// At 2026-12-01 10:00 UTC, the charger service answering nobody's calls.
    pub fn new() -> Self {
        let (store, clock) = Self::parts();
        let charger = csms_charging::charger::ChargerService::new(
            store.clone(),
            clock.clone(),
            csms_charging::charger::ChargerConfig::default(),
        );
        Self::with_charger(store, clock, charger)
    }

    /// The store and the clock a world is made of, for a caller that
    /// builds its own charger service over them.
    pub fn parts() -> (Arc<dyn Store>, Arc<ManualClock>) {
        let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
        let clock = Arc::new(ManualClock::at(
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 10, 0, 0).unwrap(),
        ));
        (store, clock)
    }

    pub fn with_charger(
        store: Arc<dyn Store>,
        clock: Arc<ManualClock>,
        charger: csms_charging::charger::ChargerService<dyn Store>,
    ) -> Self {
        let app = app_with(store.clone(), WORLD_KEY, clock.clone(), None);
        ChargerWorld {
            store,
            clock,
            app,
            charger,
        }
    }

    pub async fn call(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{uri}"))
            .header("authorization", format!("Bearer {key}"));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            text,
        }
    }

    pub async fn admin(&self, method: &str, uri: &str, body: Option<serde_json::Value>) -> Answer {
        self.call(WORLD_KEY, method, uri, &[], body).await
    }

    /// A station of `org` (the default one if `None`), connected with
    /// `version` as `conn-{id}`.
    pub async fn station(&self, id: &str, version: OcppVersion, org: Option<&str>) -> StationId {
        let new = NewStation {
            id: id.into(),
            org_id: org.map(|o| csms_domain::OrgId::parse(o).unwrap()),
            ..Default::default()
        };
        register_station(&*self.store, &*self.clock, new, Some(version)).await
    }

    /// A CALL as the station; the reply's payload.
    pub async fn ocpp(
        &self,
        station: &StationId,
        action: &str,
        payload: serde_json::Value,
    ) -> serde_json::Value {
        let frame = serde_json::json!([2, "m1", action, payload]).to_string();
        let out = self
            .charger
            .on_message(&format!("conn-{station}"), &frame)
            .await
            .expect("a CALL gets a reply");
        let reply: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(reply[0], 3, "{action}: {reply}");
        reply[2].clone()
    }

    pub async fn authorize16(&self, station: &StationId, tag: &str) -> serde_json::Value {
        self.ocpp(station, "Authorize", serde_json::json!({"idTag": tag}))
            .await["idTagInfo"]
            .clone()
    }

    pub async fn authorize201(
        &self,
        station: &StationId,
        token: &str,
        kind: &str,
    ) -> serde_json::Value {
        self.ocpp(
            station,
            "Authorize",
            serde_json::json!({"idToken": {"idToken": token, "type": kind}}),
        )
        .await["idTokenInfo"]
            .clone()
    }
}
