//! Sites of the caller's organisation: `GET|POST /sites`,
//! `GET|PATCH|DELETE /sites/{id}` (a site's load balancing stays under
//! `/sites/{id}/load`, see `load`).
//!
//! Site ids are one namespace for every organisation (a load configuration
//! is kept by site id), so a taken id answers 409 whoever has it; a site of
//! another organisation is otherwise answered like a missing one (404). A
//! load configuration needs no site record (configurations made before
//! sites had records keep working), but a station registered with a
//! `siteId` needs the site to exist in its organisation
//! ([`require_site`]). A site is deleted only when no station stands on it.
//!
//! `PATCH` changes the fields it names (`null` clears an optional one),
//! on the record's version like organisations (`If-Match` → 412; without,
//! a few retries, then 409).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::organisations::{address, bad, nullable, AddressInput, AddressView};
use crate::util::{if_match, json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use csms_domain::spot::BiddingZone;
use csms_domain::tenant::{text, time_zone, Coordinates, DayInterval, OpeningHours, Site};
use csms_domain::{OrgId, SiteId, Timestamp};
use csms_kernel::ports::PageRequest;
use csms_kernel::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------- request

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoordinatesInput {
    /// Degrees, −90 to 90.
    #[schema(example = 59.33)]
    lat: f64,
    /// Degrees, −180 to 180.
    #[schema(example = 18.06)]
    lon: f64,
}

/// When the site is open: `{"alwaysOpen": true}`, or per weekday a list of
/// `HH:MM-HH:MM` intervals (`24:00` ends the day; a day left out is
/// closed; a day's intervals may touch but not overlap).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OpeningHoursInput {
    always_open: Option<bool>,
    #[schema(example = json!(["06:00-18:00"]))]
    mon: Option<Vec<String>>,
    tue: Option<Vec<String>>,
    wed: Option<Vec<String>>,
    thu: Option<Vec<String>>,
    fri: Option<Vec<String>>,
    sat: Option<Vec<String>>,
    sun: Option<Vec<String>>,
}

/// `POST /sites`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewSite {
    /// 1–64 letters, digits, `.`, `_`, `-` (an id a load configuration or a
    /// station already uses may be given a record this way); default: a new ULID.
    #[schema(example = "garage-north")]
    id: Option<String>,
    /// 1–200 characters.
    #[schema(example = "Norra garaget")]
    name: String,
    address: AddressInput,
    coordinates: Option<CoordinatesInput>,
    /// IANA name; default `Europe/Stockholm`.
    #[schema(example = "Europe/Stockholm")]
    time_zone: Option<String>,
    /// The day-ahead market the site buys on: `SE1`–`SE4`, `NO1`–`NO5`, `DK1`, `DK2`, `FI`.
    #[schema(example = "SE3")]
    bidding_zone: Option<String>,
    opening_hours: Option<OpeningHoursInput>,
}

/// `PATCH /sites/{id}`: a field left out stays; `null` clears an optional one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SitePatch {
    name: Option<String>,
    address: Option<AddressInput>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<CoordinatesInput>)]
    coordinates: Option<Option<CoordinatesInput>>,
    time_zone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    bidding_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<OpeningHoursInput>)]
    opening_hours: Option<Option<OpeningHoursInput>>,
}

// ---------------------------------------------------------------- views

#[derive(Debug, Serialize, ToSchema)]
pub struct CoordinatesView {
    pub lat: f64,
    pub lon: f64,
}

/// `alwaysOpen`, or each day's intervals (`HH:MM-HH:MM`, sorted; empty: closed).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpeningHoursView {
    pub always_open: bool,
    pub mon: Vec<String>,
    pub tue: Vec<String>,
    pub wed: Vec<String>,
    pub thu: Vec<String>,
    pub fri: Vec<String>,
    pub sat: Vec<String>,
    pub sun: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteView {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    pub address: AddressView,
    pub coordinates: Option<CoordinatesView>,
    pub time_zone: String,
    pub bidding_zone: Option<String>,
    /// `null`: not given.
    pub opening_hours: Option<OpeningHoursView>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// 1 when created, one more at each change.
    pub version: u64,
}

