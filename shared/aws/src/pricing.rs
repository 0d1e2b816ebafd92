//! Session pricing in AWS: a completed session's id is an SQS message on the
//! pricing queue, handled by the `session-pricing` function. Pricing is
//! idempotent, so SQS's at-least-once delivery is harmless. A message that
//! cannot be priced *yet* (spot prices not stored, the store failing) is
//! reported failed and comes back after the visibility timeout; after the
//! configured receives it lands in the dead-letter queue. One that can never
//! be priced (the session vanished) is logged and dropped.
//!
//! One session must not take its batch down: each is priced in a task of its
//! own under a timeout (`CSMS_PRICING_TIMEOUT_SECONDS`). A panic or a timeout fails that
//! message only (a batch item failure), so SQS redrives it and, after the
//! configured receives, the dead-letter queue holds it for the operator; the
//! other messages of the batch are priced. So does an amount out of range.

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use csms_domain::pricing::engine::PricingError;
use csms_domain::SessionId;
use csms_kernel::ports::Store;
use csms_pricing::{PriceSessionError, Priced, PricingQueue, PricingService};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
    #[error("pricing session {session} panicked: {message}")]
    Panicked { session: String, message: String },
    #[error("pricing session {session} took longer than {seconds}s")]
    TimedOut { session: String, seconds: u64 },
}

/// Runs `work` for `session` in a task of its own — a panic ends that task
/// alone, and the timeout fires even while it computes (the runtime has more
/// than one thread) — and turns a panic or a timeout into the message's error.
pub async fn isolated<T: Send + 'static>(
    session: &SessionId,
    timeout: Duration,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, PricingMessageError> {
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => {
            let message = if e.is_panic() {
                let panic = e.into_panic();
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned())
            } else {
                e.to_string()
            };
            tracing::error!(session = %session, message, "pricing panicked: the message fails and is redriven");
            Err(PricingMessageError::Panicked {
                session: session.to_string(),
                message,
            })
        }
        Err(_) => {
            abort.abort();
            tracing::error!(session = %session, seconds = timeout.as_secs(), "pricing timed out: the message fails and is redriven");
            Err(PricingMessageError::TimedOut {
                session: session.to_string(),
                seconds: timeout.as_secs(),
            })
        }
    }
}

/// One queue message: price the session unless it is priced already.
/// Returns an error only when a later retry can succeed.
pub async fn handle_pricing_message(
    service: &PricingService<dyn Store>,
    body: &str,
) -> Result<(), PricingMessageError> {
    handle_pricing_message_within(service, body, csms_app::settings::LAMBDA_PRICING_TIMEOUT).await
}

/// [`handle_pricing_message`] with the time one message may take.
pub async fn handle_pricing_message_within(
    service: &PricingService<dyn Store>,
    body: &str,
    timeout: Duration,
) -> Result<(), PricingMessageError> {
    let msg: PricingMessage =
        serde_json::from_str(body).map_err(|e| PricingMessageError::Malformed(e.to_string()))?;
    let id = SessionId::parse(&msg.session_id)
        .map_err(|e| PricingMessageError::Malformed(e.to_string()))?;
    let priced = {
        let (service, id) = (service.clone(), id.clone());
        async move { service.price_session(&id).await }
    };
    match isolated(&id, timeout, priced).await? {
        Ok(Priced::Done { priced, new }) => {
            tracing::info!(session = %id, revision = priced.revision, gross = %priced.gross, currency = %priced.currency, new, "session priced");
            Ok(())
        }
        Ok(Priced::NoTariff(r)) => {
            tracing::warn!(session = %id, steps = ?r.steps, "no tariff applies: session left unpriced");
            Ok(())
        }
        Err(e) if e.is_retryable() => Err(e.into()),
        // Never priceable as stored: to the dead-letter queue for the
        // operator rather than dropped.
        Err(e @ PriceSessionError::Engine(PricingError::OutOfRange(_))) => {
            tracing::error!(session = %id, error = %e, "session cannot be priced: the message fails and is redriven to the dead-letter queue");
            Err(e.into())
        }
        Err(e) => {
            tracing::error!(session = %id, error = %e, "session cannot be priced; dropped");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

    fn record(id: &str, session: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.body = Some(session.to_owned());
        m
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_that_panics_or_hangs_fails_its_message_only() {
        let mut event = SqsEvent::default();
        event.records = vec![
            record("m1", "boom"),
            record("m2", "fine"),
            record("m3", "hang"),
            record("m4", "fine"),
        ];
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let response = crate::sqs::each_record(event, |body| {
            let done = done.clone();
            async move {
                let id = SessionId::parse(format!("CP1~{body}")).unwrap();
                isolated(&id, Duration::from_millis(200), async move {
                    match body.as_str() {
                        "boom" => panic!("decimal overflow"),
                        "hang" => std::future::pending::<()>().await,
                        _ => {
                            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
                .await
            }
        })
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            ["m1", "m3"],
            "SQS redrives these to the dead-letter queue"
        );
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
