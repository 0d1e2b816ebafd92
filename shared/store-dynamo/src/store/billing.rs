//! [`DynamoStore`]'s billing: the ledger of client funds and invoices with
//! each issuer's number series.
//!
//! # Layout
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK | other |
//! |------|----|----|-----------------|-----------------|-------|
//! | ledger transaction | `LEDGER#{org}` | `TX#{reference}` | | | `body` |
//! | invoice | `INVOICE#{id}` | `META` | `ORG#{org}#INVOICE` / `{seq:020}` | `USER#{user}#INVOICE` / `{created}#{id}` | `body`, `version`, `period`, `userId`, `status` (for filters) |
//! | invoice series | `INVOICESERIES#{org}` | `META` | | | `last` (the last number issued) |
//! | OCR pointer | `OCR#{ocr}` | `META` | | | `invoiceId` |
//! | billing code | `BILLINGCODE#{org}` | `META` | | | `code` |
//! | billing code series | `BILLINGCODES` | `META` | | | `last` (the last code assigned) |
//! | credit note | `ORG#{org}#CREDITNOTE` | `{seq:020}` | | | `body` |
//! | credit note series | `CREDITNOTESERIES#{org}` | `META` | | | `last` (the last number issued) |
//! | payment | `PAYMENT#{id}` | `META` | `INVOICE#{invoice}#PAYMENT` (matched) or `UNMATCHEDPAYMENT` / `{id}` | | `body`, `version` |
//!
//! A ledger transaction is one `PutItem` on the condition that no item has
//! its key (organisation and reference): a retry cannot post twice, and the
//! losing writer reads back the first (returned with the failed condition).
//! An organisation's ledger is one `Query` of its partition, in reference
//! order. An invoice is issued in one `TransactWriteItems`: the invoice on
//! the condition that it does not exist, and the series' item on the
//! condition that `last` is the number before the invoice's (absent for the
//! first), so the number is taken exactly when the invoice is stored; the
//! same transaction puts the invoice's OCR pointer on the condition that no
//! item has its key, so an OCR reference names one invoice platform-wide.
//! A billing code is assigned in one `TransactWriteItems` too: the
//! organisation's code item if absent and the series moved from the `last`
//! that was read; a lost race reads the winner's code.
//!
//! A credit note is issued in one `TransactWriteItems` of three puts: the
//! note on the condition that it does not exist, its series' item on the
//! condition that `last` is the number before, and the credited invoice
//! (holding the note's reference) on the condition that its version is the
//! one read — so the number is taken exactly when the note is stored, and
//! two notes of one invoice never both credit what was left.

use super::table::{
    json_item, n, org_partition, record_from, s, set_key, versioned_item, Condition,
    ConditionFailed, Index, Query, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::invoice::{Invoice, InvoiceId, InvoiceNumber};
use csms_domain::billing::ledger::{LedgerReference, LedgerTransaction};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_domain::user::UserId;
use csms_domain::OrgId;
use csms_kernel::ports::{
    sort_key_time, CreditNoteStore, InvoiceQuery, InvoiceStore, LedgerStore, Page, PageRequest,
    PaymentStore, StoreError, StoreResult,
};
use csms_store_records::Record;

fn ledger_pk(org: &OrgId) -> String {
    format!("LEDGER#{org}")
}

fn ledger_sk(reference: &LedgerReference) -> String {
    format!("TX#{reference}")
}

fn invoice_pk(id: &InvoiceId) -> String {
    format!("INVOICE#{id}")
}

fn series_pk(org: &OrgId) -> String {
    format!("INVOICESERIES#{org}")
}

fn credit_notes_pk(org: &OrgId) -> String {
    format!("ORG#{org}#CREDITNOTE")
}

fn credit_note_sk(number: &InvoiceNumber) -> String {
    format!("{:020}", number.seq())
}

fn credit_series_pk(org: &OrgId) -> String {
    format!("CREDITNOTESERIES#{org}")
}

fn ocr_pk(ocr: &OcrReference) -> String {
    format!("OCR#{ocr}")
}

fn billing_code_pk(org: &OrgId) -> String {
    format!("BILLINGCODE#{org}")
}

const BILLING_CODES: &str = "BILLINGCODES";

/// How often assigning a billing code is tried when other organisations
/// take codes between the read and the write.
const CODE_ATTEMPTS: usize = 10;

/// The number attribute `name` of `item`, `what` naming it in errors.
fn number_of(item: &Key, name: &str, what: &str) -> StoreResult<u64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|e| StoreError::Backend(format!("{what} holds {n:?}: {e}"))),
        _ => Err(StoreError::Backend(format!("{what} has no {name}"))),
    }
}

