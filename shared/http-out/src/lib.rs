//! Outbound HTTP: the [`WebhookTransport`] that POSTs deliveries, and the
//! [`HttpGet`] the spot-price sources read through.
//!
//! hyper with rustls (ring, Mozilla's root certificates), HTTP/1.1, pooled
//! clients. The whole exchange — connect, TLS, request, status line — is
//! bounded by a timeout; redirects are not followed (hyper's client never
//! does: a receiver that moved must be updated, not silently chased, and a
//! redirect cannot lead a delivery to an internal address). The first
//! kilobyte of the answer is kept for the delivery log. A GET reads the whole
//! body within the same timeout, up to [`MAX_GET_BODY`].
//!
//! Webhook URLs come from API keys, so a delivery connects only where the
//! [`TargetPolicy`] allows: a public target ([`target::is_private_url`] is
//! false) goes through a connector whose resolver checks EVERY address the
//! name resolves to with [`target::is_public`] and refuses the name if one
//! fails; hyper then connects to exactly those addresses, so a second,
//! different DNS answer (rebinding) is never asked for. A literal address
//! is checked the same way. Only a private target, where the operator
//! allows them, goes through the unchecked connector. GETs go to URLs the
//! operator configured and are not checked.
//!
//! A failed delivery reports one of the coarse texts of
//! [`csms_notify::deliver`] (its detail goes to the log only): the
//! delivery log must not become a port scanner.
//!
//! # Layout
//! - this module: [`HyperTransport`], its checking connector and resolver;
//! - [`stripe`]: Stripe's API, the card payments' gateway;
//! - [`swish`]: the Swish Commerce API over mutual TLS.

pub mod stripe;
pub mod swish;

use async_trait::async_trait;
use bytes::Bytes;
use csms_notify::deliver::{
    TransportReply, FAILED_CONNECT, FAILED_DNS, FAILED_REQUEST, FAILED_TIMEOUT, FAILED_TLS, REFUSED,
};
use csms_notify::target::{self, TargetPolicy};
use csms_notify::WebhookTransport;
use csms_pricing::spot::HttpGet;
use http::Uri;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// How much of a receiver's answer is kept.
const KEEP_BODY: usize = 1024;

/// The largest GET answer read: a day of quarter-hour prices is ~15 KiB of
/// JSON or XML; anything far bigger is not what was asked for.
pub const MAX_GET_BODY: usize = 2 * 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Name to addresses: the system resolver, or a fixed table in tests.
type Lookup = Arc<dyn Fn(String) -> BoxFuture<std::io::Result<Vec<IpAddr>>> + Send + Sync>;

/// A delivery's address failed the policy.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not a public address")]
struct Refused(IpAddr);

/// hyper's resolver for public targets: resolves once, refuses the name if
/// any address is not public.
#[derive(Clone)]
struct PublicResolver(Lookup);

impl tower::Service<Name> for PublicResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.0.clone();
        Box::pin(async move {
            let ips = lookup(name.as_str().to_owned()).await?;
            if let Some(bad) = ips.iter().find(|ip| !target::is_public(**ip)) {
                return Err(Refused(*bad).into());
            }
            // The connector sets the port.
            Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect::<Vec<_>>()
                .into_iter())
        })
    }
}

/// The connector for public targets: literal addresses (which hyper does
/// not resolve) are checked here, names by [`PublicResolver`].
#[derive(Clone)]
struct PublicConnector(HttpConnector<PublicResolver>);

impl tower::Service<Uri> for PublicConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let literal = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = literal.filter(|ip| !target::is_public(*ip)) {
            return Box::pin(async move { Err(Refused(ip).into()) });
        }
        let connecting = self.0.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

fn tls_config() -> rustls::ClientConfig {
    let provider = rustls::crypto::ring::default_provider();
    rustls::ClientConfig::builder_with_provider(provider.into())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots(),
        })
        .with_no_client_auth()
}

fn client<C>(connector: C) -> Client<HttpsConnector<C>, Full<Bytes>>
where
    C: tower::Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read
        + hyper::rt::Write
        + hyper_util::client::legacy::connect::Connection
        + Send
        + Unpin
        + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https)
}

pub struct HyperTransport {
    /// No address check: GETs to operator-configured URLs, and private
    /// webhook targets where the policy allows them.
    open: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Every address checked: public webhook targets.
    public: Client<HttpsConnector<PublicConnector>, Full<Bytes>>,
    policy: TargetPolicy,
    timeout: Duration,
}

impl HyperTransport {
    /// A transport that delivers webhooks to public targets only; its GETs
    /// are not checked.
    pub fn new(timeout: Duration) -> Self {
        Self::for_webhooks(timeout, TargetPolicy::default())
    }

    /// A transport for webhook deliveries under the operator's policy (the
    /// same one the API registered the targets under).
    pub fn for_webhooks(timeout: Duration, policy: TargetPolicy) -> Self {
        Self::with_lookup(timeout, policy, system_lookup())
    }

