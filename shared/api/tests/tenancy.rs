//! Organisations are walled off from each other: a key of one organisation
//! can neither read nor change anything of another, and an id of another
//! organisation is answered exactly like an id nobody has.
//!
//! The leak test walks every operation of the served OpenAPI document, so
//! a new route is covered without anyone remembering it; an operation it
//! cannot fill (a path parameter, a required parameter or a body it does
//! not know) fails it, so nobody forgets to teach it.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use csms_domain::api_key::Scope;
use csms_domain::session::Session;
use csms_domain::usage::{UsageDay, UsageFact, UsageKey, Use};
use csms_domain::{OrgId, StationId, TransactionId};
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "test-admin-key-0123456789";
const SPOT_DATE: &str = "2026-01-15";
/// A credential of `call` that is a signed-in person:
/// `session:{cookie} {csrf token}`.
const SESSION: &str = "session:";

struct Answer {
    status: StatusCode,
    text: String,
    body: Value,
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    // A signed-in person instead of a key: their cookie and CSRF token.
    req = match key.strip_prefix(SESSION) {
        Some(rest) => {
            let (cookie, csrf) = rest.split_once(' ').expect("session:{cookie} {csrf}");
            req.header("cookie", format!("csms_session={cookie}"))
                .header("x-csrf-token", csrf)
        }
        None => req.header("authorization", format!("Bearer {key}")),
    };
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
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

async fn admin(app: &axum::Router, method: &str, uri: &str, body: Value) -> Value {
    let a = call(app, method, uri, KEY, &[], Some(&body)).await;
    assert!(
        a.status.is_success(),
        "{method} {uri} for organisation A: {} {}",
        a.status,
        a.text
    );
    a.body
}

/// What organisation A (the default one, set up by the platform admin)
/// owns, by id.
struct OrgA {
    org: String,
    station: String,
    site: String,
    session: String,
    command: String,
    token: String,
    tariff: String,
    assignment: String,
    webhook: String,
    key: String,
    /// An identifier A's station was presented and that is not registered.
    seen: String,
    alarm: String,
    /// A person of A.
    user: String,
    /// A booking of A's station.
    booking: String,
    /// An invitation A sent.
    invitation: String,
    /// An invoice A issued (to its person, for the session).
    invoice: String,
    /// A monthly fee of A's person.
    fee: String,
    /// A one-off charge to A's person, not invoiced yet.
    charge: String,
}

impl OrgA {
    /// Every id of A: none may show up in an answer to B (but in a 404
    /// that echoes the id B asked for).
    fn ids(&self) -> [&str; 18] {
        [
            &self.org,
            &self.station,
            &self.site,
            &self.session,
            &self.command,
            &self.token,
            &self.tariff,
            &self.assignment,
            &self.webhook,
            &self.key,
            &self.seen,
            &self.alarm,
            &self.user,
            &self.booking,
            &self.invitation,
            &self.invoice,
            &self.fee,
            &self.charge,
        ]
    }

