//! Request parsing that answers bad input in the API's error shape (axum's
//! own extractors answer in plain text).

use crate::error::ApiError;
use axum::body::Bytes;
use chrono::Utc;
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

/// Every request body type refuses fields it does not know
/// (`deny_unknown_fields`): a misspelt or misplaced field silently ignored
/// would do something else than the caller asked. The message names the
/// field and, when it is nested, where (`evses[2]: unknown field …`); with
/// several unknown fields it names them all.
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let first = if path.is_empty() || path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        let all = match serde_json::from_slice::<Value>(body) {
            Ok(raw) if unknown_field_name(&inner.to_string()).is_some() => unknown_fields::<T>(raw),
            _ => vec![],
        };
        ApiError::BadRequest(format!("invalid JSON body: {}", with_all(&first, &all)))
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(parsed)
}

/// serde stops at the first unknown field; with more than one, say them
/// all before its message (which lists what is expected).
pub fn with_all(first: &str, all: &[String]) -> String {
    if all.len() < 2 {
        return first.to_owned();
    }
    let names: Vec<String> = all.iter().map(|f| format!("`{f}`")).collect();
    format!("unknown fields {}; {first}", names.join(", "))
}

/// The field an "unknown field `x`, expected …" error names.
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.split_once("unknown field `")?.1;
    Some(rest.split_once('`')?.0.to_owned())
}

/// Every field of `raw` that `T` does not know, with its path
/// (`evses[0].maxAmps`): each one serde reports is taken out and the rest
/// parsed again. Stops where the path cannot be followed (inside a tagged
/// enum serde does not track it), so it may find fewer than there are.
pub fn unknown_fields<T: DeserializeOwned>(mut raw: Value) -> Vec<String> {
    use serde_path_to_error::Segment;
    let mut found = Vec::new();
    // Each round removes one key, so this ends; the cap bounds the work a
    // hostile body can cause (the body limit bounds it too).
    for _ in 0..64 {
        let Err(e) = serde_path_to_error::deserialize::<_, T>(&raw) else {
            break;
        };
        let Some(field) = unknown_field_name(&e.inner().to_string()) else {
            break;
        };
        let path = e.path().to_string();
        let mut at = &mut raw;
        for segment in e.path().iter() {
            let next = match segment {
                Segment::Seq { index } => at.as_array_mut().and_then(|a| a.get_mut(*index)),
                Segment::Map { key } => at.as_object_mut().and_then(|o| o.get_mut(key)),
                Segment::Enum { .. } => Some(at),
                Segment::Unknown => None,
            };
            match next {
                Some(n) => at = n,
                None => return found,
            }
        }
        if at.as_object_mut().and_then(|o| o.remove(&field)).is_none() {
            break;
        }
        found.push(if path.is_empty() || path == "." {
            field
        } else {
            format!("{path}.{field}")
        });
    }
    found
}

pub type Params = HashMap<String, String>;

pub fn page(params: &Params) -> Result<PageRequest, ApiError> {
    let limit = match params.get("limit") {
        None => PageRequest::DEFAULT_LIMIT,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=PageRequest::MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit: must be 1 to {}",
                    PageRequest::MAX_LIMIT
                )))
            }
        },
    };
    let cursor = params.get("cursor").filter(|c| !c.is_empty()).cloned();
    Ok(PageRequest { limit, cursor })
}

pub fn time_param(params: &Params, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match params.get(name).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "{name}: must be an RFC 3339 timestamp, e.g. 2026-01-31T23:00:00Z"
                ))
            }),
    }
}

pub use csms_kernel::views::{time, wh};

/// `If-Match` as a version number (`3`, `"3"` or `W/"3"`); `*` or no header
/// is `None`. `what` names the resource in the error.
pub fn if_match(headers: &axum::http::HeaderMap, what: &str) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let err = || {
        ApiError::BadRequest(format!(
            "If-Match: must be the {what}'s version, e.g. 3 or \"3\" (its ETag)"
        ))
    };
    let s = v.to_str().map_err(|_| err())?.trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.strip_prefix("W/").unwrap_or(s);
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    s.parse::<u64>().map(Some).map_err(|_| err())
}
