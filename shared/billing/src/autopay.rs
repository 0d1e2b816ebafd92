//! Saved cards and their charge on the due date ("autopay").
//!
//! - **Saving a card**: [`BillingService::start_card_setup`] makes the
//!   person's Stripe customer the first time (kept on the person, an
//!   idempotency key of the person so a retry makes no second one) and a
//!   SetupIntent for the page to confirm with Stripe.js;
//!   [`BillingService::save_card`] reads the SetupIntent back from Stripe
//!   (never trusting the page), checks it is the person's and succeeded,
//!   and keeps what can be shown of the card (brand, last four, expiry) on
//!   the person. [`BillingService::remove_card`] detaches it.
//! - **The charge** ([`BillingService::run_autopay`], part of the day's
//!   billing before dunning, so a paid invoice is never reminded): each
//!   unpaid invoice whose driver has a saved card is charged what is due,
//!   off-session, on its due date; a failed charge is tried again
//!   [`RETRY_DAYS`] after the due date, at most [`MAX_ATTEMPTS`] times.
//!   Each attempt is recorded on the invoice (versioned write) with its own
//!   idempotency key *before* Stripe is asked, so a run that stops between
//!   the charge and its outcome asks again with the same key and the card
//!   is charged once. A charge that succeeds is booked at once, as the
//!   payment `stripe:{intent}`; Stripe's webhook for it then finds it
//!   recorded.

use crate::card::{minor_units, GatewayError, IntentRequest, STRIPE};
use crate::payments::reported;
use crate::{BillingError, BillingService, BillingStore};
use chrono::NaiveDate;
use csms_domain::billing::invoice::{Invoice, InvoiceId};
use csms_domain::billing::payment::{AttemptOutcome, CardAttempt, PaymentId};
use csms_domain::user::{SavedCard, User, UserId};
use csms_domain::OrgId;
use csms_kernel::ports::StoreError;
use rust_decimal::Decimal;

/// Days after the due date each attempt is made on: the due date, then two
/// and five days later.
pub const RETRY_DAYS: [i64; 3] = [0, 2, 5];
pub const MAX_ATTEMPTS: usize = RETRY_DAYS.len();

const ATTEMPTS: usize = 10;

/// What the payment page needs to save a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupCheckout {
    pub setup_intent_id: String,
    pub client_secret: String,
    pub publishable_key: String,
}

