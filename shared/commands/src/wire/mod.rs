//! Commands on the wire: each version-neutral [`CommandRequest`] as the OCPP
//! 1.6 or 2.0.1 CALL that carries it, and the charger's CALLRESULT read back
//! into a [`CommandStatus`].
//!
//! Every payload built here is checked against the official request schema
//! before it leaves, so bad input is refused with the schema's reason (a 400
//! for the API caller) instead of reaching a charger as a malformed CALL.
//! Every answer is checked against the official response schema before it is
//! read, so a charger's garbage marks the command failed instead of being
//! taken for a "no".
//!
//! # Layout
//! One module per operation, each covering both versions with small serde
//! structs for the payloads and an `accepted` reading of the answer:
//! `remote_start`, `remote_stop`, `pause` (pause and resume),
//! `unlock`, `reset`, `change_availability`, `diagnostics`,
//! `firmware`, `configuration` (get and change), `trigger_message`,
//! `clear_cache`, `local_list` (send and version), `reservation`
//! (reserve and cancel), `data_transfer`, `charging_profile` (set,
//! clear, composite schedule, and the profile conversion that remote start
//! and pause share). This file holds the public entry points and the helpers
//! several operations need.

mod change_availability;
mod charging_profile;
mod clear_cache;
mod configuration;
mod data_transfer;
mod diagnostics;
mod firmware;
mod local_list;
mod pause;
mod remote_start;
mod remote_stop;
mod reservation;
mod reset;
mod trigger_message;
mod unlock;

#[cfg(test)]
mod tests;

pub use pause::pause_profile_id;

// Timestamps we send: RFC 3339, UTC, milliseconds, `Z` — as the charger
// handlers send them.
use csms_charging::charger::wire::fnv1a;
use csms_charging::charger::wire::format_time as time;
pub use csms_charging::charger::wire::request_id;
use csms_domain::command::{CommandId, CommandRequest, CommandStatus};
use csms_domain::{OcppVersion, Timestamp};
use csms_ocpp::schema::{self, Kind, Violation};
use serde::Serialize;
use serde_json::Value;

/// An OCPP CALL ready to send as `[2, commandId, action, payload]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub action: &'static str,
    pub payload: Value,
}

/// What encoding needs besides the request itself.
pub struct EncodeContext<'a> {
    /// Source of the 2.0.1 request ids (`remoteStartId`, `requestId`), so a
    /// re-encode at send time yields the same CALL as the check at submit.
    pub command_id: &'a CommandId,
    /// To refuse what is already over (a reservation expiring in the past).
    pub now: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The command does not exist in this OCPP version (e.g. a 2.0.1-only
    /// trigger on a 1.6 station).
    #[error("{0}")]
    Unsupported(String),
    /// The parameters cannot make a valid message (missing evseId for pause,
    /// non-numeric 1.6 transaction id, a value the official schema refuses).
    #[error("{0}")]
    Invalid(String),
}

