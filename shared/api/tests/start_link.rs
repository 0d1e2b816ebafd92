//! Start links through the API and the charger handlers, over the embedded
//! store: an EVSE's charging key (made once, rotated, another
//! organisation's a 404), its QR codes (they read back as the link; 503
//! without `CSMS_PUBLIC_URL`), and the public `/start/{key}`: bad input
//! names the field; a public EVSE starts for an anonymous caller with a
//! one-off central identity that the charger's Authorize and
//! StartTransaction accept and the session carries; a private one refuses
//! anonymous callers and members of other organisations (listed as
//! `startLink` attempts) and starts for a signed-in member with their own
//! token; a booking for someone else and an offline station refuse; a
//! second start within 30 s is a 429.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_api::{router, PublicUrl, Secret};
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_commands::service::{CommandService, NoTimers};
use csms_domain::{OcppVersion, OrgId};
use csms_kernel::ports::Store;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use support::{Answer, ChargerWorld, ManualClock, WORLD_KEY as KEY};
use tower::ServiceExt;

const BASE: &str = "https://csms.example.com";

/// Frames sent to chargers, in order.
#[derive(Default)]
struct Frames(Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl csms_kernel::ports::ConnectionSender for Frames {
    async fn send(&self, _: &str, frame: &str) -> Result<(), csms_kernel::ports::SendError> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_str(frame).unwrap());
        Ok(())
    }
    async fn close(&self, _: &str) -> Result<(), csms_kernel::ports::SendError> {
        Ok(())
    }
}

/// The API (with `CSMS_PUBLIC_URL` when `public`) and the charger handlers
/// over one store, both with a command service that reaches the chargers.
struct World {
    base: ChargerWorld,
    frames: Arc<Frames>,
}

impl std::ops::Deref for World {
    type Target = ChargerWorld;
    fn deref(&self) -> &ChargerWorld {
        &self.base
    }
}

fn world(public: bool) -> World {
    let (store, clock): (Arc<dyn Store>, Arc<ManualClock>) = ChargerWorld::parts();
    let frames = Arc::new(Frames::default());
    let commands = CommandService::new(
        store.clone(),
        clock.clone(),
        frames.clone(),
        Arc::new(NoTimers),
    );
    let charger = ChargerService::new(store.clone(), clock.clone(), ChargerConfig::default())
        .with_replies(Arc::new(commands.clone()));
    let mut base = ChargerWorld::with_charger(store.clone(), clock.clone(), charger);
    let mut settings = Settings::from_lookup(Runtime::Aws, &|_| None).expect("defaults are valid");
    settings.admin_key = Some(Secret::new(KEY));
    let wiring = Wiring::new(settings, store, clock, NoAdapters);
    let mut state = wiring.api_state().expect("test adapters are complete");
    state.commands = commands;
    state.public_url = public.then(|| PublicUrl::parse(BASE).unwrap());
    base.app = router(state);
    World { base, frames }
}

