//! Alarms about stations from what the charging context sees. The
//! decisions are pure functions of what is stored; the service around them
//! reads and writes.
//!
//! - **Station offline** (`stationOffline`, critical): a close of a
//!   station's current connection puts the station on its organisation's
//!   offline list ([`OfflineStore`]), a connect takes it off. The sweep
//!   ([`ChargerService::raise_offline_alarms_everywhere`], every minute)
//!   reads the stations on the list for longer than the grace, takes each
//!   off once and raises its alarm; the station's next connect resolves it
//!   ([`crate::connect::opened`]). A station back within the grace (API
//!   Gateway's two-hourly reconnect, a reboot) leaves nothing to look at.
//!   The grace is the organisation's (`AlarmSettings`), else the platform's.
//! - **Energy register backwards** (`energyRegisterBackwards`, warning): a
//!   reading of a transaction's energy register lower than the one before
//!   it (by time) raises it once per session, from what the session record
//!   holds already (its latest register): no request more per message.
//!   Resolved by hand once the session's energy was checked.
//! - **Connector faulted** (`connectorFaulted`, critical): a status
//!   `Faulted` (1.6 with its `errorCode`, `info` and `vendorErrorCode`;
//!   2.0.1 `StatusNotification`) raises it, a later working status of the
//!   same connector (`Available`, `Occupied`, `Charging`, …) resolves it.
//!   The status write returns the status it replaced, so only a change
//!   into or out of a fault touches the alarm store: a message that
//!   changes nothing costs no request more. `Unavailable` neither raises
//!   nor resolves: it is mostly the operator's own ChangeAvailability, and
//!   after a fault it is not working either; the working status after it
//!   resolves.
//! - **Flapping** (`stationFlapping`, warning) and **boot loop**
//!   (`stationBootLoop`, critical): a station keeps its connects of the
//!   last hour (written with each connect, no request more) and each boot
//!   the boots of the hour before it (written with the boot). A connect or
//!   boot that is at least the third within the hour reads the
//!   organisation's thresholds ([`Churn`], default 6 connects within an
//!   hour, 3 boots within 15 minutes) and raises the alarm when they are
//!   reached; a repeat counts on the open alarm. The sweep resolves it once
//!   the window ending now holds fewer than the threshold
//!   ([`ChargerService::settle_churn_alarms`]).
//! - **Firmware update failed** (`firmwareUpdateFailed`, warning) and
//!   **diagnostics upload failed** (`diagnosticsUploadFailed`, warning):
//!   a FirmwareStatusNotification, DiagnosticsStatusNotification (1.6) or
//!   LogStatusNotification (2.0.1) with a failed status raises it; a later
//!   `Installed` or `Uploaded` resolves it. Only those messages, which are
//!   rare, touch the alarm store.
//! - **Security event** (`securityEvent`): a 2.0.1
//!   SecurityEventNotification of a type that is not routine (a start-up, a
//!   reboot, a firmware update or a clock setting are) raises one alarm per
//!   station and type, critical for tampering, replay attacks and a cleared
//!   security log; an operator resolves it by hand.
//! - **Stop without a start** (`stopWithoutStart`, warning): a session that
//!   ends while its start was never seen (a StopTransaction or `Ended` for a
//!   transaction the CSMS never heard start); a start arriving late
//!   resolves it.
//! - **Connector stuck** (`connectorStuck`, warning): a 1.6 connector in
//!   `Preparing` (plugged in or authorised, and no charging started) or
//!   `Finishing` (the session ended, the connector not free) for longer than
//!   the organisation's [`Lingering`] (default 15 minutes and 3 hours). The
//!   status write puts such a connector on its organisation's lingering
//!   list and any other status takes it off, in the same request
//!   ([`OfflineStore::lingering_due`]); the sweep reads the list (one query
//!   per status), takes each connector off once and raises its alarm
//!   ([`ChargerService::raise_lingering_alarms`]). The connector's next
//!   other status resolves it; only a status after one that lasted at least
//!   [`Lingering::MIN_MINS`] looks (a request, and nothing when there is no
//!   alarm).
//! - **No energy readings** (`noMeterValues`, warning) and **charging
//!   nothing** (`chargingNothing`, warning): the idle-session sweep, which
//!   pages through the organisation's recent sessions anyway, looks at each
//!   running one. No register reading for the organisation's
//!   `noMeterValuesMinutes` (a session older than that; default 30)
//!   raises the first; readings that keep coming while the register has
//!   not moved for its `chargingNothingMinutes` (default 30) since the
//!   first one, at a connector that says `Charging` (a car that pauses
//!   says `SuspendedEV`, which is normal), raise the second. Each sweep
//!   reads the organisation's alarm settings and open alarms once, raises
//!   only what is not open yet, and resolves what no longer holds (a
//!   reading came, energy flows, the session ended).
//! - **Status contradicting a session** (`statusContradictsSession`,
//!   warning): a connector that reports `Unavailable` or `Reserved`
//!   ([`Lingering::CONTRADICTING`]) while a transaction runs on it, for
//!   longer than the organisation's `statusContradictsSessionSeconds`
//!   (default 120: a status sent just before the StopTransaction that ends
//!   the session is normal ordering). `Available` is not among them: it
//!   ends an open session at once. The status write puts a connector in
//!   such a status on the organisation's watch list in the same request
//!   (the one [`OfflineStore::lingering_due`] reads for stuck connectors);
//!   the sweep reads it (one query per status), takes each connector off
//!   once and looks for a running session on it (one query of the
//!   station's latest sessions, only then;
//!   [`ChargerService::raise_contradiction_alarms`]). The connector's next
//!   other status resolves it ([`ends_contradiction`]: a request only
//!   after such a status of at least 5 s), and the sweep resolves it when
//!   its session ended (it reads the open alarms anyway, and the session
//!   of each such alarm). No request more per message.
//! - **Clock drift** (`clockDrift`, warning): a message timed more than
//!   the organisation's `clockDriftSeconds` (default 300) ahead of the
//!   server, or behind it on a message that cannot have waited offline (a
//!   StatusNotification, a 2.0.1 TransactionEvent with `offline` false;
//!   [`clock_stamps`], [`clock_verdict`]). Back-dated 1.6 transaction
//!   messages and meter values are what a station queues offline (and what
//!   the demo replays): they count only when ahead. A later message within
//!   the tolerance resolves it. The connection record, touched by every
//!   message anyway, keeps the rule's decision and the tolerance
//!   ([`csms_domain::station::ClockCheck`]): a request only when the
//!   decision changes on a connection, the settings read at most once per
//!   connection (when a stamp is more than the smallest tolerance off).
//! - **Message flood** (`messageFlood`, warning): more messages from one
//!   station than the organisation's `messageFlood` limit within its window
//!   (default more than 120 within 60 s). The touch of the connection record
//!   that every message costs counts the message in the same request
//!   ([`Connection::messages`]) and shifts along when the two messages
//!   before it came; the record also keeps the rule's points to count
//!   from (each "the messages after the nth came at or after then"), its
//!   decision and the limit once read
//!   ([`csms_domain::station::FloodCheck`]). [`flood_step`] decides from
//!   those alone: more messages than the limit since a point less than a
//!   window old is a flood (so never one that was not); no more than the
//!   limit since the newest point at least a window old is quiet. A point
//!   where a burst began after a pause of a window makes such a flood seen
//!   at its (limit+1)th message; one every quarter of the limit's messages
//!   bounds how late one within a busy stream is seen (a quarter of the
//!   limit). A request only when the decision changes, when a point is
//!   added (one per quarter of the limit's messages, and one per burst
//!   after a pause), and the settings read once per connection. A repeat
//!   (the limit's worth again after a flood) counts on the open alarm; the
//!   first quiet window resolves it, also one left open by an earlier
//!   connection.
//! - **Many source addresses** (`stationManyAddresses`, critical): a
//!   station whose connects came from more distinct source addresses than
//!   the organisation's `manyAddresses` limit within its window (default
//!   more than 3 within 24 h): its password is used elsewhere, or a charger
//!   was configured with another's identity. The station keeps the
//!   addresses of its connects of the last week (an IPv6 address counts by
//!   its /64), written with the connect's own station write
//!   ([`csms_domain::station::recent_addresses`]); a connect when it holds
//!   at least two reads the thresholds and raises or repeats. The sweep
//!   resolves it once the window ending now holds no more than the limit
//!   ([`ChargerService::settle_churn_alarms`]). The source address is the
//!   socket's peer in the local runner (or `X-Forwarded-For` behind a
//!   trusted proxy) and API Gateway's `requestContext.identity.sourceIp`.

use super::{ChargerService, ChargingStore, HandlerError};
use chrono::SecondsFormat;
use csms_domain::alarm::{
    Alarm, AlarmSettings, Churn, Limit, Lingering, OfflineGrace, Severity, Thresholds,
};
use csms_domain::session::Session;
use csms_domain::station::{
    ClockCheck, Connection, ConnectorStatus, FloodCheck, FloodMark, Station,
};
use csms_domain::{OrgId, SessionId, StationId, Timestamp};
use csms_kernel::events::{raise_alarm, resolve_alarm, DomainEvent};
use csms_kernel::ports::{
    AlarmSettingsStore, AlarmStore, LingeringConnector, OfflineStation, OrganisationStore,
    PageRequest, SessionQuery, StoreError,
};
use rust_decimal::Decimal;

/// Alarm kind of a station gone offline beyond its grace.
pub const OFFLINE_KIND: &str = "stationOffline";

/// How many stations of an organisation one sweep looks at; the rest wait
/// for the next minute.
const OFFLINE_BATCH: usize = 500;

/// The offline alarm of `station`: one per station.
pub fn offline_alarm_id(station: &StationId) -> String {
    format!("station-offline:{station}")
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The alarm a station on the offline list raises at `now`, or `None`: a
/// decommissioned station is not expected to connect, and one that is
/// connected again (the list is read eventually consistently) is not
/// offline.
pub fn offline_alarm(station: &Station, since: Timestamp, now: Timestamp) -> Option<Alarm> {
    if station.is_decommissioned() || station.connection_id.is_some() {
        return None;
    }
    let minutes = now.signed_duration_since(since).num_minutes().max(0);
    Some(Alarm {
        id: offline_alarm_id(&station.id),
        org_id: station.org_id.clone(),
        kind: OFFLINE_KIND.to_owned(),
        severity: Severity::Critical,
        title: Some(format!("Station {} offline", station.id)),
        message: format!(
            "station {} has been offline for {minutes} min (since {})",
            station.id,
            rfc3339(since)
        ),
        action: Some(
            "check the station's power and network, then its OCPP settings (the CSMS address, its id and password)"
                .to_owned(),
        ),
        occurrences: 1,
        last_seen_at: None,
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "siteId": station.site_id.as_ref().map(|s| s.as_str()),
            "disconnectedAt": rfc3339(since),
            "lastMessageAt": station.last_seen_at.map(rfc3339),
        }),
        raised_at: now,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    })
}

/// Alarm kind of a connector that reports a fault.
pub const FAULT_KIND: &str = "connectorFaulted";

/// The fault alarm of one connector (EVSE 0, connector 0: the station).
pub fn fault_alarm_id(station: &StationId, evse: u32, connector: u32) -> String {
    format!("connector-faulted:{station}:{evse}:{connector}")
}

/// What a stored status means for the connector's fault alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultChange {
    /// Into a fault, or a fault with another error code.
    Raise,
    /// Out of a fault into a working status.
    Resolve,
    /// No change the alarm cares about: no request.
    Nothing,
}

fn is_fault(s: &ConnectorStatus) -> bool {
    s.status == "Faulted"
}

/// Not charging-capable: a fault, or out of service.
fn is_down(s: &ConnectorStatus) -> bool {
    is_fault(s) || s.status == "Unavailable"
}

/// The decision from the status replaced and the one stored. A connector
/// that went Faulted → Unavailable → Available resolves on the last step:
/// so every step up from `Unavailable` looks (a read, and nothing when
/// there is no alarm; such steps are rare).
pub fn fault_change(previous: Option<&ConnectorStatus>, now: &ConnectorStatus) -> FaultChange {
    match previous {
        _ if is_fault(now) => match previous.filter(|p| is_fault(p)) {
            Some(p) if p.error_code == now.error_code && p.info == now.info => FaultChange::Nothing,
            _ => FaultChange::Raise,
        },
        Some(p) if is_down(p) && !is_down(now) => FaultChange::Resolve,
        _ => FaultChange::Nothing,
    }
}

