//! Invoices to drivers: one per organisation, driver and period, with a
//! line per priced session, a line per monthly fee and one-off charge of
//! the period ([`ChargeLine`]), VAT per rate and the totals, a number of the
//! issuer's gapless series and an OCR reference made from it.

use super::credit_note::CreditNoteRef;
use super::dunning::{InvoiceBlock, InvoiceDispute, Reminder};
use super::fee::{ChargeId, FeeId};
use super::ocr::OcrReference;
use super::payment::CardAttempt;
use super::period::Period;
use super::Invalid;
use crate::pricing::PricedSession;
use crate::user::{BuyerCompany, UserId};
use crate::{OrgId, SessionId, StationId, Timestamp};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;

/// An invoice's id, made from what it is for: `{org}~{period}~{user}`. A
/// re-run of a period finds the invoice it made before by this id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceId(String);

impl InvoiceId {
    pub fn new(org: &OrgId, period: Period, user: &UserId) -> Self {
        InvoiceId(format!("{org}~{period}~{user}"))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid(format!("{s:?} is not an invoice id"));
        let mut parts = s.split('~');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(org), Some(period), Some(user), None) => {
                let org = OrgId::parse(org).map_err(|_| bad())?;
                let period = Period::parse(period).map_err(|_| bad())?;
                let user = UserId::parse(user).map_err(|_| bad())?;
                Ok(InvoiceId::new(&org, period, &user))
            }
            _ => Err(bad()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A number of an issuer's series: its prefix (may be empty) and the
/// sequence number, 1, 2, 3… with no gaps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceNumber {
    prefix: String,
    seq: u64,
}

impl InvoiceNumber {
    pub const MAX_PREFIX: usize = 10;

    /// A prefix of at most 10 ASCII capital letters, digits and `-`
    /// (not ending in a digit, so the number reads back); `seq` from 1.
    pub fn new(prefix: &str, seq: u64) -> Result<Self, Invalid> {
        let ok = prefix.len() <= Self::MAX_PREFIX
            && prefix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && !prefix.ends_with(|c: char| c.is_ascii_digit());
        if !ok {
            return Err(Invalid(format!(
                "an invoice number's prefix is up to {} capital letters, digits and -, not ending in a digit",
                Self::MAX_PREFIX
            )));
        }
        if seq == 0 {
            return Err(Invalid("an invoice number's sequence starts at 1".into()));
        }
        Ok(InvoiceNumber {
            prefix: prefix.to_owned(),
            seq,
        })
    }

    /// `{prefix}{seq}`, e.g. `F-17`.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let digits = s.len() - s.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
        let (prefix, seq) = s.split_at(digits);
        let seq = seq
            .parse::<u64>()
            .map_err(|_| Invalid(format!("{s:?} is not an invoice number")))?;
        Self::new(prefix, seq)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The OCR reference that pays this invoice: its sequence number with
    /// the length and check digits.
    pub fn ocr(&self) -> OcrReference {
        OcrReference::from_base(self.seq)
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix, self.seq)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    /// Issued and not paid.
    Issued,
    /// Payments cover part of the gross amount.
    PartlyPaid,
    /// Payments cover the gross amount (an overpayment's surplus is noted
    /// on the payment).
    Paid,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 3] = [
        InvoiceStatus::Issued,
        InvoiceStatus::PartlyPaid,
        InvoiceStatus::Paid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::PartlyPaid => "partlyPaid",
            InvoiceStatus::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Invalid(format!(
                    "{s:?} is not an invoice status (issued, partlyPaid, paid)"
                ))
            })
    }

    /// The status of an invoice of `gross` of which `paid` is paid.
    pub fn of_paid(gross: Decimal, paid: Decimal) -> Self {
        if paid >= gross {
            InvoiceStatus::Paid
        } else if paid > Decimal::ZERO {
            InvoiceStatus::PartlyPaid
        } else {
            InvoiceStatus::Issued
        }
    }
}

/// Who issues the invoice, as printed on it when issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub legal_name: String,
    pub organisation_number: Option<String>,
    pub vat_number: Option<String>,
    /// The address on one line, if the organisation has one.
    pub address: Option<String>,
}

/// Who is invoiced, as printed on it when issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// Whom the driver charged for when the invoice was issued: kept with
    /// the invoice, so a later change of the driver's company (Swedish
    /// bookkeeping forbids changing an issued invoice) alters no issued
    /// document.
    pub charged_for: ChargedFor,
}

/// Whom the driver charged for, as it stood when a document was issued.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChargedFor {
    /// Issued before this was kept: read from the driver's current record,
    /// as such documents always were.
    #[default]
    Unrecorded,
    /// The driver charged privately.
    Private,
    /// The driver charged for this company.
    Company(BuyerCompany),
}

