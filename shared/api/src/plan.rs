//! Price-optimised charging: a session's energy need and departure (`PUT /
//! GET / DELETE /sessions/{id}/charging-need`) and the site's plan for the
//! hours ahead (`GET /sites/{id}/load/plan`).
//!
//! A need is given by the driver's app or an integration here, or by the car
//! itself over ISO 15118 (OCPP 2.0.1 NotifyEVChargingNeeds); the balancer
//! plans the session into the cheapest quarter-hours before its departure
//! and caps it at its plan, slot by slot.

use crate::error::ApiError;
use crate::load::site_id;
use crate::openapi::ErrorBody;
use crate::sessions::find;
use crate::util::json_body;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use csms_domain::load::{ChargingNeed, LoadState, NeedSource, PlannedSession, SitePlan};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::{SessionId, SiteId, Timestamp};
use csms_kernel::views::time;
use csms_load::plan::{remaining_wh, NO_PLAN_WARNING};
use csms_load::service::NeedInput;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;

fn kwh(wh: Decimal) -> Decimal {
    (wh / Decimal::from(1000)).round_dp(3).normalize()
}

fn wh(kwh: Decimal) -> Decimal {
    kwh * Decimal::from(1000)
}

/// Why there is no plan, from the last computation's warnings.
fn plan_warnings(state: &LoadState) -> Vec<String> {
    state
        .warnings
        .iter()
        .filter(|w| w.starts_with(NO_PLAN_WARNING))
        .cloned()
        .collect()
}

/// One quarter-hour of a plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    pub start: String,
    pub end: String,
    /// Spot price per kWh, excl. VAT.
    #[schema(value_type = f64)]
    pub price: Decimal,
}

/// One session's plan: amperes per phase in each slot of the site plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSessionView {
    pub session_id: String,
    pub station_id: String,
    pub evse_id: u32,
    pub departure_at: String,
    /// Energy still needed when the plan was made.
    #[schema(value_type = f64)]
    pub need_kwh: Decimal,
    #[schema(value_type = f64)]
    pub planned_kwh: Decimal,
    #[schema(value_type = f64)]
    pub unmet_kwh: Decimal,
    /// Why not all of the need fits.
    pub unmet: Option<String>,
    /// Cost of the planned energy at spot prices (excl. VAT and fees).
    #[schema(value_type = f64)]
    pub cost: Decimal,
    pub phases: u8,
    /// One per slot: amperes per phase; 0 = not charging in that slot.
    #[schema(value_type = Vec<f64>)]
    pub currents_a: Vec<Decimal>,
}

/// The site's plan for the hours ahead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub site_id: String,
    /// When the plan was made; null when no session has a need to plan.
    pub made_at: Option<String>,
    pub slot_minutes: u32,
    pub bidding_zone: Option<String>,
    pub currency: Option<String>,
    pub slots: Vec<SlotView>,
    pub sessions: Vec<PlannedSessionView>,
    /// Why there is no plan, or what limits it.
    pub warnings: Vec<String>,
}

/// Each slot's start, end and price.
fn slot_times(p: &SitePlan) -> impl Iterator<Item = (Timestamp, Timestamp, Decimal)> + '_ {
    let len = chrono::TimeDelta::minutes(i64::from(p.slot_minutes));
    p.prices.iter().enumerate().map(move |(i, price)| {
        let start = p.start + len * i32::try_from(i).unwrap_or(i32::MAX);
        (start, start + len, *price)
    })
}

fn slots(p: &SitePlan) -> Vec<SlotView> {
    slot_times(p)
        .map(|(start, end, price)| SlotView {
            start: time(start),
            end: time(end),
            price,
        })
        .collect()
}

