//! The station page's commands (`/portal/stations/{id}/…` posts): soft and
//! hard reset, unlocking a connector, remote start (an EVSE and one of the
//! organisation's identifiers), stopping, pausing and resuming a running
//! transaction, changing availability, reading and changing configuration,
//! a diagnostics upload and a firmware update. Each reads its form into the
//! domain's `CommandRequest` and sends it through the same
//! `CommandService::submit` as `POST /stations/{id}/commands`, with the
//! same permission (the `commands` scope) and owner check (the service's
//! `Actor`). A bad value (`evseId: …`, with the API's field names) and the
//! service's own refusals (a 2.0.1 key without a component, a version that
//! cannot do it, a decommissioned station) answer the station's page again
//! with the message at the form's group, opened, as 400 or 409. Every
//! command is in the audit log. The post waits up to 2 s for the
//! charger's answer (like the API's `?wait=`), so a quick one shows at
//! once; a slower outcome is fetched again
//! (`GET /portal/live/commands/{id}`) until it is final, and while the
//! station still reports progress of an accepted firmware update or upload;
//! a configuration read shows the station's answer as a table.

use crate::i18n::{self, Msg, DISPLAY_ZONE};
use crate::layout::badge;
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeZone;
use csms_api::error::ApiError;
use csms_api::shared::{own_station_view, Principal};
use csms_commands::service::SubmitOptions;
use csms_domain::api_key::Scope;
use csms_domain::command::{
    Command, CommandId, CommandRequest, CommandStatus, ConfigRef, ResetKind,
};
use csms_domain::session::Session;
use csms_domain::station::StationView;
use csms_domain::tenant::Language;
use csms_domain::token::{IdTokenRecord, TokenStatus};
use csms_domain::{IdTokenValue, Timestamp};
use maud::{html, Markup};
use serde_json::Value;

/// How long a post waits for the charger's answer before showing the page.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A command form's value refused (by the form's reading or by the
/// command service): the station's page again with the message at that
/// form's group, opened, the form's fields as the user typed them, and the
/// reason at the field the message names.
pub(crate) struct Problem {
    /// The group's id (`cmd-configuration`, …; `cmd-reset` for the reset
    /// buttons and the connectors' unlocking).
    pub group: &'static str,
    /// The form's action (`configuration/change`, `firmware`, …): only its
    /// fields get the typed values back.
    pub action: &'static str,
    /// The field the message names (`key` of `key: "a/b/c" is not …`),
    /// when it is one of the form's.
    pub field: Option<String>,
    pub message: String,
    pub status: StatusCode,
    /// What the user sent.
    pub typed: Form,
}

impl Problem {
    /// What the user typed into field `name` of the form behind `action`.
    fn typed(&self, action: &str, name: &str) -> Option<&str> {
        (self.action == action)
            .then(|| self.typed.get(name))
            .flatten()
    }

    /// The reason when it is about field `name` of the form behind
    /// `action`, without the field's name (the alert says it whole).
    fn bad_at(&self, action: &str, name: &str) -> Option<&str> {
        (self.action == action && self.field.as_deref() == Some(name)).then(|| {
            self.message
                .strip_prefix(name)
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(&self.message)
        })
    }
}

/// The field a message begins with (`key` of `key: …`, `evseId` of
/// `evseId: a number from 1`).
fn field_of(message: &str) -> Option<String> {
    let head = message.split_once(": ")?.0;
    (!head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric())).then(|| head.to_owned())
}

/// The group of a command's form.
fn group_of(action: &str) -> &'static str {
    match action {
        "start" | "stop" | "pause" | "resume" => "cmd-charging",
        "availability" => "cmd-availability",
        "configuration/read" | "configuration/change" => "cmd-configuration",
        "diagnostics" | "firmware" => "cmd-maintenance",
        _ => "cmd-reset",
    }
}

/// A refused value as the station's page with the problem at its form
/// (400 and 409, as the API answers them); any other error is its page.
async fn refused(
    st: &PortalState,
    c: &Caller,
    id: &str,
    action: &'static str,
    form: &Form,
    e: ApiError,
) -> Result<Response, Failure> {
    let (status, message) = match e {
        ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
        other => return Err(c.fail(other)),
    };
    let problem = Problem {
        group: group_of(action),
        action,
        field: field_of(&message),
        message,
        status,
        typed: form.clone(),
    };
    super::station::render(st, c, id, None, Some(&problem)).await
}

pub(crate) fn station_path(id: &str) -> String {
    format!("/portal/stations/{}", encoded(id))
}

