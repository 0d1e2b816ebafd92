//! Billing values: what the monthly invoices and the client-funds ledger are
//! made of. Pure; the rules that use them live in `csms-billing`.
//!
//! # Layout
//! - [`bgmax`]: Bankgirot's BgMax reconciliation file of received payments, parsed and checked.
//! - [`ocr`]: Swedish OCR payment references (length digit and Luhn check digit).
//! - [`period`]: a billing period (a calendar month, `2026-11`) and its instants in a time zone.
//! - [`fee`]: recurring monthly fees (per driver or user group, pro rata for part months) and one-off charges.
//! - [`invoice`]: invoices (number series, lines, VAT per rate, totals) and their ids.
//! - [`credit_note`]: credit notes of an issued invoice, in their own number series, and what may be credited.
//! - [`dunning`]: reminders, their fee and the block of an unpaid invoice: the settings and the next step due.
//! - [`payment`]: payments received for invoices, matched or not.
//! - [`settlement`]: an organisation's month settled: paid in, the platform's fee, the payout, from the ledger.
//! - [`ledger`]: the double-entry ledger of client funds (accounts, postings, balanced transactions, balances).

pub mod bgmax;
pub mod credit_note;
pub mod dunning;
pub mod fee;
pub mod invoice;
pub mod ledger;
pub mod ocr;
pub mod payment;
pub mod period;
pub mod refund;
pub mod settlement;

/// A billing value that does not parse; the text says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
