//! Commands on the wire: each version-neutral [`CommandRequest`] as the OCPP
//! 1.6 or 2.0.1 CALL that carries it, and the charger's CALLRESULT read back
//! into a [`CommandStatus`].
//!
//! Every payload built here is checked against the official request schema
//! before it leaves, so bad input is refused with the schema's reason instead
//! of reaching a charger as a malformed CALL. One module per operation, each
//! covering both versions.

mod availability;
mod charging_profile;
mod configuration;
mod data_transfer;
mod diagnostics;
mod firmware;
mod local_list;
mod remote;
mod reservation;
mod reset;
mod simple;
mod trigger;
mod unlock;

#[cfg(test)]
mod tests;

pub use charging_profile::pause_profile_id;

use csms_domain::command::{CommandId, CommandRequest, CommandStatus};
use csms_domain::{OcppVersion, Timestamp};
use csms_ocpp::schema::{self, Kind};
use serde_json::Value;

/// An OCPP CALL ready to send: `[2, commandId, action, payload]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub action: &'static str,
    pub payload: Value,
}

pub struct EncodeContext<'a> {
    pub command_id: &'a CommandId,
    pub now: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The command does not exist in this OCPP version.
    #[error("{0}")]
    Unsupported(String),
    /// The parameters cannot make a valid message.
    #[error("{0}")]
    Invalid(String),
}

pub fn encode(
    req: &CommandRequest,
    version: OcppVersion,
    ctx: &EncodeContext,
) -> Result<Call, EncodeError> {
    use CommandRequest as R;
    let v16 = version == OcppVersion::V16;
    let call = match req {
        R::RemoteStart { .. } => remote::start(req, v16, ctx)?,
        R::RemoteStop { transaction_id } => remote::stop(transaction_id, v16)?,
        R::Pause {
            transaction_id,
            evse_id,
        } => charging_profile::pause(transaction_id, *evse_id, v16)?,
        R::Resume {
            transaction_id,
            evse_id,
        } => charging_profile::resume(transaction_id, *evse_id, v16)?,
        R::Unlock {
            evse_id,
            connector_id,
        } => unlock::encode(*evse_id, *connector_id, v16),
        R::Reset {
            kind,
            when,
            evse_id,
        } => reset::encode(*kind, *when, *evse_id, v16)?,
        R::ChangeAvailability {
            evse_id,
            connector_id,
            operative,
        } => availability::encode(*evse_id, *connector_id, *operative, v16)?,
        R::GetDiagnostics { .. } => diagnostics::encode(req, v16, ctx),
        R::UpdateFirmware { .. } => firmware::encode(req, v16, ctx)?,
        R::GetConfiguration { keys } => configuration::get(keys, v16)?,
        R::ChangeConfiguration { key, value } => configuration::change(key, value, v16)?,
        R::TriggerMessage {
            message,
            evse_id,
            connector_id,
        } => trigger::encode(message, *evse_id, *connector_id, v16)?,
        R::ClearCache => simple::clear_cache(),
        R::GetLocalListVersion => simple::local_list_version(),
        R::SendLocalList {
            version: list_version,
            full,
            entries,
        } => local_list::encode(*list_version, *full, entries, v16)?,
        R::ReserveNow { .. } => reservation::reserve(req, v16)?,
        R::CancelReservation { reservation_id } => reservation::cancel(*reservation_id),
        R::DataTransfer {
            vendor_id,
            message_id,
            data,
        } => data_transfer::encode(vendor_id, message_id.as_deref(), data.as_ref(), v16),
        R::SetChargingProfile { evse_id, profile } => {
            charging_profile::set(*evse_id, profile, v16)?
        }
        R::ClearChargingProfile {
            profile_id,
            evse_id,
            purpose,
            stack_level,
        } => charging_profile::clear(*profile_id, *evse_id, *purpose, *stack_level, v16),
        R::GetCompositeSchedule {
            evse_id,
            duration_s,
            rate_unit,
        } => charging_profile::composite(*evse_id, *duration_s, *rate_unit, v16),
    };
    validate(version, &call)?;
    Ok(call)
}