fn planned_view(s: &PlannedSession) -> PlannedSessionView {
    PlannedSessionView {
        // Planned sessions come from stored ones, whose transaction ids were
        // checked on the way in; one that is not (data from before the check)
        // shows without a session id rather than failing the whole plan.
        session_id: SessionId::try_new(&s.station_id, &s.transaction_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        station_id: s.station_id.to_string(),
        evse_id: s.evse_id,
        departure_at: time(s.departure_at),
        need_kwh: kwh(s.need_wh),
        planned_kwh: kwh(s.planned_wh),
        unmet_kwh: kwh(s.unmet_wh),
        unmet: s.unmet.clone(),
        cost: s.cost,
        phases: s.phases,
        currents_a: s.currents_a.clone(),
    }
}

/// The site's plan as `GET /sites/{id}/load/plan` answers it (and the
/// portal's load page shows it), from the state of the last computation.
pub fn plan_view(site: &SiteId, state: &LoadState) -> PlanView {
    let warnings = plan_warnings(state);
    match &state.plan {
        Some(p) => PlanView {
            site_id: site.to_string(),
            made_at: Some(time(p.made_at)),
            slot_minutes: p.slot_minutes,
            bidding_zone: Some(p.bidding_zone.clone()),
            currency: Some(p.currency.clone()),
            slots: slots(p),
            sessions: p.sessions.iter().map(planned_view).collect(),
            warnings,
        },
        None => PlanView {
            site_id: site.to_string(),
            made_at: None,
            slot_minutes: 15,
            bidding_zone: None,
            currency: None,
            slots: Vec::new(),
            sessions: Vec::new(),
            warnings,
        },
    }
}

#[utoipa::path(get, path = "/sites/{id}/load/plan", operation_id = "getSitePlan", tag = "load", summary = "The price-optimised plan for the hours ahead: per session with a need, amperes per quarter-hour", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = PlanView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn site_plan(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<PlanView>, ApiError> {
    let site = site_id(&id)?;
    let (_, state) = st.load.state(&who.org_id, &site).await?;
    Ok(Json(plan_view(&site, &state)))
}

/// How much a car needs and by when. Give `energyKwh`, or
/// `targetSocPercent` with `batteryKwh` (then the car's reported state of
/// charge says what is left; until it reports one, `energyKwh` is used if
/// given), and always `departureAt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NeedBody {
    #[schema(value_type = Option<f64>, example = 20)]
    pub energy_kwh: Option<Decimal>,
    #[schema(value_type = Option<f64>, example = 80)]
    pub target_soc_percent: Option<Decimal>,
    #[schema(value_type = Option<f64>, example = 64)]
    pub battery_kwh: Option<Decimal>,
    #[schema(value_type = String, format = DateTime)]
    pub departure_at: chrono::DateTime<chrono::Utc>,
}

/// A session's need and where its plan stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NeedView {
    pub session_id: String,
    /// `driver` (through this API) or `iso15118` (the car itself).
    pub source: String,
    #[schema(value_type = Option<f64>)]
    pub energy_kwh: Option<Decimal>,
    #[schema(value_type = Option<f64>)]
    pub target_soc_percent: Option<Decimal>,
    #[schema(value_type = Option<f64>)]
    pub battery_kwh: Option<Decimal>,
    pub departure_at: Option<String>,
    pub set_at: String,
    /// What is still to charge.
    #[schema(value_type = Option<f64>)]
    pub remaining_kwh: Option<Decimal>,
    /// `planned`; `met` (charging on freely); `waitingForSoc` (a target SoC
    /// and no reading yet); `noDeparture`; `unplanned` (see `warnings`).
    pub status: String,
    pub plan: Option<SessionPlanView>,
    pub warnings: Vec<String>,
}

/// One session's plan with its slots.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPlanView {
    pub made_at: String,
    pub currency: String,
    #[schema(value_type = f64)]
    pub planned_kwh: Decimal,
    #[schema(value_type = f64)]
    pub unmet_kwh: Decimal,
    pub unmet: Option<String>,
    #[schema(value_type = f64)]
    pub cost: Decimal,
    pub phases: u8,
    /// The quarter-hours from now to departure.
    pub slots: Vec<SessionSlotView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSlotView {
    pub start: String,
    pub end: String,
    #[schema(value_type = f64)]
    pub price: Decimal,
    /// Amperes per phase; 0 = not charging.
    #[schema(value_type = f64)]
    pub current_a: Decimal,
}

