//! The public JSON form of the CSMS's records: what the HTTP API returns and
//! what webhook events carry, so a partner sees one shape for a session
//! whether it polled or was told.
//!
//! With the `openapi` feature every view also describes itself for the
//! OpenAPI document.

#![deny(clippy::arithmetic_side_effects)]

use csms_domain::command::Command;
use csms_domain::pricing::engine::round_amount;
use csms_domain::pricing::{LineKind, PriceLine, PricedSession};
use csms_domain::session::Session;
use csms_domain::station::{Approval, Connection, ConnectorStatus, RegistrationStatus};
use csms_domain::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Times in views: RFC 3339, UTC, milliseconds.
pub fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Watt-hours as a JSON number: exact for integers (the common case), the
/// nearest double otherwise.
pub fn wh(d: Decimal) -> Value {
    let n = d.normalize();
    if n.scale() == 0 {
        if let Some(i) = n.to_i64() {
            return i.into();
        }
    }
    n.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Into::into)
        .unwrap_or(Value::Null)
}

/// A decimal as a JSON string, without trailing zeros ("2.5").
pub fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A money amount as a JSON string with two decimals ("12.50", "0.00").
pub fn money(d: Decimal) -> String {
    format!("{:.2}", round_amount(d))
}

/// One line of a priced session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PriceLineView {
    /// `energy`, `time`, `sessionFee`, `idle`, `minimumPriceAdjustment`, `maximumPriceAdjustment`.
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub start: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub end: String,
    /// Decimal string, in `unit`.
    pub quantity: String,
    /// `kWh`, `min`, `h` or `session`.
    pub unit: String,
    /// Net price per unit, exact.
    pub unit_price: String,
    /// quantity × unit price, rounded to 0.01.
    pub net: String,
    /// Index of the tariff element the price came from.
    pub element: Option<usize>,
    /// Spot price per kWh the unit price was computed from.
    pub spot_price: Option<String>,
}

fn kind_name(k: LineKind) -> &'static str {
    match k {
        LineKind::Energy => "energy",
        LineKind::Time => "time",
        LineKind::SessionFee => "sessionFee",
        LineKind::Idle => "idle",
        LineKind::MinimumPriceAdjustment => "minimumPriceAdjustment",
        LineKind::MaximumPriceAdjustment => "maximumPriceAdjustment",
    }
}

impl From<&PriceLine> for PriceLineView {
    fn from(l: &PriceLine) -> Self {
        PriceLineView {
            kind: kind_name(l.kind).to_owned(),
            start: time(l.start),
            end: time(l.end),
            quantity: dec(l.quantity),
            unit: l.unit.clone(),
            unit_price: dec(l.unit_price),
            net: money(l.net),
            element: l.element,
            spot_price: l.spot_price.map(dec),
        }
    }
}

/// The immutable, itemised price of a completed session (one revision).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PricedSessionView {
    pub session_id: String,
    pub station_id: String,
    /// 1 for the automatic pricing, +1 for every repricing.
    pub revision: u32,
    pub tariff_id: String,
    /// The tariff version in force when the session started.
    pub tariff_version: u64,
    pub tariff_name: String,
    /// Where the tariff resolution looked, in order, up to the match.
    pub tariff_reason: Vec<String>,
    pub id_token: Option<String>,
    pub group: Option<String>,
    pub currency: String,
    /// e.g. "0.25".
    pub vat_rate: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub started_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub ended_at: String,
    /// When the energy register last rose; idle time is counted from here.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub charging_ended_at: String,
    /// Energy delivered, Wh (decimal string).
    pub energy_wh: String,
    pub lines: Vec<PriceLineView>,
    /// Sum of the lines' net amounts.
    pub net: String,
    pub vat: String,
    /// net + VAT.
    pub gross: String,
    /// The rounding rule, in words.
    pub rounding: String,
    pub warnings: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub priced_at: String,
    /// Why this revision exists ("session completed", or the repricing reason).
    pub reason: String,
    /// API key id of whoever asked for a repricing; null when automatic or by the admin key.
    pub requested_by: Option<String>,
}

