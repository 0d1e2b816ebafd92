//! Stripe's API over HTTPS: the [`CardGateway`] of the binaries.
//!
//! A handful of form-encoded calls with the secret key as a bearer token,
//! each bounded by the transport's timeout. The answer is parsed at this
//! edge into the gateway's types; Stripe's error object (`error.message`,
//! `error.code`) becomes [`GatewayError::Refused`] for a 4xx, anything
//! else [`GatewayError::Unavailable`]. The key never reaches a log.
//!
//! Why not async-stripe: the CSMS makes three kinds of request, and the
//! crate's generated client (hundreds of thousands of lines of types, and
//! its own HTTP stack) would multiply the build of every Lambda that links
//! billing; the requests here are the documented shapes, tested against
//! localstripe end to end.

use crate::{client, exchange_whole};
use bytes::Bytes;
use csms_billing::card::{
    code_and_message, CardDetails, CardGateway, CardIntent, CardRefund, CardSetup, GatewayError,
    IntentRequest, RefundRequest,
};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde::Deserialize;
use std::time::Duration;

/// Stripe's API, unless the operator points elsewhere (localstripe).
pub const DEFAULT_API: &str = "https://api.stripe.com";

/// The largest answer read: a PaymentIntent is a few KiB.
const MAX_ANSWER: usize = 256 * 1024;

/// A Stripe account's keys and where its API is.
pub struct StripeHttp {
    api: String,
    secret_key: String,
    publishable_key: String,
    webhook_secret: String,
    js_url: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for StripeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeHttp")
            .field("api", &self.api)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct IntentOut {
    id: String,
    status: String,
    client_secret: Option<String>,
    amount: i64,
    currency: String,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ErrorOut {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    code: Option<String>,
    /// A declined charge's intent (Stripe's `error.payment_intent`).
    payment_intent: Option<IdOnly>,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Deserialize)]
struct SetupOut {
    id: String,
    status: String,
    client_secret: Option<String>,
    customer: Option<String>,
    payment_method: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PaymentMethodOut {
    card: CardOut,
}

#[derive(Debug, Deserialize)]
struct CardOut {
    brand: String,
    last4: String,
    exp_month: u8,
    exp_year: u16,
}

impl StripeHttp {
    /// `api` without a trailing slash (`https://api.stripe.com`); `js_url`
    /// where pages load Stripe.js from.
    pub fn new(
        api: &str,
        secret_key: &str,
        publishable_key: &str,
        webhook_secret: &str,
        js_url: &str,
        timeout: Duration,
    ) -> Self {
        let mut open = HttpConnector::new();
        open.enforce_http(false);
        StripeHttp {
            api: api.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            publishable_key: publishable_key.to_owned(),
            webhook_secret: webhook_secret.to_owned(),
            js_url: js_url.to_owned(),
            client: client(open),
            timeout,
        }
    }

    /// GETs `path` (an id from Stripe goes in it: only its characters).
    async fn get(&self, path: &str) -> Result<(u16, Bytes), GatewayError> {
        self.send(http::Method::GET, path, None, None).await
    }

    /// POSTs `form` to `path`; the answer's status and body.
    async fn post(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Bytes), GatewayError> {
        self.send(http::Method::POST, path, Some(form), idempotency_key)
            .await
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        form: Option<&[(String, String)]>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Bytes), GatewayError> {
        let body = form
            .map(|form| {
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish()
            })
            .unwrap_or_default();
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header("authorization", format!("Bearer {}", self.secret_key))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", concat!("csms/", env!("CARGO_PKG_VERSION")));
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| GatewayError::Unavailable(format!("invalid request: {e}")))?;
        let (status, _, body) = exchange_whole(&self.client, req, MAX_ANSWER, self.timeout)
            .await
            .map_err(GatewayError::Unavailable)?;
        Ok((status, body))
    }
}

/// A 2xx answer parsed as `T`, or the error the answer says.
fn answer<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, GatewayError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body)
            .map_err(|e| GatewayError::Unavailable(format!("an answer that does not parse: {e}")));
    }
    let error = serde_json::from_slice::<ErrorOut>(body)
        .ok()
        .map(|e| e.error);
    if status == 402 {
        let error = error.unwrap_or(ErrorBody {
            message: None,
            code: None,
            payment_intent: None,
        });
        return Err(GatewayError::Declined {
            code: error.code.unwrap_or_else(|| "card_declined".into()),
            message: error.message.unwrap_or_else(|| "declined".into()),
            intent: error.payment_intent.map(|p| p.id),
        });
    }
    let said = error
        .and_then(|e| code_and_message(e.code, e.message))
        .unwrap_or_else(|| format!("status {status}"));
    if (400..500).contains(&status) {
        Err(GatewayError::Refused(said))
    } else {
        Err(GatewayError::Unavailable(said))
    }
}

