//! Tariffs and tariff assignments through the real router on the embedded
//! store: creation with defaults, versions on update, `If-Match`, deletion
//! guarded by assignments, one tariff per target and group, scopes, and a
//! 400 that names the field for every kind of bad input.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: Value,
}

impl Answer {
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

fn app() -> axum::Router {
    support::app(Arc::new(EmbeddedStore::temporary()), KEY)
}

async fn call_with(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        etag,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> Answer {
    call_with(app, method, uri, KEY, body, &[]).await
}

fn simple(name: &str) -> Value {
    json!({
        "name": name,
        "elements": [{"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]
    })
}

async fn create(app: &axum::Router, body: Value) -> Value {
    let a = call(app, "POST", "/api/v1/tariffs", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

async fn station(app: &axum::Router, id: &str) {
    let a = call(app, "POST", "/api/v1/stations", Some(json!({"id": id}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

async fn assign(app: &axum::Router, body: Value) -> Answer {
    call(app, "POST", "/api/v1/tariff-assignments", Some(body)).await
}

#[tokio::test]
async fn create_with_defaults_get_and_list_in_pages() {
    let app = app();
    let full = json!({
        "name": "  Evening peak  ",
        "elements": [
            {
                "components": [
                    {"type": "energy", "price": {"kind": "spot", "zone": "se3", "markup": 0.25, "gridFee": "0.30", "energyTax": "0.439", "ceiling": null}},
                    {"type": "time", "price": "0.10", "per": "minute", "freeMinutes": 30}
                ],
                "restrictions": {"daysOfWeek": ["Monday", "mon", "TUE", "fri"], "startTime": "17:00", "endTime": "20:00",
                                 "startDate": "2026-01-01", "endDate": "2026-04-01"}
            },
            {
                "components": [
                    {"type": "energy", "price": {"kind": "fixed", "perKwh": 2.5}},
                    {"type": "sessionFee", "price": 5},
                    {"type": "idle", "price": "1", "per": "hour", "graceMinutes": 15}
                ]
            }
        ],
        "minPrice": "10",
        "maxPrice": "500.00"
    });
    let a = call(&app, "POST", "/api/v1/tariffs", Some(full)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.etag.as_deref(), Some("\"1\""));
    let t = a.body;
    let id = t["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("trf_") && id.len() == 30, "{id}");
    assert_eq!(t["name"], "Evening peak");
    assert_eq!(t["currency"], "SEK");
    assert_eq!(t["vatRate"], "0.25");
    // No zone given: the tariff follows the site of each session (Stockholm without one).
    assert_eq!(t["timeZone"], Value::Null);
    assert_eq!(t["version"], 1);
    assert_eq!(t["effectiveAt"], t["createdAt"]);
    assert_eq!(t["deletedAt"], Value::Null);
    assert_eq!(t["minPrice"], "10");
    assert_eq!(t["maxPrice"], "500.00");
    let e0 = &t["elements"][0];
    assert_eq!(
        e0["components"][0],
        json!({"type": "energy", "price": {"kind": "spot", "zone": "SE3", "factor": "1", "markup": "0.25",
               "gridFee": "0.30", "energyTax": "0.439", "floor": "0", "ceiling": null}})
    );
    assert_eq!(
        e0["components"][1],
        json!({"type": "time", "price": "0.10", "per": "minute", "freeMinutes": 30})
    );
    assert_eq!(
        e0["restrictions"],
        json!({"daysOfWeek": ["mon", "tue", "fri"], "startTime": "17:00", "endTime": "20:00",
               "startDate": "2026-01-01", "endDate": "2026-04-01"})
    );
    let e1 = &t["elements"][1];
    assert_eq!(e1["components"][0]["price"]["perKwh"], "2.5");
    assert_eq!(
        e1["components"][1],
        json!({"type": "sessionFee", "price": "5"})
    );
    assert_eq!(
        e1["components"][2],
        json!({"type": "idle", "price": "1", "per": "hour", "graceMinutes": 15})
    );
    assert_eq!(
        e1["restrictions"],
        json!({"daysOfWeek": [], "startTime": null, "endTime": null, "startDate": null, "endDate": null})
    );

    let got = call(&app, "GET", &format!("/api/v1/tariffs/{id}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.etag.as_deref(), Some("\"1\""));
    assert_eq!(got.body, t);
    for missing in ["trf_01JNOSUCHTARIFF0000000000", "x%20y", &"a".repeat(300)] {
        let a = call(&app, "GET", &format!("/api/v1/tariffs/{missing}"), None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{missing}");
        let a = call(
            &app,
            "GET",
            &format!("/api/v1/tariffs/{missing}/versions"),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{missing}");
    }

    let mut ids = vec![id];
    for n in 0..3 {
        ids.push(
            create(&app, simple(&format!("t{n}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut uri = "/api/v1/tariffs?limit=3".to_owned();
    loop {
        let page = call(&app, "GET", &uri, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page.body["nextCursor"].as_str() {
            Some(c) => uri = format!("/api/v1/tariffs?limit=3&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    for bad in ["limit=0", "limit=501", "limit=x", "cursor=garbage"] {
        let a = call(&app, "GET", &format!("/api/v1/tariffs?{bad}"), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.body);
    }
}

#[tokio::test]
async fn updates_are_versions_and_if_match_guards_them() {
    let app = app();
    let t = create(&app, simple("Public")).await;
    let id = t["id"].as_str().unwrap();
    let uri = format!("/api/v1/tariffs/{id}");

    let mut body = simple("Public, dearer");
    body["elements"][0]["components"][0]["price"]["perKwh"] = json!("3.10");
    let a = call(&app, "PUT", &uri, Some(body.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.etag.as_deref(), Some("\"2\""));
    assert_eq!(a.body["version"], 2);
    assert_eq!(a.body["id"], t["id"]);
    assert_eq!(a.body["name"], "Public, dearer");
    assert_eq!(a.body["createdAt"], t["createdAt"]);
    assert!(a.body["effectiveAt"].as_str() >= t["effectiveAt"].as_str());

    // A stale version: 412, and nothing is written.
    let stale = call_with(
        &app,
        "PUT",
        &uri,
        KEY,
        Some(simple("lost")),
        &[("if-match", "1")],
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    assert_eq!(stale.body["error"]["code"], "precondition_failed");
    assert!(stale.message().contains("version 2"), "{}", stale.message());
    for bad in ["two", "\"x\"", "1.5"] {
        let a = call_with(
            &app,
            "PUT",
            &uri,
            KEY,
            Some(simple("lost")),
            &[("if-match", bad)],
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(a.message().contains("If-Match"), "{}", a.message());
    }
    // The ETag as it was handed out, and `*`.
    let a = call_with(
        &app,
        "PUT",
        &uri,
        KEY,
        Some(body.clone()),
        &[("if-match", "\"2\"")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["version"], 3);
    let a = call_with(&app, "PUT", &uri, KEY, Some(body), &[("if-match", "*")]).await;
    assert_eq!(a.body["version"], 4);

    let versions = call(&app, "GET", &format!("{uri}/versions"), None).await;
    assert_eq!(versions.status, StatusCode::OK);
    let items = versions.body["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(items[0]["name"], "Public");
    assert_eq!(
        items[0]["elements"][0]["components"][0]["price"]["perKwh"],
        "2.50"
    );
    assert_eq!(
        items[3]["elements"][0]["components"][0]["price"]["perKwh"],
        "3.10"
    );
    assert_eq!(call(&app, "GET", &uri, None).await.body["version"], 4);

    // A bad update is a 400 and changes nothing; an unknown tariff is a 404.
    let a = call(
        &app,
        "PUT",
        &uri,
        Some(json!({"name": "x", "elements": []})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = call(&app, "PUT", "/api/v1/tariffs/trf_nope", Some(simple("x"))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, "GET", &uri, None).await.body["version"], 4);
}

#[tokio::test]
async fn deletion_waits_for_assignments_and_keeps_versions() {
    let app = app();
    station(&app, "CP1").await;
    let t = create(&app, simple("Residents")).await;
    let id = t["id"].as_str().unwrap();
    let uri = format!("/api/v1/tariffs/{id}");
    let a = assign(
        &app,
        json!({"tariffId": id, "target": {"kind": "station", "id": "CP1"}, "group": "residents"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let ast = a.body["id"].as_str().unwrap().to_owned();

    let blocked = call(&app, "DELETE", &uri, None).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    let m = blocked.message();
    assert!(
        m.contains(&ast) && m.contains("station CP1, group residents"),
        "{m}"
    );
    assert_eq!(
        call(&app, "GET", &uri, None).await.body["deletedAt"],
        Value::Null
    );

    let a = call(
        &app,
        "DELETE",
        &format!("/api/v1/tariff-assignments/{ast}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = call(&app, "DELETE", &uri, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // Idempotent.
    assert_eq!(
        call(&app, "DELETE", &uri, None).await.status,
        StatusCode::NO_CONTENT
    );

    let got = call(&app, "GET", &uri, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["version"], 2);
    assert!(got.body["deletedAt"].is_string());
    let versions = call(&app, "GET", &format!("{uri}/versions"), None).await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 2);
    let list = call(&app, "GET", "/api/v1/tariffs", None).await;
    assert_eq!(list.body["items"], json!([]));
    let a = call(&app, "PUT", &uri, Some(simple("again"))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.message().contains("deleted"), "{}", a.message());
    let a = assign(
        &app,
        json!({"tariffId": id, "target": {"kind": "organisation"}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.message().contains("tariffId") && a.message().contains("deleted"),
        "{}",
        a.message()
    );
    let a = call(&app, "DELETE", "/api/v1/tariffs/trf_nope", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_tariff_per_target_and_group() {
    let app = app();
    station(&app, "CP1").await;
    let a_id = create(&app, simple("A")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_id = create(&app, simple("B")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = assign(
        &app,
        json!({"tariffId": a_id, "target": {"kind": "site", "id": "brf-1"}, "group": "residents"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    assert!(first_id.starts_with("ast_"));
    assert_eq!(first.body["target"], json!({"kind": "site", "id": "brf-1"}));
    assert_eq!(first.body["group"], "residents");
    assert_eq!(first.body["replaced"], json!([]));
    // Same site, everyone: a different (target, group), so both stay.
    let everyone = assign(
        &app,
        json!({"tariffId": a_id, "target": {"kind": "site", "id": "brf-1"}, "group": null}),
    )
    .await;
    assert_eq!(everyone.status, StatusCode::CREATED);
    let org = assign(
        &app,
        json!({"tariffId": b_id, "target": {"kind": "organisation"}}),
    )
    .await;
    assert_eq!(org.status, StatusCode::CREATED);
    assert_eq!(
        org.body["target"],
        json!({"kind": "organisation", "id": null})
    );
    let st = assign(
        &app,
        json!({"tariffId": b_id, "target": {"kind": "station", "id": "CP1"}}),
    )
    .await;
    assert_eq!(st.status, StatusCode::CREATED);

    // Same site and group again: replaces the first.
    let second = assign(
        &app,
        json!({"tariffId": b_id, "target": {"kind": "site", "id": "brf-1"}, "group": "residents"}),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.body["replaced"], json!([first_id]));

    let all = call(&app, "GET", "/api/v1/tariff-assignments", None).await;
    assert_eq!(all.status, StatusCode::OK);
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(!ids.contains(&first_id.as_str()));
    assert!(all.body["items"][0].get("replaced").is_none());
    let of_a = call(
        &app,
        "GET",
        &format!("/api/v1/tariff-assignments?tariffId={a_id}"),
        None,
    )
    .await;
    assert_eq!(of_a.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(of_a.body["items"][0]["id"], everyone.body["id"]);

    let gone = call(
        &app,
        "DELETE",
        &format!("/api/v1/tariff-assignments/{first_id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let del = format!(
        "/api/v1/tariff-assignments/{}",
        org.body["id"].as_str().unwrap()
    );
    assert_eq!(
        call(&app, "DELETE", &del, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, "DELETE", &del, None).await.status,
        StatusCode::NOT_FOUND
    );
    let a = call(
        &app,
        "DELETE",
        &format!("/api/v1/tariff-assignments/{}", "z".repeat(500)),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let all = call(&app, "GET", "/api/v1/tariff-assignments", None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn assignment_input_is_checked() {
    let app = app();
    let t = create(&app, simple("A")).await;
    let id = t["id"].as_str().unwrap();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"tariffId": "trf_nope", "target": {"kind": "organisation"}}),
            StatusCode::NOT_FOUND,
            "tariffId",
        ),
        (
            json!({"tariffId": "", "target": {"kind": "organisation"}}),
            StatusCode::NOT_FOUND,
            "tariffId",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "station", "id": "CP-NONE"}}),
            StatusCode::BAD_REQUEST,
            "station CP-NONE is not registered",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "station", "id": "bad id!"}}),
            StatusCode::BAD_REQUEST,
            "target.id",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "station"}}),
            StatusCode::BAD_REQUEST,
            "target.id",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "site", "id": ""}}),
            StatusCode::BAD_REQUEST,
            "target.id",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "organisation", "id": "x"}}),
            StatusCode::BAD_REQUEST,
            "takes no id",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "planet"}}),
            StatusCode::BAD_REQUEST,
            "unknown variant",
        ),
        (json!({"tariffId": id}), StatusCode::BAD_REQUEST, "target"),
        (
            json!({"tariffId": id, "target": {"kind": "organisation"}, "group": "a b"}),
            StatusCode::BAD_REQUEST,
            "group",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "organisation"}, "group": ""}),
            StatusCode::BAD_REQUEST,
            "group",
        ),
        (
            json!({"tariffId": id, "target": {"kind": "organisation"}, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
    ];
    for (body, status, needle) in cases {
        let a = assign(&app, body.clone()).await;
        assert_eq!(a.status, status, "{body}: {}", a.body);
        assert!(
            a.message().contains(needle),
            "{body}: {:?} lacks {needle:?}",
            a.message()
        );
    }
    let a = call(&app, "GET", "/api/v1/tariff-assignments", None).await;
    assert_eq!(a.body["items"], json!([]));
}

#[tokio::test]
async fn a_read_key_reads_but_cannot_change() {
    let app = app();
    let t = create(&app, simple("A")).await;
    let id = t["id"].as_str().unwrap();
    let k = call(
        &app,
        "POST",
        "/api/v1/api-keys",
        Some(json!({"name": "partner", "scopes": ["read"]})),
    )
    .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.body);
    let read = k.body["key"].as_str().unwrap().to_owned();
    for (method, uri) in [
        ("GET", "/api/v1/tariffs".to_owned()),
        ("GET", format!("/api/v1/tariffs/{id}")),
        ("GET", format!("/api/v1/tariffs/{id}/versions")),
        ("GET", "/api/v1/tariff-assignments".to_owned()),
    ] {
        let a = call_with(&app, method, &uri, &read, None, &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{method} {uri}");
    }
    for (method, uri, body) in [
        ("POST", "/api/v1/tariffs".to_owned(), Some(simple("B"))),
        ("PUT", format!("/api/v1/tariffs/{id}"), Some(simple("B"))),
        ("DELETE", format!("/api/v1/tariffs/{id}"), None),
        (
            "POST",
            "/api/v1/tariff-assignments".to_owned(),
            Some(json!({"tariffId": id, "target": {"kind": "organisation"}})),
        ),
        (
            "DELETE",
            "/api/v1/tariff-assignments/ast_x".to_owned(),
            None,
        ),
    ] {
        let a = call_with(&app, method, &uri, &read, body, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {uri}");
    }
    let a = call_with(&app, "GET", "/api/v1/tariffs", "csk_nope_nope", None, &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&app, "GET", &format!("/api/v1/tariffs/{id}"), None)
            .await
            .body["version"],
        1
    );
}

/// A valid tariff with one part replaced by `f`.
fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = json!({
        "name": "T",
        "elements": [{
            "components": [
                {"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}},
                {"type": "time", "price": "0.10", "per": "minute"}
            ],
            "restrictions": {"startTime": "17:00", "endTime": "20:00"}
        }]
    });
    f(&mut v);
    v
}

#[tokio::test]
async fn every_bad_input_is_a_400_that_says_where() {
    let app = app();
    let spot = |v: &mut Value, k: &str, x: Value| {
        v["elements"][0]["components"][0]["price"] = json!({"kind": "spot", "zone": "SE3"});
        v["elements"][0]["components"][0]["price"][k] = x;
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!("2,50")),
            "elements[0].components[0].price.perKwh: \"2,50\" is not a decimal",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!("")),
            "price.perKwh",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!("1e3")),
            "price.perKwh",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!(true)),
            "elements[0].components[0]",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!("99999999")),
            "out of range",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!(1e300)),
            "out of range",
        ),
        (
            with(|v| {
                v["elements"][0]["components"][0]["price"]["perKwh"] =
                    json!("99999999999999999999999999999999")
            }),
            "perKwh",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["perKwh"] = json!("-1")),
            "must not be negative",
        ),
        (
            with(|v| v["elements"][0]["components"][1]["price"] = json!(-0.5)),
            "must not be negative",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["startTime"] = json!("25:00")),
            "elements[0].restrictions.startTime: \"25:00\"",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["endTime"] = json!("24:00")),
            "for midnight use 00:00",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["endTime"] = json!("17:00")),
            "startTime equals endTime",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["startTime"] = json!(1700)),
            "elements[0].restrictions",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["daysOfWeek"] = json!(["mon", "funday"])),
            "daysOfWeek[1]: \"funday\" is not a weekday",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["startDate"] = json!("2026-13-01")),
            "restrictions.startDate",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["endDate"] = json!("1066-10-14")),
            "restrictions.endDate",
        ),
        (
            with(|v| {
                v["elements"][0]["restrictions"]["startDate"] = json!("2026-04-01");
                v["elements"][0]["restrictions"]["endDate"] = json!("2026-01-01");
            }),
            "endDate must be after startDate",
        ),
        (
            with(|v| v["elements"][0]["restrictions"]["weekdays"] = json!([])),
            "unknown field `weekdays`",
        ),
        (
            with(|v| spot(v, "zone", json!("SE9"))),
            "price.zone: unknown bidding zone \"SE9\"",
        ),
        (
            with(|v| spot(v, "zone", json!("NO1"))),
            "zone NO1 is priced in NOK",
        ),
        (with(|v| spot(v, "factor", json!("x"))), "price.factor"),
        (
            with(|v| spot(v, "gridFee", json!("-0.3"))),
            "gridFee and energyTax must not be negative",
        ),
        (
            with(|v| {
                spot(v, "floor", json!("1"));
                v["elements"][0]["components"][0]["price"]["ceiling"] = json!("0.5");
            }),
            "ceiling is below floor",
        ),
        (with(|v| spot(v, "cap", json!("1"))), "unknown field `cap`"),
        (
            with(|v| v["elements"][0]["components"][0]["price"]["kind"] = json!("variable")),
            "elements[0].components[0]: unknown variant `variable`",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["type"] = json!("energi")),
            "elements[0].components[0]: unknown variant `energi`",
        ),
        (
            with(|v| v["elements"][0]["components"][0]["colour"] = json!("red")),
            "unknown field `colour`",
        ),
        (
            with(|v| v["elements"][0]["components"][1]["per"] = json!("second")),
            "elements[0].components[1]: unknown variant `second`",
        ),
        (
            with(|v| v["elements"][0]["components"][1]["freeMinutes"] = json!(-1)),
            "elements[0].components[1]",
        ),
        (
            with(|v| v["elements"][0]["components"][1]["freeMinutes"] = json!(999999)),
            "components[1].freeMinutes: at most 10080",
        ),
        (
            with(|v| {
                v["elements"][0]["components"][1] =
                    json!({"type": "energy", "price": {"kind": "fixed", "perKwh": 1}})
            }),
            "two components of one type",
        ),
        (
            with(|v| v["elements"][0]["components"] = json!([])),
            "elements[0] has no components",
        ),
        (with(|v| v["elements"] = json!([])), "at least one element"),
        (with(|v| v["elements"] = json!({})), "invalid tariff"),
        (
            with(|v| {
                v["elements"] = json!((0..101)
                    .map(|_| json!({"components": [{"type": "sessionFee", "price": 1}]}))
                    .collect::<Vec<_>>())
            }),
            "at most 100",
        ),
        (with(|v| v["name"] = json!("   ")), "name"),
        (with(|v| v["name"] = json!("n".repeat(201))), "name"),
        (
            with(|v| {
                v.as_object_mut().unwrap().remove("name");
            }),
            "missing field `name`",
        ),
        (with(|v| v["currency"] = json!("KRONOR")), "currency"),
        (with(|v| v["vatRate"] = json!("1.5")), "vatRate"),
        (
            with(|v| v["vatRate"] = json!("25%")),
            "vatRate: \"25%\" is not a decimal",
        ),
        (
            with(|v| v["timeZone"] = json!("Mars/Olympus_Mons")),
            "timeZone",
        ),
        (
            with(|v| {
                v["minPrice"] = json!("10");
                v["maxPrice"] = json!("5");
            }),
            "maxPrice is below minPrice",
        ),
        (
            with(|v| v["minPrice"] = json!("-1")),
            "minPrice and maxPrice must not be negative",
        ),
        (
            with(|v| v["discount"] = json!("1")),
            "unknown field `discount`",
        ),
        (json!([1, 2]), "JSON object"),
        (json!("tariff"), "JSON object"),
    ];
    for (body, needle) in &cases {
        let a = call(&app, "POST", "/api/v1/tariffs", Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert!(
            a.message().contains(needle),
            "{body}:\n  {:?}\n  lacks {needle:?}",
            a.message()
        );
    }
    // Not JSON at all, and no body.
    let req = Request::post("/api/v1/tariffs")
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::from("{name:"))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let a = call(&app, "POST", "/api/v1/tariffs", None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // The same checks on update.
    let t = create(&app, simple("ok")).await;
    let uri = format!("/api/v1/tariffs/{}", t["id"].as_str().unwrap());
    for (body, needle) in cases.iter().take(12) {
        let a = call(&app, "PUT", &uri, Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert!(a.message().contains(needle), "{body}: {:?}", a.message());
    }
    assert_eq!(call(&app, "GET", &uri, None).await.body["version"], 1);
    let list = call(&app, "GET", "/api/v1/tariffs", None).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "nothing bad was stored"
    );
}

#[tokio::test]
async fn negative_spot_floor_and_night_window_are_accepted() {
    let app = app();
    let t = create(
        &app,
        json!({
            "name": "Night spot",
            "currency": "nok",
            "timeZone": "Europe/Oslo",
            "vatRate": 0,
            "elements": [{
                "components": [{"type": "energy", "price": {"kind": "spot", "zone": "NO1", "factor": "1.1", "floor": "-5", "ceiling": "4"}}],
                "restrictions": {"startTime": "22:00", "endTime": "06:00", "daysOfWeek": []}
            }, {
                "components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "3"}}]
            }]
        }),
    )
    .await;
    assert_eq!(t["currency"], "NOK");
    assert_eq!(t["vatRate"], "0");
    let price = &t["elements"][0]["components"][0]["price"];
    assert_eq!(price["floor"], "-5");
    assert_eq!(price["ceiling"], "4");
    assert_eq!(price["factor"], "1.1");
    assert_eq!(price["markup"], "0");
    assert_eq!(t["elements"][0]["restrictions"]["startTime"], "22:00");
    assert_eq!(t["elements"][0]["restrictions"]["endTime"], "06:00");
}
