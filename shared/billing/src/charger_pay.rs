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
//!
//! A capture that fails (Stripe down, a 5xx, a timeout whose outcome is
//! unknown) is not lost: it is kept as an open operator alarm of its
//! organisation, `charger-capture:{intent}` (kind [`CAPTURE_FAILED`],
//! its details the session, the attempts so far and when the next one is
//! due), which the billing sweep ([`BillingService::retry_captures`])
//! tries again with a doubling wait ([`CaptureRetry`]). A retry reads the
//! intent back first, so a capture that did land is booked, never made
//! twice. A capture that lands resolves the alarm; after the last attempt,
//! or at once when Stripe refuses it (the hold expired or was cancelled),
//! it is given up and a critical alarm `charger-capture-abandoned:{intent}`
//! ([`CAPTURE_ABANDONED`]) asks the operator to capture or release the
//! hold by hand before it lapses (Stripe: 7 days after it was made).

use crate::card::{minor_units, CardCheckout, IntentRequest, STRIPE};
use crate::{BillingError, BillingService, BillingStore};
use chrono::TimeDelta;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::pricing::PricedSession;
use csms_domain::tenant::{Email, Language};
use csms_domain::{IdTokenValue, OrgId, SessionId, StationId};
use csms_kernel::ports::PageRequest;
use csms_notify::mail::Mail;
use rust_decimal::Decimal;

/// `metadata[kind]` of a payment at the charger.
pub const KIND: &str = "chargerPayment";
/// The hold when none is configured: enough for a long charge.
pub const DEFAULT_HOLD: Decimal = Decimal::from_parts(300, 0, 0, false, 0);
const CURRENCY: &str = "SEK";
const RECEIPT_SCOPE: &str = "charger-receipt";
const RECEIPT_CLAIM_DAYS: i64 = 3_650;
/// The alarm kind of a capture that failed and will be tried again.
pub const CAPTURE_FAILED: &str = "chargerCaptureFailed";
/// The alarm kind of a capture given up: the operator's to finish.
pub const CAPTURE_ABANDONED: &str = "chargerCaptureAbandoned";

/// How a capture at the charger that failed is tried again: after
/// `first`, then each wait twice the one before (at most
/// [`CaptureRetry::MAX_WAIT`]), `attempts` attempts in all (the first
/// capture included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureRetry {
    pub first: TimeDelta,
    pub attempts: u32,
}

impl CaptureRetry {
    /// 10 min, 20 min, … 8 attempts: the last about 21 hours after the
    /// first, days before the hold lapses.
    pub const DEFAULT: CaptureRetry = CaptureRetry {
        first: TimeDelta::minutes(10),
        attempts: 8,
    };
    /// No wait is longer, so the last of at most [`Self::MAX_ATTEMPTS`]
    /// comes within 4½ days, before Stripe's 7 days lapse.
    pub const MAX_WAIT: TimeDelta = TimeDelta::hours(12);
    pub const MAX_ATTEMPTS: u32 = 10;

    /// The wait after attempt `attempt` (1: the first capture) failed.
    pub fn wait_after(&self, attempt: u32) -> TimeDelta {
        let doublings = attempt.saturating_sub(1).min(20);
        self.first
            .checked_mul(1_i32 << doublings)
            .map_or(Self::MAX_WAIT, |w| w.min(Self::MAX_WAIT))
    }
}

/// What one sweep over an organisation's failed captures did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureRetries {
    /// Captured (or released, or found booked) now.
    pub captured: usize,
    /// Failed again; tried later.
    pub failed: usize,
    /// Given up: the operator's to finish.
    pub abandoned: usize,
}

/// The alarm that keeps a failed capture of `intent` for the sweep.
pub fn pending_alarm_id(intent: &str) -> String {
    format!("charger-capture:{intent}")
}

