//! The OCPP WebSocket endpoint of the local runner, and the registry of open
//! sockets that plays the part of API Gateway's `@connections` API.

use async_trait::async_trait;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::{Json, Router};
use csms_charging::charger::ChargerService;
use csms_charging::connect::{self, Decision, Handshake, PasswordGate};
use csms_domain::station::Station;
use csms_domain::{OcppVersion, StationId};
use csms_kernel::ports::{Clock, ConnectionSender, SendError, Store};
use csms_kernel::throttle::ClientAddr;
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

use crate::serve::ConnSlot;

/// Outgoing side of every open charger socket, by connection id.
#[derive(Clone, Default)]
pub struct Sockets(Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>>);

impl Sockets {
    fn insert(&self, id: &str, tx: mpsc::UnboundedSender<Message>) {
        self.0
            .lock()
            .expect("socket registry lock")
            .insert(id.to_owned(), tx);
    }

    fn remove(&self, id: &str) {
        self.0.lock().expect("socket registry lock").remove(id);
    }

    fn get(&self, id: &str) -> Option<mpsc::UnboundedSender<Message>> {
        self.0
            .lock()
            .expect("socket registry lock")
            .get(id)
            .cloned()
    }
}

#[async_trait]
impl ConnectionSender for Sockets {
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), SendError> {
        let tx = self.get(connection_id).ok_or(SendError::Gone)?;
        tx.send(Message::Text(frame.into()))
            .map_err(|_| SendError::Gone)
    }

    async fn close(&self, connection_id: &str) -> Result<(), SendError> {
        let tx = self.get(connection_id).ok_or(SendError::Gone)?;
        let frame = CloseFrame {
            code: 1000,
            reason: "replaced by a newer connection".into(),
        };
        tx.send(Message::Close(Some(frame)))
            .map_err(|_| SendError::Gone)
    }
}

/// API Gateway caps a message at 128 KB. Locally we read up to 1 MiB so that
/// an oversized or garbage frame is answered with a CALLERROR instead of
/// tearing the socket down; a frame that declares more is refused from its
/// header (close 1009), before any of it is buffered.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Time limits of charger sockets.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// How often the CSMS pings each charger; `None` never.
    pub ping_every: Option<Duration>,
    /// A charger that sends no frame at all (not even a pong) for this long
    /// is disconnected.
    pub idle_timeout: Duration,
    /// How long the handshake decision (station lookup, password check,
    /// including the wait for a free password checker) may take.
    pub handshake_timeout: Duration,
}

#[derive(Clone)]
pub struct WsState {
    pub charger: ChargerService<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub sockets: Sockets,
    pub shutdown: watch::Receiver<bool>,
    pub tracker: TaskTracker,
    pub gate: PasswordGate,
    pub limits: WsLimits,
    /// Debug builds with `CSMS_TEST_PANICS=1` only: a DataTransfer whose
    /// vendorId is `csms-test-panic` panics inside the message handler, one
    /// with `csms-test-panic-task` in the connection task itself, so the
    /// end-to-end suite can check the clean-up. Always false in release.
    pub test_panics: bool,
}

pub fn routes(state: WsState) -> Router {
    Router::new()
        .route("/ocpp/{station_id}", get(upgrade))
        .with_state(state)
}

fn refuse(status: u16, reason: &str, retry_after: Option<Duration>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "invalid_request",
    };
    let mut resp = (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": reason}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ocpp\""),
        );
    }
    if let Some(wait) = retry_after {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
    }
    resp
}

