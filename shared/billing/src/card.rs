//! Card payments of invoices (card, Apple Pay and Google Pay alike) through
//! Stripe PaymentIntents.
//!
//! - **Start**: a driver asks to pay an invoice by card
//!   ([`BillingService::start_card_payment`]); a PaymentIntent is created
//!   for what is still due, with the invoice's id in its metadata and an
//!   idempotency key of the invoice and the amount, so asking again for the
//!   same amount gives the same intent. The page confirms it with Stripe.js
//!   and the intent's `client_secret`; the card never touches the CSMS.
//! - **Outcome**: Stripe's signed webhook ([`BillingService::card_webhook`]):
//!   the `Stripe-Signature` header is checked (HMAC-SHA256 of
//!   `{t}.{body}` with the endpoint's secret, `t` within 5 minutes) before
//!   the body is read. `payment_intent.succeeded` records the payment
//!   `stripe:{intent id}` once (a repeat of the event, or of any event of
//!   the same intent, finds it recorded and does nothing) and books it like
//!   a Bankgiro payment: the `clearing:stripe` account debited, the
//!   driver's receivable credited, the invoice partly paid or paid, a
//!   block lifted. An intent whose metadata names no invoice of ours waits
//!   unmatched for matching by hand. `payment_intent.payment_failed` is
//!   logged; other events are acknowledged and ignored.
//!
//! The provider is behind [`CardGateway`]: HTTPS to Stripe's API in the
//! binaries (`csms-http-out`), localstripe in the end-to-end tests.

use crate::payments::{reported, Reported};
use crate::{BillingError, BillingService, BillingStore};
use async_trait::async_trait;
use chrono::DateTime;
use csms_domain::billing::invoice::{Invoice, InvoiceId};
use csms_domain::billing::payment::{Payment, PaymentId};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;

/// The provider, and clearing account, of card payments.
pub const STRIPE: &str = "stripe";

/// The header Stripe signs its webhooks in.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// What a PaymentIntent is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRequest {
    /// In the currency's minor unit (öre, cent).
    pub amount_minor: i64,
    /// ISO 4217, lower-case as Stripe writes it.
    pub currency: String,
    /// Shown with the payment in Stripe's dashboard (the invoice, its
    /// number, its organisation).
    pub metadata: Vec<(&'static str, String)>,
    /// Sent as `Idempotency-Key`: the same key gives the same intent.
    pub idempotency_key: String,
    /// Authorise only (`capture_method=manual`): the amount is held on the
    /// card until captured (pay at the charger).
    pub capture_manually: bool,
}

/// A PaymentIntent as the provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIntent {
    pub id: String,
    pub status: String,
    pub client_secret: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    /// What the intent was created with (absent in some answers: empty).
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A SetupIntent: how a card is saved for later charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSetup {
    pub id: String,
    /// `succeeded` once the card is saved.
    pub status: String,
    pub client_secret: Option<String>,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
}

/// A refund asked of Stripe: part or all of a PaymentIntent's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub payment_intent: String,
    /// In the currency's minor unit.
    pub amount_minor: i64,
    /// Our refund and its invoice, so webhooks find it.
    pub metadata: Vec<(&'static str, String)>,
    /// Sent as `Idempotency-Key`: the same key gives the same refund.
    pub idempotency_key: String,
}

/// A Stripe refund as the provider answered or a webhook told.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CardRefund {
    pub id: String,
    /// `pending`, `requires_action`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// What can be shown of a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The card was declined or needs the cardholder (402): Stripe's code
    /// and message, and the intent it made, if any.
    #[error("the card was declined: {code}: {message}")]
    Declined {
        code: String,
        message: String,
        intent: Option<String>,
    },
    /// The provider refused the request (4xx); its message.
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
    /// No usable answer (a network failure, 5xx, an answer that does not
    /// parse); what happened.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

