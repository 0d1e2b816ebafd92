//! Organisations and sites through the API: who may create, read and change
//! them, bad values refused naming the field, versioned changes, the
//! default organisation's record made on first read, a site deleted only
//! when no station stands on it, and a station's `siteId` checked.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn org_body(id: &str) -> Value {
    json!({
        "id": id, "kind": "brf", "legalName": "Bostadsrättsföreningen Solsidan",
        "organisationNumber": "7696001234", "vatNumber": "se 769600123401",
        "address": {"street": "Solvägen 3", "postalCode": "12345", "city": "Solna"},
        "contactEmail": "styrelsen@solsidan.se", "language": "sv",
        "payoutAccount": {"iban": "SE45 5000 0000 0583 9825 7466", "bic": "ESSESESS"}
    })
}

fn site_body(id: &str) -> Value {
    json!({
        "id": id, "name": "Norra garaget",
        "address": {"street": "Solvägen 3", "postalCode": "123 45", "city": "Solna"},
        "coordinates": {"lat": 59.36, "lon": 18.0}, "biddingZone": "SE3",
        "openingHours": {"mon": ["06:00-18:00"], "sat": ["10:00-14:00"]}
    })
}

fn setup() -> (Arc<dyn Store>, axum::Router) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    (store, app)
}

