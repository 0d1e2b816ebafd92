//! `/api/v1/id-tokens`: the registry of identifiers drivers present, and
//! `/api/v1/unregistered-id-tokens`: those stations presented that it does
//! not know. The use cases are `csms_charging::laddid`'s.
//!
//! Values in paths are URL-encoded (`/id-tokens/A%2FB`). A `MacAddress`
//! token is stored normalised (12 upper-case hex digits), and a path in
//! any MAC spelling (`VID:01:23:…`) finds it.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{if_match, json_body, page, Params};
use crate::views;
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use chrono::Utc;
use csms_charging::laddid::{self, NewIdToken, TokenFields};
use csms_domain::token::IdTokenRecord;
use csms_domain::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// The changeable fields of a token, and the body structs that carry them
/// (spelled out in each: `deny_unknown_fields` does not work through
/// `#[serde(flatten)]`).
macro_rules! token_body {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub(crate) struct $name {
            $($(#[$fdoc])* $field: $ty,)*
            /// `Accepted`, `Blocked`, `Expired`, `Invalid`.
            status: Option<String>,
            /// Not accepted before this time; `null` clears it.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>, format = DateTime)]
            valid_from: Option<Option<String>>,
            /// `Expired` from this time on; `null` clears it.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>, format = DateTime)]
            valid_to: Option<Option<String>>,
            /// The former name of `validTo` (accepted on create only).
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>, format = DateTime)]
            expires_at: Option<Option<String>>,
            /// Parent (group) id sent to chargers (1.6 `parentIdTag`, 2.0.1
            /// `groupIdToken`); at most 20 characters.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            parent_id: Option<Option<String>>,
            /// User group ("residents", "staff"): tariffs assigned to the group apply
            /// to this token. Letters, digits, `.`, `_`, `-`; at most 64.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            group: Option<Option<String>>,
            /// Plug&Charge contract id (e.g. `SE-ABC-C12345678-X`).
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            emaid: Option<Option<String>>,
            /// Label or holder name; at most 200 characters.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            label: Option<Option<String>>,
            /// The person who holds it: a person of the organisation
            /// (`usr_…`, any role); `null` clears it.
            #[serde(default, deserialize_with = "nullable")]
            #[schema(value_type = Option<String>)]
            user_id: Option<Option<String>>,
        }

        impl $name {
            fn fields(self, create: bool) -> Result<TokenFields, ApiError> {
                fields(
                    create,
                    TokenFields {
                        status: self.status,
                        valid_from: at("validFrom", self.valid_from)?,
                        valid_to: None,
                        parent_id: self.parent_id,
                        group: self.group,
                        emaid: self.emaid,
                        label: self.label,
                        user_id: self.user_id,
                    },
                    self.valid_to,
                    self.expires_at,
                )
            }
        }
    };
}

token_body!(
    /// A new token; `status` is required.
    CreateToken {
        /// A `MacAddress` is stored normalised: `VID:01:23:45:67:89:ab` becomes `0123456789AB`.
        id_token: String,
        /// `ISO14443`, `ISO15693`, `eMAID`, `MacAddress`, `Central`, `KeyCode`, `Local`, `NoAuthorization`.
        #[serde(rename = "type")]
        token_type: String,
    }
);

token_body!(
    /// Any of the fields; a field left out stays as it is, `null` clears
    /// it. The value and type are fixed.
    UpdateToken {}
);

token_body!(
    /// Like a create, without the value; `type` defaults to the one seen
    /// (else `ISO14443`); `status` is required.
    RegisterSeen {
        #[serde(rename = "type")]
        token_type: Option<String>,
    }
);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BlockToken {
    /// Why (lost card, misuse …); 1–200 characters.
    reason: String,
}

/// `validTo`, or on create its former name `expiresAt`.
fn fields(
    create: bool,
    mut f: TokenFields,
    valid_to: Option<Option<String>>,
    expires_at: Option<Option<String>>,
) -> Result<TokenFields, ApiError> {
    f.valid_to = match (valid_to, expires_at) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "expiresAt: give validTo only (expiresAt is its former name)".into(),
            ))
        }
        (None, Some(_)) if !create => {
            return Err(ApiError::BadRequest(
                "expiresAt: use validTo to change it".into(),
            ))
        }
        (Some(v), None) => at("validTo", Some(v))?,
        (None, e) => at("expiresAt", e)?,
    };
    Ok(f)
}

