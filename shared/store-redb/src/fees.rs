//! Fees and one-off charges, each under its organisation
//! (`{org}\0{id}`), so another organisation's id reads as absent and an
//! organisation's listing is one range in id (creation) order.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::billing::fee::{ChargeId, Fee, FeeId, OneOffCharge};
use csms_domain::billing::period::Period;
use csms_domain::OrgId;
use csms_kernel::ports::{Page, PageRequest};
use csms_store_records::Record;
use redb::{ReadableTable, TableDefinition};

impl Db {
    fn create_in<T: Record>(
        &self,
        table: TableDefinition<&'static str, &'static [u8]>,
        key: String,
        what: &str,
        record: &T,
    ) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(table)?;
            if items.get(key.as_str())?.is_some() {
                return Err(conflict(format!("{what} exists")));
            }
            put_record(&mut items, &key, record)
        })
    }

    fn delete_in(
        &self,
        table: TableDefinition<&'static str, &'static [u8]>,
        key: String,
    ) -> R<bool> {
        self.write(|txn| Ok(txn.open_table(table)?.remove(key.as_str())?.is_some()))
    }

    fn list_in<T: Record>(
        &self,
        table: TableDefinition<&'static str, &'static [u8]>,
        org: &OrgId,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> R<Page<T>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 1)?;
        self.read(|txn| {
            let items = txn.open_table(table)?;
            paginate(
                &items,
                &range,
                after.as_deref(),
                Order::Ascending,
                page.effective_limit(),
                |k, v| {
                    let item = self.skip(org, parse_record::<T>(k, v.value()).map(Some))?;
                    Ok(item.filter(|i| keep(i)))
                },
            )
        })
    }

    pub(crate) fn create_fee(&self, fee: &Fee) -> R<()> {
        let key = org_item_key(&fee.org_id, fee.id.as_str())?;
        self.create_in(FEES, key, &format!("fee {}", fee.id), fee)
    }

    pub(crate) fn get_fee(&self, org: &OrgId, id: &FeeId) -> R<Option<Fee>> {
        let key = org_item_key(org, id.as_str())?;
        self.read(|txn| get_record(&txn.open_table(FEES)?, &key))
    }

    pub(crate) fn put_fee(&self, fee: &Fee, expected_version: u64) -> R<()> {
        let key = org_item_key(&fee.org_id, fee.id.as_str())?;
        self.write(|txn| {
            let mut items = txn.open_table(FEES)?;
            let stored = get_record::<Fee>(&items, &key)?.map(|f| f.version);
            check_version("fee", fee.id.as_str(), stored, expected_version)?;
            put_record(&mut items, &key, fee)
        })
    }

    pub(crate) fn delete_fee(&self, org: &OrgId, id: &FeeId) -> R<bool> {
        self.delete_in(FEES, org_item_key(org, id.as_str())?)
    }

    pub(crate) fn list_fees(&self, org: &OrgId, page: &PageRequest) -> R<Page<Fee>> {
        self.list_in(FEES, org, page, |_: &Fee| true)
    }

    pub(crate) fn create_charge(&self, charge: &OneOffCharge) -> R<()> {
        let key = org_item_key(&charge.org_id, charge.id.as_str())?;
        self.create_in(CHARGES, key, &format!("charge {}", charge.id), charge)
    }

    pub(crate) fn get_charge(&self, org: &OrgId, id: &ChargeId) -> R<Option<OneOffCharge>> {
        let key = org_item_key(org, id.as_str())?;
        self.read(|txn| get_record(&txn.open_table(CHARGES)?, &key))
    }

    pub(crate) fn delete_charge(&self, org: &OrgId, id: &ChargeId) -> R<bool> {
        self.delete_in(CHARGES, org_item_key(org, id.as_str())?)
    }

    pub(crate) fn list_charges(
        &self,
        org: &OrgId,
        period: Option<Period>,
        page: &PageRequest,
    ) -> R<Page<OneOffCharge>> {
        self.list_in(CHARGES, org, page, |c: &OneOffCharge| {
            period.is_none_or(|p| c.period() == Some(p))
        })
    }
}
