//! The organisation's reports, `GET /portal/reports`: a month's usage
//! (`period=YYYY-MM`, last month by default) of all its sites or one
//! (`siteId`), grouped by site, station, charging point or month
//! (`groupBy`) — the totals against the previous period with the change,
//! bar charts of energy and revenue per group, the occupancy by hour of the
//! week as a table, and the drivers' average rating per station. The CSV
//! and XLSX of the same query are `/portal/reports/usage.csv` and `.xlsx`.
//!
//! Everything is the API's `GET /reports/usage`: its query parsing (a bad
//! parameter is the page's 400 naming it, another organisation's site a
//! 404), its report and its files (`csms_api::shared::usage_request`,
//! `usage_report`, `usage_file`); the page only formats the figures. For
//! the roles that read the organisation (the API's `read` scope).

use crate::chart::{self, Chart, Point};
use crate::i18n::{self, Msg};
use crate::layout;
use crate::web::{caller, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::shared::{usage_file, usage_report, usage_request, Principal, UsageFile};
use csms_domain::api_key::Scope;
use csms_domain::billing::period::Period;
use csms_domain::tenant::Language;
use csms_domain::tenant::Site;
use csms_domain::{SiteId, StationId};
use csms_kernel::ports::{PageRequest, RatedPlace};
use csms_reports::compute::{Amounts, Change, Figures, GroupBy, HourOfWeek, RowKey};
use csms_reports::{ReportRequest, UsageReport};
use maud::{html, Markup};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// The query parameters the page passes on to the report (the API's
/// names); any other is dropped, so a download link repeats only these.
const KEPT: [&str; 6] = ["period", "from", "to", "groupBy", "siteId", "stationId"];

/// The groupings the form offers, in its order.
const GROUPINGS: [(GroupBy, Msg); 4] = [
    (GroupBy::Station, Msg::RepByStation),
    (GroupBy::Site, Msg::RepBySite),
    (GroupBy::Evse, Msg::RepByEvse),
    (GroupBy::Month, Msg::RepByMonth),
];

/// At most this many stations' ratings (one read each).
const MAX_RATED: usize = 200;

/// The report's query from the page's: the kept parameters that are not
/// empty (a form's "all sites" is empty), and last month when no period
/// or dates are given.
fn query(raw: HashMap<String, String>, last_month: Option<Period>) -> BTreeMap<String, String> {
    let mut q: BTreeMap<String, String> = raw
        .into_iter()
        .filter(|(k, v)| KEPT.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
    if !["period", "from", "to"].iter().any(|k| q.contains_key(*k)) {
        if let Some(p) = last_month {
            q.insert("period".into(), p.to_string());
        }
    }
    q
}

fn encode(q: &BTreeMap<String, String>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.iter())
        .finish()
}

/// The caller with the `read` scope and the report of the query.
async fn report(
    st: &PortalState,
    headers: &HeaderMap,
    path: &str,
    raw: HashMap<String, String>,
) -> Result<(Caller, BTreeMap<String, String>, ReportRequest, UsageReport), Failure> {
    let c = caller(st, headers, path).await?;
    let who = c.permitted(Scope::Read)?.clone();
    let last_month = Period::of(st.api.billing.today()).and_then(Period::previous);
    let q = query(raw, last_month);
    let params: HashMap<String, String> = q.clone().into_iter().collect();
    let req = usage_request(&st.api, &who, &params).await.or_page(&c)?;
    let r = usage_report(&st.api, &who, &req).await.or_page(&c)?;
    Ok((c, q, req, r))
}

/// `GET /portal/reports/usage.csv`: the API's CSV of the same query.
pub async fn csv(
    State(st): State<PortalState>,
    Query(raw): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    download(
        st,
        raw,
        headers,
        "/portal/reports/usage.csv",
        UsageFile::Csv,
    )
    .await
}

/// `GET /portal/reports/usage.xlsx`: the API's XLSX of the same query.
pub async fn xlsx(
    State(st): State<PortalState>,
    Query(raw): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    download(
        st,
        raw,
        headers,
        "/portal/reports/usage.xlsx",
        UsageFile::Xlsx,
    )
    .await
}

async fn download(
    st: PortalState,
    raw: HashMap<String, String>,
    headers: HeaderMap,
    path: &str,
    file: UsageFile,
) -> Result<Response, Failure> {
    let (c, _, req, r) = report(&st, &headers, path, raw).await?;
    let who = c.permitted(Scope::Read)?;
    usage_file(&st.api, who, &req, r, file).await.or_page(&c)
}

/// The organisation's sites, by name.
async fn sites(
    st: &PortalState,
    who: &Principal,
) -> Result<Vec<Site>, csms_kernel::ports::StoreError> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let p = st.api.store.list_sites(&who.org_id, &page).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A station's rating count and average (`None` without ratings).
struct Rated {
    station: StationId,
    count: u64,
    average: Option<Decimal>,
}

/// The ratings of the organisation's stations in the report's scope (its
/// site, its station), by station id; at most [`MAX_RATED`].
async fn ratings(
    st: &PortalState,
    who: &Principal,
    site: Option<&SiteId>,
    station: Option<&StationId>,
) -> Result<Vec<Rated>, csms_kernel::ports::StoreError> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let p = st.api.store.list_stations(&who.org_id, &page).await?;
        ids.extend(
            p.items
                .into_iter()
                .map(|v| v.station)
                .filter(|s| site.is_none() || s.site_id.as_ref() == site)
                .filter(|s| station.is_none_or(|id| &s.id == id))
                .map(|s| s.id),
        );
        match p.next_cursor {
            Some(c) if ids.len() < MAX_RATED => page.cursor = Some(c),
            _ => break,
        }
    }
    ids.sort();
    ids.truncate(MAX_RATED);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let s = st
            .api
            .store
            .rating_summary(&who.org_id, RatedPlace::Station(&id))
            .await?;
        out.push(Rated {
            average: s.average(),
            count: s.count,
            station: id,
        });
    }
    Ok(out)
}

