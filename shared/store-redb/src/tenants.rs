//! Tenants: organisations, their sites and their audit logs.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::audit::AuditEntry;
use csms_domain::tenant::{Organisation, Site};
use csms_domain::{OrgId, SiteId};
use csms_kernel::ports::{Page, PageRequest};
use redb::ReadableTable;

impl Db {
    pub(crate) fn create_organisation(&self, org: &Organisation) -> R<()> {
        self.write(|txn| {
            let mut orgs = txn.open_table(ORGANISATIONS)?;
            if orgs.get(org.id.as_str())?.is_some() {
                return Err(conflict(format!("organisation {} exists", org.id)));
            }
            put_record(&mut orgs, org.id.as_str(), org)?;
            txn.open_table(ORGANISATIONS_INDEX)?
                .insert(organisation_index_key(&org.id)?.as_str(), org.id.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_organisation(&self, id: &OrgId) -> R<Option<Organisation>> {
        self.read(|txn| get_record(&txn.open_table(ORGANISATIONS)?, id.as_str()))
    }

    pub(crate) fn put_organisation(&self, org: &Organisation, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut orgs = txn.open_table(ORGANISATIONS)?;
            let stored = get_record::<Organisation>(&orgs, org.id.as_str())?.map(|o| o.version);
            check_version("organisation", org.id.as_str(), stored, expected_version)?;
            put_record(&mut orgs, org.id.as_str(), org)
        })
    }

    pub(crate) fn list_organisations(&self, page: &PageRequest) -> R<Page<Organisation>> {
        self.list_indexed_records(
            ORGANISATIONS_INDEX,
            ORGANISATIONS,
            ALL_ORGANISATIONS,
            &OrgId::default_org(),
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn create_site(&self, site: &Site) -> R<()> {
        self.write(|txn| {
            let mut sites = txn.open_table(SITES)?;
            if sites.get(site.id.as_str())?.is_some() {
                return Err(conflict(format!("site {} exists", site.id)));
            }
            put_record(&mut sites, site.id.as_str(), site)?;
            txn.open_table(SITES_BY_ORG)?.insert(
                site_org_key(&site.org_id, &site.id)?.as_str(),
                site.id.as_str(),
            )?;
            Ok(())
        })
    }

    pub(crate) fn get_site(&self, id: &SiteId) -> R<Option<Site>> {
        self.read(|txn| get_record(&txn.open_table(SITES)?, id.as_str()))
    }

    /// A site stays in its organisation (the index key does not move).
    pub(crate) fn put_site(&self, site: &Site, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut sites = txn.open_table(SITES)?;
            let stored = get_record::<Site>(&sites, site.id.as_str())?;
            check_version(
                "site",
                site.id.as_str(),
                stored.as_ref().map(|s| s.version),
                expected_version,
            )?;
            if stored.is_some_and(|s| s.org_id != site.org_id) {
                return Err(conflict(format!(
                    "site {} belongs to another organisation",
                    site.id
                )));
            }
            put_record(&mut sites, site.id.as_str(), site)
        })
    }

    pub(crate) fn list_sites(&self, org: &OrgId, page: &PageRequest) -> R<Page<Site>> {
        self.list_indexed_records(
            SITES_BY_ORG,
            SITES,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn delete_site(&self, id: &SiteId, expected_version: u64) -> R<bool> {
        self.write(|txn| {
            let mut sites = txn.open_table(SITES)?;
            let Some(stored) = get_record::<Site>(&sites, id.as_str())? else {
                return Ok(false);
            };
            check_version("site", id.as_str(), Some(stored.version), expected_version)?;
            sites.remove(id.as_str())?;
            txn.open_table(SITES_BY_ORG)?
                .remove(site_org_key(&stored.org_id, id)?.as_str())?;
            Ok(true)
        })
    }

    pub(crate) fn append_audit(&self, entry: &AuditEntry) -> R<()> {
        self.write(|txn| {
            let seq = bump(txn, AUDIT_COUNTER)?;
            let key = audit_key(&entry.org_id, entry.at, seq)?;
            put_record(&mut txn.open_table(AUDIT_LOG)?, &key, entry)
        })
    }

    pub(crate) fn list_audit(&self, org: &OrgId, page: &PageRequest) -> R<Page<AuditEntry>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let log = txn.open_table(AUDIT_LOG)?;
            paginate(
                &log,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |k, v| self.skip(org, parse_record::<AuditEntry>(k, v.value()).map(Some)),
            )
        })
    }
}
