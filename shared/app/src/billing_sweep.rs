//! The day's billing over every organisation, as the local runner (every
//! `CSMS_BILLING_SWEEP_SECONDS`) and, in AWS, the `invoice-run` function (one
//! organisation per message, queued by `session-sweep`'s `BillingSweep`
//! schedule) run it: per organisation, the captures at the
//! charger that failed and are due tried again
//! (`BillingService::retry_captures`), then billing's day
//! (`BillingService::run_day`: the scheduled invoice run, saved cards
//! charged, then dunning),
//! then the reminders it recorded mailed (`ReminderMail`), then, when
//! identifiers were blocked, the stations' local lists brought up to date.
//! Composition only: each step is its context's use case, each idempotent,
//! and an organisation that fails is logged while the others go on.

use chrono::NaiveDate;
use csms_billing::{BillingError, BillingService};
use csms_commands::service::CommandService;
use csms_domain::{OrgId, Timestamp};
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
    /// The day `now` falls on in the invoices' zone: the sweep's "today".
    pub fn today(now: Timestamp) -> NaiveDate {
        now.with_timezone(&csms_domain::billing::period::DEFAULT_ZONE)
            .date_naive()
    }

    /// One sweep at `now` over every organisation, one after the other (the
    /// local runner; in AWS each organisation's day is a message of its own,
    /// see [`BillingSweep::run_organisation`]).
    pub async fn run(&self, now: Timestamp) -> Result<SweepCounts, StoreError> {
        let today = Self::today(now);
        let mut counts = SweepCounts::default();
        for org in csms_kernel::tenants::organisation_ids(&*self.store).await? {
            match self.run_organisation(&org, today).await {
                Ok(c) => counts.add(c),
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "the day's billing failed");
                    counts.failed_organisations += 1;
                }
            }
        }
        Ok(counts)
    }

    /// The billing day `today` of one organisation: its invoice run, saved
    /// cards, dunning and settlement, the reminders mailed and the local
    /// lists updated after a block. Idempotent: a second call on the same
    /// day does nothing again. An organisation without a record has nothing
    /// to bill (counts of zero).
    pub async fn run_organisation(
        &self,
        org: &OrgId,
        today: NaiveDate,
    ) -> Result<SweepCounts, BillingError> {
        let mut counts = SweepCounts::default();
        // Before the day's billing, and whatever becomes of it: a hold
        // lapses on its own clock.
        match self.billing.retry_captures(org).await {
            Ok(r) => {
                counts.captures_retried += r.captured;
                counts.capture_failures += r.failed;
                counts.captures_abandoned += r.abandoned;
            }
            Err(e) => {
                tracing::error!(org = %org, error = %e, "failed captures at the charger were not tried again")
            }
        }
        let day = match self.billing.run_day(org, today).await {
            Ok(day) => day,
            // The default organisation's record is made at start; an
            // organisation without one has nothing to bill.
            Err(BillingError::OrganisationNotFound(_)) => return Ok(counts),
            Err(e) => return Err(e),
        };
        counts.invoices_issued += day.invoice_run.as_ref().map_or(0, |r| r.created.len());
        counts.cards_charged += day.autopay.charged.len();
        counts.card_failures += day.autopay.failed.len() + day.autopay.unanswered.len();
        counts.reminders += day.dunning.reminded.len();
        counts.blocks += day.dunning.blocked.len();
        match self
            .reminder_mail
            .send_recorded(org, self.clock.now())
            .await
        {
            Ok(n) => counts.mailed += n,
            Err(e) => tracing::error!(org = %org, error = %e, "reminders not mailed"),
        }
        if day.dunning.tokens_blocked > 0 {
            if let Err(e) = self.commands.local_lists_changed(org).await {
                tracing::warn!(org = %org, error = %e, "could not update the local lists");
            }
        }
        Ok(counts)
    }
}

impl SweepCounts {
    fn add(&mut self, o: SweepCounts) {
        self.invoices_issued += o.invoices_issued;
        self.cards_charged += o.cards_charged;
        self.card_failures += o.card_failures;
        self.reminders += o.reminders;
        self.blocks += o.blocks;
        self.mailed += o.mailed;
        self.captures_retried += o.captures_retried;
        self.capture_failures += o.capture_failures;
        self.captures_abandoned += o.captures_abandoned;
        self.failed_organisations += o.failed_organisations;
    }
}
