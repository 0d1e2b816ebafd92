//! Access modes: `GET /portal/access` lists each of the organisation's
//! stations (and each EVSE with a policy of its own) with its mode now and
//! until when, and the refused attempts at all of them;
//! `GET /portal/stations/{id}/access[?evse=N]` shows one policy (the
//! station's, or EVSE N's) as a week view and edits it, and lists the
//! station's refused attempts.
//!
//! Everything goes through the API's own use cases
//! (`csms_api::shared::access_now`, `station_access`, `access_attempts`,
//! `change_access`): the form is turned into the body
//! `PUT /stations/{id}/access` (or the EVSE's) takes, parsed by the
//! route's own parser, so a bad value is shown at its field with the
//! parser's reason and nothing is written, and the write is on the version
//! the form showed (a stale form is a 412 page, not written over).

use crate::i18n::{self, Msg};
use crate::layout::{self, badge};
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, TimeDelta};
use csms_api::error::ApiError;
use csms_api::shared::{
    access_attempts, access_now, change_access, station_access, AccessPolicyView, ModeNow,
    Principal,
};
use csms_domain::access::{
    mode_at, AccessAttempt, AccessMode, AccessPolicy, AccessRefusal, Weekdays, MAX_EXCEPTIONS,
    MAX_RULES,
};
use csms_domain::api_key::Scope;
use csms_domain::tenant::Language;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};
use serde_json::{json, Value};
use std::collections::HashMap;

const PATH: &str = "/portal/access";

/// How many refused attempts a page lists (the newest).
const ATTEMPTS_SHOWN: u32 = 50;

/// Empty rows the editor offers for another rule and another exception.
const SPARE_ROWS: usize = 2;

const WEEKDAYS: [Msg; 7] = [
    Msg::WdMon,
    Msg::WdTue,
    Msg::WdWed,
    Msg::WdThu,
    Msg::WdFri,
    Msg::WdSat,
    Msg::WdSun,
];

fn station_path(id: &str) -> String {
    format!("/portal/stations/{}/access", encoded(id))
}

/// A mode in words.
pub(crate) fn mode_text(m: AccessMode) -> Msg {
    match m {
        AccessMode::Private => Msg::AcPrivate,
        AccessMode::Public => Msg::AcPublic,
        AccessMode::SemiPublic => Msg::AcSemiPublic,
    }
}

/// A mode's colour (the badge says the mode in words too).
fn mode_class(m: AccessMode) -> &'static str {
    match m {
        AccessMode::Private => "s-busy",
        AccessMode::Public => "s-ok",
        AccessMode::SemiPublic => "s-warn",
    }
}

/// A mode's colour in the week view (cells without text: stronger than
/// the badges' backgrounds).
fn cell_class(m: AccessMode) -> &'static str {
    match m {
        AccessMode::Private => "wg-private",
        AccessMode::Public => "wg-public",
        AccessMode::SemiPublic => "wg-semi",
    }
}

fn mode_badge(m: AccessMode, lang: Language) -> Markup {
    badge(mode_class(m), mode_text(m).text(lang))
}

/// Why an attempt was refused, in words.
fn reason_text(r: AccessRefusal) -> Msg {
    match r {
        AccessRefusal::OtherOrganisation => Msg::AcWhyOtherOrg,
        AccessRefusal::GroupNotAllowed => Msg::AcWhyGroup,
        AccessRefusal::Booked => Msg::AcWhyBooked,
        AccessRefusal::SignInRequired => Msg::AcWhySignIn,
        AccessRefusal::Unavailable => Msg::AcWhyUnavailable,
        AccessRefusal::Occupied => Msg::AcWhyOccupied,
    }
}

/// Where a refused token was presented: the OCPP message's name, or a
/// remote start or a start link in words.
fn source_text(source: &str, lang: Language) -> &str {
    match source {
        "remoteStart" => Msg::AcRemoteStart.text(lang),
        "startLink" => Msg::AcStartLink.text(lang),
        other => other,
    }
}

/// "private until 18:00 on …", or "… with no change within a year".
fn until_text(n: &ModeNow, lang: Language) -> String {
    match n.until {
        Some(u) => Msg::AcUntil
            .text(lang)
            .replace("{}", &i18n::datetime(u, lang)),
        None => Msg::AcNoChange.text(lang).to_owned(),
    }
}

// ---------------------------------------------------------------- week view

/// A stretch of one day (minutes since local midnight, end excluded) in
/// one mode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stretch {
    pub start: u16,
    pub end: u16,
    pub mode: AccessMode,
}

