//! Webhooks: partner subscriptions to events, and the record of every
//! delivery attempt.
//!
//! An event happens once (`session.started`, …); each subscription that
//! wants it gets a [`Delivery`], which is tried until the partner answers
//! 2xx or the retry schedule is used up. Deliveries are kept so partners can
//! see what was sent and what their endpoint answered.

use crate::{OrgId, Timestamp};

/// What a partner can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    SessionStarted,
    SessionEnded,
    /// A session's price was written (the first pricing or a repricing).
    SessionPriced,
    StationStatus,
    /// The answer to a station's BootNotification changed (or it booted
    /// for the first time): `Accepted`, `Pending` or `Rejected`.
    StationRegistration,
    StationConnected,
    StationDisconnected,
    CommandCompleted,
    /// A booking's reservation was refused by the station, or the station
    /// was offline: the driver should be told.
    BookingRefused,
    /// An alarm opened (raised, or raised again after it was resolved); a
    /// repeat of an open alarm is not a new event.
    AlarmOpened,
    /// An alarm resolved, by itself or by hand.
    AlarmResolved,
    /// The monthly run issued an invoice to a driver.
    InvoiceIssued,
    /// An invoice was paid in full (by any method).
    InvoicePaid,
    /// A reminder of an unpaid invoice was recorded (and is mailed).
    InvoiceReminded,
    /// An unpaid invoice blocked its driver's identifiers.
    InvoiceBlocked,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        EventType::SessionStarted,
        EventType::SessionEnded,
        EventType::SessionPriced,
        EventType::StationStatus,
        EventType::StationRegistration,
        EventType::StationConnected,
        EventType::StationDisconnected,
        EventType::CommandCompleted,
        EventType::BookingRefused,
        EventType::AlarmOpened,
        EventType::AlarmResolved,
        EventType::InvoiceIssued,
        EventType::InvoicePaid,
        EventType::InvoiceReminded,
        EventType::InvoiceBlocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SessionStarted => "session.started",
            EventType::SessionEnded => "session.ended",
            EventType::SessionPriced => "session.priced",
            EventType::StationStatus => "station.status",
            EventType::StationRegistration => "station.registration",
            EventType::StationConnected => "station.connected",
            EventType::StationDisconnected => "station.disconnected",
            EventType::CommandCompleted => "command.completed",
            EventType::BookingRefused => "booking.refused",
            EventType::AlarmOpened => "alarm.opened",
            EventType::AlarmResolved => "alarm.resolved",
            EventType::InvoiceIssued => "invoice.issued",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoiceReminded => "invoice.reminded",
            EventType::InvoiceBlocked => "invoice.blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A partner's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// A ULID.
    pub id: String,
    pub org_id: OrgId,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    /// The signing secret (`whsec_…`). Kept readable, unlike API key
    /// secrets: signing needs it, and it grants nothing on our side.
    pub secret: String,
    /// The API key that created it, if a partner key did.
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    /// Set when deleted: no new deliveries; the history stays readable.
    pub deleted_at: Option<Timestamp>,
    /// Set when its deliveries keep failing (its `webhookFailing` alarm is
    /// open), cleared by the next delivery it takes: so a delivery that
    /// gets through looks for the alarm only then.
    pub failing_since: Option<Timestamp>,
    pub version: u64,
}

impl Webhook {
    pub fn wants(&self, event: EventType) -> bool {
        self.deleted_at.is_none() && self.events.contains(&event)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not yet answered 2xx; another attempt is scheduled.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt of the schedule failed (or the webhook was deleted).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        self != DeliveryStatus::Pending
    }
}

/// One POST to the partner's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: Timestamp,
    /// The HTTP status, when the endpoint answered at all.
    pub status_code: Option<u16>,
    /// The start of the endpoint's answer (at most 1 KiB).
    pub response_body: Option<String>,
    /// Why it failed (connection refused, timeout, non-2xx).
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One event for one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// A ULID, sent as `Csms-Webhook-Id` so receivers can drop duplicates.
    pub id: String,
    pub webhook_id: String,
    pub org_id: OrgId,
    pub event_id: String,
    pub event_type: EventType,
    /// The exact body sent (the signed bytes), so every retry is identical.
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due while `Pending`.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub version: u64,
}