fn org_invoices(org: &OrgId) -> String {
    org_partition(org, "INVOICE")
}

fn user_invoices(user: &UserId) -> String {
    format!("USER#{user}#INVOICE")
}

fn ledger_item(tx: &LedgerTransaction) -> StoreResult<Key> {
    json_item(
        ledger_pk(&tx.org_id),
        ledger_sk(&tx.reference),
        &tx.to_stored(),
        "ledger transaction",
    )
}

fn invoice_item(invoice: &Invoice) -> StoreResult<Key> {
    let mut item = versioned_item(
        invoice_pk(&invoice.id),
        META,
        &invoice.to_stored(),
        invoice.version,
        "invoice",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_invoices(&invoice.org_id),
        format!("{:020}", invoice.number.seq()),
    );
    set_key(
        &mut item,
        Index::Gsi2,
        user_invoices(&invoice.user_id),
        format!("{}#{}", sort_key_time(invoice.created_at), invoice.id),
    );
    item.insert("period".into(), s(invoice.period.to_string()));
    item.insert("userId".into(), s(invoice.user_id.as_str()));
    item.insert("status".into(), s(invoice.status.as_str()));
    Ok(item)
}

fn payment_pk(id: &PaymentId) -> String {
    format!("PAYMENT#{id}")
}

const UNMATCHED_PAYMENTS: &str = "UNMATCHEDPAYMENT";

fn invoice_payments(invoice: &InvoiceId) -> String {
    format!("INVOICE#{invoice}#PAYMENT")
}

fn payment_item(payment: &Payment) -> StoreResult<Key> {
    let mut item = versioned_item(
        payment_pk(&payment.id),
        META,
        &payment.to_stored(),
        payment.version,
        "payment",
    )?;
    let listed = match &payment.invoice_id {
        Some(invoice) => invoice_payments(invoice),
        None => UNMATCHED_PAYMENTS.to_owned(),
    };
    set_key(&mut item, Index::Gsi1, listed, payment.id.to_string());
    Ok(item)
}

fn any_condition_failed(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|r| r.code() == Some("ConditionalCheckFailed"))
}

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn append_ledger_transaction(
        &self,
        tx: &LedgerTransaction,
    ) -> StoreResult<(LedgerTransaction, bool)> {
        match self
            .put_if_else_stored(ledger_item(tx)?, Condition::absent())
            .await?
        {
            Ok(()) => Ok((tx.clone(), true)),
            Err(Some(stored)) => Ok((record_from(stored)?, false)),
            Err(None) => self
                .get_ledger_transaction(&tx.org_id, &tx.reference)
                .await?
                .map(|stored| (stored, false))
                .ok_or_else(|| {
                    StoreError::Backend(format!(
                        "ledger transaction {} of {} neither written nor found",
                        tx.reference, tx.org_id
                    ))
                }),
        }
    }

    async fn get_ledger_transaction(
        &self,
        org: &OrgId,
        reference: &LedgerReference,
    ) -> StoreResult<Option<LedgerTransaction>> {
        self.get_as(ledger_pk(org), ledger_sk(reference), record_from)
            .await
    }

    async fn list_ledger_transactions(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<LedgerTransaction>> {
        let query = Query::partition(ledger_pk(org)).sk_prefix("TX#");
        self.page_of(org, &query, page, record_from).await
    }
}

#[async_trait]
impl InvoiceStore for DynamoStore {
    async fn last_invoice_number(&self, org: &OrgId) -> StoreResult<u64> {
        let Some(item) = self.get(series_pk(org), META).await? else {
            return Ok(0);
        };
        match item.get("last") {
            Some(AttributeValue::N(n)) => n.parse().map_err(|e| {
                StoreError::Backend(format!("the invoice series of {org} holds {n:?}: {e}"))
            }),
            _ => Err(StoreError::Backend(format!(
                "the invoice series of {org} has no number"
            ))),
        }
    }