/// The day's stretches under `policy`: the mode only changes where a rule
/// naming the weekday starts or ends (an exception is whole days), so it
/// is read at each such minute and equal neighbours are joined.
pub(crate) fn day_stretches(policy: &AccessPolicy, day: NaiveDate) -> Vec<Stretch> {
    let mut cuts: Vec<u16> = vec![0, 1440];
    for r in policy.schedule.rules() {
        if r.days.contains(day.weekday()) {
            cuts.push(r.time.start());
            cuts.push(r.time.end());
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Stretch> = Vec::new();
    for pair in cuts.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let Some(at) = day.and_hms_opt(u32::from(start / 60), u32::from(start % 60), 0) else {
            continue;
        };
        let mode = mode_at(&policy.schedule, at);
        match out.last_mut() {
            Some(last) if last.mode == mode => last.end = end,
            _ => out.push(Stretch { start, end, mode }),
        }
    }
    out
}

/// The mode of hour `h` (0–23) of a day's stretches, or `None` when it
/// changes within the hour.
pub(crate) fn hour_mode(stretches: &[Stretch], h: u16) -> Option<AccessMode> {
    let (from, to) = (h * 60, h * 60 + 60);
    let within: Vec<&Stretch> = stretches
        .iter()
        .filter(|s| s.start < to && s.end > from)
        .collect();
    match within.as_slice() {
        [one] => Some(one.mode),
        _ => None,
    }
}

fn hm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn short_date(d: NaiveDate, lang: Language) -> String {
    const MONTHS_EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Language::Sv => format!("{}/{}", d.day(), d.month()),
        Language::En => format!("{} {}", d.day(), MONTHS_EN[d.month0() as usize]),
    }
}

