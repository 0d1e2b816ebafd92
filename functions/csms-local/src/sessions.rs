//! The idle-session sweep in process: every `period`, open sessions that
//! heard nothing for `idle` are closed by the CSMS (reason `noMessages`) and
//! priced. In AWS the `session-sweep` function runs the same
//! `ChargerService::close_idle_sessions` on an EventBridge schedule.

use chrono::TimeDelta;
use csms_charging::charger::{ChargerService, IDLE_SWEEP_LOOKBACK};
use csms_kernel::ports::{Clock, Store};
use std::sync::Arc;
use std::time::Duration;

pub fn spawn(
    charger: ChargerService<dyn Store>,
    clock: Arc<dyn Clock>,
    idle: Duration,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match charger
                .close_idle_sessions_everywhere(idle, IDLE_SWEEP_LOOKBACK, clock.now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!("closed {n} idle session(s)"),
                Err(e) => tracing::error!(error = %e, "idle-session sweep failed"),
            }
        }
    })
}