    fn with_lookup(timeout: Duration, policy: TargetPolicy, lookup: Lookup) -> Self {
        let mut open = HttpConnector::new();
        open.enforce_http(false);
        let mut checked = HttpConnector::new_with_resolver(PublicResolver(lookup));
        checked.enforce_http(false);
        HyperTransport {
            open: client(open),
            public: client(PublicConnector(checked)),
            policy,
            timeout,
        }
    }

    async fn exchange(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, (&'static str, String)> {
        let mut req = http::Request::post(url);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| (FAILED_REQUEST, format!("invalid request: {e}")))?;
        let resp = if self.policy.allow_private && target::is_private_url(url) {
            self.open.request(req).await
        } else {
            self.public.request(req).await
        }
        .map_err(|e| (coarse(&e), describe(&e)))?;
        let status = resp.status().as_u16();
        // Read a little of the answer for the log; the rest is not our business.
        let text = match Limited::new(resp.into_body(), 64 * 1024).collect().await {
            Ok(b) => {
                let b = b.to_bytes();
                let cut = &b[..b.len().min(KEEP_BODY)];
                Some(String::from_utf8_lossy(cut).into_owned()).filter(|s| !s.is_empty())
            }
            Err(_) => None,
        };
        Ok(TransportReply { status, body: text })
    }

    async fn fetch(&self, url: &str) -> Result<(u16, String), String> {
        let req = http::Request::get(url)
            .header("user-agent", concat!("csms/", env!("CARGO_PKG_VERSION")))
            .header("accept", "application/json, application/xml, text/xml")
            .body(Full::new(Bytes::new()))
            // Not the URL itself: it may carry a token.
            .map_err(|e| format!("invalid request: {e}"))?;
        let resp = self
            .open
            .request(req)
            .await
            .map_err(|e| format!("request failed: {}", describe(&e)))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_GET_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {}", describe(&*e)))?
            .to_bytes();
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| "the answer is not UTF-8 text".to_owned())?;
        Ok((status, text))
    }
}

/// Sends `req` through `client` and reads the whole answer (at most `max`
/// bytes), all within `timeout`: the status, headers and body, or what
/// went wrong. For the payment providers' APIs.
pub(crate) async fn exchange_whole(
    client: &Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
    max: usize,
    timeout: Duration,
) -> Result<(u16, http::HeaderMap, Bytes), String> {
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = Limited::new(resp.into_body(), max)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, headers, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs_f32()))?
}

impl Default for HyperTransport {
    fn default() -> Self {
        HyperTransport::new(Duration::from_secs(10))
    }
}

/// The innermost cause, which says what actually went wrong ("connection
/// refused", "certificate expired") where hyper's outer message does not.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        msg = inner.to_string();
        cur = inner.source();
    }
    msg
}

/// The delivery log's text for a failed request: which stage failed, not
/// how (see the crate docs).
fn coarse(e: &hyper_util::client::legacy::Error) -> &'static str {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut dns = false;
    while let Some(err) = cur {
        // hyper-rustls hands TLS failures up inside io::Errors, nested.
        let mut inner = Some(err);
        while let Some(candidate) = inner {
            if candidate.is::<Refused>() {
                return REFUSED;
            }
            if candidate.is::<rustls::Error>() {
                return FAILED_TLS;
            }
            inner = candidate
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|i| i as &(dyn std::error::Error + 'static));
        }
        // hyper-util's ConnectError says "dns error" for a failed lookup.
        dns |= err.to_string() == "dns error";
        cur = err.source();
    }
    if dns {
        FAILED_DNS
    } else if e.is_connect() {
        FAILED_CONNECT
    } else {
        FAILED_REQUEST
    }
}

fn webpki_roots() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS.to_vec()
}

/// Where a failed delivery went, for the operator's log: the host only
/// (the path or query may carry a token).
fn host_of(url: &str) -> String {
    url.parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default()
}

#[async_trait]
impl WebhookTransport for HyperTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, String> {
        let (coarse, detail) =
            match tokio::time::timeout(self.timeout, self.exchange(url, headers, body)).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(failed)) => failed,
                Err(_) => (
                    FAILED_TIMEOUT,
                    format!("no answer within {} s", self.timeout.as_secs_f32()),
                ),
            };
        tracing::info!(host = %host_of(url), detail, "webhook delivery: {coarse}");
        Err(coarse.to_owned())
    }
}

#[async_trait]
impl HttpGet for HyperTransport {
    async fn get(&self, url: &str) -> Result<(u16, String), String> {
        match tokio::time::timeout(self.timeout, self.fetch(url)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server on loopback answering `response` verbatim.
    async fn serve_once(response: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(&response).await;
            let _ = sock.shutdown().await;
        });
        format!("http://{addr}/api/v1/prices/2025/10-01_SE3.json")
    }

