//! What the monthly invoice charges besides sessions: `GET|POST /fees`,
//! `GET|PATCH|DELETE /fees/{id}` (recurring monthly fees of a driver or a
//! user group) and `GET|POST /one-off-charges`, `GET|DELETE
//! /one-off-charges/{id}` (a charge to a driver, on the invoice of the
//! month of its date). The organisation's admins write, its readers read;
//! another organisation's id answers like a missing one (404).
//!
//! Amounts are decimal strings in öre (`"500"`, `"99.20"`) and say whether
//! they include VAT (`amountIncludesVat`, required: no guessing). A fee is
//! charged pro rata for a part month (see `csms_domain::billing::fee`). An
//! issued invoice keeps a copy of its lines, so changing or deleting a fee
//! changes no issued invoice. A one-off charge dated in a month whose
//! invoice to the driver is issued is refused (409), and one on an invoice
//! cannot be deleted (409: a credit note undoes an invoiced charge).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::organisations::nullable;
use crate::util::{if_match, json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::NaiveDate;
use csms_domain::billing::fee::{
    check_amount, check_text, check_vat_rate, ChargeId, Fee, FeeId, FeeTarget, OneOffCharge,
};
use csms_domain::billing::invoice::{Invoice, InvoiceId};
use csms_domain::billing::period::Period;
use csms_domain::tariff::validate_group;
use csms_domain::user::UserId;
use csms_kernel::StoreError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------- request

/// `POST /fees`: for one driver (`userId`) or every member of a user group
/// (`group`, the people holding the organisation's identifiers of that
/// group), exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewFee {
    /// As printed on the invoice, 1–200 characters.
    #[schema(example = "Parkeringsplats 12")]
    name: String,
    /// A person of the organisation.
    #[schema(example = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV")]
    user_id: Option<String>,
    /// A user group (1–64 letters, digits, `.`, `_`, `-`).
    #[schema(example = "residents")]
    group: Option<String>,
    /// Per whole month, a decimal string above 0, at most 1000000, in öre.
    #[schema(example = "500")]
    amount: String,
    /// Whether `amount` includes VAT (gross) or not (net).
    amount_includes_vat: bool,
    /// A fraction from 0 up to 1, e.g. `"0.25"`.
    #[schema(example = "0.25")]
    vat_rate: String,
    /// The first day charged, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2026-11-16")]
    start: String,
    /// The last day charged (not before `start`); absent: until further notice.
    #[schema(format = Date, example = "2027-06-30")]
    end: Option<String>,
}

/// `PATCH /fees/{id}`: a field left out stays; `end: null` makes it run
/// on. Whom it charges does not change (end it and make another).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FeePatch {
    name: Option<String>,
    amount: Option<String>,
    amount_includes_vat: Option<bool>,
    vat_rate: Option<String>,
    #[schema(format = Date)]
    start: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    end: Option<Option<String>>,
}

/// `POST /one-off-charges`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewCharge {
    /// A person of the organisation.
    #[schema(example = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV")]
    user_id: String,
    /// As printed on the invoice, 1–200 characters.
    #[schema(example = "Ny nyckelbricka")]
    description: String,
    /// A decimal string above 0, at most 1000000, in öre.
    #[schema(example = "100")]
    amount: String,
    /// Whether `amount` includes VAT (gross) or not (net).
    amount_includes_vat: bool,
    #[schema(example = "0.25")]
    vat_rate: String,
    /// Its invoice is the one of this date's month, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2026-11-20")]
    date: String,
}

// ---------------------------------------------------------------- views

/// A recurring monthly fee. Amounts are decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyFeeView {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    /// Set when it charges one driver.
    pub user_id: Option<String>,
    /// Set when it charges each member of a user group.
    pub group: Option<String>,
    pub amount: String,
    pub amount_includes_vat: bool,
    pub vat_rate: String,
    #[schema(format = Date)]
    pub start: String,
    #[schema(format = Date)]
    pub end: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    pub version: u64,
}

