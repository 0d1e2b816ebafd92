//! Paying invoices by card (card, Apple Pay, Google Pay) through Stripe:
//! `POST /me/invoices/{id}/card-payment` gives a driver's payment page
//! what Stripe.js needs to confirm a PaymentIntent for what is due, and
//! `POST /providers/stripe/webhook` is the endpoint Stripe signs its events
//! to (no key: the `Stripe-Signature` header is the credential). See
//! `csms_billing::card`. A driver's saved card, charged on the due date:
//! `POST /me/card` (a SetupIntent), `PUT /me/card` (kept once confirmed),
//! `GET` and `DELETE /me/card` (`csms_billing::autopay`).

use crate::auth::Principal;
use crate::billing::my_invoice;
use crate::error::ApiError;
use crate::me::person;
use crate::openapi::ErrorBody;
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use csms_billing::card::{WebhookOutcome, SIGNATURE_HEADER};
use csms_billing::refunds::RefundTold;
use csms_domain::user::SavedCard;
use serde::{Deserialize, Serialize};
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
    let invoice = my_invoice(&st, &who, &id).await?;
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
    /// `paid`, `unmatched`, `alreadyRecorded`, `failed`, `refundMoved`
    /// (a refund of ours succeeded or failed now), `refundUnchanged` (told
    /// before, or still pending), `refundUnknown`, `ignored`.
    pub outcome: String,
    /// The payment it recorded or found (`stripe:{intent}`).
    pub payment_id: Option<String>,
}

#[utoipa::path(post, path = "/providers/stripe/webhook", operation_id = "stripeWebhook", tag = "billing", summary = "Stripe's webhook endpoint (register it in Stripe with the events payment_intent.succeeded, payment_intent.payment_failed, refund.updated and charge.refunded): the Stripe-Signature header is checked with CSMS_STRIPE_WEBHOOK_SECRET before anything is read; a succeeded intent is booked once against the invoice its metadata names, however often Stripe delivers it", security(()), request_body(content = String, content_type = "application/json", description = "The event as Stripe sends it"), responses((status = 200, body = StripeWebhookView), (status = 400, description = "A missing or wrong signature, a stale timestamp, or a body that is not a Stripe event; nothing was done", body = ErrorBody), (status = 500, description = "The store failed: Stripe delivers again", body = ErrorBody), (status = 503, description = "Card payments are not set up: Stripe delivers again", body = ErrorBody)))]
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
        WebhookOutcome::Refund(RefundTold::Moved(_)) => ("refundMoved", None),
        WebhookOutcome::Refund(RefundTold::Unchanged(_)) => ("refundUnchanged", None),
        WebhookOutcome::Refund(RefundTold::Unknown(_)) => ("refundUnknown", None),
        WebhookOutcome::Ignored(_) => ("ignored", None),
    };
    Ok(Json(StripeWebhookView {
        received: true,
        outcome: outcome.into(),
        payment_id: payment.map(|p| p.to_string()),
    }))
}

/// What the page hands Stripe.js to save a card (`stripe.confirmCardSetup`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardSetupView {
    /// The SetupIntent (`seti_…`): send it back with `PUT /me/card` once
    /// the page confirmed it.
    pub setup_intent_id: String,
    pub client_secret: String,
    pub publishable_key: String,
}

/// My saved card: what can be shown of it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedCardView {
    /// `visa`, `mastercard`, …
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    #[schema(format = DateTime)]
    pub saved_at: String,
}

impl From<&SavedCard> for SavedCardView {
    fn from(c: &SavedCard) -> Self {
        SavedCardView {
            brand: c.brand.clone(),
            last4: c.last4.clone(),
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            saved_at: c
                .saved_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// The SetupIntent the page confirmed.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SaveCardInput {
    setup_intent_id: String,
}

#[utoipa::path(post, path = "/me/card", operation_id = "startSavingMyCard", tag = "me", summary = "Start saving a card my invoices are charged to on their due date: a Stripe SetupIntent for the page to confirm with Stripe.js (the card never reaches the CSMS); then PUT /me/card", responses((status = 200, body = CardSetupView), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 409, description = "Stripe refused", body = ErrorBody), (status = 503, description = "Card payments are not set up (`CSMS_STRIPE_SECRET_KEY`), or Stripe is unavailable", body = ErrorBody)))]
pub async fn start_saving_card(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<CardSetupView>, ApiError> {
    let setup = st.billing.start_card_setup(person(&who)?).await?;
    Ok(Json(CardSetupView {
        setup_intent_id: setup.setup_intent_id,
        client_secret: setup.client_secret,
        publishable_key: setup.publishable_key,
    }))
}

#[utoipa::path(put, path = "/me/card", operation_id = "saveMyCard", tag = "me", summary = "Keep the card of a SetupIntent the page confirmed as my saved card (read back from Stripe: it must be mine and succeeded), replacing the one before; my unpaid invoices are charged to it on their due date", request_body = SaveCardInput, responses((status = 200, body = SavedCardView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "No such SetupIntent of mine", body = ErrorBody), (status = 409, description = "The SetupIntent has not succeeded, or no card was started", body = ErrorBody), (status = 503, description = "Card payments are not set up, or Stripe is unavailable", body = ErrorBody)))]
pub async fn save_card(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<SavedCardView>, ApiError> {
    let input: SaveCardInput = json_body(&body)?;
    let id = input.setup_intent_id.trim();
    if !id.starts_with("seti_") || id.len() > 255 {
        return Err(ApiError::BadRequest(
            "setupIntentId: a Stripe SetupIntent id (seti_…)".into(),
        ));
    }
    let card = st.billing.save_card(person(&who)?, id).await?;
    Ok(Json((&card).into()))
}

#[utoipa::path(get, path = "/me/card", operation_id = "getMyCard", tag = "me", summary = "My saved card", responses((status = 200, body = SavedCardView), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "No card is saved", body = ErrorBody)))]
pub async fn my_card(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<SavedCardView>, ApiError> {
    let me = person(&who)?;
    let user = st.store.get_user(me).await?;
    user.and_then(|u| u.saved_card)
        .map(|c| Json((&c).into()))
        .ok_or_else(|| ApiError::NotFound("no card is saved".into()))
}

#[utoipa::path(delete, path = "/me/card", operation_id = "removeMyCard", tag = "me", summary = "Forget my saved card (detached from my Stripe customer): my invoices are no longer charged to it", responses((status = 204, description = "Forgotten"), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "No card is saved", body = ErrorBody), (status = 503, description = "Card payments are not set up", body = ErrorBody)))]
pub async fn remove_card(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<StatusCode, ApiError> {
    match st.billing.remove_card(person(&who)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("no card is saved".into())),
    }
}