/// The CALL that carries `req` to a station speaking `version`, checked
/// against the official request schema.
pub fn encode(
    req: &CommandRequest,
    version: OcppVersion,
    ctx: &EncodeContext,
) -> Result<Call, EncodeError> {
    use CommandRequest as R;
    let call = match req {
        R::RemoteStart {
            id_token,
            token_type,
            evse_id,
            charging_profile,
        } => remote_start::encode(
            Token::new(id_token, token_type.as_deref()),
            *evse_id,
            charging_profile.as_ref(),
            version,
            ctx.command_id,
        ),
        R::RemoteStop { transaction_id } => remote_stop::encode(transaction_id, version),
        R::Pause {
            transaction_id,
            evse_id,
        } => pause::pause(transaction_id, *evse_id, version),
        R::Resume { transaction_id, .. } => pause::resume(transaction_id, version),
        R::Unlock {
            evse_id,
            connector_id,
        } => unlock::encode(*evse_id, *connector_id, version),
        R::Reset {
            kind,
            when,
            evse_id,
        } => reset::encode(*kind, *when, *evse_id, version),
        R::ChangeAvailability {
            evse_id,
            connector_id,
            operative,
        } => change_availability::encode(*evse_id, *connector_id, *operative, version),
        R::GetDiagnostics {
            location,
            start_time,
            stop_time,
            retries,
            retry_interval_s,
        } => diagnostics::encode(
            location,
            *start_time,
            *stop_time,
            Retries::new(*retries, *retry_interval_s),
            version,
            ctx.command_id,
        ),
        R::UpdateFirmware {
            location,
            retrieve_at,
            retries,
            retry_interval_s,
            signing_certificate,
            signature,
        } => firmware::encode(
            location,
            *retrieve_at,
            Retries::new(*retries, *retry_interval_s),
            signing_certificate.as_deref(),
            signature.as_deref(),
            version,
            ctx.command_id,
        ),
        R::GetConfiguration { keys } => configuration::get(keys, version, ctx.command_id),
        R::ChangeConfiguration { key, value } => configuration::change(key, value, version),
        R::TriggerMessage {
            message,
            evse_id,
            connector_id,
        } => trigger_message::encode(message, *evse_id, *connector_id, version),
        R::ClearCache => clear_cache::encode(),
        R::SendLocalList {
            version: list_version,
            full,
            entries,
        } => local_list::send(*list_version, *full, entries, version),
        R::GetLocalListVersion => local_list::get_version(),
        R::ReserveNow {
            reservation_id,
            id_token,
            token_type,
            expires_at,
            evse_id,
            parent_id_token,
        } => reservation::reserve(
            *reservation_id,
            Token::new(id_token, token_type.as_deref()),
            *expires_at,
            *evse_id,
            parent_id_token.as_deref(),
            version,
            ctx.now,
        ),
        R::CancelReservation { reservation_id } => reservation::cancel(*reservation_id),
        R::DataTransfer {
            vendor_id,
            message_id,
            data,
        } => data_transfer::encode(vendor_id, message_id.as_deref(), data.as_ref(), version),
        R::SetChargingProfile { evse_id, profile } => {
            charging_profile::set(*evse_id, profile, version)
        }
        R::LoadLimit { evse_id, profile } => charging_profile::set_any(*evse_id, profile, version),
        R::ClearChargingProfile {
            profile_id,
            evse_id,
            purpose,
            stack_level,
        } => charging_profile::clear(*profile_id, *evse_id, *purpose, *stack_level, version),
        R::GetCompositeSchedule {
            evse_id,
            duration_s,
            rate_unit,
        } => charging_profile::composite(*evse_id, *duration_s, *rate_unit, version),
    }?;
    debug_assert_eq!(call.action, action_of(req, version));
    check(version, &call).map_err(|v| refused(&call, &v))?;
    Ok(call)
}

/// The charger's CALLRESULT payload for `req` → `Accepted` or `Rejected`.
/// `Err(description)` when the payload violates the official response
/// schema (the caller then marks the command failed).
pub fn interpret(
    req: &CommandRequest,
    version: OcppVersion,
    response: &Value,
) -> Result<CommandStatus, String> {
    use CommandRequest as R;
    let action = action_of(req, version);
    schema::validate(wire_version(version), action, Kind::Response, response)
        .map_err(|v| format!("{action} response: {}", v.description))?;
    // Past the schema check, every field read below exists with its type.
    let yes = match req {
        R::RemoteStart { .. } => remote_start::accepted(response),
        R::RemoteStop { .. } => remote_stop::accepted(response),
        R::Pause { .. } | R::Resume { .. } => pause::accepted(response),
        R::Unlock { .. } => unlock::accepted(response),
        R::Reset { .. } => reset::accepted(response),
        R::ChangeAvailability { .. } => change_availability::accepted(response),
        R::GetDiagnostics { .. } => diagnostics::accepted(version, response),
        R::UpdateFirmware { .. } => firmware::accepted(version, response),
        R::GetConfiguration { keys } => configuration::get_accepted(keys, version, response),
        R::ChangeConfiguration { .. } => configuration::change_accepted(version, response),
        R::TriggerMessage { .. } => trigger_message::accepted(response),
        R::ClearCache => clear_cache::accepted(response),
        R::SendLocalList { .. } => local_list::send_accepted(response),
        R::GetLocalListVersion => local_list::get_version_accepted(response),
        R::ReserveNow { .. } | R::CancelReservation { .. } => reservation::accepted(response),
        R::DataTransfer { .. } => data_transfer::accepted(response),
        R::SetChargingProfile { .. }
        | R::LoadLimit { .. }
        | R::ClearChargingProfile { .. }
        | R::GetCompositeSchedule { .. } => charging_profile::accepted(response),
    };
    Ok(if yes {
        CommandStatus::Accepted
    } else {
        CommandStatus::Rejected
    })
}

