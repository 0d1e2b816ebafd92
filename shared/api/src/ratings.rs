//! Ratings: what drivers thought of their sessions. A driver rates through
//! `PUT /me/sessions/{id}/rating` (`me`); an operator reads a station's
//! ratings and a site's average here. Drivers stay anonymous to operators:
//! a rating shows no person.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::{page, Params};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use csms_domain::rating::{Rating, RatingSummary};
use csms_kernel::ports::RatedPlace;
use csms_kernel::views::time;
use serde::Serialize;
use utoipa::ToSchema;

/// A rating of a session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingView {
    pub session_id: String,
    pub station_id: String,
    pub site_id: Option<String>,
    /// 1 to 5.
    pub stars: u8,
    pub comment: Option<String>,
    /// When first rated.
    pub created_at: String,
    pub updated_at: String,
    /// The driver may change it until then (7 days after first rating it).
    pub editable_until: String,
    pub version: u64,
}

impl From<&Rating> for RatingView {
    fn from(r: &Rating) -> Self {
        RatingView {
            session_id: r.session_id.to_string(),
            station_id: r.station_id.to_string(),
            site_id: r.site_id.as_ref().map(ToString::to_string),
            stars: r.stars.get(),
            comment: r.comment.clone(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            editable_until: time(r.editable_until()),
            version: r.version,
        }
    }
}

/// A station's ratings: how many, their average, and a page of them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StationRatings {
    pub count: u64,
    /// Stars on average, two decimals (`"4.25"`); `null` without ratings.
    #[schema(value_type = Option<String>)]
    pub average: Option<String>,
    /// Newest first.
    pub items: Vec<RatingView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A site's ratings in sum, over its stations.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteRatings {
    pub count: u64,
    /// Stars on average, two decimals; `null` without ratings.
    #[schema(value_type = Option<String>)]
    pub average: Option<String>,
}

fn average(s: &RatingSummary) -> Option<String> {
    s.average().map(|a| format!("{a:.2}"))
}

#[utoipa::path(get, path = "/stations/{id}/ratings", operation_id = "listStationRatings", tag = "ratings", summary = "What drivers rated their sessions at this station: count, average and the ratings, newest first", params(("id" = String, Path, description = "Station id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = StationRatings), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn station(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<StationRatings>, ApiError> {
    let page = page(&params)?;
    let station = crate::stations::own_station(&st, &who, &raw).await?;
    let summary = st
        .store
        .rating_summary(&who.org_id, RatedPlace::Station(&station.id))
        .await?;
    let listed = st
        .store
        .list_station_ratings(&who.org_id, &station.id, &page)
        .await?;
    Ok(Json(StationRatings {
        count: summary.count,
        average: average(&summary),
        items: listed.items.iter().map(RatingView::from).collect(),
        next_cursor: listed.next_cursor,
    }))
}

#[utoipa::path(get, path = "/sites/{id}/ratings", operation_id = "getSiteRatings", tag = "ratings", summary = "What drivers rated their sessions at this site's stations, in sum", params(("id" = String, Path, description = "Site id")), responses((status = 200, body = SiteRatings), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn site(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(raw): Path<String>,
) -> Result<Json<SiteRatings>, ApiError> {
    let site = crate::sites::own_site(&st, &who, &raw).await?;
    let summary = st
        .store
        .rating_summary(&who.org_id, RatedPlace::Site(&site.id))
        .await?;
    Ok(Json(SiteRatings {
        count: summary.count,
        average: average(&summary),
    }))
}
