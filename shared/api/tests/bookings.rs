//! Bookings through the API and the charger handlers, over the embedded
//! store: input parsed at the edge (errors name the field), a window that
//! overlaps a held one refused with the free windows, listing, reading and
//! cancelling; during the window only the booker's token starts a
//! transaction on the EVSE (1.6, 2.0.1 and remote start), others are refused
//! and listed with the reason `booked`.

mod support;

use axum::http::StatusCode;
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_domain::{OcppVersion, OrgId};
use csms_kernel::ports::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{register_station, Answer, ChargerWorld};

const KEY: &str = "test-admin-key-0123456789";

/// The shared world (`support::ChargerWorld`: API, store, clock, charger
/// handlers) with a command service that reaches the chargers.
struct World {
    base: ChargerWorld,
    commands: csms_commands::service::CommandService<dyn Store>,
    frames: Arc<Frames>,
    refused: Arc<Refused>,
}

fn world() -> World {
    let (store, clock) = ChargerWorld::parts();
    // The sweep's command service reaches the chargers (frames kept); the
    // API's reaches none (NoAdapters): its commands end offline.
    let frames = Arc::new(Frames::default());
    let refused = Arc::new(Refused::default());
    let commands = csms_commands::service::CommandService::new(
        store.clone(),
        clock.clone(),
        frames.clone(),
        Arc::new(csms_commands::service::NoTimers),
    )
    .with_events(refused.clone());
    let charger = ChargerService::new(store.clone(), clock.clone(), ChargerConfig::default())
        .with_replies(Arc::new(commands.clone()));
    World {
        base: ChargerWorld::with_charger(store, clock, charger),
        commands,
        frames,
        refused,
    }
}

impl std::ops::Deref for World {
    type Target = ChargerWorld;
    fn deref(&self) -> &ChargerWorld {
        &self.base
    }
}

/// The bookings published as refused.
#[derive(Default)]
struct Refused(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl csms_kernel::events::EventBus for Refused {
    async fn publish(&self, event: csms_kernel::events::DomainEvent) {
        if let csms_kernel::events::DomainEvent::BookingRefused { booking, .. } = event {
            self.0.lock().unwrap().push(booking.id.to_string());
        }
    }
}

/// Frames sent to chargers, in order.
#[derive(Default)]
struct Frames(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl csms_kernel::ports::ConnectionSender for Frames {
    async fn send(
        &self,
        _connection: &str,
        frame: &str,
    ) -> Result<(), csms_kernel::ports::SendError> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_str(frame).unwrap());
        Ok(())
    }
    async fn close(&self, _connection: &str) -> Result<(), csms_kernel::ports::SendError> {
        Ok(())
    }
}

impl Frames {
    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

fn bad_request_naming(a: &Answer, field: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let msg = a.body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with(field), "{field} not named first in: {msg}");
}

fn book(token: &str, start: &str, end: &str) -> Value {
    json!({"idToken": token, "start": start, "end": end})
}