impl From<&Fee> for MonthlyFeeView {
    fn from(f: &Fee) -> Self {
        let (user_id, group) = match &f.target {
            FeeTarget::Driver(u) => (Some(u.to_string()), None),
            FeeTarget::Group(g) => (None, Some(g.clone())),
        };
        MonthlyFeeView {
            id: f.id.to_string(),
            organisation_id: f.org_id.to_string(),
            name: f.name.clone(),
            user_id,
            group,
            amount: f.amount.to_string(),
            amount_includes_vat: f.includes_vat,
            vat_rate: f.vat_rate.to_string(),
            start: f.start.to_string(),
            end: f.end.map(|d| d.to_string()),
            created_at: time(f.created_at),
            updated_at: f.updated_at.map(time),
            version: f.version,
        }
    }
}

/// A one-off charge. Amounts are decimal strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChargeView {
    pub id: String,
    pub organisation_id: String,
    pub user_id: String,
    pub description: String,
    pub amount: String,
    pub amount_includes_vat: bool,
    pub vat_rate: String,
    #[schema(format = Date)]
    pub date: String,
    /// The month whose invoice it goes on.
    #[schema(example = "2026-11")]
    pub period: String,
    /// The invoice it is on; `null`: not invoiced yet.
    pub invoice_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn charge_view(c: &OneOffCharge, invoice: Option<&Invoice>) -> ChargeView {
    ChargeView {
        id: c.id.to_string(),
        organisation_id: c.org_id.to_string(),
        user_id: c.user_id.to_string(),
        description: c.description.clone(),
        amount: c.amount.to_string(),
        amount_includes_vat: c.includes_vat,
        vat_rate: c.vat_rate.to_string(),
        date: c.date.to_string(),
        period: c.period().map(|p| p.to_string()).unwrap_or_default(),
        invoice_id: invoice.map(|i| i.id.to_string()),
        created_at: time(c.created_at),
    }
}

// ---------------------------------------------------------------- parsing

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

fn decimal(field: &str, raw: &str) -> Result<Decimal, ApiError> {
    raw.trim().parse::<Decimal>().map_err(|_| {
        bad(
            field,
            format!("{raw:?} is not a decimal number as a string"),
        )
    })
}

fn amount(raw: &str) -> Result<Decimal, ApiError> {
    check_amount("amount", decimal("amount", raw)?).map_err(|e| ApiError::BadRequest(e.0))
}

fn vat_rate(raw: &str) -> Result<Decimal, ApiError> {
    check_vat_rate("vatRate", decimal("vatRate", raw)?).map_err(|e| ApiError::BadRequest(e.0))
}

fn text(field: &str, raw: &str) -> Result<String, ApiError> {
    check_text(field, raw).map_err(|e| ApiError::BadRequest(e.0))
}

/// A date of the years 2000 to 2999 (a month that can be invoiced).
fn date(field: &str, raw: &str) -> Result<NaiveDate, ApiError> {
    raw.trim()
        .parse::<NaiveDate>()
        .ok()
        .filter(|d| Period::of(*d).is_some())
        .ok_or_else(|| {
            bad(
                field,
                format!("{raw:?} is not a date YYYY-MM-DD of 2000–2999"),
            )
        })
}

/// A person of the caller's organisation.
async fn driver(st: &ApiState, who: &Principal, raw: &str) -> Result<UserId, ApiError> {
    let no_such = || bad("userId", "no such person in the organisation");
    let id = UserId::parse(raw.trim()).map_err(|_| no_such())?;
    match st.store.get_user(&id).await? {
        Some(u) if u.role_in(&who.org_id).is_some() => Ok(id),
        _ => Err(no_such()),
    }
}

fn check_dates(fee: &Fee) -> Result<(), ApiError> {
    match fee.end {
        Some(end) if end < fee.start => Err(bad("end", "is before start")),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- fees

fn fee_not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("fee {raw:?} not found"))
}

async fn own_fee(st: &ApiState, who: &Principal, raw: &str) -> Result<Fee, ApiError> {
    let id = FeeId::parse(raw).map_err(|_| fee_not_found(raw))?;
    st.store
        .get_fee(&who.org_id, &id)
        .await?
        .ok_or_else(|| fee_not_found(raw))
}

