//! The usage report: `GET /reports/usage` — utilisation, sessions, energy,
//! revenue, peak power, availability and faults of the caller's
//! organisation for a month or a date range, grouped by site, station,
//! EVSE or month, with the previous period of as many days. JSON (default),
//! CSV (`format=csv` or `Accept: text/csv`) or XLSX (`format=xlsx`: one
//! sheet per grouping, the totals, the hours of the week).
//!
//! The query is parsed here (a 400 names the parameter); a `siteId` or
//! `stationId` of another organisation is not found (404).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::Params;
use crate::ApiState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use chrono_tz::Tz;
use csms_domain::{SiteId, StationId};
use csms_reports::compute::{Figures, GroupBy, RowKey, Scope, Span, MAX_DAYS};
use csms_reports::{ReportError, ReportRequest, ReportService, UsageReport};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {why}"))
}

fn date(params: &Params, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    params
        .get(field)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad(field, format!("{s:?} is not a date (2026-11-30)")))
        })
        .transpose()
}

fn span(params: &Params) -> Result<Span, ApiError> {
    let (from, to) = (date(params, "from")?, date(params, "to")?);
    match (params.get("period"), from, to) {
        (Some(p), None, None) => {
            let month = NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| p.len() == 7)
                .ok_or_else(|| bad("period", format!("{p:?} is not a month (2026-11)")))?;
            use chrono::Datelike;
            Span::month(month.year(), month.month())
                .ok_or_else(|| bad("period", format!("{p:?} is out of range")))
        }
        (Some(_), _, _) => Err(bad("period", "give a period or from and to, not both")),
        (None, Some(from), Some(to)) => Span::new(from, to).ok_or_else(|| {
            bad(
                "to",
                format!("must be on or after from, at most {MAX_DAYS} days later"),
            )
        }),
        (None, None, _) => Err(bad("period", "give a month (2026-11), or from and to")),
        (None, Some(_), None) => Err(bad("to", "required with from")),
    }
}

fn format(params: &Params, headers: &HeaderMap) -> Result<Format, ApiError> {
    match params.get("format").map(String::as_str) {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some(other) => Err(bad("format", format!("{other:?} is not json, csv or xlsx"))),
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.contains("text/csv") {
                Format::Csv
            } else if accept.contains(XLSX) {
                Format::Xlsx
            } else {
                Format::Json
            })
        }
    }
}

/// The report asked for by `params` (`period` or `from` and `to`,
/// `groupBy`, `timeZone`, `siteId`, `stationId`), each parsed here (a 400
/// names the parameter); a station of another organisation is not found.
/// The portal's reports page parses its query with this too.
pub async fn usage_request(
    state: &ApiState,
    who: &Principal,
    params: &Params,
) -> Result<ReportRequest, ApiError> {
    let span = span(params)?;
    let group_by = match params.get("groupBy") {
        None => GroupBy::Station,
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            bad(
                "groupBy",
                format!("{g:?} is not site, station, evse or month"),
            )
        })?,
    };
    let time_zone = params
        .get("timeZone")
        .map(|z| {
            z.parse::<Tz>()
                .map_err(|_| bad("timeZone", format!("{z:?} is not an IANA time zone")))
        })
        .transpose()?;
    let site = params
        .get("siteId")
        .map(|s| SiteId::parse(s.as_str()).map_err(|e| bad("siteId", e)))
        .transpose()?;
    let station: Option<StationId> = match params.get("stationId") {
        // Another organisation's station is not found.
        Some(raw) => Some(crate::stations::own_station(state, who, raw).await?.id),
        None => None,
    };
    Ok(ReportRequest {
        span,
        time_zone,
        group_by,
        scope: Scope { site, station },
    })
}

/// The report of the caller's organisation, time counted up to the clock's
/// now; a site of another organisation is not found (404).
pub async fn usage_report(
    state: &ApiState,
    who: &Principal,
    req: &ReportRequest,
) -> Result<UsageReport, ApiError> {
    ReportService::new(state.store.clone())
        .usage(&who.org_id, req, state.clock.now())
        .await
        .map_err(|e| match e {
            ReportError::SiteNotFound(s) => ApiError::NotFound(format!("site {s} not found")),
            ReportError::NoPreviousPeriod => bad("period", "out of range"),
            ReportError::Store(e) => e.into(),
        })
}

