//! Billing: the ledger of client funds (one entry per organisation and
//! reference, appended once) and invoices with each issuer's number series
//! (a counter in `COUNTERS`, moved in the write that stores the invoice).

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::billing::invoice::{Invoice, InvoiceId};
use csms_domain::billing::ledger::{LedgerReference, LedgerTransaction};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_domain::user::UserId;
use csms_domain::OrgId;
use csms_kernel::ports::{sort_key_time, InvoiceQuery, Page, PageRequest};
use redb::ReadableTable;

/// The platform's series of billing codes.
const BILLING_CODES: &str = "billing-codes";

/// Where `org`'s billing code is kept (in `COUNTERS`).
fn billing_code_key(org: &OrgId) -> String {
    format!("billing-code:{org}")
}

const UNMATCHED: &str = "unmatched";

fn unmatched_key(id: &PaymentId) -> R<String> {
    unmatched_payment_key(UNMATCHED, id.as_str())
}

/// Lists `payment` under its invoice, or as unmatched.
fn index_payment(txn: &redb::WriteTransaction, payment: &Payment) -> R<()> {
    let id = payment.id.as_str();
    match &payment.invoice_id {
        Some(invoice) => {
            txn.open_table(PAYMENTS_BY_INVOICE)?
                .insert(payment_invoice_key(invoice.as_str(), id)?.as_str(), id)?;
        }
        None => {
            txn.open_table(UNMATCHED_PAYMENTS)?
                .insert(unmatched_key(&payment.id)?.as_str(), id)?;
        }
    }
    Ok(())
}

/// The counter of `org`'s invoice series.
fn series(org: &OrgId) -> String {
    format!("invoices:{org}")
}

impl Db {
    pub(crate) fn append_ledger_transaction(
        &self,
        tx: &LedgerTransaction,
    ) -> R<(LedgerTransaction, bool)> {
        self.write(|txn| {
            let mut ledger = txn.open_table(LEDGER)?;
            let key = ledger_key(&tx.org_id, tx.reference.as_str())?;
            if let Some(stored) = get_record::<LedgerTransaction>(&ledger, &key)? {
                return Ok((stored, false));
            }
            put_record(&mut ledger, &key, tx)?;
            Ok((tx.clone(), true))
        })
    }

    pub(crate) fn get_ledger_transaction(
        &self,
        org: &OrgId,
        reference: &LedgerReference,
    ) -> R<Option<LedgerTransaction>> {
        let key = ledger_key(org, reference.as_str())?;
        self.read(|txn| get_record(&txn.open_table(LEDGER)?, &key))
    }