    #[tokio::test]
    async fn get_reads_status_and_body() {
        let body = "[{\"SEK_per_kWh\":0.2901}]";
        let url = serve_once(
            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).into_bytes(),
        )
        .await;
        let t = HyperTransport::new(Duration::from_secs(5));
        assert_eq!(t.get(&url).await, Ok((200, body.to_owned())));
        let url = serve_once(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
        )
        .await;
        assert_eq!(t.get(&url).await, Ok((404, String::new())));
    }

    #[tokio::test]
    async fn get_refuses_huge_answers_and_times_out() {
        let big = MAX_GET_BODY + 1;
        let mut resp =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {big}\r\nconnection: close\r\n\r\n")
                .into_bytes();
        resp.extend(std::iter::repeat_n(b'x', big));
        let url = serve_once(resp).await;
        let t = HyperTransport::new(Duration::from_secs(5));
        assert!(t
            .get(&url)
            .await
            .unwrap_err()
            .contains("reading the answer"));

        // Accepts, never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(sock);
        });
        let t = HyperTransport::new(Duration::from_millis(300));
        let err = t.get(&format!("http://{addr}/x")).await.unwrap_err();
        assert!(err.starts_with("no answer within"), "{err}");
        hold.abort();
    }

    /// A listener on loopback that counts connections and answers each
    /// with `response`.
    async fn counting(
        response: &'static [u8],
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(response).await;
                let _ = sock.shutdown().await;
            }
        });
        (addr, count)
    }

    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\nconnection: close\r\n\r\ninternal data";

    fn table(entries: &'static [(&'static str, &'static [&'static str])]) -> Lookup {
        Arc::new(move |host: String| {
            let found = entries
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, ips)| {
                    ips.iter()
                        .map(|ip| ip.parse().unwrap())
                        .collect::<Vec<IpAddr>>()
                });
            Box::pin(async move {
                found.ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such name")
                })
            })
        })
    }

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const LOCAL: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    async fn post(t: &HyperTransport, url: &str) -> Result<TransportReply, String> {
        t.post(url, &[("content-type", "application/json".into())], "{}")
            .await
    }

    #[tokio::test]
    async fn a_public_name_that_resolves_to_loopback_is_refused_before_connecting() {
        let (addr, count) = counting(OK).await;
        let port = addr.port();
        for policy in [STRICT, LOCAL] {
            let t = HyperTransport::with_lookup(
                Duration::from_secs(5),
                policy,
                table(&[
                    ("hooks.example.com", &["127.0.0.1"]),
                    // One bad address spoils the name.
                    ("mixed.example.com", &["93.184.216.34", "127.0.0.1"]),
                    ("v6.example.com", &["::ffff:127.0.0.1"]),
                ]),
            );
            for host in ["hooks.example.com", "mixed.example.com", "v6.example.com"] {
                let got = post(&t, &format!("http://{host}:{port}/hook")).await;
                assert_eq!(got, Err(REFUSED.to_owned()), "{host} under {policy:?}");
            }
        }
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "never connected"
        );
    }

    #[tokio::test]
    async fn localhost_and_literal_private_addresses_are_refused_under_the_strict_policy() {
        let (addr, count) = counting(OK).await;
        let port = addr.port();
        let t = HyperTransport::new(Duration::from_secs(5));
        for url in [
            format!("http://localhost:{port}/"),
            format!("https://localhost:{port}/"),
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://[::ffff:7f00:1]:{port}/"),
            format!("http://0x7f.1:{port}/"),
            format!("http://2130706433:{port}/"),
        ] {
            assert_eq!(post(&t, &url).await, Err(REFUSED.to_owned()), "{url}");
        }
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "never connected"
        );
    }

    #[tokio::test]
    async fn private_targets_are_reached_only_where_the_policy_allows() {
        let (addr, count) = counting(OK).await;
        let t = HyperTransport::for_webhooks(Duration::from_secs(5), LOCAL);
        let reply = post(&t, &format!("http://{addr}/hook")).await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.as_deref(), Some("internal data"));
        let reply = post(&t, &format!("http://localhost:{}/hook", addr.port())).await;
        assert_eq!(reply.map(|r| r.status), Ok(200));
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn redirects_are_answers_and_never_followed() {
        let (inside, count) = counting(OK).await;
        let location: &'static [u8] = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{inside}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .into_bytes()
        .leak();
        let (outside, _) = counting(location).await;
        let t = HyperTransport::for_webhooks(Duration::from_secs(5), LOCAL);
        let reply = post(&t, &format!("http://{outside}/hook")).await.unwrap();
        assert_eq!(reply.status, 302);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the redirect was not followed"
        );
    }

    #[tokio::test]
    async fn failures_are_reported_coarsely() {
        let t = HyperTransport::with_lookup(Duration::from_millis(500), LOCAL, table(&[]));
        // Nothing listens.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(
            post(&t, &format!("http://{closed}/")).await,
            Err(FAILED_CONNECT.to_owned())
        );
        // A public name that does not resolve.
        assert_eq!(
            post(&t, "https://nowhere.example.com/").await,
            Err(FAILED_DNS.to_owned())
        );
        // Not TLS on the other end.
        let (plain, _) = counting(OK).await;
        assert_eq!(
            post(&t, &format!("https://{plain}/")).await,
            Err(FAILED_TLS.to_owned())
        );
        // Accepts, never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(sock);
        });
        assert_eq!(
            post(&t, &format!("http://{silent}/")).await,
            Err(FAILED_TIMEOUT.to_owned())
        );
        hold.abort();
    }
}