    /// What A's objects look like to A: a change by B would show here.
    async fn snapshot(&self, app: &axum::Router) -> Vec<(String, String)> {
        let mut out = vec![];
        for uri in [
            format!("/stations/{}", self.station),
            format!("/stations/{}/commands", self.station),
            format!("/stations/{}/events", self.station),
            format!("/stations/{}/access", self.station),
            format!("/stations/{}/attempts", self.station),
            format!("/stations/{}/local-list", self.station),
            format!("/stations/{}/ratings", self.station),
            format!("/sites/{}/ratings", self.site),
            format!("/commands/{}", self.command),
            format!("/sessions/{}", self.session),
            "/id-tokens".to_owned(),
            format!("/id-tokens/{}", self.token),
            "/unregistered-id-tokens".to_owned(),
            format!("/tariffs/{}/versions", self.tariff),
            "/tariff-assignments".to_owned(),
            format!("/webhooks/{}", self.webhook),
            format!("/api-keys/{}", self.key),
            "/api-keys".to_owned(),
            format!("/sites/{}/load", self.site),
            format!("/organisations/{}", self.org),
            format!("/sites/{}", self.site),
            "/sites".to_owned(),
            format!("/spot-prices/SE3/{SPOT_DATE}"),
            format!("/alarms/{}", self.alarm),
            "/alarm-settings".to_owned(),
            "/reports/usage?period=2026-01&groupBy=evse".to_owned(),
            "/audit-log".to_owned(),
            format!("/users/{}", self.user),
            "/users".to_owned(),
            format!("/bookings/{}", self.booking),
            "/bookings".to_owned(),
            format!("/stations/{}/evses/1/bookings", self.station),
            format!("/invitations/{}", self.invitation),
            "/invitations".to_owned(),
            format!("/invoices/{}", self.invoice),
            format!("/invoices/{}/credit-notes", self.invoice),
            format!("/invoices/{}/credit-notes/K1", self.invoice),
            "/invoices".to_owned(),
            "/ledger/accounts".to_owned(),
            format!("/fees/{}", self.fee),
            "/fees".to_owned(),
            format!("/one-off-charges/{}", self.charge),
            "/one-off-charges".to_owned(),
        ] {
            let a = call(app, "GET", &format!("/api/v1{uri}"), KEY, &[], None).await;
            out.push((uri, format!("{} {}", a.status, a.text)));
        }
        out
    }
}

async fn org_a(app: &axum::Router, store: &dyn Store) -> OrgA {
    // The default organisation's record (made on first read), filled in.
    admin(
        app,
        "PATCH",
        "/api/v1/organisations/default",
        json!({"legalName": "Organisation A AB", "organisationNumber": "556036-0793"}),
    )
    .await;
    admin(app, "POST", "/api/v1/sites", site_body("SITE-A")).await;
    admin(
        app,
        "POST",
        "/api/v1/stations",
        json!({"id": "CP-A", "siteId": "SITE-A"}),
    )
    .await;
    let token = admin(
        app,
        "POST",
        "/api/v1/id-tokens",
        json!({"idToken": "TOKEN-OF-A", "type": "ISO14443", "status": "Accepted", "group": "residents"}),
    )
    .await;
    let tariff = admin(app, "POST", "/api/v1/tariffs", tariff_body("A's tariff")).await;
    let assignment = admin(
        app,
        "POST",
        "/api/v1/tariff-assignments",
        json!({"tariffId": tariff["id"], "target": {"kind": "station", "id": "CP-A"}}),
    )
    .await;
    let webhook = admin(
        app,
        "POST",
        "/api/v1/webhooks",
        json!({"url": "https://hooks.example.com/a", "events": ["session.ended"]}),
    )
    .await;
    let key = admin(
        app,
        "POST",
        "/api/v1/api-keys",
        json!({"name": "A's partner", "scopes": ["read"]}),
    )
    .await;
    admin(app, "PUT", "/api/v1/sites/SITE-A/load", load_body()).await;
    admin(
        app,
        "PUT",
        "/api/v1/stations/CP-A/evses/1/access",
        json!({"default": "private", "groups": ["residents"]}),
    )
    .await;
    // The station is not connected: the command is recorded as offline,
    // which is all the walk needs of it.
    let command = admin(
        app,
        "POST",
        "/api/v1/stations/CP-A/commands",
        json!({"type": "clearCache"}),
    )
    .await;
    admin(
        app,
        "PUT",
        &format!("/api/v1/spot-prices/SE3/{SPOT_DATE}"),
        spot_body(),
    )
    .await;
    let seen = csms_domain::token::UnregisteredToken {
        org_id: OrgId::default_org(),
        token: csms_domain::IdTokenValue::parse("SEEN-BY-A").unwrap(),
        token_type: None,
        station_id: StationId::parse("CP-A").unwrap(),
        first_seen: Utc::now(),
        last_seen: Utc::now(),
        count: 1,
    };
    store.note_unregistered(&seen).await.unwrap();
    let alarm = csms_domain::alarm::Alarm {
        id: "station-offline:CP-A".into(),
        org_id: OrgId::default_org(),
        kind: "stationOffline".into(),
        severity: csms_domain::alarm::Severity::Warning,
        title: None,
        message: "CP-A is offline".into(),
        details: json!({}),
        raised_at: Utc::now(),
        action: None,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    };
    store.raise_alarm(&alarm).await.unwrap();
    admin(
        app,
        "PUT",
        "/api/v1/alarm-settings",
        json!({"offlineGraceSeconds": 1800}),
    )
    .await;
    let user = admin(
        app,
        "POST",
        "/api/v1/users",
        json!({"email": "person-of-a@example.se", "name": "A's person", "password": "a-password-123", "role": "viewer"}),
    )
    .await;
    // A keeps its station's local list: B must neither see nor restart it.
    let list = admin(
        app,
        "POST",
        "/api/v1/stations/CP-A/local-list/sync",
        json!({}),
    )
    .await;
    assert_eq!(list["enabled"], true);
    admin(
        app,
        "PATCH",
        "/api/v1/id-tokens/TOKEN-OF-A",
        json!({"userId": user["id"]}),
    )
    .await;
    let mut session = Session::blank(
        &StationId::parse("CP-A").unwrap(),
        OrgId::default_org(),
        Some(csms_domain::SiteId::parse("SITE-A").unwrap()),
        &TransactionId::parse("A-1").unwrap(),
        Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap(),
    );
    session.version = 1;
    // A's person started it with a card they hold.
    session.user_id = Some(csms_domain::user::UserId::parse(user["id"].as_str().unwrap()).unwrap());
    // Ended and priced, so A invoices it.
    session.started_at = Some(Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap());
    session.ended_at = Some(Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap());
    session.status = csms_domain::session::SessionStatus::Completed;
    store.put_session(&session, 0).await.unwrap();
    store.put_priced_session(&priced(&session)).await.unwrap();
    csms_kernel::tenants::ensure_default_organisation(store, Utc::now())
        .await
        .unwrap();
    let run = admin(
        app,
        "POST",
        "/api/v1/invoice-runs",
        json!({"period": "2026-01"}),
    )
    .await;
    assert_eq!(run["created"].as_array().map(Vec::len), Some(1), "{run}");
    // A credits part of it: credit note K1 of A's series.
    let invoice = admin(
        app,
        "GET",
        &format!(
            "/api/v1/invoices/{}",
            run["created"][0]["id"].as_str().unwrap()
        ),
        json!(null),
    )
    .await;
    let note = admin(
        app,
        "POST",
        &format!(
            "/api/v1/invoices/{}/credit-notes",
            run["created"][0]["id"].as_str().unwrap()
        ),
        json!({"amount": {"amount": "0.01", "amountIncludesVat": true, "vatRate": invoice["vatRates"][0]["rate"]}, "reason": "A's discount"}),
    )
    .await;
    assert_eq!(note["number"], "K1", "{note}");
    // A's EVSE charged that day: its usage, for reports.
    let mut usage = UsageDay::new(
        UsageKey {
            org_id: OrgId::default_org(),
            station_id: StationId::parse("CP-A").unwrap(),
            evse_id: 1,
            day: chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        },
        Some(csms_domain::SiteId::parse("SITE-A").unwrap()),
        Some(Use::Available),
    );
    usage.apply(&UsageFact::State {
        at: Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap(),
        state: Use::Charging,
    });
    usage.apply(&UsageFact::Session {
        session_id: session.id.clone(),
        started_at: Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap(),
        ended_at: None,
        energy_wh: None,
        revenue: None,
    });
    usage.version = 1;
    store.put_usage_day(&usage, 0).await.unwrap();
    let booking = admin(
        app,
        "POST",
        "/api/v1/stations/CP-A/evses/1/bookings",
        booking_body("TOKEN-OF-A"),
    )
    .await;
    let invitation = admin(
        app,
        "POST",
        "/api/v1/invitations",
        json!({"email": "invited-by-a@example.se", "role": "driver"}),
    )
    .await;
    let fee = admin(
        app,
        "POST",
        "/api/v1/fees",
        json!({"name": "Parkering A", "userId": user["id"], "amount": "500", "amountIncludesVat": true, "vatRate": "0.25", "start": "2026-02-01"}),
    )
    .await;
    let charge = admin(
        app,
        "POST",
        "/api/v1/one-off-charges",
        json!({"userId": user["id"], "description": "Tag A", "amount": "100", "amountIncludesVat": true, "vatRate": "0.25", "date": "2026-02-10"}),
    )
    .await;
    OrgA {
        fee: fee["id"].as_str().unwrap().to_owned(),
        charge: charge["id"].as_str().unwrap().to_owned(),
        invoice: run["created"][0]["id"].as_str().unwrap().to_owned(),
        invitation: invitation["id"].as_str().unwrap().to_owned(),
        booking: booking["id"].as_str().unwrap().to_owned(),
        user: user["id"].as_str().unwrap().to_owned(),
        org: "default".into(),
        station: "CP-A".into(),
        site: "SITE-A".into(),
        session: session.id.to_string(),
        command: command["id"].as_str().unwrap().to_owned(),
        token: token["idToken"].as_str().unwrap().to_owned(),
        tariff: tariff["id"].as_str().unwrap().to_owned(),
        assignment: assignment["id"].as_str().unwrap().to_owned(),
        webhook: webhook["id"].as_str().unwrap().to_owned(),
        key: key["id"].as_str().unwrap().to_owned(),
        seen: seen.token.to_string(),
        alarm: alarm.id,
    }
}

/// The price of A's session: 40 + 10 VAT.
fn priced(session: &Session) -> csms_domain::pricing::PricedSession {
    use csms_domain::pricing::{PricedSession, PricingAudit, ROUNDING_RULE};
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    PricedSession {
        session_id: session.id.clone(),
        station_id: session.station_id.clone(),
        org_id: session.org_id.clone(),
        revision: 1,
        tariff_id: "trf".into(),
        tariff_version: 1,
        tariff_name: "A's tariff".into(),
        tariff_reason: vec![],
        id_token: Some("TOKEN-OF-A".into()),
        group: None,
        currency: "SEK".into(),
        vat_rate: d("0.25"),
        started_at: session.started_at.unwrap(),
        ended_at: session.ended_at.unwrap(),
        charging_ended_at: session.ended_at.unwrap(),
        energy_wh: d("16000"),
        lines: vec![],
        net: d("40.00"),
        vat: d("10.00"),
        gross: d("50.00"),
        rounding: ROUNDING_RULE.into(),
        warnings: vec![],
        priced_at: session.ended_at.unwrap(),
        audit: PricingAudit {
            reason: "session completed".into(),
            requested_by: None,
        },
    }
}

fn tariff_body(name: &str) -> Value {
    json!({
        "name": name,
        "elements": [{"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]
    })
}

/// A booking an hour from now, for an hour.
fn booking_body(token: &str) -> Value {
    let start = Utc::now() + chrono::TimeDelta::hours(1);
    let end = start + chrono::TimeDelta::hours(1);
    json!({"idToken": token, "start": start.to_rfc3339(), "end": end.to_rfc3339()})
}

fn site_body(id: &str) -> Value {
    json!({"id": id, "name": "Garage", "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm"}})
}

fn load_body() -> Value {
    json!({
        "gridFuseA": {"l1": 63, "l2": 63, "l3": 63},
        "mode": "static",
        "evses": [{"stationId": "CP-A", "evseId": 1, "maxA": 32}]
    })
}

fn spot_body() -> Value {
    json!({"resolutionMinutes": 60, "prices": vec!["0.50"; 24]})
}

/// A body that would do what the operation does if B were allowed to, on
/// A's objects where it names any (B's own new objects carry none of A's
/// ids, so B's lists may show them). An operation with a body that is not
/// here cannot be walked: the test fails and asks for one.
fn body_for(operation: &str, a: &OrgA) -> Option<Value> {
    Some(match operation {
        "createStation" => json!({"id": "CP-B", "siteId": "SITE-B"}),
        "updateStation" => json!({"approval": "rejected", "name": "B's now", "siteId": "SITE-B"}),
        "rotateStationPassword" => json!({"password": "chosen-by-b-1234"}),
        "sendCommand" => json!({"type": "clearCache"}),
        "createIdToken" => {
            json!({"idToken": "TOKEN-OF-B", "type": "ISO14443", "status": "Accepted"})
        }
        "updateIdToken" => json!({"status": "Blocked", "label": "taken over"}),
        "blockIdToken" => json!({"reason": "taken over"}),
        "disputeInvoice" => json!({"reason": "taken over"}),
        "createRefund" => json!({"amount": "1.00", "reason": "taken over"}),
        "createCreditNote" => {
            json!({"amount": {"amount": "1", "amountIncludesVat": true, "vatRate": "0.25"}, "reason": "taken over"})
        }
        "registerUnregisteredIdToken" => json!({"status": "Accepted"}),
        "createApiKey" => json!({"name": "B's partner", "scopes": ["read"]}),
        "createWebhook" => {
            json!({"url": "https://hooks.example.com/b", "events": ["session.ended"]})
        }
        "createTariff" => tariff_body("B's tariff"),
        "updateTariff" => tariff_body("taken over"),
        // A's tariff on A's station: both must be unknown to B.
        "createTariffAssignment" => {
            json!({"tariffId": a.tariff, "target": {"kind": "station", "id": a.station}})
        }
        "repriceSession" => json!({"reason": "taken over"}),
        "putChargingNeed" => {
            json!({"energyKwh": 10, "departureAt": "2026-01-15T18:00:00Z"})
        }
        "putSiteLoad" => load_body(),
        "postSiteMeter" => json!({"l1": 10, "l2": 10, "l3": 10}),
        "putSpotPrices" => spot_body(),
        // Only the platform admin creates organisations: 403 for B.
        "createOrganisation" => json!({
            "id": "org-b2", "kind": "company", "legalName": "B2 AB",
            "organisationNumber": "556036-0793", "contactEmail": "b@b2.se",
            "address": {"street": "Gatan 2", "postalCode": "111 22", "city": "Stockholm"}
        }),
        "updateOrganisation" => json!({"legalName": "taken over"}),
        // B's own site, on which B's station then stands.
        "createSite" => site_body("SITE-B"),
        "updateSite" => json!({"name": "taken over"}),
        "resolveAlarm" => json!({"note": "taken over"}),
        // B's own thresholds: A's stay as A set them.
        "putAlarmSettings" => json!({"offlineGraceSeconds": 60}),
        // B's new person may carry none of A's ids; A's person changed.
        "createUser" => json!({
            "email": "person-of-b@example.se", "name": "B's person",
            "password": "b-password-123", "role": "viewer"
        }),
        "updateUser" => json!({"role": "orgAdmin", "name": "taken over"}),
        // Open A's station to everyone: B's tokens would charge there.
        "putStationAccess" | "putEvseAccess" => json!({"default": "public"}),
        // Make A's station a garage of A's person: it would start for them.
        "putGarageIdentity" => json!({"userId": a.user}),
        "rateMySession" => json!({"stars": 1, "comment": "B was here"}),
        // Book A's EVSE for A's token.
        "createBooking" => booking_body(&a.token),
        // B's person books A's station with A's card.
        // B invites someone of its own.
        "createInvitation" => json!({"email": "invited-by-b@example.se", "role": "viewer"}),
        // B invoices its own month: A's invoices and ledger stay as they are.
        "runInvoices" => json!({"period": "2026-01"}),
        // B runs its own dunning: A's invoices get no reminder or block.
        "runDunning" => json!({}),
        // Settling a month is the platform admin's: B is refused (403).
        "runSettlement" => json!({"period": "2026-01"}),
        "saveMyCard" => json!({"setupIntentId": "seti_of_nobody"}),
        // B's person names their own company: A's records are not touched.
        "setMyCompany" => json!({"legalName": "B AB", "organisationNumber": "556677-8899"}),
        "payMyInvoiceBySwish" => json!({}),
        // B's own fee for its own group; A's fee renamed.
        "createFee" => {
            json!({"name": "B's fee", "group": "residents", "amount": "10", "amountIncludesVat": false, "vatRate": "0.25", "start": "2026-01-01"})
        }
        "updateFee" => json!({"name": "taken over", "amount": "1"}),
        // B charges A's person: no such person in B (400).
        "createOneOffCharge" => {
            json!({"userId": a.user, "description": "taken over", "amount": "1", "amountIncludesVat": true, "vatRate": "0.25", "date": "2026-01-10"})
        }
        // The client-funds Bankgiro is the platform's: B is refused (403).
        "importBankgiroPayments" => json!("not a BgMax file"),
        "matchPayment" => json!({"invoiceId": a.invoice}),
        "createMyBooking" => {
            let mut body = booking_body(&a.token);
            body["stationId"] = json!(a.station);
            body["evseId"] = json!(1);
            body
        }
        _ => return None,
    })
}

/// The path with A's ids in it, or why it cannot be filled.
fn fill(path: &str, a: &OrgA) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("unclosed parameter")? + open;
        let name = &rest[open + 1..close];
        let before = format!("{out}{}", &rest[..open]);
        let value = match (name, before.as_str()) {
            ("id", "/stations/") => &a.station,
            ("evseId", _) if before.starts_with("/stations/") => "1",
            ("id", "/sessions/") | ("id", "/me/sessions/") => &a.session,
            ("id", "/commands/") => &a.command,
            ("id", "/tariffs/") => &a.tariff,
            ("id", "/tariff-assignments/") => &a.assignment,
            ("id", "/webhooks/") => &a.webhook,
            ("id", "/api-keys/") => &a.key,
            ("id", "/sites/") => &a.site,
            ("value", "/id-tokens/") => &a.token,
            ("value", "/unregistered-id-tokens/") => &a.seen,
            ("id", "/organisations/") => &a.org,
            ("id", "/alarms/") => &a.alarm,
            ("id", "/users/") => &a.user,
            ("id", "/bookings/") | ("id", "/me/bookings/") => &a.booking,
            ("id", "/invitations/") => &a.invitation,
            ("id", "/invoices/") | ("id", "/me/invoices/") => &a.invoice,
            ("id", "/fees/") => &a.fee,
            ("number", _) if before.ends_with("/credit-notes/") => "K1",
            ("id", "/one-off-charges/") => &a.charge,
            // The outbox is the platform's, not A's: B is refused (403).
            ("id", "/outbox/") => "01JEQ3V3N7Q4G8W1Z5X2M9K0AB",
            // Payments are the platform's, not A's: B is refused (403).
            ("id", "/payments/") => "bgmax:17:000000000001",
            // B's own month: a settlement names no id of A.
            ("period", "/settlements/") => "2026-01",
            ("zone", "/spot-prices/") => "SE3",
            ("date", _) if before.starts_with("/spot-prices/") => SPOT_DATE,
            _ => return Err(format!("no value of A for {{{name}}} after {before}")),
        };
        out = format!("{before}{value}");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An id like `id` (same kind and shape) that nobody has.
fn absent(id: &str) -> String {
    let mut s = id.to_owned();
    let last = s.pop().expect("ids are not empty");
    s.push(if last == '0' { '1' } else { '0' });
    s
}

/// Routes whose path names data of no organisation: B may read spot prices
/// (public market data), only the platform admin may write them, and only
/// the platform admin reads the mail outbox and the client-funds account's
/// payments (the platform's own).
fn of_no_organisation(path: &str) -> bool {
    path.starts_with("/spot-prices/")
        || path.starts_with("/outbox/")
        || path.starts_with("/payments/")
}

#[tokio::test]
async fn a_key_of_another_organisation_sees_and_changes_nothing_on_any_operation() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let a = org_a(&app, &*store).await;
    let org_b = OrgId::parse("org-b").unwrap();
    let b = support::partner_key(&*store, &org_b, Scope::ALL.to_vec()).await;
    leak_walk(&app, &a, &b).await;
}

/// The same walk with a person of B signed in (an `orgAdmin` of B, with the
/// session cookie and its CSRF token) instead of a key.
#[tokio::test]
async fn a_signed_in_person_of_another_organisation_sees_and_changes_nothing() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let a = org_a(&app, &*store).await;
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let made = call(
        &app,
        "POST",
        "/api/v1/users",
        KEY,
        &[("x-organisation", "org-b")],
        Some(&json!({"email": "admin-of-b@example.se", "name": "B's admin", "password": "b-admin-password", "role": "orgAdmin"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let (cookie, csrf) = support::sign_in(&app, "admin-of-b@example.se", "b-admin-password").await;
    leak_walk(&app, &a, &format!("{SESSION}{cookie} {csrf}")).await;
}

/// Every operation of the document, by `b` (a key or a signed-in person of
/// organisation B) on A's objects: 404 for each of A's ids, told apart from
/// no missing id, nothing of A in any answer, and A's data unchanged.
async fn leak_walk(app: &axum::Router, a: &OrgA, b: &str) {
    let app = app.clone();
    let b = b.to_owned();

    let doc = call(&app, "GET", "/api/v1/openapi.json", KEY, &[], None)
        .await
        .body;
    let before = a.snapshot(&app).await;
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Signing in and out acts on the caller's own session and names
        // no object (tests/users.rs).
        if path.starts_with("/auth/") {
            continue;
        }
        // A start link is public and names no organisation's id: its
        // charging key is the permission (B gets A's key only through A's
        // own routes, which this walk covers: 404). tests/start_link.rs
        // has the key's own checks.
        if path.starts_with("/start/") {
            continue;
        }
        // A payment provider's webhook takes no key: the provider's signature
        // is the credential, and its event names the invoice it pays
        // (csms_billing::card's tests, tests/e2e/test_card_payments.py).
        if path.starts_with("/providers/") {
            continue;
        }
        // A person's saved card is theirs alone and names no object of an
        // organisation; it needs a Stripe account, which this app has not
        // (a key is still refused it below). tests/e2e/test_card_payments.py.
        if path == "/me/card" && b.starts_with(SESSION) {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let name = op["operationId"].as_str().unwrap_or(path);
            let what = format!("{method} {path} ({name})");
            let uri = fill(path, a).unwrap_or_else(|e| panic!("{what}: cannot fill: {e}"));
            // A required idempotency key is sent, as any client sends it.
            let mut headers: Vec<(&str, &str)> = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header" && p["name"] == "Idempotency-Key" {
                    headers.push(("Idempotency-Key", "leak-walk-1"));
                    continue;
                }
                assert!(
                    p["in"] == "path" || p["required"] != true,
                    "{what}: cannot fill its required parameter {}",
                    p["name"]
                );
            }
            let body = op.get("requestBody").map(|_| {
                body_for(name, a)
                    .unwrap_or_else(|| panic!("{what}: no body to send; add one to body_for"))
            });
            let got = call(
                &app,
                &method,
                &format!("/api/v1{uri}"),
                &b,
                &headers,
                body.as_ref(),
            )
            .await;
            assert!(
                !got.status.is_server_error(),
                "{what}: {} {}",
                got.status,
                got.text
            );
            // A settlement's path names a month of the caller's own
            // organisation, no object: B reads its own month (no A in it).
            let names_an_object = path.contains('{')
                && !of_no_organisation(path)
                && !path.starts_with("/settlements/");
            // A person's own things are no key's: refused whatever they name.
            if path.starts_with("/me/") && !b.starts_with(SESSION) {
                assert_eq!(got.status, StatusCode::FORBIDDEN, "{what}: {}", got.text);
            } else if names_an_object {
                assert_eq!(
                    got.status,
                    StatusCode::NOT_FOUND,
                    "{what} with A's ids: {}",
                    got.text
                );
                assert_eq!(got.body["error"]["code"], "not_found", "{what}");
            } else if got.status.is_success() {
                for id in a.ids() {
                    assert!(
                        !got.text.contains(id),
                        "{what} shows A's {id}: {}",
                        got.text
                    );
                }
            }
            // Answered like an id nobody has: same status, same words. A
            // PUT at a missing site creates it, so that one has no twin.
            if names_an_object && name != "putSiteLoad" && got.status == StatusCode::NOT_FOUND {
                let mut missing_uri = uri.clone();
                let mut got_text = got.text.clone();
                for id in a.ids() {
                    if uri.contains(id) {
                        missing_uri = missing_uri.replace(id, &absent(id));
                        got_text = got_text.replace(id, &absent(id));
                    }
                }
                let missing = call(
                    &app,
                    &method,
                    &format!("/api/v1{missing_uri}"),
                    &b,
                    &headers,
                    body.as_ref(),
                )
                .await;
                assert_eq!(
                    (missing.status, missing.text),
                    (got.status, got_text),
                    "{what}: A's id and a missing one are told apart"
                );
            }
            assert_eq!(
                a.snapshot(&app).await,
                before,
                "{what} changed A's data ({})",
                got.status
            );
            walked += 1;
        }
    }
    assert!(walked >= 50, "walked {walked} operations");
}

/// The usage report takes its scope from the query, which the walk does
/// not fill: B's report of the month A charged in shows nothing of A, and
/// A's site and station are answered like ids nobody has.
#[tokio::test]
async fn another_organisations_usage_report_shows_nothing_of_a() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let a = org_a(&app, &*store).await;
    let seen_by_a = call(
        &app,
        "GET",
        "/api/v1/reports/usage?period=2026-01&groupBy=evse",
        KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(seen_by_a.status, StatusCode::OK, "{}", seen_by_a.text);
    assert_eq!(seen_by_a.body["total"]["sessions"], 1, "{}", seen_by_a.text);
    let b = support::partner_key(
        &*store,
        &OrgId::parse("org-b").unwrap(),
        Scope::ALL.to_vec(),
    )
    .await;
    let report = "/api/v1/reports/usage?period=2026-01&groupBy=evse";
    let got = call(&app, "GET", report, &b, &[], None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["rows"], json!([]));
    assert_eq!(got.body["total"]["sessions"], 0);
    for id in a.ids() {
        assert!(
            !got.text.contains(id),
            "B's report shows A's {id}: {}",
            got.text
        );
    }
    for (param, id) in [("stationId", &a.station), ("siteId", &a.site)] {
        let theirs = call(
            &app,
            "GET",
            &format!("{report}&{param}={id}"),
            &b,
            &[],
            None,
        )
        .await;
        let nobodys = call(
            &app,
            "GET",
            &format!("{report}&{param}={}", absent(id)),
            &b,
            &[],
            None,
        )
        .await;
        assert_eq!(
            theirs.status,
            StatusCode::NOT_FOUND,
            "{param}: {}",
            theirs.text
        );
        assert_eq!(
            (nobodys.status, nobodys.text),
            (theirs.status, theirs.text.replace(id.as_str(), &absent(id))),
            "{param}: A's id and a missing one are told apart"
        );
    }
}

#[tokio::test]
async fn the_platform_admin_acts_in_the_organisation_x_organisation_names() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let in_b = [("x-organisation", "org-b")];
    let station = json!({"id": "CP-B"});
    // Only an organisation that exists: answered like any unknown id.
    let nowhere = call(&app, "POST", "/api/v1/stations", KEY, &in_b, Some(&station)).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND, "{}", nowhere.text);
    assert_eq!(
        nowhere.body["error"]["message"],
        "organisation \"org-b\" not found"
    );
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let made = call(&app, "POST", "/api/v1/stations", KEY, &in_b, Some(&station)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let b = support::partner_key(&*store, &OrgId::parse("org-b").unwrap(), vec![Scope::Read]).await;
    let seen_by_b = call(&app, "GET", "/api/v1/stations/CP-B", &b, &[], None).await;
    assert_eq!(seen_by_b.status, StatusCode::OK, "{}", seen_by_b.text);
    // Without the header the platform admin is in the default organisation.
    let default_list = call(&app, "GET", "/api/v1/stations", KEY, &[], None).await;
    assert_eq!(default_list.body["items"], json!([]));
    let b_list = call(&app, "GET", "/api/v1/stations", KEY, &in_b, None).await;
    assert_eq!(b_list.body["items"][0]["id"], "CP-B");
    let bad = call(
        &app,
        "GET",
        "/api/v1/stations",
        KEY,
        &[("x-organisation", "no spaces")],
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("X-Organisation:"),
        "{}",
        bad.text
    );
    // `?org=` names the organisation as the header does (for links).
    let by_param = call(&app, "GET", "/api/v1/stations?org=org-b", KEY, &[], None).await;
    assert_eq!(by_param.body["items"][0]["id"], "CP-B", "{}", by_param.text);
    let both = call(&app, "GET", "/api/v1/stations?org=org-b", KEY, &in_b, None).await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.text);
    let differ = call(
        &app,
        "GET",
        "/api/v1/stations?org=default",
        KEY,
        &in_b,
        None,
    )
    .await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST, "{}", differ.text);
    let bad = call(
        &app,
        "GET",
        "/api/v1/stations?org=no%20spaces",
        KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("org:"),
        "{}",
        bad.text
    );
    // A partner key naming another organisation by parameter: 404, as by header.
    let other = call(&app, "GET", "/api/v1/stations?org=default", &b, &[], None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
}

