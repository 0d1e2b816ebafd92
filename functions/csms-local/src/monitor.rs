//! The monitor sweep in process: every `period`, the stations offline for
//! longer than the grace raise their alarm, settled flapping and boot
//! loops resolve, and the alarm digests that are due are mailed. In AWS the `session-sweep`
//! function's `MonitorSweep` schedule runs the same
//! `ChargerService::raise_offline_alarms_everywhere` every minute.
//!
//! The first sweep waits for one grace after start: the stations that were
//! connected when this process stopped come back within it, and a process
//! that was down for an hour must not raise an alarm for each of them.

use csms_app::settings::MonitorSettings;
use csms_charging::charger::ChargerService;
use csms_kernel::ports::{Clock, Store};
use csms_notify::mail::people::PeopleMail;
use std::sync::Arc;

pub fn spawn(
    charger: ChargerService<dyn Store>,
    digests: PeopleMail<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: MonitorSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + settings.offline_grace;
        let mut tick = tokio::time::interval_at(first, settings.sweep);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match charger
                .raise_offline_alarms_everywhere(settings.offline_grace(), clock.now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!("raised {n} offline alarm(s)"),
                Err(e) => tracing::error!(error = %e, "monitor sweep failed"),
            }
            if let Err(e) = digests.send_due_digests(clock.now()).await {
                tracing::error!(error = %e, "alarm digests failed");
            }
        }
    })
}