/// A Stripe account as the CSMS uses it.
#[async_trait]
pub trait CardGateway: Send + Sync {
    /// The key the payment page gives Stripe.js (`pk_…`).
    fn publishable_key(&self) -> &str;
    /// The secret the account's webhook endpoint signs with (`whsec_…`).
    fn webhook_secret(&self) -> &str;
    /// Where pages load Stripe.js from (`https://js.stripe.com/v3/`).
    fn js_url(&self) -> &str {
        "https://js.stripe.com/v3/"
    }
    async fn create_intent(&self, request: &IntentRequest) -> Result<CardIntent, GatewayError>;
    /// A customer for a person (`cus_…`); `idempotency_key` makes a retry
    /// give the same one.
    async fn create_customer(
        &self,
        email: &str,
        name: &str,
        user_id: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;
    /// A SetupIntent that saves a card of `customer` for charges without
    /// the cardholder.
    async fn create_setup(&self, customer: &str) -> Result<CardSetup, GatewayError>;
    async fn get_setup(&self, id: &str) -> Result<CardSetup, GatewayError>;
    async fn get_card(&self, payment_method: &str) -> Result<CardDetails, GatewayError>;
    /// Charges a saved card without the cardholder (`off_session`), at
    /// once (`confirm`).
    async fn charge_saved(
        &self,
        request: &IntentRequest,
        customer: &str,
        payment_method: &str,
    ) -> Result<CardIntent, GatewayError>;
    /// Takes a saved card off its customer.
    async fn detach_card(&self, payment_method: &str) -> Result<(), GatewayError>;
    /// A PaymentIntent as it is now.
    async fn get_intent(&self, _id: &str) -> Result<CardIntent, GatewayError> {
        Err(GatewayError::Unavailable(
            "reading a payment is not supported".into(),
        ))
    }
    /// Captures `amount_minor` of an authorised (`requires_capture`)
    /// intent; the rest of the hold is released.
    async fn capture_intent(
        &self,
        _id: &str,
        _amount_minor: i64,
        _idempotency_key: &str,
    ) -> Result<CardIntent, GatewayError> {
        Err(GatewayError::Unavailable(
            "capturing is not supported".into(),
        ))
    }
    /// Refunds part or all of a PaymentIntent's payment.
    async fn create_refund(&self, _request: &RefundRequest) -> Result<CardRefund, GatewayError> {
        Err(GatewayError::Unavailable(
            "refunding is not supported".into(),
        ))
    }
    /// Cancels an intent, releasing what it holds.
    async fn cancel_intent(&self, _id: &str) -> Result<CardIntent, GatewayError> {
        Err(GatewayError::Unavailable(
            "cancelling is not supported".into(),
        ))
    }
}

/// What the payment page needs to let the driver pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCheckout {
    pub intent_id: String,
    pub client_secret: String,
    pub publishable_key: String,
    pub amount: Decimal,
    pub currency: String,
}

/// What a webhook did.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    /// A payment recorded and booked against its invoice now.
    Paid(Payment),
    /// A payment recorded now that names no invoice it can pay.
    Unmatched(Payment),
    /// The intent's payment was recorded by an earlier delivery.
    AlreadyRecorded(Payment),
    /// An attempt that failed; the driver may try again.
    Failed { intent: String, reason: String },
    /// A refund of ours moved (`refund.updated`, `charge.refunded`), or
    /// told again with nothing to change.
    Refund(crate::refunds::RefundTold),
    /// An event the CSMS does not act on.
    Ignored(String),
}

/// An event as Stripe sends it; only what the CSMS reads.
#[derive(Deserialize)]
struct EventIn {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: DataIn,
}

