//! Webhook deliveries in AWS: each due attempt is an SQS message (delayed
//! by the retry schedule, hopping in 15-minute steps when longer), handled
//! by the `webhook-deliveries` function. A message whose handling fails
//! (the store is down, the retry cannot be queued) is retried by SQS and
//! lands in the dead-letter queue after the configured receives; a
//! receiver that answers non-2xx is not such a failure — that attempt is
//! recorded and the next one queued.

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use csms_kernel::ports::Store;
use csms_notify::deliver::DeliveryError;
use csms_notify::{Deliverer, DeliveryQueue};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// SQS's largest `DelaySeconds`.
const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    pub delivery_id: String,
}

pub struct SqsDeliveryQueue(JsonQueue);

impl SqsDeliveryQueue {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsDeliveryQueue(JsonQueue::new(sdk, queue_url))
    }
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, delivery_id: &str, delay: Duration) -> Result<(), String> {
        let msg = DeliveryMessage {
            delivery_id: delivery_id.to_owned(),
        };
        // A longer wait arrives early; the deliverer sees it is not due and
        // queues the rest.
        let options = SendOptions {
            delay_seconds: Some(delay.min(MAX_DELAY).as_secs() as i32),
            ..Default::default()
        };
        self.0.send(&msg, options).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryMessageError {
    #[error("not a delivery message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// One queue message: attempt the delivery if it is due.
pub async fn handle_delivery_message(
    deliverer: &Deliverer<dyn Store>,
    body: &str,
) -> Result<(), DeliveryMessageError> {
    let msg: DeliveryMessage =
        serde_json::from_str(body).map_err(|e| DeliveryMessageError::Malformed(e.to_string()))?;
    deliverer.attempt(&msg.delivery_id).await?;
    Ok(())
}
