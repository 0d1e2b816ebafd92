//! Command timeouts in process: one sleeping task per sent command, the
//! part a delayed queue message plays in AWS.

use async_trait::async_trait;
use csms_commands::service::{CommandService, CommandTimers};
use csms_domain::command::CommandId;
use csms_domain::{StationId, Timestamp};
use csms_kernel::ports::Store;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Hands deadlines to the task started by [`LocalTimers::run`]; a channel,
/// because the service that owns the timers is also what they call back.
#[derive(Clone)]
pub struct LocalTimers {
    tx: mpsc::UnboundedSender<(StationId, Timestamp)>,
}

pub type TimerQueue = mpsc::UnboundedReceiver<(StationId, Timestamp)>;

impl LocalTimers {
    pub fn new() -> (Self, TimerQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalTimers { tx }, rx)
    }

    /// Fire each deadline (a little after it, so the command is surely
    /// overdue) until the channel closes.
    pub fn run(
        mut rx: TimerQueue,
        service: CommandService<dyn Store>,
    ) -> tokio::task::JoinHandle<()> {
        let service = Arc::new(service);
        tokio::spawn(async move {
            while let Some((station, at)) = rx.recv().await {
                let service = service.clone();
                // Not on the connection tracker: shutdown must not wait for
                // a timer; the next start's recovery settles the command.
                tokio::spawn(async move {
                    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default()
                        + std::time::Duration::from_millis(20);
                    tokio::time::sleep(wait).await;
                    if let Err(e) = service.check_timeout(&station).await {
                        tracing::error!(station = %station, error = %e, "command timeout check failed");
                    }
                });
            }
        })
    }
}

#[async_trait]
impl CommandTimers for LocalTimers {
    async fn schedule(&self, station: &StationId, _id: &CommandId, at: Timestamp) {
        // Fails only when shutting down; the restart's recovery settles it.
        let _ = self.tx.send((station.clone(), at));
    }
}
