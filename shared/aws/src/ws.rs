//! The WebSocket Lambdas' logic: `$connect`, `$disconnect` and `$default`
//! events from API Gateway in, proxy responses out. The binaries in
//! `functions/ws-*` only wire this to the Lambda runtime, so tests feed
//! recorded event JSON straight into these functions.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use csms_api::shared::constant_time_eq;
use csms_api::Secret;
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
    /// Where a charger's own address is read from in `$connect`.
    viewer: ViewerAddress,
}

/// Where `$connect` finds the charger's address, which the password
/// throttle counts per and `stationManyAddresses` keeps.
#[derive(Debug, Clone, Default)]
pub enum ViewerAddress {
    /// API Gateway's `requestContext.identity.sourceIp`: the charger's own
    /// address when it connects to the API directly. Headers are ignored.
    #[default]
    SourceIp,
    /// Behind CloudFront, `sourceIp` is the edge's address, shared by every
    /// charger that edge serves; the viewer's is in the
    /// `CloudFront-Viewer-Address` header (forwarded by the distribution's
    /// origin request policy). Anyone who reaches the API's own endpoint
    /// could send that header too, so it is believed only on a request that
    /// carries the distribution's origin secret in [`ORIGIN_VERIFY_HEADER`];
    /// a handshake without it (or with a wrong or repeated one) bypassed
    /// CloudFront and is refused. A viewer address that is missing, does not
    /// parse or comes more than once gives no address, never the edge's.
    CloudFront { origin_secret: Secret },
}

/// The header CloudFront adds with the viewer's address and source port.
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// The custom origin header the distribution adds to every request it
/// forwards, with the stack's origin secret (`CSMS_ORIGIN_VERIFY_SECRET`).
pub const ORIGIN_VERIFY_HEADER: &str = "x-csms-origin-verify";

/// Why a handshake is not taken to have come through CloudFront.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BypassedCloudFront {
    #[error("no X-Csms-Origin-Verify header: the handshake came to the API directly, not through CloudFront")]
    Missing,
    #[error("X-Csms-Origin-Verify does not match the origin secret")]
    Wrong,
    #[error("X-Csms-Origin-Verify more than once")]
    Repeated,
}

