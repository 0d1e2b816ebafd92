//! Credit notes of an organisation's issued invoices:
//! `POST /invoices/{id}/credit-notes` (an organisation admin credits
//! chosen session lines, fee and charge lines, or an amount at one of the
//! invoice's VAT rates, with a reason), `GET /invoices/{id}/credit-notes`,
//! `GET /invoices/{id}/credit-notes/{number}` and its PDF and Peppol file
//! (`…/pdf`, `…/peppol`), and a driver's own credit note's PDF and Peppol
//! file: `GET /me/invoices/{id}/credit-notes/{number}/pdf`, `…/peppol`. The rules are
//! `csms_domain::billing::credit_note`, the use case
//! `csms_billing::credit_notes`.
//!
//! A field that does not parse, or names a line the invoice does not have,
//! is a 400 naming it; more than is left uncredited, or a line credited
//! before, a 409 saying what is left; another organisation's invoice a 404.

use crate::auth::Principal;
use crate::billing::{attachment, invoice_id, my_invoice, VatRateView};
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf};
use crate::util::{json_body, time};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use csms_billing::delivery::PDF_TYPE;
use csms_billing::peppol;
use csms_domain::billing::credit_note::{
    CreditAmount, CreditNote, CreditRequest, CreditedItem, PREFIX,
};
use csms_domain::billing::invoice::InvoiceNumber;
use csms_domain::SessionId;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

/// An amount to credit at one of the invoice's VAT rates.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreditAmountInput {
    /// A decimal string above 0, at most 1000000, in öre.
    #[schema(example = "20.00")]
    amount: String,
    /// Whether `amount` includes VAT (gross) or not (net).
    amount_includes_vat: bool,
    /// One of the invoice's VAT rates, e.g. `"0.25"`.
    #[schema(example = "0.25")]
    vat_rate: String,
}

/// What to credit: session lines and fee or charge lines of the invoice
/// whole, and/or an amount; at least one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewCreditNote {
    /// Session ids of the invoice's lines.
    #[serde(default)]
    #[schema(example = json!(["CP-101~88"]))]
    sessions: Vec<String>,
    /// Fee (`fee_…`) or charge (`chg_…`) ids of the invoice's charge lines.
    #[serde(default)]
    charges: Vec<String>,
    amount: Option<CreditAmountInput>,
    /// Why, as printed on the credit note: 1–200 characters.
    #[schema(example = "Fel pris på laddningen 3 november")]
    reason: String,
}

/// One line of a credit note: negative amounts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditLineView {
    /// `session`, `charge` or `amount`.
    pub kind: &'static str,
    /// The session's or the fee's or charge's id; `null` for an amount.
    pub source_id: Option<String>,
    pub description: String,
    pub vat_rate: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
}

/// A credit note (kreditfaktura): its own number series (`K1`, `K2`, …),
/// the invoice it credits, negative amounts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditNoteView {
    #[schema(example = "K1")]
    pub number: String,
    pub organisation_id: String,
    pub invoice_id: String,
    /// The credited invoice's number.
    pub invoice_number: String,
    pub user_id: String,
    pub currency: String,
    #[schema(format = Date)]
    pub issue_date: String,
    pub reason: String,
    pub lines: Vec<CreditLineView>,
    /// Per VAT rate, lowest first.
    pub vat_rates: Vec<VatRateView>,
    pub net: String,
    pub vat: String,
    /// Negative: what it takes off the invoice.
    pub gross: String,
    /// Who issued it.
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Whether the driver was mailed it now (`POST` only): `null` if so,
    /// else why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_mailed: Option<String>,
}