impl From<&PricedSession> for PricedSessionView {
    fn from(p: &PricedSession) -> Self {
        PricedSessionView {
            session_id: p.session_id.to_string(),
            station_id: p.station_id.to_string(),
            revision: p.revision,
            tariff_id: p.tariff_id.clone(),
            tariff_version: p.tariff_version,
            tariff_name: p.tariff_name.clone(),
            tariff_reason: p.tariff_reason.clone(),
            id_token: p.id_token.clone(),
            group: p.group.clone(),
            currency: p.currency.clone(),
            vat_rate: dec(p.vat_rate),
            started_at: time(p.started_at),
            ended_at: time(p.ended_at),
            charging_ended_at: time(p.charging_ended_at),
            energy_wh: dec(p.energy_wh),
            lines: p.lines.iter().map(PriceLineView::from).collect(),
            net: money(p.net),
            vat: money(p.vat),
            gross: money(p.gross),
            rounding: p.rounding.clone(),
            warnings: p.warnings.clone(),
            priced_at: time(p.priced_at),
            reason: p.audit.reason.clone(),
            requested_by: p.audit.requested_by.clone(),
        }
    }
}

/// A charging session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = Session))]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// `{stationId}~{transactionId}`.
    pub id: String,
    pub station_id: String,
    pub site_id: Option<String>,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    /// The charger's transaction id (1.6: an integer we handed out).
    pub transaction_id: String,
    pub id_token: Option<String>,
    /// `active` or `completed`.
    pub status: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub meter_start_wh: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub meter_stop_wh: Option<Value>,
    /// Energy delivered so far (active) or in total (completed).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub energy_wh: Option<Value>,
    pub stop_reason: Option<String>,
    /// The first message seen about the transaction was not its start.
    pub start_unknown: bool,
    /// Some transaction message was sent while the charger was offline.
    pub offline_events: bool,
    /// The charger's time on a start or stop was implausible (before
    /// 2000-01-01 or more than a day ahead of the CSMS) and the time the CSMS
    /// received the message is shown instead.
    pub charger_clock_replaced: bool,
    /// Set when the charger never ended the transaction and the CSMS closed
    /// it on evidence: `connectorAvailable`, `stationRebooted`,
    /// `newTransaction` or `noMessages`. Kept after a late stop from the
    /// charger corrected the session.
    pub closed_by_csms: Option<String>,
    /// What to know about how far the values can be trusted (a close by the
    /// CSMS, readings that arrived after the end and were not counted).
    pub warnings: Vec<String>,
    pub updated_at: String,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        SessionView {
            id: s.id.to_string(),
            station_id: s.station_id.to_string(),
            site_id: s.site_id.as_ref().map(ToString::to_string),
            evse_id: s.evse_id,
            connector_id: s.connector_id,
            transaction_id: s.transaction_id.clone(),
            id_token: s.id_token.clone(),
            status: s.status.as_str().to_owned(),
            started_at: s.started_at.map(time),
            ended_at: s.ended_at.map(time),
            meter_start_wh: s.meter_start_wh().map(wh),
            meter_stop_wh: s.meter_stop_wh().map(wh),
            energy_wh: s.energy_wh().map(wh),
            stop_reason: s.stop_reason.clone(),
            start_unknown: s.start_unknown,
            offline_events: s.offline_events,
            charger_clock_replaced: s.charger_clock_replaced,
            closed_by_csms: s.inferred_end.map(|i| i.reason.as_str().to_owned()),
            warnings: s.warnings(),
            updated_at: time(s.updated_at),
        }
    }
}

/// A status notification about a command's work.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = CommandProgress))]
pub struct ProgressView {
    /// The OCPP status (`Downloading`, `Installed`, `UploadFailed`, …).
    pub status: String,
    pub at: String,
}

/// A command to a station and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = Command))]
#[serde(rename_all = "camelCase")]
pub struct CommandView {
    /// A ULID; also the OCPP message id of the call.
    pub id: String,
    pub station_id: String,
    /// The command type (`remoteStart`, `reset`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `accepted`, `rejected`, `failed`, `timeout` or `offline`.
    pub status: String,
    /// The request as submitted (with what the CSMS filled in).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request: Value,
    /// The OCPP action sent, once sent.
    pub action: Option<String>,
    /// The charger's answer, verbatim.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub response: Option<Value>,
    pub error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub completed_at: Option<String>,
    pub timeout_s: u32,
    pub progress: Vec<ProgressView>,
}

impl From<&Command> for CommandView {
    fn from(c: &Command) -> Self {
        CommandView {
            id: c.id.to_string(),
            station_id: c.station_id.to_string(),
            kind: c.request.type_name().to_owned(),
            status: c.status.as_str().to_owned(),
            request: serde_json::to_value(&c.request).unwrap_or(Value::Null),
            action: c.action.clone(),
            response: c.response.clone(),
            error: c.error.clone(),
            created_at: time(c.created_at),
            sent_at: c.sent_at.map(time),
            completed_at: c.completed_at.map(time),
            timeout_s: c.timeout_s,
            progress: c
                .progress
                .iter()
                .map(|p| ProgressView {
                    status: p.status.clone(),
                    at: time(p.at),
                })
                .collect(),
        }
    }
}

