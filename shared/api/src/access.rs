//! Who may charge at a station, and when: `GET|PUT /stations/{id}/access`,
//! an EVSE's own policy (`PUT|DELETE /stations/{id}/evses/{evseId}/access`),
//! the mode now (`GET /stations/{id}/access/now`) and the refused attempts
//! (`GET /stations/{id}/attempts`).
//!
//! A policy's body is parsed here into the domain's schedule; every bad
//! value is a 400 naming the field (`rules[1].end: …`, `rules[2]: overlaps
//! rules[0] …`). Writes go on the access record's version (`If-Match` →
//! 412; a station without a record is at version 0).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::stations::station_id;
use crate::util::{if_match, json_body, page, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use chrono::NaiveDate;
use csms_charging::access::{self, AccessChange};
use csms_domain::access::{
    AccessAttempt, AccessMode, AccessPolicy, Exception, Rule, Schedule, StationAccess, Weekdays,
    MAX_GROUPS,
};
use csms_domain::tenant::DayInterval;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

// ---------------------------------------------------------------- request

/// A weekly rule: on these days, from `start` to `end` local time (the
/// site's zone), the mode is `mode`. `end` is excluded and must come after
/// `start`; `24:00` ends the day, so a stretch across midnight is two rules
/// (`22:00`–`24:00`, and `00:00`–`06:00` on the following days).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RuleInput {
    /// `mon` … `sun`, at least one.
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    days: Vec<String>,
    /// `HH:MM`.
    #[schema(example = "06:00")]
    start: String,
    /// `HH:MM`, after `start`; `24:00` is the end of the day.
    #[schema(example = "18:00")]
    end: String,
    /// `private`, `public` or `semiPublic`.
    #[schema(example = "private")]
    mode: String,
}

/// Whole local days (both included) with a mode of their own, whatever the
/// rules say: a holiday.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExceptionInput {
    #[schema(example = "2026-12-24")]
    from: NaiveDate,
    /// Default: `from` (one day).
    #[schema(example = "2026-12-26")]
    to: Option<NaiveDate>,
    #[schema(example = "public")]
    mode: String,
}

/// An access policy: the mode outside every rule and exception, weekly
/// rules (at most 50, not overlapping), dated exceptions (at most 100, not
/// overlapping; they win over the rules), and the user groups that may
/// charge while it is private (none: every token of the organisation).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AccessPolicyInput {
    /// `private` (the station's organisation's tokens), `public` (any valid
    /// token registered on this platform; unknown ones are still refused,
    /// there is no payment yet) or `semiPublic` (as public, but never
    /// listed to roaming partners).
    #[schema(example = "public")]
    default: String,
    #[serde(default)]
    rules: Vec<RuleInput>,
    #[serde(default)]
    exceptions: Vec<ExceptionInput>,
    #[serde(default)]
    #[schema(example = json!(["residents"]))]
    groups: Vec<String>,
}

fn bad(field: impl std::fmt::Display, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

fn mode(field: &str, s: &str) -> Result<AccessMode, ApiError> {
    AccessMode::parse(s).ok_or_else(|| {
        bad(
            field,
            format!("must be one of {}", AccessMode::NAMES.join(", ")),
        )
    })
}

/// Minutes since midnight of `HH:MM` (`24:00` allowed).
fn hhmm(field: &str, s: &str) -> Result<u16, ApiError> {
    let wrong = || bad(field, format!("{s:?} is not HH:MM (00:00 to 24:00)"));
    let (h, m) = s.split_once(':').ok_or_else(wrong)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let (h, m): (u16, u16) = (
        h.parse().map_err(|_| wrong())?,
        m.parse().map_err(|_| wrong())?,
    );
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(wrong());
    }
    Ok(h * 60 + m)
}

