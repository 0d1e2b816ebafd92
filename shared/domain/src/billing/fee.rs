//! What a monthly invoice charges besides sessions: an organisation's
//! recurring monthly fees (a parking space, a membership) for one driver or
//! every member of a user group, charged pro rata for part months, and
//! one-off charges to one driver on a date.
//!
//! # Pro rata
//! A fee is active from its start date to its end date, both included (no
//! end date: until further notice). In a month it is charged
//! `amount × active days ÷ days in the month`, rounded to öre (two
//! decimals) half away from zero; a whole month is the amount itself. The
//! amount is net or gross as the fee says: a net amount gets its VAT
//! (rounded to öre the same way) added, a gross amount has its net taken
//! out (`gross ÷ (1 + rate)`, rounded) and VAT is the difference, so the
//! gross on the invoice is the gross the fee names.

use super::period::Period;
use super::Invalid;
use crate::user::UserId;
use crate::{OrgId, Timestamp};
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// The largest amount a fee or charge may name (per month or once).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
/// The longest name or description, in characters.
pub const MAX_TEXT: usize = 200;

macro_rules! ulid_id {
    ($name:ident, $prefix:literal, $what:literal) => {
        #[doc = concat!("A ", $what, "'s id: `", $prefix, "` followed by a ULID.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                $name(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                let ok = s
                    .strip_prefix(Self::PREFIX)
                    .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok());
                match ok {
                    true => Ok($name(s.to_owned())),
                    false => Err(Invalid(format!("{s:?} is not a {}", $what))),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

ulid_id!(FeeId, "fee_", "fee id");
ulid_id!(ChargeId, "chg_", "one-off charge id");

/// Who a fee is charged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeeTarget {
    /// One driver, a person of the organisation.
    Driver(UserId),
    /// Every person holding one of the organisation's identifiers of this
    /// user group when the month is invoiced.
    Group(String),
}

/// An amount with its VAT: what one invoice line of a fee or charge holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// Rounded to öre, half away from zero, and written with two decimals.
fn ore(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

impl Amounts {
    /// `amount` as net (`includes_vat` false) or gross, at `vat_rate`,
    /// rounded to öre; `None` on overflow.
    pub fn of(amount: Decimal, includes_vat: bool, vat_rate: Decimal) -> Option<Amounts> {
        let amount = ore(amount);
        let (net, vat) = if includes_vat {
            let net = ore(amount.checked_div(Decimal::ONE.checked_add(vat_rate)?)?);
            (net, amount.checked_sub(net)?)
        } else {
            (amount, ore(amount.checked_mul(vat_rate)?))
        };
        Some(Amounts {
            net,
            vat,
            gross: net.checked_add(vat)?,
        })
    }
}

/// A fee's charge in one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProRata {
    /// The first and last day of the month the fee was active.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: u32,
    pub days_in_month: u32,
    /// The month's amount for those days, rounded to öre (net or gross as
    /// the fee's amount is).
    pub amount: Decimal,
}

/// What a fee of `monthly` active from `start` to `end` (both included;
/// `None`: no end) charges in `period`; `None` when it was not active in
/// the month or the amount overflows. See the module's rule.
pub fn pro_rata(
    monthly: Decimal,
    period: Period,
    start: NaiveDate,
    end: Option<NaiveDate>,
) -> Option<ProRata> {
    let (first, last) = (period.first_day(), period.last_day());
    let from = start.max(first);
    let to = end.map_or(last, |e| e.min(last));
    if from > to {
        return None;
    }
    let days = u32::try_from((to - from).num_days() + 1).ok()?;
    let days_in_month = last.day();
    let amount = match days == days_in_month {
        true => ore(monthly),
        false => ore(monthly
            .checked_mul(Decimal::from(days))?
            .checked_div(Decimal::from(days_in_month))?),
    };
    Some(ProRata {
        from,
        to,
        days,
        days_in_month,
        amount,
    })
}

/// Checks a name or description: 1–200 characters, not only spaces, no
/// control characters.
pub fn check_text(field: &str, s: &str) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT || t.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "{field} is 1–{MAX_TEXT} characters without control characters"
        )));
    }
    Ok(t.to_owned())
}