    async fn issue_invoice(&self, invoice: &Invoice) -> StoreResult<()> {
        let seq = invoice.number.seq();
        let expected = seq
            .checked_sub(1)
            .ok_or_else(|| StoreError::Backend("an invoice number starts at 1".into()))?;
        let mut series = Key::new();
        set_key(&mut series, Index::Table, series_pk(&invoice.org_id), META);
        series.insert("last".into(), n(seq));
        let series_condition = match expected {
            0 => Condition::absent(),
            last => Condition::new("#last = :last")
                .name("#last", "last")
                .value(":last", n(last)),
        };
        let mut pointer = Key::new();
        set_key(&mut pointer, Index::Table, ocr_pk(&invoice.ocr), META);
        pointer.insert("invoiceId".into(), s(invoice.id.as_str()));
        let writes = vec![
            self.transact_put(invoice_item(invoice)?, Some(Condition::absent()))?,
            self.transact_put(series, Some(series_condition))?,
            self.transact_put(pointer, Some(Condition::absent()))?,
        ];
        self.transact(writes, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| {
                StoreError::Conflict(format!(
                    "invoice {} exists, the series of {} is not at {expected}, or OCR reference {} is taken",
                    invoice.id, invoice.org_id, invoice.ocr
                ))
            })
    }

    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        self.get_as(invoice_pk(id), META, record_from).await
    }

    async fn put_invoice(&self, invoice: &Invoice, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            invoice_item(invoice)?,
            expected_version,
            format!("invoice {}", invoice.id),
        )
        .await
    }

    async fn billing_code(&self, org: &OrgId) -> StoreResult<u64> {
        let what = format!("the billing code of {org}");
        for _ in 0..CODE_ATTEMPTS {
            if let Some(item) = self.get(billing_code_pk(org), META).await? {
                return number_of(&item, "code", &what);
            }
            let last = match self.get(BILLING_CODES, META).await? {
                Some(item) => number_of(&item, "last", "the billing code series")?,
                None => 0,
            };
            let code = last
                .checked_add(1)
                .ok_or_else(|| StoreError::Backend("the billing code series is full".into()))?;
            let mut mine = Key::new();
            set_key(&mut mine, Index::Table, billing_code_pk(org), META);
            mine.insert("code".into(), n(code));
            let mut series = Key::new();
            set_key(&mut series, Index::Table, BILLING_CODES, META);
            series.insert("last".into(), n(code));
            let series_condition = match last {
                0 => Condition::absent(),
                last => Condition::new("#last = :last")
                    .name("#last", "last")
                    .value(":last", n(last)),
            };
            let writes = vec![
                self.transact_put(mine, Some(Condition::absent()))?,
                self.transact_put(series, Some(series_condition))?,
            ];
            if self.transact(writes, any_condition_failed).await?.is_ok() {
                return Ok(code);
            }
        }
        Err(StoreError::Conflict(format!(
            "the billing code series kept moving; {org} has no code yet"
        )))
    }

    async fn find_invoice_by_ocr(&self, ocr: &OcrReference) -> StoreResult<Option<Invoice>> {
        let Some(pointer) = self.get(ocr_pk(ocr), META).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = pointer.get("invoiceId") else {
            return Err(StoreError::Backend(format!(
                "the OCR pointer {ocr} names no invoice"
            )));
        };
        let id = InvoiceId::parse(id)
            .map_err(|e| StoreError::Backend(format!("the OCR pointer {ocr}: {e}")))?;
        self.get_invoice(&id).await
    }

    async fn list_invoices(&self, query: &InvoiceQuery) -> StoreResult<Page<Invoice>> {
        let mut q = Query::index(Index::Gsi1, org_invoices(&query.org_id)).newest_first();
        if let Some(period) = query.period {
            q = q.filter_eq("period", period.to_string());
        }
        if let Some(user) = &query.user_id {
            q = q.filter_eq("userId", user.as_str());
        }
        if let Some(status) = query.status {
            q = q.filter_eq("status", status.as_str());
        }
        self.page_of(&query.org_id, &q, &query.page, record_from)
            .await
    }

    async fn list_user_invoices(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Invoice>> {
        let query = Query::index(Index::Gsi2, user_invoices(user)).newest_first();
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }
}