fn policy(req: &AccessPolicyInput) -> Result<AccessPolicy, ApiError> {
    let default = mode("default", &req.default)?;
    let mut rules = Vec::with_capacity(req.rules.len());
    for (i, r) in req.rules.iter().enumerate() {
        let f = |name: &str| format!("rules[{i}].{name}");
        let days =
            Weekdays::parse(r.days.iter().map(String::as_str)).map_err(|e| bad(f("days"), e))?;
        let start = hhmm(&f("start"), &r.start)?;
        let end = hhmm(&f("end"), &r.end)?;
        let time = DayInterval::new(start, end).map_err(|_| {
            bad(
                f("end"),
                "must come after start (a stretch across midnight is two rules: …–24:00 and 00:00–…)",
            )
        })?;
        rules.push(Rule {
            days,
            time,
            mode: mode(&f("mode"), &r.mode)?,
        });
    }
    let exceptions = req
        .exceptions
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(Exception {
                from: e.from,
                to: e.to.unwrap_or(e.from),
                mode: mode(&format!("exceptions[{i}].mode"), &e.mode)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let schedule = Schedule::new(default, rules, exceptions).map_err(|(field, e)| bad(field, e))?;
    if req.groups.len() > MAX_GROUPS {
        return Err(bad("groups", format!("at most {MAX_GROUPS}")));
    }
    let mut groups = Vec::with_capacity(req.groups.len());
    for (i, g) in req.groups.iter().enumerate() {
        let g = csms_domain::tenant::text(g, 64).map_err(|e| bad(format!("groups[{i}]"), e))?;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    Ok(AccessPolicy { schedule, groups })
}

// ---------------------------------------------------------------- views

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
    pub mode: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub mode: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyView {
    pub default: String,
    pub rules: Vec<RuleView>,
    pub exceptions: Vec<ExceptionView>,
    pub groups: Vec<String>,
}

fn hm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl From<&AccessPolicy> for AccessPolicyView {
    fn from(p: &AccessPolicy) -> Self {
        AccessPolicyView {
            default: p.schedule.default_mode().as_str().into(),
            rules: p
                .schedule
                .rules()
                .iter()
                .map(|r| RuleView {
                    days: r.days.names().into_iter().map(str::to_owned).collect(),
                    start: hm(r.time.start()),
                    end: hm(r.time.end()),
                    mode: r.mode.as_str().into(),
                })
                .collect(),
            exceptions: p
                .schedule
                .exceptions()
                .iter()
                .map(|e| ExceptionView {
                    from: e.from,
                    to: e.to,
                    mode: e.mode.as_str().into(),
                })
                .collect(),
            groups: p.groups.clone(),
        }
    }
}

/// A station's access: its policy and the EVSEs with their own. A station
/// that never had one is private to its organisation, at version 0.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StationAccessView {
    pub station_id: String,
    pub policy: AccessPolicyView,
    /// EVSE id → its own policy.
    pub evses: BTreeMap<String, AccessPolicyView>,
    /// `null`: never changed.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    pub version: u64,
}

fn access_view(station: &csms_domain::StationId, a: Option<&StationAccess>) -> StationAccessView {
    match a {
        Some(a) => StationAccessView {
            station_id: station.to_string(),
            policy: (&a.policy).into(),
            evses: a
                .evses
                .iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
            updated_at: Some(crate::util::time(a.updated_at)),
            version: a.version,
        },
        None => StationAccessView {
            station_id: station.to_string(),
            policy: (&AccessPolicy::legacy()).into(),
            evses: BTreeMap::new(),
            updated_at: None,
            version: 0,
        },
    }
}

/// The mode at a station (or one EVSE) now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessNowView {
    pub station_id: String,
    pub evse_id: Option<u32>,
    /// `private`, `public` or `semiPublic`.
    pub mode: String,
    /// Whether the station may be listed to roaming partners now (public only).
    pub listed: bool,
    /// When the mode next changes; `null`: not within a year.
    #[schema(format = DateTime)]
    pub until: Option<String>,
    /// `station` or `evse`: whose policy decides.
    pub policy_of: String,
    /// The zone the schedule is read in: the site's (Europe/Stockholm without a site record).
    pub time_zone: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A refused attempt to charge.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessAttemptView {
    pub station_id: String,
    /// `null`: an Authorize, which names no EVSE.
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub id_token: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The mode that refused it.
    pub mode: String,
    /// `otherOrganisation`, `groupNotAllowed`, `booked` (the EVSE is booked for another id token now),
    /// and at a start link also `signInRequired` (private, and the caller was not signed in) or
    /// `unavailable` (the station was offline or out of service) or `occupied` (a car was charging at the EVSE).
    pub reason: String,
    /// `Authorize`, `StartTransaction`, `TransactionEvent`, `remoteStart` or `startLink` (then
    /// `idToken` is the driver's own, or `anonymous`).
    pub source: String,
}

impl From<&AccessAttempt> for AccessAttemptView {
    fn from(a: &AccessAttempt) -> Self {
        AccessAttemptView {
            station_id: a.station_id.to_string(),
            evse_id: a.evse_id,
            connector_id: a.connector_id,
            id_token: a.token.to_string(),
            at: crate::util::time(a.at),
            mode: a.mode.as_str().into(),
            reason: a.reason.as_str().into(),
            source: a.source.clone(),
        }
    }
}

// ---------------------------------------------------------------- handlers

fn evse(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>()
        .ok()
        .filter(|e| *e >= 1)
        .ok_or_else(|| bad("evseId", "must be a whole number from 1"))
}

#[utoipa::path(get, path = "/stations/{id}/access", operation_id = "getStationAccess", tag = "access", summary = "Who may charge at the station, and when", params(("id" = String, Path, description = "Station id")), responses((status = 200, body = StationAccessView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<StationAccessView>, ApiError> {
    let (station, a) = station_access(&st, &who, &id).await?;
    Ok(Json(access_view(&station.id, a.as_ref())))
}

async fn write(
    st: &ApiState,
    who: &Principal,
    id: &str,
    headers: &HeaderMap,
    change: AccessChange,
) -> Result<Json<StationAccessView>, ApiError> {
    let sid = station_id(id)?;
    let expected = if_match(headers, "station access")?;
    let a = write_access(st, who, &sid, change, expected).await?;
    Ok(Json(access_view(&sid, Some(&a))))
}

/// The write of every route that changes a policy: on the version read
/// (`expected`), then the station's local list follows.
async fn write_access(
    st: &ApiState,
    who: &Principal,
    sid: &csms_domain::StationId,
    change: AccessChange,
    expected: Option<u64>,
) -> Result<StationAccess, ApiError> {
    let a = access::change(
        &*st.store,
        &who.actor(),
        sid,
        change,
        expected,
        st.clock.now(),
    )
    .await?;
    crate::local_list::access_changed(st, sid).await;
    Ok(a)
}

#[utoipa::path(put, path = "/stations/{id}/access", operation_id = "putStationAccess", tag = "access", summary = "Set the station's access policy (its EVSEs' own policies stay)", params(("id" = String, Path, description = "Station id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (0: none yet): 412 if the access has a newer one")), request_body = AccessPolicyInput, responses((status = 200, body = StationAccessView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed concurrently; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn put(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StationAccessView>, ApiError> {
    station_id(&id)?;
    let req: AccessPolicyInput = json_body(&body)?;
    let p = policy(&req)?;
    write(&st, &who, &id, &headers, AccessChange::Station(p)).await
}

