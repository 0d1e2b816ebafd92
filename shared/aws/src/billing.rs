//! The day's billing in AWS, one organisation per message. EventBridge
//! Scheduler invokes `session-sweep` hourly with `{"billing": true}`; it
//! only lists the organisations and puts one [`BillingDayMessage`] per
//! organisation on the billing queue ([`fan_out_billing_day`]). The
//! `invoice-run` function takes them from there
//! ([`handle_billing_day_message`]): the organisation's invoice run, saved
//! cards, dunning and monthly settlement, the reminders mailed
//! (`csms_app::billing_sweep::BillingSweep::run_organisation`).
//!
//! So one organisation's month (thousands of invoices and PDFs) has a
//! function's whole time to itself and fails alone: its message comes back
//! after the visibility timeout and, after the queue's receives, waits in
//! the dead-letter queue, while every other organisation is billed. Every
//! step is idempotent (a numbered invoice, a booked payment, a sent reminder
//! are each recorded once), so a message delivered twice, a retried one and
//! the next hour's message for the same day change nothing again.

use crate::sqs::{JsonQueue, SendOptions};
use chrono::NaiveDate;
use csms_app::billing_sweep::{BillingSweep, SweepCounts};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{OrganisationStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One organisation's billing day: the body of a billing queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingDayMessage {
    pub org_id: String,
    /// The day in the invoices' zone (`YYYY-MM-DD`) the sweep ran on: a
    /// message redelivered after midnight still bills the day it was for.
    pub day: NaiveDate,
}

/// Where the fan-out puts its messages.
#[async_trait::async_trait]
pub trait BillingQueue: Send + Sync {
    async fn send(&self, message: &BillingDayMessage) -> Result<(), String>;
}

#[async_trait::async_trait]
impl BillingQueue for JsonQueue {
    async fn send(&self, message: &BillingDayMessage) -> Result<(), String> {
        JsonQueue::send(self, message, SendOptions::default()).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BillingDayError {
    #[error(
        "not a billing day message ({0}): expected {{\"orgId\": \"…\", \"day\": \"YYYY-MM-DD\"}}"
    )]
    Malformed(String),
    #[error("orgId: {0}")]
    OrgId(String),
    #[error("the billing day of {org} on {day} failed: {error}")]
    Failed {
        org: String,
        day: NaiveDate,
        error: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{failed} of {organisations} organisations' billing days not queued: {first}")]
    Send {
        failed: usize,
        organisations: usize,
        first: String,
    },
}

/// `{"billing": true}` at `now`: one message per organisation for today's
/// billing. Tries every organisation; if a send fails, the invocation fails
/// afterwards (the function's error alarm), and the next hourly run queues
/// that organisation again.
pub async fn fan_out_billing_day(
    store: &(impl OrganisationStore + ?Sized),
    queue: &(impl BillingQueue + ?Sized),
    now: Timestamp,
) -> Result<Value, FanOutError> {
    let day = BillingSweep::today(now);
    let orgs = csms_kernel::tenants::organisation_ids(store).await?;
    let (mut queued, mut failed, mut first) = (0usize, 0usize, None);
    for org in &orgs {
        let message = BillingDayMessage {
            org_id: org.to_string(),
            day,
        };
        match queue.send(&message).await {
            Ok(()) => queued += 1,
            Err(e) => {
                tracing::error!(org = %org, error = %e, "billing day not queued");
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    tracing::info!(day = %day, queued, failed, "billing days queued");
    match first {
        Some(first) => Err(FanOutError::Send {
            failed,
            organisations: orgs.len(),
            first,
        }),
        None => Ok(json!({"day": day, "queued": queued})),
    }
}

/// One billing queue message: the organisation's billing day. A body that
/// is not a message fails (it is our own bug: it waits in the dead-letter
/// queue for the operator); so does a day that fails, to be tried again.
pub async fn handle_billing_day_message(
    sweep: &BillingSweep,
    body: &str,
) -> Result<SweepCounts, BillingDayError> {
    let message: BillingDayMessage =
        serde_json::from_str(body).map_err(|e| BillingDayError::Malformed(e.to_string()))?;
    let org = OrgId::parse(&message.org_id).map_err(|e| BillingDayError::OrgId(e.to_string()))?;
    let counts = sweep
        .run_organisation(&org, message.day)
        .await
        .map_err(|e| BillingDayError::Failed {
            org: org.to_string(),
            day: message.day,
            error: e.to_string(),
        })?;
    tracing::info!(
        org = %org,
        day = %message.day,
        invoices = counts.invoices_issued,
        cards = counts.cards_charged,
        reminders = counts.reminders,
        blocks = counts.blocks,
        mailed = counts.mailed,
        "billing day done"
    );
    Ok(counts)
}
