//! Billing: `POST /invoice-runs` (invoice the organisation's drivers for a
//! month), `GET /invoices`, `GET /invoices/{id}`, `GET /me/invoices` (a
//! signed-in driver's own, from every organisation), and the ledger of
//! client funds: `GET /ledger/accounts` (balances) and
//! `GET /ledger/reconciliation` (debits = credits, overall and per account),
//! and an invoice's PDF: `GET /invoices/{id}/pdf`, `GET /me/invoices/{id}/pdf`,
//! and its Peppol BIS Billing 3.0 file: `GET /invoices/{id}/peppol`,
//! `GET /me/invoices/{id}/peppol`, for a driver who charges for a company
//! (`PUT/GET/DELETE /me/company`).
//!
//! Amounts are decimal strings as the invoice shows them (`"50.00"`).
//! Every bad value is a 400 naming the field; another organisation's
//! invoice is a 404 like a missing one.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::me::person;
use crate::openapi::{ErrorBody, ItemsOf, ListOf};
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_billing::delivery::PDF_TYPE;
use csms_billing::invoice_run::RunResult;
use csms_billing::peppol;
use csms_billing::BillingError;
use csms_domain::billing::invoice::{ChargeKind, ChargeLine, Invoice, InvoiceId, InvoiceStatus};
use csms_domain::billing::ledger::Balances;
use csms_domain::billing::period::Period;
use csms_domain::tenant::{text, OrganisationNumber};
use csms_domain::user::{BuyerCompany, UserId};
use csms_kernel::ports::InvoiceQuery;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::OrganisationNotFound(org) => {
                ApiError::NotFound(format!("organisation {org} has no record"))
            }
            BillingError::Books(m) => ApiError::Internal(m),
            BillingError::BgMax(e) => ApiError::BadRequest(e.to_string()),
            BillingError::Invalid(m) => ApiError::BadRequest(m),
            e @ BillingError::NotFound(_) => ApiError::NotFound(e.to_string()),
            BillingError::Refused(m) => ApiError::Conflict(m),
            BillingError::Unavailable(m) => ApiError::NotConfigured(m),
            BillingError::Store(e) => e.into(),
        }
    }
}

/// A month to invoice.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InvoiceRunInput {
    /// The month, `YYYY-MM`, in the organisation's time zone
    /// (Europe/Stockholm): sessions that started in it are invoiced.
    #[schema(example = "2026-11")]
    period: String,
}

pub use csms_kernel::views::InvoiceSummary;

/// A reminder sent for an invoice.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReminderView {
    /// 1, 2, …
    pub number: u8,
    /// The day it was due on.
    #[schema(format = Date)]
    pub on: String,
    /// What was left of the invoice then.
    pub amount_due: String,
    /// Its fee, booked as its own ledger transaction
    /// (`reminder-fee:{number}:{n}`); `null`: none.
    pub fee: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// `null` until it was handed to the mailer.
    #[schema(format = DateTime)]
    pub mailed_at: Option<String>,
}

/// An invoice's dispute.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceDisputeView {
    pub reason: String,
    /// Who opened it (an API key id, a user id).
    pub by: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// `null`: open.
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
}

/// The block an unpaid invoice put on its driver.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceBlockView {
    #[schema(format = Date)]
    pub on: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// When it was lifted (paid, or by hand); `null`: it blocks now.
    #[schema(format = DateTime)]
    pub lifted_at: Option<String>,
    /// `payment`, or who lifted it by hand.
    pub lifted_by: Option<String>,
}

/// Who issued the invoice, as printed on it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceSeller {
    pub organisation_id: String,
    pub legal_name: String,
    pub organisation_number: Option<String>,
    pub vat_number: Option<String>,
    pub address: Option<String>,
}

/// Who is invoiced, as printed on it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceBuyer {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// The company the driver charged for when the invoice was issued
    /// (kept with it: a later `PUT /me/company` does not change it); absent
    /// when they charged privately, or for an invoice issued before the
    /// company was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<CompanyView>,
}

