//! The monthly settlement of an organisation: what its drivers paid into
//! the client funds in a month, the platform's fee for the month, and the
//! payout of what the platform holds for it. Every figure is derived from
//! the ledger ([`settle`]); the fee and the payout are ledger transactions
//! of their own (`platform-fee:{period}`, `payout:{period}`), so a month is
//! settled once and reads the same ever after.
//!
//! The identity a settlement proves, to the öre, as of the month's end and
//! with the month's own fee and payout: paid in (ever) = payouts + fees +
//! held.

use super::invoice::{InvoiceId, InvoiceNumber};
use super::ledger::{Account, LedgerReference, LedgerTransaction, Side};
use super::period::Period;
use super::Invalid;
use crate::user::UserId;
use crate::{OrgId, Timestamp};
use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

/// The VAT rate on the platform's fee (a service sold to the
/// organisation), in percent.
pub const FEE_VAT_PERCENT: Decimal = Decimal::from_parts(25, 0, 0, false, 0);

/// An organisation's payout contract with the platform: the day of the
/// month its previous month is settled and paid out, and the platform's
/// fee (a percentage of what was paid in, and/or a fixed amount per
/// station and month, both net of VAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutTerms {
    day: u8,
    fee_percent: Decimal,
    fee_per_station: Decimal,
}

impl Default for PayoutTerms {
    /// The 25th; no fee until a contract says so.
    fn default() -> Self {
        PayoutTerms {
            day: 25,
            fee_percent: Decimal::ZERO,
            fee_per_station: Decimal::ZERO,
        }
    }
}

impl PayoutTerms {
    /// The most a fixed fee per station and month may be.
    pub const MAX_PER_STATION: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);

    /// A day of the month from 1 to 28; a percentage from 0 to 100 with at
    /// most two decimals; an amount per station from 0 to 100 000 with at
    /// most two decimals. A refusal names its field (`day`, `feePercent`,
    /// `feePerStation`).
    pub fn new(
        day: i64,
        fee_percent: Decimal,
        fee_per_station: Decimal,
    ) -> Result<Self, (&'static str, Invalid)> {
        let day = u8::try_from(day)
            .ok()
            .filter(|d| (1..=28).contains(d))
            .ok_or(("day", Invalid("a day of the month from 1 to 28".into())))?;
        let two_places = |d: Decimal| d.normalize().scale() <= 2;
        if fee_percent.is_sign_negative()
            || fee_percent > Decimal::ONE_HUNDRED
            || !two_places(fee_percent)
        {
            return Err((
                "feePercent",
                Invalid("a percentage from 0 to 100 with at most two decimals".into()),
            ));
        }
        if fee_per_station.is_sign_negative()
            || fee_per_station > Self::MAX_PER_STATION
            || !two_places(fee_per_station)
        {
            return Err((
                "feePerStation",
                Invalid("an amount from 0 to 100000 with at most two decimals".into()),
            ));
        }
        Ok(PayoutTerms {
            day,
            fee_percent: fee_percent.normalize(),
            fee_per_station: fee_per_station.normalize(),
        })
    }

    pub fn day(&self) -> u8 {
        self.day
    }

    pub fn fee_percent(&self) -> Decimal {
        self.fee_percent
    }

    pub fn fee_per_station(&self) -> Decimal {
        self.fee_per_station
    }
}

/// The reference of a month's platform fee.
pub fn fee_reference(period: Period) -> LedgerReference {
    LedgerReference::parse(format!("platform-fee:{period}")).expect("a period is digits and -")
}

/// The reference of a month's payout.
pub fn payout_reference(period: Period) -> LedgerReference {
    LedgerReference::parse(format!("payout:{period}")).expect("a period is digits and -")
}

fn period_of(tx: &LedgerTransaction, prefix: &str) -> Option<Period> {
    tx.reference
        .as_str()
        .strip_prefix(prefix)
        .and_then(|p| Period::parse(p).ok())
}

