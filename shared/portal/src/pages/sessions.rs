//! The organisation's sessions. `GET /portal/sessions`: newest first,
//! filtered by a GET form (station, running or ended, from and to dates
//! in local time, identifier), a page at a time with a link to older ones;
//! `GET /portal/sessions/export` downloads the same selection as CSV.
//! `GET /portal/sessions/{id}`: one session with its meter curve (power, or
//! energy when the charger sends no power) and its itemised price.
//!
//! Everything is read through the API's own use cases
//! (`csms_api::shared::{session_search, list_sessions, export_sessions,
//! meter_readings, session_price}`, what `GET /sessions`,
//! `/sessions/export`, `/sessions/{id}/meter-values` and `…/price` call),
//! with their permission (the `read` scope: a driver is refused) and owner
//! check (another organisation's session is not found). The form's dates
//! are the page's own: a day in [`DISPLAY_ZONE`] becomes the API's
//! `from`/`to` times, the `to` day included.

use crate::chart::{self, Chart, Point};
use crate::i18n::{self, Msg, DISPLAY_ZONE};
use crate::layout::{self, badge};
use crate::live::{moment_total, with_prices};
use crate::sessions_table::{self, session_path, Columns};
use crate::web::{caller, encoded, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{NaiveDate, SecondsFormat, TimeZone, Utc};
use csms_api::error::ApiError;
use csms_api::shared::{
    export_sessions, list_sessions, meter_readings, session_price, session_search,
};
use csms_domain::api_key::Scope;
use csms_domain::meter::MeterReading;
use csms_domain::pricing::{LineKind, PricedSession};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::Language;
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

const PATH: &str = "/portal/sessions";
/// Sessions on one page.
const PAGE_SIZE: u32 = 50;
/// Stations offered in the form's list.
const STATIONS_LISTED: u32 = PageRequest::MAX_LIMIT;

/// The form's filter as the person wrote it (empty: not filtered).
#[derive(Debug, Default, PartialEq)]
struct Filter {
    station: String,
    status: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    id_token: String,
}

fn date(q: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name}: a date like 2026-12-07"))),
    }
}

/// The filter of the page's query; a date that is not one, or a `to`
/// before `from`, is a 400 naming the field (the rest the API's parser
/// checks, and names, in [`api_params`]).
fn filter(q: &HashMap<String, String>) -> Result<Filter, ApiError> {
    let text = |name: &str| q.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let f = Filter {
        station: text("stationId"),
        status: text("status"),
        from: date(q, "from")?,
        to: date(q, "to")?,
        id_token: text("idToken"),
    };
    if let (Some(from), Some(to)) = (f.from, f.to) {
        if to < from {
            return Err(ApiError::BadRequest("to: must not be before from".into()));
        }
    }
    Ok(f)
}

/// The start of day `d` in the display zone as an RFC 3339 time (the first
/// moment that exists, should a clock change skip midnight).
fn day_start(d: NaiveDate, field: &str) -> Result<String, ApiError> {
    DISPLAY_ZONE
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .or_else(|| {
            // A skipped midnight: the day starts an hour later.
            DISPLAY_ZONE
                .from_local_datetime(&d.and_hms_opt(1, 0, 0)?)
                .earliest()
        })
        .map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        })
        .ok_or_else(|| ApiError::BadRequest(format!("{field}: not a day in the calendar")))
}

/// The filter as the API's parameters (`GET /sessions`' names): the `to`
/// day is included, so the API's `to` is the next day's start.
fn api_params(f: &Filter) -> Result<HashMap<String, String>, ApiError> {
    let mut p = HashMap::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            p.insert(k.to_owned(), v.to_owned());
        }
    };
    put("stationId", &f.station);
    put("status", &f.status);
    put("idToken", &f.id_token);
    if let Some(from) = f.from {
        p.insert("from".into(), day_start(from, "from")?);
    }
    if let Some(to) = f.to {
        let next = to
            .succ_opt()
            .ok_or_else(|| ApiError::BadRequest("to: too far in the future".into()))?;
        p.insert("to".into(), day_start(next, "to")?);
    }
    Ok(p)
}

/// The filter as a query string for links (the export, older sessions).
fn query_string(f: &Filter) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("stationId", f.station.clone()),
        ("status", f.status.clone()),
        ("from", f.from.map(|d| d.to_string()).unwrap_or_default()),
        ("to", f.to.map(|d| d.to_string()).unwrap_or_default()),
        ("idToken", f.id_token.clone()),
    ] {
        if !v.is_empty() {
            q.append_pair(k, &v);
        }
    }
    q.finish()
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The page's path with its query, to come back to after signing in or
/// switching the language.
fn this_path(raw: Option<String>) -> String {
    with_query(PATH, raw.as_deref().unwrap_or(""))
}

