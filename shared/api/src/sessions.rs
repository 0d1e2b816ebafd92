//! `/api/v1/sessions`: charging sessions and their meter readings.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ItemsOf, ListOf};
use crate::util::{page, time_param, Params};
use crate::views;
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use csms_domain::meter::MeterReading;
use csms_domain::session::{Session, SessionStatus};
use csms_domain::{SessionId, StationId};
use csms_kernel::ports::{MeterTarget, Page, PageRequest, SessionQuery};
use csms_kernel::views::SessionView;
use serde_json::{json, Value};

/// The filter of the session list and export (for the OpenAPI document;
/// parsed by [`query`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct SessionFilter {
    /// Only this station's sessions.
    #[param(rename = "stationId")]
    station_id: Option<String>,
    /// Sessions started (or first seen) at or after this time (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// … and before this time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Only sessions still running (`active`) or ended (`completed`).
    status: Option<String>,
    /// Only sessions started with this identifier (RFID card, contract
    /// id; compared ignoring ASCII case, as OCPP compares id tags).
    #[param(rename = "idToken")]
    id_token: Option<String>,
}

/// What the list and the export select: the store's query (organisation,
/// station, time window, page) and the filters the store does not index
/// (status, identifier), applied to each page read.
#[derive(Debug, Clone)]
pub struct SessionSearch {
    pub query: SessionQuery,
    pub status: Option<SessionStatus>,
    pub id_token: Option<String>,
}

impl SessionSearch {
    /// Whether `s` passes the filters the store does not apply.
    pub fn matches(&self, s: &Session) -> bool {
        self.status.is_none_or(|st| s.status == st)
            && self.id_token.as_deref().is_none_or(|want| {
                s.id_token
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(want))
            })
    }

    fn filters(&self) -> bool {
        self.status.is_some() || self.id_token.is_some()
    }
}

/// The longest identifier the filter accepts (OCPP 2.0.1's `idToken` is
/// at most 36 characters; room for longer contract ids).
const MAX_ID_TOKEN: usize = 255;

/// Store pages one list request reads at most while its filters skip
/// sessions: a selective filter answers a short page (even an empty one)
/// with `nextCursor` rather than reading the whole history at once.
const MAX_READS: usize = 10;

/// The session filter shared by the list and the export (and the portal's
/// sessions page), always within the caller's organisation.
pub fn search(params: &Params, who: &Principal) -> Result<SessionSearch, ApiError> {
    let status = match params
        .get("status")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some("active") => Some(SessionStatus::Active),
        Some("completed") => Some(SessionStatus::Completed),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status: {other:?} is not active or completed"
            )))
        }
    };
    let id_token = match params
        .get("idToken")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(t) if t.chars().count() > MAX_ID_TOKEN || t.chars().any(char::is_control) => {
            return Err(ApiError::BadRequest(format!(
                "idToken: at most {MAX_ID_TOKEN} characters, no control characters"
            )))
        }
        Some(t) => Some(t.to_owned()),
    };
    Ok(SessionSearch {
        query: query(params, who)?,
        status,
        id_token,
    })
}

/// One page of the search, newest first: store pages are read (asking
/// only for what is still missing, so the cursor stays exact) until the
/// page is full, the sessions run out, or [`MAX_READS`] pages were read.
pub async fn list_sessions(
    state: &ApiState,
    search: &SessionSearch,
) -> Result<Page<Session>, ApiError> {
    let limit = search.query.page.effective_limit();
    let mut q = search.query.clone();
    let mut items = Vec::new();
    let mut next_cursor;
    let mut reads = 0;
    loop {
        q.page.limit = u32::try_from(limit - items.len()).unwrap_or(PageRequest::MAX_LIMIT);
        let page = state.store.list_sessions(&q).await?;
        reads += 1;
        items.extend(page.items.into_iter().filter(|s| search.matches(s)));
        next_cursor = page.next_cursor;
        match &next_cursor {
            Some(c) if search.filters() && items.len() < limit && reads < MAX_READS => {
                q.page.cursor = Some(c.clone());
            }
            _ => break,
        }
    }
    Ok(Page { items, next_cursor })
}

