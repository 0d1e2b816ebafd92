//! The default organisation's record.
//!
//! Before tenants had records, everything belonged to the organisation id
//! `default` ([`OrgId::default_org`]) and no record of it existed. An
//! upgraded installation keeps its data there; [`ensure_default_organisation`]
//! gives that organisation a placeholder record (kind `cpo`, legal name
//! `Default organisation`, language `en`) for the operator to fill in. The
//! local runner calls it at start-up; in AWS the API calls it before it
//! reads organisations, so the first read after an upgrade makes it.

use crate::ports::{OrganisationStore, StoreError, StoreResult};
use csms_domain::tenant::Organisation;
use csms_domain::{OrgId, Timestamp};

/// Makes the default organisation's placeholder record unless a record of
/// it exists; idempotent, and safe when two processes race (the loser's
/// `Conflict` means the record is there). Returns whether it made it.
pub async fn ensure_default_organisation<S: OrganisationStore + ?Sized>(
    store: &S,
    now: Timestamp,
) -> StoreResult<bool> {
    if store
        .get_organisation(&OrgId::default_org())
        .await?
        .is_some()
    {
        return Ok(false);
    }
    match store
        .create_organisation(&Organisation::default_placeholder(now))
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every organisation a background job must go through: those with a
/// record, and the default one always (an upgraded installation's data is
/// there before its record is made). Read page by page; a page that cannot
/// be read fails the whole call, so a job never silently covers only some.
pub async fn organisation_ids<S: OrganisationStore + ?Sized>(store: &S) -> StoreResult<Vec<OrgId>> {
    let mut ids = vec![OrgId::default_org()];
    let mut page = crate::ports::PageRequest::first(crate::ports::PageRequest::MAX_LIMIT);
    loop {
        let result = store.list_organisations(&page).await?;
        ids.extend(
            result
                .items
                .into_iter()
                .map(|o| o.id)
                .filter(|id| id != &OrgId::default_org()),
        );
        match result.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(ids),
        }
    }
}