/// One charging session on an invoice.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLineView {
    pub session_id: String,
    pub station_id: String,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub ended_at: String,
    pub energy_kwh: String,
    pub tariff_name: String,
    /// The revision of the session's price invoiced.
    pub price_revision: u32,
    /// e.g. `"0.25"`.
    pub vat_rate: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
}

/// A monthly fee's or one-off charge's line on an invoice, after the
/// sessions.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChargeLineView {
    /// `fee` (a recurring monthly fee, pro rata) or `charge` (a one-off charge).
    #[schema(example = "fee")]
    pub kind: &'static str,
    /// The fee's (`fee_…`) or charge's (`chg_…`) id.
    pub source_id: String,
    /// The fee's name or the charge's description, as invoiced.
    pub description: String,
    /// A fee's first and last day charged in the period (`kind` fee).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub to: Option<String>,
    /// A fee's days charged of the days in the month (`kind` fee).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_in_month: Option<u32>,
    /// A charge's date (`kind` charge).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub date: Option<String>,
    pub vat_rate: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
}

impl From<&ChargeLine> for ChargeLineView {
    fn from(l: &ChargeLine) -> Self {
        let mut v = ChargeLineView {
            kind: "fee",
            source_id: l.source_id().to_owned(),
            description: l.description.clone(),
            from: None,
            to: None,
            days: None,
            days_in_month: None,
            date: None,
            vat_rate: l.vat_rate.normalize().to_string(),
            net: l.net.to_string(),
            vat: l.vat.to_string(),
            gross: l.gross.to_string(),
        };
        match &l.kind {
            ChargeKind::Fee {
                from,
                to,
                days,
                days_in_month,
                ..
            } => {
                v.from = Some(from.to_string());
                v.to = Some(to.to_string());
                v.days = Some(*days);
                v.days_in_month = Some(*days_in_month);
            }
            ChargeKind::OneOff { date, .. } => {
                v.kind = "charge";
                v.date = Some(date.to_string());
            }
        }
        v
    }
}

/// The amounts of one VAT rate.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VatRateView {
    pub rate: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
}

/// An invoice with its lines.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceView {
    #[serde(flatten)]
    pub summary: InvoiceSummary,
    pub seller: InvoiceSeller,
    pub buyer: InvoiceBuyer,
    pub lines: Vec<InvoiceLineView>,
    /// Monthly fees and one-off charges, after the sessions.
    pub charges: Vec<ChargeLineView>,
    /// Per VAT rate, lowest first.
    pub vat_rates: Vec<VatRateView>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The payments received for it (`GET /invoices/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PaymentView>>,
    /// What they paid (`GET /invoices/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid: Option<String>,
    /// The gross amount less what is paid and credited, never below 0 (`GET /invoices/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<String>,
    /// The reminders sent, in order.
    pub reminders: Vec<ReminderView>,
    /// The reminders' fees summed (owed beside the amount due).
    pub reminder_fees: String,
    /// The block its being unpaid put on the driver; `null`: none.
    pub block: Option<InvoiceBlockView>,
    /// Its last dispute; while open, no reminder, block or saved-card
    /// charge happens. `null`: never disputed.
    pub dispute: Option<InvoiceDisputeView>,
    /// Charges of the driver's saved card, in order (on the due date, then
    /// the retry days).
    pub card_attempts: Vec<CardAttemptView>,
    /// Its credit notes, in number order (`GET /invoices/{id}/credit-notes`
    /// has them whole).
    pub credit_notes: Vec<CreditNoteRefView>,
    /// What they took off, summed (positive).
    pub credited: String,
}

/// A credit note of an invoice, as the invoice lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditNoteRefView {
    /// `K1`, `K2`, …
    pub number: String,
    #[schema(format = Date)]
    pub issue_date: String,
    /// What it took off (its gross, positive).
    pub credited: String,
}

