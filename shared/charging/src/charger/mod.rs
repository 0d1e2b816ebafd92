//! Charger-initiated OCPP messages: from the raw WebSocket text to the reply.
//!
//! Every message goes the same way: parse the frame (`csms-ocpp`), look the
//! action up in the catalogue, validate the payload against the official
//! schema, turn it into a version-neutral [`ChargerEvent`] in the version's
//! module for that action, apply the event (this module), and render the
//! version's response from the [`Outcome`]. Failures become CALLERRORs; a
//! garbage frame never closes the connection.
//!
//! # Layout
//! - [`v16`], [`v201`]: one module per action and version, and the
//!   version's dispatch.
//! - `heartbeat`, `data_transfer`: the actions whose message is the same in
//!   both versions, once.
//! - [`wire`]: what both versions read the same way (times, numbers,
//!   request ids).
//! - [`monitor`]: alarms about stations (offline beyond a grace, a
//!   connector that reports a fault).

mod data_transfer;
mod heartbeat;
pub mod monitor;
pub mod v16;
pub mod v201;
pub mod wire;

use crate::access;
use chrono::TimeDelta;
use csms_domain::access::{GarageIdentity, StationAccess};
use csms_domain::command::{CommandRequest, CommandStatus};
use csms_domain::event::{ChargerEvent, TransactionEvent, TransactionPhase};
use csms_domain::meter::energy_registers;
use csms_domain::session::{
    CloseReason, InferredEnd, Session, SessionEnd, SessionStatus, SessionUpdate,
};
use csms_domain::station::{Approval, Connection, ConnectorStatus, RegistrationStatus};
use csms_domain::token::{
    authorize_registered, Authorization, AuthorizationStatus, IdTokenRecord, IdTokenType,
    UnregisteredToken,
};
use csms_domain::user::UserId;
use csms_domain::{IdError, IdTokenValue, OcppVersion, SessionId, Timestamp, TransactionId};
use csms_kernel::events::{DomainEvent, EventBus, NoEvents, StationRef};
use csms_kernel::ports::{
    AccessStore, AlarmSettingsStore, AlarmStore, BookingStore, Clock, CommandStore,
    ConnectionStore, DeviceModelStore, IdempotencyStore, LoadStore, MeterTarget, OfflineStore,
    PageRequest, SessionQuery, SessionStore, SiteStore, StationEvent, StationLogEntry,
    StationStore, StoreError, TokenStore,
};
use csms_kernel::ports::{CallReplies, StatusWrite};
use csms_ocpp::catalog::{self, Direction};
use csms_ocpp::frame::{render_call_result, usable_message_id};
use csms_ocpp::schema::{self, Kind};
use csms_ocpp::{parse_frame, CallError, ErrorCode, Frame, Version};
use serde_json::{Map, Value};
use std::sync::Arc;
use tracing::Instrument;

/// Settings of the charger-facing service.
#[derive(Debug, Clone)]
pub struct ChargerConfig {
    /// Heartbeat interval handed out at boot. API Gateway drops a WebSocket
    /// after 10 idle minutes, so this must stay well below 600 s.
    pub heartbeat_interval_secs: u32,
    /// The interval handed out with a `Pending` or `Rejected` answer: how
    /// long the station waits before it boots again.
    pub pending_boot_interval_secs: u32,
}

impl ChargerConfig {
    /// Default of [`ChargerConfig::pending_boot_interval_secs`]
    /// (`CSMS_PENDING_BOOT_INTERVAL`).
    pub const PENDING_BOOT_INTERVAL_SECS: u32 = 60;
}

impl Default for ChargerConfig {
    fn default() -> Self {
        ChargerConfig {
            heartbeat_interval_secs: 300,
            pending_boot_interval_secs: Self::PENDING_BOOT_INTERVAL_SECS,
        }
    }
}

/// Why a message could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Schema-valid but semantically unusable (e.g. an unparseable timestamp).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HandlerError {
    /// A charger value that breaks an identifier rule, named by its field.
    /// The value is shown escaped (`{:?}`), so control characters reach
    /// neither the charger's log nor ours raw.
    pub(crate) fn field(field: &str, value: &str, e: IdError) -> Self {
        HandlerError::Invalid(format!("{field} {value:?}: {e}"))
    }
}

/// What the CSMS decided about an event, for the version module to render.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ack,
    Boot {
        status: RegistrationStatus,
        interval_secs: u32,
        now: Timestamp,
    },
    Heartbeat {
        now: Timestamp,
    },
    Authorization(Authorization),
    Transaction {
        transaction_id: TransactionId,
        authorization: Option<Authorization>,
    },
    DataTransfer {
        accepted: bool,
    },
}

/// Where a token was presented: the EVSE and connector the message names
/// (none on an Authorize), and the message, for a refusal's record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Presented {
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub source: &'static str,
}

/// How many of a station's newest sessions are looked at for open ones to
/// close. A station runs a transaction per EVSE at a time, so an open session
/// further back is rare; the idle sweep closes it.
const OPEN_SESSION_WINDOW: u32 = 20;

/// How long after a TriggerMessage was sent a station that is not yet
/// accepted may still send the message it asked for.
const TRIGGERED_WINDOW: TimeDelta = TimeDelta::minutes(5);

pub fn wire_version(v: OcppVersion) -> Version {
    match v {
        OcppVersion::V16 => Version::V16,
        OcppVersion::V201 => Version::V201,
    }
}

csms_kernel::store_ports! {
    /// The store ports the charging context uses: stations and their
    /// connections, id tokens, sessions with their meter readings,
    /// idempotency keys and the device model — and two reads across
    /// contexts: the station's recent commands (the id token of a remote
    /// start) and its load site (whether a car's charging needs are planned).
    pub trait ChargingStore:
        StationStore,
        ConnectionStore,
        TokenStore,
        SessionStore,
        IdempotencyStore,
        DeviceModelStore,
        CommandStore,
        LoadStore,
        AccessStore,
        SiteStore,
        BookingStore,
        AlarmStore,
        OfflineStore,
        AlarmSettingsStore,
}

