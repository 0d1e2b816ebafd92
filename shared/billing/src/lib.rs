//! Billing: what happens to the money after sessions are priced. This first
//! increment keeps the ledger of client funds and makes the monthly invoices
//! to drivers; payments, reminders, self-invoices and payouts come later and
//! post to the same ledger.
//!
//! Who issues what: an organisation (a housing co-operative, a company)
//! invoices its drivers for the sessions at its stations, in its own name
//! and with its own number series; the platform keeps the books of the
//! client funds it holds for organisations.
//!
//! # Layout
//! - [`ledger`]: balances and the reconciliation of an organisation's books,
//!   derived from the ledger's transactions.
//! - [`invoice_run`]: the monthly invoice run of one organisation and
//!   period ([`BillingService::run_invoices`]), callable by the API and by a
//!   scheduled job alike; re-running it changes nothing.
//! - [`pdf`]: an invoice as a PDF (a pure function of the invoice).
//! - [`peppol`]: an invoice as a Peppol BIS Billing 3.0 UBL document (a
//!   pure function of the invoice and its seller), made on demand.
//! - [`delivery`]: an issued invoice's PDF rendered once and stored
//!   (`DocumentStore`), and mailed once with the PDF attached.
//! - [`payments`]: BgMax files of Bankgiro payments imported, matched by
//!   OCR reference to invoices and booked ([`BillingService::import_bgmax`]),
//!   unmatched ones matched by hand.
//! - [`card`]: card payments (card, Apple Pay, Google Pay) through
//!   Stripe: an invoice's PaymentIntent, and the signed webhook that books
//!   its payment once.
//! - [`autopay`]: saved cards, and their charge on the due date with
//!   retries, each attempt recorded on the invoice before it is made.
//! - [`swish`]: Swish payment requests for invoices, and the callback
//!   that books a paid one once (read back from Swish, never trusted).
//! - [`settlement`]: the monthly self-invoice and payout of an
//!   organisation: the platform's fee and the payout booked once, the PDF
//!   and the bank file ([`pain001`], or [`lb`] to a Bankgiro) kept and mailed.
//! - [`charger_pay`]: paying at the charger without an app: a card hold
//!   before the charge, captured at the session's price, a receipt mailed.
//! - [`credit_notes`]: credit notes of issued invoices, in the issuer's own
//!   number series, booked once, settling what they take off, their PDF
//!   ([`credit_pdf`]) mailed once.
//! - [`refunds`]: refunds of an invoice's credit balance through the
//!   payment's provider (Stripe) or recorded as made by hand, booked once.
//! - [`daily`]: the day's billing of an organisation (its scheduled
//!   invoice run, then dunning), run by the sweep.
//! - [`dunning`]: the daily run over unpaid invoices: reminders (and their
//!   fees), the block of the driver's identifiers, lifting it when paid.
//!
//! The values (OCR references, periods, invoices, the ledger's accounts and
//! transactions) are `csms_domain::billing`; the ports are
//! `csms_kernel::ports::{LedgerStore, InvoiceStore}`.

pub mod autopay;
pub mod card;
pub mod charger_pay;
pub mod credit_notes;
pub mod credit_pdf;
pub mod daily;
pub mod delivery;
pub mod dunning;
pub mod invoice_run;
pub mod lb;
pub mod ledger;
pub mod pain001;
pub mod payments;
pub mod pdf;
pub mod peppol;
pub mod refunds;
pub mod settlement;
pub mod swish;

use csms_kernel::events::{DomainEvent, EventBus, InvoiceChange};
use csms_kernel::ports::{
    AlarmStore, Clock, CreditNoteStore, FeeStore, IdempotencyStore, InvoiceStore, LedgerStore,
    OrganisationStore, PaymentStore, PricedSessionStore, SessionStore, StationStore, StoreError,
    TokenStore, UserStore,
};
use csms_kernel::store_ports;
use std::sync::Arc;

