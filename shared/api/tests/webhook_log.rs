//! The delivery log as `GET /webhooks/{id}/deliveries` shows it: attempts
//! stored before the deliverer kept only coarse texts (and the answers of
//! internal services) are shown as today's deliverer would have stored
//! them — no answer body for a private target, no socket error anywhere.

mod support;

use chrono::Utc;
use csms_domain::webhook::{Attempt, Delivery, DeliveryStatus, EventType, Webhook};
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_store_redb::EmbeddedStore;
use serde_json::Value;
use std::sync::Arc;

const KEY: &str = "test-admin-key-0123456789";

fn attempt(status: Option<u16>, body: Option<&str>, error: Option<&str>) -> Attempt {
    Attempt {
        at: Utc::now(),
        status_code: status,
        response_body: body.map(str::to_owned),
        error: error.map(str::to_owned),
        duration_ms: 3,
    }
}

async fn logged(store: &Arc<dyn Store>, id: &str, url: &str) -> Vec<Value> {
    let hook = Webhook {
        id: id.into(),
        org_id: OrgId::default_org(),
        url: url.into(),
        events: vec![EventType::StationConnected],
        description: None,
        secret: "whsec_x".into(),
        created_by: None,
        created_at: Utc::now(),
        deleted_at: None,
        failing_since: None,
        version: 1,
    };
    store.create_webhook(&hook).await.unwrap();
    store
        .create_delivery(&Delivery {
            id: format!("{id}-d"),
            webhook_id: id.into(),
            org_id: OrgId::default_org(),
            event_id: "ev".into(),
            event_type: EventType::StationConnected,
            body: "{}".into(),
            status: DeliveryStatus::Failed,
            attempts: vec![
                attempt(
                    None,
                    None,
                    Some("request failed: Connection refused (os error 111)"),
                ),
                attempt(
                    Some(401),
                    Some("{\"secret\":\"internal\"}"),
                    Some("endpoint answered 401"),
                ),
                attempt(None, None, Some("connection failed")),
            ],
            next_attempt_at: None,
            created_at: Utc::now(),
            version: 1,
        })
        .await
        .unwrap();
    let app = support::app(store.clone(), KEY);
    let (_, _, body) = support::get(&app, KEY, &format!("/api/v1/webhooks/{id}/deliveries")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    v["items"][0]["attempts"].as_array().unwrap().clone()
}

#[tokio::test]
async fn old_attempts_are_shown_coarse_and_without_a_private_answer() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let private = logged(&store, "private", "http://127.0.0.1:8500/v1/kv").await;
    let errors: Vec<&Value> = private.iter().map(|a| &a["error"]).collect();
    assert_eq!(
        errors,
        [
            "request failed",
            "endpoint answered 401",
            "connection failed"
        ]
    );
    assert!(
        private.iter().all(|a| a["responseBody"].is_null()),
        "{private:?}"
    );
    assert_eq!(private[1]["statusCode"], 401);

    let public = logged(&store, "public", "https://hooks.example.com/x").await;
    assert_eq!(public[0]["error"], "request failed");
    assert_eq!(public[1]["responseBody"], "{\"secret\":\"internal\"}");
}