/// One charge of the driver's saved card.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardAttemptView {
    pub number: u8,
    #[schema(format = Date)]
    pub on: String,
    pub amount: String,
    /// The Stripe PaymentIntent, once Stripe answered with one.
    pub payment_intent_id: Option<String>,
    /// `pending` (asked, not answered yet), `succeeded`, `failed`.
    pub outcome: String,
    /// Stripe's code and message of a failure.
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A payment received on the client-funds account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// `bgmax:{deposit serial}:{BGC serial}` or `stripe:{PaymentIntent
    /// id}`, also its ledger reference.
    pub id: String,
    /// `bankgiro` or `stripe`.
    pub provider: String,
    /// The reference the payer gave (an OCR reference; the invoice number
    /// of a card payment), empty if none.
    pub reference: String,
    pub amount: String,
    pub currency: String,
    #[schema(format = Date)]
    pub paid_on: String,
    pub payer_name: Option<String>,
    /// The invoice it pays, once matched.
    pub invoice_id: Option<String>,
    /// What it paid beyond the amount due when matched.
    pub surplus: String,
    #[schema(format = DateTime)]
    pub received_at: String,
}

impl From<&csms_domain::billing::payment::Payment> for PaymentView {
    fn from(p: &csms_domain::billing::payment::Payment) -> Self {
        PaymentView {
            id: p.id.to_string(),
            provider: p.provider.clone(),
            reference: p.reference.clone(),
            amount: p.amount.to_string(),
            currency: p.currency.clone(),
            paid_on: p.paid_on.to_string(),
            payer_name: p.payer_name.clone(),
            invoice_id: p.invoice_id.as_ref().map(|i| i.to_string()),
            surplus: p.surplus.to_string(),
            received_at: time(p.received_at),
        }
    }
}

impl From<&Invoice> for InvoiceView {
    fn from(i: &Invoice) -> Self {
        InvoiceView {
            summary: i.into(),
            seller: InvoiceSeller {
                organisation_id: i.org_id.to_string(),
                legal_name: i.seller.legal_name.clone(),
                organisation_number: i.seller.organisation_number.clone(),
                vat_number: i.seller.vat_number.clone(),
                address: i.seller.address.clone(),
            },
            buyer: InvoiceBuyer {
                user_id: i.buyer.user_id.to_string(),
                name: i.buyer.name.clone(),
                email: i.buyer.email.clone(),
                company: i.buyer.charged_for.company(None).map(CompanyView::from),
            },
            lines: i
                .lines
                .iter()
                .map(|l| InvoiceLineView {
                    session_id: l.session_id.to_string(),
                    station_id: l.station_id.to_string(),
                    started_at: time(l.started_at),
                    ended_at: time(l.ended_at),
                    energy_kwh: l.energy_kwh.normalize().to_string(),
                    tariff_name: l.tariff_name.clone(),
                    price_revision: l.price_revision,
                    vat_rate: l.vat_rate.normalize().to_string(),
                    net: l.net.to_string(),
                    vat: l.vat.to_string(),
                    gross: l.gross.to_string(),
                })
                .collect(),
            charges: i.charges.iter().map(Into::into).collect(),
            vat_rates: i
                .vat
                .iter()
                .map(|v| VatRateView {
                    rate: v.rate.normalize().to_string(),
                    net: v.net.to_string(),
                    vat: v.vat.to_string(),
                    gross: v.gross.to_string(),
                })
                .collect(),
            created_at: time(i.created_at),
            payments: None,
            paid: None,
            amount_due: None,
            reminders: i
                .reminders
                .iter()
                .map(|r| ReminderView {
                    number: r.number,
                    on: r.on.to_string(),
                    amount_due: r.amount_due.to_string(),
                    fee: r.fee.map(|f| f.to_string()),
                    recorded_at: time(r.recorded_at),
                    mailed_at: r.mailed_at.map(time),
                })
                .collect(),
            card_attempts: i
                .card_attempts
                .iter()
                .map(|a| CardAttemptView {
                    number: a.number,
                    on: a.on.to_string(),
                    amount: a.amount.to_string(),
                    payment_intent_id: a.intent.clone(),
                    outcome: a.outcome.as_str().into(),
                    reason: a.reason.clone(),
                    at: time(a.at),
                })
                .collect(),
            reminder_fees: i.reminder_fees().unwrap_or_default().to_string(),
            block: i.block.as_ref().map(|b| InvoiceBlockView {
                on: b.on.to_string(),
                at: time(b.at),
                lifted_at: b.lifted_at.map(time),
                lifted_by: b.lifted_by.clone(),
            }),
            credit_notes: i
                .credit_notes
                .iter()
                .map(|n| CreditNoteRefView {
                    number: n.number.to_string(),
                    issue_date: n.issue_date.to_string(),
                    credited: n.credited.to_string(),
                })
                .collect(),
            credited: i.credited().unwrap_or_default().to_string(),
            dispute: i.dispute.as_ref().map(|d| InvoiceDisputeView {
                reason: d.reason.clone(),
                by: d.by.clone(),
                at: time(d.at),
                resolved_at: d.resolved_at.map(time),
                resolved_by: d.resolved_by.clone(),
            }),
        }
    }
}

