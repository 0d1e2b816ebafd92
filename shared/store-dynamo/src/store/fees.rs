//! [`DynamoStore`]'s fees and one-off charges.
//!
//! # Layout
//!
//! | item   | PK                 | SK        | other |
//! |--------|--------------------|-----------|-------|
//! | fee    | `ORG#{org}#FEE`    | `{fee}`   | `body`, `version` |
//! | charge | `ORG#{org}#CHARGE` | `{charge}`| `body`, `period` (`YYYY-MM` of its date) |
//!
//! Both live in their organisation's partition, so another organisation's
//! id is simply not found and a listing is one `Query` (strongly
//! consistent) in id order, which is creation order (ULIDs). A period's
//! charges are that `Query` filtered on `period`. Changing a fee is a
//! `PutItem` on the condition that its version is the one read.

use super::table::{json_item, record_from, s, versioned_item, Condition, Query};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use csms_domain::billing::fee::{ChargeId, Fee, FeeId, OneOffCharge};
use csms_domain::billing::period::Period;
use csms_domain::OrgId;
use csms_kernel::ports::{FeeStore, Page, PageRequest, StoreResult};
use csms_store_records::Record;

fn fees_pk(org: &OrgId) -> String {
    format!("ORG#{org}#FEE")
}

fn charges_pk(org: &OrgId) -> String {
    format!("ORG#{org}#CHARGE")
}

fn fee_item(fee: &Fee) -> StoreResult<Key> {
    versioned_item(
        fees_pk(&fee.org_id),
        fee.id.as_str(),
        &fee.to_stored(),
        fee.version,
        "fee",
    )
}

fn charge_item(charge: &OneOffCharge) -> StoreResult<Key> {
    let mut item = json_item(
        charges_pk(&charge.org_id),
        charge.id.as_str(),
        &charge.to_stored(),
        "one-off charge",
    )?;
    if let Some(p) = charge.period() {
        item.insert("period".into(), s(p.to_string()));
    }
    Ok(item)
}

#[async_trait]
impl FeeStore for DynamoStore {
    async fn create_fee(&self, fee: &Fee) -> StoreResult<()> {
        self.put_fresh(fee_item(fee)?, format!("fee {}", fee.id))
            .await
    }

    async fn get_fee(&self, org: &OrgId, id: &FeeId) -> StoreResult<Option<Fee>> {
        self.get_as(fees_pk(org), id.as_str(), record_from).await
    }

    async fn put_fee(&self, fee: &Fee, expected_version: u64) -> StoreResult<()> {
        self.put_or_conflict(fee_item(fee)?, Condition::version(expected_version), || {
            format!("fee {} is not at version {expected_version}", fee.id)
        })
        .await
    }

    async fn delete_fee(&self, org: &OrgId, id: &FeeId) -> StoreResult<bool> {
        Ok(self.delete(fees_pk(org), id.as_str()).await?.is_some())
    }

    async fn list_fees(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Fee>> {
        self.page_of(org, &Query::partition(fees_pk(org)), page, record_from)
            .await
    }

    async fn create_charge(&self, charge: &OneOffCharge) -> StoreResult<()> {
        self.put_fresh(charge_item(charge)?, format!("charge {}", charge.id))
            .await
    }

    async fn get_charge(&self, org: &OrgId, id: &ChargeId) -> StoreResult<Option<OneOffCharge>> {
        self.get_as(charges_pk(org), id.as_str(), record_from).await
    }

    async fn delete_charge(&self, org: &OrgId, id: &ChargeId) -> StoreResult<bool> {
        Ok(self.delete(charges_pk(org), id.as_str()).await?.is_some())
    }

    async fn list_charges(
        &self,
        org: &OrgId,
        period: Option<Period>,
        page: &PageRequest,
    ) -> StoreResult<Page<OneOffCharge>> {
        let mut query = Query::partition(charges_pk(org));
        if let Some(p) = period {
            query = query.filter_eq("period", p.to_string());
        }
        self.page_of(org, &query, page, record_from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn fees_and_charges_hold_the_golden_json_and_read_back() {
        for (fee, line) in golden::<Fee>("fees.jsonl") {
            let item = fee_item(&fee).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("ORG#{}#FEE", fee.org_id)));
            assert_eq!(record_from::<Fee>(item).unwrap(), fee);
        }
        for (charge, line) in golden::<OneOffCharge>("one_off_charges.jsonl") {
            let item = charge_item(&charge).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["period"], s("2026-11"));
            assert_eq!(record_from::<OneOffCharge>(item).unwrap(), charge);
        }
    }
}