/// The store's part of the filter, always within the caller's organisation.
fn query(params: &Params, who: &Principal) -> Result<SessionQuery, ApiError> {
    let station_id = match params.get("stationId").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            StationId::parse(s.as_str())
                .map_err(|e| ApiError::BadRequest(format!("stationId: {e}")))?,
        ),
    };
    let from = time_param(params, "from")?;
    let to = time_param(params, "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::BadRequest("from: must not be after to".into()));
        }
    }
    Ok(SessionQuery {
        org_id: who.org_id.clone(),
        station_id,
        from,
        to,
        page: page(params)?,
    })
}

#[utoipa::path(get, path = "/sessions", operation_id = "listSessions", tag = "sessions", summary = "List sessions, newest first", params(SessionFilter, ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<SessionView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let result = list_sessions(&state, &search(&params, &who)?).await?;
    let items: Vec<Value> = result.items.iter().map(session_json).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

/// A session id from a path: one that cannot be an id is not found.
pub(crate) fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|_| ApiError::NotFound(format!("session {raw:?} not found")))
}

/// The caller's session `raw`: one of another organisation is answered
/// exactly like one that does not exist.
pub async fn find(state: &ApiState, who: &Principal, raw: &str) -> Result<Session, ApiError> {
    let not_found = || ApiError::NotFound(format!("session {raw:?} not found"));
    let id = session_id(raw)?;
    state
        .store
        .get_session(&id)
        .await?
        .filter(|s| s.org_id == who.org_id)
        .ok_or_else(not_found)
}

#[utoipa::path(get, path = "/sessions/{id}", operation_id = "getSession", tag = "sessions", summary = "A session, with its price once priced", params(("id" = String, Path, description = "Session id (`{stationId}~{transactionId}`)")), responses((status = 200, body = crate::pricing::SessionWithPrice), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let session = find(&state, &who, &id).await?;
    let price = state.store.get_priced_session(&session.id).await?;
    Ok(Json(
        serde_json::to_value(crate::pricing::SessionWithPrice {
            session: SessionView::from(&session),
            price: price
                .as_ref()
                .map(csms_kernel::views::PricedSessionView::from),
        })
        .expect("views serialise"),
    ))
}

/// The caller's session `raw` and its meter readings, oldest first (what
/// `GET /sessions/{id}/meter-values` answers, and the portal's chart).
pub async fn meter_readings(
    state: &ApiState,
    who: &Principal,
    raw: &str,
) -> Result<(Session, Vec<MeterReading>), ApiError> {
    let session = find(state, who, raw).await?;
    let readings = state
        .store
        .list_meter_readings(&MeterTarget::Session(session.id.clone()))
        .await?;
    Ok((session, readings))
}

#[utoipa::path(get, path = "/sessions/{id}/meter-values", operation_id = "listSessionMeterValues", tag = "sessions", summary = "A session's meter readings, oldest first", params(("id" = String, Path, description = "Session id")), responses((status = 200, body = ItemsOf<views::MeterValue>), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn meter_values(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, readings) = meter_readings(&state, &who, &id).await?;
    let items: Vec<Value> = readings
        .iter()
        .map(|r| serde_json::to_value(crate::views::MeterValue::from(r)).expect("views serialise"))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub fn session_json(s: &Session) -> Value {
    serde_json::to_value(SessionView::from(s)).expect("views serialise")
}

/// Export format of `GET /sessions/export`.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Json,
}

const CSV_COLUMNS: [&str; 15] = [
    "id",
    "stationId",
    "siteId",
    "evseId",
    "connectorId",
    "transactionId",
    "idToken",
    "status",
    "startedAt",
    "endedAt",
    "meterStartWh",
    "meterStopWh",
    "energyWh",
    "stopReason",
    "updatedAt",
];