#[derive(Deserialize)]
struct DataIn {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct IntentIn {
    id: String,
    amount: i64,
    /// Absent in older API versions (and localstripe): the amount then.
    amount_received: Option<i64>,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    last_payment_error: Option<PaymentErrorIn>,
}

/// A charge as `charge.refunded` carries it: its refunds, when listed.
#[derive(Deserialize)]
struct ChargeIn {
    #[serde(default)]
    refunds: Option<RefundsIn>,
}

#[derive(Deserialize)]
struct RefundsIn {
    #[serde(default)]
    data: Vec<CardRefund>,
}

#[derive(Deserialize)]
struct PaymentErrorIn {
    code: Option<String>,
    message: Option<String>,
}

/// A provider's error code and message as one text (`card_declined: Your
/// card was declined.`); `None` when it gave neither.
pub fn code_and_message(code: Option<String>, message: Option<String>) -> Option<String> {
    let said = [code, message]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    (!said.is_empty()).then_some(said)
}

/// `amount` in minor units of a two-decimal currency; more decimals than
/// two is refused (no silent rounding of money).
pub fn minor_units(amount: Decimal) -> Result<i64, BillingError> {
    let scaled = amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(|| BillingError::Books(format!("{amount} overflows in minor units")))?;
    if scaled.fract() != Decimal::ZERO {
        return Err(BillingError::Books(format!(
            "{amount} has more than two decimals"
        )));
    }
    i64::try_from(scaled.trunc())
        .map_err(|_| BillingError::Books(format!("{amount} overflows in minor units")))
}

/// The currencies card payments take: two-decimal ones the product sells in.
const CURRENCIES: [&str; 4] = ["SEK", "EUR", "NOK", "DKK"];

impl From<GatewayError> for BillingError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Declined { code, message, .. } => {
                BillingError::Refused(format!("the card was declined: {code}: {message}"))
            }
            GatewayError::Refused(m) => {
                BillingError::Refused(format!("the payment provider refused: {m}"))
            }
            GatewayError::Unavailable(m) => {
                BillingError::Unavailable(format!("the payment provider is unavailable: {m}"))
            }
        }
    }
}

/// What a payment page needs of a new intent for `amount`.
pub(crate) fn checkout(
    cards: &dyn CardGateway,
    intent: CardIntent,
    amount: Decimal,
    currency: &str,
) -> Result<CardCheckout, BillingError> {
    let client_secret = intent.client_secret.ok_or_else(|| {
        BillingError::Unavailable(format!(
            "the payment provider gave intent {} no client secret",
            intent.id
        ))
    })?;
    Ok(CardCheckout {
        intent_id: intent.id,
        client_secret,
        publishable_key: cards.publishable_key().to_owned(),
        amount,
        currency: currency.to_owned(),
    })
}

impl<S: ?Sized> BillingService<S> {
    /// Where a page loads Stripe.js from; `None` without a Stripe account.
    pub fn stripe_js_url(&self) -> Option<&str> {
        self.cards.as_deref().map(|c| c.js_url())
    }
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    pub(crate) fn cards(&self) -> Result<&dyn CardGateway, BillingError> {
        self.cards.as_deref().ok_or_else(|| {
            BillingError::Unavailable(
                "card payments are not set up: CSMS_STRIPE_SECRET_KEY is not set".into(),
            )
        })
    }

    /// A PaymentIntent for what `invoice` still has due. Refused when
    /// nothing is due or the currency is not one cards are taken in.
    pub async fn start_card_payment(
        &self,
        invoice: &Invoice,
    ) -> Result<CardCheckout, BillingError> {
        let cards = self.cards()?;
        if !CURRENCIES.contains(&invoice.currency.as_str()) {
            return Err(BillingError::Refused(format!(
                "invoice {} is in {}; cards pay {}",
                invoice.number,
                invoice.currency,
                CURRENCIES.join(", ")
            )));
        }
        let due = self.due_to_pay(invoice).await?;
        let amount_minor = minor_units(due)?;
        let request = IntentRequest {
            amount_minor,
            currency: invoice.currency.to_ascii_lowercase(),
            metadata: vec![
                ("invoice_id", invoice.id.to_string()),
                ("org_id", invoice.org_id.to_string()),
                ("invoice_number", invoice.number.to_string()),
                ("seller", invoice.seller.legal_name.clone()),
            ],
            idempotency_key: format!("csms-invoice-{}-{amount_minor}", invoice.id),
            capture_manually: false,
        };
        let intent = cards.create_intent(&request).await?;
        checkout(cards, intent, due, &invoice.currency)
    }