/// The alarm of a faulted connector of the station `conn` is of.
pub fn fault_alarm(conn: &Connection, status: &ConnectorStatus, now: Timestamp) -> Alarm {
    let (evse, connector) = (status.evse_id, status.connector_id);
    let place = if evse == 0 {
        "the station as a whole".to_owned()
    } else {
        format!("EVSE {evse} connector {connector}")
    };
    let code = status
        .error_code
        .as_deref()
        .filter(|c| *c != "NoError")
        .unwrap_or("no error code");
    let info = status
        .info
        .as_deref()
        .map_or(String::new(), |i| format!(": {i}"));
    Alarm {
        id: fault_alarm_id(&conn.station_id, evse, connector),
        org_id: conn.org_id.clone(),
        kind: FAULT_KIND.to_owned(),
        severity: Severity::Critical,
        title: Some(if evse == 0 {
            format!("Station {} faulted", conn.station_id)
        } else {
            format!(
                "Station {} EVSE {evse} connector {connector} faulted",
                conn.station_id
            )
        }),
        message: format!(
            "station {} reports {place} Faulted ({code}{info})",
            conn.station_id
        ),
        action: Some(
            "look the error code up in the charger's manual; reset the station (a Reset command) or send a technician"
                .to_owned(),
        ),
        occurrences: 1,
        last_seen_at: None,
        details: serde_json::json!({
            "stationId": conn.station_id.as_str(),
            "siteId": conn.site_id.as_ref().map(|s| s.as_str()),
            "evseId": evse,
            "connectorId": connector,
            "status": status.status,
            "errorCode": status.error_code,
            "info": status.info,
            "reportedAt": rfc3339(status.updated_at),
        }),
        raised_at: now,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// Alarm kind of an energy register that went backwards in a transaction.
pub const REGISTER_KIND: &str = "energyRegisterBackwards";

/// The register alarm of a session: one per session.
pub fn register_alarm_id(session: &SessionId) -> String {
    format!("register-backwards:{session}")
}

/// The first reading of `registers` (Wh, by time) lower than the one before
/// it: the session's latest so far, then each other. Readings timed before
/// the latest (late or replayed) are not compared: an older, lower value is
/// the normal order. `None` while the register only rises or stays.
pub fn register_backwards(
    last: Option<(Timestamp, Decimal)>,
    registers: &[(Timestamp, Decimal)],
) -> Option<((Timestamp, Decimal), (Timestamp, Decimal))> {
    let mut sorted: Vec<_> = registers.to_vec();
    sorted.sort_by_key(|(t, _)| *t);
    let mut previous = last;
    for reading in sorted {
        match previous {
            Some(p) if reading.0 < p.0 => continue,
            Some(p) if reading.1 < p.1 => return Some((p, reading)),
            _ => previous = Some(reading),
        }
    }
    None
}

/// The alarm of a session whose register went from `before` down to `after`.
pub fn register_alarm(
    session: &Session,
    before: (Timestamp, Decimal),
    after: (Timestamp, Decimal),
    now: Timestamp,
) -> Alarm {
    Alarm {
        id: register_alarm_id(&session.id),
        org_id: session.org_id.clone(),
        kind: REGISTER_KIND.to_owned(),
        severity: Severity::Warning,
        title: Some(format!(
            "Energy register went backwards at station {}",
            session.station_id
        )),
        message: format!(
            "session {} (transaction {}) read {} Wh at {}, then {} Wh at {}",
            session.id,
            session.transaction_id,
            before.1,
            rfc3339(before.0),
            after.1,
            rfc3339(after.0)
        ),
        details: serde_json::json!({
            "stationId": session.station_id.as_str(),
            "sessionId": session.id.as_str(),
            "transactionId": session.transaction_id,
            "evseId": session.evse_id,
            "before": {"at": rfc3339(before.0), "wh": before.1.to_string()},
            "after": {"at": rfc3339(after.0), "wh": after.1.to_string()},
        }),
        action: Some(
            "check the session's energy before billing it; a meter that was replaced or reset, or faulty metering firmware, does this"
                .to_owned(),
        ),
        raised_at: now,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// Alarm kind of a session the charger never ended.
pub const STUCK_KIND: &str = "sessionStuck";

/// The stuck alarm of a session: one per session.
pub fn stuck_alarm_id(session: &SessionId) -> String {
    format!("session-stuck:{session}")
}

/// The alarm of `session`, closed by the CSMS at `now` after it heard
/// nothing of it since its last update: a charger that lost the
/// transaction, or a StopTransaction that never arrived.
pub fn stuck_alarm(session: &Session, now: Timestamp) -> Alarm {
    let silent_h = now.signed_duration_since(session.updated_at).num_hours();
    Alarm {
        id: stuck_alarm_id(&session.id),
        org_id: session.org_id.clone(),
        kind: STUCK_KIND.to_owned(),
        severity: Severity::Warning,
        title: Some(format!("A session at station {} never ended", session.station_id)),
        message: format!(
            "session {} (transaction {}) heard nothing for {silent_h} h and was closed by the CSMS at its last message ({})",
            session.id,
            session.transaction_id,
            rfc3339(session.updated_at)
        ),
        details: serde_json::json!({
            "stationId": session.station_id.as_str(),
            "sessionId": session.id.as_str(),
            "transactionId": session.transaction_id,
            "evseId": session.evse_id,
            "startedAt": session.started_at.map(rfc3339),
            "lastMessageAt": rfc3339(session.updated_at),
            "closedAt": rfc3339(now),
        }),
        action: Some(
            "check the session's energy and end time before billing it, and whether the station lost the transaction (a reboot during charging, offline StopTransaction never sent)"
                .to_owned(),
        ),
        raised_at: now,
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    }
}

/// Alarm kind of a running session without energy readings.
pub const NO_METER_KIND: &str = "noMeterValues";
/// Alarm kind of a running session whose register does not move while the
/// connector says it is charging.
pub const CHARGING_NOTHING_KIND: &str = "chargingNothing";

pub fn no_meter_alarm_id(session: &SessionId) -> String {
    format!("no-meter-values:{session}")
}

pub fn charging_nothing_alarm_id(session: &SessionId) -> String {
    format!("charging-nothing:{session}")
}

/// Since when a running `session` has had no register reading, when that
/// is longer than `limit` at `now` (its start when it never had one).
pub fn meter_silent_since(
    session: &Session,
    now: Timestamp,
    limit: chrono::TimeDelta,
) -> Option<Timestamp> {
    if session.status != csms_domain::session::SessionStatus::Active {
        return None;
    }
    let since = session
        .last_register
        .map(|(t, _)| t)
        .or(session.started_at)?;
    (now.signed_duration_since(since) >= limit).then_some(since)
}

/// Whether a running `session`'s register stood still from its first
/// reading to a recent last one (younger than `silence`, the
/// `noMeterValues` threshold) over at least `limit` (readings come, energy
/// does not): the register and the time it stood at.
pub fn delivered_nothing(
    session: &Session,
    now: Timestamp,
    limit: chrono::TimeDelta,
    silence: chrono::TimeDelta,
) -> Option<(Decimal, Timestamp)> {
    if session.status != csms_domain::session::SessionStatus::Active {
        return None;
    }
    let (first_at, first) = session.first_register?;
    let (last_at, last) = session.last_register?;
    let start = session
        .explicit_meter_start_wh
        .map_or(first, |s| s.min(first));
    // Readings still come (and none is timed after now).
    let age = now.signed_duration_since(last_at);
    let recent = age >= chrono::TimeDelta::zero() && age < silence;
    (last <= start && last_at.signed_duration_since(first_at) >= limit && recent)
        .then_some((last, first_at))
}

fn session_alarm(session: &Session, id: String, kind: &str, now: Timestamp) -> Alarm {
    let mut alarm = Alarm::opened(id, session.org_id.clone(), kind, Severity::Warning, now);
    alarm.details = serde_json::json!({
        "stationId": session.station_id.as_str(),
        "sessionId": session.id.as_str(),
        "transactionId": session.transaction_id,
        "evseId": session.evse_id,
        "connectorId": session.connector_id,
        "startedAt": session.started_at.map(rfc3339),
        "lastReading": session.last_register.map(|(t, wh)| serde_json::json!({"at": rfc3339(t), "wh": wh.to_string()})),
    });
    alarm
}

/// The alarm of a running session without readings since `since`.
pub fn no_meter_alarm(session: &Session, since: Timestamp, now: Timestamp) -> Alarm {
    let mut alarm = session_alarm(session, no_meter_alarm_id(&session.id), NO_METER_KIND, now);
    let mins = now.signed_duration_since(since).num_minutes();
    alarm.title = Some(format!(
        "No energy readings from station {}",
        session.station_id
    ));
    alarm.message = format!(
        "session {} (transaction {}) has had no energy register reading for {mins} min (since {})",
        session.id,
        session.transaction_id,
        rfc3339(since)
    );
    alarm.action = Some(
        "check the station's MeterValueSampleInterval and MeterValuesSampledData (Energy.Active.Import.Register), and its meter: without readings the session cannot be priced until it ends"
            .to_owned(),
    );
    alarm
}

/// The alarm of a running session whose register stands at `wh` since
/// `since` while its connector says `Charging`.
pub fn charging_nothing_alarm(
    session: &Session,
    wh: Decimal,
    since: Timestamp,
    now: Timestamp,
) -> Alarm {
    let mut alarm = session_alarm(
        session,
        charging_nothing_alarm_id(&session.id),
        CHARGING_NOTHING_KIND,
        now,
    );
    let mins = now.signed_duration_since(since).num_minutes();
    alarm.title = Some(format!("Station {} charges nothing", session.station_id));
    alarm.message = format!(
        "session {} (transaction {}): the connector says Charging, but the register has stood at {wh} Wh for {mins} min",
        session.id, session.transaction_id
    );
    alarm.action = Some(
        "look at the car and the cable (a car that will not take current), the station's contactor and its charging profile (a limit of 0 A)"
            .to_owned(),
    );
    alarm
}

/// Alarm kind of a station that keeps reconnecting.
pub const FLAPPING_KIND: &str = "stationFlapping";
/// Alarm kind of a station that keeps booting.
pub const BOOT_LOOP_KIND: &str = "stationBootLoop";

/// The flapping alarm of `station`: one per station.
pub fn flapping_alarm_id(station: &StationId) -> String {
    format!("station-flapping:{station}")
}

/// The boot-loop alarm of `station`: one per station.
pub fn boot_loop_alarm_id(station: &StationId) -> String {
    format!("station-boot-loop:{station}")
}

fn minutes(secs: u16) -> String {
    if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// The alarm of a station whose connects of the last hour
/// (`station.recent_connects`, this one included) reach `churn` at `now`,
/// or `None`.
pub fn flapping_alarm(station: &Station, churn: Churn, now: Timestamp) -> Option<Alarm> {
    if !churn.exceeded(&station.recent_connects, now) {
        return None;
    }
    let connects = churn.within(&station.recent_connects, now);
    let window = minutes(churn.window_secs());
    Some(Alarm {
        title: Some(format!("Station {} keeps reconnecting", station.id)),
        message: format!(
            "station {} connected {} times within {window} (the threshold is {})",
            station.id,
            connects.len(),
            churn.count()
        ),
        action: Some(
            "check the station's network (mobile signal, router, a cable) and its WebSocket ping and reconnect settings; if it also boots each time, look at its power supply"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "siteId": station.site_id.as_ref().map(|s| s.as_str()),
            "connects": connects.iter().copied().map(rfc3339).collect::<Vec<_>>(),
            "threshold": churn.count(),
            "windowSeconds": churn.window_secs(),
        }),
        ..Alarm::opened(
            flapping_alarm_id(&station.id),
            station.org_id.clone(),
            FLAPPING_KIND,
            Severity::Warning,
            now,
        )
    })
}

/// The alarm of a station whose boots (`station.boot`'s recent boots, the
/// latest included) reach `churn` at `now`, or `None`.
pub fn boot_loop_alarm(station: &Station, churn: Churn, now: Timestamp) -> Option<Alarm> {
    let boot = station.boot.as_ref()?;
    if !churn.exceeded(&boot.recent_boots, now) {
        return None;
    }
    let boots = churn.within(&boot.recent_boots, now);
    let window = minutes(churn.window_secs());
    let reason = boot
        .reason
        .as_deref()
        .map_or(String::new(), |r| format!(", the latest for {r}"));
    Some(Alarm {
        title: Some(format!("Station {} keeps restarting", station.id)),
        message: format!(
            "station {} booted {} times within {window}{reason} (the threshold is {})",
            station.id,
            boots.len(),
            churn.count()
        ),
        action: Some(
            "look at the station's power supply and at its firmware (a recent update may need a roll-back); fetch its logs (GetDiagnostics or GetLog) and ask the manufacturer"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "siteId": station.site_id.as_ref().map(|s| s.as_str()),
            "boots": boots.iter().copied().map(rfc3339).collect::<Vec<_>>(),
            "reason": boot.reason,
            "vendor": boot.vendor,
            "model": boot.model,
            "firmwareVersion": boot.firmware_version,
            "threshold": churn.count(),
            "windowSeconds": churn.window_secs(),
        }),
        ..Alarm::opened(
            boot_loop_alarm_id(&station.id),
            station.org_id.clone(),
            BOOT_LOOP_KIND,
            Severity::Critical,
            now,
        )
    })
}

/// The organisation's alarm settings, or the platform's when it set none
/// or they do not decode (logged, and alarmed by the store): a rule is
/// never switched off by a broken record.
pub async fn alarm_settings<S: AlarmSettingsStore + ?Sized>(
    store: &S,
    org: &OrgId,
    default_grace: OfflineGrace,
) -> Result<AlarmSettings, StoreError> {
    match store.get_alarm_settings(org).await {
        Ok(settings) => {
            Ok(settings.unwrap_or_else(|| AlarmSettings::defaults(org.clone(), default_grace)))
        }
        Err(e @ StoreError::Undecodable { .. }) => {
            tracing::error!(org = %org, error = %e, "the alarm settings do not decode; the platform's apply");
            Ok(AlarmSettings::defaults(org.clone(), default_grace))
        }
        Err(e) => Err(e),
    }
}

/// After a connect or boot of `station` (as just written): raises `alarm`
/// of it when the station's history could reach any threshold and reaches
/// the organisation's. Reads the thresholds only then (the third connect or
/// boot within an hour). A store failure is logged: the connect or boot
/// stands.
pub async fn check_churn<S: AlarmStore + AlarmSettingsStore + ?Sized>(
    store: &S,
    events: &dyn csms_kernel::events::EventBus,
    station: &Station,
    times: &[Timestamp],
    alarm: fn(&Station, Churn, Timestamp) -> Option<Alarm>,
    churn: fn(&AlarmSettings) -> Churn,
    now: Timestamp,
) {
    if !Churn::may_exceed_any(times, now) {
        return;
    }
    // The grace is not used here: any value does.
    let settings = match alarm_settings(store, &station.org_id, OfflineGrace::platform(60)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(station = %station.id, error = %e, "could not read the alarm settings");
            return;
        }
    };
    let Some(alarm) = alarm(station, churn(&settings), now) else {
        return;
    };
    match raise_alarm(store, events, &alarm, now).await {
        Ok(true) => tracing::warn!(station = %station.id, kind = %alarm.kind, "alarm raised"),
        Ok(false) => {}
        Err(e) => tracing::warn!(alarm = %alarm.id, error = %e, "could not raise an alarm"),
    }
}

/// Alarm kind of a station that sends more messages than its limit.
pub const FLOOD_KIND: &str = "messageFlood";

/// The flood alarm of `station`: one per station.
pub fn flood_alarm_id(station: &StationId) -> String {
    format!("message-flood:{station}")
}

/// What the message-flood rule makes of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodVerdict {
    /// Too early to tell.
    Undecided,
    /// The organisation's limit is needed to decide.
    NeedsLimit,
    /// More than the limit: `count` messages within `millis`, less than
    /// the limit's window.
    Flooding { count: u64, millis: i64 },
    /// The window ending now held no more than the limit.
    Quiet,
}

/// One message as the touch of its connection returned it: its number on
/// the connection, when it came, and when the two before it came (the
/// connect's time for those before the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodMessage {
    pub number: u64,
    pub at: Timestamp,
    pub previous: Option<Timestamp>,
    pub second_previous: Option<Timestamp>,
}

