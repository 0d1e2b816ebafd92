//! A station's page, `GET /portal/stations/{id}`: details, connectors with
//! their status (live), open alarms, recent sessions with energy and cost,
//! and the commands an operator sends with one click — soft and hard
//! reset, unlocking a connector — through the same `CommandService::submit`
//! as `POST /stations/{id}/commands`, with the same permission (the
//! `commands` scope) and owner check (the service's `Actor`). The
//! command's outcome is fetched again (`GET /portal/live/commands/{id}`)
//! until it is final.

use crate::i18n::{self, Msg};
use crate::layout::{self, badge, status_class, status_text};
use crate::live::{alarm_station, open_alarms, power_of, running_sessions, with_prices};
use crate::sessions_table;
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::own_station_view;
use csms_commands::service::SubmitOptions;
use csms_domain::alarm::Severity;
use csms_domain::api_key::Scope;
use csms_domain::command::{Command, CommandId, CommandRequest, CommandStatus, ResetKind};
use csms_domain::station::StationView;
use csms_kernel::ports::{PageRequest, SessionQuery};
use maud::{html, Markup};
use std::collections::HashMap;

/// How many of the station's sessions the page shows.
const RECENT_SESSIONS: u32 = 10;

fn station_path(id: &str) -> String {
    format!("/portal/stations/{}", encoded(id))
}

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

/// A command's outcome, polling itself while it is pending.
fn outcome(c: &Caller, cmd: &Command) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let (class, msg) = match cmd.status {
        CommandStatus::Pending => ("s-busy", Msg::CommandPending),
        CommandStatus::Accepted => ("s-ok", Msg::CommandAccepted),
        CommandStatus::Rejected => ("s-warn", Msg::CommandRejected),
        CommandStatus::Failed => ("s-bad", Msg::CommandFailed),
        CommandStatus::Timeout => ("s-bad", Msg::CommandTimeout),
        CommandStatus::Offline => ("s-off", Msg::CommandOffline),
    };
    let what = match &cmd.request {
        CommandRequest::Reset {
            kind: Some(ResetKind::Hard),
            ..
        } => t(Msg::HardReset),
        CommandRequest::Reset { .. } => t(Msg::SoftReset),
        CommandRequest::Unlock { .. } => t(Msg::Unlock),
        other => other.type_name(),
    };
    let url = format!("/portal/live/commands/{}", cmd.id);
    html! {
        @if cmd.status.is_final() {
            div #command.card role="status" data-status=(cmd.status.as_str()) {
                strong { (what) } ": " (badge(class, t(msg)))
                @if let (CommandStatus::Failed, Some(e)) = (cmd.status, &cmd.error) { " " span.muted { (e) } }
            }
        } @else {
            div #command.card role="status" data-status=(cmd.status.as_str()) hx-get=(url) hx-trigger="every 1s" hx-swap="outerHTML" {
                strong { (what) } ": " (badge(class, t(msg)))
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
    let path = station_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let view = own_station_view(&st.api, who, &id).await.or_page(&c)?;
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
        .or_page(&c)?
        .items;
    let recent = with_prices(store, recent).await.or_page(&c)?;
    let running = running_sessions(store, who, Some(&station.id))
        .await
        .or_page(&c)?;
    let power = power_of(store, &running.iter().collect::<Vec<_>>())
        .await
        .or_page(&c)?;
    let alarms: Vec<_> = open_alarms(store, who)
        .await
        .or_page(&c)?
        .into_iter()
        .filter(|a| alarm_station(a) == Some(station.id.as_str()))
        .collect();
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
            section aria-labelledby="commands" {
                h2 #commands { (t(Msg::Commands)) }
                div.actions {
                    @for (kind, label) in [("soft", Msg::SoftReset), ("hard", Msg::HardReset)] {
                        form method="post" action={(path) "/reset"} {
                            input type="hidden" name="csrf" value=(c.session.csrf_token);
                            input type="hidden" name="kind" value=(kind);
                            button type="submit" { (t(label)) }
                        }
                    }
                }
                @if let Some(cmd) = &command { (outcome(&c, cmd)) }
            }
        }
        section aria-labelledby="connectors-h" {
            h2 #connectors-h { (t(Msg::Connectors)) }
            (connectors(&c, &view, now))
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
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), &title, body),
    ))
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

/// Sends `request` to station `id` for a caller with the `commands` scope
/// (and the form's CSRF token), then back to the station's page showing
/// the command.
async fn send(
    st: &PortalState,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
    action: &str,
    request: impl FnOnce(&Form) -> Result<CommandRequest, ApiError>,
) -> Result<Response, Failure> {
    let path = station_path(id);
    let c = caller(st, headers, &path).await?;
    let form = Form::parse(body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Commands)?;
    let request = request(&form).map_err(|e| c.fail(e))?;
    // Another organisation's station (or none) is answered like the API
    // does: not found.
    let station = own_station_view(&st.api, who, id)
        .await
        .or_page(&c)?
        .station
        .id;
    let cmd = st
        .api
        .commands
        .submit(&who.actor(), &station, request, SubmitOptions::default())
        .await
        .map_err(ApiError::from)
        .or_page(&c)?;
    tracing::info!(station = %station, command = %cmd.id, "portal: command sent");
    let operation = format!("POST /portal/stations/{{id}}/{action}");
    let target = format!("/portal/stations/{station}/{action}");
    audit(st, who, &operation, &target, &form).await;
    Ok(Redirect::to(&format!("{path}?command={}", cmd.id)).into_response())
}

/// `POST /portal/stations/{id}/reset`: `kind` soft or hard.
pub async fn reset(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "reset", |form| {
        let kind = match form.get("kind") {
            Some("soft") => ResetKind::Soft,
            Some("hard") => ResetKind::Hard,
            _ => return Err(ApiError::BadRequest("kind: soft or hard".into())),
        };
        Ok(CommandRequest::Reset {
            kind: Some(kind),
            when: None,
            evse_id: None,
        })
    })
    .await
}

/// `POST /portal/stations/{id}/unlock`: `evse` and `connector`.
pub async fn unlock(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "unlock", |form| {
        let number = |name: &str| -> Result<u32, ApiError> {
            form.get(name)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::BadRequest(format!("{name}: a number from 1")))
        };
        Ok(CommandRequest::Unlock {
            evse_id: number("evse")?,
            connector_id: Some(number("connector")?),
        })
    })
    .await
}

/// `GET /portal/live/commands/{id}`: a command's outcome, for htmx.
pub async fn command(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/stations").await?;
    let who = c.permitted(Scope::Read)?;
    let not_found = || c.fail(ApiError::NotFound(format!("command {id:?} not found")));
    let cid = CommandId::parse(&id).ok_or_else(not_found)?;
    let cmd = st
        .api
        .commands
        .find(&who.actor(), &cid)
        .await
        .map_err(ApiError::from)
        .or_page(&c)?
        .ok_or_else(not_found)?;
    Ok(html(StatusCode::OK, outcome(&c, &cmd)))
}
