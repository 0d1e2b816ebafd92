//! Stored spot prices and operator alarms: `GET /spot-prices/{zone}/{date}`
//! (a zone's local day as the fetcher or an operator stored it) and
//! `GET /alarms` (e.g. tomorrow's prices missing late in the day).
//!
//! Spot prices are platform data, the same for every organisation; alarms
//! belong to an organisation (the platform's are the default one's).

use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use chrono::{Datelike, NaiveDate};
use csms_domain::alarm::{Alarm, HandlingError};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSource};
use csms_kernel::ports::StoreError;
use csms_kernel::views::dec;
use serde::{Deserialize, Serialize};
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

pub use csms_kernel::views::AlarmView;

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
    let day = spot_day(&st, zone, date)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no spot prices stored for {zone} on {date}")))?;
    Ok(Json(spot_day_json(&day)))
}

/// `GET /spot-prices/{zone}/{date}`'s use case: the zone's stored prices of
/// its local day `date`, `None` while none are stored. Platform data, the
/// same for every organisation.
pub async fn spot_day(
    st: &ApiState,
    zone: BiddingZone,
    date: NaiveDate,
) -> Result<Option<SpotDay>, ApiError> {
    Ok(st.store.get_spot_day(zone, date).await?)
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

/// `POST /alarms/{id}/resolve`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResolveAlarm {
    /// What was done, for the others (at most 2000 characters).
    #[schema(example = "Breaker reset by the caretaker")]
    note: Option<String>,
}

/// The organisation's alarm `id`: one of another organisation is answered
/// like one that does not exist.
/// The longest alarm id looked up, in bytes.
const ALARM_ID_MAX: usize = 256;

async fn own_alarm(st: &ApiState, who: &Principal, id: &str) -> Result<Alarm, ApiError> {
    // Alarm ids are a kind and a station or site id: far shorter. A longer
    // one is no alarm, and is not sent to the store (a DynamoDB key holds
    // at most 2048 bytes).
    if id.len() > ALARM_ID_MAX {
        return Err(ApiError::NotFound(format!(
            "alarm {:?}… not found",
            id.chars().take(40).collect::<String>()
        )));
    }
    st.store
        .get_alarm(id)
        .await?
        .filter(|a| who.actor().owns(&a.org_id))
        .ok_or_else(|| ApiError::NotFound(format!("alarm {id:?} not found")))
}

/// Reads the alarm, applies `change` and writes it on the version read;
/// a lost race reads again (bounded).
async fn handle_alarm(
    st: &ApiState,
    who: &Principal,
    id: &str,
    change: impl Fn(&mut Alarm) -> Result<(), HandlingError>,
) -> Result<Alarm, ApiError> {
    for _ in 0..3 {
        let mut alarm = own_alarm(st, who, id).await?;
        change(&mut alarm).map_err(|e| match e {
            HandlingError::NoteTooLong => ApiError::BadRequest(e.to_string()),
            HandlingError::Resolved | HandlingError::Acknowledged { .. } => {
                ApiError::Conflict(e.to_string())
            }
        })?;
        let expected = alarm.version;
        alarm.version += 1;
        match st.store.put_alarm(&alarm, expected).await {
            Ok(()) => return Ok(alarm),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "alarm {id:?} kept changing; read it again"
    )))
}

#[utoipa::path(get, path = "/alarms/{id}", operation_id = "getAlarm", tag = "alarms", summary = "An alarm of the organisation", params(("id" = String, Path, description = "Alarm id")), responses((status = 200, body = AlarmView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get_alarm(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<AlarmView>, ApiError> {
    Ok(Json((&own_alarm(&st, &who, &id).await?).into()))
}

#[utoipa::path(post, path = "/alarms/{id}/acknowledge", operation_id = "acknowledgeAlarm", tag = "alarms", summary = "Say someone is on it", description = "Records who acknowledged the alarm and when. The alarm stays active until its condition clears or someone resolves it.", params(("id" = String, Path, description = "Alarm id")), responses((status = 200, body = AlarmView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Resolved, or acknowledged already (the answer says by whom)", body = ErrorBody)))]
pub async fn acknowledge_alarm(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<AlarmView>, ApiError> {
    let now = st.clock.now();
    let by = who.actor().audit_name();
    let alarm = handle_alarm(&st, &who, &id, |a| a.acknowledge(&by, now)).await?;
    Ok(Json((&alarm).into()))
}

#[utoipa::path(post, path = "/alarms/{id}/resolve", operation_id = "resolveAlarm", tag = "alarms", summary = "Resolve an alarm by hand, with a note", description = "For a condition the CSMS cannot see clear by itself, or one that was dealt with. An unacknowledged alarm counts as acknowledged by the same caller. If the condition comes back, the alarm is raised again as a new one.", params(("id" = String, Path, description = "Alarm id")), request_body = ResolveAlarm, responses((status = 200, body = AlarmView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Resolved already", body = ErrorBody)))]
pub async fn resolve_alarm(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<AlarmView>, ApiError> {
    // An empty body is a resolution without a note.
    let req: ResolveAlarm = if body.is_empty() {
        ResolveAlarm::default()
    } else {
        json_body(&body)?
    };
    let now = st.clock.now();
    let by = who.actor().audit_name();
    let alarm = handle_alarm(&st, &who, &id, |a| {
        a.resolve_by_hand(&by, req.note.as_deref(), now)
    })
    .await?;
    st.events
        .publish(csms_kernel::events::DomainEvent::AlarmResolved {
            alarm: alarm.clone(),
            at: now,
        })
        .await;
    Ok(Json((&alarm).into()))
}
