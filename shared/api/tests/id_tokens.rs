//! LaddID (issue 17.3) through the API and the charger handlers, over the
//! embedded store: the id token life cycle (read one, change, block and
//! unblock, delete), AutoCharge MAC normalisation, what chargers of both
//! versions are answered, and identifiers seen and not registered.

mod support;

use axum::http::StatusCode;
use chrono::{TimeDelta, TimeZone, Utc};
use csms_domain::api_key::Scope;
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
    assert!(msg.contains(field), "{field} not named in: {msg}");
}

#[tokio::test]
async fn an_id_token_is_read_changed_blocked_unblocked_and_deleted() {
    let w = world();
    let made = w
        .admin(
            "POST",
            "/id-tokens",
            Some(json!({
                "idToken": "CARD/7 a", "type": "ISO14443", "status": "Accepted",
                "validFrom": "2026-11-01T00:00:00Z", "expiresAt": "2027-12-31T23:59:59Z",
                "parentId": "FLEET-1", "group": "residents", "emaid": "SE-ABC-C12345678-X",
                "label": "Anna Andersson"
            })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let b = &made.body;
    assert_eq!(b["validTo"], "2027-12-31T23:59:59.000Z");
    assert_eq!(b["expiresAt"], b["validTo"]);
    assert_eq!(
        (&b["parentId"], &b["emaid"], &b["label"], &b["version"]),
        (
            &json!("FLEET-1"),
            &json!("SE-ABC-C12345678-X"),
            &json!("Anna Andersson"),
            &json!(1)
        )
    );
    assert_eq!(b["block"], Value::Null);

    // Read one: URL-encoded, any case.
    let uri = "/id-tokens/card%2F7%20A";
    let got = w.admin("GET", uri, None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body, made.body);

    // Change: fields set, `null` clears, the rest stays.
    let patched = w
        .admin(
            "PATCH",
            uri,
            Some(json!({"label": null, "validTo": "2028-01-01T00:00:00Z", "parentId": "FLEET-2"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let p = &patched.body;
    assert_eq!(p["label"], Value::Null);
    assert_eq!(p["validTo"], "2028-01-01T00:00:00.000Z");
    assert_eq!(p["parentId"], "FLEET-2");
    assert_eq!(p["group"], "residents");
    assert_eq!(p["version"], 2);
    // A stale If-Match: 412; the current one: applied.
    let stale = w
        .call(
            KEY,
            "PATCH",
            uri,
            &[("if-match", "1")],
            Some(json!({"label": "x"})),
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    let current = w
        .call(
            KEY,
            "PATCH",
            uri,
            &[("if-match", "\"2\"")],
            Some(json!({"label": "x"})),
        )
        .await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.text);

    // Bad input names the field.
    for (body, field) in [
        (json!({"type": "ISO15693"}), "type"),
        (json!({"status": "Gone"}), "status"),
        (json!({"validFrom": "tomorrow"}), "validFrom"),
        (json!({"validFrom": "2029-01-01T00:00:00Z"}), "validTo"),
        (json!({"parentId": "P".repeat(21)}), "parentId"),
        (json!({"group": "a b"}), "group"),
        (json!({"emaid": "SE ABC"}), "emaid"),
        (json!({"label": "x".repeat(201)}), "label"),
        (json!({"colour": "red"}), "colour"),
    ] {
        bad_request_naming(&w.admin("PATCH", uri, Some(body)).await, field);
    }

    // Block: a reason is required, at most 200 characters.
    bad_request_naming(
        &w.admin("POST", &format!("{uri}/block"), Some(json!({})))
            .await,
        "reason",
    );
    bad_request_naming(
        &w.admin(
            "POST",
            &format!("{uri}/block"),
            Some(json!({"reason": "  "})),
        )
        .await,
        "reason",
    );
    bad_request_naming(
        &w.admin(
            "POST",
            &format!("{uri}/block"),
            Some(json!({"reason": "r".repeat(201)})),
        )
        .await,
        "reason",
    );
    let org = OrgId::default_org();
    let partner = support::partner_key(&*w.store, &org, vec![Scope::Admin]).await;
    let blocked = w
        .call(
            &partner,
            "POST",
            &format!("{uri}/block"),
            &[],
            Some(json!({"reason": "card lost"})),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.text);
    assert_eq!(blocked.body["status"], "Blocked");
    let block = &blocked.body["block"];
    assert_eq!(block["reason"], "card lost");
    assert!(partner.contains(block["by"].as_str().unwrap()), "{block}");
    assert_eq!(block["at"], "2026-12-01T10:00:00.000Z");
    assert_eq!(block["unblockedAt"], Value::Null);

    w.clock.advance(3600);
    let unblocked = w.admin("POST", &format!("{uri}/unblock"), None).await;
    assert_eq!(unblocked.status, StatusCode::OK, "{}", unblocked.text);
    assert_eq!(unblocked.body["status"], "Accepted");
    let block = &unblocked.body["block"];
    assert_eq!(
        (
            &block["reason"],
            &block["unblockedAt"],
            &block["unblockedBy"]
        ),
        (
            &json!("card lost"),
            &json!("2026-12-01T11:00:00.000Z"),
            &json!("admin")
        )
    );
    assert_eq!(unblocked.body["updatedAt"], "2026-12-01T11:00:00.000Z");
    let again = w.admin("POST", &format!("{uri}/unblock"), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    // A read key reads, and changes nothing.
    let reader = support::partner_key(&*w.store, &org, vec![Scope::Read]).await;
    assert_eq!(
        w.call(&reader, "GET", uri, &[], None).await.status,
        StatusCode::OK
    );
    for (method, path, body) in [
        ("PATCH", uri.to_owned(), Some(json!({"label": "x"}))),
        ("DELETE", uri.to_owned(), None),
        ("POST", format!("{uri}/block"), Some(json!({"reason": "x"}))),
        ("POST", format!("{uri}/unblock"), None),
    ] {
        let a = w.call(&reader, method, &path, &[], body).await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            a.text
        );
    }

    // Delete: gone, and a second delete is a 404 too.
    assert_eq!(
        w.admin("DELETE", uri, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.admin("GET", uri, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.admin("DELETE", uri, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_organisations_token_is_not_found_and_not_accepted_at_its_stations() {
    let w = world();
    let made = w
        .admin(
            "POST",
            "/id-tokens",
            Some(json!({"idToken": "A-CARD", "type": "ISO14443", "status": "Accepted"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let org_b = OrgId::parse("org-b").unwrap();
    let b = support::partner_key(&*w.store, &org_b, Scope::ALL.to_vec()).await;
    let theirs = w.call(&b, "GET", "/id-tokens/A-CARD", &[], None).await;
    let missing = w.call(&b, "GET", "/id-tokens/A-CARE", &[], None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.text.replace("A-CARD", "A-CARE"),
        missing.text,
        "told apart from a missing one"
    );
    // At a station of B, A's token is refused like an unknown one, and B's
    // unregistered list does not learn A's token either (it exists).
    let st16 = w.station("CP-B16", OcppVersion::V16, Some("org-b")).await;
    let st201 = w.station("CP-B201", OcppVersion::V201, Some("org-b")).await;
    assert_eq!(w.authorize16(&st16, "A-CARD").await["status"], "Invalid");
    assert_eq!(
        w.authorize201(&st201, "A-CARD", "ISO14443").await["status"],
        "Invalid"
    );
    // At A's own station it is accepted.
    let st_a = w.station("CP-A", OcppVersion::V16, None).await;
    assert_eq!(w.authorize16(&st_a, "a-card").await["status"], "Accepted");
}

#[tokio::test]
async fn chargers_of_both_versions_get_the_new_fields_answered() {
    let w = world();
    let v16 = w.station("CP-16", OcppVersion::V16, None).await;
    let v201 = w.station("CP-201", OcppVersion::V201, None).await;
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let t = |d: TimeDelta| (now + d).to_rfc3339();
    for (tag, extra) in [
        ("PARENTED", json!({"parentId": "FLEET-9"})),
        ("NOT-YET", json!({"validFrom": t(TimeDelta::hours(1))})),
        ("PAST", json!({"validTo": t(TimeDelta::seconds(-1))})),
        ("TO-BLOCK", json!({})),
    ] {
        let mut body = json!({"idToken": tag, "type": "ISO14443", "status": "Accepted"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let a = w.admin("POST", "/id-tokens", Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let a16 = w.authorize16(&v16, "PARENTED").await;
    assert_eq!(
        (&a16["status"], &a16["parentIdTag"]),
        (&json!("Accepted"), &json!("FLEET-9"))
    );
    let a201 = w.authorize201(&v201, "PARENTED", "ISO14443").await;
    assert_eq!(a201["status"], "Accepted");
    assert_eq!(
        a201["groupIdToken"],
        json!({"idToken": "FLEET-9", "type": "Central"})
    );

    assert_eq!(w.authorize16(&v16, "NOT-YET").await["status"], "Invalid");
    assert_eq!(
        w.authorize201(&v201, "NOT-YET", "ISO14443").await["status"],
        "NotAtThisTime"
    );
    assert_eq!(w.authorize16(&v16, "PAST").await["status"], "Expired");
    assert_eq!(
        w.authorize201(&v201, "PAST", "ISO14443").await["status"],
        "Expired"
    );

    let block = w
        .admin(
            "POST",
            "/id-tokens/TO-BLOCK/block",
            Some(json!({"reason": "misuse"})),
        )
        .await;
    assert_eq!(block.status, StatusCode::OK);
    assert_eq!(w.authorize16(&v16, "TO-BLOCK").await["status"], "Blocked");
    assert_eq!(
        w.authorize201(&v201, "TO-BLOCK", "ISO14443").await["status"],
        "Blocked"
    );
    let start = w
        .ocpp(
            &v16,
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TO-BLOCK", "meterStart": 0, "timestamp": now.to_rfc3339()}),
        )
        .await;
    assert_eq!(start["idTagInfo"]["status"], "Blocked");
    w.admin("POST", "/id-tokens/TO-BLOCK/unblock", None).await;
    assert_eq!(w.authorize16(&v16, "TO-BLOCK").await["status"], "Accepted");
    assert_eq!(
        w.authorize201(&v201, "TO-BLOCK", "ISO14443").await["status"],
        "Accepted"
    );
}

#[tokio::test]
async fn autocharge_mac_addresses_match_in_any_spelling() {
    let w = world();
    let made = w
        .admin(
            "POST",
            "/id-tokens",
            Some(json!({"idToken": "VID:01:23:45:67:89:ab", "type": "MacAddress", "status": "Accepted"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["idToken"], "0123456789AB");
    let dup = w
        .admin(
            "POST",
            "/id-tokens",
            Some(
                json!({"idToken": "01-23-45-67-89-AB", "type": "MacAddress", "status": "Accepted"}),
            ),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);
    bad_request_naming(
        &w.admin(
            "POST",
            "/id-tokens",
            Some(json!({"idToken": "04A1B2", "type": "MacAddress", "status": "Accepted"})),
        )
        .await,
        "idToken",
    );
    let got = w.admin("GET", "/id-tokens/01-23-45-67-89-ab", None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);

    let v16 = w.station("CP-16", OcppVersion::V16, None).await;
    // 1.6 idTags are at most 20 characters: the separated spellings are
    // 2.0.1's (and the API's).
    for tag in [
        "VID:0123456789AB",
        "vid:0123456789ab",
        "VID-0123456789AB",
        "VID0123456789ab",
    ] {
        assert_eq!(
            w.authorize16(&v16, tag).await["status"],
            "Accepted",
            "{tag}"
        );
    }
    let v201 = w.station("CP-201", OcppVersion::V201, None).await;
    for token in ["01:23:45:67:89:ab", "0123456789AB", "01-23-45-67-89-AB"] {
        assert_eq!(
            w.authorize201(&v201, token, "MacAddress").await["status"],
            "Accepted",
            "{token}"
        );
    }
    // Nothing of it is listed as unregistered.
    let list = w.admin("GET", "/unregistered-id-tokens", None).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn an_unknown_identifier_is_listed_then_registered_in_one_call() {
    let w = world();
    let v16 = w.station("CP-16", OcppVersion::V16, None).await;
    let v201 = w.station("CP-201", OcppVersion::V201, None).await;
    assert_eq!(w.authorize16(&v16, "04UNKNOWN").await["status"], "Invalid");
    assert_eq!(
        w.authorize16(&v16, "vid:aabbccddeeff").await["status"],
        "Invalid"
    );
    assert_eq!(
        w.authorize201(&v201, "E0-STRANGE", "ISO15693").await["status"],
        "Invalid"
    );
    // Again within a minute: not counted; a minute later: counted, at the
    // station it was last seen at.
    w.clock.advance(30);
    w.authorize201(&v201, "04unknown", "ISO14443").await;
    w.clock.advance(31);
    w.authorize201(&v201, "04UNKNOWN", "ISO14443").await;

    let list = w.admin("GET", "/unregistered-id-tokens", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    let values: Vec<&str> = items
        .iter()
        .map(|i| i["idToken"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["04UNKNOWN", "AABBCCDDEEFF", "E0-STRANGE"]);
    assert_eq!(items[0]["count"], 2);
    assert_eq!(items[0]["stationId"], "CP-201");
    assert_eq!(items[0]["type"], "ISO14443");
    assert_eq!(items[0]["firstSeen"], "2026-12-01T10:00:00.000Z");
    assert_eq!(items[0]["lastSeen"], "2026-12-01T10:01:01.000Z");
    assert_eq!(items[1]["type"], "MacAddress");
    assert_eq!(items[2]["type"], "ISO15693");

    // Another organisation sees none of it.
    let b = support::partner_key(
        &*w.store,
        &OrgId::parse("org-b").unwrap(),
        vec![Scope::Admin],
    )
    .await;
    let theirs = w
        .call(&b, "GET", "/unregistered-id-tokens", &[], None)
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    let theirs = w
        .call(
            &b,
            "POST",
            "/unregistered-id-tokens/04UNKNOWN/register",
            &[],
            Some(json!({"status": "Accepted"})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Register: status is required; the type defaults to the one seen.
    bad_request_naming(
        &w.admin(
            "POST",
            "/unregistered-id-tokens/AABBCCDDEEFF/register",
            Some(json!({"label": "x"})),
        )
        .await,
        "status",
    );
    let reg = w
        .admin(
            "POST",
            "/unregistered-id-tokens/AABBCCDDEEFF/register",
            Some(json!({"status": "Accepted", "label": "Volvo EX30", "group": "staff"})),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    assert_eq!(
        (&reg.body["idToken"], &reg.body["type"], &reg.body["label"]),
        (
            &json!("AABBCCDDEEFF"),
            &json!("MacAddress"),
            &json!("Volvo EX30")
        )
    );
    let again = w
        .admin(
            "POST",
            "/unregistered-id-tokens/AABBCCDDEEFF/register",
            Some(json!({"status": "Accepted"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    let list = w
        .admin("GET", "/unregistered-id-tokens?limit=1", None)
        .await;
    assert_eq!(list.body["items"][0]["idToken"], "04UNKNOWN");
    let next = list.body["nextCursor"].as_str().unwrap().to_owned();
    let list = w
        .admin(
            "GET",
            &format!("/unregistered-id-tokens?limit=1&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(list.body["items"][0]["idToken"], "E0-STRANGE");
    assert_eq!(list.body["nextCursor"], Value::Null);

    // Now it is accepted, as the VID: tag it came as.
    assert_eq!(
        w.authorize16(&v16, "VID:AABBCCDDEEFF").await["status"],
        "Accepted"
    );
    // A type given on register wins over the one seen.
    let reg = w
        .admin(
            "POST",
            "/unregistered-id-tokens/e0-strange/register",
            Some(json!({"type": "ISO14443", "status": "Accepted"})),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text);
    assert_eq!(reg.body["type"], "ISO14443");
    assert_eq!(reg.body["idToken"], "E0-STRANGE");
}
