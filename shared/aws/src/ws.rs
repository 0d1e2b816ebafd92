//! The WebSocket Lambdas' logic: `$connect`, `$disconnect` and `$default`
//! events from API Gateway in, proxy responses out. The binaries in
//! `functions/ws-*` only wire this to the Lambda runtime, so tests feed
//! recorded event JSON straight into these functions.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use csms_charging::charger::ChargerService;
use csms_charging::connect::{self, Decision, Handshake, PasswordGate};
use csms_kernel::ports::{Clock, ConnectionSender, Store};
use csms_kernel::throttle::ClientAddr;
use http::{HeaderMap, HeaderValue};
use std::sync::Arc;

/// The Lambda of one WebSocket route: started as every Lambda is
/// ([`crate::config::start`]), then every event through `handle` with the
/// route's handlers.
pub async fn serve_route<F, Fut>(
    route: crate::config::WsRoute,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Arc<WsHandlers>, ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: std::future::Future<Output = ApiGatewayProxyResponse>,
{
    let Some(handlers) = crate::config::start(|ctx| ctx.ws_handlers(route)).await? else {
        return Ok(());
    };
    let handlers = Arc::new(handlers);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let reply = handle(handlers.clone(), event.payload);
            async move { Ok::<_, lambda_runtime::Error>(reply.await) }
        },
    ))
    .await
}

pub struct WsHandlers {
    charger: ChargerService<dyn Store>,
    clock: Arc<dyn Clock>,
    sender: Option<Arc<dyn ConnectionSender>>,
    /// Password checks: bounded and throttled per station and source
    /// address, in this Lambda instance's memory (a new instance starts from
    /// zero; API Gateway's own throttling bounds the rest).
    gate: PasswordGate,
}

fn response(status: i64, body: Option<String>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = body.map(Body::Text);
    r
}

/// Every value of a header, from both the single- and multi-value maps
/// (API Gateway fills either, depending on the integration).
fn header_values<'a>(ev: &'a ApiGatewayWebsocketProxyRequest, name: &str) -> Vec<&'a str> {
    let multi: Vec<&str> = ev
        .multi_value_headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !multi.is_empty() {
        return multi;
    }
    ev.headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

impl WsHandlers {
    pub fn new(
        charger: ChargerService<dyn Store>,
        clock: Arc<dyn Clock>,
        sender: Option<Arc<dyn ConnectionSender>>,
    ) -> Self {
        WsHandlers {
            charger,
            clock,
            sender,
            gate: PasswordGate::default(),
        }
    }

    /// `$connect`: identity from `?stationId=` (CloudFront rewrites
    /// `/ocpp/{id}` to it), Basic auth, subprotocol choice. A non-2xx status
    /// makes API Gateway refuse the WebSocket.
    pub async fn connect(&self, ev: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let Some(connection_id) = ev.request_context.connection_id.clone() else {
            return response(400, Some("no connection id".into()));
        };
        let station_id = ev
            .query_string_parameters
            .first("stationId")
            .unwrap_or_default()
            .to_owned();
        let subprotocols = header_values(&ev, "sec-websocket-protocol");
        let authorization = header_values(&ev, "authorization").into_iter().next();
        let source = ev
            .request_context
            .identity
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .map(ClientAddr);
        let hs = Handshake {
            station_id: &station_id,
            subprotocols,
            authorization,
            source,
        };
        let store = self.charger.store();
        let decision =
            match connect::decide(&**store, &**self.charger.events(), &self.gate, &hs).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "store failure during $connect");
                    return response(500, None);
                }
            };
        match decision {
            Decision::Reject { status, reason, .. } => {
                crate::emf::emit("Connections", &[("Result", "refused")]);
                tracing::info!(station = %station_id, status, "connection refused: {reason}");
                response(status as i64, Some(reason))
            }
            Decision::Accept {
                station,
                version,
                subprotocol,
            } => {
                let now = self.clock.now();
                if let Err(e) = connect::opened(
                    &**store,
                    &**self.charger.events(),
                    self.sender.as_deref(),
                    &station,
                    connect::Opening {
                        connection_id: &connection_id,
                        version,
                        source: hs.source,
                    },
                    now,
                )
                .await
                {
                    tracing::error!(error = %e, "could not record the connection");
                    return response(500, None);
                }
                crate::emf::emit("Connections", &[("Result", "accepted")]);
                tracing::info!(station = %station.id, %version, connection_id, "station connected");
                let mut headers = HeaderMap::new();
                // As the client spelled it; it came from a header, so it is a
                // valid header value.
                headers.insert(
                    "sec-websocket-protocol",
                    HeaderValue::from_str(&subprotocol)
                        .unwrap_or(HeaderValue::from_static(version.subprotocol())),
                );
                let mut r = response(200, None);
                r.headers = headers;
                r
            }
        }
    }

    /// `$disconnect`: best effort by API Gateway's own account, so the
    /// connection record also expires by TTL.
    pub async fn disconnect(&self, ev: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        if let Some(cid) = &ev.request_context.connection_id {
            if let Err(e) = connect::closed(
                &**self.charger.store(),
                &**self.charger.events(),
                cid,
                self.clock.now(),
            )
            .await
            {
                tracing::error!(error = %e, connection_id = %cid, "could not record the disconnect");
                return response(500, None);
            }
            crate::emf::emit("Disconnections", &[]);
            tracing::info!(connection_id = %cid, "station disconnected");
        }
        response(200, None)
    }

    /// `$default`: one OCPP frame in, the reply frame out as the response
    /// body (the route has a route response, so API Gateway sends it back).
    pub async fn message(&self, ev: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let Some(cid) = ev.request_context.connection_id.as_deref() else {
            return response(400, None);
        };
        let raw = ev.body.unwrap_or_default();
        let text = if ev.is_base64_encoded {
            match base64::engine::general_purpose::STANDARD.decode(raw.as_bytes()) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => raw,
            }
        } else {
            raw
        };
        let reply = self.charger.on_message(cid, &text).await;
        let action = crate::emf::frame_action(&text);
        crate::emf::emit(
            "Messages",
            &[
                ("Action", &action),
                ("Outcome", crate::emf::outcome(reply.as_deref())),
            ],
        );
        response(200, reply)
    }
}
