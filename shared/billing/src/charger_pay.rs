//! Paying at the charger without an app: a visitor at a public or
//! semi-public EVSE pays by card (Apple Pay and Google Pay are card wallets
//! on Stripe's page) through the EVSE's start link.
//!
//! 1. [`BillingService::hold_at_charger`]: a PaymentIntent with
//!    `capture_method=manual` for the hold amount (`CSMS_CHARGER_HOLD_AMOUNT`,
//!    default 300 SEK), its EVSE, organisation and the visitor's e-mail in
//!    its metadata. The page confirms the card with Stripe.js; the money is
//!    then held (`requires_capture`), not taken.
//! 2. [`BillingService::held_at_charger`]: before the charge starts, the
//!    intent is read back from Stripe (never taken from the browser) and must
//!    be held, for this EVSE. The start then makes a one-off identity that
//!    names the intent (`IdTokenRecord::payment_hold`).
//! 3. [`BillingService::capture_at_charger`], when the session is priced:
//!    the price (at most the hold) is captured and the rest released — a
//!    session of nothing cancels the hold — booked once in the ledger as the
//!    organisation's public revenue (`clearing:stripe` debited, the
//!    organisation's payable credited: no driver owes anything), and a
//!    receipt is mailed once to the visitor.
//!
//! Every step is idempotent: the capture carries an `Idempotency-Key` of
//! the intent, the ledger transaction is keyed by it, and the receipt is
//! claimed before it is mailed.

use crate::card::{minor_units, CardCheckout, IntentRequest, STRIPE};
use crate::{BillingError, BillingService, BillingStore};
use chrono::TimeDelta;
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::pricing::PricedSession;
use csms_domain::tenant::{Email, Language};
use csms_domain::{IdTokenValue, OrgId, StationId};
use csms_notify::mail::Mail;
use rust_decimal::Decimal;

/// `metadata[kind]` of a payment at the charger.
pub const KIND: &str = "chargerPayment";
/// The hold when none is configured: enough for a long charge.
pub const DEFAULT_HOLD: Decimal = Decimal::from_parts(300, 0, 0, false, 0);
const CURRENCY: &str = "SEK";
const RECEIPT_SCOPE: &str = "charger-receipt";
const RECEIPT_CLAIM_DAYS: i64 = 3_650;

/// What a capture did.
#[derive(Debug, Clone, PartialEq)]
pub enum Captured {
    /// This call captured `amount` (the rest released) and booked it.
    Now { intent: String, amount: Decimal },
    /// Captured before (a repeat): booked already.
    Before { intent: String },
    /// The session cost nothing: the hold was released.
    Released { intent: String },
}

/// The ledger reference of a capture.
pub fn capture_reference(intent: &str) -> Result<LedgerReference, BillingError> {
    LedgerReference::parse(format!("stripe-capture:{intent}"))
        .map_err(|e| BillingError::Books(format!("capture of {intent}: {e}")))
}

