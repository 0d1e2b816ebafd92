//! The monthly self-invoice and payout of an organisation:
//! `POST /settlement-runs` settles a month now (what the daily billing does
//! from the organisation's payout day on; the platform admin's only, as the
//! payout moves the platform's client funds), `GET /settlements/{period}`
//! reads a month's figures from the ledger, `…/pdf` is the self-invoice and
//! `…/payout-file` the payout's bank file (the platform admin's only: it
//! names the client-funds account): a Bankgirot supplier-payment (LB) file
//! to an organisation's Bankgiro, else an ISO 20022 credit transfer.

use crate::auth::Principal;
use crate::billing::attachment;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use chrono::NaiveDate;
use csms_billing::settlement::{self_invoice_number, SettleResult};
use csms_domain::billing::period::Period;
use csms_domain::billing::settlement::Settlement;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A month to settle.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SettlementRunInput {
    /// The month, `YYYY-MM` (Europe/Stockholm); it must have ended.
    #[schema(example = "2026-11")]
    period: String,
    /// The payout's execution date, `YYYY-MM-DD`; default today.
    #[schema(format = Date, example = "2026-12-25")]
    date: Option<String>,
}

/// The platform's fee of the month.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeView {
    /// Decimal strings.
    pub net: String,
    pub vat: String,
    pub gross: String,
    /// How it was reckoned.
    pub basis: String,
    /// Booked in the ledger (else: what it would be now).
    pub booked: bool,
}

/// A payment booked in the month that was made after its invoice's due date.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatePaymentView {
    /// The payment's id.
    pub payment_id: String,
    pub invoice_id: String,
    pub invoice_number: String,
    pub driver_id: String,
    pub driver_name: String,
    /// The month the invoice was for, `YYYY-MM`.
    pub invoice_period: String,
    #[schema(format = Date)]
    pub due_date: String,
    /// What this payment paid (decimal string).
    pub amount: String,
    #[schema(format = Date)]
    pub paid_on: String,
}

/// An organisation's month settled (or as it would be settled now), every
/// figure from the ledger. Amounts are decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementView {
    pub organisation_id: String,
    #[schema(example = "2026-11")]
    pub period: String,
    /// The self-invoice's number, `SF-{period}`.
    pub number: String,
    pub currency: String,
    /// Payments booked in the month to the organisation's invoices.
    pub paid_in: String,
    pub payments: u64,
    /// Paid at the organisation's chargers in the month (no invoice).
    pub public_revenue: String,
    /// Refunded to drivers in the month (money that left the client funds).
    pub refunded: String,
    pub refunds: u64,
    /// Drivers' credits at the month's end (overpaid, or credited on a
    /// paid invoice and not yet refunded): held back from the payout.
    pub driver_credit: String,
    /// What drivers still owed at the month's end.
    pub unpaid_at_end: String,
    /// Stations in service (the fixed fee's basis).
    pub stations: u32,
    pub fee: FeeView,
    /// The month's payout.
    pub payout: String,
    /// When the payout was booked; `null`: not (yet).
    #[schema(format = DateTime)]
    pub payout_booked_at: Option<String>,
    /// Why no payout is made, when none can be.
    pub payout_blocked: Option<String>,
    /// The books to the month's end: paid in (less refunds) = payouts +
    /// fees + held.
    pub paid_in_total: String,
    pub fees_total: String,
    pub payouts_total: String,
    /// Still held for the organisation (negative: fees it owes).
    pub held: String,
    /// The month's payments made after their invoice's due date, by the
    /// day paid.
    pub late_payments: Vec<LatePaymentView>,
    /// Their sum, part of `paidIn`.
    pub paid_late: String,
    /// Whether the identity above holds to the öre, and the late payments
    /// sum to `paidLate`.
    pub reconciles: bool,
}

impl From<&Settlement> for SettlementView {
    fn from(s: &Settlement) -> Self {
        SettlementView {
            organisation_id: s.org_id.to_string(),
            period: s.period.to_string(),
            number: self_invoice_number(s.period),
            currency: s.currency.clone(),
            paid_in: s.paid_in.to_string(),
            payments: s.payments,
            public_revenue: s.public_revenue.to_string(),
            refunded: s.refunded.to_string(),
            refunds: s.refunds,
            driver_credit: s.driver_credit.to_string(),
            unpaid_at_end: s.unpaid_at_end.to_string(),
            stations: s.stations,
            fee: FeeView {
                net: s.fee.net.to_string(),
                vat: s.fee.vat.to_string(),
                gross: s.fee.gross.to_string(),
                basis: s.fee.basis.clone(),
                booked: s.fee_booked,
            },
            payout: s.payout.to_string(),
            payout_booked_at: s.payout_booked_at.map(|t| t.to_rfc3339()),
            payout_blocked: s.payout_blocked.clone(),
            paid_in_total: s.paid_in_total.to_string(),
            fees_total: s.fees_total.to_string(),
            payouts_total: s.payouts_total.to_string(),
            held: s.held.to_string(),
            late_payments: s
                .late_payments
                .iter()
                .map(|p| LatePaymentView {
                    payment_id: p.payment.to_string(),
                    invoice_id: p.invoice_id.to_string(),
                    invoice_number: p.invoice_number.to_string(),
                    driver_id: p.driver.to_string(),
                    driver_name: p.driver_name.clone(),
                    invoice_period: p.invoice_period.to_string(),
                    due_date: p.due_date.to_string(),
                    amount: p.amount.to_string(),
                    paid_on: p.paid_on.to_string(),
                })
                .collect(),
            paid_late: s.paid_late.to_string(),
            reconciles: s.reconciles(),
        }
    }
}

