//! The in-process schedule of the spot-price fetcher: one run at start, then
//! one every `CSMS_SPOT_INTERVAL_MINUTES` (the Lambda's EventBridge schedule,
//! locally). Each run is its own task, so not even a panic in it stops the
//! schedule, let alone the process; a machine without internet just logs a
//! warning per run.

use csms_core::ports::{Clock, Store};
use csms_core::spot::config::SpotSettings;
use csms_core::spot::SpotFetcher;
use std::sync::Arc;
use std::time::Duration;

/// What `CSMS_SPOT_*` configured (see `config.rs`).
pub struct SpotSchedule {
    pub settings: SpotSettings,
    pub interval: Duration,
}

/// Starts the schedule; abort the handle to stop it.
pub fn spawn(
    schedule: SpotSchedule,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    let http = Arc::new(csms_http_out::HyperTransport::default());
    let sources = schedule.settings.build_sources(http, clock.clone());
    let fetcher = SpotFetcher::new(store, clock, sources, schedule.settings.fetcher.clone());
    tracing::info!(
        "spot prices: {}; fetched every {} min",
        schedule.settings.describe(),
        schedule.interval.as_secs() / 60
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(schedule.interval);
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
