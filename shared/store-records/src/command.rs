//! A command as stored: the record with its request, every command type's
//! fields, and the charging profiles some of them carry. The request is
//! stored only inside its command, so it has no stored form of its own.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::command::{
    ChargingProfile, Command, CommandId, CommandRequest, CommandStatus, ConfigRef, LocalListEntry,
    ProfileKind, ProfilePurpose, Progress, RateUnit, Recurrency, ResetKind, ResetWhen,
    SchedulePeriod,
};
use csms_domain::{OrgId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCommand {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "request")]
    pub request: StoredCommandRequest,
    #[serde(rename = "status")]
    pub status: StoredCommandStatus,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "sentAt", default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "completedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(rename = "timeoutS")]
    pub timeout_s: u32,
    #[serde(rename = "action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(rename = "response", default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
    #[serde(rename = "error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(rename = "progress", default, skip_serializing_if = "Vec::is_empty")]
    pub progress: Vec<StoredProgress>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredCommandStatus {
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "accepted")]
    Accepted,
    #[serde(rename = "rejected")]
    Rejected,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "timeout")]
    Timeout,
    #[serde(rename = "offline")]
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProgress {
    #[serde(rename = "status")]
    pub status: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
}

/// Every command type, tagged by its API name in `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StoredCommandRequest {
    #[serde(rename = "remoteStart")]
    RemoteStart {
        #[serde(rename = "idToken")]
        id_token: String,
        #[serde(rename = "tokenType", default, skip_serializing_if = "Option::is_none")]
        token_type: Option<String>,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(
            rename = "chargingProfile",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        charging_profile: Option<StoredChargingProfile>,
    },
    #[serde(rename = "remoteStop")]
    RemoteStop {
        #[serde(rename = "transactionId")]
        transaction_id: String,
    },
    #[serde(rename = "pause")]
    Pause {
        #[serde(rename = "transactionId")]
        transaction_id: String,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    #[serde(rename = "resume")]
    Resume {
        #[serde(rename = "transactionId")]
        transaction_id: String,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    #[serde(rename = "unlock")]
    Unlock {
        #[serde(rename = "evseId")]
        evse_id: u32,
        #[serde(
            rename = "connectorId",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        connector_id: Option<u32>,
    },
    #[serde(rename = "reset")]
    Reset {
        #[serde(rename = "kind", default, skip_serializing_if = "Option::is_none")]
        kind: Option<StoredResetKind>,
        #[serde(rename = "when", default, skip_serializing_if = "Option::is_none")]
        when: Option<StoredResetWhen>,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
    },
    #[serde(rename = "changeAvailability")]
    ChangeAvailability {
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(
            rename = "connectorId",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        connector_id: Option<u32>,
        #[serde(rename = "operative")]
        operative: bool,
    },
    #[serde(rename = "getDiagnostics")]
    GetDiagnostics {
        #[serde(rename = "location")]
        location: String,
        #[serde(rename = "startTime", default, skip_serializing_if = "Option::is_none")]
        start_time: Option<DateTime<Utc>>,
        #[serde(rename = "stopTime", default, skip_serializing_if = "Option::is_none")]
        stop_time: Option<DateTime<Utc>>,
        #[serde(rename = "retries", default, skip_serializing_if = "Option::is_none")]
        retries: Option<u32>,
        #[serde(
            rename = "retryIntervalS",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        retry_interval_s: Option<u32>,
    },
    #[serde(rename = "updateFirmware")]
    UpdateFirmware {
        #[serde(rename = "location")]
        location: String,
        #[serde(rename = "retrieveAt")]
        retrieve_at: DateTime<Utc>,
        #[serde(rename = "retries", default, skip_serializing_if = "Option::is_none")]
        retries: Option<u32>,
        #[serde(
            rename = "retryIntervalS",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        retry_interval_s: Option<u32>,
        #[serde(
            rename = "signingCertificate",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        signing_certificate: Option<String>,
        #[serde(rename = "signature", default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    #[serde(rename = "getConfiguration")]
    GetConfiguration {
        #[serde(rename = "keys", default)]
        keys: Vec<StoredConfigRef>,
    },
    #[serde(rename = "changeConfiguration")]
    ChangeConfiguration {
        #[serde(rename = "key")]
        key: StoredConfigRef,
        #[serde(rename = "value")]
        value: String,
    },
    #[serde(rename = "triggerMessage")]
    TriggerMessage {
        #[serde(rename = "message")]
        message: String,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(
            rename = "connectorId",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        connector_id: Option<u32>,
    },
    #[serde(rename = "clearCache")]
    ClearCache,
    #[serde(rename = "sendLocalList")]
    SendLocalList {
        #[serde(rename = "version")]
        version: i32,
        #[serde(rename = "full")]
        full: bool,
        #[serde(rename = "entries", default)]
        entries: Vec<StoredLocalListEntry>,
    },
    #[serde(rename = "getLocalListVersion")]
    GetLocalListVersion,
    #[serde(rename = "reserveNow")]
    ReserveNow {
        #[serde(rename = "reservationId")]
        reservation_id: i32,
        #[serde(rename = "idToken")]
        id_token: String,
        #[serde(rename = "tokenType", default, skip_serializing_if = "Option::is_none")]
        token_type: Option<String>,
        #[serde(rename = "expiresAt")]
        expires_at: DateTime<Utc>,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(
            rename = "parentIdToken",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        parent_id_token: Option<String>,
    },
    #[serde(rename = "cancelReservation")]
    CancelReservation {
        #[serde(rename = "reservationId")]
        reservation_id: i32,
    },
    #[serde(rename = "dataTransfer")]
    DataTransfer {
        #[serde(rename = "vendorId")]
        vendor_id: String,
        #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(rename = "data", default, skip_serializing_if = "Option::is_none")]
        data: Option<serde_json::Value>,
    },
    #[serde(rename = "setChargingProfile")]
    SetChargingProfile {
        #[serde(rename = "evseId")]
        evse_id: u32,
        #[serde(rename = "profile")]
        profile: StoredChargingProfile,
    },
    #[serde(rename = "loadLimit")]
    LoadLimit {
        #[serde(rename = "evseId")]
        evse_id: u32,
        #[serde(rename = "profile")]
        profile: StoredChargingProfile,
    },
    #[serde(rename = "clearChargingProfile")]
    ClearChargingProfile {
        #[serde(rename = "profileId", default, skip_serializing_if = "Option::is_none")]
        profile_id: Option<i32>,
        #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
        evse_id: Option<u32>,
        #[serde(rename = "purpose", default, skip_serializing_if = "Option::is_none")]
        purpose: Option<StoredProfilePurpose>,
        #[serde(
            rename = "stackLevel",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        stack_level: Option<u32>,
    },
    #[serde(rename = "getCompositeSchedule")]
    GetCompositeSchedule {
        #[serde(rename = "evseId")]
        evse_id: u32,
        #[serde(rename = "durationS")]
        duration_s: u32,
        #[serde(rename = "rateUnit", default, skip_serializing_if = "Option::is_none")]
        rate_unit: Option<StoredRateUnit>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredResetKind {
    #[serde(rename = "soft")]
    Soft,
    #[serde(rename = "hard")]
    Hard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredResetWhen {
    #[serde(rename = "onIdle")]
    OnIdle,
    #[serde(rename = "immediate")]
    Immediate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfigRef {
    #[serde(rename = "component", default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(
        rename = "componentInstance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub component_instance: Option<String>,
    #[serde(rename = "evseId", default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    #[serde(rename = "variable")]
    pub variable: String,
    #[serde(
        rename = "variableInstance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub variable_instance: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLocalListEntry {
    #[serde(rename = "idToken")]
    pub id_token: String,
    #[serde(rename = "tokenType", default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(rename = "status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "expiresAt", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChargingProfile {
    #[serde(rename = "id")]
    pub id: i32,
    #[serde(rename = "stackLevel")]
    pub stack_level: u32,
    #[serde(rename = "purpose")]
    pub purpose: StoredProfilePurpose,
    #[serde(rename = "kind")]
    pub kind: StoredProfileKind,
    #[serde(
        rename = "recurrency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recurrency: Option<StoredRecurrency>,
    #[serde(rename = "validFrom", default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(rename = "validTo", default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<DateTime<Utc>>,
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    #[serde(
        rename = "startSchedule",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_schedule: Option<DateTime<Utc>>,
    #[serde(rename = "durationS", default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    #[serde(rename = "rateUnit")]
    pub rate_unit: StoredRateUnit,
    #[serde(rename = "periods")]
    pub periods: Vec<StoredSchedulePeriod>,
    #[serde(
        rename = "minChargingRate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_charging_rate: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSchedulePeriod {
    #[serde(rename = "startPeriodS")]
    pub start_period_s: u32,
    #[serde(rename = "limit")]
    pub limit: Decimal,
    #[serde(
        rename = "numberPhases",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub number_phases: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRateUnit {
    #[serde(rename = "A")]
    A,
    #[serde(rename = "W")]
    W,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredProfilePurpose {
    #[serde(rename = "stationMax")]
    StationMax,
    #[serde(rename = "txDefault")]
    TxDefault,
    #[serde(rename = "txProfile")]
    TxProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredProfileKind {
    #[serde(rename = "absolute")]
    Absolute,
    #[serde(rename = "recurring")]
    Recurring,
    #[serde(rename = "relative")]
    Relative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRecurrency {
    #[serde(rename = "daily")]
    Daily,
    #[serde(rename = "weekly")]
    Weekly,
}

// ---- domain → stored ----

impl From<&Command> for StoredCommand {
    fn from(c: &Command) -> Self {
        let Command {
            id,
            station_id,
            org_id,
            request,
            status,
            created_at,
            sent_at,
            completed_at,
            timeout_s,
            action,
            response,
            error,
            progress,
            version,
        } = c;
        StoredCommand {
            id: id.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            request: request.into(),
            status: (*status).into(),
            created_at: *created_at,
            sent_at: *sent_at,
            completed_at: *completed_at,
            timeout_s: *timeout_s,
            action: action.clone(),
            response: response.clone(),
            error: error.clone(),
            progress: progress
                .iter()
                .map(|Progress { status, at }| StoredProgress {
                    status: status.clone(),
                    at: *at,
                })
                .collect(),
            version: *version,
        }
    }
}

impl From<CommandStatus> for StoredCommandStatus {
    fn from(s: CommandStatus) -> Self {
        match s {
            CommandStatus::Pending => StoredCommandStatus::Pending,
            CommandStatus::Accepted => StoredCommandStatus::Accepted,
            CommandStatus::Rejected => StoredCommandStatus::Rejected,
            CommandStatus::Failed => StoredCommandStatus::Failed,
            CommandStatus::Timeout => StoredCommandStatus::Timeout,
            CommandStatus::Offline => StoredCommandStatus::Offline,
        }
    }
}

impl From<&CommandRequest> for StoredCommandRequest {
    fn from(r: &CommandRequest) -> Self {
        use StoredCommandRequest as S;
        match r.clone() {
            CommandRequest::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile,
            } => S::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile: charging_profile.as_ref().map(Into::into),
            },
            CommandRequest::RemoteStop { transaction_id } => S::RemoteStop { transaction_id },
            CommandRequest::Pause {
                transaction_id,
                evse_id,
            } => S::Pause {
                transaction_id,
                evse_id,
            },
            CommandRequest::Resume {
                transaction_id,
                evse_id,
            } => S::Resume {
                transaction_id,
                evse_id,
            },
            CommandRequest::Unlock {
                evse_id,
                connector_id,
            } => S::Unlock {
                evse_id,
                connector_id,
            },
            CommandRequest::Reset {
                kind,
                when,
                evse_id,
            } => S::Reset {
                kind: kind.map(Into::into),
                when: when.map(Into::into),
                evse_id,
            },
            CommandRequest::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            } => S::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            },
            CommandRequest::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            } => S::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            },
            CommandRequest::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            } => S::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            },
            CommandRequest::GetConfiguration { keys } => S::GetConfiguration {
                keys: keys.into_iter().map(Into::into).collect(),
            },
            CommandRequest::ChangeConfiguration { key, value } => S::ChangeConfiguration {
                key: key.into(),
                value,
            },
            CommandRequest::TriggerMessage {
                message,
                evse_id,
                connector_id,
            } => S::TriggerMessage {
                message,
                evse_id,
                connector_id,
            },
            CommandRequest::ClearCache => S::ClearCache,
            CommandRequest::SendLocalList {
                version,
                full,
                entries,
            } => S::SendLocalList {
                version,
                full,
                entries: entries.into_iter().map(Into::into).collect(),
            },
            CommandRequest::GetLocalListVersion => S::GetLocalListVersion,
            CommandRequest::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            } => S::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            },
            CommandRequest::CancelReservation { reservation_id } => {
                S::CancelReservation { reservation_id }
            }
            CommandRequest::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => S::DataTransfer {
                vendor_id,
                message_id,
                data,
            },
            CommandRequest::SetChargingProfile { evse_id, profile } => S::SetChargingProfile {
                evse_id,
                profile: (&profile).into(),
            },
            CommandRequest::LoadLimit { evse_id, profile } => S::LoadLimit {
                evse_id,
                profile: (&profile).into(),
            },
            CommandRequest::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose,
                stack_level,
            } => S::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose: purpose.map(Into::into),
                stack_level,
            },
            CommandRequest::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit,
            } => S::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit: rate_unit.map(Into::into),
            },
        }
    }
}