/// A command's kind in words.
pub(crate) fn label(request: &CommandRequest, lang: Language) -> &'static str {
    let msg = match request {
        CommandRequest::Reset {
            kind: Some(ResetKind::Hard),
            ..
        } => Msg::HardReset,
        CommandRequest::Reset { .. } => Msg::SoftReset,
        CommandRequest::Unlock { .. } => Msg::Unlock,
        CommandRequest::RemoteStart { .. } => Msg::CmdRemoteStart,
        CommandRequest::RemoteStop { .. } => Msg::CmdRemoteStop,
        CommandRequest::Pause { .. } => Msg::CmdPause,
        CommandRequest::Resume { .. } => Msg::CmdResume,
        CommandRequest::ChangeAvailability { .. } => Msg::CmdChangeAvailability,
        CommandRequest::GetConfiguration { .. } => Msg::CmdReadConfiguration,
        CommandRequest::ChangeConfiguration { .. } => Msg::CmdChangeConfiguration,
        CommandRequest::GetDiagnostics { .. } => Msg::CmdUploadDiagnostics,
        CommandRequest::UpdateFirmware { .. } => Msg::CmdUpdateFirmware,
        CommandRequest::LoadLimit { .. } => Msg::CmdLoadLimit,
        other => return other.type_name(),
    };
    msg.text(lang)
}

/// A command's status: its badge's colour and its words.
pub(crate) fn status_words(status: CommandStatus) -> (&'static str, Msg) {
    match status {
        CommandStatus::Pending => ("s-busy", Msg::CommandPending),
        CommandStatus::Accepted => ("s-ok", Msg::CommandAccepted),
        CommandStatus::Rejected => ("s-warn", Msg::CommandRejected),
        CommandStatus::Failed => ("s-bad", Msg::CommandFailed),
        CommandStatus::Timeout => ("s-bad", Msg::CommandTimeout),
        CommandStatus::Offline => ("s-off", Msg::CommandOffline),
    }
}