/// What a run did; a re-run books nothing and mails nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementRunView {
    pub settlement: SettlementView,
    pub fee_booked_now: bool,
    pub payout_booked_now: bool,
    /// The PDF and the bank file were stored by this run.
    pub documents_stored: bool,
    /// The self-invoice was mailed by this run.
    pub mailed: bool,
    /// Why documents or the mail were not made, if so.
    pub delivery_problem: Option<String>,
}

impl From<&SettleResult> for SettlementRunView {
    fn from(r: &SettleResult) -> Self {
        SettlementRunView {
            settlement: (&r.settlement).into(),
            fee_booked_now: r.fee_booked_now,
            payout_booked_now: r.payout_booked_now,
            documents_stored: r.documents_stored,
            mailed: r.mailed,
            delivery_problem: r.delivery_problem.clone(),
        }
    }
}

fn period(raw: &str) -> Result<Period, ApiError> {
    Period::parse(raw.trim()).map_err(|e| ApiError::BadRequest(format!("period: {e}")))
}

fn platform_admin(who: &Principal, what: &str) -> Result<(), ApiError> {
    if who.is_platform_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only the platform admin {what} (payouts move the platform's client funds)"
        )))
    }
}

#[utoipa::path(post, path = "/settlement-runs", operation_id = "runSettlement", tag = "billing", summary = "Settle the organisation's month now: the platform fee and the payout booked once, the self-invoice PDF and the payout's bank file stored and mailed; running it again changes nothing (platform admin only)", request_body = SettlementRunInput, responses((status = 200, body = SettlementRunView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody), (status = 404, description = "The organisation has no record", body = ErrorBody), (status = 409, description = "The month has not ended", body = ErrorBody)))]
pub async fn run(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<SettlementRunView>, ApiError> {
    let input: SettlementRunInput = json_body(&body)?;
    let period = period(&input.period)?;
    let date = match input.date {
        None => st.billing.today(),
        Some(d) => d
            .trim()
            .parse::<NaiveDate>()
            .map_err(|_| ApiError::BadRequest(format!("date: {d:?} is not a date YYYY-MM-DD")))?,
    };
    platform_admin(&who, "settles a month")?;
    let result = st.billing.settle_month(&who.org_id, period, date).await?;
    Ok(Json((&result).into()))
}

#[utoipa::path(get, path = "/settlements/{period}", operation_id = "getSettlement", tag = "billing", summary = "The organisation's month as settled (or as it would be settled now): paid in, unpaid, the platform fee, the payout, and the books that reconcile them", params(("period" = String, Path, description = "Month, `YYYY-MM`")), responses((status = 200, body = SettlementView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "The organisation has no record", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<SettlementView>, ApiError> {
    let period = period(&raw)?;
    let s = st.billing.settlement(&who.org_id, period).await?;
    Ok(Json((&s).into()))
}

#[utoipa::path(get, path = "/settlements/{period}/pdf", operation_id = "getSettlementPdf", tag = "billing", summary = "The month's self-invoice as a PDF (once the month is settled)", params(("period" = String, Path, description = "Month, `YYYY-MM`")), responses((status = 200, description = "The PDF, as an attachment `SF-{period}-{organisation}.pdf`", content_type = "application/pdf", body = Vec<u8>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not settled yet, or no organisation record", body = ErrorBody)))]
pub async fn pdf(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let period = period(&raw)?;
    let (name, bytes) = st.billing.settlement_pdf(&who.org_id, period).await?;
    Ok(attachment("application/pdf", &name, bytes))
}

#[utoipa::path(get, path = "/settlements/{period}/payout-file", operation_id = "getPayoutFile", tag = "billing", summary = "The month's payout as a bank file from the client-funds account (platform admin only): to a Bankgiro a Bankgirot supplier-payment (LB) file, else an ISO 20022 credit transfer (pain.001.001.09)", params(("period" = String, Path, description = "Month, `YYYY-MM`")), responses((status = 200, description = "The file, as an attachment: `payout-{organisation}-{period}.txt` (LB, 80-character records in ISO 8859-1) or `payout-{organisation}-{period}.xml` (pain.001)", content((String = "application/xml"), (String = "text/plain; charset=ISO-8859-1"))), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "Not the platform admin", body = ErrorBody), (status = 404, description = "No payout was booked for the month", body = ErrorBody)))]
pub async fn payout_file(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let period = period(&raw)?;
    platform_admin(&who, "reads payout files")?;
    let (name, file) = st.billing.payout_file(&who.org_id, period).await?;
    Ok(attachment(file.content_type, &name, file.bytes))
}
