//! The Swish Commerce API over mutual TLS: the [`SwishGateway`] of the
//! binaries.
//!
//! Swish knows a merchant by the client certificate it issued: every
//! request is made with it (a PEM chain and its key, read once at start).
//! Swish's servers present certificates of Swish's own root in the test
//! environment, so roots beside Mozilla's can be given. Requests are JSON:
//! `PUT /swish-cpcapi/api/v2/paymentrequests/{instructionUUID}` (201, the
//! m-commerce token in the `PaymentRequestToken` header) and
//! `GET /swish-cpcapi/api/v1/paymentrequests/{id}`. Swish's error list
//! (`[{"errorCode":"RP03","errorMessage":"…"}]`) becomes
//! [`GatewayError::Refused`] naming the codes; a 5xx, a timeout or an
//! answer that does not parse is [`GatewayError::Unavailable`].

use crate::exchange_whole;
use bytes::Bytes;
use csms_billing::card::{code_and_message, GatewayError};
use csms_billing::swish::{is_swish_id, SwishCreated, SwishGateway, SwishPayment, SwishRequest};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rust_decimal::Decimal;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::str::FromStr;
use std::time::Duration;

/// Swish's production API.
pub const DEFAULT_API: &str = "https://cpc.getswish.net";

const MAX_ANSWER: usize = 64 * 1024;