    pub(crate) fn list_ledger_transactions(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> R<Page<LedgerTransaction>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 1)?;
        self.read(|txn| {
            let ledger = txn.open_table(LEDGER)?;
            paginate(
                &ledger,
                &range,
                after.as_deref(),
                Order::Ascending,
                page.effective_limit(),
                |key, value| self.skip(org, parse_record(key, value.value()).map(Some)),
            )
        })
    }

    pub(crate) fn last_invoice_number(&self, org: &OrgId) -> R<u64> {
        self.read(|txn| {
            Ok(txn
                .open_table(COUNTERS)?
                .get(series(org).as_str())?
                .map_or(0, |g| g.value()))
        })
    }

    pub(crate) fn issue_invoice(&self, invoice: &Invoice) -> R<()> {
        self.write(|txn| {
            let id = invoice.id.as_str();
            let mut items = txn.open_table(INVOICES)?;
            if items.get(id)?.is_some() {
                return Err(conflict(format!("invoice {id} exists")));
            }
            let mut counters = txn.open_table(COUNTERS)?;
            let counter = series(&invoice.org_id);
            let last = counters.get(counter.as_str())?.map_or(0, |g| g.value());
            let seq = invoice.number.seq();
            if last.checked_add(1) != Some(seq) {
                return Err(conflict(format!(
                    "the invoice series of {} stands at {last}, so {seq} is not its next number",
                    invoice.org_id
                )));
            }
            let mut by_ocr = txn.open_table(INVOICES_BY_OCR)?;
            if by_ocr.get(invoice.ocr.as_str())?.is_some() {
                return Err(conflict(format!(
                    "another invoice has OCR reference {}",
                    invoice.ocr
                )));
            }
            by_ocr.insert(invoice.ocr.as_str(), id)?;
            counters.insert(counter.as_str(), seq)?;
            put_record(&mut items, id, invoice)?;
            txn.open_table(INVOICES_BY_ORG)?
                .insert(invoice_org_key(&invoice.org_id, seq)?.as_str(), id)?;
            txn.open_table(INVOICES_BY_USER)?.insert(
                invoice_user_key(&invoice.user_id, &sort_key_time(invoice.created_at), id)?
                    .as_str(),
                id,
            )?;
            Ok(())
        })
    }

    pub(crate) fn get_invoice(&self, id: &InvoiceId) -> R<Option<Invoice>> {
        self.read(|txn| get_record(&txn.open_table(INVOICES)?, id.as_str()))
    }

    pub(crate) fn put_invoice(&self, invoice: &Invoice, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(INVOICES)?;
            let id = invoice.id.as_str();
            let stored = get_record::<Invoice>(&items, id)?.map(|i| i.version);
            check_version("invoice", id, stored, expected_version)?;
            put_record(&mut items, id, invoice)
        })
    }

    pub(crate) fn record_payment(&self, payment: &Payment) -> R<(Payment, bool)> {
        self.write(|txn| {
            let mut items = txn.open_table(PAYMENTS)?;
            let id = payment.id.as_str();
            if let Some(stored) = get_record::<Payment>(&items, id)? {
                return Ok((stored, false));
            }
            put_record(&mut items, id, payment)?;
            index_payment(txn, payment)?;
            Ok((payment.clone(), true))
        })
    }

    pub(crate) fn get_payment(&self, id: &PaymentId) -> R<Option<Payment>> {
        self.read(|txn| get_record(&txn.open_table(PAYMENTS)?, id.as_str()))
    }

    pub(crate) fn put_payment(&self, payment: &Payment, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut items = txn.open_table(PAYMENTS)?;
            let id = payment.id.as_str();
            let stored = get_record::<Payment>(&items, id)?;
            check_version(
                "payment",
                id,
                stored.as_ref().map(|p| p.version),
                expected_version,
            )?;
            put_record(&mut items, id, payment)?;
            drop(items);
            if let Some(old) = stored {
                if let Some(invoice) = &old.invoice_id {
                    txn.open_table(PAYMENTS_BY_INVOICE)?
                        .remove(payment_invoice_key(invoice.as_str(), id)?.as_str())?;
                }
                txn.open_table(UNMATCHED_PAYMENTS)?
                    .remove(unmatched_key(&old.id)?.as_str())?;
            }
            index_payment(txn, payment)
        })
    }

    pub(crate) fn list_invoice_payments(&self, invoice: &InvoiceId) -> R<Vec<Payment>> {
        let range = KeyRange::partition(invoice.as_str());
        self.read(|txn| {
            let index = txn.open_table(PAYMENTS_BY_INVOICE)?;
            let items = txn.open_table(PAYMENTS)?;
            let mut out = Vec::new();
            for entry in index.range(range.lo.as_str()..range.hi.as_str())? {
                let (_, id) = entry?;
                let id = id.value();
                // A payment that does not decode is skipped (and alarmed),
                // not a failure of the invoice's view.
                let item = items
                    .get(id)?
                    .map(|g| parse_record::<Payment>(id, g.value()));
                if let Some(payment) = self.skip(&OrgId::default_org(), item.transpose())? {
                    out.push(payment);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn list_unmatched_payments(&self, page: &PageRequest) -> R<Page<Payment>> {
        let range = KeyRange::partition(UNMATCHED);
        let after = cursor(page, &range.lo, 1)?;
        self.read(|txn| {
            let index = txn.open_table(UNMATCHED_PAYMENTS)?;
            let items = txn.open_table(PAYMENTS)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Ascending,
                page.effective_limit(),
                |_, id| {
                    let id = id.value();
                    let item = items
                        .get(id)?
                        .map(|g| parse_record::<Payment>(id, g.value()));
                    self.skip(&OrgId::default_org(), item.transpose())
                },
            )
        })
    }

    pub(crate) fn billing_code(&self, org: &OrgId) -> R<u64> {
        let key = billing_code_key(org);
        if let Some(code) = self.read(|txn| {
            Ok(txn
                .open_table(COUNTERS)?
                .get(key.as_str())?
                .map(|g| g.value()))
        })? {
            return Ok(code);
        }
        self.write(|txn| {
            if let Some(code) = txn
                .open_table(COUNTERS)?
                .get(key.as_str())?
                .map(|g| g.value())
            {
                return Ok(code);
            }
            let code = bump(txn, BILLING_CODES)?;
            txn.open_table(COUNTERS)?.insert(key.as_str(), code)?;
            Ok(code)
        })
    }

    pub(crate) fn find_invoice_by_ocr(&self, ocr: &OcrReference) -> R<Option<Invoice>> {
        self.read(|txn| {
            let Some(id) = txn
                .open_table(INVOICES_BY_OCR)?
                .get(ocr.as_str())?
                .map(|g| g.value().to_owned())
            else {
                return Ok(None);
            };
            get_record(&txn.open_table(INVOICES)?, &id)
        })
    }

    pub(crate) fn list_invoices(&self, query: &InvoiceQuery) -> R<Page<Invoice>> {
        let org = &query.org_id;
        let range = KeyRange::partition(org.as_str());
        let after = cursor(&query.page, &range.lo, 1)?;
        self.read(|txn| {
            let index = txn.open_table(INVOICES_BY_ORG)?;
            let items = txn.open_table(INVOICES)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Descending,
                query.page.effective_limit(),
                |_, id| {
                    let id = id.value();
                    let item = items
                        .get(id)?
                        .map(|g| parse_record::<Invoice>(id, g.value()));
                    let invoice = self.skip(org, item.transpose())?;
                    Ok(invoice.filter(|i| {
                        query.period.is_none_or(|p| i.period == p)
                            && query.user_id.as_ref().is_none_or(|u| &i.user_id == u)
                            && query.status.is_none_or(|s| i.status == s)
                    }))
                },
            )
        })
    }

    pub(crate) fn list_user_invoices(&self, user: &UserId, page: &PageRequest) -> R<Page<Invoice>> {
        // A person's listing spans organisations: what does not decode is
        // alarmed in the default one, like their sessions and bookings.
        self.list_newest_first(
            INVOICES_BY_USER,
            INVOICES,
            user.as_str(),
            &OrgId::default_org(),
            page,
        )
    }
}
