//! Paying invoices by Swish (the Swish Commerce API, v2 payment requests).
//!
//! - **Start** ([`BillingService::start_swish`]): a payment request for
//!   what is due, under a fresh instruction id (32 upper-case hex digits),
//!   with the invoice's OCR reference as `payeePaymentReference` and the
//!   CSMS's callback URL. With the payer's number (`payerAlias`) it is an
//!   e-commerce request: the payer's Swish app asks them at once. Without
//!   it, an m-commerce request: Swish answers a token the page opens the
//!   Swish app with on the same phone.
//! - **Outcome** ([`BillingService::swish_callback`]): Swish calls back
//!   with the request's state, but the callback is not signed, so the CSMS
//!   reads the payment request back from Swish (over the merchant's
//!   mutual-TLS connection) and acts only on that: a `PAID` request is
//!   recorded once as the payment `swish:{id}` and matched to the invoice
//!   its reference names, like a Bankgiro payment (`clearing:swish`
//!   debited, the driver's receivable credited). Any other state is logged;
//!   a callback repeated finds the payment recorded.
//!
//! The provider is behind [`SwishGateway`]: HTTPS with the merchant's
//! client certificate in the binaries (`csms-http-out`), a fake of the
//! documented API in the end-to-end tests.

use crate::card::GatewayError;
use crate::payments::{reported, Reported};
use crate::{BillingError, BillingService, BillingStore};
use async_trait::async_trait;
use csms_domain::billing::invoice::Invoice;
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{Payment, PaymentId};
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;

/// The provider, and clearing account, of Swish payments.
pub const SWISH: &str = "swish";

/// A payment request as the CSMS asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwishRequest {
    /// 32 upper-case hex digits: the request's id at Swish.
    pub instruction_id: String,
    /// The invoice's OCR reference.
    pub payee_reference: String,
    pub callback_url: String,
    /// The payer's number for an e-commerce request; `None`: m-commerce.
    pub payer_alias: Option<PayerAlias>,
    /// Two decimals.
    pub amount: Decimal,
    pub currency: String,
    /// Shown to the payer (at most 50 characters).
    pub message: String,
}

/// What Swish answered a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwishCreated {
    pub id: String,
    /// m-commerce: what the page opens the Swish app with.
    pub token: Option<String>,
}

/// A payment request as Swish reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwishPayment {
    pub id: String,
    pub payee_reference: Option<String>,
    /// The bank's reference of a paid request.
    pub payment_reference: Option<String>,
    /// `CREATED`, `PAID`, `DECLINED`, `ERROR`, `CANCELLED`.
    pub status: String,
    pub amount: Decimal,
    pub currency: String,
    pub date_paid: Option<Timestamp>,
    pub error: Option<String>,
}

/// The merchant's Swish agreement as the CSMS uses it.
#[async_trait]
pub trait SwishGateway: Send + Sync {
    /// The merchant's Swish number (`123…`), the requests' payee.
    fn payee_alias(&self) -> &str;
    async fn create(&self, request: &SwishRequest) -> Result<SwishCreated, GatewayError>;
    async fn get(&self, id: &str) -> Result<SwishPayment, GatewayError>;
}

/// A payer's Swish number: a mobile number with its country code and no
/// leading zeros or `+` (`46701234567`), 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayerAlias(String);