impl FloodMessage {
    pub fn of(conn: &Connection) -> Self {
        FloodMessage {
            number: conn.messages,
            at: conn.last_seen_at,
            previous: conn.previous_seen_at,
            second_previous: conn.second_previous_seen_at,
        }
    }
}

/// The message-flood rule on message `m`: its verdict and the check to
/// keep (written only when it differs from `known`).
///
/// The check holds points, each "every message after the `base`th came at
/// or after `from`, every other one at or before": the window (the
/// connect, at first), a mark every quarter of the limit's messages, a
/// mark where a burst began (the message before this one, when it came
/// after a pause of at least the window and this one within it), and a
/// fresh start after a flood. The earliest point less than a window old
/// gives a count that is all within less than the window, so a flood is
/// never claimed that was not one; as only the messages between that point
/// and the one before it can be missed, a flood is seen at its (limit+1)th
/// message when it follows a pause of a window, and at most a quarter of
/// the limit late within a busy stream. The newest point at least a
/// window old bounds the window ending now from above: quiet when it
/// holds no more than the limit. At most the smallest limit's count within
/// less than the shortest window decides nothing whatever the limit, so
/// the limit is not needed then.
pub fn flood_step(
    known: &FloodCheck,
    m: FloodMessage,
    limit: Option<Limit>,
) -> (FloodVerdict, FloodCheck) {
    let bounds = Limit::MESSAGE_FLOOD;
    let t = m.at;
    let Some(limit) = limit else {
        let count = m.number.saturating_sub(known.window_base);
        let shortest = chrono::TimeDelta::seconds(bounds.min_window_secs.into());
        let verdict = if count <= u64::from(bounds.min_count) && t - known.window_from < shortest {
            FloodVerdict::Undecided
        } else {
            FloodVerdict::NeedsLimit
        };
        return (verdict, known.clone());
    };
    let n = u64::from(limit.count());
    let w = limit.window();
    let mut points: Vec<FloodMark> = std::iter::once(FloodMark {
        from: known.window_from,
        base: known.window_base,
    })
    .chain(known.marks.iter().copied())
    .collect();
    let newest_base = |points: &[FloodMark]| points.last().map_or(0, |p| p.base);
    // A burst after a pause: the message before this one began it.
    if let (Some(p1), Some(p2)) = (m.previous, m.second_previous) {
        let known_already = points.last().is_some_and(|l| l.from >= p1);
        if m.number >= 2 && t - p1 < w && p1 - p2 >= w && !known_already {
            points.push(FloodMark {
                from: p1,
                base: m.number - 2,
            });
        }
    }
    let fresh = |p: &FloodMark| t - p.from < w;
    let first_fresh = points.iter().position(fresh);
    let verdict = match first_fresh.map(|i| points[i]) {
        Some(e) if m.number.saturating_sub(e.base) > n => FloodVerdict::Flooding {
            count: m.number - e.base,
            millis: (t - e.from).num_milliseconds().max(0),
        },
        _ => {
            let newest_stale = match first_fresh {
                Some(0) => None,
                Some(i) => Some(points[i - 1]),
                None => points.last().copied(),
            };
            match newest_stale {
                Some(s) if m.number.saturating_sub(s.base) <= n => FloodVerdict::Quiet,
                _ => FloodVerdict::Undecided,
            }
        }
    };
    let mut check = known.clone();
    if let FloodVerdict::Flooding { .. } = verdict {
        // Counted: the next flood needs the limit's worth anew.
        check.window_from = t;
        check.window_base = m.number;
        check.marks.clear();
        return (verdict, check);
    }
    let quarter = n.div_ceil(4).max(1);
    if m.number.saturating_sub(newest_base(&points)) >= quarter {
        points.push(FloodMark {
            from: t,
            base: m.number - 1,
        });
    }
    if points.len() != 1 + known.marks.len() {
        // Written anyway: drop the points older than the newest stale one,
        // then, should a busy stream leave more, the oldest.
        let keep_from = points
            .iter()
            .position(fresh)
            .unwrap_or(points.len())
            .saturating_sub(1);
        points.drain(..keep_from);
        while points.len() > 1 + FloodCheck::MAX_MARKS {
            points.remove(0);
        }
        check.window_from = points[0].from;
        check.window_base = points[0].base;
        check.marks = points[1..].to_vec();
    }
    (verdict, check)
}

/// The alarm of the station of `conn`, which sent `count` messages within
/// `millis`, more than `limit`.
pub fn flood_alarm(
    conn: &Connection,
    count: u64,
    millis: i64,
    limit: Limit,
    now: Timestamp,
) -> Alarm {
    let station = &conn.station_id;
    let millis = millis.max(0);
    let secs = format!("{}.{}", millis / 1000, millis % 1000 / 100);
    Alarm {
        title: Some(format!("Station {station} floods the CSMS with messages")),
        message: format!(
            "station {station} sent {count} messages within {secs} s (the limit is {} within {} s)",
            limit.count(),
            limit.window_secs()
        ),
        action: Some(
            "look at the station's intervals (HeartbeatInterval, MeterValueSampleInterval, a 2.0.1 SampledDataCtrlr.TxUpdatedInterval) and at a firmware that repeats a message without waiting for its answer; a Reset often stops a loop, the manufacturer fixes it"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.as_str(),
            "siteId": conn.site_id.as_ref().map(|s| s.as_str()),
            "connectionId": conn.connection_id,
            "messages": count,
            "withinMilliseconds": millis,
            "limit": limit.count(),
            "windowSeconds": limit.window_secs(),
            "connectedAt": rfc3339(conn.connected_at),
        }),
        ..Alarm::opened(
            flood_alarm_id(station),
            conn.org_id.clone(),
            FLOOD_KIND,
            Severity::Warning,
            now,
        )
    }
}

/// Alarm kind of a station that connects from many addresses.
pub const MANY_ADDRESSES_KIND: &str = "stationManyAddresses";

/// The many-addresses alarm of `station`: one per station.
pub fn many_addresses_alarm_id(station: &StationId) -> String {
    format!("station-addresses:{station}")
}

/// The alarm of a station whose connects came from more distinct
/// addresses than `limit` within its window ending `now`, or `None`.
pub fn many_addresses_alarm(station: &Station, limit: Limit, now: Timestamp) -> Option<Alarm> {
    let from = now - limit.window();
    let seen: Vec<_> = station
        .recent_addresses
        .iter()
        .filter(|a| a.at > from && a.at <= now)
        .collect();
    if seen.len() <= limit.count() as usize {
        return None;
    }
    let window = if limit.window_secs().is_multiple_of(3600) {
        format!("{} h", limit.window_secs() / 3600)
    } else {
        format!("{} s", limit.window_secs())
    };
    Some(Alarm {
        title: Some(format!("Station {} connects from many addresses", station.id)),
        message: format!(
            "station {} connected from {} different addresses within {window} (the limit is {})",
            station.id,
            seen.len(),
            limit.count()
        ),
        action: Some(
            "find out whether another device uses the station's identity and password (a stolen password, a charger configured as another); rotate the station's password and check the chargers at the addresses in the evidence; a station on a mobile network that changes address often needs a higher limit"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "siteId": station.site_id.as_ref().map(|s| s.as_str()),
            "addresses": seen
                .iter()
                .map(|a| serde_json::json!({"address": a.address, "lastConnectAt": rfc3339(a.at)}))
                .collect::<Vec<_>>(),
            "limit": limit.count(),
            "windowSeconds": limit.window_secs(),
        }),
        ..Alarm::opened(
            many_addresses_alarm_id(&station.id),
            station.org_id.clone(),
            MANY_ADDRESSES_KIND,
            Severity::Critical,
            now,
        )
    })
}

/// The many-addresses rule at a connect of `station` (its addresses, this
/// connect's included): nothing to read while it has fewer than two
/// addresses of the last week; else the thresholds, and the alarm raised
/// (or repeated) when they are exceeded. A store failure is logged.
pub async fn check_addresses<S: AlarmStore + AlarmSettingsStore + ?Sized>(
    store: &S,
    events: &dyn csms_kernel::events::EventBus,
    station: &Station,
    now: Timestamp,
) {
    if station.recent_addresses.len() <= Limit::MANY_ADDRESSES.min_count as usize {
        return;
    }
    // The grace is not used here: any value does.
    let settings = match alarm_settings(store, &station.org_id, OfflineGrace::platform(60)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(station = %station.id, error = %e, "could not read the alarm settings");
            return;
        }
    };
    let Some(alarm) = many_addresses_alarm(station, settings.many_addresses, now) else {
        return;
    };
    match raise_alarm(store, events, &alarm, now).await {
        Ok(true) => tracing::warn!(station = %station.id, kind = %alarm.kind, "alarm raised"),
        Ok(false) => {}
        Err(e) => tracing::warn!(alarm = %alarm.id, error = %e, "could not raise an alarm"),
    }
}