impl From<&CreditNote> for CreditNoteView {
    fn from(n: &CreditNote) -> Self {
        CreditNoteView {
            number: n.number.to_string(),
            organisation_id: n.org_id.to_string(),
            invoice_id: n.invoice_id.to_string(),
            invoice_number: n.invoice_number.to_string(),
            user_id: n.user_id.to_string(),
            currency: n.currency.clone(),
            issue_date: n.issue_date.to_string(),
            reason: n.reason.clone(),
            lines: n
                .lines
                .iter()
                .map(|l| {
                    let (kind, source_id) = match &l.item {
                        CreditedItem::Session(s) => ("session", Some(s.to_string())),
                        CreditedItem::Charge(c) => ("charge", Some(c.clone())),
                        CreditedItem::Amount => ("amount", None),
                    };
                    CreditLineView {
                        kind,
                        source_id,
                        description: l.description.clone(),
                        vat_rate: l.vat_rate.normalize().to_string(),
                        net: l.net.to_string(),
                        vat: l.vat.to_string(),
                        gross: l.gross.to_string(),
                    }
                })
                .collect(),
            vat_rates: n
                .vat
                .iter()
                .map(|v| VatRateView {
                    rate: v.rate.normalize().to_string(),
                    net: v.net.to_string(),
                    vat: v.vat.to_string(),
                    gross: v.gross.to_string(),
                })
                .collect(),
            net: n.net.to_string(),
            vat: n.vat_total.to_string(),
            gross: n.gross.to_string(),
            created_by: n.created_by.clone(),
            created_at: time(n.created_at),
            not_mailed: None,
        }
    }
}

fn decimal(field: &str, raw: &str) -> Result<Decimal, ApiError> {
    raw.trim().parse::<Decimal>().map_err(|_| {
        bad(
            field,
            format!("{raw:?} is not a decimal number as a string"),
        )
    })
}

/// `K{n}`.
fn note_number(raw: &str) -> Result<InvoiceNumber, ApiError> {
    InvoiceNumber::parse(raw)
        .ok()
        .filter(|n| n.prefix() == PREFIX)
        .ok_or_else(|| {
            bad(
                "number",
                format!("{raw:?} is not a credit note number (K1, K2, …)"),
            )
        })
}