/// `GET /portal/sessions?stationId=&status=&from=&to=&idToken=&cursor=`.
pub async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let path = this_path(raw);
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let f = filter(&q).map_err(|e| c.fail(e))?;
    let mut params = api_params(&f).map_err(|e| c.fail(e))?;
    params.insert("limit".into(), PAGE_SIZE.to_string());
    if let Some(cursor) = q.get("cursor").filter(|v| !v.is_empty()) {
        params.insert("cursor".into(), cursor.clone());
    }
    let search = session_search(&params, who).map_err(|e| c.fail(e))?;
    let found = list_sessions(&st.api, &search).await.or_page(&c)?;
    let store = &*st.api.store;
    let rows = with_prices(store, found.items).await.or_page(&c)?;
    let stations = store
        .list_stations(&who.org_id, &PageRequest::first(STATIONS_LISTED))
        .await
        .or_page(&c)?
        .items;
    let filter_query = query_string(&f);
    let older = found.next_cursor.map(|cursor| {
        let mut q = url::form_urlencoded::Serializer::new(filter_query.clone());
        q.append_pair("cursor", &cursor);
        format!("{PATH}?{}", q.finish())
    });
    let status_options = [
        ("", Msg::SessionsAnyStatus),
        ("active", Msg::SessionsRunning),
        ("completed", Msg::SessionsEnded),
    ];
    let body = html! {
        h1 { (t(Msg::SessionsTitle)) }
        form.filter method="get" action=(PATH) role="search" aria-label=(t(Msg::SessionsFilter)) {
            div {
                label for="stationId" { (t(Msg::Station)) }
                select #stationId name="stationId" {
                    option value="" { (t(Msg::SessionsAllStations)) }
                    @for v in &stations {
                        @let id = v.station.id.as_str();
                        option value=(id) selected[f.station == id] {
                            (v.station.name.as_deref().unwrap_or(id))
                        }
                    }
                }
            }
            div {
                label for="status" { (t(Msg::Status)) }
                select #status name="status" {
                    @for (value, label) in status_options {
                        option value=(value) selected[f.status == value] { (t(label)) }
                    }
                }
            }
            div {
                label for="from" { (t(Msg::SessionsFrom)) }
                input #from type="date" name="from" value=(f.from.map(|d| d.to_string()).unwrap_or_default());
            }
            div {
                label for="to" { (t(Msg::SessionsTo)) }
                input #to type="date" name="to" value=(f.to.map(|d| d.to_string()).unwrap_or_default());
            }
            div {
                label for="idToken" { (t(Msg::Identifier)) }
                input #idToken name="idToken" maxlength="255" value=(f.id_token);
            }
            button type="submit" { (t(Msg::Filter)) }
        }
        p {
            a href=(with_query(&format!("{PATH}/export"), &filter_query)) download { (t(Msg::SessionsCsv)) }
        }
        (sessions_table::table(lang, &rows, Columns { station: true, identifier: true, link: true }))
        @if let Some(older) = older {
            nav aria-label=(t(Msg::SessionsPages)) {
                p { a href=(older) rel="next" { (t(Msg::SessionsOlder)) } }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), t(Msg::SessionsTitle), body),
    ))
}

/// `GET /portal/sessions/export?…`: the page's selection as the API's CSV
/// export (the same code as `GET /sessions/export`), streamed.
pub async fn export(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &this_path(raw)).await?;
    let who = c.permitted(Scope::Read)?;
    let f = filter(&q).map_err(|e| c.fail(e))?;
    let mut params = api_params(&f).map_err(|e| c.fail(e))?;
    params.insert("format".into(), "csv".into());
    let mut resp = export_sessions(st.api.clone(), who, &params)
        .await
        .or_page(&c)?;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// What the session's chart shows.
#[derive(Debug, PartialEq)]
enum Curve {
    /// `Power.Active.Import` in W at each time.
    Power(Vec<(Timestamp, Decimal)>),
    /// Energy delivered since the first register reading, in Wh.
    Energy(Vec<(Timestamp, Decimal)>),
}