/// The commands section of the station page, for a caller with the
/// `commands` scope: the reset buttons, then one group per kind of command.
pub(crate) fn section(
    c: &Caller,
    view: &StationView,
    running: &[Session],
    tokens: &[IdTokenRecord],
    command: Option<&Command>,
    problem: Option<&Problem>,
    now: Timestamp,
) -> Markup {
    let lang = c.lang;
    let open = |group: &str| problem.is_some_and(|p| p.group == group);
    let alert = |group: &str| {
        html! {
            @if let Some(p) = problem.filter(|p| p.group == group) {
                p.error role="alert" { (p.message) }
            }
        }
    };
    // After a refusal: what was typed into the form, and the reason at the
    // field it names.
    let typed = |action: &str, name: &str| problem.and_then(|p| p.typed(action, name));
    let bad = |action: &str, name: &str| problem.and_then(|p| p.bad_at(action, name));
    let invalid = |b: Option<&str>| b.map(|_| "true");
    let described = |id: &str, b: Option<&str>| b.map(|_| format!("e-{id}"));
    let t = |m: Msg| m.text(lang);
    let path = station_path(view.station.id.as_str());
    let csrf = html! { input type="hidden" name="csrf" value=(c.session.csrf_token); };
    let mut evses: Vec<u32> = view
        .connectors_as_shown()
        .iter()
        .map(|cs| cs.evse_id)
        .filter(|e| *e > 0)
        .collect();
    evses.dedup();
    let startable: Vec<&IdTokenRecord> = tokens
        .iter()
        .filter(|r| r.status == TokenStatus::Accepted)
        .collect();
    // The firmware form's retrieve time starts at now, local time.
    let now_local = now
        .with_timezone(&DISPLAY_ZONE)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    html! {
        section aria-labelledby="commands" {
            h2 #commands { (t(Msg::Commands)) }
            div.actions {
                @for (kind, label) in [("soft", Msg::SoftReset), ("hard", Msg::HardReset)] {
                    form method="post" action={(path) "/reset"} {
                        (csrf)
                        input type="hidden" name="kind" value=(kind);
                        button type="submit" { (t(label)) }
                    }
                }
            }
            (alert("cmd-reset"))
            @if let Some(cmd) = command { (outcome(c, cmd)) }
            details.command-group #cmd-charging open[open("cmd-charging")] {
                summary { (t(Msg::CmdCharging)) }
                (alert("cmd-charging"))
                @if startable.is_empty() {
                    p.empty { (t(Msg::CmdNoIdentifiers)) }
                } @else {
                    form.filter method="post" action={(path) "/start"} {
                        (csrf)
                        @let (evse_bad, token_bad) = (bad("start", "evseId"), bad("start", "idToken"));
                        div {
                            label for="start-evse" { (t(Msg::Evse)) }
                            select #start-evse name="evseId" aria-invalid=[invalid(evse_bad)] aria-describedby=[described("start-evse", evse_bad)] {
                                option value="" { (t(Msg::CmdAnyEvse)) }
                                @for e in &evses { option value=(e) selected[typed("start", "evseId") == Some(&*e.to_string())] { (e) } }
                            }
                            (field_error("start-evse", evse_bad))
                        }
                        div {
                            label for="start-token" { (t(Msg::CmdIdentifier)) }
                            select #start-token name="idToken" aria-invalid=[invalid(token_bad)] aria-describedby=[described("start-token", token_bad)] {
                                @for r in &startable {
                                    option value=(r.token.as_str()) selected[typed("start", "idToken") == Some(r.token.as_str())] {
                                        (r.token.as_str())
                                        @if let Some(l) = &r.label { " – " (l) }
                                    }
                                }
                            }
                            (field_error("start-token", token_bad))
                        }
                        button type="submit" { (t(Msg::CmdStart)) }
                    }
                    p.hint { (t(Msg::CmdStartHint)) }
                }
                h3 { (t(Msg::CmdRunning)) }
                @if running.is_empty() {
                    p.empty { (t(Msg::CmdNoneRunning)) }
                } @else {
                    table #running {
                        thead { tr {
                            th scope="col" { (t(Msg::Evse)) }
                            th scope="col" { (t(Msg::CmdTransaction)) }
                            th scope="col" { (t(Msg::CmdIdentifier)) }
                            th scope="col" { (t(Msg::Commands)) }
                        } }
                        tbody {
                            @for s in running {
                                tr data-transaction=(s.transaction_id) {
                                    td.num data-label=(t(Msg::Evse)) { (s.evse_id.map_or("–".to_owned(), |e| e.to_string())) }
                                    td data-label=(t(Msg::CmdTransaction)) { (s.transaction_id) }
                                    td data-label=(t(Msg::CmdIdentifier)) { (s.id_token.as_deref().unwrap_or("–")) }
                                    td.actions data-label=(t(Msg::Commands)) {
                                        @for (action, msg) in [("stop", Msg::CmdStop), ("pause", Msg::CmdPause), ("resume", Msg::CmdResume)] {
                                            form method="post" action={(path) "/" (action)} {
                                                (csrf)
                                                input type="hidden" name="transactionId" value=(s.transaction_id);
                                                button.secondary type="submit" aria-label={(t(msg)) " " (t(Msg::CmdTransaction)) " " (s.transaction_id)} { (t(msg)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            details.command-group #cmd-availability open[open("cmd-availability")] {
                summary { (t(Msg::CmdAvailability)) }
                (alert("cmd-availability"))
                form.filter method="post" action={(path) "/availability"} {
                    (csrf)
                    @let (evse_bad, operative_bad) = (bad("availability", "evseId"), bad("availability", "operative"));
                    @let operative = typed("availability", "operative");
                    div {
                        label for="availability-evse" { (t(Msg::CmdAvailabilityOf)) }
                        select #availability-evse name="evseId" aria-invalid=[invalid(evse_bad)] aria-describedby=[described("availability-evse", evse_bad)] {
                            option value="0" { (t(Msg::CmdWholeStation)) }
                            @for e in &evses { option value=(e) selected[typed("availability", "evseId") == Some(&*e.to_string())] { (t(Msg::Evse)) " " (e) } }
                        }
                        (field_error("availability-evse", evse_bad))
                    }
                    div {
                        label for="availability-operative" { (t(Msg::Status)) }
                        select #availability-operative name="operative" aria-invalid=[invalid(operative_bad)] aria-describedby=[described("availability-operative", operative_bad)] {
                            option value="true" selected[operative == Some("true")] { (t(Msg::CmdOperative)) }
                            option value="false" selected[operative == Some("false")] { (t(Msg::CmdInoperative)) }
                        }
                        (field_error("availability-operative", operative_bad))
                    }
                    button type="submit" { (t(Msg::CmdChangeAvailability)) }
                }
            }
            details.command-group #cmd-configuration open[open("cmd-configuration")] {
                summary { (t(Msg::CmdConfiguration)) }
                (alert("cmd-configuration"))
                form.filter method="post" action={(path) "/configuration/read"} {
                    (csrf)
                    @let keys_bad = bad("configuration/read", "keys");
                    div {
                        label for="config-keys" { (t(Msg::CmdKeys)) }
                        input #config-keys type="text" name="keys" autocomplete="off" value=[typed("configuration/read", "keys")] aria-invalid=[invalid(keys_bad)] aria-describedby=[described("config-keys", keys_bad)];
                        (field_error("config-keys", keys_bad))
                    }
                    button type="submit" { (t(Msg::CmdReadConfiguration)) }
                }
                form.filter method="post" action={(path) "/configuration/change"} {
                    (csrf)
                    @let (key_bad, value_bad) = (bad("configuration/change", "key"), bad("configuration/change", "value"));
                    div {
                        label for="config-key" { (t(Msg::CmdKey)) }
                        input #config-key type="text" name="key" required autocomplete="off" value=[typed("configuration/change", "key")] aria-invalid=[invalid(key_bad)] aria-describedby=[described("config-key", key_bad)];
                        (field_error("config-key", key_bad))
                    }
                    div {
                        label for="config-value" { (t(Msg::CmdValue)) }
                        input #config-value type="text" name="value" autocomplete="off" value=[typed("configuration/change", "value")] aria-invalid=[invalid(value_bad)] aria-describedby=[described("config-value", value_bad)];
                        (field_error("config-value", value_bad))
                    }
                    button type="submit" { (t(Msg::CmdChangeConfiguration)) }
                }
            }
            details.command-group #cmd-maintenance open[open("cmd-maintenance")] {
                summary { (t(Msg::CmdMaintenance)) }
                (alert("cmd-maintenance"))
                form.filter method="post" action={(path) "/diagnostics"} {
                    (csrf)
                    @let location_bad = bad("diagnostics", "location");
                    div {
                        label for="diagnostics-location" { (t(Msg::CmdUploadTo)) }
                        input #diagnostics-location type="url" name="location" required placeholder="ftp://logs.example.com/" value=[typed("diagnostics", "location")] aria-invalid=[invalid(location_bad)] aria-describedby=[described("diagnostics-location", location_bad)];
                        (field_error("diagnostics-location", location_bad))
                    }
                    button type="submit" { (t(Msg::CmdUploadDiagnostics)) }
                }
                form.filter method="post" action={(path) "/firmware"} {
                    (csrf)
                    @let (location_bad, at_bad) = (bad("firmware", "location"), bad("firmware", "retrieveAt"));
                    div {
                        label for="firmware-location" { (t(Msg::CmdFirmwareFrom)) }
                        input #firmware-location type="url" name="location" required placeholder="https://firmware.example.com/fw.bin" value=[typed("firmware", "location")] aria-invalid=[invalid(location_bad)] aria-describedby=[described("firmware-location", location_bad)];
                        (field_error("firmware-location", location_bad))
                    }
                    div {
                        label for="firmware-at" { (t(Msg::CmdRetrieveAt)) }
                        input #firmware-at type="datetime-local" name="retrieveAt" value=(typed("firmware", "retrieveAt").unwrap_or(&now_local)) aria-invalid=[invalid(at_bad)] aria-describedby=[described("firmware-at", at_bad)];
                        (field_error("firmware-at", at_bad))
                    }
                    button type="submit" { (t(Msg::CmdUpdateFirmware)) }
                }
            }
        }
    }
}

/// The reason a refused value is wrong, below its field (`e-{id}`, which
/// the field's `aria-describedby` names).
fn field_error(id: &str, bad: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = bad {
            p.field-error id={"e-" (id)} { (m) }
        }
    }
}

/// A command's outcome, polling itself while it is pending (and, slower,
/// while the station still reports the progress of accepted work).
pub(crate) fn outcome(c: &Caller, cmd: &Command) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let (class, msg) = status_words(cmd.status);
    let what = label(&cmd.request, lang);
    let url = format!("/portal/live/commands/{}", cmd.id);
    let trigger = if !cmd.status.is_final() {
        Some("every 1s")
    } else if cmd.tracking()
        && matches!(
            cmd.request,
            CommandRequest::UpdateFirmware { .. } | CommandRequest::GetDiagnostics { .. }
        )
    {
        Some("every 5s")
    } else {
        None
    };
    // What the station said when it declined (`NotSupported`, …).
    let answer = cmd
        .response
        .as_ref()
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str);
    let body = html! {
        strong { (what) } ": " (badge(class, t(msg)))
        @if let (CommandStatus::Rejected, Some(a)) = (cmd.status, answer) { " " span.muted { (a) } }
        @if let (CommandStatus::Failed, Some(e)) = (cmd.status, &cmd.error) { " " span.muted { (e) } }
        @if !cmd.progress.is_empty() {
            p { (t(Msg::CmdProgress)) ": "
                @for (i, p) in cmd.progress.iter().enumerate() {
                    @if i > 0 { " → " }
                    span.progress { (p.status) } " " span.muted.num { (i18n::datetime(p.at, lang)) }
                }
            }
        }
        @if let (CommandRequest::GetConfiguration { .. }, CommandStatus::Accepted, Some(r)) = (&cmd.request, cmd.status, &cmd.response) {
            (configuration_answer(r, lang))
        }
    };
    html! {
        @match trigger {
            Some(every) => div #command.card role="status" data-status=(cmd.status.as_str()) hx-get=(url) hx-trigger=(every) hx-swap="outerHTML" { (body) },
            None => div #command.card role="status" data-status=(cmd.status.as_str()) { (body) },
        }
    }
}

