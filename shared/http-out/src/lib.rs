//! Outbound HTTP: the [`WebhookTransport`] that POSTs deliveries.
//!
//! hyper with rustls (ring, Mozilla's root certificates), HTTP/1.1, one
//! pooled client per process. The whole exchange — connect, TLS, request,
//! status line — is bounded by a timeout; redirects are not followed (a
//! receiver that moved must be updated, not silently chased). The first
//! kilobyte of the answer is kept for the delivery log.
//!
//! # Layout
//! One module: [`HyperTransport`].

use async_trait::async_trait;
use bytes::Bytes;
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
