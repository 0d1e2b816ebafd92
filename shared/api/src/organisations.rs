//! Organisations (tenants): `GET|POST /organisations`,
//! `GET|PATCH /organisations/{id}`.
//!
//! Only the platform admin (the configured admin key) creates
//! organisations and lists them all; a partner key sees its own
//! organisation only (the list holds just it; another id answers 404 like a
//! missing one) and an `admin`-scoped one may change it. The default
//! organisation's record is made on the first read that needs it
//! ([`csms_kernel::tenants::ensure_default_organisation`]).
//!
//! `PATCH` changes the fields it names (`null` clears an optional one),
//! written on the record's version: with `If-Match: <version>` a stale
//! version answers 412; without, a concurrent change is retried a few times,
//! then 409.
//!
//! # Layout
//! - request: `NewOrganisation`, `OrganisationPatch` and the parts they
//!   share with sites (`AddressInput`, [`nullable`]).
//! - views: `OrganisationView`, `AddressView`, `PayoutAccountView`.
//! - parsing: each value through the domain's parser, the field in every error.
//! - handlers.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{if_match, json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use csms_domain::billing::dunning::DunningSettings;
use csms_domain::billing::settlement::PayoutTerms;
use csms_domain::tenant::{
    text, Address, Bankgiro, Bic, Email, Iban, Invalid, InvoiceRunDay, Language, OrgKind,
    Organisation, OrganisationNumber, PaymentTerms, PayoutAccount, VatNumber,
};
use csms_domain::OrgId;
use csms_kernel::ports::Page;
use csms_kernel::tenants::ensure_default_organisation;
use csms_kernel::StoreError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------- request

/// For a `PATCH` field that may be cleared: absent is `None` (leave it),
/// `null` is `Some(None)` (clear it), a value `Some(Some(v))`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A postal address.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AddressInput {
    /// 1–200 characters.
    #[schema(example = "Storgatan 1")]
    street: String,
    /// Swedish: five digits (`12345` or `123 45`, shown as `123 45`).
    #[schema(example = "111 22")]
    postal_code: String,
    /// 1–100 characters.
    #[schema(example = "Stockholm")]
    city: String,
    /// ISO 3166-1 alpha-2; default `SE`.
    #[schema(example = "SE")]
    country: Option<String>,
}

/// Where payouts go: a Bankgiro number, or an IBAN with an optional BIC.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PayoutAccountInput {
    /// `NNN-NNNN` or `NNNN-NNNN` (hyphen optional), Luhn-checked.
    #[schema(example = "5050-1055")]
    bankgiro: Option<String>,
    /// Spaces allowed; mod-97 checked.
    #[schema(example = "SE45 5000 0000 0583 9825 7466")]
    iban: Option<String>,
    /// With `iban` only: 8 or 11 characters.
    #[schema(example = "ESSESESS")]
    bic: Option<String>,
}

/// `POST /organisations`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewOrganisation {
    /// 1–64 letters, digits, `.`, `_`, `-` (what `X-Organisation` names);
    /// default: a new ULID.
    #[schema(example = "brf-solsidan")]
    id: Option<String>,
    #[schema(value_type = OrgKindName)]
    kind: String,
    /// 1–200 characters.
    #[schema(example = "Bostadsrättsföreningen Solsidan")]
    legal_name: String,
    /// Swedish organisationsnummer (or a sole trader's personnummer),
    /// `NNNNNN-NNNN` with or without the hyphen; the check digit is checked.
    #[schema(example = "769600-1234")]
    organisation_number: String,
    /// EU VAT number: country prefix and 2–12 letters or digits; Swedish
    /// `SE` + ten digits + `01`.
    #[schema(example = "SE769600123401")]
    vat_number: Option<String>,
    address: AddressInput,
    #[schema(example = "styrelsen@solsidan.se")]
    contact_email: String,
    /// Default `sv`.
    #[schema(value_type = Option<LanguageName>)]
    language: Option<String>,
    payout_account: Option<PayoutAccountInput>,
    /// Days from an invoice's date to its due date, 1–365; default 30.
    #[schema(example = 30, minimum = 1, maximum = 365)]
    payment_terms_days: Option<i64>,
    /// Reminders, their fee and the block of unpaid invoices; left out:
    /// the defaults.
    dunning: Option<DunningInput>,
    /// The day of the month (1–28, in Europe/Stockholm) the previous
    /// month is invoiced by itself; default 1.
    #[schema(example = 1, minimum = 1, maximum = 28)]
    invoice_run_day: Option<i64>,
    /// The platform's payout contract; left out: the defaults (the 25th,
    /// no fee).
    payout_terms: Option<PayoutTermsInput>,
}

