//! API keys, webhooks and webhook deliveries as stored: [`StoredApiKey`],
//! [`StoredWebhook`], [`StoredDelivery`]. They have always been stored with
//! camel-case names. Which absent optional values are left out and which
//! are written as `null` differs from field to field (a revoked or deleted
//! time is left out, the rest are `null`); both are kept as they were, and
//! both read.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::api_key::{ApiKey, Scope};
use csms_domain::webhook::{Attempt, Delivery, DeliveryStatus, EventType, Webhook};
use csms_domain::OrgId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredApiKey {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "scopes")]
    pub scopes: Vec<StoredScope>,
    /// PHC string of the secret's hash.
    #[serde(rename = "secretHash")]
    pub secret_hash: String,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "revokedAt", default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredScope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "commands")]
    Commands,
    #[serde(rename = "admin")]
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWebhook {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "url")]
    pub url: String,
    #[serde(rename = "events")]
    pub events: Vec<StoredEventType>,
    #[serde(rename = "description", default)]
    pub description: Option<String>,
    #[serde(rename = "secret")]
    pub secret: String,
    #[serde(rename = "createdBy", default)]
    pub created_by: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "deletedAt", default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Absent in webhooks stored before failing ones were watched.
    #[serde(
        rename = "failingSince",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredEventType {
    #[serde(rename = "session.started")]
    SessionStarted,
    #[serde(rename = "session.ended")]
    SessionEnded,
    #[serde(rename = "session.priced")]
    SessionPriced,
    #[serde(rename = "station.status")]
    StationStatus,
    #[serde(rename = "station.registration")]
    StationRegistration,
    #[serde(rename = "station.connected")]
    StationConnected,
    #[serde(rename = "station.disconnected")]
    StationDisconnected,
    #[serde(rename = "command.completed")]
    CommandCompleted,
    #[serde(rename = "booking.refused")]
    BookingRefused,
    #[serde(rename = "alarm.opened")]
    AlarmOpened,
    #[serde(rename = "alarm.resolved")]
    AlarmResolved,
    #[serde(rename = "invoice.issued")]
    InvoiceIssued,
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
    #[serde(rename = "invoice.reminded")]
    InvoiceReminded,
    #[serde(rename = "invoice.blocked")]
    InvoiceBlocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDelivery {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "webhookId")]
    pub webhook_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "eventId")]
    pub event_id: String,
    #[serde(rename = "eventType")]
    pub event_type: StoredEventType,
    /// The JSON body sent, as text.
    #[serde(rename = "body")]
    pub body: String,
    #[serde(rename = "status")]
    pub status: StoredDeliveryStatus,
    #[serde(rename = "attempts")]
    pub attempts: Vec<StoredAttempt>,
    #[serde(rename = "nextAttemptAt", default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredDeliveryStatus {
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "succeeded")]
    Succeeded,
    #[serde(rename = "failed")]
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttempt {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "statusCode", default)]
    pub status_code: Option<u16>,
    #[serde(rename = "responseBody", default)]
    pub response_body: Option<String>,
    #[serde(rename = "error", default)]
    pub error: Option<String>,
    #[serde(rename = "durationMs")]
    pub duration_ms: u64,
}

// ---- the enums, both ways ----

impl From<Scope> for StoredScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Read => StoredScope::Read,
            Scope::Commands => StoredScope::Commands,
            Scope::Admin => StoredScope::Admin,
        }
    }
}

impl From<StoredScope> for Scope {
    fn from(s: StoredScope) -> Self {
        match s {
            StoredScope::Read => Scope::Read,
            StoredScope::Commands => Scope::Commands,
            StoredScope::Admin => Scope::Admin,
        }
    }
}

impl From<EventType> for StoredEventType {
    fn from(e: EventType) -> Self {
        match e {
            EventType::SessionStarted => StoredEventType::SessionStarted,
            EventType::SessionEnded => StoredEventType::SessionEnded,
            EventType::SessionPriced => StoredEventType::SessionPriced,
            EventType::StationStatus => StoredEventType::StationStatus,
            EventType::StationRegistration => StoredEventType::StationRegistration,
            EventType::StationConnected => StoredEventType::StationConnected,
            EventType::StationDisconnected => StoredEventType::StationDisconnected,
            EventType::CommandCompleted => StoredEventType::CommandCompleted,
            EventType::BookingRefused => StoredEventType::BookingRefused,
            EventType::AlarmOpened => StoredEventType::AlarmOpened,
            EventType::AlarmResolved => StoredEventType::AlarmResolved,
            EventType::InvoiceIssued => StoredEventType::InvoiceIssued,
            EventType::InvoicePaid => StoredEventType::InvoicePaid,
            EventType::InvoiceReminded => StoredEventType::InvoiceReminded,
            EventType::InvoiceBlocked => StoredEventType::InvoiceBlocked,
        }
    }
}

impl From<StoredEventType> for EventType {
    fn from(e: StoredEventType) -> Self {
        match e {
            StoredEventType::SessionStarted => EventType::SessionStarted,
            StoredEventType::SessionEnded => EventType::SessionEnded,
            StoredEventType::SessionPriced => EventType::SessionPriced,
            StoredEventType::StationStatus => EventType::StationStatus,
            StoredEventType::StationRegistration => EventType::StationRegistration,
            StoredEventType::StationConnected => EventType::StationConnected,
            StoredEventType::StationDisconnected => EventType::StationDisconnected,
            StoredEventType::CommandCompleted => EventType::CommandCompleted,
            StoredEventType::BookingRefused => EventType::BookingRefused,
            StoredEventType::AlarmOpened => EventType::AlarmOpened,
            StoredEventType::AlarmResolved => EventType::AlarmResolved,
            StoredEventType::InvoiceIssued => EventType::InvoiceIssued,
            StoredEventType::InvoicePaid => EventType::InvoicePaid,
            StoredEventType::InvoiceReminded => EventType::InvoiceReminded,
            StoredEventType::InvoiceBlocked => EventType::InvoiceBlocked,
        }
    }
}

