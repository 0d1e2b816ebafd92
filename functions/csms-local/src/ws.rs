//! The OCPP WebSocket endpoint of the local runner, and the registry of open
//! sockets that plays the part of API Gateway's `@connections` API.

use async_trait::async_trait;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use csms_core::charger::ChargerService;
use csms_core::connect::{self, Decision, Handshake};
use csms_core::ports::{Clock, ConnectionSender, SendError, Store};
use csms_domain::station::Station;
use csms_domain::OcppVersion;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

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

const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct WsState {
    pub charger: ChargerService<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub sockets: Sockets,
    pub shutdown: watch::Receiver<bool>,
    pub tracker: TaskTracker,
}

pub fn routes(state: WsState) -> Router {
    Router::new()
        .route("/ocpp/{station_id}", get(upgrade))
        .with_state(state)
}

fn refuse(status: u16, reason: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
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
    resp
}

async fn upgrade(
    State(state): State<WsState>,
    Path(station_id): Path<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return refuse(400, &format!("a WebSocket upgrade is required: {e}")),
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
    };
    let decision = match connect::decide(&**state.charger.store(), &hs).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "store failure during connect");
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
        }
    };
    match decision {
        Decision::Reject { status, reason } => {
            tracing::info!(station = %station_id, status, "connection refused: {reason}");
            refuse(status, &reason)
        }
        Decision::Accept { station, version } => {
            let tracker = state.tracker.clone();
            // API Gateway caps a message at 128 KB. Locally we read up to
            // 1 MiB so that an oversized or garbage frame is answered with a
            // CALLERROR instead of tearing the socket down.
            let mut resp = ws
                .max_message_size(MAX_MESSAGE_BYTES)
                .on_upgrade(move |socket| {
                    tracker.track_future(serve(state, socket, *station, version))
                });
            // Set the header ourselves: we chose the version, possibly from a
            // list whose spelling or spacing axum's own matching would miss.
            resp.headers_mut().insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(version.subprotocol()),
            );
            resp
        }
    }
}

async fn serve(state: WsState, mut socket: WebSocket, station: Station, version: OcppVersion) {
    let connection_id = format!("local-{}", ulid::Ulid::new());
    let (tx, mut outgoing) = mpsc::unbounded_channel();
    state.sockets.insert(&connection_id, tx);
    let store = state.charger.store().clone();
    if let Err(e) = connect::opened(
        &*store,
        &**state.charger.events(),
        Some(&state.sockets),
        &station,
        &connection_id,
        version,
        state.clock.now(),
    )
    .await
    {
        tracing::error!(station = %station.id, error = %e, "could not record the connection");
        state.sockets.remove(&connection_id);
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    tracing::info!(station = %station.id, %version, connection_id, "station connected");
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = state.charger.on_message(&connection_id, text.as_str()).await {
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
                    break;
                }
            },
            Some(msg) = outgoing.recv() => {
                let closing = matches!(msg, Message::Close(_));
                if socket.send(msg).await.is_err() || closing {
                    break;
                }
            }
            _ = shutdown.changed() => {
                let frame = CloseFrame { code: 1001, reason: "CSMS shutting down".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
        }
    }
    state.sockets.remove(&connection_id);
    if let Err(e) = connect::closed(
        &*store,
        &**state.charger.events(),
        &connection_id,
        state.clock.now(),
    )
    .await
    {
        tracing::error!(station = %station.id, error = %e, "could not record the disconnect");
    }
    tracing::info!(station = %station.id, connection_id, "station disconnected");
}