impl World {
    /// A request to `/api/v1{uri}` with no key, as a signed-in person when
    /// `person` (cookie, CSRF token) is given.
    async fn public(
        &self,
        method: &str,
        uri: &str,
        person: Option<&(String, String)>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{uri}"));
        if let Some((cookie, csrf)) = person {
            req = req
                .header("cookie", format!("csms_session={cookie}"))
                .header("x-csrf-token", csrf.as_str());
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
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// The raw bytes and content type of an operator's GET.
    async fn bytes(&self, uri: &str) -> (StatusCode, String, Vec<u8>) {
        let req = Request::builder()
            .uri(format!("/api/v1{uri}"))
            .header("authorization", format!("Bearer {KEY}"))
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let kind = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        (status, kind, bytes.to_vec())
    }

    async fn key(&self, station: &str, evse: u32) -> Value {
        let a = self
            .admin(
                "GET",
                &format!("/stations/{station}/evses/{evse}/charging-key"),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.body
    }

    async fn access(&self, station: &str, evse: u32, body: Value) {
        let a = self
            .admin(
                "PUT",
                &format!("/stations/{station}/evses/{evse}/access"),
                Some(body),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }

    /// A person with `role` in the default organisation (or `org`), signed in.
    async fn person(
        &self,
        email: &str,
        role: &str,
        org: Option<&str>,
    ) -> ((String, String), Value) {
        if let Some(o) = org {
            support::organisation(&*self.store, &OrgId::parse(o).unwrap()).await;
        }
        let headers: Vec<(&str, &str)> = org.map(|o| ("x-organisation", o)).into_iter().collect();
        let made = self
            .call(
                KEY,
                "POST",
                "/users",
                &headers,
                Some(json!({"email": email, "name": "Driver", "password": "a-password-123", "role": role})),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        (
            support::sign_in(&self.app, email, "a-password-123").await,
            made.body,
        )
    }

    async fn token(&self, value: &str, user: Option<&str>) {
        let mut body = json!({"idToken": value, "type": "ISO14443", "status": "Accepted"});
        if let Some(u) = user {
            body["userId"] = json!(u);
        }
        let made = self.admin("POST", "/id-tokens", Some(body)).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    }

    /// The last frame sent, answered `status` by the charger.
    async fn answer_last(&self, station: &str, status: &str) -> Value {
        let call = self.frames.0.lock().unwrap().last().cloned().unwrap();
        let reply = json!([3, call[1], {"status": status}]).to_string();
        self.charger
            .on_message(&format!("conn-{station}"), &reply)
            .await;
        call
    }

    async fn attempts(&self, station: &str) -> Vec<Value> {
        let a = self
            .admin("GET", &format!("/stations/{station}/attempts"), None)
            .await;
        a.body["items"].as_array().unwrap().clone()
    }
}

fn naming(a: &Answer, status: StatusCode, field: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    let msg = a.body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with(field), "{field} not named first in: {msg}");
}

/// What a phone reads from a greyscale picture.
fn read(w: usize, h: usize, px: &[u8]) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one code in the picture");
    grids[0].decode().unwrap().1
}

fn read_png(bytes: &[u8]) -> (usize, String) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    (w, read(w, h, &buf[..w * h]))
}

/// The SVG's dark rectangles (`M{x} {y}h{w}v{h}H{x}V{y}`) drawn and read.
fn read_svg(svg: &str) -> String {
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut px = vec![255u8; w * h];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let n: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        for y in n[1]..n[1] + n[3] {
            px[y * w + n[0]..y * w + n[0] + n[2]].fill(0);
        }
    }
    read(w, h, &px)
}

#[tokio::test]
async fn a_charging_key_is_made_once_rotated_and_its_qr_codes_read_back_as_the_link() {
    let w = world(true);
    w.station("CP-1", OcppVersion::V16, None).await;
    let first = w.key("CP-1", 1).await;
    let key = first["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
    let link = format!("{BASE}/api/v1/start/{key}");
    assert_eq!(first["startUrl"], link.as_str());
    assert_eq!(first["stationId"], "CP-1");
    assert_eq!(first["evseId"], 1);
    // Asked again: the same key; another EVSE has its own.
    assert_eq!(w.key("CP-1", 1).await["key"], key.as_str());
    assert_ne!(w.key("CP-1", 2).await["key"], key.as_str());

    let (status, kind, svg) = w.bytes("/stations/CP-1/evses/1/qr.svg").await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/svg+xml"));
    assert_eq!(read_svg(&String::from_utf8(svg).unwrap()), link);
    let (status, kind, png) = w.bytes("/stations/CP-1/evses/1/qr.png").await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"));
    let (side, text) = read_png(&png);
    assert_eq!(text, link);
    assert!(side <= 400 && side > 200, "default size: {side}");
    let (_, _, png) = w.bytes("/stations/CP-1/evses/1/qr.png?size=1000").await;
    let (side, text) = read_png(&png);
    assert_eq!(text, link);
    assert!(side <= 1000 && side > 800, "{side}");

    // The link answers; after a rotation the old one is gone.
    let info = w.public("GET", &format!("/start/{key}"), None, None).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    let rotated = w
        .admin("POST", "/stations/CP-1/evses/1/charging-key/rotate", None)
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_key = rotated.body["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert_eq!(w.key("CP-1", 1).await["key"], new_key.as_str());
    let old = w.public("GET", &format!("/start/{key}"), None, None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "{}", old.text);
    let old = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "{}", old.text);
    let (_, _, png) = w.bytes("/stations/CP-1/evses/1/qr.png").await;
    assert_eq!(read_png(&png).1, format!("{BASE}/api/v1/start/{new_key}"));
}

#[tokio::test]
async fn bad_input_names_the_field_and_other_organisations_get_404() {
    let w = world(true);
    w.station("CP-1", OcppVersion::V16, None).await;
    let key = w.key("CP-1", 1).await["key"].as_str().unwrap().to_owned();
    for uri in [
        "/stations/CP-1/evses/0/charging-key",
        "/stations/CP-1/evses/x/qr.svg",
        "/stations/CP-1/evses/-1/qr.png",
    ] {
        naming(
            &w.admin("GET", uri, None).await,
            StatusCode::BAD_REQUEST,
            "evseId",
        );
    }
    for size in ["50", "2001", "big"] {
        let a = w
            .admin(
                "GET",
                &format!("/stations/CP-1/evses/1/qr.png?size={size}"),
                None,
            )
            .await;
        naming(&a, StatusCode::BAD_REQUEST, "size");
    }
    for uri in ["/start/short", "/start/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        naming(
            &w.public("GET", uri, None, None).await,
            StatusCode::BAD_REQUEST,
            "key",
        );
        naming(
            &w.public("POST", uri, None, None).await,
            StatusCode::BAD_REQUEST,
            "key",
        );
    }
    let start = format!("/start/{key}");
    naming(
        &w.public("POST", &start, None, Some(json!({"idToken": "MINE"})))
            .await,
        StatusCode::BAD_REQUEST,
        "idToken",
    );
    naming(
        &w.public("POST", &start, None, Some(json!({"card": "MINE"})))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid JSON body: card: unknown field",
    );
    naming(
        &w.public("POST", &format!("{start}?wait=26"), None, None)
            .await,
        StatusCode::BAD_REQUEST,
        "wait",
    );
    // A well-formed key nobody has.
    let nobody = w
        .public("GET", &format!("/start/{}", "a".repeat(32)), None, None)
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.text);
    let nothing = w
        .public(
            "GET",
            &format!("{start}/starts/01JEQ3V3N7Q4G8W1Z5X2M9K0AB"),
            None,
            None,
        )
        .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND, "{}", nothing.text);

    // Organisation B sees none of A's keys or codes: 404 as for no station.
    let org_b = OrgId::parse("org-b").unwrap();
    support::organisation(&*w.store, &org_b).await;
    let b =
        support::partner_key(&*w.store, &org_b, csms_domain::api_key::Scope::ALL.to_vec()).await;
    for (method, uri) in [
        ("GET", "/stations/CP-1/evses/1/charging-key"),
        ("POST", "/stations/CP-1/evses/1/charging-key/rotate"),
        ("GET", "/stations/CP-1/evses/1/qr.svg"),
        ("GET", "/stations/CP-1/evses/1/qr.png"),
    ] {
        let a = w.call(&b, method, uri, &[], None).await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            a.text
        );
        let missing = w
            .call(&b, method, &uri.replace("CP-1", "CP-0"), &[], None)
            .await;
        assert_eq!(
            a.text.replace("CP-1", "CP-0"),
            missing.text,
            "{method} {uri}: told apart from a missing station"
        );
    }
    assert_eq!(
        w.key("CP-1", 1).await["key"],
        key.as_str(),
        "not rotated by B"
    );
}