pub struct ChargerService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    config: ChargerConfig,
    /// Where replies to CSMS-initiated calls go (the command service).
    replies: Option<Arc<dyn CallReplies>>,
    /// Where what happened goes, after it was stored (load balancing,
    /// pricing and webhooks subscribe).
    events: Arc<dyn EventBus>,
}

/// How far back the idle-session sweep looks: sessions that started earlier
/// are not seen (the listing is by start time); the window pricing recovery
/// uses too.
pub const IDLE_SWEEP_LOOKBACK: TimeDelta = TimeDelta::days(35);

impl<S: ?Sized> Clone for ChargerService<S> {
    fn clone(&self) -> Self {
        ChargerService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: self.config.clone(),
            replies: self.replies.clone(),
            events: self.events.clone(),
        }
    }
}

impl<S: ChargingStore + ?Sized> ChargerService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, config: ChargerConfig) -> Self {
        ChargerService {
            store,
            clock,
            config,
            replies: None,
            events: Arc::new(NoEvents),
        }
    }

    /// A car's energy need (ISO 15118) for the EVSE, to plan its session.
    pub(crate) async fn signal_need(
        &self,
        conn: &Connection,
        evse_id: u32,
        need: csms_domain::load::ChargingNeed,
        now: Timestamp,
    ) {
        self.events
            .publish(DomainEvent::ChargingNeed {
                station: StationRef::from(conn),
                evse_id,
                need,
                at: now,
            })
            .await;
    }

    /// Publish what happened to `events`, after it was stored.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }

    /// Route CALLRESULTs and CALLERRORs to `replies` (without it they are
    /// logged and dropped).
    pub fn with_replies(mut self, replies: Arc<dyn CallReplies>) -> Self {
        self.replies = Some(replies);
        self
    }

    /// Tell the command service the station was accepted at boot.
    pub(crate) async fn booted(&self, conn: &Connection) {
        if let Some(r) = &self.replies {
            r.booted(conn).await;
        }
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn events(&self) -> &Arc<dyn EventBus> {
        &self.events
    }

    /// Entry point for a message on a connection known only by id (the
    /// `$default` Lambda). Touching the connection record is the one store
    /// request every message costs: it identifies the station and records
    /// that it is alive.
    pub async fn on_message(&self, connection_id: &str, text: &str) -> Option<String> {
        let now = self.clock.now();
        match self.store.touch_connection(connection_id, now).await {
            Ok(Some(conn)) => {
                let reply = self.handle(&conn, text, now).await;
                self.check_flood(&conn, now).await;
                reply
            }
            Ok(None) => {
                tracing::warn!(connection_id, "message on a connection without record");
                reply_without_connection(
                    text,
                    ErrorCode::SecurityError,
                    "connection is not registered; reconnect",
                )
            }
            Err(e) => {
                tracing::error!(connection_id, error = %e, "connection lookup failed");
                reply_without_connection(text, ErrorCode::InternalError, "temporary failure, retry")
            }
        }
    }

    /// Handle one text frame from a station whose connection is known.
    /// Returns the reply frame, if the frame calls for one.
    pub async fn handle(&self, conn: &Connection, text: &str, now: Timestamp) -> Option<String> {
        let version = wire_version(conn.ocpp_version);
        match parse_frame(version, text) {
            Err(e) => {
                tracing::info!(station = %conn.station_id, code = ?e.code, "malformed frame: {}", e.description);
                Some(e.render(version))
            }
            Ok(Frame::Call {
                message_id,
                action,
                payload,
            }) => {
                // Attached to the future, never entered across an `.await`:
                // an entered span held over a suspension point leaks into
                // whatever task the worker polls next, chaining spans between
                // chargers without bound.
                let span =
                    tracing::info_span!("ocpp", station = %conn.station_id, message_id, action);
                Some(
                    self.call(conn, version, &message_id, &action, payload, now)
                        .instrument(span)
                        .await,
                )
            }
            Ok(Frame::CallResult {
                message_id,
                payload,
            }) => {
                match &self.replies {
                    Some(r) => r.call_result(conn, &message_id, payload).await,
                    None => {
                        tracing::info!(station = %conn.station_id, message_id, "reply to an unknown call ignored")
                    }
                }
                None
            }
            Ok(Frame::CallError {
                message_id,
                code,
                description,
                ..
            }) => {
                match &self.replies {
                    Some(r) => r.call_error(conn, &message_id, &code, &description).await,
                    None => {
                        tracing::info!(station = %conn.station_id, message_id, "reply to an unknown call ignored")
                    }
                }
                None
            }
            Ok(Frame::BrokenReply { reason }) => {
                tracing::info!(station = %conn.station_id, "broken reply frame ignored: {reason}");
                None
            }
        }
    }

    async fn call(
        &self,
        conn: &Connection,
        version: Version,
        message_id: &str,
        action: &str,
        payload: Map<String, Value>,
        now: Timestamp,
    ) -> String {
        let error = |code, msg: String| CallError::new(message_id, code, msg).render(version);
        match catalog::direction(version, action) {
            None => {
                return error(
                    ErrorCode::NotImplemented,
                    format!("unknown action {action:?}"),
                )
            }
            Some(Direction::FromCsms) => {
                return error(
                    ErrorCode::NotSupported,
                    format!("{action} is sent by the CSMS, not by a charger"),
                )
            }
            Some(Direction::FromCharger) => {}
        }
        if conn.approval != Approval::Accepted
            && !self.allowed_before_acceptance(conn, action, now).await
        {
            return error(
                ErrorCode::SecurityError,
                format!(
                    "the station is not accepted (registration {}): only BootNotification{} may be sent",
                    conn.approval.registration().as_str(),
                    if conn.approval == Approval::Pending {
                        " and what the CSMS asks for"
                    } else {
                        ""
                    }
                ),
            );
        }
        let mut payload = Value::Object(payload);
        let mut dropped = wire::Dropped::default();
        if let Err(v) = validate_request(version, action, &mut payload, &mut dropped) {
            return CallError::new(message_id, v.code, v.description.clone())
                .with_details(v.details())
                .render(version);
        }
        let stamps = monitor::clock_stamps(version, action, &payload);
        let result = match version {
            Version::V16 => v16::dispatch(self, conn, action, payload, now).await,
            Version::V201 => v201::dispatch(self, conn, action, payload, now).await,
        };
        if result.is_ok() {
            self.note_dropped(conn, action, dropped, now).await;
            self.check_clock(conn, action, &stamps, now).await;
        }
        match result {
            Ok(Some(response)) => {
                if let Err(v) = schema::validate(version, action, Kind::Response, &response) {
                    // A bug on our side: say so loudly, but still answer.
                    tracing::error!(?v, "response violates the {action} schema");
                }
                render_call_result(message_id, &response)
            }
            Ok(None) => error(
                ErrorCode::NotSupported,
                format!("{action} is not supported by this CSMS"),
            ),
            Err(HandlerError::Invalid(msg)) => error(ErrorCode::PropertyConstraintViolation, msg),
            Err(HandlerError::Store(e)) => {
                tracing::error!(error = %e, "store failure while handling {action}");
                error(ErrorCode::InternalError, "temporary failure, retry".into())
            }
        }
    }

    /// Whether a station that is not accepted may send `action` (OCPP 1.6
    /// 4.2, 2.0.1 B02.FR.09/B03.FR.07): its BootNotification always; while
    /// `Pending` also what the CSMS asked for — a report (2.0.1
    /// NotifyReport answers GetBaseReport/GetReport) or the message of a
    /// TriggerMessage sent in the last [`TRIGGERED_WINDOW`] and not refused.
    /// The command lookup runs only for such stations and such messages.
    async fn allowed_before_acceptance(
        &self,
        conn: &Connection,
        action: &str,
        now: Timestamp,
    ) -> bool {
        if action == "BootNotification" {
            return true;
        }
        if conn.approval != Approval::Pending {
            return false;
        }
        if action == "NotifyReport" {
            return true;
        }
        let page = match self
            .store
            .list_station_commands(&conn.station_id, &PageRequest::first(10))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "could not look for the TriggerMessage of a pending station");
                return false;
            }
        };
        page.items.iter().any(|c| {
            matches!(&c.request, CommandRequest::TriggerMessage { message, .. } if message == action)
                && matches!(c.status, CommandStatus::Pending | CommandStatus::Accepted)
                && c.sent_at.is_some_and(|t| now - t <= TRIGGERED_WINDOW)
        })
    }

    /// Apply a version-neutral event. The core of the charger-facing domain.
    pub async fn apply(
        &self,
        conn: &Connection,
        event: ChargerEvent,
        now: Timestamp,
    ) -> Result<Outcome, HandlerError> {
        match event {
            ChargerEvent::Booted(mut boot) => {
                // One station read per boot: the operator's approval decides
                // the answer (the connection's copy may predate a change).
                let station = self.store.get_station(&conn.station_id).await?;
                let approval = station.as_ref().map(|s| s.approval).unwrap_or_default();
                let previous = station
                    .as_ref()
                    .and_then(|s| s.boot.as_ref())
                    .map(|b| b.registration);
                let status = approval.registration();
                boot.registration = status;
                // The boots of the hour before this one: those the last
                // boot kept, or the last boot itself if it kept none.
                let earlier: Vec<Timestamp> = match station.as_ref().and_then(|s| s.boot.as_ref()) {
                    Some(b) if b.recent_boots.is_empty() => vec![b.booted_at],
                    Some(b) => b.recent_boots.clone(),
                    None => Vec::new(),
                };
                boot.recent_boots = csms_domain::station::recent(&earlier, now);
                self.store.record_boot(&conn.station_id, &boot).await?;
                if let Some(station) = &station {
                    let station = csms_domain::station::Station {
                        boot: Some(boot.clone()),
                        ..station.clone()
                    };
                    monitor::check_churn(
                        &*self.store,
                        &*self.events,
                        &station,
                        &boot.recent_boots,
                        monitor::boot_loop_alarm,
                        |s| s.boot_loop,
                        now,
                    )
                    .await;
                }
                // A station that boots has lost its transactions (1.6 ends
                // them with a StopTransaction it may never send; a 2.0.1
                // station that resumes one sends `Updated`, late data then).
                self.close_open_sessions(
                    conn,
                    (None, None),
                    None,
                    CloseReason::StationRebooted,
                    now,
                    now,
                )
                .await;
                if previous != Some(status) {
                    self.events
                        .publish(DomainEvent::StationRegistration {
                            station: StationRef::from(conn),
                            status,
                            previous,
                            approval,
                            at: now,
                        })
                        .await;
                }
                let interval_secs = match status {
                    RegistrationStatus::Accepted => self.config.heartbeat_interval_secs,
                    RegistrationStatus::Pending | RegistrationStatus::Rejected => {
                        self.config.pending_boot_interval_secs
                    }
                };
                Ok(Outcome::Boot {
                    status,
                    interval_secs,
                    now,
                })
            }
            ChargerEvent::Heartbeat => Ok(Outcome::Heartbeat { now }),
            ChargerEvent::StatusChanged {
                evse_id,
                connector_id,
                status,
                error_code,
                info,
                at,
            } => {
                let status = ConnectorStatus {
                    evse_id,
                    connector_id,
                    status,
                    error_code,
                    info,
                    // A charger clock far in the future must not freeze the status.
                    updated_at: at
                        .filter(|t| *t <= now + TimeDelta::minutes(5))
                        .unwrap_or(now),
                };
                let written = self
                    .store
                    .set_connector_status(&conn.org_id, &conn.station_id, &status)
                    .await?;
                if let StatusWrite::Stored { previous } = &written {
                    self.connector_fault(conn, previous.as_ref(), &status, now)
                        .await;
                    self.connector_moved_on(conn, previous.as_ref(), &status, now)
                        .await;
                }
                // `Available` means no transaction on that connector (EVSE):
                // one still open there was never ended by the charger.
                if status.status == "Available" && evse_id > 0 {
                    // Another connector of the EVSE being free says nothing.
                    // A 1.6 EVSE is one connector: its number says it all
                    // (and sessions stored before 1.6 connector N was
                    // connector N carry connector 1).
                    let connector = Some(connector_id)
                        .filter(|c| *c > 0 && conn.ocpp_version == OcppVersion::V201);
                    self.close_open_sessions(
                        conn,
                        (Some(evse_id), connector),
                        None,
                        CloseReason::ConnectorAvailable,
                        status.updated_at,
                        now,
                    )
                    .await;
                }
                self.events
                    .publish(DomainEvent::ConnectorStatus {
                        station: StationRef::from(conn),
                        status,
                        at: now,
                    })
                    .await;
                Ok(Outcome::Ack)
            }
            ChargerEvent::AuthorizeRequested {
                id_token,
                token_type,
            } => Ok(Outcome::Authorization(
                self.authorize(conn, &id_token, token_type, now).await?,
            )),
            ChargerEvent::Transaction(tx) => self.transaction(conn, tx, now).await,
            ChargerEvent::MeterValues {
                evse_id,
                transaction_id,
                readings,
            } => {
                match transaction_id {
                    Some(tx) => {
                        let id = SessionId::new(&conn.station_id, &tx);
                        self.store
                            .put_meter_readings(&MeterTarget::Session(id), &readings)
                            .await?;
                        let update = SessionUpdate {
                            evse_id: Some(evse_id).filter(|e| *e > 0),
                            registers: energy_registers(&readings),
                            ..Default::default()
                        };
                        if !update.registers.is_empty() {
                            self.merge_session(conn, &tx, &update, now).await?;
                        }
                    }
                    None => {
                        self.store
                            .put_meter_readings(
                                &MeterTarget::Station(conn.station_id.clone()),
                                &readings,
                            )
                            .await?;
                    }
                }
                self.events
                    .publish(DomainEvent::MeterValues {
                        station: StationRef::from(conn),
                        evse_id,
                        readings,
                        at: now,
                    })
                    .await;
                Ok(Outcome::Ack)
            }
            ChargerEvent::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => {
                let entry = StationLogEntry::DataTransfer {
                    vendor_id,
                    message_id,
                    data: data.filter(|d| !d.is_null()),
                };
                self.log_event(conn, entry, now).await?;
                // No vendor extensions are implemented: the data is kept, not acted on.
                Ok(Outcome::DataTransfer { accepted: false })
            }
            ChargerEvent::Notification { kind, payload } => {
                let entry = StationLogEntry::Notification {
                    kind,
                    message: payload,
                };
                self.log_event(conn, entry, now).await?;
                Ok(Outcome::Ack)
            }
        }
    }

    async fn log_event(
        &self,
        conn: &Connection,
        entry: StationLogEntry,
        now: Timestamp,
    ) -> Result<(), HandlerError> {
        let event = StationEvent {
            station_id: conn.station_id.clone(),
            at: now,
            entry,
        };
        Ok(self.store.append_station_event(&event).await?)
    }

    /// Keep what a message's values lost as one `ImplausibleValues` station
    /// event (see [`wire::Dropped`]). A failure to note is logged, not the
    /// message's failure.
    pub(crate) async fn note_dropped(
        &self,
        conn: &Connection,
        action: &str,
        dropped: wire::Dropped,
        now: Timestamp,
    ) {
        let Some(payload) = dropped.into_payload(action) else {
            return;
        };
        if let Err(e) = self
            .log_event(
                conn,
                StationLogEntry::ImplausibleValues { notes: payload },
                now,
            )
            .await
        {
            tracing::error!(error = %e, "could not record the implausible values of a message");
        }
    }

    /// The registry's answer for a token presented at `conn`'s station
    /// (an Authorize, which names no EVSE: the station's access policy).
    pub async fn authorize(
        &self,
        conn: &Connection,
        token: &IdTokenValue,
        token_type: Option<IdTokenType>,
        now: Timestamp,
    ) -> Result<Authorization, HandlerError> {
        let at = Presented {
            evse_id: None,
            connector_id: None,
            source: "Authorize",
        };
        Ok(self.authorize_at(conn, token, token_type, at, now).await?.0)
    }

    /// The answer for a token presented at `conn`'s station, at an EVSE if
    /// the message names one. The token's own state (status, validity)
    /// first; a valid one must then be let in by the access mode at the
    /// EVSE now (private: the station's organisation, maybe some of its
    /// groups; public and semi-public: any registered token), else it is
    /// `Invalid` and the refusal is kept for the operator. An unknown token
    /// is noted as seen at the station ("seen, not registered"); failing to
    /// note it does not fail the answer. A token of another organisation
    /// that is not valid is `Invalid`, as an unknown one: its state is not
    /// the station's business.
    ///
    /// With the answer comes the token's holder, whatever the answer: a
    /// session started with the token is theirs to see.
    pub(crate) async fn authorize_at(
        &self,
        conn: &Connection,
        token: &IdTokenValue,
        token_type: Option<IdTokenType>,
        at: Presented,
        now: Timestamp,
    ) -> Result<(Authorization, Option<UserId>), HandlerError> {
        let (record, access) = self
            .store
            .get_token_and_access(token, &conn.station_id)
            .await?;
        self.decide(conn, token, token_type, (record, access), at, now, false)
            .await
    }

    /// The garage identity of `conn`'s station, if it has one of its
    /// organisation.
    async fn garage_of(&self, conn: &Connection) -> Result<Option<GarageIdentity>, HandlerError> {
        Ok(self
            .store
            .get_garage_identity(&conn.station_id)
            .await?
            .filter(|g| g.org_id == conn.org_id))
    }

    /// The answer for a transaction the garage station `g` starts without
    /// a card: its person's `EMail` identifier, decided like a card.
    async fn authorize_garage(
        &self,
        conn: &Connection,
        g: &GarageIdentity,
        at: Presented,
        now: Timestamp,
    ) -> Result<(Authorization, Option<UserId>), HandlerError> {
        let read = self
            .store
            .get_token_and_access(&g.id_token, &conn.station_id)
            .await?;
        self.decide(
            conn,
            &g.id_token,
            Some(IdTokenType::EMail),
            read,
            at,
            now,
            true,
        )
        .await
    }

    /// [`Self::authorize_at`] on what was read. An `EMail` identifier is a
    /// garage station's to start for (`garage`); a charger presenting one
    /// itself is refused like an unknown token, and not listed as seen.
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        conn: &Connection,
        token: &IdTokenValue,
        token_type: Option<IdTokenType>,
        (record, access): (Option<IdTokenRecord>, Option<StationAccess>),
        at: Presented,
        now: Timestamp,
        garage: bool,
    ) -> Result<(Authorization, Option<UserId>), HandlerError> {
        let record = match record {
            Some(r) if r.token_type == IdTokenType::EMail && !garage => {
                return Ok((authorize_registered(None, now), None))
            }
            Some(r) => r,
            None => {
                if !garage {
                    self.note_unregistered(conn, token, token_type, now).await;
                }
                return Ok((authorize_registered(None, now), None));
            }
        };
        let holder = record.user_id.clone();
        let own = authorize_registered(Some(&record), now);
        if own.status != AuthorizationStatus::Accepted {
            let answer = if record.org_id == conn.org_id {
                own
            } else {
                authorize_registered(None, now)
            };
            return Ok((answer, holder));
        }
        let place = access::Place {
            station_id: &conn.station_id,
            org_id: &conn.org_id,
            site_id: conn.site_id.as_ref(),
            evse_id: at.evse_id,
        };
        let decision = access::admit(
            &*self.store,
            place,
            at.connector_id,
            at.source,
            access.as_ref(),
            &record,
            now,
        )
        .await?;
        let answer = match decision {
            Ok(_) => own,
            Err(_) => authorize_registered(None, now),
        };
        Ok((answer, holder))
    }

    /// The answer for a token on a transaction's later events (1.6
    /// StopTransaction, 2.0.1 `Updated`/`Ended`): the token's own state.
    /// The access mode was asked when the transaction started; a schedule
    /// that turns private since does not end it.
    async fn authorize_owned(
        &self,
        conn: &Connection,
        token: &IdTokenValue,
        token_type: Option<IdTokenType>,
        now: Timestamp,
    ) -> Result<Authorization, HandlerError> {
        let record = self.store.get_id_token(token).await?;
        if record.is_none() {
            // A garage station's free-vend tag is its own, not a card seen.
            let free_vend = conn.ocpp_version == OcppVersion::V16
                && self
                    .garage_of(conn)
                    .await?
                    .is_some_and(|g| g.is_free_vend_tag(token));
            if !free_vend {
                self.note_unregistered(conn, token, token_type, now).await;
            }
        }
        Ok(authorize_registered(record.as_ref(), now))
    }

    /// Notes a token nobody registered as seen at `conn`'s station ("seen,
    /// not registered"); failing to note it does not fail the answer.
    async fn note_unregistered(
        &self,
        conn: &Connection,
        token: &IdTokenValue,
        token_type: Option<IdTokenType>,
        now: Timestamp,
    ) {
        let seen = UnregisteredToken {
            org_id: conn.org_id.clone(),
            token: token.clone(),
            token_type,
            station_id: conn.station_id.clone(),
            first_seen: now,
            last_seen: now,
            count: 1,
        };
        if let Err(e) = self.store.note_unregistered(&seen).await {
            tracing::error!(error = %e, "could not note an unregistered id token");
        }
    }

    async fn transaction(
        &self,
        conn: &Connection,
        ev: TransactionEvent,
        now: Timestamp,
    ) -> Result<Outcome, HandlerError> {
        // The access mode is asked when a transaction starts; later events
        // carry the token the start was answered for.
        let at = Presented {
            evse_id: ev.evse_id.or(ev.connector_id),
            connector_id: ev.connector_id,
            source: match conn.ocpp_version {
                OcppVersion::V16 => "StartTransaction",
                OcppVersion::V201 => "TransactionEvent",
            },
        };
        // A garage station starts for its person without a card (2.0.1: no
        // token, or `NoAuthorization`; 1.6: its free-vend idTag while no
        // card has that value): the session is recorded for their `EMail`
        // identifier (`garage`).
        let started = ev.phase == TransactionPhase::Started;
        let (authorization, holder, garage) = match &ev.id_token {
            Some(t) if started => {
                let read = self.store.get_token_and_access(t, &conn.station_id).await?;
                let free_vend = match (&read.0, conn.ocpp_version) {
                    (None, OcppVersion::V16) => self
                        .garage_of(conn)
                        .await?
                        .filter(|g| g.is_free_vend_tag(t)),
                    _ => None,
                };
                match free_vend {
                    Some(g) => {
                        let (answer, holder) = self.authorize_garage(conn, &g, at, now).await?;
                        (Some(answer), holder, Some(g.id_token))
                    }
                    None => {
                        let (answer, holder) = self
                            .decide(conn, t, ev.id_token_type, read, at, now, false)
                            .await?;
                        (Some(answer), holder, None)
                    }
                }
            }
            Some(t) => (
                Some(self.authorize_owned(conn, t, ev.id_token_type, now).await?),
                None,
                None,
            ),
            None if started && conn.ocpp_version == OcppVersion::V201 => {
                match self.garage_of(conn).await? {
                    Some(g) => {
                        let (answer, holder) = self.authorize_garage(conn, &g, at, now).await?;
                        (Some(answer), holder, Some(g.id_token))
                    }
                    None => (None, None, None),
                }
            }
            None => (None, None, None),
        };
        let transaction_id = match &ev.transaction_id {
            Some(id) => id.clone(),
            None => self.allocate_transaction_id(conn, &ev).await?,
        };
        // Every id reaching here is a checked `TransactionId`, parsed by the
        // version module before anything was written: a refused id leaves
        // no readings and no session behind.
        let session_id = SessionId::new(&conn.station_id, &transaction_id);
        if !ev.readings.is_empty() {
            self.store
                .put_meter_readings(&MeterTarget::Session(session_id), &ev.readings)
                .await?;
        }
        let ended = ev.phase == TransactionPhase::Ended;
        let registers = energy_registers(&ev.readings);
        // A 2.0.1 `Ended` carries its stop reading (`Transaction.End`) among
        // its meter values: it is the stop value, fixed like a 1.6 meterStop,
        // so an `Updated` sent after the end cannot move it.
        let meter_stop_wh = ev.meter_stop_wh.or_else(|| {
            ended
                .then(|| registers.iter().max_by_key(|(t, _)| *t).map(|(_, wh)| *wh))
                .flatten()
        });
        let update = SessionUpdate {
            user_id: holder,
            is_start: ev.phase == TransactionPhase::Started,
            evse_id: ev.evse_id,
            connector_id: ev.connector_id,
            id_token: garage
                .as_ref()
                .or(ev.id_token.as_ref())
                .map(|t| t.as_str().to_owned()),
            started_at: (ev.phase == TransactionPhase::Started).then_some(ev.timestamp),
            meter_start_wh: ev.meter_start_wh,
            end: ended.then(|| SessionEnd {
                ended_at: ev.timestamp,
                reason: ev.stop_reason.clone(),
                meter_stop_wh,
            }),
            registers,
            seq_no: ev.seq_no,
            offline: ev.offline,
            clock_replaced: ev.charger_timestamp.is_some(),
            inferred_end: None,
        };
        self.merge_session(conn, &transaction_id, &update, now)
            .await?;
        // One transaction at a time per EVSE: a new one ends any other the
        // charger left open there.
        if let (TransactionPhase::Started, Some(evse)) = (ev.phase, ev.evse_id) {
            // Any connector: an EVSE runs one transaction at a time.
            self.close_open_sessions(
                conn,
                (Some(evse), None),
                Some(&transaction_id),
                CloseReason::NewTransaction,
                ev.timestamp,
                now,
            )
            .await;
        }
        self.events
            .publish(DomainEvent::Transaction {
                station: StationRef::from(conn),
                evse_id: ev.evse_id.or(ev.connector_id),
                started_or_ended: ev.phase != TransactionPhase::Updated,
                readings: ev.readings,
                at: now,
            })
            .await;
        Ok(Outcome::Transaction {
            transaction_id,
            authorization,
        })
    }

    /// A 1.6 StartTransaction gets a fresh integer id, unless it is a resend of
    /// one we already answered (same connector, tag, meter and time): then the
    /// charger must get the same id again, or it would hold two transactions.
    async fn allocate_transaction_id(
        &self,
        conn: &Connection,
        ev: &TransactionEvent,
    ) -> Result<TransactionId, HandlerError> {
        let candidate = self.store.next_transaction_id().await?.to_string();
        let key = format!(
            "{}|{}|{}|{}|{}",
            conn.station_id,
            ev.connector_id.unwrap_or(0),
            ev.id_token.as_ref().map(|t| t.key()).unwrap_or_default(),
            ev.meter_start_wh.unwrap_or_default(),
            // The charger's own time even when implausible: a resend carries
            // the same one, while our receive time differs.
            ev.charger_timestamp
                .unwrap_or(ev.timestamp)
                .timestamp_millis()
        );
        let existing = self
            .store
            .claim("start-tx", &key, &candidate, TimeDelta::days(30))
            .await?;
        let id = existing.unwrap_or(candidate);
        TransactionId::parse(id.clone()).map_err(|e| {
            StoreError::Backend(format!("transaction id counter or claim holds {id:?}: {e}")).into()
        })
    }

    /// Close the sessions of the station the charger left open (on `evse`,
    /// or all of them; on `connector` of it when both it and the session
    /// name one), except `keep`, on evidence that they are over.
    ///
    /// Cheap by design: one query of the station's newest sessions (its
    /// session index), not a scan. An open session older than that window is
    /// left to the idle sweep. A failure is logged, never the message's:
    /// the charger's boot or status must still be answered.
    pub(crate) async fn close_open_sessions(
        &self,
        conn: &Connection,
        (evse, connector): (Option<u32>, Option<u32>),
        keep: Option<&TransactionId>,
        reason: CloseReason,
        at: Timestamp,
        now: Timestamp,
    ) {
        let query = SessionQuery {
            org_id: conn.org_id.clone(),
            station_id: Some(conn.station_id.clone()),
            from: None,
            to: None,
            page: PageRequest::first(OPEN_SESSION_WINDOW),
        };
        let page = match self.store.list_sessions(&query).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "could not look for open sessions to close");
                return;
            }
        };
        for s in page.items {
            if s.status != SessionStatus::Active
                || evse.is_some_and(|e| s.evse_id != Some(e))
                || matches!((connector, s.connector_id), (Some(c), Some(sc)) if c != sc)
                || keep.is_some_and(|k| k.as_str() == s.transaction_id)
            {
                continue;
            }
            if let Some(Ok(_)) = self
                .close_by_csms(conn, &s, InferredEnd { at, reason }, now)
                .await
            {
                tracing::info!(session = %s.id, reason = reason.as_str(), "open session closed by the CSMS")
            }
        }
    }

    /// Close one session the charger left open, on `end`'s evidence (a no-op
    /// when it has ended meanwhile). `None` for a stored transaction id that
    /// no longer parses (written before the rule; nothing can be merged into
    /// it); a failed write is logged and returned.
    async fn close_by_csms(
        &self,
        conn: &Connection,
        session: &Session,
        end: InferredEnd,
        now: Timestamp,
    ) -> Option<Result<Session, HandlerError>> {
        let tx = TransactionId::parse(session.transaction_id.clone()).ok()?;
        let update = SessionUpdate {
            inferred_end: Some(end),
            ..Default::default()
        };
        let result = self.merge_session(conn, &tx, &update, now).await;
        if let Err(e) = &result {
            tracing::error!(session = %session.id, error = %e, "could not close an open session");
        }
        Some(result)
    }

    /// The periodic sweep: close the open sessions of `org` started within
    /// `lookback` that heard nothing for `idle`, with reason `noMessages`,
    /// ended at their last message. Returns how many it closed. On the way
    /// it watches the running ones (`noMeterValues`, `chargingNothing`,
    /// see `monitor`).
    ///
    /// It pages through the organisation's recent sessions (the same index
    /// the API lists), so it belongs on a timer, never on the charger path.
    pub async fn close_idle_sessions(
        &self,
        org: &csms_domain::OrgId,
        idle: TimeDelta,
        lookback: TimeDelta,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let mut query = SessionQuery {
            org_id: org.clone(),
            station_id: None,
            from: now.checked_sub_signed(lookback),
            to: None,
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        let mut closed = 0;
        // The grace is not used here: any value does.
        let thresholds = monitor::alarm_settings(
            &*self.store,
            org,
            csms_domain::alarm::OfflineGrace::platform(60),
        )
        .await?
        .thresholds;
        let open = self.open_running_alarms(org).await?;
        let mut holding = std::collections::HashSet::new();
        loop {
            let page = self.store.list_sessions(&query).await?;
            self.watch_running(&page.items, &thresholds, idle, &open, &mut holding, now)
                .await;
            for s in page.items {
                if s.status != SessionStatus::Active
                    || now.signed_duration_since(s.updated_at) < idle
                {
                    continue;
                }
                // `merge_session` reads only the tenancy of a connection.
                let owner = Connection {
                    connection_id: String::new(),
                    station_id: s.station_id.clone(),
                    org_id: s.org_id.clone(),
                    site_id: s.site_id.clone(),
                    ocpp_version: OcppVersion::V16,
                    connected_at: now,
                    last_seen_at: now,
                    previous_seen_at: None,
                    second_previous_seen_at: None,
                    approval: Approval::Accepted,
                    clock: None,
                    messages: 0,
                    flood: None,
                };
                let end = InferredEnd {
                    at: s.updated_at,
                    reason: CloseReason::NoMessages,
                };
                if let Some(Ok(after)) = self.close_by_csms(&owner, &s, end, now).await {
                    if after.ended_by_csms() {
                        tracing::info!(session = %s.id, "idle session closed by the CSMS");
                        self.session_stuck(&s, now).await;
                        closed += 1;
                    }
                }
            }
            match page.next_cursor {
                Some(c) => query.page.cursor = Some(c),
                None => break,
            }
        }
        // What no longer holds: a reading came, energy flows, it ended.
        for id in open.difference(&holding) {
            self.resolve_and_tell(id, now).await;
        }
        Ok(closed)
    }

    /// [`close_idle_sessions`](Self::close_idle_sessions) in every
    /// organisation (those with a record, and the default one). An
    /// organisation whose sweep fails is logged and the others are still
    /// swept; the first failure is returned after all ran, so the run shows
    /// as failed and the next one tries again.
    pub async fn close_idle_sessions_everywhere(
        &self,
        idle: TimeDelta,
        lookback: TimeDelta,
        now: Timestamp,
    ) -> Result<usize, HandlerError>
    where
        S: csms_kernel::ports::OrganisationStore,
    {
        let orgs = csms_kernel::tenants::organisation_ids(&*self.store).await?;
        let mut closed = 0;
        let mut failed = None;
        for org in &orgs {
            match self.close_idle_sessions(org, idle, lookback, now).await {
                Ok(n) => closed += n,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "idle-session sweep of an organisation failed");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(closed),
        }
    }

    /// Merge an update into the stored session with optimistic concurrency:
    /// API Gateway may run two messages of one charger in parallel Lambdas.
    async fn merge_session(
        &self,
        conn: &Connection,
        transaction_id: &TransactionId,
        update: &SessionUpdate,
        now: Timestamp,
    ) -> Result<Session, HandlerError> {
        let id = SessionId::new(&conn.station_id, transaction_id);
        let mut last_conflict = None;
        for _ in 0..8 {
            let (mut session, expected) = match self.store.get_session(&id).await? {
                Some(s) => {
                    let v = s.version;
                    (s, v)
                }
                None => (
                    Session::blank(
                        &conn.station_id,
                        conn.org_id.clone(),
                        conn.site_id.clone(),
                        transaction_id,
                        now,
                    ),
                    0,
                ),
            };
            let was_completed = session.status == SessionStatus::Completed;
            let was_closed_by_csms = session.ended_by_csms();
            let start_was_unknown = expected > 0 && session.start_unknown;
            let backwards = monitor::register_backwards(session.last_register, &update.registers);
            if !session.apply(update) && expected > 0 {
                return Ok(session);
            }
            session.version = expected + 1;
            session.updated_at = now;
            match self.store.put_session(&session, expected).await {
                Ok(()) => {
                    // After the write, so a lost race publishes nothing and
                    // a replayed message (no change) publishes nothing again.
                    if expected == 0 {
                        self.events
                            .publish(DomainEvent::SessionStarted {
                                session: session.clone(),
                                at: now,
                            })
                            .await;
                    }
                    if let Some((before, after)) = backwards {
                        self.register_went_backwards(&session, before, after, now)
                            .await;
                    }
                    if session.start_unknown
                        && !was_completed
                        && session.status == SessionStatus::Completed
                    {
                        self.stop_without_start(&session, now).await;
                    } else if start_was_unknown && was_completed && !session.start_unknown {
                        // The start came after the end (a queue sent out of
                        // order): nothing is missing any more.
                        self.resolve_and_tell(
                            &monitor::stop_without_start_alarm_id(&session.id),
                            now,
                        )
                        .await;
                    }
                    // A late charger end corrects a session the CSMS closed:
                    // announced again, and priced again.
                    let corrected = was_closed_by_csms && !session.ended_by_csms();
                    if corrected || (!was_completed && session.status == SessionStatus::Completed) {
                        // Announced, and queued for pricing by its subscriber.
                        self.events
                            .publish(DomainEvent::SessionEnded {
                                session: session.clone(),
                                at: now,
                            })
                            .await;
                    }
                    return Ok(session);
                }
                Err(StoreError::Conflict(c)) => last_conflict = Some(c),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(last_conflict.unwrap_or_default()).into())
    }
}

/// Lists whose entries are checked one by one: an entry that breaks the
/// schema is dropped (noted, with a warning) and the rest of the message is
/// used. A device report of thousands of variables is not refused, and sent
/// again for ever, for one bad entry.
const LENIENT_LISTS: &[(Version, &str, &str)] = &[(Version::V201, "NotifyReport", "reportData")];

/// The request against its schema. In a [`LENIENT_LISTS`] list, entries
/// that break it are removed from `payload` and noted in `dropped`; any
/// other violation refuses the message.
fn validate_request(
    version: Version,
    action: &str,
    payload: &mut Value,
    dropped: &mut wire::Dropped,
) -> Result<(), schema::Violation> {
    // Every message passes here: valid ones are validated once.
    let Err(first) = schema::validate(version, action, Kind::Request, payload) else {
        return Ok(());
    };
    let Some(field) = LENIENT_LISTS
        .iter()
        .find(|(v, a, _)| *v == version && *a == action)
        .map(|(_, _, field)| *field)
    else {
        return Err(first);
    };
    let prefix = format!("/{field}/");
    let mut bad: std::collections::BTreeMap<usize, String> = Default::default();
    for v in schema::violations(version, action, Kind::Request, payload) {
        let index = v
            .path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('/').next())
            .and_then(|i| i.parse::<usize>().ok());
        match index {
            // One reason per entry is enough: the first.
            Some(i) => {
                bad.entry(i).or_insert(v.description);
            }
            None => return Err(first),
        }
    }
    let Some(list) = payload.get_mut(field).and_then(Value::as_array_mut) else {
        return Err(first);
    };
    for (&i, why) in bad.iter().rev() {
        if i < list.len() {
            let entry = list.remove(i);
            let shown = serde_json::to_string(&entry).unwrap_or_default();
            dropped.note(&format!("{field}/{i}"), &shown, why);
        }
    }
    if list.is_empty() {
        if let Some(obj) = payload.as_object_mut() {
            obj.remove(field);
        }
    }
    schema::validate(version, action, Kind::Request, payload)
}