#[utoipa::path(put, path = "/stations/{id}/evses/{evseId}/access", operation_id = "putEvseAccess", tag = "access", summary = "Give one EVSE an access policy of its own", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)"), ("If-Match" = Option<String>, Header, description = "The version the change is based on: 412 if the access has a newer one")), request_body = AccessPolicyInput, responses((status = 200, body = StationAccessView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed concurrently; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn put_evse(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StationAccessView>, ApiError> {
    station_id(&id)?;
    let req: AccessPolicyInput = json_body(&body)?;
    let e = evse(&evse_id)?;
    let p = policy(&req)?;
    write(&st, &who, &id, &headers, AccessChange::Evse(e, Some(p))).await
}

#[utoipa::path(delete, path = "/stations/{id}/evses/{evseId}/access", operation_id = "deleteEvseAccess", tag = "access", summary = "The EVSE follows the station's policy again", params(("id" = String, Path, description = "Station id"), ("evseId" = u32, Path, description = "EVSE id (1.6: connector id)"), ("If-Match" = Option<String>, Header, description = "The version the change is based on: 412 if the access has a newer one")), responses((status = 200, body = StationAccessView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found, or the EVSE has no policy of its own", body = ErrorBody), (status = 409, description = "Changed concurrently; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn delete_evse(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path((id, evse_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<StationAccessView>, ApiError> {
    station_id(&id)?;
    let e = evse(&evse_id)?;
    write(&st, &who, &id, &headers, AccessChange::Evse(e, None)).await
}