/// A merchant's Swish agreement: its number, certificate and where the API is.
pub struct SwishHttp {
    api: String,
    payee_alias: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentOut {
    id: String,
    payee_payment_reference: Option<String>,
    payment_reference: Option<String>,
    status: String,
    amount: serde_json::Number,
    currency: String,
    date_paid: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorOut {
    error_code: Option<String>,
    error_message: Option<String>,
}

impl SwishHttp {
    /// `cert_pem`: the merchant's certificate (and its chain), `key_pem` its
    /// private key, `roots_pem` roots to trust beside Mozilla's (Swish's
    /// test environment). An error names what does not parse.
    pub fn new(
        api: &str,
        payee_alias: &str,
        cert_pem: &[u8],
        key_pem: &[u8],
        roots_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the certificate: {e}"))?;
        if certs.is_empty() {
            return Err("the certificate: no PEM certificate in it".into());
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("the key: {e}"))?;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = roots_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("the roots: {e}"))?;
                roots.add(cert).map_err(|e| format!("the roots: {e}"))?;
            }
        }
        let provider = rustls::crypto::ring::default_provider();
        let tls = rustls::ClientConfig::builder_with_provider(provider.into())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("the certificate and key: {e}"))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(SwishHttp {
            api: api.trim_end_matches('/').to_owned(),
            payee_alias: payee_alias.to_owned(),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(https),
            timeout,
        })
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, http::HeaderMap, Bytes), GatewayError> {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header("content-type", "application/json")
            .header("user-agent", concat!("csms/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| GatewayError::Unavailable(format!("invalid request: {e}")))?;
        exchange_whole(&self.client, req, MAX_ANSWER, self.timeout)
            .await
            .map_err(GatewayError::Unavailable)
    }
}

/// A refusal as Swish says it: its error codes and messages.
fn refusal(status: u16, body: &[u8]) -> GatewayError {
    let said = serde_json::from_slice::<Vec<ErrorOut>>(body)
        .ok()
        .map(|errors| {
            errors
                .into_iter()
                .filter_map(|e| code_and_message(e.error_code, e.error_message))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("status {status}"));
    if (400..500).contains(&status) {
        GatewayError::Refused(said)
    } else {
        GatewayError::Unavailable(said)
    }
}

/// The request's JSON as the API documents it (amount with two decimals).
fn request_body(payee: &str, r: &SwishRequest) -> String {
    let mut body = serde_json::json!({
        "payeePaymentReference": r.payee_reference,
        "callbackUrl": r.callback_url,
        "payeeAlias": payee,
        "amount": format!("{:.2}", r.amount),
        "currency": r.currency,
        "message": r.message,
    });
    if let Some(payer) = &r.payer_alias {
        body["payerAlias"] = payer.as_str().into();
    }
    body.to_string()
}

fn payment(out: PaymentOut) -> Result<SwishPayment, GatewayError> {
    let bad = |what: &str| GatewayError::Unavailable(format!("Swish answered {what}"));
    let mut amount = Decimal::from_str(&out.amount.to_string())
        .map_err(|_| bad("an amount that is not a number"))?;
    // Swish writes a JSON number (`100.00` reads as 100): in öre, exactly.
    if amount.round_dp(2) != amount {
        return Err(bad("an amount with more than two decimals"));
    }
    amount.rescale(2);
    let date_paid = match out.date_paid {
        Some(d) => Some(
            chrono::DateTime::parse_from_rfc3339(&d)
                .map_err(|_| bad("a datePaid that is not a time"))?
                .with_timezone(&chrono::Utc),
        ),
        None => None,
    };
    let error = code_and_message(out.error_code, out.error_message);
    Ok(SwishPayment {
        id: out.id,
        payee_reference: out.payee_payment_reference,
        payment_reference: out.payment_reference,
        status: out.status,
        amount,
        currency: out.currency,
        date_paid,
        error,
    })
}

#[async_trait::async_trait]
impl SwishGateway for SwishHttp {
    fn payee_alias(&self) -> &str {
        &self.payee_alias
    }

    async fn create(&self, request: &SwishRequest) -> Result<SwishCreated, GatewayError> {
        if !is_swish_id(&request.instruction_id) {
            return Err(GatewayError::Refused("not an instruction id".into()));
        }
        let path = format!(
            "/swish-cpcapi/api/v2/paymentrequests/{}",
            request.instruction_id
        );
        let (status, headers, body) = self
            .send(
                http::Method::PUT,
                &path,
                Some(request_body(&self.payee_alias, request)),
            )
            .await?;
        if status != 201 && status != 200 {
            return Err(refusal(status, &body));
        }
        let token = headers
            .get("paymentrequesttoken")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(SwishCreated {
            id: request.instruction_id.clone(),
            token,
        })
    }

    async fn get(&self, id: &str) -> Result<SwishPayment, GatewayError> {
        if !is_swish_id(id) {
            return Err(GatewayError::Refused(format!("{id:?} is not a Swish id")));
        }
        let path = format!("/swish-cpcapi/api/v1/paymentrequests/{id}");
        let (status, _, body) = self.send(http::Method::GET, &path, None).await?;
        if status != 200 {
            return Err(refusal(status, &body));
        }
        let out: PaymentOut = serde_json::from_slice(&body).map_err(|e| {
            GatewayError::Unavailable(format!("an answer that does not parse: {e}"))
        })?;
        payment(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_billing::swish::PayerAlias;

    #[test]
    fn a_request_is_the_documented_json() {
        let r = SwishRequest {
            instruction_id: "11A86BE70EA346E4B1C39C874173F088".into(),
            payee_reference: "3000001705".into(),
            callback_url: "https://csms.example.com/api/v1/providers/swish/callback".into(),
            payer_alias: Some(PayerAlias::parse("46701234567").unwrap()),
            amount: Decimal::new(16625, 2),
            currency: "SEK".into(),
            message: "Faktura 17".into(),
        };
        let body: serde_json::Value =
            serde_json::from_str(&request_body("1231181189", &r)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"payeePaymentReference": "3000001705",
                "callbackUrl": "https://csms.example.com/api/v1/providers/swish/callback",
                "payeeAlias": "1231181189", "payerAlias": "46701234567", "amount": "166.25",
                "currency": "SEK", "message": "Faktura 17"})
        );
    }

    #[test]
    fn answers_and_refusals_parse() {
        let out: PaymentOut = serde_json::from_str(r#"{"id":"AB23D7406ECE4542A80152D909EF9F6B","payeePaymentReference":"0123456789","paymentReference":"6D6CD7406ECE4542A80152D909EF9F6B","callbackUrl":"https://example.com/api/swishcb/paymentrequests","payerAlias":"4671234768","payeeAlias":"1231181189","amount":100.10,"currency":"SEK","message":"Kingston USB Flash Drive 8 GB","status":"PAID","dateCreated":"2019-01-02T14:29:51.092Z","datePaid":"2019-01-02T14:29:55.093Z","errorCode":null,"errorMessage":null}"#).unwrap();
        let p = payment(out).unwrap();
        assert_eq!(p.amount, Decimal::new(10010, 2));
        assert_eq!(p.amount.to_string(), "100.10");
        assert_eq!(p.status, "PAID");
        assert!(p.date_paid.is_some() && p.error.is_none());
        assert_eq!(
            refusal(422, br#"[{"errorCode":"RP03","errorMessage":"Callback URL is missing or does not use HTTPS.","additionalInformation":null}]"#),
            GatewayError::Refused("RP03: Callback URL is missing or does not use HTTPS.".into())
        );
        assert!(matches!(refusal(503, b""), GatewayError::Unavailable(_)));
    }

    #[test]
    fn certificates_that_do_not_parse_are_named() {
        let e = SwishHttp::new(
            "https://x",
            "123",
            b"nothing",
            b"nothing",
            None,
            Duration::from_secs(1),
        )
        .err()
        .unwrap();
        assert!(e.starts_with("the certificate"), "{e}");
    }
}