/// Net, VAT and gross in one currency.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueView {
    #[schema(example = "SEK")]
    pub currency: String,
    #[schema(example = "80.00")]
    pub net: String,
    #[schema(example = "20.00")]
    pub vat: String,
    #[schema(example = "100.00")]
    pub gross: String,
}

/// A group's (or the total's) figures. Times are seconds of the period
/// (up to now) whose state is known; shares are of that time, 0 to 1.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FiguresView {
    /// Sessions that started in the period.
    pub sessions: u64,
    /// Energy of those sessions, kWh.
    #[schema(example = "22.000")]
    pub energy_kwh: String,
    /// Their price (the newest revision), per currency.
    pub revenue: Vec<RevenueView>,
    pub known_seconds: i64,
    pub available_seconds: i64,
    /// Occupied, charging or not.
    pub occupied_seconds: i64,
    pub charging_seconds: i64,
    /// Occupied but not charging.
    pub idle_seconds: i64,
    /// Unavailable or faulted.
    pub unavailable_seconds: i64,
    /// The station offline.
    pub offline_seconds: i64,
    #[schema(example = "0.0556")]
    pub occupied_share: Option<String>,
    #[schema(example = "0.0417")]
    pub charging_share: Option<String>,
    #[schema(example = "0.9340")]
    pub available_share: Option<String>,
    /// Not unavailable, faulted or offline, per cent of the known time.
    #[schema(example = "98.96")]
    pub availability_percent: Option<String>,
    /// The highest power seen, kW.
    #[schema(example = "11.000")]
    pub peak_power_kw: Option<String>,
    /// Times a connector went Faulted.
    pub faults: u64,
    /// Of the sessions whose end is known.
    pub average_session_seconds: Option<i64>,
    /// Idle (occupied, not charging) seconds per session.
    pub average_idle_seconds: Option<i64>,
}

impl From<&Figures> for FiguresView {
    fn from(f: &Figures) -> Self {
        let s = |d: Decimal| d.to_string();
        FiguresView {
            sessions: f.sessions,
            energy_kwh: s(f.energy_kwh()),
            revenue: f
                .revenue
                .iter()
                .map(|(c, a)| RevenueView {
                    currency: c.clone(),
                    net: s(a.net),
                    vat: s(a.vat),
                    gross: s(a.gross),
                })
                .collect(),
            known_seconds: f.known_secs(),
            available_seconds: f.available_secs(),
            occupied_seconds: f.occupied_secs(),
            charging_seconds: f.charging_secs(),
            idle_seconds: f.idle_secs(),
            unavailable_seconds: f.unavailable_secs(),
            offline_seconds: f.offline_secs(),
            occupied_share: f.occupied_share().map(s),
            charging_share: f.charging_share().map(s),
            available_share: f.available_share().map(s),
            availability_percent: f.availability_percent().map(s),
            peak_power_kw: f.peak_kw().map(s),
            faults: f.faults,
            average_session_seconds: f.average_session_secs(),
            average_idle_seconds: f.average_idle_secs(),
        }
    }
}

/// A row: the fields of its grouping are set (a site's row: `siteId`,
/// null for stations on no site).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowView {
    /// `2026-11` when grouped by month.
    pub month: Option<String>,
    pub site_id: Option<String>,
    pub station_id: Option<String>,
    pub evse_id: Option<u32>,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// A figure against the previous period.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    /// `sessions`, `energyKwh`, `occupiedShare`, `chargingShare`,
    /// `availabilityPercent`, `faults`, `peakPowerKw`, `revenueNet`,
    /// `revenueGross`.
    pub figure: String,
    pub currency: Option<String>,
    pub current: String,
    pub previous: String,
    pub absolute: String,
    /// Null when the previous figure is zero.
    pub percent: Option<String>,
}

/// One hour of the week, local, summed over the period.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HourOfWeekView {
    /// 0 Monday … 6 Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub known_seconds: i64,
    pub occupied_share: Option<String>,
    pub charging_share: Option<String>,
}

/// Dates of a period, both included.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodView {
    #[schema(example = "2026-11-01")]
    pub from: String,
    #[schema(example = "2026-11-30")]
    pub to: String,
}