impl ChargedFor {
    /// What the driver's record says now, to keep at issue.
    pub fn of(company: Option<&BuyerCompany>) -> Self {
        company.map_or(ChargedFor::Private, |c| ChargedFor::Company(c.clone()))
    }

    /// The company as issued, or `current` (the driver's record now) for a
    /// document issued before the company was kept.
    pub fn company<'a>(&'a self, current: Option<&'a BuyerCompany>) -> Option<&'a BuyerCompany> {
        match self {
            ChargedFor::Unrecorded => current,
            ChargedFor::Private => None,
            ChargedFor::Company(c) => Some(c),
        }
    }
}

/// One charging session on the invoice, with its priced amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub session_id: SessionId,
    pub station_id: StationId,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub energy_kwh: Decimal,
    /// The tariff the session was priced by and the revision of its price.
    pub tariff_name: String,
    pub price_revision: u32,
    pub vat_rate: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

impl InvoiceLine {
    /// The line of a priced session (its latest revision): the amounts as
    /// the pricing rounded them.
    pub fn of(priced: &PricedSession) -> Self {
        InvoiceLine {
            session_id: priced.session_id.clone(),
            station_id: priced.station_id.clone(),
            started_at: priced.started_at,
            ended_at: priced.ended_at,
            energy_kwh: priced.energy_wh / Decimal::ONE_THOUSAND,
            tariff_name: priced.tariff_name.clone(),
            price_revision: priced.revision,
            vat_rate: priced.vat_rate,
            net: priced.net,
            vat: priced.vat,
            gross: priced.gross,
        }
    }
}

/// What a line other than a session charges for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeKind {
    /// A recurring monthly fee for the days of the period it was active
    /// (`from`..=`to`), `days` of `days_in_month`.
    Fee {
        fee_id: FeeId,
        from: NaiveDate,
        to: NaiveDate,
        days: u32,
        days_in_month: u32,
    },
    /// A one-off charge of `date`.
    OneOff {
        charge_id: ChargeId,
        date: NaiveDate,
    },
}

/// A fee's or one-off charge's line on the invoice: a copy of what it
/// charged when the invoice was issued (a later change of the fee does not
/// change an issued invoice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeLine {
    pub kind: ChargeKind,
    /// The fee's name or the charge's description.
    pub description: String,
    pub vat_rate: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

impl ChargeLine {
    /// The fee's or charge's id.
    pub fn source_id(&self) -> &str {
        match &self.kind {
            ChargeKind::Fee { fee_id, .. } => fee_id.as_str(),
            ChargeKind::OneOff { charge_id, .. } => charge_id.as_str(),
        }
    }
}

/// The amounts of one VAT rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VatAmount {
    pub rate: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// What an invoice is made of before its totals are summed.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceParts {
    pub org_id: OrgId,
    pub period: Period,
    pub number: InvoiceNumber,
    pub currency: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<InvoiceLine>,
    /// Fees and one-off charges, after the sessions.
    pub charges: Vec<ChargeLine>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: InvoiceId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub period: Period,
    pub number: InvoiceNumber,
    pub ocr: OcrReference,
    pub status: InvoiceStatus,
    pub currency: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<InvoiceLine>,
    /// Fees and one-off charges (none on invoices issued before they existed).
    pub charges: Vec<ChargeLine>,
    /// Per VAT rate, lowest rate first.
    pub vat: Vec<VatAmount>,
    pub net: Decimal,
    pub vat_total: Decimal,
    pub gross: Decimal,
    pub created_at: Timestamp,
    /// The reminders sent for it, in order (none until it is overdue).
    pub reminders: Vec<Reminder>,
    /// The block its being unpaid put on the driver, if it came to that.
    pub block: Option<InvoiceBlock>,
    /// Its last dispute: an open one pauses dunning and the saved card.
    pub dispute: Option<InvoiceDispute>,
    /// Charges of the driver's saved card, in order.
    pub card_attempts: Vec<CardAttempt>,
    /// Its credit notes, in order (written with each note, in one write).
    pub credit_notes: Vec<CreditNoteRef>,
    /// Its refunds, in order (written with the invoice, at its version).
    pub refunds: Vec<super::refund::Refund>,
    pub version: u64,
}

