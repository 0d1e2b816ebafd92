//! [`DynamoStore`]'s load balancing: per site, the operator's configuration
//! and the balancer's state, on the same single table and indexes as
//! everything else (`infra/README.md` documents the table).
//!
//! # Layout
//! Both items keep their record whole as JSON in `body`, with `version` next
//! to it for the conditions, like tariffs and alarms in `pricing.rs`.
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

use super::table::{
    first_condition_failed, record_from, set_key, versioned_item, Condition, ConditionFailed,
    Index, Query,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::{OrgId, SiteId};
use csms_kernel::ports::{LoadStore, Page, PageRequest, StoreResult};
use csms_store_records::Record;

const CONFIG_SK: &str = "CONFIG";
const STATE_SK: &str = "STATE";
/// GSI1 partition of every configured site.
const ALL_SITES: &str = "LOADSITES";

fn load_pk(site: &SiteId) -> String {
    format!("LOADSITE#{site}")
}

fn config_item(site: &LoadSite) -> StoreResult<Key> {
    let pk = load_pk(&site.site_id);
    let mut item = versioned_item(pk, CONFIG_SK, &site.to_stored(), site.version, "load site")?;
    set_key(&mut item, Index::Gsi1, ALL_SITES, site.site_id.as_str());
    Ok(item)
}

fn state_item(state: &LoadState) -> StoreResult<Key> {
    let pk = load_pk(&state.site_id);
    versioned_item(
        pk,
        STATE_SK,
        &state.to_stored(),
        state.version,
        "load state",
    )
}

#[async_trait]
impl LoadStore for DynamoStore {
    async fn put_load_site(&self, site: &LoadSite, expected_version: u64) -> StoreResult<()> {
        let what = format!("load site {}", site.site_id);
        self.put_expecting(config_item(site)?, expected_version, what)
            .await
    }

    async fn get_load_site(&self, site: &SiteId) -> StoreResult<Option<LoadSite>> {
        self.get_as(load_pk(site), CONFIG_SK, record_from).await
    }

    async fn delete_load_site(&self, site: &SiteId) -> StoreResult<bool> {
        // The configuration comes first: its condition tells whether the
        // site existed.
        let config = self.transact_delete(load_pk(site), CONFIG_SK, Some(Condition::exists()))?;
        let state = self.transact_delete(load_pk(site), STATE_SK, None)?;
        match self
            .transact(vec![config, state], first_condition_failed)
            .await?
        {
            Ok(()) => Ok(true),
            Err(ConditionFailed) => {
                // No configuration; a state written by a balancer that raced
                // an earlier delete still goes.
                self.delete(load_pk(site), STATE_SK).await?;
                Ok(false)
            }
        }
    }

    async fn list_load_sites(&self, page: &PageRequest) -> StoreResult<Page<LoadSite>> {
        let query = Query::index(Index::Gsi1, ALL_SITES);
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }

    async fn put_load_state(&self, state: &LoadState, expected_version: u64) -> StoreResult<()> {
        let what = format!("load state of site {}", state.site_id);
        self.put_expecting(state_item(state)?, expected_version, what)
            .await
    }

    async fn get_load_state(&self, site: &SiteId) -> StoreResult<Option<LoadState>> {
        self.get_as(load_pk(site), STATE_SK, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;

    #[test]
    fn only_the_configuration_is_listed() {
        let site = SiteId::parse("brf-1").unwrap();
        let state = state_item(&LoadState::new(site.clone())).unwrap();
        assert_eq!(state.get("SK"), Some(&s(STATE_SK)));
        assert!(!state.contains_key("GSI1PK") && !state.contains_key("GSI2PK"));
        assert_eq!(state.get("PK"), Some(&s("LOADSITE#brf-1")));
    }

    #[test]
    fn load_sites_and_states_hold_the_golden_json_and_read_back() {
        for (site, line) in csms_store_records::golden::<LoadSite>("load_sites.jsonl") {
            let item = config_item(&site).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(record_from::<LoadSite>(item).unwrap(), site);
        }
        for (state, line) in csms_store_records::golden::<LoadState>("load_states.jsonl") {
            let item = state_item(&state).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(record_from::<LoadState>(item).unwrap(), state);
        }
    }
}
