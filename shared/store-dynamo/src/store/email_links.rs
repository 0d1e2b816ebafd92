//! [`DynamoStore`]'s single-use e-mail links: invitations and password
//! resets.
//!
//! # Layout
//!
//! | item | PK            | SK     | GSI1PK / GSI1SK (invitations only)          | other |
//! |------|---------------|--------|---------------------------------------------|-------|
//! | link | `LINK#{id}`   | `META` | `ORG#{org}#INVITATION` / `{created}#{id}`   | `body`, `version`, `ttl` |
//!
//! A link is read by its id (`GetItem`); using or revoking it is one
//! `PutItem` on the condition that its version is the one read, so of two
//! uses one wins. An organisation's invitations are one `Query` of GSI1,
//! newest first. DynamoDB's TTL removes a link 90 days after it expired.

use super::table::{
    epoch, org_partition, record_from, set_key, versioned_item, Index, Query, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use chrono::Duration;
use csms_domain::email_link::{EmailLink, LinkId};
use csms_domain::OrgId;
use csms_kernel::ports::{sort_key_time, EmailLinkStore, Page, PageRequest, StoreResult};
use csms_store_records::Record;

/// How long a link is kept after it expired (an invitation's history).
const RETENTION: Duration = Duration::days(90);

fn link_pk(id: &LinkId) -> String {
    format!("LINK#{id}")
}

fn invitations(org: &OrgId) -> String {
    org_partition(org, "INVITATION")
}

fn link_item(link: &EmailLink) -> StoreResult<Key> {
    let mut item = versioned_item(
        link_pk(&link.id),
        META,
        &link.to_stored(),
        link.version,
        "e-mail link",
    )?;
    if let Some(invitation) = link.invitation() {
        set_key(
            &mut item,
            Index::Gsi1,
            invitations(&invitation.org_id),
            format!("{}#{}", sort_key_time(link.created_at), link.id),
        );
    }
    item.insert("ttl".into(), epoch(link.expires_at + RETENTION));
    Ok(item)
}

#[async_trait]
impl EmailLinkStore for DynamoStore {
    async fn create_email_link(&self, link: &EmailLink) -> StoreResult<()> {
        self.put_fresh(link_item(link)?, format!("link {}", link.id))
            .await
    }

    async fn get_email_link(&self, id: &LinkId) -> StoreResult<Option<EmailLink>> {
        self.get_as(link_pk(id), META, record_from).await
    }

    async fn put_email_link(&self, link: &EmailLink, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            link_item(link)?,
            expected_version,
            format!("link {}", link.id),
        )
        .await
    }

    async fn list_invitations(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<EmailLink>> {
        let query = Query::index(Index::Gsi1, invitations(org)).newest_first();
        self.page_of(org, &query, page, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn links_hold_the_golden_json_and_read_back() {
        for (link, line) in golden::<EmailLink>("email_links.jsonl") {
            let item = link_item(&link).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("LINK#{}", link.id)));
            match link.invitation() {
                Some(i) => assert_eq!(item["GSI1PK"], s(format!("ORG#{}#INVITATION", i.org_id))),
                None => assert!(!item.contains_key("GSI1PK"), "resets are not listed"),
            }
            assert_eq!(record_from::<EmailLink>(item).unwrap(), link);
        }
    }
}