/// What one day's autopay did in an organisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutopayResult {
    /// Invoices paid by their saved card now.
    pub charged: Vec<InvoiceId>,
    /// Invoices whose charge failed now, with Stripe's reason.
    pub failed: Vec<(InvoiceId, String)>,
    /// Invoices whose charge got no answer (Stripe unavailable, a store
    /// failure): the attempt stays pending and the next run asks again.
    pub unanswered: Vec<(InvoiceId, String)>,
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    async fn person(&self, id: &UserId) -> Result<User, BillingError> {
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| BillingError::NotFound(format!("person {id}")))
    }

    /// Writes `user` changed by `change` on the version read, again on a
    /// concurrent change.
    async fn change_person(
        &self,
        id: &UserId,
        change: impl Fn(&mut User),
    ) -> Result<User, BillingError> {
        for _ in 0..ATTEMPTS {
            let mut user = self.person(id).await?;
            let expected = user.version;
            change(&mut user);
            user.version = expected + 1;
            user.updated_at = self.clock.now();
            match self.store.put_user(&user, expected).await {
                Ok(()) => return Ok(user),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "person {id} kept changing"
        ))))
    }

    /// A SetupIntent for `user` to save a card with; their Stripe customer
    /// is made the first time.
    pub async fn start_card_setup(&self, user: &UserId) -> Result<SetupCheckout, BillingError> {
        let cards = self.cards()?;
        let person = self.person(user).await?;
        let customer = match person.stripe_customer.clone() {
            Some(c) => c,
            None => {
                let made = cards
                    .create_customer(
                        person.email.as_str(),
                        &person.name,
                        user.as_str(),
                        &format!("csms-customer-{user}"),
                    )
                    .await?;
                let kept = made.clone();
                let stored = self
                    .change_person(user, |u| {
                        u.stripe_customer.get_or_insert_with(|| kept.clone());
                    })
                    .await?;
                stored.stripe_customer.unwrap_or(made)
            }
        };
        let setup = cards.create_setup(&customer).await?;
        let client_secret = setup.client_secret.ok_or_else(|| {
            BillingError::Unavailable(format!(
                "the payment provider gave setup {} no client secret",
                setup.id
            ))
        })?;
        Ok(SetupCheckout {
            setup_intent_id: setup.id,
            client_secret,
            publishable_key: cards.publishable_key().to_owned(),
        })
    }

    /// Keeps the card `setup_intent` saved as `user`'s card, replacing
    /// one saved before (which is detached). The SetupIntent is read from
    /// Stripe: it must be of the person's customer and have succeeded.
    pub async fn save_card(
        &self,
        user: &UserId,
        setup_intent: &str,
    ) -> Result<SavedCard, BillingError> {
        let cards = self.cards()?;
        let person = self.person(user).await?;
        let refused = |why: &str| BillingError::Refused(format!("setup {setup_intent}: {why}"));
        let customer = person
            .stripe_customer
            .clone()
            .ok_or_else(|| refused("start saving a card first"))?;
        let setup = match cards.get_setup(setup_intent).await {
            Err(GatewayError::Refused(_)) => {
                return Err(BillingError::NotFound(format!("setup {setup_intent}")))
            }
            other => other?,
        };
        if setup.customer.as_deref() != Some(customer.as_str()) {
            return Err(BillingError::NotFound(format!("setup {setup_intent}")));
        }
        if setup.status != "succeeded" {
            return Err(refused(&format!(
                "the card is not saved yet ({}); confirm it on the page first",
                setup.status
            )));
        }
        let payment_method = setup
            .payment_method
            .ok_or_else(|| refused("no card was given"))?;
        let details = cards.get_card(&payment_method).await?;
        let card = SavedCard {
            payment_method: payment_method.clone(),
            brand: details.brand,
            last4: details.last4,
            exp_month: details.exp_month,
            exp_year: details.exp_year,
            saved_at: self.clock.now(),
        };
        let before = person.saved_card.clone();
        let kept = card.clone();
        self.change_person(user, |u| u.saved_card = Some(kept.clone()))
            .await?;
        if let Some(old) = before.filter(|o| o.payment_method != payment_method) {
            if let Err(e) = cards.detach_card(&old.payment_method).await {
                tracing::warn!(user = %user, error = %e, "the replaced card was not detached");
            }
        }
        Ok(card)
    }

    /// Forgets `user`'s saved card (detached from their customer); `false`
    /// when there was none.
    pub async fn remove_card(&self, user: &UserId) -> Result<bool, BillingError> {
        let person = self.person(user).await?;
        let Some(card) = person.saved_card else {
            return Ok(false);
        };
        self.change_person(user, |u| u.saved_card = None).await?;
        match self.cards()?.detach_card(&card.payment_method).await {
            Ok(()) | Err(GatewayError::Refused(_)) => {}
            Err(e) => tracing::warn!(user = %user, error = %e, "the removed card was not detached"),
        }
        Ok(true)
    }

    /// Charges the saved cards of `org`'s unpaid invoices that are due on
    /// `today` (the organisation's local date) or were declined and are due
    /// a retry. Without a Stripe account there is nothing to charge.
    pub async fn run_autopay(
        &self,
        org: &OrgId,
        today: NaiveDate,
    ) -> Result<AutopayResult, BillingError> {
        let mut result = AutopayResult::default();
        if self.cards.is_none() {
            return Ok(result);
        }
        for invoice in self.unpaid(org).await? {
            let Some(n) = attempt_due(&invoice, today) else {
                continue;
            };
            let person = self.store.get_user(&invoice.user_id).await?;
            let Some((customer, card)) =
                person.and_then(|p| Some((p.stripe_customer?, p.saved_card?)))
            else {
                continue;
            };
            let id = invoice.id.clone();
            let outcome = match self.attempt(invoice, n, today, &customer, &card).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tracing::warn!(invoice = %id, error = %e, "saved card charge not answered");
                    result.unanswered.push((id, e.to_string()));
                    continue;
                }
            };
            match outcome {
                Some((AttemptOutcome::Succeeded, _)) => result.charged.push(id),
                Some((AttemptOutcome::Failed, reason)) => {
                    result.failed.push((id, reason.unwrap_or_default()))
                }
                _ => {}
            }
        }
        Ok(result)
    }

    async fn unpaid(&self, org: &OrgId) -> Result<Vec<Invoice>, BillingError> {
        Ok(csms_kernel::ports::unpaid_invoices(&*self.store, org).await?)
    }

    /// Attempt `n` of `invoice`: recorded, charged, its outcome recorded
    /// and a success booked; the outcome with Stripe's reason of a failure.
    /// `None` when another run took it meanwhile.
    async fn attempt(
        &self,
        invoice: Invoice,
        n: u8,
        today: NaiveDate,
        customer: &str,
        card: &SavedCard,
    ) -> Result<Option<(AttemptOutcome, Option<String>)>, BillingError> {
        let cards = self.cards()?;
        // Resume a pending attempt as recorded, else record a new one.
        let (mut invoice, attempt) = match invoice.card_attempts.last() {
            Some(a) if a.outcome == AttemptOutcome::Pending => {
                let a = a.clone();
                (invoice, a)
            }
            _ => {
                let due = self.invoice_payments(&invoice).await?.due;
                if due <= Decimal::ZERO {
                    return Ok(None);
                }
                let attempt = CardAttempt {
                    number: n,
                    on: today,
                    amount: due,
                    key: format!("csms-autopay-{}-{n}", invoice.id),
                    intent: None,
                    outcome: AttemptOutcome::Pending,
                    reason: None,
                    at: self.clock.now(),
                };
                let mut next = invoice.clone();
                next.card_attempts.push(attempt.clone());
                next.version = invoice.version + 1;
                match self.store.put_invoice(&next, invoice.version).await {
                    Ok(()) => (next, attempt),
                    Err(StoreError::Conflict(_)) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let request = IntentRequest {
            amount_minor: minor_units(attempt.amount)?,
            currency: invoice.currency.to_ascii_lowercase(),
            metadata: vec![
                ("invoice_id", invoice.id.to_string()),
                ("org_id", invoice.org_id.to_string()),
                ("invoice_number", invoice.number.to_string()),
                ("attempt", attempt.number.to_string()),
            ],
            idempotency_key: attempt.key.clone(),
            capture_manually: false,
        };
        let (outcome, intent, reason) = match cards
            .charge_saved(&request, customer, &card.payment_method)
            .await
        {
            Ok(intent) if intent.status == "succeeded" => {
                (AttemptOutcome::Succeeded, Some(intent.id), None)
            }
            Ok(intent) => (
                AttemptOutcome::Failed,
                Some(intent.id),
                Some(format!("the charge is {}", intent.status)),
            ),
            Err(GatewayError::Declined {
                code,
                message,
                intent,
            }) => (
                AttemptOutcome::Failed,
                intent,
                Some(format!("{code}: {message}")),
            ),
            Err(GatewayError::Refused(m)) => (AttemptOutcome::Failed, None, Some(m)),
            // Not answered: the attempt stays pending and the next run
            // asks again with the same key.
            Err(e @ GatewayError::Unavailable(_)) => return Err(e.into()),
        };
        // The outcome on the attempt (re-read on a concurrent change).
        for _ in 0..ATTEMPTS {
            let mut next = invoice.clone();
            if let Some(a) = next.card_attempts.iter_mut().find(|a| a.key == attempt.key) {
                a.outcome = outcome;
                a.intent = intent.clone();
                a.reason = reason.clone();
            }
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => break,
                Err(StoreError::Conflict(_)) => {
                    invoice =
                        self.store.get_invoice(&invoice.id).await?.ok_or_else(|| {
                            BillingError::NotFound(format!("invoice {}", invoice.id))
                        })?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if outcome == AttemptOutcome::Succeeded {
            let intent = intent.unwrap_or_default();
            let payment = reported(
                PaymentId::stripe(&intent)
                    .map_err(|e| BillingError::Books(format!("charge of {}: {e}", invoice.id)))?,
                STRIPE,
                invoice.number.to_string(),
                attempt.amount,
                invoice.currency.clone(),
                today,
                self.clock.now(),
            );
            let current = async { Ok(self.store.get_invoice(&invoice.id).await?) };
            self.book_reported(payment, current).await?;
        } else {
            tracing::info!(invoice = %invoice.id, attempt = attempt.number, reason = reason.as_deref().unwrap_or(""), "saved card declined");
        }
        Ok(Some((outcome, reason)))
    }
}

/// The number of the attempt `invoice` is due on `today`: the next after
/// its last failed one, on its day; a pending one is resumed under its own
/// number. `None` when none is due (not due yet, today's made, all made,
/// or the invoice is disputed).
pub fn attempt_due(invoice: &Invoice, today: NaiveDate) -> Option<u8> {
    // A disputed invoice is not charged while the dispute is open.
    if invoice.dispute.as_ref().is_some_and(|d| d.open()) {
        return None;
    }
    let attempts = &invoice.card_attempts;
    if let Some(last) = attempts.last() {
        if last.outcome == AttemptOutcome::Pending {
            return Some(last.number);
        }
        if last.outcome == AttemptOutcome::Succeeded || last.on >= today {
            return None;
        }
    }
    let n = attempts.len();
    let offset = *RETRY_DAYS.get(n)?;
    let day = invoice
        .due_date
        .checked_add_signed(chrono::TimeDelta::days(offset))?;
    (today >= day).then_some(u8::try_from(n + 1).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_kernel::contract::sample_invoice;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, d).unwrap()
    }

    fn attempt(n: u8, on: NaiveDate, outcome: AttemptOutcome) -> CardAttempt {
        CardAttempt {
            number: n,
            on,
            amount: Decimal::ONE,
            key: format!("k{n}"),
            intent: None,
            outcome,
            reason: None,
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn attempts_fall_on_the_due_date_then_two_and_five_days_later() {
        let mut invoice = sample_invoice("org-a", "2026-12", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        invoice.due_date = day(10);
        assert_eq!(attempt_due(&invoice, day(9)), None);
        assert_eq!(attempt_due(&invoice, day(10)), Some(1));
        // Missed days are caught up.
        assert_eq!(attempt_due(&invoice, day(14)), Some(1));
        // Not while a dispute is open; once resolved, as before.
        invoice.dispute = Some(csms_domain::billing::dunning::InvoiceDispute {
            reason: "not mine".into(),
            by: "usr_01JABCDEFGHJKMNPQRSTVWXYZ1".into(),
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            resolved_at: None,
            resolved_by: None,
            resolved_on: None,
        });
        assert_eq!(attempt_due(&invoice, day(14)), None, "disputed");
        if let Some(d) = invoice.dispute.as_mut() {
            d.resolved_at = Some(chrono::DateTime::from_timestamp(1, 0).unwrap());
        }
        assert_eq!(attempt_due(&invoice, day(14)), Some(1));
        invoice.card_attempts = vec![attempt(1, day(10), AttemptOutcome::Failed)];
        assert_eq!(attempt_due(&invoice, day(10)), None, "once a day");
        assert_eq!(attempt_due(&invoice, day(11)), None);
        assert_eq!(attempt_due(&invoice, day(12)), Some(2));
        invoice
            .card_attempts
            .push(attempt(2, day(12), AttemptOutcome::Pending));
        assert_eq!(
            attempt_due(&invoice, day(12)),
            Some(2),
            "a pending one is resumed"
        );
        invoice.card_attempts[1].outcome = AttemptOutcome::Failed;
        assert_eq!(attempt_due(&invoice, day(14)), None);
        assert_eq!(attempt_due(&invoice, day(15)), Some(3));
        invoice
            .card_attempts
            .push(attempt(3, day(15), AttemptOutcome::Failed));
        assert_eq!(attempt_due(&invoice, day(30)), None, "three at most");
        invoice.card_attempts.truncate(1);
        invoice.card_attempts[0].outcome = AttemptOutcome::Succeeded;
        assert_eq!(attempt_due(&invoice, day(20)), None);
    }
}