/// Rounded to the öre, half away from zero.
fn ore(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The platform's fee of a month: net, its VAT and gross.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fee {
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    /// How it was reckoned, in words (kept on its ledger transaction).
    pub basis: String,
}

impl Fee {
    /// `percent` of `paid_in` plus `per_station` for each of `stations`,
    /// each rounded to the öre; VAT at [`FEE_VAT_PERCENT`].
    pub fn reckon(terms: &PayoutTerms, paid_in: Decimal, stations: u32) -> Result<Fee, Invalid> {
        let overflow = || Invalid("the fee overflows".into());
        let share = ore(paid_in
            .checked_mul(terms.fee_percent)
            .ok_or_else(overflow)?
            / Decimal::ONE_HUNDRED);
        let fixed = terms
            .fee_per_station
            .checked_mul(Decimal::from(stations))
            .ok_or_else(overflow)?;
        let net = share.checked_add(fixed).ok_or_else(overflow)?;
        let vat =
            ore(net.checked_mul(FEE_VAT_PERCENT).ok_or_else(overflow)? / Decimal::ONE_HUNDRED);
        Ok(Fee {
            net,
            vat,
            gross: net.checked_add(vat).ok_or_else(overflow)?,
            basis: format!(
                "{} % of {} paid in = {}; {} station(s) × {} = {}",
                terms.fee_percent, paid_in, share, stations, terms.fee_per_station, fixed
            ),
        })
    }

    /// A booked fee read back from its transaction.
    fn of(tx: &LedgerTransaction) -> Fee {
        let sum = |want: &dyn Fn(&Account) -> bool, side: Side| -> Decimal {
            tx.postings()
                .iter()
                .filter(|p| p.side == side && want(&p.account))
                .map(|p| p.amount)
                .sum()
        };
        Fee {
            net: sum(&|a| *a == Account::PlatformFeeIncome, Side::Credit),
            vat: sum(&|a| *a == Account::PlatformVat, Side::Credit),
            gross: sum(
                &|a| matches!(a, Account::OrganisationPayable { .. }),
                Side::Debit,
            ),
            basis: tx.description.clone(),
        }
    }
}

/// What is known of the month besides the ledger.
#[derive(Debug, Clone)]
pub struct SettlementInput<'a> {
    pub org_id: &'a OrgId,
    pub period: Period,
    /// The organisation's zone: the month's bounds are its midnights.
    pub zone: Tz,
    pub terms: PayoutTerms,
    /// Stations the fixed fee is reckoned on.
    pub stations: u32,
    /// `None`: a payout may be made; else why not (no payout account, no
    /// client-funds account set up).
    pub payout_blocked: Option<String>,
}

/// A payment booked in the month that was made after its invoice's due
/// date: paid late. It is part of the month's `paid_in` (and paid out with
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatePayment {
    /// The payment's ledger reference (its id, e.g. `bgmax:17:000000000001`).
    pub payment: LedgerReference,
    pub invoice_id: InvoiceId,
    pub invoice_number: InvoiceNumber,
    pub driver: UserId,
    /// The driver's name as the invoice has it.
    pub driver_name: String,
    /// The month the invoice was for.
    pub invoice_period: Period,
    pub due_date: NaiveDate,
    /// What this payment paid of the invoice.
    pub amount: Decimal,
    /// The day the payer paid (as the provider reported it).
    pub paid_on: NaiveDate,
}

/// A payment booked in the month: its ledger transaction's reference, what
/// it credited the organisation's receivables, and when it was booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthPayment {
    pub reference: LedgerReference,
    pub amount: Decimal,
    pub recorded_at: Timestamp,
}

