//! Paying invoices by Swish: `POST /me/invoices/{id}/swish` makes a
//! payment request for what is due (with the payer's number: their Swish
//! app asks them; without: a token for the page to open the app with), and
//! `POST /providers/swish/callback` is where Swish tells the outcome (no
//! key: the CSMS reads the request back from Swish before acting). See
//! `csms_billing::swish`.

use crate::auth::Principal;
use crate::billing::my_invoice;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use csms_billing::swish::{PayerAlias, SwishOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who pays: with a number, their Swish app asks them (e-commerce);
/// without, the answer's token opens the app on this phone (m-commerce).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SwishInput {
    /// The payer's Swish number (`46701234567`; `+46 70-123 45 67` and
    /// `070-123 45 67` are taken too).
    payer_alias: Option<String>,
}

/// The payment request made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwishView {
    /// Swish's id of the request (32 hex digits).
    pub payment_request_id: String,
    /// m-commerce: the token the page opens the Swish app with.
    pub token: Option<String>,
    /// m-commerce: the link that opens the Swish app
    /// (`swish://paymentrequest?token=…&callbackurl=…`).
    pub app_url: Option<String>,
    #[schema(value_type = String)]
    pub amount: rust_decimal::Decimal,
}

pub fn callback_url(st: &ApiState) -> Result<String, ApiError> {
    st.public_url
        .as_ref()
        .map(|u| u.join("/api/v1/providers/swish/callback"))
        .ok_or_else(|| {
            ApiError::NotConfigured(
                "CSMS_PUBLIC_URL is not configured: Swish needs the address it calls back".into(),
            )
        })
}

#[utoipa::path(post, path = "/me/invoices/{id}/swish", operation_id = "payMyInvoiceBySwish", tag = "me", summary = "Pay one of my invoices by Swish: a payment request for what is still due, with my number (my Swish app asks me) or without (the answer's appUrl opens the Swish app on this phone). The payment is booked when Swish reports it paid", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), request_body = SwishInput, responses((status = 200, body = SwishView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The invoice is paid or not in SEK, or Swish refused the request (its error codes)", body = ErrorBody), (status = 503, description = "Swish is not set up (`CSMS_SWISH_PAYEE_ALIAS`, `CSMS_PUBLIC_URL`), or unavailable", body = ErrorBody)))]
pub async fn pay_by_swish(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SwishView>, ApiError> {
    let input: SwishInput = match body.is_empty() {
        true => SwishInput::default(),
        false => crate::util::json_body(&body)?,
    };
    let payer = input
        .payer_alias
        .as_deref()
        .map(PayerAlias::parse)
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("payerAlias: {e}")))?;
    let invoice = my_invoice(&st, &who, &id).await?;
    let callback = callback_url(&st)?;
    let started = st.billing.start_swish(&invoice, payer, &callback).await?;
    Ok(Json(SwishView {
        payment_request_id: started.id,
        token: started.token,
        app_url: started.app_url,
        amount: started.amount,
    }))
}

/// What the callback did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwishCallbackView {
    pub received: bool,
    /// `paid`, `unmatched`, `alreadyRecorded`, `notPaid`.
    pub outcome: String,
    /// The payment recorded or found (`swish:{id}`).
    pub payment_id: Option<String>,
}

#[utoipa::path(post, path = "/providers/swish/callback", operation_id = "swishCallback", tag = "billing", summary = "Swish's callback for a payment request (the callbackUrl of every request the CSMS makes): the request is read back from Swish over the merchant's certificate and only that is acted on; a paid one is booked once against the invoice whose OCR reference it carries", security(()), request_body(content = String, content_type = "application/json", description = "The payment request as Swish sends it"), responses((status = 200, body = SwishCallbackView), (status = 400, description = "Not a Swish callback; nothing was done", body = ErrorBody), (status = 404, description = "Swish knows no such payment request", body = ErrorBody), (status = 500, description = "The store failed: Swish calls again", body = ErrorBody), (status = 503, description = "Swish is not set up, or did not answer: Swish calls again", body = ErrorBody)))]
pub async fn swish_callback(
    State(st): State<ApiState>,
    body: Bytes,
) -> Result<Json<SwishCallbackView>, ApiError> {
    let (outcome, payment) = match st.billing.swish_callback(&body).await? {
        SwishOutcome::Paid(p) => ("paid", Some(p.id)),
        SwishOutcome::Unmatched(p) => ("unmatched", Some(p.id)),
        SwishOutcome::AlreadyRecorded(p) => ("alreadyRecorded", Some(p.id)),
        SwishOutcome::NotPaid { .. } => ("notPaid", None),
    };
    Ok(Json(SwishCallbackView {
        received: true,
        outcome: outcome.into(),
        payment_id: payment.map(|p| p.to_string()),
    }))
}