/// A present field, `null` or not: `Some(None)` for `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn at(field: &str, raw: Option<Option<String>>) -> Result<Option<Option<Timestamp>>, ApiError> {
    raw.map(|v| {
        v.map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::BadRequest(format!("{field}: must be an RFC 3339 timestamp"))
                })
        })
        .transpose()
    })
    .transpose()
}

/// Who made a change, as a token's block records it.
fn by(who: &Principal) -> String {
    who.actor().audit_name()
}

#[utoipa::path(post, path = "/id-tokens", operation_id = "createIdToken", tag = "id-tokens", summary = "Register an id token", request_body = CreateToken, responses((status = 201, body = views::IdToken), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: CreateToken = json_body(&body)?;
    let (id_token, token_type) = (req.id_token.clone(), req.token_type.clone());
    let new = NewIdToken {
        id_token,
        token_type,
        fields: req.fields(true)?,
        org_id: Some(who.org_id),
    };
    let record = laddid::register_id_token(&*state.store, &*state.clock, new).await?;
    crate::local_list::tokens_changed(&state, &record.org_id).await;
    Ok((StatusCode::CREATED, Json(token_json(&record))))
}

#[utoipa::path(get, path = "/id-tokens", operation_id = "listIdTokens", tag = "id-tokens", summary = "List id tokens", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::IdToken>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state.store.list_id_tokens(&who.org_id, &page).await?;
    let items: Vec<Value> = result.items.iter().map(token_json).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

#[utoipa::path(get, path = "/id-tokens/{value}", operation_id = "getIdToken", tag = "id-tokens", summary = "Read one id token", params(("value" = String, Path, description = "The token's value, URL-encoded (any case; a MAC address in any spelling)")), responses((status = 200, body = views::IdToken), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = laddid::get(&*state.store, &who.org_id, &value).await?;
    Ok(Json(token_json(&record)))
}

#[utoipa::path(patch, path = "/id-tokens/{value}", operation_id = "updateIdToken", tag = "id-tokens", summary = "Change an id token's status, validity, parent id, group, eMAID or label (its value and type are fixed)", params(("value" = String, Path, description = "The token's value, URL-encoded"), ("If-Match" = Option<String>, Header, description = "The version the change is based on (`version`): 412 if the token has changed since")), request_body = UpdateToken, responses((status = 200, body = views::IdToken), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed by a concurrent request; read it again and retry", body = ErrorBody), (status = 412, description = "`If-Match` names a version that is no longer the token's", body = ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // Another organisation's token is a 404 before anything about the body.
    laddid::get(&*state.store, &who.org_id, &value).await?;
    if serde_json::from_slice::<Value>(&body)
        .ok()
        .is_some_and(|v| v.get("type").is_some() || v.get("idToken").is_some())
    {
        // Named, rather than refused as unknown fields.
        return Err(ApiError::BadRequest(
            "type: an id token's value and type are fixed; delete it and register it again".into(),
        ));
    }
    let req: UpdateToken = json_body(&body)?;
    let expected = if_match(&headers, "id token")?;
    let fields = req.fields(false)?;
    let record = laddid::update(
        &*state.store,
        &*state.clock,
        &who.org_id,
        &value,
        fields,
        expected,
    )
    .await?;
    crate::local_list::tokens_changed(&state, &record.org_id).await;
    Ok(Json(token_json(&record)))
}