/// The platform's payout contract with an organisation: the day its
/// previous month is settled and paid out, and the platform's fee (net of
/// VAT, which is added at 25 %). Only the platform admin sets it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PayoutTermsInput {
    /// Day of the month, 1–28; default 25.
    #[schema(example = 25, minimum = 1, maximum = 28)]
    day: Option<i64>,
    /// Percent of what drivers paid in the month, a decimal string with at
    /// most two decimals, 0–100; default `"0"`.
    #[schema(example = "2.5")]
    fee_percent: Option<String>,
    /// A fixed amount per station and month, a decimal string; default `"0"`.
    #[schema(example = "49.00")]
    fee_per_station: Option<String>,
}

/// What happens to an unpaid invoice after its due date.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DunningInput {
    /// Days after the due date a reminder goes out on, rising, 1–365, at
    /// most 5; default `[3, 10]`.
    #[schema(example = json!([3, 10]))]
    reminder_days: Option<Vec<i64>>,
    /// A fee charged with each reminder, a decimal string of at most
    /// `"60.00"` (Swedish law's cap); default none.
    #[schema(example = "60.00")]
    reminder_fee: Option<String>,
    /// Days after the due date the driver's identifiers are blocked at the
    /// organisation's stations, after the last reminder; `null`: never.
    /// Default 17.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, example = 17)]
    block_days: Option<Option<i64>>,
}

/// `PATCH /organisations/{id}`: a field left out stays; `null` clears an
/// optional one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OrganisationPatch {
    #[schema(value_type = Option<OrgKindName>)]
    kind: Option<String>,
    legal_name: Option<String>,
    organisation_number: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    vat_number: Option<Option<String>>,
    address: Option<AddressInput>,
    contact_email: Option<String>,
    #[schema(value_type = Option<LanguageName>)]
    language: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<PayoutAccountInput>)]
    payout_account: Option<Option<PayoutAccountInput>>,
    /// `null`: back to the default (30).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 365)]
    payment_terms_days: Option<Option<i64>>,
    /// Replaces the dunning settings whole; `null`: back to the defaults.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DunningInput>)]
    dunning: Option<Option<DunningInput>>,
    /// `null`: back to the 1st.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 28)]
    invoice_run_day: Option<Option<i64>>,
    /// Replaces the payout contract whole (platform admin only); `null`:
    /// back to the defaults.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<PayoutTermsInput>)]
    payout_terms: Option<Option<PayoutTermsInput>>,
}

/// An organisation's kind: a housing co-operative, a company or a charge
/// point operator.
#[derive(ToSchema)]
#[schema(as = OrgKind)]
#[allow(dead_code)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum OrgKindName {
    #[schema(rename = "brf")]
    Brf,
    #[schema(rename = "company")]
    Company,
    #[schema(rename = "cpo")]
    Cpo,
}

#[derive(ToSchema)]
#[schema(as = Language)]
#[allow(dead_code)]
pub(crate) enum LanguageName {
    #[schema(rename = "sv")]
    Sv,
    #[schema(rename = "en")]
    En,
}

