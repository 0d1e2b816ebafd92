//! The day's billing over every organisation, as the local runner (every
//! `CSMS_BILLING_SWEEP_SECONDS`) and the `session-sweep` function's
//! `BillingSweep` schedule run it: per organisation, the captures at the
//! charger that failed and are due tried again
//! (`BillingService::retry_captures`), then billing's day
//! (`BillingService::run_day`: the scheduled invoice run, saved cards
//! charged, then dunning),
//! then the reminders it recorded mailed (`ReminderMail`), then, when
//! identifiers were blocked, the stations' local lists brought up to date.
//! Composition only: each step is its context's use case, each idempotent,
//! and an organisation that fails is logged while the others go on.

use csms_billing::BillingService;
use csms_commands::service::CommandService;
use csms_domain::Timestamp;
use csms_kernel::ports::{Clock, Store, StoreError};
use csms_notify::mail::reminders::ReminderMail;
use std::sync::Arc;

/// See the module docs.
#[derive(Clone)]
pub struct BillingSweep {
    pub billing: BillingService<dyn Store>,
    pub reminder_mail: Arc<ReminderMail<dyn Store>>,
    pub commands: CommandService<dyn Store>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

/// What one sweep did, summed over the organisations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepCounts {
    pub invoices_issued: usize,
    /// Invoices paid by their driver's saved card.
    pub cards_charged: usize,
    /// Saved cards declined (or not answered), tried again on a retry day.
    pub card_failures: usize,
    pub reminders: usize,
    pub blocks: usize,
    pub mailed: usize,
    /// Failed captures at the charger that landed on a retry.
    pub captures_retried: usize,
    /// Failed captures at the charger that failed again (tried later).
    pub capture_failures: usize,
    /// Failed captures given up: alarms for the operator.
    pub captures_abandoned: usize,
    pub failed_organisations: usize,
}

impl BillingSweep {
    /// One sweep at `now` (its date in the invoices' zone is "today").
    pub async fn run(&self, now: Timestamp) -> Result<SweepCounts, StoreError> {
        let today = now
            .with_timezone(&csms_domain::billing::period::DEFAULT_ZONE)
            .date_naive();
        let mut counts = SweepCounts::default();
        for org in csms_kernel::tenants::organisation_ids(&*self.store).await? {
            // Before the day's billing, and whatever becomes of it: a hold
            // lapses on its own clock.
            match self.billing.retry_captures(&org).await {
                Ok(r) => {
                    counts.captures_retried += r.captured;
                    counts.capture_failures += r.failed;
                    counts.captures_abandoned += r.abandoned;
                }
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "failed captures at the charger were not tried again")
                }
            }
            let day = match self.billing.run_day(&org, today).await {
                Ok(day) => day,
                // The default organisation's record is made at start; an
                // organisation without one has nothing to bill.
                Err(csms_billing::BillingError::OrganisationNotFound(_)) => continue,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "the day's billing failed");
                    counts.failed_organisations += 1;
                    continue;
                }
            };
            counts.invoices_issued += day.invoice_run.as_ref().map_or(0, |r| r.created.len());
            counts.cards_charged += day.autopay.charged.len();
            counts.card_failures += day.autopay.failed.len() + day.autopay.unanswered.len();
            counts.reminders += day.dunning.reminded.len();
            counts.blocks += day.dunning.blocked.len();
            match self
                .reminder_mail
                .send_recorded(&org, self.clock.now())
                .await
            {
                Ok(n) => counts.mailed += n,
                Err(e) => tracing::error!(org = %org, error = %e, "reminders not mailed"),
            }
            if day.dunning.tokens_blocked > 0 {
                if let Err(e) = self.commands.local_lists_changed(&org).await {
                    tracing::warn!(org = %org, error = %e, "could not update the local lists");
                }
            }
        }
        Ok(counts)
    }
}