/// The variable values a station's answer to `req` confirms (2.0.1
/// Get/SetVariables), for its device model. Called with an answer that
/// passed [`interpret`], so its fields have their schema types.
pub fn confirmed_values(
    req: &CommandRequest,
    version: OcppVersion,
    response: &Value,
) -> Vec<csms_charging::device_model::ValueUpdate> {
    match (version, req) {
        (OcppVersion::V201, CommandRequest::ChangeConfiguration { value, .. }) => {
            configuration::confirmed(&response["setVariableResult"], Some(value))
        }
        (OcppVersion::V201, CommandRequest::GetConfiguration { keys }) if !keys.is_empty() => {
            configuration::confirmed(&response["getVariableResult"], None)
        }
        _ => Vec::new(),
    }
}

/// The OCPP action `req` travels as on a `version` station.
pub fn action_of(req: &CommandRequest, version: OcppVersion) -> &'static str {
    use CommandRequest as R;
    let pick = |v16: &'static str, v201: &'static str| match version {
        OcppVersion::V16 => v16,
        OcppVersion::V201 => v201,
    };
    match req {
        R::RemoteStart { .. } => pick("RemoteStartTransaction", "RequestStartTransaction"),
        R::RemoteStop { .. } => pick("RemoteStopTransaction", "RequestStopTransaction"),
        R::Pause { .. } | R::SetChargingProfile { .. } | R::LoadLimit { .. } => {
            "SetChargingProfile"
        }
        R::Resume { .. } | R::ClearChargingProfile { .. } => "ClearChargingProfile",
        R::Unlock { .. } => "UnlockConnector",
        R::Reset { .. } => "Reset",
        R::ChangeAvailability { .. } => "ChangeAvailability",
        R::GetDiagnostics { .. } => pick("GetDiagnostics", "GetLog"),
        R::UpdateFirmware { .. } => "UpdateFirmware",
        R::GetConfiguration { keys } if keys.is_empty() => {
            pick("GetConfiguration", "GetBaseReport")
        }
        R::GetConfiguration { .. } => pick("GetConfiguration", "GetVariables"),
        R::ChangeConfiguration { .. } => pick("ChangeConfiguration", "SetVariables"),
        R::TriggerMessage { .. } => "TriggerMessage",
        R::ClearCache => "ClearCache",
        R::SendLocalList { .. } => "SendLocalList",
        R::GetLocalListVersion => "GetLocalListVersion",
        R::ReserveNow { .. } => "ReserveNow",
        R::CancelReservation { .. } => "CancelReservation",
        R::DataTransfer { .. } => "DataTransfer",
        R::GetCompositeSchedule { .. } => "GetCompositeSchedule",
    }
}

fn wire_version(v: OcppVersion) -> csms_ocpp::Version {
    csms_charging::charger::wire_version(v)
}

/// The payload against the official request schema of its action.
fn check(version: OcppVersion, call: &Call) -> Result<(), Violation> {
    schema::validate(
        wire_version(version),
        call.action,
        Kind::Request,
        &call.payload,
    )
}

