//! The operator's overview, `GET /portal/stations[?site=…]`: the
//! organisation's stations with each connector's live status, power,
//! running sessions and open alarms; filtered by site; the table is a
//! fragment (`GET /portal/live/stations`) htmx fetches again every few
//! seconds.
//!
//! Above it a map (Leaflet, vendored in `assets`, with OpenStreetMap's
//! tiles loaded by the browser) places the stations of sites with
//! coordinates, one marker each linking to the station's page, coloured
//! by its state. The table is the map's data and its accessible
//! equivalent: each row carries its site's coordinates, state and words
//! (`data-lat`, …), and `assets/map.js` draws the markers from the rows,
//! again after each refresh, so markers follow the live state and never
//! wait for tiles. Only this page's content security policy lets images
//! come from the tile server.

use crate::assets::{LEAFLET_CSS, LEAFLET_JS, MAP_JS};
use crate::i18n::{self, Msg};
use crate::layout::{self, badge, status_class, status_text};
use crate::live::{stations_now, StationNow};
use crate::web::{caller, encoded, html, html_with_csp, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::error::ApiError;
use csms_api::MapTiles;
use csms_domain::api_key::Scope;
use csms_domain::tenant::Coordinates;
use csms_domain::SiteId;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};
use std::collections::HashMap;

/// How often the live table is fetched again.
pub const REFRESH: &str = "every 5s";

/// The portal's policy, with the images of the configured tile server
/// (`CSMS_MAP_TILE_URL`; OpenStreetMap's by default) allowed.
fn map_csp(tiles: &MapTiles) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {}; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        tiles.origin()
    )
}

/// The organisation's sites' coordinates, by site.
type Places = HashMap<SiteId, Coordinates>;

async fn places(st: &PortalState, org: &csms_domain::OrgId) -> Result<Places, ApiError> {
    Ok(st
        .api
        .store
        .list_sites(org, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items
        .into_iter()
        .filter_map(|s| s.coordinates.map(|c| (s.id, c)))
        .collect())
}

/// A station's state as its marker shows it: offline, or the most
/// pressing of its connectors' statuses; with its badge's class.
fn marker_state(row: &StationNow) -> &'static str {
    if !row.connected {
        return "s-off";
    }
    let classes: Vec<&str> = row
        .view
        .connectors_as_shown()
        .iter()
        .filter(|c| c.evse_id > 0)
        .map(|c| status_class(&c.status))
        .collect();
    ["s-bad", "s-warn", "s-busy", "s-ok"]
        .into_iter()
        .find(|c| classes.contains(c))
        .unwrap_or("s-ok")
}

/// What a marker says: the station's name, connection and connectors.
fn marker_title(c: &Caller, row: &StationNow) -> String {
    let lang = c.lang;
    let st = &row.view.station;
    let mut title = format!(
        "{} – {}",
        st.name.as_deref().unwrap_or(st.id.as_str()),
        if row.connected {
            Msg::Online.text(lang)
        } else {
            Msg::Offline.text(lang)
        }
    );
    let connectors: Vec<String> = row
        .view
        .connectors_as_shown()
        .iter()
        .filter(|c| c.evse_id > 0)
        .map(|c| format!("{}: {}", c.evse_id, status_text(&c.status, lang)))
        .collect();
    if !connectors.is_empty() {
        title.push_str(" – ");
        title.push_str(&connectors.join(", "));
    }
    title
}

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
fn table(c: &Caller, rows: &[StationNow], site: Option<&SiteId>, places: &Places) -> Markup {
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
                        @for row in rows { (station_row(c, row, places)) }
                    }
                }
            }
        }
    }
}

fn station_row(c: &Caller, row: &StationNow, places: &Places) -> Markup {
    let st = &row.view.station;
    let place = st.site_id.as_ref().and_then(|s| places.get(s));
    let href = format!("/portal/stations/{}", encoded(st.id.as_str()));
    html! {
        @if let Some(p) = place {
            tr data-station=(st.id.as_str()) data-lat=(p.lat()) data-lon=(p.lon())
                data-state=(marker_state(row)) data-title=(marker_title(c, row)) data-href=(href) {
                (station_cells(c, row))
            }
        } @else {
            tr data-station=(st.id.as_str()) { (station_cells(c, row)) }
        }
    }
}

fn station_cells(c: &Caller, row: &StationNow) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let st = &row.view.station;
    let connected = row.connected;
    html! {
        {
            td data-label=(t(Msg::Station)) {
                a href={"/portal/stations/" (encoded(st.id.as_str()))} {
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
    let places: Places = sites
        .iter()
        .filter_map(|s| s.coordinates.map(|c| (s.id.clone(), c)))
        .collect();
    let mapped = rows.iter().any(|r| {
        r.view
            .station
            .site_id
            .as_ref()
            .is_some_and(|s| places.contains_key(s))
    });
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
        @if !rows.is_empty() {
            section.map aria-labelledby="map-h" {
                h2 #map-h { (t(Msg::MapTitle)) }
                @if mapped {
                    p.hint { (t(Msg::MapHint)) }
                    link rel="stylesheet" href=(LEAFLET_CSS.url());
                    div #map data-tiles=(st.api.map_tiles.url()) data-attribution=(st.api.map_tiles.attribution()) {}
                    script src=(LEAFLET_JS.url()) defer {}
                    script src=(MAP_JS.url()) defer {}
                } @else {
                    p.empty { (t(Msg::MapNone)) }
                }
            }
        }
        (table(&c, &rows, site.as_ref(), &places))
    };
    let page = layout::page(&c.frame(&path), t(Msg::Overview), body);
    Ok(if mapped {
        html_with_csp(StatusCode::OK, page, &map_csp(&st.api.map_tiles))
    } else {
        html(StatusCode::OK, page)
    })
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
    let places = places(&st, &who.org_id).await.or_page(&c)?;
    Ok(html(
        StatusCode::OK,
        table(&c, &rows, site.as_ref(), &places),
    ))
}
