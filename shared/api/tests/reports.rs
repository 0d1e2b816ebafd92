//! `GET /reports/usage` over usage days put in the store: the figures of a
//! DST day in JSON, the CSV's columns and lines, the XLSX's media type and
//! file, and every bad parameter answered 400 naming it.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use csms_domain::usage::{Mark, Revenue, SessionFact, UsageDay, UsageKey, Use};
use csms_domain::{OrgId, SessionId, StationId, Timestamp};
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn day(evse: u32, d: &str, opening: Option<Use>, marks: &[(&str, Use)]) -> UsageDay {
    let mut day = UsageDay::new(
        UsageKey {
            org_id: OrgId::default_org(),
            station_id: StationId::parse("CP-1").unwrap(),
            evse_id: evse,
            day: d.parse::<NaiveDate>().unwrap(),
        },
        None,
        opening,
    );
    day.marks = marks
        .iter()
        .map(|(at, state)| Mark {
            at: t(at),
            state: *state,
        })
        .collect();
    day.version = 1;
    day
}

async fn get(app: &axum::Router, uri: &str, accept: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req =
        Request::get(format!("/api/v1{uri}")).header("authorization", format!("Bearer {KEY}"));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, kind, body.to_vec())
}

async fn app() -> axum::Router {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    // Sunday 25 October 2026 in Stockholm has 25 hours; charging from 02:30
    // CEST to 02:30 CET is one hour. A session of 11 kWh started then.
    let mut sunday = day(
        1,
        "2026-10-25",
        Some(Use::Available),
        &[
            ("2026-10-25T00:30:00Z", Use::Charging),
            ("2026-10-25T01:30:00Z", Use::Available),
        ],
    );
    sunday.sessions = vec![SessionFact {
        session_id: SessionId::parse("CP-1~1").unwrap(),
        started_at: t("2026-10-25T00:30:00Z"),
        ended_at: Some(t("2026-10-25T01:30:00Z")),
        energy_wh: Some(Decimal::from(11_000)),
        revenue: Some(Revenue {
            revision: 1,
            currency: "SEK".into(),
            net: Decimal::new(2750, 2),
            vat: Decimal::new(688, 2),
            gross: Decimal::new(3438, 2),
        }),
    }];
    for d in [
        day(
            0,
            "2026-10-24",
            None,
            &[("2026-10-24T12:00:00Z", Use::Online)],
        ),
        day(
            1,
            "2026-10-24",
            None,
            &[("2026-10-24T12:00:00Z", Use::Available)],
        ),
        sunday,
    ] {
        store.put_usage_day(&d, 0).await.unwrap();
    }
    support::app(store, KEY)
}

const SUNDAY: &str =
    "/reports/usage?from=2026-10-25&to=2026-10-25&timeZone=Europe/Stockholm&groupBy=evse";

#[tokio::test]
async fn a_dst_day_in_json_csv_and_xlsx() {
    let app = app().await;
    let (status, kind, body) = get(&app, SUNDAY, None).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(kind.starts_with("application/json"), "{kind}");
    let r: Value = serde_json::from_slice(&body).unwrap();
    let total = &r["total"];
    assert_eq!(total["knownSeconds"], 25 * 3600, "{total}");
    assert_eq!(total["chargingSeconds"], 3600);
    assert_eq!(total["availableSeconds"], 24 * 3600);
    assert_eq!(total["sessions"], 1);
    assert_eq!(total["energyKwh"], "11.000");
    assert_eq!(total["chargingShare"], "0.0400");
    assert_eq!(total["availabilityPercent"], "100.00");
    assert_eq!(
        total["revenue"],
        serde_json::json!([{"currency": "SEK", "net": "27.50", "vat": "6.88", "gross": "34.38"}])
    );
    assert_eq!(r["previousPeriod"]["from"], "2026-10-24");
    assert_eq!(r["rows"][0]["evseId"], 1);
    // Sunday 02:00–03:00 happened twice: two hours known, one charging.
    let cell = &r["hoursOfWeek"][6 * 24 + 2];
    assert_eq!(
        (cell["knownSeconds"].clone(), cell["chargingShare"].clone()),
        (7200.into(), "0.5000".into())
    );

    let (status, kind, body) = get(&app, SUNDAY, Some("text/csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("row,month,siteId,stationId,evseId,sessions,energyKwh,revenueNetSEK,revenueVatSEK,revenueGrossSEK,knownSeconds,"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len(),
        4,
        "header, the EVSE, the total, the previous total: {text}"
    );
    assert!(
        lines[1].starts_with("group,,,CP-1,1,1,11.000,27.50,6.88,34.38,90000,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("total,"), "{}", lines[2]);

    let (status, kind, body) = get(&app, &format!("{SUNDAY}&format=xlsx"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        kind,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(&body[..2], b"PK", "an XLSX is a zip file");
}

#[tokio::test]
async fn bad_parameters_are_refused_naming_them() {
    let app = app().await;
    for (query, field) in [
        ("", "period"),
        ("period=2026-1", "period"),
        ("period=2026-13", "period"),
        ("period=2026-11&from=2026-11-01&to=2026-11-02", "period"),
        ("from=2026-11-01", "to"),
        ("from=2026-11-02&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-12-31", "to"),
        ("from=1-Nov-2026&to=2026-11-02", "from"),
        ("period=2026-11&groupBy=tenant", "groupBy"),
        ("period=2026-11&timeZone=Mars/Olympus", "timeZone"),
        ("period=2026-11&format=pdf", "format"),
        ("period=2026-11&siteId=no%20spaces", "siteId"),
    ] {
        let (status, _, body) = get(&app, &format!("/reports/usage?{query}"), None).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            String::from_utf8_lossy(&body)
        );
        let err: Value = serde_json::from_slice(&body).unwrap();
        let message = err["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}:")),
            "{query}: {message}"
        );
    }
    // A station of nobody's: not found.
    let (status, _, _) = get(
        &app,
        "/reports/usage?period=2026-11&stationId=CP-NONE",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