/// The answer to a configuration read as a table: 1.6 `configurationKey`
/// (key, value, read-only) and `unknownKey`; 2.0.1 `getVariableResult`
/// (component/variable, value, the attribute's status).
fn configuration_answer(r: &Value, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let v201 = r.get("getVariableResult").is_some();
    if let Some(keys) = r.get("configurationKey").and_then(Value::as_array) {
        for k in keys {
            let readonly = k.get("readonly").and_then(Value::as_bool).unwrap_or(false);
            rows.push((
                s(k, "key"),
                s(k, "value"),
                t(if readonly { Msg::CmdYes } else { Msg::CmdNo }).to_owned(),
            ));
        }
    }
    if let Some(results) = r.get("getVariableResult").and_then(Value::as_array) {
        for v in results {
            let component = v.get("component").map(|c| s(c, "name")).unwrap_or_default();
            let variable = v.get("variable").map(|c| s(c, "name")).unwrap_or_default();
            rows.push((
                format!("{component}/{variable}"),
                s(v, "attributeValue"),
                s(v, "attributeStatus"),
            ));
        }
    }
    let unknown: Vec<String> = r
        .get("unknownKey")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    html! {
        @if !rows.is_empty() {
            table #configuration {
                caption { (t(Msg::CmdAnswer)) }
                thead { tr {
                    th scope="col" { (t(Msg::CmdKeyShort)) }
                    th scope="col" { (t(Msg::CmdValue)) }
                    th scope="col" { (t(if v201 { Msg::Status } else { Msg::CmdReadOnly })) }
                } }
                tbody {
                    @for (key, value, extra) in &rows {
                        tr data-key=(key) {
                            th scope="row" { (key) }
                            td.value data-label=(t(Msg::CmdValue)) { (value) }
                            td data-label=(t(if v201 { Msg::Status } else { Msg::CmdReadOnly })) { (extra) }
                        }
                    }
                }
            }
        }
        @if !unknown.is_empty() {
            p { (t(Msg::CmdUnknownKeys)) ": " (unknown.join(", ")) }
        }
    }
}