/// The week of `monday` under `policy`: a grid of 7 days × 24 hours
/// coloured by mode (hidden from screen readers: the table after it says
/// the same in words), and per day its stretches in words.
fn week_view(policy: &AccessPolicy, monday: NaiveDate, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let days: Vec<(NaiveDate, Vec<Stretch>)> = (0..7)
        .map(|i| {
            let d = monday + TimeDelta::days(i);
            (d, day_stretches(policy, d))
        })
        .collect();
    html! {
        div.week-legend aria-hidden="true" {
            @for m in [AccessMode::Private, AccessMode::Public, AccessMode::SemiPublic] {
                span.legend { span class={"swatch " (cell_class(m))} {} (t(mode_text(m))) }
            }
            span.legend { span class="swatch wg-mixed" {} (t(Msg::AcMixed)) }
        }
        div.week-grid aria-hidden="true" {
            span.wg-day {}
            span.wg-scale {
                @for h in (0..24u16).step_by(3) {
                    span { (format!("{h:02}")) }
                }
            }
            @for (i, (d, stretches)) in days.iter().enumerate() {
                span.wg-day { (t(WEEKDAYS[i])) " " (short_date(*d, lang)) }
                span.wg-hours {
                    @for h in 0..24u16 {
                        @match hour_mode(stretches, h) {
                            Some(m) => span class={"wg-cell " (cell_class(m))} {},
                            None => span class="wg-cell wg-mixed" {},
                        }
                    }
                }
            }
        }
        table #week-text {
            caption { (t(Msg::AcWeekCaption)) }
            thead { tr {
                th scope="col" { (t(Msg::AcDay)) }
                th scope="col" { (t(Msg::AcStretches)) }
            } }
            tbody {
                @for (i, (d, stretches)) in days.iter().enumerate() {
                    tr data-day=(d.to_string()) {
                        th scope="row" { (t(WEEKDAYS[i])) " " (short_date(*d, lang)) }
                        td data-label=(t(Msg::AcStretches)) {
                            @for (n, s) in stretches.iter().enumerate() {
                                @if n > 0 { ", " }
                                span.stretch { (hm(s.start)) "–" (hm(s.end)) " " (t(mode_text(s.mode)).to_lowercase()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- editor

/// A rule's row of the form, as shown or as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RuleRow {
    pub days: [bool; 7],
    pub start: String,
    pub end: String,
    pub mode: String,
}

impl RuleRow {
    fn blank(&self) -> bool {
        !self.days.iter().any(|d| *d) && self.start.trim().is_empty() && self.end.trim().is_empty()
    }
}

/// An exception's row of the form.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExceptionRow {
    pub from: String,
    pub to: String,
    pub mode: String,
}

impl ExceptionRow {
    fn blank(&self) -> bool {
        self.from.trim().is_empty() && self.to.trim().is_empty()
    }
}

/// The editor's values: a policy as shown, or a form as typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Editor {
    pub default: String,
    pub rules: Vec<RuleRow>,
    pub exceptions: Vec<ExceptionRow>,
    /// The user groups, comma-separated.
    pub groups: String,
}

impl Editor {
    /// A policy's values, with spare empty rows for another rule and
    /// exception.
    pub(crate) fn of(p: &AccessPolicyView) -> Self {
        let mut rules: Vec<RuleRow> = p
            .rules
            .iter()
            .map(|r| {
                let mut days = [false; 7];
                for (i, n) in Weekdays::NAMES.iter().enumerate() {
                    days[i] = r.days.iter().any(|d| d == n);
                }
                RuleRow {
                    days,
                    start: r.start.clone(),
                    end: r.end.clone(),
                    mode: r.mode.clone(),
                }
            })
            .collect();
        let spare = SPARE_ROWS.min(MAX_RULES.saturating_sub(rules.len()));
        rules.extend((0..spare).map(|_| RuleRow {
            mode: "private".into(),
            ..Default::default()
        }));
        let mut exceptions: Vec<ExceptionRow> = p
            .exceptions
            .iter()
            .map(|e| ExceptionRow {
                from: e.from.to_string(),
                to: e.to.to_string(),
                mode: e.mode.clone(),
            })
            .collect();
        let spare = SPARE_ROWS.min(MAX_EXCEPTIONS.saturating_sub(exceptions.len()));
        exceptions.extend((0..spare).map(|_| ExceptionRow {
            mode: "public".into(),
            ..Default::default()
        }));
        Editor {
            default: p.default.clone(),
            rules,
            exceptions,
            groups: p.groups.join(", "),
        }
    }

    /// The values as typed (`rules[i].start`, `rules[i].mon`, …,
    /// `exceptions[i].from`, …), every row the form had.
    pub(crate) fn typed(form: &Form) -> Self {
        let get = |k: &str| form.get(k).unwrap_or("").to_owned();
        let rules = (0..MAX_RULES + SPARE_ROWS)
            .take_while(|i| form.get(&format!("rules[{i}].start")).is_some())
            .map(|i| {
                let mut days = [false; 7];
                for (d, n) in Weekdays::NAMES.iter().enumerate() {
                    days[d] = form.get(&format!("rules[{i}].{n}")).is_some();
                }
                RuleRow {
                    days,
                    start: get(&format!("rules[{i}].start")),
                    end: get(&format!("rules[{i}].end")),
                    mode: get(&format!("rules[{i}].mode")),
                }
            })
            .collect();
        let exceptions = (0..MAX_EXCEPTIONS + SPARE_ROWS)
            .take_while(|i| form.get(&format!("exceptions[{i}].from")).is_some())
            .map(|i| ExceptionRow {
                from: get(&format!("exceptions[{i}].from")),
                to: get(&format!("exceptions[{i}].to")),
                mode: get(&format!("exceptions[{i}].mode")),
            })
            .collect();
        Editor {
            default: get("default"),
            rules,
            exceptions,
            groups: get("groups"),
        }
    }

    /// The body `PUT /stations/{id}/access` takes, the empty rows left
    /// out; with, for each rule and exception of the body, its row in the
    /// form (so the parser's `rules[1]` can be shown at the right row).
    pub(crate) fn body(&self) -> (Value, Vec<usize>, Vec<usize>) {
        let mut rule_rows = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if r.blank() {
                continue;
            }
            rule_rows.push(i);
            let days: Vec<&str> = Weekdays::NAMES
                .iter()
                .zip(r.days)
                .filter(|(_, on)| *on)
                .map(|(n, _)| *n)
                .collect();
            rules.push(
                json!({"days": days, "start": r.start.trim(), "end": r.end.trim(), "mode": r.mode}),
            );
        }
        let mut exception_rows = Vec::new();
        let mut exceptions = Vec::new();
        for (i, e) in self.exceptions.iter().enumerate() {
            if e.blank() {
                continue;
            }
            exception_rows.push(i);
            let mut v = json!({"from": e.from.trim(), "mode": e.mode});
            if !e.to.trim().is_empty() {
                v["to"] = Value::String(e.to.trim().to_owned());
            }
            exceptions.push(v);
        }
        let groups: Vec<&str> = self
            .groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        (
            json!({"default": self.default, "rules": rules, "exceptions": exceptions, "groups": groups}),
            rule_rows,
            exception_rows,
        )
    }
}

/// `list[k]` in `message` renumbered to `list[rows[k]]` (the body's index
/// to the form's row), in one pass.
pub(crate) fn renumber(message: &str, list: &str, rows: &[usize]) -> String {
    let open = format!("{list}[");
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(&open) {
        let (before, after) = rest.split_at(at + open.len());
        out.push_str(before);
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let row = digits
            .parse::<usize>()
            .ok()
            .filter(|_| after[digits.len()..].starts_with(']'))
            .and_then(|k| rows.get(k));
        match row {
            Some(r) => out.push_str(&r.to_string()),
            None => out.push_str(&digits),
        }
        rest = &after[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// The parser's message as the page shows it: serde's wrapping (`invalid
/// JSON body: `, ` at line 1 column 80`) left out, and the body's indices
/// renumbered to the form's rows.
pub(crate) fn page_message(message: &str, rule_rows: &[usize], exception_rows: &[usize]) -> String {
    let m = message
        .strip_prefix("invalid JSON body: ")
        .unwrap_or(message);
    let m = match m.rfind(" at line ") {
        Some(i) if m[i..].contains(" column ") => &m[..i],
        _ => m,
    };
    renumber(
        &renumber(m, "rules", rule_rows),
        "exceptions",
        exception_rows,
    )
}

/// The field a message begins with (`rules[1].end`, `rules[1]`,
/// `exceptions[0].from`, `default`, `groups[2]`): the form's field name
/// it is shown at.
pub(crate) fn field_of(message: &str) -> Option<String> {
    let head = message.split_once(": ")?.0;
    let ok = head
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "[].".contains(c));
    if !ok || head.is_empty() {
        return None;
    }
    // A group's error is shown at the one groups field; a rule's days at
    // its days.
    if head.starts_with("groups") {
        return Some("groups".into());
    }
    Some(head.to_owned())
}

/// A refused change: the field (the form's name) and the message, with
/// what was typed.
pub(crate) struct Refused {
    field: Option<String>,
    message: String,
    typed: Editor,
}

fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    id.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
    );
    id
}

/// The refusal's reason when it names field `name` (a rule's own error,
/// `rules[1]: overlaps …`, at its start), without the field's name: the
/// alert above the form says it whole.
fn bad_at<'a>(refused: Option<&'a Refused>, name: &str) -> Option<&'a str> {
    let r = refused?;
    let f = r.field.as_deref()?;
    let at = f == name || (name.ends_with(".start") && f == name.trim_end_matches(".start"));
    at.then(|| {
        r.message
            .strip_prefix(f)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(&r.message)
    })
}

fn mode_select(name: &str, id: &str, value: &str, lang: Language, bad: Option<&str>) -> Markup {
    html! {
        @if bad.is_some() {
            select id=(id) name=(name) aria-invalid="true" aria-describedby={"e-" (id)} {
                (mode_options(value, lang))
            }
            p.field-error id={"e-" (id)} { (bad.unwrap_or_default()) }
        } @else {
            select id=(id) name=(name) { (mode_options(value, lang)) }
        }
    }
}

fn mode_options(value: &str, lang: Language) -> Markup {
    html! {
        @for m in [AccessMode::Private, AccessMode::Public, AccessMode::SemiPublic] {
            option value=(m.as_str()) selected[m.as_str() == value] { (mode_text(m).text(lang)) }
        }
    }
}

fn text_input(name: &str, value: &str, placeholder: &str, bad: Option<&str>) -> Markup {
    let id = field_id(name);
    html! {
        @if let Some(m) = bad {
            input id=(id) name=(name) value=(value) placeholder=(placeholder) autocomplete="off" aria-invalid="true" aria-describedby={"e-" (id)};
            p.field-error id={"e-" (id)} { (m) }
        } @else {
            input id=(id) name=(name) value=(value) placeholder=(placeholder) autocomplete="off";
        }
    }
}

/// The policy's form: default mode, weekly rules, exceptions, groups.
fn editor(
    c: &Caller,
    action: &str,
    evse: Option<u32>,
    version: u64,
    values: &Editor,
    refused: Option<&Refused>,
) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    html! {
        @if let Some(r) = refused {
            div.error #change-error role="alert" { (r.message) }
        }
        form.policy method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(c.session.csrf_token);
            input type="hidden" name="version" value=(version);
            @if let Some(e) = evse {
                input type="hidden" name="evse" value=(e);
            }
            label for="f-default" { (t(Msg::AcDefault)) }
            (mode_select("default", "f-default", &values.default, lang, bad_at(refused, "default")))
            fieldset.rules {
                legend { (t(Msg::AcRules)) }
                p.hint { (t(Msg::AcRulesHint)) }
                @for (i, r) in values.rules.iter().enumerate() {
                    @let days_bad = bad_at(refused, &format!("rules[{i}].days"));
                    fieldset.rule data-row=(i) {
                        legend { (Msg::AcRuleN.text(lang).replace("{}", &(i + 1).to_string())) }
                        div.days {
                            @for (d, n) in Weekdays::NAMES.iter().enumerate() {
                                @let id = field_id(&format!("rules[{i}].{n}"));
                                label.check for=(id) {
                                    input type="checkbox" id=(id) name=(format!("rules[{i}].{n}")) checked[r.days[d]];
                                    (t(WEEKDAYS[d]))
                                }
                            }
                            @if let Some(m) = days_bad { p.field-error { (m) } }
                        }
                        div.row {
                            div {
                                label for=(field_id(&format!("rules[{i}].start"))) { (t(Msg::AcStart)) }
                                (text_input(&format!("rules[{i}].start"), &r.start, "HH:MM", bad_at(refused, &format!("rules[{i}].start"))))
                            }
                            div {
                                label for=(field_id(&format!("rules[{i}].end"))) { (t(Msg::AcEnd)) }
                                (text_input(&format!("rules[{i}].end"), &r.end, "HH:MM", bad_at(refused, &format!("rules[{i}].end"))))
                            }
                            div {
                                @let id = field_id(&format!("rules[{i}].mode"));
                                label for=(id) { (t(Msg::AcMode)) }
                                (mode_select(&format!("rules[{i}].mode"), &id, &r.mode, lang, bad_at(refused, &format!("rules[{i}].mode"))))
                            }
                        }
                    }
                }
            }
            fieldset.rules {
                legend { (t(Msg::AcExceptions)) }
                p.hint { (t(Msg::AcExceptionsHint)) }
                @for (i, e) in values.exceptions.iter().enumerate() {
                    @let row_bad = bad_at(refused, &format!("exceptions[{i}]"));
                    fieldset.rule data-row=(i) {
                        legend { (Msg::AcExceptionN.text(lang).replace("{}", &(i + 1).to_string())) }
                        @if let Some(m) = row_bad { p.field-error { (m) } }
                        div.row {
                            div {
                                label for=(field_id(&format!("exceptions[{i}].from"))) { (t(Msg::AcFrom)) }
                                (text_input(&format!("exceptions[{i}].from"), &e.from, "YYYY-MM-DD", bad_at(refused, &format!("exceptions[{i}].from"))))
                            }
                            div {
                                label for=(field_id(&format!("exceptions[{i}].to"))) { (t(Msg::AcTo)) }
                                (text_input(&format!("exceptions[{i}].to"), &e.to, "YYYY-MM-DD", bad_at(refused, &format!("exceptions[{i}].to"))))
                            }
                            div {
                                @let id = field_id(&format!("exceptions[{i}].mode"));
                                label for=(id) { (t(Msg::AcMode)) }
                                (mode_select(&format!("exceptions[{i}].mode"), &id, &e.mode, lang, bad_at(refused, &format!("exceptions[{i}].mode"))))
                            }
                        }
                    }
                }
            }
            label for="f-groups" { (t(Msg::AcGroups)) }
            p.hint #groups-hint { (t(Msg::AcGroupsHint)) }
            @if let Some(m) = bad_at(refused, "groups") {
                input #f-groups name="groups" value=(values.groups) autocomplete="off" aria-invalid="true" aria-describedby="e-f-groups groups-hint";
                p.field-error #e-f-groups { (m) }
            } @else {
                input #f-groups name="groups" value=(values.groups) autocomplete="off" aria-describedby="groups-hint";
            }
            div.actions { button type="submit" name="op" value="save" { (t(Msg::AcSave)) } }
        }
    }
}

// ---------------------------------------------------------------- pages

fn attempts_table(
    attempts: &[AccessAttempt],
    names: &HashMap<String, String>,
    lang: Language,
) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        @if attempts.is_empty() {
            p.empty { (t(Msg::AcNoAttempts)) }
        } @else {
            table #attempts {
                thead { tr {
                    th scope="col" { (t(Msg::AcWhen)) }
                    th scope="col" { (t(Msg::Station)) }
                    th scope="col" { (t(Msg::Evse)) }
                    th scope="col" { (t(Msg::Identifier)) }
                    th scope="col" { (t(Msg::AcMode)) }
                    th scope="col" { (t(Msg::AcReason)) }
                    th scope="col" { (t(Msg::AcSource)) }
                } }
                tbody {
                    @for a in attempts {
                        tr {
                            td.num data-label=(t(Msg::AcWhen)) { (i18n::datetime(a.at, lang)) }
                            td data-label=(t(Msg::Station)) {
                                (names.get(a.station_id.as_str()).map_or(a.station_id.as_str(), String::as_str))
                            }
                            td.num data-label=(t(Msg::Evse)) {
                                @match a.evse_id { Some(e) => (e), None => span.muted { "–" } }
                            }
                            td data-label=(t(Msg::Identifier)) { code { (a.token.as_str()) } }
                            td data-label=(t(Msg::AcMode)) { (mode_badge(a.mode, lang)) }
                            td data-label=(t(Msg::AcReason)) { (t(reason_text(a.reason))) }
                            td data-label=(t(Msg::AcSource)) { (source_text(&a.source, lang)) }
                        }
                    }
                }
            }
        }
    }
}

