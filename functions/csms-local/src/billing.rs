//! The day's billing in process: every `CSMS_BILLING_SWEEP_SECONDS` (an
//! hour by default) the scheduled invoice runs, dunning and the reminders'
//! mail of every organisation (`csms_app::billing_sweep`); each run is
//! idempotent, so running it hourly does each day's steps once. In AWS the
//! `session-sweep` function's `BillingSweep` schedule runs the same.

use csms_app::billing_sweep::BillingSweep;
use std::time::Duration;

pub fn spawn(sweep: BillingSweep, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // A minute after start, not at once: the stations that were
        // connected come back first.
        let first = tokio::time::Instant::now() + every.min(Duration::from_secs(60));
        let mut tick = tokio::time::interval_at(first, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep.run(sweep.clock.now()).await {
                Ok(c) if c == Default::default() => {}
                Ok(c) => tracing::info!(?c, "the day's billing"),
                Err(e) => tracing::error!(error = %e, "the day's billing failed"),
            }
        }
    })
}