fn is_intent_id(s: &str) -> bool {
    s.starts_with("pi_")
        && s.len() <= 255
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// The amount held for a charge at a charger.
    pub fn charger_hold(&self) -> Decimal {
        self.charger_hold.unwrap_or(DEFAULT_HOLD)
    }

    /// Holds the hold amount on the visitor's card for a charge at
    /// `station`'s EVSE `evse` (see the module docs).
    pub async fn hold_at_charger(
        &self,
        org: &OrgId,
        station: &StationId,
        evse: u32,
        email: &Email,
        language: Language,
    ) -> Result<CardCheckout, BillingError> {
        let cards = self.cards()?;
        let amount = self.charger_hold();
        let nonce: u64 = rand::random();
        let request = IntentRequest {
            amount_minor: minor_units(amount)?,
            currency: CURRENCY.to_ascii_lowercase(),
            metadata: vec![
                ("kind", KIND.to_owned()),
                ("org_id", org.to_string()),
                ("station_id", station.to_string()),
                ("evse_id", evse.to_string()),
                ("email", email.to_string()),
                ("language", language.as_str().to_owned()),
            ],
            // A fresh hold for every visit: two visitors never share one.
            idempotency_key: format!("csms-charger-{station}-{evse}-{nonce:016x}"),
            capture_manually: true,
        };
        let intent = cards.create_intent(&request).await?;
        crate::card::checkout(cards, intent, amount, CURRENCY)
    }

    /// The intent `id`, read back from Stripe, if it holds money for a
    /// charge at `station`'s EVSE `evse`: `NotFound` for an intent that is
    /// not one, `Refused` while the card has not been confirmed.
    pub async fn held_at_charger(
        &self,
        id: &str,
        station: &StationId,
        evse: u32,
    ) -> Result<String, BillingError> {
        let cards = self.cards()?;
        let not_ours = || BillingError::NotFound(format!("payment {id:?} at this charger"));
        if !is_intent_id(id) {
            return Err(not_ours());
        }
        let intent = cards.get_intent(id).await.map_err(|e| match e {
            crate::card::GatewayError::Refused(_) => not_ours(),
            e => e.into(),
        })?;
        let meta = |k: &str| intent.metadata.get(k).map(String::as_str);
        if meta("kind") != Some(KIND)
            || meta("station_id") != Some(station.as_str())
            || meta("evse_id") != Some(evse.to_string().as_str())
        {
            return Err(not_ours());
        }
        match intent.status.as_str() {
            "requires_capture" => Ok(intent.id),
            "succeeded" | "canceled" => Err(BillingError::Refused(format!(
                "payment {id} is used up ({}); pay again to charge",
                intent.status
            ))),
            other => Err(BillingError::Refused(format!(
                "payment {id} holds nothing yet ({other}): confirm the card first"
            ))),
        }
    }

    /// Captures what `priced` costs from the hold of its identity, if it
    /// was started by paying at the charger (`None` otherwise).
    pub async fn capture_at_charger(
        &self,
        priced: &PricedSession,
    ) -> Result<Option<Captured>, BillingError> {
        let Some(token) = priced
            .id_token
            .as_deref()
            .and_then(|t| IdTokenValue::parse(t).ok())
        else {
            return Ok(None);
        };
        let Some(record) = self.store.get_id_token(&token).await? else {
            return Ok(None);
        };
        let Some(intent_id) = record.payment_hold.clone() else {
            return Ok(None);
        };
        let reference = capture_reference(&intent_id)?;
        if self
            .store
            .get_ledger_transaction(&priced.org_id, &reference)
            .await?
            .is_some()
        {
            return Ok(Some(Captured::Before { intent: intent_id }));
        }
        let cards = self.cards()?;
        let intent = cards.get_intent(&intent_id).await?;
        if priced.currency != CURRENCY {
            return Err(BillingError::Refused(format!(
                "session {} is priced in {}; the hold is in {CURRENCY}",
                priced.session_id, priced.currency
            )));
        }
        let gross = priced.gross.round_dp(2);
        let wanted = minor_units(gross)?.min(intent.amount_minor);
        if wanted <= 0 {
            if intent.status == "requires_capture" {
                cards.cancel_intent(&intent_id).await?;
            }
            return Ok(Some(Captured::Released { intent: intent_id }));
        }
        let captured = match intent.status.as_str() {
            "requires_capture" => {
                cards
                    .capture_intent(&intent_id, wanted, &format!("csms-capture-{intent_id}"))
                    .await?
            }
            // Captured by an earlier call that stopped before booking it.
            "succeeded" => intent,
            other => {
                return Err(BillingError::Refused(format!(
                    "payment {intent_id} cannot be captured ({other})"
                )))
            }
        };
        let amount = Decimal::new(wanted, 2);
        let tx = LedgerTransaction::new(
            priced.org_id.clone(),
            reference,
            CURRENCY.into(),
            format!(
                "paid at the charger: session {} ({STRIPE} {intent_id})",
                priced.session_id
            ),
            vec![
                Posting::debit(
                    Account::ProviderClearing {
                        provider: STRIPE.into(),
                    },
                    amount,
                ),
                Posting::credit(
                    Account::OrganisationPayable {
                        org: priced.org_id.clone(),
                    },
                    amount,
                ),
            ],
            self.clock.now(),
        )
        .map_err(|e| BillingError::Books(format!("capture of {intent_id}: {e}")))?;
        self.store.append_ledger_transaction(&tx).await?;
        if let Err(e) = self.mail_receipt(priced, &captured, amount).await {
            tracing::error!(intent = %intent_id, error = %e, "a receipt for a payment at the charger was not mailed");
        }
        Ok(Some(Captured::Now {
            intent: intent_id,
            amount,
        }))
    }

    async fn mail_receipt(
        &self,
        priced: &PricedSession,
        intent: &crate::card::CardIntent,
        amount: Decimal,
    ) -> Result<(), BillingError> {
        let Some(d) = &self.delivery else {
            return Ok(());
        };
        let Some(to) = intent
            .metadata
            .get("email")
            .and_then(|e| Email::parse(e).ok())
        else {
            return Ok(());
        };
        let language = match intent.metadata.get("language").map(String::as_str) {
            Some("en") => Language::En,
            _ => Language::Sv,
        };
        if self
            .store
            .claim(
                RECEIPT_SCOPE,
                &intent.id,
                &self.clock.now().to_rfc3339(),
                TimeDelta::days(RECEIPT_CLAIM_DAYS),
            )
            .await?
            .is_some()
        {
            return Ok(());
        }
        let seller = self
            .store
            .get_organisation(&priced.org_id)
            .await?
            .map(|o| o.legal_name)
            .unwrap_or_else(|| priced.org_id.to_string());
        d.mailer
            .send(&receipt(&seller, priced, amount, to.as_str(), language))
            .await
            .map_err(|e| BillingError::Unavailable(format!("the mail was not sent: {e}")))?;
        Ok(())
    }
}