fn request(input: NewCreditNote) -> Result<CreditRequest, ApiError> {
    const MAX_ITEMS: usize = 500;
    if input.sessions.len() + input.charges.len() > MAX_ITEMS {
        return Err(bad(
            "sessions",
            format!("at most {MAX_ITEMS} lines at once"),
        ));
    }
    let sessions = input
        .sessions
        .iter()
        .map(|s| SessionId::parse(s.as_str()).map_err(|e| bad("sessions", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let charges = input
        .charges
        .iter()
        .map(|c| {
            let c = c.trim();
            let plain = !c.is_empty()
                && c.len() <= 64
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            match plain {
                true => Ok(c.to_owned()),
                false => Err(bad("charges", format!("{c:?} is not a fee or charge id"))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let amount = input
        .amount
        .map(|a| {
            Ok::<_, ApiError>(CreditAmount {
                amount: decimal("amount.amount", &a.amount)?,
                includes_vat: a.amount_includes_vat,
                vat_rate: decimal("amount.vatRate", &a.vat_rate)?,
            })
        })
        .transpose()?;
    Ok(CreditRequest {
        sessions,
        charges,
        amount,
        reason: input.reason,
    })
}

#[utoipa::path(post, path = "/invoices/{id}/credit-notes", operation_id = "createCreditNote", tag = "billing", summary = "Credit an issued invoice wholly or in part: a credit note in the organisation's own series (K1, K2, …), booked in the ledger, settling the invoice when it covers what is left, mailed to the driver", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), request_body = NewCreditNote, responses((status = 201, body = CreditNoteView), (status = 400, description = "Invalid input, or a line the invoice does not have; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "More than is left uncredited (the message says what is left), or a line credited before", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreditNoteView>), ApiError> {
    let id = invoice_id(&id)?;
    let input: NewCreditNote = json_body(&body)?;
    let request = request(input)?;
    let issued = st
        .billing
        .issue_credit_note(&who.org_id, &id, &request, &who.actor().audit_name())
        .await?;
    let mut view = CreditNoteView::from(&issued.note);
    view.not_mailed = issued.mailed.err();
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/invoices/{id}/credit-notes", operation_id = "listCreditNotes", tag = "billing", summary = "An invoice's credit notes, in number order", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = ItemsOf<CreditNoteView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ItemsOf<CreditNoteView>>, ApiError> {
    let invoice = crate::billing::org_invoice(&st, &who, &id).await?;
    let notes = st.billing.credit_notes(&invoice).await?;
    Ok(Json(ItemsOf {
        items: notes.iter().map(Into::into).collect(),
    }))
}

async fn one(
    st: &ApiState,
    who: &Principal,
    id: &str,
    number: &str,
) -> Result<CreditNote, ApiError> {
    let id = invoice_id(id)?;
    let number = note_number(number)?;
    Ok(st.billing.credit_note(&who.org_id, &id, &number).await?)
}

#[utoipa::path(get, path = "/invoices/{id}/credit-notes/{number}", operation_id = "getCreditNote", tag = "billing", summary = "One credit note of an invoice", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("number" = String, Path, description = "The credit note's number, `K1`, `K2`, …")), responses((status = 200, body = CreditNoteView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<CreditNoteView>, ApiError> {
    let note = one(&st, &who, &id, &number).await?;
    Ok(Json((&note).into()))
}

#[utoipa::path(get, path = "/invoices/{id}/credit-notes/{number}/pdf", operation_id = "getCreditNotePdf", tag = "billing", summary = "A credit note as a PDF (rendered once and kept)", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("number" = String, Path, description = "The credit note's number, `K1`, `K2`, …")), responses((status = 200, description = "The PDF, as an attachment `kreditfaktura-{number}.pdf` (`credit-note-{number}.pdf` in English)", content_type = "application/pdf", body = Vec<u8>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "Documents are not set up", body = ErrorBody)))]
pub async fn pdf(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let note = one(&st, &who, &id, &number).await?;
    let (bytes, filename) = st.billing.credit_note_pdf(&note).await?;
    Ok(attachment(PDF_TYPE, &filename, bytes))
}

#[utoipa::path(get, path = "/me/invoices/{id}/credit-notes/{number}/pdf", operation_id = "getMyCreditNotePdf", tag = "me", summary = "A credit note of one of my invoices as a PDF; someone else's is not found", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("number" = String, Path, description = "The credit note's number, `K1`, `K2`, …")), responses((status = 200, description = "The PDF, as an attachment `kreditfaktura-{number}.pdf` (`credit-note-{number}.pdf` in English)", content_type = "application/pdf", body = Vec<u8>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "Documents are not set up", body = ErrorBody)))]
pub async fn my_pdf(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let invoice = my_invoice(&st, &who, &id).await?;
    let number = note_number(&number)?;
    let note = st
        .billing
        .credit_note(&invoice.org_id, &invoice.id, &number)
        .await?;
    let (bytes, filename) = st.billing.credit_note_pdf(&note).await?;
    Ok(attachment(PDF_TYPE, &filename, bytes))
}

/// The note's Peppol file as an attachment `kreditfaktura-K1.xml`.
async fn peppol_response(st: &ApiState, note: &CreditNote) -> Result<Response, ApiError> {
    let bytes = st.billing.credit_note_peppol(note).await?;
    Ok(attachment(
        peppol::XML_TYPE,
        &peppol::credit_note_filename(note),
        bytes,
    ))
}

#[utoipa::path(get, path = "/invoices/{id}/credit-notes/{number}/peppol", operation_id = "getCreditNotePeppol", tag = "billing", summary = "A credit note as a Peppol BIS Billing 3.0 file (UBL 2.1 `CreditNote`), made now from the note, its invoice, the organisation's record and the buyer's company as issued", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("number" = String, Path, description = "The credit note's number, `K1`, `K2`, …")), responses((status = 200, description = "The UBL credit note, as an attachment `kreditfaktura-{number}.xml`", content_type = "application/xml", body = String), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "No valid file can be made; the message names what is missing: the organisation's `organisationNumber`, `vatNumber` or `address`, or the buyer's `company` (the driver charged privately when the invoice was issued)", body = ErrorBody), (status = 503, description = "`CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn peppol(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let note = one(&st, &who, &id, &number).await?;
    peppol_response(&st, &note).await
}

#[utoipa::path(get, path = "/me/invoices/{id}/credit-notes/{number}/peppol", operation_id = "getMyCreditNotePeppol", tag = "me", summary = "A credit note of one of my invoices as a Peppol BIS Billing 3.0 file (UBL 2.1 `CreditNote`) for my company's accounts; someone else's is not found", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)"), ("number" = String, Path, description = "The credit note's number, `K1`, `K2`, …")), responses((status = 200, description = "The UBL credit note, as an attachment `kreditfaktura-{number}.xml`", content_type = "application/xml", body = String), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "No valid file can be made; the message names what is missing: my `company` when the invoice was issued, or the organisation's `organisationNumber`, `vatNumber` or `address`", body = ErrorBody), (status = 503, description = "`CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn my_peppol(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let invoice = my_invoice(&st, &who, &id).await?;
    let number = note_number(&number)?;
    let note = st
        .billing
        .credit_note(&invoice.org_id, &invoice.id, &number)
        .await?;
    peppol_response(&st, &note).await
}
