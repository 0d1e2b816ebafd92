//! Monthly fees and one-off charges through the API: fields checked and
//! named, versioned changes, read and write scopes, and a charge that is on
//! an issued invoice neither added to its month nor deleted.

mod support;

use axum::http::StatusCode;
use csms_domain::api_key::Scope;
use csms_domain::OrgId;
use serde_json::{json, Value};
use support::{partner_key, ChargerWorld, WORLD_KEY};

async fn person(w: &ChargerWorld, email: &str) -> String {
    let made = w
        .admin(
            "POST",
            "/users",
            Some(json!({"email": email, "name": "Eva Lind", "password": "a-password-123", "role": "driver"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

fn fee_body(user: &str) -> Value {
    json!({"name": "Parkeringsplats 12", "userId": user, "amount": "500", "amountIncludesVat": true,
           "vatRate": "0.25", "start": "2026-11-16"})
}

#[tokio::test]
async fn fees_are_checked_changed_on_their_version_and_deleted() {
    let w = ChargerWorld::new();
    let eva = person(&w, "eva@example.se").await;
    for (patch, field) in [
        (json!({"amount": "abc"}), "amount:"),
        (json!({"amount": "0"}), "amount"),
        (json!({"amount": "1.005"}), "amount"),
        (json!({"vatRate": "1"}), "vatRate"),
        (json!({"start": "2026-13-01"}), "start:"),
        (json!({"end": "2026-11-15"}), "end:"),
        (json!({"name": " "}), "name"),
        (
            json!({"userId": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
            "userId:",
        ),
        (json!({"group": "residents"}), "userId:"),
        (json!({"userId": null, "group": "no spaces"}), "group:"),
    ] {
        let mut body = fee_body(&eva);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        if body["userId"].is_null() {
            body.as_object_mut().unwrap().remove("userId");
        }
        let got = w.admin("POST", "/fees", Some(body)).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{patch}: {}", got.text);
        let message = got.body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{patch}: {message}");
    }
    let made = w.admin("POST", "/fees", Some(fee_body(&eva))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["userId"], eva.as_str());
    assert_eq!(made.body["group"], Value::Null);
    assert_eq!(made.body["amountIncludesVat"], true);
    let group = w
        .admin(
            "POST",
            "/fees",
            Some(
                json!({"name": "Laddklubben", "group": "residents", "amount": "99.20",
                        "amountIncludesVat": false, "vatRate": "0.25", "start": "2026-01-01",
                        "end": "2026-12-31"}),
            ),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);

    let listed = w.admin("GET", "/fees?limit=1", None).await;
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    let next = listed.body["nextCursor"].as_str().unwrap();
    let rest = w
        .admin("GET", &format!("/fees?limit=1&cursor={next}"), None)
        .await;
    assert_eq!(rest.body["items"][0]["name"], "Laddklubben");

    // A reader reads, but does not write.
    let reader = partner_key(&*w.store, &OrgId::default_org(), vec![Scope::Read]).await;
    let read = w
        .call(&reader, "GET", &format!("/fees/{id}"), &[], None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let refused = w
        .call(
            &reader,
            "PATCH",
            &format!("/fees/{id}"),
            &[],
            Some(json!({"amount": "1"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let changed = w
        .call(
            WORLD_KEY,
            "PATCH",
            &format!("/fees/{id}"),
            &[("if-match", "1")],
            Some(json!({"amount": "600", "end": "2027-06-30"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        (
            changed.body["amount"].as_str(),
            changed.body["version"].as_u64()
        ),
        (Some("600"), Some(2))
    );
    let stale = w
        .call(
            WORLD_KEY,
            "PATCH",
            &format!("/fees/{id}"),
            &[("if-match", "1")],
            Some(json!({"amount": "700"})),
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    let backwards = w
        .admin(
            "PATCH",
            &format!("/fees/{id}"),
            Some(json!({"end": "2026-01-01"})),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
    let open = w
        .admin("PATCH", &format!("/fees/{id}"), Some(json!({"end": null})))
        .await;
    assert_eq!(open.body["end"], Value::Null, "{}", open.text);

    assert_eq!(
        w.admin("DELETE", &format!("/fees/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.admin("GET", &format!("/fees/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_charge_on_an_issued_invoice_stays_and_its_month_takes_no_more() {
    let w = ChargerWorld::new();
    let filled = w
        .admin(
            "PATCH",
            "/organisations/default",
            Some(json!({"legalName": "BRF Solsidan", "organisationNumber": "556036-0793"})),
        )
        .await;
    assert_eq!(filled.status, StatusCode::OK, "{}", filled.text);
    let eva = person(&w, "eva@example.se").await;
    let charge = |date: &str| {
        json!({"userId": eva, "description": "Ny nyckelbricka", "amount": "100",
               "amountIncludesVat": true, "vatRate": "0.25", "date": date})
    };
    let bad = w
        .admin("POST", "/one-off-charges", Some(json!({"userId": eva, "description": "x", "amount": "100", "amountIncludesVat": true, "vatRate": "0.25", "date": "1999-12-31"})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("date:"), "{}", bad.text);
    let made = w
        .admin("POST", "/one-off-charges", Some(charge("2026-11-20")))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (made.body["period"].as_str(), &made.body["invoiceId"]),
        (Some("2026-11"), &Value::Null)
    );
    let december = w
        .admin("POST", "/one-off-charges", Some(charge("2026-12-02")))
        .await;
    let december = december.body["id"].as_str().unwrap().to_owned();
    let listed = w
        .admin("GET", "/one-off-charges?period=2026-11", None)
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        listed.text
    );

    let run = w
        .admin("POST", "/invoice-runs", Some(json!({"period": "2026-11"})))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.body["chargesInvoiced"], 1, "{}", run.text);
    let invoice_id = run.body["created"][0]["id"].as_str().unwrap().to_owned();
    let invoice = w
        .admin("GET", &format!("/invoices/{invoice_id}"), None)
        .await;
    assert_eq!(invoice.body["lines"], json!([]), "{}", invoice.text);
    let line = &invoice.body["charges"][0];
    assert_eq!(
        (
            line["kind"].as_str(),
            line["sourceId"].as_str(),
            line["date"].as_str()
        ),
        (Some("charge"), Some(id.as_str()), Some("2026-11-20"))
    );
    assert_eq!(
        (
            line["net"].as_str(),
            line["vat"].as_str(),
            line["gross"].as_str()
        ),
        (Some("80.00"), Some("20.00"), Some("100.00"))
    );
    assert_eq!(invoice.body["gross"], "100.00", "{}", invoice.text);

    let got = w
        .admin("GET", &format!("/one-off-charges/{id}"), None)
        .await;
    assert_eq!(got.body["invoiceId"], invoice_id.as_str());
    let kept = w
        .admin("DELETE", &format!("/one-off-charges/{id}"), None)
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT);
    assert!(kept.text.contains("is on invoice"), "{}", kept.text);
    let late = w
        .admin("POST", "/one-off-charges", Some(charge("2026-11-29")))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.text.contains("2026-11"), "{}", late.text);
    // December's is not invoiced: it goes.
    assert_eq!(
        w.admin("DELETE", &format!("/one-off-charges/{december}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}
