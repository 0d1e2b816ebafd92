//! Charging sessions as stored by the embedded store: a [`StoredSession`].
//! Sessions have always been stored with snake-case names, `null` for an
//! absent optional value, and a register reading as a two-element array
//! (time, Wh). The DynamoDB store keeps sessions as items of named
//! attributes (its own item struct), not as JSON, so only the embedded
//! store writes this form.
//!
//! The flags added after the first sessions were written
//! (`charger_clock_replaced`, `late_readings`, `inferred_end`,
//! `charger_ended`) read as false / absent when missing.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::session::{CloseReason, InferredEnd, Session, SessionStatus};
use csms_domain::user::UserId;
use csms_domain::{OrgId, SessionId, SiteId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "site_id", default)]
    pub site_id: Option<String>,
    #[serde(rename = "transaction_id")]
    pub transaction_id: String,
    #[serde(rename = "evse_id", default)]
    pub evse_id: Option<u32>,
    #[serde(rename = "connector_id", default)]
    pub connector_id: Option<u32>,
    #[serde(rename = "id_token", default)]
    pub id_token: Option<String>,
    #[serde(rename = "status")]
    pub status: StoredSessionStatus,
    #[serde(rename = "started_at", default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(rename = "ended_at", default)]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(rename = "explicit_meter_start_wh", default)]
    pub explicit_meter_start_wh: Option<Decimal>,
    #[serde(rename = "explicit_meter_stop_wh", default)]
    pub explicit_meter_stop_wh: Option<Decimal>,
    /// `[time, Wh]`.
    #[serde(rename = "first_register", default)]
    pub first_register: Option<(DateTime<Utc>, Decimal)>,
    #[serde(rename = "last_register", default)]
    pub last_register: Option<(DateTime<Utc>, Decimal)>,
    #[serde(rename = "stop_reason", default)]
    pub stop_reason: Option<String>,
    #[serde(rename = "start_unknown")]
    pub start_unknown: bool,
    #[serde(rename = "seen_seq_nos")]
    pub seen_seq_nos: Vec<u64>,
    #[serde(rename = "offline_events")]
    pub offline_events: bool,
    #[serde(rename = "charger_clock_replaced", default)]
    pub charger_clock_replaced: bool,
    #[serde(rename = "late_readings", default)]
    pub late_readings: bool,
    #[serde(rename = "inferred_end", default)]
    pub inferred_end: Option<StoredInferredEnd>,
    #[serde(rename = "charger_ended", default)]
    pub charger_ended: bool,
    #[serde(rename = "version")]
    pub version: u64,
    #[serde(rename = "updated_at")]
    pub updated_at: DateTime<Utc>,
    /// The person whose identifier started it; left out while there is
    /// none (so sessions without one are written as they always were).
    #[serde(rename = "user_id", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredSessionStatus {
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "completed")]
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInferredEnd {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "reason")]
    pub reason: StoredCloseReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredCloseReason {
    #[serde(rename = "connectorAvailable")]
    ConnectorAvailable,
    #[serde(rename = "stationRebooted")]
    StationRebooted,
    #[serde(rename = "newTransaction")]
    NewTransaction,
    #[serde(rename = "noMessages")]
    NoMessages,
}

// ---- domain → stored ----

impl From<&Session> for StoredSession {
    fn from(s: &Session) -> Self {
        let Session {
            id,
            station_id,
            org_id,
            site_id,
            transaction_id,
            evse_id,
            connector_id,
            id_token,
            user_id,
            status,
            started_at,
            ended_at,
            explicit_meter_start_wh,
            explicit_meter_stop_wh,
            first_register,
            last_register,
            stop_reason,
            start_unknown,
            seen_seq_nos,
            offline_events,
            charger_clock_replaced,
            late_readings,
            inferred_end,
            charger_ended,
            version,
            updated_at,
        } = s;
        StoredSession {
            user_id: user_id.as_ref().map(|u| u.as_str().to_owned()),
            id: id.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            site_id: site_id.as_ref().map(|s| s.as_str().to_owned()),
            transaction_id: transaction_id.clone(),
            evse_id: *evse_id,
            connector_id: *connector_id,
            id_token: id_token.clone(),
            status: match status {
                SessionStatus::Active => StoredSessionStatus::Active,
                SessionStatus::Completed => StoredSessionStatus::Completed,
            },
            started_at: *started_at,
            ended_at: *ended_at,
            explicit_meter_start_wh: *explicit_meter_start_wh,
            explicit_meter_stop_wh: *explicit_meter_stop_wh,
            first_register: *first_register,
            last_register: *last_register,
            stop_reason: stop_reason.clone(),
            start_unknown: *start_unknown,
            seen_seq_nos: seen_seq_nos.clone(),
            offline_events: *offline_events,
            charger_clock_replaced: *charger_clock_replaced,
            late_readings: *late_readings,
            inferred_end: inferred_end.map(|InferredEnd { at, reason }| StoredInferredEnd {
                at,
                reason: match reason {
                    CloseReason::ConnectorAvailable => StoredCloseReason::ConnectorAvailable,
                    CloseReason::StationRebooted => StoredCloseReason::StationRebooted,
                    CloseReason::NewTransaction => StoredCloseReason::NewTransaction,
                    CloseReason::NoMessages => StoredCloseReason::NoMessages,
                },
            }),
            charger_ended: *charger_ended,
            version: *version,
            updated_at: *updated_at,
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredSession> for Session {
    type Error = DecodeError;

    fn try_from(s: StoredSession) -> Result<Self, DecodeError> {
        let StoredSession {
            id,
            station_id,
            org_id,
            site_id,
            transaction_id,
            evse_id,
            connector_id,
            id_token,
            status,
            started_at,
            ended_at,
            explicit_meter_start_wh,
            explicit_meter_stop_wh,
            first_register,
            last_register,
            stop_reason,
            start_unknown,
            seen_seq_nos,
            offline_events,
            charger_clock_replaced,
            late_readings,
            inferred_end,
            charger_ended,
            version,
            updated_at,
            user_id,
        } = s;
        Ok(Session {
            user_id: user_id
                .map(|u| parse("user id", u, UserId::parse))
                .transpose()?,
            id: parse("session id", id, SessionId::parse)?,
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            site_id: site_id
                .map(|s| parse("site id", s, SiteId::parse))
                .transpose()?,
            transaction_id,
            evse_id,
            connector_id,
            id_token,
            status: match status {
                StoredSessionStatus::Active => SessionStatus::Active,
                StoredSessionStatus::Completed => SessionStatus::Completed,
            },
            started_at,
            ended_at,
            explicit_meter_start_wh,
            explicit_meter_stop_wh,
            first_register,
            last_register,
            stop_reason,
            start_unknown,
            seen_seq_nos,
            offline_events,
            charger_clock_replaced,
            late_readings,
            inferred_end: inferred_end.map(|StoredInferredEnd { at, reason }| InferredEnd {
                at,
                reason: match reason {
                    StoredCloseReason::ConnectorAvailable => CloseReason::ConnectorAvailable,
                    StoredCloseReason::StationRebooted => CloseReason::StationRebooted,
                    StoredCloseReason::NewTransaction => CloseReason::NewTransaction,
                    StoredCloseReason::NoMessages => CloseReason::NoMessages,
                },
            }),
            charger_ended,
            version,
            updated_at,
        })
    }
}

impl Record for Session {
    type Stored = StoredSession;
}
