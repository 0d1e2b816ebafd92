//! Refunds of what a driver paid on an invoice beyond what is left to pay
//! (a credit note on a paid invoice leaves the driver a credit): each one
//! back through the payment's own provider (Stripe), or, for a payment no
//! provider can send back (Bankgiro), recorded as made by hand with the
//! bank's reference. An invoice keeps its refunds (written with the
//! invoice, at its version), so what is left to refund is known from the
//! invoice and its payments alone.
//!
//! The rules ([`refundable`]): a refund is at most the invoice's credit
//! balance (paid − (gross − credited) − what earlier refunds took, failed
//! ones excepted) and at most what its payment can still give back (its
//! amount less its earlier refunds, failed ones excepted).

use super::invoice::Invoice;
use super::payment::{Payment, PaymentId};
use super::Invalid;
use crate::Timestamp;
use rust_decimal::Decimal;
use std::fmt;

/// A refund's id: `rf_` followed by a ULID; its ledger reference is
/// `refund:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefundId(String);

impl RefundId {
    pub const PREFIX: &'static str = "rf_";

    pub fn generate() -> Self {
        RefundId(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = s
            .strip_prefix(Self::PREFIX)
            .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok());
        match ok {
            true => Ok(RefundId(s.to_owned())),
            false => Err(Invalid(format!("{s:?} is not a refund id (rf_…)"))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the money goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundMethod {
    /// A Stripe refund of the card payment's PaymentIntent.
    Stripe,
    /// Paid back by hand (a bank transfer), recorded with its reference.
    Manual,
}

impl RefundMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundMethod::Stripe => "stripe",
            RefundMethod::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        [RefundMethod::Stripe, RefundMethod::Manual]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Invalid(format!("{s:?} is not a refund method (stripe, manual)")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Asked of the provider; its answer is awaited.
    Pending,
    /// The money went back (booked in the ledger).
    Succeeded,
    /// The provider refused it; nothing was booked.
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        [
            RefundStatus::Pending,
            RefundStatus::Succeeded,
            RefundStatus::Failed,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| Invalid(format!("{s:?} is not pending, succeeded or failed")))
    }
}

/// One refund of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: RefundId,
    /// The payment it gives back (part of).
    pub payment_id: PaymentId,
    pub method: RefundMethod,
    /// Positive, in the invoice's currency.
    pub amount: Decimal,
    pub reason: String,
    pub status: RefundStatus,
    /// The caller's `Idempotency-Key`: the same key finds this refund.
    pub key: String,
    /// The provider's id of it (`re_…`), once it answered.
    pub provider_id: Option<String>,
    /// The bank's reference of a manual refund.
    pub bank_reference: Option<String>,
    /// Why it failed, as the provider said.
    pub failure: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    /// When it succeeded or failed.
    pub settled_at: Option<Timestamp>,
}

impl Refund {
    /// Whether it takes money out of what may be refunded (pending and
    /// succeeded ones do; failed ones gave nothing back).
    pub fn counts(&self) -> bool {
        self.status != RefundStatus::Failed
    }
}

/// What is left to refund: of the invoice (its credit balance) and of
/// the chosen payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refundable {
    pub invoice: Decimal,
    pub payment: Decimal,
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    #[error("{0}")]
    Invalid(Invalid),
    /// More than is left; the message says what is.
    #[error("{0}")]
    TooMuch(String),
}

fn overflow() -> RefundRefused {
    RefundRefused::Invalid(Invalid("the sums overflow".into()))
}

/// The invoice's credit balance: paid − (gross − credited) − refunds that
/// count; never below zero.
pub fn credit_balance(invoice: &Invoice, payments: &[Payment]) -> Result<Decimal, RefundRefused> {
    let paid = payments
        .iter()
        .try_fold(Decimal::ZERO, |s, p| s.checked_add(p.amount))
        .ok_or_else(overflow)?;
    let credited = invoice.credited().ok_or_else(overflow)?;
    let refunded = refunded(invoice, None)?;
    let owed = invoice.gross.checked_sub(credited).ok_or_else(overflow)?;
    Ok(paid
        .checked_sub(owed)
        .and_then(|x| x.checked_sub(refunded))
        .ok_or_else(overflow)?
        .max(Decimal::ZERO))
}

/// What the invoice's refunds that count took, of one payment or of all.
fn refunded(invoice: &Invoice, payment: Option<&PaymentId>) -> Result<Decimal, RefundRefused> {
    invoice
        .refunds
        .iter()
        .filter(|r| r.counts() && payment.is_none_or(|p| &r.payment_id == p))
        .try_fold(Decimal::ZERO, |s, r| s.checked_add(r.amount))
        .ok_or_else(overflow)
}

/// What is left to refund of `invoice` and of `payment` (one of its
/// payments).
pub fn refundable(
    invoice: &Invoice,
    payments: &[Payment],
    payment: &Payment,
) -> Result<Refundable, RefundRefused> {
    let of_payment = payment
        .amount
        .checked_sub(refunded(invoice, Some(&payment.id))?)
        .ok_or_else(overflow)?
        .max(Decimal::ZERO);
    Ok(Refundable {
        invoice: credit_balance(invoice, payments)?,
        payment: of_payment,
    })
}

/// Checks `amount` against what is left: above zero, whole öre, at most
/// the invoice's credit balance and the payment's remainder.
pub fn check_amount(
    amount: Decimal,
    left: Refundable,
    invoice: &Invoice,
    payment: &PaymentId,
) -> Result<(), RefundRefused> {
    if amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
        return Err(RefundRefused::Invalid(Invalid(format!(
            "amount: {amount} is not an amount above 0 in whole öre"
        ))));
    }
    if amount > left.invoice {
        return Err(RefundRefused::TooMuch(format!(
            "invoice {} has {} {} left to refund (paid less what is owed after credit notes, less earlier refunds); {amount} asked",
            invoice.number, left.invoice, invoice.currency
        )));
    }
    if amount > left.payment {
        return Err(RefundRefused::TooMuch(format!(
            "payment {payment} has {} {} left to refund; {amount} asked",
            left.payment, invoice.currency
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::credit_note::CreditNoteRef;
    use crate::billing::invoice::InvoiceNumber;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn ids_and_words() {
        let id = RefundId::generate();
        assert_eq!(RefundId::parse(id.as_str()), Ok(id.clone()));
        assert!(RefundId::parse("rf_x").is_err());
        assert!(RefundId::parse("re_01JABCDEFGHJKMNPQRSTVWXYZ1").is_err());
        for m in [RefundMethod::Stripe, RefundMethod::Manual] {
            assert_eq!(RefundMethod::parse(m.as_str()), Ok(m));
        }
        assert!(RefundMethod::parse("swish").is_err());
        for s in [
            RefundStatus::Pending,
            RefundStatus::Succeeded,
            RefundStatus::Failed,
        ] {
            assert_eq!(RefundStatus::parse(s.as_str()), Ok(s));
        }
    }

    #[test]
    fn at_most_the_credit_balance_and_the_payment() {
        let mut invoice = crate::billing::invoice::tests::sample();
        invoice.gross = d("100.00");
        let payment = Payment {
            id: PaymentId::parse("stripe:pi_1").unwrap(),
            provider: "stripe".into(),
            reference: "1".into(),
            amount: d("100.00"),
            currency: "SEK".into(),
            paid_on: invoice.issue_date,
            payer_name: None,
            invoice_id: Some(invoice.id.clone()),
            org_id: Some(invoice.org_id.clone()),
            surplus: Decimal::ZERO,
            received_at: invoice.created_at,
            version: 1,
        };
        let payments = vec![payment.clone()];
        // Paid in full, nothing credited: nothing to refund.
        let left = refundable(&invoice, &payments, &payment).unwrap();
        assert_eq!(
            left,
            Refundable {
                invoice: d("0"),
                payment: d("100.00")
            }
        );
        assert!(matches!(
            check_amount(d("0.01"), left, &invoice, &payment.id),
            Err(RefundRefused::TooMuch(_))
        ));
        // Credited 30: 30 left.
        invoice.credit_notes.push(CreditNoteRef {
            number: InvoiceNumber::parse("K1").unwrap(),
            issue_date: invoice.issue_date,
            credited: d("30.00"),
        });
        let left = refundable(&invoice, &payments, &payment).unwrap();
        assert_eq!(left.invoice, d("30.00"));
        assert!(check_amount(d("30.00"), left, &invoice, &payment.id).is_ok());
        assert!(matches!(
            check_amount(d("30.01"), left, &invoice, &payment.id),
            Err(RefundRefused::TooMuch(m)) if m.contains("30.00")
        ));
        assert!(matches!(
            check_amount(d("0"), left, &invoice, &payment.id),
            Err(RefundRefused::Invalid(_))
        ));
        assert!(matches!(
            check_amount(d("1.005"), left, &invoice, &payment.id),
            Err(RefundRefused::Invalid(_))
        ));
        // A pending refund of 20 takes it; a failed one of 10 does not.
        let refund = |amount: &str, status| Refund {
            id: RefundId::generate(),
            payment_id: payment.id.clone(),
            method: RefundMethod::Stripe,
            amount: d(amount),
            reason: "r".into(),
            status,
            key: "k".into(),
            provider_id: None,
            bank_reference: None,
            failure: None,
            created_by: "t".into(),
            created_at: invoice.created_at,
            settled_at: None,
        };
        invoice.refunds.push(refund("20.00", RefundStatus::Pending));
        invoice.refunds.push(refund("10.00", RefundStatus::Failed));
        let left = refundable(&invoice, &payments, &payment).unwrap();
        assert_eq!(
            left,
            Refundable {
                invoice: d("10.00"),
                payment: d("80.00")
            }
        );
    }
}