/// What a row of the report is called: its month, its site's name (or
/// id), its station, or its station and charging point.
fn row_label(key: &RowKey, site_names: &HashMap<&str, &str>, lang: Language) -> String {
    if let Some(m) = &key.month {
        return m.clone();
    }
    match (&key.station_id, key.evse_id) {
        (Some(s), Some(e)) => format!("{s} #{e}"),
        (Some(s), None) => s.to_string(),
        (None, _) => match &key.site_id {
            Some(site) => site_names
                .get(site.as_str())
                .map_or_else(|| site.to_string(), |n| (*n).to_owned()),
            None => Msg::RepNoSite.text(lang).to_owned(),
        },
    }
}

/// How a figure is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Count,
    Kwh,
    /// A share of the known time, 0 to 1: written as per cent.
    Share,
    Percent,
    Kw,
    Seconds,
}

fn show(unit: Unit, v: Decimal, lang: Language) -> String {
    match unit {
        Unit::Count => i18n::number(v, 0, lang),
        Unit::Kwh => format!("{} kWh", i18n::number(v, 2, lang)),
        Unit::Share => i18n::percent(v * Decimal::ONE_HUNDRED, 1, lang),
        Unit::Percent => i18n::percent(v, 1, lang),
        Unit::Kw => format!("{} kW", i18n::number(v, 1, lang)),
        Unit::Seconds => i18n::duration(v.trunc().to_i64().unwrap_or(0)),
    }
}

/// A change: the difference with a sign (shares in percentage points) and
/// in per cent of the previous figure when it was not zero.
fn show_change(unit: Unit, currency: Option<&str>, c: &Change, lang: Language) -> String {
    let sign = if c.absolute > Decimal::ZERO { "+" } else { "" };
    let absolute = match (unit, currency) {
        (_, Some(cur)) => i18n::money(c.absolute, cur, lang),
        (Unit::Share, _) => format!(
            "{} {}",
            i18n::number(c.absolute * Decimal::ONE_HUNDRED, 1, lang),
            Msg::RepPoints.text(lang)
        ),
        (Unit::Percent, _) => format!(
            "{} {}",
            i18n::number(c.absolute, 1, lang),
            Msg::RepPoints.text(lang)
        ),
        _ => show(unit, c.absolute, lang),
    };
    match c.percent {
        Some(p) => {
            let psign = if p > Decimal::ZERO { "+" } else { "" };
            format!("{sign}{absolute} ({psign}{})", i18n::percent(p, 1, lang))
        }
        None => format!("{sign}{absolute}"),
    }
}

/// One line of the totals: what, this period, the previous, the change.
struct Line {
    what: String,
    current: String,
    previous: String,
    change: Option<String>,
}

