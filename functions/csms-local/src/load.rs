//! Load balancing in process: the part the SQS FIFO queue and the
//! `load-balancer` function play in AWS. Signals go on a channel; the
//! worker waits `debounce` after the first of a burst, takes everything
//! that arrived meanwhile and recomputes each site once. Every `period`
//! all sites are recomputed anyway (stale meters, rotation turns, retries).

use async_trait::async_trait;
use csms_core::load::{LoadService, LoadSignal, LoadTrigger};
use csms_core::ports::Store;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct LocalLoad {
    tx: mpsc::UnboundedSender<LoadSignal>,
}

pub type LoadRx = mpsc::UnboundedReceiver<LoadSignal>;

impl LocalLoad {
    pub fn new() -> (Self, LoadRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalLoad { tx }, rx)
    }

    pub fn run(
        mut rx: LoadRx,
        service: LoadService<dyn Store>,
        debounce: Duration,
        period: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    first = rx.recv() => {
                        let Some(first) = first else { return };
                        tokio::time::sleep(debounce).await;
                        let mut batch = vec![first];
                        while let Ok(s) = rx.try_recv() {
                            batch.push(s);
                        }
                        if let Err(e) = service.absorb(batch).await {
                            tracing::error!(error = %e, "load recomputation failed");
                        }
                    }
                    _ = tick.tick() => {
                        if let Err(e) = service.sweep().await {
                            tracing::error!(error = %e, "periodic load recomputation failed");
                        }
                    }
                }
            }
        })
    }
}

#[async_trait]
impl LoadTrigger for LocalLoad {
    async fn signal(&self, signal: LoadSignal) -> Result<(), String> {
        self.tx.send(signal).map_err(|_| "shutting down".to_owned())
    }
}