/// Alarm kind of a firmware update that failed.
pub const FIRMWARE_KIND: &str = "firmwareUpdateFailed";
/// Alarm kind of a diagnostics or log upload that failed.
pub const DIAGNOSTICS_KIND: &str = "diagnosticsUploadFailed";
/// Alarm kind of a security event a station reported.
pub const SECURITY_KIND: &str = "securityEvent";
/// Alarm kind of a session that ended without its start.
pub const STOP_WITHOUT_START_KIND: &str = "stopWithoutStart";

pub fn firmware_alarm_id(station: &StationId) -> String {
    format!("firmware-failed:{station}")
}

pub fn diagnostics_alarm_id(station: &StationId) -> String {
    format!("diagnostics-failed:{station}")
}

/// One per station and event type; the type (from the station, at most 50
/// characters by the schema) keeps letters, digits, `-`, `_` and `.`.
pub fn security_alarm_id(station: &StationId, event_type: &str) -> String {
    let kind: String = event_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("security-event:{station}:{kind}")
}

pub fn stop_without_start_alarm_id(session: &SessionId) -> String {
    format!("stop-without-start:{session}")
}

/// What a notification from a station means for its alarms.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationChange {
    Raise(Box<Alarm>),
    /// The alarm with this id, if open, is over.
    Resolve(String),
    /// No request.
    Nothing,
}

/// Security events a station reports in its normal life: no alarm.
const ROUTINE_SECURITY_EVENTS: &[&str] = &[
    "StartupOfTheDevice",
    "ResetOrReboot",
    "FirmwareUpdated",
    "SettingSystemTime",
];

/// Security events that are an attack or its traces: critical.
const CRITICAL_SECURITY_EVENTS: &[&str] = &[
    "TamperDetectionActivated",
    "AttemptedReplayAttacks",
    "SecurityLogWasCleared",
];

/// An alarm of the station of `conn`, opened at `now`; the caller fills
/// in what it is about.
fn station_alarm(conn: &Connection, kind: &str, severity: Severity, now: Timestamp) -> Alarm {
    Alarm::opened(String::new(), conn.org_id.clone(), kind, severity, now)
}

/// The decision for a schema-valid notification `payload` of `kind` from
/// the station of `conn`.
pub fn notification_change(
    conn: &Connection,
    kind: csms_domain::event::NotificationKind,
    payload: &serde_json::Value,
    now: Timestamp,
) -> NotificationChange {
    use csms_domain::event::NotificationKind as K;
    let station = &conn.station_id;
    let text = |field: &str| payload.get(field).and_then(|v| v.as_str());
    let base = |extra: serde_json::Value| {
        let mut d = serde_json::json!({
            "stationId": station.as_str(),
            "siteId": conn.site_id.as_ref().map(|s| s.as_str()),
            "reportedAt": rfc3339(now),
        });
        if let (Some(d), serde_json::Value::Object(extra)) = (d.as_object_mut(), extra) {
            d.extend(extra);
        }
        d
    };
    // A firmware update or an upload that failed: `what` as in "Firmware
    // update", the same in the message in lower case.
    let failed = |id: String, kind: &str, what: &str, action: &str, status: &str| {
        NotificationChange::Raise(Box::new(Alarm {
            id,
            title: Some(format!("{what} of station {station} failed")),
            message: format!(
                "station {station} reports its {} {status}",
                what.to_lowercase()
            ),
            action: Some(action.to_owned()),
            details: base(serde_json::json!({
                "status": status,
                "requestId": payload.get("requestId"),
            })),
            ..station_alarm(conn, kind, Severity::Warning, now)
        }))
    };
    match kind {
        K::FirmwareStatus => match text("status") {
            Some(
                status @ ("DownloadFailed"
                | "InstallationFailed"
                | "InstallVerificationFailed"
                | "InvalidSignature"),
            ) => failed(
                firmware_alarm_id(station),
                FIRMWARE_KIND,
                "Firmware update",
                "check the firmware file's address and that the station can reach it (and its signature on 2.0.1), then send the update again; the station runs its old firmware meanwhile",
                status,
            ),
            Some("Installed") => NotificationChange::Resolve(firmware_alarm_id(station)),
            _ => NotificationChange::Nothing,
        },
        K::DiagnosticsStatus | K::LogStatus => match text("status") {
            Some(
                status @ ("UploadFailed"
                | "UploadFailure"
                | "BadMessage"
                | "PermissionDenied"
                | "NotSupportedOperation"),
            ) => failed(
                diagnostics_alarm_id(station),
                DIAGNOSTICS_KIND,
                "Diagnostics upload",
                "check the upload address (scheme, credentials, that the station can reach it) and ask for the diagnostics again",
                status,
            ),
            Some("Uploaded") => NotificationChange::Resolve(diagnostics_alarm_id(station)),
            _ => NotificationChange::Nothing,
        },
        K::SecurityEvent => {
            let Some(event_type) = text("type") else {
                return NotificationChange::Nothing;
            };
            if ROUTINE_SECURITY_EVENTS.contains(&event_type) {
                return NotificationChange::Nothing;
            }
            let severity = if CRITICAL_SECURITY_EVENTS.contains(&event_type) {
                Severity::Critical
            } else {
                Severity::Warning
            };
            NotificationChange::Raise(Box::new(Alarm {
                id: security_alarm_id(station, event_type),
                title: Some(format!("Security event at station {station}: {event_type}")),
                message: format!("station {station} reports the security event {event_type}"),
                action: Some("look at the station on site (tampering) and at its security log (GetLog SecurityLog); rotate its password if it may be known".to_owned()),
                details: base(serde_json::json!({
                    "type": event_type,
                    "stationTime": text("timestamp"),
                    "techInfo": text("techInfo"),
                })),
                ..station_alarm(conn, SECURITY_KIND, severity, now)
            }))
        }
        K::Report | K::Event => NotificationChange::Nothing,
    }
}

/// The alarm of `session`, which ended while its start was never seen.
pub fn stop_without_start_alarm(session: &Session, now: Timestamp) -> Alarm {
    Alarm {
        title: Some(format!(
            "A session at station {} ended without a start",
            session.station_id
        )),
        message: format!(
            "station {} ended transaction {} that it never started here; the session is kept with its start unknown",
            session.station_id, session.transaction_id
        ),
        details: serde_json::json!({
            "stationId": session.station_id.as_str(),
            "sessionId": session.id.as_str(),
            "transactionId": session.transaction_id,
            "evseId": session.evse_id,
            "endedAt": session.ended_at.map(rfc3339),
            "idToken": session.id_token.as_deref(),
        }),
        action: Some(
            "check whether the station was offline when it started (its start may still come) and the session's energy before billing it"
                .to_owned(),
        ),
        ..Alarm::opened(
            stop_without_start_alarm_id(&session.id),
            session.org_id.clone(),
            STOP_WITHOUT_START_KIND,
            Severity::Warning,
            now,
        )
    }
}

/// Alarm kind of a connector that stays in `Preparing` or `Finishing`.
pub const STUCK_CONNECTOR_KIND: &str = "connectorStuck";

/// The stuck alarm of one connector.
pub fn stuck_connector_alarm_id(station: &StationId, evse: u32, connector: u32) -> String {
    format!("connector-stuck:{station}:{evse}:{connector}")
}

/// Whether the status stored after `previous` may end a stuck alarm: a
/// change out of a status a connector should not stay in, after at least
/// [`Lingering::MIN_MINS`] in it (shorter, no organisation's threshold was
/// reached, so there is nothing to look up).
pub fn ends_lingering(previous: Option<&ConnectorStatus>, now: &ConnectorStatus) -> bool {
    previous.is_some_and(|p| {
        Lingering::watches(&p.status)
            && p.status != now.status
            && now.updated_at - p.updated_at
                >= chrono::TimeDelta::minutes(Lingering::MIN_MINS.into())
    })
}

/// The alarm of a connector in `Preparing` or `Finishing` for longer than
/// `limit`; `None` for another status.
pub fn stuck_connector_alarm(
    org: &OrgId,
    lingering: &LingeringConnector,
    limit: chrono::TimeDelta,
    now: Timestamp,
) -> Option<Alarm> {
    let LingeringConnector { station_id, status } = lingering;
    let (evse, connector) = (status.evse_id, status.connector_id);
    let (what, action) = match status.status.as_str() {
        "Preparing" => (
            "a car is plugged in or a driver authorised, and charging never started",
            "check that the driver's identifier is accepted and the car is ready; start the session remotely, or unlock the connector or soft-reset the station",
        ),
        "Finishing" => (
            "the session ended but the connector is not free: the cable is still in the socket or the car still parked",
            "ask the driver to move the car; if the cable is stuck, send Unlock connector, then a soft reset",
        ),
        _ => return None,
    };
    let minutes = (now - status.updated_at).num_minutes();
    Some(Alarm {
        title: Some(format!(
            "Station {station_id} EVSE {evse} connector {connector} stuck in {}",
            status.status
        )),
        message: format!(
            "station {station_id} EVSE {evse} connector {connector} has been {} for {minutes} min (more than {} min): {what}",
            status.status,
            limit.num_minutes()
        ),
        action: Some(action.to_owned()),
        details: serde_json::json!({
            "stationId": station_id.as_str(),
            "evseId": evse,
            "connectorId": connector,
            "status": status.status,
            "since": rfc3339(status.updated_at),
            "limitMinutes": limit.num_minutes(),
        }),
        ..Alarm::opened(
            stuck_connector_alarm_id(station_id, evse, connector),
            org.clone(),
            STUCK_CONNECTOR_KIND,
            Severity::Warning,
            now,
        )
    })
}

/// Alarm kind of a connector whose status contradicts the transaction
/// running on it.
pub const CONTRADICTION_KIND: &str = "statusContradictsSession";

/// The contradiction alarm of one connector.
pub fn contradiction_alarm_id(station: &StationId, evse: u32, connector: u32) -> String {
    format!("status-contradicts-session:{station}:{evse}:{connector}")
}

/// The running session of the station's recent `sessions` that `status`
/// contradicts, if any: an active one on the same EVSE (any EVSE for the
/// station as a whole, EVSE 0) and the same connector where the session
/// knows its connector (another connector of a 2.0.1 EVSE in use may
/// well be `Unavailable`).
pub fn contradicted_session<'a>(
    status: &ConnectorStatus,
    sessions: &'a [Session],
) -> Option<&'a Session> {
    if !Lingering::contradicts(&status.status) {
        return None;
    }
    let whole_station = status.evse_id == 0;
    sessions.iter().find(|s| {
        s.status == csms_domain::session::SessionStatus::Active
            && (whole_station
                || (s.evse_id == Some(status.evse_id)
                    && s.connector_id.is_none_or(|c| c == status.connector_id)))
    })
}

/// Whether the status stored after `previous` may end a contradiction
/// alarm: a change out of a contradicting status that lasted at least the
/// shortest threshold an organisation may choose (shorter, the sweep
/// cannot have raised one, so there is nothing to look up).
pub fn ends_contradiction(previous: Option<&ConnectorStatus>, now: &ConnectorStatus) -> bool {
    let shortest = Thresholds::STATUS_CONTRADICTION
        .threshold(Thresholds::STATUS_CONTRADICTION.min.into())
        .map_or(chrono::TimeDelta::zero(), |t| t.as_delta());
    previous.is_some_and(|p| {
        Lingering::contradicts(&p.status)
            && p.status != now.status
            && now.updated_at - p.updated_at >= shortest
    })
}