#[async_trait]
impl PaymentStore for DynamoStore {
    async fn record_payment(&self, payment: &Payment) -> StoreResult<(Payment, bool)> {
        match self
            .put_if_else_stored(payment_item(payment)?, Condition::absent())
            .await?
        {
            Ok(()) => Ok((payment.clone(), true)),
            Err(Some(stored)) => Ok((record_from(stored)?, false)),
            Err(None) => self
                .get_payment(&payment.id)
                .await?
                .map(|stored| (stored, false))
                .ok_or_else(|| {
                    StoreError::Backend(format!("payment {} neither written nor found", payment.id))
                }),
        }
    }

    async fn get_payment(&self, id: &PaymentId) -> StoreResult<Option<Payment>> {
        self.get_as(payment_pk(id), META, record_from).await
    }

    async fn put_payment(&self, payment: &Payment, expected_version: u64) -> StoreResult<()> {
        self.put_versioned(
            payment_item(payment)?,
            expected_version,
            format!("payment {}", payment.id),
        )
        .await
    }

    async fn list_invoice_payments(&self, invoice: &InvoiceId) -> StoreResult<Vec<Payment>> {
        let query = Query::index(Index::Gsi1, invoice_payments(invoice));
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut out = Vec::new();
        loop {
            let listed = self
                .page_of(&OrgId::default_org(), &query, &page, record_from)
                .await?;
            out.extend(listed.items);
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(out),
            }
        }
    }

    async fn list_unmatched_payments(&self, page: &PageRequest) -> StoreResult<Page<Payment>> {
        let query = Query::index(Index::Gsi1, UNMATCHED_PAYMENTS);
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }
}

#[async_trait]
impl CreditNoteStore for DynamoStore {
    async fn last_credit_note_number(&self, org: &OrgId) -> StoreResult<u64> {
        match self.get(credit_series_pk(org), META).await? {
            Some(item) => number_of(&item, "last", &format!("the credit note series of {org}")),
            None => Ok(0),
        }
    }

    async fn issue_credit_note(
        &self,
        note: &CreditNote,
        invoice: &Invoice,
        expected_version: u64,
    ) -> StoreResult<()> {
        let seq = note.number.seq();
        let expected = seq
            .checked_sub(1)
            .ok_or_else(|| StoreError::Backend("a credit note number starts at 1".into()))?;
        let mut series = Key::new();
        set_key(
            &mut series,
            Index::Table,
            credit_series_pk(&note.org_id),
            META,
        );
        series.insert("last".into(), n(seq));
        let series_condition = match expected {
            0 => Condition::absent(),
            last => Condition::new("#last = :last")
                .name("#last", "last")
                .value(":last", n(last)),
        };
        let item = json_item(
            credit_notes_pk(&note.org_id),
            credit_note_sk(&note.number),
            &note.to_stored(),
            "credit note",
        )?;
        let writes = vec![
            self.transact_put(item, Some(Condition::absent()))?,
            self.transact_put(series, Some(series_condition))?,
            self.transact_put(
                invoice_item(invoice)?,
                Some(Condition::version(expected_version)),
            )?,
        ];
        self.transact(writes, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| {
                StoreError::Conflict(format!(
                    "credit note {} exists, the credit note series of {} is not at {expected}, or invoice {} is not at version {expected_version}",
                    note.number, note.org_id, invoice.id
                ))
            })
    }

    async fn get_credit_note(
        &self,
        org: &OrgId,
        number: &InvoiceNumber,
    ) -> StoreResult<Option<CreditNote>> {
        self.get_as(credit_notes_pk(org), credit_note_sk(number), record_from)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn billing_items_hold_the_golden_json_and_read_back() {
        for (tx, line) in golden::<LedgerTransaction>("ledger_transactions.jsonl") {
            let item = ledger_item(&tx).unwrap();
            assert_eq!(item.get("body"), Some(&s(&line)));
            assert_eq!(item.get("SK"), Some(&s(format!("TX#{}", tx.reference))));
            assert_eq!(record_from::<LedgerTransaction>(item).unwrap(), tx);
        }
        for (invoice, line) in golden::<Invoice>("invoices.jsonl") {
            let item = invoice_item(&invoice).unwrap();
            assert_eq!(item.get("body"), Some(&s(&line)));
            assert_eq!(item.get("period"), Some(&s("2026-11")));
            assert_eq!(item.get("status"), Some(&s(invoice.status.as_str())));
            assert_eq!(record_from::<Invoice>(item).unwrap(), invoice);
        }
    }
}
