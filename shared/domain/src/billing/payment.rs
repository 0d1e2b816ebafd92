//! Payments received for invoices: one per payment of a provider's report
//! (a BgMax file's payment record), matched to the invoice its reference
//! names or kept unmatched for matching by hand.

use super::invoice::InvoiceId;
use super::Invalid;
use crate::{OrgId, Timestamp};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// A payment's id, which is also its ledger reference:
/// `bgmax:{deposit serial}:{BGC serial}` for a BgMax payment,
/// `stripe:{PaymentIntent id}` for a card payment. ASCII letters, digits,
/// `:`, `-` and `_`, at most 100.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(String);

impl PaymentId {
    pub const MAX_LEN: usize = 100;

    pub fn bgmax(deposit_serial: u32, bgc_serial: &str) -> Result<Self, Invalid> {
        Self::parse(&format!("bgmax:{deposit_serial}:{bgc_serial}"))
    }

    /// The payment of a Stripe PaymentIntent (`pi_…`): one per intent, so
    /// the intent's events, however often delivered, pay once.
    pub fn stripe(payment_intent: &str) -> Result<Self, Invalid> {
        if !payment_intent.starts_with("pi_") {
            return Err(Invalid(format!(
                "{payment_intent:?} is not a Stripe PaymentIntent id (pi_…)"
            )));
        }
        Self::parse(&format!("stripe:{payment_intent}"))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'));
        if !ok {
            return Err(Invalid(format!(
                "{s:?} is not a payment id (up to {} letters, digits, :, - and _)",
                Self::MAX_LEN
            )));
        }
        Ok(PaymentId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What became of a charge of a saved card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Recorded, the charge not answered yet (a run that stopped here asks
    /// again with the same idempotency key, so the card is charged once).
    Pending,
    Succeeded,
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Pending => "pending",
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        [
            AttemptOutcome::Pending,
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or_else(|| Invalid(format!("{s:?} is not pending, succeeded or failed")))
    }
}

/// One charge of the driver's saved card for an invoice, on or after its
/// due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardAttempt {
    /// 1, 2, …
    pub number: u8,
    /// The day it was made for (the organisation's local date).
    pub on: NaiveDate,
    /// What was charged.
    pub amount: Decimal,
    /// The charge's idempotency key: one per attempt.
    pub key: String,
    /// The PaymentIntent (`pi_…`), once Stripe answered with one.
    pub intent: Option<String>,
    pub outcome: AttemptOutcome,
    /// Stripe's code and message of a failure.
    pub reason: Option<String>,
    pub at: Timestamp,
}

/// A payment received on the platform's client-funds account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    /// The provider that reported it (`bankgiro`), its ledger clearing account.
    pub provider: String,
    /// The reference the payer gave, as given (empty: none).
    pub reference: String,
    pub amount: Decimal,
    pub currency: String,
    pub paid_on: NaiveDate,
    pub payer_name: Option<String>,
    /// The invoice it pays and its organisation, once matched.
    pub invoice_id: Option<InvoiceId>,
    pub org_id: Option<OrgId>,
    /// What it paid beyond the invoice's amount due when matched.
    pub surplus: Decimal,
    pub received_at: Timestamp,
    pub version: u64,
}

impl Payment {
    pub fn is_matched(&self) -> bool {
        self.invoice_id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids() {
        assert_eq!(
            PaymentId::bgmax(17, "000000000001").unwrap().as_str(),
            "bgmax:17:000000000001"
        );
        assert!(PaymentId::bgmax(17, "AB C").is_err());
        assert_eq!(
            PaymentId::stripe("pi_3MtwBwLkdIwHu7ix28a3tqPa")
                .unwrap()
                .as_str(),
            "stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa"
        );
        assert!(PaymentId::stripe("ch_1").is_err());
        assert!(PaymentId::parse("stripe:pi_1/..").is_err());
        assert!(PaymentId::parse("").is_err());
        assert!(PaymentId::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn status_of_what_is_paid() {
        use super::super::invoice::InvoiceStatus;
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            InvoiceStatus::of_paid(d("100"), d("0")),
            InvoiceStatus::Issued
        );
        assert_eq!(
            InvoiceStatus::of_paid(d("100"), d("99.99")),
            InvoiceStatus::PartlyPaid
        );
        assert_eq!(
            InvoiceStatus::of_paid(d("100"), d("100.00")),
            InvoiceStatus::Paid
        );
        assert_eq!(
            InvoiceStatus::of_paid(d("100"), d("120")),
            InvoiceStatus::Paid
        );
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Ok(s));
        }
    }
}
