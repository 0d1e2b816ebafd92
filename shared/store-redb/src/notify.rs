//! Notify: API keys, webhooks and their deliveries, with the queue of
//! deliveries due.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::api_key::ApiKey;
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::OrgId;
use csms_kernel::ports::{Page, PageRequest};
use redb::ReadableTable;

impl Db {
    // --- API keys -------------------------------------------------------

    pub(crate) fn create_api_key(&self, key: &ApiKey) -> R<()> {
        self.write(|txn| {
            let mut keys = txn.open_table(API_KEYS)?;
            if keys.get(key.id.as_str())?.is_some() {
                return Err(conflict(format!("API key {} exists", key.id)));
            }
            put_record(&mut keys, &key.id, key)?;
            let by_org = format!("{}\0{}", key.org_id, key.id);
            txn.open_table(API_KEYS_BY_ORG)?
                .insert(by_org.as_str(), key.id.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_api_key(&self, id: &str) -> R<Option<ApiKey>> {
        self.read(|txn| get_record(&txn.open_table(API_KEYS)?, id))
    }

    pub(crate) fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut keys = txn.open_table(API_KEYS)?;
            match get_record::<ApiKey>(&keys, &key.id)? {
                Some(k) if k.version == expected_version => {}
                _ => {
                    return Err(conflict(format!(
                        "API key {} is not at version {expected_version}",
                        key.id
                    )))
                }
            }
            put_record(&mut keys, &key.id, key)
        })
    }

    pub(crate) fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> R<Page<ApiKey>> {
        self.list_indexed_records(
            API_KEYS_BY_ORG,
            API_KEYS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    // --- webhooks -------------------------------------------------------

    pub(crate) fn create_webhook(&self, hook: &Webhook) -> R<()> {
        self.write(|txn| {
            let mut hooks = txn.open_table(WEBHOOKS)?;
            if hooks.get(hook.id.as_str())?.is_some() {
                return Err(conflict(format!("webhook {} exists", hook.id)));
            }
            put_record(&mut hooks, &hook.id, hook)?;
            if hook.deleted_at.is_none() {
                let by_org = format!("{}\0{}", hook.org_id, hook.id);
                txn.open_table(WEBHOOKS_BY_ORG)?
                    .insert(by_org.as_str(), hook.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_webhook(&self, id: &str) -> R<Option<Webhook>> {
        self.read(|txn| get_record(&txn.open_table(WEBHOOKS)?, id))
    }

    pub(crate) fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut hooks = txn.open_table(WEBHOOKS)?;
            let stored = get_record::<Webhook>(&hooks, &hook.id)?.map(|h| h.version);
            check_version("webhook", &hook.id, stored, expected_version)?;
            put_record(&mut hooks, &hook.id, hook)?;
            if hook.deleted_at.is_some() {
                let by_org = format!("{}\0{}", hook.org_id, hook.id);
                txn.open_table(WEBHOOKS_BY_ORG)?.remove(by_org.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> R<Page<Webhook>> {
        self.list_indexed_records(
            WEBHOOKS_BY_ORG,
            WEBHOOKS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn create_delivery(&self, d: &Delivery) -> R<()> {
        self.write(|txn| {
            let mut deliveries = txn.open_table(DELIVERIES)?;
            if deliveries.get(d.id.as_str())?.is_some() {
                return Err(conflict(format!("delivery {} exists", d.id)));
            }
            put_record(&mut deliveries, &d.id, d)?;
            let by_hook = format!("{}\0{}", d.webhook_id, d.id);
            txn.open_table(DELIVERIES_BY_WEBHOOK)?
                .insert(by_hook.as_str(), d.id.as_str())?;
            if !d.status.is_final() {
                txn.open_table(DELIVERY_QUEUE)?
                    .insert(d.id.as_str(), d.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_delivery(&self, id: &str) -> R<Option<Delivery>> {
        self.read(|txn| get_record(&txn.open_table(DELIVERIES)?, id))
    }

    pub(crate) fn put_delivery(&self, d: &Delivery, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut deliveries = txn.open_table(DELIVERIES)?;
            let stored = get_record::<Delivery>(&deliveries, &d.id)?.map(|x| x.version);
            check_version("delivery", &d.id, stored, expected_version)?;
            put_record(&mut deliveries, &d.id, d)?;
            if d.status.is_final() {
                txn.open_table(DELIVERY_QUEUE)?.remove(d.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> R<Page<Delivery>> {
        self.list_indexed_records(
            DELIVERIES_BY_WEBHOOK,
            DELIVERIES,
            webhook_id,
            &OrgId::default_org(),
            page,
            Order::Descending,
        )
    }

    pub(crate) fn pending_deliveries(&self, limit: usize) -> R<Vec<Delivery>> {
        self.read(|txn| {
            let queue = txn.open_table(DELIVERY_QUEUE)?;
            let deliveries = txn.open_table(DELIVERIES)?;
            let mut out = Vec::new();
            // Keyed by ULID: key order is age order.
            for entry in queue.iter()?.take(limit) {
                let (_, id) = entry?;
                let d = get_record::<Delivery>(&deliveries, id.value());
                if let Some(d) = self.skip(&OrgId::default_org(), d)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
    }
}