/// A connector's (or, with `evseId` 0, the station's) status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = StationStatusEvent))]
#[serde(rename_all = "camelCase")]
pub struct StatusEventView {
    pub station_id: String,
    pub evse_id: u32,
    pub connector_id: u32,
    /// As the charger said it (`Available`, `Charging`, `Faulted`, …).
    pub status: String,
    pub error_code: Option<String>,
    pub info: Option<String>,
    pub updated_at: String,
}

impl StatusEventView {
    pub fn new(station_id: &str, c: &ConnectorStatus) -> Self {
        StatusEventView {
            station_id: station_id.to_owned(),
            evse_id: c.evse_id,
            connector_id: c.connector_id,
            status: c.status.clone(),
            error_code: c.error_code.clone(),
            info: c.info.clone(),
            updated_at: time(c.updated_at),
        }
    }
}

/// The answer to a station's BootNotification changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = StationRegistrationEvent))]
#[serde(rename_all = "camelCase")]
pub struct RegistrationEventView {
    pub station_id: String,
    /// What the boot was answered: `Accepted`, `Pending` or `Rejected`.
    pub registration_status: String,
    /// The answer to the boot before; null at the station's first boot.
    pub previous_status: Option<String>,
    /// The operator's setting that decided it: `accepted`, `pending` or `rejected`.
    pub approval: String,
    pub booted_at: String,
}

impl RegistrationEventView {
    pub fn new(
        station_id: &str,
        status: RegistrationStatus,
        previous: Option<RegistrationStatus>,
        approval: Approval,
        booted_at: Timestamp,
    ) -> Self {
        RegistrationEventView {
            station_id: station_id.to_owned(),
            registration_status: status.as_str().to_owned(),
            previous_status: previous.map(|p| p.as_str().to_owned()),
            approval: approval.as_str().to_owned(),
            booted_at: time(booted_at),
        }
    }
}

/// A station's WebSocket connection opened or closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = StationConnectionEvent))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionEventView {
    pub station_id: String,
    /// `1.6` or `2.0.1`.
    pub ocpp_version: String,
    pub connected_at: String,
    /// Set on `station.disconnected`.
    pub disconnected_at: Option<String>,
}

impl ConnectionEventView {
    pub fn new(c: &Connection, disconnected_at: Option<Timestamp>) -> Self {
        ConnectionEventView {
            station_id: c.station_id.to_string(),
            ocpp_version: c.ocpp_version.as_str().to_owned(),
            connected_at: time(c.connected_at),
            disconnected_at: disconnected_at.map(time),
        }
    }
}

/// A booked EVSE (the API's answer and the `booking.refused` event).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = Booking))]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    pub id: String,
    pub station_id: String,
    pub evse_id: u32,
    pub id_token: String,
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub start: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub end: String,
    /// `booked`, `reserved` (the station accepted the ReserveNow),
    /// `active` (the booker started charging), `completed`, `cancelled`,
    /// `noShow` or `refused` (the station refused the ReserveNow or was
    /// offline; the window is still the booker's).
    pub status: String,
    /// The reservation id sent in ReserveNow and CancelReservation.
    pub reservation_id: i32,
    /// What the station answered to the ReserveNow; `null`: not sent yet.
    pub reserve_outcome: Option<String>,
    /// Who made it: `admin`, an API key's id or `user:{id}`.
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    pub version: u64,
}

impl From<&csms_domain::booking::Booking> for BookingView {
    fn from(b: &csms_domain::booking::Booking) -> Self {
        BookingView {
            id: b.id.to_string(),
            station_id: b.station_id.to_string(),
            evse_id: b.evse_id,
            id_token: b.token.to_string(),
            user_id: b.user_id.as_ref().map(|u| u.as_str().to_owned()),
            start: time(b.window.start()),
            end: time(b.window.end()),
            status: b.status.as_str().into(),
            reservation_id: b.reservation_id(),
            reserve_outcome: b.reserve_outcome.clone(),
            created_by: b.created_by.clone(),
            created_at: time(b.created_at),
            updated_at: time(b.updated_at),
            version: b.version,
        }
    }
}