impl From<ResetKind> for StoredResetKind {
    fn from(k: ResetKind) -> Self {
        match k {
            ResetKind::Soft => StoredResetKind::Soft,
            ResetKind::Hard => StoredResetKind::Hard,
        }
    }
}

impl From<ResetWhen> for StoredResetWhen {
    fn from(w: ResetWhen) -> Self {
        match w {
            ResetWhen::OnIdle => StoredResetWhen::OnIdle,
            ResetWhen::Immediate => StoredResetWhen::Immediate,
        }
    }
}

impl From<ConfigRef> for StoredConfigRef {
    fn from(c: ConfigRef) -> Self {
        let ConfigRef {
            component,
            component_instance,
            evse_id,
            variable,
            variable_instance,
        } = c;
        StoredConfigRef {
            component,
            component_instance,
            evse_id,
            variable,
            variable_instance,
        }
    }
}

impl From<LocalListEntry> for StoredLocalListEntry {
    fn from(e: LocalListEntry) -> Self {
        let LocalListEntry {
            id_token,
            token_type,
            status,
            expires_at,
        } = e;
        StoredLocalListEntry {
            id_token,
            token_type,
            status,
            expires_at,
        }
    }
}

impl From<&ChargingProfile> for StoredChargingProfile {
    fn from(p: &ChargingProfile) -> Self {
        let ChargingProfile {
            id,
            stack_level,
            purpose,
            kind,
            recurrency,
            valid_from,
            valid_to,
            transaction_id,
            start_schedule,
            duration_s,
            rate_unit,
            periods,
            min_charging_rate,
        } = p.clone();
        StoredChargingProfile {
            id,
            stack_level,
            purpose: purpose.into(),
            kind: kind.into(),
            recurrency: recurrency.map(Into::into),
            valid_from,
            valid_to,
            transaction_id,
            start_schedule,
            duration_s,
            rate_unit: rate_unit.into(),
            periods: periods
                .into_iter()
                .map(
                    |SchedulePeriod {
                         start_period_s,
                         limit,
                         number_phases,
                     }| StoredSchedulePeriod {
                        start_period_s,
                        limit,
                        number_phases,
                    },
                )
                .collect(),
            min_charging_rate,
        }
    }
}