    /// One delivery of Stripe's webhook: `signature` is the
    /// `Stripe-Signature` header, `body` the raw body. A bad signature or
    /// an event that does not parse is `Invalid` (the body is not acted
    /// on); a store failure is an error, so Stripe delivers again.
    pub async fn card_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookOutcome, BillingError> {
        let cards = self.cards()?;
        let signature = signature.ok_or_else(|| {
            BillingError::Invalid(format!("{SIGNATURE_HEADER}: the header is missing"))
        })?;
        let body = std::str::from_utf8(body)
            .map_err(|_| BillingError::Invalid("body: not UTF-8 text".into()))?;
        let now = self.clock.now().timestamp();
        csms_notify::signature::verify(cards.webhook_secret(), signature, body, now)
            .map_err(|e| BillingError::Invalid(format!("{SIGNATURE_HEADER}: {e}")))?;
        let event: EventIn = serde_json::from_str(body)
            .map_err(|e| BillingError::Invalid(format!("body: not a Stripe event: {e}")))?;
        match event.kind.as_str() {
            "payment_intent.succeeded" => self.intent_succeeded(&event).await,
            "payment_intent.payment_failed" => {
                let intent = intent_of(&event)?;
                let reason = intent
                    .last_payment_error
                    .and_then(|e| code_and_message(e.code, e.message))
                    .unwrap_or_else(|| "no reason given".into());
                tracing::info!(intent = %intent.id, event = %event.id, %reason, "card payment failed");
                Ok(WebhookOutcome::Failed {
                    intent: intent.id,
                    reason,
                })
            }
            "refund.created" | "refund.updated" | "refund.failed" => {
                let told: CardRefund =
                    serde_json::from_value(event.data.object.clone()).map_err(|e| {
                        BillingError::Invalid(format!("data.object: not a Refund: {e}"))
                    })?;
                Ok(WebhookOutcome::Refund(
                    self.stripe_refund_told(&told).await?,
                ))
            }
            "charge.refunded" => {
                let charge: ChargeIn =
                    serde_json::from_value(event.data.object.clone()).map_err(|e| {
                        BillingError::Invalid(format!("data.object: not a Charge: {e}"))
                    })?;
                // Each refund of the charge it lists (older API versions
                // expand them); the last that moved is the answer.
                let mut outcome = None;
                for told in charge.refunds.map(|r| r.data).unwrap_or_default() {
                    let t = self.stripe_refund_told(&told).await?;
                    if matches!(t, crate::refunds::RefundTold::Moved(_)) || outcome.is_none() {
                        outcome = Some(t);
                    }
                }
                Ok(match outcome {
                    Some(t) => WebhookOutcome::Refund(t),
                    None => WebhookOutcome::Ignored("charge.refunded without its refunds".into()),
                })
            }
            other => Ok(WebhookOutcome::Ignored(other.to_owned())),
        }
    }

    async fn intent_succeeded(&self, event: &EventIn) -> Result<WebhookOutcome, BillingError> {
        let intent = intent_of(event)?;
        if intent.metadata.get("kind").map(String::as_str) == Some(crate::charger_pay::KIND) {
            // Booked when the CSMS captures it, with the session's price.
            return Ok(WebhookOutcome::Ignored(
                "payment_intent.succeeded of a payment at the charger (booked at capture)".into(),
            ));
        }
        let id = PaymentId::stripe(&intent.id)
            .map_err(|e| BillingError::Invalid(format!("data.object.id: {e}")))?;
        let minor = intent.amount_received.unwrap_or(intent.amount);
        let amount = Decimal::new(minor, 2);
        let currency = intent.currency.to_ascii_uppercase();
        let created = DateTime::from_timestamp(event.created, 0)
            .ok_or_else(|| BillingError::Invalid("created: not a time".into()))?;
        let payment = reported(
            id,
            STRIPE,
            intent
                .metadata
                .get("invoice_number")
                .cloned()
                .unwrap_or_default(),
            amount,
            currency,
            created
                .with_timezone(&chrono_tz::Europe::Stockholm)
                .date_naive(),
            self.clock.now(),
        );
        let invoice_id = intent
            .metadata
            .get("invoice_id")
            .and_then(|s| InvoiceId::parse(s).ok());
        let invoice = async {
            Ok(match &invoice_id {
                Some(id) => self.store.get_invoice(id).await?,
                None => None,
            })
        };
        tracing::debug!(event = %event.id, "card payment reported");
        Ok(match self.book_reported(payment, invoice).await? {
            Reported::Paid(p) => WebhookOutcome::Paid(p),
            Reported::Unmatched(p) => WebhookOutcome::Unmatched(p),
            Reported::AlreadyRecorded(p) => WebhookOutcome::AlreadyRecorded(p),
        })
    }
}