/// Something an operator must look at (the API's answer and the
/// `alarm.opened` and `alarm.resolved` events).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    /// Derived from the condition, e.g. `spot-missing:SE3:2026-11-24`.
    pub id: String,
    /// e.g. `spotPricesMissing`.
    pub kind: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// A short title, e.g. `Station CP-1 offline` (alarms raised before
    /// alarms had titles: their message).
    pub title: String,
    pub message: String,
    /// The evidence, kind-specific (for spot prices: zone, date, fallback,
    /// what each source said; for a station offline: when it went away and
    /// its last message; for a faulted connector: the error code and the
    /// vendor's info), the latest repeat's.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Value,
    /// What to do about it, when the CSMS can say.
    pub suggested_action: Option<String>,
    pub active: bool,
    pub raised_at: String,
    /// How often the condition was seen while the alarm was open (1 when
    /// raised): a repeat updates the open alarm instead of opening another.
    pub occurrences: u32,
    /// The latest repeat; null before the first.
    pub last_seen_at: Option<String>,
    pub resolved_at: Option<String>,
    /// Someone is on it: who (`admin`, a key id, a user) and when.
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    /// Who resolved it by hand; null while active or when it resolved itself.
    pub resolved_by: Option<String>,
    /// What the person who resolved it wrote.
    pub resolution_note: Option<String>,
}

impl From<&csms_domain::alarm::Alarm> for AlarmView {
    fn from(a: &csms_domain::alarm::Alarm) -> Self {
        AlarmView {
            id: a.id.clone(),
            kind: a.kind.clone(),
            severity: match a.severity {
                csms_domain::alarm::Severity::Warning => "warning",
                csms_domain::alarm::Severity::Critical => "critical",
            }
            .to_owned(),
            title: a.title.clone().unwrap_or_else(|| a.message.clone()),
            message: a.message.clone(),
            details: a.details.clone(),
            suggested_action: a.action.clone(),
            active: a.is_active(),
            raised_at: time(a.raised_at),
            occurrences: a.occurrences,
            last_seen_at: a.last_seen_at.map(time),
            resolved_at: a.resolved_at.map(time),
            acknowledged_by: a.handling.acknowledged.as_ref().map(|(by, _)| by.clone()),
            acknowledged_at: a.handling.acknowledged.as_ref().map(|(_, at)| time(*at)),
            resolved_by: a.handling.resolved_by.clone(),
            resolution_note: a.handling.note.clone(),
        }
    }
}

/// An invoice without its lines (the API's lists, and the `invoice.*`
/// webhooks).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvoiceSummary {
    /// `{organisation}~{period}~{userId}`.
    pub id: String,
    /// The issuer's gapless series: 1, 2, 3…
    pub number: String,
    /// The OCR payment reference (length digit and Luhn check digit).
    pub ocr: String,
    pub period: String,
    /// The driver invoiced.
    pub user_id: String,
    /// `issued`, `partlyPaid` or `paid`.
    pub status: String,
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub issue_date: String,
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub due_date: String,
    pub net: String,
    pub vat: String,
    pub gross: String,
    /// Not paid in full and past its due date (today in Europe/Stockholm).
    pub overdue: bool,
    /// Its being unpaid blocks the driver's identifiers at the
    /// organisation's stations now.
    pub blocked: bool,
    /// How many reminders went out.
    pub reminders_sent: usize,
    /// A dispute is open: no reminder, block or saved-card charge now.
    pub disputed: bool,
}

impl From<&csms_domain::billing::invoice::Invoice> for InvoiceSummary {
    fn from(i: &csms_domain::billing::invoice::Invoice) -> Self {
        InvoiceSummary {
            id: i.id.to_string(),
            number: i.number.to_string(),
            ocr: i.ocr.to_string(),
            period: i.period.to_string(),
            user_id: i.user_id.to_string(),
            status: i.status.as_str().into(),
            currency: i.currency.clone(),
            issue_date: i.issue_date.to_string(),
            due_date: i.due_date.to_string(),
            net: i.net.to_string(),
            vat: i.vat_total.to_string(),
            gross: i.gross.to_string(),
            overdue: i.is_overdue(
                chrono::Utc::now()
                    .with_timezone(&csms_domain::billing::period::DEFAULT_ZONE)
                    .date_naive(),
            ),
            blocked: i.blocks(),
            reminders_sent: i.reminders.len(),
            disputed: i.dispute.as_ref().is_some_and(|d| d.open()),
        }
    }
}