/// Sends `request` to station `id` for a caller with the `commands` scope
/// (and the form's CSRF token), then back to the station's page showing
/// the command. `request` may read the store (the organisation's
/// identifiers): it gets the caller too.
async fn send(
    st: &PortalState,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
    action: &'static str,
    request: impl FnOnce(&Form) -> Result<CommandRequest, ApiError>,
) -> Result<Response, Failure> {
    let path = station_path(id);
    let c = caller(st, headers, &path).await?;
    let form = Form::parse(body);
    c.check_csrf(&form)?;
    c.permitted(Scope::Commands)?;
    match request(&form) {
        Ok(request) => submit(st, &c, id, &form, action, request).await,
        Err(e) => refused(st, &c, id, action, &form, e).await,
    }
}

async fn submit(
    st: &PortalState,
    c: &Caller,
    id: &str,
    form: &Form,
    action: &'static str,
    request: CommandRequest,
) -> Result<Response, Failure> {
    let who = c.permitted(Scope::Commands)?;
    // Another organisation's station (or none) is answered like the API
    // does: not found.
    let station = own_station_view(&st.api, who, id)
        .await
        .or_page(c)?
        .station
        .id;
    let cmd = match st
        .api
        .commands
        .submit(&who.actor(), &station, request, SubmitOptions::default())
        .await
    {
        Ok(cmd) => cmd,
        Err(e) => return refused(st, c, id, action, form, e.into()).await,
    };
    tracing::info!(station = %station, command = %cmd.id, "portal: command sent");
    let operation = format!("POST /portal/stations/{{id}}/{action}");
    let target = format!("/portal/stations/{station}/{action}");
    audit(st, who, &operation, &target, form).await;
    // Most chargers answer within a moment: the page then shows the outcome
    // at once (as `?wait=` does for the API), and polls for a slower one.
    if !cmd.status.is_final() {
        if let Err(e) = st.api.commands.wait(&cmd.id, ANSWER_WAIT).await {
            tracing::warn!(command = %cmd.id, error = %e, "portal: waiting for the answer failed");
        }
    }
    Ok(Redirect::to(&format!("{}?command={}#commands", station_path(id), cmd.id)).into_response())
}