/// A measurand's value at each of its times (phases summed when there is
/// no total; readings of the EV or a cable left out, only the outlet's).
fn series(readings: &[MeterReading], measurand: &str, kilo: &str) -> Vec<(Timestamp, Decimal)> {
    let mut at: BTreeMap<Timestamp, Vec<&MeterReading>> = BTreeMap::new();
    for r in readings.iter().filter(|r| {
        r.measurand == measurand
            && r.location.as_deref().is_none_or(|l| l == "Outlet")
            && r.phase.as_deref() != Some("N")
    }) {
        at.entry(r.timestamp).or_default().push(r);
    }
    at.into_iter()
        .filter_map(|(t, rs)| moment_total(&rs, kilo).map(|v| (t, v)))
        .collect()
}

/// Power when the charger sends it; otherwise the energy register, as the
/// energy delivered since its first reading; `None` with neither.
fn curve(readings: &[MeterReading]) -> Option<Curve> {
    let power = series(readings, "Power.Active.Import", "kW");
    if !power.is_empty() {
        return Some(Curve::Power(power));
    }
    let energy = series(readings, "Energy.Active.Import.Register", "kWh");
    let first = energy.first()?.1;
    Some(Curve::Energy(
        energy
            .into_iter()
            .map(|(t, v)| (t, v.checked_sub(first).unwrap_or_default()))
            .collect(),
    ))
}

/// The chart's points in kW or kWh, labelled with the local time (and
/// the day when the session spans more than one).
fn points(values: &[(Timestamp, Decimal)]) -> Vec<Point> {
    let local = |t: &Timestamp| t.with_timezone(&DISPLAY_ZONE);
    let one_day = match (values.first(), values.last()) {
        (Some((a, _)), Some((b, _))) => local(a).date_naive() == local(b).date_naive(),
        _ => true,
    };
    let fmt = if one_day { "%H:%M" } else { "%m-%d %H:%M" };
    values
        .iter()
        .map(|(t, v)| Point {
            label: local(t).format(fmt).to_string(),
            value: v / Decimal::ONE_THOUSAND,
        })
        .collect()
}

fn kind_text(k: LineKind, lang: Language) -> &'static str {
    match k {
        LineKind::Energy => Msg::SessPriceEnergy.text(lang),
        LineKind::Time => Msg::SessPriceTime.text(lang),
        LineKind::SessionFee => Msg::SessPriceFee.text(lang),
        LineKind::Idle => Msg::SessPriceIdle.text(lang),
        LineKind::MinimumPriceAdjustment => Msg::SessPriceMinimum.text(lang),
        LineKind::MaximumPriceAdjustment => Msg::SessPriceMaximum.text(lang),
    }
}

/// A line's unit as the page says it ("kWh", "min", "h" are the same in
/// both languages).
fn unit_text(unit: &str, lang: Language) -> &str {
    match unit {
        "session" => Msg::SessPriceUnitSession.text(lang),
        other => other,
    }
}

/// Decimals a unit price needs: at least two, at most four (spot prices
/// come in öre with decimals).
fn price_decimals(p: Decimal) -> u32 {
    p.round_dp(4).normalize().scale().clamp(2, 4)
}

/// A time of day, or the date and time when `t` is on another day than
/// `day`.
fn time_on(t: Timestamp, day: Timestamp, lang: Language) -> String {
    let local = t.with_timezone(&DISPLAY_ZONE);
    if local.date_naive() == day.with_timezone(&DISPLAY_ZONE).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        i18n::datetime(t, lang)
    }
}