impl From<DeliveryStatus> for StoredDeliveryStatus {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => StoredDeliveryStatus::Pending,
            DeliveryStatus::Succeeded => StoredDeliveryStatus::Succeeded,
            DeliveryStatus::Failed => StoredDeliveryStatus::Failed,
        }
    }
}

impl From<StoredDeliveryStatus> for DeliveryStatus {
    fn from(s: StoredDeliveryStatus) -> Self {
        match s {
            StoredDeliveryStatus::Pending => DeliveryStatus::Pending,
            StoredDeliveryStatus::Succeeded => DeliveryStatus::Succeeded,
            StoredDeliveryStatus::Failed => DeliveryStatus::Failed,
        }
    }
}

// ---- domain → stored ----

impl From<&ApiKey> for StoredApiKey {
    fn from(k: &ApiKey) -> Self {
        let ApiKey {
            id,
            org_id,
            name,
            scopes,
            secret_hash,
            created_at,
            revoked_at,
            version,
        } = k;
        StoredApiKey {
            id: id.clone(),
            org_id: org_id.as_str().to_owned(),
            name: name.clone(),
            scopes: scopes.iter().map(|s| (*s).into()).collect(),
            secret_hash: secret_hash.clone(),
            created_at: *created_at,
            revoked_at: *revoked_at,
            version: *version,
        }
    }
}

impl From<&Webhook> for StoredWebhook {
    fn from(h: &Webhook) -> Self {
        let Webhook {
            id,
            org_id,
            url,
            events,
            description,
            secret,
            created_by,
            created_at,
            deleted_at,
            failing_since,
            version,
        } = h;
        StoredWebhook {
            id: id.clone(),
            org_id: org_id.as_str().to_owned(),
            url: url.clone(),
            events: events.iter().map(|e| (*e).into()).collect(),
            description: description.clone(),
            secret: secret.clone(),
            created_by: created_by.clone(),
            created_at: *created_at,
            deleted_at: *deleted_at,
            failing_since: *failing_since,
            version: *version,
        }
    }
}

impl From<&Attempt> for StoredAttempt {
    fn from(a: &Attempt) -> Self {
        let Attempt {
            at,
            status_code,
            response_body,
            error,
            duration_ms,
        } = a;
        StoredAttempt {
            at: *at,
            status_code: *status_code,
            response_body: response_body.clone(),
            error: error.clone(),
            duration_ms: *duration_ms,
        }
    }
}

impl From<&Delivery> for StoredDelivery {
    fn from(d: &Delivery) -> Self {
        let Delivery {
            id,
            webhook_id,
            org_id,
            event_id,
            event_type,
            body,
            status,
            attempts,
            next_attempt_at,
            created_at,
            version,
        } = d;
        StoredDelivery {
            id: id.clone(),
            webhook_id: webhook_id.clone(),
            org_id: org_id.as_str().to_owned(),
            event_id: event_id.clone(),
            event_type: (*event_type).into(),
            body: body.clone(),
            status: (*status).into(),
            attempts: attempts.iter().map(Into::into).collect(),
            next_attempt_at: *next_attempt_at,
            created_at: *created_at,
            version: *version,
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredApiKey> for ApiKey {
    type Error = DecodeError;

    fn try_from(k: StoredApiKey) -> Result<Self, DecodeError> {
        let StoredApiKey {
            id,
            org_id,
            name,
            scopes,
            secret_hash,
            created_at,
            revoked_at,
            version,
        } = k;
        Ok(ApiKey {
            id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            name,
            scopes: scopes.into_iter().map(Into::into).collect(),
            secret_hash,
            created_at,
            revoked_at,
            version,
        })
    }
}

impl TryFrom<StoredWebhook> for Webhook {
    type Error = DecodeError;

    fn try_from(h: StoredWebhook) -> Result<Self, DecodeError> {
        let StoredWebhook {
            id,
            org_id,
            url,
            events,
            description,
            secret,
            created_by,
            created_at,
            deleted_at,
            failing_since,
            version,
        } = h;
        Ok(Webhook {
            id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            url,
            events: events.into_iter().map(Into::into).collect(),
            description,
            secret,
            created_by,
            created_at,
            deleted_at,
            failing_since,
            version,
        })
    }
}

impl From<StoredAttempt> for Attempt {
    fn from(a: StoredAttempt) -> Self {
        let StoredAttempt {
            at,
            status_code,
            response_body,
            error,
            duration_ms,
        } = a;
        Attempt {
            at,
            status_code,
            response_body,
            error,
            duration_ms,
        }
    }
}

impl TryFrom<StoredDelivery> for Delivery {
    type Error = DecodeError;

    fn try_from(d: StoredDelivery) -> Result<Self, DecodeError> {
        let StoredDelivery {
            id,
            webhook_id,
            org_id,
            event_id,
            event_type,
            body,
            status,
            attempts,
            next_attempt_at,
            created_at,
            version,
        } = d;
        Ok(Delivery {
            id,
            webhook_id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            event_id,
            event_type: event_type.into(),
            body,
            status: status.into(),
            attempts: attempts.into_iter().map(Into::into).collect(),
            next_attempt_at,
            created_at,
            version,
        })
    }
}

impl Record for ApiKey {
    type Stored = StoredApiKey;
}

impl Record for Webhook {
    type Stored = StoredWebhook;
}

impl Record for Delivery {
    type Stored = StoredDelivery;
}