async fn upgrade(
    State(state): State<WsState>,
    Path(station_id): Path<String>,
    client: Option<Extension<ClientAddr>>,
    slot: Option<Extension<ConnSlot>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return refuse(400, &format!("a WebSocket upgrade is required: {e}"), None),
    };
    let subprotocols: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let hs = Handshake {
        station_id: &station_id,
        subprotocols,
        authorization,
        source: client.map(|Extension(c)| c),
    };
    let decided = tokio::time::timeout(
        state.limits.handshake_timeout,
        connect::decide(
            &**state.charger.store(),
            &**state.charger.events(),
            &state.gate,
            &hs,
        ),
    )
    .await;
    let decision = match decided {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store failure during connect");
            return refuse(503, "temporarily unavailable", Some(Duration::from_secs(5)));
        }
        Err(_) => {
            tracing::warn!(station = %station_id, "handshake timed out (busy checking passwords?)");
            return refuse(503, "handshake timed out", Some(Duration::from_secs(5)));
        }
    };
    match decision {
        Decision::Reject {
            status,
            reason,
            retry_after,
        } => {
            if status == 429 {
                // A flood: one line per refusal would flood the log too; the
                // lockout that causes these was logged as a warning.
                tracing::debug!(station = %station_id, status, "connection refused: {reason}");
            } else {
                tracing::info!(station = %station_id, status, "connection refused: {reason}");
            }
            refuse(status, &reason, retry_after)
        }
        Decision::Accept {
            station,
            version,
            subprotocol,
        } => {
            let tracker = state.tracker.clone();
            // The connection's place under the connection caps is held for as
            // long as the socket lives, not just the HTTP exchange.
            let slot = slot.map(|Extension(s)| s);
            let source = hs.source;
            let mut resp = ws
                .max_message_size(MAX_MESSAGE_BYTES)
                .max_frame_size(MAX_MESSAGE_BYTES)
                .on_upgrade(move |socket| {
                    tracker.track_future(serve(state, socket, *station, version, source, slot))
                });
            // Set the header ourselves, as the client spelled it: we chose
            // the version, possibly from a list whose spelling or spacing
            // axum's own matching would miss.
            let value = HeaderValue::from_str(&subprotocol)
                .unwrap_or(HeaderValue::from_static(version.subprotocol()));
            resp.headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, value);
            resp
        }
    }
}

/// Records the disconnect when dropped un-run: a connection task that
/// panicked still leaves its station shown disconnected and its commands
/// failing cleanly (`offline`) instead of going to a dead socket.
struct Disconnect {
    state: Option<WsState>,
    connection_id: String,
    station: StationId,
}

impl Disconnect {
    async fn record(mut self) {
        if let Some(state) = self.state.take() {
            record_disconnect(state, self.connection_id.clone(), self.station.clone()).await;
        }
    }
}

impl Drop for Disconnect {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        tracing::error!(station = %self.station, connection_id = %self.connection_id, "connection task ended abnormally");
        state.sockets.remove(&self.connection_id);
        if tokio::runtime::Handle::try_current().is_ok() {
            let tracker = state.tracker.clone();
            tracker.spawn(record_disconnect(
                state,
                std::mem::take(&mut self.connection_id),
                self.station.clone(),
            ));
        }
    }
}

async fn record_disconnect(state: WsState, connection_id: String, station: StationId) {
    state.sockets.remove(&connection_id);
    let store = state.charger.store().clone();
    if let Err(e) = connect::closed(
        &*store,
        &**state.charger.events(),
        &connection_id,
        state.clock.now(),
    )
    .await
    {
        tracing::error!(station = %station, error = %e, "could not record the disconnect");
    }
    tracing::info!(station = %station, connection_id, "station disconnected");
}

/// The CALLERROR for a message whose handler panicked: the charger learns
/// its call failed and may retry; the socket stays.
fn internal_error_reply(text: &str) -> Option<String> {
    let frame: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = frame.get(1)?.as_str()?;
    // Only calls (type 2) are answered.
    if frame.get(0)?.as_u64()? != 2 {
        return None;
    }
    Some(
        serde_json::json!([
            4,
            id,
            "InternalError",
            "internal error while handling the message",
            {}
        ])
        .to_string(),
    )
}

