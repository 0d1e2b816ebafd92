//! Prices: what a driver would pay at a station (`GET
//! /stations/{id}/price-preview`), a session's priced record (`GET
//! /sessions/{id}/price`, its revisions) and explicit repricing (`POST
//! /sessions/{id}/reprice`, admin). Sessions are priced automatically when
//! they complete; nothing here changes a revision once written.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf};
use crate::util::{json_body, time, time_param, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Datelike;
use csms_domain::pricing::engine::PricingError;
use csms_domain::pricing::PricedSession;
use csms_domain::tariff::ComponentKind;
use csms_domain::IdTokenValue;
use csms_kernel::views::{dec, money, PricedSessionView};
use csms_pricing::{Preview, PriceSessionError, Priced, PricingService};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

fn service(st: &ApiState) -> PricingService<dyn csms_kernel::Store> {
    PricingService::new(st.store.clone(), st.clock.clone()).with_events(st.events.clone())
}

/// A session with its price (the latest revision; null until priced).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionWithPrice {
    #[serde(flatten)]
    pub session: csms_kernel::views::SessionView,
    pub price: Option<PricedSessionView>,
}

pub fn priced_json(p: &PricedSession) -> Value {
    serde_json::to_value(PricedSessionView::from(p)).expect("views serialise")
}

fn pricing_error(e: PriceSessionError) -> ApiError {
    match e {
        PriceSessionError::NotFound(id) => ApiError::NotFound(format!("session {id:?} not found")),
        PriceSessionError::StationNotFound(id) => {
            ApiError::NotFound(format!("station {id:?} not found"))
        }
        PriceSessionError::NotCompleted(id) => ApiError::Conflict(format!(
            "session {id} is still active: it is priced when it completes"
        )),
        PriceSessionError::Engine(PricingError::MissingSpotPrice { zone, at }) => ApiError::Conflict(format!(
            "no spot price for {zone} at {}: store that day's prices first (PUT /spot-prices/{zone}/{{date}})",
            time(at)
        )),
        PriceSessionError::Engine(PricingError::NotCompleted) => {
            ApiError::Conflict("session is still active".into())
        }
        PriceSessionError::Engine(e @ PricingError::OutOfRange(_)) => {
            ApiError::Conflict(format!("session cannot be priced: {e}"))
        }
        PriceSessionError::TariffMissing(id) => {
            ApiError::Conflict(format!("assigned tariff {id} does not exist"))
        }
        PriceSessionError::Store(e) => e.into(),
    }
}