// ---------------------------------------------------------------- views

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressView {
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

impl From<&Address> for AddressView {
    fn from(a: &Address) -> Self {
        AddressView {
            street: a.street.clone(),
            postal_code: a.postal_code.clone(),
            city: a.city.clone(),
            country: a.country.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutAccountView {
    /// `bankgiro` or `iban`.
    pub kind: &'static str,
    pub bankgiro: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganisationView {
    pub id: String,
    /// `brf`, `company` or `cpo`.
    pub kind: &'static str,
    pub legal_name: String,
    /// `NNNNNN-NNNN`; `null` only on the default organisation's record made
    /// at upgrade, until the operator fills it in.
    pub organisation_number: Option<String>,
    pub vat_number: Option<String>,
    pub address: Option<AddressView>,
    pub contact_email: Option<String>,
    /// `sv` or `en`.
    pub language: &'static str,
    pub payout_account: Option<PayoutAccountView>,
    /// Days from an invoice's date to its due date (30 unless set).
    pub payment_terms_days: u16,
    /// Reminders, their fee and the block (the defaults unless set).
    pub dunning: DunningView,
    /// The day of the month the previous month is invoiced by itself.
    pub invoice_run_day: u8,
    /// The platform's payout contract (the defaults unless set).
    pub payout_terms: PayoutTermsView,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// 1 when created, one more at each change.
    pub version: u64,
}

/// What happens to an unpaid invoice after its due date.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DunningView {
    /// Days after the due date of each reminder.
    pub reminder_days: Vec<u16>,
    /// The fee of each reminder, a decimal string; `null`: none.
    pub reminder_fee: Option<String>,
    /// Days after the due date of the block; `null`: no block.
    pub block_days: Option<u16>,
}

/// The platform's payout contract with an organisation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutTermsView {
    /// The day of the month the previous month is settled and paid out.
    pub day: u8,
    /// Percent of what drivers paid in, a decimal string.
    pub fee_percent: String,
    /// A fixed amount per station and month, a decimal string.
    pub fee_per_station: String,
}

impl From<&DunningSettings> for DunningView {
    fn from(d: &DunningSettings) -> Self {
        DunningView {
            reminder_days: d.reminder_days().to_vec(),
            reminder_fee: d.reminder_fee().map(|f| f.to_string()),
            block_days: d.block_days(),
        }
    }
}

impl From<&Organisation> for OrganisationView {
    fn from(o: &Organisation) -> Self {
        OrganisationView {
            id: o.id.as_str().to_owned(),
            kind: o.kind.as_str(),
            legal_name: o.legal_name.clone(),
            organisation_number: o.organisation_number.as_ref().map(|n| n.to_string()),
            vat_number: o.vat_number.as_ref().map(|n| n.to_string()),
            address: o.address.as_ref().map(Into::into),
            contact_email: o.contact_email.as_ref().map(|e| e.to_string()),
            language: o.language.as_str(),
            payment_terms_days: o.payment_terms().days(),
            dunning: DunningView::from(&o.dunning()),
            invoice_run_day: o.invoice_run_day().day(),
            payout_terms: {
                let t = o.payout_terms();
                PayoutTermsView {
                    day: t.day(),
                    fee_percent: t.fee_percent().to_string(),
                    fee_per_station: t.fee_per_station().to_string(),
                }
            },
            payout_account: o.payout_account.as_ref().map(|p| match p {
                PayoutAccount::Bankgiro(b) => PayoutAccountView {
                    kind: "bankgiro",
                    bankgiro: Some(b.to_string()),
                    iban: None,
                    bic: None,
                },
                PayoutAccount::Iban { iban, bic } => PayoutAccountView {
                    kind: "iban",
                    bankgiro: None,
                    iban: Some(iban.to_string()),
                    bic: bic.as_ref().map(|b| b.to_string()),
                },
            }),
            created_at: time(o.created_at),
            updated_at: time(o.updated_at),
            version: o.version,
        }
    }
}

// ---------------------------------------------------------------- parsing

/// `field: why`.
pub(crate) fn bad(field: &str) -> impl Fn(Invalid) -> ApiError + '_ {
    move |e| ApiError::BadRequest(format!("{field}: {e}"))
}

pub(crate) fn address(field: &str, a: &AddressInput) -> Result<Address, ApiError> {
    Address::parse(
        &a.street,
        &a.postal_code,
        &a.city,
        a.country.as_deref().unwrap_or("SE"),
    )
    .map_err(|(part, e)| ApiError::BadRequest(format!("{field}.{part}: {e}")))
}

fn payout_account(p: &PayoutAccountInput) -> Result<PayoutAccount, ApiError> {
    match (&p.bankgiro, &p.iban) {
        (Some(b), None) => {
            if p.bic.is_some() {
                return Err(ApiError::BadRequest(
                    "payoutAccount.bic: only with an iban".into(),
                ));
            }
            Ok(PayoutAccount::Bankgiro(
                Bankgiro::parse(b).map_err(bad("payoutAccount.bankgiro"))?,
            ))
        }
        (None, Some(i)) => Ok(PayoutAccount::Iban {
            iban: Iban::parse(i).map_err(bad("payoutAccount.iban"))?,
            bic: p
                .bic
                .as_deref()
                .map(|b| Bic::parse(b).map_err(bad("payoutAccount.bic")))
                .transpose()?,
        }),
        _ => Err(ApiError::BadRequest(
            "payoutAccount: either bankgiro or iban".into(),
        )),
    }
}

fn kind(s: &str) -> Result<OrgKind, ApiError> {
    OrgKind::parse(s).map_err(bad("kind"))
}

fn language(s: &str) -> Result<Language, ApiError> {
    Language::parse(s).map_err(bad("language"))
}

fn org_number(s: &str) -> Result<OrganisationNumber, ApiError> {
    OrganisationNumber::parse(s).map_err(bad("organisationNumber"))
}

fn vat(s: &str) -> Result<VatNumber, ApiError> {
    VatNumber::parse(s).map_err(bad("vatNumber"))
}

fn email(s: &str) -> Result<Email, ApiError> {
    Email::parse(s).map_err(bad("contactEmail"))
}

fn legal_name(s: &str) -> Result<String, ApiError> {
    text(s, 200).map_err(bad("legalName"))
}

/// The body of `POST /organisations` as a new record (version 1).
fn new_organisation(
    req: &NewOrganisation,
    now: csms_domain::Timestamp,
) -> Result<Organisation, ApiError> {
    let id = match &req.id {
        Some(id) => {
            OrgId::parse(id.trim()).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?
        }
        None => OrgId::parse(ulid::Ulid::new().to_string()).expect("a ULID is an organisation id"),
    };
    Ok(Organisation {
        id,
        kind: kind(&req.kind)?,
        legal_name: legal_name(&req.legal_name)?,
        organisation_number: Some(org_number(&req.organisation_number)?),
        vat_number: req.vat_number.as_deref().map(vat).transpose()?,
        address: Some(address("address", &req.address)?),
        contact_email: Some(email(&req.contact_email)?),
        language: req.language.as_deref().map_or(Ok(Language::Sv), language)?,
        payout_account: req
            .payout_account
            .as_ref()
            .map(payout_account)
            .transpose()?,
        payment_terms: req.payment_terms_days.map(payment_terms).transpose()?,
        dunning: req.dunning.as_ref().map(dunning).transpose()?,
        invoice_run_day: req.invoice_run_day.map(invoice_run_day).transpose()?,
        payout_terms: req.payout_terms.as_ref().map(payout_terms).transpose()?,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

/// `org` with the patch applied (version and times are the caller's).
fn patched(mut org: Organisation, p: &OrganisationPatch) -> Result<Organisation, ApiError> {
    if let Some(k) = &p.kind {
        org.kind = kind(k)?;
    }
    if let Some(n) = &p.legal_name {
        org.legal_name = legal_name(n)?;
    }
    if let Some(n) = &p.organisation_number {
        org.organisation_number = Some(org_number(n)?);
    }
    if let Some(v) = &p.vat_number {
        org.vat_number = v.as_deref().map(vat).transpose()?;
    }
    if let Some(a) = &p.address {
        org.address = Some(address("address", a)?);
    }
    if let Some(e) = &p.contact_email {
        org.contact_email = Some(email(e)?);
    }
    if let Some(l) = &p.language {
        org.language = language(l)?;
    }
    if let Some(pa) = &p.payout_account {
        org.payout_account = pa.as_ref().map(payout_account).transpose()?;
    }
    if let Some(days) = p.payment_terms_days {
        org.payment_terms = days.map(payment_terms).transpose()?;
    }
    if let Some(d) = &p.dunning {
        org.dunning = d.as_ref().map(dunning).transpose()?;
    }
    if let Some(day) = p.invoice_run_day {
        org.invoice_run_day = day.map(invoice_run_day).transpose()?;
    }
    if let Some(t) = &p.payout_terms {
        org.payout_terms = t.as_ref().map(payout_terms).transpose()?;
    }
    Ok(org)
}

/// The contract given, a field left out at its default.
fn payout_terms(t: &PayoutTermsInput) -> Result<PayoutTerms, ApiError> {
    let defaults = PayoutTerms::default();
    let amount = |field: &str, raw: &Option<String>, default: rust_decimal::Decimal| match raw {
        None => Ok(default),
        Some(s) => s.trim().parse::<rust_decimal::Decimal>().map_err(|_| {
            ApiError::BadRequest(format!(
                "payoutTerms.{field}: {s:?} is not a decimal string like \"2.50\""
            ))
        }),
    };
    PayoutTerms::new(
        t.day.unwrap_or(i64::from(defaults.day())),
        amount("feePercent", &t.fee_percent, defaults.fee_percent())?,
        amount(
            "feePerStation",
            &t.fee_per_station,
            defaults.fee_per_station(),
        )?,
    )
    .map_err(|(field, e)| ApiError::BadRequest(format!("payoutTerms.{field}: {e}")))
}

fn payment_terms(days: i64) -> Result<PaymentTerms, ApiError> {
    PaymentTerms::new(days).map_err(bad("paymentTermsDays"))
}

fn invoice_run_day(day: i64) -> Result<InvoiceRunDay, ApiError> {
    InvoiceRunDay::new(day).map_err(bad("invoiceRunDay"))
}

/// The settings given, a field left out at its default.
fn dunning(d: &DunningInput) -> Result<DunningSettings, ApiError> {
    let defaults = DunningSettings::default();
    let days: Vec<i64> = match &d.reminder_days {
        Some(days) => days.clone(),
        None => defaults
            .reminder_days()
            .iter()
            .map(|d| i64::from(*d))
            .collect(),
    };
    let fee = d
        .reminder_fee
        .as_deref()
        .map(|f| {
            f.trim().parse::<rust_decimal::Decimal>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "dunning.reminderFee: {f:?} is not a decimal string like \"60.00\""
                ))
            })
        })
        .transpose()?;
    let block = match d.block_days {
        Some(b) => b,
        None => defaults.block_days().map(i64::from),
    };
    DunningSettings::new(&days, fee, block)
        .map_err(|(field, e)| ApiError::BadRequest(format!("dunning.{field}: {e}")))
}

// ---------------------------------------------------------------- handlers

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("organisation {raw:?} not found"))
}