#[tokio::test]
async fn without_a_public_url_the_qr_codes_are_503_and_the_key_has_no_link() {
    let w = world(false);
    w.station("CP-1", OcppVersion::V16, None).await;
    let k = w.key("CP-1", 1).await;
    assert_eq!(k["startUrl"], Value::Null);
    for uri in [
        "/stations/CP-1/evses/1/qr.svg",
        "/stations/CP-1/evses/1/qr.png",
    ] {
        let a = w.admin("GET", uri, None).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
        assert_eq!(a.body["error"]["code"], "not_configured");
        assert!(a.text.contains("CSMS_PUBLIC_URL"), "{}", a.text);
        // Another station's id is still a 404 first.
        let a = w.admin("GET", &uri.replace("CP-1", "CP-0"), None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    }
}

#[tokio::test]
async fn an_anonymous_start_on_a_public_evse_charges_a_one_off_identity_the_charger_accepts() {
    let w = world(true);
    let cp = w.station("CP-1", OcppVersion::V16, None).await;
    w.access("CP-1", 1, json!({"default": "public"})).await;
    let key = w.key("CP-1", 1).await["key"].as_str().unwrap().to_owned();
    let info = w.public("GET", &format!("/start/{key}"), None, None).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.body["mode"], "public");
    assert_eq!(info.body["canStart"], true);
    assert_eq!(info.body["signedIn"], false);
    assert_eq!(info.body["status"], "unknown", "no status reported yet");
    assert_eq!(info.body["refusal"], Value::Null);

    let started = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(started.body["status"], "pending");
    assert_eq!(started.body["idTokenType"], "Central");
    let tag = started.body["idToken"].as_str().unwrap().to_owned();
    assert!(tag.starts_with("SL") && tag.len() == 20, "{tag}");
    // A second start at once is throttled.
    let again = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.text
    );
    assert!(again.text.contains("a moment ago"));

    let call = w.answer_last("CP-1", "Accepted").await;
    assert_eq!(call[2], "RemoteStartTransaction");
    assert_eq!(call[3]["idTag"], tag.as_str());
    assert_eq!(call[3]["connectorId"], 1);
    let poll = w
        .public(
            "GET",
            &format!(
                "/start/{key}/starts/{}",
                started.body["commandId"].as_str().unwrap()
            ),
            None,
            None,
        )
        .await;
    assert_eq!(poll.status, StatusCode::OK, "{}", poll.text);
    assert_eq!(poll.body["status"], "accepted");

    // The charger authorises the identity and starts: both accepted.
    assert_eq!(w.authorize16(&cp, &tag).await["status"], "Accepted");
    let tx = w
        .ocpp(
            &cp,
            "StartTransaction",
            json!({"connectorId": 1, "idTag": tag, "meterStart": 0, "timestamp": "2026-12-01T10:00:05Z"}),
        )
        .await;
    assert_eq!(tx["idTagInfo"]["status"], "Accepted", "{tx}");
    let sessions = w.admin("GET", "/sessions", None).await;
    let session = &sessions.body["items"][0];
    assert_eq!(session["idToken"], tag.as_str(), "{}", sessions.text);
    // The identity is registered as the start link's, for the operator.
    let token = w.admin("GET", &format!("/id-tokens/{tag}"), None).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text);
    assert_eq!(token.body["type"], "Central");
    assert!(token.body["label"]
        .as_str()
        .unwrap()
        .contains("start link of EVSE 1 of station CP-1"));
    assert!(w.attempts("CP-1").await.is_empty());
}