impl From<&Span> for PeriodView {
    fn from(s: &Span) -> Self {
        PeriodView {
            from: s.from.to_string(),
            to: s.to.to_string(),
        }
    }
}

/// The usage report.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReportView {
    pub period: PeriodView,
    /// As many days just before.
    pub previous_period: PeriodView,
    #[schema(example = "Europe/Stockholm")]
    pub time_zone: String,
    /// `site`, `station`, `evse` or `month`.
    pub group_by: String,
    pub rows: Vec<RowView>,
    pub total: FiguresView,
    /// The previous period's totals.
    pub previous: FiguresView,
    pub changes: Vec<ChangeView>,
    /// 168 cells, Monday 00 first: for a heat map.
    pub hours_of_week: Vec<HourOfWeekView>,
}

fn row_view(key: &RowKey, f: &Figures) -> RowView {
    RowView {
        month: key.month.clone(),
        site_id: key.site_id.as_ref().map(|s| s.as_str().to_owned()),
        station_id: key.station_id.as_ref().map(|s| s.as_str().to_owned()),
        evse_id: key.evse_id,
        figures: f.into(),
    }
}

impl From<&UsageReport> for UsageReportView {
    fn from(r: &UsageReport) -> Self {
        let s = |d: Decimal| d.to_string();
        UsageReportView {
            period: (&r.span).into(),
            previous_period: (&r.previous_span).into(),
            time_zone: r.time_zone.name().to_owned(),
            group_by: r.group_by.as_str().to_owned(),
            rows: r.usage.rows.iter().map(|(k, f)| row_view(k, f)).collect(),
            total: (&r.usage.total).into(),
            previous: (&r.previous).into(),
            changes: r
                .changes
                .iter()
                .map(|c| ChangeView {
                    figure: c.figure.to_owned(),
                    currency: c.currency.clone(),
                    current: s(c.current),
                    previous: s(c.previous),
                    absolute: s(c.absolute),
                    percent: c.percent.map(s),
                })
                .collect(),
            hours_of_week: r
                .usage
                .hours_of_week
                .iter()
                .map(|h| HourOfWeekView {
                    weekday: h.weekday,
                    hour: h.hour,
                    known_seconds: (h.known_ms + 500) / 1000,
                    occupied_share: h.occupied_share().map(s),
                    charging_share: h.charging_share().map(s),
                })
                .collect(),
        }
    }
}

/// A table cell: text or a number.
enum Cell {
    Text(String),
    Number(Decimal),
    Empty,
}

fn n(v: impl Into<Decimal>) -> Cell {
    Cell::Number(v.into())
}

fn opt(v: Option<Decimal>) -> Cell {
    v.map_or(Cell::Empty, Cell::Number)
}

fn text(v: Option<String>) -> Cell {
    v.map_or(Cell::Empty, Cell::Text)
}

/// The report's currencies, in order.
fn currencies(r: &UsageReport) -> Vec<String> {
    r.usage.total.revenue.keys().cloned().collect()
}

/// The columns of a table of figures: the grouping's key columns, then the
/// figures, revenue per currency.
fn header(currencies: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [
        "row",
        "month",
        "siteId",
        "stationId",
        "evseId",
        "sessions",
        "energyKwh",
    ]
    .map(String::from)
    .to_vec();
    for c in currencies {
        h.extend([
            format!("revenueNet{c}"),
            format!("revenueVat{c}"),
            format!("revenueGross{c}"),
        ]);
    }
    h.extend(
        [
            "knownSeconds",
            "availableSeconds",
            "occupiedSeconds",
            "chargingSeconds",
            "idleSeconds",
            "unavailableSeconds",
            "offlineSeconds",
            "occupiedShare",
            "chargingShare",
            "availableShare",
            "availabilityPercent",
            "peakPowerKw",
            "faults",
            "averageSessionSeconds",
            "averageIdleSeconds",
        ]
        .map(String::from),
    );
    h
}