async fn token(w: &World, value: &str, org: Option<&str>) {
    let headers: Vec<(&str, &str)> = org.map(|o| ("x-organisation", o)).into_iter().collect();
    let made = w
        .call(
            KEY,
            "POST",
            "/id-tokens",
            &headers,
            Some(json!({"idToken": value, "type": "ISO14443", "status": "Accepted"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
}

#[tokio::test]
async fn bookings_are_parsed_conflicts_answer_free_windows_and_cancelling_frees_the_window() {
    let w = world();
    let org_b = OrgId::parse("org-b").unwrap();
    support::organisation(&*w.store, &org_b).await;
    token(&w, "A-BOOKER", None).await;
    token(&w, "B-CARD", Some("org-b")).await;
    w.station("CP-1", OcppVersion::V16, None).await;
    let uri = "/stations/CP-1/evses/1/bookings";

    // Bad input names the field.
    for (body, field) in [
        (book("A-BOOKER", "noon", "2026-12-01T13:00:00Z"), "start"),
        (
            book("A-BOOKER", "2026-12-01T12:00:00Z", "2026-12-01T12:00:00Z"),
            "end",
        ),
        (
            book("A-BOOKER", "2026-12-01T12:00:00Z", "2026-12-02T12:00:01Z"),
            "end",
        ),
        (
            book("A-BOOKER", "2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z"),
            "start",
        ),
        (
            book("A-BOOKER", "2027-03-02T12:00:00Z", "2027-03-02T13:00:00Z"),
            "start",
        ),
        (
            book("", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z"),
            "idToken",
        ),
        // Another organisation's token is not a token of this one.
        (
            book("B-CARD", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z"),
            "idToken",
        ),
        (
            book("NOBODY", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z"),
            "idToken",
        ),
        (
            json!({"idToken": "A-BOOKER", "userId": "someone",
                "start": "2026-12-01T12:00:00Z", "end": "2026-12-01T13:00:00Z"}),
            "userId",
        ),
        (
            json!({"idToken": "A-BOOKER", "userId": "usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB",
                "start": "2026-12-01T12:00:00Z", "end": "2026-12-01T13:00:00Z"}),
            "userId",
        ),
    ] {
        let a = w.admin("POST", uri, Some(body.clone())).await;
        bad_request_naming(&a, field);
    }
    let a = w
        .admin(
            "POST",
            "/stations/CP-1/evses/0/bookings",
            Some(book(
                "A-BOOKER",
                "2026-12-01T12:00:00Z",
                "2026-12-01T13:00:00Z",
            )),
        )
        .await;
    bad_request_naming(&a, "evseId");
    // Another organisation's station is not found.
    let a = w
        .call(
            KEY,
            "POST",
            uri,
            &[("x-organisation", "org-b")],
            Some(book(
                "B-CARD",
                "2026-12-01T12:00:00Z",
                "2026-12-01T13:00:00Z",
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);

    // 12–13 and 15–16 booked.
    let noon = w
        .admin(
            "POST",
            uri,
            Some(book(
                "A-BOOKER",
                "2026-12-01T12:00:00Z",
                "2026-12-01T13:00:00Z",
            )),
        )
        .await;
    assert_eq!(noon.status, StatusCode::CREATED, "{}", noon.text);
    assert_eq!(noon.body["status"], "booked");
    assert_eq!(noon.body["idToken"], "A-BOOKER");
    assert_eq!(noon.body["createdBy"], "admin");
    let three = w
        .admin(
            "POST",
            uri,
            Some(book(
                "A-BOOKER",
                "2026-12-01T15:00:00Z",
                "2026-12-01T16:00:00Z",
            )),
        )
        .await;
    assert_eq!(three.status, StatusCode::CREATED, "{}", three.text);

    // Overlapping: 409 with the free windows of the day from now on.
    let clash = w
        .admin(
            "POST",
            uri,
            Some(book(
                "A-BOOKER",
                "2026-12-01T12:30:00Z",
                "2026-12-01T13:30:00Z",
            )),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.text);
    assert_eq!(clash.body["error"]["code"], "conflict");
    assert_eq!(
        clash.body["freeWindows"],
        json!([
            {"start": "2026-12-01T10:00:00.000Z", "end": "2026-12-01T12:00:00.000Z"},
            {"start": "2026-12-01T13:00:00.000Z", "end": "2026-12-01T15:00:00.000Z"},
            {"start": "2026-12-01T16:00:00.000Z", "end": "2026-12-02T00:00:00.000Z"},
        ]),
        "{}",
        clash.text
    );
    // Touching is fine; another EVSE is free.
    for (u, s, e) in [
        (uri, "2026-12-01T13:00:00Z", "2026-12-01T14:00:00Z"),
        (
            "/stations/CP-1/evses/2/bookings",
            "2026-12-01T12:30:00Z",
            "2026-12-01T13:30:00Z",
        ),
    ] {
        let ok = w.admin("POST", u, Some(book("A-BOOKER", s, e))).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    }

    // The EVSE's bookings overlapping a range, by start.
    let listed = w
        .admin(
            "GET",
            &format!("{uri}?from=2026-12-01T12:30:00Z&to=2026-12-01T15:00:00Z"),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let starts: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["2026-12-01T12:00:00.000Z", "2026-12-01T13:00:00.000Z"]
    );
    let a = w
        .admin(
            "GET",
            &format!("{uri}?from=2026-12-01T12:30:00Z&to=2026-12-01T12:00:00Z"),
            None,
        )
        .await;
    bad_request_naming(&a, "to");
    let all = w.admin("GET", "/bookings?limit=2", None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["items"][0]["start"], "2026-12-01T15:00:00.000Z");
    assert!(all.body["nextCursor"].is_string());
    let b_sees = w
        .call(
            KEY,
            "GET",
            "/bookings",
            &[("x-organisation", "org-b")],
            None,
        )
        .await;
    assert_eq!(b_sees.body["items"], json!([]), "{}", b_sees.text);

    // Read and cancel; a cancelled booking frees its window.
    let id = noon.body["id"].as_str().unwrap();
    let got = w.admin("GET", &format!("/bookings/{id}"), None).await;
    assert_eq!(got.body, noon.body);
    let a = w.admin("GET", "/bookings/bk_nope", None).await;
    bad_request_naming(&a, "id");
    let theirs = w
        .call(
            KEY,
            "POST",
            &format!("/bookings/{id}/cancel"),
            &[("x-organisation", "org-b")],
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.text);
    let cancelled = w
        .admin("POST", &format!("/bookings/{id}/cancel"), None)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["version"], 2);
    let again = w
        .admin("POST", &format!("/bookings/{id}/cancel"), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let retaken = w
        .admin(
            "POST",
            uri,
            Some(book(
                "A-BOOKER",
                "2026-12-01T12:00:00Z",
                "2026-12-01T13:00:00Z",
            )),
        )
        .await;
    assert_eq!(retaken.status, StatusCode::CREATED, "{}", retaken.text);
}

#[tokio::test]
async fn during_the_window_only_the_booker_starts_on_the_evse() {
    let w = world();
    token(&w, "A-BOOKER", None).await;
    token(&w, "A-OTHER", None).await;
    let st16 = w.station("CP-16", OcppVersion::V16, None).await;
    let st201 = w.station("CP-201", OcppVersion::V201, None).await;
    let mut ids = vec![];
    for st in ["CP-16", "CP-201"] {
        let made = w
            .admin(
                "POST",
                &format!("/stations/{st}/evses/1/bookings"),
                Some(book(
                    "A-BOOKER",
                    "2026-12-01T10:30:00Z",
                    "2026-12-01T11:30:00Z",
                )),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        ids.push(made.body["id"].as_str().unwrap().to_owned());
    }
    let start16 = |tag: &str, connector: u32| {
        json!({"connectorId": connector, "idTag": tag, "meterStart": 0,
            "timestamp": "2026-12-01T10:45:00Z"})
    };
    // Before the window anyone of the organisation starts.
    let before = w
        .ocpp(&st16, "StartTransaction", start16("A-OTHER", 1))
        .await;
    assert_eq!(before["idTagInfo"]["status"], "Accepted", "{before}");

    w.clock.advance(45 * 60);
    // In the window: another token is refused on the booked EVSE only.
    let refused = w
        .ocpp(&st16, "StartTransaction", start16("A-OTHER", 1))
        .await;
    assert_eq!(refused["idTagInfo"]["status"], "Invalid", "{refused}");
    let elsewhere = w
        .ocpp(&st16, "StartTransaction", start16("A-OTHER", 2))
        .await;
    assert_eq!(elsewhere["idTagInfo"]["status"], "Accepted", "{elsewhere}");
    // Authorize names no EVSE: not checked against bookings.
    assert_eq!(w.authorize16(&st16, "A-OTHER").await["status"], "Accepted");
    assert_eq!(
        w.authorize201(&st201, "A-OTHER", "ISO14443").await["status"],
        "Accepted"
    );
    let event = |token: &str, tx: &str| {
        json!({"eventType": "Started", "timestamp": "2026-12-01T10:45:00Z",
            "triggerReason": "Authorized", "seqNo": 0,
            "transactionInfo": {"transactionId": tx}, "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": token, "type": "ISO14443"}})
    };
    let refused = w
        .ocpp(&st201, "TransactionEvent", event("A-OTHER", "tx-o"))
        .await;
    assert_eq!(refused["idTokenInfo"]["status"], "Invalid", "{refused}");
    let remote = w
        .admin(
            "POST",
            "/stations/CP-16/commands",
            Some(json!({"type": "remoteStart", "idToken": "A-OTHER", "evseId": 1})),
        )
        .await;
    assert_eq!(remote.status, StatusCode::CONFLICT, "{}", remote.text);
    assert!(remote.text.contains("booked"), "{}", remote.text);

    // The booker starts: accepted, and the booking is active.
    let booker = w
        .ocpp(&st16, "StartTransaction", start16("A-BOOKER", 1))
        .await;
    assert_eq!(booker["idTagInfo"]["status"], "Accepted", "{booker}");
    let booker = w
        .ocpp(&st201, "TransactionEvent", event("A-BOOKER", "tx-b"))
        .await;
    assert_eq!(booker["idTokenInfo"]["status"], "Accepted", "{booker}");
    for id in &ids {
        let b = w.admin("GET", &format!("/bookings/{id}"), None).await;
        assert_eq!(b.body["status"], "active", "{}", b.text);
    }

    // The refusals are listed with the reason.
    let listed = w.admin("GET", "/access-attempts", None).await;
    let reasons: Vec<(String, String)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["source"].as_str().unwrap().to_owned(),
                a["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("remoteStart".to_owned(), "booked".to_owned()),
            ("TransactionEvent".to_owned(), "booked".to_owned()),
            ("StartTransaction".to_owned(), "booked".to_owned()),
        ]
    );

    // After the window, anyone again.
    w.clock.advance(3600);
    let after = w
        .ocpp(&st16, "StartTransaction", start16("A-OTHER", 1))
        .await;
    assert_eq!(after["idTagInfo"]["status"], "Accepted", "{after}");
}

/// The sweep at lead time sends ReserveNow once (an offline station: the
/// command ends `offline` at once, the booking is refused); a booking
/// whose booker never comes is a no-show after the grace period, and a
/// booker who started is completed at the end. Repeated sweeps change
/// nothing more and send nothing more.
#[tokio::test]
async fn the_sweep_reserves_once_refuses_for_an_offline_station_and_ends_bookings() {
    use csms_commands::booking_sweep::BookingTimes;
    use csms_kernel::ports::Clock;
    let w = world();
    token(&w, "A-BOOKER", None).await;
    // Never connected.
    let new = csms_charging::registry::NewStation {
        id: "CP-OFF".into(),
        ..Default::default()
    };
    register_station(&*w.store, &*w.clock, new, None).await;
    let st = w.station("CP-ON", OcppVersion::V16, None).await;
    let make = |st: &'static str, evse: u32| {
        let w = &w;
        async move {
            let made = w
                .admin(
                    "POST",
                    &format!("/stations/{st}/evses/{evse}/bookings"),
                    Some(book(
                        "A-BOOKER",
                        "2026-12-01T11:00:00Z",
                        "2026-12-01T12:00:00Z",
                    )),
                )
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
            made.body["id"].as_str().unwrap().to_owned()
        }
    };
    let offline = make("CP-OFF", 1).await;
    let ghost = make("CP-ON", 1).await;
    let booker = make("CP-ON", 2).await;
    let times = BookingTimes::default();
    let status = |id: String| {
        let w = &w;
        async move {
            let b = w.admin("GET", &format!("/bookings/{id}"), None).await;
            (
                b.body["status"].as_str().unwrap().to_owned(),
                b.body["reserveOutcome"].as_str().map(str::to_owned),
            )
        }
    };
    let commands = |st: &'static str| {
        let w = &w;
        async move {
            w.admin("GET", &format!("/stations/{st}/commands"), None)
                .await
                .body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["type"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // 10:00: an hour before; nothing is due.
    assert_eq!(
        w.commands
            .sweep_bookings_everywhere(times, w.clock.now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(status(offline.clone()).await.0, "booked");
    // 10:56: within the lead time.
    w.clock.advance(56 * 60);
    let changed = w
        .commands
        .sweep_bookings_everywhere(times, w.clock.now())
        .await
        .unwrap();
    assert_eq!(changed, 3);
    assert_eq!(
        status(offline.clone()).await,
        ("refused".to_owned(), Some("offline".to_owned()))
    );
    assert_eq!(commands("CP-OFF").await, ["reserveNow"]);
    assert_eq!(
        *w.refused.0.lock().unwrap(),
        vec![offline.clone()],
        "booking.refused"
    );
    // The connected station has not answered yet: pending, one call out.
    let (st_ghost, outcome) = status(ghost.clone()).await;
    assert_eq!(st_ghost, "booked");
    assert!(outcome.is_some_and(|o| o.starts_with("pending:")));
    let sent = w.frames.all();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0][2], "ReserveNow");
    assert_eq!(sent[0][3]["idTag"], "A-BOOKER");
    assert_eq!(sent[0][3]["expiryDate"], "2026-12-01T12:00:00.000Z");
    // Again: nothing more is sent or written.
    for _ in 0..2 {
        assert_eq!(
            w.commands
                .sweep_bookings_everywhere(times, w.clock.now())
                .await
                .unwrap(),
            0
        );
    }
    assert_eq!(commands("CP-OFF").await, ["reserveNow"]);
    assert_eq!(commands("CP-ON").await, ["reserveNow", "reserveNow"]);
    assert_eq!(w.refused.0.lock().unwrap().len(), 1, "published once");
    // The station accepts both (the second is sent once the first is answered).
    for i in 0..2 {
        let call = w.frames.all()[i].clone();
        assert_eq!(call[2], "ReserveNow");
        let reply = json!([3, call[1], {"status": "Accepted"}]).to_string();
        w.charger.on_message("conn-CP-ON", &reply).await;
    }
    assert_eq!(
        w.commands
            .sweep_bookings_everywhere(times, w.clock.now())
            .await
            .unwrap(),
        2
    );
    for id in [&ghost, &booker] {
        assert_eq!(
            status(id.clone()).await,
            ("reserved".to_owned(), Some("Accepted".to_owned()))
        );
    }
    // The station's EVSEs show as reserved.
    for connector in [1, 2] {
        w.ocpp(
            &st,
            "StatusNotification",
            json!({"connectorId": connector, "errorCode": "NoError", "status": "Available"}),
        )
        .await;
    }
    let shown = w.admin("GET", "/stations/CP-ON", None).await;
    assert_eq!(
        shown.body["evses"][0]["reservedFor"],
        ghost.as_str(),
        "{}",
        shown.text
    );
    assert_eq!(
        shown.body["evses"][0]["connectors"][0]["status"],
        "Reserved"
    );
    assert_eq!(shown.body["evses"][1]["reservedFor"], booker.as_str());

    // 11:05: the booker starts on EVSE 2.
    w.clock.advance(9 * 60);
    let started = w
        .ocpp(
            &st,
            "StartTransaction",
            json!({"connectorId": 2, "idTag": "A-BOOKER", "meterStart": 0,
                "timestamp": "2026-12-01T11:05:00Z"}),
        )
        .await;
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    assert_eq!(status(booker.clone()).await.0, "active");
    // 11:16: past the grace period, the other booker never came.
    w.clock.advance(11 * 60);
    w.commands
        .sweep_bookings_everywhere(times, w.clock.now())
        .await
        .unwrap();
    assert_eq!(status(ghost.clone()).await.0, "noShow");
    let shown = w.admin("GET", "/stations/CP-ON", None).await;
    assert_eq!(
        shown.body["evses"][0]["reservedFor"],
        Value::Null,
        "{}",
        shown.text
    );
    assert_eq!(
        shown.body["evses"][0]["connectors"][0]["status"],
        "Available"
    );
    let last = w.frames.all().last().cloned().unwrap();
    assert_eq!(last[2], "CancelReservation", "{last}");
    let reservation = w
        .admin("GET", &format!("/bookings/{ghost}"), None)
        .await
        .body["reservationId"]
        .clone();
    assert_eq!(last[3]["reservationId"], reservation);
    assert_eq!(status(offline.clone()).await.0, "noShow");
    assert_eq!(status(booker.clone()).await.0, "active");
    // 12:00: the window is over.
    w.clock.advance(44 * 60);
    w.commands
        .sweep_bookings_everywhere(times, w.clock.now())
        .await
        .unwrap();
    assert_eq!(status(booker.clone()).await.0, "completed");
    assert_eq!(
        w.commands
            .sweep_bookings_everywhere(times, w.clock.now())
            .await
            .unwrap(),
        0,
        "final bookings are no longer due"
    );
}