/// The organisation `raw` if the caller may see it: the platform admin any,
/// a partner key its own; anything else answers like a missing one. The
/// default organisation's record is made here if it is missing.
async fn visible_organisation(
    st: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<Organisation, ApiError> {
    let id = OrgId::parse(raw).map_err(|_| not_found(raw))?;
    if !who.is_platform_admin() && id != who.org_id {
        return Err(not_found(raw));
    }
    if id == OrgId::default_org() {
        ensure_default_organisation(&*st.store, st.clock.now()).await?;
    }
    st.store
        .get_organisation(&id)
        .await?
        .ok_or_else(|| not_found(raw))
}

#[utoipa::path(get, path = "/organisations", operation_id = "listOrganisations", tag = "organisations", summary = "List organisations: every one for the platform admin, the key's own for a partner key", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<OrganisationView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<OrganisationView>>, ApiError> {
    let page = page(&params)?;
    let Page { items, next_cursor } = if who.is_platform_admin() {
        ensure_default_organisation(&*st.store, st.clock.now()).await?;
        st.store.list_organisations(&page).await?
    } else {
        let own = match visible_organisation(&st, &who, who.org_id.as_str()).await {
            Ok(org) => vec![org],
            Err(ApiError::NotFound(_)) => vec![],
            Err(e) => return Err(e),
        };
        Page {
            items: own,
            next_cursor: None,
        }
    };
    Ok(Json(ListOf {
        items: items.iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/organisations", operation_id = "createOrganisation", tag = "organisations", summary = "Create an organisation (platform admin only)", request_body = NewOrganisation, responses((status = 201, body = OrganisationView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope, or is not the platform admin's", body = ErrorBody), (status = 409, description = "The id is taken", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<OrganisationView>), ApiError> {
    let req: NewOrganisation = json_body(&body)?;
    let org = new_organisation(&req, st.clock.now())?;
    // After the syntax checks, so a bad field is a 400 whoever asks.
    if !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "only the platform admin may create organisations".into(),
        ));
    }
    st.store
        .create_organisation(&org)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::Conflict(format!("organisation {:?} exists", org.id.as_str()))
            }
            e => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json((&org).into())))
}

