//! The JSON form of what only the API shows (stations, tokens, keys,
//! webhooks, deliveries, …). Sessions and commands are in
//! `csms_kernel::views`, shared with webhook payloads. Each view is the
//! struct that is serialised, and describes itself for the OpenAPI
//! document, so the two cannot drift apart.

#![deny(clippy::arithmetic_side_effects)]

use crate::util::{time, wh};
use csms_domain::api_key::ApiKey;
use csms_domain::meter::MeterReading;
use csms_domain::station::{ConnectorStatus, StationView};
use csms_domain::token::IdTokenRecord;
use csms_domain::webhook::{Attempt, Delivery, Webhook};
use csms_domain::Timestamp;
use csms_kernel::ports::StationEvent;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One connector's status as the station last reported it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: u32,
    /// As the charger said it (`Available`, `Charging`, `Faulted`, …).
    pub status: String,
    pub error_code: Option<String>,
    pub info: Option<String>,
    pub updated_at: String,
}

impl From<&ConnectorStatus> for Connector {
    fn from(c: &ConnectorStatus) -> Self {
        Connector {
            id: c.connector_id,
            status: c.status.clone(),
            error_code: c.error_code.clone(),
            info: c.info.clone(),
            updated_at: time(c.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evse {
    pub id: u32,
    /// The booking the station holds this EVSE for (its ReserveNow was
    /// accepted), if any; its connectors that are `Available` show as
    /// `Reserved`. Only `GET /stations/{id}` looks bookings up; listings
    /// show null.
    pub reserved_for: Option<String>,
    pub connectors: Vec<Connector>,
}

/// A charging station. Never shows the password, only whether it has one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Station {
    pub id: String,
    pub name: Option<String>,
    pub site_id: Option<String>,
    pub has_password: bool,
    pub connected: bool,
    /// `1.6` or `2.0.1`: of the current or last connection.
    pub ocpp_version: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub last_boot_at: Option<String>,
    /// What the CSMS answered the station's last BootNotification
    /// (`Accepted`, `Pending` or `Rejected`); null until it has booted.
    pub registration_status: Option<String>,
    /// The operator's decision, which the station's next boot is answered:
    /// `accepted`, `pending` or `rejected`.
    #[schema(value_type = ApprovalName)]
    pub approval: String,
    pub last_seen_at: Option<String>,
    pub connected_since: Option<String>,
    pub created_at: String,
    /// When the station was taken out of service (its connections are
    /// refused); null while in service.
    pub decommissioned_at: Option<String>,
    /// Until when the password before the last rotation is still
    /// accepted; null when none is.
    pub previous_password_valid_until: Option<String>,
    /// The whole station's status (1.6 connector 0), if reported.
    pub station_status: Option<Connector>,
    pub evses: Vec<Evse>,
}

impl Station {
    /// Marks the EVSEs `reserved` (a reserved booking of each) holds: the
    /// booking's id, and `Reserved` for an `Available` connector.
    pub fn reserve(&mut self, reserved: &[csms_domain::booking::Booking]) {
        for b in reserved {
            let Some(evse) = self.evses.iter_mut().find(|e| e.id == b.evse_id) else {
                continue;
            };
            evse.reserved_for = Some(b.id.to_string());
            for c in &mut evse.connectors {
                if c.status == "Available" {
                    c.status = "Reserved".into();
                }
            }
        }
    }

    pub fn new(view: &StationView, now: Timestamp) -> Self {
        let st = &view.station;
        let mut evses: Vec<Evse> = Vec::new();
        let mut station_status = None;
        for c in &view.connectors_as_shown() {
            if c.evse_id == 0 {
                station_status = Some(Connector::from(c));
                continue;
            }
            match evses.last_mut() {
                Some(e) if e.id == c.evse_id => e.connectors.push(c.into()),
                _ => evses.push(Evse {
                    id: c.evse_id,
                    reserved_for: None,
                    connectors: vec![c.into()],
                }),
            }
        }
        let boot = st.boot.as_ref();
        Station {
            id: st.id.to_string(),
            name: st.name.clone(),
            site_id: st.site_id.as_ref().map(ToString::to_string),
            has_password: st.password_hash.is_some(),
            connected: view.connected(now),
            ocpp_version: st.ocpp_version.map(|v| v.as_str().to_owned()),
            vendor: boot.map(|b| b.vendor.clone()),
            model: boot.map(|b| b.model.clone()),
            serial_number: boot.and_then(|b| b.serial_number.clone()),
            firmware_version: boot.and_then(|b| b.firmware_version.clone()),
            last_boot_at: boot.map(|b| time(b.booted_at)),
            registration_status: boot.map(|b| b.registration.as_str().to_owned()),
            approval: st.approval.as_str().to_owned(),
            last_seen_at: view.last_seen_at().map(time),
            connected_since: view
                .connection
                .as_ref()
                .filter(|c| c.is_live(now))
                .map(|c| time(c.connected_at)),
            created_at: time(st.created_at),
            decommissioned_at: st.decommissioned_at.map(time),
            previous_password_valid_until: st
                .previous_password
                .as_ref()
                .filter(|p| p.valid_until > now)
                .map(|p| time(p.valid_until)),
            station_status,
            evses,
        }
    }
}

/// The operator's decision on a station: `accepted` answers its
/// BootNotification `Accepted`, `pending` `Pending`, `rejected` `Rejected`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the values in the OpenAPI document only.
pub enum ApprovalName {
    Accepted,
    Pending,
    Rejected,
}

/// An entry of a station's event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationEventView {
    /// What the station said: a notification named without its `Notification`
    /// suffix (`FirmwareStatus`, `DiagnosticsStatus`, `LogStatus`, `Report`,
    /// `Event`, `SecurityEvent`), `DataTransfer`, or `ImplausibleValues`: what a
    /// message sent that the CSMS did not use as sent
    /// (`{"action", "values": [{"field", "value", "problem"}], "omitted"}`).
    pub kind: String,
    pub at: String,
    /// The message as the charger sent it (for `ImplausibleValues`, the notes).
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&StationEvent> for StationEventView {
    fn from(e: &StationEvent) -> Self {
        StationEventView {
            kind: e.kind().to_owned(),
            at: time(e.at),
            payload: e.payload(),
        }
    }
}

/// An identifier drivers present (RFID card, app, AutoCharge MAC, …).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdToken {
    /// As registered; a `MacAddress` normalised to 12 upper-case hex digits.
    pub id_token: String,
    #[serde(rename = "type")]
    pub token_type: String,
    /// `Accepted`, `Blocked`, `Expired` or `Invalid`.
    pub status: String,
    /// Not accepted before (chargers get `NotAtThisTime` in 2.0.1, `Invalid` in 1.6).
    pub valid_from: Option<String>,
    /// `Expired` from then on.
    pub valid_to: Option<String>,
    /// The same as `validTo` (its name before tokens had a validity window).
    pub expires_at: Option<String>,
    /// User group whose tariffs apply; `null`: the public tariff.
    pub group: Option<String>,
    /// Sent to chargers as 1.6 `parentIdTag` / 2.0.1 `groupIdToken`.
    pub parent_id: Option<String>,
    /// Plug&Charge contract id.
    pub emaid: Option<String>,
    /// Label or holder name.
    pub label: Option<String>,
    /// The person who holds it (a person of the organisation, `usr_…`):
    /// the sessions it starts are theirs to see.
    pub user_id: Option<String>,
    /// The current block, or the last one (then with `unblockedAt`).
    pub block: Option<TokenBlock>,
    pub created_at: String,
    pub updated_at: String,
    /// Changes with every write; send it as `If-Match` to update only this version.
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBlock {
    pub reason: String,
    /// The API key id that blocked it, or `admin` (the platform admin key).
    pub by: String,
    pub at: String,
    pub unblocked_at: Option<String>,
    pub unblocked_by: Option<String>,
}

impl From<&IdTokenRecord> for IdToken {
    fn from(t: &IdTokenRecord) -> Self {
        IdToken {
            id_token: t.token.to_string(),
            token_type: t.token_type.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            valid_from: t.valid_from.map(time),
            valid_to: t.valid_to.map(time),
            expires_at: t.valid_to.map(time),
            group: t.group.clone(),
            parent_id: t.parent_id.as_ref().map(|p| p.to_string()),
            emaid: t.emaid.clone(),
            label: t.label.clone(),
            user_id: t.user_id.as_ref().map(|u| u.as_str().to_owned()),
            block: t.block.as_ref().map(|b| TokenBlock {
                reason: b.reason.clone(),
                by: b.by.clone(),
                at: time(b.at),
                unblocked_at: b.unblocked_at.map(time),
                unblocked_by: b.unblocked_by.clone(),
            }),
            created_at: time(t.created_at),
            updated_at: time(t.updated_at.unwrap_or(t.created_at)),
            version: t.version,
        }
    }
}

/// An identifier a station of the organisation presented that is not
/// registered ("seen, not registered").
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnregisteredIdToken {
    /// As looked up: an AutoCharge MAC address normalised.
    pub id_token: String,
    /// The type the station gave (2.0.1), `MacAddress` for a 1.6 `VID:` tag,
    /// else `null`.
    #[serde(rename = "type")]
    pub token_type: Option<String>,
    /// The station it was last seen at.
    pub station_id: String,
    pub first_seen: String,
    pub last_seen: String,
    /// Sightings at least a minute apart.
    pub count: u64,
}

impl From<&csms_domain::token::UnregisteredToken> for UnregisteredIdToken {
    fn from(u: &csms_domain::token::UnregisteredToken) -> Self {
        UnregisteredIdToken {
            id_token: u.token.to_string(),
            token_type: u.token_type.map(|t| t.as_str().to_owned()),
            station_id: u.station_id.to_string(),
            first_seen: time(u.first_seen),
            last_seen: time(u.last_seen),
            count: u.count,
        }
    }
}

/// One meter reading, in base units (Wh, W, A, V, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeterValue {
    pub timestamp: String,
    pub measurand: String,
    pub phase: Option<String>,
    pub location: Option<String>,
    pub context: Option<String>,
    #[schema(value_type = f64)]
    pub value: Value,
    pub unit: String,
}

impl From<&MeterReading> for MeterValue {
    fn from(r: &MeterReading) -> Self {
        MeterValue {
            timestamp: time(r.timestamp),
            measurand: r.measurand.clone(),
            phase: r.phase.clone(),
            location: r.location.clone(),
            context: r.context.clone(),
            value: wh(r.value),
            unit: r.unit.clone(),
        }
    }
}

/// A partner API key (the secret is shown once, at creation, as `key`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `read`, `commands`, `admin`.
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// `csk_{id}_{secret}`: only in the answer to the creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        ApiKeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: time(k.created_at),
            revoked_at: k.revoked_at.map(time),
            key: None,
        }
    }
}