impl From<&OpeningHours> for OpeningHoursView {
    fn from(h: &OpeningHours) -> Self {
        let days: [Vec<String>; 7] = match h {
            OpeningHours::AlwaysOpen => Default::default(),
            OpeningHours::Weekly(days) => days
                .clone()
                .map(|d| d.iter().map(ToString::to_string).collect()),
        };
        let [mon, tue, wed, thu, fri, sat, sun] = days;
        OpeningHoursView {
            always_open: matches!(h, OpeningHours::AlwaysOpen),
            mon,
            tue,
            wed,
            thu,
            fri,
            sat,
            sun,
        }
    }
}

impl From<&Site> for SiteView {
    fn from(s: &Site) -> Self {
        SiteView {
            id: s.id.as_str().to_owned(),
            organisation_id: s.org_id.as_str().to_owned(),
            name: s.name.clone(),
            address: (&s.address).into(),
            coordinates: s.coordinates.map(|c| CoordinatesView {
                lat: c.lat(),
                lon: c.lon(),
            }),
            time_zone: s.time_zone.name().to_owned(),
            bidding_zone: s.bidding_zone.map(|z| z.code().to_owned()),
            opening_hours: s.opening_hours.as_ref().map(Into::into),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
            version: s.version,
        }
    }
}

// ---------------------------------------------------------------- parsing

fn coordinates(c: &CoordinatesInput) -> Result<Coordinates, ApiError> {
    Coordinates::new(c.lat, c.lon)
        .map_err(|(part, e)| ApiError::BadRequest(format!("coordinates.{part}: {e}")))
}

fn opening_hours(h: &OpeningHoursInput) -> Result<OpeningHours, ApiError> {
    let given = [&h.mon, &h.tue, &h.wed, &h.thu, &h.fri, &h.sat, &h.sun];
    if h.always_open == Some(true) {
        if given.iter().any(|d| d.is_some()) {
            return Err(ApiError::BadRequest(
                "openingHours: alwaysOpen, or intervals per day, not both".into(),
            ));
        }
        return Ok(OpeningHours::AlwaysOpen);
    }
    let mut days: [Vec<DayInterval>; 7] = Default::default();
    for ((day, name), texts) in days.iter_mut().zip(OpeningHours::DAYS).zip(given) {
        for (i, t) in texts.iter().flatten().enumerate() {
            day.push(DayInterval::parse(t).map_err(bad(&format!("openingHours.{name}[{i}]")))?);
        }
    }
    OpeningHours::weekly(days)
        .map_err(|(day, e)| ApiError::BadRequest(format!("openingHours.{day}: {e}")))
}

fn name(s: &str) -> Result<String, ApiError> {
    text(s, 200).map_err(bad("name"))
}

fn tz(s: &str) -> Result<chrono_tz::Tz, ApiError> {
    time_zone(s).map_err(bad("timeZone"))
}

fn zone(s: &str) -> Result<BiddingZone, ApiError> {
    BiddingZone::parse(s).map_err(|e| ApiError::BadRequest(format!("biddingZone: {e}")))
}