/// A session of the period on no invoice of the run, and why.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSessionView {
    pub session_id: String,
    /// `anonymous` (no person holds the identifier that started it),
    /// `active` (still charging), `notPriced`, `otherCurrency`,
    /// `afterInvoice` (priced after its driver's invoice of the period was
    /// issued), `unknownDriver`.
    pub reason: String,
}

/// What a run did. A re-run of a month creates nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRunView {
    pub organisation_id: String,
    pub period: String,
    /// The invoices this run issued, in number order.
    pub created: Vec<InvoiceSummary>,
    /// Ids of the period's invoices that an earlier run issued.
    pub existing: Vec<String>,
    /// Sessions on the invoices this run issued.
    pub sessions_invoiced: usize,
    /// Fee and charge lines on the invoices this run issued.
    pub charges_invoiced: usize,
    pub skipped: Vec<SkippedSessionView>,
    /// Fees and charges of the period on no invoice of this run: the
    /// driver's invoice was issued before (`afterInvoice`) or the person is
    /// gone (`unknownDriver`).
    pub skipped_charges: Vec<SkippedChargeView>,
    /// Ledger transactions this run booked.
    pub ledger_posted: usize,
    pub delivery: DeliveryView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedChargeView {
    /// The fee's or charge's id.
    pub source_id: String,
    pub user_id: String,
    pub reason: String,
}

/// The PDFs and mails of the period's invoices (this run's, and an earlier
/// run's not yet delivered). A re-run renders and mails nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// PDFs rendered and stored by this run.
    pub pdfs_rendered: usize,
    /// Invoices mailed by this run, with the PDF attached.
    pub mailed: Vec<String>,
    /// Invoices mailed before.
    pub mailed_before: usize,
    /// Invoices whose driver has no e-mail address: not mailed.
    pub no_email: Vec<String>,
    /// Invoices whose PDF or mail failed, and why (the mail is not tried
    /// again by a re-run; the PDF is downloadable).
    pub failed: Vec<DeliveryFailureView>,
    /// Why nothing was delivered (a missing setting such as
    /// `CSMS_BANKGIRO`), if so.
    pub unavailable: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFailureView {
    pub invoice_id: String,
    pub reason: String,
}

