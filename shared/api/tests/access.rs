//! Access modes through the API and the charger handlers, over the
//! embedded store: a policy is parsed at the edge (errors name the field),
//! written on its version, read as the mode now; the charger's Authorize,
//! StartTransaction and TransactionEvent and a remote start follow it, and
//! refusals are listed with their reason.

mod support;

use axum::http::StatusCode;
use csms_domain::{OcppVersion, OrgId};
use serde_json::{json, Value};
use support::{Answer, ChargerWorld as World};

const KEY: &str = "test-admin-key-0123456789";

/// The API and the charger handlers over one store (`support`).
fn world() -> World {
    World::new()
}

fn bad_request_naming(a: &Answer, field: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let msg = a.body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with(field), "{field} not named first in: {msg}");
}

/// The clock stands on Tuesday 1 December 2026, 10:00 UTC: 11:00 in
/// Stockholm, 05:00 in New York.
#[tokio::test]
async fn a_policy_is_parsed_at_the_edge_versioned_and_read_as_the_mode_now() {
    let w = world();
    w.station("CP-1", OcppVersion::V16, None).await;
    let fresh = w.admin("GET", "/stations/CP-1/access", None).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    assert_eq!(fresh.body["version"], 0);
    assert_eq!(fresh.body["policy"]["default"], "private", "as before");

    let rule = |days: Value, start: &str, end: &str, mode: &str| json!({"days": days, "start": start, "end": end, "mode": mode});
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    for (body, field) in [
        (json!({"default": "open"}), "default"),
        (
            json!({"default": "public", "rules": [rule(weekdays.clone(), "6:00", "18:00", "private")]}),
            "rules[0].start",
        ),
        (
            json!({"default": "public", "rules": [rule(weekdays.clone(), "22:00", "06:00", "private")]}),
            "rules[0].end",
        ),
        (
            json!({"default": "public", "rules": [rule(json!(["mon", "funday"]), "06:00", "18:00", "private")]}),
            "rules[0].days",
        ),
        (
            json!({"default": "public", "rules": [
                rule(weekdays.clone(), "06:00", "18:00", "private"),
                rule(json!(["fri", "sat"]), "17:00", "24:00", "semiPublic")
            ]}),
            "rules[1]",
        ),
        (
            json!({"default": "private", "exceptions": [{"from": "2026-12-26", "to": "2026-12-24", "mode": "public"}]}),
            "exceptions[0].to",
        ),
        (
            json!({"default": "private", "rules": vec![rule(json!(["mon"]), "06:00", "07:00", "public"); 51]}),
            "rules",
        ),
    ] {
        let a = w.admin("PUT", "/stations/CP-1/access", Some(body)).await;
        bad_request_naming(&a, field);
    }

    // Private on weekdays 06:00–18:00, public otherwise, public on a holiday.
    let office = json!({"default": "public",
        "rules": [rule(weekdays.clone(), "06:00", "18:00", "private")],
        "exceptions": [{"from": "2026-12-24", "to": "2026-12-26", "mode": "public"}],
        "groups": ["residents"]});
    let put = w
        .call(
            KEY,
            "PUT",
            "/stations/CP-1/access",
            &[("if-match", "0")],
            Some(office.clone()),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["version"], 1);
    assert_eq!(put.body["policy"]["rules"][0]["start"], "06:00");
    assert_eq!(put.body["policy"]["exceptions"][0]["to"], "2026-12-26");
    let stale = w
        .call(
            KEY,
            "PUT",
            "/stations/CP-1/access",
            &[("if-match", "0")],
            Some(office),
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );

    let now = w.admin("GET", "/stations/CP-1/access/now", None).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.text);
    assert_eq!(now.body["mode"], "private");
    assert_eq!(now.body["listed"], false);
    assert_eq!(now.body["timeZone"], "Europe/Stockholm", "no site record");
    assert_eq!(
        now.body["until"], "2026-12-01T17:00:00.000Z",
        "18:00 in Stockholm"
    );

    // EVSE 2 is public all the time; EVSE 1 follows the station.
    let evse = w
        .admin(
            "PUT",
            "/stations/CP-1/evses/2/access",
            Some(json!({"default": "public"})),
        )
        .await;
    assert_eq!(evse.status, StatusCode::OK, "{}", evse.text);
    assert_eq!(evse.body["version"], 2);
    assert_eq!(evse.body["evses"]["2"]["default"], "public");
    let at2 = w
        .admin("GET", "/stations/CP-1/access/now?evseId=2", None)
        .await;
    assert_eq!(
        (at2.body["mode"].clone(), at2.body["policyOf"].clone()),
        (json!("public"), json!("evse"))
    );
    assert_eq!(at2.body["until"], Value::Null);
    let at1 = w
        .admin("GET", "/stations/CP-1/access/now?evseId=1", None)
        .await;
    assert_eq!(at1.body["policyOf"], "station");
    let gone = w
        .admin("DELETE", "/stations/CP-1/evses/2/access", None)
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert_eq!(gone.body["evses"], json!({}));
    let again = w
        .admin("DELETE", "/stations/CP-1/evses/2/access", None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    let zero = w
        .admin(
            "PUT",
            "/stations/CP-1/evses/0/access",
            Some(json!({"default": "public"})),
        )
        .await;
    bad_request_naming(&zero, "evseId");

    // A site in New York: 05:00 there, before the rule.
    let site = w
        .admin(
            "POST",
            "/sites",
            Some(json!({"id": "NYC", "name": "NYC", "timeZone": "America/New_York",
                "address": {"street": "1 Main St", "postalCode": "10001", "city": "New York", "country": "US"}})),
        )
        .await;
    assert_eq!(site.status, StatusCode::CREATED, "{}", site.text);
    let moved = w
        .admin("PATCH", "/stations/CP-1", Some(json!({"siteId": "NYC"})))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let ny = w.admin("GET", "/stations/CP-1/access/now", None).await;
    assert_eq!(ny.body["mode"], "public");
    assert_eq!(ny.body["timeZone"], "America/New_York");
    assert_eq!(
        ny.body["until"], "2026-12-01T11:00:00.000Z",
        "06:00 in New York"
    );
}

