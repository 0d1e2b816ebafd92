//! The operator's overview, `GET /portal/stations[?site=…]`: the
//! organisation's stations with each connector's live status, power,
//! running sessions and open alarms; filtered by site; the table is a
//! fragment (`GET /portal/live/stations`) htmx fetches again every few
//! seconds.

use crate::i18n::{self, Msg};
use crate::layout::{self, badge, status_class, status_text};
use crate::live::{stations_now, StationNow};
use crate::web::{caller, encoded, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::error::ApiError;
use csms_domain::api_key::Scope;
use csms_domain::SiteId;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};
use std::collections::HashMap;

/// How often the live table is fetched again.
pub const REFRESH: &str = "every 5s";

/// The `site` filter: empty is every site; an id that cannot be one is a 400
/// naming the field.
fn site_filter(q: &HashMap<String, String>) -> Result<Option<SiteId>, ApiError> {
    match q.get("site").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => SiteId::parse(raw)
            .map(Some)
            .map_err(|e| ApiError::BadRequest(format!("site: {e}"))),
    }
}

fn live_url(site: Option<&SiteId>) -> String {
    match site {
        Some(s) => format!(
            "/portal/live/stations?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("site", s.as_str())
                .finish()
        ),
        None => "/portal/live/stations".to_owned(),
    }
}

/// The live table (or the empty state), polling itself.
fn table(c: &Caller, rows: &[StationNow], site: Option<&SiteId>) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    html! {
        div #live hx-get=(live_url(site)) hx-trigger=(REFRESH) hx-swap="outerHTML" {
            @if rows.is_empty() {
                div.empty {
                    p { strong { (t(Msg::NoStations)) } }
                    p { (t(Msg::NoStationsHint)) }
                }
            } @else {
                table {
                    caption.muted { (t(Msg::LiveHint)) }
                    thead { tr {
                        th scope="col" { (t(Msg::Station)) }
                        th scope="col" { (t(Msg::Connection)) }
                        th scope="col" { (t(Msg::Connectors)) }
                        th scope="col" { (t(Msg::Power)) }
                        th scope="col" { (t(Msg::RunningSessions)) }
                        th scope="col" { (t(Msg::OpenAlarms)) }
                    } }
                    tbody {
                        @for row in rows { (station_row(c, row)) }
                    }
                }
            }
        }
    }
}

fn station_row(c: &Caller, row: &StationNow) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let st = &row.view.station;
    let connected = row.connected;
    html! {
        tr data-station=(st.id.as_str()) {
            td data-label=(t(Msg::Station)) {
                a href={"/portal/stations/" (st.id.as_str())} {
                    (st.name.as_deref().unwrap_or(st.id.as_str()))
                }
                @if st.name.is_some() { br; span.muted { (st.id.as_str()) } }
            }
            td data-label=(t(Msg::Connection)) {
                @if connected { (badge("s-ok", t(Msg::Online))) }
                @else { (badge("s-off", t(Msg::Offline))) }
            }
            td data-label=(t(Msg::Connectors)) {
                @for cs in row.view.connectors_as_shown().iter().filter(|c| c.evse_id > 0) {
                    (badge(status_class(&cs.status), &format!("{}: {}", cs.evse_id, status_text(&cs.status, lang))))
                }
            }
            td.num data-label=(t(Msg::Power)) {
                @match row.power_w {
                    Some(w) => (i18n::kw(w, lang)),
                    None => span.muted { "–" },
                }
            }
            td.num data-label=(t(Msg::RunningSessions)) {
                @if row.running > 0 {
                    a href={"/portal/sessions?status=active&stationId=" (encoded(st.id.as_str()))} { (row.running) }
                } @else { "0" }
            }
            td.num data-label=(t(Msg::OpenAlarms)) {
                @if row.open_alarms > 0 { (badge("s-bad", &row.open_alarms.to_string())) }
                @else { "0" }
            }
        }
    }
}

/// `GET /portal/stations`.
pub async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let path = match q.get("site") {
        Some(s) => format!(
            "/portal/stations?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("site", s)
                .finish()
        ),
        None => "/portal/stations".to_owned(),
    };
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let site = site_filter(&q).map_err(|e| c.fail(e))?;
    let sites = st
        .api
        .store
        .list_sites(&who.org_id, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await
        .or_page(&c)?
        .items;
    let rows = stations_now(&*st.api.store, who, site.as_ref(), st.api.clock.now())
        .await
        .or_page(&c)?;
    let body = html! {
        h1 { (t(Msg::Overview)) }
        @if !sites.is_empty() {
            form.filter method="get" action="/portal/stations" {
                div {
                    label for="site" { (t(Msg::Site)) }
                    select #site name="site" {
                        option value="" { (t(Msg::AllSites)) }
                        @for s in &sites {
                            option value=(s.id.as_str()) selected[site.as_ref() == Some(&s.id)] { (s.name) }
                        }
                    }
                }
                button type="submit" { (t(Msg::Filter)) }
            }
        }
        (table(&c, &rows, site.as_ref()))
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), t(Msg::Overview), body),
    ))
}

/// `GET /portal/live/stations`: the table alone, for htmx.
pub async fn live(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/stations").await?;
    let who = c.permitted(Scope::Read)?;
    let site = site_filter(&q).map_err(|e| c.fail(e))?;
    let rows = stations_now(&*st.api.store, who, site.as_ref(), st.api.clock.now())
        .await
        .or_page(&c)?;
    Ok(html(StatusCode::OK, table(&c, &rows, site.as_ref())))
}