/// The alarm of a connector of `station_id` that reported `status` while
/// `session` runs on it, for longer than `grace`.
pub fn contradiction_alarm(
    station_id: &StationId,
    status: &ConnectorStatus,
    session: &Session,
    grace: chrono::TimeDelta,
    now: Timestamp,
) -> Alarm {
    let (evse, connector) = (status.evse_id, status.connector_id);
    let place = if evse == 0 {
        "the station as a whole".to_owned()
    } else {
        format!("EVSE {evse} connector {connector}")
    };
    let minutes = (now - status.updated_at).num_minutes();
    Alarm {
        title: Some(format!(
            "Station {station_id} reports {} during a session",
            status.status
        )),
        message: format!(
            "station {station_id} reports {place} {} since {} ({minutes} min, more than {} s) while transaction {} (session {}) is running there",
            status.status,
            rfc3339(status.updated_at),
            grace.num_seconds(),
            session.transaction_id,
            session.id
        ),
        action: Some(
            "ask the station for its status (TriggerMessage StatusNotification) and look at the session: if it ended on the station, its StopTransaction was lost (the session stays open until the idle sweep); if it runs, the station's status logic is wrong (a firmware issue for its manufacturer)"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station_id.as_str(),
            "siteId": session.site_id.as_ref().map(|s| s.as_str()),
            "evseId": evse,
            "connectorId": connector,
            "status": status.status,
            "since": rfc3339(status.updated_at),
            "sessionId": session.id.as_str(),
            "transactionId": session.transaction_id,
            "graceSeconds": grace.num_seconds(),
        }),
        ..Alarm::opened(
            contradiction_alarm_id(station_id, evse, connector),
            session.org_id.clone(),
            CONTRADICTION_KIND,
            Severity::Warning,
            now,
        )
    }
}

/// Alarm kind of a station whose clock is off the server's.
pub const CLOCK_KIND: &str = "clockDrift";

/// The clock alarm of a station: one per station.
pub fn clock_alarm_id(station: &StationId) -> String {
    format!("clock-drift:{station}")
}

/// One timestamp of a message and whether it may be behind the server's
/// time for a reason other than the station's clock: a message the station
/// may have queued while offline (1.6 StartTransaction, StopTransaction and
/// MeterValues, a 2.0.1 TransactionEvent that says `offline`, sampled
/// values, reports) only counts when it is ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub at: Timestamp,
    pub may_be_queued: bool,
}

/// The timestamps of a schema-valid charger message that say something
/// about its clock.
pub fn clock_stamps(
    version: csms_ocpp::Version,
    action: &str,
    payload: &serde_json::Value,
) -> Vec<Stamp> {
    use csms_ocpp::Version::{V16, V201};
    let time = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str()).and_then(super::wire::parse_time)
    };
    let mut out = Vec::new();
    let mut push = |at: Option<Timestamp>, may_be_queued: bool| {
        if let Some(at) = at {
            out.push(Stamp { at, may_be_queued });
        }
    };
    let sampled = |field: &str| {
        payload
            .get(field)
            .and_then(|v| v.as_array())
            .map(|values| {
                values
                    .iter()
                    .filter_map(|m| time(m.get("timestamp")))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    match (version, action) {
        // A status is sent when it changes: the current one.
        (_, "StatusNotification") => push(time(payload.get("timestamp")), false),
        (V16, "StartTransaction") => push(time(payload.get("timestamp")), true),
        (V16, "StopTransaction") => {
            push(time(payload.get("timestamp")), true);
            for t in sampled("transactionData") {
                push(Some(t), true);
            }
        }
        (V201, "TransactionEvent") => {
            let offline = payload.get("offline").and_then(|v| v.as_bool()) == Some(true);
            push(time(payload.get("timestamp")), offline);
            for t in sampled("meterValue") {
                push(Some(t), true);
            }
        }
        (_, "MeterValues") => {
            for t in sampled("meterValue") {
                push(Some(t), true);
            }
        }
        (V201, "SecurityEventNotification") => push(time(payload.get("timestamp")), true),
        (V201, "NotifyEvent" | "NotifyReport" | "NotifyMonitoringReport") => {
            push(time(payload.get("generatedAt")), true)
        }
        _ => {}
    }
    out
}

/// What a message's stamps say about the station's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockVerdict {
    /// Off by `by` (positive: ahead of the server) beyond the tolerance.
    Drifting { by: chrono::TimeDelta },
    /// Within the tolerance, on a stamp that tells.
    Fine,
    /// Nothing to tell: no stamps, or only queued ones from the past.
    Silent,
    /// A stamp off by more than the smallest tolerance an organisation may
    /// choose, and the organisation's is not known yet.
    NeedsTolerance,
}

/// The verdict of `stamps` received at `now` under `tolerance` (`None`
/// while the organisation's is not known: then only what holds under any
/// tolerance is decided). A queued stamp tells only when it is not more
/// than the smallest tolerance behind: one further back may have waited
/// offline (a back-dated 1.6 StartTransaction is normal).
pub fn clock_verdict(
    stamps: &[Stamp],
    now: Timestamp,
    tolerance: Option<chrono::TimeDelta>,
) -> ClockVerdict {
    let least = Thresholds::CLOCK_DRIFT
        .threshold(Thresholds::CLOCK_DRIFT.min.into())
        .map_or(chrono::TimeDelta::seconds(30), |t| t.as_delta());
    let mut verdict = ClockVerdict::Silent;
    for stamp in stamps {
        let by = stamp.at.signed_duration_since(now);
        if stamp.may_be_queued && by < -least {
            continue;
        }
        if by.abs() <= least {
            if verdict == ClockVerdict::Silent {
                verdict = ClockVerdict::Fine;
            }
            continue;
        }
        let Some(tolerance) = tolerance else {
            return ClockVerdict::NeedsTolerance;
        };
        if by.abs() > tolerance {
            // The largest offset tells.
            match verdict {
                ClockVerdict::Drifting { by: b } if b.abs() >= by.abs() => {}
                _ => verdict = ClockVerdict::Drifting { by },
            }
        } else if verdict == ClockVerdict::Silent {
            verdict = ClockVerdict::Fine;
        }
    }
    verdict
}

/// The alarm of the station of `conn`, whose message at `now` was off by
/// `by`, more than `tolerance`.
pub fn clock_alarm(
    conn: &Connection,
    action: &str,
    by: chrono::TimeDelta,
    tolerance: chrono::TimeDelta,
    now: Timestamp,
) -> Alarm {
    let station = &conn.station_id;
    let (way, secs) = if by > chrono::TimeDelta::zero() {
        ("ahead of", by.num_seconds())
    } else {
        ("behind", -by.num_seconds())
    };
    Alarm {
        title: Some(format!("Station {station}'s clock is off")),
        message: format!(
            "station {station}'s {action} was timed {secs} s {way} the server's clock (the tolerance is {} s)",
            tolerance.num_seconds()
        ),
        action: Some(
            "configure NTP on the station (or its time source), or set its clock: a 2.0.1 station takes the time from the Heartbeat and BootNotification replies (currentTime) when it has no NTP; sessions and meter readings are timed by its clock"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.as_str(),
            "siteId": conn.site_id.as_ref().map(|s| s.as_str()),
            "message": action,
            "offsetSeconds": by.num_seconds(),
            "toleranceSeconds": tolerance.num_seconds(),
            "receivedAt": rfc3339(now),
            "stationTime": rfc3339(now + by),
        }),
        ..Alarm::opened(
            clock_alarm_id(station),
            conn.org_id.clone(),
            CLOCK_KIND,
            Severity::Warning,
            now,
        )
    }
}

impl<S: ChargingStore + ?Sized> ChargerService<S> {
    /// Resolves the connector's stuck alarm when the stored status ends a
    /// long `Preparing` or `Finishing` ([`ends_lingering`]). A store
    /// failure is logged: the charger's message stands.
    pub(super) async fn connector_moved_on(
        &self,
        conn: &Connection,
        previous: Option<&ConnectorStatus>,
        status: &ConnectorStatus,
        now: Timestamp,
    ) {
        if ends_lingering(previous, status) {
            let id =
                stuck_connector_alarm_id(&conn.station_id, status.evse_id, status.connector_id);
            self.resolve_and_tell(&id, now).await;
        }
        if ends_contradiction(previous, status) {
            let id = contradiction_alarm_id(&conn.station_id, status.evse_id, status.connector_id);
            self.resolve_and_tell(&id, now).await;
        }
    }

    /// The clock-drift rule on one message's `stamps` (see the module
    /// docs): a request only when the connection's decision changes, and
    /// the organisation's tolerance read at most once per connection. A
    /// store failure is logged: the charger's message stands.
    pub(super) async fn check_clock(
        &self,
        conn: &Connection,
        action: &str,
        stamps: &[Stamp],
        now: Timestamp,
    ) {
        if stamps.is_empty() {
            return;
        }
        let known = conn.clock.unwrap_or(ClockCheck {
            drifting: None,
            tolerance_secs: None,
        });
        let mut check = known;
        let delta = |secs: u32| chrono::TimeDelta::seconds(secs.into());
        let mut verdict = clock_verdict(stamps, now, known.tolerance_secs.map(delta));
        if verdict == ClockVerdict::NeedsTolerance {
            // The grace is not used here: any value does.
            match alarm_settings(&*self.store, &conn.org_id, OfflineGrace::platform(60)).await {
                Ok(s) => check.tolerance_secs = Some(s.thresholds.clock_drift.secs()),
                Err(e) => {
                    tracing::warn!(station = %conn.station_id, error = %e, "could not read the alarm settings");
                    return;
                }
            }
            verdict = clock_verdict(stamps, now, check.tolerance_secs.map(delta));
        }
        let tolerance = check
            .tolerance_secs
            .map_or(Thresholds::DEFAULT.clock_drift.as_delta(), delta);
        match verdict {
            ClockVerdict::Drifting { by } if known.drifting != Some(true) => {
                check.drifting = Some(true);
                let alarm = clock_alarm(conn, action, by, tolerance, now);
                self.raise_and_tell(alarm, now).await;
            }
            ClockVerdict::Fine if known.drifting != Some(false) => {
                // One left open by an earlier connection too.
                check.drifting = Some(false);
                self.resolve_and_tell(&clock_alarm_id(&conn.station_id), now)
                    .await;
            }
            _ => {}
        }
        if check != known {
            if let Err(e) = self
                .store
                .set_connection_clock(&conn.connection_id, check)
                .await
            {
                tracing::warn!(station = %conn.station_id, error = %e, "could not record the clock check");
            }
        }
    }

    /// The message-flood rule on the message just counted on `conn` (see
    /// the module docs): a request only when the decision changes or a
    /// full window starts anew, and the organisation's limit read at most
    /// once per connection. A store failure is logged: the message stands.
    pub(super) async fn check_flood(&self, conn: &Connection, now: Timestamp) {
        let known = conn.flood.clone().unwrap_or(FloodCheck {
            window_from: conn.connected_at,
            window_base: 0,
            marks: Vec::new(),
            flooding: None,
            limit_count: None,
            limit_window_secs: None,
        });
        let stored_limit = |c: &FloodCheck| match (c.limit_count, c.limit_window_secs) {
            (Some(n), Some(w)) => Limit::MESSAGE_FLOOD.limit(n.into(), w.into()).ok(),
            _ => None,
        };
        let message = FloodMessage {
            at: now,
            ..FloodMessage::of(conn)
        };
        let mut limit = stored_limit(&known);
        let (mut verdict, mut check) = flood_step(&known, message, limit);
        if verdict == FloodVerdict::NeedsLimit {
            // The grace is not used here: any value does.
            let read = match alarm_settings(&*self.store, &conn.org_id, OfflineGrace::platform(60))
                .await
            {
                Ok(s) => s.message_flood,
                Err(e) => {
                    tracing::warn!(station = %conn.station_id, error = %e, "could not read the alarm settings");
                    return;
                }
            };
            limit = Some(read);
            (verdict, check) = flood_step(&known, message, limit);
            // Kept, so that it is read once per connection.
            check.limit_count = Some(read.count());
            check.limit_window_secs = Some(read.window_secs());
        }
        let limit = limit.unwrap_or(Limit::MESSAGE_FLOOD.default);
        match verdict {
            FloodVerdict::Flooding { count, millis } => {
                check.flooding = Some(true);
                let alarm = flood_alarm(conn, count, millis, limit, now);
                self.raise_and_tell(alarm, now).await;
            }
            FloodVerdict::Quiet => {
                if known.flooding != Some(false) {
                    // One left open by an earlier connection too.
                    check.flooding = Some(false);
                    self.resolve_and_tell(&flood_alarm_id(&conn.station_id), now)
                        .await;
                }
            }
            FloodVerdict::Undecided | FloodVerdict::NeedsLimit => {}
        }
        if check != known {
            if let Err(e) = self
                .store
                .set_connection_flood(&conn.connection_id, check)
                .await
            {
                tracing::warn!(station = %conn.station_id, error = %e, "could not record the flood check");
            }
        }
    }

