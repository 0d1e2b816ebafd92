//! Tariffs and where they apply: `POST /tariffs`, `GET /tariffs`,
//! `GET|PUT|DELETE /tariffs/{id}`, `GET /tariffs/{id}/versions`,
//! `POST /tariff-assignments`, `GET /tariff-assignments`,
//! `DELETE /tariff-assignments/{id}`.
//!
//! Every change of a tariff is a new version (`PUT` and `DELETE` alike); old
//! versions stay readable, and a session is priced with the version in force
//! when it started, so an update never changes the price of a session that is
//! already running. `PUT` takes an optional `If-Match: <version>` (answers
//! carry the version as `ETag`) and answers 412 when the tariff has moved on.
//!
//! The rules (versions, the delete guard, one tariff per target and group)
//! are the core's [`TariffService`]; this module parses the body into its own
//! request types and those into the service's [`TariffContent`] and
//! assignment target, puts the service's refusals in this API's words, and
//! renders the views. Every bad input is a 400 that names the field.
//! Decimals are accepted as JSON strings (exact) or numbers and always
//! returned as strings.
//!
//! # Layout
//! - request: the body's types (`TariffInput`, `NewTariffAssignment`).
//! - views: `TariffView`, `TariffAssignmentView` and their `From` the domain.
//! - parsing: the body into the service's input, with the field in every error;
//!   the service's errors as [`ApiError`]s.
//! - tariffs, assignments: the handlers.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf, ListOf};
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};
use csms_domain::spot::BiddingZone;
use csms_domain::tariff::{
    AssignmentTarget, EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff,
    TariffAssignment, TariffElement, TimeUnit,
};
use csms_domain::{SiteId, StationId};
use csms_kernel::Store;
use csms_pricing::tariffs::{TariffContent, TariffService, TariffServiceError};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use utoipa::ToSchema;

/// Bound on every decimal of a tariff: far above any real price, far below
/// what could overflow the pricing arithmetic.
const MAX_ABS_DECIMAL: i64 = 1_000_000;
/// Bound on free and grace minutes (a week).
const MAX_MINUTES: u32 = 10_080;

// ---------------------------------------------------------------- request