impl From<RateUnit> for StoredRateUnit {
    fn from(u: RateUnit) -> Self {
        match u {
            RateUnit::A => StoredRateUnit::A,
            RateUnit::W => StoredRateUnit::W,
        }
    }
}

impl From<ProfilePurpose> for StoredProfilePurpose {
    fn from(p: ProfilePurpose) -> Self {
        match p {
            ProfilePurpose::StationMax => StoredProfilePurpose::StationMax,
            ProfilePurpose::TxDefault => StoredProfilePurpose::TxDefault,
            ProfilePurpose::TxProfile => StoredProfilePurpose::TxProfile,
        }
    }
}

impl From<ProfileKind> for StoredProfileKind {
    fn from(k: ProfileKind) -> Self {
        match k {
            ProfileKind::Absolute => StoredProfileKind::Absolute,
            ProfileKind::Recurring => StoredProfileKind::Recurring,
            ProfileKind::Relative => StoredProfileKind::Relative,
        }
    }
}

impl From<Recurrency> for StoredRecurrency {
    fn from(r: Recurrency) -> Self {
        match r {
            Recurrency::Daily => StoredRecurrency::Daily,
            Recurrency::Weekly => StoredRecurrency::Weekly,
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredCommand> for Command {
    type Error = DecodeError;

    fn try_from(s: StoredCommand) -> Result<Self, DecodeError> {
        let StoredCommand {
            id,
            station_id,
            org_id,
            request,
            status,
            created_at,
            sent_at,
            completed_at,
            timeout_s,
            action,
            response,
            error,
            progress,
            version,
        } = s;
        Ok(Command {
            id: CommandId::parse(&id)
                .ok_or_else(|| DecodeError::new(format!("command id {id:?} is not a ULID")))?,
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            request: request.into(),
            status: status.into(),
            created_at,
            sent_at,
            completed_at,
            timeout_s,
            action,
            response,
            error,
            progress: progress
                .into_iter()
                .map(|StoredProgress { status, at }| Progress { status, at })
                .collect(),
            version,
        })
    }
}

impl From<StoredCommandStatus> for CommandStatus {
    fn from(s: StoredCommandStatus) -> Self {
        match s {
            StoredCommandStatus::Pending => CommandStatus::Pending,
            StoredCommandStatus::Accepted => CommandStatus::Accepted,
            StoredCommandStatus::Rejected => CommandStatus::Rejected,
            StoredCommandStatus::Failed => CommandStatus::Failed,
            StoredCommandStatus::Timeout => CommandStatus::Timeout,
            StoredCommandStatus::Offline => CommandStatus::Offline,
        }
    }
}

impl From<StoredCommandRequest> for CommandRequest {
    fn from(r: StoredCommandRequest) -> Self {
        use StoredCommandRequest as S;
        match r {
            S::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile,
            } => CommandRequest::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile: charging_profile.map(Into::into),
            },
            S::RemoteStop { transaction_id } => CommandRequest::RemoteStop { transaction_id },
            S::Pause {
                transaction_id,
                evse_id,
            } => CommandRequest::Pause {
                transaction_id,
                evse_id,
            },
            S::Resume {
                transaction_id,
                evse_id,
            } => CommandRequest::Resume {
                transaction_id,
                evse_id,
            },
            S::Unlock {
                evse_id,
                connector_id,
            } => CommandRequest::Unlock {
                evse_id,
                connector_id,
            },
            S::Reset {
                kind,
                when,
                evse_id,
            } => CommandRequest::Reset {
                kind: kind.map(Into::into),
                when: when.map(Into::into),
                evse_id,
            },
            S::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            } => CommandRequest::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            },
            S::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            } => CommandRequest::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            },
            S::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            } => CommandRequest::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            },
            S::GetConfiguration { keys } => CommandRequest::GetConfiguration {
                keys: keys.into_iter().map(Into::into).collect(),
            },
            S::ChangeConfiguration { key, value } => CommandRequest::ChangeConfiguration {
                key: key.into(),
                value,
            },
            S::TriggerMessage {
                message,
                evse_id,
                connector_id,
            } => CommandRequest::TriggerMessage {
                message,
                evse_id,
                connector_id,
            },
            S::ClearCache => CommandRequest::ClearCache,
            S::SendLocalList {
                version,
                full,
                entries,
            } => CommandRequest::SendLocalList {
                version,
                full,
                entries: entries.into_iter().map(Into::into).collect(),
            },
            S::GetLocalListVersion => CommandRequest::GetLocalListVersion,
            S::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            } => CommandRequest::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            },
            S::CancelReservation { reservation_id } => {
                CommandRequest::CancelReservation { reservation_id }
            }
            S::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => CommandRequest::DataTransfer {
                vendor_id,
                message_id,
                data,
            },
            S::SetChargingProfile { evse_id, profile } => CommandRequest::SetChargingProfile {
                evse_id,
                profile: profile.into(),
            },
            S::LoadLimit { evse_id, profile } => CommandRequest::LoadLimit {
                evse_id,
                profile: profile.into(),
            },
            S::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose,
                stack_level,
            } => CommandRequest::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose: purpose.map(Into::into),
                stack_level,
            },
            S::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit,
            } => CommandRequest::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit: rate_unit.map(Into::into),
            },
        }
    }
}

