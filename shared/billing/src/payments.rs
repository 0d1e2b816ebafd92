//! Payments received on the platform's client-funds Bankgiro: a BgMax
//! file's payments recorded once each (by `bgmax:{deposit serial}:{BGC
//! serial}`), matched by their OCR reference to the invoice it names, and
//! booked: the provider's clearing account (`clearing:bankgiro`) debited,
//! the driver's receivable credited, in one ledger transaction with the
//! payment's id as its reference. The invoice moves to `partlyPaid` or
//! `paid`; what a payment paid beyond the amount due is its surplus.
//! Payments without a known reference, in another currency than the
//! invoice, and deductions wait unmatched for matching by hand.
//!
//! Importing a file again records nothing again; a payment recorded by an
//! import that stopped before matching it is matched by the next import.

use crate::{BillingError, BillingService, BillingStore};
use csms_domain::billing::bgmax::{self, BgDeposit, BgPayment};
use csms_domain::billing::invoice::{Invoice, InvoiceId, InvoiceStatus};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_kernel::events::InvoiceChange;
use csms_kernel::ports::StoreError;
use rust_decimal::Decimal;

/// The provider, and clearing account, of Bankgiro payments.
pub const BANKGIRO: &str = "bankgiro";

/// How often a versioned write is tried again when another writer moved
/// the record in between.
const ATTEMPTS: usize = 10;

/// What an import did with each payment of the file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportResult {
    /// Payments this import matched to an invoice and booked.
    pub matched: Vec<Payment>,
    /// Payments an earlier import recorded (nothing done again).
    pub already_imported: Vec<Payment>,
    /// Payments recorded by this import that match no invoice.
    pub unmatched: Vec<Payment>,
}

/// An invoice's payments and what is still due.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoicePayments {
    pub payments: Vec<Payment>,
    pub paid: Decimal,
    /// What its credit notes took off.
    pub credited: Decimal,
    /// The gross amount less what is paid and credited, never below zero.
    pub due: Decimal,
}