/// The form fields of a PaymentIntent: cards, which include Apple Pay and
/// Google Pay (Stripe offers them as card wallets on the payment page).
fn intent_form(request: &IntentRequest) -> Vec<(String, String)> {
    let mut form = vec![
        ("amount".to_owned(), request.amount_minor.to_string()),
        ("currency".to_owned(), request.currency.clone()),
        ("payment_method_types[]".to_owned(), "card".to_owned()),
    ];
    if request.capture_manually {
        form.push(("capture_method".to_owned(), "manual".to_owned()));
    }
    for (k, v) in &request.metadata {
        form.push((format!("metadata[{k}]"), v.clone()));
    }
    form
}

#[async_trait::async_trait]
impl CardGateway for StripeHttp {
    fn publishable_key(&self) -> &str {
        &self.publishable_key
    }

    fn webhook_secret(&self) -> &str {
        &self.webhook_secret
    }

    fn js_url(&self) -> &str {
        &self.js_url
    }

    async fn create_intent(&self, request: &IntentRequest) -> Result<CardIntent, GatewayError> {
        let (status, body) = self
            .post(
                "/v1/payment_intents",
                &intent_form(request),
                Some(&request.idempotency_key),
            )
            .await?;
        Ok(answer::<IntentOut>(status, &body)?.into())
    }

    async fn create_customer(
        &self,
        email: &str,
        name: &str,
        user_id: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let form = [
            ("email".to_owned(), email.to_owned()),
            ("name".to_owned(), name.to_owned()),
            ("metadata[user_id]".to_owned(), user_id.to_owned()),
        ];
        let (status, body) = self
            .post("/v1/customers", &form, Some(idempotency_key))
            .await?;
        Ok(answer::<IdOnly>(status, &body)?.id)
    }

    async fn create_setup(&self, customer: &str) -> Result<CardSetup, GatewayError> {
        let form = [
            ("customer".to_owned(), customer.to_owned()),
            ("usage".to_owned(), "off_session".to_owned()),
            ("payment_method_types[]".to_owned(), "card".to_owned()),
        ];
        let (status, body) = self.post("/v1/setup_intents", &form, None).await?;
        Ok(answer::<SetupOut>(status, &body)?.into())
    }

    async fn get_setup(&self, id: &str) -> Result<CardSetup, GatewayError> {
        let (status, body) = self
            .get(&format!("/v1/setup_intents/{}", path_id(id)?))
            .await?;
        Ok(answer::<SetupOut>(status, &body)?.into())
    }

    async fn get_card(&self, payment_method: &str) -> Result<CardDetails, GatewayError> {
        let (status, body) = self
            .get(&format!("/v1/payment_methods/{}", path_id(payment_method)?))
            .await?;
        let card = answer::<PaymentMethodOut>(status, &body)?.card;
        Ok(CardDetails {
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        })
    }

    async fn charge_saved(
        &self,
        request: &IntentRequest,
        customer: &str,
        payment_method: &str,
    ) -> Result<CardIntent, GatewayError> {
        let mut form = intent_form(request);
        form.extend([
            ("customer".to_owned(), customer.to_owned()),
            ("payment_method".to_owned(), payment_method.to_owned()),
            ("off_session".to_owned(), "true".to_owned()),
            ("confirm".to_owned(), "true".to_owned()),
        ]);
        let (status, body) = self
            .post("/v1/payment_intents", &form, Some(&request.idempotency_key))
            .await?;
        Ok(answer::<IntentOut>(status, &body)?.into())
    }

