//! Dunning: what happens to an invoice that is not paid by its due date.
//! An organisation's [`DunningSettings`] say on which days after the due
//! date a reminder goes out, whether each costs a fee, and on which day the
//! driver is blocked from charging at its stations. [`next_step`] is the
//! pure decision the daily run takes per invoice; the steps taken are kept
//! on the invoice ([`Reminder`], [`InvoiceBlock`]).

use super::invoice::{Invoice, InvoiceStatus};
use super::Invalid;
use crate::Timestamp;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

/// An organisation's reminders, fee and block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningSettings {
    reminder_days: Vec<u16>,
    reminder_fee: Option<Decimal>,
    block_days: Option<u16>,
}

impl Default for DunningSettings {
    /// Reminders 3 and 10 days after the due date, no fee, the block 17
    /// days after it (the step after the last reminder).
    fn default() -> Self {
        DunningSettings {
            reminder_days: vec![3, 10],
            reminder_fee: None,
            block_days: Some(17),
        }
    }
}

impl DunningSettings {
    /// At most this many reminders.
    pub const MAX_REMINDERS: usize = 5;
    /// Days after the due date are 1 to this.
    pub const MAX_DAYS: i64 = 365;

    /// The highest reminder fee: Swedish law (lag (1981:739) om ersättning
    /// för inkassokostnader) allows 60 kr per reminder.
    pub fn max_fee() -> Decimal {
        Decimal::from(60)
    }

    /// Which field is wrong is the error's first element: `reminderDays`,
    /// `reminderFee` or `blockDays`. Reminder days strictly rising, 1 to
    /// 365; a fee above zero, at most 60, in öre; the block after the last
    /// reminder.
    pub fn new(
        reminder_days: &[i64],
        reminder_fee: Option<Decimal>,
        block_days: Option<i64>,
    ) -> Result<Self, (&'static str, Invalid)> {
        let day = |d: i64| {
            u16::try_from(d)
                .ok()
                .filter(|d| (1..=Self::MAX_DAYS).contains(&i64::from(*d)))
        };
        if reminder_days.len() > Self::MAX_REMINDERS {
            return Err((
                "reminderDays",
                Invalid(format!("at most {} reminders", Self::MAX_REMINDERS)),
            ));
        }
        let mut days = Vec::with_capacity(reminder_days.len());
        for d in reminder_days {
            let d = day(*d).ok_or_else(|| {
                (
                    "reminderDays",
                    Invalid(format!("{d} is not a number of days from 1 to 365")),
                )
            })?;
            if days.last().is_some_and(|last| *last >= d) {
                return Err((
                    "reminderDays",
                    Invalid("the days must rise, each after the one before".into()),
                ));
            }
            days.push(d);
        }
        if let Some(fee) = reminder_fee {
            if fee <= Decimal::ZERO || fee > Self::max_fee() || fee.normalize().scale() > 2 {
                return Err((
                    "reminderFee",
                    Invalid(format!(
                        "{fee} is not an amount above 0 and at most {} (Swedish law's cap), in öre",
                        Self::max_fee()
                    )),
                ));
            }
        }
        let block_days = block_days
            .map(|b| {
                let b = day(b).ok_or_else(|| {
                    (
                        "blockDays",
                        Invalid(format!("{b} is not a number of days from 1 to 365")),
                    )
                })?;
                match days.last() {
                    Some(last) if *last >= b => Err((
                        "blockDays",
                        Invalid(format!(
                            "the block comes after the last reminder (day {last})"
                        )),
                    )),
                    _ => Ok(b),
                }
            })
            .transpose()?;
        Ok(DunningSettings {
            reminder_days: days,
            reminder_fee,
            block_days,
        })
    }

    /// Days after the due date of each reminder, rising.
    pub fn reminder_days(&self) -> &[u16] {
        &self.reminder_days
    }

    pub fn reminder_fee(&self) -> Option<Decimal> {
        self.reminder_fee
    }

    /// Days after the due date of the block; `None`: no block.
    pub fn block_days(&self) -> Option<u16> {
        self.block_days
    }
}

/// A reminder recorded on an invoice. Recorded before it is mailed, so a
/// run that stops in between mails it on the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// 1, 2, …
    pub number: u8,
    /// The day it was due on (in the organisation's zone).
    pub on: NaiveDate,
    /// What was left of the invoice when it was recorded.
    pub amount_due: Decimal,
    pub fee: Option<Decimal>,
    pub recorded_at: Timestamp,
    /// `None` until the mail was handed to the mailer.
    pub mailed_at: Option<Timestamp>,
}

/// The block an unpaid invoice put on its driver's identifiers at its
/// organisation's stations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceBlock {
    pub on: NaiveDate,
    pub at: Timestamp,
    /// When it was lifted: the invoice paid, or by hand.
    pub lifted_at: Option<Timestamp>,
    /// `payment`, or who lifted it by hand (an API key id, a user id).
    pub lifted_by: Option<String>,
}

