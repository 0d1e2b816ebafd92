//! The command lifecycle: accept a request, queue it per station, send the
//! CALL when the station's previous call is answered, resolve it from the
//! charger's CALLRESULT/CALLERROR, time it out.
//!
//! All state lives in the store, so the same code runs in one process or
//! spread over Lambdas: whoever learns that a station's call slot is free
//! (a new command, an answer, a timeout) calls [`CommandService::pump`],
//! and the store's version check makes sure only one of them sends.

use super::wire::{self, EncodeContext, EncodeError};
use async_trait::async_trait;
use csms_charging::access;
use csms_domain::access::AccessRefusal;
use csms_domain::actor::Actor;
use csms_domain::command::{Command, CommandId, CommandRequest, CommandStatus, Progress};
use csms_domain::event::NotificationKind;
use csms_domain::station::{Approval, Connection};
use csms_domain::token::{authorize_registered, AuthorizationStatus};
use csms_domain::IdTokenValue;
use csms_domain::{SessionId, StationId, Timestamp};
use csms_kernel::events::{DomainEvent, EventBus, NoEvents};
use csms_kernel::ports::{
    AccessStore, AlarmSettingsStore, AlarmStore, BookingStore, CallReplies, Clock, CommandStore,
    ConnectionSender, DeviceModelStore, IdempotencyStore, LocalListStore, SendError, SessionStore,
    SiteStore, StationStore, StoreError, TokenStore,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

mod local_list;
pub mod monitor;
pub use local_list::LocalListReport;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Arranges for [`CommandService::check_timeout`] to run for a sent command
/// once its deadline has passed: a sleeping task locally, a delayed queue
/// message in AWS.
#[async_trait]
pub trait CommandTimers: Send + Sync {
    async fn schedule(&self, station: &StationId, id: &CommandId, at: Timestamp);
}

/// For deployments that rely on the next command or answer to notice an
/// overdue call (see [`CommandService::pump`]).
pub struct NoTimers;

#[async_trait]
impl CommandTimers for NoTimers {
    async fn schedule(&self, _station: &StationId, _id: &CommandId, _at: Timestamp) {}
}

/// Hands a station with a newly queued command to whoever sends it: the
/// SQS dispatch queue and its function in AWS. Without one (the local
/// runner) the submitting process sends the command itself.
#[async_trait]
pub trait CommandDispatch: Send + Sync {
    async fn dispatch(&self, station: &StationId) -> Result<(), String>;
}

/// Options of one submission.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Seconds to wait for the charger's answer once sent (1..=300).
    pub timeout_s: Option<u32>,
    /// The API's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// The TriggerMessage BootNotification the CSMS sends when the
    /// station's approval changed: it goes out whatever the approval now
    /// is (a station being rejected must still learn it by booting).
    pub boot_after_approval: bool,
}

/// Whether a station with `approval` may be sent `request` (OCPP 1.6 4.2,
/// 2.0.1 B02): a pending station only what reads or changes its
/// configuration, or triggers a message; a rejected one nothing.
pub fn allowed_by_approval(approval: Approval, request: &CommandRequest) -> Result<(), String> {
    match approval {
        Approval::Accepted => Ok(()),
        Approval::Pending => match request {
            CommandRequest::GetConfiguration { .. }
            | CommandRequest::ChangeConfiguration { .. }
            | CommandRequest::TriggerMessage { .. } => Ok(()),
            other => Err(format!(
                "the station's registration is Pending (approval pending): only getConfiguration, \
                 changeConfiguration and triggerMessage can be sent until it is approved, not {}",
                other.type_name()
            )),
        },
        Approval::Rejected => Err(format!(
            "the station's registration is Rejected (approval rejected): no command can be sent, \
             not {}",
            request.type_name()
        )),
    }
}

csms_kernel::store_ports! {
    /// The store ports the command service uses: commands and their
    /// idempotency keys, the station (version, connection, approval), the
    /// session a stop names, the device model that accepted variable
    /// changes update, and for a remote start the token, the station's
    /// access policy and its site (the zone its schedule is read in), and
    /// the alarms of a station that stops answering (and the
    /// organisation's threshold of that rule).
    pub trait CommandsStore:
        CommandStore, IdempotencyStore, StationStore, SessionStore, DeviceModelStore,
        TokenStore, AccessStore, SiteStore, BookingStore, LocalListStore, AlarmStore,
        AlarmSettingsStore
}

