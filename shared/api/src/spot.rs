//! Stored spot prices and operator alarms: `GET /spot-prices/{zone}/{date}`
//! (a zone's local day as the fetcher or an operator stored it) and
//! `GET /alarms` (e.g. tomorrow's prices missing late in the day).
//!
//! Spot prices are platform data, the same for every organisation; alarms
//! belong to an organisation (the platform's are the default one's).

use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{page, time, Params};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use chrono::{Datelike, NaiveDate};
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSource};
use csms_kernel::views::dec;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::Principal;

/// One delivery day of one bidding zone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpotDayView {
    /// Bidding zone, e.g. `SE3`.
    pub zone: String,
    /// The zone's local calendar day, `YYYY-MM-DD`.
    pub date: String,
    /// Prices are per kWh in this currency, excluding VAT.
    pub currency: String,
    /// 15 or 60.
    pub resolution_minutes: u32,
    /// `elprisetjustnu`, `entsoe`, `manual` or `fallback`.
    pub source: String,
    /// For `fallback`: the rule that filled the day in (`previous-day`, `fixed:0.85`).
    pub fallback_rule: Option<String>,
    pub fetched_at: String,
    /// Contiguous from local midnight: 96 quarter-hours (92 or 100 on DST
    /// days) or 24 hours (23 or 25).
    pub slots: Vec<SpotSlotView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpotSlotView {
    pub start: String,
    pub end: String,
    /// Per kWh, an exact decimal as a string, e.g. `"0.2901"` or `"-0.0125"`.
    pub price: String,
}

impl From<&SpotDay> for SpotDayView {
    fn from(d: &SpotDay) -> Self {
        SpotDayView {
            zone: d.zone.code().to_owned(),
            date: d.date.to_string(),
            currency: d.currency.clone(),
            resolution_minutes: d.resolution_minutes,
            source: d.source.name().to_owned(),
            fallback_rule: match &d.source {
                SpotSource::Fallback { rule } => Some(rule.clone()),
                _ => None,
            },
            fetched_at: time(d.fetched_at),
            slots: d
                .slots
                .iter()
                .map(|s| SpotSlotView {
                    start: time(s.start),
                    end: time(s.end),
                    price: dec(s.price),
                })
                .collect(),
        }
    }
}

/// The JSON of a stored day (also what storing one by hand answers).
pub fn spot_day_json(d: &SpotDay) -> Value {
    serde_json::to_value(SpotDayView::from(d)).expect("views serialise")
}

/// Something an operator must look at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    /// Derived from the condition, e.g. `spot-missing:SE3:2026-11-24`.
    pub id: String,
    /// e.g. `spotPricesMissing`.
    pub kind: String,
    /// `warning` or `critical`.
    pub severity: String,
    pub message: String,
    /// Kind-specific facts (for spot prices: zone, date, fallback, what each source said).
    #[schema(value_type = Object)]
    pub details: Value,
    pub active: bool,
    pub raised_at: String,
    pub resolved_at: Option<String>,
}

impl From<&Alarm> for AlarmView {
    fn from(a: &Alarm) -> Self {
        AlarmView {
            id: a.id.clone(),
            kind: a.kind.clone(),
            severity: match a.severity {
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            }
            .to_owned(),
            message: a.message.clone(),
            details: a.details.clone(),
            active: a.is_active(),
            raised_at: time(a.raised_at),
            resolved_at: a.resolved_at.map(time),
        }
    }
}

fn zone_and_date(zone: &str, date: &str) -> Result<(BiddingZone, NaiveDate), ApiError> {
    let zone = BiddingZone::parse(zone).map_err(|e| ApiError::BadRequest(format!("zone: {e}")))?;
    let date: NaiveDate = date
        .parse()
        .map_err(|_| ApiError::BadRequest("date: must be YYYY-MM-DD".into()))?;
    if !(2000..=2100).contains(&date.year()) {
        return Err(ApiError::BadRequest(
            "date: must be between 2000 and 2100".into(),
        ));
    }
    Ok((zone, date))
}

#[utoipa::path(get, path = "/spot-prices/{zone}/{date}", operation_id = "getSpotPrices", tag = "pricing", summary = "A zone's stored day-ahead prices for one local day", params(("zone" = String, Path, pattern = "^[A-Za-z]{2}[0-9]?$", description = "Bidding zone, e.g. SE3"), ("date" = String, Path, format = Date, description = "The zone's local delivery day, YYYY-MM-DD")), responses((status = 200, body = SpotDayView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not stored (yet)", body = ErrorBody)))]
pub async fn get_spot_day(
    State(st): State<ApiState>,
    Path((zone, date)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (zone, date) = zone_and_date(&zone, &date)?;
    let day =
        st.store.get_spot_day(zone, date).await?.ok_or_else(|| {
            ApiError::NotFound(format!("no spot prices stored for {zone} on {date}"))
        })?;
    Ok(Json(spot_day_json(&day)))
}

#[utoipa::path(get, path = "/alarms", operation_id = "listAlarms", tag = "alarms", summary = "The organisation's alarms, newest first", params(("active" = Option<bool>, Query, description = "true: only alarms not resolved yet"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<AlarmView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list_alarms(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let active_only = match params.get("active").map(String::as_str) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "active: must be true or false, not {other:?}"
            )))
        }
    };
    let page = st
        .store
        .list_alarms(&who.org_id, active_only, &page(&params)?)
        .await?;
    Ok(Json(json!({
        "items": page.items.iter().map(AlarmView::from).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}
