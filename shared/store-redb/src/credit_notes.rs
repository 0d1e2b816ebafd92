//! Credit notes: each issuer's own series (a counter `credit-notes:{org}`
//! in `COUNTERS`), the note under `{org}\0{seq:020}` and the credited
//! invoice, all in one write transaction.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::invoice::{Invoice, InvoiceNumber};
use csms_domain::OrgId;
use redb::ReadableTable;

/// The counter of `org`'s credit note series.
fn series(org: &OrgId) -> String {
    format!("credit-notes:{org}")
}

fn note_key(org: &OrgId, number: &InvoiceNumber) -> R<String> {
    org_item_key(org, &format!("{:020}", number.seq()))
}

impl Db {
    pub(crate) fn last_credit_note_number(&self, org: &OrgId) -> R<u64> {
        self.read(|txn| {
            Ok(txn
                .open_table(COUNTERS)?
                .get(series(org).as_str())?
                .map_or(0, |g| g.value()))
        })
    }

    pub(crate) fn issue_credit_note(
        &self,
        note: &CreditNote,
        invoice: &Invoice,
        expected_version: u64,
    ) -> R<()> {
        let key = note_key(&note.org_id, &note.number)?;
        self.write(|txn| {
            let mut notes = txn.open_table(CREDIT_NOTES)?;
            if notes.get(key.as_str())?.is_some() {
                return Err(conflict(format!("credit note {} exists", note.number)));
            }
            let mut counters = txn.open_table(COUNTERS)?;
            let counter = series(&note.org_id);
            let last = counters.get(counter.as_str())?.map_or(0, |g| g.value());
            let seq = note.number.seq();
            if last.checked_add(1) != Some(seq) {
                return Err(conflict(format!(
                    "the credit note series of {} stands at {last}, so {seq} is not its next number",
                    note.org_id
                )));
            }
            let mut invoices = txn.open_table(INVOICES)?;
            let id = invoice.id.as_str();
            let stored = get_record::<Invoice>(&invoices, id)?.map(|i| i.version);
            check_version("invoice", id, stored, expected_version)?;
            put_record(&mut invoices, id, invoice)?;
            counters.insert(counter.as_str(), seq)?;
            put_record(&mut notes, &key, note)
        })
    }

    pub(crate) fn get_credit_note(
        &self,
        org: &OrgId,
        number: &InvoiceNumber,
    ) -> R<Option<CreditNote>> {
        let key = note_key(org, number)?;
        self.read(|txn| get_record(&txn.open_table(CREDIT_NOTES)?, &key))
    }
}