/// A schema violation as the API caller's error: which message, where, why.
fn refused(call: &Call, v: &Violation) -> EncodeError {
    EncodeError::Invalid(format!("{}: {}", call.action, v.description))
}

/// Serialize a payload struct into the CALL. Our payload types are plain
/// structs with string keys, which always serialize; the error arm keeps
/// even an impossible failure a 400 instead of a panic.
fn call<T: Serialize>(action: &'static str, payload: &T) -> Result<Call, EncodeError> {
    serde_json::to_value(payload)
        .map(|payload| Call { action, payload })
        .map_err(|e| EncodeError::Invalid(format!("{action}: {e}")))
}

/// 1.6 transaction ids are integers (the CSMS hands them out in
/// StartTransaction.conf); anything else cannot name a 1.6 transaction.
fn v16_transaction_id(field: &str, tx: &str) -> Result<i32, EncodeError> {
    tx.parse::<i32>().map_err(|_| {
        EncodeError::Invalid(format!(
            "{field}: OCPP 1.6 transaction ids are integers, got {tx:?}"
        ))
    })
}

/// The `status` of an answer is one of `yes`.
fn status_in(response: &Value, yes: &[&str]) -> bool {
    response["status"]
        .as_str()
        .is_some_and(|s| yes.contains(&s))
}

/// The 2.0.1 token type when the request names none: RFID cards are what
/// operators register most.
const DEFAULT_TOKEN_TYPE: &str = "ISO14443";

/// An id token with its optional 2.0.1 type, as requests carry it.
#[derive(Clone, Copy)]
struct Token<'a> {
    id: &'a str,
    kind: Option<&'a str>,
}

impl<'a> Token<'a> {
    fn new(id: &'a str, kind: Option<&'a str>) -> Self {
        Token { id, kind }
    }

    fn v201(self) -> IdToken201<'a> {
        IdToken201 {
            id_token: self.id,
            kind: self.kind.unwrap_or(DEFAULT_TOKEN_TYPE),
        }
    }
}

/// 2.0.1 `IdTokenType`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdToken201<'a> {
    id_token: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// 2.0.1 `EVSEType`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Evse201 {
    id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_id: Option<u32>,
}

/// The 2.0.1 EVSE (and connector) a request addresses; no EVSE (or EVSE 0)
/// means the whole station, where a connector makes no sense.
fn evse201(
    evse_id: Option<u32>,
    connector_id: Option<u32>,
) -> Result<Option<Evse201>, EncodeError> {
    match (evse_id.filter(|&e| e > 0), connector_id) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(EncodeError::Invalid(
            "connectorId needs an evseId (> 0) in OCPP 2.0.1".into(),
        )),
        (Some(id), connector_id) => Ok(Some(Evse201 { id, connector_id })),
    }
}

/// The one 1.6 connector number a request addresses. 1.6 numbers connectors
/// station-wide, which is what `evseId` means there, and the API shows 1.6
/// connector N as EVSE N, connector N; a `connectorId` alone is taken as
/// that number too (someone thinking in 1.6 terms), and beside an `evseId`
/// it must be the same number.
fn v16_connector(
    evse_id: Option<u32>,
    connector_id: Option<u32>,
) -> Result<Option<u32>, EncodeError> {
    match (evse_id, connector_id) {
        (Some(e), None) => Ok(Some(e)),
        (Some(e), Some(c)) if c == e => Ok(Some(e)),
        (None, c) => Ok(c),
        (Some(e), Some(c)) => Err(EncodeError::Invalid(format!(
            "connectorId: {c} is not connector {e}: an OCPP 1.6 station numbers its connectors \
             station-wide, so connector N is evseId N with connectorId N (or leave connectorId out)"
        ))),
    }
}

/// `retries` / `retryInterval` of GetDiagnostics, GetLog and UpdateFirmware.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct Retries {
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_interval: Option<u32>,
}

impl Retries {
    fn new(retries: Option<u32>, retry_interval_s: Option<u32>) -> Self {
        Retries {
            retries,
            retry_interval: retry_interval_s,
        }
    }
}