/// Without a connection record we do not know the version; answer a CALL
/// with a code both versions share, and nothing to anything else.
fn reply_without_connection(text: &str, code: ErrorCode, description: &str) -> Option<String> {
    let frame = serde_json::from_str::<Value>(text).ok()?;
    if frame.get(0).and_then(Value::as_u64) != Some(2) {
        return None;
    }
    let id = frame
        .get(1)
        .and_then(Value::as_str)
        .filter(|id| usable_message_id(id))
        .unwrap_or(CallError::UNKNOWN_ID);
    Some(CallError::new(id, code, description).render(Version::V201))
}

/// Status notifications, reports and events: kept in the station's event
/// log and acknowledged with an empty response (the same in both versions).
pub(crate) async fn notify<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    kind: csms_domain::event::NotificationKind,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    use csms_domain::event::NotificationKind as K;
    let progress = matches!(
        kind,
        K::FirmwareStatus | K::DiagnosticsStatus | K::LogStatus
    )
    .then(|| payload.clone());
    let security = (kind == K::SecurityEvent).then(|| payload.clone());
    svc.apply(conn, ChargerEvent::Notification { kind, payload }, now)
        .await?;
    if let Some(p) = progress.as_ref().or(security.as_ref()) {
        svc.notification_alarm(conn, kind, p, now).await;
    }
    if let (Some(p), Some(replies)) = (progress, &svc.replies) {
        replies.progress(conn, kind, &p, now).await;
    }
    Ok(Some(Value::Object(Map::new())))
}

/// Decode a schema-validated payload into the action's request type.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, HandlerError> {
    serde_json::from_value(payload).map_err(|e| HandlerError::Invalid(format!("payload: {e}")))
}

pub(crate) fn encode<T: serde::Serialize>(response: &T) -> Result<Option<Value>, HandlerError> {
    Ok(Some(
        serde_json::to_value(response).expect("response types serialise"),
    ))
}
