//! The body of `POST /stations/{id}/commands` as the API reads it, and its
//! conversion into the domain's `CommandRequest`.
//!
//! Kept apart from `csms_domain::command` so that renaming a public field
//! never touches the domain (or what the stores keep), and the other way
//! round. The shape is today's exactly: `{"type": "remoteStart", …}` tagged
//! by `type`, camelCase fields, the same optional fields and defaults,
//! unknown fields refused. Values the domain parses at the edge (times,
//! decimals) are read by serde into those types, so a bad one is refused by
//! the handler's parse with serde's message; what is left is structure.
//!
//! `loadLimit` is described because the document has always listed it
//! (with "The API does not accept it"); the handler refuses the type before
//! the body is read, and [`CommandInput::into_domain`] refuses it too.
//!
//! The rules of each command (which version takes what, profile ids kept for
//! load balancing, …) are the core's (`CommandService::submit` and the wire
//! modules).

use csms_domain::command::{
    ChargingProfile, CommandRequest, ConfigRef, LocalListEntry, ProfileKind, ProfilePurpose,
    RateUnit, Recurrency, ResetKind, ResetWhen, SchedulePeriod, TriggerName,
};
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

// The variants' and fields' doc comments are the document's descriptions:
// they read as they always have, word for word (`LOAD_PROFILE_IDS` below is
// `csms_domain::command::LOAD_PROFILE_IDS`).

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = ResetKind)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ResetKindInput {
    /// 1.6 `Soft`; 2.0.1 has no soft/hard distinction.
    Soft,
    /// 1.6 `Hard`.
    Hard,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = ResetWhen)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ResetWhenInput {
    /// 2.0.1 `OnIdle`: after running transactions end.
    OnIdle,
    /// 2.0.1 `Immediate`.
    Immediate,
}

/// One configuration item: a 1.6 key (`variable` only), or a 2.0.1
/// component/variable pair.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ConfigRef)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfigRefInput {
    /// 2.0.1 component name (`OCPPCommCtrlr`); absent for 1.6 keys.
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    component_instance: Option<String>,
    #[serde(default)]
    evse_id: Option<u32>,
    /// 1.6 key or 2.0.1 variable name.
    variable: String,
    #[serde(default)]
    variable_instance: Option<String>,
}

/// A charging schedule period: from `start_period_s` seconds after the
/// schedule start, at most `limit` (in the schedule's unit).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = SchedulePeriod)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SchedulePeriodInput {
    start_period_s: u32,
    limit: Decimal,
    #[serde(default)]
    number_phases: Option<u8>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = RateUnit)]
pub(crate) enum RateUnitInput {
    /// Amperes per phase.
    A,
    /// Watts.
    W,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = ProfilePurpose)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ProfilePurposeInput {
    /// 1.6 `ChargePointMaxProfile`, 2.0.1 `ChargingStationMaxProfile`.
    StationMax,
    TxDefault,
    TxProfile,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = ProfileKind)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ProfileKindInput {
    Absolute,
    Recurring,
    Relative,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[schema(as = Recurrency)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RecurrencyInput {
    Daily,
    Weekly,
}

/// A charging profile in version-neutral form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ChargingProfile)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChargingProfileInput {
    id: i32,
    stack_level: u32,
    purpose: ProfilePurposeInput,
    kind: ProfileKindInput,
    #[serde(default)]
    recurrency: Option<RecurrencyInput>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    valid_from: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    valid_to: Option<Timestamp>,
    /// For `TxProfile`: the transaction it limits (1.6 integer as text).
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    start_schedule: Option<Timestamp>,
    #[serde(default)]
    duration_s: Option<u32>,
    rate_unit: RateUnitInput,
    periods: Vec<SchedulePeriodInput>,
    #[serde(default)]
    min_charging_rate: Option<Decimal>,
}

/// An entry of a local authorization list.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = LocalListEntry)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LocalListEntryInput {
    id_token: String,
    /// 2.0.1 token type (`ISO14443`, …); 1.6 ignores it.
    #[serde(default)]
    token_type: Option<String>,
    /// `Accepted`, `Blocked`, `Expired`, `Invalid`; absent = remove the
    /// entry (differential update).
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
}

