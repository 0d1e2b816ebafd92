//! Refunds of an invoice's credit balance
//! ([`csms_domain::billing::refund`]): what a driver paid beyond what is
//! owed after credit notes goes back through the payment's own provider.
//!
//! - **Asked** ([`BillingService::refund`]) by an organisation admin with
//!   an `Idempotency-Key`: the same key finds the refund it made (and asks
//!   Stripe again, with the same Stripe idempotency key, if Stripe never
//!   answered), so a retry never refunds twice. The refund is written on
//!   the invoice (at its version) as `pending` **before** Stripe is asked,
//!   so two refunds never both take what is left.
//! - **Stripe** (card payments): `POST /v1/refunds` for the payment's
//!   PaymentIntent, our refund and invoice in its metadata. Its answer,
//!   or later its `refund.updated`/`charge.refunded` webhook
//!   ([`BillingService::stripe_refund_told`]), moves `pending` to
//!   `succeeded` or `failed` exactly once.
//! - **Bankgiro and Swish** payments are not refunded automatically: a
//!   refund of one is refused (`409`) until it is recorded as made by hand
//!   (`method: manual` with the bank's reference), which succeeds at once.
//! - **Booked** once a refund succeeds, once by its reference
//!   `refund:{id}`: the driver's receivable debited (their credit used
//!   up), the clearing account the money left credited (`clearing:stripe`
//!   for Stripe, `clearing:bankgiro` for a bank transfer by hand). A failed
//!   refund books nothing.

use crate::card::{minor_units, RefundRequest, STRIPE};
use crate::payments::BANKGIRO;
use crate::{BillingError, BillingService, BillingStore};
use csms_domain::billing::invoice::{Invoice, InvoiceId};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_domain::billing::refund::{
    self, Refund, RefundId, RefundMethod, RefundRefused, RefundStatus,
};
use csms_domain::OrgId;
use csms_kernel::ports::StoreError;
use rust_decimal::Decimal;

/// How often a write is tried when another writer moved the invoice.
const ATTEMPTS: usize = 10;

/// A refund as asked (parsed at the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAsk {
    pub amount: Decimal,
    /// 1–200 characters.
    pub reason: String,
    /// Which payment to give back; `None`: the newest that can.
    pub payment_id: Option<PaymentId>,
    /// `Some(Manual)` records a refund made by hand; `None` or `Stripe`:
    /// through the payment's provider.
    pub method: Option<RefundMethod>,
    /// The bank's reference of a manual refund (required for one).
    pub bank_reference: Option<String>,
    /// The caller's `Idempotency-Key`.
    pub key: String,
}

/// The ledger transaction of a succeeded refund (see the module).
pub fn refund_transaction(
    invoice: &Invoice,
    refund: &Refund,
) -> Result<LedgerTransaction, BillingError> {
    let reference = LedgerReference::parse(format!("refund:{}", refund.id))
        .map_err(|e| BillingError::Books(format!("refund {}: {e}", refund.id)))?;
    let clearing = match refund.method {
        RefundMethod::Stripe => STRIPE,
        RefundMethod::Manual => BANKGIRO,
    };
    LedgerTransaction::new(
        invoice.org_id.clone(),
        reference,
        invoice.currency.clone(),
        format!(
            "refund {} of invoice {} ({})",
            refund.id,
            invoice.number,
            refund.method.as_str()
        ),
        vec![
            Posting::debit(
                Account::DriverReceivable {
                    org: invoice.org_id.clone(),
                    user: invoice.user_id.clone(),
                },
                refund.amount,
            ),
            Posting::credit(
                Account::ProviderClearing {
                    provider: clearing.to_owned(),
                },
                refund.amount,
            ),
        ],
        refund.settled_at.unwrap_or(refund.created_at),
    )
    .map_err(|e| BillingError::Books(format!("refund {}: {e}", refund.id)))
}

fn refused(e: RefundRefused) -> BillingError {
    match e {
        RefundRefused::Invalid(i) => BillingError::Invalid(i.0),
        RefundRefused::TooMuch(m) => BillingError::Refused(m),
    }
}

/// Stripe's word for a refund, as ours; `None` while it is not final.
fn stripe_status(status: &str) -> Option<RefundStatus> {
    match status {
        "succeeded" => Some(RefundStatus::Succeeded),
        "failed" | "canceled" => Some(RefundStatus::Failed),
        _ => None,
    }
}