#[utoipa::path(delete, path = "/id-tokens/{value}", operation_id = "deleteIdToken", tag = "id-tokens", summary = "Delete an id token (sessions keep the value they were started with)", params(("value" = String, Path, description = "The token's value, URL-encoded")), responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
) -> Result<StatusCode, ApiError> {
    laddid::delete(&*state.store, &who.org_id, &value).await?;
    crate::local_list::tokens_changed(&state, &who.org_id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/id-tokens/{value}/block", operation_id = "blockIdToken", tag = "id-tokens", summary = "Block an id token (status Blocked), with the reason; who and when are recorded", params(("value" = String, Path, description = "The token's value, URL-encoded")), request_body = BlockToken, responses((status = 200, body = views::IdToken), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Changed by a concurrent request; retry", body = ErrorBody)))]
pub async fn block(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    laddid::get(&*state.store, &who.org_id, &value).await?;
    let req: BlockToken = json_body(&body)?;
    let record = block_token(&state, &who, &value, &req.reason).await?;
    Ok(Json(token_json(&record)))
}

/// Blocks the caller's organisation's token `value` with `reason` and
/// brings the stations' local lists up to date: the API route's use case,
/// the portal's too.
pub async fn block_token(
    state: &ApiState,
    who: &Principal,
    value: &str,
    reason: &str,
) -> Result<IdTokenRecord, ApiError> {
    let record = laddid::block(
        &*state.store,
        &*state.clock,
        &who.org_id,
        value,
        reason,
        &by(who),
    )
    .await?;
    crate::local_list::tokens_changed(state, &record.org_id).await;
    Ok(record)
}

/// Unblocks the caller's organisation's token `value` (see [`block_token`]).
pub async fn unblock_token(
    state: &ApiState,
    who: &Principal,
    value: &str,
) -> Result<IdTokenRecord, ApiError> {
    let record =
        laddid::unblock(&*state.store, &*state.clock, &who.org_id, value, &by(who)).await?;
    crate::local_list::tokens_changed(state, &record.org_id).await;
    Ok(record)
}

/// Registers the identifier `value` seen at the caller's organisation's
/// stations, with `fields` (see [`block_token`]).
pub async fn register_seen_token(
    state: &ApiState,
    who: &Principal,
    value: &str,
    token_type: Option<String>,
    fields: laddid::TokenFields,
) -> Result<IdTokenRecord, ApiError> {
    let record = laddid::register_seen(
        &*state.store,
        &*state.clock,
        &who.org_id,
        value,
        token_type,
        fields,
    )
    .await?;
    crate::local_list::tokens_changed(state, &record.org_id).await;
    Ok(record)
}

#[utoipa::path(post, path = "/id-tokens/{value}/unblock", operation_id = "unblockIdToken", tag = "id-tokens", summary = "Unblock an id token (status Accepted); the last block stays, with who unblocked it and when", params(("value" = String, Path, description = "The token's value, URL-encoded")), responses((status = 200, body = views::IdToken), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not blocked, or changed by a concurrent request", body = ErrorBody)))]
pub async fn unblock(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = unblock_token(&state, &who, &value).await?;
    Ok(Json(token_json(&record)))
}

#[utoipa::path(get, path = "/unregistered-id-tokens", operation_id = "listUnregisteredIdTokens", tag = "id-tokens", summary = "Identifiers the organisation's stations were presented that are not registered, in order of value (case-insensitive)", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<views::UnregisteredIdToken>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn list_unregistered(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = page(&params)?;
    let result = state.store.list_unregistered(&who.org_id, &page).await?;
    let items: Vec<views::UnregisteredIdToken> = result.items.iter().map(Into::into).collect();
    Ok(Json(
        json!({"items": items, "nextCursor": result.next_cursor}),
    ))
}

#[utoipa::path(post, path = "/unregistered-id-tokens/{value}/register", operation_id = "registerUnregisteredIdToken", tag = "id-tokens", summary = "Register an identifier seen at a station in one call; it leaves the unregistered list", params(("value" = String, Path, description = "The value as listed, URL-encoded")), request_body = RegisterSeen, responses((status = 201, body = views::IdToken), (status = 400, description = "Invalid input; the message names the field", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "Not in the organisation's unregistered list", body = ErrorBody), (status = 409, description = "A token with this value exists", body = ErrorBody)))]
pub async fn register_unregistered(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(value): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    laddid::get_unregistered(&*state.store, &who.org_id, &value).await?;
    let req: RegisterSeen = json_body(&body)?;
    let token_type = req.token_type.clone();
    let record = register_seen_token(&state, &who, &value, token_type, req.fields(true)?).await?;
    Ok((StatusCode::CREATED, Json(token_json(&record))))
}

fn token_json(t: &IdTokenRecord) -> Value {
    serde_json::to_value(crate::views::IdToken::from(t)).expect("views serialise")
}