/// The organisation's stations' names by id.
async fn station_names(
    st: &PortalState,
    who: &Principal,
) -> Result<Vec<(String, String)>, ApiError> {
    let stations = st
        .api
        .store
        .list_stations(&who.org_id, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    Ok(stations
        .into_iter()
        .map(|v| {
            let id = v.station.id.as_str().to_owned();
            let name = v.station.name.clone().unwrap_or_else(|| id.clone());
            (id, name)
        })
        .collect())
}

/// `GET /portal/access`.
pub async fn page(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let who = c.permitted(Scope::Read)?.clone();
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let stations = station_names(&st, &who).await.or_page(&c)?;
    let mut rows = Vec::with_capacity(stations.len());
    for (id, name) in &stations {
        let now = access_now(&st.api, &who, id, None).await.or_page(&c)?;
        let (_, record) = station_access(&st.api, &who, id).await.or_page(&c)?;
        let mut evses = Vec::new();
        for e in record.iter().flat_map(|a| a.evses.keys()) {
            evses.push((
                *e,
                access_now(&st.api, &who, id, Some(*e)).await.or_page(&c)?,
            ));
        }
        rows.push((id, name, now, evses));
    }
    let attempts = access_attempts(&st.api, &who, None, &PageRequest::first(ATTEMPTS_SHOWN))
        .await
        .or_page(&c)?
        .items;
    let names: HashMap<String, String> = stations.iter().cloned().collect();
    let body = html! {
        h1 { (t(Msg::AcTitle)) }
        p.hint { (t(Msg::AcHint)) }
        @if rows.is_empty() {
            p.empty { (t(Msg::NoStations)) }
        } @else {
            table #access {
                thead { tr {
                    th scope="col" { (t(Msg::Station)) }
                    th scope="col" { (t(Msg::AcNow)) }
                    th scope="col" { (t(Msg::AcUntilCol)) }
                    th scope="col" { (t(Msg::AcOwnEvses)) }
                } }
                tbody {
                    @for (id, name, now, evses) in &rows {
                        tr data-station=(id) {
                            td data-label=(t(Msg::Station)) { a href=(station_path(id)) { (name) } }
                            td data-label=(t(Msg::AcNow)) { (mode_badge(now.mode, lang)) }
                            td data-label=(t(Msg::AcUntilCol)) { (until_text(now, lang)) }
                            td data-label=(t(Msg::AcOwnEvses)) {
                                @if evses.is_empty() { span.muted { (t(Msg::AcNoOwn)) } }
                                ul.plain {
                                    @for (e, n) in evses {
                                        li data-evse=(e) {
                                            a href=(format!("{}?evse={e}", station_path(id))) { (Msg::AcEvseN.text(lang).replace("{}", &e.to_string())) }
                                            " " (mode_badge(n.mode, lang)) " " (until_text(n, lang))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(Msg::AcAttempts)) }
        p.hint { (t(Msg::AcAttemptsHint)) }
        (attempts_table(&attempts, &names, lang))
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(PATH), t(Msg::AcTitle), body),
    ))
}

/// `evse` of a query or form: none, or empty (the station's), or an EVSE
/// number from 1.
fn evse_param(raw: Option<&String>) -> Result<Option<u32>, ApiError> {
    raw.filter(|e| !e.trim().is_empty())
        .map(|e| {
            e.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::BadRequest("evse: must be a whole number from 1".into()))
        })
        .transpose()
}

/// `GET /portal/stations/{id}/access[?evse=N&saved=V]`.
pub async fn station_page(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &station_path(&id)).await?;
    let evse = evse_param(q.get("evse")).or_page(&c)?;
    let saved = q.get("saved").and_then(|v| v.parse::<u64>().ok());
    render_station(&st, &c, &id, evse, saved, None).await
}

async fn render_station(
    st: &PortalState,
    c: &Caller,
    id: &str,
    evse: Option<u32>,
    saved: Option<u64>,
    refused: Option<Refused>,
) -> Result<Response, Failure> {
    let who = c.permitted(Scope::Read)?.clone();
    let may_change = c.may(Scope::Admin);
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let (station, record) = station_access(&st.api, &who, id).await.or_page(c)?;
    let name = station.name.clone().unwrap_or_else(|| id.to_owned());
    let now = access_now(&st.api, &who, id, None).await.or_page(c)?;
    let mut own = Vec::new();
    for e in record.iter().flat_map(|a| a.evses.keys()) {
        own.push((
            *e,
            access_now(&st.api, &who, id, Some(*e)).await.or_page(c)?,
        ));
    }
    let version = record.as_ref().map_or(0, |a| a.version);
    let has_own = evse.is_some_and(|e| own.iter().any(|(o, _)| *o == e));
    // The policy shown: the EVSE's own, or the station's (which a new own
    // policy of an EVSE starts from).
    let policy: AccessPolicy = match (&record, evse) {
        (Some(a), e) => a.policy_at(e).clone(),
        (None, _) => AccessPolicy::legacy(),
    };
    let values = match &refused {
        Some(r) => r.typed.clone(),
        None => Editor::of(&AccessPolicyView::from(&policy)),
    };
    let today = st
        .api
        .clock
        .now()
        .with_timezone(&now.time_zone)
        .date_naive();
    let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
    let attempts = access_attempts(&st.api, &who, Some(id), &PageRequest::first(ATTEMPTS_SHOWN))
        .await
        .or_page(c)?
        .items;
    let names: HashMap<String, String> = [(id.to_owned(), name.clone())].into_iter().collect();
    let path = station_path(id);
    let editing = match evse {
        Some(e) => Msg::AcEvseN.text(lang).replace("{}", &e.to_string()),
        None => t(Msg::AcStationPolicy).to_owned(),
    };
    let body = html! {
        p { a href=(PATH) { (t(Msg::AcBack)) } " · " a href=(format!("/portal/stations/{}", encoded(id))) { (name) } }
        h1 { (Msg::AcStationTitle.text(lang).replace("{}", &name)) }
        @if let Some(v) = saved {
            p role="status" { (Msg::AcSaved.text(lang).replace("{}", &v.to_string())) }
        }
        dl.facts #access-now {
            dt { (t(Msg::AcStationPolicy)) }
            dd data-now=(now.mode.as_str()) { (mode_badge(now.mode, lang)) " " (until_text(&now, lang)) }
            @for (e, n) in &own {
                dt { (Msg::AcEvseN.text(lang).replace("{}", &e.to_string())) }
                dd data-now=(n.mode.as_str()) { (mode_badge(n.mode, lang)) " " (until_text(n, lang)) }
            }
            dt { (t(Msg::AcTimeZone)) } dd { (now.time_zone.name()) }
        }
        nav.policies aria-label=(t(Msg::AcPolicies)) {
            ul.plain {
                li {
                    @if evse.is_none() { strong aria-current="page" { (t(Msg::AcStationPolicy)) } }
                    @else { a href=(path) { (t(Msg::AcStationPolicy)) } }
                }
                @for (e, _) in &own {
                    li {
                        @let label = Msg::AcEvseN.text(lang).replace("{}", &e.to_string());
                        @if evse == Some(*e) { strong aria-current="page" { (label) } }
                        @else { a href=(format!("{path}?evse={e}")) { (label) } }
                    }
                }
            }
            @if may_change {
                form.inline method="get" action=(path) {
                    label for="f-own-evse" { (t(Msg::AcGiveOwn)) }
                    input #f-own-evse name="evse" inputmode="numeric" autocomplete="off";
                    button.secondary type="submit" { (t(Msg::AcEditOwn)) }
                }
            }
        }
        h2 { (Msg::AcWeekOf.text(lang).replace("{}", &editing)) }
        @if evse.is_some() && !has_own {
            p.hint { (t(Msg::AcFollowsStation)) }
        }
        @if !policy.groups.is_empty() {
            p { (t(Msg::AcGroups)) ": " (policy.groups.join(", ")) }
        }
        (week_view(&policy, monday, lang))
        @if may_change {
            h2 #change { (Msg::AcChange.text(lang).replace("{}", &editing)) }
            (editor(c, &path, evse, version, &values, refused.as_ref()))
            @if let (Some(e), true) = (evse, has_own) {
                form method="post" action=(path) {
                    input type="hidden" name="csrf" value=(c.session.csrf_token);
                    input type="hidden" name="version" value=(version);
                    input type="hidden" name="evse" value=(e);
                    div.actions { button.secondary type="submit" name="op" value="follow" { (t(Msg::AcFollow)) } }
                }
            }
        }
        h2 { (t(Msg::AcAttempts)) }
        (attempts_table(&attempts, &names, lang))
    };
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let title = Msg::AcStationTitle.text(lang).replace("{}", &name);
    Ok(html(status, layout::page(&c.frame(&path), &title, body)))
}

/// `POST /portal/stations/{id}/access`: `version` (the one the form
/// showed), `evse` (an EVSE's own policy), `op` (`save`, or `follow`: the
/// EVSE follows the station again) and the editor's fields.
pub async fn change(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = station_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?.clone();
    let based_on = form
        .get("version")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            c.fail(ApiError::BadRequest(
                "version: the form's access version is missing".into(),
            ))
        })?;
    let evse = evse_param(form.get("evse").map(str::to_owned).as_ref()).or_page(&c)?;
    let follow = form.get("op") == Some("follow");
    let typed = Editor::typed(&form);
    let (policy_body, rule_rows, exception_rows) = typed.body();
    let bytes = serde_json::to_vec(&policy_body).expect("JSON serialises");
    let written = change_access(
        &st.api,
        &who,
        &id,
        evse,
        (!follow).then_some(bytes.as_slice()),
        Some(based_on),
    )
    .await;
    match written {
        Ok(a) => {
            audit(&st, &who, "POST /portal/stations/{id}/access", &path, &form).await;
            let to = match evse {
                Some(e) if !follow => format!("{path}?evse={e}&saved={}", a.version),
                _ => format!("{path}?saved={}", a.version),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(ApiError::BadRequest(m)) if !follow => {
            let message = page_message(&m, &rule_rows, &exception_rows);
            let refused = Refused {
                field: field_of(&message),
                message,
                typed,
            };
            render_station(&st, &c, &id, evse, None, Some(refused)).await
        }
        Err(e) => Err(c.fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::access::{Exception, Rule, Schedule};
    use csms_domain::tenant::DayInterval;

    fn policy() -> AccessPolicy {
        let weekdays = Weekdays::parse(["mon", "tue", "wed", "thu", "fri"]).unwrap();
        let rules = vec![Rule {
            days: weekdays,
            time: DayInterval::new(6 * 60 + 30, 18 * 60).unwrap(),
            mode: AccessMode::Private,
        }];
        let exceptions = vec![Exception {
            from: "2026-12-24".parse().unwrap(),
            to: "2026-12-24".parse().unwrap(),
            mode: AccessMode::SemiPublic,
        }];
        AccessPolicy {
            schedule: Schedule::new(AccessMode::Public, rules, exceptions).unwrap(),
            groups: vec![],
        }
    }

    #[test]
    fn a_days_stretches_follow_the_rules_and_an_exception_wins() {
        let p = policy();
        // Monday 2026-12-07.
        let monday = day_stretches(&p, "2026-12-07".parse().unwrap());
        assert_eq!(
            monday,
            vec![
                Stretch {
                    start: 0,
                    end: 390,
                    mode: AccessMode::Public
                },
                Stretch {
                    start: 390,
                    end: 1080,
                    mode: AccessMode::Private
                },
                Stretch {
                    start: 1080,
                    end: 1440,
                    mode: AccessMode::Public
                },
            ]
        );
        // Hour 6 changes at 06:30: mixed; hour 7 private.
        assert_eq!(hour_mode(&monday, 6), None);
        assert_eq!(hour_mode(&monday, 7), Some(AccessMode::Private));
        assert_eq!(hour_mode(&monday, 23), Some(AccessMode::Public));
        // A Sunday: the default all day.
        let sunday = day_stretches(&p, "2026-12-13".parse().unwrap());
        assert_eq!(
            sunday,
            vec![Stretch {
                start: 0,
                end: 1440,
                mode: AccessMode::Public
            }]
        );
        // Christmas Eve, a Thursday: the exception all day.
        let eve = day_stretches(&p, "2026-12-24".parse().unwrap());
        assert_eq!(
            eve,
            vec![Stretch {
                start: 0,
                end: 1440,
                mode: AccessMode::SemiPublic
            }]
        );
    }

    #[test]
    fn the_form_is_the_routes_body_without_its_empty_rows() {
        let form = Form::parse(
            b"default=public&rules%5B0%5D.start=&rules%5B0%5D.end=&rules%5B0%5D.mode=private\
              &rules%5B1%5D.mon=on&rules%5B1%5D.fri=on&rules%5B1%5D.start=06%3A00&rules%5B1%5D.end=18%3A00&rules%5B1%5D.mode=private\
              &exceptions%5B0%5D.from=2026-12-24&exceptions%5B0%5D.to=&exceptions%5B0%5D.mode=public\
              &groups=residents%2C+staff%2C",
        );
        let typed = Editor::typed(&form);
        assert_eq!(typed.rules.len(), 2);
        let (body, rule_rows, exception_rows) = typed.body();
        assert_eq!(
            body,
            json!({"default": "public",
                   "rules": [{"days": ["mon", "fri"], "start": "06:00", "end": "18:00", "mode": "private"}],
                   "exceptions": [{"from": "2026-12-24", "mode": "public"}],
                   "groups": ["residents", "staff"]})
        );
        assert_eq!(rule_rows, vec![1]);
        assert_eq!(exception_rows, vec![0]);
    }

    #[test]
    fn the_parsers_message_names_the_forms_row_and_field() {
        let m = page_message(
            "rules[0].start: \"25:00\" is not HH:MM (00:00 to 24:00)",
            &[1],
            &[],
        );
        assert_eq!(m, "rules[1].start: \"25:00\" is not HH:MM (00:00 to 24:00)");
        assert_eq!(field_of(&m).as_deref(), Some("rules[1].start"));
        let m = page_message(
            "rules[1]: overlaps rules[0] on a day both name",
            &[0, 3],
            &[],
        );
        assert_eq!(m, "rules[3]: overlaps rules[0] on a day both name");
        let m = page_message(
            "invalid JSON body: exceptions[0].from: input contains invalid characters at line 1 column 99",
            &[],
            &[2],
        );
        assert_eq!(m, "exceptions[2].from: input contains invalid characters");
        assert_eq!(field_of(&m).as_deref(), Some("exceptions[2].from"));
        assert_eq!(field_of("groups[3]: too long").as_deref(), Some("groups"));
        assert_eq!(field_of("no field here"), None);
    }
}