/// Checks an amount: more than 0, at most [`MAX_AMOUNT`], in öre.
pub fn check_amount(field: &str, d: Decimal) -> Result<Decimal, Invalid> {
    if d <= Decimal::ZERO || d > MAX_AMOUNT || d.scale() > 2 && d != ore(d) {
        return Err(Invalid(format!(
            "{field} is more than 0 and at most {MAX_AMOUNT}, in öre (two decimals)"
        )));
    }
    Ok(d.normalize())
}

/// Checks a VAT rate: a fraction from 0 up to (not including) 1, e.g. 0.25.
pub fn check_vat_rate(field: &str, d: Decimal) -> Result<Decimal, Invalid> {
    if d < Decimal::ZERO || d >= Decimal::ONE {
        return Err(Invalid(format!(
            "{field} is a fraction from 0 to below 1 (0.25 for 25 %)"
        )));
    }
    Ok(d.normalize())
}

/// A recurring monthly fee of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub id: FeeId,
    pub org_id: OrgId,
    /// As printed on the invoice line, e.g. "Parkeringsplats 12".
    pub name: String,
    pub target: FeeTarget,
    /// Per whole month.
    pub amount: Decimal,
    /// Whether `amount` includes VAT (gross) or not (net).
    pub includes_vat: bool,
    pub vat_rate: Decimal,
    /// The first day charged.
    pub start: NaiveDate,
    /// The last day charged, if it ends.
    pub end: Option<NaiveDate>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// 1 when created, +1 each change.
    pub version: u64,
}

impl Fee {
    /// Refuses an end before the start and amounts out of range; names the field.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        check_amount("amount", self.amount).map_err(|e| ("amount", e))?;
        check_vat_rate("vatRate", self.vat_rate).map_err(|e| ("vatRate", e))?;
        check_text("name", &self.name).map_err(|e| ("name", e))?;
        if self.end.is_some_and(|e| e < self.start) {
            return Err(("end", Invalid("end is before start".into())));
        }
        Ok(())
    }

    /// The fee's charge in `period` with its VAT, if it was active then.
    pub fn charge_in(&self, period: Period) -> Option<(ProRata, Amounts)> {
        let p = pro_rata(self.amount, period, self.start, self.end)?;
        let a = Amounts::of(p.amount, self.includes_vat, self.vat_rate)?;
        Some((p, a))
    }
}

/// A charge to one driver, once, on the invoice of the month of its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOffCharge {
    pub id: ChargeId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub description: String,
    pub amount: Decimal,
    pub includes_vat: bool,
    pub vat_rate: Decimal,
    pub date: NaiveDate,
    pub created_at: Timestamp,
}

impl OneOffCharge {
    /// The month whose invoice it goes on.
    pub fn period(&self) -> Option<Period> {
        Period::of(self.date)
    }