fn line(what: &str, key: &RowKey, f: &Figures, currencies: &[String]) -> Vec<Cell> {
    let mut l = vec![
        Cell::Text(what.to_owned()),
        text(key.month.clone()),
        text(key.site_id.as_ref().map(|s| s.as_str().to_owned())),
        text(key.station_id.as_ref().map(|s| s.as_str().to_owned())),
        key.evse_id.map_or(Cell::Empty, n),
        n(f.sessions),
        n(f.energy_kwh()),
    ];
    for c in currencies {
        let a = f.revenue.get(c).copied().unwrap_or_default();
        l.extend([n(a.net), n(a.vat), n(a.gross)]);
    }
    l.extend([
        n(f.known_secs()),
        n(f.available_secs()),
        n(f.occupied_secs()),
        n(f.charging_secs()),
        n(f.idle_secs()),
        n(f.unavailable_secs()),
        n(f.offline_secs()),
        opt(f.occupied_share()),
        opt(f.charging_share()),
        opt(f.available_share()),
        opt(f.availability_percent()),
        opt(f.peak_kw()),
        n(f.faults),
        opt(f.average_session_secs().map(Decimal::from)),
        opt(f.average_idle_secs().map(Decimal::from)),
    ]);
    l
}

/// The rows and the total as lines of cells.
fn table(r: &UsageReport) -> (Vec<String>, Vec<Vec<Cell>>) {
    let currencies = currencies(r);
    let mut lines: Vec<Vec<Cell>> = r
        .usage
        .rows
        .iter()
        .map(|(k, f)| line("group", k, f, &currencies))
        .collect();
    lines.push(line(
        "total",
        &RowKey::default(),
        &r.usage.total,
        &currencies,
    ));
    lines.push(line(
        "previousTotal",
        &RowKey::default(),
        &r.previous,
        &currencies,
    ));
    (header(&currencies), lines)
}