impl InvoiceBlock {
    pub fn active(&self) -> bool {
        self.lifted_at.is_none()
    }
}

/// A dispute of an invoice: while it is open, dunning takes no step and
/// the driver's saved card is not charged. The invoice keeps its last
/// dispute; a resolved one moves the next step to at least the days
/// between two steps after the day it was resolved, so the driver gets
/// that time to pay before the chain goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDispute {
    /// Why, in the words of whoever opened it (1–500 characters).
    pub reason: String,
    /// Who opened it (an API key id, a user id).
    pub by: String,
    pub at: Timestamp,
    /// When it was resolved, by whom, and on which day (the organisation's
    /// local date).
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub resolved_on: Option<NaiveDate>,
}

impl InvoiceDispute {
    /// The longest reason kept.
    pub const MAX_REASON: usize = 500;

    pub fn open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// The next step of an unpaid invoice's dunning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DunningStep {
    /// The reminder of this number (1, 2, …) is due.
    Reminder(u8),
    Block,
}

/// The step due on `today` (the organisation's local date), if any. One
/// step at a time: after a pause (a run that did not happen) a later step
/// keeps its distance from the one before, so a driver always has the
/// days between two steps to pay. A paid invoice, and one blocked before
/// (also when the block was lifted by hand), takes no step, nor does a
/// disputed one; after a dispute is resolved the next step keeps its
/// distance from the day it was resolved as from a step.
pub fn next_step(
    invoice: &Invoice,
    settings: &DunningSettings,
    today: NaiveDate,
) -> Option<DunningStep> {
    if invoice.status == InvoiceStatus::Paid || invoice.block.is_some() {
        return None;
    }
    if invoice.dispute.as_ref().is_some_and(InvoiceDispute::open) {
        return None;
    }
    let sent = invoice.reminders.len();
    let (day, step) = match settings.reminder_days.get(sent) {
        Some(day) => (*day, DunningStep::Reminder(u8::try_from(sent + 1).ok()?)),
        None => (settings.block_days?, DunningStep::Block),
    };
    let mut due_on = invoice.due_date.checked_add_days(Days::new(day.into()))?;
    if let (Some(last), Some(last_day)) = (
        invoice.reminders.last(),
        sent.checked_sub(1)
            .and_then(|i| settings.reminder_days.get(i)),
    ) {
        let gap = day.saturating_sub(*last_day);
        let spaced = last.on.checked_add_days(Days::new(gap.into()))?;
        due_on = due_on.max(spaced);
    }
    if let Some(resolved) = invoice.dispute.as_ref().and_then(|d| d.resolved_on) {
        let before = sent
            .checked_sub(1)
            .and_then(|i| settings.reminder_days.get(i))
            .copied()
            .unwrap_or(0);
        let gap = day.saturating_sub(before);
        due_on = due_on.max(resolved.checked_add_days(Days::new(gap.into()))?);
    }
    (today >= due_on).then_some(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::invoice::tests::sample;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn reminded(inv: &mut Invoice, on: &str) {
        inv.reminders.push(Reminder {
            number: u8::try_from(inv.reminders.len() + 1).unwrap(),
            on: date(on),
            amount_due: inv.gross,
            fee: None,
            recorded_at: "2027-01-03T06:00:00Z".parse().unwrap(),
            mailed_at: None,
        });
    }

    #[test]
    fn reminders_on_day_3_and_10_then_the_block_on_day_17() {
        // Due 2026-12-31.
        let mut inv = sample();
        let s = DunningSettings::default();
        assert_eq!(next_step(&inv, &s, date("2026-12-31")), None);
        assert_eq!(next_step(&inv, &s, date("2027-01-02")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-01-03")),
            Some(DunningStep::Reminder(1))
        );
        reminded(&mut inv, "2027-01-03");
        assert_eq!(next_step(&inv, &s, date("2027-01-03")), None, "once a day");
        assert_eq!(next_step(&inv, &s, date("2027-01-09")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-01-10")),
            Some(DunningStep::Reminder(2))
        );
        reminded(&mut inv, "2027-01-10");
        assert_eq!(next_step(&inv, &s, date("2027-01-16")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-01-17")),
            Some(DunningStep::Block)
        );
        inv.block = Some(InvoiceBlock {
            on: date("2027-01-17"),
            at: "2027-01-17T06:00:00Z".parse().unwrap(),
            lifted_at: None,
            lifted_by: None,
        });
        assert_eq!(next_step(&inv, &s, date("2027-03-01")), None);
    }

    #[test]
    fn a_paid_invoice_takes_no_step_and_a_part_paid_one_does() {
        let mut inv = sample();
        let s = DunningSettings::default();
        inv.status = InvoiceStatus::Paid;
        assert_eq!(next_step(&inv, &s, date("2027-06-01")), None);
        inv.status = InvoiceStatus::PartlyPaid;
        assert_eq!(
            next_step(&inv, &s, date("2027-06-01")),
            Some(DunningStep::Reminder(1))
        );
    }

    #[test]
    fn after_a_pause_the_next_step_keeps_its_distance() {
        let mut inv = sample();
        let s = DunningSettings::default();
        // The first reminder went out late, on day 20.
        reminded(&mut inv, "2027-01-20");
        assert_eq!(next_step(&inv, &s, date("2027-01-21")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-01-27")),
            Some(DunningStep::Reminder(2))
        );
    }

    #[test]
    fn a_disputed_invoice_takes_no_step_and_after_it_the_chain_keeps_its_distance() {
        // Due 2026-12-31; disputed before the first reminder.
        let mut inv = sample();
        let s = DunningSettings::default();
        let mut dispute = InvoiceDispute {
            reason: "Laddade inte den dagen".into(),
            by: "usr_01JABCDEFGHJKMNPQRSTVWXYZ1".into(),
            at: "2027-01-02T09:00:00Z".parse().unwrap(),
            resolved_at: None,
            resolved_by: None,
            resolved_on: None,
        };
        inv.dispute = Some(dispute.clone());
        assert_eq!(next_step(&inv, &s, date("2027-01-03")), None);
        assert_eq!(next_step(&inv, &s, date("2027-05-01")), None);
        // Resolved on 2027-01-20: the first reminder 3 days later, not at once.
        dispute.resolved_at = Some("2027-01-20T10:00:00Z".parse().unwrap());
        dispute.resolved_by = Some("key_1".into());
        dispute.resolved_on = Some(date("2027-01-20"));
        inv.dispute = Some(dispute.clone());
        assert_eq!(next_step(&inv, &s, date("2027-01-22")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-01-23")),
            Some(DunningStep::Reminder(1))
        );
        // After reminder 1 (day 3) the second keeps 7 days from the end of a
        // dispute in between too.
        reminded(&mut inv, "2027-01-23");
        dispute.resolved_on = Some(date("2027-01-28"));
        inv.dispute = Some(dispute);
        assert_eq!(next_step(&inv, &s, date("2027-02-03")), None);
        assert_eq!(
            next_step(&inv, &s, date("2027-02-04")),
            Some(DunningStep::Reminder(2))
        );
        // A resolved dispute long ago moves nothing.
        let mut old = sample();
        old.dispute = Some(InvoiceDispute {
            resolved_on: Some(date("2026-12-01")),
            resolved_at: Some("2026-12-01T10:00:00Z".parse().unwrap()),
            ..inv.dispute.clone().unwrap()
        });
        assert_eq!(
            next_step(&old, &s, date("2027-01-03")),
            Some(DunningStep::Reminder(1))
        );
    }

    #[test]
    fn without_a_block_the_reminders_are_the_end() {
        let mut inv = sample();
        let s = DunningSettings::new(&[5], Some(Decimal::from(60)), None).unwrap();
        assert_eq!(
            next_step(&inv, &s, date("2027-01-05")),
            Some(DunningStep::Reminder(1))
        );
        reminded(&mut inv, "2027-01-05");
        assert_eq!(next_step(&inv, &s, date("2028-01-01")), None);
        let only_block = DunningSettings::new(&[], None, Some(30)).unwrap();
        assert_eq!(
            next_step(&sample(), &only_block, date("2027-01-30")),
            Some(DunningStep::Block)
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        let field = |r: Result<DunningSettings, (&'static str, Invalid)>| r.unwrap_err().0;
        assert_eq!(
            field(DunningSettings::new(&[10, 3], None, None)),
            "reminderDays"
        );
        assert_eq!(
            field(DunningSettings::new(&[0], None, None)),
            "reminderDays"
        );
        assert_eq!(
            field(DunningSettings::new(&[1, 2, 3, 4, 5, 6], None, None)),
            "reminderDays"
        );
        assert_eq!(
            field(DunningSettings::new(
                &[3],
                Some("60.01".parse().unwrap()),
                None
            )),
            "reminderFee"
        );
        assert_eq!(
            field(DunningSettings::new(&[3], Some(Decimal::ZERO), None)),
            "reminderFee"
        );
        assert_eq!(
            field(DunningSettings::new(
                &[3],
                Some("1.001".parse().unwrap()),
                None
            )),
            "reminderFee"
        );
        assert_eq!(
            field(DunningSettings::new(&[3, 10], None, Some(10))),
            "blockDays"
        );
        assert_eq!(
            field(DunningSettings::new(&[3], None, Some(400))),
            "blockDays"
        );
        assert!(DunningSettings::new(&[3, 10], Some(Decimal::from(60)), Some(17)).is_ok());
    }
}