impl From<StoredResetKind> for ResetKind {
    fn from(k: StoredResetKind) -> Self {
        match k {
            StoredResetKind::Soft => ResetKind::Soft,
            StoredResetKind::Hard => ResetKind::Hard,
        }
    }
}

impl From<StoredResetWhen> for ResetWhen {
    fn from(w: StoredResetWhen) -> Self {
        match w {
            StoredResetWhen::OnIdle => ResetWhen::OnIdle,
            StoredResetWhen::Immediate => ResetWhen::Immediate,
        }
    }
}

impl From<StoredConfigRef> for ConfigRef {
    fn from(c: StoredConfigRef) -> Self {
        let StoredConfigRef {
            component,
            component_instance,
            evse_id,
            variable,
            variable_instance,
        } = c;
        ConfigRef {
            component,
            component_instance,
            evse_id,
            variable,
            variable_instance,
        }
    }
}

impl From<StoredLocalListEntry> for LocalListEntry {
    fn from(e: StoredLocalListEntry) -> Self {
        let StoredLocalListEntry {
            id_token,
            token_type,
            status,
            expires_at,
        } = e;
        LocalListEntry {
            id_token,
            token_type,
            status,
            expires_at,
        }
    }
}

impl From<StoredChargingProfile> for ChargingProfile {
    fn from(p: StoredChargingProfile) -> Self {
        let StoredChargingProfile {
            id,
            stack_level,
            purpose,
            kind,
            recurrency,
            valid_from,
            valid_to,
            transaction_id,
            start_schedule,
            duration_s,
            rate_unit,
            periods,
            min_charging_rate,
        } = p;
        ChargingProfile {
            id,
            stack_level,
            purpose: purpose.into(),
            kind: kind.into(),
            recurrency: recurrency.map(Into::into),
            valid_from,
            valid_to,
            transaction_id,
            start_schedule,
            duration_s,
            rate_unit: rate_unit.into(),
            periods: periods
                .into_iter()
                .map(
                    |StoredSchedulePeriod {
                         start_period_s,
                         limit,
                         number_phases,
                     }| SchedulePeriod {
                        start_period_s,
                        limit,
                        number_phases,
                    },
                )
                .collect(),
            min_charging_rate,
        }
    }
}

