//! The day's billing of an organisation, run by the sweep (hourly locally,
//! by the `session-sweep` function's `BillingSweep` schedule in AWS) and
//! idempotent however often it runs: from the organisation's invoice run
//! day on (the 1st unless it chose another, in its zone), the previous
//! month is invoiced by the same use case as `POST /invoice-runs` (a re-run
//! finds what an earlier one made, so a missed day is caught up the next),
//! then saved cards are charged what is due (`autopay`), then its dunning
//! takes the steps due today.

use crate::autopay::AutopayResult;
use crate::dunning::DunningResult;
use crate::invoice_run::RunResult;
use crate::{BillingError, BillingService, BillingStore};
use chrono::{Datelike, NaiveDate};
use csms_domain::billing::period::Period;
use csms_domain::OrgId;

/// What the day's billing did in one organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct DayResult {
    /// The previous month's invoice run, when it was due.
    pub invoice_run: Option<RunResult>,
    /// Saved cards charged for what is due (before dunning, so a paid
    /// invoice is not reminded).
    pub autopay: AutopayResult,
    pub dunning: DunningResult,
    /// The previous month's self-invoice and payout, from the
    /// organisation's payout day on.
    pub settlement: Option<crate::settlement::SettleResult>,
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// The day's billing of `org` on `today` (its local date).
    pub async fn run_day(&self, org: &OrgId, today: NaiveDate) -> Result<DayResult, BillingError> {
        let organisation = self
            .store
            .get_organisation(org)
            .await?
            .ok_or_else(|| BillingError::OrganisationNotFound(org.to_string()))?;
        let due = u32::from(organisation.invoice_run_day().day());
        let invoice_run = match Period::of(today).and_then(Period::previous) {
            Some(previous) if today.day() >= due => Some(self.run_invoices(org, previous).await?),
            _ => None,
        };
        let autopay = self.run_autopay(org, today).await?;
        let dunning = self.run_dunning(org, today).await?;
        let payout_day = u32::from(organisation.payout_terms().day());
        let settlement = match Period::of(today).and_then(Period::previous) {
            Some(previous) if today.day() >= payout_day => {
                Some(self.settle_month(org, previous, today).await?)
            }
            _ => None,
        };
        Ok(DayResult {
            invoice_run,
            autopay,
            dunning,
            settlement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::tenant::InvoiceRunDay;
    use csms_kernel::contract::organisation;
    use csms_kernel::ports::{OrganisationStore, SystemClock};
    use csms_store_redb::EmbeddedStore;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_previous_month_is_invoiced_from_the_run_day_on() {
        let store = Arc::new(EmbeddedStore::temporary());
        let billing = BillingService::new(store.clone(), Arc::new(SystemClock));
        let mut org = organisation("org-m");
        org.invoice_run_day = Some(InvoiceRunDay::new(5).unwrap());
        store.create_organisation(&org).await.unwrap();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let before = billing.run_day(&org.id, day("2027-01-04")).await.unwrap();
        assert_eq!(before.invoice_run, None);
        let on = billing.run_day(&org.id, day("2027-01-05")).await.unwrap();
        let run = on.invoice_run.unwrap();
        assert_eq!(run.period, Period::parse("2026-12").unwrap());
        let after = billing.run_day(&org.id, day("2027-01-20")).await.unwrap();
        assert_eq!(after.invoice_run.unwrap().period, run.period);
        assert!(matches!(
            billing
                .run_day(&OrgId::parse("nobody").unwrap(), day("2027-01-05"))
                .await,
            Err(BillingError::OrganisationNotFound(_))
        ));
    }
}