/// A whole number of at least `min` in field `name`.
fn number(form: &Form, name: &str, min: u32) -> Result<u32, ApiError> {
    form.get(name)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n >= min)
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: a number from {min}")))
}

/// Like [`number`], empty meaning none.
fn optional_number(form: &Form, name: &str, min: u32) -> Result<Option<u32>, ApiError> {
    match form.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(_) => number(form, name, min).map(Some),
    }
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, ApiError> {
    form.get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: required")))
}

/// Where a station uploads to or downloads from: an absolute URL.
fn location(form: &Form) -> Result<String, ApiError> {
    let raw = required(form, "location")?;
    match url::Url::parse(raw) {
        Ok(u) if u.has_host() => Ok(raw.to_owned()),
        _ => Err(ApiError::BadRequest(format!(
            "location: {raw:?} is not an absolute URL (e.g. https://… or ftp://…)"
        ))),
    }
}

/// A configuration key as the form has it: `HeartbeatInterval` (1.6) or
/// `OCPPCommCtrlr/HeartbeatInterval` (a 2.0.1 component and variable).
fn config_ref(field: &str, raw: &str) -> Result<ConfigRef, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "{field}: {raw:?} is not a key (Key, or Component/Variable for OCPP 2.0.1)"
        ))
    };
    let (component, variable) = match raw.trim().split_once('/') {
        Some((c, v)) => (Some(c.trim()), v.trim()),
        None => (None, raw.trim()),
    };
    if variable.is_empty() || component.is_some_and(str::is_empty) || variable.contains('/') {
        return Err(bad());
    }
    Ok(ConfigRef {
        component: component.map(str::to_owned),
        component_instance: None,
        evse_id: None,
        variable: variable.to_owned(),
        variable_instance: None,
    })
}

/// A `datetime-local` value (`2026-12-07T14:05`) in the portal's time zone;
/// empty is now.
fn local_time(form: &Form, name: &str, now: Timestamp) -> Result<Timestamp, ApiError> {
    let raw = match form.get(name).map(str::trim) {
        None | Some("") => return Ok(now),
        Some(raw) => raw,
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "{name}: {raw:?} is not a local date and time (YYYY-MM-DDTHH:MM)"
        ))
    };
    let naive = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| bad())?;
    DISPLAY_ZONE
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(bad)
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
        Ok(CommandRequest::Unlock {
            evse_id: number(form, "evse", 1)?,
            connector_id: Some(number(form, "connector", 1)?),
        })
    })
    .await
}

/// `POST /portal/stations/{id}/start`: `idToken`, one of the
/// organisation's identifiers (its type goes along, for 2.0.1), and
/// `evseId` (empty: the station chooses). Whether the identifier may
/// charge here now is the service's check, as for the API.
pub async fn start(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &station_path(&id)).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Commands)?;
    match start_request(&st, who, &form).await {
        Ok(request) => submit(&st, &c, &id, &form, "start", request).await,
        Err(e) => refused(&st, &c, &id, "start", &form, e).await,
    }
}

/// The remote start a form asks for: the identifier must be the
/// organisation's (its type goes along).
async fn start_request(
    st: &PortalState,
    who: &Principal,
    form: &Form,
) -> Result<CommandRequest, ApiError> {
    let raw = required(form, "idToken")?;
    let not_ours = || {
        ApiError::BadRequest(format!(
            "idToken: {raw:?} is not one of the organisation's identifiers"
        ))
    };
    let value = IdTokenValue::parse(raw).map_err(|_| not_ours())?;
    let token = st
        .api
        .store
        .get_id_token(&value)
        .await?
        .filter(|r| r.org_id == who.org_id)
        .ok_or_else(not_ours)?;
    Ok(CommandRequest::RemoteStart {
        id_token: token.token.as_str().to_owned(),
        token_type: Some(token.token_type.as_str().to_owned()),
        evse_id: optional_number(form, "evseId", 1)?,
        charging_profile: None,
    })
}