impl From<&RunResult> for InvoiceRunView {
    fn from(r: &RunResult) -> Self {
        InvoiceRunView {
            organisation_id: r.org_id.to_string(),
            period: r.period.to_string(),
            created: r.created.iter().map(Into::into).collect(),
            existing: r.existing.iter().map(ToString::to_string).collect(),
            sessions_invoiced: r.sessions_invoiced,
            charges_invoiced: r.charges_invoiced,
            skipped_charges: r
                .skipped_charges
                .iter()
                .map(|s| SkippedChargeView {
                    source_id: s.source_id.clone(),
                    user_id: s.user_id.to_string(),
                    reason: s.reason.as_str().into(),
                })
                .collect(),
            skipped: r
                .skipped
                .iter()
                .map(|s| SkippedSessionView {
                    session_id: s.session_id.to_string(),
                    reason: s.reason.as_str().into(),
                })
                .collect(),
            ledger_posted: r.ledger_posted,
            delivery: DeliveryView {
                pdfs_rendered: r.delivery.pdfs_rendered,
                mailed: r.delivery.mailed.iter().map(ToString::to_string).collect(),
                mailed_before: r.delivery.mailed_before,
                no_email: r
                    .delivery
                    .no_email
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                failed: r
                    .delivery
                    .failed
                    .iter()
                    .map(|(id, reason)| DeliveryFailureView {
                        invoice_id: id.to_string(),
                        reason: reason.clone(),
                    })
                    .collect(),
                unavailable: r.delivery.unavailable.clone(),
            },
        }
    }
}

#[utoipa::path(post, path = "/invoice-runs", operation_id = "runInvoices", tag = "billing", summary = "Invoice the organisation's drivers for a month: one invoice per driver with a line per priced session, numbered in the organisation's gapless series; re-running a month creates nothing", request_body = InvoiceRunInput, responses((status = 200, body = InvoiceRunView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "The organisation has no record", body = ErrorBody), (status = 409, description = "Another run kept taking the numbers; run again", body = ErrorBody)))]
pub async fn run(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<InvoiceRunView>, ApiError> {
    let input: InvoiceRunInput = json_body(&body)?;
    let period = Period::parse(input.period.trim()).map_err(|e| bad("period", e))?;
    let result = st.billing.run_invoices(&who.org_id, period).await?;
    Ok(Json((&result).into()))
}

/// The list's filters and page, in the caller's organisation.
fn query(params: &Params, org: &csms_domain::OrgId) -> Result<InvoiceQuery, ApiError> {
    Ok(InvoiceQuery {
        org_id: org.clone(),
        period: params
            .get("period")
            .map(|p| Period::parse(p.trim()).map_err(|e| bad("period", e)))
            .transpose()?,
        user_id: params
            .get("userId")
            .map(|u| UserId::parse(u.trim()).map_err(|e| bad("userId", e)))
            .transpose()?,
        status: params
            .get("status")
            .map(|s| InvoiceStatus::parse(s.trim()).map_err(|e| bad("status", e)))
            .transpose()?,
        page: page(params)?,
    })
}

#[utoipa::path(get, path = "/invoices", operation_id = "listInvoices", tag = "billing", summary = "The organisation's invoices, highest number first", params(("period" = Option<String>, Query, description = "Only this month, `YYYY-MM`"), ("userId" = Option<String>, Query, description = "Only this driver's (`usr_…`)"), ("status" = Option<String>, Query, description = "Only this status: `issued`, `partlyPaid`, `paid`"), ("overdue" = Option<bool>, Query, description = "`true`: only those not paid in full and past their due date (a page may then hold fewer than `limit`; follow `nextCursor`)"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<InvoiceSummary>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<InvoiceSummary>>, ApiError> {
    let overdue = match params.get("overdue").map(|s| s.trim()) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(bad("overdue", format!("{other:?} is not true or false"))),
    };
    let listed = st
        .store
        .list_invoices(&query(&params, &who.org_id)?)
        .await?;
    let today = st.billing.today();
    Ok(Json(ListOf {
        items: listed
            .items
            .iter()
            .filter(|i| !overdue || i.is_overdue(today))
            .map(Into::into)
            .collect(),
        next_cursor: listed.next_cursor,
    }))
}