/// RFC 4180 field: quoted when it holds a separator, quote or line break.
/// A leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does
/// not run a charger-supplied id tag as a formula.
pub(crate) fn csv_field(v: &Value) -> String {
    let raw = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let raw = if matches!(raw.chars().next(), Some('=' | '+' | '-' | '@')) && !v.is_number() {
        format!("'{raw}")
    } else {
        raw
    };
    if raw.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw
    }
}

fn csv_row(s: &Session) -> String {
    let j = session_json(s);
    let mut line = CSV_COLUMNS
        .iter()
        .map(|c| csv_field(&j[*c]))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// `GET /sessions/export?format=csv|json&from=&to=&stationId=`: every
/// matching session, newest first, streamed page by page so a year of data
/// never sits in memory.
#[utoipa::path(get, path = "/sessions/export", operation_id = "exportSessions", tag = "sessions", summary = "Export sessions as CSV or JSON (streamed)", params(SessionFilter, ("format" = Option<String>, Query, description = "`csv` (default) or `json`")), responses((status = 200, description = "Every matching session, newest first", content((String = "text/csv"), (Vec<SessionView> = "application/json"))), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn export(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<axum::response::Response, ApiError> {
    export_sessions(state, &who, &params).await
}

/// The export's answer (CSV or JSON, streamed) for `params` as
/// `GET /sessions/export` takes them; the portal's download too.
pub async fn export_sessions(
    state: ApiState,
    who: &Principal,
    params: &Params,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let format = match params.get("format").map(String::as_str) {
        None | Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: {other:?} is not csv or json"
            )))
        }
    };
    let mut search = search(params, who)?;
    search.query.page = PageRequest::first(500);
    let first_query = search.query.clone();
    // Read the first page before answering, so a bad request or a store
    // failure is a proper error response, not a truncated download.
    let first = state.store.list_sessions(&first_query).await?;

    struct Cursor {
        state: ApiState,
        search: SessionSearch,
        query: SessionQuery,
        page: Option<csms_kernel::ports::Page<Session>>,
        started: bool,
        /// A JSON item was written: the next one needs a comma.
        wrote_item: bool,
        done: bool,
        format: Format,
    }
    let cursor = Cursor {
        state,
        search,
        query: first_query,
        page: Some(first),
        started: false,
        wrote_item: false,
        done: false,
        format,
    };
    let stream = futures::stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        let mut chunk = String::new();
        if !c.started {
            c.started = true;
            match c.format {
                Format::Csv => {
                    chunk.push_str(&CSV_COLUMNS.join(","));
                    chunk.push_str("\r\n");
                }
                Format::Json => chunk.push('['),
            }
        }
        let page = match c.page.take() {
            Some(p) => p,
            None => match c.state.store.list_sessions(&c.query).await {
                Ok(p) => p,
                Err(e) => {
                    // Headers are gone already: end the body early so the
                    // client sees a broken transfer, and say why in the log.
                    tracing::error!(error = %e, "session export failed mid-stream");
                    return Some((Err(std::io::Error::other(e.to_string())), c));
                }
            },
        };
        for s in page.items.iter().filter(|s| c.search.matches(s)) {
            match c.format {
                Format::Csv => chunk.push_str(&csv_row(s)),
                Format::Json => {
                    if c.wrote_item {
                        chunk.push(',');
                    }
                    c.wrote_item = true;
                    chunk.push_str(&session_json(s).to_string());
                }
            }
        }
        match page.next_cursor {
            Some(next) => c.query.page.cursor = Some(next),
            None => {
                c.done = true;
                if c.format == Format::Json {
                    chunk.push(']');
                }
            }
        }
        Some((Ok::<_, std::io::Error>(chunk), c))
    });
    let (ctype, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"sessions.{ext}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