/// Which of net, VAT and gross.
type Pick = fn(Amounts) -> Decimal;

/// The totals' lines, the change from the report's own comparison where it
/// makes one (`compute::changes`).
fn lines(r: &UsageReport, lang: Language) -> Vec<Line> {
    let (now, before) = (&r.usage.total, &r.previous);
    let change = |figure: &str, currency: Option<&str>, unit: Unit| {
        r.changes
            .iter()
            .find(|c| c.figure == figure && c.currency.as_deref() == currency)
            .map(|c| show_change(unit, currency, c, lang))
    };
    let opt =
        |unit: Unit, v: Option<Decimal>| v.map_or_else(|| "–".to_owned(), |v| show(unit, v, lang));
    let secs = |v: Option<i64>| opt(Unit::Seconds, v.map(Decimal::from));
    let line = |msg: Msg, figure: &str, unit: Unit, f: &dyn Fn(&Figures) -> Option<Decimal>| Line {
        what: msg.text(lang).to_owned(),
        current: opt(unit, f(now)),
        previous: opt(unit, f(before)),
        change: change(figure, None, unit),
    };
    let mut out = vec![
        line(Msg::RepSessions, "sessions", Unit::Count, &|f| {
            Some(Decimal::from(f.sessions))
        }),
        line(Msg::RepEnergy, "energyKwh", Unit::Kwh, &|f| {
            Some(f.energy_kwh())
        }),
    ];
    let currencies: std::collections::BTreeSet<&String> =
        now.revenue.keys().chain(before.revenue.keys()).collect();
    for cur in currencies {
        let of = |f: &Figures| f.revenue.get(cur).copied().unwrap_or_default();
        let money = |d: Decimal| i18n::money(d, cur, lang);
        let picks: [(Msg, &str, Pick); 3] = [
            (Msg::RepRevenueNet, "revenueNet", |a| a.net),
            (Msg::RepVat, "revenueVat", |a| a.vat),
            (Msg::RepRevenueGross, "revenueGross", |a| a.gross),
        ];
        for (msg, figure, pick) in picks {
            out.push(Line {
                what: msg.text(lang).to_owned(),
                current: money(pick(of(now))),
                previous: money(pick(of(before))),
                change: r
                    .changes
                    .iter()
                    .find(|c| c.figure == figure && c.currency.as_deref() == Some(cur.as_str()))
                    .map(|c| show_change(Unit::Count, Some(cur), c, lang)),
            });
        }
    }
    out.extend([
        line(Msg::RepOccupied, "occupiedShare", Unit::Share, &|f| {
            f.occupied_share()
        }),
        line(Msg::RepCharging, "chargingShare", Unit::Share, &|f| {
            f.charging_share()
        }),
        line(
            Msg::RepAvailableShare,
            "availableShare",
            Unit::Share,
            &|f| f.available_share(),
        ),
        line(
            Msg::RepAvailability,
            "availabilityPercent",
            Unit::Percent,
            &|f| f.availability_percent(),
        ),
        line(Msg::RepPeak, "peakPowerKw", Unit::Kw, &|f| f.peak_kw()),
        Line {
            what: Msg::RepAvgSession.text(lang).to_owned(),
            current: secs(now.average_session_secs()),
            previous: secs(before.average_session_secs()),
            change: None,
        },
        Line {
            what: Msg::RepAvgIdle.text(lang).to_owned(),
            current: secs(now.average_idle_secs()),
            previous: secs(before.average_idle_secs()),
            change: None,
        },
        line(Msg::RepFaults, "faults", Unit::Count, &|f| {
            Some(Decimal::from(f.faults))
        }),
    ]);
    out
}

/// A cell's shade in the hours of the week: 0 (none or unknown) to 4 (at
/// least three quarters of the known time occupied).
fn level(share: Option<Decimal>) -> u8 {
    match share {
        None => 0,
        Some(s) if s >= Decimal::new(75, 2) => 4,
        Some(s) if s >= Decimal::new(50, 2) => 3,
        Some(s) if s >= Decimal::new(25, 2) => 2,
        Some(s) if s > Decimal::ZERO => 1,
        Some(_) => 0,
    }
}

const WEEKDAYS: [Msg; 7] = [
    Msg::WdMon,
    Msg::WdTue,
    Msg::WdWed,
    Msg::WdThu,
    Msg::WdFri,
    Msg::WdSat,
    Msg::WdSun,
];