fn intent_of(event: &EventIn) -> Result<IntentIn, BillingError> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|e| BillingError::Invalid(format!("data.object: not a PaymentIntent: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::invoice::InvoiceStatus;
    use csms_kernel::contract::sample_invoice;
    use csms_kernel::ports::{Clock, InvoiceStore, PaymentStore};
    use csms_store_redb::EmbeddedStore;
    use std::sync::{Arc, Mutex};

    struct At(csms_domain::Timestamp);
    impl Clock for At {
        fn now(&self) -> csms_domain::Timestamp {
            self.0
        }
    }

    /// A Stripe account that records what it was asked.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<IntentRequest>>);

    #[async_trait]
    impl CardGateway for Recorded {
        fn publishable_key(&self) -> &str {
            "pk_test_1"
        }
        fn webhook_secret(&self) -> &str {
            "whsec_test"
        }
        async fn create_intent(&self, r: &IntentRequest) -> Result<CardIntent, GatewayError> {
            self.0.lock().unwrap().push(r.clone());
            Ok(CardIntent {
                id: "pi_3Abc".into(),
                status: "requires_payment_method".into(),
                client_secret: Some("pi_3Abc_secret_x".into()),
                amount_minor: r.amount_minor,
                currency: r.currency.clone(),
                metadata: Default::default(),
            })
        }
        async fn create_customer(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<String, GatewayError> {
            unreachable!()
        }
        async fn create_setup(&self, _: &str) -> Result<CardSetup, GatewayError> {
            unreachable!()
        }
        async fn get_setup(&self, _: &str) -> Result<CardSetup, GatewayError> {
            unreachable!()
        }
        async fn get_card(&self, _: &str) -> Result<CardDetails, GatewayError> {
            unreachable!()
        }
        async fn charge_saved(
            &self,
            _: &IntentRequest,
            _: &str,
            _: &str,
        ) -> Result<CardIntent, GatewayError> {
            unreachable!()
        }
        async fn detach_card(&self, _: &str) -> Result<(), GatewayError> {
            unreachable!()
        }
    }

    fn event(kind: &str, intent: &str, invoice: &str, minor: i64, created: i64) -> String {
        serde_json::json!({
            "id": "evt_1", "type": kind, "created": created,
            "data": {"object": {
                "id": intent, "object": "payment_intent", "amount": minor, "currency": "sek",
                "metadata": {"invoice_id": invoice, "invoice_number": "1"},
                "last_payment_error": if kind.ends_with("failed") {
                    serde_json::json!({"code": "card_declined", "message": "Your card was declined."})
                } else { serde_json::Value::Null },
            }},
        })
        .to_string()
    }

    #[tokio::test]
    async fn an_invoice_is_paid_by_card_once_however_often_stripe_tells() {
        let store = Arc::new(EmbeddedStore::temporary());
        let now = chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap();
        let cards = Arc::new(Recorded::default());
        let billing =
            BillingService::new(store.clone(), Arc::new(At(now))).with_cards(cards.clone());
        let invoice = sample_invoice("org-c", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        store.issue_invoice(&invoice).await.unwrap();

        let checkout = billing.start_card_payment(&invoice).await.unwrap();
        assert_eq!(checkout.client_secret, "pi_3Abc_secret_x");
        assert_eq!(checkout.publishable_key, "pk_test_1");
        let asked = cards.0.lock().unwrap()[0].clone();
        assert_eq!(asked.amount_minor, minor_units(invoice.gross).unwrap());
        assert_eq!(asked.currency, "sek");
        assert!(asked
            .metadata
            .contains(&("invoice_id", invoice.id.to_string())));

        let t = now.timestamp();
        let body = event(
            "payment_intent.succeeded",
            "pi_3Abc",
            invoice.id.as_str(),
            asked.amount_minor,
            t,
        );
        let sign = |body: &str, at: i64| csms_notify::signature::sign("whsec_test", at, body);
        // No signature, a wrong secret, a stale one: nothing is done.
        for bad in [
            None,
            Some(csms_notify::signature::sign("whsec_other", t, &body)),
            Some(sign(&body, t - 301)),
        ] {
            let refused = billing.card_webhook(bad.as_deref(), body.as_bytes()).await;
            assert!(
                matches!(refused, Err(BillingError::Invalid(_))),
                "{refused:?}"
            );
        }
        assert!(store
            .list_invoice_payments(&invoice.id)
            .await
            .unwrap()
            .is_empty());

        let failed = event(
            "payment_intent.payment_failed",
            "pi_3Abc",
            invoice.id.as_str(),
            1,
            t,
        );
        match billing
            .card_webhook(Some(&sign(&failed, t)), failed.as_bytes())
            .await
            .unwrap()
        {
            WebhookOutcome::Failed { reason, .. } => {
                assert_eq!(reason, "card_declined: Your card was declined.")
            }
            other => panic!("{other:?}"),
        }

        let paid = billing
            .card_webhook(Some(&sign(&body, t)), body.as_bytes())
            .await
            .unwrap();
        let WebhookOutcome::Paid(payment) = paid else {
            panic!("{paid:?}")
        };
        assert_eq!(payment.id.as_str(), "stripe:pi_3Abc");
        assert_eq!(payment.amount, invoice.gross);
        let after = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(after.status, InvoiceStatus::Paid);
        // Delivered again: recorded once, booked once.
        let again = billing
            .card_webhook(Some(&sign(&body, t)), body.as_bytes())
            .await
            .unwrap();
        assert!(
            matches!(again, WebhookOutcome::AlreadyRecorded(_)),
            "{again:?}"
        );
        assert_eq!(
            store
                .list_invoice_payments(&invoice.id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            billing
                .balances(&invoice.org_id)
                .await
                .unwrap()
                .transactions,
            1
        );
        // Nothing more is due.
        assert!(matches!(
            billing.start_card_payment(&after).await,
            Err(BillingError::Refused(_))
        ));

        // An intent naming no invoice of ours waits for matching by hand.
        let stray = event(
            "payment_intent.succeeded",
            "pi_9Zz",
            "org-c~2026-11~usr_nobody",
            500,
            t,
        );
        let out = billing
            .card_webhook(Some(&sign(&stray, t)), stray.as_bytes())
            .await
            .unwrap();
        assert!(matches!(out, WebhookOutcome::Unmatched(_)), "{out:?}");
        // Another event type is acknowledged and ignored; junk is refused.
        let other = r#"{"id":"evt_2","type":"customer.created","created":1,"data":{"object":{}}}"#;
        assert!(matches!(
            billing
                .card_webhook(Some(&sign(other, t)), other.as_bytes())
                .await
                .unwrap(),
            WebhookOutcome::Ignored(_)
        ));
        let junk = "{}";
        assert!(matches!(
            billing
                .card_webhook(Some(&sign(junk, t)), junk.as_bytes())
                .await,
            Err(BillingError::Invalid(_))
        ));
    }

    #[test]
    fn minor_units_are_exact() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(minor_units(d("1234.50")).unwrap(), 123450);
        assert_eq!(minor_units(d("0.01")).unwrap(), 1);
        assert!(minor_units(d("0.001")).is_err());
        assert!(minor_units(Decimal::MAX).is_err());
    }
}
