//! Commands to stations: `POST /stations/{id}/commands`,
//! `GET /stations/{id}/commands`, `GET /commands/{id}`.

use crate::auth::Principal;
use crate::command_input::CommandInput;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_commands::service::{CommandError, SubmitOptions};
use csms_domain::command::{Command, CommandId, CommandRequest};
use csms_kernel::views::CommandView;
use serde_json::{json, Value};
use std::time::Duration;

/// `wait` may hold a request this long at most: API Gateway's HTTP API
/// gives up after 30 s.
const MAX_WAIT_S: u64 = 25;

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NotFound(m) => ApiError::NotFound(m),
            CommandError::Invalid(m) => ApiError::BadRequest(m),
            CommandError::Conflict(m) => ApiError::Conflict(m),
            CommandError::Store(e) => e.into(),
        }
    }
}

pub fn command_json(c: &Command) -> Value {
    serde_json::to_value(CommandView::from(c)).expect("views serialise")
}

/// 200 when the command is final, 202 while it is pending.
fn respond(c: &Command) -> Response {
    let status = if c.status.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(command_json(c))).into_response()
}

fn seconds(
    params: &Params,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ApiError> {
    match params.get(name).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::BadRequest(format!(
                "{name}: must be {} to {} seconds",
                range.start(),
                range.end()
            ))),
        },
    }
}

/// Parse the body into the API's [`CommandInput`], then the domain's
/// request, with errors that say what is wrong: serde's "unknown variant"
/// message for a tagged enum is cryptic.
fn parse_request(body: &Bytes) -> Result<CommandRequest, ApiError> {
    let raw: Value = json_body(body)?;
    let Some(obj) = raw.as_object() else {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    };
    let types = CommandInput::TYPE_NAMES.join(", ");
    match obj.get("type") {
        None => {
            return Err(ApiError::BadRequest(format!(
                "type: required, one of {types}"
            )))
        }
        Some(Value::String(t)) if CommandInput::TYPE_NAMES.contains(&t.as_str()) => {}
        Some(t) => {
            return Err(ApiError::BadRequest(format!(
                "type: {t} is not a command; one of {types}"
            )))
        }
    }
    let input: CommandInput = serde_json::from_value(raw.clone()).map_err(|e| {
        let all = crate::util::unknown_fields::<CommandInput>(raw.clone());
        ApiError::BadRequest(format!(
            "invalid command: {}",
            crate::util::with_all(&e.to_string(), &all)
        ))
    })?;
    // serde's `deny_unknown_fields` refuses unknown fields in a tagged
    // variant with fields but lets a variant without any (`clearCache`)
    // take whatever else is in the object.
    if let Some(name) = input.fieldless() {
        let extra: Vec<String> = obj
            .keys()
            .filter(|k| k.as_str() != "type")
            .map(|k| format!("`{k}`"))
            .collect();
        if !extra.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "invalid command: unknown field {}: {} takes no fields besides `type`",
                extra.join(", "),
                name
            )));
        }
    }
    input.into_domain().map_err(ApiError::BadRequest)
}

#[utoipa::path(post, path = "/stations/{id}/commands", operation_id = "sendCommand", tag = "commands", summary = "Send a command to a station", params(("id" = String, Path, description = "Station id"), ("wait" = Option<u32>, Query, maximum = 25, description = "Seconds to wait for the outcome"), ("timeout" = Option<u32>, Query, minimum = 1, maximum = 300, description = "Seconds the charger has to answer, default 30"), ("Idempotency-Key" = Option<String>, Header, description = "A retried request with the same key returns the first result")), request_body = CommandInput, responses((status = 200, description = "The command is final", body = CommandView), (status = 202, description = "The command is pending", body = CommandView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Everything in the request is checked before the station is looked
    // up, and the service answers a station of another organisation like
    // a missing one: a key of another organisation learns nothing.
    let station = crate::stations::station_id(&id)?;
    let wait = seconds(&params, "wait", 0..=MAX_WAIT_S)?;
    let timeout_s = seconds(&params, "timeout", 1..=300)?.map(|t| t as u32);
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    ApiError::BadRequest("Idempotency-Key: 1 to 200 visible characters".into())
                })?;
            Some(k.to_owned())
        }
    };
    let request = parse_request(&body)?;
    let cmd = st
        .commands
        .submit(
            &who.actor(),
            &station,
            request,
            SubmitOptions {
                timeout_s,
                idempotency_key,
                ..SubmitOptions::default()
            },
        )
        .await?;
    let cmd = match wait {
        Some(w) if w > 0 && !cmd.status.is_final() => {
            st.commands.wait(&cmd.id, Duration::from_secs(w)).await?
        }
        _ => cmd,
    };
    Ok(respond(&cmd))
}

#[utoipa::path(get, path = "/commands/{id}", operation_id = "getCommand", tag = "commands", summary = "A command and its outcome", params(("id" = String, Path, description = "Command id")), responses((status = 200, body = CommandView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::NotFound(format!("command {id:?} not found"));
    let cid = CommandId::parse(&id).ok_or_else(not_found)?;
    let cmd = st
        .commands
        .find(&who.actor(), &cid)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(command_json(&cmd)))
}

#[utoipa::path(get, path = "/stations/{id}/commands", operation_id = "listStationCommands", tag = "commands", summary = "A station's commands, newest first", params(("id" = String, Path, description = "Station id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<CommandView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn list_for_station(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let station = crate::stations::own_station(&st, &who, &id).await?.id;
    let page = st
        .store
        .list_station_commands(&station, &page(&params)?)
        .await?;
    Ok(Json(json!({
        "items": page.items.iter().map(command_json).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}