/// `POST /portal/stations/{id}/stop`: `transactionId`.
pub async fn stop(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "stop", |form| {
        Ok(CommandRequest::RemoteStop {
            transaction_id: required(form, "transactionId")?.to_owned(),
        })
    })
    .await
}

/// `POST /portal/stations/{id}/pause`: `transactionId` (a 0 A profile).
pub async fn pause(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "pause", |form| {
        Ok(CommandRequest::Pause {
            transaction_id: required(form, "transactionId")?.to_owned(),
            evse_id: None,
        })
    })
    .await
}

/// `POST /portal/stations/{id}/resume`: `transactionId`.
pub async fn resume(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "resume", |form| {
        Ok(CommandRequest::Resume {
            transaction_id: required(form, "transactionId")?.to_owned(),
            evse_id: None,
        })
    })
    .await
}

/// `POST /portal/stations/{id}/availability`: `evseId` (0: the whole
/// station) and `operative` (true or false).
pub async fn availability(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "availability", |form| {
        let evse = number(form, "evseId", 0)?;
        let operative = match form.get("operative") {
            Some("true") => true,
            Some("false") => false,
            _ => return Err(ApiError::BadRequest("operative: true or false".into())),
        };
        Ok(CommandRequest::ChangeAvailability {
            evse_id: (evse > 0).then_some(evse),
            connector_id: None,
            operative,
        })
    })
    .await
}

/// `POST /portal/stations/{id}/configuration/read`: `keys`, comma-separated
/// (empty: all of them; a 2.0.1 station then sends its device model).
pub async fn read_configuration(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "configuration/read", |form| {
        let keys = form
            .get("keys")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| config_ref("keys", k))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CommandRequest::GetConfiguration { keys })
    })
    .await
}

/// `POST /portal/stations/{id}/configuration/change`: `key` and `value`.
pub async fn change_configuration(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "configuration/change", |form| {
        Ok(CommandRequest::ChangeConfiguration {
            key: config_ref("key", required(form, "key")?)?,
            value: form.get("value").unwrap_or("").to_owned(),
        })
    })
    .await
}

/// `POST /portal/stations/{id}/diagnostics`: `location`, where the station
/// uploads its diagnostics (1.6) or log (2.0.1).
pub async fn diagnostics(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    send(&st, &headers, &id, &body, "diagnostics", |form| {
        Ok(CommandRequest::GetDiagnostics {
            location: location(form)?,
            start_time: None,
            stop_time: None,
            retries: None,
            retry_interval_s: None,
        })
    })
    .await
}