/// Parses a `CloudFront-Viewer-Address` value strictly: `IPv4:port`,
/// `[IPv6]:port`, or CloudFront's own unbracketed `IPv6:port` (the port is
/// after the last colon, as CloudFront always adds one). The port must be
/// 1 to 65535 in plain digits; nothing else may surround the address. An
/// IPv4 address mapped into IPv6 counts as the IPv4 address.
pub fn parse_viewer_address(value: &str) -> Option<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let value = value.trim_matches([' ', '\t']);
    let (host, port) = value.rsplit_once(':')?;
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    if !port_ok {
        return None;
    }
    let ip = if let Some(inner) = host.strip_prefix('[') {
        IpAddr::V6(inner.strip_suffix(']')?.parse::<Ipv6Addr>().ok()?)
    } else if host.contains(':') {
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

impl ViewerAddress {
    /// The charger's address in a `$connect` event (`None`: not known), or
    /// why the handshake must be refused.
    pub fn of(
        &self,
        ev: &ApiGatewayWebsocketProxyRequest,
    ) -> Result<Option<ClientAddr>, BypassedCloudFront> {
        let origin_secret = match self {
            ViewerAddress::SourceIp => {
                return Ok(ev
                    .request_context
                    .identity
                    .source_ip
                    .as_deref()
                    .and_then(|ip| ip.parse().ok())
                    .map(ClientAddr))
            }
            ViewerAddress::CloudFront { origin_secret } => origin_secret,
        };
        match header_values(ev, ORIGIN_VERIFY_HEADER)[..] {
            [] => return Err(BypassedCloudFront::Missing),
            [sent] if constant_time_eq(sent.as_bytes(), origin_secret.expose().as_bytes()) => {}
            [_] => return Err(BypassedCloudFront::Wrong),
            _ => return Err(BypassedCloudFront::Repeated),
        }
        Ok(match header_values(ev, VIEWER_ADDRESS_HEADER)[..] {
            [] => {
                tracing::warn!(
                    "no CloudFront-Viewer-Address through CloudFront: no address recorded"
                );
                None
            }
            [one] => {
                let parsed = parse_viewer_address(one).map(ClientAddr);
                if parsed.is_none() {
                    tracing::warn!(
                        value = one,
                        "CloudFront-Viewer-Address does not parse: no address recorded"
                    );
                }
                parsed
            }
            _ => {
                tracing::warn!("CloudFront-Viewer-Address more than once: no address recorded");
                None
            }
        })
    }
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
            viewer: ViewerAddress::default(),
        }
    }

    /// Reads the charger's address from `viewer` (the stack behind
    /// CloudFront: its header, on handshakes that prove they came through
    /// it) instead of `sourceIp`.
    pub fn with_viewer_address(mut self, viewer: ViewerAddress) -> Self {
        self.viewer = viewer;
        self
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
        let source = match self.viewer.of(&ev) {
            Ok(source) => source,
            Err(bypassed) => {
                crate::emf::emit("Connections", &[("Result", "refused")]);
                tracing::warn!(
                    station = %station_id,
                    source_ip = ev.request_context.identity.source_ip.as_deref().unwrap_or("-"),
                    "connection refused: {bypassed}"
                );
                return response(403, Some("connect through the CloudFront address".into()));
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_viewer_address_is_an_ip_and_a_port_and_nothing_else() {
        assert_eq!(
            parse_viewer_address("198.51.100.10:46532"),
            ip("198.51.100.10")
        );
        assert_eq!(parse_viewer_address("[2001:db8::7]:443"), ip("2001:db8::7"));
        // CloudFront's own form: unbracketed, the port after the last colon.
        assert_eq!(
            parse_viewer_address("2001:db8:85a3::8a2e:370:7334:51000"),
            ip("2001:db8:85a3::8a2e:370:7334")
        );
        assert_eq!(parse_viewer_address(" 192.0.2.1:1 "), ip("192.0.2.1"));
        // An IPv4 address mapped into IPv6 is that IPv4 address.
        assert_eq!(
            parse_viewer_address("[::ffff:192.0.2.1]:80"),
            ip("192.0.2.1")
        );
        for bad in [
            "",
            "198.51.100.10",
            "198.51.100.10:",
            "198.51.100.10:0",
            "198.51.100.10:65536",
            "198.51.100.10:+80",
            "198.51.100.10:080x",
            "198.51.100.10:000443",
            "198.51.100.300:443",
            "198.51.100.10:443, 203.0.113.1:443",
            "[2001:db8::7]",
            "[2001:db8::7:443",
            "2001:db8::7]:443",
            "[198.51.100.10]:443",
            "2001:db8::zz:443",
            "example.com:443",
            "unknown",
            ":443",
        ] {
            assert_eq!(parse_viewer_address(bad), None, "{bad:?}");
        }
    }

    fn connect(headers: serde_json::Value) -> ApiGatewayWebsocketProxyRequest {
        let multi: serde_json::Map<String, serde_json::Value> = headers
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let single: serde_json::Map<String, serde_json::Value> = multi
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_array()?.first()?.clone())))
            .collect();
        serde_json::from_value(json!({
            "headers": single,
            "multiValueHeaders": multi,
            "requestContext": {
                "routeKey": "$connect",
                "eventType": "CONNECT",
                "identity": { "sourceIp": "130.176.1.10" },
                "connectionId": "c1",
                "apiId": "a1",
                "stage": "prod",
                "connectedAt": 1_795_345_921_000_i64,
                "requestTimeEpoch": 1_795_345_921_042_i64,
                "requestId": "r1",
                "domainName": "a1.execute-api.eu-north-1.amazonaws.com"
            },
            "isBase64Encoded": false
        }))
        .unwrap()
    }

    fn addr(s: &str) -> Option<ClientAddr> {
        Some(ClientAddr(s.parse().unwrap()))
    }

    const ORIGIN_SECRET: &str = "Zr8c1VtqP0aQx3mW7nYb2kLd9sF4hJ6gT5eR";

    fn behind_cloudfront() -> ViewerAddress {
        ViewerAddress::CloudFront {
            origin_secret: Secret::new(ORIGIN_SECRET),
        }
    }

    #[test]
    fn behind_cloudfront_the_viewer_header_is_believed_only_with_the_origin_secret() {
        use BypassedCloudFront::*;
        let edge = behind_cloudfront();
        let direct = ViewerAddress::SourceIp;
        let wrong = &ORIGIN_SECRET[..ORIGIN_SECRET.len() - 1];
        let longer = format!("{ORIGIN_SECRET}x");
        let lower = ORIGIN_SECRET.to_lowercase();
        // (origin verify header values, viewer address header values,
        //  what is made of them behind CloudFront)
        type Case<'a> = (
            Vec<&'a str>,
            Vec<&'a str>,
            Result<Option<ClientAddr>, BypassedCloudFront>,
        );
        let table: Vec<Case> = vec![
            // Through CloudFront: the viewer's address, never the edge's.
            (
                vec![ORIGIN_SECRET],
                vec!["203.0.113.7:50123"],
                Ok(addr("203.0.113.7")),
            ),
            (
                vec![ORIGIN_SECRET],
                vec!["2001:db8::1:443"],
                Ok(addr("2001:db8::1")),
            ),
            (vec![ORIGIN_SECRET], vec![], Ok(None)),
            (vec![ORIGIN_SECRET], vec!["203.0.113.7"], Ok(None)),
            (
                vec![ORIGIN_SECRET],
                vec!["203.0.113.7:1", "198.51.100.1:2"],
                Ok(None),
            ),
            // Straight to the API's endpoint, whatever address it names.
            (vec![], vec!["203.0.113.7:50123"], Err(Missing)),
            (vec![], vec![], Err(Missing)),
            (vec![""], vec!["203.0.113.7:50123"], Err(Wrong)),
            (vec![wrong], vec!["203.0.113.7:50123"], Err(Wrong)),
            (vec![&longer], vec!["203.0.113.7:50123"], Err(Wrong)),
            (vec![&lower], vec![], Err(Wrong)),
            (
                vec![ORIGIN_SECRET, ORIGIN_SECRET],
                vec!["203.0.113.7:1"],
                Err(Repeated),
            ),
            (
                vec![wrong, ORIGIN_SECRET],
                vec!["203.0.113.7:1"],
                Err(Repeated),
            ),
        ];
        for (verify, viewer, expected) in table {
            let ev = connect_with(&verify, &viewer);
            assert_eq!(
                edge.of(&ev),
                expected,
                "verify {verify:?}, viewer {viewer:?}"
            );
            // Not behind CloudFront: headers are ignored, sourceIp counts.
            assert_eq!(
                direct.of(&ev),
                Ok(addr("130.176.1.10")),
                "{verify:?} {viewer:?}"
            );
        }
        // Header names are case-insensitive, as HTTP's.
        let ev = connect(json!({
            "X-Csms-Origin-Verify": [ORIGIN_SECRET],
            "cloudfront-viewer-address": ["[2001:db8::7]:443"]
        }));
        assert_eq!(edge.of(&ev), Ok(addr("2001:db8::7")));
    }

    fn connect_with(verify: &[&str], viewer: &[&str]) -> ApiGatewayWebsocketProxyRequest {
        let mut headers = serde_json::Map::new();
        if !verify.is_empty() {
            headers.insert("X-Csms-Origin-Verify".into(), json!(verify));
        }
        if !viewer.is_empty() {
            headers.insert("CloudFront-Viewer-Address".into(), json!(viewer));
        }
        connect(serde_json::Value::Object(headers))
    }
}