#[utoipa::path(get, path = "/stations/{id}/access/now", operation_id = "getStationAccessNow", tag = "access", summary = "The access mode at the station (or one EVSE) now, and until when", params(("id" = String, Path, description = "Station id"), ("evseId" = Option<u32>, Query, minimum = 1, description = "An EVSE of the station: its own policy if it has one")), responses((status = 200, body = AccessNowView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn now(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<AccessNowView>, ApiError> {
    let sid = station_id(&id)?;
    let evse_id = params.get("evseId").map(|e| evse(e)).transpose()?;
    let at: Timestamp = st.clock.now();
    let n = access_now(&st, &who, &id, evse_id).await?;
    Ok(Json(AccessNowView {
        station_id: sid.to_string(),
        evse_id,
        mode: n.mode.as_str().into(),
        listed: n.mode.listed(),
        until: n.until.map(crate::util::time),
        policy_of: if n.evse_override { "evse" } else { "station" }.into(),
        time_zone: n.time_zone.name().into(),
        at: crate::util::time(at),
    }))
}

#[utoipa::path(get, path = "/access-attempts", operation_id = "listOrganisationAccessAttempts", tag = "access", summary = "Attempts to charge the access mode refused at any of the organisation's stations, newest first (kept 90 days)", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<AccessAttemptView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn org_attempts(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<AccessAttemptView>>, ApiError> {
    let listed = access_attempts(&st, &who, None, &page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(get, path = "/stations/{id}/attempts", operation_id = "listAccessAttempts", tag = "access", summary = "Attempts to charge the access mode refused, newest first (kept 90 days)", params(("id" = String, Path, description = "Station id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<AccessAttemptView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn attempts(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<AccessAttemptView>>, ApiError> {
    let listed = access_attempts(&st, &who, Some(&id), &page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

// ---------------------------------------------------------------- the portal's

/// `GET /stations/{id}/access`'s use case: the caller's station and its
/// access record (`None`: never set, private to the organisation; another
/// organisation's station is not found).
pub async fn station_access(
    st: &ApiState,
    who: &Principal,
    id: &str,
) -> Result<(csms_domain::station::Station, Option<StationAccess>), ApiError> {
    let sid = station_id(id)?;
    Ok(access::get(&*st.store, &who.actor(), &sid).await?)
}

/// `GET /stations/{id}/access/now`'s use case: the mode at the caller's
/// station (or one of its EVSEs) now, until when, and the zone the
/// schedule is read in.
pub async fn access_now(
    st: &ApiState,
    who: &Principal,
    id: &str,
    evse_id: Option<u32>,
) -> Result<access::ModeNow, ApiError> {
    let sid = station_id(id)?;
    Ok(access::now(&*st.store, &who.actor(), &sid, evse_id, st.clock.now()).await?)
}

/// The refused attempts, newest first: at one of the caller's stations
/// (`GET /stations/{id}/attempts`) or, without `station`, at every one of
/// its organisation's (`GET /access-attempts`).
pub async fn access_attempts(
    st: &ApiState,
    who: &Principal,
    station: Option<&str>,
    page: &csms_kernel::ports::PageRequest,
) -> Result<csms_kernel::ports::Page<AccessAttempt>, ApiError> {
    match station {
        Some(id) => {
            let sid = station_id(id)?;
            Ok(access::attempts(&*st.store, &who.actor(), &sid, page).await?)
        }
        None => Ok(st.store.list_org_access_attempts(&who.org_id, page).await?),
    }
}

/// The use case of `PUT /stations/{id}/access` (`evse_id` `None`), of
/// `PUT /stations/{id}/evses/{evseId}/access` (`policy` a body) and of
/// `DELETE /stations/{id}/evses/{evseId}/access` (`policy` `None`: the
/// EVSE follows the station again). `policy` is the routes' JSON body,
/// parsed as they parse it (every bad value a 400 naming its field, and
/// nothing written); `based_on` is their `If-Match` (a newer version is a
/// 412).
pub async fn change_access(
    st: &ApiState,
    who: &Principal,
    id: &str,
    evse_id: Option<u32>,
    policy_body: Option<&[u8]>,
    based_on: Option<u64>,
) -> Result<StationAccess, ApiError> {
    let sid = station_id(id)?;
    let parsed = policy_body
        .map(|b| {
            let req: AccessPolicyInput = json_body(&Bytes::copy_from_slice(b))?;
            policy(&req)
        })
        .transpose()?;
    let change = match (evse_id, parsed) {
        (None, Some(p)) => AccessChange::Station(p),
        (Some(e), p) => AccessChange::Evse(e, p),
        (None, None) => {
            return Err(bad(
                "policy",
                "a station always has a policy; set its default to private instead",
            ))
        }
    };
    write_access(st, who, &sid, change, based_on).await
}
