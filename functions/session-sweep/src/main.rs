//! Lambda run by EventBridge Scheduler. Wiring only; the logic is
//! `csms_aws::sessions::handle_sweep` over `ChargerService::close_idle_sessions`,
//! and for the `{"bookings": true}` schedule `handle_booking_sweep` over
//! `CommandService::sweep_bookings_everywhere`, and for the
//! `{"monitor": true}` schedule `handle_monitor_sweep` over
//! `ChargerService::raise_offline_alarms_everywhere`, and for the
//! `{"billing": true}` schedule `csms_aws::billing::fan_out_billing_day`
//! (one message per organisation for the `invoice-run` function); invoked by hand with
//! `{"backfill": "bookingPersons"}`, `handle_booking_backfill` (an
//! upgrade's backfill of the bookings' person index).

use csms_aws::billing::fan_out_billing_day;
use csms_aws::sessions::{
    handle_booking_backfill, handle_booking_sweep, handle_monitor_sweep, handle_sweep,
    is_billing_sweep, is_booking_backfill, is_booking_sweep, is_monitor_sweep,
};
use csms_aws::sqs::JsonQueue;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wired = csms_aws::config::start(|ctx| {
        let charger = Arc::new(ctx.wiring.charger()?);
        let commands = Arc::new(ctx.wiring.commands()?);
        let idle = chrono::TimeDelta::from_std(ctx.wiring.settings.sessions.idle)?;
        let times = ctx.wiring.settings.bookings.times();
        let grace = ctx.wiring.settings.monitor.offline_grace();
        let digests = Arc::new(ctx.wiring.alarm_digests());
        let billing = Arc::new(JsonQueue::new(
            &ctx.sdk,
            ctx.wiring.settings.aws.billing_queue.require()?,
        ));
        let store = ctx.wiring.store.clone();
        Ok::<_, Error>((
            (charger, digests, commands, billing, store),
            ctx.wiring.clock.clone(),
            idle,
            times,
            grace,
        ))
    });
    let Some(((charger, digests, commands, billing, store), clock, idle, times, grace)) =
        wired.await?
    else {
        return Ok(());
    };
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (charger, digests, commands, billing, store, clock) = (
            charger.clone(),
            digests.clone(),
            commands.clone(),
            billing.clone(),
            store.clone(),
            clock.clone(),
        );
        async move {
            if is_booking_backfill(&event.payload) {
                // Until 20 s before the function's time is up.
                let left = (event.context.deadline as i64)
                    .saturating_sub(chrono::Utc::now().timestamp_millis())
                    .saturating_sub(20_000)
                    .max(0) as u64;
                let until = std::time::Instant::now() + std::time::Duration::from_millis(left);
                return Ok::<_, Error>(
                    handle_booking_backfill(&*store, &event.payload, until).await?,
                );
            }
            if is_billing_sweep(&event.payload) {
                return Ok::<_, Error>(fan_out_billing_day(&*store, &*billing, clock.now()).await?);
            }
            if is_monitor_sweep(&event.payload) {
                return Ok::<_, Error>(
                    handle_monitor_sweep(&charger, &digests, grace, clock.now()).await?,
                );
            }
            if is_booking_sweep(&event.payload) {
                return Ok::<_, Error>(handle_booking_sweep(&commands, times, clock.now()).await?);
            }
            Ok::<_, Error>(handle_sweep(&charger, idle, clock.now()).await?)
        }
    }))
    .await
}