fn csv(r: &UsageReport) -> String {
    let field = |c: &Cell| match c {
        Cell::Text(t) => crate::sessions::csv_field(&serde_json::Value::String(t.clone())),
        Cell::Number(d) => d.to_string(),
        Cell::Empty => String::new(),
    };
    let (head, lines) = table(r);
    let mut out = head.join(",");
    out.push_str("\r\n");
    for l in &lines {
        out.push_str(&l.iter().map(field).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ApiError {
    ApiError::Internal(format!("the XLSX could not be written: {e}"))
}

fn write_sheet(
    sheet: &mut rust_xlsxwriter::Worksheet,
    head: &[String],
    lines: &[Vec<Cell>],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in head.iter().enumerate() {
        sheet.write_string_with_format(0, col(c), h, &bold)?;
    }
    for (r, l) in lines.iter().enumerate() {
        let row = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in l.iter().enumerate() {
            match cell {
                Cell::Text(t) => {
                    sheet.write_string(row, col(c), t)?;
                }
                // A spreadsheet's numbers are doubles: the file format's,
                // not a computation's.
                Cell::Number(d) => {
                    sheet.write_number(row, col(c), d.to_f64().unwrap_or(0.0))?;
                }
                Cell::Empty => {}
            }
        }
    }
    Ok(())
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// One sheet per grouping, then the totals against the previous period and
/// the hours of the week.
fn xlsx(reports: &[UsageReport]) -> Result<Vec<u8>, ApiError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for r in reports {
        let (head, lines) = table(r);
        let sheet = book.add_worksheet();
        sheet
            .set_name(format!("By {}", r.group_by.as_str()))
            .map_err(xlsx_error)?;
        write_sheet(sheet, &head, &lines).map_err(xlsx_error)?;
    }
    if let Some(r) = reports.first() {
        let head: Vec<String> = [
            "figure", "currency", "current", "previous", "absolute", "percent",
        ]
        .map(String::from)
        .to_vec();
        let lines: Vec<Vec<Cell>> = r
            .changes
            .iter()
            .map(|c| {
                vec![
                    Cell::Text(c.figure.to_owned()),
                    text(c.currency.clone()),
                    n(c.current),
                    n(c.previous),
                    n(c.absolute),
                    opt(c.percent),
                ]
            })
            .collect();
        let sheet = book.add_worksheet();
        sheet.set_name("Change").map_err(xlsx_error)?;
        write_sheet(sheet, &head, &lines).map_err(xlsx_error)?;

        let head: Vec<String> = [
            "weekday",
            "hour",
            "knownSeconds",
            "occupiedShare",
            "chargingShare",
        ]
        .map(String::from)
        .to_vec();
        let lines: Vec<Vec<Cell>> = r
            .usage
            .hours_of_week
            .iter()
            .map(|h| {
                vec![
                    n(h.weekday),
                    n(h.hour),
                    n((h.known_ms + 500) / 1000),
                    opt(h.occupied_share()),
                    opt(h.charging_share()),
                ]
            })
            .collect();
        let sheet = book.add_worksheet();
        sheet.set_name("Hours of week").map_err(xlsx_error)?;
        write_sheet(sheet, &head, &lines).map_err(xlsx_error)?;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

fn file_name(r: &UsageReport, ext: &str) -> String {
    format!("usage-{}-{}.{ext}", r.span.from, r.span.to)
}

#[utoipa::path(get, path = "/reports/usage", operation_id = "getUsageReport", tag = "reports", summary = "Usage report: utilisation, sessions, energy, revenue, availability", description = "The caller's organisation's usage for a month (`period=2026-11`) or dates (`from`, `to`, both included, at most 366 days) in `timeZone`, else the site's zone (with `siteId`), else the zone the organisation's sites share, else Europe/Stockholm; grouped by `groupBy`, with the previous period of as many days and the change. Sessions, energy and revenue count in the period their session started in; times are split exactly at hours, midnight and DST changes. JSON, or CSV (`format=csv` or `Accept: text/csv`: one line per group, then the total and the previous period's total), or XLSX (`format=xlsx`: one sheet per grouping, the change, the hours of the week).", params(("period" = Option<String>, Query, description = "A month, `2026-11`"), ("from" = Option<String>, Query, description = "First date, `2026-11-01` (with `to`)"), ("to" = Option<String>, Query, description = "Last date, included"), ("groupBy" = Option<String>, Query, description = "`site`, `station` (default), `evse` or `month`"), ("siteId" = Option<String>, Query, description = "Only this site's stations"), ("stationId" = Option<String>, Query, description = "Only this station"), ("timeZone" = Option<String>, Query, description = "An IANA zone, e.g. `Europe/Stockholm`"), ("format" = Option<String>, Query, description = "`json` (default), `csv` or `xlsx`")), responses((status = 200, description = "The report", content((UsageReportView = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 400, description = "Invalid input; the message says which parameter and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "The site or station is not the organisation's", body = ErrorBody)))]
pub async fn usage(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let format = format(&params, &headers)?;
    let req = usage_request(&state, &who, &params).await?;
    let r = usage_report(&state, &who, &req).await?;
    match format {
        Format::Json => Ok(Json(UsageReportView::from(&r)).into_response()),
        Format::Csv => usage_file(&state, &who, &req, r, UsageFile::Csv).await,
        Format::Xlsx => usage_file(&state, &who, &req, r, UsageFile::Xlsx).await,
    }
}

/// A file of the usage report to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageFile {
    /// One line per group, then the total and the previous period's total.
    Csv,
    /// One sheet per grouping (`req`'s first), the change, the hours of the
    /// week.
    Xlsx,
}

/// The download of `r` (the report of `req`) as a file with its name: what
/// `GET /reports/usage?format=csv|xlsx` answers, and the portal's download
/// links too. The XLSX reads the report again for each other grouping.
pub async fn usage_file(
    state: &ApiState,
    who: &Principal,
    req: &ReportRequest,
    r: UsageReport,
    file: UsageFile,
) -> Result<Response, ApiError> {
    match file {
        UsageFile::Csv => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", file_name(&r, "csv")),
                ),
            ],
            csv(&r),
        )
            .into_response()),
        UsageFile::Xlsx => {
            let mut reports = vec![r];
            for g in GroupBy::ALL.into_iter().filter(|g| *g != req.group_by) {
                let other = ReportRequest {
                    group_by: g,
                    ..req.clone()
                };
                reports.push(usage_report(state, who, &other).await?);
            }
            let bytes = xlsx(&reports)?;
            Ok((
                [
                    (header::CONTENT_TYPE, XLSX.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}\"",
                            file_name(&reports[0], "xlsx")
                        ),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
    }
}
