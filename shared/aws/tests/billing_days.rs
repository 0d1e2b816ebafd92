//! The day's billing fanned out through SQS (moto): `session-sweep`'s
//! `{"billing": true}` puts one message per organisation on the billing
//! queue, and `invoice-run`'s handler does each organisation's day over the
//! DynamoDB store — once, however often its message arrives.
//!
//! Needs `AWS_ENDPOINT_URL` (the test script starts moto).

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use csms_app::testkit::NoAdapters;
use csms_app::{Runtime, Settings, Wiring};
use csms_aws::billing::{
    fan_out_billing_day, handle_billing_day_message, BillingDayError, BillingDayMessage,
};
use csms_aws::sqs::JsonQueue;
use csms_aws::DynamoStore;
use csms_domain::pricing::{PricedSession, PricingAudit, ROUNDING_RULE};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::user::Role;
use csms_domain::{OrgId, StationId, TransactionId};
use csms_kernel::contract::{organisation, user};
use csms_kernel::ports::{
    InvoiceQuery, InvoiceStore, OrganisationStore, PageRequest, PricedSessionStore, SessionStore,
    Store, SystemClock, UserStore,
};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::sync::Arc;
use support::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A completed, priced session of `driver` at `org`'s station `CP-{org}`.
async fn charged(
    store: &DynamoStore,
    org: &str,
    tx: &str,
    start: &str,
    driver: &csms_domain::user::User,
) {
    let station = StationId::parse(format!("CP-{org}")).unwrap();
    let org = OrgId::parse(org).unwrap();
    let mut s = Session::blank(
        &station,
        org.clone(),
        None,
        &TransactionId::parse(tx).unwrap(),
        t(start),
    );
    s.started_at = Some(t(start));
    s.ended_at = Some(t(start) + Duration::hours(2));
    s.status = SessionStatus::Completed;
    s.user_id = Some(driver.id.clone());
    s.id_token = Some("TAG".into());
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    let net: Decimal = "40.00".parse().unwrap();
    let vat: Decimal = "10.00".parse().unwrap();
    store
        .put_priced_session(&PricedSession {
            session_id: s.id.clone(),
            station_id: station,
            org_id: org,
            revision: 1,
            tariff_id: "trf".into(),
            tariff_version: 1,
            tariff_name: "Boende".into(),
            tariff_reason: vec![],
            id_token: Some("TAG".into()),
            group: None,
            currency: "SEK".into(),
            vat_rate: "0.25".parse().unwrap(),
            started_at: t(start),
            ended_at: t(start) + Duration::hours(2),
            charging_ended_at: t(start) + Duration::hours(1),
            energy_wh: "10500".parse().unwrap(),
            lines: vec![],
            net,
            vat,
            gross: net + vat,
            rounding: ROUNDING_RULE.into(),
            warnings: vec![],
            priced_at: t(start) + Duration::hours(3),
            audit: PricingAudit {
                reason: "session completed".into(),
                requested_by: None,
            },
        })
        .await
        .unwrap();
}

async fn invoices_of(store: &DynamoStore, org: &str) -> usize {
    store
        .list_invoices(&InvoiceQuery {
            org_id: OrgId::parse(org).unwrap(),
            period: None,
            user_id: None,
            status: None,
            page: PageRequest::default(),
        })
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn each_organisation_is_billed_from_its_own_message_once() {
    let sdk = sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        unique_table("csms-billing"),
    ));
    store.create_table().await.expect("create the test table");
    for org in ["bill-a", "bill-b"] {
        store.create_organisation(&organisation(org)).await.unwrap();
    }
    let ada = user(1, "ada@example.se", &[("bill-a", Role::Driver)]);
    store.create_user(&ada).await.unwrap();
    // November in Stockholm; the messages are for 5 December.
    charged(&store, "bill-a", "1", "2026-11-15T17:00:00Z", &ada).await;

    let (sqs, queue_url) = sqs_queue(&sdk, "csms-billing-days").await;
    let queue = JsonQueue::new(&sdk, &queue_url);
    let answer = fan_out_billing_day(&*store, &queue, t("2026-12-05T07:30:00Z"))
        .await
        .unwrap();
    // Every organisation the store knows (the platform's default one too,
    // which has no record here and so nothing to bill).
    let known = csms_kernel::tenants::organisation_ids(&*store)
        .await
        .unwrap();
    assert_eq!(answer["queued"], known.len(), "{answer}");
    let mut bodies = Vec::new();
    for _ in &known {
        bodies.push(receive_one(&sqs, &queue_url).await);
    }
    let messages: Vec<BillingDayMessage> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let orgs: BTreeSet<String> = messages.iter().map(|m| m.org_id.clone()).collect();
    let expected: BTreeSet<String> = known.iter().map(|o| o.to_string()).collect();
    assert_eq!(orgs, expected);
    assert!(
        orgs.contains("bill-a") && orgs.contains("bill-b"),
        "{orgs:?}"
    );
    let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    assert!(messages.iter().all(|m| m.day == day), "{messages:?}");

    let dyn_store: Arc<dyn Store> = store.clone();
    let settings = Settings::from_lookup(Runtime::Aws, &|_| None).expect("defaults are valid");
    let sweep = Wiring::new(settings, dyn_store, Arc::new(SystemClock), NoAdapters)
        .billing_sweep()
        .expect("the billing sweep wires without adapters");
    for body in &bodies {
        let counts = handle_billing_day_message(&sweep, body).await.unwrap();
        let expected = usize::from(body.contains("\"bill-a\""));
        assert_eq!(counts.invoices_issued, expected, "{body}");
    }
    assert_eq!(invoices_of(&store, "bill-a").await, 1);
    assert_eq!(invoices_of(&store, "bill-b").await, 0);
    // Redelivered (or the next hour's message for the same day): nothing new.
    for body in &bodies {
        let again = handle_billing_day_message(&sweep, body).await.unwrap();
        assert_eq!(again.invoices_issued, 0, "{body}");
    }
    assert_eq!(invoices_of(&store, "bill-a").await, 1);

    // An organisation that has gone: nothing to bill, and no failure.
    let gone = r#"{"orgId": "bill-gone", "day": "2026-12-05"}"#;
    assert_eq!(
        handle_billing_day_message(&sweep, gone)
            .await
            .unwrap()
            .invoices_issued,
        0
    );
    // Bodies that are not messages fail, naming what is wrong.
    for (body, field) in [
        ("not json", "not a billing day message"),
        (
            r#"{"orgId": "bill-a", "day": "2026-13-01"}"#,
            "not a billing day message",
        ),
        (
            r#"{"orgId": "bill-a", "day": "2026-12-05", "x": 1}"#,
            "unknown field",
        ),
        (r#"{"orgId": "", "day": "2026-12-05"}"#, "orgId"),
    ] {
        let err = handle_billing_day_message(&sweep, body).await.unwrap_err();
        assert!(
            matches!(
                err,
                BillingDayError::Malformed(_) | BillingDayError::OrgId(_)
            ),
            "{body}: {err}"
        );
        assert!(err.to_string().contains(field), "{body}: {err}");
    }
}