#[tokio::test]
async fn chargers_and_remote_starts_follow_the_mode_and_refusals_are_listed() {
    let w = world();
    let org_b = OrgId::parse("org-b").unwrap();
    support::organisation(&*w.store, &org_b).await;
    let in_b = [("x-organisation", "org-b")];
    let theirs = w
        .call(
            KEY,
            "POST",
            "/id-tokens",
            &in_b,
            Some(json!({"idToken": "B-CARD", "type": "ISO14443", "status": "Accepted"})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
    for (token, group) in [
        ("A-RESIDENT", Some("residents")),
        ("A-GUEST", Some("guests")),
    ] {
        let made = w
            .admin(
                "POST",
                "/id-tokens",
                Some(json!({"idToken": token, "type": "ISO14443",
                "status": "Accepted", "group": group})),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    }
    let st16 = w.station("CP-A16", OcppVersion::V16, None).await;
    let st201 = w.station("CP-A201", OcppVersion::V201, None).await;

    // Private (no policy stored): B's card is refused, A's accepted.
    assert_eq!(w.authorize16(&st16, "B-CARD").await["status"], "Invalid");
    assert_eq!(
        w.authorize201(&st201, "B-CARD", "ISO14443").await["status"],
        "Invalid"
    );
    assert_eq!(w.authorize16(&st16, "A-GUEST").await["status"], "Accepted");

    // Public on Tuesdays now (10:00–12:00 in Stockholm): B's card charges.
    let tuesday = json!({"default": "private", "rules": [
        {"days": ["tue"], "start": "10:00", "end": "12:00", "mode": "public"}]});
    for st in ["CP-A16", "CP-A201"] {
        let put = w
            .admin(
                "PUT",
                &format!("/stations/{st}/access"),
                Some(tuesday.clone()),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    }
    assert_eq!(w.authorize16(&st16, "B-CARD").await["status"], "Accepted");
    assert_eq!(
        w.authorize201(&st201, "B-CARD", "ISO14443").await["status"],
        "Accepted"
    );
    // An unknown card is still refused: there is no payment yet.
    assert_eq!(w.authorize16(&st16, "NOBODY").await["status"], "Invalid");

    // At 12:00 the station is private again.
    w.clock.advance(2 * 3600);
    let start = w
        .ocpp(
            &st16,
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "B-CARD",
            "meterStart": 0, "timestamp": "2026-12-01T12:00:00Z"}),
        )
        .await;
    assert_eq!(start["idTagInfo"]["status"], "Invalid", "{start}");
    let started = w
        .ocpp(
            &st201,
            "TransactionEvent",
            json!({"eventType": "Started",
            "timestamp": "2026-12-01T12:00:00Z", "triggerReason": "Authorized", "seqNo": 0,
            "transactionInfo": {"transactionId": "tx-b"}, "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "B-CARD", "type": "ISO14443"}}),
        )
        .await;
    assert_eq!(started["idTokenInfo"]["status"], "Invalid", "{started}");

    // Only residents, while private.
    let residents = json!({"default": "private", "groups": ["residents"]});
    let put = w
        .admin("PUT", "/stations/CP-A16/access", Some(residents))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(
        w.authorize16(&st16, "A-RESIDENT").await["status"],
        "Accepted"
    );
    assert_eq!(w.authorize16(&st16, "A-GUEST").await["status"], "Invalid");

    // A remote start for B's card is refused, naming why.
    let remote = w
        .admin(
            "POST",
            "/stations/CP-A16/commands",
            Some(json!({"type": "remoteStart", "idToken": "B-CARD", "evseId": 1})),
        )
        .await;
    assert_eq!(remote.status, StatusCode::CONFLICT, "{}", remote.text);
    let msg = remote.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("otherOrganisation") && msg.contains("private"),
        "{msg}"
    );

    // Every refusal, newest first, with its reason.
    let listed = w
        .admin("GET", "/stations/CP-A16/attempts?limit=3", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let seen: Vec<(String, String, String)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["source"].as_str().unwrap().to_owned(),
                a["idToken"].as_str().unwrap().to_owned(),
                a["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let t = |s: &str, tok: &str, r: &str| (s.to_owned(), tok.to_owned(), r.to_owned());
    assert_eq!(
        seen,
        [
            t("remoteStart", "B-CARD", "otherOrganisation"),
            t("Authorize", "A-GUEST", "groupNotAllowed"),
            t("StartTransaction", "B-CARD", "otherOrganisation"),
        ]
    );
    assert_eq!(listed.body["items"][2]["evseId"], 1);
    assert_eq!(listed.body["items"][2]["mode"], "private");
    let next = listed.body["nextCursor"].as_str().expect("a second page");
    let rest = w
        .admin(
            "GET",
            &format!("/stations/CP-A16/attempts?limit=3&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        rest.text
    );
    let at201 = w.admin("GET", "/stations/CP-A201/attempts", None).await;
    assert_eq!(at201.body["items"][0]["source"], "TransactionEvent");
    // B sees none of it.
    let b = support::partner_key(&*w.store, &org_b, vec![csms_domain::api_key::Scope::Read]).await;
    let theirs = w
        .call(&b, "GET", "/stations/CP-A16/attempts", &[], None)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // The organisation's list has them all, of both stations, newest first;
    // B's list is its own (empty).
    let all = w.admin("GET", "/access-attempts", None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        6,
        "four at CP-A16, two at CP-A201: {}",
        all.text
    );
    let stations: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|a| a["stationId"].as_str().unwrap())
        .collect();
    assert_eq!(
        stations,
        ["CP-A16", "CP-A201"].into_iter().collect(),
        "{}",
        all.text
    );
    let times: Vec<&str> = items.iter().map(|a| a["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let of_b = w.call(&b, "GET", "/access-attempts", &[], None).await;
    assert_eq!(of_b.status, StatusCode::OK);
    assert_eq!(of_b.body["items"], serde_json::json!([]));
}