#[tokio::test]
async fn a_partner_key_naming_another_organisation_is_answered_not_found() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let b = support::partner_key(
        &*store,
        &OrgId::parse("org-b").unwrap(),
        Scope::ALL.to_vec(),
    )
    .await;
    let own = call(
        &app,
        "GET",
        "/api/v1/stations",
        &b,
        &[("x-organisation", "org-b")],
        None,
    )
    .await;
    assert_eq!(
        own.status,
        StatusCode::OK,
        "its own organisation: {}",
        own.text
    );
    let other = call(
        &app,
        "GET",
        "/api/v1/stations",
        &b,
        &[("x-organisation", "default")],
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
}

#[tokio::test]
async fn spot_prices_are_stored_by_the_platform_admin_alone() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    let partner_admin =
        support::partner_key(&*store, &OrgId::default_org(), vec![Scope::Admin]).await;
    let uri = format!("/api/v1/spot-prices/SE3/{SPOT_DATE}");
    let refused = call(&app, "PUT", &uri, &partner_admin, &[], Some(&spot_body())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let unstored = call(&app, "GET", &uri, &partner_admin, &[], None).await;
    assert_eq!(unstored.status, StatusCode::NOT_FOUND, "nothing was stored");
    let stored = call(&app, "PUT", &uri, KEY, &[], Some(&spot_body())).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text);
}

