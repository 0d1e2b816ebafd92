//! Outbound HTTP: the [`WebhookTransport`] that POSTs deliveries, and the
//! [`HttpGet`] the spot-price sources read through.
//!
//! hyper with rustls (ring, Mozilla's root certificates), HTTP/1.1, one
//! pooled client per process. The whole exchange — connect, TLS, request,
//! status line — is bounded by a timeout; redirects are not followed (a
//! receiver that moved must be updated, not silently chased). The first
//! kilobyte of the answer is kept for the delivery log. A GET reads the whole
//! body within the same timeout, up to [`MAX_GET_BODY`].
//!
//! # Layout
//! One module: [`HyperTransport`].

use async_trait::async_trait;
use bytes::Bytes;
use csms_core::spot::HttpGet;
use csms_core::webhooks::deliver::TransportReply;
use csms_core::webhooks::WebhookTransport;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// How much of a receiver's answer is kept.
const KEEP_BODY: usize = 1024;

/// The largest GET answer read: a day of quarter-hour prices is ~15 KiB of
/// JSON or XML; anything far bigger is not what was asked for.
pub const MAX_GET_BODY: usize = 2 * 1024 * 1024;

pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HyperTransport {
    pub fn new(timeout: Duration) -> Self {
        let provider = rustls::crypto::ring::default_provider();
        let tls = rustls::ClientConfig::builder_with_provider(provider.into())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots(),
            })
            .with_no_client_auth();
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        HyperTransport {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(https),
            timeout,
        }
    }

    async fn exchange(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, String> {
        let mut req = http::Request::post(url);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| format!("invalid request: {e}"))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("request failed: {}", describe(&e)))?;
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
            .client
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

fn webpki_roots() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS.to_vec()
}

#[async_trait]
impl WebhookTransport for HyperTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, String> {
        match tokio::time::timeout(self.timeout, self.exchange(url, headers, body)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
        }
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
}