/// The signed-in person's invoice `raw`; someone else's is not found.
pub(crate) async fn my_invoice(
    st: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<csms_domain::billing::invoice::Invoice, ApiError> {
    let me = person(who)?;
    let id = invoice_id(raw)?;
    st.store
        .get_invoice(&id)
        .await?
        .filter(|i| &i.user_id == me)
        .ok_or_else(|| ApiError::NotFound(format!("invoice {id} not found")))
}

pub(crate) fn invoice_id(raw: &str) -> Result<InvoiceId, ApiError> {
    InvoiceId::parse(raw).map_err(|e| bad("id", e))
}

#[utoipa::path(get, path = "/invoices/{id}", operation_id = "getInvoice", tag = "billing", summary = "An invoice with its lines, its payments and the amount due", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = InvoiceView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    let id = invoice_id(&id)?;
    let invoice = st
        .store
        .get_invoice(&id)
        .await?
        .filter(|i| i.org_id == who.org_id)
        .ok_or_else(|| ApiError::NotFound(format!("invoice {id} not found")))?;
    Ok(Json(detailed(&st, invoice).await?))
}

/// An invoice's whole view: with its payments and the amount due.
pub(crate) async fn detailed(st: &ApiState, invoice: Invoice) -> Result<InvoiceView, ApiError> {
    let owed = st.billing.invoice_payments(&invoice).await?;
    let mut view = InvoiceView::from(&invoice);
    view.payments = Some(owed.payments.iter().map(Into::into).collect());
    view.paid = Some(owed.paid.to_string());
    view.amount_due = Some(owed.due.to_string());
    Ok(view)
}

/// `bytes` as a download named `filename`.
pub(crate) fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The invoice `raw` of the caller's organisation (another's is not found).
pub(crate) async fn org_invoice(
    st: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<Invoice, ApiError> {
    let id = invoice_id(raw)?;
    st.store
        .get_invoice(&id)
        .await?
        .filter(|i| i.org_id == who.org_id)
        .ok_or_else(|| ApiError::NotFound(format!("invoice {id} not found")))
}

/// The invoice's PDF as a download.
async fn pdf_response(st: &ApiState, invoice: &Invoice) -> Result<Response, ApiError> {
    let (bytes, _) = st.billing.invoice_pdf(invoice).await?;
    Ok(attachment(
        PDF_TYPE,
        &format!("faktura-{}.pdf", invoice.number),
        bytes,
    ))
}

#[utoipa::path(get, path = "/invoices/{id}/pdf", operation_id = "getInvoicePdf", tag = "billing", summary = "The invoice as a PDF (rendered when it was issued; rendered again if the stored file is missing)", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, description = "The PDF, as an attachment `faktura-{number}.pdf`", content_type = "application/pdf", body = Vec<u8>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "The PDF cannot be made: `CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn pdf(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = org_invoice(&st, &who, &id).await?;
    pdf_response(&st, &invoice).await
}

#[utoipa::path(get, path = "/me/invoices/{id}/pdf", operation_id = "getMyInvoicePdf", tag = "me", summary = "One of my invoices as a PDF; someone else's is not found", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, description = "The PDF, as an attachment `faktura-{number}.pdf`", content_type = "application/pdf", body = Vec<u8>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "The PDF cannot be made: `CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn my_pdf(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = my_invoice(&st, &who, &id).await?;
    pdf_response(&st, &invoice).await
}

/// The invoice's Peppol file as a download.
async fn peppol_response(st: &ApiState, invoice: &Invoice) -> Result<Response, ApiError> {
    let bytes = st.billing.invoice_peppol(invoice).await?;
    Ok(attachment(
        peppol::XML_TYPE,
        &peppol::filename(invoice),
        bytes,
    ))
}