pub struct CommandService<S: ?Sized> {
    pub(crate) store: Arc<S>,
    clock: Arc<dyn Clock>,
    sender: Arc<dyn ConnectionSender>,
    timers: Arc<dyn CommandTimers>,
    pub(crate) events: Arc<dyn EventBus>,
    dispatch: Option<Arc<dyn CommandDispatch>>,
}

impl<S: ?Sized> Clone for CommandService<S> {
    fn clone(&self) -> Self {
        CommandService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            sender: self.sender.clone(),
            timers: self.timers.clone(),
            events: self.events.clone(),
            dispatch: self.dispatch.clone(),
        }
    }
}

/// How long an idempotency key is remembered.
const IDEMPOTENCY_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Bound on the pump loop: each round settles one command for good.
const PUMP_ROUNDS: usize = 64;

impl<S: CommandsStore + ?Sized> CommandService<S> {
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        sender: Arc<dyn ConnectionSender>,
        timers: Arc<dyn CommandTimers>,
    ) -> Self {
        CommandService {
            store,
            clock,
            sender,
            timers,
            events: Arc::new(NoEvents),
            dispatch: None,
        }
    }

    /// Where frames to stations go; also closes their connections.
    pub fn sender(&self) -> &dyn ConnectionSender {
        &*self.sender
    }

    /// Leave the sending of submitted commands to `dispatch`.
    pub fn with_dispatch(mut self, dispatch: Arc<dyn CommandDispatch>) -> Self {
        self.dispatch = Some(dispatch);
        self
    }

    /// Publish `CommandCompleted` to `events` when a command settles.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }

    async fn completed(&self, cmd: &Command) {
        let at = cmd.completed_at.unwrap_or_else(|| self.clock.now());
        self.events
            .publish(DomainEvent::CommandCompleted {
                command: cmd.clone(),
                at,
            })
            .await;
    }

    /// A remote start for a registered, valid token must be let in by the
    /// access mode at the EVSE (or the station, when the charger chooses):
    /// else `Conflict` naming the mode and the reason, and the refusal is
    /// kept like a charger's. Tokens the registry does not know, or that
    /// are not valid, are left to the station's own Authorize, as before.
    async fn check_access(
        &self,
        station: &csms_domain::station::Station,
        id_token: &str,
        evse_id: Option<u32>,
        now: Timestamp,
    ) -> Result<(), CommandError> {
        let Ok(value) = IdTokenValue::parse(id_token) else {
            return Ok(());
        };
        let (record, access) = self.store.get_token_and_access(&value, &station.id).await?;
        let Some(record) = record else {
            return Ok(());
        };
        if authorize_registered(Some(&record), now).status != AuthorizationStatus::Accepted {
            return Ok(());
        }
        let place = access::Place {
            station_id: &station.id,
            org_id: &station.org_id,
            site_id: station.site_id.as_ref(),
            evse_id,
        };
        let admitted = access::admit(
            &*self.store,
            place,
            None,
            "remoteStart",
            access.as_ref(),
            &record,
            now,
        )
        .await?;
        let Err((mode, reason)) = admitted else {
            return Ok(());
        };
        let why = match reason {
            AccessRefusal::OtherOrganisation => "the id token is another organisation's",
            AccessRefusal::GroupNotAllowed => "the id token is in none of the allowed user groups",
            AccessRefusal::Booked => "the EVSE is booked for another id token now",
            // Not decided here (the start link's own refusals).
            AccessRefusal::SignInRequired => "the start link needs a signed-in member",
            AccessRefusal::Unavailable => "the station is offline or decommissioned",
            AccessRefusal::Occupied => "a car is charging there",
        };
        let at = evse_id.map_or_else(|| "the station".to_owned(), |e| format!("EVSE {e}"));
        Err(CommandError::Conflict(format!(
            "remoteStart refused ({}): {at} is {} now and {why}",
            reason.as_str(),
            mode.as_str()
        )))
    }

    /// Accept a command for a station of `actor`'s organisation: validated
    /// against the station's OCPP version, recorded, and sent if the
    /// station's call slot is free. A station that is not connected gets an
    /// `offline` command at once. A station of another organisation is
    /// `NotFound`, exactly like one that does not exist.
    pub async fn submit(
        &self,
        actor: &Actor,
        station_id: &StationId,
        mut request: CommandRequest,
        opts: SubmitOptions,
    ) -> Result<Command, CommandError> {
        let now = self.clock.now();
        let timeout_s = match opts.timeout_s {
            None => Command::DEFAULT_TIMEOUT_S,
            Some(t) if (1..=300).contains(&t) => t,
            Some(_) => return Err(CommandError::Invalid("timeout: 1 to 300 seconds".into())),
        };
        let view = self
            .store
            .get_station_view(station_id)
            .await?
            .filter(|v| actor.owns(&v.station.org_id))
            .ok_or_else(|| {
                CommandError::NotFound(format!("station {:?} not found", station_id.as_str()))
            })?;
        if view.station.is_decommissioned() {
            return Err(CommandError::Conflict(format!(
                "station {station_id} is decommissioned: put it back in service first"
            )));
        }
        if !opts.boot_after_approval {
            allowed_by_approval(view.station.approval, &request).map_err(CommandError::Conflict)?;
        }
        if let CommandRequest::RemoteStart {
            id_token, evse_id, ..
        } = &request
        {
            self.check_access(&view.station, id_token, *evse_id, now)
                .await?;
        }
        let live = view.connection.as_ref().filter(|c| c.is_live(now));
        // The version decides what can be said. A station that never
        // connected has none yet: its command ends `offline` anyway.
        let version = live.map(|c| c.ocpp_version).or(view.station.ocpp_version);
        self.fill_from_session(station_id, &mut request).await?;

        let id = CommandId::new();
        if let Some(version) = version {
            let ctx = EncodeContext {
                command_id: &id,
                now,
            };
            wire::encode(&request, version, &ctx).map_err(|e| match e {
                EncodeError::Unsupported(m) => CommandError::Invalid(format!(
                    "{} is not possible on this OCPP {} station: {m}",
                    request.type_name(),
                    version.as_str()
                )),
                EncodeError::Invalid(m) => CommandError::Invalid(m),
            })?;
        }

        if let Some(key) = &opts.idempotency_key {
            let fingerprint = fingerprint(&request, timeout_s);
            let value = format!("{id}|{fingerprint}");
            let scope = format!("command:{station_id}");
            if let Some(prev) = self
                .store
                .claim(&scope, key, &value, IDEMPOTENCY_TTL)
                .await?
            {
                let (prev_id, prev_fp) = prev.split_once('|').unwrap_or((prev.as_str(), ""));
                if prev_fp != fingerprint {
                    return Err(CommandError::Conflict(
                        "this Idempotency-Key was used for a different request".into(),
                    ));
                }
                let prev_id = CommandId::parse(prev_id)
                    .ok_or_else(|| StoreError::Backend(format!("bad idempotency record {prev}")))?;
                // The first request may still be writing its command: give it a moment.
                for _ in 0..20 {
                    if let Some(cmd) = self.store.get_command(&prev_id).await? {
                        return Ok(cmd);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                return Err(CommandError::Conflict(
                    "a request with this Idempotency-Key is still being processed".into(),
                ));
            }
        }

        let offline = live.is_none();
        let cmd = Command {
            id: id.clone(),
            station_id: station_id.clone(),
            org_id: view.station.org_id.clone(),
            request,
            status: if offline {
                CommandStatus::Offline
            } else {
                CommandStatus::Pending
            },
            created_at: now,
            sent_at: None,
            completed_at: offline.then_some(now),
            timeout_s,
            action: None,
            response: None,
            error: offline.then(|| "station is not connected".to_owned()),
            progress: Vec::new(),
            version: 1,
        };
        self.store.create_command(&cmd).await?;
        if offline {
            self.completed(&cmd).await;
            return Ok(cmd);
        }
        match &self.dispatch {
            None => self.pump(station_id).await?,
            Some(d) => {
                if let Err(e) = d.dispatch(station_id).await {
                    // Recorded but handed to nobody: send it from here
                    // rather than leave it waiting for the station's next event.
                    tracing::warn!(station = %station_id, error = %e, "command dispatch failed; sending directly");
                    self.pump(station_id).await?;
                }
            }
        }
        Ok(self.store.get_command(&id).await?.unwrap_or(cmd))
    }

    /// Pause/resume name a transaction; the charger needs its connector
    /// (1.6) or EVSE (2.0.1), which the session knows.
    async fn fill_from_session(
        &self,
        station_id: &StationId,
        request: &mut CommandRequest,
    ) -> Result<(), CommandError> {
        let (CommandRequest::Pause {
            transaction_id,
            evse_id,
        }
        | CommandRequest::Resume {
            transaction_id,
            evse_id,
        }) = request
        else {
            return Ok(());
        };
        if evse_id.is_some() {
            return Ok(());
        }
        let sid = SessionId::try_new(station_id, transaction_id)
            .map_err(|e| CommandError::Invalid(format!("transactionId {transaction_id:?}: {e}")))?;
        let session = self.store.get_session(&sid).await?.ok_or_else(|| {
            CommandError::Invalid(format!(
                "transactionId: no session with transaction {transaction_id} on station {station_id}"
            ))
        })?;
        // 1.6 sessions have connector ids only; 2.0.1 ones have the EVSE.
        *evse_id = session.evse_id.or(session.connector_id);
        if evse_id.is_none() {
            return Err(CommandError::Invalid(format!(
                "the session of transaction {transaction_id} has no known connector"
            )));
        }
        Ok(())
    }

    /// The command as it stands. One whose answer is overdue is settled
    /// first, so a reader never sees `pending` past the deadline even where
    /// no timer runs (the Lambdas today).
    pub async fn get(&self, id: &CommandId) -> Result<Option<Command>, CommandError> {
        let Some(cmd) = self.store.get_command(id).await? else {
            return Ok(None);
        };
        if cmd.status.is_final() || cmd.deadline().is_none_or(|d| d > self.clock.now()) {
            return Ok(Some(cmd));
        }
        self.pump(&cmd.station_id).await?;
        Ok(self.store.get_command(id).await?)
    }

    /// [`get`](Self::get) for `actor`: a command of another organisation is
    /// `None`, like one that does not exist.
    pub async fn find(
        &self,
        actor: &Actor,
        id: &CommandId,
    ) -> Result<Option<Command>, CommandError> {
        Ok(self.get(id).await?.filter(|c| actor.owns(&c.org_id)))
    }

    /// Wait until the command is final or `max` has passed; the latest state.
    /// Polls the store, so it works wherever the answer arrives (another
    /// Lambda, another task).
    pub async fn wait(&self, id: &CommandId, max: Duration) -> Result<Command, CommandError> {
        let until = tokio::time::Instant::now() + max;
        loop {
            let cmd = self
                .store
                .get_command(id)
                .await?
                .ok_or_else(|| CommandError::NotFound(format!("command {id} not found")))?;
            let now = tokio::time::Instant::now();
            if cmd.status.is_final() || now >= until {
                return Ok(cmd);
            }
            // A wait that outlives the command's own deadline settles it.
            if cmd.deadline().is_some_and(|d| d <= self.clock.now()) {
                self.pump(&cmd.station_id).await?;
                continue;
            }
            tokio::time::sleep((until - now).min(Duration::from_millis(100))).await;
        }
    }

    /// Send the station's next queued command if no call is outstanding.
    /// An outstanding call past its deadline is timed out first. Safe to
    /// call from anywhere, any number of times.
    pub async fn pump(&self, station_id: &StationId) -> Result<(), CommandError> {
        for _ in 0..PUMP_ROUNDS {
            let now = self.clock.now();
            let pending = self.store.pending_commands(station_id).await?;
            if let Some(out) = pending.iter().find(|c| c.sent_at.is_some()) {
                if out.deadline().is_some_and(|d| d <= now) {
                    self.finish(
                        out.clone(),
                        CommandStatus::Timeout,
                        None,
                        Some(format!("no answer within {} s", out.timeout_s)),
                    )
                    .await?;
                    continue;
                }
                return Ok(());
            }
            let Some(next) = pending.into_iter().next() else {
                return Ok(());
            };
            let view = self.store.get_station_view(station_id).await?;
            let Some(conn) = view.and_then(|v| v.connection).filter(|c| c.is_live(now)) else {
                self.finish(
                    next,
                    CommandStatus::Offline,
                    None,
                    Some("station disconnected before the command was sent".into()),
                )
                .await?;
                continue;
            };
            let call = match wire::encode(
                &next.request,
                conn.ocpp_version,
                &EncodeContext {
                    command_id: &next.id,
                    now,
                },
            ) {
                Ok(call) => call,
                Err(e) => {
                    // Validated at submit; the station may have switched version since.
                    self.finish(next, CommandStatus::Failed, None, Some(e.to_string()))
                        .await?;
                    continue;
                }
            };
            let expected = next.version;
            let mut sent = next;
            sent.sent_at = Some(now);
            sent.action = Some(call.action.to_owned());
            sent.version = expected + 1;
            match self.store.put_command(&sent, expected).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => continue, // someone else moved it
                Err(e) => return Err(e.into()),
            }
            let frame = csms_ocpp::frame::render_call(sent.id.as_str(), call.action, &call.payload);
            match self.sender.send(&conn.connection_id, &frame).await {
                Ok(()) => {
                    tracing::info!(station = %station_id, command = %sent.id, action = call.action, "command sent");
                    if let Some(at) = sent.deadline() {
                        self.timers.schedule(station_id, &sent.id, at).await;
                    }
                    return Ok(());
                }
                Err(e) => {
                    let status = match e {
                        SendError::Gone => CommandStatus::Offline,
                        SendError::Failed(_) => CommandStatus::Failed,
                    };
                    self.finish(sent, status, None, Some(e.to_string())).await?;
                }
            }
        }
        tracing::warn!(station = %station_id, "command queue did not settle; will continue on the next event");
        Ok(())
    }

    /// After a restart: settle what the previous process left pending
    /// (queued commands of stations that are gone end `offline`, overdue
    /// calls `timeout`) and re-arm the timers of calls still in flight.
    pub async fn recover(&self) -> Result<usize, CommandError> {
        let pending = self.store.all_pending_commands(10_000).await?;
        let mut stations: Vec<StationId> = pending.iter().map(|c| c.station_id.clone()).collect();
        stations.sort();
        stations.dedup();
        for station in &stations {
            // One station whose records cannot be settled must not keep the
            // others' commands (or the start) waiting.
            if let Err(e) = self.pump(station).await {
                tracing::error!(station = %station, error = %e, "could not settle the commands left pending");
            }
        }
        for cmd in self.store.all_pending_commands(10_000).await? {
            if let Some(at) = cmd.deadline() {
                self.timers.schedule(&cmd.station_id, &cmd.id, at).await;
            }
        }
        Ok(pending.len())
    }

    /// A timer fired for a sent command.
    pub async fn check_timeout(&self, station_id: &StationId) -> Result<(), CommandError> {
        self.pump(station_id).await
    }

    /// The charger answered a CSMS call with a CALLRESULT.
    pub async fn on_call_result(
        &self,
        conn: &Connection,
        message_id: &str,
        payload: Value,
    ) -> Result<(), CommandError> {
        let Some(cmd) = self.awaiting(conn, message_id).await? else {
            return Ok(());
        };
        let (status, error) = match wire::interpret(&cmd.request, conn.ocpp_version, &payload) {
            Ok(status) => (status, None),
            Err(why) => (
                CommandStatus::Failed,
                Some(format!("invalid response: {why}")),
            ),
        };
        if status == CommandStatus::Accepted {
            self.note_values(conn, &cmd, &payload).await;
        }
        let request = cmd.request.clone();
        self.finish(cmd, status, Some(payload.clone()), error)
            .await?;
        self.after_answer(conn, &request, status, Some(&payload))
            .await;
        self.pump(&conn.station_id).await
    }

    /// What an answer means beyond its command (the station's local list).
    /// A failure is logged: the command's outcome stands.
    async fn after_answer(
        &self,
        conn: &Connection,
        request: &CommandRequest,
        status: CommandStatus,
        payload: Option<&Value>,
    ) {
        if let Err(e) = self.local_list_answer(conn, request, status, payload).await {
            tracing::warn!(station = %conn.station_id, error = %e, "could not follow up the local list");
        }
    }

    /// Values a 2.0.1 Get/SetVariables answer confirms go into the
    /// station's device model. A failure is logged: the command's outcome
    /// stands, and the next report brings the model up to date.
    async fn note_values(&self, conn: &Connection, cmd: &Command, payload: &Value) {
        let updates = wire::confirmed_values(&cmd.request, conn.ocpp_version, payload);
        if updates.is_empty() {
            return;
        }
        let now = self.clock.now();
        if let Err(e) =
            csms_charging::device_model::apply_values(&*self.store, &conn.station_id, &updates, now)
                .await
        {
            tracing::warn!(station = %conn.station_id, command = %cmd.id, error = %e, "could not update the device model");
        }
    }

    /// A 2.0.1 station accepted at boot is asked for its device model
    /// (GetBaseReport, as a `getConfiguration` of every key), through the
    /// station's queue like any command: the CALL leaves after the boot's
    /// answer (locally the reply goes out first; in AWS the dispatcher sends
    /// it). A station that does not implement it answers a CALLERROR and the
    /// command ends `failed`; nothing else depends on it.
    pub async fn request_report(&self, conn: &Connection) -> Result<(), CommandError> {
        if conn.ocpp_version != csms_domain::OcppVersion::V201 {
            return Ok(());
        }
        let request = CommandRequest::GetConfiguration { keys: Vec::new() };
        let cmd = self
            .submit(
                &Actor::system(conn.org_id.clone()),
                &conn.station_id,
                request,
                SubmitOptions::default(),
            )
            .await?;
        tracing::info!(station = %conn.station_id, command = %cmd.id, "device report requested");
        Ok(())
    }

    /// The charger answered a CSMS call with a CALLERROR.
    pub async fn on_call_error(
        &self,
        conn: &Connection,
        message_id: &str,
        code: &str,
        description: &str,
    ) -> Result<(), CommandError> {
        let Some(cmd) = self.awaiting(conn, message_id).await? else {
            return Ok(());
        };
        let error = if description.is_empty() {
            code.to_owned()
        } else {
            format!("{code}: {description}")
        };
        let request = cmd.request.clone();
        self.finish(cmd, CommandStatus::Failed, None, Some(error))
            .await?;
        self.after_answer(conn, &request, CommandStatus::Failed, None)
            .await;
        self.pump(&conn.station_id).await
    }

    /// The pending, sent command a reply belongs to, if any. Replies from
    /// another station, to a finished command, or with an id we never used
    /// are logged and dropped: OCPP allows no answer to a reply.
    async fn awaiting(
        &self,
        conn: &Connection,
        message_id: &str,
    ) -> Result<Option<Command>, CommandError> {
        let Some(id) = CommandId::parse(message_id) else {
            tracing::info!(station = %conn.station_id, message_id, "reply to an unknown call ignored");
            return Ok(None);
        };
        match self.store.get_command(&id).await? {
            Some(cmd)
                if cmd.station_id == conn.station_id
                    && cmd.status == CommandStatus::Pending
                    && cmd.sent_at.is_some() =>
            {
                Ok(Some(cmd))
            }
            Some(cmd) => {
                tracing::info!(station = %conn.station_id, command = %id, status = cmd.status.as_str(), "late or foreign reply ignored");
                Ok(None)
            }
            None => {
                tracing::info!(station = %conn.station_id, message_id, "reply to an unknown call ignored");
                Ok(None)
            }
        }
    }

    /// Record the outcome, unless the command is final already (a late
    /// answer after a timeout does not rewrite history).
    async fn finish(
        &self,
        cmd: Command,
        status: CommandStatus,
        response: Option<Value>,
        error: Option<String>,
    ) -> Result<(), CommandError> {
        let now = self.clock.now();
        let written = self
            .update(cmd, |c| {
                if c.status.is_final() {
                    return false;
                }
                c.status = status;
                c.completed_at = Some(now);
                c.response = response.clone();
                c.error = error.clone();
                true
            })
            .await?;
        if let Some(done) = written {
            tracing::info!(station = %done.station_id, command = %done.id, status = status.as_str(), "command finished");
            if matches!(status, CommandStatus::Timeout | CommandStatus::Offline) {
                if let Err(e) = self.local_list_lost(&done).await {
                    tracing::warn!(station = %done.station_id, error = %e, "could not note a lost local list update");
                }
            }
            self.watch_answers(&done, now).await;
            self.completed(&done).await;
        }
        Ok(())
    }

    /// Apply `change` under the store's version check, re-reading and
    /// re-applying when another writer got there first. `change` returns
    /// false to leave the command as it is. The written command, if any.
    async fn update(
        &self,
        mut cmd: Command,
        change: impl Fn(&mut Command) -> bool,
    ) -> Result<Option<Command>, CommandError> {
        for _ in 0..8 {
            let expected = cmd.version;
            let mut next = cmd.clone();
            if !change(&mut next) {
                return Ok(None);
            }
            next.version = expected + 1;
            match self.store.put_command(&next, expected).await {
                Ok(()) => return Ok(Some(next)),
                Err(StoreError::Conflict(_)) => match self.store.get_command(&cmd.id).await? {
                    Some(fresh) => cmd = fresh,
                    None => return Ok(None),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("command {} kept changing", cmd.id)).into())
    }
}

impl<S: CommandsStore + ?Sized> CommandService<S> {
    /// A station's status notification about firmware or diagnostics work:
    /// recorded on the command that asked for it. 2.0.1 names the request
    /// (`requestId`); 1.6 does not, so the newest accepted command of that
    /// kind still in progress takes it.
    pub async fn on_progress(
        &self,
        conn: &Connection,
        kind: NotificationKind,
        payload: &Value,
        at: Timestamp,
    ) -> Result<(), CommandError> {
        let Some(status) = payload["status"].as_str() else {
            return Ok(());
        };
        let wanted = |c: &Command| {
            matches!(
                (kind, &c.request),
                (
                    NotificationKind::FirmwareStatus,
                    CommandRequest::UpdateFirmware { .. }
                ) | (
                    NotificationKind::DiagnosticsStatus | NotificationKind::LogStatus,
                    CommandRequest::GetDiagnostics { .. }
                )
            )
        };
        let request_id = payload["requestId"].as_i64();
        // The newest few commands are enough: firmware and diagnostics
        // requests are rare, and an older one still running is superseded.
        let recent = self
            .store
            .list_station_commands(
                &conn.station_id,
                &csms_kernel::ports::PageRequest::first(25),
            )
            .await?;
        let Some(cmd) = recent.items.into_iter().find(|c| {
            wanted(c)
                && c.tracking()
                && request_id.is_none_or(|r| i64::from(wire::request_id(&c.id)) == r)
        }) else {
            tracing::info!(station = %conn.station_id, status, "status notification matches no command");
            return Ok(());
        };
        self.update(cmd, |c| {
            c.progress.push(Progress {
                status: status.to_owned(),
                at,
            });
            true
        })
        .await?;
        Ok(())
    }
}

/// What makes two submissions "the same request" for an idempotency key.
fn fingerprint(request: &CommandRequest, timeout_s: u32) -> String {
    let body = serde_json::to_string(request).unwrap_or_default();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in body.bytes().chain(timeout_s.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[async_trait]
impl<S: CommandsStore + ?Sized + 'static> CallReplies for CommandService<S> {
    async fn call_result(&self, conn: &Connection, message_id: &str, payload: Value) {
        if let Err(e) = self.on_call_result(conn, message_id, payload).await {
            tracing::error!(station = %conn.station_id, message_id, error = %e, "could not record a command result");
        }
    }

    async fn call_error(&self, conn: &Connection, message_id: &str, code: &str, description: &str) {
        if let Err(e) = self
            .on_call_error(conn, message_id, code, description)
            .await
        {
            tracing::error!(station = %conn.station_id, message_id, error = %e, "could not record a command error");
        }
    }

    async fn booted(&self, conn: &Connection) {
        if let Err(e) = self.request_report(conn).await {
            tracing::warn!(station = %conn.station_id, error = %e, "could not request the device report");
        }
        if let Err(e) = self.local_list_booted(conn).await {
            tracing::warn!(station = %conn.station_id, error = %e, "could not check the local list");
        }
    }

    async fn progress(
        &self,
        conn: &Connection,
        kind: NotificationKind,
        payload: &Value,
        at: Timestamp,
    ) {
        if let Err(e) = self.on_progress(conn, kind, payload, at).await {
            tracing::error!(station = %conn.station_id, error = %e, "could not record command progress");
        }
    }
}