/// What of `invoice` is left to pay when `paid` is paid: its gross less
/// that and its credit notes, never below zero.
fn left_to_pay(invoice: &Invoice, paid: Decimal) -> Result<Decimal, BillingError> {
    let overflow = || BillingError::Books("the amount due overflows".into());
    Ok(invoice
        .gross
        .checked_sub(paid)
        .ok_or_else(overflow)?
        .checked_sub(invoice.credited().ok_or_else(overflow)?)
        .ok_or_else(overflow)?
        .max(Decimal::ZERO))
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Imports a BgMax file: a file that breaks its counts or totals is
    /// refused whole, before anything is recorded.
    pub async fn import_bgmax(&self, text: &str) -> Result<ImportResult, BillingError> {
        let file = bgmax::parse(text).map_err(BillingError::BgMax)?;
        let mut result = ImportResult::default();
        let now = self.clock.now();
        for deposit in &file.deposits {
            for p in &deposit.payments {
                let payment = received(deposit, p, now)?;
                let (stored, new) = self.store.record_payment(&payment).await?;
                let matched = match stored.is_matched() {
                    true => None,
                    false => self.match_by_reference(&stored).await?,
                };
                match (new, matched) {
                    (_, Some(matched)) => result.matched.push(matched),
                    (true, None) => result.unmatched.push(stored),
                    (false, None) => result.already_imported.push(stored),
                }
            }
        }
        Ok(result)
    }

    /// Matches an unmatched payment to `invoice` by hand.
    pub async fn match_payment(
        &self,
        id: &PaymentId,
        invoice: &InvoiceId,
    ) -> Result<Payment, BillingError> {
        let payment = self
            .store
            .get_payment(id)
            .await?
            .ok_or_else(|| BillingError::NotFound(format!("payment {id}")))?;
        if let Some(matched) = &payment.invoice_id {
            return Err(BillingError::Refused(format!(
                "payment {id} is matched to invoice {matched}"
            )));
        }
        if payment.amount <= Decimal::ZERO {
            return Err(BillingError::Refused(format!(
                "payment {id} is a deduction of {}",
                payment.amount
            )));
        }
        let invoice = self
            .store
            .get_invoice(invoice)
            .await?
            .ok_or_else(|| BillingError::NotFound(format!("invoice {invoice}")))?;
        if invoice.currency != payment.currency {
            return Err(BillingError::Refused(format!(
                "payment {id} is in {}, invoice {} in {}",
                payment.currency, invoice.id, invoice.currency
            )));
        }
        self.apply(payment, invoice).await
    }

    /// An invoice's payments, what they paid and what is due.
    pub async fn invoice_payments(
        &self,
        invoice: &Invoice,
    ) -> Result<InvoicePayments, BillingError> {
        let payments = self.store.list_invoice_payments(&invoice.id).await?;
        let paid = sum(&payments)?;
        let due = left_to_pay(invoice, paid)?;
        let credited = invoice
            .credited()
            .ok_or_else(|| BillingError::Books("the credited sum overflows".into()))?;
        Ok(InvoicePayments {
            payments,
            paid,
            credited,
            due,
        })
    }

    /// What `invoice` still has due, for a payment to be started for it;
    /// refused when nothing is due (a provider is never asked for 0).
    pub(crate) async fn due_to_pay(&self, invoice: &Invoice) -> Result<Decimal, BillingError> {
        let due = self.invoice_payments(invoice).await?.due;
        if invoice.status == InvoiceStatus::Paid || due <= Decimal::ZERO {
            return Err(BillingError::Refused(format!(
                "invoice {} is paid",
                invoice.number
            )));
        }
        Ok(due)
    }

    /// The invoice a payment's OCR reference names, if the payment can pay
    /// it (a positive amount in the invoice's currency): matched and booked.
    async fn match_by_reference(&self, payment: &Payment) -> Result<Option<Payment>, BillingError> {
        if payment.amount <= Decimal::ZERO {
            return Ok(None);
        }
        let digits = payment.reference.trim().trim_start_matches('0');
        let Ok(ocr) = OcrReference::parse(digits) else {
            return Ok(None);
        };
        let Some(invoice) = self.store.find_invoice_by_ocr(&ocr).await? else {
            return Ok(None);
        };
        if invoice.currency != payment.currency {
            return Ok(None);
        }
        self.apply(payment.clone(), invoice).await.map(Some)
    }

    /// Books `payment` against `invoice`: the ledger transaction (once, by
    /// the payment's id), the payment matched with its surplus, the
    /// invoice's status from everything paid.
    pub(crate) async fn apply(
        &self,
        payment: Payment,
        invoice: Invoice,
    ) -> Result<Payment, BillingError> {
        let before = sum(&self.store.list_invoice_payments(&invoice.id).await?)?;
        let due = left_to_pay(&invoice, before)?;
        let surplus = payment
            .amount
            .checked_sub(due)
            .ok_or_else(|| BillingError::Books("the surplus overflows".into()))?
            .max(Decimal::ZERO);
        self.store
            .append_ledger_transaction(&payment_transaction(&payment, &invoice)?)
            .await?;
        let mut matched = payment.clone();
        matched.invoice_id = Some(invoice.id.clone());
        matched.org_id = Some(invoice.org_id.clone());
        matched.surplus = surplus;
        matched.version = payment.version + 1;
        match self.store.put_payment(&matched, payment.version).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(BillingError::Refused(format!(
                    "payment {} was matched meanwhile",
                    payment.id
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.settle(&invoice.id).await?;
        Ok(matched)
    }

    /// Sets the invoice's status from what its payments paid and its
    /// credit notes took off (paid in full: settled either way).
    pub(crate) async fn settle(&self, id: &InvoiceId) -> Result<(), BillingError> {
        for _ in 0..ATTEMPTS {
            let Some(invoice) = self.store.get_invoice(id).await? else {
                return Err(BillingError::NotFound(format!("invoice {id}")));
            };
            let paid = sum(&self.store.list_invoice_payments(id).await?)?;
            // Credited in full, or the rest paid: settled. Else what the
            // payments paid says issued or partly paid.
            let status = match left_to_pay(&invoice, paid)?.is_zero() {
                true => InvoiceStatus::Paid,
                false => InvoiceStatus::of_paid(invoice.gross, paid),
            };
            if status == invoice.status {
                return self.lift_if_paid(&invoice).await;
            }
            let mut next = invoice.clone();
            next.status = status;
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => {
                    if status == InvoiceStatus::Paid {
                        self.tell(&next, InvoiceChange::Paid).await;
                    }
                    return self.lift_if_paid(&next).await;
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} kept changing; its status is not set"
        ))))
    }
}

/// What became of a payment a provider reported (a card charge, a Swish
/// request).
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    /// Recorded now and booked against its invoice.
    Paid(Payment),
    /// Recorded now; it names no invoice it can pay (wait for matching by hand).
    Unmatched(Payment),
    /// Recorded before (the provider told again).
    AlreadyRecorded(Payment),
}