/// What a refund reported by a webhook did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundTold {
    /// Moved from pending to this status now.
    Moved(Refund),
    /// Already final (told before), or still pending: nothing changed.
    Unchanged(Refund),
    /// Names no refund of ours.
    Unknown(String),
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Refunds `org`'s invoice `id` as `ask` says, for `by` (see the
    /// module). Answers the invoice after it, the refund, and whether this
    /// call made it (`false`: the key's refund, made before).
    pub async fn refund(
        &self,
        org: &OrgId,
        id: &InvoiceId,
        ask: &RefundAsk,
        by: &str,
    ) -> Result<(Invoice, Refund, bool), BillingError> {
        for _ in 0..ATTEMPTS {
            let invoice = self.org_invoice(org, id).await?;
            if let Some(made) = invoice.refunds.iter().find(|r| r.key == ask.key) {
                let made = made.clone();
                // Stripe never answered: ask again with the same key.
                if made.status == RefundStatus::Pending && made.provider_id.is_none() {
                    let (invoice, refund) = self.ask_stripe(&invoice, &made).await?;
                    return Ok((invoice, refund, false));
                }
                return Ok((invoice, made, false));
            }
            let payments = self.store.list_invoice_payments(&invoice.id).await?;
            let payment = choose_payment(&invoice, &payments, ask)?;
            let left = refund::refundable(&invoice, &payments, &payment).map_err(refused)?;
            let method = match (ask.method, payment.provider.as_str()) {
                (Some(RefundMethod::Manual), _) => RefundMethod::Manual,
                (_, STRIPE) => RefundMethod::Stripe,
                (Some(RefundMethod::Stripe), p) => {
                    return Err(BillingError::Invalid(format!(
                        "method: payment {} was paid by {p}, not by card through Stripe",
                        payment.id
                    )))
                }
                (None, p) => {
                    return Err(BillingError::Refused(format!(
                        "payment {} was paid by {p}, which cannot be refunded automatically: pay {} back by bank transfer and record it with \"method\":\"manual\" and its \"bankReference\"",
                        payment.id, ask.amount
                    )))
                }
            };
            refund::check_amount(ask.amount, left, &invoice, &payment.id).map_err(refused)?;
            let now = self.clock.now();
            let manual = method == RefundMethod::Manual;
            let bank_reference = match (manual, &ask.bank_reference) {
                (true, None) => {
                    return Err(BillingError::Invalid(
                        "bankReference: a manual refund names the bank transfer that made it"
                            .into(),
                    ))
                }
                (false, Some(_)) => {
                    return Err(BillingError::Invalid(
                        "bankReference: only a manual refund has one".into(),
                    ))
                }
                (_, r) => r.clone(),
            };
            let made = Refund {
                id: RefundId::generate(),
                payment_id: payment.id.clone(),
                method,
                amount: ask.amount,
                reason: ask.reason.clone(),
                status: match manual {
                    true => RefundStatus::Succeeded,
                    false => RefundStatus::Pending,
                },
                key: ask.key.clone(),
                provider_id: None,
                bank_reference,
                failure: None,
                created_by: by.to_owned(),
                created_at: now,
                settled_at: manual.then_some(now),
            };
            let mut next = invoice.clone();
            next.refunds.push(made.clone());
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::info!(invoice = %next.id, refund = %made.id, method = method.as_str(), amount = %made.amount, "refund recorded");
            if manual {
                self.store
                    .append_ledger_transaction(&refund_transaction(&next, &made)?)
                    .await?;
                return Ok((next, made, true));
            }
            let (next, made) = self.ask_stripe(&next, &made).await?;
            return Ok((next, made, true));
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} kept changing; nothing was refunded"
        ))))
    }

    /// `org`'s invoice `id`'s refunds, in order.
    pub async fn refunds(&self, org: &OrgId, id: &InvoiceId) -> Result<Vec<Refund>, BillingError> {
        Ok(self.org_invoice(org, id).await?.refunds)
    }

    /// Asks Stripe for `made` (pending on `invoice`) and records its
    /// answer. A refusal fails the refund; no answer leaves it pending (a
    /// retry with the same key asks again, and Stripe answers the same
    /// refund).
    async fn ask_stripe(
        &self,
        invoice: &Invoice,
        made: &Refund,
    ) -> Result<(Invoice, Refund), BillingError> {
        let cards = self.cards()?;
        let intent = made
            .payment_id
            .as_str()
            .strip_prefix("stripe:")
            .ok_or_else(|| {
                BillingError::Books(format!(
                    "refund {}: payment {} is not a Stripe one",
                    made.id, made.payment_id
                ))
            })?
            .to_owned();
        let request = RefundRequest {
            payment_intent: intent,
            amount_minor: minor_units(made.amount)?,
            metadata: vec![
                ("refund_id", made.id.to_string()),
                ("invoice_id", invoice.id.to_string()),
                ("org_id", invoice.org_id.to_string()),
            ],
            idempotency_key: format!("csms-refund-{}", made.id),
        };
        match cards.create_refund(&request).await {
            Ok(answer) => {
                let status = stripe_status(&answer.status).unwrap_or(RefundStatus::Pending);
                self.settle_refund(
                    &invoice.id,
                    &made.id,
                    Some(answer.id),
                    status,
                    answer.failure_reason,
                )
                .await
                .map(|(i, r, _)| (i, r))
            }
            Err(crate::card::GatewayError::Unavailable(why)) => {
                tracing::warn!(refund = %made.id, %why, "Stripe did not answer the refund; it stays pending");
                Ok((invoice.clone(), made.clone()))
            }
            Err(e) => {
                let why = e.to_string();
                self.settle_refund(&invoice.id, &made.id, None, RefundStatus::Failed, Some(why))
                    .await
                    .map(|(i, r, _)| (i, r))
            }
        }
    }

    /// Moves refund `refund` of invoice `id` from pending to `status`
    /// (once: a final refund stays as it is) and books a succeeded one
    /// (idempotent by its reference). Answers whether it moved now.
    async fn settle_refund(
        &self,
        id: &InvoiceId,
        refund: &RefundId,
        provider_id: Option<String>,
        status: RefundStatus,
        failure: Option<String>,
    ) -> Result<(Invoice, Refund, bool), BillingError> {
        for _ in 0..ATTEMPTS {
            let invoice = self
                .store
                .get_invoice(id)
                .await?
                .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))?;
            let Some(at) = invoice.refunds.iter().position(|r| &r.id == refund) else {
                return Err(BillingError::NotFound(format!("refund {refund}")));
            };
            let current = &invoice.refunds[at];
            let known = current.provider_id.is_some() || provider_id.is_none();
            if current.status != RefundStatus::Pending || (status == RefundStatus::Pending && known)
            {
                let current = current.clone();
                if current.status == RefundStatus::Succeeded {
                    // A booking a crash stopped after the write is made now.
                    self.store
                        .append_ledger_transaction(&refund_transaction(&invoice, &current)?)
                        .await?;
                }
                return Ok((invoice, current, false));
            }
            let mut next = invoice.clone();
            let r = &mut next.refunds[at];
            if r.provider_id.is_none() {
                r.provider_id = provider_id.clone();
            }
            r.status = status;
            if status != RefundStatus::Pending {
                r.settled_at = Some(self.clock.now());
                r.failure = match status {
                    RefundStatus::Failed => {
                        Some(failure.clone().unwrap_or_else(|| "no reason given".into()))
                    }
                    _ => None,
                };
            }
            let moved = r.clone();
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => {
                    if moved.status == RefundStatus::Succeeded {
                        self.store
                            .append_ledger_transaction(&refund_transaction(&next, &moved)?)
                            .await?;
                    }
                    tracing::info!(invoice = %id, refund = %moved.id, status = moved.status.as_str(), "refund moved");
                    return Ok((next, moved, status != RefundStatus::Pending));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} kept changing; refund {refund} is not moved"
        ))))
    }

    /// A Stripe refund as a webhook told it (`refund.updated`,
    /// `refund.failed`, or one of a `charge.refunded`'s refunds): moves our
    /// refund its metadata names once.
    pub(crate) async fn stripe_refund_told(
        &self,
        told: &crate::card::CardRefund,
    ) -> Result<RefundTold, BillingError> {
        let ids = (
            told.metadata
                .get("invoice_id")
                .and_then(|s| InvoiceId::parse(s).ok()),
            told.metadata
                .get("refund_id")
                .and_then(|s| RefundId::parse(s).ok()),
        );
        let (Some(invoice), Some(refund)) = ids else {
            return Ok(RefundTold::Unknown(told.id.clone()));
        };
        let status = stripe_status(&told.status).unwrap_or(RefundStatus::Pending);
        match self
            .settle_refund(
                &invoice,
                &refund,
                Some(told.id.clone()),
                status,
                told.failure_reason.clone(),
            )
            .await
        {
            Ok((_, r, true)) => Ok(RefundTold::Moved(r)),
            Ok((_, r, false)) => Ok(RefundTold::Unchanged(r)),
            Err(BillingError::NotFound(_)) => Ok(RefundTold::Unknown(told.id.clone())),
            Err(e) => Err(e),
        }
    }
}

/// The payment `ask` names (one of the invoice's), else the newest whose
/// remainder covers the amount, else the one with the most left (whose
/// check then says what is left).
fn choose_payment(
    invoice: &Invoice,
    payments: &[Payment],
    ask: &RefundAsk,
) -> Result<Payment, BillingError> {
    if let Some(id) = &ask.payment_id {
        return payments
            .iter()
            .find(|p| &p.id == id)
            .cloned()
            .ok_or_else(|| {
                BillingError::Invalid(format!(
                    "paymentId: {id} is not a payment of invoice {}",
                    invoice.number
                ))
            });
    }
    let left = |p: &Payment| {
        refund::refundable(invoice, payments, p)
            .map(|l| l.payment)
            .unwrap_or(Decimal::ZERO)
    };
    let mut newest_first: Vec<&Payment> = payments.iter().collect();
    newest_first.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.id.cmp(&a.id)));
    newest_first
        .iter()
        .find(|p| left(p) >= ask.amount)
        .or_else(|| newest_first.iter().max_by_key(|p| left(p)))
        .map(|p| (*p).clone())
        .ok_or_else(|| {
            BillingError::Refused(format!(
                "invoice {} has no payment to refund",
                invoice.number
            ))
        })
}
