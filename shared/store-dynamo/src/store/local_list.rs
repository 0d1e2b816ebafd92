//! [`DynamoStore`]'s local list context: stations' local authorisation
//! list sync state.
//!
//! # Layout
//!
//! | item            | PK                      | SK     | GSI1PK                   | GSI1SK      |
//! |-----------------|-------------------------|--------|--------------------------|-------------|
//! | local list state| `LOCALLIST#{stationId}` | `META` | `ORG#{orgId}#LOCALLIST`  | `{stationId}` |
//!
//! Kept whole as JSON in `body` through its stored form
//! (`csms-store-records`), with `version` next to it for the conditions.
//! A station's state is one `GetItem`; a token change reaches the
//! organisation's stations with a state through a `Query` of GSI1, a page
//! at a time (the index key follows the item when the station changes
//! organisation).

use super::table::{org_partition, record_from, set_key, versioned_item, Index, Query, META};
use super::DynamoStore;
use async_trait::async_trait;
use csms_domain::local_list::LocalListState;
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{LocalListStore, Page, PageRequest, StoreResult};
use csms_store_records::Record;

fn local_list_pk(id: &StationId) -> String {
    format!("LOCALLIST#{id}")
}

fn local_list_item(state: &LocalListState) -> StoreResult<crate::cursor::Key> {
    let mut item = versioned_item(
        local_list_pk(&state.station_id),
        META,
        &state.to_stored(),
        state.record_version,
        "local list",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&state.org_id, "LOCALLIST"),
        state.station_id.as_str(),
    );
    Ok(item)
}

#[async_trait]
impl LocalListStore for DynamoStore {
    async fn get_local_list(&self, station: &StationId) -> StoreResult<Option<LocalListState>> {
        self.get_as(local_list_pk(station), META, record_from).await
    }

    async fn put_local_list(
        &self,
        state: &LocalListState,
        expected_version: u64,
    ) -> StoreResult<()> {
        let what = format!("local list {}", state.station_id);
        self.put_expecting(local_list_item(state)?, expected_version, what)
            .await
    }

    async fn list_local_lists(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<LocalListState>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "LOCALLIST"));
        self.page_of(org, &query, page, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_state_is_keyed_by_station_and_indexed_by_organisation() {
        let at = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
        let mut state = LocalListState::new(
            StationId::parse("CP1").unwrap(),
            OrgId::parse("org-a").unwrap(),
            at,
        );
        state.record_version = 2;
        let item = local_list_item(&state).unwrap();
        assert_eq!(item["PK"], s("LOCALLIST#CP1"));
        assert_eq!(item["SK"], s(META));
        assert_eq!(item["GSI1PK"], s("ORG#org-a#LOCALLIST"));
        assert_eq!(item["GSI1SK"], s("CP1"));
        let back: LocalListState = record_from(item).unwrap();
        assert_eq!(back, state);
    }
}