#[tokio::test]
async fn the_platform_admin_creates_and_lists_organisations() {
    let (_, app) = setup();
    let (status, org) = call(
        &app,
        "POST",
        "/organisations",
        KEY,
        &[],
        Some(org_body("brf-solsidan")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    assert_eq!(org["organisationNumber"], "769600-1234");
    assert_eq!(org["vatNumber"], "SE769600123401");
    assert_eq!(org["address"]["postalCode"], "123 45");
    assert_eq!(org["address"]["country"], "SE");
    assert_eq!(
        org["payoutAccount"],
        json!({"kind": "iban", "bankgiro": null, "iban": "SE4550000000058398257466", "bic": "ESSESESS"})
    );
    assert_eq!(org["version"], 1);

    let (status, again) = call(
        &app,
        "POST",
        "/organisations",
        KEY,
        &[],
        Some(org_body("brf-solsidan")),
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // The list holds the default organisation's record too, made on this first read.
    let (status, list) = call(&app, "GET", "/organisations?limit=1", KEY, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], "brf-solsidan");
    let cursor = list["nextCursor"].as_str().unwrap().to_owned();
    let (_, rest) = call(
        &app,
        "GET",
        &format!("/organisations?limit=1&cursor={cursor}"),
        KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(rest["items"][0]["id"], "default");
    assert_eq!(rest["items"][0]["legalName"], "Default organisation");
    assert_eq!(rest["items"][0]["kind"], "cpo");
    assert_eq!(rest["items"][0]["language"], "en");
    assert!(rest["nextCursor"].is_null());
}

#[tokio::test]
async fn bad_values_are_refused_naming_the_field() {
    let (_, app) = setup();
    for (field, value, message) in [
        (
            "organisationNumber",
            json!("769600-1235"),
            "organisationNumber: check digit is wrong",
        ),
        (
            "vatNumber",
            json!("SE769600123402"),
            "vatNumber: a Swedish VAT number is SE, ten digits and 01",
        ),
        (
            "contactEmail",
            json!("styrelsen"),
            "contactEmail: an e-mail address like name@example.com",
        ),
        (
            "payoutAccount",
            json!({"bankgiro": "5050-1056"}),
            "payoutAccount.bankgiro: check digit is wrong",
        ),
        (
            "payoutAccount",
            json!({"iban": "SE4550000000058398257467"}),
            "payoutAccount.iban: check digits are wrong",
        ),
        ("kind", json!("club"), "kind: one of brf, company, cpo"),
    ] {
        let mut body = org_body("brf-x");
        body[field] = value;
        let (status, err) = call(&app, "POST", "/organisations", KEY, &[], Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(err["error"]["message"], message, "{field}");
    }
    for (field, value, message) in [
        (
            "coordinates",
            json!({"lat": -91, "lon": 0}),
            "coordinates.lat: from -90 to 90",
        ),
        (
            "timeZone",
            json!("Europe/Solna"),
            "timeZone: an IANA time zone, e.g. Europe/Stockholm",
        ),
        (
            "openingHours",
            json!({"fri": ["08:00-12:00", "11:30-13:00"]}),
            "openingHours.fri: 08:00-12:00 overlaps 11:30-13:00",
        ),
    ] {
        let mut body = site_body("s-x");
        body[field] = value;
        let (status, err) = call(&app, "POST", "/sites", KEY, &[], Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(err["error"]["message"], message, "{field}");
    }
}

#[tokio::test]
async fn a_partner_key_sees_and_changes_only_its_own_organisation() {
    let (store, app) = setup();
    for id in ["brf-a", "brf-b"] {
        let (status, _) = call(&app, "POST", "/organisations", KEY, &[], Some(org_body(id))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let org_a = OrgId::parse("brf-a").unwrap();
    let admin_a = support::partner_key(&*store, &org_a, vec![Scope::Admin]).await;
    let read_a = support::partner_key(&*store, &org_a, vec![Scope::Read]).await;

    let (status, list) = call(&app, "GET", "/organisations", &read_a, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["brf-a"]);
    let (status, _) = call(&app, "GET", "/organisations/brf-a", &read_a, &[], None).await;
    assert_eq!(status, StatusCode::OK);

    // Another organisation is answered like one that does not exist.
    let (other, other_body) = call(&app, "GET", "/organisations/brf-b", &admin_a, &[], None).await;
    let (missing, missing_body) =
        call(&app, "GET", "/organisations/brf-c", &admin_a, &[], None).await;
    assert_eq!(
        (other, missing),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(
        other_body["error"]["message"]
            .as_str()
            .unwrap()
            .replace("brf-b", "brf-c"),
        missing_body["error"]["message"]
    );
    let (status, _) = call(
        &app,
        "PATCH",
        "/organisations/brf-b",
        &admin_a,
        &[],
        Some(json!({"legalName": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Creating organisations is the platform admin's alone.
    let (status, err) = call(
        &app,
        "POST",
        "/organisations",
        &admin_a,
        &[],
        Some(org_body("brf-d")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    // A read key may not change its organisation; an admin key may.
    let patch =
        json!({"legalName": "Brf A", "payoutAccount": {"bankgiro": "50501055"}, "vatNumber": null});
    let (status, _) = call(
        &app,
        "PATCH",
        "/organisations/brf-a",
        &read_a,
        &[],
        Some(patch.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, org) = call(
        &app,
        "PATCH",
        "/organisations/brf-a",
        &admin_a,
        &[],
        Some(patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        (
            &org["legalName"],
            &org["payoutAccount"]["bankgiro"],
            &org["vatNumber"],
            &org["version"]
        ),
        (
            &json!("Brf A"),
            &json!("5050-1055"),
            &Value::Null,
            &json!(2)
        )
    );
    // A change on a stale version is refused with 412.
    let (status, _) = call(
        &app,
        "PATCH",
        "/organisations/brf-a",
        &admin_a,
        &[("if-match", "\"1\"")],
        Some(json!({"language": "en"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, org) = call(
        &app,
        "PATCH",
        "/organisations/brf-a",
        &admin_a,
        &[("if-match", "2")],
        Some(json!({"language": "en"})),
    )
    .await;
    assert_eq!(
        (status, &org["language"], &org["version"]),
        (StatusCode::OK, &json!("en"), &json!(3))
    );
}

#[tokio::test]
async fn the_default_organisation_has_a_record_after_the_upgrade() {
    let (store, app) = setup();
    let (status, org) = call(&app, "GET", "/organisations/default", KEY, &[], None).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        (&org["kind"], &org["legalName"], &org["organisationNumber"]),
        (&json!("cpo"), &json!("Default organisation"), &Value::Null)
    );
    // A partner key of the default organisation sees it too.
    let key = support::partner_key(&*store, &OrgId::default_org(), vec![Scope::Read]).await;
    let (_, list) = call(&app, "GET", "/organisations", &key, &[], None).await;
    assert_eq!(list["items"][0]["id"], "default");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn sites_belong_to_the_callers_organisation() {
    let (store, app) = setup();
    let (status, site) = call(
        &app,
        "POST",
        "/sites",
        KEY,
        &[],
        Some(site_body("garage-north")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    assert_eq!(
        (
            &site["organisationId"],
            &site["timeZone"],
            &site["biddingZone"],
            &site["openingHours"]["mon"]
        ),
        (
            &json!("default"),
            &json!("Europe/Stockholm"),
            &json!("SE3"),
            &json!(["06:00-18:00"])
        )
    );
    let (status, _) = call(
        &app,
        "POST",
        "/sites",
        KEY,
        &[],
        Some(site_body("garage-north")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // In another organisation (X-Organisation) the site is not there.
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let in_b = [("x-organisation", "org-b")];
    let (status, _) = call(&app, "GET", "/sites/garage-north", KEY, &in_b, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call(&app, "GET", "/sites", KEY, &in_b, None).await;
    assert_eq!(list["items"], json!([]));
    let b = support::partner_key(
        &*store,
        &OrgId::parse("org-b").unwrap(),
        Scope::ALL.to_vec(),
    )
    .await;
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "x"}))),
        ("DELETE", None),
    ] {
        let (status, _) = call(&app, method, "/sites/garage-north", &b, &[], body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
    }
    // B's station may not stand on A's site.
    let (status, err) = call(
        &app,
        "POST",
        "/stations",
        &b,
        &[],
        Some(json!({"id": "CP-B", "siteId": "garage-north"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("siteId: no such site"))
    );

    let (status, site) = call(
        &app,
        "PATCH",
        "/sites/garage-north",
        KEY,
        &[],
        Some(json!({"name": "Norr", "coordinates": null, "openingHours": {"alwaysOpen": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{site}");
    assert_eq!(
        (
            &site["name"],
            &site["coordinates"],
            &site["openingHours"]["alwaysOpen"],
            &site["version"]
        ),
        (&json!("Norr"), &Value::Null, &json!(true), &json!(2))
    );
    let (_, list) = call(&app, "GET", "/sites", KEY, &[], None).await;
    assert_eq!(list["items"][0]["name"], "Norr");
}

#[tokio::test]
async fn a_site_with_stations_is_not_deleted() {
    let (_, app) = setup();
    let (status, err) = call(
        &app,
        "POST",
        "/stations",
        KEY,
        &[],
        Some(json!({"id": "CP-1", "siteId": "garage"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("siteId: no such site"))
    );
    call(&app, "POST", "/sites", KEY, &[], Some(site_body("garage"))).await;
    for id in ["CP-1", "CP-2"] {
        let (status, _) = call(
            &app,
            "POST",
            "/stations",
            KEY,
            &[],
            Some(json!({"id": id, "siteId": "garage"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, err) = call(&app, "DELETE", "/sites/garage", KEY, &[], None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        err["error"]["message"],
        "site garage has 2 stations; move or remove them first"
    );
    // A station without a site is fine, and so is a site that has none.
    let (status, _) = call(
        &app,
        "POST",
        "/stations",
        KEY,
        &[],
        Some(json!({"id": "CP-3"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    call(&app, "POST", "/sites", KEY, &[], Some(site_body("empty"))).await;
    let (status, _) = call(&app, "DELETE", "/sites/empty", KEY, &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, "GET", "/sites/empty", KEY, &[], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_load_configuration_needs_no_site_record() {
    // A station stored with a site before sites had records (straight into
    // the store, as the API no longer would) keeps its load configuration.
    let (store, app) = setup();
    let old = csms_domain::station::Station {
        id: csms_domain::StationId::parse("CP-1").unwrap(),
        org_id: OrgId::default_org(),
        site_id: Some(csms_domain::SiteId::parse("old-site").unwrap()),
        name: None,
        password_hash: None,
        created_at: chrono::Utc::now(),
        boot: None,
        ocpp_version: None,
        connection_id: None,
        last_seen_at: None,
        approval: csms_domain::station::Approval::Accepted,
        previous_password: None,
        decommissioned_at: None,
        recent_connects: Vec::new(),
        recent_addresses: Vec::new(),
    };
    store.create_station(&old).await.unwrap();
    let load = json!({"gridFuseA": {"l1": 63, "l2": 63, "l3": 63}, "mode": "static",
        "evses": [{"stationId": "CP-1", "evseId": 1, "maxA": 32}]});
    let (status, body) = call(&app, "PUT", "/sites/old-site/load", KEY, &[], Some(load)).await;
    assert!(status.is_success(), "{status} {body}");
    let (status, _) = call(&app, "GET", "/sites/old-site/load", KEY, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, station) = call(&app, "GET", "/stations/CP-1", KEY, &[], None).await;
    assert_eq!(
        (status, &station["siteId"]),
        (StatusCode::OK, &json!("old-site"))
    );
}

#[tokio::test]
async fn payment_terms_are_thirty_days_unless_the_organisation_sets_its_own() {
    let (_, app) = setup();
    let (status, org) = call(
        &app,
        "POST",
        "/organisations",
        KEY,
        &[],
        Some(org_body("brf-p")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{org}");
    assert_eq!(org["paymentTermsDays"], 30);
    let patch = |days: Value| Some(json!({"paymentTermsDays": days}));
    let (status, org) = call(
        &app,
        "PATCH",
        "/organisations/brf-p",
        KEY,
        &[],
        patch(json!(14)),
    )
    .await;
    assert_eq!(
        (status, &org["paymentTermsDays"]),
        (StatusCode::OK, &json!(14)),
        "{org}"
    );
    for bad in [json!(0), json!(366), json!(-1), json!("ten")] {
        let (status, err) = call(&app, "PATCH", "/organisations/brf-p", KEY, &[], patch(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("paymentTermsDays: "),
            "{err}"
        );
    }
    let (status, org) = call(
        &app,
        "PATCH",
        "/organisations/brf-p",
        KEY,
        &[],
        patch(Value::Null),
    )
    .await;
    assert_eq!(
        (status, &org["paymentTermsDays"]),
        (StatusCode::OK, &json!(30)),
        "{org}"
    );
}
