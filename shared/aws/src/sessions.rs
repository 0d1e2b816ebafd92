//! The `session-sweep` function: EventBridge Scheduler invokes it (every
//! `SessionSweepMinutes`, see `template.yaml`); each invocation closes the
//! open sessions that heard nothing for `CSMS_SESSION_IDLE_SECONDS` (reason
//! `noMessages`) through [`ChargerService::close_idle_sessions`], which
//! announces and queues them for pricing like any other ended session. The
//! schedule's payload carries nothing. A second schedule, every minute,
//! sends `{"bookings": true}`: the booking sweep
//! ([`handle_booking_sweep`]); a third, every minute, `{"monitor": true}`:
//! the alarms about stations gone offline beyond their grace
//! ([`handle_monitor_sweep`]); a fourth, hourly, `{"billing": true}`: the
//! day's billing ([`handle_billing_sweep`]).
//!
//! Idempotent: a session closed by one run is no longer open for the next,
//! and a run that fails half-way is finished by the next one.

use chrono::TimeDelta;
use csms_charging::charger::{ChargerService, HandlerError, IDLE_SWEEP_LOOKBACK};
use csms_domain::Timestamp;
use csms_kernel::ports::Store;
use serde_json::{json, Value};

/// Whether a schedule's payload asks for the booking sweep.
pub fn is_booking_sweep(event: &Value) -> bool {
    event.get("bookings").and_then(Value::as_bool) == Some(true)
}

/// One booking sweep at `now` over every organisation
/// (`CommandService::sweep_bookings_everywhere`): how many bookings changed.
pub async fn handle_booking_sweep(
    commands: &csms_commands::service::CommandService<dyn Store>,
    times: csms_commands::booking_sweep::BookingTimes,
    now: Timestamp,
) -> Result<Value, csms_kernel::ports::StoreError> {
    let changed = commands.sweep_bookings_everywhere(times, now).await?;
    tracing::info!(changed, "booking sweep done");
    Ok(json!({"bookingsChanged": changed}))
}

/// Whether a schedule's payload asks for the monitor sweep.
pub fn is_monitor_sweep(event: &Value) -> bool {
    event.get("monitor").and_then(Value::as_bool) == Some(true)
}

/// One monitor sweep at `now` over every organisation
/// (`ChargerService::raise_offline_alarms_everywhere`, then the alarm
/// digests that are due): how many alarms it raised and digests it mailed.
pub async fn handle_monitor_sweep(
    charger: &ChargerService<dyn Store>,
    digests: &csms_notify::mail::people::PeopleMail<dyn Store>,
    grace: csms_domain::alarm::OfflineGrace,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    let raised = charger.raise_offline_alarms_everywhere(grace, now).await?;
    let mailed = digests.send_due_digests(now).await?;
    tracing::info!(raised, digests = mailed, "monitor sweep done");
    Ok(json!({"offlineAlarms": raised, "digests": mailed}))
}

/// Whether a schedule's payload asks for the billing sweep.
pub fn is_billing_sweep(event: &Value) -> bool {
    event.get("billing").and_then(Value::as_bool) == Some(true)
}

/// One billing sweep at `now` over every organisation
/// (`csms_app::billing_sweep::BillingSweep`: the scheduled invoice runs,
/// dunning, the reminders' mail).
pub async fn handle_billing_sweep(
    sweep: &csms_app::billing_sweep::BillingSweep,
    now: Timestamp,
) -> Result<Value, csms_kernel::ports::StoreError> {
    let c = sweep.run(now).await?;
    tracing::info!(
        invoices = c.invoices_issued,
        reminders = c.reminders,
        blocks = c.blocks,
        mailed = c.mailed,
        failed = c.failed_organisations,
        "billing sweep done"
    );
    Ok(json!({
        "invoicesIssued": c.invoices_issued,
        "reminders": c.reminders,
        "blocks": c.blocks,
        "mailed": c.mailed,
        "failedOrganisations": c.failed_organisations,
    }))
}

/// One scheduled run at `now`: how many sessions it closed. A store error
/// fails the invocation (it shows in the function's error metric); the next
/// run tries again.
pub async fn handle_sweep(
    charger: &ChargerService<dyn Store>,
    idle: TimeDelta,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    // Every organisation's open sessions, one organisation at a time.
    let closed = charger
        .close_idle_sessions_everywhere(idle, IDLE_SWEEP_LOOKBACK, now)
        .await?;
    tracing::info!(closed, "idle-session sweep done");
    Ok(json!({"closed": closed}))
}
