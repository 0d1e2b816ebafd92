//! Load balancing in process: the part the SQS FIFO queue and the
//! `load-balancer` function play in AWS. Signals go on a channel; the
//! worker waits `debounce` after the first of a burst, takes everything
//! that arrived meanwhile and recomputes each site once. Every `period`
//! all sites are recomputed anyway (stale meters, rotation turns, retries).
//! A batch runs beside the ones before it, so a site whose chargers answer
//! slowly delays no other site.
//!
//! On shutdown the worker stops first ([`LocalLoad::stop`]), then the
//! charger connections close: their disconnects still signal, and those
//! signals are dropped on purpose (the next start recomputes every site at
//! once), not warned about.

use async_trait::async_trait;
use csms_kernel::ports::Store;
use csms_load::{LoadService, LoadSignal, LoadTrigger};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct LocalLoad {
    tx: mpsc::UnboundedSender<LoadSignal>,
    stopped: Arc<AtomicBool>,
}

pub type LoadRx = mpsc::UnboundedReceiver<LoadSignal>;

/// Batches of signals (and sweeps) being recomputed at once, at most.
const BATCHES_AT_ONCE: usize = 4;

impl LocalLoad {
    pub fn new() -> (Self, LoadRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            LocalLoad {
                tx,
                stopped: Arc::new(AtomicBool::new(false)),
            },
            rx,
        )
    }

    /// The process is shutting down: signals from now on are dropped
    /// quietly. Call before stopping the worker.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
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
            // Batches run side by side: a site whose chargers answer slowly
            // holds up only its own runs (one at a time per site, by the
            // site's lease), not the next batch's other sites.
            let mut running = tokio::task::JoinSet::new();
            loop {
                while running.len() >= BATCHES_AT_ONCE {
                    running.join_next().await;
                }
                tokio::select! {
                    first = rx.recv() => {
                        let Some(first) = first else { return };
                        tokio::time::sleep(debounce).await;
                        let mut batch = vec![first];
                        while let Ok(s) = rx.try_recv() {
                            batch.push(s);
                        }
                        let service = service.clone();
                        running.spawn(async move {
                            // Each failed site is logged by `absorb`.
                            let _ = service.absorb(batch).await;
                        });
                    }
                    _ = tick.tick() => {
                        let service = service.clone();
                        running.spawn(async move {
                            if let Err(e) = service.sweep().await {
                                tracing::error!(error = %e, "periodic load recomputation failed");
                            }
                        });
                    }
                    Some(done) = running.join_next(), if !running.is_empty() => {
                        if let Err(e) = done {
                            if e.is_panic() {
                                tracing::error!(error = %e, "a load recomputation panicked");
                            }
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
        if self.stopped.load(Ordering::SeqCst) {
            tracing::debug!(kind = ?signal.kind, "load balancing stopped; the next start recomputes every site");
            return Ok(());
        }
        // Without `stop` the worker only ends if it panicked: say so.
        self.tx
            .send(signal)
            .map_err(|_| "the load-balancing worker has ended".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use csms_load::SignalKind;

    #[tokio::test]
    async fn after_stop_a_signal_is_dropped_quietly_even_without_a_worker() {
        let (load, rx) = LocalLoad::new();
        drop(rx);
        let s = || LoadSignal::new(SignalKind::Connection, Utc::now());
        assert!(
            load.signal(s()).await.is_err(),
            "a worker gone without stop is an error"
        );
        load.stop();
        assert_eq!(load.signal(s()).await, Ok(()));
    }

    #[tokio::test]
    async fn before_stop_signals_reach_the_worker() {
        let (load, mut rx) = LocalLoad::new();
        load.signal(LoadSignal::new(SignalKind::Connection, Utc::now()))
            .await
            .unwrap();
        assert!(rx.try_recv().is_ok());
    }
}
