//! Paying invoices by card (card, Apple Pay, Google Pay) through Stripe:
//! `POST /me/invoices/{id}/card-payment` gives a driver's payment page
//! what Stripe.js needs to confirm a PaymentIntent for what is due, and
//! `POST /providers/stripe/webhook` is the endpoint Stripe signs its events
//! to (no key: the `Stripe-Signature` header is the credential). See
//! `csms_billing::card`.

use crate::auth::Principal;
use crate::billing::invoice_id;
use crate::error::ApiError;
use crate::me::person;
use crate::openapi::ErrorBody;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use csms_billing::card::{WebhookOutcome, SIGNATURE_HEADER};
use serde::Serialize;
use utoipa::ToSchema;

/// What the payment page hands Stripe.js to take the card.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardPaymentView {
    /// The PaymentIntent (`pi_…`).
    pub payment_intent_id: String,
    /// For `stripe.confirmPayment`; it pays this intent only.
    pub client_secret: String,
    /// The Stripe account's publishable key (`pk_…`) for `Stripe(…)`.
    pub publishable_key: String,
    /// What is due, e.g. `"1234.50"`.
    #[schema(value_type = String)]
    pub amount: rust_decimal::Decimal,
    pub currency: String,
}

#[utoipa::path(post, path = "/me/invoices/{id}/card-payment", operation_id = "payMyInvoiceByCard", tag = "me", summary = "Pay one of my invoices by card, Apple Pay or Google Pay: a Stripe PaymentIntent for what is still due, confirmed by the page with Stripe.js; asking again for the same amount gives the same intent. The payment is booked when Stripe reports it", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = CardPaymentView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The invoice is paid, or in a currency cards do not pay, or Stripe refused the intent", body = ErrorBody), (status = 503, description = "Card payments are not set up (`CSMS_STRIPE_SECRET_KEY`), or Stripe is unavailable", body = ErrorBody)))]
pub async fn pay_by_card(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<CardPaymentView>, ApiError> {
    let me = person(&who)?;
    let id = invoice_id(&id)?;
    let invoice = st
        .store
        .get_invoice(&id)
        .await?
        .filter(|i| &i.user_id == me)
        .ok_or_else(|| ApiError::NotFound(format!("invoice {id} not found")))?;
    let checkout = st.billing.start_card_payment(&invoice).await?;
    Ok(Json(CardPaymentView {
        payment_intent_id: checkout.intent_id,
        client_secret: checkout.client_secret,
        publishable_key: checkout.publishable_key,
        amount: checkout.amount,
        currency: checkout.currency,
    }))
}

/// What the webhook did with the event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StripeWebhookView {
    pub received: bool,
    /// `paid`, `unmatched`, `alreadyRecorded`, `failed`, `ignored`.
    pub outcome: String,
    /// The payment it recorded or found (`stripe:{intent}`).
    pub payment_id: Option<String>,
}

#[utoipa::path(post, path = "/providers/stripe/webhook", operation_id = "stripeWebhook", tag = "billing", summary = "Stripe's webhook endpoint (register it in Stripe with the events payment_intent.succeeded and payment_intent.payment_failed): the Stripe-Signature header is checked with CSMS_STRIPE_WEBHOOK_SECRET before anything is read; a succeeded intent is booked once against the invoice its metadata names, however often Stripe delivers it", security(()), request_body(content = String, content_type = "application/json", description = "The event as Stripe sends it"), responses((status = 200, body = StripeWebhookView), (status = 400, description = "A missing or wrong signature, a stale timestamp, or a body that is not a Stripe event; nothing was done", body = ErrorBody), (status = 500, description = "The store failed: Stripe delivers again", body = ErrorBody), (status = 503, description = "Card payments are not set up: Stripe delivers again", body = ErrorBody)))]
pub async fn stripe_webhook(
    State(st): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StripeWebhookView>, ApiError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let outcome = st.billing.card_webhook(signature, &body).await?;
    let (outcome, payment) = match outcome {
        WebhookOutcome::Paid(p) => ("paid", Some(p.id)),
        WebhookOutcome::Unmatched(p) => ("unmatched", Some(p.id)),
        WebhookOutcome::AlreadyRecorded(p) => ("alreadyRecorded", Some(p.id)),
        WebhookOutcome::Failed { .. } => ("failed", None),
        WebhookOutcome::Ignored(_) => ("ignored", None),
    };
    Ok(Json(StripeWebhookView {
        received: true,
        outcome: outcome.into(),
        payment_id: payment.map(|p| p.to_string()),
    }))
}