#[utoipa::path(get, path = "/fees", operation_id = "listFees", tag = "billing", summary = "The organisation's recurring monthly fees, oldest first", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<MonthlyFeeView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list_fees(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<MonthlyFeeView>>, ApiError> {
    let listed = st.store.list_fees(&who.org_id, &page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(post, path = "/fees", operation_id = "createFee", tag = "billing", summary = "Create a recurring monthly fee for a driver or a user group, charged pro rata for part months on the monthly invoice", request_body = NewFee, responses((status = 201, body = MonthlyFeeView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn create_fee(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<MonthlyFeeView>), ApiError> {
    let req: NewFee = json_body(&body)?;
    let name = text("name", &req.name)?;
    let amount = amount(&req.amount)?;
    let vat_rate = vat_rate(&req.vat_rate)?;
    let start = date("start", &req.start)?;
    let end = req.end.as_deref().map(|e| date("end", e)).transpose()?;
    let target = match (&req.user_id, &req.group) {
        (Some(u), None) => FeeTarget::Driver(driver(&st, &who, u).await?),
        (None, Some(g)) => {
            let g = g.trim();
            validate_group(g).map_err(|e| bad("group", e))?;
            FeeTarget::Group(g.to_owned())
        }
        _ => return Err(bad("userId", "give either userId or group, not both")),
    };
    let fee = Fee {
        id: FeeId::generate(),
        org_id: who.org_id.clone(),
        name,
        target,
        amount,
        includes_vat: req.amount_includes_vat,
        vat_rate,
        start,
        end,
        created_at: st.clock.now(),
        updated_at: None,
        version: 1,
    };
    check_dates(&fee)?;
    st.store.create_fee(&fee).await?;
    Ok((StatusCode::CREATED, Json((&fee).into())))
}

#[utoipa::path(get, path = "/fees/{id}", operation_id = "getFee", tag = "billing", summary = "A recurring monthly fee", params(("id" = String, Path, description = "Fee id, `fee_…`")), responses((status = 200, body = MonthlyFeeView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get_fee(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<MonthlyFeeView>, ApiError> {
    Ok(Json((&own_fee(&st, &who, &id).await?).into()))
}

fn patched(mut fee: Fee, p: &FeePatch) -> Result<Fee, ApiError> {
    if let Some(n) = &p.name {
        fee.name = text("name", n)?;
    }
    if let Some(a) = &p.amount {
        fee.amount = amount(a)?;
    }
    if let Some(g) = p.amount_includes_vat {
        fee.includes_vat = g;
    }
    if let Some(r) = &p.vat_rate {
        fee.vat_rate = vat_rate(r)?;
    }
    if let Some(s) = &p.start {
        fee.start = date("start", s)?;
    }
    if let Some(e) = &p.end {
        fee.end = e.as_deref().map(|e| date("end", e)).transpose()?;
    }
    check_dates(&fee)?;
    Ok(fee)
}

#[utoipa::path(patch, path = "/fees/{id}", operation_id = "updateFee", tag = "billing", summary = "Change a recurring monthly fee (issued invoices keep what they charged)", params(("id" = String, Path, description = "Fee id, `fee_…`"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (`3` or `\"3\"`): 412 if the fee has a newer one")), request_body = FeePatch, responses((status = 200, body = MonthlyFeeView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed by concurrent requests; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn update_fee(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<MonthlyFeeView>, ApiError> {
    own_fee(&st, &who, &id).await?;
    let req: FeePatch = json_body(&body)?;
    let expected = if_match(&headers, "fee")?;
    for _ in 0..5 {
        let current = own_fee(&st, &who, &id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(ApiError::PreconditionFailed(format!(
                "fee {id} is at version {}",
                current.version
            )));
        }
        let version = current.version;
        let mut next = patched(current, &req)?;
        next.version = version + 1;
        next.updated_at = Some(st.clock.now());
        match st.store.put_fee(&next, version).await {
            Ok(()) => return Ok(Json((&next).into())),
            Err(StoreError::Conflict(_)) if expected.is_none() => continue,
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::PreconditionFailed(format!(
                    "fee {id} changed since version {version}"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!("fee {id} kept changing; retry")))
}

#[utoipa::path(delete, path = "/fees/{id}", operation_id = "deleteFee", tag = "billing", summary = "Delete a recurring monthly fee: no later month charges it (issued invoices keep their lines; to stop it from a date, set its end instead)", params(("id" = String, Path, description = "Fee id, `fee_…`")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete_fee(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let fee = own_fee(&st, &who, &id).await?;
    if !st.store.delete_fee(&who.org_id, &fee.id).await? {
        return Err(fee_not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- charges

fn charge_not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("charge {raw:?} not found"))
}

async fn own_charge(st: &ApiState, who: &Principal, raw: &str) -> Result<OneOffCharge, ApiError> {
    let id = ChargeId::parse(raw).map_err(|_| charge_not_found(raw))?;
    st.store
        .get_charge(&who.org_id, &id)
        .await?
        .ok_or_else(|| charge_not_found(raw))
}

/// The driver's invoice of the charge's month, if issued.
async fn invoice_of(st: &ApiState, c: &OneOffCharge) -> Result<Option<Invoice>, ApiError> {
    let Some(period) = c.period() else {
        return Ok(None);
    };
    Ok(st
        .store
        .get_invoice(&InvoiceId::new(&c.org_id, period, &c.user_id))
        .await?)
}

/// The invoice the charge is on, if it is.
async fn invoiced_on(st: &ApiState, c: &OneOffCharge) -> Result<Option<Invoice>, ApiError> {
    Ok(invoice_of(st, c)
        .await?
        .filter(|i| i.charges.iter().any(|l| l.source_id() == c.id.as_str())))
}

#[utoipa::path(get, path = "/one-off-charges", operation_id = "listOneOffCharges", tag = "billing", summary = "The organisation's one-off charges, oldest first", params(("period" = Option<String>, Query, description = "Only those dated in this month, `YYYY-MM`"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<ChargeView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list_charges(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<ChargeView>>, ApiError> {
    let period = params
        .get("period")
        .map(|p| Period::parse(p.trim()).map_err(|e| bad("period", e)))
        .transpose()?;
    let listed = st
        .store
        .list_charges(&who.org_id, period, &page(&params)?)
        .await?;
    let mut items = Vec::with_capacity(listed.items.len());
    for c in &listed.items {
        items.push(charge_view(c, invoiced_on(&st, c).await?.as_ref()));
    }
    Ok(Json(ListOf {
        items,
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(post, path = "/one-off-charges", operation_id = "createOneOffCharge", tag = "billing", summary = "Charge a driver once, on the invoice of the month of the charge's date", request_body = NewCharge, responses((status = 201, body = ChargeView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "The driver's invoice of that month is issued already", body = ErrorBody)))]
pub async fn create_charge(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<ChargeView>), ApiError> {
    let req: NewCharge = json_body(&body)?;
    let user_id = driver(&st, &who, &req.user_id).await?;
    let charge = OneOffCharge {
        id: ChargeId::generate(),
        org_id: who.org_id.clone(),
        user_id,
        description: text("description", &req.description)?,
        amount: amount(&req.amount)?,
        includes_vat: req.amount_includes_vat,
        vat_rate: vat_rate(&req.vat_rate)?,
        date: date("date", &req.date)?,
        created_at: st.clock.now(),
    };
    if let Some(invoice) = invoice_of(&st, &charge).await? {
        return Err(ApiError::Conflict(format!(
            "the driver's invoice of {} is issued already (number {}); date the charge in a later month",
            invoice.period, invoice.number
        )));
    }
    st.store.create_charge(&charge).await?;
    Ok((StatusCode::CREATED, Json(charge_view(&charge, None))))
}

#[utoipa::path(get, path = "/one-off-charges/{id}", operation_id = "getOneOffCharge", tag = "billing", summary = "A one-off charge, with the invoice it is on", params(("id" = String, Path, description = "Charge id, `chg_…`")), responses((status = 200, body = ChargeView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get_charge(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ChargeView>, ApiError> {
    let c = own_charge(&st, &who, &id).await?;
    let on = invoiced_on(&st, &c).await?;
    Ok(Json(charge_view(&c, on.as_ref())))
}

#[utoipa::path(delete, path = "/one-off-charges/{id}", operation_id = "deleteOneOffCharge", tag = "billing", summary = "Delete a one-off charge not invoiced yet", params(("id" = String, Path, description = "Charge id, `chg_…`")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "It is on an issued invoice", body = ErrorBody)))]
pub async fn delete_charge(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let c = own_charge(&st, &who, &id).await?;
    if let Some(invoice) = invoiced_on(&st, &c).await? {
        return Err(ApiError::Conflict(format!(
            "charge {id} is on invoice {} issued {}; an invoiced charge stays (a credit note undoes it)",
            invoice.number, invoice.issue_date
        )));
    }
    if !st.store.delete_charge(&who.org_id, &c.id).await? {
        return Err(charge_not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT)
}