#[utoipa::path(get, path = "/invoices/{id}/peppol", operation_id = "getInvoicePeppol", tag = "billing", summary = "The invoice as a Peppol BIS Billing 3.0 file (UBL 2.1 XML), made now from the invoice, the organisation's record and the driver's company", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, description = "The UBL invoice, as an attachment `faktura-{number}.xml`", content_type = "application/xml", body = String), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "No valid file can be made; the message names what is missing: the organisation's `organisationNumber`, `vatNumber` or `address`, or the driver's `company`", body = ErrorBody), (status = 503, description = "`CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn peppol(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = org_invoice(&st, &who, &id).await?;
    peppol_response(&st, &invoice).await
}

#[utoipa::path(get, path = "/me/invoices/{id}/peppol", operation_id = "getMyInvoicePeppol", tag = "me", summary = "One of my invoices as a Peppol BIS Billing 3.0 file (UBL 2.1 XML) for my company's accounts; someone else's is not found", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, description = "The UBL invoice, as an attachment `faktura-{number}.xml`", content_type = "application/xml", body = String), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "No valid file can be made; the message names what is missing: my `company`, or the organisation's `organisationNumber`, `vatNumber` or `address`", body = ErrorBody), (status = 503, description = "`CSMS_BANKGIRO` is not set", body = ErrorBody)))]
pub async fn my_peppol(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = my_invoice(&st, &who, &id).await?;
    peppol_response(&st, &invoice).await
}

/// The company a driver charges for: the buyer of their invoices' Peppol
/// files.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CompanyInput {
    /// The company's registered name, 1 to 200 characters
    legal_name: String,
    /// The Swedish organisation number, `NNNNNN-NNNN` (or ten digits)
    organisation_number: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    pub legal_name: String,
    /// `NNNNNN-NNNN`
    pub organisation_number: String,
}

impl From<&BuyerCompany> for CompanyView {
    fn from(c: &BuyerCompany) -> Self {
        CompanyView {
            legal_name: c.legal_name.clone(),
            organisation_number: c.organisation_number.to_string(),
        }
    }
}

async fn me_user(st: &ApiState, who: &Principal) -> Result<csms_domain::user::User, ApiError> {
    let me = person(who)?;
    st.store
        .get_user(me)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("person {me} not found")))
}