/// The payments booked in `input.period` to the organisation's drivers'
/// receivables (those `paid_in` sums), in booking order.
pub fn payments_of_month(
    input: &SettlementInput<'_>,
    ledger: &[LedgerTransaction],
    currency: &str,
) -> Vec<MonthPayment> {
    let (start, end) = (
        input.period.start_in(input.zone),
        input.period.end_in(input.zone),
    );
    let mut out: Vec<MonthPayment> = ledger
        .iter()
        .filter(|t| {
            t.org_id == *input.org_id
                && t.currency == currency
                && t.recorded_at >= start
                && t.recorded_at < end
                && t.postings().iter().any(|p| {
                    p.side == Side::Debit && matches!(p.account, Account::ProviderClearing { .. })
                })
        })
        .filter_map(|t| {
            let amount: Decimal = t
                .postings()
                .iter()
                .filter(|p| {
                    p.side == Side::Credit
                        && matches!(&p.account, Account::DriverReceivable { org, .. } if org == input.org_id)
                })
                .map(|p| p.amount)
                .sum();
            (amount > Decimal::ZERO).then(|| MonthPayment {
                reference: t.reference.clone(),
                amount,
                recorded_at: t.recorded_at,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.recorded_at, a.reference.as_str()).cmp(&(b.recorded_at, b.reference.as_str()))
    });
    out
}

/// A month settled (or to be): every figure from the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub org_id: OrgId,
    pub period: Period,
    pub currency: String,
    /// Payments booked in the month (to the organisation's receivables).
    pub paid_in: Decimal,
    pub payments: u64,
    /// Paid at the organisation's chargers in the month without an invoice
    /// (card holds captured at a session's price): revenue the platform
    /// collected for it.
    pub public_revenue: Decimal,
    /// Refunded to drivers in the month (their credit after a credit note
    /// on a paid invoice, given back): money that left the client funds.
    pub refunded: Decimal,
    pub refunds: u64,
    /// What drivers still owed at the month's end (invoices and fees not
    /// paid).
    pub unpaid_at_end: Decimal,
    pub stations: u32,
    /// The month's fee: booked (`fee_booked`) or as it would be now.
    pub fee: Fee,
    pub fee_booked: bool,
    /// The month's payout: booked (`payout_booked_at`) or as it would be.
    pub payout: Decimal,
    pub payout_booked_at: Option<Timestamp>,
    /// Why no payout is made, when none can be.
    pub payout_blocked: Option<String>,
    /// Paid in (invoices and at the chargers) up to the month's end, less
    /// what was refunded.
    pub paid_in_total: Decimal,
    /// Fees up to and with the month's.
    pub fees_total: Decimal,
    /// Payouts up to and with the month's.
    pub payouts_total: Decimal,
    /// What the platform still holds for the organisation after the
    /// month's payout (negative: fees it owes).
    pub held: Decimal,
    /// Drivers' credits at the month's end (paid beyond what they owe, a
    /// credit note on a paid invoice not yet refunded): held back from
    /// the payout, since it is theirs to be refunded.
    pub driver_credit: Decimal,
    /// The month's payments made after their invoice's due date (see
    /// [`LatePayment`]), by the day paid; and their sum, part of `paid_in`.
    pub late_payments: Vec<LatePayment>,
    pub paid_late: Decimal,
}

impl Settlement {
    /// Paid in = payouts + fees + held, to the öre.
    /// The late payments itemised sum to `paid_late`, which is part of
    /// `paid_in`.
    pub fn reconciles(&self) -> bool {
        let itemised = self
            .late_payments
            .iter()
            .try_fold(Decimal::ZERO, |s, p| s.checked_add(p.amount));
        self.payouts_total + self.fees_total + self.held == self.paid_in_total
            && itemised == Some(self.paid_late)
            && self.paid_late <= self.paid_in
    }

