//! [`DynamoStore`]'s API keys, webhooks and webhook deliveries.
//!
//! # Layout
//! Each is kept whole as JSON in `body` through its stored form
//! (`csms-store-records`), like commands, with `version` next
//! to it for the conditions.
//!
//! | item             | PK                     | SK     | GSI1PK / GSI1SK                                          | GSI2PK / GSI2SK |
//! |------------------|------------------------|--------|----------------------------------------------------------|-----------------|
//! | API key          | `APIKEY#{keyId}`       | `META` | `ORG#{org}#APIKEY` / `{keyId}`                           | |
//! | webhook          | `WEBHOOK#{webhookId}`  | `META` | `ORG#{org}#WEBHOOK` / `{webhookId}` (sparse: not deleted) | |
//! | webhook delivery | `DELIVERY#{deliveryId}`| `META` | `WHDQ` / `{deliveryId}` (sparse: only while pending)     | `WEBHOOK#{webhookId}#DELIVERY` / `{deliveryId}` |
//!
//! An organisation's keys and live webhooks are `Query`s on GSI1, a
//! webhook's delivery log (newest first) a `Query` on GSI2, and the
//! deliveries still to be tried, everywhere, the GSI1 partition `WHDQ`.

use super::table::{org_partition, record_from, set_key, versioned_item, Index, Query, META};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use csms_domain::api_key::ApiKey;
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::OrgId;
use csms_kernel::ports::{ApiKeyStore, Page, PageRequest, StoreResult, WebhookStore};
use csms_store_records::Record;

/// GSI1 partition of every delivery still to be tried.
const PENDING_DELIVERIES: &str = "WHDQ";

fn api_key_pk(id: &str) -> String {
    format!("APIKEY#{id}")
}

fn webhook_pk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

fn delivery_pk(id: &str) -> String {
    format!("DELIVERY#{id}")
}

/// GSI2 partition of a webhook's deliveries.
fn webhook_deliveries_pk(webhook_id: &str) -> String {
    format!("WEBHOOK#{webhook_id}#DELIVERY")
}

fn api_key_item(key: &ApiKey) -> StoreResult<Key> {
    let mut item = versioned_item(
        api_key_pk(&key.id),
        META,
        &key.to_stored(),
        key.version,
        "API key",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&key.org_id, "APIKEY"),
        &key.id,
    );
    Ok(item)
}

fn webhook_item(hook: &Webhook) -> StoreResult<Key> {
    let mut item = versioned_item(
        webhook_pk(&hook.id),
        META,
        &hook.to_stored(),
        hook.version,
        "webhook",
    )?;
    // Sparse: a deleted webhook drops out of its organisation's listing.
    if hook.deleted_at.is_none() {
        set_key(
            &mut item,
            Index::Gsi1,
            org_partition(&hook.org_id, "WEBHOOK"),
            &hook.id,
        );
    }
    Ok(item)
}

fn delivery_item(d: &Delivery) -> StoreResult<Key> {
    let mut item = versioned_item(
        delivery_pk(&d.id),
        META,
        &d.to_stored(),
        d.version,
        "delivery",
    )?;
    set_key(
        &mut item,
        Index::Gsi2,
        webhook_deliveries_pk(&d.webhook_id),
        &d.id,
    );
    // Sparse index over deliveries still to be tried.
    if !d.status.is_final() {
        set_key(&mut item, Index::Gsi1, PENDING_DELIVERIES, &d.id);
    }
    Ok(item)
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.put_fresh(api_key_item(key)?, format!("API key {}", key.id))
            .await
    }

    async fn get_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        self.get_as(api_key_pk(id), META, record_from).await
    }

    async fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> StoreResult<()> {
        let what = format!("API key {}", key.id);
        self.put_versioned(api_key_item(key)?, expected_version, what)
            .await
    }

    async fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<ApiKey>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "APIKEY"));
        self.page_of(org, &query, page, record_from).await
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        self.put_fresh(webhook_item(hook)?, format!("webhook {}", hook.id))
            .await
    }

    async fn get_webhook(&self, id: &str) -> StoreResult<Option<Webhook>> {
        self.get_as(webhook_pk(id), META, record_from).await
    }

    async fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> StoreResult<()> {
        let what = format!("webhook {}", hook.id);
        self.put_versioned(webhook_item(hook)?, expected_version, what)
            .await
    }

    async fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Webhook>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "WEBHOOK"));
        self.page_of(org, &query, page, record_from).await
    }

    async fn create_delivery(&self, d: &Delivery) -> StoreResult<()> {
        self.put_fresh(delivery_item(d)?, format!("delivery {}", d.id))
            .await
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        self.get_as(delivery_pk(id), META, record_from).await
    }

    async fn put_delivery(&self, d: &Delivery, expected_version: u64) -> StoreResult<()> {
        let what = format!("delivery {}", d.id);
        self.put_versioned(delivery_item(d)?, expected_version, what)
            .await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let query = Query::index(Index::Gsi2, webhook_deliveries_pk(webhook_id)).newest_first();
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }

    async fn pending_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        let query = Query::index(Index::Gsi1, PENDING_DELIVERIES);
        let page = PageRequest::first(u32::try_from(limit).unwrap_or(u32::MAX));
        let pending = self
            .page_of(&OrgId::default_org(), &query, &page, record_from)
            .await?;
        Ok(pending.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn api_keys_webhooks_and_deliveries_hold_the_golden_json_and_read_back() {
        for (key, line) in golden::<ApiKey>("api_keys.jsonl") {
            let item = api_key_item(&key).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("APIKEY#{}", key.id)));
            assert_eq!(record_from::<ApiKey>(item).unwrap(), key);
        }
        for (hook, line) in golden::<Webhook>("webhooks.jsonl") {
            let item = webhook_item(&hook).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("WEBHOOK#{}", hook.id)));
            assert_eq!(record_from::<Webhook>(item).unwrap(), hook);
        }
        for (d, line) in golden::<Delivery>("deliveries.jsonl") {
            let item = delivery_item(&d).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("DELIVERY#{}", d.id)));
            assert_eq!(record_from::<Delivery>(item).unwrap(), d);
        }
    }
}
