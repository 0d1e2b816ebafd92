//! A person's own things (`/me/…`): the identifiers they hold and the
//! sessions those started, whichever organisation's stations; nobody else's,
//! and no API key's.

mod support;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use csms_domain::session::{Session, SessionUpdate};
use csms_domain::user::UserId;
use csms_domain::{OrgId, StationId, TransactionId};
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;

const KEY: &str = "test-admin-key-0123456789";

async fn admin(app: &axum::Router, method: &str, uri: &str, org: &str, body: Value) -> Value {
    let (status, got) = support::call_json(
        app,
        method,
        &format!(
            "{uri}{}org={org}",
            if uri.contains('?') { "&" } else { "?" }
        ),
        KEY,
        Some(body.to_string()),
    )
    .await;
    assert!(status.is_success(), "{method} {uri}: {status} {got}");
    got
}

async fn person(app: &axum::Router, org: &str, email: &str, role: &str) -> String {
    let made = admin(
        app,
        "POST",
        "/users",
        org,
        json!({"email": email, "name": email, "password": "password-123", "role": role}),
    )
    .await;
    made["id"].as_str().unwrap().to_owned()
}

async fn session_of(
    store: &dyn Store,
    station: &str,
    org: &str,
    tx: &str,
    hour: u32,
    user: Option<&str>,
) -> Session {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap();
    let mut s = Session::blank(
        &StationId::parse(station).unwrap(),
        OrgId::parse(org).unwrap(),
        None,
        &TransactionId::parse(tx).unwrap(),
        at,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        id_token: Some("CARD".into()),
        user_id: user.map(|u| UserId::parse(u).unwrap()),
        started_at: Some(at),
        ..Default::default()
    });
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    s
}

