//! The ledger of client funds: append-only double-entry bookkeeping. A
//! [`LedgerTransaction`] is a set of postings whose debits equal its credits
//! (it cannot be built otherwise), identified within its organisation by an
//! external reference (an invoice number, a provider's event id) so that the
//! same business event is booked once. Balances are derived from postings
//! ([`Balances`]), never stored on their own.
//!
//! Signs: an asset account (a receivable, a clearing account) grows with
//! debits; a liability or income account (what is owed to an organisation,
//! the platform's fee income) grows with credits. A balance here is always
//! debits − credits; the views name which side an account normally has.

use super::Invalid;
use crate::user::UserId;
use crate::{OrgId, Timestamp};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;

/// An account of the ledger. Its key (`as_key`) is how it is stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// What a driver owes the organisation that invoiced them (asset).
    DriverReceivable { org: OrgId, user: UserId },
    /// What the platform holds for and owes an organisation (liability).
    OrganisationPayable { org: OrgId },
    /// The platform's fee income (income), net of VAT.
    PlatformFeeIncome,
    /// The VAT on the platform's fees, owed to the tax agency (liability).
    PlatformVat,
    /// Money a payment provider collected and has not settled yet (asset).
    ProviderClearing { provider: String },
    /// Money paid out to an organisation (the payable's counterpart at payout).
    Payouts { org: OrgId },
}

impl Account {
    /// `receivable:{org}:{user}`, `payable:{org}`, `platform:fees`, `platform:vat`,
    /// `clearing:{provider}`, `payouts:{org}`.
    pub fn as_key(&self) -> String {
        match self {
            Account::DriverReceivable { org, user } => format!("receivable:{org}:{user}"),
            Account::OrganisationPayable { org } => format!("payable:{org}"),
            Account::PlatformFeeIncome => "platform:fees".into(),
            Account::PlatformVat => "platform:vat".into(),
            Account::ProviderClearing { provider } => format!("clearing:{provider}"),
            Account::Payouts { org } => format!("payouts:{org}"),
        }
    }

    pub fn parse(key: &str) -> Result<Self, Invalid> {
        let bad = |why: String| Invalid(format!("account {key:?}: {why}"));
        let org = |s: &str| OrgId::parse(s).map_err(|e| bad(e.to_string()));
        let mut parts = key.split(':');
        let account = match (parts.next(), parts.next(), parts.next()) {
            (Some("receivable"), Some(o), Some(u)) => Account::DriverReceivable {
                org: org(o)?,
                user: UserId::parse(u).map_err(|e| bad(e.to_string()))?,
            },
            (Some("payable"), Some(o), None) => Account::OrganisationPayable { org: org(o)? },
            (Some("platform"), Some("fees"), None) => Account::PlatformFeeIncome,
            (Some("platform"), Some("vat"), None) => Account::PlatformVat,
            (Some("clearing"), Some(p), None) if is_plain(p) => Account::ProviderClearing {
                provider: p.to_owned(),
            },
            (Some("payouts"), Some(o), None) => Account::Payouts { org: org(o)? },
            _ => return Err(bad("not an account of the ledger".into())),
        };
        match parts.next() {
            None => Ok(account),
            Some(_) => Err(bad("too many parts".into())),
        }
    }

    /// What kind of account it is, for views: `driverReceivable`,
    /// `organisationPayable`, `platformFeeIncome`, `platformVat`, `providerClearing`, `payouts`.
    pub fn kind(&self) -> &'static str {
        match self {
            Account::DriverReceivable { .. } => "driverReceivable",
            Account::OrganisationPayable { .. } => "organisationPayable",
            Account::PlatformFeeIncome => "platformFeeIncome",
            Account::PlatformVat => "platformVat",
            Account::ProviderClearing { .. } => "providerClearing",
            Account::Payouts { .. } => "payouts",
        }
    }
}

fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_key())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "debit" => Ok(Side::Debit),
            "credit" => Ok(Side::Credit),
            _ => Err(Invalid(format!("{s:?} is not debit or credit"))),
        }
    }
}

/// One side of a transaction on one account: a positive amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub side: Side,
    pub amount: Decimal,
}