/// The caller's session `raw` and its price's latest revision, `None`
/// while it is not priced (what `GET /sessions/{id}/price` answers, and
/// the portal's session page).
pub async fn session_price(
    st: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<(csms_domain::session::Session, Option<PricedSession>), ApiError> {
    let session = crate::sessions::find(st, who, raw).await?;
    let price = st.store.get_priced_session(&session.id).await?;
    Ok((session, price))
}

#[utoipa::path(get, path = "/sessions/{id}/price", operation_id = "getSessionPrice", tag = "pricing", summary = "A session's price (the latest revision)", params(("id" = String, Path, description = "Session id")), responses((status = 200, body = PricedSessionView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "No such session, or not priced (yet)", body = ErrorBody)))]
pub async fn get_price(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (session, price) = session_price(&st, &who, &raw).await?;
    match price {
        Some(p) => Ok(Json(priced_json(&p))),
        None => Err(ApiError::NotFound(format!(
            "session {} is not priced{}",
            session.id,
            if session.status == csms_domain::session::SessionStatus::Active {
                " yet: it is still active"
            } else {
                ": no tariff applied, or its spot prices are missing (POST …/reprice says which)"
            }
        ))),
    }
}

#[utoipa::path(get, path = "/sessions/{id}/price/revisions", operation_id = "listSessionPriceRevisions", tag = "pricing", summary = "Every revision of a session's price, oldest first", params(("id" = String, Path, description = "Session id")), responses((status = 200, body = ItemsOf<PricedSessionView>), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn revisions(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let session = crate::sessions::find(&st, &who, &raw).await?;
    let items: Vec<Value> = st
        .store
        .priced_revisions(&session.id)
        .await?
        .iter()
        .map(priced_json)
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepriceRequest {
    /// Why (kept with the revision): "tariff corrected", "meter values arrived late".
    reason: String,
}

#[utoipa::path(post, path = "/sessions/{id}/reprice", operation_id = "repriceSession", tag = "pricing", summary = "Price a completed session again, as a new revision (audited)", params(("id" = String, Path, description = "Session id")), request_body = RepriceRequest, responses((status = 201, body = PricedSessionView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Still active, no tariff applies, spot prices missing, or a concurrent repricing", body = ErrorBody)))]
pub async fn reprice(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: RepriceRequest = json_body(&body)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::BadRequest("reason: 1–500 characters".into()));
    }
    // The pricing service answers a session of another organisation like
    // a missing one.
    let id = crate::sessions::session_id(&raw)?;
    match service(&st)
        .reprice(&who.actor(), &id, reason)
        .await
        .map_err(pricing_error)?
    {
        Priced::Done { priced, .. } => Ok((StatusCode::CREATED, Json(priced_json(&priced)))),
        Priced::NoTariff(r) => Err(ApiError::Conflict(format!(
            "no tariff applies to this session (looked for: {})",
            r.steps
                .iter()
                .map(|s| s.looked_for.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// One component's price now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewPrice {
    /// `sessionFee`, `energy`, `time` or `idle`.
    pub component: String,
    /// Net per unit.
    pub unit_price: String,
    /// Including VAT, rounded to 0.0001.
    pub unit_price_incl_vat: String,
    /// `kWh`, `min`, `h` or `session`.
    pub unit: String,
    pub spot_price: Option<String>,
    /// Time: free minutes at the start; idle: grace minutes after charging stops.
    pub free_minutes: u32,
    /// Which tariff element (index) sets this price now.
    pub element: usize,
}

/// One step of the tariff resolution.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewStep {
    pub looked_for: String,
    pub assignment_id: Option<String>,
    pub tariff_id: Option<String>,
}

/// What a driver would pay at a station now, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricePreview {
    pub station_id: String,
    pub id_token: Option<String>,
    /// The token's user group; null for no token or no group.
    pub group: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
    /// The resolved tariff (null: none is assigned; charging here is not priced).
    pub tariff_id: Option<String>,
    pub tariff_name: Option<String>,
    pub tariff_version: Option<u64>,
    pub currency: Option<String>,
    pub vat_rate: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub prices: Vec<PreviewPrice>,
    /// The resolution order, up to the step that matched.
    pub resolution: Vec<PreviewStep>,
    /// The same in one sentence.
    pub explanation: String,
}

/// `GET /stations/{id}/price-preview`'s use case: what a driver with
/// `id_token` (none or empty: the public price) would pay at `station` at
/// `at` (none: now), with the tariff resolution that says why. Another
/// organisation's station is not found; a bad id or token is a 400 naming
/// it.
pub async fn price_preview(
    st: &ApiState,
    who: &Principal,
    station: &str,
    id_token: Option<&str>,
    at: Option<csms_domain::Timestamp>,
) -> Result<(csms_domain::StationId, Option<IdTokenValue>, Preview), ApiError> {
    let station = crate::stations::station_id(station)?;
    let token = match id_token.filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(
            IdTokenValue::parse(t).map_err(|e| ApiError::BadRequest(format!("idToken: {e}")))?,
        ),
    };
    let at = at.unwrap_or_else(|| st.clock.now());
    let p = service(st)
        .preview(&who.actor(), &station, token.as_ref(), at)
        .await
        .map_err(pricing_error)?;
    Ok((station, token, p))
}

/// The price at a start link's station now for `token` (`None`: the
/// public price): the price preview's use case as the station's own
/// organisation would ask it, for the public start page, whose visitor has
/// no organisation. A token of another organisation has no user group
/// there, so it gets the public price.
pub async fn link_station_price(
    st: &ApiState,
    org: &csms_domain::OrgId,
    station: &csms_domain::StationId,
    token: Option<&IdTokenValue>,
) -> Result<Preview, ApiError> {
    let actor = csms_domain::actor::Actor::new(org.clone(), csms_domain::actor::ActedBy::System);
    service(st)
        .preview(&actor, station, token, st.clock.now())
        .await
        .map_err(pricing_error)
}

#[utoipa::path(get, path = "/stations/{id}/price-preview", operation_id = "previewStationPrice", tag = "pricing", summary = "What a driver would pay at this station now, and why", params(("id" = String, Path, description = "Station id"), ("idToken" = Option<String>, Query, description = "The driver's id token (its user group picks the tariff); without it, the public price"), ("at" = Option<String>, Query, format = DateTime, description = "Instead of now")), responses((status = 200, body = PricePreview), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The tariff follows spot prices that are not stored for this time", body = ErrorBody)))]
pub async fn preview(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<PricePreview>, ApiError> {
    let at = time_param(&params, "at")?;
    let token = params.get("idToken").map(String::as_str);
    let (station, token, p) = price_preview(&st, &who, &raw, token, at).await?;
    let vat = p.tariff.as_ref().map_or(Decimal::ZERO, |t| t.vat_rate);
    let prices = p
        .prices
        .iter()
        .map(|c| PreviewPrice {
            component: match c.kind {
                ComponentKind::Energy => "energy",
                ComponentKind::Time => "time",
                ComponentKind::SessionFee => "sessionFee",
                ComponentKind::Idle => "idle",
            }
            .to_owned(),
            unit_price: dec(c.unit_price),
            unit_price_incl_vat: dec((c.unit_price * (Decimal::ONE + vat)).round_dp(4)),
            unit: c.unit.to_owned(),
            spot_price: c.spot_price.map(dec),
            free_minutes: c.free_minutes,
            element: c.element,
        })
        .collect();
    let explanation = match (&p.tariff, p.resolution.steps.last()) {
        (Some(t), Some(step)) => format!(
            "tariff {:?} (version {}) applies: assigned to {}{}",
            t.name,
            t.version,
            step.looked_for,
            if p.resolution.steps.len() > 1 {
                format!(
                    "; nothing more specific was assigned ({})",
                    p.resolution.steps[..p.resolution.steps.len() - 1]
                        .iter()
                        .map(|s| s.looked_for.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            } else {
                String::new()
            }
        ),
        _ => "no tariff is assigned to this station, its site or the organisation for this driver"
            .to_owned(),
    };
    Ok(Json(PricePreview {
        station_id: station.to_string(),
        id_token: token.map(|t| t.to_string()),
        group: p.group,
        at: time(p.at),
        tariff_id: p.tariff.as_ref().map(|t| t.id.clone()),
        tariff_name: p.tariff.as_ref().map(|t| t.name.clone()),
        tariff_version: p.tariff.as_ref().map(|t| t.version),
        currency: p.tariff.as_ref().map(|t| t.currency.clone()),
        vat_rate: p.tariff.as_ref().map(|t| dec(t.vat_rate)),
        min_price: p.tariff.as_ref().and_then(|t| t.min_price).map(money),
        max_price: p.tariff.as_ref().and_then(|t| t.max_price).map(money),
        prices,
        resolution: p
            .resolution
            .steps
            .iter()
            .map(|s| PreviewStep {
                looked_for: s.looked_for.clone(),
                assignment_id: s.assignment_id.clone(),
                tariff_id: s.tariff_id.clone(),
            })
            .collect(),
        explanation,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ManualSpotDay {
    /// 15 or 60.
    resolution_minutes: u32,
    /// Per kWh in the zone's currency, excluding VAT, one per slot in local
    /// order from midnight: 96 quarter-hours (92 or 100 on DST days) or 24
    /// hours (23 or 25). Decimal strings or numbers.
    #[schema(value_type = Vec<String>)]
    prices: Vec<Decimal>,
}

#[utoipa::path(put, path = "/spot-prices/{zone}/{date}", operation_id = "putSpotPrices", tag = "pricing", summary = "Store a day's spot prices by hand (replaces what is stored; sessions already priced keep their price)", params(("zone" = String, Path, description = "Bidding zone, e.g. SE3"), ("date" = String, Path, description = "The zone's local delivery day, YYYY-MM-DD")), request_body = ManualSpotDay, responses((status = 200, description = "Stored; the day as GET returns it", body = crate::spot::SpotDayView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn put_spot_day(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((zone, date)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // A zone's prices belong to no organisation and price every
    // organisation's sessions: only the operator of the platform sets them.
    if !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "spot prices are the platform admin's: only the configured admin key may store them"
                .into(),
        ));
    }
    use chrono::TimeDelta;
    use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
    let zone = BiddingZone::parse(&zone).map_err(|e| ApiError::BadRequest(format!("zone: {e}")))?;
    let date: chrono::NaiveDate = date
        .parse()
        .map_err(|_| ApiError::BadRequest("date: must be YYYY-MM-DD".into()))?;
    if date.year_ce().1 < 2000 || date.year_ce().1 > 2100 {
        return Err(ApiError::BadRequest(
            "date: must be between 2000 and 2100".into(),
        ));
    }
    let req: ManualSpotDay = json_body(&body)?;
    let res = req.resolution_minutes;
    if res != 15 && res != 60 {
        return Err(ApiError::BadRequest(
            "resolutionMinutes: must be 15 or 60".into(),
        ));
    }
    let hours = zone.day_length(date).num_hours();
    let expected = (hours * 60 / i64::from(res)) as usize;
    if req.prices.len() != expected {
        let why = match hours {
            23 => " (daylight saving time starts that day)",
            25 => " (daylight saving time ends that day)",
            _ => "",
        };
        return Err(ApiError::BadRequest(format!(
            "prices: {date} in {zone} has {hours} hours{why}, so {expected} prices of {res} minutes; got {}",
            req.prices.len()
        )));
    }
    if let Some(p) = req.prices.iter().find(|p| p.abs() > Decimal::from(1000)) {
        return Err(ApiError::BadRequest(format!(
            "prices: {p} per kWh is outside ±1000 (prices are per kWh, not per MWh)"
        )));
    }
    let start = zone.day_start(date);
    let step = TimeDelta::minutes(i64::from(res));
    let day = SpotDay {
        zone,
        date,
        currency: zone.currency().to_owned(),
        resolution_minutes: res,
        slots: req
            .prices
            .iter()
            .enumerate()
            .map(|(i, p)| SpotSlot {
                start: start + step * i as i32,
                end: start + step * (i as i32 + 1),
                price: *p,
            })
            .collect(),
        source: SpotSource::Manual,
        fetched_at: st.clock.now(),
    };
    day.validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    st.store.put_spot_day(&day).await?;
    Ok(Json(crate::spot::spot_day_json(&day)))
}
