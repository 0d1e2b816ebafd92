//! The WebSocket handshake and connection bookkeeping, shared by the
//! `$connect`/`$disconnect` Lambdas and the local runner.
//!
//! Password checks are the expensive part of a handshake (argon2id, tens of
//! milliseconds of CPU by design). [`PasswordGate`] runs them on the blocking
//! pool, a few at a time, and throttles wrong guesses per station and per
//! source address, so a flood of bad handshakes can neither starve the async
//! workers that serve every other charger nor guess at full speed.

use crate::password;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::station::{Connection, Station};
use csms_domain::{OcppVersion, StationId, Timestamp};
use csms_kernel::events::{DomainEvent, EventBus};
use csms_kernel::ports::{
    AlarmSettingsStore, AlarmStore, ConnectionSender, ConnectionStore, SendError, StationStore,
    StoreError,
};
use csms_kernel::throttle::{Attempt, ClientAddr, Throttle, ThrottlePolicy};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What a charger presents when it opens its WebSocket.
#[derive(Debug, Clone, Default)]
pub struct Handshake<'a> {
    /// The identity from the URL (`…/ocpp/{id}`, or `?stationId=` behind CloudFront).
    pub station_id: &'a str,
    /// Every `Sec-WebSocket-Protocol` header value (each may be a comma list).
    pub subprotocols: Vec<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// Where the handshake came from, when known: wrong passwords are
    /// throttled per address too.
    pub source: Option<ClientAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Accept {
        station: Box<Station>,
        version: OcppVersion,
        /// The chosen subprotocol exactly as the client spelled it in its
        /// offer (`OCPP1.6` stays `OCPP1.6`): RFC 6455 clients may abort
        /// when the answer is not one of the values they sent.
        subprotocol: String,
    },
    Reject {
        status: u16,
        reason: String,
        /// For 429: when to try again.
        retry_after: Option<Duration>,
    },
}

impl Decision {
    fn reject(status: u16, reason: impl Into<String>) -> Self {
        Decision::Reject {
            status,
            reason: reason.into(),
            retry_after: None,
        }
    }

    fn throttled(retry_after: Duration) -> Self {
        Decision::Reject {
            status: 429,
            reason: "too many failed login attempts; try again later".into(),
            retry_after: Some(retry_after.max(Duration::from_secs(1))),
        }
    }
}

/// Alarm kind raised for a station whose password is being guessed.
pub const AUTH_ALARM_KIND: &str = "stationAuthFailures";

/// The alarm id for `station`: one per station, so raising it again while it
/// is active changes nothing.
pub fn auth_alarm_id(station: &StationId) -> String {
    format!("auth-failures:{station}")
}

/// Bounds and throttles password checks. Cheap to clone; one per process
/// (per Lambda instance in AWS: the counts live in memory).
#[derive(Clone)]
pub struct PasswordGate {
    stations: Throttle,
    addresses: Throttle,
    checks: Arc<Semaphore>,
    runs: Arc<AtomicU64>,
}

impl Default for PasswordGate {
    fn default() -> Self {
        Self::new(
            ThrottlePolicy::STATIONS,
            ThrottlePolicy::ADDRESSES,
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )
    }
}

