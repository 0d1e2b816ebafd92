//! E-mail links: invitations and password resets by id, and each
//! organisation's invitations newest first.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::email_link::{EmailLink, LinkId};
use csms_domain::OrgId;
use csms_kernel::ports::{sort_key_time, Page, PageRequest};
use redb::ReadableTable;

fn org_key(link: &EmailLink) -> R<Option<String>> {
    let Some(invitation) = link.invitation() else {
        return Ok(None);
    };
    invitation_org_key(
        &invitation.org_id,
        &sort_key_time(link.created_at),
        link.id.as_str(),
    )
    .map(Some)
}

impl Db {
    pub(crate) fn create_email_link(&self, link: &EmailLink) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(EMAIL_LINKS)?;
            let id = link.id.as_str();
            if items.get(id)?.is_some() {
                return Err(conflict(format!("link {id} exists")));
            }
            put_record(&mut items, id, link)?;
            if let Some(key) = org_key(link)? {
                txn.open_table(INVITATIONS_BY_ORG)?
                    .insert(key.as_str(), id)?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_email_link(&self, id: &LinkId) -> R<Option<EmailLink>> {
        self.read(|txn| get_record(&txn.open_table(EMAIL_LINKS)?, id.as_str()))
    }

    pub(crate) fn put_email_link(&self, link: &EmailLink, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(EMAIL_LINKS)?;
            let id = link.id.as_str();
            let stored = get_record::<EmailLink>(&items, id)?.map(|l| l.version);
            check_version("link", id, stored, expected_version)?;
            put_record(&mut items, id, link)
        })
    }

    pub(crate) fn list_invitations(&self, org: &OrgId, page: &PageRequest) -> R<Page<EmailLink>> {
        self.list_newest_first(INVITATIONS_BY_ORG, EMAIL_LINKS, org.as_str(), org, page)
    }
}