/// A webhook subscription (the signing secret is shown once, at creation).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// `session.started`, `session.ended`, `session.priced`, `station.status`, `station.registration`,
    /// `station.connected`, `station.disconnected`, `command.completed`, `booking.refused`.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub deleted_at: Option<String>,
    /// Since when its deliveries keep failing (a `webhookFailing` alarm is
    /// open); null while they get through.
    pub failing_since: Option<String>,
    /// `whsec_…`: only in the answer to the creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(h: &Webhook) -> Self {
        WebhookView {
            id: h.id.clone(),
            url: h.url.clone(),
            events: h.events.iter().map(|e| e.as_str().to_owned()).collect(),
            description: h.description.clone(),
            created_at: time(h.created_at),
            deleted_at: h.deleted_at.map(time),
            failing_since: h.failing_since.map(time),
            secret: None,
        }
    }
}

/// One POST of a delivery to the webhook's URL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub at: String,
    /// The HTTP status, when the endpoint answered.
    pub status_code: Option<u16>,
    /// Why it failed: no connection, timeout, non-2xx.
    pub error: Option<String>,
    /// The start of the endpoint's answer (at most 1 KiB).
    pub response_body: Option<String>,
    pub duration_ms: u64,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        AttemptView {
            at: time(a.at),
            status_code: a.status_code,
            error: a.error.clone(),
            response_body: a.response_body.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

/// One event for one webhook, with every attempt to deliver it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// Sent as `Csms-Webhook-Id`: the same on every retry.
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending` (another attempt is scheduled), `succeeded`, `failed`.
    pub status: String,
    pub attempts: Vec<AttemptView>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// The body that is (re)sent, parsed.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id.clone(),
            webhook_id: d.webhook_id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts.iter().map(Into::into).collect(),
            next_attempt_at: d.next_attempt_at.map(time),
            created_at: time(d.created_at),
            payload: serde_json::from_str(&d.body).unwrap_or(Value::Null),
        }
    }
}