/// What to do, version-neutral. Serialized as `{"type": "remoteStart", …}`
/// — exactly the body of `POST /api/v1/stations/{id}/commands`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = CommandRequest)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub(crate) enum CommandInput {
    /// 1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction.
    #[serde(rename_all = "camelCase")]
    RemoteStart {
        id_token: String,
        /// 2.0.1 token type, default `ISO14443`… (`Central` for app starts).
        #[serde(default)]
        token_type: Option<String>,
        /// 1.6 connectorId / 2.0.1 evseId; absent = the charger chooses.
        #[serde(default)]
        evse_id: Option<u32>,
        #[serde(default)]
        charging_profile: Option<ChargingProfileInput>,
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
        #[serde(default)]
        evse_id: Option<u32>,
    },
    /// ClearChargingProfile of the profile `pause` set.
    #[serde(rename_all = "camelCase")]
    Resume {
        transaction_id: String,
        #[serde(default)]
        evse_id: Option<u32>,
    },
    /// 1.6 UnlockConnector (connectorId = evse_id), 2.0.1 UnlockConnector.
    #[serde(rename_all = "camelCase")]
    Unlock {
        evse_id: u32,
        #[serde(default)]
        connector_id: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    Reset {
        /// 1.6 Soft/Hard (default Soft).
        #[serde(default)]
        kind: Option<ResetKindInput>,
        /// 2.0.1 OnIdle/Immediate (default OnIdle).
        #[serde(default)]
        when: Option<ResetWhenInput>,
        /// 2.0.1 only: reset one EVSE.
        #[serde(default)]
        evse_id: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    ChangeAvailability {
        /// Absent (or 0) = the whole station.
        #[serde(default)]
        evse_id: Option<u32>,
        #[serde(default)]
        connector_id: Option<u32>,
        operative: bool,
    },
    /// 1.6 GetDiagnostics, 2.0.1 GetLog (DiagnosticsLog).
    #[serde(rename_all = "camelCase")]
    GetDiagnostics {
        location: String,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        start_time: Option<Timestamp>,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        stop_time: Option<Timestamp>,
        #[serde(default)]
        retries: Option<u32>,
        #[serde(default)]
        retry_interval_s: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    UpdateFirmware {
        location: String,
        #[schema(value_type = String, format = DateTime)]
        retrieve_at: Timestamp,
        #[serde(default)]
        retries: Option<u32>,
        #[serde(default)]
        retry_interval_s: Option<u32>,
        /// 2.0.1 signed firmware.
        #[serde(default)]
        signing_certificate: Option<String>,
        #[serde(default)]
        signature: Option<String>,
    },
    /// 1.6 GetConfiguration; 2.0.1 GetVariables, or without keys GetBaseReport
    /// (FullInventory): the station then sends its device model, shown by
    /// `GET /stations/{id}/device-model`.
    #[serde(rename_all = "camelCase")]
    GetConfiguration {
        #[serde(default)]
        keys: Vec<ConfigRefInput>,
    },
    /// 1.6 ChangeConfiguration, 2.0.1 SetVariables.
    #[serde(rename_all = "camelCase")]
    ChangeConfiguration {
        key: ConfigRefInput,
        value: String,
    },
    #[serde(rename_all = "camelCase")]
    TriggerMessage {
        message: TriggerName,
        #[serde(default)]
        evse_id: Option<u32>,
        #[serde(default)]
        connector_id: Option<u32>,
    },
    ClearCache,
    #[serde(rename_all = "camelCase")]
    SendLocalList {
        version: i32,
        /// `full` replaces the list; `differential` updates it.
        full: bool,
        #[serde(default)]
        entries: Vec<LocalListEntryInput>,
    },
    GetLocalListVersion,
    #[serde(rename_all = "camelCase")]
    ReserveNow {
        reservation_id: i32,
        id_token: String,
        #[serde(default)]
        token_type: Option<String>,
        #[schema(value_type = String, format = DateTime)]
        expires_at: Timestamp,
        /// 1.6 connectorId (0 = any) / 2.0.1 evseId (absent = any).
        #[serde(default)]
        evse_id: Option<u32>,
        #[serde(default)]
        parent_id_token: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    CancelReservation {
        reservation_id: i32,
    },
    #[serde(rename_all = "camelCase")]
    DataTransfer {
        vendor_id: String,
        #[serde(default)]
        message_id: Option<String>,
        /// 1.6 sends text; 2.0.1 any JSON. A string is sent as is.
        #[serde(default)]
        data: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    SetChargingProfile {
        /// 1.6 connectorId / 2.0.1 evseId; 0 = the whole station.
        evse_id: u32,
        profile: ChargingProfileInput,
    },
    /// A limit set by load balancing: a SetChargingProfile with a profile id
    /// from [`LOAD_PROFILE_IDS`], so operators' profiles and the pause are
    /// never replaced by it. The API does not accept it.
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)] // described, never converted: see the module docs
    LoadLimit {
        evse_id: u32,
        profile: ChargingProfileInput,
    },
    #[serde(rename_all = "camelCase")]
    ClearChargingProfile {
        #[serde(default)]
        profile_id: Option<i32>,
        #[serde(default)]
        evse_id: Option<u32>,
        #[serde(default)]
        purpose: Option<ProfilePurposeInput>,
        #[serde(default)]
        stack_level: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    GetCompositeSchedule {
        evse_id: u32,
        duration_s: u32,
        #[serde(default)]
        rate_unit: Option<RateUnitInput>,
    },
}

impl CommandInput {
    /// Every `type` the API accepts, for its error messages (`loadLimit`
    /// is the balancer's own): the domain's names, which command views
    /// show too (a test checks each body reads into the request it names).
    pub(crate) const TYPE_NAMES: &'static [&'static str] = CommandRequest::TYPE_NAMES;

    /// A command that takes no fields besides `type`: its name.
    pub(crate) fn fieldless(&self) -> Option<&'static str> {
        match self {
            CommandInput::ClearCache => Some("clearCache"),
            CommandInput::GetLocalListVersion => Some("getLocalListVersion"),
            _ => None,
        }
    }

    /// The domain's request; `Err` with the field and why (`type`: only for
    /// `loadLimit`, which no API caller may send).
    pub(crate) fn into_domain(self) -> Result<CommandRequest, String> {
        use CommandInput as I;
        use CommandRequest as D;
        Ok(match self {
            I::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile,
            } => D::RemoteStart {
                id_token,
                token_type,
                evse_id,
                charging_profile: charging_profile.map(Into::into),
            },
            I::RemoteStop { transaction_id } => D::RemoteStop { transaction_id },
            I::Pause {
                transaction_id,
                evse_id,
            } => D::Pause {
                transaction_id,
                evse_id,
            },
            I::Resume {
                transaction_id,
                evse_id,
            } => D::Resume {
                transaction_id,
                evse_id,
            },
            I::Unlock {
                evse_id,
                connector_id,
            } => D::Unlock {
                evse_id,
                connector_id,
            },
            I::Reset {
                kind,
                when,
                evse_id,
            } => D::Reset {
                kind: kind.map(Into::into),
                when: when.map(Into::into),
                evse_id,
            },
            I::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            } => D::ChangeAvailability {
                evse_id,
                connector_id,
                operative,
            },
            I::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            } => D::GetDiagnostics {
                location,
                start_time,
                stop_time,
                retries,
                retry_interval_s,
            },
            I::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            } => D::UpdateFirmware {
                location,
                retrieve_at,
                retries,
                retry_interval_s,
                signing_certificate,
                signature,
            },
            I::GetConfiguration { keys } => D::GetConfiguration {
                keys: keys.into_iter().map(Into::into).collect(),
            },
            I::ChangeConfiguration { key, value } => D::ChangeConfiguration {
                key: key.into(),
                value,
            },
            I::TriggerMessage {
                message,
                evse_id,
                connector_id,
            } => D::TriggerMessage {
                message,
                evse_id,
                connector_id,
            },
            I::ClearCache => D::ClearCache,
            I::SendLocalList {
                version,
                full,
                entries,
            } => D::SendLocalList {
                version,
                full,
                entries: entries.into_iter().map(Into::into).collect(),
            },
            I::GetLocalListVersion => D::GetLocalListVersion,
            I::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            } => D::ReserveNow {
                reservation_id,
                id_token,
                token_type,
                expires_at,
                evse_id,
                parent_id_token,
            },
            I::CancelReservation { reservation_id } => D::CancelReservation { reservation_id },
            I::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => D::DataTransfer {
                vendor_id,
                message_id,
                data,
            },
            I::SetChargingProfile { evse_id, profile } => D::SetChargingProfile {
                evse_id,
                profile: profile.into(),
            },
            I::LoadLimit { .. } => {
                return Err(format!(
                    "type: \"loadLimit\" is not a command; one of {}",
                    Self::TYPE_NAMES.join(", ")
                ))
            }
            I::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose,
                stack_level,
            } => D::ClearChargingProfile {
                profile_id,
                evse_id,
                purpose: purpose.map(Into::into),
                stack_level,
            },
            I::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit,
            } => D::GetCompositeSchedule {
                evse_id,
                duration_s,
                rate_unit: rate_unit.map(Into::into),
            },
        })
    }
}