    /// Itemises the month's late payments (sorted by the day paid, then
    /// the invoice's number) and sums them.
    pub fn with_late_payments(mut self, mut items: Vec<LatePayment>) -> Result<Self, Invalid> {
        items.sort_by(|a, b| {
            (a.paid_on, a.invoice_number.to_string(), a.payment.as_str()).cmp(&(
                b.paid_on,
                b.invoice_number.to_string(),
                b.payment.as_str(),
            ))
        });
        self.paid_late = items
            .iter()
            .try_fold(Decimal::ZERO, |s, p| s.checked_add(p.amount))
            .ok_or_else(|| Invalid("the late payments' sum overflows".into()))?;
        self.late_payments = items;
        Ok(self)
    }
}

/// The settlement of `input.period` from the organisation's ledger (every
/// transaction of it, in any order). Amounts in `currency` only.
pub fn settle(
    input: &SettlementInput<'_>,
    ledger: &[LedgerTransaction],
    currency: &str,
) -> Result<Settlement, Invalid> {
    let (start, end) = (
        input.period.start_in(input.zone),
        input.period.end_in(input.zone),
    );
    let overflow = || Invalid("the ledger's sums overflow".into());
    let add = |a: Decimal, b: Decimal| a.checked_add(b).ok_or_else(overflow);
    let mut s = Settlement {
        org_id: input.org_id.clone(),
        period: input.period,
        currency: currency.to_owned(),
        paid_in: Decimal::ZERO,
        payments: 0,
        public_revenue: Decimal::ZERO,
        refunded: Decimal::ZERO,
        refunds: 0,
        unpaid_at_end: Decimal::ZERO,
        stations: input.stations,
        fee: Fee::default(),
        fee_booked: false,
        payout: Decimal::ZERO,
        payout_booked_at: None,
        payout_blocked: input.payout_blocked.clone(),
        paid_in_total: Decimal::ZERO,
        fees_total: Decimal::ZERO,
        payouts_total: Decimal::ZERO,
        held: Decimal::ZERO,
        driver_credit: Decimal::ZERO,
        late_payments: Vec::new(),
        paid_late: Decimal::ZERO,
    };
    // Each driver's receivable at the month's end (negative: a credit).
    let mut receivables: std::collections::BTreeMap<&Account, Decimal> = Default::default();
    let mut booked_fee = None;
    let mut booked_payout = None;
    for tx in ledger
        .iter()
        .filter(|t| t.org_id == *input.org_id && t.currency == currency)
    {
        if let Some(p) = period_of(tx, "platform-fee:") {
            if p == input.period {
                booked_fee = Some(Fee::of(tx));
            } else if p < input.period {
                s.fees_total = add(s.fees_total, Fee::of(tx).gross)?;
            }
            continue;
        }
        if let Some(p) = period_of(tx, "payout:") {
            if p == input.period {
                booked_payout = Some((tx.amount(), tx.recorded_at));
            } else if p < input.period {
                s.payouts_total = add(s.payouts_total, tx.amount())?;
            }
            continue;
        }
        if tx.recorded_at >= end {
            continue;
        }
        let is_payment = tx.postings().iter().any(|p| {
            p.side == Side::Debit && matches!(p.account, Account::ProviderClearing { .. })
        });
        for p in tx.postings() {
            if let Account::DriverReceivable { org, .. } = &p.account {
                if org != input.org_id {
                    continue;
                }
                let balance = receivables.entry(&p.account).or_default();
                *balance = match p.side {
                    Side::Debit => balance.checked_add(p.amount),
                    Side::Credit => balance.checked_sub(p.amount),
                }
                .ok_or_else(overflow)?;
                match p.side {
                    Side::Debit => s.unpaid_at_end = add(s.unpaid_at_end, p.amount)?,
                    Side::Credit => {
                        s.unpaid_at_end -= p.amount;
                        if is_payment {
                            s.paid_in_total = add(s.paid_in_total, p.amount)?;
                            if tx.recorded_at >= start {
                                s.paid_in = add(s.paid_in, p.amount)?;
                            }
                        }
                    }
                }
            }
        }
        if is_payment && tx.recorded_at >= start {
            s.payments += 1;
        }
        // A refund: the money left a clearing account for a driver.
        let is_refund = tx.postings().iter().any(|p| {
            p.side == Side::Credit && matches!(p.account, Account::ProviderClearing { .. })
        }) && tx.postings().iter().any(|p| {
            p.side == Side::Debit
                && matches!(&p.account, Account::DriverReceivable { org, .. } if org == input.org_id)
        });
        if is_refund {
            let amount = tx.amount();
            s.paid_in_total = s.paid_in_total.checked_sub(amount).ok_or_else(overflow)?;
            if tx.recorded_at >= start {
                s.refunded = add(s.refunded, amount)?;
                s.refunds += 1;
            }
        }
        // Paid at a charger: straight to the organisation's payable.
        if is_payment {
            for p in tx.postings() {
                if p.side == Side::Credit
                    && matches!(&p.account, Account::OrganisationPayable { org } if org == input.org_id)
                {
                    s.paid_in_total = add(s.paid_in_total, p.amount)?;
                    if tx.recorded_at >= start {
                        s.public_revenue = add(s.public_revenue, p.amount)?;
                    }
                }
            }
        }
    }
    s.fee_booked = booked_fee.is_some();
    s.fee = match booked_fee {
        Some(fee) => fee,
        None => Fee::reckon(
            &input.terms,
            add(s.paid_in, s.public_revenue)?
                .checked_sub(s.refunded)
                .ok_or_else(overflow)?
                .max(Decimal::ZERO),
            input.stations,
        )?,
    };
    s.fees_total = add(s.fees_total, s.fee.gross)?;
    s.driver_credit = receivables
        .values()
        .filter(|b| b.is_sign_negative())
        .try_fold(Decimal::ZERO, |sum, b| sum.checked_sub(*b))
        .ok_or_else(overflow)?;
    let before_payout = s.paid_in_total - s.fees_total - s.payouts_total;
    match booked_payout {
        Some((amount, at)) => {
            s.payout = amount;
            s.payout_booked_at = Some(at);
            s.payout_blocked = None;
        }
        None if s.payout_blocked.is_none() => {
            s.payout = (before_payout - s.driver_credit).max(Decimal::ZERO)
        }
        None => {}
    }
    s.payouts_total = add(s.payouts_total, s.payout)?;
    s.held = before_payout - s.payout;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::ledger::Posting;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn org() -> OrgId {
        OrgId::parse("brf-solsidan").unwrap()
    }

    fn user() -> UserId {
        UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ1").unwrap()
    }

    fn receivable() -> Account {
        Account::DriverReceivable {
            org: org(),
            user: user(),
        }
    }

    fn tx(reference: &str, at: &str, postings: Vec<Posting>) -> LedgerTransaction {
        LedgerTransaction::new(
            org(),
            LedgerReference::parse(reference).unwrap(),
            "SEK".into(),
            reference.into(),
            postings,
            at.parse().unwrap(),
        )
        .unwrap()
    }

    fn invoice(reference: &str, at: &str, amount: &str) -> LedgerTransaction {
        tx(
            reference,
            at,
            vec![
                Posting::debit(receivable(), d(amount)),
                Posting::credit(Account::OrganisationPayable { org: org() }, d(amount)),
            ],
        )
    }

    fn payment(reference: &str, at: &str, amount: &str) -> LedgerTransaction {
        tx(
            reference,
            at,
            vec![
                Posting::debit(
                    Account::ProviderClearing {
                        provider: "bankgiro".into(),
                    },
                    d(amount),
                ),
                Posting::credit(receivable(), d(amount)),
            ],
        )
    }

    fn input(period: &str, terms: PayoutTerms) -> SettlementInput<'static> {
        static ORG: std::sync::OnceLock<OrgId> = std::sync::OnceLock::new();
        SettlementInput {
            org_id: ORG.get_or_init(org),
            period: Period::parse(period).unwrap(),
            zone: chrono_tz::Europe::Stockholm,
            terms,
            stations: 3,
            payout_blocked: None,
        }
    }

    #[test]
    fn terms_refuse_what_no_contract_says_and_name_the_field() {
        assert_eq!(PayoutTerms::default().day(), 25);
        let t = PayoutTerms::new(10, d("2.50"), d("49")).unwrap();
        assert_eq!((t.fee_percent(), t.fee_per_station()), (d("2.5"), d("49")));
        for (day, pct, fixed, field) in [
            (0, "1", "0", "day"),
            (29, "1", "0", "day"),
            (5, "-1", "0", "feePercent"),
            (5, "100.01", "0", "feePercent"),
            (5, "1.001", "0", "feePercent"),
            (5, "1", "-0.01", "feePerStation"),
            (5, "1", "100000.01", "feePerStation"),
            (5, "1", "0.005", "feePerStation"),
        ] {
            assert_eq!(
                PayoutTerms::new(day, d(pct), d(fixed)).unwrap_err().0,
                field
            );
        }
    }

    #[test]
    fn a_month_pays_out_what_was_paid_in_less_the_fee_and_reconciles() {
        let terms = PayoutTerms::new(25, d("2.5"), d("10")).unwrap();
        let mut ledger = vec![
            invoice("invoice:F-1", "2026-11-02T08:00:00Z", "500.00"),
            invoice("invoice:F-2", "2026-11-02T08:00:00Z", "333.33"),
            // Stockholm's November starts at 23:00 UTC on 31 October.
            payment("bgmax:1", "2026-10-31T23:30:00Z", "500.00"),
            payment("bgmax:2", "2026-11-30T22:59:59Z", "100.00"),
            // December in Stockholm: not November's.
            payment("bgmax:3", "2026-11-30T23:00:00Z", "233.33"),
        ];
        let s = settle(&input("2026-11", terms), &ledger, "SEK").unwrap();
        assert_eq!((s.paid_in, s.payments), (d("600.00"), 2));
        assert_eq!(s.unpaid_at_end, d("233.33"));
        // 2.5 % of 600 = 15.00, 3 × 10 = 30; VAT 25 % of 45 = 11.25.
        assert_eq!(
            (s.fee.net, s.fee.vat, s.fee.gross),
            (d("45.00"), d("11.25"), d("56.25"))
        );
        assert!(!s.fee_booked);
        assert_eq!(s.payout, d("543.75"));
        assert_eq!(s.held, Decimal::ZERO);
        assert!(s.reconciles());

        // Booked, the month reads the same, and December carries on.
        ledger.push(tx(
            "platform-fee:2026-11",
            "2026-12-25T06:00:00Z",
            vec![
                Posting::debit(Account::OrganisationPayable { org: org() }, d("56.25")),
                Posting::credit(Account::PlatformFeeIncome, d("45.00")),
                Posting::credit(Account::PlatformVat, d("11.25")),
            ],
        ));
        ledger.push(tx(
            "payout:2026-11",
            "2026-12-25T06:00:01Z",
            vec![
                Posting::debit(Account::OrganisationPayable { org: org() }, d("543.75")),
                Posting::credit(Account::Payouts { org: org() }, d("543.75")),
            ],
        ));
        let again = settle(&input("2026-11", terms), &ledger, "SEK").unwrap();
        assert!(again.fee_booked && again.payout_booked_at.is_some());
        assert_eq!(
            (again.fee.gross, again.payout, again.held),
            (d("56.25"), d("543.75"), d("0"))
        );
        let dec = settle(&input("2026-12", terms), &ledger, "SEK").unwrap();
        assert_eq!(dec.paid_in, d("233.33"));
        assert_eq!(dec.fees_total, d("56.25") + dec.fee.gross);
        assert!(dec.reconciles());
        assert_eq!(dec.held, Decimal::ZERO);
    }

    fn refund(reference: &str, at: &str, amount: &str) -> LedgerTransaction {
        tx(
            reference,
            at,
            vec![
                Posting::debit(receivable(), d(amount)),
                Posting::credit(
                    Account::ProviderClearing {
                        provider: "stripe".into(),
                    },
                    d(amount),
                ),
            ],
        )
    }

    fn credit_note(reference: &str, at: &str, amount: &str) -> LedgerTransaction {
        tx(
            reference,
            at,
            vec![
                Posting::debit(Account::OrganisationPayable { org: org() }, d(amount)),
                Posting::credit(receivable(), d(amount)),
            ],
        )
    }

    #[test]
    fn a_credited_paid_invoice_and_its_refund_reconcile_to_the_ore() {
        let terms = PayoutTerms::new(25, d("10"), d("0")).unwrap();
        let mut ledger = vec![
            invoice("invoice:F-1", "2026-11-02T08:00:00Z", "100.00"),
            payment("stripe:pi_1", "2026-11-05T08:00:00Z", "100.00"),
            credit_note("credit-note:K1", "2026-11-10T08:00:00Z", "40.00"),
        ];
        // Credited, not yet refunded: the driver's 40 is held back.
        let s = settle(&input("2026-11", terms), &ledger, "SEK").unwrap();
        assert_eq!(
            (s.paid_in, s.refunded, s.driver_credit),
            (d("100.00"), d("0"), d("40.00"))
        );
        assert_eq!(
            (s.fee.gross, s.payout, s.held),
            (d("12.50"), d("47.50"), d("40.00"))
        );
        assert!(s.reconciles());
        // Refunded 40 in the month: paid in 100 = fee on 60 (7.50) + payout 52.50 + held 0, less 40 refunded.
        ledger.push(refund("refund:rf_1", "2026-11-12T08:00:00Z", "40.00"));
        let s = settle(&input("2026-11", terms), &ledger, "SEK").unwrap();
        assert_eq!(
            (s.paid_in, s.refunded, s.refunds),
            (d("100.00"), d("40.00"), 1)
        );
        assert_eq!(
            (s.paid_in_total, s.driver_credit, s.unpaid_at_end),
            (d("60.00"), d("0"), d("0"))
        );
        assert_eq!(
            (s.fee.gross, s.payout, s.held),
            (d("7.50"), d("52.50"), d("0"))
        );
        assert!(s.reconciles());
        assert_eq!(s.paid_in - s.refunded, s.payout + s.fee.gross + s.held);
        // A refund in December, after November's payout paid out what was
        // held then: December owes it (held below zero) and reconciles.
        let mut ledger = ledger[..3].to_vec();
        ledger.push(tx(
            "platform-fee:2026-11",
            "2026-12-25T06:00:00Z",
            vec![
                Posting::debit(Account::OrganisationPayable { org: org() }, d("12.50")),
                Posting::credit(Account::PlatformFeeIncome, d("10.00")),
                Posting::credit(Account::PlatformVat, d("2.50")),
            ],
        ));
        ledger.push(tx(
            "payout:2026-11",
            "2026-12-25T06:00:01Z",
            vec![
                Posting::debit(Account::OrganisationPayable { org: org() }, d("47.50")),
                Posting::credit(Account::Payouts { org: org() }, d("47.50")),
            ],
        ));
        ledger.push(refund("refund:rf_2", "2026-12-27T08:00:00Z", "40.00"));
        let dec = settle(&input("2026-12", terms), &ledger, "SEK").unwrap();
        assert_eq!(
            (dec.paid_in, dec.refunded, dec.driver_credit),
            (d("0"), d("40.00"), d("0"))
        );
        assert_eq!(
            (dec.fee.gross, dec.payout, dec.held),
            (d("0"), d("0"), d("0"))
        );
        assert!(dec.reconciles());
    }

    #[test]
    fn the_months_payments_are_found_and_late_ones_itemised_to_the_ore() {
        let ledger = vec![
            invoice("invoice:F-1", "2026-10-02T08:00:00Z", "500.00"),
            payment("bgmax:1", "2026-10-31T22:59:59Z", "1.00"),
            payment("bgmax:2", "2026-11-03T10:00:00Z", "200.10"),
            payment("bgmax:3", "2026-11-20T10:00:00Z", "99.90"),
            payment("bgmax:4", "2026-11-30T23:00:00Z", "5.00"),
        ];
        let input = input("2026-11", PayoutTerms::default());
        let found = payments_of_month(&input, &ledger, "SEK");
        let refs: Vec<&str> = found.iter().map(|p| p.reference.as_str()).collect();
        assert_eq!(refs, ["bgmax:2", "bgmax:3"]);
        let s = settle(&input, &ledger, "SEK").unwrap();
        assert_eq!(s.paid_in, d("300.00"));
        let late = |p: &MonthPayment, day: &str| LatePayment {
            payment: p.reference.clone(),
            invoice_id: InvoiceId::new(&org(), Period::parse("2026-10").unwrap(), &user()),
            invoice_number: InvoiceNumber::new("", 1).unwrap(),
            driver: user(),
            driver_name: "Ada".into(),
            invoice_period: Period::parse("2026-10").unwrap(),
            due_date: "2026-10-31".parse().unwrap(),
            amount: p.amount,
            paid_on: day.parse().unwrap(),
        };
        let s = s
            .with_late_payments(vec![
                late(&found[1], "2026-11-19"),
                late(&found[0], "2026-11-02"),
            ])
            .unwrap();
        assert_eq!(s.paid_late, d("300.00"));
        assert_eq!(s.late_payments[0].paid_on.to_string(), "2026-11-02");
        assert!(s.reconciles());
        // An itemisation that does not sum to the total does not reconcile.
        let mut broken = s.clone();
        broken.late_payments.pop();
        assert!(!broken.reconciles());
    }

    #[test]
    fn paid_at_a_charger_is_revenue_of_the_month_and_paid_out() {
        let terms = PayoutTerms::new(25, d("10"), d("0")).unwrap();
        let captured = tx(
            "stripe-capture:pi_1",
            "2026-11-10T10:00:00Z",
            vec![
                Posting::debit(
                    Account::ProviderClearing {
                        provider: "stripe".into(),
                    },
                    d("20.00"),
                ),
                Posting::credit(Account::OrganisationPayable { org: org() }, d("20.00")),
            ],
        );
        let s = settle(&input("2026-11", terms), &[captured], "SEK").unwrap();
        assert_eq!(
            (s.paid_in, s.public_revenue, s.paid_in_total),
            (d("0"), d("20.00"), d("20.00"))
        );
        // 10 % of 20 = 2.00 + VAT 0.50.
        assert_eq!(
            (s.fee.gross, s.payout, s.held),
            (d("2.50"), d("17.50"), d("0"))
        );
        assert!(s.reconciles());
    }

    #[test]
    fn a_fee_above_what_came_in_pays_nothing_out_and_is_owed() {
        let terms = PayoutTerms::new(25, d("0"), d("100")).unwrap();
        let ledger = vec![payment("bgmax:1", "2026-11-10T10:00:00Z", "50.00")];
        let s = settle(&input("2026-11", terms), &ledger, "SEK").unwrap();
        assert_eq!(s.fee.gross, d("375.00"));
        assert_eq!(s.payout, Decimal::ZERO);
        assert_eq!(s.held, d("-325.00"));
        assert!(s.reconciles());
        let mut blocked = input("2026-11", PayoutTerms::default());
        blocked.payout_blocked = Some("no payout account".into());
        let s = settle(&blocked, &ledger, "SEK").unwrap();
        assert_eq!((s.payout, s.held), (Decimal::ZERO, d("50.00")));
        assert!(s.reconciles());
    }
}