/// Token values are one namespace for all organisations, so B can name
/// A's token; it must learn nothing from it (not its user group) and get
/// no group price of its own for it.
#[tokio::test]
async fn a_token_of_another_organisation_brings_no_user_group() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let app = support::app(store.clone(), KEY);
    admin(
        &app,
        "POST",
        "/api/v1/id-tokens",
        json!({"idToken": "TOKEN-OF-A", "type": "ISO14443", "status": "Accepted", "group": "residents"}),
    )
    .await;
    support::organisation(&*store, &OrgId::parse("org-b").unwrap()).await;
    let in_b = [("x-organisation", "org-b")];
    let as_b = |method: &'static str, uri: &'static str, body: Value| {
        let app = app.clone();
        async move {
            let a = call(&app, method, uri, KEY, &in_b, Some(&body)).await;
            assert!(a.status.is_success(), "{method} {uri}: {}", a.text);
            a.body
        }
    };
    as_b("POST", "/api/v1/stations", json!({"id": "CP-B"})).await;
    let public = as_b("POST", "/api/v1/tariffs", tariff_body("public")).await;
    let residents = as_b("POST", "/api/v1/tariffs", tariff_body("B's residents")).await;
    as_b(
        "POST",
        "/api/v1/tariff-assignments",
        json!({"tariffId": public["id"], "target": {"kind": "station", "id": "CP-B"}}),
    )
    .await;
    as_b(
        "POST",
        "/api/v1/tariff-assignments",
        json!({"tariffId": residents["id"], "target": {"kind": "station", "id": "CP-B"}, "group": "residents"}),
    )
    .await;
    let b = support::partner_key(&*store, &OrgId::parse("org-b").unwrap(), vec![Scope::Read]).await;
    let preview = call(
        &app,
        "GET",
        "/api/v1/stations/CP-B/price-preview?idToken=TOKEN-OF-A",
        &b,
        &[],
        None,
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["group"], Value::Null, "{}", preview.text);
    assert_eq!(preview.body["tariffId"], public["id"], "{}", preview.text);
}