impl From<ResetKindInput> for ResetKind {
    fn from(k: ResetKindInput) -> Self {
        match k {
            ResetKindInput::Soft => ResetKind::Soft,
            ResetKindInput::Hard => ResetKind::Hard,
        }
    }
}

impl From<ResetWhenInput> for ResetWhen {
    fn from(w: ResetWhenInput) -> Self {
        match w {
            ResetWhenInput::OnIdle => ResetWhen::OnIdle,
            ResetWhenInput::Immediate => ResetWhen::Immediate,
        }
    }
}

impl From<ConfigRefInput> for ConfigRef {
    fn from(c: ConfigRefInput) -> Self {
        ConfigRef {
            component: c.component,
            component_instance: c.component_instance,
            evse_id: c.evse_id,
            variable: c.variable,
            variable_instance: c.variable_instance,
        }
    }
}

impl From<RateUnitInput> for RateUnit {
    fn from(u: RateUnitInput) -> Self {
        match u {
            RateUnitInput::A => RateUnit::A,
            RateUnitInput::W => RateUnit::W,
        }
    }
}

impl From<ProfilePurposeInput> for ProfilePurpose {
    fn from(p: ProfilePurposeInput) -> Self {
        match p {
            ProfilePurposeInput::StationMax => ProfilePurpose::StationMax,
            ProfilePurposeInput::TxDefault => ProfilePurpose::TxDefault,
            ProfilePurposeInput::TxProfile => ProfilePurpose::TxProfile,
        }
    }
}