/// A decimal as a JSON string (`"2.50"`, exact) or number (`2.5`).
#[derive(Debug, Clone)]
pub(crate) struct Dec(String);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal as a string (\"2.50\") or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dec, E> {
                Ok(Dec(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dec, E> {
                Ok(Dec(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dec, E> {
                Ok(Dec(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dec, E> {
                // Display of f64 is the shortest exact round trip: 0.1 → "0.1".
                Ok(Dec(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for Dec {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                    .examples(["2.50"]),
            )
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .description(Some(
                "A decimal: a string like \"2.50\" (exact) or a JSON number; between -1000000 and 1000000",
            ))
            .into()
    }
}

impl ToSchema for Dec {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DecimalInput")
    }
}

/// A tariff as `POST /tariffs` and `PUT /tariffs/{id}` take it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TariffInput {
    /// 1–200 characters.
    #[schema(example = "Public charging", min_length = 1, max_length = 200)]
    name: String,
    /// ISO 4217; default `SEK`.
    #[schema(example = "SEK")]
    currency: Option<String>,
    /// A fraction: `0.25` (the default) for 25 %.
    vat_rate: Option<Dec>,
    /// IANA name; restrictions are evaluated in this zone. Left out: the time
    /// zone of the site where the session happens (`Europe/Stockholm` at a
    /// station without a site).
    #[schema(example = "Europe/Stockholm")]
    time_zone: Option<String>,
    /// 1–100 elements. For each type of component, the first element that has
    /// one and whose restrictions hold sets the price: put scheduled prices
    /// before the unrestricted default.
    #[schema(min_items = 1, max_items = 100)]
    elements: Vec<TariffElementInput>,
    /// Lower bound on a session's net price (before VAT).
    min_price: Option<Dec>,
    /// Upper bound on a session's net price (before VAT).
    max_price: Option<Dec>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TariffElementInput {
    /// At most one component of each type.
    components: Vec<PriceComponentInput>,
    /// When the element applies; left out: always.
    restrictions: Option<RestrictionsInput>,
}

/// Per minute or per hour.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Per {
    #[serde(alias = "min")]
    Minute,
    #[serde(alias = "h")]
    Hour,
}

/// One price component.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub(crate) enum PriceComponentInput {
    /// Per kWh delivered.
    Energy { price: EnergyPriceInput },
    /// Per minute or hour of the session; the first `freeMinutes` (0–10080) are free.
    #[serde(rename_all = "camelCase")]
    Time {
        price: Dec,
        per: Per,
        #[schema(maximum = 10080)]
        free_minutes: Option<u32>,
    },
    /// Once per session.
    SessionFee { price: Dec },
    /// Per minute or hour from `graceMinutes` (0–10080) after charging stopped until the session ended.
    #[serde(rename_all = "camelCase")]
    Idle {
        price: Dec,
        per: Per,
        #[schema(maximum = 10080)]
        grace_minutes: Option<u32>,
    },
}

/// The energy price: fixed, or following the spot price of a bidding zone as
/// `clamp(spot × factor + markup, floor, ceiling) + gridFee + energyTax` per kWh.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub(crate) enum EnergyPriceInput {
    #[serde(rename_all = "camelCase")]
    Fixed { per_kwh: Dec },
    /// `floor` defaults to 0: a negative spot price then makes the spot part
    /// free, never a credit; send a negative floor to pass negative prices
    /// on. `factor` defaults to 1, `markup`, `gridFee` and `energyTax` to 0;
    /// no `ceiling`: no upper bound.
    #[serde(rename_all = "camelCase")]
    Spot {
        /// `SE1`–`SE4`, `NO1`–`NO5`, `DK1`, `DK2`, `FI`; its currency must be the tariff's.
        #[schema(example = "SE3")]
        zone: String,
        factor: Option<Dec>,
        markup: Option<Dec>,
        grid_fee: Option<Dec>,
        energy_tax: Option<Dec>,
        floor: Option<Dec>,
        ceiling: Option<Dec>,
    },
}

/// When an element applies, in the tariff's time zone. Everything left out holds always.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RestrictionsInput {
    /// `mon` … `sun` (also `Mon`, `monday`, any case); left out or empty: every day.
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    days_of_week: Option<Vec<String>>,
    /// `HH:MM`, inclusive. An `endTime` before the `startTime` wraps midnight (`22:00`–`06:00`).
    #[schema(example = "17:00")]
    start_time: Option<String>,
    /// `HH:MM`, exclusive; `00:00` for midnight.
    #[schema(example = "20:00")]
    end_time: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    #[schema(example = "2026-01-01")]
    start_date: Option<String>,
    /// `YYYY-MM-DD`, exclusive.
    #[schema(example = "2026-04-01")]
    end_date: Option<String>,
}

/// Assigns a tariff to a station, a site or the whole organisation, for
/// everyone or for one user group.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewTariffAssignment {
    tariff_id: String,
    target: AssignmentTargetInput,
    /// A user group (an id token's `group`): 1–64 letters, digits, `.`, `_`
    /// or `-`. Null or left out: everyone, including drivers in no group.
    group: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) enum TargetKind {
    Station,
    Site,
    #[serde(alias = "organization")]
    Organisation,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AssignmentTargetInput {
    kind: TargetKind,
    /// The station's or site's id; none for `organisation`.
    id: Option<String>,
}

// ---------------------------------------------------------------- views

/// A version of a tariff. Decimals are strings, as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TariffView {
    /// `trf_…`
    pub id: String,
    pub name: String,
    pub currency: String,
    pub vat_rate: String,
    /// IANA name; `null`: the time zone of the site where the session happens
    /// (`Europe/Stockholm` at a station without a site).
    pub time_zone: Option<String>,
    pub elements: Vec<TariffElementView>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    /// 1, 2, …: every update (and the deletion) is a new version.
    pub version: u64,
    /// When this version came into force: sessions that start from then on are priced with it.
    #[schema(format = DateTime)]
    pub effective_at: String,
    /// When version 1 was created.
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub deleted_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TariffElementView {
    pub components: Vec<PriceComponentView>,
    pub restrictions: RestrictionsView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PriceComponentView {
    Energy {
        price: EnergyPriceView,
    },
    #[serde(rename_all = "camelCase")]
    Time {
        price: String,
        /// `minute` or `hour`.
        per: String,
        free_minutes: u32,
    },
    SessionFee {
        price: String,
    },
    #[serde(rename_all = "camelCase")]
    Idle {
        price: String,
        /// `minute` or `hour`.
        per: String,
        grace_minutes: u32,
    },
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EnergyPriceView {
    #[serde(rename_all = "camelCase")]
    Fixed { per_kwh: String },
    #[serde(rename_all = "camelCase")]
    Spot {
        zone: String,
        factor: String,
        markup: String,
        grid_fee: String,
        energy_tax: String,
        floor: Option<String>,
        ceiling: Option<String>,
    },
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestrictionsView {
    /// `mon` … `sun`; empty: every day.
    pub days_of_week: Vec<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentTargetView {
    /// `station`, `site` or `organisation`.
    pub kind: String,
    /// The station's or site's id; null for `organisation`.
    pub id: Option<String>,
}

/// "Tariff T applies at this target to this group (or to everyone)."
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TariffAssignmentView {
    /// `ast_…`
    pub id: String,
    pub tariff_id: String,
    pub target: AssignmentTargetView,
    /// Null: everyone.
    pub group: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only in the answer to the creation: the assignments for the same target
    /// and group that this one replaced (one tariff per target and group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Vec<String>>,
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn per_name(u: TimeUnit) -> String {
    match u {
        TimeUnit::Minute => "minute",
        TimeUnit::Hour => "hour",
    }
    .to_owned()
}

fn time_of_day(t: NaiveTime) -> String {
    if t.second() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

impl From<&Tariff> for TariffView {
    fn from(t: &Tariff) -> Self {
        let d = |d: Decimal| d.to_string();
        TariffView {
            id: t.id.clone(),
            name: t.name.clone(),
            currency: t.currency.clone(),
            vat_rate: d(t.vat_rate),
            time_zone: t.time_zone.clone(),
            elements: t
                .elements
                .iter()
                .map(|e| TariffElementView {
                    components: e
                        .components
                        .iter()
                        .map(|c| match c {
                            PriceComponent::Energy { price } => PriceComponentView::Energy {
                                price: match price {
                                    EnergyPrice::Fixed { per_kwh } => EnergyPriceView::Fixed {
                                        per_kwh: d(*per_kwh),
                                    },
                                    EnergyPrice::Spot(f) => EnergyPriceView::Spot {
                                        zone: f.zone.code().to_owned(),
                                        factor: d(f.factor),
                                        markup: d(f.markup),
                                        grid_fee: d(f.grid_fee),
                                        energy_tax: d(f.energy_tax),
                                        floor: f.floor.map(d),
                                        ceiling: f.ceiling.map(d),
                                    },
                                },
                            },
                            PriceComponent::Time {
                                price,
                                per,
                                free_minutes,
                            } => PriceComponentView::Time {
                                price: d(*price),
                                per: per_name(*per),
                                free_minutes: *free_minutes,
                            },
                            PriceComponent::SessionFee { price } => {
                                PriceComponentView::SessionFee { price: d(*price) }
                            }
                            PriceComponent::Idle {
                                price,
                                per,
                                grace_minutes,
                            } => PriceComponentView::Idle {
                                price: d(*price),
                                per: per_name(*per),
                                grace_minutes: *grace_minutes,
                            },
                        })
                        .collect(),
                    restrictions: RestrictionsView {
                        days_of_week: e
                            .restrictions
                            .days_of_week
                            .iter()
                            .map(|w| weekday_name(*w).to_owned())
                            .collect(),
                        start_time: e.restrictions.start_time.map(time_of_day),
                        end_time: e.restrictions.end_time.map(time_of_day),
                        start_date: e.restrictions.start_date.map(|x| x.to_string()),
                        end_date: e.restrictions.end_date.map(|x| x.to_string()),
                    },
                })
                .collect(),
            min_price: t.min_price.map(d),
            max_price: t.max_price.map(d),
            version: t.version,
            effective_at: time(t.effective_at),
            created_at: time(t.created_at),
            deleted_at: t.deleted_at.map(time),
        }
    }
}

fn target_view(t: &AssignmentTarget) -> AssignmentTargetView {
    let (kind, id) = match t {
        AssignmentTarget::Station(s) => ("station", Some(s.to_string())),
        AssignmentTarget::Site(s) => ("site", Some(s.to_string())),
        AssignmentTarget::Organisation => ("organisation", None),
    };
    AssignmentTargetView {
        kind: kind.to_owned(),
        id,
    }
}

impl From<&TariffAssignment> for TariffAssignmentView {
    fn from(a: &TariffAssignment) -> Self {
        TariffAssignmentView {
            id: a.id.clone(),
            tariff_id: a.tariff_id.clone(),
            target: target_view(&a.target),
            group: a.group.clone(),
            created_at: time(a.created_at),
            replaced: None,
        }
    }
}

fn describe(a: &TariffAssignment) -> String {
    let target = match &a.target {
        AssignmentTarget::Station(s) => format!("station {s}"),
        AssignmentTarget::Site(s) => format!("site {s}"),
        AssignmentTarget::Organisation => "organisation".to_owned(),
    };
    match &a.group {
        Some(g) => format!("{} ({target}, group {g})", a.id),
        None => format!("{} ({target}, everyone)", a.id),
    }
}

/// The tariff with its version as `ETag`.
fn tariff_response(status: StatusCode, t: &Tariff) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", t.version))],
        Json(TariffView::from(t)),
    )
        .into_response()
}

// ---------------------------------------------------------------- parsing

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::BadRequest(m.into())
}

/// Parses the body, naming the element and component a structural error is in.
fn tariff_input(body: &Bytes) -> Result<TariffInput, ApiError> {
    let raw: Value = json_body(body)?;
    if !raw.is_object() {
        return Err(bad("request body must be a JSON object"));
    }
    serde_json::from_value::<TariffInput>(raw.clone()).map_err(|e| bad(locate(&raw, e)))
}

/// serde's message says what is wrong but not where: find the first
/// element, component or restriction that fails on its own.
fn locate(raw: &Value, whole: serde_json::Error) -> String {
    if let Some(elements) = raw.get("elements").and_then(Value::as_array) {
        for (i, el) in elements.iter().enumerate() {
            if let Some(comps) = el.get("components").and_then(Value::as_array) {
                for (j, c) in comps.iter().enumerate() {
                    if let Err(e) = serde_json::from_value::<PriceComponentInput>(c.clone()) {
                        return format!("elements[{i}].components[{j}]: {e}");
                    }
                }
            }
            if let Some(r) = el.get("restrictions") {
                if let Err(e) = serde_json::from_value::<Option<RestrictionsInput>>(r.clone()) {
                    return format!("elements[{i}].restrictions: {e}");
                }
            }
            if let Err(e) = serde_json::from_value::<TariffElementInput>(el.clone()) {
                return format!("elements[{i}]: {e}");
            }
        }
    }
    format!("invalid tariff: {whole}")
}

fn decimal(path: &str, v: &Dec) -> Result<Decimal, ApiError> {
    let s = v.0.trim();
    let out_of_range = || {
        bad(format!(
            "{path}: {s} is out of range (-{MAX_ABS_DECIMAL} to {MAX_ABS_DECIMAL})"
        ))
    };
    // Plain notation only: no exponents, no digit separators.
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return Err(bad(format!(
            "{path}: {s:?} is not a decimal number like \"2.50\""
        )));
    }
    let d: Decimal = s.parse().map_err(|_| out_of_range())?;
    if d.abs() > Decimal::from(MAX_ABS_DECIMAL) {
        return Err(out_of_range());
    }
    Ok(d)
}

fn opt_decimal(path: &str, v: &Option<Dec>) -> Result<Option<Decimal>, ApiError> {
    v.as_ref().map(|v| decimal(path, v)).transpose()
}

fn minutes(path: &str, v: Option<u32>) -> Result<u32, ApiError> {
    let m = v.unwrap_or(0);
    if m > MAX_MINUTES {
        return Err(bad(format!("{path}: at most {MAX_MINUTES} (a week)")));
    }
    Ok(m)
}

fn weekday(path: &str, s: &str) -> Result<Weekday, ApiError> {
    const DAYS: [(&str, &str, Weekday); 7] = [
        ("mon", "monday", Weekday::Mon),
        ("tue", "tuesday", Weekday::Tue),
        ("wed", "wednesday", Weekday::Wed),
        ("thu", "thursday", Weekday::Thu),
        ("fri", "friday", Weekday::Fri),
        ("sat", "saturday", Weekday::Sat),
        ("sun", "sunday", Weekday::Sun),
    ];
    let l = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(short, long, _)| l == *short || l == *long)
        .map(|(_, _, d)| *d)
        .ok_or_else(|| {
            bad(format!(
                "{path}: {s:?} is not a weekday (mon, tue, wed, thu, fri, sat, sun)"
            ))
        })
}

fn time_input(path: &str, s: &str) -> Result<NaiveTime, ApiError> {
    let t = s.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .map_err(|_| {
            let hint = if t.starts_with("24") {
                "; for midnight use 00:00"
            } else {
                ""
            };
            bad(format!(
                "{path}: {s:?} is not a time of day HH:MM (00:00 to 23:59){hint}"
            ))
        })
}

fn date_input(path: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(|| {
            bad(format!(
                "{path}: {s:?} is not a date YYYY-MM-DD between 2000 and 2100"
            ))
        })
}

fn restrictions(path: &str, r: &RestrictionsInput) -> Result<Restrictions, ApiError> {
    let mut days = Vec::new();
    for (k, d) in r.days_of_week.iter().flatten().enumerate() {
        days.push(weekday(&format!("{path}.daysOfWeek[{k}]"), d)?);
    }
    days.sort_by_key(|d| d.num_days_from_monday());
    days.dedup();
    fn opt<T>(
        path: &str,
        name: &str,
        v: &Option<String>,
        f: fn(&str, &str) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        v.as_deref()
            .map(|s| f(&format!("{path}.{name}"), s))
            .transpose()
    }
    Ok(Restrictions {
        days_of_week: days,
        start_time: opt(path, "startTime", &r.start_time, time_input)?,
        end_time: opt(path, "endTime", &r.end_time, time_input)?,
        start_date: opt(path, "startDate", &r.start_date, date_input)?,
        end_date: opt(path, "endDate", &r.end_date, date_input)?,
    })
}

fn component(path: &str, c: &PriceComponentInput) -> Result<PriceComponent, ApiError> {
    let unit = |p: Per| match p {
        Per::Minute => TimeUnit::Minute,
        Per::Hour => TimeUnit::Hour,
    };
    Ok(match c {
        PriceComponentInput::Energy {
            price: EnergyPriceInput::Fixed { per_kwh },
        } => PriceComponent::Energy {
            price: EnergyPrice::Fixed {
                per_kwh: decimal(&format!("{path}.price.perKwh"), per_kwh)?,
            },
        },
        PriceComponentInput::Energy {
            price:
                EnergyPriceInput::Spot {
                    zone,
                    factor,
                    markup,
                    grid_fee,
                    energy_tax,
                    floor,
                    ceiling,
                },
        } => {
            let p = |name: &str| format!("{path}.price.{name}");
            PriceComponent::Energy {
                price: EnergyPrice::Spot(SpotFormula {
                    zone: BiddingZone::parse(zone)
                        .map_err(|e| bad(format!("{}: {e}", p("zone"))))?,
                    factor: opt_decimal(&p("factor"), factor)?.unwrap_or(Decimal::ONE),
                    markup: opt_decimal(&p("markup"), markup)?.unwrap_or_default(),
                    grid_fee: opt_decimal(&p("gridFee"), grid_fee)?.unwrap_or_default(),
                    energy_tax: opt_decimal(&p("energyTax"), energy_tax)?.unwrap_or_default(),
                    // Negative spot prices are never a credit unless asked for.
                    floor: Some(opt_decimal(&p("floor"), floor)?.unwrap_or_default()),
                    ceiling: opt_decimal(&p("ceiling"), ceiling)?,
                }),
            }
        }
        PriceComponentInput::Time {
            price,
            per,
            free_minutes,
        } => PriceComponent::Time {
            price: decimal(&format!("{path}.price"), price)?,
            per: unit(*per),
            free_minutes: minutes(&format!("{path}.freeMinutes"), *free_minutes)?,
        },
        PriceComponentInput::SessionFee { price } => PriceComponent::SessionFee {
            price: decimal(&format!("{path}.price"), price)?,
        },
        PriceComponentInput::Idle {
            price,
            per,
            grace_minutes,
        } => PriceComponent::Idle {
            price: decimal(&format!("{path}.price"), price)?,
            per: unit(*per),
            grace_minutes: minutes(&format!("{path}.graceMinutes"), *grace_minutes)?,
        },
    })
}

/// The body as a tariff's content (the service adds identity and history,
/// and checks the whole).
fn tariff_content(body: &Bytes) -> Result<TariffContent, ApiError> {
    let input = tariff_input(body)?;
    if input.elements.len() > 100 {
        return Err(bad("elements: at most 100"));
    }
    let mut elements = Vec::with_capacity(input.elements.len());
    for (i, e) in input.elements.iter().enumerate() {
        let mut components = Vec::with_capacity(e.components.len());
        for (j, c) in e.components.iter().enumerate() {
            components.push(component(&format!("elements[{i}].components[{j}]"), c)?);
        }
        let restrictions = match &e.restrictions {
            Some(r) => restrictions(&format!("elements[{i}].restrictions"), r)?,
            None => Restrictions::default(),
        };
        elements.push(TariffElement {
            components,
            restrictions,
        });
    }
    Ok(TariffContent {
        name: input.name.trim().to_owned(),
        currency: input
            .currency
            .as_deref()
            .map_or("SEK".to_owned(), |c| c.trim().to_ascii_uppercase()),
        vat_rate: opt_decimal("vatRate", &input.vat_rate)?.unwrap_or(Decimal::new(25, 2)),
        time_zone: input.time_zone.as_deref().map(|z| z.trim().to_owned()),
        elements,
        min_price: opt_decimal("minPrice", &input.min_price)?,
        max_price: opt_decimal("maxPrice", &input.max_price)?,
    })
}

/// An assignment's target as the body names it (whether a station target
/// is registered is the service's to check).
fn target(t: &AssignmentTargetInput) -> Result<AssignmentTarget, ApiError> {
    match (t.kind, t.id.as_deref().map(str::trim)) {
        (TargetKind::Station, Some(id)) => StationId::parse(id)
            .map(AssignmentTarget::Station)
            .map_err(|e| bad(format!("target.id: {e}"))),
        (TargetKind::Site, Some(id)) => SiteId::parse(id)
            .map(AssignmentTarget::Site)
            .map_err(|e| bad(format!("target.id: {e}"))),
        (TargetKind::Station | TargetKind::Site, None) => {
            Err(bad("target.id: a station or site target needs its id"))
        }
        (TargetKind::Organisation, None) => Ok(AssignmentTarget::Organisation),
        (TargetKind::Organisation, Some(_)) => Err(bad(
            "target.id: an organisation target takes no id (it is the API key's organisation)",
        )),
    }
}

/// The service's refusals in this API's words.
impl From<TariffServiceError> for ApiError {
    fn from(e: TariffServiceError) -> Self {
        use TariffServiceError as E;
        match e {
            E::NotFound(id) => ApiError::NotFound(format!("tariff {id:?} not found")),
            E::Deleted(id) => ApiError::NotFound(format!("tariff {id} was deleted")),
            E::Stale { id, latest, based_on } => ApiError::PreconditionFailed(format!(
                "tariff {id} is at version {latest}, not {based_on}: read it again and apply your change to that"
            )),
            E::Invalid(e) => bad(e.to_string()),
            E::ChangedMeanwhile(id) => ApiError::Conflict(format!(
                "tariff {id} was changed by another request meanwhile: read it again and retry"
            )),
            E::KeptChanging(id) => ApiError::Conflict(format!("tariff {id} kept changing; retry")),
            E::StillAssigned { id, assignments } => {
                let assigned: Vec<String> = assignments.iter().map(describe).collect();
                ApiError::Conflict(format!(
                    "tariff {id} is still assigned: {}; delete these assignments first (DELETE /tariff-assignments/{{id}})",
                    assigned.join(", ")
                ))
            }
            E::AssignedNotFound(id) => {
                ApiError::NotFound(format!("tariffId: tariff {id:?} not found"))
            }
            E::AssignedDeleted(id) => bad(format!(
                "tariffId: tariff {id} is deleted; assign a live tariff"
            )),
            E::DeletedMeanwhile(id) => {
                ApiError::Conflict(format!("tariff {id} was deleted meanwhile"))
            }
            E::StationNotRegistered(sid) => bad(format!(
                "target.id: station {sid} is not registered (POST /stations first)"
            )),
            E::InvalidGroup(e) => bad(format!("group: {e}")),
            E::AssignmentNotFound(id) => {
                ApiError::NotFound(format!("tariff assignment {id:?} not found"))
            }
            E::Store(e) => e.into(),
        }
    }
}

fn service(st: &ApiState) -> TariffService<dyn Store> {
    TariffService::new(st.store.clone(), st.clock.clone())
}

// ---------------------------------------------------------------- tariffs

#[utoipa::path(post, path = "/tariffs", operation_id = "createTariff", tag = "tariffs", summary = "Create a tariff (version 1)", request_body = TariffInput, responses((status = 201, body = TariffView, headers(("ETag" = String, description = "The version, quoted"))), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tariff = service(&st)
        .create(&who.org_id, tariff_content(&body)?)
        .await?;
    Ok(tariff_response(StatusCode::CREATED, &tariff))
}

#[utoipa::path(get, path = "/tariffs", operation_id = "listTariffs", tag = "tariffs", summary = "List the organisation's tariffs (latest versions; deleted ones are left out)", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<TariffView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<TariffView>>, ApiError> {
    let page = service(&st).list(&who.org_id, &page(&params)?).await?;
    Ok(Json(ListOf {
        items: page.items.iter().map(TariffView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/tariffs/{id}", operation_id = "getTariff", tag = "tariffs", summary = "A tariff's latest version (a deleted tariff shows `deletedAt`)", params(("id" = String, Path, description = "Tariff id")), responses((status = 200, body = TariffView, headers(("ETag" = String, description = "The version, quoted"))), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let t = service(&st).tariff(&who.org_id, &id).await?;
    Ok(tariff_response(StatusCode::OK, &t))
}

#[utoipa::path(get, path = "/tariffs/{id}/versions", operation_id = "listTariffVersions", tag = "tariffs", summary = "Every version of a tariff, oldest first", params(("id" = String, Path, description = "Tariff id")), responses((status = 200, body = ItemsOf<TariffView>), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn versions(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ItemsOf<TariffView>>, ApiError> {
    let versions = service(&st).versions(&who.org_id, &id).await?;
    Ok(Json(ItemsOf {
        items: versions.iter().map(TariffView::from).collect(),
    }))
}

/// Stores version n+1, in force from now. Sessions are priced with the
/// version in force when they started, so an update never changes the price
/// of a session that is already running.
#[utoipa::path(put, path = "/tariffs/{id}", operation_id = "updateTariff", tag = "tariffs", summary = "Update a tariff: a new version, in force from now (running sessions keep the version they started with)", params(("id" = String, Path, description = "Tariff id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (`3`, or the ETag `\"3\"`): 412 if the tariff has a newer one")), request_body = TariffInput, responses((status = 200, body = TariffView, headers(("ETag" = String, description = "The new version, quoted"))), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found, or deleted", body = ErrorBody), (status = 409, description = "Changed by a concurrent request; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn update(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let next = service(&st)
        .update(
            &who.org_id,
            &id,
            || crate::util::if_match(&headers, "tariff"),
            || tariff_content(&body),
        )
        .await?;
    Ok(tariff_response(StatusCode::OK, &next))
}

// ---------------------------------------------------------------- the portal's

/// The organisation's live tariffs (latest versions), at most `limit`, as
/// `GET /tariffs` lists them.
pub async fn tariffs_of(
    st: &ApiState,
    who: &Principal,
    limit: u32,
) -> Result<Vec<Tariff>, ApiError> {
    let page = service(st)
        .list(&who.org_id, &csms_kernel::ports::PageRequest::first(limit))
        .await?;
    Ok(page.items)
}

/// Every version of one of the organisation's tariffs, oldest first, as
/// `GET /tariffs/{id}/versions` (another organisation's is not found).
pub async fn tariff_versions(
    st: &ApiState,
    who: &Principal,
    id: &str,
) -> Result<Vec<Tariff>, ApiError> {
    Ok(service(st).versions(&who.org_id, id).await?)
}

/// The organisation's assignments (of `tariff` only, if given), oldest
/// first, as `GET /tariff-assignments`.
pub async fn tariff_assignments(
    st: &ApiState,
    who: &Principal,
    tariff: Option<&str>,
) -> Result<Vec<TariffAssignment>, ApiError> {
    Ok(service(st).assignments(&who.org_id, tariff).await?)
}

/// A version of a tariff as the body `PUT /tariffs/{id}` takes: what a form
/// changes a value of before [`update_tariff`].
pub fn tariff_body(t: &Tariff) -> Value {
    let mut v = serde_json::to_value(TariffView::from(t)).expect("views serialise");
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "effectiveAt", "createdAt", "deletedAt"] {
            o.remove(k);
        }
    }
    v
}

/// `PUT /tariffs/{id}`'s use case: `body` parsed as the route parses it
/// (every bad value a 400 naming its field), then version n+1, in force
/// from now, written in one step; `based_on` as the route's `If-Match`.
pub async fn update_tariff(
    st: &ApiState,
    who: &Principal,
    id: &str,
    based_on: Option<u64>,
    body: &[u8],
) -> Result<Tariff, ApiError> {
    let body = Bytes::copy_from_slice(body);
    service(st)
        .update(&who.org_id, id, || Ok(based_on), || tariff_content(&body))
        .await
}

/// Writes a last version marked deleted: the tariff leaves the list, prices
/// no session that starts from now on, and its versions stay readable.
/// Refused while assignments point to it.
#[utoipa::path(delete, path = "/tariffs/{id}", operation_id = "deleteTariff", tag = "tariffs", summary = "Delete a tariff (its versions stay readable); remove its assignments first", params(("id" = String, Path, description = "Tariff id")), responses((status = 204, description = "Deleted (also when it already was)"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Still assigned (the message lists the assignments), or changed concurrently", body = ErrorBody)))]
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&st).delete(&who.org_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- assignments

/// One tariff per target and group: an assignment for a (target, group) that
/// already has one replaces it (the older one is deleted).
#[utoipa::path(post, path = "/tariff-assignments", operation_id = "createTariffAssignment", tag = "tariffs", summary = "Assign a tariff to a station, a site or the organisation, for everyone or one user group (one tariff per target and group: replaces an earlier assignment)", request_body = NewTariffAssignment, responses((status = 201, body = TariffAssignmentView), (status = 400, description = "Invalid input (also: the tariff is deleted, the station is not registered); the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "No such tariff", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create_assignment(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<TariffAssignmentView>), ApiError> {
    let req: NewTariffAssignment = json_body(&body)?;
    let assigned = service(&st)
        .assign(
            &who.org_id,
            req.tariff_id.trim(),
            || target(&req.target),
            req.group,
        )
        .await?;
    let mut view = TariffAssignmentView::from(&assigned.assignment);
    view.replaced = Some(assigned.replaced);
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/tariff-assignments", operation_id = "listTariffAssignments", tag = "tariffs", summary = "The organisation's tariff assignments, oldest first", params(("tariffId" = Option<String>, Query, description = "Only those of this tariff")), responses((status = 200, body = ItemsOf<TariffAssignmentView>), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list_assignments(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ItemsOf<TariffAssignmentView>>, ApiError> {
    let tariff = params.get("tariffId").filter(|t| !t.is_empty());
    let items = service(&st)
        .assignments(&who.org_id, tariff.map(String::as_str))
        .await?
        .iter()
        .map(TariffAssignmentView::from)
        .collect();
    Ok(Json(ItemsOf { items }))
}

#[utoipa::path(delete, path = "/tariff-assignments/{id}", operation_id = "deleteTariffAssignment", tag = "tariffs", summary = "Remove a tariff assignment", params(("id" = String, Path, description = "Assignment id")), responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete_assignment(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&st).unassign(&who.org_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_tariffs_body_parses_back_to_the_same_content() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let at: csms_domain::Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let t = Tariff {
            id: "trf_1".into(),
            org_id: csms_domain::OrgId::parse("org-a").unwrap(),
            name: "Publik".into(),
            currency: "SEK".into(),
            vat_rate: d("0.25"),
            time_zone: None,
            elements: vec![
                TariffElement {
                    components: vec![PriceComponent::Energy {
                        price: EnergyPrice::Spot(SpotFormula {
                            zone: BiddingZone::parse("SE3").unwrap(),
                            factor: d("1"),
                            markup: d("0.50"),
                            grid_fee: d("0.2"),
                            energy_tax: d("0.439"),
                            floor: Some(d("0")),
                            ceiling: None,
                        }),
                    }],
                    restrictions: Restrictions {
                        days_of_week: vec![Weekday::Mon, Weekday::Fri],
                        start_time: NaiveTime::from_hms_opt(17, 0, 0),
                        end_time: NaiveTime::from_hms_opt(20, 0, 0),
                        start_date: None,
                        end_date: None,
                    },
                },
                TariffElement {
                    components: vec![
                        PriceComponent::Energy {
                            price: EnergyPrice::Fixed { per_kwh: d("3.50") },
                        },
                        PriceComponent::Time {
                            price: d("0.10"),
                            per: TimeUnit::Minute,
                            free_minutes: 30,
                        },
                        PriceComponent::SessionFee { price: d("5") },
                        PriceComponent::Idle {
                            price: d("60"),
                            per: TimeUnit::Hour,
                            grace_minutes: 15,
                        },
                    ],
                    restrictions: Restrictions::default(),
                },
            ],
            min_price: Some(d("10")),
            max_price: None,
            version: 3,
            effective_at: at,
            created_at: at,
            deleted_at: None,
        };
        let body = serde_json::to_vec(&tariff_body(&t)).unwrap();
        let content = tariff_content(&Bytes::from(body)).unwrap();
        let expected = TariffContent {
            name: t.name.clone(),
            currency: t.currency.clone(),
            vat_rate: t.vat_rate,
            time_zone: t.time_zone.clone(),
            elements: t.elements.clone(),
            min_price: t.min_price,
            max_price: t.max_price,
        };
        assert_eq!(content, expected);
    }
}