fn new_site(req: &NewSite, org: &OrgId, now: Timestamp) -> Result<Site, ApiError> {
    let id = match &req.id {
        Some(id) => {
            SiteId::parse(id.trim()).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?
        }
        None => SiteId::parse(ulid::Ulid::new().to_string()).expect("a ULID is a site id"),
    };
    Ok(Site {
        id,
        org_id: org.clone(),
        name: name(&req.name)?,
        address: address("address", &req.address)?,
        coordinates: req.coordinates.as_ref().map(coordinates).transpose()?,
        time_zone: req
            .time_zone
            .as_deref()
            .map_or(Ok(chrono_tz::Europe::Stockholm), tz)?,
        bidding_zone: req.bidding_zone.as_deref().map(zone).transpose()?,
        opening_hours: req.opening_hours.as_ref().map(opening_hours).transpose()?,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

fn patched(mut site: Site, p: &SitePatch) -> Result<Site, ApiError> {
    if let Some(n) = &p.name {
        site.name = name(n)?;
    }
    if let Some(a) = &p.address {
        site.address = address("address", a)?;
    }
    if let Some(c) = &p.coordinates {
        site.coordinates = c.as_ref().map(coordinates).transpose()?;
    }
    if let Some(t) = &p.time_zone {
        site.time_zone = tz(t)?;
    }
    if let Some(z) = &p.bidding_zone {
        site.bidding_zone = z.as_deref().map(zone).transpose()?;
    }
    if let Some(h) = &p.opening_hours {
        site.opening_hours = h.as_ref().map(opening_hours).transpose()?;
    }
    Ok(site)
}

// ---------------------------------------------------------------- handlers

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("site {raw:?} not found"))
}

/// The caller's site `raw`; another organisation's answers like a missing one.
pub(crate) async fn own_site(st: &ApiState, who: &Principal, raw: &str) -> Result<Site, ApiError> {
    let id = SiteId::parse(raw).map_err(|_| not_found(raw))?;
    st.store
        .get_site(&id)
        .await?
        .filter(|s| s.org_id == who.org_id)
        .ok_or_else(|| not_found(raw))
}

/// A station may be placed on `site` (`siteId` of a body) only if the site
/// exists in the caller's organisation: 400 `siteId: no such site`
/// otherwise. An id that is not a site id at all is left to the station
/// registry, which names what is wrong with it.
pub(crate) async fn require_site(
    st: &ApiState,
    who: &Principal,
    site: Option<&str>,
) -> Result<(), ApiError> {
    let Some(Ok(id)) = site.map(|s| SiteId::parse(s.trim())) else {
        return Ok(());
    };
    match st.store.get_site(&id).await? {
        Some(s) if s.org_id == who.org_id => Ok(()),
        _ => Err(ApiError::BadRequest("siteId: no such site".into())),
    }
}

/// How many of the organisation's stations stand on `site`.
async fn stations_on(st: &ApiState, org: &OrgId, site: &SiteId) -> Result<usize, ApiError> {
    let mut count = 0;
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = st.store.list_stations(org, &page).await?;
        count += listed
            .items
            .iter()
            .filter(|v| v.station.site_id.as_ref() == Some(site))
            .count();
        match listed.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(count),
        }
    }
}

