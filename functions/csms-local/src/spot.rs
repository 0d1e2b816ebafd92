//! The in-process schedule of the spot-price fetcher: one run at start, then
//! one every `CSMS_SPOT_INTERVAL_MINUTES` (the Lambda's EventBridge schedule,
//! locally). Each run is its own task, so not even a panic in it stops the
//! schedule, let alone the process; a machine without internet just logs a
//! warning per run.

use csms_kernel::ports::Store;
use csms_pricing::spot::SpotFetcher;
use std::time::Duration;

/// Starts the schedule: `fetcher` runs now and every `interval`; abort the
/// handle to stop it.
pub fn spawn(fetcher: SpotFetcher<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        // After a suspended laptop wakes up: one run, not a burst.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let run = fetcher.clone();
            match tokio::spawn(async move { run.run().await }).await {
                Ok(report) => report.log(),
                Err(e) => tracing::warn!("spot price run failed: {e}"),
            }
        }
    })
}