    /// Raises the alarm of each of the organisation's connectors whose
    /// status has contradicted a running transaction for longer than its
    /// threshold: each connector listed with such a status is looked at
    /// once (taken off the list), with one query of its station's recent
    /// sessions; how many were raised.
    pub async fn raise_contradiction_alarms(
        &self,
        settings: &AlarmSettings,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let org = &settings.org_id;
        let grace = settings.thresholds.status_contradiction.as_delta();
        let mut raised = 0;
        for status in Lingering::CONTRADICTING {
            let due = self
                .store
                .lingering_due(org, status, now - grace, OFFLINE_BATCH)
                .await?;
            for LingeringConnector { station_id, status } in due {
                if !self
                    .store
                    .settle_lingering(
                        &station_id,
                        status.evse_id,
                        status.connector_id,
                        status.updated_at,
                    )
                    .await?
                {
                    continue;
                }
                let query = SessionQuery {
                    org_id: org.clone(),
                    station_id: Some(station_id.clone()),
                    from: None,
                    to: None,
                    page: PageRequest::first(super::OPEN_SESSION_WINDOW),
                };
                let sessions = self.store.list_sessions(&query).await?.items;
                let Some(session) = contradicted_session(&status, &sessions) else {
                    continue;
                };
                let alarm = contradiction_alarm(&station_id, &status, session, grace, now);
                if raise_alarm(&*self.store, &*self.events, &alarm, now).await? {
                    raised += 1;
                    tracing::warn!(station = %station_id, evse = status.evse_id, status = %status.status, session = %session.id, "status contradicts a running session: alarm raised");
                }
            }
        }
        Ok(raised)
    }

    /// Raises the alarm of each of the organisation's connectors in
    /// `Preparing` or `Finishing` for longer than its thresholds, once
    /// (each is taken off the lingering list as it is looked at); how many
    /// were raised.
    pub async fn raise_lingering_alarms(
        &self,
        settings: &AlarmSettings,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let org = &settings.org_id;
        let mut raised = 0;
        for status in Lingering::STATUSES {
            let Some(limit) = settings.lingering.limit(status) else {
                continue;
            };
            let due = self
                .store
                .lingering_due(org, status, now - limit, OFFLINE_BATCH)
                .await?;
            for lingering in due {
                let s = &lingering.status;
                // Only the sweep that takes it off acts; a connector that
                // moved on meanwhile is not on the list at that time any more.
                if !self
                    .store
                    .settle_lingering(
                        &lingering.station_id,
                        s.evse_id,
                        s.connector_id,
                        s.updated_at,
                    )
                    .await?
                {
                    continue;
                }
                let Some(alarm) = stuck_connector_alarm(org, &lingering, limit, now) else {
                    continue;
                };
                if raise_alarm(&*self.store, &*self.events, &alarm, now).await? {
                    raised += 1;
                    tracing::warn!(station = %lingering.station_id, evse = s.evse_id, connector = s.connector_id, status = %s.status, "connector stuck: alarm raised");
                }
            }
        }
        Ok(raised)
    }

    /// Raises or resolves what a station's notification means. A store
    /// failure is logged: the charger's message stands.
    pub(super) async fn notification_alarm(
        &self,
        conn: &Connection,
        kind: csms_domain::event::NotificationKind,
        payload: &serde_json::Value,
        now: Timestamp,
    ) {
        match notification_change(conn, kind, payload, now) {
            NotificationChange::Nothing => {}
            NotificationChange::Raise(alarm) => self.raise_and_tell(*alarm, now).await,
            NotificationChange::Resolve(id) => self.resolve_and_tell(&id, now).await,
        }
    }

    /// Resolves the alarm `id` if it is open and publishes that. A store
    /// failure is logged.
    pub(super) async fn resolve_and_tell(&self, id: &str, now: Timestamp) {
        match resolve_alarm(&*self.store, &*self.events, id, now).await {
            Ok(Some(alarm)) => tracing::info!(alarm = %alarm.id, "alarm resolved"),
            Ok(None) => {}
            Err(e) => tracing::warn!(alarm = %id, error = %e, "could not resolve an alarm"),
        }
    }

    /// Raises the alarm of a session that ended without its start.
    pub(super) async fn stop_without_start(&self, session: &Session, now: Timestamp) {
        self.raise_and_tell(stop_without_start_alarm(session, now), now)
            .await;
    }

    /// Raises the session's register alarm (a warning an operator resolves
    /// by hand once the session's energy was checked). A store failure is
    /// logged: the charger's message stands.
    pub(super) async fn register_went_backwards(
        &self,
        session: &Session,
        before: (Timestamp, Decimal),
        after: (Timestamp, Decimal),
        now: Timestamp,
    ) {
        self.raise_and_tell(register_alarm(session, before, after, now), now)
            .await;
    }

    /// The running-session rules over one page of an organisation's
    /// sessions (see the module docs): raises what holds and is not in
    /// `open`, and adds every alarm id that holds to `holding`.
    pub(super) async fn watch_running(
        &self,
        sessions: &[Session],
        thresholds: &Thresholds,
        idle: chrono::TimeDelta,
        open: &std::collections::HashSet<String>,
        holding: &mut std::collections::HashSet<String>,
        now: Timestamp,
    ) {
        // A session silent for the idle time is closed by this sweep and
        // gets its own alarm (`sessionStuck`).
        let running = sessions
            .iter()
            .filter(|s| now.signed_duration_since(s.updated_at) < idle);
        let silence = thresholds.no_meter_values.as_delta();
        let nothing = thresholds.charging_nothing.as_delta();
        for s in running {
            if let Some(since) = meter_silent_since(s, now, silence) {
                let id = no_meter_alarm_id(&s.id);
                if !open.contains(&id) {
                    self.raise_and_tell(no_meter_alarm(s, since, now), now)
                        .await;
                }
                holding.insert(id);
            }
            if let Some((wh, since)) = delivered_nothing(s, now, nothing, silence) {
                let id = charging_nothing_alarm_id(&s.id);
                if open.contains(&id) {
                    holding.insert(id);
                    continue;
                }
                // Only now is the connector's status read (a rare case).
                let charging = match self.store.get_station_view(&s.station_id).await {
                    Ok(Some(view)) => view.connectors_as_shown().iter().any(|c| {
                        c.status == "Charging"
                            && s.connector_id.is_none_or(|n| n == c.connector_id)
                            && s.evse_id.is_none_or(|n| n == c.evse_id)
                    }),
                    Ok(None) => false,
                    Err(e) => {
                        tracing::warn!(station = %s.station_id, error = %e, "could not read the connector status");
                        false
                    }
                };
                if charging {
                    self.raise_and_tell(charging_nothing_alarm(s, wh, since, now), now)
                        .await;
                    holding.insert(id);
                }
            }
        }
    }

