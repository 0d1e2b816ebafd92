//! Load-balancing configuration and state of sites: two JSON tables keyed
//! by site id, each record versioned on its own. The configuration table is
//! also the listing of every configured site (site ids sort as text).

use crate::error::{conflict, R};
use crate::keys::{prefix, Order, LOAD_SITES, LOAD_SITES_INDEX, LOAD_STATES};
use crate::ops::{get_json, get_record, put_json, put_record, Db, JsonTable};
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::SiteId;
use csms_kernel::ports::{Page, PageRequest};
use csms_store_records::Record;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The scope every configured site is listed under in `LOAD_SITES_INDEX`.
const ALL: &str = "all";

/// Versioned put: `expected` 0 means the record must not exist yet.
pub(crate) fn put_versioned<T: Serialize + DeserializeOwned>(
    table: &mut JsonTable<'_>,
    what: &str,
    key: &str,
    value: &T,
    expected: u64,
    version_of: impl Fn(&T) -> u64,
) -> R<()> {
    let stored: Option<T> = get_json(table, key)?;
    expect_version(what, key, stored.as_ref().map(version_of), expected)?;
    put_json(table, key, value)
}

/// [`put_versioned`] of a domain record kept through its stored form.
fn put_versioned_record<T: Record>(
    table: &mut JsonTable<'_>,
    what: &str,
    key: &str,
    value: &T,
    expected: u64,
    version_of: impl Fn(&T) -> u64,
) -> R<()> {
    let stored: Option<T> = get_record(table, key)?;
    expect_version(what, key, stored.as_ref().map(version_of), expected)?;
    put_record(table, key, value)
}

fn expect_version(what: &str, key: &str, stored: Option<u64>, expected: u64) -> R<()> {
    match (stored, expected) {
        (None, 0) => Ok(()),
        (Some(v), e) if v == e => Ok(()),
        (None, e) => Err(conflict(format!(
            "{what} {key} does not exist (expected version {e})"
        ))),
        (Some(v), e) => Err(conflict(format!("{what} {key} is at version {v}, not {e}"))),
    }
}

impl Db {
    pub(crate) fn put_load_site(&self, site: &LoadSite, expected: u64) -> R<()> {
        self.write(|txn| {
            let key = site.site_id.as_str();
            put_versioned_record(
                &mut txn.open_table(LOAD_SITES)?,
                "load site",
                key,
                site,
                expected,
                |s: &LoadSite| s.version,
            )?;
            txn.open_table(LOAD_SITES_INDEX)?
                .insert(format!("{}{key}", prefix(ALL)).as_str(), key)?;
            Ok(())
        })
    }

    pub(crate) fn get_load_site(&self, site: &SiteId) -> R<Option<LoadSite>> {
        self.read(|txn| get_record(&txn.open_table(LOAD_SITES)?, site.as_str()))
    }

    pub(crate) fn delete_load_site(&self, site: &SiteId) -> R<bool> {
        self.write(|txn| {
            let key = site.as_str();
            let existed = txn.open_table(LOAD_SITES)?.remove(key)?.is_some();
            txn.open_table(LOAD_SITES_INDEX)?
                .remove(format!("{}{key}", prefix(ALL)).as_str())?;
            txn.open_table(LOAD_STATES)?.remove(key)?;
            Ok(existed)
        })
    }

    pub(crate) fn list_load_sites(&self, page: &PageRequest) -> R<Page<LoadSite>> {
        let org = csms_domain::OrgId::default_org();
        self.list_indexed_records(
            LOAD_SITES_INDEX,
            LOAD_SITES,
            ALL,
            &org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn put_load_state(&self, state: &LoadState, expected: u64) -> R<()> {
        self.write(|txn| {
            put_versioned_record(
                &mut txn.open_table(LOAD_STATES)?,
                "load state",
                state.site_id.as_str(),
                state,
                expected,
                |s: &LoadState| s.version,
            )
        })
    }

    pub(crate) fn get_load_state(&self, site: &SiteId) -> R<Option<LoadState>> {
        self.read(|txn| get_record(&txn.open_table(LOAD_STATES)?, site.as_str()))
    }
}
