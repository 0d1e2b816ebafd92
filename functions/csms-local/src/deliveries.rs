//! Webhook deliveries in process: a sleeping task per queued attempt, the
//! part the SQS delivery queue plays in AWS. Nothing is lost on a restart:
//! pending deliveries are in the store and are queued again at start.

use async_trait::async_trait;
use csms_kernel::ports::Store;
use csms_notify::{Deliverer, DeliveryQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// At most this many POSTs at once: a slow receiver must not eat every socket.
const PARALLEL: usize = 16;

#[derive(Clone)]
pub struct LocalDeliveries {
    tx: mpsc::UnboundedSender<(String, Duration)>,
}

pub type DeliveryRx = mpsc::UnboundedReceiver<(String, Duration)>;

impl LocalDeliveries {
    pub fn new() -> (Self, DeliveryRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalDeliveries { tx }, rx)
    }

    pub fn run(mut rx: DeliveryRx, deliverer: Deliverer<dyn Store>) -> tokio::task::JoinHandle<()> {
        let deliverer = Arc::new(deliverer);
        let slots = Arc::new(Semaphore::new(PARALLEL));
        tokio::spawn(async move {
            while let Some((id, wait)) = rx.recv().await {
                let (deliverer, slots) = (deliverer.clone(), slots.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let Ok(_slot) = slots.acquire().await else {
                        return;
                    };
                    if let Err(e) = deliverer.attempt(&id).await {
                        // Still pending in the store: the next start retries it.
                        tracing::error!(delivery = %id, error = %e, "webhook delivery attempt failed");
                    }
                });
            }
        })
    }
}

#[async_trait]
impl DeliveryQueue for LocalDeliveries {
    async fn enqueue(&self, delivery_id: &str, delay: Duration) -> Result<(), String> {
        self.tx
            .send((delivery_id.to_owned(), delay))
            .map_err(|_| "shutting down".to_owned())
    }
}