    /// The organisation's open running-session alarms (one query).
    pub(super) async fn open_running_alarms(
        &self,
        org: &OrgId,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut ids = std::collections::HashSet::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_alarms(org, true, &page).await?;
            ids.extend(
                listed
                    .items
                    .into_iter()
                    .filter(|a| a.kind == NO_METER_KIND || a.kind == CHARGING_NOTHING_KIND)
                    .map(|a| a.id),
            );
            match listed.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(ids),
            }
        }
    }

    /// Raises the alarm of a session the CSMS had to close (a warning an
    /// operator resolves by hand). A store failure is logged.
    pub(super) async fn session_stuck(&self, session: &Session, now: Timestamp) {
        self.raise_and_tell(stuck_alarm(session, now), now).await;
    }

    /// Raises `alarm` and, when it opened (not a repeat), publishes that.
    /// A store failure is logged: what raised it stands.
    async fn raise_and_tell(&self, alarm: Alarm, now: Timestamp) {
        match raise_alarm(&*self.store, &*self.events, &alarm, now).await {
            Ok(true) => {
                tracing::warn!(alarm = %alarm.id, kind = %alarm.kind, "alarm raised");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(alarm = %alarm.id, error = %e, "could not raise an alarm")
            }
        }
    }

    /// Raises or resolves the connector's fault alarm when the stored status
    /// moved into or out of a fault. A store failure is logged: the
    /// charger's message stands.
    pub(super) async fn connector_fault(
        &self,
        conn: &Connection,
        previous: Option<&ConnectorStatus>,
        status: &ConnectorStatus,
        now: Timestamp,
    ) {
        let (evse, connector) = (status.evse_id, status.connector_id);
        let result = match fault_change(previous, status) {
            FaultChange::Nothing => return,
            FaultChange::Raise => {
                let alarm = fault_alarm(conn, status, now);
                self.store
                    .raise_alarm(&alarm)
                    .await
                    .map(|raised| raised.then_some(DomainEvent::AlarmOpened { alarm, at: now }))
            }
            FaultChange::Resolve => self
                .store
                .resolve_alarm(&fault_alarm_id(&conn.station_id, evse, connector), now)
                .await
                .map(|resolved| {
                    resolved.map(|alarm| DomainEvent::AlarmResolved { alarm, at: now })
                }),
        };
        match result {
            Ok(Some(event)) => {
                tracing::warn!(station = %conn.station_id, evse, connector, "connector fault alarm: {}", event.name());
                self.events.publish(event).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(station = %conn.station_id, evse, connector, error = %e, "could not update the connector fault alarm")
            }
        }
    }

    /// Raises the alarm of each of the organisation's stations offline
    /// since `now - grace` or earlier, with the organisation's grace (its
    /// alarm settings) or else `default_grace`; how many were raised.
    pub async fn raise_offline_alarms(
        &self,
        org: &OrgId,
        default_grace: OfflineGrace,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let settings = alarm_settings(&*self.store, org, default_grace).await?;
        self.raise_offline_alarms_with(&settings, now).await
    }

    async fn raise_offline_alarms_with(
        &self,
        settings: &AlarmSettings,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let org = &settings.org_id;
        let grace = settings.offline_grace.as_delta();
        let due = self
            .store
            .offline_due(org, now - grace, OFFLINE_BATCH)
            .await?;
        let mut raised = 0;
        for OfflineStation { station, since } in due {
            // Only the sweep that takes it off acts; a station that came back
            // meanwhile is not on the list at `since` any more.
            if !self.store.settle_offline(&station.id, since).await? {
                continue;
            }
            let Some(alarm) = offline_alarm(&station, since, now) else {
                continue;
            };
            if raise_alarm(&*self.store, &*self.events, &alarm, now).await? {
                raised += 1;
                tracing::warn!(station = %station.id, since = %since, "station offline: alarm raised");
            }
            // A connect between the list read and the raise resolved nothing.
            let back = self
                .store
                .get_station(&station.id)
                .await?
                .is_some_and(|s| s.connection_id.is_some());
            if back {
                resolve_alarm(&*self.store, &*self.events, &alarm.id, now).await?;
            }
        }
        Ok(raised)
    }

    /// Resolves the organisation's flapping and boot-loop alarms whose
    /// station no longer reaches the threshold in the window ending `now`,
    /// and contradiction alarms whose session ended (one query of the
    /// active alarms, and a station or session read per such alarm); how
    /// many were resolved.
    pub async fn settle_churn_alarms(
        &self,
        settings: &AlarmSettings,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let page = PageRequest {
            limit: 200,
            cursor: None,
        };
        let active = self
            .store
            .list_alarms(&settings.org_id, true, &page)
            .await?;
        let mut resolved = 0;
        for alarm in active.items {
            if alarm.kind == CONTRADICTION_KIND {
                // Over when its session ended (or is gone).
                let running =
                    match alarm.details["sessionId"]
                        .as_str()
                        .and_then(|id| SessionId::parse(id).ok())
                    {
                        Some(id) => self.store.get_session(&id).await?.is_some_and(|s| {
                            s.status == csms_domain::session::SessionStatus::Active
                        }),
                        None => false,
                    };
                if !running
                    && resolve_alarm(&*self.store, &*self.events, &alarm.id, now)
                        .await?
                        .is_some()
                {
                    resolved += 1;
                    tracing::info!(alarm = %alarm.id, "alarm resolved: the session ended");
                }
                continue;
            }
            let still: fn(&Station, &AlarmSettings, Timestamp) -> Option<Alarm> =
                match alarm.kind.as_str() {
                    FLAPPING_KIND => {
                        |s: &Station, a: &AlarmSettings, now| flapping_alarm(s, a.flapping, now)
                    }
                    BOOT_LOOP_KIND => {
                        |s: &Station, a: &AlarmSettings, now| boot_loop_alarm(s, a.boot_loop, now)
                    }
                    MANY_ADDRESSES_KIND => |s: &Station, a: &AlarmSettings, now| {
                        many_addresses_alarm(s, a.many_addresses, now)
                    },
                    _ => continue,
                };
            let Some(station) = alarm.details["stationId"]
                .as_str()
                .and_then(|id| StationId::parse(id).ok())
            else {
                continue;
            };
            // A station that is gone has nothing left to look at.
            let holds = match self.store.get_station(&station).await? {
                Some(s) => still(&s, settings, now).is_some(),
                None => false,
            };
            if holds {
                continue;
            }
            if let Some(alarm) = resolve_alarm(&*self.store, &*self.events, &alarm.id, now).await? {
                resolved += 1;
                tracing::info!(station = %station, kind = %alarm.kind, "alarm resolved: the station settled");
            }
        }
        Ok(resolved)
    }

    /// [`raise_offline_alarms`](Self::raise_offline_alarms) of every
    /// organisation; one that fails does not stop the others (the first
    /// error is returned after all were tried).
    pub async fn raise_offline_alarms_everywhere(
        &self,
        default_grace: OfflineGrace,
        now: Timestamp,
    ) -> Result<usize, HandlerError>
    where
        S: OrganisationStore,
    {
        let orgs = csms_kernel::tenants::organisation_ids(&*self.store).await?;
        let mut raised = 0;
        let mut failed = None;
        for org in &orgs {
            let swept = async {
                let settings = alarm_settings(&*self.store, org, default_grace).await?;
                let n = self.raise_offline_alarms_with(&settings, now).await?;
                self.settle_churn_alarms(&settings, now).await?;
                let stuck = self.raise_lingering_alarms(&settings, now).await?;
                let contradicting = self.raise_contradiction_alarms(&settings, now).await?;
                Ok::<_, HandlerError>(n + stuck + contradicting)
            };
            match swept.await {
                Ok(n) => raised += n,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "offline sweep of an organisation failed");
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(raised), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use csms_domain::station::Approval;

    fn t(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    fn station() -> Station {
        Station {
            id: StationId::parse("CP-1").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            name: None,
            password_hash: None,
            created_at: t(0),
            boot: None,
            ocpp_version: None,
            connection_id: None,
            last_seen_at: Some(t(50)),
            approval: Approval::Accepted,
            previous_password: None,
            decommissioned_at: None,
            recent_connects: Vec::new(),
            recent_addresses: Vec::new(),
        }
    }

    /// Messages at `offsets` (milliseconds after the connect) through the
    /// rule as the touch and `check_flood` feed it; per message its verdict,
    /// and how many times the check changed (a write each).
    fn flood_run(limit: Limit, offsets: &[i64]) -> (Vec<FloodVerdict>, usize) {
        let connected = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
        let at = |ms: i64| connected + chrono::TimeDelta::milliseconds(ms);
        let mut check = FloodCheck {
            window_from: connected,
            window_base: 0,
            marks: Vec::new(),
            flooding: None,
            limit_count: Some(limit.count()),
            limit_window_secs: Some(limit.window_secs()),
        };
        let (mut last, mut previous) = (connected, None::<Timestamp>);
        let mut verdicts = Vec::new();
        let mut writes = 0;
        for (i, &ms) in offsets.iter().enumerate() {
            let m = FloodMessage {
                number: i as u64 + 1,
                at: at(ms),
                // The touch: the connect's time before the first message.
                second_previous: Some(previous.unwrap_or(last)),
                previous: Some(last),
            };
            (previous, last) = (Some(last), m.at);
            let (verdict, next) = flood_step(&check, m, Some(limit));
            assert!(next.marks.len() <= FloodCheck::MAX_MARKS);
            if next != check {
                writes += 1;
            }
            check = next;
            verdicts.push(verdict);
        }
        (verdicts, writes)
    }

    fn first_flood(verdicts: &[FloodVerdict]) -> Option<usize> {
        verdicts
            .iter()
            .position(|v| matches!(v, FloodVerdict::Flooding { .. }))
            .map(|i| i + 1)
    }

    #[test]
    fn a_flood_after_a_quiet_hour_is_seen_at_the_message_over_the_limit() {
        let limit = Limit::MESSAGE_FLOOD.limit(120, 60).unwrap();
        // A heartbeat every 5 minutes for an hour, then 121 within 12 s.
        let quiet: Vec<i64> = (1..=12).map(|k| k * 300_000).collect();
        for pause_ms in [300_000, 60_000] {
            let start = quiet.last().unwrap() + pause_ms;
            let burst: Vec<i64> = (0..200).map(|k| start + k * 100).collect();
            let all: Vec<i64> = quiet.iter().chain(&burst).copied().collect();
            let (verdicts, _) = flood_run(limit, &all);
            assert_eq!(
                first_flood(&verdicts),
                Some(12 + 121),
                "pause {pause_ms} ms"
            );
            assert_eq!(
                verdicts[12 + 120],
                FloodVerdict::Flooding {
                    count: 121,
                    millis: 12_000
                }
            );
            assert!(verdicts[..12].iter().all(|v| *v == FloodVerdict::Quiet));
        }
        // And with nothing at all before the burst, an hour after the connect.
        let burst: Vec<i64> = (0..121).map(|k| 3_600_000 + k * 10).collect();
        assert_eq!(first_flood(&flood_run(limit, &burst).0), Some(121));
        // The smallest limit too.
        let small = Limit::MESSAGE_FLOOD.limit(10, 10).unwrap();
        let burst: Vec<i64> = [0, 3_600_000]
            .into_iter()
            .chain((1..=20).map(|k| 3_600_000 + k * 50))
            .collect();
        assert_eq!(first_flood(&flood_run(small, &burst).0), Some(1 + 11));
    }

    #[test]
    fn a_steady_rate_just_under_the_limit_never_floods_and_costs_few_writes() {
        let limit = Limit::MESSAGE_FLOOD.limit(120, 60).unwrap();
        // 120 a minute, evenly (every 500 ms), for two hours: never more
        // than 120 within any 60 s.
        let steady: Vec<i64> = (1..=14_400).map(|k| k * 500).collect();
        let (verdicts, writes) = flood_run(limit, &steady);
        assert_eq!(first_flood(&verdicts), None);
        // A mark per quarter of the limit: one write per 29 messages (the mark
        // counts from the message before it).
        assert!(writes <= steady.len() / 29 + 2, "{writes} writes");
        // The same two hours in bursts of 120 every 60 s (the window
        // never holds 121).
        let bursts: Vec<i64> = (0..120)
            .flat_map(|minute| (0..120).map(move |k| 1 + minute * 60_000 + k * 10))
            .collect();
        assert_eq!(first_flood(&flood_run(limit, &bursts).0), None);
        // A heartbeat every 5 minutes: no write at all but the first quiet one.
        let heartbeats: Vec<i64> = (1..=24).map(|k| k * 300_000).collect();
        let (verdicts, writes) = flood_run(limit, &heartbeats);
        assert_eq!(first_flood(&verdicts), None);
        assert_eq!(writes, 0, "the limit and decision were kept before");
    }

    #[test]
    fn within_a_busy_stream_a_flood_is_seen_at_most_a_quarter_of_the_limit_late() {
        let limit = Limit::MESSAGE_FLOOD.limit(120, 60).unwrap();
        // One a second (60 a minute) for ten minutes, then 100 more within
        // one second: the minute ending then holds 160.
        let mut all: Vec<i64> = (1..=600).map(|k| k * 1000).collect();
        all.extend((1..=100).map(|k| 600_000 + k * 10));
        let (verdicts, _) = flood_run(limit, &all);
        let seen = first_flood(&verdicts).expect("seen");
        // Exactly: the window holds 121 at the 61st message of the burst.
        assert!((600 + 61..=600 + 61 + 30).contains(&seen), "seen at {seen}");
        // Never a flood that was not one: each claimed count lies within
        // less than the window.
        for v in verdicts {
            if let FloodVerdict::Flooding { count, millis } = v {
                assert!(count > 120 && millis < 60_000);
            }
        }
        // A clock that went back decides without panic.
        let (verdicts, _) = flood_run(limit, &[5_000, 1_000, 2_000]);
        assert_eq!(first_flood(&verdicts), None);
    }

    #[test]
    fn a_flood_alarm_names_the_count_the_time_and_the_limit() {
        let conn = Connection {
            connection_id: "c-1".into(),
            station_id: StationId::parse("CP-1").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            ocpp_version: csms_domain::OcppVersion::V16,
            connected_at: t(0),
            last_seen_at: t(30),
            previous_seen_at: None,
            second_previous_seen_at: None,
            approval: Approval::Accepted,
            clock: None,
            messages: 130,
            flood: None,
        };
        let limit = Limit::MESSAGE_FLOOD.default;
        let a = flood_alarm(&conn, 121, 30_450, limit, t(30));
        assert_eq!(
            (a.id.as_str(), a.kind.as_str(), a.severity),
            ("message-flood:CP-1", FLOOD_KIND, Severity::Warning)
        );
        assert_eq!(
            a.message,
            "station CP-1 sent 121 messages within 30.4 s (the limit is 120 within 60 s)"
        );
        assert_eq!(a.details["messages"], 121);
        assert_eq!(a.details["withinMilliseconds"], 30_450);
        assert!(a.action.is_some() && a.title.is_some());
    }

    #[test]
    fn many_addresses_count_only_the_window_ending_now() {
        use csms_domain::station::{recent_addresses, SeenAddress};
        let limit = Limit::MANY_ADDRESSES.limit(2, 3600).unwrap();
        let mut st = station();
        for (address, at) in [("192.0.2.1", 0), ("192.0.2.2", 600), ("192.0.2.1", 1200)] {
            st.recent_addresses = recent_addresses(&st.recent_addresses, Some(address), t(at));
        }
        assert_eq!(st.recent_addresses.len(), 2, "one entry per address");
        assert!(
            many_addresses_alarm(&st, limit, t(1200)).is_none(),
            "2 are allowed"
        );
        st.recent_addresses =
            recent_addresses(&st.recent_addresses, Some("2001:db8:1:2::/64"), t(1800));
        let a = many_addresses_alarm(&st, limit, t(1800)).expect("3 within the hour");
        assert_eq!(a.id, "station-addresses:CP-1");
        assert_eq!(
            (a.kind.as_str(), a.severity),
            (MANY_ADDRESSES_KIND, Severity::Critical)
        );
        assert_eq!(
            a.details["addresses"][0],
            serde_json::json!({"address": "192.0.2.2", "lastConnectAt": rfc3339(t(600))}),
            "oldest first, each with its latest connect"
        );
        assert!(
            a.message.contains("3 different addresses within 1 h"),
            "{}",
            a.message
        );
        // 192.0.2.2 leaves the window: 2 left, the alarm no longer holds.
        assert!(many_addresses_alarm(&st, limit, t(600 + 3600)).is_none());
        assert_eq!(
            st.recent_addresses,
            vec![
                SeenAddress {
                    address: "192.0.2.2".into(),
                    at: t(600)
                },
                SeenAddress {
                    address: "192.0.2.1".into(),
                    at: t(1200)
                },
                SeenAddress {
                    address: "2001:db8:1:2::/64".into(),
                    at: t(1800)
                },
            ]
        );
    }

    #[test]
    fn an_offline_station_raises_a_critical_alarm_with_its_times() {
        let a = offline_alarm(&station(), t(60), t(60 + 11 * 60)).unwrap();
        assert_eq!(a.id, "station-offline:CP-1");
        assert_eq!(a.kind, OFFLINE_KIND);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.details["disconnectedAt"], rfc3339(t(60)));
        assert_eq!(a.details["lastMessageAt"], rfc3339(t(50)));
        assert!(a.message.contains("offline for 11 min"), "{}", a.message);
    }

    fn status(s: &str, code: Option<&str>) -> ConnectorStatus {
        ConnectorStatus {
            evse_id: 1,
            connector_id: 1,
            status: s.into(),
            error_code: code.map(str::to_owned),
            info: None,
            updated_at: t(100),
        }
    }

    #[test]
    fn only_a_change_into_or_out_of_a_fault_touches_the_alarm() {
        use FaultChange::*;
        let faulted = status("Faulted", Some("GroundFailure"));
        let cases = [
            (None, status("Available", None), Nothing),
            (None, faulted.clone(), Raise),
            (
                Some(status("Charging", Some("NoError"))),
                faulted.clone(),
                Raise,
            ),
            (Some(faulted.clone()), faulted.clone(), Nothing),
            (
                Some(faulted.clone()),
                status("Faulted", Some("OverVoltage")),
                Raise,
            ),
            (
                Some(faulted.clone()),
                status("Available", Some("NoError")),
                Resolve,
            ),
            (Some(faulted.clone()), status("Occupied", None), Resolve),
            (Some(faulted.clone()), status("Unavailable", None), Nothing),
            (
                Some(status("Unavailable", None)),
                status("Available", None),
                Resolve,
            ),
            (
                Some(status("Unavailable", None)),
                status("Faulted", None),
                Raise,
            ),
            (
                Some(status("Available", None)),
                status("Charging", None),
                Nothing,
            ),
        ];
        for (previous, now, expected) in cases {
            assert_eq!(
                fault_change(previous.as_ref(), &now),
                expected,
                "{previous:?} -> {now:?}"
            );
        }
    }

    #[test]
    fn a_fault_alarm_carries_the_error_code_and_vendor_info() {
        let conn = Connection {
            connection_id: "c".into(),
            station_id: StationId::parse("CP-F").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            ocpp_version: csms_domain::OcppVersion::V16,
            connected_at: t(0),
            last_seen_at: t(0),
            previous_seen_at: None,
            second_previous_seen_at: None,
            approval: Approval::Accepted,
            clock: None,
            messages: 0,
            flood: None,
        };
        let mut s = status("Faulted", Some("GroundFailure"));
        s.info = Some("RCD tripped (vendor error E42)".into());
        let a = fault_alarm(&conn, &s, t(100));
        assert_eq!(a.id, "connector-faulted:CP-F:1:1");
        assert_eq!(a.details["errorCode"], "GroundFailure");
        assert_eq!(a.details["info"], "RCD tripped (vendor error E42)");
        assert!(
            a.message.contains(
                "EVSE 1 connector 1 Faulted (GroundFailure: RCD tripped (vendor error E42))"
            ),
            "{}",
            a.message
        );
    }

    #[test]
    fn a_register_that_goes_down_by_time_is_found_late_readings_are_not() {
        let wh = |n: i64| Decimal::from(n);
        let last = Some((t(100), wh(5000)));
        assert_eq!(register_backwards(last, &[(t(160), wh(5100))]), None);
        assert_eq!(
            register_backwards(last, &[(t(160), wh(5000))]),
            None,
            "the same is no step back"
        );
        assert_eq!(
            register_backwards(last, &[(t(40), wh(10))]),
            None,
            "a late reading"
        );
        assert_eq!(
            register_backwards(last, &[(t(160), wh(4000))]),
            Some(((t(100), wh(5000)), (t(160), wh(4000))))
        );
        assert_eq!(
            register_backwards(None, &[(t(220), wh(10)), (t(200), wh(30))]),
            Some(((t(200), wh(30)), (t(220), wh(10)))),
            "within one message, by time"
        );
        assert_eq!(register_backwards(None, &[]), None);
    }

    fn running_session() -> Session {
        let mut s = Session::blank(
            &StationId::parse("CP-1").unwrap(),
            OrgId::default_org(),
            None,
            &csms_domain::TransactionId::from(1),
            t(0),
        );
        s.status = csms_domain::session::SessionStatus::Active;
        s.started_at = Some(t(0));
        s
    }

    #[test]
    fn a_running_session_is_late_by_the_thresholds_it_is_given() {
        let mins = chrono::TimeDelta::minutes;
        let mut s = running_session();
        assert_eq!(meter_silent_since(&s, t(29 * 60), mins(30)), None);
        assert_eq!(meter_silent_since(&s, t(30 * 60), mins(30)), Some(t(0)));
        assert_eq!(meter_silent_since(&s, t(30 * 60), mins(45)), None);
        // A register standing at 500 Wh from minute 1 to minute 40.
        s.first_register = Some((t(60), Decimal::from(500)));
        s.last_register = Some((t(40 * 60), Decimal::from(500)));
        assert_eq!(
            meter_silent_since(&s, t(41 * 60), mins(30)),
            None,
            "readings come"
        );
        assert_eq!(
            delivered_nothing(&s, t(41 * 60), mins(30), mins(30)),
            Some((Decimal::from(500), t(60)))
        );
        assert_eq!(
            delivered_nothing(&s, t(41 * 60), mins(45), mins(30)),
            None,
            "39 minutes still"
        );
        assert_eq!(
            delivered_nothing(&s, t(41 * 60), mins(30), mins(1)),
            None,
            "the last reading is older than the silence allows: that is the other alarm"
        );
        s.last_register = Some((t(40 * 60), Decimal::from(501)));
        assert_eq!(delivered_nothing(&s, t(41 * 60), mins(30), mins(30)), None);
    }

    #[test]
    fn only_a_contradicting_status_at_the_running_sessions_connector_finds_it() {
        let mut running = running_session();
        running.evse_id = Some(1);
        running.connector_id = Some(1);
        let mut ended = running_session();
        ended.evse_id = Some(2);
        ended.status = csms_domain::session::SessionStatus::Completed;
        let sessions = [ended.clone(), running.clone()];
        let at = |evse, connector, s: &str| ConnectorStatus {
            evse_id: evse,
            connector_id: connector,
            ..status(s, None)
        };
        assert_eq!(
            contradicted_session(&at(1, 1, "Unavailable"), &sessions),
            Some(&running)
        );
        assert_eq!(
            contradicted_session(&at(1, 1, "Reserved"), &sessions),
            Some(&running)
        );
        assert_eq!(
            contradicted_session(&at(0, 0, "Unavailable"), &sessions),
            Some(&running),
            "the station as a whole"
        );
        for consistent in [
            "Charging",
            "SuspendedEV",
            "Occupied",
            "Faulted",
            "Finishing",
        ] {
            assert_eq!(contradicted_session(&at(1, 1, consistent), &sessions), None);
        }
        assert_eq!(
            contradicted_session(&at(1, 2, "Unavailable"), &sessions),
            None,
            "the EVSE's other connector"
        );
        assert_eq!(
            contradicted_session(&at(2, 2, "Unavailable"), &sessions),
            None,
            "its session ended"
        );
        running.connector_id = None;
        assert!(contradicted_session(&at(1, 2, "Unavailable"), &[running.clone()]).is_some());

        let alarm = contradiction_alarm(
            &running.station_id,
            &at(1, 1, "Unavailable"),
            &running,
            chrono::TimeDelta::seconds(120),
            t(400),
        );
        assert_eq!(alarm.id, "status-contradicts-session:CP-1:1:1");
        assert_eq!(alarm.kind, CONTRADICTION_KIND);
        assert_eq!(alarm.severity, Severity::Warning);
        assert_eq!(alarm.details["sessionId"], running.id.as_str());
        assert_eq!(alarm.details["status"], "Unavailable");
    }

    #[test]
    fn leaving_a_contradicting_status_that_lasted_looks_for_the_alarm() {
        let mut unavailable = status("Unavailable", None);
        let mut next = status("Charging", None);
        next.updated_at = unavailable.updated_at + chrono::TimeDelta::seconds(5);
        assert!(ends_contradiction(Some(&unavailable), &next));
        next.updated_at = unavailable.updated_at + chrono::TimeDelta::seconds(4);
        assert!(
            !ends_contradiction(Some(&unavailable), &next),
            "too short to have raised"
        );
        next.updated_at = unavailable.updated_at + chrono::TimeDelta::seconds(60);
        assert!(!ends_contradiction(Some(&next), &unavailable), "into it");
        assert!(!ends_contradiction(None, &next));
        unavailable.updated_at = next.updated_at - chrono::TimeDelta::minutes(10);
        let again = ConnectorStatus {
            updated_at: next.updated_at,
            ..unavailable.clone()
        };
        assert!(
            !ends_contradiction(Some(&unavailable), &again),
            "the same status"
        );
    }

    #[test]
    fn only_messages_that_cannot_have_waited_offline_count_when_behind() {
        use csms_ocpp::Version::{V16, V201};
        let at = |secs: i64| rfc3339(t(secs));
        let status = serde_json::json!({"connectorId": 1, "status": "Available", "errorCode": "NoError", "timestamp": at(5)});
        assert_eq!(
            clock_stamps(V16, "StatusNotification", &status),
            [Stamp {
                at: t(5),
                may_be_queued: false
            }]
        );
        let start = serde_json::json!({"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": at(5)});
        assert_eq!(
            clock_stamps(V16, "StartTransaction", &start),
            [Stamp {
                at: t(5),
                may_be_queued: true
            }]
        );
        let live = serde_json::json!({"eventType": "Updated", "timestamp": at(7), "offline": false,
            "meterValue": [{"timestamp": at(6), "sampledValue": []}]});
        assert_eq!(
            clock_stamps(V201, "TransactionEvent", &live),
            [
                Stamp {
                    at: t(7),
                    may_be_queued: false
                },
                Stamp {
                    at: t(6),
                    may_be_queued: true
                }
            ]
        );
        let queued =
            serde_json::json!({"eventType": "Updated", "timestamp": at(7), "offline": true});
        assert!(clock_stamps(V201, "TransactionEvent", &queued)[0].may_be_queued);
        assert!(clock_stamps(V16, "Heartbeat", &serde_json::json!({})).is_empty());
    }

    #[test]
    fn a_clock_off_beyond_the_tolerance_drifts_and_back_dated_queued_messages_tell_nothing() {
        let now = t(100_000);
        let minutes = chrono::TimeDelta::minutes;
        let stamp = |offset_secs: i64, may_be_queued| Stamp {
            at: now + chrono::TimeDelta::seconds(offset_secs),
            may_be_queued,
        };
        let five = Some(minutes(5));
        use ClockVerdict::*;
        assert_eq!(clock_verdict(&[], now, five), Silent);
        assert_eq!(
            clock_verdict(&[stamp(-1, false)], now, None),
            Fine,
            "latency"
        );
        assert_eq!(
            clock_verdict(&[stamp(600, true)], now, five),
            Drifting { by: minutes(10) }
        );
        assert_eq!(
            clock_verdict(&[stamp(-600, false)], now, five),
            Drifting { by: minutes(-10) },
            "a status reported now, timed 10 min ago"
        );
        assert_eq!(
            clock_verdict(&[stamp(-30 * 86_400, true)], now, five),
            Silent,
            "a month-old StartTransaction waited offline (or is replayed)"
        );
        assert_eq!(clock_verdict(&[stamp(-600, true)], now, None), Silent);
        assert_eq!(
            clock_verdict(&[stamp(120, false)], now, five),
            Fine,
            "within 5 min"
        );
        assert_eq!(
            clock_verdict(&[stamp(120, false)], now, None),
            NeedsTolerance,
            "2 min off: the organisation's tolerance decides"
        );
        assert_eq!(
            clock_verdict(&[stamp(120, false)], now, Some(minutes(1))),
            Drifting { by: minutes(2) }
        );
        assert_eq!(
            clock_verdict(&[stamp(0, true), stamp(900, false)], now, five),
            Drifting { by: minutes(15) },
            "the worst stamp tells"
        );

        let conn = Connection {
            connection_id: "c".into(),
            station_id: StationId::parse("CP-T").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            ocpp_version: csms_domain::OcppVersion::V16,
            connected_at: t(0),
            last_seen_at: t(0),
            previous_seen_at: None,
            second_previous_seen_at: None,
            approval: Approval::Accepted,
            clock: None,
            messages: 0,
            flood: None,
        };
        let a = clock_alarm(&conn, "StatusNotification", minutes(-10), minutes(5), now);
        assert_eq!(
            (a.id.as_str(), a.kind.as_str()),
            ("clock-drift:CP-T", CLOCK_KIND)
        );
        assert_eq!(a.details["offsetSeconds"], -600);
        assert!(a.message.contains("600 s behind"), "{}", a.message);
        assert!(a.action.unwrap().contains("NTP"));
    }

    #[test]
    fn decommissioned_or_connected_stations_raise_nothing() {
        let mut gone = station();
        gone.decommissioned_at = Some(t(10));
        assert_eq!(offline_alarm(&gone, t(60), t(6000)), None);
        let mut back = station();
        back.connection_id = Some("c2".into());
        assert_eq!(offline_alarm(&back, t(60), t(6000)), None);
    }
}