    async fn detach_card(&self, payment_method: &str) -> Result<(), GatewayError> {
        let path = format!("/v1/payment_methods/{}/detach", path_id(payment_method)?);
        let (status, body) = self.post(&path, &[], None).await?;
        answer::<IdOnly>(status, &body).map(|_| ())
    }

    async fn get_intent(&self, id: &str) -> Result<CardIntent, GatewayError> {
        let (status, body) = self
            .get(&format!("/v1/payment_intents/{}", path_id(id)?))
            .await?;
        Ok(answer::<IntentOut>(status, &body)?.into())
    }

    async fn capture_intent(
        &self,
        id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<CardIntent, GatewayError> {
        let path = format!("/v1/payment_intents/{}/capture", path_id(id)?);
        let form = [("amount_to_capture".to_owned(), amount_minor.to_string())];
        let (status, body) = self.post(&path, &form, Some(idempotency_key)).await?;
        Ok(answer::<IntentOut>(status, &body)?.into())
    }

    async fn create_refund(&self, request: &RefundRequest) -> Result<CardRefund, GatewayError> {
        let mut form = vec![
            ("payment_intent".to_owned(), request.payment_intent.clone()),
            ("amount".to_owned(), request.amount_minor.to_string()),
        ];
        for (k, v) in &request.metadata {
            form.push((format!("metadata[{k}]"), v.clone()));
        }
        let (status, body) = self
            .post("/v1/refunds", &form, Some(&request.idempotency_key))
            .await?;
        answer::<CardRefund>(status, &body)
    }

    async fn cancel_intent(&self, id: &str) -> Result<CardIntent, GatewayError> {
        let path = format!("/v1/payment_intents/{}/cancel", path_id(id)?);
        let (status, body) = self.post(&path, &[], None).await?;
        Ok(answer::<IntentOut>(status, &body)?.into())
    }
}

impl From<IntentOut> for CardIntent {
    fn from(out: IntentOut) -> Self {
        CardIntent {
            id: out.id,
            status: out.status,
            client_secret: out.client_secret,
            amount_minor: out.amount,
            currency: out.currency,
            metadata: out.metadata,
        }
    }
}

impl From<SetupOut> for CardSetup {
    fn from(out: SetupOut) -> Self {
        CardSetup {
            id: out.id,
            status: out.status,
            client_secret: out.client_secret,
            customer: out.customer,
            payment_method: out.payment_method,
        }
    }
}

/// A Stripe id as a path segment: letters, digits and `_` only, so no id
/// from outside can walk the API's paths.
fn path_id(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(GatewayError::Refused(format!("{id:?} is not a Stripe id")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_stripe_said() {
        let body = br#"{"error":{"code":"amount_too_small","message":"Amount must be at least 3.00 sek","type":"invalid_request_error"}}"#;
        assert_eq!(
            answer::<IntentOut>(400, body).unwrap_err(),
            GatewayError::Refused("amount_too_small: Amount must be at least 3.00 sek".into())
        );
        assert_eq!(
            answer::<IntentOut>(502, b"<html>").unwrap_err(),
            GatewayError::Unavailable("status 502".into())
        );
        assert!(matches!(
            answer::<IntentOut>(200, b"{}").unwrap_err(),
            GatewayError::Unavailable(_)
        ));
        let declined = br#"{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.","payment_intent":{"id":"pi_1","status":"requires_payment_method"}}}"#;
        assert_eq!(
            answer::<IntentOut>(402, declined).unwrap_err(),
            GatewayError::Declined {
                code: "card_declined".into(),
                message: "Your card was declined.".into(),
                intent: Some("pi_1".into())
            }
        );
        assert!(path_id("seti_1Abc").is_ok());
        assert!(path_id("seti_1/../customers").is_err() && path_id("").is_err());
    }

    #[test]
    fn an_intent_is_a_card_payment_with_its_metadata() {
        let form = intent_form(&IntentRequest {
            amount_minor: 12345,
            currency: "sek".into(),
            metadata: vec![("invoice_id", "brf~2026-11~usr_1".into())],
            idempotency_key: "k".into(),
            capture_manually: false,
        });
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        assert_eq!(
            encoded,
            "amount=12345&currency=sek&payment_method_types%5B%5D=card&metadata%5Binvoice_id%5D=brf%7E2026-11%7Eusr_1"
        );
    }
}