/// The close code for a read error, if the charger should get one: 1007 for
/// a text frame that is not UTF-8, 1009 for a frame or message over the limit.
fn close_code_for(e: axum::Error) -> Option<(u16, &'static str)> {
    match e
        .into_inner()
        .downcast::<tungstenite::Error>()
        .ok()?
        .as_ref()
    {
        tungstenite::Error::Utf8(_) => Some((1007, "text frame is not valid UTF-8")),
        tungstenite::Error::Capacity(_) => Some((1009, "message too big")),
        _ => None,
    }
}

async fn serve(
    state: WsState,
    mut socket: WebSocket,
    station: Station,
    version: OcppVersion,
    source: Option<ClientAddr>,
    _slot: Option<ConnSlot>,
) {
    let connection_id = format!("local-{}", ulid::Ulid::new());
    let (tx, mut outgoing) = mpsc::unbounded_channel();
    state.sockets.insert(&connection_id, tx);
    let store = state.charger.store().clone();
    if let Err(e) = connect::opened(
        &*store,
        &**state.charger.events(),
        Some(&state.sockets),
        &station,
        connect::Opening {
            connection_id: &connection_id,
            version,
            source,
        },
        state.clock.now(),
    )
    .await
    {
        tracing::error!(station = %station.id, error = %e, "could not record the connection");
        state.sockets.remove(&connection_id);
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    let disconnect = Disconnect {
        state: Some(state.clone()),
        connection_id: connection_id.clone(),
        station: station.id.clone(),
    };
    tracing::info!(station = %station.id, %version, connection_id, "station connected");
    let mut shutdown = state.shutdown.clone();
    let limits = state.limits;
    let mut last_seen = tokio::time::Instant::now();
    // Pings make a dead peer (half-open TCP) show: its pongs stop and the
    // idle timeout below closes the socket.
    let ping_every = limits.ping_every.unwrap_or(limits.idle_timeout);
    let mut ping = tokio::time::interval_at(last_seen + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                if matches!(incoming, Some(Ok(_))) {
                    last_seen = tokio::time::Instant::now();
                }
                match incoming {
                Some(Ok(Message::Text(text))) => {
                    if state.test_panics && text.as_str().contains("\"csms-test-panic-task\"") {
                        panic!("test panic in the connection task (CSMS_TEST_PANICS)");
                    }
                    // A bug in one handler must not take the socket (or, with
                    // panic=abort, the process) down: answer InternalError.
                    let handled = AssertUnwindSafe(async {
                        if state.test_panics && text.as_str().contains("\"csms-test-panic\"") {
                            panic!("test panic in a message handler (CSMS_TEST_PANICS)");
                        }
                        state.charger.on_message(&connection_id, text.as_str()).await
                    })
                    .catch_unwind()
                    .await;
                    let reply = match handled {
                        Ok(reply) => reply,
                        Err(_) => {
                            tracing::error!(station = %station.id, "message handler panicked; answered InternalError");
                            internal_error_reply(text.as_str())
                        }
                    };
                    if let Some(reply) = reply {
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    // OCPP-J is text only; a binary frame carries nothing we can answer.
                    tracing::info!(station = %station.id, "binary frame ignored");
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // ping/pong: answered by the WebSocket layer
                Some(Err(e)) => {
                    tracing::info!(station = %station.id, error = %e, "socket error");
                    if let Some((code, reason)) = close_code_for(e) {
                        let frame = CloseFrame { code, reason: reason.into() };
                        let _ = socket.send(Message::Close(Some(frame))).await;
                    }
                    break;
                }
            }},
            Some(msg) = outgoing.recv() => {
                let closing = matches!(msg, Message::Close(_));
                if socket.send(msg).await.is_err() || closing {
                    break;
                }
            }
            _ = ping.tick(), if limits.ping_every.is_some() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(last_seen + limits.idle_timeout) => {
                tracing::info!(station = %station.id, idle_secs = limits.idle_timeout.as_secs(), "charger silent for too long; closing");
                let frame = CloseFrame { code: 1001, reason: "idle timeout".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
            _ = shutdown.changed() => {
                let frame = CloseFrame { code: 1001, reason: "CSMS shutting down".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
        }
    }
    disconnect.record().await;
}