/// A payment `provider` reported, not matched yet.
pub(crate) fn reported(
    id: PaymentId,
    provider: &str,
    reference: String,
    amount: Decimal,
    currency: String,
    paid_on: chrono::NaiveDate,
    now: csms_domain::Timestamp,
) -> Payment {
    Payment {
        id,
        provider: provider.into(),
        reference,
        amount,
        currency,
        paid_on,
        payer_name: None,
        invoice_id: None,
        org_id: None,
        surplus: Decimal::ZERO,
        received_at: now,
        version: 1,
    }
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Records `payment` once (by its id) and books it against the invoice
    /// `invoice` finds, when that can pay it (a positive amount in its
    /// currency). `invoice` is only awaited for a payment recorded now.
    pub(crate) async fn book_reported(
        &self,
        payment: Payment,
        invoice: impl std::future::Future<Output = Result<Option<Invoice>, BillingError>>,
    ) -> Result<Reported, BillingError> {
        let (stored, _) = self.store.record_payment(&payment).await?;
        if stored.is_matched() {
            return Ok(Reported::AlreadyRecorded(stored));
        }
        match invoice.await? {
            Some(invoice)
                if invoice.currency == stored.currency && stored.amount > Decimal::ZERO =>
            {
                let paid = self.apply(stored, invoice).await?;
                tracing::info!(payment = %paid.id, "payment booked");
                Ok(Reported::Paid(paid))
            }
            _ => {
                tracing::warn!(payment = %stored.id, "payment matches no invoice; match it by hand");
                Ok(Reported::Unmatched(stored))
            }
        }
    }

    /// A paid invoice's block lifted (dunning's `lift_block`): its driver
    /// may charge again. Also run when the status was set before, so a
    /// payment whose lift stopped half-way is finished by the next import.
    async fn lift_if_paid(&self, invoice: &Invoice) -> Result<(), BillingError> {
        if invoice.status == InvoiceStatus::Paid && invoice.blocks() {
            self.lift_block(
                &invoice.org_id,
                &invoice.id,
                crate::dunning::LIFTED_BY_PAYMENT,
            )
            .await?;
        }
        Ok(())
    }
}

/// The sum of payments' amounts.
fn sum(payments: &[Payment]) -> Result<Decimal, BillingError> {
    payments
        .iter()
        .try_fold(Decimal::ZERO, |s, p| s.checked_add(p.amount))
        .ok_or_else(|| BillingError::Books("the payments' sum overflows".into()))
}

/// The payment a BgMax payment record reports, not matched yet.
fn received(
    deposit: &BgDeposit,
    p: &BgPayment,
    now: csms_domain::Timestamp,
) -> Result<Payment, BillingError> {
    let id = PaymentId::bgmax(deposit.serial, &p.bgc_serial).map_err(|e| {
        BillingError::BgMax(bgmax::BgMaxError {
            line: p.line,
            field: "bgcSerial",
            message: e.0,
        })
    })?;
    Ok(Payment {
        id,
        provider: BANKGIRO.into(),
        reference: p.reference.clone(),
        amount: p.amount,
        currency: deposit.currency.clone(),
        paid_on: deposit.payment_date,
        payer_name: p.name.clone(),
        invoice_id: None,
        org_id: None,
        surplus: Decimal::ZERO,
        received_at: now,
        version: 1,
    })
}