/// The charger's CALLRESULT payload for `req` → accepted or rejected;
/// `Err` when the payload breaks the official response schema.
pub fn interpret(
    req: &CommandRequest,
    version: OcppVersion,
    response: &Value,
) -> Result<CommandStatus, String> {
    let action = action_of(req, version);
    schema::validate(wire_version(version), action, Kind::Response, response)
        .map_err(|v| format!("{} at {}", v.description, v.path))?;
    let yes = match action {
        // Answers that carry data, not a verdict: any answer is the outcome.
        "GetConfiguration"
        | "GetDiagnostics"
        | "UpdateFirmware"
        | "GetLocalListVersion"
        | "GetVariables"
            if version == OcppVersion::V16 || action != "UpdateFirmware" =>
        {
            true
        }
        "SetVariables" => response["setVariableResult"]
            .as_array()
            .is_some_and(|r| r.iter().all(|r| is_yes(&r["attributeStatus"]))),
        _ => is_yes(&response["status"]),
    };
    Ok(if yes {
        CommandStatus::Accepted
    } else {
        CommandStatus::Rejected
    })
}

/// The statuses across both versions that mean "done, or will be done".
fn is_yes(status: &Value) -> bool {
    matches!(
        status.as_str(),
        Some("Accepted" | "Unlocked" | "Scheduled" | "RebootRequired" | "AcceptedCanceled")
    )
}

/// The OCPP action a request travels as.
pub fn action_of(req: &CommandRequest, version: OcppVersion) -> &'static str {
    use CommandRequest as R;
    let v16 = version == OcppVersion::V16;
    let pick = |a: &'static str, b: &'static str| if v16 { a } else { b };
    match req {
        R::RemoteStart { .. } => pick("RemoteStartTransaction", "RequestStartTransaction"),
        R::RemoteStop { .. } => pick("RemoteStopTransaction", "RequestStopTransaction"),
        R::Pause { .. } | R::SetChargingProfile { .. } => "SetChargingProfile",
        R::Resume { .. } | R::ClearChargingProfile { .. } => "ClearChargingProfile",
        R::Unlock { .. } => "UnlockConnector",
        R::Reset { .. } => "Reset",
        R::ChangeAvailability { .. } => "ChangeAvailability",
        R::GetDiagnostics { .. } => pick("GetDiagnostics", "GetLog"),
        R::UpdateFirmware { .. } => "UpdateFirmware",
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
    crate::charger::wire_version(v)
}

fn validate(version: OcppVersion, call: &Call) -> Result<(), EncodeError> {
    schema::validate(
        wire_version(version),
        call.action,
        Kind::Request,
        &call.payload,
    )
    .map_err(|v| {
        let path = if v.path.is_empty() {
            "payload"
        } else {
            &v.path
        };
        EncodeError::Invalid(format!("{}: {} ({path})", call.action, v.description))
    })
}

/// A positive 31-bit number derived from the command id, for the request
/// ids 2.0.1 wants (`remoteStartId`, `requestId`): the same command always
/// gets the same one, so a re-encode at send time matches the validation.
fn derived_id(id: &CommandId) -> i32 {
    let mut h: u32 = 0x811c9dc5;
    for b in id.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    ((h & 0x7fff_ffff) | 1) as i32
}

fn time(t: Timestamp) -> Value {
    Value::String(crate::charger::wire::format_time(t))
}

/// Drop the `null`s of optional fields: OCPP schemas refuse `null`.
fn compact(mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        map.retain(|_, x| !x.is_null());
        for x in map.values_mut() {
            *x = compact(std::mem::take(x));
        }
    } else if let Value::Array(items) = &mut v {
        for x in items.iter_mut() {
            *x = compact(std::mem::take(x));
        }
    }
    v
}

fn call(action: &'static str, payload: Value) -> Call {
    Call {
        action,
        payload: compact(payload),
    }
}

/// 1.6 transaction ids are integers.
fn v16_transaction_id(tx: &str) -> Result<i64, EncodeError> {
    tx.trim().parse::<i64>().map_err(|_| {
        EncodeError::Invalid(format!(
            "transactionId: OCPP 1.6 transaction ids are integers, got {tx:?}"
        ))
    })
}