/// `POST /portal/stations/{id}/firmware`: `location` and `retrieveAt`
/// (local time; empty: now).
pub async fn firmware(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let now = st.api.clock.now();
    send(&st, &headers, &id, &body, "firmware", |form| {
        Ok(CommandRequest::UpdateFirmware {
            location: location(form)?,
            retrieve_at: local_time(form, "retrieveAt", now)?,
            retries: None,
            retry_interval_s: None,
            signing_certificate: None,
            signature: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes())
    }

    #[test]
    fn keys_are_a_1_6_key_or_a_component_and_variable() {
        let k = config_ref("key", "HeartbeatInterval").unwrap();
        assert_eq!(
            (k.component, k.variable.as_str()),
            (None, "HeartbeatInterval")
        );
        let k = config_ref("key", " OCPPCommCtrlr / HeartbeatInterval ").unwrap();
        assert_eq!(k.component.as_deref(), Some("OCPPCommCtrlr"));
        assert_eq!(k.variable, "HeartbeatInterval");
        for bad in ["", "/x", "x/", "a/b/c"] {
            let Err(ApiError::BadRequest(m)) = config_ref("keys", bad) else {
                panic!("{bad:?} taken");
            };
            assert!(m.starts_with("keys: "), "{m}");
        }
    }

    #[test]
    fn locations_are_absolute_urls() {
        assert_eq!(
            location(&form("location=ftp%3A%2F%2Flogs.example.com%2Fup")).unwrap(),
            "ftp://logs.example.com/up"
        );
        for body in [
            "",
            "location=",
            "location=logs.example.com",
            "location=mailto%3Aa%40b",
        ] {
            let Err(ApiError::BadRequest(m)) = location(&form(body)) else {
                panic!("{body:?} taken");
            };
            assert!(m.starts_with("location: "), "{m}");
        }
    }

    #[test]
    fn retrieve_times_are_local_and_empty_is_now() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        assert_eq!(local_time(&form(""), "retrieveAt", now).unwrap(), now);
        // Stockholm is UTC+1 in December, UTC+2 in July.
        let winter = local_time(&form("retrieveAt=2026-12-24T15%3A00"), "retrieveAt", now).unwrap();
        assert_eq!(
            winter,
            chrono::Utc
                .with_ymd_and_hms(2026, 12, 24, 14, 0, 0)
                .unwrap()
        );
        let summer = local_time(&form("retrieveAt=2026-07-01T15%3A00"), "retrieveAt", now).unwrap();
        assert_eq!(
            summer,
            chrono::Utc.with_ymd_and_hms(2026, 7, 1, 13, 0, 0).unwrap()
        );
        // 02:30 on the last Sunday of March does not exist there.
        for bad in ["retrieveAt=tomorrow", "retrieveAt=2026-03-29T02%3A30"] {
            let Err(ApiError::BadRequest(m)) = local_time(&form(bad), "retrieveAt", now) else {
                panic!("{bad:?} taken");
            };
            assert!(m.starts_with("retrieveAt: "), "{m}");
        }
    }

    #[test]
    fn a_configuration_answer_is_a_table_of_either_version() {
        let v16 = serde_json::json!({
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": false, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": true, "value": "2"}
            ],
            "unknownKey": ["NoSuchKey"]
        });
        let html = configuration_answer(&v16, Language::En).into_string();
        assert!(html.contains(r#"<tr data-key="HeartbeatInterval"><th scope="row">HeartbeatInterval</th><td class="value" data-label="Value">300</td><td data-label="Read-only">no</td>"#), "{html}");
        assert!(
            html.contains(r#"<td data-label="Read-only">yes</td>"#),
            "{html}"
        );
        assert!(html.contains("Unknown keys: NoSuchKey"), "{html}");
        let v201 = serde_json::json!({"getVariableResult": [
            {"attributeStatus": "Accepted", "attributeValue": "60",
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"attributeStatus": "UnknownVariable",
             "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nothing"}}
        ]});
        let html = configuration_answer(&v201, Language::Sv).into_string();
        assert!(html.contains(r#"<tr data-key="OCPPCommCtrlr/HeartbeatInterval"><th scope="row">OCPPCommCtrlr/HeartbeatInterval</th><td class="value" data-label="Värde">60</td><td data-label="Status">Accepted</td>"#), "{html}");
        assert!(html.contains("UnknownVariable"), "{html}");
        // An answer with nothing in it shows nothing.
        assert!(configuration_answer(&serde_json::json!({}), Language::En)
            .into_string()
            .is_empty());
    }

    #[test]
    fn a_refusal_keeps_what_was_typed_and_names_its_field() {
        let message = "key: \"a/b/c\" is not a key".to_owned();
        let p = Problem {
            group: "cmd-configuration",
            action: "configuration/change",
            field: field_of(&message),
            message,
            status: StatusCode::BAD_REQUEST,
            typed: form("key=a%2Fb%2Fc&value=1"),
        };
        assert_eq!(p.typed("configuration/change", "key"), Some("a/b/c"));
        assert_eq!(p.typed("configuration/change", "value"), Some("1"));
        // The other form of the group keeps its own (empty) fields.
        assert_eq!(p.typed("configuration/read", "key"), None);
        assert_eq!(
            p.bad_at("configuration/change", "key"),
            Some("\"a/b/c\" is not a key")
        );
        assert_eq!(p.bad_at("configuration/change", "value"), None);
        assert_eq!(p.bad_at("configuration/read", "key"), None);
        // A service refusal without a field is the group's alert only.
        assert_eq!(field_of("the station's OCPP version cannot do that"), None);
        assert_eq!(
            field_of("evseId: a number from 1").as_deref(),
            Some("evseId")
        );
    }

    #[test]
    fn numbers_name_their_field() {
        assert_eq!(
            optional_number(&form("evseId="), "evseId", 1).unwrap(),
            None
        );
        assert_eq!(
            optional_number(&form("evseId=2"), "evseId", 1).unwrap(),
            Some(2)
        );
        let Err(ApiError::BadRequest(m)) = optional_number(&form("evseId=0"), "evseId", 1) else {
            panic!("0 taken");
        };
        assert_eq!(m, "evseId: a number from 1");
    }
}
