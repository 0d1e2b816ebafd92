//! Session pricing in AWS: a completed session's id is an SQS message on the
//! pricing queue, handled by the `session-pricing` function. Pricing is
//! idempotent, so SQS's at-least-once delivery is harmless. A message that
//! cannot be priced *yet* (spot prices not stored, the store failing) is
//! reported failed and comes back after the visibility timeout; after the
//! configured receives it lands in the dead-letter queue. One that can never
//! be priced (the session vanished) is logged and dropped.

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use csms_core::ports::Store;
use csms_core::pricing::{PriceSessionError, Priced, PricingQueue, PricingService};
use csms_domain::SessionId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PricingMessage {
    pub session_id: String,
}

pub struct SqsPricingQueue(JsonQueue);

impl SqsPricingQueue {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsPricingQueue(JsonQueue::new(sdk, queue_url))
    }
}

#[async_trait]
impl PricingQueue for SqsPricingQueue {
    async fn enqueue(&self, session: &SessionId) -> Result<(), String> {
        let msg = PricingMessage {
            session_id: session.to_string(),
        };
        self.0.send(&msg, SendOptions::default()).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PricingMessageError {
    #[error("not a pricing message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Pricing(#[from] PriceSessionError),
}

/// One queue message: price the session unless it is priced already.
/// Returns an error only when a later retry can succeed.
pub async fn handle_pricing_message(
    service: &PricingService<dyn Store>,
    body: &str,
) -> Result<(), PricingMessageError> {
    let msg: PricingMessage =
        serde_json::from_str(body).map_err(|e| PricingMessageError::Malformed(e.to_string()))?;
    let id = SessionId::parse(&msg.session_id)
        .map_err(|e| PricingMessageError::Malformed(e.to_string()))?;
    match service.price_session(&id).await {
        Ok(Priced::Done { priced, new }) => {
            tracing::info!(session = %id, revision = priced.revision, gross = %priced.gross, currency = %priced.currency, new, "session priced");
            Ok(())
        }
        Ok(Priced::NoTariff(r)) => {
            tracing::warn!(session = %id, steps = ?r.steps, "no tariff applies: session left unpriced");
            Ok(())
        }
        Err(e) if e.is_retryable() => Err(e.into()),
        Err(e) => {
            tracing::error!(session = %id, error = %e, "session cannot be priced; dropped");
            Ok(())
        }
    }
}