/// The alarm of a capture of `intent` given up.
pub fn abandoned_alarm_id(intent: &str) -> String {
    format!("charger-capture-abandoned:{intent}")
}

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
        match self.hold_of(priced).await? {
            Some(intent) => self.capture_hold(priced, intent).await.map(Some),
            None => Ok(None),
        }
    }

    /// The hold (PaymentIntent id) `priced`'s identity names, if it was
    /// started by paying at the charger.
    async fn hold_of(&self, priced: &PricedSession) -> Result<Option<String>, BillingError> {
        let Some(token) = priced
            .id_token
            .as_deref()
            .and_then(|t| IdTokenValue::parse(t).ok())
        else {
            return Ok(None);
        };
        Ok(self
            .store
            .get_id_token(&token)
            .await?
            .and_then(|record| record.payment_hold))
    }

    /// Captures `priced`'s price from the hold `intent_id` (see
    /// [`Self::capture_at_charger`]).
    async fn capture_hold(
        &self,
        priced: &PricedSession,
        intent_id: String,
    ) -> Result<Captured, BillingError> {
        let reference = capture_reference(&intent_id)?;
        if self
            .store
            .get_ledger_transaction(&priced.org_id, &reference)
            .await?
            .is_some()
        {
            return Ok(Captured::Before { intent: intent_id });
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
            return Ok(Captured::Released { intent: intent_id });
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
        Ok(Captured::Now {
            intent: intent_id,
            amount,
        })
    }

    /// [`Self::capture_at_charger`], and when it fails, the failure kept as
    /// an alarm for [`Self::retry_captures`] (or given up when Stripe
    /// refuses it); the error is still returned, to be logged.
    pub async fn capture_or_retry_later(
        &self,
        priced: &PricedSession,
    ) -> Result<Option<Captured>, BillingError> {
        let Some(intent) = self.hold_of(priced).await? else {
            return Ok(None);
        };
        match self.capture_hold(priced, intent.clone()).await {
            Ok(c) => {
                // A repricing may land what an earlier attempt did not.
                self.resolve(&pending_alarm_id(&intent)).await?;
                Ok(Some(c))
            }
            Err(e) => {
                let attempts = match self.store.get_alarm(&pending_alarm_id(&intent)).await? {
                    Some(a) if a.is_active() => attempts_of(&a).saturating_add(1),
                    _ => 1,
                };
                if let Err(kept) = self.capture_failed(priced, &intent, attempts, &e).await {
                    tracing::error!(%intent, error = %kept, "a failed capture could not be kept for a retry");
                }
                Err(e)
            }
        }
    }

    /// Tries again each capture of `org` that failed and is due at the
    /// clock's now (see the module docs). One that fails for a reason of
    /// its own is counted and the others go on; a store failure stops it.
    pub async fn retry_captures(&self, org: &OrgId) -> Result<CaptureRetries, BillingError> {
        let now = self.clock.now();
        let mut pending = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let found = self.store.list_alarms(org, true, &page).await?;
            pending.extend(found.items.into_iter().filter(|a| a.kind == CAPTURE_FAILED));
            match found.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        let mut counts = CaptureRetries::default();
        for alarm in pending {
            let detail = |k: &str| alarm.details.get(k).and_then(|v| v.as_str());
            let due = detail("nextAttemptAt")
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            if due.is_some_and(|due| due > now) {
                continue;
            }
            let attempts = attempts_of(&alarm).saturating_add(1);
            let (Some(intent), Some(session)) = (
                detail("intentId").filter(|i| is_intent_id(i)),
                detail("sessionId").and_then(|s| SessionId::parse(s).ok()),
            ) else {
                tracing::error!(alarm = %alarm.id, "a failed capture's alarm names no payment or session");
                continue;
            };
            let Some(priced) = self.store.get_priced_session(&session).await? else {
                tracing::error!(%intent, %session, "the priced session of a failed capture is gone");
                continue;
            };
            match self.capture_hold(&priced, intent.to_owned()).await {
                Ok(c) => {
                    tracing::info!(%intent, %session, attempts, captured = ?c, "a failed capture at the charger landed");
                    self.resolve(&alarm.id).await?;
                    counts.captured += 1;
                }
                Err(BillingError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    if self.capture_failed(&priced, intent, attempts, &e).await? {
                        counts.abandoned += 1;
                    } else {
                        counts.failed += 1;
                    }
                }
            }
        }
        Ok(counts)
    }

    /// Keeps attempt `attempts` of capturing `intent`, which failed with
    /// `error`: an open alarm with the next attempt's time, or, after the
    /// last attempt or a refusal, the capture given up. Whether it was
    /// given up.
    async fn capture_failed(
        &self,
        priced: &PricedSession,
        intent: &str,
        attempts: u32,
        error: &BillingError,
    ) -> Result<bool, BillingError> {
        let now = self.clock.now();
        let retry = self.capture_retry;
        let refused = matches!(error, BillingError::Refused(_));
        let base = serde_json::json!({
            "sessionId": priced.session_id.to_string(),
            "stationId": priced.station_id.to_string(),
            "intentId": intent,
            "attempts": attempts,
            "error": error.to_string(),
            "gross": priced.gross.round_dp(2).to_string(),
            "currency": priced.currency,
        });
        if refused || attempts >= retry.attempts {
            let mut alarm = Alarm::opened(
                abandoned_alarm_id(intent),
                priced.org_id.clone(),
                CAPTURE_ABANDONED,
                Severity::Critical,
                now,
            );
            alarm.title = Some(format!("Payment {intent} not captured"));
            alarm.message = format!(
                "The card payment at the charger for session {} ({} {}) was not captured after {attempts} attempt(s): {error}",
                priced.session_id,
                priced.gross.round_dp(2),
                priced.currency
            );
            alarm.action = Some(format!(
                "Capture or cancel PaymentIntent {intent} in Stripe's dashboard before the hold lapses (7 days after it was made); then resolve this alarm."
            ));
            alarm.details = base;
            self.raise(&alarm).await?;
            self.resolve(&pending_alarm_id(intent)).await?;
            return Ok(true);
        }
        let next = now + retry.wait_after(attempts);
        let mut alarm = Alarm::opened(
            pending_alarm_id(intent),
            priced.org_id.clone(),
            CAPTURE_FAILED,
            Severity::Warning,
            now,
        );
        alarm.title = Some(format!("Payment {intent} not captured yet"));
        alarm.message = format!(
            "Capturing the card payment at the charger for session {} failed (attempt {attempts} of {}): {error}; tried again from {}",
            priced.session_id,
            retry.attempts,
            next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        alarm.action = Some(
            "Nothing yet: the billing sweep tries again. Resolving this alarm by hand stops the retries.".into(),
        );
        let mut details = base;
        details["nextAttemptAt"] =
            serde_json::Value::String(next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        alarm.details = details;
        self.raise(&alarm).await?;
        Ok(false)
    }

    async fn raise(&self, alarm: &Alarm) -> Result<(), BillingError> {
        match &self.events {
            Some(events) => {
                csms_kernel::events::raise_alarm(&*self.store, &**events, alarm, self.clock.now())
                    .await?;
            }
            None => {
                self.store.raise_alarm(alarm).await?;
            }
        }
        Ok(())
    }

    async fn resolve(&self, id: &str) -> Result<(), BillingError> {
        let now = self.clock.now();
        match &self.events {
            Some(events) => {
                csms_kernel::events::resolve_alarm(&*self.store, &**events, id, now).await?;
            }
            None => {
                self.store.resolve_alarm(id, now).await?;
            }
        }
        Ok(())
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

/// The attempts a pending capture's alarm counts (its details, else how
/// often it was raised).
fn attempts_of(alarm: &Alarm) -> u32 {
    alarm
        .details
        .get("attempts")
        .and_then(|v| v.as_u64())
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(alarm.occurrences)
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
        match self.billing.capture_or_retry_later(priced).await {
            Ok(Some(Captured::Now { intent, amount })) => {
                tracing::info!(session = %priced.session_id, %intent, %amount, "payment at the charger captured")
            }
            Ok(Some(Captured::Released { intent })) => {
                tracing::info!(session = %priced.session_id, %intent, "a session of nothing: the hold was released")
            }
            Ok(_) => {}
            // Kept as an alarm the billing sweep tries again (see the
            // module docs).
            Err(e) => {
                tracing::error!(session = %priced.session_id, error = %e, "a payment at the charger was not captured; the billing sweep tries again")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_at_most_half_a_day() {
        let r = CaptureRetry::DEFAULT;
        let waits: Vec<i64> = (1..=8).map(|a| r.wait_after(a).num_minutes()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 720]);
        // The last of the most attempts allowed, with the longest first wait, comes before Stripe's 7 days.
        let slow = CaptureRetry {
            first: TimeDelta::hours(1),
            attempts: CaptureRetry::MAX_ATTEMPTS,
        };
        let total: TimeDelta = (1..slow.attempts).map(|a| slow.wait_after(a)).sum();
        assert!(total < TimeDelta::days(5), "{total}");
        assert_eq!(slow.wait_after(u32::MAX), CaptureRetry::MAX_WAIT);
    }

    #[test]
    fn a_pending_capture_counts_its_attempts_from_its_details() {
        let mut a = Alarm::opened(
            pending_alarm_id("pi_1"),
            OrgId::default_org(),
            CAPTURE_FAILED,
            Severity::Warning,
            chrono::Utc::now(),
        );
        assert_eq!(attempts_of(&a), 1);
        a.details = serde_json::json!({"attempts": 4});
        assert_eq!(attempts_of(&a), 4);
    }
}
