//! Payments on the platform's client-funds Bankgiro, the platform admin's
//! (the account is the platform's, not an organisation's):
//! `POST /payments/bankgiro` imports a BgMax file (the file as the body,
//! `text/plain`), `GET /payments/unmatched` lists what matched no invoice,
//! `POST /payments/{id}/match` matches one by hand. An invoice's payments
//! show on `GET /invoices/{id}`.

use crate::auth::Principal;
use crate::billing::PaymentView;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use csms_domain::billing::invoice::InvoiceId;
use csms_domain::billing::payment::PaymentId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn platform_admin(who: &Principal) -> Result<(), ApiError> {
    if !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "payments on the client-funds account are the platform admin's".into(),
        ));
    }
    Ok(())
}

/// What an import did with each payment of the file.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    /// Matched to an invoice and booked by this import.
    pub matched: Vec<PaymentView>,
    /// Recorded by an earlier import: nothing done again.
    pub already_imported: Vec<PaymentView>,
    /// Recorded, matching no invoice: match them by hand.
    pub unmatched: Vec<PaymentView>,
}

#[utoipa::path(post, path = "/payments/bankgiro", operation_id = "importBankgiroPayments", tag = "billing", summary = "Import Bankgirot's BgMax file of payments to the client-funds Bankgiro (the file as text/plain): each payment's OCR reference is matched to its invoice and booked once; importing a file again changes nothing", request_body(content = String, content_type = "text/plain"), responses((status = 200, body = ImportView), (status = 400, description = "The file breaks the BgMax layout, counts or totals; the message names the line and field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody)))]
pub async fn import_bankgiro(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<ImportView>, ApiError> {
    platform_admin(&who)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("body: the BgMax file is not UTF-8 text".into()))?;
    let result = st.billing.import_bgmax(text).await?;
    let views = |ps: &[csms_domain::billing::payment::Payment]| ps.iter().map(Into::into).collect();
    Ok(Json(ImportView {
        matched: views(&result.matched),
        already_imported: views(&result.already_imported),
        unmatched: views(&result.unmatched),
    }))
}

#[utoipa::path(get, path = "/payments/unmatched", operation_id = "listUnmatchedPayments", tag = "billing", summary = "Payments to the client-funds Bankgiro that matched no invoice, in id order", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<PaymentView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody)))]
pub async fn unmatched(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<PaymentView>>, ApiError> {
    platform_admin(&who)?;
    let listed = st.store.list_unmatched_payments(&page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

/// The invoice an unmatched payment pays.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MatchInput {
    /// `{organisation}~{period}~{userId}`.
    invoice_id: String,
}

#[utoipa::path(post, path = "/payments/{id}/match", operation_id = "matchPayment", tag = "billing", summary = "Match an unmatched payment to an invoice by hand: booked like a matched one, the invoice partly paid or paid", params(("id" = String, Path, description = "Payment id (`bgmax:{deposit serial}:{BGC serial}`)")), request_body = MatchInput, responses((status = 200, body = PaymentView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody), (status = 404, description = "No such payment or invoice", body = ErrorBody), (status = 409, description = "The payment is matched already, is a deduction, or is in another currency than the invoice", body = ErrorBody)))]
pub async fn match_payment(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PaymentView>, ApiError> {
    platform_admin(&who)?;
    let id = PaymentId::parse(&id).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?;
    let input: MatchInput = json_body(&body)?;
    let invoice = InvoiceId::parse(input.invoice_id.trim())
        .map_err(|e| ApiError::BadRequest(format!("invoiceId: {e}")))?;
    let matched = st.billing.match_payment(&id, &invoice).await?;
    Ok(Json((&matched).into()))
}