#[utoipa::path(get, path = "/organisations/{id}", operation_id = "getOrganisation", tag = "organisations", summary = "An organisation", params(("id" = String, Path, description = "Organisation id")), responses((status = 200, body = OrganisationView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<OrganisationView>, ApiError> {
    Ok(Json((&visible_organisation(&st, &who, &id).await?).into()))
}

#[utoipa::path(patch, path = "/organisations/{id}", operation_id = "updateOrganisation", tag = "organisations", summary = "Change an organisation (the platform admin any, an admin key its own)", params(("id" = String, Path, description = "Organisation id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (`3` or `\"3\"`): 412 if the record has a newer one")), request_body = OrganisationPatch, responses((status = 200, body = OrganisationView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed by concurrent requests; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn update(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<OrganisationView>, ApiError> {
    visible_organisation(&st, &who, &id).await?;
    let req: OrganisationPatch = json_body(&body)?;
    if req.payout_terms.is_some() && !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "payoutTerms: only the platform admin may change the payout contract".into(),
        ));
    }
    let expected = if_match(&headers, "organisation")?;
    for _ in 0..5 {
        let current = visible_organisation(&st, &who, &id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(ApiError::PreconditionFailed(format!(
                "organisation {id} is at version {}",
                current.version
            )));
        }
        let version = current.version;
        let mut next = patched(current, &req)?;
        next.version = version + 1;
        next.updated_at = st.clock.now();
        match st.store.put_organisation(&next, version).await {
            Ok(()) => return Ok(Json((&next).into())),
            Err(StoreError::Conflict(_)) if expected.is_none() => continue,
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::PreconditionFailed(format!(
                    "organisation {id} changed since version {version}"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "organisation {id} kept changing; retry"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(body: serde_json::Value) -> Result<Organisation, String> {
        let req: NewOrganisation = serde_json::from_value(body).map_err(|e| e.to_string())?;
        new_organisation(&req, "2026-12-01T00:00:00Z".parse().unwrap()).map_err(|e| e.to_string())
    }

    fn body() -> serde_json::Value {
        serde_json::json!({
            "id": "brf-a", "kind": "brf", "legalName": "Brf A", "organisationNumber": "7696001234",
            "address": {"street": "Gatan 1", "postalCode": "11122", "city": "Stockholm"},
            "contactEmail": "a@brf-a.se",
            "payoutAccount": {"bankgiro": "50501055"}
        })
    }

    #[test]
    fn a_new_organisation_is_parsed_and_normalised() {
        let org = new(body()).unwrap();
        assert_eq!(org.organisation_number.unwrap().as_str(), "769600-1234");
        assert_eq!(org.address.unwrap().postal_code, "111 22");
        assert_eq!(org.language, Language::Sv);
        assert!(
            matches!(org.payout_account, Some(PayoutAccount::Bankgiro(b)) if b.as_str() == "5050-1055")
        );
    }

    #[test]
    fn each_bad_value_names_its_field() {
        for (field, value, message) in [
            (
                "organisationNumber",
                serde_json::json!("769600-1235"),
                "organisationNumber: check digit is wrong",
            ),
            (
                "kind",
                serde_json::json!("club"),
                "kind: one of brf, company, cpo",
            ),
            ("contactEmail", serde_json::json!("nope"), "contactEmail: "),
            (
                "vatNumber",
                serde_json::json!("SE769600123402"),
                "vatNumber: ",
            ),
            (
                "language",
                serde_json::json!("de"),
                "language: one of sv, en",
            ),
            (
                "legalName",
                serde_json::json!(" "),
                "legalName: must not be empty",
            ),
            ("id", serde_json::json!("a b"), "id: "),
            (
                "payoutAccount",
                serde_json::json!({"bankgiro": "5050-1056"}),
                "payoutAccount.bankgiro: check digit is wrong",
            ),
            (
                "payoutAccount",
                serde_json::json!({"iban": "SE4550000000058398257467"}),
                "payoutAccount.iban: check digits are wrong",
            ),
            (
                "payoutAccount",
                serde_json::json!({"iban": "SE4550000000058398257466", "bic": "X"}),
                "payoutAccount.bic: ",
            ),
            (
                "payoutAccount",
                serde_json::json!({}),
                "payoutAccount: either bankgiro or iban",
            ),
            (
                "payoutAccount",
                serde_json::json!({"bankgiro": "5050-1055", "bic": "ESSESESS"}),
                "payoutAccount.bic: only with an iban",
            ),
            (
                "address",
                serde_json::json!({"street": "x", "postalCode": "1", "city": "y"}),
                "address.postalCode: ",
            ),
            (
                "address",
                serde_json::json!({"street": "x", "postalCode": "11122", "city": "y", "country": "XX"}),
                "address.country: ",
            ),
        ] {
            let mut b = body();
            b[field] = value;
            let err = new(b).unwrap_err();
            assert!(err.starts_with(message), "{field}: {err}");
        }
    }

    #[test]
    fn dunning_settings_parse_with_defaults_and_bad_ones_name_their_field() {
        let mut b = body();
        b["dunning"] = serde_json::json!({"reminderFee": "60.00"});
        b["invoiceRunDay"] = serde_json::json!(5);
        let org = new(b).unwrap();
        let d = org.dunning.unwrap();
        assert_eq!(d.reminder_days(), [3, 10]);
        assert_eq!(d.reminder_fee(), Some(rust_decimal::Decimal::new(6000, 2)));
        assert_eq!(d.block_days(), Some(17));
        assert_eq!(org.invoice_run_day.unwrap().day(), 5);
        let mut b = body();
        b["dunning"] = serde_json::json!({"reminderDays": [5], "blockDays": null});
        assert_eq!(new(b).unwrap().dunning.unwrap().block_days(), None);
        for (dunning, field) in [
            (
                serde_json::json!({"reminderFee": "60.01"}),
                "dunning.reminderFee",
            ),
            (
                serde_json::json!({"reminderFee": "sixty"}),
                "dunning.reminderFee",
            ),
            (
                serde_json::json!({"reminderDays": [10, 3]}),
                "dunning.reminderDays",
            ),
            (serde_json::json!({"blockDays": 9}), "dunning.blockDays"),
        ] {
            let mut b = body();
            b["dunning"] = dunning.clone();
            let err = new(b).unwrap_err();
            assert!(err.contains(field), "{dunning}: {err}");
        }
        let mut b = body();
        b["invoiceRunDay"] = serde_json::json!(29);
        assert!(new(b).unwrap_err().contains("invoiceRunDay"));
        // A patch's null goes back to the defaults.
        let mut b = body();
        b["dunning"] = serde_json::json!({"reminderDays": [1]});
        let org = new(b).unwrap();
        let p: OrganisationPatch =
            serde_json::from_value(serde_json::json!({"dunning": null})).unwrap();
        assert_eq!(patched(org, &p).unwrap().dunning, None);
    }

    #[test]
    fn a_patch_changes_what_it_names_and_null_clears() {
        let org = new(body()).unwrap();
        let p: OrganisationPatch = serde_json::from_value(serde_json::json!({
            "legalName": "Brf B", "payoutAccount": null, "vatNumber": "SE769600123401"
        }))
        .unwrap();
        let next = patched(org.clone(), &p).unwrap();
        assert_eq!(next.legal_name, "Brf B");
        assert_eq!(next.payout_account, None);
        assert_eq!(next.vat_number.unwrap().as_str(), "SE769600123401");
        assert_eq!(next.contact_email, org.contact_email);
        let p: OrganisationPatch = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(patched(org.clone(), &p).unwrap(), org);
    }
}
