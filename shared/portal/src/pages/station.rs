//! A station's page, `GET /portal/stations/{id}`: details, connectors with
//! their status (live), open alarms, the site's load-balancing allocation
//! of its EVSEs with each one's reason (when its site is load balanced),
//! recent sessions with energy and cost, the station's recent events, and
//! for a caller with the `commands` scope the commands of
//! [`station_commands`](super::station_commands) with their outcome live.
//!
//! The events are what the API already keeps per station, merged newest
//! first: its event log (`GET /stations/{id}/events`: security events,
//! firmware and diagnostics status, …), its last boot and the boots of the
//! hour before it, its current connection, each connector's latest status,
//! the organisation's alarms about it and its commands.

use super::load::{limit_and_why, site_path, state_badge};
use super::station_commands::{self, label, station_path, status_words, Problem};
use crate::i18n::{self, Msg};
use crate::layout::{self, badge, status_class, status_text};
use crate::live::{alarm_station, open_alarms, power_of, running_sessions, with_prices};
use crate::sessions_table;
use crate::web::{caller, encoded, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::error::ApiError;
use csms_api::shared::{own_station_view, site_allocation, EvseAllocationView, Principal};
use csms_domain::alarm::Severity;
use csms_domain::api_key::Scope;
use csms_domain::command::{Command, CommandId};
use csms_domain::station::StationView;
use csms_domain::tenant::Language;
use csms_domain::{SiteId, Timestamp};
use csms_kernel::ports::{PageRequest, SessionQuery, Store};
use maud::{html, Markup};
use serde_json::Value;
use std::collections::HashMap;

/// How many of the station's sessions the page shows.
const RECENT_SESSIONS: u32 = 10;

/// How many events the page shows, and how many of each source it reads.
const EVENTS: usize = 30;
const EVENT_LOG_READ: u32 = 30;
const COMMANDS_READ: u32 = 10;
/// The organisation's alarms looked through for the station's.
const ALARMS_READ: u32 = 200;

/// The connectors' table, polling itself; with an unlock button each for
/// a caller who may send commands.
fn connectors(c: &Caller, view: &StationView, now: csms_domain::Timestamp) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let id = view.station.id.as_str();
    let commands = c.may(Scope::Commands);
    let shown: Vec<_> = view
        .connectors_as_shown()
        .into_iter()
        .filter(|cs| cs.evse_id > 0)
        .collect();
    html! {
        div #connectors hx-get={"/portal/live/stations/" (encoded(id))} hx-trigger="every 5s" hx-swap="outerHTML" {
            p {
                (t(Msg::Connection)) ": "
                @if view.connected(now) { (badge("s-ok", t(Msg::Online))) }
                @else { (badge("s-off", t(Msg::Offline))) }
            }
            @if shown.is_empty() {
                p.empty { (t(Msg::NoConnectors)) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (t(Msg::Evse)) }
                        th scope="col" { (t(Msg::Connector)) }
                        th scope="col" { (t(Msg::Status)) }
                        th scope="col" { (t(Msg::UpdatedAt)) }
                        @if commands { th scope="col" { (t(Msg::Commands)) } }
                    } }
                    tbody {
                        @for cs in &shown {
                            tr {
                                td data-label=(t(Msg::Evse)) { (cs.evse_id) }
                                td data-label=(t(Msg::Connector)) { (cs.connector_id) }
                                td data-label=(t(Msg::Status)) {
                                    (badge(status_class(&cs.status), &status_text(&cs.status, lang)))
                                    @if let Some(code) = cs.error_code.as_deref().filter(|c| *c != "NoError") {
                                        span.muted { (code) }
                                    }
                                }
                                td.num data-label=(t(Msg::UpdatedAt)) { (i18n::datetime(cs.updated_at, lang)) }
                                @if commands {
                                    td data-label=(t(Msg::Commands)) {
                                        form method="post" action={(station_path(id)) "/unlock"} {
                                            input type="hidden" name="csrf" value=(c.session.csrf_token);
                                            input type="hidden" name="evse" value=(cs.evse_id);
                                            input type="hidden" name="connector" value=(cs.connector_id);
                                            button.secondary type="submit" aria-label={(t(Msg::Unlock)) " " (cs.evse_id) "/" (cs.connector_id)} { (t(Msg::Unlock)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /portal/stations/{id}[?command=…]`.
pub async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &station_path(&id)).await?;
    let who = c.permitted(Scope::Read)?;
    // The command just sent, if the redirect names one of the caller's.
    let command = match q.get("command").and_then(|raw| CommandId::parse(raw)) {
        Some(cid) => st
            .api
            .commands
            .find(&who.actor(), &cid)
            .await
            .map_err(ApiError::from)
            .or_page(&c)?,
        None => None,
    };
    render(&st, &c, &id, command.as_ref(), None).await
}

/// The station's page for `c`, with the command just sent, or with a
/// command form's problem (its group open, the message at its forms, the
/// page's status the problem's).
pub(crate) async fn render(
    st: &PortalState,
    c: &Caller,
    id: &str,
    command: Option<&Command>,
    problem: Option<&Problem>,
) -> Result<Response, Failure> {
    let path = station_path(id);
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let view = own_station_view(&st.api, who, id).await.or_page(c)?;
    let now = st.api.clock.now();
    let station = &view.station;
    let store = &*st.api.store;
    let recent = store
        .list_sessions(&SessionQuery {
            org_id: who.org_id.clone(),
            station_id: Some(station.id.clone()),
            from: None,
            to: None,
            page: PageRequest::first(RECENT_SESSIONS),
        })
        .await
        .or_page(c)?
        .items;
    let recent = with_prices(store, recent).await.or_page(c)?;
    let running = running_sessions(store, who, Some(&station.id))
        .await
        .or_page(c)?;
    let power = power_of(store, &running.iter().collect::<Vec<_>>())
        .await
        .or_page(c)?;
    let alarms: Vec<_> = open_alarms(store, who)
        .await
        .or_page(c)?
        .into_iter()
        .filter(|a| alarm_station(a) == Some(station.id.as_str()))
        .collect();
    // The organisation's identifiers to start with, for who may send commands.
    let tokens = if c.may(Scope::Commands) {
        store
            .list_id_tokens(&who.org_id, &PageRequest::first(PageRequest::MAX_LIMIT))
            .await
            .or_page(c)?
            .items
    } else {
        Vec::new()
    };
    let allocation = station_allocation(st, who, station.site_id.as_ref(), station.id.as_str())
        .await
        .or_page(c)?;
    let events = events(store, who, &view, lang).await.or_page(c)?;
    let title = station
        .name
        .clone()
        .unwrap_or_else(|| station.id.to_string());
    let boot = station.boot.as_ref();
    let body = html! {
        h1 { (title) }
        section aria-labelledby="details" {
            h2 #details { (t(Msg::Details)) }
            dl.facts.card {
                dt { (t(Msg::StationId)) } dd { (station.id.as_str()) }
                @if let Some(site) = &station.site_id { dt { (t(Msg::Site)) } dd { (site.as_str()) } }
                dt { (t(Msg::Vendor)) } dd { (boot.map_or("–", |b| b.vendor.as_str())) }
                dt { (t(Msg::Model)) } dd { (boot.map_or("–", |b| b.model.as_str())) }
                dt { (t(Msg::Firmware)) } dd { (boot.and_then(|b| b.firmware_version.as_deref()).unwrap_or("–")) }
                dt { (t(Msg::OcppVersion)) } dd { (station.ocpp_version.map_or("–", |v| v.as_str())) }
                dt { (t(Msg::LastSeen)) } dd.num {
                    @match view.last_seen_at() { Some(at) => (i18n::datetime(at, lang)), None => (t(Msg::Unknown)) }
                }
                dt { (t(Msg::Power)) } dd.num {
                    @match power { Some(w) => (i18n::kw(w, lang)), None => "–" }
                }
                dt { (t(Msg::RunningSessions)) } dd.num { (running.len()) }
            }
        }
        p { a href={(path) "/qr"} { (Msg::QrLink.text(lang)) } }
        @if c.may(Scope::Commands) {
            (station_commands::section(c, &view, &running, &tokens, command, problem, now))
        }
        section aria-labelledby="connectors-h" {
            h2 #connectors-h { (t(Msg::Connectors)) }
            (connectors(c, &view, now))
        }
        section aria-labelledby="alarms" {
            h2 #alarms { (t(Msg::OpenAlarms)) }
            @if alarms.is_empty() {
                p.empty { (t(Msg::NoAlarms)) }
            } @else {
                ul.card {
                    @for a in &alarms {
                        li {
                            @match a.severity {
                                Severity::Critical => (badge("s-bad", t(Msg::SeverityCritical))),
                                Severity::Warning => (badge("s-warn", t(Msg::SeverityWarning))),
                            }
                            strong { (a.title.as_deref().unwrap_or(&a.kind)) }
                            " – " (a.message) " "
                            span.muted.num { (t(Msg::Raised)) " " (i18n::datetime(a.raised_at, lang)) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="sessions" {
            h2 #sessions { (t(Msg::RecentSessions)) }
            (sessions_table::table(lang, &recent, sessions_table::Columns { station: false, identifier: true, link: true }))
            p { a href={"/portal/sessions?stationId=" (encoded(station.id.as_str()))} { (t(Msg::SessionsAllOfStation)) } }
        }
        @if let Some((site, evses)) = &allocation {
            (allocation_part(lang, site, evses))
        }
        (events_part(lang, &events))
    };
    let status = problem.map_or(StatusCode::OK, |p| p.status);
    Ok(html(status, layout::page(&c.frame(&path), &title, body)))
}

/// `GET /portal/live/stations/{id}`: the connectors' table alone.
pub async fn live(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &station_path(&id)).await?;
    let who = c.permitted(Scope::Read)?;
    let view = own_station_view(&st.api, who, &id).await.or_page(&c)?;
    Ok(html(
        StatusCode::OK,
        connectors(&c, &view, st.api.clock.now()),
    ))
}

/// This station's EVSEs in the allocation of its site, when the site is
/// load balanced (the API's `site_allocation`, as the load page reads it).
async fn station_allocation(
    st: &PortalState,
    who: &Principal,
    site: Option<&SiteId>,
    station: &str,
) -> Result<Option<(SiteId, Vec<EvseAllocationView>)>, ApiError> {
    let Some(site) = site else {
        return Ok(None);
    };
    let balanced = st
        .api
        .store
        .get_load_site(site)
        .await?
        .is_some_and(|l| l.org_id == who.org_id);
    if !balanced {
        return Ok(None);
    }
    let (_, _, allocation) = site_allocation(&st.api, &who.org_id, site.as_str()).await?;
    let evses = allocation
        .evses
        .into_iter()
        .filter(|e| e.station_id == station)
        .collect();
    Ok(Some((site.clone(), evses)))
}

fn allocation_part(lang: Language, site: &SiteId, evses: &[EvseAllocationView]) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        section aria-labelledby="station-load" {
            h2 #station-load { (t(Msg::StationLoad)) }
            p.hint { (t(Msg::StationLoadHint)) }
            @if evses.is_empty() {
                p.empty { (t(Msg::StationLoadNone)) }
            } @else {
                table #station-allocation {
                    thead { tr {
                        th scope="col" { (t(Msg::Evse)) }
                        th scope="col" { (t(Msg::Status)) }
                        th scope="col" { (t(Msg::LoadLimit)) }
                        th scope="col" { (t(Msg::LoadWhy)) }
                    } }
                    tbody {
                        @for e in evses {
                            tr data-evse=(e.evse_id) {
                                td.num data-label=(t(Msg::Evse)) { (e.evse_id) }
                                td data-label=(t(Msg::Status)) { (state_badge(&e.state, lang)) }
                                (limit_and_why(e, lang))
                            }
                        }
                    }
                }
            }
            p { a href=(site_path(site.as_str())) { (t(Msg::StationLoadSite)) } }
        }
    }
}

/// One line of the station's events.
struct EventRow {
    at: Timestamp,
    kind: Msg,
    what: String,
}

/// A notification's gist: the status it reports, the security event's
/// type, or the message itself, shortened.
fn gist(kind: &str, payload: &Value) -> String {
    let field = |k: &str| payload.get(k).and_then(Value::as_str);
    let main = match kind {
        "FirmwareStatus" | "DiagnosticsStatus" | "LogStatus" => field("status"),
        "SecurityEvent" => field("type"),
        "DataTransfer" => field("vendorId"),
        _ => None,
    };
    match main {
        Some(m) => match field("techInfo").or(field("messageId")) {
            Some(more) => format!("{kind}: {m} ({more})"),
            None => format!("{kind}: {m}"),
        },
        None => {
            let mut text = format!("{kind}: {payload}");
            if text.chars().count() > 160 {
                text = text.chars().take(159).collect::<String>() + "…";
            }
            text
        }
    }
}

/// The station's recent events from what the API keeps, newest first.
async fn events(
    store: &dyn Store,
    who: &Principal,
    view: &StationView,
    lang: Language,
) -> Result<Vec<EventRow>, ApiError> {
    let t = |m: Msg| m.text(lang);
    let station = &view.station;
    let mut rows = Vec::new();
    if let Some(boot) = &station.boot {
        let mut what = format!("{} {}", boot.vendor, boot.model);
        if let Some(fw) = &boot.firmware_version {
            what.push_str(&format!(", {} {fw}", t(Msg::Firmware)));
        }
        if let Some(reason) = &boot.reason {
            what.push_str(&format!(" ({reason})"));
        }
        rows.push(EventRow {
            at: boot.booted_at,
            kind: Msg::EvBoot,
            what,
        });
        // The boots of the hour before it (the list holds this one too).
        for at in boot.recent_boots.iter().filter(|at| **at != boot.booted_at) {
            rows.push(EventRow {
                at: *at,
                kind: Msg::EvBoot,
                what: String::new(),
            });
        }
    }
    if let Some(conn) = &view.connection {
        rows.push(EventRow {
            at: conn.connected_at,
            kind: Msg::EvConnected,
            what: format!("OCPP {}", conn.ocpp_version.as_str()),
        });
    }
    for cs in view.connectors_as_shown() {
        let mut what = format!(
            "{} {}/{}: {}",
            t(Msg::Evse),
            cs.evse_id,
            cs.connector_id,
            status_text(&cs.status, lang)
        );
        if let Some(code) = cs.error_code.as_deref().filter(|c| *c != "NoError") {
            what.push_str(&format!(" ({code})"));
        }
        rows.push(EventRow {
            at: cs.updated_at,
            kind: Msg::EvStatus,
            what,
        });
    }
    let log = store
        .list_station_events(&station.id, &PageRequest::first(EVENT_LOG_READ))
        .await?
        .items;
    for e in &log {
        rows.push(EventRow {
            at: e.at,
            kind: Msg::EvNotification,
            what: gist(e.kind(), &e.payload()),
        });
    }
    let alarms = store
        .list_alarms(&who.org_id, false, &PageRequest::first(ALARMS_READ))
        .await?
        .items;
    for a in alarms
        .iter()
        .filter(|a| alarm_station(a) == Some(station.id.as_str()))
    {
        let title = a.title.clone().unwrap_or_else(|| a.kind.clone());
        rows.push(EventRow {
            at: a.raised_at,
            kind: Msg::EvAlarmRaised,
            what: format!("{title} – {}", a.message),
        });
        if let Some(at) = a.resolved_at {
            rows.push(EventRow {
                at,
                kind: Msg::EvAlarmResolved,
                what: title,
            });
        }
    }
    let commands = store
        .list_station_commands(&station.id, &PageRequest::first(COMMANDS_READ))
        .await?
        .items;
    for cmd in &commands {
        rows.push(EventRow {
            at: cmd.created_at,
            kind: Msg::EvCommand,
            what: format!(
                "{}: {}",
                label(&cmd.request, lang),
                t(status_words(cmd.status).1)
            ),
        });
    }
    // Newest first; of two at the same time, the order read.
    rows.sort_by_key(|r| std::cmp::Reverse(r.at));
    rows.truncate(EVENTS);
    Ok(rows)
}

fn events_part(lang: Language, rows: &[EventRow]) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        section aria-labelledby="events" {
            h2 #events { (t(Msg::Events)) }
            p.hint { (t(Msg::EventsHint)) }
            @if rows.is_empty() {
                p.empty { (t(Msg::EventsNone)) }
            } @else {
                table #event-list {
                    thead { tr {
                        th scope="col" { (t(Msg::EventAt)) }
                        th scope="col" { (t(Msg::EventKind)) }
                        th scope="col" { (t(Msg::EventWhat)) }
                    } }
                    tbody {
                        @for r in rows {
                            tr data-kind=(format!("{:?}", r.kind)) {
                                td.num data-label=(t(Msg::EventAt)) { (i18n::datetime(r.at, lang)) }
                                td data-label=(t(Msg::EventKind)) { (t(r.kind)) }
                                td data-label=(t(Msg::EventWhat)) { (r.what) }
                            }
                        }
                    }
                }
            }
        }
    }
}