impl Posting {
    pub fn debit(account: Account, amount: Decimal) -> Self {
        Posting {
            account,
            side: Side::Debit,
            amount,
        }
    }

    pub fn credit(account: Account, amount: Decimal) -> Self {
        Posting {
            account,
            side: Side::Credit,
            amount,
        }
    }
}

/// The external reference that makes a transaction idempotent within its
/// organisation: `invoice:{number}`, `stripe:{event id}`…
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerReference(String);

impl LedgerReference {
    pub const MAX_LEN: usize = 200;

    /// 1 to 200 of ASCII letters, digits and `-_.:`.
    pub fn parse(s: impl Into<String>) -> Result<Self, Invalid> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok {
            Ok(LedgerReference(s))
        } else {
            Err(Invalid(format!(
                "a ledger reference is 1 to {} of letters, digits and -_.:",
                Self::MAX_LEN
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LedgerReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unbalanced {
    #[error("a transaction has at least two postings")]
    TooFewPostings,
    #[error("posting {index}: the amount must be positive")]
    NotPositive { index: usize },
    #[error("the amounts overflow")]
    Overflow,
    #[error("debits {debits} do not equal credits {credits}")]
    DebitsNotCredits { debits: Decimal, credits: Decimal },
}

/// A balanced set of postings, booked once per reference and organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerTransaction {
    pub org_id: OrgId,
    pub reference: LedgerReference,
    pub currency: String,
    pub description: String,
    postings: Vec<Posting>,
    pub recorded_at: Timestamp,
}

impl LedgerTransaction {
    /// Refuses postings that do not balance (debits ≠ credits), an amount
    /// not above zero, or fewer than two postings.
    pub fn new(
        org_id: OrgId,
        reference: LedgerReference,
        currency: String,
        description: String,
        postings: Vec<Posting>,
        recorded_at: Timestamp,
    ) -> Result<Self, Unbalanced> {
        if postings.len() < 2 {
            return Err(Unbalanced::TooFewPostings);
        }
        let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
        for (index, p) in postings.iter().enumerate() {
            if p.amount <= Decimal::ZERO {
                return Err(Unbalanced::NotPositive { index });
            }
            let sum = match p.side {
                Side::Debit => &mut debits,
                Side::Credit => &mut credits,
            };
            *sum = sum.checked_add(p.amount).ok_or(Unbalanced::Overflow)?;
        }
        if debits != credits {
            return Err(Unbalanced::DebitsNotCredits { debits, credits });
        }
        Ok(LedgerTransaction {
            org_id,
            reference,
            currency,
            description,
            postings,
            recorded_at,
        })
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// The sum of the debits (= the sum of the credits).
    pub fn amount(&self) -> Decimal {
        self.postings
            .iter()
            .filter(|p| p.side == Side::Debit)
            .map(|p| p.amount)
            .sum()
    }
}

/// Debits and credits of one account (in one currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub debits: Decimal,
    pub credits: Decimal,
    pub postings: u64,
}

impl Totals {
    /// Debits − credits.
    pub fn balance(&self) -> Decimal {
        self.debits - self.credits
    }
}

/// Balances derived from transactions: per (account, currency), and the
/// grand totals per currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Balances {
    pub accounts: BTreeMap<(Account, String), Totals>,
    pub totals: BTreeMap<String, Totals>,
    pub transactions: u64,
}

impl Balances {
    /// Adds a transaction's postings; `Overflow` if a sum would overflow.
    pub fn add(&mut self, tx: &LedgerTransaction) -> Result<(), Unbalanced> {
        for p in tx.postings() {
            for t in [
                self.accounts
                    .entry((p.account.clone(), tx.currency.clone()))
                    .or_default(),
                self.totals.entry(tx.currency.clone()).or_default(),
            ] {
                let sum = match p.side {
                    Side::Debit => &mut t.debits,
                    Side::Credit => &mut t.credits,
                };
                *sum = sum.checked_add(p.amount).ok_or(Unbalanced::Overflow)?;
                t.postings += 1;
            }
        }
        self.transactions += 1;
        Ok(())
    }

    /// Whether the books balance: in every currency, debits equal credits,
    /// and the accounts' balances sum to zero.
    pub fn balanced(&self) -> bool {
        self.totals.iter().all(|(currency, t)| {
            let sum: Decimal = self
                .accounts
                .iter()
                .filter(|((_, c), _)| c == currency)
                .map(|(_, a)| a.balance())
                .sum();
            t.debits == t.credits && sum.is_zero()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn org() -> OrgId {
        OrgId::parse("brf-solsidan").unwrap()
    }

    fn user() -> UserId {
        UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ0").unwrap()
    }

    fn tx(postings: Vec<Posting>) -> Result<LedgerTransaction, Unbalanced> {
        LedgerTransaction::new(
            org(),
            LedgerReference::parse("invoice:1").unwrap(),
            "SEK".into(),
            "invoice 1".into(),
            postings,
            "2026-12-01T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn accounts_read_back_from_their_keys() {
        for a in [
            Account::DriverReceivable {
                org: org(),
                user: user(),
            },
            Account::OrganisationPayable { org: org() },
            Account::PlatformFeeIncome,
            Account::PlatformVat,
            Account::ProviderClearing {
                provider: "stripe".into(),
            },
            Account::Payouts { org: org() },
        ] {
            assert_eq!(Account::parse(&a.as_key()), Ok(a.clone()));
        }
        for bad in [
            "",
            "payable",
            "payable:a:b",
            "receivable:a",
            "clearing:",
            "platform:x",
            "x:y",
        ] {
            assert!(Account::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_balanced_transactions_are_made() {
        let receivable = Account::DriverReceivable {
            org: org(),
            user: user(),
        };
        let payable = Account::OrganisationPayable { org: org() };
        let ok = tx(vec![
            Posting::debit(receivable.clone(), dec("125.00")),
            Posting::credit(payable.clone(), dec("100.00")),
            Posting::credit(Account::PlatformFeeIncome, dec("25.00")),
        ])
        .unwrap();
        assert_eq!(ok.amount(), dec("125.00"));
        assert_eq!(
            tx(vec![
                Posting::debit(receivable.clone(), dec("125.00")),
                Posting::credit(payable.clone(), dec("124.99")),
            ]),
            Err(Unbalanced::DebitsNotCredits {
                debits: dec("125.00"),
                credits: dec("124.99")
            })
        );
        assert_eq!(
            tx(vec![Posting::debit(receivable.clone(), dec("1"))]),
            Err(Unbalanced::TooFewPostings)
        );
        assert_eq!(
            tx(vec![
                Posting::debit(receivable.clone(), dec("0")),
                Posting::credit(payable.clone(), dec("0")),
            ]),
            Err(Unbalanced::NotPositive { index: 0 })
        );
        assert_eq!(
            tx(vec![
                Posting::debit(receivable.clone(), Decimal::MAX),
                Posting::debit(receivable, Decimal::MAX),
                Posting::credit(payable, dec("1")),
            ]),
            Err(Unbalanced::Overflow)
        );
    }

    #[test]
    fn balances_are_derived_and_the_books_balance() {
        let receivable = Account::DriverReceivable {
            org: org(),
            user: user(),
        };
        let payable = Account::OrganisationPayable { org: org() };
        let mut b = Balances::default();
        for amount in ["10.50", "4.25"] {
            b.add(
                &tx(vec![
                    Posting::debit(receivable.clone(), dec(amount)),
                    Posting::credit(payable.clone(), dec(amount)),
                ])
                .unwrap(),
            )
            .unwrap();
        }
        let r = b.accounts[&(receivable, "SEK".to_owned())];
        assert_eq!(
            (r.debits, r.balance(), r.postings),
            (dec("14.75"), dec("14.75"), 2)
        );
        assert_eq!(
            b.accounts[&(payable, "SEK".to_owned())].balance(),
            dec("-14.75")
        );
        assert_eq!(b.transactions, 2);
        assert!(b.balanced());
        b.totals.get_mut("SEK").unwrap().debits += dec("1");
        assert!(!b.balanced());
    }
}