#[tokio::test]
async fn a_private_evse_refuses_anonymous_callers_and_other_organisations_and_starts_for_a_member()
{
    let w = world(true);
    w.station("CP-1", OcppVersion::V201, None).await;
    w.access("CP-1", 1, json!({"default": "private"})).await;
    let key = w.key("CP-1", 1).await["key"].as_str().unwrap().to_owned();
    let start = format!("/start/{key}");

    let info = w.public("GET", &start, None, None).await;
    assert_eq!(info.body["canStart"], false, "{}", info.text);
    assert_eq!(info.body["refusal"]["reason"], "signInRequired");
    let refused = w.public("POST", &start, None, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body["reason"], "signInRequired");
    assert_eq!(refused.body["mode"], "private");
    assert!(w.frames.0.lock().unwrap().is_empty(), "nothing sent");

    // A driver of another organisation is not a member.
    let (outsider, _) = w.person("out@example.se", "driver", Some("org-b")).await;
    let refused = w.public("POST", &start, Some(&outsider), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body["reason"], "otherOrganisation");

    let attempts = w.attempts("CP-1").await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    for a in &attempts {
        assert_eq!(a["source"], "startLink");
        assert_eq!(a["evseId"], 1);
        assert_eq!(a["mode"], "private");
    }
    assert_eq!(attempts[1]["reason"], "signInRequired");
    assert_eq!(attempts[1]["idToken"], "anonymous");
    assert_eq!(attempts[0]["reason"], "otherOrganisation");

    // A member starts with their own card; without the CSRF token, no.
    let (member, user) = w.person("member@example.se", "driver", None).await;
    w.token("CARD-OF-MEMBER", user["id"].as_str()).await;
    let info = w.public("GET", &start, Some(&member), None).await;
    assert_eq!(
        (info.body["signedIn"].clone(), info.body["canStart"].clone()),
        (json!(true), json!(true)),
        "{}",
        info.text
    );
    let no_csrf = (member.0.clone(), "wrong".to_owned());
    let a = w.public("POST", &start, Some(&no_csrf), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    assert!(a.text.contains("X-CSRF-Token"));
    let started = w.public("POST", &start, Some(&member), None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(started.body["idToken"], "CARD-OF-MEMBER");
    let call = w.answer_last("CP-1", "Accepted").await;
    assert_eq!(call[2], "RequestStartTransaction");
    assert_eq!(call[3]["idToken"]["idToken"], "CARD-OF-MEMBER");
    assert_eq!(call[3]["evseId"], 1);
    assert_eq!(w.attempts("CP-1").await.len(), 2, "no refusal added");
}

#[tokio::test]
async fn a_booking_for_someone_else_and_an_offline_station_refuse() {
    let w = world(true);
    w.station("CP-1", OcppVersion::V16, None).await;
    w.access("CP-1", 1, json!({"default": "semiPublic"})).await;
    w.token("BOOKER", None).await;
    let booked = w
        .admin(
            "POST",
            "/stations/CP-1/evses/1/bookings",
            Some(json!({"idToken": "BOOKER", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z"})),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    let key = w.key("CP-1", 1).await["key"].as_str().unwrap().to_owned();
    let info = w.public("GET", &format!("/start/{key}"), None, None).await;
    assert_eq!(info.body["booked"], true, "{}", info.text);
    assert_eq!(info.body["refusal"]["reason"], "booked");
    let refused = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.body["reason"], "booked");
    assert_eq!(refused.body["mode"], "semiPublic");
    // After the window the semi-public EVSE starts for anyone with the link.
    w.clock.advance(3600);
    let started = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);

    // A station that is not connected refuses.
    let new = csms_charging::registry::NewStation {
        id: "CP-OFF".into(),
        ..Default::default()
    };
    support::register_station(&*w.store, &*w.clock, new, None).await;
    w.access("CP-OFF", 1, json!({"default": "public"})).await;
    let key = w.key("CP-OFF", 1).await["key"].as_str().unwrap().to_owned();
    let info = w.public("GET", &format!("/start/{key}"), None, None).await;
    assert_eq!(info.body["status"], "offline", "{}", info.text);
    let refused = w.public("POST", &format!("/start/{key}"), None, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.body["reason"], "unavailable");
    let attempts = w.attempts("CP-OFF").await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["reason"], "unavailable");
    assert_eq!(w.attempts("CP-1").await[0]["reason"], "booked");
}

#[tokio::test]
async fn the_document_declares_the_start_link_public_and_the_codes_as_images() {
    let w = world(true);
    let doc = w.public("GET", "/openapi.json", None, None).await.body;
    let png = &doc["paths"]["/stations/{id}/evses/{evseId}/qr.png"]["get"]["responses"]["200"];
    let schema = &png["content"]["image/png"]["schema"];
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    assert_eq!(
        (schema["type"].as_str(), schema["format"].as_str()),
        (Some("string"), Some("binary")),
        "{png}"
    );
    let svg = &doc["paths"]["/stations/{id}/evses/{evseId}/qr.svg"]["get"]["responses"]["200"];
    assert!(svg["content"]["image/svg+xml"].is_object(), "{svg}");
    for (path, method) in [
        ("/start/{key}", "get"),
        ("/start/{key}", "post"),
        ("/start/{key}/starts/{commandId}", "get"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["security"],
            json!([{}]),
            "{method} {path} is public"
        );
    }
    for path in [
        "/stations/{id}/evses/{evseId}/charging-key",
        "/stations/{id}/evses/{evseId}/qr.png",
    ] {
        assert!(
            doc["paths"][path]["get"].get("security").is_none(),
            "{path} needs a key"
        );
    }
}