impl From<ChargingProfileInput> for ChargingProfile {
    fn from(p: ChargingProfileInput) -> Self {
        ChargingProfile {
            id: p.id,
            stack_level: p.stack_level,
            purpose: p.purpose.into(),
            kind: match p.kind {
                ProfileKindInput::Absolute => ProfileKind::Absolute,
                ProfileKindInput::Recurring => ProfileKind::Recurring,
                ProfileKindInput::Relative => ProfileKind::Relative,
            },
            recurrency: p.recurrency.map(|r| match r {
                RecurrencyInput::Daily => Recurrency::Daily,
                RecurrencyInput::Weekly => Recurrency::Weekly,
            }),
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            transaction_id: p.transaction_id,
            start_schedule: p.start_schedule,
            duration_s: p.duration_s,
            rate_unit: p.rate_unit.into(),
            periods: p
                .periods
                .into_iter()
                .map(|s| SchedulePeriod {
                    start_period_s: s.start_period_s,
                    limit: s.limit,
                    number_phases: s.number_phases,
                })
                .collect(),
            min_charging_rate: p.min_charging_rate,
        }
    }
}

impl From<LocalListEntryInput> for LocalListEntry {
    fn from(e: LocalListEntryInput) -> Self {
        LocalListEntry {
            id_token: e.id_token,
            token_type: e.token_type,
            status: e.status,
            expires_at: e.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// One body of every type the API takes, every field set.
    fn bodies() -> Vec<Value> {
        let profile = json!({
            "id": 7, "stackLevel": 1, "purpose": "txProfile", "kind": "recurring",
            "recurrency": "daily", "validFrom": "2026-01-01T00:00:00Z",
            "validTo": "2026-02-01T00:00:00Z", "transactionId": "42",
            "startSchedule": "2026-01-01T06:00:00Z", "durationS": 3600, "rateUnit": "W",
            "periods": [{"startPeriodS": 0, "limit": "11000", "numberPhases": 3}],
            "minChargingRate": "1.5"
        });
        let key = json!({
            "component": "OCPPCommCtrlr", "componentInstance": "x", "evseId": 1,
            "variable": "HeartbeatInterval", "variableInstance": "y"
        });
        vec![
            json!({"type": "remoteStart", "idToken": "TAG", "tokenType": "Central", "evseId": 1,
                   "chargingProfile": profile}),
            json!({"type": "remoteStop", "transactionId": "42"}),
            json!({"type": "pause", "transactionId": "42", "evseId": 1}),
            json!({"type": "resume", "transactionId": "42", "evseId": 1}),
            json!({"type": "unlock", "evseId": 1, "connectorId": 2}),
            json!({"type": "reset", "kind": "hard", "when": "immediate", "evseId": 1}),
            json!({"type": "changeAvailability", "evseId": 1, "connectorId": 1, "operative": false}),
            json!({"type": "getDiagnostics", "location": "ftp://x", "startTime": "2026-01-01T00:00:00Z",
                   "stopTime": "2026-01-02T00:00:00Z", "retries": 2, "retryIntervalS": 30}),
            json!({"type": "updateFirmware", "location": "https://x/fw", "retrieveAt": "2026-01-01T00:00:00Z",
                   "retries": 2, "retryIntervalS": 30, "signingCertificate": "PEM", "signature": "sig"}),
            json!({"type": "getConfiguration", "keys": [key]}),
            json!({"type": "changeConfiguration", "key": key, "value": "60"}),
            json!({"type": "triggerMessage", "message": "StatusNotification", "evseId": 1, "connectorId": 1}),
            json!({"type": "clearCache"}),
            json!({"type": "sendLocalList", "version": 3, "full": false, "entries": [
                {"idToken": "TAG", "tokenType": "ISO14443", "status": "Accepted",
                 "expiresAt": "2026-01-01T00:00:00Z"}]}),
            json!({"type": "getLocalListVersion"}),
            json!({"type": "reserveNow", "reservationId": 5, "idToken": "TAG", "tokenType": "ISO14443",
                   "expiresAt": "2026-01-01T00:00:00Z", "evseId": 1, "parentIdToken": "GROUP"}),
            json!({"type": "cancelReservation", "reservationId": 5}),
            json!({"type": "dataTransfer", "vendorId": "acme", "messageId": "m", "data": {"a": [1]}}),
            json!({"type": "setChargingProfile", "evseId": 0, "profile": profile}),
            json!({"type": "clearChargingProfile", "profileId": 7, "evseId": 1, "purpose": "txDefault",
                   "stackLevel": 2}),
            json!({"type": "getCompositeSchedule", "evseId": 1, "durationS": 600, "rateUnit": "A"}),
        ]
    }

    #[test]
    fn every_type_reads_into_the_domain_request_it_names() {
        let bodies = bodies();
        assert_eq!(bodies.len(), CommandInput::TYPE_NAMES.len());
        for (body, name) in bodies.into_iter().zip(CommandInput::TYPE_NAMES) {
            assert_eq!(body["type"], *name);
            let input: CommandInput = serde_json::from_value(body.clone()).unwrap();
            let request = input.into_domain().unwrap();
            // The command's view names the type the caller sent, and shows
            // the request with every field the caller set.
            assert_eq!(request.type_name(), *name);
            assert_eq!(serde_json::to_value(&request).unwrap(), body, "{name}");
        }
    }

    #[test]
    fn a_load_limit_is_refused_naming_the_type() {
        let body = json!({"type": "loadLimit", "evseId": 1, "profile": {
            "id": 1_800_000_001, "stackLevel": 1, "purpose": "txProfile", "kind": "absolute",
            "rateUnit": "A", "periods": [{"startPeriodS": 0, "limit": "6"}]}});
        let input: CommandInput = serde_json::from_value(body).unwrap();
        let e = input.into_domain().unwrap_err();
        assert!(e.starts_with("type: \"loadLimit\" is not a command"), "{e}");
    }
}
