//! [`DynamoStore`]'s tenants: organisations and their sites.
//!
//! # Layout
//! Both are kept whole as JSON in `body` through their stored form
//! (`csms-store-records`), with `version` next to it for the conditions.
//!
//! | item         | PK            | SK     | GSI1PK / GSI1SK                 | GSI2PK / GSI2SK |
//! |--------------|---------------|--------|---------------------------------|-----------------|
//! | organisation | `ORG#{orgId}` | `META` | `ORGS` / `{orgId}`              | |
//! | site         | `SITE#{siteId}` | `META` | `ORG#{org}#SITE` / `{siteId}` | |
//! | audit entry  | `ORG#{org}#AUDIT` | `{time}#{random}` | | |
//!
//! Every organisation, for the platform admin, is a `Query` on the GSI1
//! partition `ORGS` (by id; a few thousand organisations at most, read a
//! page at a time); an organisation's sites a `Query` on its GSI1
//! partition; its audit log a `Query` on its own partition, newest first
//! (entries expire by `ttl` after [`AUDIT_TTL`]). Deleting a site is a `DeleteItem` on the condition that it is
//! absent or at the expected version.

use super::table::{epoch, json_item};
use super::table::{
    org_partition, record_from, set_key, versioned_item, Condition, ConditionFailed, Index, Query,
    META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use chrono::TimeDelta;
use csms_domain::audit::AuditEntry;
use csms_domain::tenant::{Organisation, Site};
use csms_domain::{OrgId, SiteId};
use csms_kernel::ports::{
    sort_key_time, AuditStore, OrganisationStore, Page, PageRequest, SiteStore, StoreError,
    StoreResult,
};
use csms_store_records::Record;

/// GSI1 partition of every organisation.
const ALL_ORGANISATIONS: &str = "ORGS";

fn organisation_pk(id: &OrgId) -> String {
    format!("ORG#{id}")
}

fn site_pk(id: &SiteId) -> String {
    format!("SITE#{id}")
}

/// How long an audit entry is kept: two years, then DynamoDB's TTL removes it.
pub(crate) const AUDIT_TTL: TimeDelta = TimeDelta::days(730);

fn audit_pk(org: &OrgId) -> String {
    org_partition(org, "AUDIT")
}

/// `{time}#{random}`: time order, and two entries of one instant both kept.
fn audit_item(entry: &AuditEntry, nonce: u64) -> StoreResult<Key> {
    let sk = format!("{}#{nonce:016x}", sort_key_time(entry.at));
    let mut item = json_item(
        audit_pk(&entry.org_id),
        sk,
        &entry.to_stored(),
        "audit entry",
    )?;
    item.insert("ttl".into(), epoch(entry.at + AUDIT_TTL));
    Ok(item)
}

fn organisation_item(org: &Organisation) -> StoreResult<Key> {
    let mut item = versioned_item(
        organisation_pk(&org.id),
        META,
        &org.to_stored(),
        org.version,
        "organisation",
    )?;
    set_key(&mut item, Index::Gsi1, ALL_ORGANISATIONS, org.id.as_str());
    Ok(item)
}

fn site_item(site: &Site) -> StoreResult<Key> {
    let mut item = versioned_item(
        site_pk(&site.id),
        META,
        &site.to_stored(),
        site.version,
        "site",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&site.org_id, "SITE"),
        site.id.as_str(),
    );
    Ok(item)
}

#[async_trait]
impl OrganisationStore for DynamoStore {
    async fn create_organisation(&self, org: &Organisation) -> StoreResult<()> {
        self.put_fresh(organisation_item(org)?, format!("organisation {}", org.id))
            .await
    }

    async fn get_organisation(&self, id: &OrgId) -> StoreResult<Option<Organisation>> {
        self.get_as(organisation_pk(id), META, record_from).await
    }

    async fn put_organisation(&self, org: &Organisation, expected_version: u64) -> StoreResult<()> {
        let what = format!("organisation {}", org.id);
        self.put_versioned(organisation_item(org)?, expected_version, what)
            .await
    }

    async fn list_organisations(&self, page: &PageRequest) -> StoreResult<Page<Organisation>> {
        let query = Query::index(Index::Gsi1, ALL_ORGANISATIONS);
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }
}

#[async_trait]
impl SiteStore for DynamoStore {
    async fn create_site(&self, site: &Site) -> StoreResult<()> {
        self.put_fresh(site_item(site)?, format!("site {}", site.id))
            .await
    }

    async fn get_site(&self, id: &SiteId) -> StoreResult<Option<Site>> {
        self.get_as(site_pk(id), META, record_from).await
    }

    /// A site stays in its organisation: the condition also checks the
    /// stored organisation, so the index key never moves.
    async fn put_site(&self, site: &Site, expected_version: u64) -> StoreResult<()> {
        let condition = Condition::new("#v = :expected AND #org = :org")
            .name("#v", "version")
            .value(":expected", super::table::n(expected_version))
            .name("#org", "GSI1PK")
            .value(":org", super::table::s(org_partition(&site.org_id, "SITE")));
        let id = site.id.clone();
        self.put_or_conflict(site_item(site)?, condition, || {
            format!("site {id} is not at version {expected_version}")
        })
        .await
    }

    async fn list_sites(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Site>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "SITE"));
        self.page_of(org, &query, page, record_from).await
    }

    async fn delete_site(&self, id: &SiteId, expected_version: u64) -> StoreResult<bool> {
        let condition = Condition::new("attribute_not_exists(PK) OR #v = :expected")
            .name("#v", "version")
            .value(":expected", super::table::n(expected_version));
        match self.delete_if(site_pk(id), META, condition).await? {
            Ok(deleted) => Ok(deleted),
            Err(ConditionFailed) => Err(StoreError::Conflict(format!(
                "site {id} is not at version {expected_version}"
            ))),
        }
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.put(audit_item(entry, rand::random())?).await
    }

    async fn list_audit(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<AuditEntry>> {
        let query = Query::partition(audit_pk(org)).newest_first();
        self.page_of(org, &query, page, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn organisations_and_sites_hold_the_golden_json_and_read_back() {
        for (org, line) in golden::<Organisation>("organisations.jsonl") {
            let item = organisation_item(&org).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("ORG#{}", org.id)));
            assert_eq!(item["GSI1PK"], s("ORGS"));
            assert_eq!(record_from::<Organisation>(item).unwrap(), org);
        }
        for (site, line) in golden::<Site>("sites.jsonl") {
            let item = site_item(&site).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("SITE#{}", site.id)));
            assert_eq!(item["GSI1PK"], s(format!("ORG#{}#SITE", site.org_id)));
            assert_eq!(record_from::<Site>(item).unwrap(), site);
        }
        for (entry, line) in golden::<AuditEntry>("audit.jsonl") {
            let item = audit_item(&entry, 7).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("ORG#{}#AUDIT", entry.org_id)));
            assert_eq!(
                item["SK"],
                s(format!("{}#0000000000000007", sort_key_time(entry.at)))
            );
            assert!(item.contains_key("ttl"));
            assert_eq!(record_from::<AuditEntry>(item).unwrap(), entry);
        }
    }
}
