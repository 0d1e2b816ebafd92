//! The operators' bookings calendar,
//! `GET /portal/bookings[?week=YYYY-Www&station=…]`: the organisation's
//! bookings of a week (local time) as a grid of EVSEs down and days
//! across, each booking a block with its times, identifier, the person it
//! is for and its status in words; the previous and next weeks a link
//! away. An operator (`commands`) books an EVSE for a driver's identifier
//! (`POST /portal/bookings`, the use case of
//! `POST /stations/{id}/evses/{evseId}/bookings`: a taken window shows the
//! EVSE's free windows in words) and cancels one
//! (`POST /portal/bookings/{id}/cancel`, the use case of
//! `POST /bookings/{id}/cancel`).

use crate::i18n::{self, Msg, DISPLAY_ZONE};
use crate::layout::{self, badge};
use crate::pages::me_bookings::{status, upcoming};
use crate::web::{audit, caller, encoded, html, local_path, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Weekday};
use csms_api::error::ApiError;
use csms_api::shared::{book_evse, cancel_booking, org_bookings, BookingError, Principal};
use csms_domain::access::local_instant;
use csms_domain::api_key::Scope;
use csms_domain::booking::{Booking, Window};
use csms_domain::tenant::Language;
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use maud::html;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

const PATH: &str = "/portal/bookings";

/// The organisation's bookings are read a page at a time, latest start
/// first, until one starts a day before the week (a booking lasts at most
/// 24 hours); at most this many pages (then the page says some may be
/// missing).
const PAGE: u32 = 200;
const MAX_PAGES: usize = 10;

const WEEKDAYS: [Msg; 7] = [
    Msg::WdMon,
    Msg::WdTue,
    Msg::WdWed,
    Msg::WdThu,
    Msg::WdFri,
    Msg::WdSat,
    Msg::WdSun,
];

/// An ISO week, `2026-W50`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Week {
    pub monday: NaiveDate,
}

impl Week {
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        let wrong = || ApiError::BadRequest(format!("week: {raw:?} is not a week like 2026-W50"));
        let (y, w) = raw.trim().split_once("-W").ok_or_else(wrong)?;
        if w.len() != 2 {
            return Err(wrong());
        }
        let (y, w): (i32, u32) = (
            y.parse().map_err(|_| wrong())?,
            w.parse().map_err(|_| wrong())?,
        );
        if !(2000..=2100).contains(&y) {
            return Err(wrong());
        }
        NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)
            .map(|monday| Week { monday })
            .ok_or_else(wrong)
    }

    pub(crate) fn of(day: NaiveDate) -> Self {
        let monday = day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()));
        Week { monday }
    }

    pub(crate) fn name(self) -> String {
        let iso = self.monday.iso_week();
        format!("{}-W{:02}", iso.year(), iso.week())
    }

    fn day(self, i: i64) -> NaiveDate {
        self.monday + TimeDelta::days(i)
    }

    /// Local midnight of day `i` (0 Monday … 7 the next Monday).
    fn at(self, i: i64) -> Timestamp {
        local_instant(DISPLAY_ZONE, self.day(i).and_time(chrono::NaiveTime::MIN))
    }
}

/// A booking's times on `day`: `08:00–10:00`, or with the date when it
/// starts or ends on another day.
fn times_on(b: &Booking, day: NaiveDate, lang: Language) -> String {
    let local = |t: Timestamp| t.with_timezone(&DISPLAY_ZONE);
    let (s, e) = (local(b.window.start()), local(b.window.end()));
    let hm = |t: chrono::DateTime<chrono_tz::Tz>| format!("{:02}:{:02}", t.hour(), t.minute());
    if s.date_naive() == day && e.date_naive() == day {
        format!("{}–{}", hm(s), hm(e))
    } else {
        format!(
            "{} – {}",
            i18n::datetime(b.window.start(), lang),
            i18n::datetime(b.window.end(), lang)
        )
    }
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

/// The organisation's bookings that overlap `range`, through the use case
/// of `GET /bookings`; `true` when more pages were left unread.
async fn bookings_in(
    st: &PortalState,
    who: &Principal,
    range: &Window,
) -> Result<(Vec<Booking>, bool), ApiError> {
    let before = range.start() - TimeDelta::days(1);
    let mut found = Vec::new();
    let mut page = PageRequest::first(PAGE);
    for _ in 0..MAX_PAGES {
        let listed = org_bookings(&st.api, who, &page).await?;
        let done = listed
            .items
            .last()
            .is_none_or(|b| b.window.start() < before);
        found.extend(
            listed
                .items
                .into_iter()
                .filter(|b| b.window.overlaps(range)),
        );
        match listed.next_cursor {
            Some(cursor) if !done => {
                page = PageRequest {
                    limit: PAGE,
                    cursor: Some(cursor),
                }
            }
            _ => return Ok((found, false)),
        }
    }
    Ok((found, true))
}

/// What a refused booking form shows.
struct Refused<'a> {
    field: Option<&'static str>,
    message: String,
    /// When the window was taken: the EVSE's free windows.
    free: Vec<Window>,
    form: &'a Form,
}