impl PasswordGate {
    /// `concurrent` password checks at most run at once (each takes one
    /// blocking thread for its duration).
    pub fn new(stations: ThrottlePolicy, addresses: ThrottlePolicy, concurrent: usize) -> Self {
        PasswordGate {
            stations: Throttle::new(stations),
            addresses: Throttle::new(addresses),
            checks: Arc::new(Semaphore::new(concurrent.max(1))),
            runs: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many password hashes were actually verified since start (the
    /// throttled attempts never get that far).
    pub fn checks_run(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Verify `pass` against `hash` on the blocking pool, under the bound.
    async fn verify(&self, pass: String, hash: String) -> bool {
        let Ok(permit) = self.checks.clone().acquire_owned().await else {
            return false; // never closed
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        // The permit goes with the hash: a caller that gives up (handshake
        // timeout) does not free a place while its hash still runs.
        tokio::task::spawn_blocking(move || {
            let ok = password::verify(&pass, &hash);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false)
    }

    /// Admit a check for the station and the address, or say how long to wait.
    fn admit(
        &self,
        station: &StationId,
        source: Option<ClientAddr>,
    ) -> Result<(Attempt, Option<Attempt>), Duration> {
        let now = Instant::now();
        let address = match source {
            Some(a) => Some(
                self.addresses
                    .begin(&a.throttle_key(), now)
                    .map_err(|l| l.retry_after)?,
            ),
            None => None,
        };
        let station = self
            .stations
            .begin(station.as_str(), now)
            .map_err(|l| l.retry_after)?;
        Ok((station, address))
    }
}

/// Decide whether to accept a connection.
///
/// - unknown or malformed identity → 404 (OCPP 2.0.1 A00.FR.5xx lets the CSMS
///   answer 404 for an identity it does not know);
/// - a decommissioned station → 403;
/// - a station with a password needs `Authorization: Basic` with its own id as
///   user name and the right password (or, for a while after a rotation,
///   the previous one) → else 401; after repeated wrong ones
///   from the station's id or the source address → 429 with a back-off,
///   without checking the password at all;
/// - no subprotocol both sides speak → 400 (the charger must not fall back to
///   guessing a version).
pub async fn decide<S: StationStore + ConnectionStore + AlarmStore + ?Sized>(
    store: &S,
    events: &dyn EventBus,
    gate: &PasswordGate,
    hs: &Handshake<'_>,
) -> Result<Decision, StoreError> {
    let Ok(id) = StationId::parse(hs.station_id) else {
        return Ok(Decision::reject(404, "unknown station"));
    };
    let Some(station) = store.get_station(&id).await? else {
        return Ok(Decision::reject(404, "unknown station"));
    };
    if station.is_decommissioned() {
        // Taken out of service by the operator: known, but not served.
        return Ok(Decision::reject(403, "station is decommissioned"));
    }
    // The current password, and the previous one in its grace period
    // after a rotation (so a charger can be re-configured without a gap).
    let hashes: Vec<String> = station
        .password_hashes(now())
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !hashes.is_empty() {
        let Some((user, pass)) = hs.authorization.and_then(password::parse_basic) else {
            // No credentials at all is how some chargers start; not a guess.
            return Ok(Decision::reject(401, "missing or wrong credentials"));
        };
        let (station_attempt, address_attempt) = match gate.admit(&id, hs.source) {
            Ok(a) => a,
            // Logged by the caller; the lockout itself was logged as a warning.
            Err(wait) => return Ok(Decision::throttled(wait)),
        };
        let mut ok = false;
        if user == id.as_str() {
            for hash in hashes {
                if gate.verify(pass.clone(), hash).await {
                    ok = true;
                    break;
                }
            }
        }
        if ok {
            if let Some(a) = address_attempt {
                a.finished();
            }
            if station_attempt.succeeded() > 0 {
                // It was under attack or misconfigured; it is fine now.
                let resolved =
                    csms_kernel::events::resolve_alarm(store, events, &auth_alarm_id(&id), now())
                        .await;
                if let Err(e) = resolved {
                    tracing::warn!(station = %id, error = %e, "could not resolve the login alarm");
                }
            }
        } else {
            let at = Instant::now();
            let by_station = station_attempt.failed(at);
            let by_address = address_attempt.map(|a| a.failed(at));
            if by_station.repeated() || by_address.is_some_and(|f| f.repeated()) {
                tracing::warn!(
                    station = %id,
                    source = ?hs.source,
                    station_failures = by_station.failures,
                    address_failures = by_address.map_or(0, |f| f.failures),
                    "repeated wrong passwords: locked out for a while"
                );
            }
            if by_station.repeated() {
                raise_auth_alarm(store, events, &station, by_station.failures, hs.source).await;
            }
            return Ok(Decision::reject(401, "missing or wrong credentials"));
        }
    }
    match negotiate(&hs.subprotocols) {
        Some((version, subprotocol)) => Ok(Decision::Accept {
            station: Box::new(station),
            version,
            subprotocol,
        }),
        None => Ok(Decision::reject(
            400,
            "no supported OCPP subprotocol offered (ocpp2.0.1, ocpp1.6)",
        )),
    }
}

fn now() -> Timestamp {
    chrono::Utc::now()
}

/// The version to speak and the offered token that names it, as spelled.
fn negotiate(offered: &[&str]) -> Option<(OcppVersion, String)> {
    let version = OcppVersion::negotiate(offered.iter().copied())?;
    let spelled = offered
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|o| o.eq_ignore_ascii_case(version.subprotocol()))
        .unwrap_or(version.subprotocol());
    Some((version, spelled.to_owned()))
}

/// One alarm per station while its password is being guessed (raising an
/// active alarm again changes nothing); resolved by its next good login.
async fn raise_auth_alarm<S: StationStore + ConnectionStore + AlarmStore + ?Sized>(
    store: &S,
    events: &dyn EventBus,
    station: &Station,
    failures: u32,
    source: Option<ClientAddr>,
) {
    let at = now();
    let alarm = Alarm {
        id: auth_alarm_id(&station.id),
        org_id: station.org_id.clone(),
        kind: AUTH_ALARM_KIND.to_owned(),
        severity: Severity::Warning,
        title: Some(format!("Wrong passwords for station {}", station.id)),
        message: format!(
            "station {} had {failures} wrong passwords in a row; further attempts are throttled",
            station.id
        ),
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "failures": failures,
            "lastSource": source.map(|s| s.0.to_string()),
        }),
        raised_at: at,
        action: Some("Check the password configured in the station; if it is right, find who else tries to connect as it (the source address is in the evidence)".to_owned()),
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    };
    if let Err(e) = csms_kernel::events::raise_alarm(store, events, &alarm, at).await {
        tracing::warn!(station = %station.id, error = %e, "could not raise the login alarm");
    }
}

/// What a connect that was accepted is: the connection's id, the version
/// negotiated, and where it came from when known.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub connection_id: &'a str,
    pub version: OcppVersion,
    pub source: Option<ClientAddr>,
}

/// Record an accepted connection. If the station still had another one open
/// (it reconnected before the old socket died), that one is closed so that
/// replies and calls cannot go to a dead or duplicate socket.
pub async fn opened<
    S: StationStore + ConnectionStore + AlarmStore + AlarmSettingsStore + ?Sized,
>(
    store: &S,
    events: &dyn EventBus,
    sender: Option<&dyn ConnectionSender>,
    station: &Station,
    opening: Opening<'_>,
    now: Timestamp,
) -> Result<Connection, StoreError> {
    let Opening {
        connection_id,
        version,
        source,
    } = opening;
    let conn = Connection {
        connection_id: connection_id.to_owned(),
        station_id: station.id.clone(),
        org_id: station.org_id.clone(),
        site_id: station.site_id.clone(),
        ocpp_version: version,
        connected_at: now,
        last_seen_at: now,
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval: station.approval,
        clock: None,
        messages: 0,
        flood: None,
    };
    // Its connects of the last hour, this one included: the evidence of
    // flapping, written with the connect.
    let recent_connects = csms_domain::station::recent(&station.recent_connects, now);
    // And where it connected from this week: the evidence of a password
    // used elsewhere, in the same write.
    let address = source.map(|s| s.throttle_key());
    let recent_addresses =
        csms_domain::station::recent_addresses(&station.recent_addresses, address.as_deref(), now);
    let previous = store
        .open_connection(&conn, &recent_connects, &recent_addresses)
        .await?;
    if let (Some(prev), Some(sender)) = (previous, sender) {
        if prev != connection_id {
            match sender.close(&prev).await {
                Ok(()) | Err(SendError::Gone) => {}
                Err(e) => {
                    tracing::warn!(station = %station.id, error = %e, "could not close the previous connection")
                }
            }
            // Its $disconnect may never come (or came already): remove it here.
            store.close_connection(&prev, now).await?;
        }
    }
    // Back: its offline alarm, if the sweep raised one, is over (one read
    // per connect when there is none).
    let offline = crate::charger::monitor::offline_alarm_id(&station.id);
    match csms_kernel::events::resolve_alarm(store, events, &offline, now).await {
        Ok(Some(_)) => {
            tracing::info!(station = %station.id, "station back: offline alarm resolved");
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(station = %station.id, error = %e, "could not resolve the offline alarm")
        }
    }
    let station = Station {
        recent_connects,
        recent_addresses,
        ..station.clone()
    };
    crate::charger::monitor::check_addresses(store, events, &station, now).await;
    crate::charger::monitor::check_churn(
        store,
        events,
        &station,
        &station.recent_connects,
        crate::charger::monitor::flapping_alarm,
        |s| s.flapping,
        now,
    )
    .await;
    events
        .publish(DomainEvent::StationConnected {
            connection: conn.clone(),
        })
        .await;
    Ok(conn)
}

/// Forget a closed connection. `station.disconnected` is published only if
/// it was still the station's connection: after a quick reconnect the
/// station is connected, whatever its old socket says.
pub async fn closed<S: StationStore + ConnectionStore + AlarmStore + ?Sized>(
    store: &S,
    events: &dyn EventBus,
    connection_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(conn) = store.close_connection(connection_id, now).await? else {
        return Ok(());
    };
    let still_gone = store
        .get_station(&conn.station_id)
        .await?
        .is_some_and(|s| s.connection_id.is_none());
    if still_gone {
        events
            .publish(DomainEvent::StationDisconnected {
                connection: conn,
                at: now,
            })
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subprotocol_is_answered_as_the_client_spelled_it() {
        assert_eq!(
            negotiate(&["OCPP1.6"]),
            Some((OcppVersion::V16, "OCPP1.6".to_owned()))
        );
        assert_eq!(
            negotiate(&["ocpp1.6, OCPP2.0.1 "]),
            Some((OcppVersion::V201, "OCPP2.0.1".to_owned()))
        );
        assert_eq!(negotiate(&["ocpp1.5"]), None);
    }
}