/// The ledger transaction of a payment of `invoice`: the clearing account
/// of its provider debited, the driver's receivable credited.
pub fn payment_transaction(
    payment: &Payment,
    invoice: &Invoice,
) -> Result<LedgerTransaction, BillingError> {
    let reference = LedgerReference::parse(payment.id.to_string())
        .map_err(|e| BillingError::Books(format!("payment {}: {e}", payment.id)))?;
    LedgerTransaction::new(
        invoice.org_id.clone(),
        reference,
        payment.currency.clone(),
        format!(
            "{} payment {} of invoice {}",
            payment.provider, payment.id, invoice.number
        ),
        vec![
            Posting::debit(
                Account::ProviderClearing {
                    provider: payment.provider.clone(),
                },
                payment.amount,
            ),
            Posting::credit(
                Account::DriverReceivable {
                    org: invoice.org_id.clone(),
                    user: invoice.user_id.clone(),
                },
                payment.amount,
            ),
        ],
        payment.received_at,
    )
    .map_err(|e| BillingError::Books(format!("payment {}: {e:?}", payment.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::OrgId;
    use csms_kernel::contract::sample_invoice;
    use csms_kernel::ports::{InvoiceStore, PageRequest, PaymentStore, SystemClock};
    use csms_store_redb::EmbeddedStore;
    use std::sync::Arc;

    /// A BgMax record: fields at their 1-based positions.
    fn rec(fields: &[(usize, &str)]) -> String {
        let mut line = vec![' '; 80];
        for (at, text) in fields {
            for (i, c) in text.chars().enumerate() {
                line[at - 1 + i] = c;
            }
        }
        line.into_iter().collect()
    }

    /// A file of one deposit with payments of (reference, öre).
    fn file(payments: &[(&str, u64)]) -> String {
        let mut lines = vec![
            rec(&[
                (1, "01"),
                (3, "BGMAX"),
                (23, "01"),
                (25, "20261205083000000000"),
                (45, "P"),
            ]),
            rec(&[(1, "05"), (3, "0009912346"), (23, "SEK")]),
        ];
        for (i, (reference, ore)) in payments.iter().enumerate() {
            lines.push(rec(&[
                (1, "20"),
                (3, "0000000000"),
                (13, reference),
                (38, &format!("{ore:018}")),
                (56, "2"),
                (57, "1"),
                (58, &format!("{:012}", i + 1)),
                (70, "0"),
            ]));
        }
        let total: u64 = payments.iter().map(|p| p.1).sum();
        lines.push(rec(&[
            (1, "15"),
            (3, "12345678901"),
            (38, "20261204"),
            (46, "00017"),
            (51, &format!("{total:018}")),
            (69, "SEK"),
            (72, &format!("{:08}", payments.len())),
        ]));
        lines.push(rec(&[
            (1, "70"),
            (3, &format!("{:08}", payments.len())),
            (11, "00000000"),
            (19, "00000000"),
            (27, "00000001"),
        ]));
        lines.join("\n")
    }

    #[tokio::test]
    async fn a_file_pays_invoices_once_and_keeps_the_rest_for_matching_by_hand() {
        let store = Arc::new(EmbeddedStore::temporary());
        let billing = BillingService::new(store.clone(), Arc::new(SystemClock));
        // Two invoices of 50.00 each.
        let full = sample_invoice("org-p", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        let part = sample_invoice("org-p", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ2", 2);
        for i in [&full, &part] {
            store.issue_invoice(i).await.unwrap();
        }
        let text = file(&[
            (full.ocr.as_str(), 6000),
            (part.ocr.as_str(), 2000),
            ("12345682", 1500),
            ("", 700),
        ]);
        let result = billing.import_bgmax(&text).await.unwrap();
        assert_eq!(result.matched.len(), 2, "{result:?}");
        assert_eq!(result.unmatched.len(), 2, "{result:?}");
        assert!(result.already_imported.is_empty());
        assert_eq!(result.matched[0].id.as_str(), "bgmax:17:000000000001");
        assert_eq!(result.matched[0].surplus, Decimal::new(1000, 2));
        assert_eq!(result.matched[1].surplus, Decimal::ZERO);

        let status = |id: InvoiceId| {
            let store = store.clone();
            async move { store.get_invoice(&id).await.unwrap().unwrap().status }
        };
        assert_eq!(status(full.id.clone()).await, InvoiceStatus::Paid);
        assert_eq!(status(part.id.clone()).await, InvoiceStatus::PartlyPaid);
        let part_now = store.get_invoice(&part.id).await.unwrap().unwrap();
        let owed = billing.invoice_payments(&part_now).await.unwrap();
        assert_eq!(
            (owed.paid, owed.due),
            (Decimal::new(2000, 2), Decimal::new(3000, 2))
        );

        let org = OrgId::parse("org-p").unwrap();
        let books = billing.balances(&org).await.unwrap();
        assert!(books.balanced());
        assert_eq!(books.transactions, 2);
        let clearing = books.accounts[&(
            Account::ProviderClearing {
                provider: BANKGIRO.into(),
            },
            "SEK".to_owned(),
        )];
        assert_eq!(clearing.balance(), Decimal::new(8000, 2));

        // The same file again changes nothing.
        let again = billing.import_bgmax(&text).await.unwrap();
        assert!(
            again.matched.is_empty() && again.unmatched.is_empty(),
            "{again:?}"
        );
        assert_eq!(again.already_imported.len(), 4);
        assert_eq!(billing.balances(&org).await.unwrap().transactions, 2);

        // The rest of the partly paid invoice, matched by hand.
        let unmatched = store
            .list_unmatched_payments(&PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(unmatched.len(), 2);
        let anonymous = unmatched.iter().find(|p| p.reference.is_empty()).unwrap();
        let matched = billing
            .match_payment(&anonymous.id, &part.id)
            .await
            .unwrap();
        assert_eq!(matched.invoice_id, Some(part.id.clone()));
        assert!(matches!(
            billing.match_payment(&anonymous.id, &part.id).await,
            Err(BillingError::Refused(_))
        ));
        assert!(matches!(
            billing
                .match_payment(&PaymentId::parse("bgmax:1:9").unwrap(), &part.id)
                .await,
            Err(BillingError::NotFound(_))
        ));
        let part_now = store.get_invoice(&part.id).await.unwrap().unwrap();
        let owed = billing.invoice_payments(&part_now).await.unwrap();
        assert_eq!(owed.payments.len(), 2);
        assert_eq!(owed.due, Decimal::new(2300, 2));
        assert_eq!(part_now.status, InvoiceStatus::PartlyPaid);

        // A broken file is refused whole, naming its line.
        let broken = text.replace("00000004", "00000005");
        match billing.import_bgmax(&broken).await {
            Err(BillingError::BgMax(e)) => assert_eq!(e.field, "numberOfPayments"),
            other => panic!("{other:?}"),
        }
    }
}