fn receipt(seller: &str, p: &PricedSession, amount: Decimal, to: &str, language: Language) -> Mail {
    let zone = chrono_tz::Europe::Stockholm;
    let at =
        |t: csms_domain::Timestamp| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let kwh = (p.energy_wh / Decimal::from(1000)).round_dp(3);
    let vat = (amount - amount / (Decimal::ONE + p.vat_rate)).round_dp(2);
    let money = |d: Decimal| crate::pdf::money(d, CURRENCY, language);
    let (subject, text) = match language {
        Language::Sv => (
            format!("Kvitto på laddning hos {seller}"),
            format!(
                "Tack för din laddning!\n\nSäljare: {seller}\nLaddstation: {}\nStart: {}\nSlut: {}\nEnergi: {kwh} kWh\nBetalt med kort: {}\nvarav moms ({} %): {}\nSession: {}\n\nResten av det reserverade beloppet har släppts på ditt kort.\n",
                p.station_id,
                at(p.started_at),
                at(p.ended_at),
                money(amount),
                (p.vat_rate * Decimal::ONE_HUNDRED).normalize(),
                money(vat),
                p.session_id
            ),
        ),
        Language::En => (
            format!("Receipt for charging at {seller}"),
            format!(
                "Thank you for charging!\n\nSeller: {seller}\nStation: {}\nStart: {}\nEnd: {}\nEnergy: {kwh} kWh\nPaid by card: {}\nof which VAT ({} %): {}\nSession: {}\n\nThe rest of the amount held on your card has been released.\n",
                p.station_id,
                at(p.started_at),
                at(p.ended_at),
                money(amount),
                (p.vat_rate * Decimal::ONE_HUNDRED).normalize(),
                money(vat),
                p.session_id
            ),
        ),
    };
    Mail {
        to: to.to_owned(),
        to_name: None,
        subject,
        text,
        kind: "chargerReceipt",
        attachments: vec![],
    }
}

/// Captures a hold when its session is priced: on the event bus.
pub struct CaptureSubscriber<S: ?Sized> {
    billing: BillingService<S>,
}

impl<S: ?Sized> CaptureSubscriber<S> {
    pub fn new(billing: BillingService<S>) -> Self {
        CaptureSubscriber { billing }
    }
}

#[async_trait::async_trait]
impl<S: BillingStore + ?Sized + 'static> csms_kernel::events::Subscriber for CaptureSubscriber<S> {
    async fn on(&self, event: &csms_kernel::events::DomainEvent) {
        let csms_kernel::events::DomainEvent::SessionPriced { priced } = event else {
            return;
        };
        match self.billing.capture_at_charger(priced).await {
            Ok(Some(Captured::Now { intent, amount })) => {
                tracing::info!(session = %priced.session_id, %intent, %amount, "payment at the charger captured")
            }
            Ok(Some(Captured::Released { intent })) => {
                tracing::info!(session = %priced.session_id, %intent, "a session of nothing: the hold was released")
            }
            Ok(_) => {}
            // The hold stays on the card until Stripe lets it lapse (7
            // days); the operator sees why.
            Err(e) => {
                tracing::error!(session = %priced.session_id, error = %e, "a payment at the charger was not captured")
            }
        }
    }
}
