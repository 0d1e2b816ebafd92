//! The version-neutral model of what a charger tells the CSMS.
//!
//! The OCPP layer turns each 1.6 or 2.0.1 request into one of these; the use
//! cases never see a version-specific payload.

use crate::meter::MeterReading;
use crate::station::BootInfo;
use crate::{IdTokenValue, Timestamp, TransactionId};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub enum ChargerEvent {
    Booted(BootInfo),
    Heartbeat,
    StatusChanged {
        evse_id: u32,
        connector_id: u32,
        status: String,
        error_code: Option<String>,
        info: Option<String>,
        at: Option<Timestamp>,
    },
    AuthorizeRequested {
        id_token: IdTokenValue,
        /// The 2.0.1 type, or what the value implies (a 1.6 `VID:` tag).
        token_type: Option<crate::token::IdTokenType>,
    },
    Transaction(TransactionEvent),
    /// Meter values outside a transaction message (1.6 MeterValues, 2.0.1 MeterValues).
    MeterValues {
        evse_id: u32,
        transaction_id: Option<TransactionId>,
        readings: Vec<MeterReading>,
    },
    DataTransfer {
        vendor_id: String,
        message_id: Option<String>,
        data: Option<serde_json::Value>,
    },
    /// Notifications the CSMS records but that need no decision yet:
    /// firmware/diagnostics/log status, reports, events, security events.
    Notification {
        kind: NotificationKind,
        payload: serde_json::Value,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    FirmwareStatus,
    DiagnosticsStatus,
    LogStatus,
    Report,
    Event,
    SecurityEvent,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 6] = [
        NotificationKind::FirmwareStatus,
        NotificationKind::DiagnosticsStatus,
        NotificationKind::LogStatus,
        NotificationKind::Report,
        NotificationKind::Event,
        NotificationKind::SecurityEvent,
    ];

    /// The kind named by [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::FirmwareStatus => "FirmwareStatus",
            NotificationKind::DiagnosticsStatus => "DiagnosticsStatus",
            NotificationKind::LogStatus => "LogStatus",
            NotificationKind::Report => "Report",
            NotificationKind::Event => "Event",
            NotificationKind::SecurityEvent => "SecurityEvent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionPhase {
    Started,
    Updated,
    Ended,
}

/// A transaction message: 1.6 Start/StopTransaction, 2.0.1 TransactionEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEvent {
    pub phase: TransactionPhase,
    /// `None` for a 1.6 StartTransaction: the CSMS allocates the id.
    pub transaction_id: Option<TransactionId>,
    pub timestamp: Timestamp,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub id_token: Option<IdTokenValue>,
    /// The 2.0.1 type of `id_token`, or what the value implies.
    pub id_token_type: Option<crate::token::IdTokenType>,
    pub meter_start_wh: Option<Decimal>,
    pub meter_stop_wh: Option<Decimal>,
    pub stop_reason: Option<String>,
    pub readings: Vec<MeterReading>,
    pub seq_no: Option<u64>,
    pub offline: bool,
    /// The charger's own time, when it was implausible and `timestamp` is the
    /// CSMS's receive time instead (kept to recognise a resent message).
    pub charger_timestamp: Option<Timestamp>,
}
