//! Dunning by hand: `POST /dunning-runs` runs the organisation's dunning
//! now (what the daily sweep does) and mails the reminders it recorded;
//! `POST /invoices/{id}/unblock` lifts the block an unpaid invoice put on
//! its driver; `POST /invoices/{id}/dispute` opens a dispute (dunning and
//! the saved card pause) and `DELETE /invoices/{id}/dispute` resolves it
//! (the chain goes on, keeping its days from that day). All are the
//! organisation admin's; the audit log keeps who did them
//! (`crate::audit`).
//!
//! A run's `date` ("today" as the run sees it) is the platform admin's
//! only: it exists so that tests, and an operator catching up, can run a
//! given day; an organisation runs today.

use crate::auth::Principal;
use crate::billing::InvoiceView;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::NaiveDate;
use csms_billing::dunning::DisputeChange;
use csms_domain::billing::dunning::InvoiceDispute;
use csms_domain::billing::invoice::InvoiceId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A dunning run.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DunningRunInput {
    /// The day to run as, `YYYY-MM-DD` (the platform admin's only);
    /// default today in Europe/Stockholm.
    #[schema(format = Date, example = "2027-01-03")]
    date: Option<String>,
}

/// A reminder a run recorded.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemindedView {
    pub invoice_id: String,
    /// 1, 2, …
    pub reminder: u8,
}

/// What a run did. Running the same day again does nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DunningRunView {
    #[schema(format = Date)]
    pub date: String,
    pub reminded: Vec<RemindedView>,
    /// Invoices whose driver this run blocked.
    pub blocked: Vec<String>,
    /// The driver's identifiers this run blocked.
    pub tokens_blocked: usize,
    /// Reminders mailed (this run's and any an earlier run did not mail).
    pub mailed: usize,
    /// Invoices paid now by their driver's saved card (charged before the
    /// reminders, on the due date and the retry days).
    pub charged: Vec<String>,
    /// Charges of saved cards that failed now, with Stripe's reason.
    pub charge_failed: Vec<ChargeFailedView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChargeFailedView {
    pub invoice_id: String,
    pub reason: String,
}

#[utoipa::path(post, path = "/dunning-runs", operation_id = "runDunning", tag = "billing", summary = "Run the organisation's collection of the day now: saved cards charged what is due (on the due date, then retries), then the reminders and blocks due today recorded and the reminders mailed; running it again does nothing", request_body = DunningRunInput, responses((status = 200, body = DunningRunView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "The organisation has no record", body = ErrorBody)))]
pub async fn run(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<DunningRunView>, ApiError> {
    let input: DunningRunInput = match body.is_empty() {
        true => DunningRunInput::default(),
        false => json_body(&body)?,
    };
    let date = match input.date {
        None => st.billing.today(),
        Some(_) if !who.is_platform_admin() => {
            return Err(ApiError::BadRequest(
                "date: only the platform admin runs dunning as of another day".into(),
            ))
        }
        Some(d) => d
            .trim()
            .parse::<NaiveDate>()
            .map_err(|_| ApiError::BadRequest(format!("date: {d:?} is not a date YYYY-MM-DD")))?,
    };
    let autopay = st.billing.run_autopay(&who.org_id, date).await?;
    let result = st.billing.run_dunning(&who.org_id, date).await?;
    let mailed = st
        .reminder_mail
        .send_recorded(&who.org_id, st.clock.now())
        .await?;
    if result.tokens_blocked > 0 {
        crate::local_list::tokens_changed(&st, &who.org_id).await;
    }
    Ok(Json(DunningRunView {
        date: date.to_string(),
        reminded: result
            .reminded
            .iter()
            .map(|(id, n)| RemindedView {
                invoice_id: id.to_string(),
                reminder: *n,
            })
            .collect(),
        blocked: result.blocked.iter().map(ToString::to_string).collect(),
        tokens_blocked: result.tokens_blocked,
        mailed,
        charged: autopay.charged.iter().map(ToString::to_string).collect(),
        charge_failed: autopay
            .failed
            .iter()
            .chain(&autopay.unanswered)
            .map(|(id, reason)| ChargeFailedView {
                invoice_id: id.to_string(),
                reason: reason.clone(),
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/invoices/{id}/unblock", operation_id = "unblockInvoice", tag = "billing", summary = "Lift the block an unpaid invoice put on its driver: their identifiers at the organisation's stations are accepted again, and dunning does not block again for this invoice", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = InvoiceView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The invoice blocks nobody", body = ErrorBody)))]
pub async fn unblock(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    let id = InvoiceId::parse(&id).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?;
    let invoice = st
        .billing
        .lift_block(&who.org_id, &id, &who.actor().audit_name())
        .await?;
    crate::local_list::tokens_changed(&st, &who.org_id).await;
    Ok(Json(crate::billing::detailed(&st, invoice).await?))
}

/// Why an invoice is disputed.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DisputeInput {
    /// 1–500 characters, e.g. what the driver says is wrong.
    #[schema(example = "The driver did not charge on 3 November")]
    reason: String,
}

fn invoice_id(raw: &str) -> Result<InvoiceId, ApiError> {
    InvoiceId::parse(raw).map_err(|e| ApiError::BadRequest(format!("id: {e}")))
}

#[utoipa::path(post, path = "/invoices/{id}/dispute", operation_id = "disputeInvoice", tag = "billing", summary = "Dispute an invoice: while the dispute is open no reminder, block or saved-card charge happens", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), request_body = DisputeInput, responses((status = 200, body = InvoiceView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The invoice is paid, or disputed already", body = ErrorBody)))]
pub async fn dispute(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<InvoiceView>, ApiError> {
    let id = invoice_id(&id)?;
    let input: DisputeInput = json_body(&body)?;
    let reason = input.reason.trim();
    let chars = reason.chars().count();
    if chars == 0 || chars > InvoiceDispute::MAX_REASON || reason.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "reason: 1 to {} characters of text, without control characters",
            InvoiceDispute::MAX_REASON
        )));
    }
    let invoice = st
        .billing
        .change_dispute(
            &who.org_id,
            &id,
            DisputeChange::Open,
            Some(reason),
            &who.actor().audit_name(),
        )
        .await?;
    Ok(Json(crate::billing::detailed(&st, invoice).await?))
}

#[utoipa::path(delete, path = "/invoices/{id}/dispute", operation_id = "resolveInvoiceDispute", tag = "billing", summary = "Resolve an invoice's open dispute: dunning goes on, the next step no sooner than its days from today", params(("id" = String, Path, description = "Invoice id (`{organisation}~{period}~{userId}`)")), responses((status = 200, body = InvoiceView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The invoice has no open dispute", body = ErrorBody)))]
pub async fn resolve_dispute(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    let id = invoice_id(&id)?;
    let invoice = st
        .billing
        .change_dispute(
            &who.org_id,
            &id,
            DisputeChange::Resolve,
            None,
            &who.actor().audit_name(),
        )
        .await?;
    Ok(Json(crate::billing::detailed(&st, invoice).await?))
}