store_ports! {
    /// What billing reads and writes.
    pub trait BillingStore:
        LedgerStore,
        InvoiceStore,
        PaymentStore,
        SessionStore,
        PricedSessionStore,
        OrganisationStore,
        UserStore,
        IdempotencyStore,
        TokenStore,
        StationStore,
        FeeStore,
        CreditNoteStore,
        AlarmStore,
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("organisation {0} not found")]
    OrganisationNotFound(String),
    /// Figures that cannot be summed (an overflow) or a record that breaks
    /// the books' rules; names what.
    #[error("{0}")]
    Books(String),
    /// A BgMax file that breaks its layout, counts or totals.
    #[error("{0}")]
    BgMax(csms_domain::billing::bgmax::BgMaxError),
    /// A payment or invoice that does not exist; names which.
    #[error("{0} not found")]
    NotFound(String),
    /// What the books do not allow (matching a matched payment, a
    /// currency that differs); names why.
    #[error("{0}")]
    Refused(String),
    /// Delivering invoices needs what is not set up (a setting, the
    /// mailer) or was refused by the mail provider; names what.
    #[error("{0}")]
    Unavailable(String),
    /// Input from outside that is refused (a webhook's signature or
    /// body); names the field and why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The billing use cases over the store.
pub struct BillingService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    /// Where PDFs go and how invoices are mailed; `None`: runs deliver
    /// nothing and say so.
    delivery: Option<delivery::Delivery>,
    /// The Stripe account cards are paid through; `None`: not set up.
    cards: Option<Arc<dyn card::CardGateway>>,
    /// The Swish agreement invoices are paid through; `None`: not set up.
    swish: Option<Arc<dyn swish::SwishGateway>>,
    /// The client-funds account payouts are made from; `None`: no payout
    /// is made (settlements say so).
    payouts: Option<pain001::Debtor>,
    /// What a visitor's card is held for at the charger; `None`:
    /// [`charger_pay::DEFAULT_HOLD`].
    charger_hold: Option<rust_decimal::Decimal>,
    /// How a capture at the charger that failed is tried again.
    capture_retry: charger_pay::CaptureRetry,
    /// Where an invoice's issue, payment, reminders and block are told
    /// (the `invoice.*` webhooks); `None`: nobody is told.
    events: Option<Arc<dyn EventBus>>,
}

impl<S: ?Sized> Clone for BillingService<S> {
    fn clone(&self) -> Self {
        BillingService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            delivery: self.delivery.clone(),
            cards: self.cards.clone(),
            swish: self.swish.clone(),
            payouts: self.payouts.clone(),
            charger_hold: self.charger_hold,
            capture_retry: self.capture_retry,
            events: self.events.clone(),
        }
    }
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        BillingService {
            store,
            clock,
            delivery: None,
            cards: None,
            swish: None,
            payouts: None,
            charger_hold: None,
            capture_retry: charger_pay::CaptureRetry::DEFAULT,
            events: None,
        }
    }

    /// What happens to invoices is published on `events`.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = Some(events);
        self
    }

    /// Tells what happened to `invoice`, after the write that did it.
    pub(crate) async fn tell(
        &self,
        invoice: &csms_domain::billing::invoice::Invoice,
        change: InvoiceChange,
    ) {
        if let Some(events) = &self.events {
            events
                .publish(DomainEvent::Invoice {
                    invoice: Box::new(invoice.clone()),
                    change,
                    at: self.clock.now(),
                })
                .await;
        }
    }

    /// A visitor's card is held for `amount` to charge at a charger.
    pub fn with_charger_hold(mut self, amount: rust_decimal::Decimal) -> Self {
        self.charger_hold = Some(amount);
        self
    }

    /// Captures at the charger that failed are tried again by `retry`.
    pub fn with_capture_retry(mut self, retry: charger_pay::CaptureRetry) -> Self {
        self.capture_retry = retry;
        self
    }

    /// Payouts are made from `debtor` (the client-funds account).
    pub fn with_payouts(mut self, debtor: pain001::Debtor) -> Self {
        self.payouts = Some(debtor);
        self
    }

    /// Invoices may be paid by Swish through `swish`.
    pub fn with_swish(mut self, swish: Arc<dyn swish::SwishGateway>) -> Self {
        self.swish = Some(swish);
        self
    }

    /// Invoices may be paid by card through `cards`.
    pub fn with_cards(mut self, cards: Arc<dyn card::CardGateway>) -> Self {
        self.cards = Some(cards);
        self
    }

    /// Issued invoices get their PDF and their mail through `delivery`.
    pub fn with_delivery(mut self, delivery: delivery::Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }
}
