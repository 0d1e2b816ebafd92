//! [`DynamoStore`]'s load balancing: per site, the operator's configuration
//! and the balancer's state, on the same single table and indexes as
//! everything else (`infra/README.md` documents the table).
//!
//! # Layout
//! Both items keep their record whole as JSON in `body`, with `version` next
//! to it for the conditions, like tariffs and alarms in `store_pricing.rs`.
//!
//! | item             | PK                | SK       | GSI1PK / GSI1SK        | GSI2PK / GSI2SK |
//! |------------------|-------------------|----------|------------------------|-----------------|
//! | load site config | `LOADSITE#{site}` | `CONFIG` | `LOADSITES` / `{site}` | |
//! | load site state  | `LOADSITE#{site}` | `STATE`  | | |
//!
//! Design choices:
//! - Configuration and state are two items, each with its own version: the
//!   API writes the one, the balancer the other, and neither write loses to
//!   the other.
//! - Every site of every organisation is listed from one constant GSI1
//!   partition, by site id, for the periodic recomputation (like the command
//!   and delivery queues). Only the configuration is in it: it changes
//!   rarely, while the state is rewritten at every recomputation and would
//!   pay for an index write each time.
//! - Deleting a site removes both items in one `TransactWriteItems`; the
//!   condition on the configuration tells whether the site existed.

use crate::cursor::{self, Key};
use crate::store::{backend, body_item, s, DynamoStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use csms_core::ports::{LoadStore, Page, PageRequest, StoreError, StoreResult};
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::SiteId;
use serde::Serialize;

const CONFIG_SK: &str = "CONFIG";
const STATE_SK: &str = "STATE";
/// GSI1 partition of every configured site.
const ALL_SITES: &str = "LOADSITES";

fn load_pk(site: &SiteId) -> String {
    format!("LOADSITE#{site}")
}

/// A `{PK, SK, body, version}` item of a site.
fn site_item<T: Serialize>(
    site: &SiteId,
    sk: &str,
    value: &T,
    version: u64,
    what: &str,
) -> StoreResult<Key> {
    let mut item = body_item(load_pk(site), value, version, what)?;
    item.insert("SK".into(), s(sk));
    Ok(item)
}

fn config_item(site: &LoadSite) -> StoreResult<Key> {
    let mut item = site_item(&site.site_id, CONFIG_SK, site, site.version, "load site")?;
    item.insert("GSI1PK".into(), s(ALL_SITES));
    item.insert("GSI1SK".into(), s(site.site_id.as_str()));
    Ok(item)
}

fn state_item(state: &LoadState) -> StoreResult<Key> {
    site_item(&state.site_id, STATE_SK, state, state.version, "load state")
}

impl DynamoStore {
    /// Puts `item` if the stored one is at `expected` (0: absent).
    async fn put_expecting(&self, item: Key, expected: u64, what: String) -> StoreResult<()> {
        match expected {
            0 => self.put_fresh(item, what).await,
            v => self.put_versioned(item, v, what).await,
        }
    }

    fn delete_of(&self, site: &SiteId, sk: &str, condition: Option<&str>) -> StoreResult<Delete> {
        let mut key = Key::new();
        key.insert("PK".into(), s(load_pk(site)));
        key.insert("SK".into(), s(sk));
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
}

#[async_trait]
impl LoadStore for DynamoStore {
    async fn put_load_site(&self, site: &LoadSite, expected_version: u64) -> StoreResult<()> {
        self.put_expecting(
            config_item(site)?,
            expected_version,
            format!("load site {}", site.site_id),
        )
        .await
    }

    async fn get_load_site(&self, site: &SiteId) -> StoreResult<Option<LoadSite>> {
        self.get_body_at(load_pk(site), CONFIG_SK).await
    }

    async fn delete_load_site(&self, site: &SiteId) -> StoreResult<bool> {
        let config = self.delete_of(site, CONFIG_SK, Some("attribute_exists(PK)"))?;
        let state = self.delete_of(site, STATE_SK, None)?;
        match self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(config).build())
            .transact_items(TransactWriteItem::builder().delete(state).build())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let absent = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().first().and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    }
                    _ => false,
                };
                if !absent {
                    return Err(backend("TransactWriteItems", e));
                }
                // No configuration; a state written by a balancer that raced
                // an earlier delete still goes.
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("PK", s(load_pk(site)))
                    .key("SK", s(STATE_SK))
                    .send()
                    .await
                    .map_err(|e| backend("DeleteItem", e))?;
                Ok(false)
            }
        }
    }

    async fn list_load_sites(&self, page: &PageRequest) -> StoreResult<Page<LoadSite>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(ALL_SITES));
        let (items, next_cursor) = self
            .query_page(query, cursor::GSI1, ALL_SITES, page)
            .await?;
        let items = self
            .bodies_from(&csms_domain::OrgId::default_org(), items)
            .await?;
        Ok(Page { items, next_cursor })
    }

    async fn put_load_state(&self, state: &LoadState, expected_version: u64) -> StoreResult<()> {
        self.put_expecting(
            state_item(state)?,
            expected_version,
            format!("load state of site {}", state.site_id),
        )
        .await
    }

    async fn get_load_state(&self, site: &SiteId) -> StoreResult<Option<LoadState>> {
        self.get_body_at(load_pk(site), STATE_SK).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configuration_is_listed() {
        let site = SiteId::parse("brf-1").unwrap();
        let state = state_item(&LoadState::new(site.clone())).unwrap();
        assert_eq!(state.get("SK"), Some(&s(STATE_SK)));
        assert!(!state.contains_key("GSI1PK") && !state.contains_key("GSI2PK"));
        assert_eq!(state.get("PK"), Some(&s("LOADSITE#brf-1")));
    }
}