impl Invoice {
    /// Not paid in full and `today` (the organisation's local date) is
    /// after the due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status != InvoiceStatus::Paid && today > self.due_date
    }

    /// The reminder fees charged so far (`None` on overflow).
    pub fn reminder_fees(&self) -> Option<Decimal> {
        self.reminders
            .iter()
            .filter_map(|r| r.fee)
            .try_fold(Decimal::ZERO, |s, f| s.checked_add(f))
    }

    /// What its credit notes took off (`None` on overflow).
    pub fn credited(&self) -> Option<Decimal> {
        self.credit_notes
            .iter()
            .try_fold(Decimal::ZERO, |s, n| s.checked_add(n.credited))
    }

    /// Whether it blocks its driver now.
    pub fn blocks(&self) -> bool {
        self.block.as_ref().is_some_and(InvoiceBlock::active)
    }

    /// Sums the lines per VAT rate and in all. Refuses an invoice without
    /// lines, a due date before the invoice date, a line whose gross is not
    /// its net plus VAT, and sums that overflow.
    pub fn issue(parts: InvoiceParts) -> Result<Invoice, Invalid> {
        let InvoiceParts {
            org_id,
            period,
            number,
            currency,
            issue_date,
            due_date,
            seller,
            buyer,
            lines,
            charges,
            created_at,
        } = parts;
        if lines.is_empty() && charges.is_empty() {
            return Err(Invalid("an invoice has at least one line".into()));
        }
        if due_date < issue_date {
            return Err(Invalid("the due date is before the invoice date".into()));
        }
        let overflow = || Invalid("the invoice's amounts overflow".into());
        let mut per_rate: BTreeMap<Decimal, VatAmount> = BTreeMap::new();
        let amounts = lines
            .iter()
            .map(|l| (l.session_id.as_str(), l.vat_rate, l.net, l.vat, l.gross))
            .chain(
                charges
                    .iter()
                    .map(|l| (l.source_id(), l.vat_rate, l.net, l.vat, l.gross)),
            );
        for (what, rate, line_net, line_vat, line_gross) in amounts {
            if line_net.checked_add(line_vat) != Some(line_gross) {
                return Err(Invalid(format!(
                    "{what}: gross {line_gross} is not net {line_net} + VAT {line_vat}"
                )));
            }
            let sum = per_rate.entry(rate).or_insert(VatAmount {
                rate,
                net: Decimal::ZERO,
                vat: Decimal::ZERO,
                gross: Decimal::ZERO,
            });
            sum.net = sum.net.checked_add(line_net).ok_or_else(overflow)?;
            sum.vat = sum.vat.checked_add(line_vat).ok_or_else(overflow)?;
            sum.gross = sum.gross.checked_add(line_gross).ok_or_else(overflow)?;
        }
        let (mut net, mut vat_total, mut gross) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for v in per_rate.values() {
            net = net.checked_add(v.net).ok_or_else(overflow)?;
            vat_total = vat_total.checked_add(v.vat).ok_or_else(overflow)?;
            gross = gross.checked_add(v.gross).ok_or_else(overflow)?;
        }
        let user_id = buyer.user_id.clone();
        Ok(Invoice {
            id: InvoiceId::new(&org_id, period, &user_id),
            org_id,
            user_id,
            period,
            ocr: number.ocr(),
            number,
            status: InvoiceStatus::Issued,
            currency,
            issue_date,
            due_date,
            seller,
            buyer,
            lines,
            charges,
            vat: per_rate.into_values().collect(),
            net,
            vat_total,
            gross,
            created_at,
            reminders: Vec::new(),
            block: None,
            dispute: None,
            card_attempts: Vec::new(),
            credit_notes: Vec::new(),
            refunds: Vec::new(),
            version: 1,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An invoice of 166.00 due 2026-12-31.
    pub(crate) fn sample() -> Invoice {
        Invoice::issue(parts(vec![
            line("CP-1~1", "0.25", "40.00", "10.00", "50.00"),
            line("CP-1~3", "0.06", "100.00", "6.00", "106.00"),
        ]))
        .unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(session: &str, rate: &str, net: &str, vat: &str, gross: &str) -> InvoiceLine {
        InvoiceLine {
            session_id: SessionId::parse(session).unwrap(),
            station_id: StationId::parse("CP-1").unwrap(),
            started_at: "2026-11-03T17:00:00Z".parse().unwrap(),
            ended_at: "2026-11-03T19:00:00Z".parse().unwrap(),
            energy_kwh: dec("12.5"),
            tariff_name: "Home".into(),
            price_revision: 1,
            vat_rate: dec(rate),
            net: dec(net),
            vat: dec(vat),
            gross: dec(gross),
        }
    }

    fn parts(lines: Vec<InvoiceLine>) -> InvoiceParts {
        InvoiceParts {
            org_id: OrgId::parse("brf-solsidan").unwrap(),
            period: Period::parse("2026-11").unwrap(),
            number: InvoiceNumber::new("", 7).unwrap(),
            currency: "SEK".into(),
            issue_date: "2026-12-01".parse().unwrap(),
            due_date: "2026-12-31".parse().unwrap(),
            seller: Seller {
                legal_name: "BRF Solsidan".into(),
                organisation_number: Some("769600-1234".into()),
                vat_number: Some("SE769600123401".into()),
                address: None,
            },
            buyer: Buyer {
                user_id: UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ0").unwrap(),
                name: "Ada".into(),
                email: "ada@example.com".into(),
                charged_for: ChargedFor::Private,
            },
            lines,
            charges: Vec::new(),
            created_at: "2026-12-01T06:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn fees_and_charges_are_summed_with_the_sessions() {
        let mut p = parts(vec![line("CP-1~1", "0.25", "40.00", "10.00", "50.00")]);
        p.charges = vec![
            ChargeLine {
                kind: ChargeKind::Fee {
                    fee_id: FeeId::generate(),
                    from: "2026-11-16".parse().unwrap(),
                    to: "2026-11-30".parse().unwrap(),
                    days: 15,
                    days_in_month: 30,
                },
                description: "Parkeringsplats 12".into(),
                vat_rate: dec("0.25"),
                net: dec("200.00"),
                vat: dec("50.00"),
                gross: dec("250.00"),
            },
            ChargeLine {
                kind: ChargeKind::OneOff {
                    charge_id: ChargeId::generate(),
                    date: "2026-11-20".parse().unwrap(),
                },
                description: "Nyckelbricka".into(),
                vat_rate: dec("0"),
                net: dec("30"),
                vat: dec("0"),
                gross: dec("30"),
            },
        ];
        let inv = Invoice::issue(p.clone()).unwrap();
        assert_eq!(
            (inv.net, inv.vat_total, inv.gross),
            (dec("270.00"), dec("60.00"), dec("330.00"))
        );
        assert_eq!(inv.vat.len(), 2);
        assert_eq!(
            (inv.vat[1].rate, inv.vat[1].net),
            (dec("0.25"), dec("240.00"))
        );
        // Fees alone make an invoice; a line that does not add up does not.
        p.lines.clear();
        assert_eq!(Invoice::issue(p.clone()).unwrap().gross, dec("280.00"));
        p.charges[1].gross = dec("31");
        assert!(Invoice::issue(p).is_err());
    }

    #[test]
    fn totals_and_vat_per_rate_are_the_lines_sums() {
        let inv = Invoice::issue(parts(vec![
            line("CP-1~1", "0.25", "40.00", "10.00", "50.00"),
            line("CP-1~2", "0.25", "8.00", "2.00", "10.00"),
            line("CP-1~3", "0.06", "100.00", "6.00", "106.00"),
        ]))
        .unwrap();
        assert_eq!(
            (inv.net, inv.vat_total, inv.gross),
            (dec("148.00"), dec("18.00"), dec("166.00"))
        );
        assert_eq!(inv.vat.len(), 2);
        assert_eq!(
            (inv.vat[0].rate, inv.vat[0].gross),
            (dec("0.06"), dec("106.00"))
        );
        assert_eq!(
            (inv.vat[1].rate, inv.vat[1].net),
            (dec("0.25"), dec("48.00"))
        );
        assert_eq!(inv.ocr.as_str(), "737");
        assert_eq!(
            inv.id.as_str(),
            "brf-solsidan~2026-11~usr_01JABCDEFGHJKMNPQRSTVWXYZ0"
        );
        assert_eq!(InvoiceId::parse(inv.id.as_str()), Ok(inv.id.clone()));
    }

    #[test]
    fn bad_invoices_are_refused() {
        assert!(Invoice::issue(parts(vec![])).is_err());
        assert!(Invoice::issue(parts(vec![line("CP-1~1", "0.25", "40", "10", "49")])).is_err());
        let mut p = parts(vec![line("CP-1~1", "0.25", "40", "10", "50")]);
        p.due_date = "2026-11-30".parse().unwrap();
        assert!(Invoice::issue(p).is_err());
    }

    #[test]
    fn numbers_and_ids_parse_back() {
        for (prefix, seq) in [("", 1), ("F-", 17), ("BRF", u64::MAX)] {
            let n = InvoiceNumber::new(prefix, seq).unwrap();
            assert_eq!(InvoiceNumber::parse(&n.to_string()), Ok(n));
        }
        assert!(InvoiceNumber::new("F1", 1).is_err());
        assert!(InvoiceNumber::new("f", 1).is_err());
        assert!(InvoiceNumber::new("", 0).is_err());
        assert!(InvoiceNumber::parse("F-").is_err());
        for bad in [
            "a~2026-11",
            "a~2026-13~usr_01JABCDEFGHJKMNPQRSTVWXYZ0",
            "a~b~c~d",
        ] {
            assert!(InvoiceId::parse(bad).is_err(), "{bad}");
        }
    }
}
