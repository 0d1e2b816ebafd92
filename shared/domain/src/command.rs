//! Commands: what an operator or partner asks a station to do, independent
//! of the OCPP version that carries it, and the record that tracks each one
//! from the request to the charger's answer.
//!
//! A [`CommandRequest`] says *what* (remote start, reset, …) in the
//! product's own words; the OCPP layer in `csms-commands` turns it into
//! the 1.6 or 2.0.1 CALL and reads the answer back into a
//! [`CommandStatus`]. The [`Command`] record is the correlation: its id is
//! the OCPP message id of the CALL, so a CALLRESULT finds its command with
//! one key lookup.
//!
//! The request keeps its serde form: it is the API's request body and what
//! command views show. The record's stored JSON form is
//! `csms_store_records::command`, not decided here.

use crate::{OrgId, StationId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Command ids are ULIDs: unique without coordination, sortable by creation
/// time, and short enough (26 chars) to be the OCPP message id (max 36).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandId(String);

impl CommandId {
    /// Monotonic within the process: commands made in the same millisecond
    /// sort in the order they were made, as a station's queue is sent in id
    /// order (random low bits could put a later command first).
    pub fn new() -> Self {
        static IDS: std::sync::Mutex<ulid::Generator> =
            std::sync::Mutex::new(ulid::Generator::new());
        let id = IDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .generate()
            // Only after 2^80 ids in one millisecond.
            .unwrap_or_else(|_| ulid::Ulid::new());
        CommandId(id.to_string())
    }

    /// Accepts what [`CommandId::new`] makes: 26 Crockford base-32 characters.
    pub fn parse(s: &str) -> Option<Self> {
        ulid::Ulid::from_string(s)
            .ok()
            .map(|u| CommandId(u.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CommandId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a command stands. `Pending` until the charger answers; the rest
/// are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Waiting its turn (`sent_at` is `None`) or sent and awaiting the answer.
    Pending,
    /// The charger answered and agreed (`Accepted`, `Unlocked`, a
    /// configuration read, …).
    Accepted,
    /// The charger answered and declined (`Rejected`, `NotSupported`,
    /// `UnlockFailed`, …); the answer is kept in `response`.
    Rejected,
    /// The charger answered with a CALLERROR, or the CALL could not be sent.
    Failed,
    /// No answer within the command's timeout.
    Timeout,
    /// The station was not connected when the command was to be sent.
    Offline,
}

impl CommandStatus {
    pub fn is_final(self) -> bool {
        self != CommandStatus::Pending
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::Accepted => "accepted",
            CommandStatus::Rejected => "rejected",
            CommandStatus::Failed => "failed",
            CommandStatus::Timeout => "timeout",
            CommandStatus::Offline => "offline",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResetKind {
    /// 1.6 `Soft`; 2.0.1 has no soft/hard distinction.
    Soft,
    /// 1.6 `Hard`.
    Hard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResetWhen {
    /// 2.0.1 `OnIdle`: after running transactions end.
    OnIdle,
    /// 2.0.1 `Immediate`.
    Immediate,
}

/// Which message a `triggerMessage` command asks for (names as in OCPP;
/// the 2.0.1-only ones are refused for a 1.6 station and vice versa).
pub type TriggerName = String;

/// One configuration item: a 1.6 key (`variable` only), or a 2.0.1
/// component/variable pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigRef {
    /// 2.0.1 component name (`OCPPCommCtrlr`); absent for 1.6 keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    /// 1.6 key or 2.0.1 variable name.
    pub variable: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_instance: Option<String>,
}

/// Profile ids load balancing uses (TxDefaultProfile and TxProfile per
/// EVSE); profiles from the API may not take them.
pub const LOAD_PROFILE_IDS: std::ops::Range<i32> = 1_800_000_000..1_900_000_000;

/// A charging schedule period: from `start_period_s` seconds after the
/// schedule start, at most `limit` (in the schedule's unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulePeriod {
    pub start_period_s: u32,
    pub limit: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RateUnit {
    /// Amperes per phase.
    A,
    /// Watts.
    W,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProfilePurpose {
    /// 1.6 `ChargePointMaxProfile`, 2.0.1 `ChargingStationMaxProfile`.
    StationMax,
    TxDefault,
    TxProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProfileKind {
    Absolute,
    Recurring,
    Relative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Recurrency {
    Daily,
    Weekly,
}

/// A charging profile in version-neutral form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargingProfile {
    pub id: i32,
    pub stack_level: u32,
    pub purpose: ProfilePurpose,
    pub kind: ProfileKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrency: Option<Recurrency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    /// For `TxProfile`: the transaction it limits (1.6 integer as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    pub rate_unit: RateUnit,
    pub periods: Vec<SchedulePeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<Decimal>,
}

/// An entry of a local authorization list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalListEntry {
    pub id_token: String,
    /// 2.0.1 token type (`ISO14443`, …); 1.6 ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// `Accepted`, `Blocked`, `Expired`, `Invalid`; absent = remove the
    /// entry (differential update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// What to do, version-neutral. Serialized as `{"type": "remoteStart", …}`
/// — exactly the body of `POST /api/v1/stations/{id}/commands`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum CommandRequest {
    /// 1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction.
    #[serde(rename_all = "camelCase")]
    RemoteStart {
        id_token: String,
        /// 2.0.1 token type, default `ISO14443`… (`Central` for app starts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_type: Option<String>,
        /// 1.6 connectorId / 2.0.1 evseId; absent = the charger chooses.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charging_profile: Option<ChargingProfile>,
    },
    /// 1.6 RemoteStopTransaction, 2.0.1 RequestStopTransaction.
    #[serde(rename_all = "camelCase")]
    RemoteStop {
        transaction_id: String,
    },
    /// A TxProfile with limit 0 on the transaction (id fixed per transaction
    /// so that `resume` can clear exactly it).
    #[serde(rename_all = "camelCase")]
    Pause {
        transaction_id: String,
        /// Filled in by the CSMS from the session (1.6 connectorId / 2.0.1 evseId).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    /// ClearChargingProfile of the profile `pause` set.
    #[serde(rename_all = "camelCase")]
    Resume {
        transaction_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    /// 1.6 UnlockConnector (connectorId = evse_id), 2.0.1 UnlockConnector.
    #[serde(rename_all = "camelCase")]
    Unlock {
        evse_id: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connector_id: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    Reset {
        /// 1.6 Soft/Hard (default Soft).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<ResetKind>,
        /// 2.0.1 OnIdle/Immediate (default OnIdle).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<ResetWhen>,
        /// 2.0.1 only: reset one EVSE.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    ChangeAvailability {
        /// Absent (or 0) = the whole station.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connector_id: Option<u32>,
        operative: bool,
    },
    /// 1.6 GetDiagnostics, 2.0.1 GetLog (DiagnosticsLog).
    #[serde(rename_all = "camelCase")]
    GetDiagnostics {
        location: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_time: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_time: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retries: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_interval_s: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    UpdateFirmware {
        location: String,
        retrieve_at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retries: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_interval_s: Option<u32>,
        /// 2.0.1 signed firmware.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signing_certificate: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// 1.6 GetConfiguration; 2.0.1 GetVariables, or without keys GetBaseReport
    /// (FullInventory): the station then sends its device model, shown by
    /// `GET /stations/{id}/device-model`.
    #[serde(rename_all = "camelCase")]
    GetConfiguration {
        #[serde(default)]
        keys: Vec<ConfigRef>,
    },
    /// 1.6 ChangeConfiguration, 2.0.1 SetVariables.
    #[serde(rename_all = "camelCase")]
    ChangeConfiguration {
        key: ConfigRef,
        value: String,
    },
    #[serde(rename_all = "camelCase")]
    TriggerMessage {
        message: TriggerName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connector_id: Option<u32>,
    },
    ClearCache,
    #[serde(rename_all = "camelCase")]
    SendLocalList {
        version: i32,
        /// `full` replaces the list; `differential` updates it.
        full: bool,
        #[serde(default)]
        entries: Vec<LocalListEntry>,
    },
    GetLocalListVersion,
    #[serde(rename_all = "camelCase")]
    ReserveNow {
        reservation_id: i32,
        id_token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_type: Option<String>,
        expires_at: Timestamp,
        /// 1.6 connectorId (0 = any) / 2.0.1 evseId (absent = any).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_id_token: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    CancelReservation {
        reservation_id: i32,
    },
    #[serde(rename_all = "camelCase")]
    DataTransfer {
        vendor_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// 1.6 sends text; 2.0.1 any JSON. A string is sent as is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    SetChargingProfile {
        /// 1.6 connectorId / 2.0.1 evseId; 0 = the whole station.
        evse_id: u32,
        profile: ChargingProfile,
    },
    /// A limit set by load balancing: a SetChargingProfile with a profile id
    /// from [`LOAD_PROFILE_IDS`], so operators' profiles and the pause are
    /// never replaced by it. The API does not accept it.
    #[serde(rename_all = "camelCase")]
    LoadLimit {
        evse_id: u32,
        profile: ChargingProfile,
    },
    #[serde(rename_all = "camelCase")]
    ClearChargingProfile {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile_id: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<ProfilePurpose>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stack_level: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    GetCompositeSchedule {
        evse_id: u32,
        duration_s: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rate_unit: Option<RateUnit>,
    },
}

impl CommandRequest {
    /// The API name of the command (`remoteStart`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            CommandRequest::RemoteStart { .. } => "remoteStart",
            CommandRequest::RemoteStop { .. } => "remoteStop",
            CommandRequest::Pause { .. } => "pause",
            CommandRequest::Resume { .. } => "resume",
            CommandRequest::Unlock { .. } => "unlock",
            CommandRequest::Reset { .. } => "reset",
            CommandRequest::ChangeAvailability { .. } => "changeAvailability",
            CommandRequest::GetDiagnostics { .. } => "getDiagnostics",
            CommandRequest::UpdateFirmware { .. } => "updateFirmware",
            CommandRequest::GetConfiguration { .. } => "getConfiguration",
            CommandRequest::ChangeConfiguration { .. } => "changeConfiguration",
            CommandRequest::TriggerMessage { .. } => "triggerMessage",
            CommandRequest::ClearCache => "clearCache",
            CommandRequest::SendLocalList { .. } => "sendLocalList",
            CommandRequest::GetLocalListVersion => "getLocalListVersion",
            CommandRequest::ReserveNow { .. } => "reserveNow",
            CommandRequest::CancelReservation { .. } => "cancelReservation",
            CommandRequest::DataTransfer { .. } => "dataTransfer",
            CommandRequest::SetChargingProfile { .. } => "setChargingProfile",
            CommandRequest::LoadLimit { .. } => "loadLimit",
            CommandRequest::ClearChargingProfile { .. } => "clearChargingProfile",
            CommandRequest::GetCompositeSchedule { .. } => "getCompositeSchedule",
        }
    }

    /// Every type's name ([`type_name`](Self::type_name)) but the balancer's
    /// `loadLimit`: what the API accepts and command views show.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "remoteStart",
        "remoteStop",
        "pause",
        "resume",
        "unlock",
        "reset",
        "changeAvailability",
        "getDiagnostics",
        "updateFirmware",
        "getConfiguration",
        "changeConfiguration",
        "triggerMessage",
        "clearCache",
        "sendLocalList",
        "getLocalListVersion",
        "reserveNow",
        "cancelReservation",
        "dataTransfer",
        "setChargingProfile",
        "clearChargingProfile",
        "getCompositeSchedule",
    ];
}

/// The record of one command, from request to outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Also the OCPP message id of the CALL.
    pub id: CommandId,
    pub station_id: StationId,
    pub org_id: OrgId,
    pub request: CommandRequest,
    pub status: CommandStatus,
    pub created_at: Timestamp,
    /// When the CALL went out (None while queued behind another call).
    pub sent_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// Give up waiting for the answer after this long once sent.
    pub timeout_s: u32,
    /// The OCPP action actually sent (`RemoteStartTransaction`, …).
    pub action: Option<String>,
    /// The charger's CALLRESULT payload, as received.
    pub response: Option<serde_json::Value>,
    /// Why it failed: CALLERROR code and description, or a send error.
    pub error: Option<String>,
    /// What the station reported afterwards about a long-running command
    /// (firmware download and installation, diagnostics upload), oldest first.
    pub progress: Vec<Progress>,
    /// Optimistic-concurrency version, as for sessions.
    pub version: u64,
}

/// One status notification about a command's work, as the station sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The OCPP status (`Downloading`, `Installed`, `UploadFailed`, …).
    pub status: String,
    pub at: Timestamp,
}

/// Statuses after which a station says no more about that piece of work.
pub const FINAL_PROGRESS: &[&str] = &[
    // firmware, 1.6 and 2.0.1
    "Installed",
    "DownloadFailed",
    "InstallationFailed",
    "InvalidSignature",
    "InstallVerificationFailed",
    "SignatureVerified_Failed",
    // diagnostics / logs
    "Uploaded",
    "UploadFailed",
    "BadMessage",
    "NotSupportedOperation",
    "PermissionDenied",
    "AcceptedCanceled",
];

impl Command {
    /// Whether a station's later status notification can still belong here.
    pub fn tracking(&self) -> bool {
        self.status == CommandStatus::Accepted
            && self
                .progress
                .last()
                .is_none_or(|p| !FINAL_PROGRESS.contains(&p.status.as_str()))
    }
}

impl Command {
    pub const DEFAULT_TIMEOUT_S: u32 = 30;

    /// When a sent command times out.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.sent_at
            .map(|s| s + chrono::TimeDelta::seconds(i64::from(self.timeout_s)))
    }
}

#[cfg(test)]
mod id_tests {
    use super::CommandId;

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        // Thousands of ids fall in the same millisecond: with random low bits
        // about half of these pairs would be out of order.
        let ids: Vec<CommandId> = (0..10_000).map(|_| CommandId::new()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{:?} then {:?}", pair[0], pair[1]);
            assert_eq!(CommandId::parse(pair[1].as_str()).as_ref(), Some(&pair[1]));
        }
    }
}