#[utoipa::path(put, path = "/me/company", operation_id = "setMyCompany", tag = "me", summary = "Say which company I charge for: my invoices' Peppol files name it as the buyer (by its organisation number), me as its contact", request_body = CompanyInput, responses((status = 200, body = CompanyView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 409, description = "My account changed meanwhile", body = ErrorBody)))]
pub async fn set_my_company(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<CompanyView>, ApiError> {
    let input: CompanyInput = json_body(&body)?;
    let company = BuyerCompany {
        legal_name: text(&input.legal_name, 200).map_err(|e| bad("legalName", e))?,
        organisation_number: OrganisationNumber::parse(&input.organisation_number)
            .map_err(|e| bad("organisationNumber", e))?,
    };
    let mut user = me_user(&st, &who).await?;
    user.company = Some(company.clone());
    crate::people::save_user(&st, user, "send it again").await?;
    Ok(Json((&company).into()))
}

#[utoipa::path(get, path = "/me/company", operation_id = "getMyCompany", tag = "me", summary = "The company I charge for", responses((status = 200, body = CompanyView), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "I charge privately (no company is set)", body = ErrorBody)))]
pub async fn my_company(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<CompanyView>, ApiError> {
    me_user(&st, &who)
        .await?
        .company
        .map(|c| Json((&c).into()))
        .ok_or_else(|| ApiError::NotFound("no company is set".into()))
}

#[utoipa::path(delete, path = "/me/company", operation_id = "removeMyCompany", tag = "me", summary = "I charge privately again: my invoices get no Peppol file", responses((status = 204, description = "Removed"), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody), (status = 404, description = "No company is set", body = ErrorBody), (status = 409, description = "My account changed meanwhile", body = ErrorBody)))]
pub async fn remove_my_company(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<axum::http::StatusCode, ApiError> {
    let mut user = me_user(&st, &who).await?;
    if user.company.take().is_none() {
        return Err(ApiError::NotFound("no company is set".into()));
    }
    crate::people::save_user(&st, user, "send it again").await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me/invoices", operation_id = "listMyInvoices", tag = "me", summary = "My invoices from every organisation, newest first", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<InvoiceView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "An API key, not a person", body = ErrorBody)))]
pub async fn mine(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<InvoiceView>>, ApiError> {
    let listed = st
        .store
        .list_user_invoices(person(&who)?, &page(&params)?)
        .await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

/// One account's figures in one currency.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAccountView {
    /// `receivable:{org}:{userId}` (a driver's debt to the organisation),
    /// `payable:{org}` (what the platform holds for the organisation),
    /// `platform:fees`, `clearing:{provider}`, `payouts:{org}`.
    pub account: String,
    /// `driverReceivable`, `organisationPayable`, `platformFeeIncome`,
    /// `providerClearing`, `payouts`.
    pub kind: String,
    pub currency: String,
    pub debits: String,
    pub credits: String,
    /// Debits − credits: positive for what is owed to the books (a
    /// receivable), negative for what the books owe (a payable).
    pub balance: String,
    pub postings: u64,
}

fn accounts(b: &Balances) -> Vec<LedgerAccountView> {
    b.accounts
        .iter()
        .map(|((account, currency), t)| LedgerAccountView {
            account: account.as_key(),
            kind: account.kind().into(),
            currency: currency.clone(),
            debits: t.debits.to_string(),
            credits: t.credits.to_string(),
            balance: t.balance().to_string(),
            postings: t.postings,
        })
        .collect()
}

#[utoipa::path(get, path = "/ledger/accounts", operation_id = "listLedgerAccounts", tag = "billing", summary = "The balance of every account of the organisation's ledger, derived from its transactions", responses((status = 200, body = ItemsOf<LedgerAccountView>), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn ledger_accounts(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ItemsOf<LedgerAccountView>>, ApiError> {
    let balances = st.billing.balances(&who.org_id).await?;
    Ok(Json(ItemsOf {
        items: accounts(&balances),
    }))
}

/// The books of one currency.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotals {
    pub currency: String,
    pub debits: String,
    pub credits: String,
    /// Debits − credits: `"0"` when the books balance.
    pub difference: String,
    /// The accounts' balances summed: `"0"` when the books balance.
    pub sum_of_balances: String,
}

/// The proof that the books balance.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationView {
    /// Debits equal credits in every currency, and the accounts' balances
    /// sum to zero.
    pub balanced: bool,
    pub transactions: u64,
    pub totals: Vec<CurrencyTotals>,
    pub accounts: Vec<LedgerAccountView>,
}

#[utoipa::path(get, path = "/ledger/reconciliation", operation_id = "reconcileLedger", tag = "billing", summary = "Whether the organisation's books balance: debits and credits over all its transactions, and per account", responses((status = 200, body = ReconciliationView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn reconciliation(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ReconciliationView>, ApiError> {
    let b = st.billing.balances(&who.org_id).await?;
    let totals = b
        .totals
        .iter()
        .map(|(currency, t)| {
            let sum: Decimal = b
                .accounts
                .iter()
                .filter(|((_, c), _)| c == currency)
                .map(|(_, a)| a.balance())
                .sum();
            CurrencyTotals {
                currency: currency.clone(),
                debits: t.debits.to_string(),
                credits: t.credits.to_string(),
                difference: t.balance().normalize().to_string(),
                sum_of_balances: sum.normalize().to_string(),
            }
        })
        .collect();
    Ok(Json(ReconciliationView {
        balanced: b.balanced(),
        transactions: b.transactions,
        totals,
        accounts: accounts(&b),
    }))
}
