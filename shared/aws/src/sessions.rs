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
//! day's billing, one message per organisation on the billing queue for the
//! `invoice-run` function ([`crate::billing::fan_out_billing_day`]). Invoked by hand once after
//! an upgrade with `{"backfill": "bookingPersons"}`, it puts bookings made
//! before the person index existed in their person's list
//! ([`handle_booking_backfill`]; resumable: an answer with `"done": false`
//! names the `resume` point to invoke it with again).
//!
//! Idempotent: a session closed by one run is no longer open for the next,
//! and a run that fails half-way is finished by the next one.

use chrono::TimeDelta;
use csms_charging::charger::{ChargerService, HandlerError, IDLE_SWEEP_LOOKBACK};
use csms_domain::Timestamp;
use csms_kernel::ports::Store;
use serde_json::{json, Value};

/// Whether an invocation asks for the bookings' person index backfill.
pub fn is_booking_backfill(event: &Value) -> bool {
    event.get("backfill").and_then(Value::as_str) == Some("bookingPersons")
}

/// The bookings' person index backfill
/// (`csms_kernel::migrations::backfill_booking_persons`) from the event's
/// `resume` point (`{"org", "cursor"}`; none: the start), page by page
/// until done or until `until` (the function's time is nearly up): then
/// the answer's `resume` is where to go on from.
pub async fn handle_booking_backfill(
    store: &dyn Store,
    event: &Value,
    until: std::time::Instant,
) -> Result<Value, csms_kernel::ports::StoreError> {
    use csms_kernel::migrations::{backfill_booking_persons_page, Backfilled, Resume};
    let resume = &event["resume"];
    let mut at = Resume {
        org: resume["org"]
            .as_str()
            .and_then(|o| csms_domain::OrgId::parse(o).ok()),
        cursor: resume["cursor"].as_str().map(str::to_owned),
    };
    let orgs = csms_kernel::tenants::organisation_ids(store).await?;
    let mut total = Backfilled::default();
    loop {
        let (done, next) = backfill_booking_persons_page(
            store,
            &orgs,
            &at,
            csms_kernel::ports::PageRequest::MAX_LIMIT,
        )
        .await?;
        total += done;
        let Some(next) = next else {
            tracing::info!(
                seen = total.seen,
                indexed = total.indexed,
                "booking backfill done"
            );
            return Ok(json!({"done": true, "seen": total.seen, "indexed": total.indexed}));
        };
        at = next;
        if std::time::Instant::now() >= until {
            tracing::info!(
                seen = total.seen,
                indexed = total.indexed,
                "booking backfill stopped for time; invoke again with resume"
            );
            return Ok(json!({
                "done": false, "seen": total.seen, "indexed": total.indexed,
                "resume": {"org": at.org.as_ref().map(|o| o.as_str()), "cursor": at.cursor},
            }));
        }
    }
}

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
