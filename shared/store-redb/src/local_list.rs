//! Local list: stations' local authorisation list sync state.

use crate::error::R;
use crate::keys::*;
use crate::ops::*;
use csms_domain::local_list::LocalListState;
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{Page, PageRequest};

/// What the stored record says of its version and organisation, read
/// leniently: a record this version cannot decode can still be replaced
/// at its version, and its index entry found.
fn stored_head(table: &JsonTable<'_>, key: &str) -> R<Option<(u64, Option<String>)>> {
    use redb::ReadableTable;
    let Some(bytes) = table.get(key)? else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_slice(bytes.value()).unwrap_or_default();
    let version = json["version"].as_u64().unwrap_or(0);
    let org = json["orgId"].as_str().map(str::to_owned);
    Ok(Some((version, org)))
}

impl Db {
    pub(crate) fn get_local_list(&self, station: &StationId) -> R<Option<LocalListState>> {
        self.read(|txn| get_record(&txn.open_table(LOCAL_LISTS)?, station.as_str()))
    }

    pub(crate) fn put_local_list(&self, state: &LocalListState, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut table = txn.open_table(LOCAL_LISTS)?;
            let key = state.station_id.as_str();
            let stored = stored_head(&table, key)?;
            // 0: none stored yet.
            if stored.is_some() || expected_version != 0 {
                check_version(
                    "local list",
                    key,
                    stored.as_ref().map(|(v, _)| *v),
                    expected_version,
                )?;
            }
            let mut index = txn.open_table(LOCAL_LISTS_BY_ORG)?;
            if let Some((_, Some(old_org))) = &stored {
                if let Ok(old_org) = OrgId::parse(old_org.as_str()) {
                    index.remove(local_list_org_key(&old_org, &state.station_id)?.as_str())?;
                }
            }
            put_record(&mut table, key, state)?;
            index.insert(
                local_list_org_key(&state.org_id, &state.station_id)?.as_str(),
                key,
            )?;
            Ok(())
        })
    }

    pub(crate) fn list_local_lists(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> R<Page<LocalListState>> {
        self.list_indexed_records(
            LOCAL_LISTS_BY_ORG,
            LOCAL_LISTS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }
}