fn price_section(s: &Session, price: Option<&PricedSession>, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        section aria-labelledby="price" {
            h2 #price { (t(Msg::SessionPrice)) }
            @match price {
                None => {
                    p.empty role="status" {
                        @if s.status == SessionStatus::Active { (t(Msg::SessPriceWhenEnded)) }
                        @else { (t(Msg::SessPriceMissing)) }
                    }
                }
                Some(p) => {
                    p { (t(Msg::SessPriceTariff)) ": " strong { (p.tariff_name) } }
                    table #price-lines {
                        thead { tr {
                            th scope="col" { (t(Msg::SessPriceLine)) }
                            th scope="col" { (t(Msg::SessPricePeriod)) }
                            th scope="col" { (t(Msg::SessPriceQuantity)) }
                            th scope="col" { (t(Msg::SessPriceUnitPrice)) }
                            th scope="col" { (t(Msg::SessPriceNet)) }
                        } }
                        tbody {
                            @for l in &p.lines {
                                tr {
                                    td data-label=(t(Msg::SessPriceLine)) { (kind_text(l.kind, lang)) }
                                    td.num data-label=(t(Msg::SessPricePeriod)) {
                                        (i18n::datetime(l.start, lang)) "–" (time_on(l.end, l.start, lang))
                                    }
                                    td.num data-label=(t(Msg::SessPriceQuantity)) {
                                        (i18n::number(l.quantity, 2, lang)) " " (unit_text(&l.unit, lang))
                                    }
                                    td.num data-label=(t(Msg::SessPriceUnitPrice)) {
                                        (i18n::money_dp(l.unit_price, &p.currency, price_decimals(l.unit_price), lang))
                                    }
                                    td.num data-label=(t(Msg::SessPriceNet)) { (i18n::money(l.net, &p.currency, lang)) }
                                }
                            }
                        }
                        tfoot {
                            tr {
                                th scope="row" colspan="4" { (t(Msg::SessPriceNetTotal)) }
                                td.num { (i18n::money(p.net, &p.currency, lang)) }
                            }
                            tr {
                                th scope="row" colspan="4" {
                                    (t(Msg::SessPriceVat)) " " (i18n::number(p.vat_rate * Decimal::ONE_HUNDRED, 0, lang)) " %"
                                }
                                td.num { (i18n::money(p.vat, &p.currency, lang)) }
                            }
                            tr {
                                th scope="row" colspan="4" { (t(Msg::SessPriceGross)) }
                                td.num { strong { (i18n::money(p.gross, &p.currency, lang)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn chart_section(readings: &[MeterReading], lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let (title, unit, values) = match curve(readings) {
        Some(Curve::Power(v)) => (t(Msg::SessionPowerCurve), "kW", v),
        Some(Curve::Energy(v)) => (t(Msg::SessionEnergyCurve), "kWh", v),
        None => (t(Msg::SessionPowerCurve), "kW", vec![]),
    };
    let chart = Chart {
        id: "meter-curve",
        title,
        unit,
        decimals: 2,
        label_heading: t(Msg::SessionTime),
        lang,
    };
    html! {
        section aria-labelledby="curve" {
            h2 #curve { (t(Msg::SessionCurve)) }
            (chart::line(&chart, &points(&values)))
        }
    }
}

/// `GET /portal/sessions/{id}`.
pub async fn session(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let path = session_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let (s, readings) = meter_readings(&st.api, who, &id).await.or_page(&c)?;
    let (_, price) = session_price(&st.api, who, &id).await.or_page(&c)?;
    let energy = price
        .as_ref()
        .map(|p| p.energy_wh)
        .or_else(|| s.energy_wh());
    let title = Msg::SessionTitle
        .text(lang)
        .replace("{}", s.station_id.as_str());
    let body = html! {
        h1 { (title) }
        section aria-labelledby="details" {
            h2 #details { (t(Msg::Details)) }
            (facts(&c, &s, energy))
        }
        (chart_section(&readings, lang))
        (price_section(&s, price.as_ref(), lang))
        p { a href=(PATH) { (t(Msg::SessionsBack)) } }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), &title, body),
    ))
}

fn facts(c: &Caller, s: &Session, energy: Option<Decimal>) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let when = |at: Option<Timestamp>| {
        at.map_or_else(|| t(Msg::Unknown).to_owned(), |a| i18n::datetime(a, lang))
    };
    html! {
        dl.facts.card {
            dt { (t(Msg::Station)) }
            dd { a href={"/portal/stations/" (encoded(s.station_id.as_str()))} { (s.station_id.as_str()) } }
            dt { (t(Msg::Evse)) }
            dd.num { (sessions_table::evse(s)) }
            dt { (t(Msg::Identifier)) }
            dd { @match &s.id_token { Some(tok) => code { (tok) }, None => "–" } }
            dt { (t(Msg::Status)) }
            dd {
                @match s.status {
                    SessionStatus::Active => (badge("s-busy", t(Msg::SessionsRunning))),
                    SessionStatus::Completed => (badge("s-ok", t(Msg::SessionsEnded))),
                }
            }
            dt { (t(Msg::Started)) } dd.num { (when(s.started_at)) }
            dt { (t(Msg::Ended)) } dd.num {
                @if s.status == SessionStatus::Active { "–" } @else { (when(s.ended_at)) }
            }
            dt { (t(Msg::Energy)) } dd.num {
                @match energy { Some(wh) => (i18n::kwh(wh, lang)), None => "–" }
            }
            @if let Some(reason) = &s.stop_reason {
                dt { (t(Msg::SessionStopReason)) } dd { (reason) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn reading(
        at: &str,
        measurand: &str,
        phase: Option<&str>,
        value: &str,
        unit: &str,
    ) -> MeterReading {
        MeterReading {
            timestamp: at.parse().unwrap(),
            measurand: measurand.into(),
            phase: phase.map(str::to_owned),
            location: None,
            context: None,
            value: d(value),
            unit: unit.into(),
        }
    }

    #[test]
    fn the_form_days_become_the_apis_times_in_local_time_with_the_to_day_included() {
        let f = filter(&q(&[
            ("from", "2026-12-01"),
            ("to", "2026-12-07"),
            ("status", "active"),
            ("stationId", " CP-1 "),
            ("idToken", ""),
        ]))
        .unwrap();
        let p = api_params(&f).unwrap();
        // Stockholm is UTC+1 in December.
        assert_eq!(p["from"], "2026-11-30T23:00:00Z");
        assert_eq!(p["to"], "2026-12-07T23:00:00Z");
        assert_eq!(p["status"], "active");
        assert_eq!(p["stationId"], "CP-1");
        assert!(!p.contains_key("idToken"));
        // Summer: UTC+2.
        let f = filter(&q(&[("from", "2026-07-01")])).unwrap();
        assert_eq!(api_params(&f).unwrap()["from"], "2026-06-30T22:00:00Z");
        assert_eq!(
            query_string(&f),
            "from=2026-07-01",
            "links carry only what is set"
        );
    }

    #[test]
    fn a_bad_date_or_a_reversed_range_names_its_field() {
        let msg = |r: Result<Filter, ApiError>| match r {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(msg(filter(&q(&[("from", "1 dec")]))).starts_with("from:"));
        assert!(msg(filter(&q(&[("to", "2026-02-30")]))).starts_with("to:"));
        assert!(
            msg(filter(&q(&[("from", "2026-12-07"), ("to", "2026-12-01")]))).starts_with("to:")
        );
        assert_eq!(filter(&q(&[])).unwrap(), Filter::default());
    }

    #[test]
    fn the_curve_is_power_summed_over_phases_or_else_energy_since_the_start() {
        let readings = vec![
            reading(
                "2026-12-07T10:00:00Z",
                "Energy.Active.Import.Register",
                None,
                "1000",
                "Wh",
            ),
            reading(
                "2026-12-07T10:00:00Z",
                "Power.Active.Import",
                Some("L1"),
                "3600",
                "W",
            ),
            reading(
                "2026-12-07T10:00:00Z",
                "Power.Active.Import",
                Some("L2"),
                "3700",
                "W",
            ),
            reading(
                "2026-12-07T10:05:00Z",
                "Power.Active.Import",
                None,
                "11",
                "kW",
            ),
            reading(
                "2026-12-07T10:05:00Z",
                "Power.Active.Import",
                Some("L1"),
                "3",
                "kW",
            ),
        ];
        assert_eq!(
            curve(&readings),
            Some(Curve::Power(vec![
                ("2026-12-07T10:00:00Z".parse().unwrap(), d("7300")),
                ("2026-12-07T10:05:00Z".parse().unwrap(), d("11000")),
            ]))
        );
        let energy = vec![
            reading(
                "2026-12-07T10:05:00Z",
                "Energy.Active.Import.Register",
                None,
                "3.5",
                "kWh",
            ),
            reading(
                "2026-12-07T10:00:00Z",
                "Energy.Active.Import.Register",
                None,
                "1000",
                "Wh",
            ),
            reading("2026-12-07T10:00:00Z", "SoC", None, "40", "Percent"),
        ];
        let Some(Curve::Energy(v)) = curve(&energy) else {
            panic!("energy expected")
        };
        assert_eq!(
            v.iter().map(|(_, w)| *w).collect::<Vec<_>>(),
            vec![d("0"), d("2500")]
        );
        let pts = points(&v);
        // 10:00 UTC is 11:00 in Stockholm in December.
        assert_eq!(pts[0].label, "11:00");
        assert_eq!(pts[1].value, d("2.5"));
        assert_eq!(curve(&[]), None);
    }

    #[test]
    fn a_unit_price_keeps_up_to_four_decimals() {
        assert_eq!(price_decimals(d("2.5")), 2);
        assert_eq!(price_decimals(d("0.4567")), 4);
        assert_eq!(price_decimals(d("0.123456")), 4);
        assert_eq!(
            i18n::money_dp(
                d("0.4567"),
                "SEK",
                price_decimals(d("0.4567")),
                Language::Sv
            ),
            "0,4567 kr"
        );
    }
}
