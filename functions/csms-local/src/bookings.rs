//! The booking sweep in process: every `period`, the bookings due are
//! moved on (ReserveNow before the window, the station's answer, no-shows,
//! the window's end). In AWS the `session-sweep` function runs the same
//! `CommandService::sweep_bookings_everywhere` every minute.

use csms_commands::booking_sweep::BookingTimes;
use csms_commands::service::CommandService;
use csms_kernel::ports::{Clock, Store};
use std::sync::Arc;
use std::time::Duration;

pub fn spawn(
    commands: CommandService<dyn Store>,
    clock: Arc<dyn Clock>,
    times: BookingTimes,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match commands.sweep_bookings_everywhere(times, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("booking sweep moved {n} booking(s) on"),
                Err(e) => tracing::error!(error = %e, "booking sweep failed"),
            }
        }
    })
}