#[tokio::test]
async fn a_driver_sees_their_own_cards_and_sessions_in_every_organisation_and_nobody_elses() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    for org in ["brf-a", "brf-b"] {
        support::organisation(&*store, &OrgId::parse(org).unwrap()).await;
    }
    let anna = person(&app, "brf-a", "anna@example.se", "driver").await;
    let bo = person(&app, "brf-a", "bo@example.se", "driver").await;
    let card = |v: &str, user: &str| json!({"idToken": v, "type": "ISO14443", "status": "Accepted", "userId": user});
    admin(&app, "POST", "/id-tokens", "brf-a", card("ANNA-A", &anna)).await;
    admin(&app, "POST", "/id-tokens", "brf-a", card("BO-A", &bo)).await;

    // The holder must be a person of the token's organisation, named right.
    let (status, got) = support::call_json(
        &app,
        "POST",
        "/id-tokens?org=brf-b",
        KEY,
        Some(card("ANNA-B", &bo).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("userId:"),
        "{got}"
    );
    let (status, got) = support::call_json(
        &app,
        "PATCH",
        "/id-tokens/BO-A?org=brf-a",
        KEY,
        Some(json!({"userId": "anna"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("userId:"),
        "{got}"
    );

    let mine = session_of(&*store, "CP-A1", "brf-a", "1", 8, Some(&anna)).await;
    let later = session_of(&*store, "CP-B1", "brf-b", "2", 9, Some(&anna)).await;
    let bos = session_of(&*store, "CP-A1", "brf-a", "3", 10, Some(&bo)).await;
    session_of(&*store, "CP-A1", "brf-a", "4", 11, None).await;

    let (cookie, csrf) = support::sign_in(&app, "anna@example.se", "password-123").await;
    let as_anna = (cookie.as_str(), csrf.as_str());
    let (status, tokens) = support::person_json(&app, "GET", "/me/id-tokens", as_anna, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let values: Vec<&str> = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["idToken"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["ANNA-A"]);
    assert_eq!(tokens["items"][0]["userId"], anna.as_str());

    let (status, sessions) =
        support::person_json(&app, "GET", "/me/sessions?limit=1", as_anna, None).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    assert_eq!(sessions["items"][0]["id"], later.id.as_str());
    let cursor = sessions["nextCursor"].as_str().unwrap().to_owned();
    let (_, rest) = support::person_json(
        &app,
        "GET",
        &format!("/me/sessions?limit=5&cursor={cursor}"),
        as_anna,
        None,
    )
    .await;
    let ids: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.id.as_str()]);

    let (status, one) = support::person_json(
        &app,
        "GET",
        &format!("/me/sessions/{}", mine.id),
        as_anna,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["session"]["id"], mine.id.as_str());
    assert_eq!(one["price"], Value::Null);
    // Bo's session, and one of nobody, are not found — alike.
    let (status, theirs) = support::person_json(
        &app,
        "GET",
        &format!("/me/sessions/{}", bos.id),
        as_anna,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{theirs}");
    let (status, _) =
        support::person_json(&app, "GET", "/me/sessions/CP-A1~4", as_anna, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A driver has nothing of the operator API…
    let (status, _) = support::person_json(&app, "GET", "/sessions", as_anna, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // …and a key has no "me".
    let (status, got) = support::call_json(&app, "GET", "/me/sessions", KEY, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{got}");

    // A card handed to Bo leaves Anna's list; her sessions stay hers.
    admin(
        &app,
        "PATCH",
        "/id-tokens/ANNA-A",
        "brf-a",
        json!({"userId": bo}),
    )
    .await;
    let (_, tokens) = support::person_json(&app, "GET", "/me/id-tokens", as_anna, None).await;
    assert_eq!(tokens["items"], json!([]));
    let (_, sessions) = support::person_json(&app, "GET", "/me/sessions", as_anna, None).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 2);

    // Bo leaves the co-operative: the cards he held there stay its cards,
    // held by nobody.
    let (status, _) =
        support::call_json(&app, "DELETE", &format!("/users/{bo}?org=brf-a"), KEY, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for card in ["ANNA-A", "BO-A"] {
        let (status, got) = support::call_json(
            &app,
            "GET",
            &format!("/id-tokens/{card}?org=brf-a"),
            KEY,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["userId"], Value::Null, "{card}: {got}");
    }
}

#[tokio::test]
async fn a_driver_rates_an_ended_session_once_changes_it_for_seven_days_and_operators_see_the_average(
) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let start = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(support::ManualClock::at(start));
    let app = support::app_with(store.clone(), KEY, clock.clone(), None);
    admin(
        &app,
        "POST",
        "/sites",
        "default",
        json!({"id": "garage", "name": "Garage", "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm"}}),
    )
    .await;
    admin(
        &app,
        "POST",
        "/stations",
        "default",
        json!({"id": "CP-R1", "siteId": "garage"}),
    )
    .await;
    let anna = person(&app, "default", "anna@example.se", "driver").await;
    let bo = person(&app, "default", "bo@example.se", "driver").await;
    let mut ended = session_of(&*store, "CP-R1", "default", "1", 8, Some(&anna)).await;
    ended.site_id = Some(csms_domain::SiteId::parse("garage").unwrap());
    ended.apply(&SessionUpdate {
        end: Some(csms_domain::session::SessionEnd {
            ended_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            reason: None,
            meter_stop_wh: None,
        }),
        ..Default::default()
    });
    ended.version = 2;
    store.put_session(&ended, 1).await.unwrap();
    let active = session_of(&*store, "CP-R1", "default", "2", 9, Some(&anna)).await;
    let bos = session_of(&*store, "CP-R1", "default", "3", 10, Some(&bo)).await;

    // Signed in afresh after each jump of the clock (sessions end when idle).
    let rate = |id: String, body: Value| {
        let app = app.clone();
        async move {
            let (cookie, csrf) = support::sign_in(&app, "anna@example.se", "password-123").await;
            support::person_json(
                &app,
                "PUT",
                &format!("/me/sessions/{id}/rating"),
                (&cookie, &csrf),
                Some(body.to_string()),
            )
            .await
        }
    };
    let uri = ended.id.to_string();
    for (body, field) in [
        (json!({"stars": 0}), "stars"),
        (json!({"stars": 6}), "stars"),
        (json!({"stars": 4.5}), "stars"),
        (json!({"stars": 4, "comment": "x".repeat(1001)}), "comment"),
        (json!({"stars": 4, "mood": "great"}), "mood"),
    ] {
        let (status, got) = rate(uri.clone(), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
        let message = got["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let (status, got) = rate(active.id.to_string(), json!({"stars": 5})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    let (status, _) = rate(bos.id.to_string(), json!({"stars": 5})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, first) = rate(uri.clone(), json!({"stars": 4, "comment": " Bra laddare "})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["stars"].as_u64(), first["comment"].as_str()),
        (Some(4), Some("Bra laddare"))
    );
    assert_eq!(first["editableUntil"], "2026-12-09T09:00:00.000Z");
    clock.advance(6 * 24 * 3600);
    let (status, again) = rate(uri.clone(), json!({"stars": 2})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["version"].as_u64(), again["comment"].clone()),
        (Some(2), Value::Null)
    );
    let (cookie, csrf) = support::sign_in(&app, "anna@example.se", "password-123").await;
    let (_, one) = support::person_json(
        &app,
        "GET",
        &format!("/me/sessions/{uri}"),
        (&cookie, &csrf),
        None,
    )
    .await;
    assert_eq!(one["rating"]["stars"], 2);
    clock.advance(2 * 24 * 3600);
    let (status, late) = rate(uri.clone(), json!({"stars": 5})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{late}");

    // Operators: the station's and the site's count and average, no person.
    let (status, station) =
        support::call_json(&app, "GET", "/stations/CP-R1/ratings", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{station}");
    assert_eq!(
        (station["count"].as_u64(), station["average"].as_str()),
        (Some(1), Some("2.00"))
    );
    assert_eq!(station["items"][0]["sessionId"], uri.as_str());
    assert!(!station.to_string().contains(&anna), "{station}");
    let (_, site) = support::call_json(&app, "GET", "/sites/garage/ratings", KEY, None).await;
    assert_eq!(site, json!({"count": 1, "average": "2.00"}));
}

#[tokio::test]
async fn a_driver_books_an_evse_with_their_own_card_reads_and_cancels_it_and_nobody_elses() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    for org in ["brf-a", "brf-b"] {
        support::organisation(&*store, &OrgId::parse(org).unwrap()).await;
        admin(
            &app,
            "POST",
            "/stations",
            org,
            json!({"id": format!("CP-{org}")}),
        )
        .await;
    }
    let anna = person(&app, "brf-a", "anna@example.se", "driver").await;
    let bo = person(&app, "brf-a", "bo@example.se", "driver").await;
    let card = |v: &str, user: &str| json!({"idToken": v, "type": "ISO14443", "status": "Accepted", "userId": user});
    admin(
        &app,
        "POST",
        "/id-tokens",
        "brf-a",
        card("ANNA-CARD", &anna),
    )
    .await;
    admin(&app, "POST", "/id-tokens", "brf-a", card("BO-CARD", &bo)).await;
    let start = Utc::now() + chrono::TimeDelta::hours(2);
    let window = |h: i64| {
        let s = start + chrono::TimeDelta::hours(h);
        (
            s.to_rfc3339(),
            (s + chrono::TimeDelta::hours(1)).to_rfc3339(),
        )
    };
    let (cookie, csrf) = support::sign_in(&app, "anna@example.se", "password-123").await;
    let me = (cookie.as_str(), csrf.as_str());
    let book = |body: Value| {
        let app = app.clone();
        async move {
            support::person_json(&app, "POST", "/me/bookings", me, Some(body.to_string())).await
        }
    };
    let (s0, e0) = window(0);
    // Her card is taken when she names none.
    let (status, mine) =
        book(json!({"stationId": "CP-brf-a", "evseId": 1, "start": s0, "end": e0})).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!(
        (mine["idToken"].as_str(), mine["userId"].as_str()),
        (Some("ANNA-CARD"), Some(anna.as_str()))
    );
    // Not with Bo's card; not at a station of an organisation she is not in.
    let (s1, e1) = window(3);
    let (status, got) = book(
        json!({"stationId": "CP-brf-a", "evseId": 1, "idToken": "BO-CARD", "start": s1, "end": e1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("idToken:"),
        "{got}"
    );
    let (status, _) =
        book(json!({"stationId": "CP-brf-b", "evseId": 1, "start": s1, "end": e1})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Overlapping her own: the free windows come with the 409.
    let (status, taken) =
        book(json!({"stationId": "CP-brf-a", "evseId": 1, "start": s0, "end": e0})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    assert!(
        !taken["freeWindows"].as_array().unwrap().is_empty(),
        "{taken}"
    );

    let id = mine["id"].as_str().unwrap();
    let (status, read) =
        support::person_json(&app, "GET", &format!("/me/bookings/{id}"), me, None).await;
    assert_eq!((status, read["id"].as_str()), (StatusCode::OK, Some(id)));
    // Bo's booking (made by the operator for him) is not hers.
    let (s2, e2) = window(6);
    let his = admin(
        &app,
        "POST",
        "/stations/CP-brf-a/evses/2/bookings",
        "brf-a",
        json!({"idToken": "BO-CARD", "start": s2, "end": e2}),
    )
    .await;
    assert_eq!(
        his["userId"],
        bo.as_str(),
        "the holder of the card by default"
    );
    let his_id = his["id"].as_str().unwrap();
    for (method, uri) in [
        ("GET", format!("/me/bookings/{his_id}")),
        ("POST", format!("/me/bookings/{his_id}/cancel")),
    ] {
        let (status, _) = support::person_json(&app, method, &uri, me, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    let (status, cancelled) =
        support::person_json(&app, "POST", &format!("/me/bookings/{id}/cancel"), me, None).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{cancelled}"
    );
    // Her list holds hers (latest start first, the cancelled one too), not his.
    let (status, listed) = support::person_json(&app, "GET", "/me/bookings", me, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let listed: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    assert!(listed.contains(&(id, "cancelled")), "{listed:?}");
    assert!(!listed.iter().any(|(b, _)| *b == his_id), "{listed:?}");
    let (_, still) = support::call_json(
        &app,
        "GET",
        &format!("/bookings/{his_id}?org=brf-a"),
        KEY,
        None,
    )
    .await;
    assert_eq!(still["status"], "booked");
}