/// The occupancy by hour of the week as a table (weekdays down, hours
/// across), each cell its per cent and a shade.
fn hours_table(hours: &[HourOfWeek], lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let cell = |d: u32, h: u32| hours.iter().find(|c| c.weekday == d && c.hour == h);
    html! {
        div.heat-wrap role="region" aria-labelledby="hours" tabindex="0" {
            table.heat {
                caption.visually-hidden { (t(Msg::RepHours)) }
                thead { tr {
                    th scope="col" { (t(Msg::RepWeekday)) }
                    @for h in 0..24u32 { th scope="col" { (format!("{h:02}")) } }
                } }
                tbody {
                    @for (d, day) in WEEKDAYS.iter().enumerate() {
                        @let d = d as u32;
                        tr {
                            th scope="row" { (day.text(lang)) }
                            @for h in 0..24u32 {
                                @let share = cell(d, h).and_then(HourOfWeek::occupied_share);
                                td class={"num heat-" (level(share))} {
                                    (share.map_or_else(|| "–".to_owned(), |s| i18n::number(s * Decimal::ONE_HUNDRED, 0, lang)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /portal/reports`.
pub async fn page(
    State(st): State<PortalState>,
    Query(raw): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let path = "/portal/reports";
    let (c, q, req, r) = report(&st, &headers, path, raw).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let sites = sites(&st, who).await.or_page(&c)?;
    let rated = ratings(
        &st,
        who,
        req.scope.site.as_ref(),
        req.scope.station.as_ref(),
    )
    .await
    .or_page(&c)?;
    let site_names: HashMap<&str, &str> = sites
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let qs = encode(&q);
    let here = format!("{path}?{qs}");
    let period_value = q.get("period").cloned().unwrap_or_default();
    let site_value = q.get("siteId").cloned().unwrap_or_default();
    let labels: Vec<String> = r
        .usage
        .rows
        .iter()
        .map(|(k, _)| row_label(k, &site_names, lang))
        .collect();
    let energy: Vec<Point> = r
        .usage
        .rows
        .iter()
        .zip(&labels)
        .map(|((_, f), l)| Point {
            label: l.clone(),
            value: f.energy_kwh(),
        })
        .collect();
    let currencies: Vec<&String> = r.usage.total.revenue.keys().collect();
    let group_heading = GROUPINGS
        .iter()
        .find(|(g, _)| *g == r.group_by)
        .map_or(t(Msg::RepByStation), |(_, m)| t(*m));
    let compared = [
        r.span.from.to_string(),
        r.span.to.to_string(),
        r.previous_span.from.to_string(),
        r.previous_span.to.to_string(),
        r.time_zone.name().to_owned(),
    ]
    .iter()
    .fold(t(Msg::RepComparedWith).to_owned(), |s, v| {
        s.replacen("{}", v, 1)
    });
    let body = html! {
        h1 { (t(Msg::Reports)) }
        form.filter method="get" action=(path) {
            div {
                label for="period" { (t(Msg::RepPeriod)) }
                input #period type="month" name="period" value=(period_value) placeholder="2026-11";
            }
            div {
                label for="siteId" { (t(Msg::RepSite)) }
                select #siteId name="siteId" {
                    option value="" { (t(Msg::RepAllSites)) }
                    @for s in &sites {
                        option value=(s.id.as_str()) selected[site_value == s.id.as_str()] { (s.name) }
                    }
                }
            }
            div {
                label for="groupBy" { (t(Msg::RepGroupBy)) }
                select #groupBy name="groupBy" {
                    @for (g, m) in GROUPINGS {
                        option value=(g.as_str()) selected[g == r.group_by] { (t(m)) }
                    }
                }
            }
            div { button type="submit" { (t(Msg::RepShow)) } }
        }
        p #compared { (compared) }
        p.actions {
            a.button href={"/portal/reports/usage.csv?" (qs)} download { (t(Msg::RepDownloadCsv)) }
            a.button href={"/portal/reports/usage.xlsx?" (qs)} download { (t(Msg::RepDownloadXlsx)) }
        }
        section aria-labelledby="totals" {
            h2 #totals { (t(Msg::RepTotals)) }
            table #totals-table {
                thead { tr {
                    th scope="col" { (t(Msg::RepFigure)) }
                    th scope="col" { (t(Msg::RepThisPeriod)) }
                    th scope="col" { (t(Msg::RepPrevious)) }
                    th scope="col" { (t(Msg::RepChange)) }
                } }
                tbody {
                    @for l in lines(&r, lang) {
                        tr {
                            th scope="row" { (l.what) }
                            td.num data-label=(t(Msg::RepThisPeriod)) { (l.current) }
                            td.num data-label=(t(Msg::RepPrevious)) { (l.previous) }
                            td.num data-label=(t(Msg::RepChange)) { (l.change.unwrap_or_else(|| "–".to_owned())) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="rows" {
            h2 #rows { (t(Msg::RepRows)) ": " (group_heading) }
            @if r.usage.rows.is_empty() {
                p.empty { (t(Msg::RepNoRows)) }
            } @else {
                table #rows-table {
                    thead { tr {
                        th scope="col" { (group_heading) }
                        th scope="col" { (t(Msg::RepSessions)) }
                        th scope="col" { (t(Msg::RepEnergy)) }
                        @for cur in &currencies {
                            th scope="col" { (t(Msg::RepRevenueGross)) " (" (cur) ")" }
                        }
                        th scope="col" { (t(Msg::RepOccupied)) }
                        th scope="col" { (t(Msg::RepAvailability)) }
                        th scope="col" { (t(Msg::RepFaults)) }
                    } }
                    tbody {
                        @for ((_, f), label) in r.usage.rows.iter().zip(&labels) {
                            tr {
                                th scope="row" { (label) }
                                td.num data-label=(t(Msg::RepSessions)) { (show(Unit::Count, Decimal::from(f.sessions), lang)) }
                                td.num data-label=(t(Msg::RepEnergy)) { (show(Unit::Kwh, f.energy_kwh(), lang)) }
                                @for cur in &currencies {
                                    td.num data-label=(t(Msg::RepRevenueGross)) {
                                        (i18n::money(f.revenue.get(*cur).map(|a| a.gross).unwrap_or_default(), cur, lang))
                                    }
                                }
                                td.num data-label=(t(Msg::RepOccupied)) { (f.occupied_share().map_or_else(|| "–".to_owned(), |s| show(Unit::Share, s, lang))) }
                                td.num data-label=(t(Msg::RepAvailability)) { (f.availability_percent().map_or_else(|| "–".to_owned(), |s| show(Unit::Percent, s, lang))) }
                                td.num data-label=(t(Msg::RepFaults)) { (f.faults) }
                            }
                        }
                    }
                }
                (chart::bars(&Chart {
                    id: "energy-chart",
                    title: t(Msg::RepEnergy),
                    unit: "kWh",
                    decimals: 2,
                    label_heading: group_heading,
                    lang,
                }, &energy))
                @for (i, cur) in currencies.iter().enumerate() {
                    @let revenue: Vec<Point> = r.usage.rows.iter().zip(&labels).map(|((_, f), l)| Point {
                        label: l.clone(),
                        value: f.revenue.get(*cur).map(|a| a.gross).unwrap_or_default(),
                    }).collect();
                    (chart::bars(&Chart {
                        id: &format!("revenue-chart-{i}"),
                        title: t(Msg::RepRevenueGross),
                        unit: cur,
                        decimals: 2,
                        label_heading: group_heading,
                        lang,
                    }, &revenue))
                }
            }
        }
        section aria-labelledby="hours" {
            h2 #hours { (t(Msg::RepHours)) }
            p.hint { (t(Msg::RepHoursHint)) }
            (hours_table(&r.usage.hours_of_week, lang))
        }
        section aria-labelledby="ratings" {
            h2 #ratings { (t(Msg::RepRatings)) }
            p.hint { (t(Msg::RepRatingsHint)) }
            @if rated.is_empty() {
                p.empty { (t(Msg::RepNoStations)) }
            } @else {
                table #ratings-table {
                    thead { tr {
                        th scope="col" { (t(Msg::RepByStation)) }
                        th scope="col" { (t(Msg::RepRatingCount)) }
                        th scope="col" { (t(Msg::RepRatingAverage)) }
                    } }
                    tbody {
                        @for s in &rated {
                            tr {
                                th scope="row" { (s.station.as_str()) }
                                td.num data-label=(t(Msg::RepRatingCount)) { (s.count) }
                                td.num data-label=(t(Msg::RepRatingAverage)) {
                                    (s.average.map_or_else(|| "–".to_owned(), |a| i18n::number(a, 2, lang)))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&here), t(Msg::Reports), body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn the_query_keeps_the_reports_parameters_and_defaults_to_last_month() {
        let last = Period::parse("2026-11").ok();
        let raw: HashMap<String, String> = [
            ("siteId", ""),
            ("groupBy", "site"),
            ("format", "json"),
            ("csrf", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let q = query(raw, last);
        assert_eq!(encode(&q), "groupBy=site&period=2026-11");
        // A period or dates given are kept as they are (checked by the API's parsing).
        let raw: HashMap<String, String> = [("period", " 2026-13 ")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(encode(&query(raw, last)), "period=2026-13");
        let raw: HashMap<String, String> = [("from", "2026-10-01"), ("to", "2026-10-31")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(encode(&query(raw, last)), "from=2026-10-01&to=2026-10-31");
    }

    #[test]
    fn rows_are_called_by_their_month_site_name_station_or_charging_point() {
        let names: HashMap<&str, &str> = [("garage", "Garaget")].into_iter().collect();
        let site = |s: Option<&str>| RowKey {
            site_id: s.map(|s| SiteId::parse(s).unwrap()),
            ..RowKey::default()
        };
        assert_eq!(
            row_label(&site(Some("garage")), &names, Language::Sv),
            "Garaget"
        );
        assert_eq!(row_label(&site(Some("yard")), &names, Language::Sv), "yard");
        assert_eq!(row_label(&site(None), &names, Language::En), "No site");
        let evse = RowKey {
            station_id: Some(StationId::parse("CP-1").unwrap()),
            evse_id: Some(2),
            ..RowKey::default()
        };
        assert_eq!(row_label(&evse, &names, Language::En), "CP-1 #2");
        let month = RowKey {
            month: Some("2026-11".into()),
            ..RowKey::default()
        };
        assert_eq!(row_label(&month, &names, Language::En), "2026-11");
    }

    #[test]
    fn figures_and_changes_in_the_locales_format() {
        assert_eq!(show(Unit::Share, d("0.0556"), Language::Sv), "5,6 %");
        assert_eq!(show(Unit::Percent, d("98.96"), Language::En), "99.0%");
        assert_eq!(show(Unit::Kwh, d("8.500"), Language::Sv), "8,50 kWh");
        assert_eq!(show(Unit::Seconds, d("3900"), Language::Sv), "1 h 05 min");
        let c = Change {
            figure: "sessions",
            currency: None,
            current: d("3"),
            previous: d("2"),
            absolute: d("1"),
            percent: Some(d("50.0")),
        };
        assert_eq!(
            show_change(Unit::Count, None, &c, Language::Sv),
            "+1 (+50,0 %)"
        );
        let c = Change {
            figure: "occupiedShare",
            currency: None,
            current: d("0.1"),
            previous: d("0.25"),
            absolute: d("-0.15"),
            percent: Some(d("-60.0")),
        };
        assert_eq!(
            show_change(Unit::Share, None, &c, Language::En),
            "-15.0 percentage points (-60.0%)"
        );
        let c = Change {
            figure: "revenueGross",
            currency: Some("SEK".into()),
            current: d("100"),
            previous: d("0"),
            absolute: d("100"),
            percent: None,
        };
        assert_eq!(
            show_change(Unit::Count, Some("SEK"), &c, Language::Sv),
            "+100,00 kr"
        );
    }

    #[test]
    fn the_hours_shade_by_the_occupied_share() {
        assert_eq!(level(None), 0);
        assert_eq!(level(Some(d("0"))), 0);
        assert_eq!(level(Some(d("0.01"))), 1);
        assert_eq!(level(Some(d("0.25"))), 2);
        assert_eq!(level(Some(d("0.5"))), 3);
        assert_eq!(level(Some(d("0.75"))), 4);
        let hours = vec![HourOfWeek {
            weekday: 2,
            hour: 14,
            known_ms: 3_600_000,
            occupied_ms: 1_800_000,
            charging_ms: 900_000,
        }];
        let html = hours_table(&hours, Language::Sv).into_string();
        assert_eq!(html.matches("<td").count(), 168);
        assert_eq!(html.matches("heat-3").count(), 1, "{html}");
        assert!(html.contains("<th scope=\"row\">Onsdag</th>"));
    }
}