impl From<StoredRateUnit> for RateUnit {
    fn from(u: StoredRateUnit) -> Self {
        match u {
            StoredRateUnit::A => RateUnit::A,
            StoredRateUnit::W => RateUnit::W,
        }
    }
}

impl From<StoredProfilePurpose> for ProfilePurpose {
    fn from(p: StoredProfilePurpose) -> Self {
        match p {
            StoredProfilePurpose::StationMax => ProfilePurpose::StationMax,
            StoredProfilePurpose::TxDefault => ProfilePurpose::TxDefault,
            StoredProfilePurpose::TxProfile => ProfilePurpose::TxProfile,
        }
    }
}

impl From<StoredProfileKind> for ProfileKind {
    fn from(k: StoredProfileKind) -> Self {
        match k {
            StoredProfileKind::Absolute => ProfileKind::Absolute,
            StoredProfileKind::Recurring => ProfileKind::Recurring,
            StoredProfileKind::Relative => ProfileKind::Relative,
        }
    }
}

impl From<StoredRecurrency> for Recurrency {
    fn from(r: StoredRecurrency) -> Self {
        match r {
            StoredRecurrency::Daily => Recurrency::Daily,
            StoredRecurrency::Weekly => Recurrency::Weekly,
        }
    }
}

impl Record for Command {
    type Stored = StoredCommand;
}