impl PayerAlias {
    /// Accepts `+46 70-123 45 67` and `0046701234567` too; a Swedish
    /// number written nationally (`070…`) gets its country code.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = digits.strip_prefix('+').unwrap_or(&digits);
        let digits = match digits {
            d if d.starts_with("00") => d[2..].to_owned(),
            d if d.starts_with('0') => format!("46{}", &d[1..]),
            d => d.to_owned(),
        };
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{raw:?} is not a mobile number with its country code (46701234567)"
            ));
        }
        Ok(PayerAlias(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the driver's page needs to finish a Swish payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwishStart {
    pub id: String,
    pub token: Option<String>,
    /// m-commerce: the link that opens the Swish app on this phone
    /// (`swish://paymentrequest?token=…&callbackurl=…`).
    pub app_url: Option<String>,
    pub amount: Decimal,
}

/// What a callback did.
#[derive(Debug, Clone, PartialEq)]
pub enum SwishOutcome {
    Paid(Payment),
    Unmatched(Payment),
    AlreadyRecorded(Payment),
    /// Not paid (yet): Swish's status and error.
    NotPaid {
        status: String,
        error: Option<String>,
    },
}

#[derive(Deserialize)]
struct CallbackIn {
    id: String,
}

/// A fresh instruction id: 32 upper-case hex digits.
fn instruction_id() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Whether `s` is a Swish id (32 hex digits, as Swish writes them).
pub fn is_swish_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl<S: ?Sized> BillingService<S> {
    /// Whether invoices can be paid by Swish here.
    pub fn swish_enabled(&self) -> bool {
        self.swish.is_some()
    }

    fn swish(&self) -> Result<&dyn SwishGateway, BillingError> {
        self.swish.as_deref().ok_or_else(|| {
            BillingError::Unavailable(
                "Swish payments are not set up: CSMS_SWISH_PAYEE_ALIAS is not set".into(),
            )
        })
    }
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// A Swish payment request for what `invoice` still has due, called
    /// back at `callback_url`.
    pub async fn start_swish(
        &self,
        invoice: &Invoice,
        payer: Option<PayerAlias>,
        callback_url: &str,
    ) -> Result<SwishStart, BillingError> {
        let swish = self.swish()?;
        if invoice.currency != "SEK" {
            return Err(BillingError::Refused(format!(
                "invoice {} is in {}; Swish pays SEK",
                invoice.number, invoice.currency
            )));
        }
        let due = self.due_to_pay(invoice).await?;
        let amount = due.round_dp(2);
        if amount != due {
            return Err(BillingError::Books(format!(
                "{due} has more than two decimals"
            )));
        }
        let request = SwishRequest {
            instruction_id: instruction_id(),
            payee_reference: invoice.ocr.as_str().to_owned(),
            callback_url: callback_url.to_owned(),
            payer_alias: payer,
            amount,
            currency: "SEK".into(),
            message: format!("Faktura {}", invoice.number)
                .chars()
                .take(50)
                .collect(),
        };
        let created = swish.create(&request).await?;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let app_url = created.token.as_deref().map(|token| {
            format!(
                "swish://paymentrequest?token={}&callbackurl={}",
                enc(token),
                enc(callback_url)
            )
        });
        Ok(SwishStart {
            id: created.id,
            token: created.token,
            app_url,
            amount,
        })
    }

    /// One callback from Swish (its raw body). The request is read back
    /// from Swish and only that is acted on.
    pub async fn swish_callback(&self, body: &[u8]) -> Result<SwishOutcome, BillingError> {
        let swish = self.swish()?;
        let told: CallbackIn = serde_json::from_slice(body)
            .map_err(|e| BillingError::Invalid(format!("body: not a Swish callback: {e}")))?;
        if !is_swish_id(&told.id) {
            return Err(BillingError::Invalid(format!(
                "id: {:?} is not a Swish payment request id",
                told.id
            )));
        }
        let request = match swish.get(&told.id).await {
            Err(GatewayError::Refused(_)) => {
                return Err(BillingError::NotFound(format!(
                    "Swish payment request {}",
                    told.id
                )))
            }
            other => other?,
        };
        if request.status != "PAID" {
            tracing::info!(request = %request.id, status = %request.status, error = request.error.as_deref().unwrap_or(""), "Swish payment not paid");
            return Ok(SwishOutcome::NotPaid {
                status: request.status,
                error: request.error,
            });
        }
        let id = PaymentId::parse(&format!("swish:{}", request.id))
            .map_err(|e| BillingError::Invalid(format!("id: {e}")))?;
        let now = self.clock.now();
        let payment = reported(
            id,
            SWISH,
            request.payee_reference.clone().unwrap_or_default(),
            request.amount,
            request.currency.clone(),
            request
                .date_paid
                .unwrap_or(now)
                .with_timezone(&chrono_tz::Europe::Stockholm)
                .date_naive(),
            now,
        );
        let ocr = request
            .payee_reference
            .as_deref()
            .and_then(|r| OcrReference::parse(r).ok());
        let invoice = async {
            Ok(match &ocr {
                Some(ocr) => self.store.find_invoice_by_ocr(ocr).await?,
                None => None,
            })
        };
        Ok(match self.book_reported(payment, invoice).await? {
            Reported::Paid(p) => SwishOutcome::Paid(p),
            Reported::Unmatched(p) => SwishOutcome::Unmatched(p),
            Reported::AlreadyRecorded(p) => SwishOutcome::AlreadyRecorded(p),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_numbers_are_normalised() {
        for raw in [
            "46701234567",
            "+46 70-123 45 67",
            "0046701234567",
            "070-123 45 67",
        ] {
            assert_eq!(
                PayerAlias::parse(raw).unwrap().as_str(),
                "46701234567",
                "{raw}"
            );
        }
        for bad in ["", "12345", "4670123456789012", "46 70 ABC", "+"] {
            assert!(PayerAlias::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instruction_ids_are_what_swish_takes() {
        let id = instruction_id();
        assert!(
            is_swish_id(&id) && id.chars().all(|c| !c.is_ascii_lowercase()),
            "{id}"
        );
        assert_ne!(id, instruction_id());
        assert!(!is_swish_id("AB23D7406ECE4542A80152D909EF9F6") && !is_swish_id("../x"));
    }
}