    pub fn amounts(&self) -> Option<Amounts> {
        Amounts::of(self.amount, self.includes_vat, self.vat_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn month(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    #[test]
    fn a_whole_month_is_the_amount() {
        let p = pro_rata(dec("500"), month("2026-11"), day("2026-01-15"), None).unwrap();
        assert_eq!((p.days, p.days_in_month, p.amount), (30, 30, dec("500")));
        assert_eq!((p.from, p.to), (day("2026-11-01"), day("2026-11-30")));
    }

    #[test]
    fn a_start_in_the_month_charges_the_days_from_it() {
        // 16 of 30 days: 500 × 16 / 30 = 266.666… → 266.67.
        let p = pro_rata(dec("500"), month("2026-11"), day("2026-11-15"), None).unwrap();
        assert_eq!((p.days, p.amount), (16, dec("266.67")));
    }

    #[test]
    fn february_has_its_own_days() {
        // 2027: 28 days; ends on the 14th: 14 / 28 of 300 = 150.
        let p = pro_rata(
            dec("300"),
            month("2027-02"),
            day("2026-12-01"),
            Some(day("2027-02-14")),
        )
        .unwrap();
        assert_eq!((p.days, p.days_in_month, p.amount), (14, 28, dec("150.00")));
        // 2028 is a leap year: 29 days; 10 days of 290 = 100.
        let p = pro_rata(dec("290"), month("2028-02"), day("2028-02-20"), None).unwrap();
        assert_eq!((p.days, p.days_in_month, p.amount), (10, 29, dec("100.00")));
    }

    #[test]
    fn a_fee_ending_the_day_it_starts_charges_one_day() {
        // 1 of 31 days of 100 = 3.2258… → 3.23.
        let d = day("2026-12-10");
        let p = pro_rata(dec("100"), month("2026-12"), d, Some(d)).unwrap();
        assert_eq!((p.days, p.from, p.to, p.amount), (1, d, d, dec("3.23")));
    }

    #[test]
    fn months_outside_the_fee_charge_nothing() {
        let (s, e) = (day("2026-11-15"), Some(day("2026-12-31")));
        assert!(pro_rata(dec("100"), month("2026-10"), s, e).is_none());
        assert!(pro_rata(dec("100"), month("2027-01"), s, e).is_none());
        assert_eq!(
            pro_rata(dec("100"), month("2026-12"), s, e).unwrap().days,
            31
        );
    }

    #[test]
    fn half_an_ore_rounds_away_from_zero() {
        // 1 day of 31 of 0.31 → 0.01; 0.155 → 0.16 via 15.5 / 100 scale.
        let p = pro_rata(dec("0.31"), month("2026-12"), day("2026-12-31"), None).unwrap();
        assert_eq!(p.amount, dec("0.01"));
        let p = pro_rata(dec("0.93"), month("2026-11"), day("2026-11-16"), None).unwrap();
        // 0.93 × 15 / 30 = 0.465 → 0.47.
        assert_eq!(p.amount, dec("0.47"));
    }

    #[test]
    fn net_and_gross_amounts_get_their_vat() {
        let a = Amounts::of(dec("100"), false, dec("0.25")).unwrap();
        assert_eq!(
            (a.net, a.vat, a.gross),
            (dec("100"), dec("25.00"), dec("125.00"))
        );
        // 266.67 gross at 25 %: net 213.336 → 213.34, VAT 53.33.
        let a = Amounts::of(dec("266.67"), true, dec("0.25")).unwrap();
        assert_eq!(
            (a.net, a.vat, a.gross),
            (dec("213.34"), dec("53.33"), dec("266.67"))
        );
        let a = Amounts::of(dec("50"), true, Decimal::ZERO).unwrap();
        assert_eq!((a.net, a.vat, a.gross), (dec("50"), dec("0"), dec("50")));
        assert_eq!(a.gross.to_string(), "50.00");
    }

    #[test]
    fn inputs_are_checked() {
        assert!(check_amount("amount", dec("0")).is_err());
        assert!(check_amount("amount", dec("1.234")).is_err());
        assert!(check_amount("amount", dec("1000000.01")).is_err());
        assert_eq!(check_amount("amount", dec("12.50")).unwrap(), dec("12.5"));
        assert!(check_vat_rate("vatRate", dec("1")).is_err());
        assert!(check_vat_rate("vatRate", dec("-0.1")).is_err());
        assert!(check_text("name", "  ").is_err());
        assert!(check_text("name", "a\u{7}").is_err());
        assert_eq!(
            check_text("name", " Parkering 12 ").unwrap(),
            "Parkering 12"
        );
        let id = FeeId::generate();
        assert_eq!(FeeId::parse(id.as_str()), Ok(id));
        assert!(FeeId::parse("chg_01JABCDEFGHJKMNPQRSTVWXYZ0").is_err());
        assert!(ChargeId::parse("chg_01JABCDEFGHJKMNPQRSTVWXYZ0").is_ok());
    }
}