const FIELDS: [&str; 5] = ["stationId", "evseId", "idToken", "start", "end"];

/// The local date and time of a `datetime-local` input as the instant the
/// API takes (RFC 3339, UTC).
pub(crate) fn local_time(field: &str, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{field}: {raw:?} is not a local date and time like 2026-12-07T08:00"
            ))
        })?;
    Ok(local_instant(DISPLAY_ZONE, parsed).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `GET /portal/bookings[?week=&station=&booked=]`.
pub async fn page(
    State(st): State<PortalState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &self_path(&q)).await?;
    let week = match q.get("week").filter(|w| !w.is_empty()) {
        Some(w) => Week::parse(w).or_page(&c)?,
        None => Week::of(st.api.clock.now().with_timezone(&DISPLAY_ZONE).date_naive()),
    };
    let station = q.get("station").filter(|s| !s.is_empty()).cloned();
    let booked = q.contains_key("booked");
    render(&st, &c, week, station, booked, None).await
}

fn self_path(q: &HashMap<String, String>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for k in ["week", "station"] {
        if let Some(v) = q.get(k).filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    let q = s.finish();
    if q.is_empty() {
        PATH.to_owned()
    } else {
        format!("{PATH}?{q}")
    }
}

fn week_link(week: Week, station: Option<&str>) -> String {
    match station {
        Some(s) => format!("{PATH}?week={}&station={}", week.name(), encoded(s)),
        None => format!("{PATH}?week={}", week.name()),
    }
}

async fn render(
    st: &PortalState,
    c: &Caller,
    week: Week,
    station: Option<String>,
    booked: bool,
    refused: Option<Refused<'_>>,
) -> Result<Response, Failure> {
    let who = c.permitted(Scope::Read)?.clone();
    let may_book = c.may(Scope::Commands);
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let now = st.api.clock.now();
    let stations = st
        .api
        .store
        .list_stations(&who.org_id, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await
        .or_page(c)?
        .items;
    let names: HashMap<String, String> = stations
        .iter()
        .map(|v| {
            let id = v.station.id.as_str().to_owned();
            (id.clone(), v.station.name.clone().unwrap_or(id))
        })
        .collect();
    if let Some(s) = &station {
        if !names.contains_key(s) {
            return Err(c.fail(ApiError::NotFound(format!("station {s:?} not found"))));
        }
    }
    let range = Window::range(week.at(0), week.at(7))
        .map_err(|(f, e)| c.fail(ApiError::BadRequest(format!("{f}: {e}"))))?;
    let (bookings, capped) = bookings_in(st, &who, &range).await.or_page(c)?;
    let bookings: Vec<Booking> = bookings
        .into_iter()
        .filter(|b| {
            station
                .as_deref()
                .is_none_or(|s| b.station_id.as_str() == s)
        })
        .collect();
    // The rows: every EVSE the shown stations report, and every booked one.
    let mut rows: BTreeSet<(String, u32)> = BTreeSet::new();
    for v in &stations {
        let id = v.station.id.as_str();
        if station.as_deref().is_some_and(|s| s != id) {
            continue;
        }
        for con in v.connectors_as_shown() {
            rows.insert((id.to_owned(), con.evse_id));
        }
    }
    for b in &bookings {
        rows.insert((b.station_id.as_str().to_owned(), b.evse_id));
    }
    let mut rows: Vec<(String, u32)> = rows.into_iter().collect();
    rows.sort_by(|a, b| (names.get(&a.0), &a.0, a.1).cmp(&(names.get(&b.0), &b.0, b.1)));
    // The people bookings are for, by id.
    let mut people: HashMap<String, String> = HashMap::new();
    for b in &bookings {
        if let Some(u) = &b.user_id {
            if !people.contains_key(u.as_str()) {
                if let Some(user) = st.api.store.get_user(u).await.or_page(c)? {
                    people.insert(u.as_str().to_owned(), user.name);
                }
            }
        }
    }
    let days: Vec<NaiveDate> = (0..7).map(|i| week.day(i)).collect();
    let day_window = |i: usize| Window::stored(week.at(i as i64), week.at(i as i64 + 1));
    let here = self_path(
        &[
            ("week".to_owned(), week.name()),
            ("station".to_owned(), station.clone().unwrap_or_default()),
        ]
        .into_iter()
        .collect(),
    );
    let prev = Week {
        monday: week.monday - TimeDelta::days(7),
    };
    let next = Week {
        monday: week.monday + TimeDelta::days(7),
    };
    let typed = |name: &str, default: &str| -> String {
        refused
            .as_ref()
            .and_then(|r| r.form.get(name))
            .map_or(default.to_owned(), str::to_owned)
    };
    let bad = |name: &str| {
        refused
            .as_ref()
            .filter(|r| r.field == Some(name))
            .map(|r| r.message.clone())
    };
    let body = html! {
        h1 { (t(Msg::CalTitle)) }
        p.hint { (t(Msg::CalHint)) }
        @if booked {
            p role="status" { (t(Msg::CalBooked)) }
        }
        form.filter method="get" action=(PATH) {
            input type="hidden" name="week" value=(week.name());
            div {
                label for="f-station" { (t(Msg::Station)) }
                select #f-station name="station" {
                    option value="" { (t(Msg::CalAllStations)) }
                    @for v in &stations {
                        @let id = v.station.id.as_str();
                        option value=(id) selected[station.as_deref() == Some(id)] { (names[id]) }
                    }
                }
            }
            button type="submit" { (t(Msg::Filter)) }
        }
        nav.weeks aria-label=(t(Msg::CalWeeks)) {
            a href=(week_link(prev, station.as_deref())) rel="prev" { "← " (t(Msg::CalPrevWeek)) }
            strong { (Msg::CalWeek.text(lang).replacen("{}", &week.monday.iso_week().week().to_string(), 1)
                .replacen("{}", &short_date(days[0], lang), 1).replacen("{}", &short_date(days[6], lang), 1)) }
            a href=(week_link(next, station.as_deref())) rel="next" { (t(Msg::CalNextWeek)) " →" }
        }
        @if capped {
            p.hint { (t(Msg::CalCapped)) }
        }
        @if rows.is_empty() {
            p.empty { (t(Msg::CalNone)) }
        } @else {
            div.cal-wrap {
                table #calendar.calendar {
                    caption.visually-hidden { (t(Msg::CalTitle)) }
                    thead { tr {
                        th scope="col" { (t(Msg::CalPoint)) }
                        @for (i, d) in days.iter().enumerate() {
                            th scope="col" { (t(WEEKDAYS[i])) " " (short_date(*d, lang)) }
                        }
                    } }
                    tbody {
                        @for (sid, evse) in &rows {
                            tr data-station=(sid) data-evse=(evse) {
                                th scope="row" {
                                    (names.get(sid).map_or(sid.as_str(), String::as_str))
                                    br;
                                    span.muted { (Msg::AcEvseN.text(lang).replace("{}", &evse.to_string())) }
                                }
                                @for (i, d) in days.iter().enumerate() {
                                    @let day_label = format!("{} {}", t(WEEKDAYS[i]), short_date(*d, lang));
                                    td data-label=(day_label) {
                                        @let here_now: Vec<&Booking> = bookings.iter()
                                            .filter(|b| b.station_id.as_str() == sid && b.evse_id == *evse)
                                            .filter(|b| day_window(i).is_some_and(|w| b.window.overlaps(&w)))
                                            .collect();
                                        @for b in here_now {
                                            @let (class, text) = status(b.status);
                                            div class={"booking " (class)} data-booking=(b.id.as_str()) {
                                                span.when { (times_on(b, *d, lang)) }
                                                " "
                                                code { (b.token.as_str()) }
                                                @if let Some(name) = b.user_id.as_ref().and_then(|u| people.get(u.as_str())) {
                                                    " " span.person { (name) }
                                                }
                                                " " (badge(class, t(text)))
                                                @if may_book && upcoming(b, now) {
                                                    form.inline method="post" action=(format!("{PATH}/{}/cancel", encoded(b.id.as_str()))) {
                                                        input type="hidden" name="csrf" value=(c.session.csrf_token);
                                                        input type="hidden" name="back" value=(here);
                                                        button.secondary type="submit" {
                                                            (t(Msg::BkCancel))
                                                            span.visually-hidden {
                                                                " " (Msg::BkCancelOf.text(lang)
                                                                    .replacen("{}", names.get(sid).map_or(sid.as_str(), String::as_str), 1)
                                                                    .replacen("{}", &i18n::datetime(b.window.start(), lang), 1))
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
                }
            }
        }
        @if may_book && !stations.is_empty() {
            h2 #book { (t(Msg::CalBook)) }
            p.hint { (t(Msg::CalBookHint)) }
            @if let Some(r) = &refused {
                div.error #book-error role="alert" {
                    p { (r.message) }
                    @if !r.free.is_empty() {
                        p { (t(Msg::CalFree)) }
                        ul {
                            @for w in &r.free {
                                li { (Msg::CalFreeWindow.text(lang)
                                    .replacen("{}", &i18n::datetime(w.start(), lang), 1)
                                    .replacen("{}", &i18n::datetime(w.end(), lang), 1)) }
                            }
                        }
                    }
                }
            }
            form #book-form method="post" action=(PATH) novalidate {
                input type="hidden" name="csrf" value=(c.session.csrf_token);
                input type="hidden" name="week" value=(week.name());
                input type="hidden" name="station" value=(station.clone().unwrap_or_default());
                @let chosen = typed("stationId", station.as_deref().unwrap_or(""));
                label for="f-stationId" { (t(Msg::Station)) }
                select #f-stationId name="stationId" {
                    @for v in &stations {
                        @let id = v.station.id.as_str();
                        option value=(id) selected[chosen == id] { (names[id]) }
                    }
                }
                @for (name, label, kind, mode) in [
                    ("evseId", t(Msg::Evse), "text", "numeric"),
                    ("idToken", t(Msg::CalIdentifier), "text", "text"),
                    ("start", t(Msg::BkFrom), "datetime-local", "text"),
                    ("end", t(Msg::BkTo), "datetime-local", "text"),
                ] {
                    @let id = format!("f-{name}");
                    @let value = typed(name, if name == "evseId" { "1" } else { "" });
                    label for=(id) { (label) }
                    @if let Some(m) = bad(name) {
                        input id=(id) name=(name) type=(kind) inputmode=(mode) value=(value) autocomplete="off" aria-invalid="true" aria-describedby={"e-" (id)};
                        p.field-error id={"e-" (id)} { (m) }
                    } @else {
                        input id=(id) name=(name) type=(kind) inputmode=(mode) value=(value) autocomplete="off";
                    }
                }
                div.actions { button type="submit" { (t(Msg::CalBookButton)) } }
            }
        }
    };
    let status = match &refused {
        Some(r) if r.field.is_none() => StatusCode::CONFLICT,
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(html(
        status,
        layout::page(&c.frame(&here), t(Msg::CalTitle), body),
    ))
}

/// The field of the booking form an error of the API's parser names.
fn field_of(message: &str) -> Option<&'static str> {
    let head = message
        .strip_prefix("invalid JSON body: ")
        .unwrap_or(message)
        .split_once(':')?
        .0;
    match head {
        "id" => Some("stationId"),
        _ => FIELDS.iter().find(|f| **f == head).copied(),
    }
}

/// `POST /portal/bookings`: `stationId`, `evseId`, `idToken`, `start` and
/// `end` (local date and time), and the calendar's `week` and `station` to
/// come back to.
pub async fn book(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Commands)?.clone();
    let station_filter = form
        .get("station")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let week = match form.get("week").filter(|w| !w.is_empty()) {
        Some(w) => Week::parse(w).or_page(&c)?,
        None => Week::of(st.api.clock.now().with_timezone(&DISPLAY_ZONE).date_naive()),
    };
    let refuse = |field: Option<&'static str>, message: String, free: Vec<Window>| Refused {
        field,
        message,
        free,
        form: &form,
    };
    let get = |k: &str| form.get(k).unwrap_or("").trim().to_owned();
    let times =
        local_time("start", &get("start")).and_then(|s| Ok((s, local_time("end", &get("end"))?)));
    let (start, end) = match times {
        Ok(t) => t,
        Err(ApiError::BadRequest(m)) => {
            let r = refuse(field_of(&m), m, vec![]);
            return render(&st, &c, week, station_filter, false, Some(r)).await;
        }
        Err(e) => return Err(c.fail(e)),
    };
    let station = get("stationId");
    let request = json!({"idToken": get("idToken"), "start": start, "end": end});
    let bytes = serde_json::to_vec(&request).expect("JSON serialises");
    match book_evse(&st.api, &who, &station, &get("evseId"), &bytes).await {
        Ok(Ok(b)) => {
            let path = format!(
                "/portal/stations/{}/evses/{}/bookings",
                encoded(&station),
                b.evse_id
            );
            audit(&st, &who, "POST /portal/bookings", &path, &form).await;
            let at = Week::of(b.window.start().with_timezone(&DISPLAY_ZONE).date_naive());
            let mut to = week_link(at, station_filter.as_deref());
            to.push_str("&booked=1");
            Ok(Redirect::to(&to).into_response())
        }
        Ok(Err(BookingError::Taken { free, .. })) => {
            // The API's message gives the other booking's window in UTC: the
            // page says it in words, with the free windows in local time.
            let r = refuse(None, Msg::CalTaken.text(c.lang).to_owned(), free);
            render(&st, &c, week, station_filter, false, Some(r)).await
        }
        Ok(Err(BookingError::Registry(e))) => match ApiError::from(e) {
            ApiError::BadRequest(m) => {
                let r = refuse(field_of(&m), m, vec![]);
                render(&st, &c, week, station_filter, false, Some(r)).await
            }
            other => Err(c.fail(other)),
        },
        Err(ApiError::BadRequest(m)) => {
            let r = refuse(field_of(&m), m, vec![]);
            render(&st, &c, week, station_filter, false, Some(r)).await
        }
        Err(e) => Err(c.fail(e)),
    }
}

/// `POST /portal/bookings/{id}/cancel`: through the API's use case (a
/// reservation the station holds is cancelled there too); back to the
/// calendar's `back`.
pub async fn cancel(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Commands)?.clone();
    cancel_booking(&st.api, &who, &id).await.or_page(&c)?;
    let path = format!("{PATH}/{}/cancel", encoded(&id));
    audit(&st, &who, "POST /portal/bookings/{id}/cancel", &path, &form).await;
    let back = local_path(form.get("back"));
    let back = if back.starts_with(PATH) {
        back
    } else {
        PATH.to_owned()
    };
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_iso_weeks() {
        let w = Week::parse("2026-W50").unwrap();
        assert_eq!(w.monday, "2026-12-07".parse::<NaiveDate>().unwrap());
        assert_eq!(w.name(), "2026-W50");
        // Week 1 of 2027 starts in 2027 (4 January).
        assert_eq!(
            Week::parse("2027-W01").unwrap().monday.to_string(),
            "2027-01-04"
        );
        assert_eq!(Week::of("2026-12-13".parse().unwrap()), w);
        for bad in [
            "2026-50",
            "2026-W54",
            "2026-W",
            "x-W1",
            "2026-W050",
            "1999-W01",
        ] {
            let e = Week::parse(bad).unwrap_err();
            assert!(
                matches!(&e, ApiError::BadRequest(m) if m.starts_with("week: ")),
                "{bad}: {e:?}"
            );
        }
        // Local midnights: 7 December 00:00 in Stockholm is 23:00 UTC the day before.
        assert_eq!(w.at(0).to_rfc3339(), "2026-12-06T23:00:00+00:00");
    }

    #[test]
    fn a_local_time_is_sent_as_utc_and_a_bad_one_names_its_field() {
        assert_eq!(
            local_time("start", "2026-12-07T08:00").unwrap(),
            "2026-12-07T07:00:00Z"
        );
        assert_eq!(
            local_time("end", "2026-07-01T08:00").unwrap(),
            "2026-07-01T06:00:00Z"
        );
        let e = local_time("end", "tomorrow").unwrap_err();
        assert!(matches!(&e, ApiError::BadRequest(m) if m.starts_with("end: ")));
        assert_eq!(field_of("end: \"x\" is not a local date"), Some("end"));
        assert_eq!(
            field_of("invalid JSON body: idToken: too long"),
            Some("idToken")
        );
        assert_eq!(field_of("the window overlaps a booking"), None);
    }
}