fn need_view(session: &Session, state: &LoadState, need: &ChargingNeed) -> NeedView {
    let es = state.evses.iter().find(|e| {
        e.station_id == session.station_id
            && e.transaction_id.as_deref() == Some(&session.transaction_id)
    });
    let remaining = remaining_wh(need, es.and_then(|e| e.soc), session.energy_wh());
    let planned = state.plan.as_ref().and_then(|p| {
        p.sessions
            .iter()
            .find(|s| {
                s.station_id == session.station_id && s.transaction_id == session.transaction_id
            })
            .map(|s| (p, s))
    });
    let plan = planned.map(|(p, s)| SessionPlanView {
        made_at: time(p.made_at),
        currency: p.currency.clone(),
        planned_kwh: kwh(s.planned_wh),
        unmet_kwh: kwh(s.unmet_wh),
        unmet: s.unmet.clone(),
        cost: s.cost,
        phases: s.phases,
        slots: slot_times(p)
            .zip(&s.currents_a)
            .take_while(|((start, _, _), _)| *start < s.departure_at)
            .map(|((start, end, price), c)| SessionSlotView {
                start: time(start),
                end: time(end),
                price,
                current_a: *c,
            })
            .collect(),
    });
    let status = match (&plan, remaining, need.departure_at) {
        (Some(_), _, _) => "planned",
        (None, _, None) => "noDeparture",
        (None, Some(r), _) if r <= Decimal::ZERO => "met",
        (None, None, _) => "waitingForSoc",
        (None, Some(_), _) => "unplanned",
    };
    NeedView {
        session_id: session.id.to_string(),
        source: match need.source {
            NeedSource::Driver => "driver",
            NeedSource::Iso15118 => "iso15118",
        }
        .into(),
        energy_kwh: need.energy_wh.map(kwh),
        target_soc_percent: need.target_soc,
        battery_kwh: need.battery_wh.map(kwh),
        departure_at: need.departure_at.map(time),
        set_at: time(need.set_at),
        remaining_kwh: remaining.map(kwh),
        status: status.into(),
        plan,
        warnings: plan_warnings(state),
    }
}

#[utoipa::path(put, path = "/sessions/{id}/charging-need", operation_id = "putChargingNeed", tag = "sessions", summary = "Tell how much energy a running session needs and by when: it is planned into the cheapest quarter-hours", params(("id" = String, Path, description = "Session id")), request_body = NeedBody, responses((status = 200, body = NeedView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The session has ended, or its EVSE is not load balanced", body = ErrorBody)))]
pub async fn put_need(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<NeedView>, ApiError> {
    let s = find(&st, &who, &id).await?;
    let b: NeedBody = json_body(&body)?;
    let input = NeedInput {
        energy_wh: b.energy_kwh.map(wh),
        target_soc: b.target_soc_percent,
        battery_wh: b.battery_kwh.map(wh),
        departure_at: Some(b.departure_at),
    };
    let state = st.load.set_need(&who.org_id, &s, input).await?;
    let (_, need) = st.load.need(&who.org_id, &s).await?;
    let need = need.ok_or_else(|| {
        ApiError::Conflict("the session ended while its need was being set".into())
    })?;
    Ok(Json(need_view(&s, &state, &need)))
}

#[utoipa::path(get, path = "/sessions/{id}/charging-need", operation_id = "getChargingNeed", tag = "sessions", summary = "A session's energy need, what is left of it, and its plan", params(("id" = String, Path, description = "Session id")), responses((status = 200, body = NeedView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 404, description = "Not found, or no need given", body = ErrorBody), (status = 409, description = "The session's EVSE is not load balanced", body = ErrorBody)))]
pub async fn get_need(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<NeedView>, ApiError> {
    let s = find(&st, &who, &id).await?;
    let (state, need) = st.load.need(&who.org_id, &s).await?;
    let need = need
        .filter(|_| s.status == SessionStatus::Active)
        .ok_or_else(|| ApiError::NotFound(format!("session {id} has no charging need")))?;
    Ok(Json(need_view(&s, &state, &need)))
}

#[utoipa::path(delete, path = "/sessions/{id}/charging-need", operation_id = "deleteChargingNeed", tag = "sessions", summary = "Forget a session's need: it charges at once again", params(("id" = String, Path, description = "Session id")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found, or no need given", body = ErrorBody), (status = 409, description = "The session's EVSE is not load balanced", body = ErrorBody)))]
pub async fn delete_need(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let s = find(&st, &who, &id).await?;
    st.load.clear_need(&who.org_id, &s).await?;
    Ok(StatusCode::NO_CONTENT)
}
