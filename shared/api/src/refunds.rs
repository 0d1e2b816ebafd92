//! Refunds of an organisation's invoices: `POST /invoices/{id}/refunds`
//! (an organisation admin gives back part or all of the invoice's credit
//! balance, through the payment's provider or recorded as made by hand;
//! `Idempotency-Key` required) and `GET /invoices/{id}/refunds`. The rules
//! are `csms_domain::billing::refund`, the use case
//! `csms_billing::refunds`.
//!
//! A field that does not parse is a 400 naming it; more than is left, or a
//! payment no provider can refund (Bankgiro, Swish) without
//! `"method":"manual"`, a 409 saying why; another organisation's invoice a
//! 404.

use crate::auth::Principal;
use crate::billing::invoice_id;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf};
use crate::util::{json_body, time};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use csms_billing::refunds::RefundAsk;
use csms_domain::billing::payment::PaymentId;
use csms_domain::billing::refund::{Refund, RefundMethod};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

/// A refund to make.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewRefund {
    /// A decimal string above 0 in whole öre, at most the invoice's credit
    /// balance and what the payment can still give back.
    #[schema(example = "40.00")]
    amount: String,
    /// Why: 1–200 characters.
    #[schema(example = "Kreditfaktura K1: fel pris")]
    reason: String,
    /// The payment to give back (one of the invoice's); default: the newest
    /// whose remainder covers the amount.
    #[schema(example = "stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa")]
    payment_id: Option<String>,
    /// `manual`: record a refund made by hand (a bank transfer), with
    /// `bankReference`; absent or `stripe`: through the payment's provider.
    #[schema(example = "manual")]
    method: Option<String>,
    /// The bank transfer's reference of a manual refund: 1–100 characters.
    bank_reference: Option<String>,
}

/// A refund of an invoice.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    /// `rf_…`; its ledger transaction is `refund:{id}`.
    pub id: String,
    pub invoice_id: String,
    pub payment_id: String,
    /// `stripe` or `manual`.
    pub method: &'static str,
    pub amount: String,
    pub currency: String,
    pub reason: String,
    /// `pending` (asked of the provider), `succeeded` (booked), `failed`
    /// (nothing booked).
    pub status: &'static str,
    /// The provider's id (`re_…`).
    pub provider_refund_id: Option<String>,
    pub bank_reference: Option<String>,
    /// Why it failed, as the provider said.
    pub failure: Option<String>,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub settled_at: Option<String>,
}

pub(crate) fn view(invoice: &csms_domain::billing::invoice::Invoice, r: &Refund) -> RefundView {
    RefundView {
        id: r.id.to_string(),
        invoice_id: invoice.id.to_string(),
        payment_id: r.payment_id.to_string(),
        method: r.method.as_str(),
        amount: r.amount.to_string(),
        currency: invoice.currency.clone(),
        reason: r.reason.clone(),
        status: r.status.as_str(),
        provider_refund_id: r.provider_id.clone(),
        bank_reference: r.bank_reference.clone(),
        failure: r.failure.clone(),
        created_by: r.created_by.clone(),
        created_at: time(r.created_at),
        settled_at: r.settled_at.map(time),
    }
}

fn text(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(bad(
            field,
            format!("1 to {max} characters, no control characters"),
        ));
    }
    Ok(t.to_owned())
}

fn ask(headers: &HeaderMap, input: NewRefund) -> Result<RefundAsk, ApiError> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| {
            bad(
                "Idempotency-Key",
                "required: a retry with the same key finds the refund it made",
            )
        })?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| bad("Idempotency-Key", "1 to 200 visible characters"))?
        .to_owned();
    let amount = input.amount.trim().parse::<Decimal>().map_err(|_| {
        bad(
            "amount",
            format!("{:?} is not a decimal number as a string", input.amount),
        )
    })?;
    if amount <= Decimal::ZERO
        || amount.normalize().scale() > 2
        || amount > Decimal::from(10_000_000)
    {
        return Err(bad(
            "amount",
            format!("{amount} is not an amount above 0 in whole öre"),
        ));
    }
    let payment_id = input
        .payment_id
        .as_deref()
        .map(|p| PaymentId::parse(p.trim()).map_err(|e| bad("paymentId", e)))
        .transpose()?;
    let method = input
        .method
        .as_deref()
        .map(|m| RefundMethod::parse(m.trim()).map_err(|e| bad("method", e)))
        .transpose()?;
    let bank_reference = input
        .bank_reference
        .as_deref()
        .map(|r| text("bankReference", r, 100))
        .transpose()?;
    Ok(RefundAsk {
        amount,
        reason: text("reason", &input.reason, 200)?,
        payment_id,
        method,
        bank_reference,
        key,
    })
}

#[utoipa::path(post, path = "/invoices/{id}/refunds", operation_id = "createRefund", tag = "billing", summary = "Refund part or all of an invoice's credit balance (paid less what is owed after credit notes): through the payment's provider (Stripe), or recorded as made by hand (method manual, with the bank's reference) for a payment no provider can refund (Bankgiro, Swish); booked once when it succeeds", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key answers the refund it made (200) and never refunds twice")), request_body = NewRefund, responses((status = 201, description = "Made now: `succeeded`, `failed`, or `pending` while the provider has not said", body = RefundView), (status = 200, description = "The key's refund, made before", body = RefundView), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "More than is left to refund (the message says what is), or a payment that cannot be refunded automatically (Bankgiro, Swish: record it with method manual)", body = ErrorBody), (status = 503, description = "Card payments are not set up", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<RefundView>), ApiError> {
    let id = invoice_id(&id)?;
    let input: NewRefund = json_body(&body)?;
    let ask = ask(&headers, input)?;
    let (invoice, refund, made) = st
        .billing
        .refund(&who.org_id, &id, &ask, &who.actor().audit_name())
        .await?;
    let status = match made {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok((status, Json(view(&invoice, &refund))))
}

#[utoipa::path(get, path = "/invoices/{id}/refunds", operation_id = "listRefunds", tag = "billing", summary = "An invoice's refunds, in order, with their status", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = ItemsOf<RefundView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ItemsOf<RefundView>>, ApiError> {
    let invoice = crate::billing::org_invoice(&st, &who, &id).await?;
    Ok(Json(ItemsOf {
        items: invoice.refunds.iter().map(|r| view(&invoice, r)).collect(),
    }))
}