#[utoipa::path(get, path = "/sites", operation_id = "listSites", tag = "sites", summary = "The organisation's sites, by id", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<SiteView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<ListOf<SiteView>>, ApiError> {
    let listed = st.store.list_sites(&who.org_id, &page(&params)?).await?;
    Ok(Json(ListOf {
        items: listed.items.iter().map(Into::into).collect(),
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(post, path = "/sites", operation_id = "createSite", tag = "sites", summary = "Create a site in the organisation", request_body = NewSite, responses((status = 201, body = SiteView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "The id is taken", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<SiteView>), ApiError> {
    let req: NewSite = json_body(&body)?;
    let site = new_site(&req, &who.org_id, st.clock.now())?;
    st.store.create_site(&site).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict(format!("site id {:?} is taken", site.id.as_str()))
        }
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json((&site).into())))
}

#[utoipa::path(get, path = "/sites/{id}", operation_id = "getSite", tag = "sites", summary = "A site", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = SiteView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<SiteView>, ApiError> {
    Ok(Json((&own_site(&st, &who, &id).await?).into()))
}

#[utoipa::path(patch, path = "/sites/{id}", operation_id = "updateSite", tag = "sites", summary = "Change a site", params(("id" = String, Path, description = "Site id"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (`3` or `\"3\"`): 412 if the site has a newer one")), request_body = SitePatch, responses((status = 200, body = SiteView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed by concurrent requests; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the latest", body = ErrorBody)))]
pub async fn update(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SiteView>, ApiError> {
    own_site(&st, &who, &id).await?;
    let req: SitePatch = json_body(&body)?;
    let expected = if_match(&headers, "site")?;
    for _ in 0..5 {
        let current = own_site(&st, &who, &id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(ApiError::PreconditionFailed(format!(
                "site {id} is at version {}",
                current.version
            )));
        }
        let version = current.version;
        let mut next = patched(current, &req)?;
        next.version = version + 1;
        next.updated_at = st.clock.now();
        match st.store.put_site(&next, version).await {
            Ok(()) => return Ok(Json((&next).into())),
            Err(StoreError::Conflict(_)) if expected.is_none() => continue,
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::PreconditionFailed(format!(
                    "site {id} changed since version {version}"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "site {id} kept changing; retry"
    )))
}

/// Refused while a station stands on the site. The site's load
/// configuration, if it has one, is kept (it is the load API's).
#[utoipa::path(delete, path = "/sites/{id}", operation_id = "deleteSite", tag = "sites", summary = "Delete a site that no station stands on", params(("id" = String, Path, description = "Site id")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Stations stand on it (the message says how many), or it changed concurrently", body = ErrorBody)))]
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let site = own_site(&st, &who, &id).await?;
    let n = stations_on(&st, &who.org_id, &site.id).await?;
    if n > 0 {
        return Err(ApiError::Conflict(format!(
            "site {id} has {n} station{}; move or remove {} first",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" }
        )));
    }
    if !st.store.delete_site(&site.id, site.version).await? {
        return Err(not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new(body: serde_json::Value) -> Result<Site, String> {
        let req: NewSite = serde_json::from_value(body).map_err(|e| e.to_string())?;
        new_site(
            &req,
            &OrgId::default_org(),
            "2026-12-01T00:00:00Z".parse().unwrap(),
        )
        .map_err(|e| e.to_string())
    }

    fn body() -> serde_json::Value {
        json!({"id": "g1", "name": "Garage", "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Sthlm"}})
    }

    #[test]
    fn defaults_and_opening_hours() {
        let s = new(body()).unwrap();
        assert_eq!(s.time_zone, chrono_tz::Europe::Stockholm);
        assert_eq!(
            (s.coordinates, s.bidding_zone, s.opening_hours),
            (None, None, None)
        );
        let mut b = body();
        b["openingHours"] = json!({"alwaysOpen": true});
        assert_eq!(
            new(b).unwrap().opening_hours,
            Some(OpeningHours::AlwaysOpen)
        );
        let mut b = body();
        b["openingHours"] = json!({"mon": ["13:00-18:00", "06:00-12:00"], "sat": []});
        let view = OpeningHoursView::from(&new(b).unwrap().opening_hours.unwrap());
        assert_eq!(view.mon, ["06:00-12:00", "13:00-18:00"]);
        assert!(!view.always_open && view.sun.is_empty());
    }

    #[test]
    fn each_bad_value_names_its_field() {
        for (field, value, message) in [
            (
                "coordinates",
                json!({"lat": 91, "lon": 0}),
                "coordinates.lat: from -90 to 90",
            ),
            (
                "coordinates",
                json!({"lat": 0, "lon": 181}),
                "coordinates.lon: from -180 to 180",
            ),
            (
                "timeZone",
                json!("Mars/Olympus"),
                "timeZone: an IANA time zone",
            ),
            (
                "biddingZone",
                json!("SE9"),
                "biddingZone: unknown bidding zone",
            ),
            ("name", json!(""), "name: must not be empty"),
            ("id", json!("a/b"), "id: "),
            (
                "openingHours",
                json!({"fri": ["08:00-12:00", "11:00-13:00"]}),
                "openingHours.fri: 08:00-12:00 overlaps 11:00-13:00",
            ),
            (
                "openingHours",
                json!({"tue": ["8-12"]}),
                "openingHours.tue[0]: ",
            ),
            (
                "openingHours",
                json!({"alwaysOpen": true, "mon": []}),
                "openingHours: alwaysOpen, or",
            ),
            (
                "address",
                json!({"street": "", "postalCode": "11122", "city": "x"}),
                "address.street: ",
            ),
        ] {
            let mut b = body();
            b[field] = value;
            let err = new(b).unwrap_err();
            assert!(err.starts_with(message), "{field}: {err}");
        }
    }

    #[test]
    fn a_patch_changes_what_it_names_and_null_clears() {
        let mut b = body();
        b["biddingZone"] = json!("se3");
        b["coordinates"] = json!({"lat": 59.3, "lon": 18.0});
        let site = new(b).unwrap();
        let p: SitePatch = serde_json::from_value(
            json!({"name": "Norr", "coordinates": null, "openingHours": {"alwaysOpen": true}}),
        )
        .unwrap();
        let next = patched(site.clone(), &p).unwrap();
        assert_eq!(next.name, "Norr");
        assert_eq!(next.coordinates, None);
        assert_eq!(next.bidding_zone, site.bidding_zone);
        assert_eq!(next.opening_hours, Some(OpeningHours::AlwaysOpen));
    }
}
