//! Credit notes (kreditfakturor): documents of their own kind that correct
//! an issued invoice, wholly or in part. A credit note has its own gapless
//! number series per issuer (`K1`, `K2`, …), names the invoice it credits by
//! number, and has negative amounts: a line per credited session or fee or
//! charge line (its amounts as invoiced), or one line of an amount at a VAT
//! rate of the invoice, then VAT per rate and the totals.
//!
//! What may be credited: each invoice line once, an amount at a rate only
//! up to what of that rate is left uncredited, and never more in all than
//! the invoice's gross. The invoice keeps a reference to each of its credit
//! notes ([`CreditNoteRef`]), so what is left is known from the invoice and
//! its notes.

use super::fee::{check_amount, check_text, check_vat_rate, Amounts};
use super::invoice::{Buyer, Invoice, InvoiceId, InvoiceNumber, Seller, VatAmount};
use super::Invalid;
use crate::user::UserId;
use crate::{OrgId, SessionId, Timestamp};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// The prefix of every credit note's number: `K` (kredit), so a credit
/// note's number never reads as an invoice's.
pub const PREFIX: &str = "K";

/// The number of the `seq`th credit note of an issuer.
pub fn number(seq: u64) -> Result<InvoiceNumber, Invalid> {
    InvoiceNumber::new(PREFIX, seq)
}

/// What a credit note's line credits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CreditedItem {
    /// A session line of the invoice, whole.
    Session(SessionId),
    /// A fee or one-off charge line of the invoice (by its fee's or
    /// charge's id), whole.
    Charge(String),
    /// An amount at one of the invoice's VAT rates.
    Amount,
}

impl CreditedItem {
    /// `session:{id}`, `charge:{id}`, `amount`: how views name it.
    pub fn key(&self) -> String {
        match self {
            CreditedItem::Session(s) => format!("session:{s}"),
            CreditedItem::Charge(c) => format!("charge:{c}"),
            CreditedItem::Amount => "amount".into(),
        }
    }
}

/// One line of a credit note: negative amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLine {
    pub item: CreditedItem,
    pub description: String,
    pub vat_rate: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// A credit note as issued.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditNote {
    pub org_id: OrgId,
    /// `K{seq}` of the issuer's credit note series.
    pub number: InvoiceNumber,
    pub invoice_id: InvoiceId,
    /// The credited invoice's number, as printed.
    pub invoice_number: InvoiceNumber,
    pub user_id: UserId,
    pub currency: String,
    pub issue_date: NaiveDate,
    pub reason: String,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<CreditLine>,
    /// Per VAT rate, lowest first, negative.
    pub vat: Vec<VatAmount>,
    pub net: Decimal,
    pub vat_total: Decimal,
    pub gross: Decimal,
    /// Who issued it (`user:{id}`, `key:{id}`).
    pub created_by: String,
    pub created_at: Timestamp,
}

impl CreditNote {
    /// What it takes off the invoice: its gross as a positive amount.
    pub fn credited(&self) -> Decimal {
        -self.gross
    }

    /// The reference the invoice keeps of it.
    pub fn reference(&self) -> CreditNoteRef {
        CreditNoteRef {
            number: self.number.clone(),
            issue_date: self.issue_date,
            credited: self.credited(),
        }
    }
}

/// What an invoice keeps of one of its credit notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteRef {
    pub number: InvoiceNumber,
    pub issue_date: NaiveDate,
    /// The note's gross, positive.
    pub credited: Decimal,
}

/// An amount to credit: as net or gross, at a VAT rate of the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditAmount {
    pub amount: Decimal,
    pub includes_vat: bool,
    pub vat_rate: Decimal,
}

/// What an organisation admin asks to credit. At least one of `sessions`,
/// `charges` and `amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRequest {
    pub sessions: Vec<SessionId>,
    /// Fee or charge ids of the invoice's charge lines.
    pub charges: Vec<String>,
    pub amount: Option<CreditAmount>,
    pub reason: String,
}

/// Why a credit note cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditRefused {
    /// The request does not parse or names what the invoice does not
    /// have (a 400): the field and why.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// More than is left uncredited, or a line credited before (a 409).
    #[error("{0}")]
    Exceeds(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> CreditRefused {
    CreditRefused::Invalid {
        field,
        message: message.into(),
    }
}

/// The issuer's and buyer's details, the number and the dates of a new
/// credit note.
#[derive(Debug, Clone)]
pub struct CreditHeader {
    pub number: InvoiceNumber,
    pub issue_date: NaiveDate,
    pub created_by: String,
    pub created_at: Timestamp,
}

impl CreditRequest {
    /// Checks the reason and the amount's figures (the invoice is not
    /// needed for that).
    pub fn check(&self) -> Result<(), CreditRefused> {
        check_text("reason", &self.reason).map_err(|e| invalid("reason", e.0))?;
        if self.sessions.is_empty() && self.charges.is_empty() && self.amount.is_none() {
            return Err(invalid(
                "sessions",
                "name sessions, charges or an amount to credit",
            ));
        }
        if let Some(a) = &self.amount {
            check_amount("amount.amount", a.amount).map_err(|e| invalid("amount.amount", e.0))?;
            check_vat_rate("amount.vatRate", a.vat_rate)
                .map_err(|e| invalid("amount.vatRate", e.0))?;
        }
        Ok(())
    }
}

/// A credit note of `invoice` for what `request` asks, given the notes
/// issued for it before (`previous`). Refuses lines the invoice does not
/// have (`Invalid`), lines credited before and more than is left at a rate
/// or in all (`Exceeds`).
pub fn credit(
    invoice: &Invoice,
    previous: &[CreditNote],
    request: &CreditRequest,
    header: CreditHeader,
) -> Result<CreditNote, CreditRefused> {
    request.check()?;
    let overflow = || CreditRefused::Exceeds("the amounts overflow".into());
    let credited_before: BTreeSet<CreditedItem> = previous
        .iter()
        .flat_map(|n| n.lines.iter().map(|l| l.item.clone()))
        .filter(|i| *i != CreditedItem::Amount)
        .collect();
    let mut lines = Vec::new();
    let mut seen = BTreeSet::new();
    for s in &request.sessions {
        let item = CreditedItem::Session(s.clone());
        let Some(l) = invoice.lines.iter().find(|l| &l.session_id == s) else {
            return Err(invalid(
                "sessions",
                format!("session {s} is not on invoice {}", invoice.number),
            ));
        };
        if credited_before.contains(&item) || !seen.insert(item.clone()) {
            return Err(CreditRefused::Exceeds(format!(
                "session {s} of invoice {} is credited already",
                invoice.number
            )));
        }
        lines.push(CreditLine {
            item,
            description: format!("{} {}", l.station_id, l.session_id),
            vat_rate: l.vat_rate,
            net: -l.net,
            vat: -l.vat,
            gross: -l.gross,
        });
    }
    for c in &request.charges {
        let item = CreditedItem::Charge(c.clone());
        let Some(l) = invoice.charges.iter().find(|l| l.source_id() == c) else {
            return Err(invalid(
                "charges",
                format!("{c} is not a fee or charge of invoice {}", invoice.number),
            ));
        };
        if credited_before.contains(&item) || !seen.insert(item.clone()) {
            return Err(CreditRefused::Exceeds(format!(
                "{c} of invoice {} is credited already",
                invoice.number
            )));
        }
        lines.push(CreditLine {
            item,
            description: l.description.clone(),
            vat_rate: l.vat_rate,
            net: -l.net,
            vat: -l.vat,
            gross: -l.gross,
        });
    }
    if let Some(a) = &request.amount {
        if !invoice.vat.iter().any(|v| v.rate == a.vat_rate) {
            let rates: Vec<String> = invoice.vat.iter().map(|v| v.rate.to_string()).collect();
            return Err(invalid(
                "amount.vatRate",
                format!(
                    "invoice {} has no line at {}; its rates are {}",
                    invoice.number,
                    a.vat_rate,
                    rates.join(", ")
                ),
            ));
        }
        let am = Amounts::of(a.amount, a.includes_vat, a.vat_rate).ok_or_else(overflow)?;
        lines.push(CreditLine {
            item: CreditedItem::Amount,
            description: request.reason.trim().to_owned(),
            vat_rate: a.vat_rate,
            net: -am.net,
            vat: -am.vat,
            gross: -am.gross,
        });
    }
    // Per rate: what the invoice has, less what was credited before, must
    // cover this note's lines of the rate.
    let mut per_rate: BTreeMap<Decimal, VatAmount> = BTreeMap::new();
    for l in &lines {
        let sum = per_rate.entry(l.vat_rate).or_insert(VatAmount {
            rate: l.vat_rate,
            net: Decimal::ZERO,
            vat: Decimal::ZERO,
            gross: Decimal::ZERO,
        });
        sum.net = sum.net.checked_add(l.net).ok_or_else(overflow)?;
        sum.vat = sum.vat.checked_add(l.vat).ok_or_else(overflow)?;
        sum.gross = sum.gross.checked_add(l.gross).ok_or_else(overflow)?;
    }
    for v in per_rate.values() {
        let invoiced = invoice
            .vat
            .iter()
            .find(|i| i.rate == v.rate)
            .map_or(Decimal::ZERO, |i| i.gross);
        let before = previous
            .iter()
            .flat_map(|n| n.vat.iter())
            .filter(|p| p.rate == v.rate)
            .try_fold(Decimal::ZERO, |s, p| s.checked_sub(p.gross))
            .ok_or_else(overflow)?;
        let left = invoiced.checked_sub(before).ok_or_else(overflow)?;
        let asked = -v.gross;
        if asked > left {
            return Err(CreditRefused::Exceeds(format!(
                "invoice {} has {left} {} left uncredited at VAT rate {}, less than the {asked} asked",
                invoice.number, invoice.currency, v.rate
            )));
        }
    }
    let (mut net, mut vat_total, mut gross) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for v in per_rate.values() {
        net = net.checked_add(v.net).ok_or_else(overflow)?;
        vat_total = vat_total.checked_add(v.vat).ok_or_else(overflow)?;
        gross = gross.checked_add(v.gross).ok_or_else(overflow)?;
    }
    let before_all = invoice.credited().ok_or_else(overflow)?;
    let left = invoice.gross.checked_sub(before_all).ok_or_else(overflow)?;
    if -gross > left {
        return Err(CreditRefused::Exceeds(format!(
            "invoice {} has {left} {} left uncredited, less than the {} asked",
            invoice.number, invoice.currency, -gross
        )));
    }
    Ok(CreditNote {
        org_id: invoice.org_id.clone(),
        number: header.number,
        invoice_id: invoice.id.clone(),
        invoice_number: invoice.number.clone(),
        user_id: invoice.user_id.clone(),
        currency: invoice.currency.clone(),
        issue_date: header.issue_date,
        reason: request.reason.trim().to_owned(),
        seller: invoice.seller.clone(),
        buyer: invoice.buyer.clone(),
        lines,
        vat: per_rate.into_values().collect(),
        net,
        vat_total,
        gross,
        created_by: header.created_by,
        created_at: header.created_at,
    })
}

/// Sums `lines` per rate and in all, as [`credit`] does: what a stored
/// note's totals must be.
pub fn totals(lines: &[CreditLine]) -> Option<(Vec<VatAmount>, Decimal, Decimal, Decimal)> {
    let mut per_rate: BTreeMap<Decimal, VatAmount> = BTreeMap::new();
    for l in lines {
        if l.net.checked_add(l.vat)? != l.gross || l.gross > Decimal::ZERO {
            return None;
        }
        let sum = per_rate.entry(l.vat_rate).or_insert(VatAmount {
            rate: l.vat_rate,
            net: Decimal::ZERO,
            vat: Decimal::ZERO,
            gross: Decimal::ZERO,
        });
        sum.net = sum.net.checked_add(l.net)?;
        sum.vat = sum.vat.checked_add(l.vat)?;
        sum.gross = sum.gross.checked_add(l.gross)?;
    }
    let (mut net, mut vat, mut gross) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for v in per_rate.values() {
        net = net.checked_add(v.net)?;
        vat = vat.checked_add(v.vat)?;
        gross = gross.checked_add(v.gross)?;
    }
    Some((per_rate.into_values().collect(), net, vat, gross))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::invoice::tests::sample;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn header(seq: u64) -> CreditHeader {
        CreditHeader {
            number: number(seq).unwrap(),
            issue_date: "2026-12-10".parse().unwrap(),
            created_by: "user:usr_01JABCDEFGHJKMNPQRSTVWXYZ9".into(),
            created_at: "2026-12-10T09:00:00Z".parse().unwrap(),
        }
    }

    fn request() -> CreditRequest {
        CreditRequest {
            sessions: vec![],
            charges: vec![],
            amount: None,
            reason: "Fel pris".into(),
        }
    }

    /// Issues `note` on `invoice` as the store would keep it.
    fn keep(invoice: &mut Invoice, note: &CreditNote) {
        invoice.credit_notes.push(note.reference());
    }

    #[test]
    fn a_session_line_is_credited_whole_and_once() {
        let mut inv = sample();
        let mut r = request();
        r.sessions = vec![SessionId::parse("CP-1~1").unwrap()];
        let note = credit(&inv, &[], &r, header(1)).unwrap();
        assert_eq!(note.number.to_string(), "K1");
        assert_eq!(
            (note.net, note.vat_total, note.gross),
            (dec("-40.00"), dec("-10.00"), dec("-50.00"))
        );
        assert_eq!(note.vat.len(), 1);
        assert_eq!(note.invoice_number, inv.number);
        keep(&mut inv, &note);
        assert_eq!(inv.credited(), Some(dec("50.00")));
        let again = credit(&inv, std::slice::from_ref(&note), &r, header(2));
        assert!(matches!(again, Err(CreditRefused::Exceeds(_))), "{again:?}");
        r.sessions = vec![SessionId::parse("CP-9~1").unwrap()];
        assert!(matches!(
            credit(&inv, &[], &r, header(2)),
            Err(CreditRefused::Invalid {
                field: "sessions",
                ..
            })
        ));
    }

    #[test]
    fn an_amount_is_capped_by_what_its_rate_has_left() {
        // The sample: 25 %: 40 + 10 = 50; 6 %: 100 + 6 = 106.
        let mut inv = sample();
        let mut r = request();
        r.amount = Some(CreditAmount {
            amount: dec("30"),
            includes_vat: true,
            vat_rate: dec("0.25"),
        });
        let first = credit(&inv, &[], &r, header(1)).unwrap();
        assert_eq!(
            (first.net, first.vat_total, first.gross),
            (dec("-24.00"), dec("-6.00"), dec("-30.00"))
        );
        keep(&mut inv, &first);
        // 20 left at 25 %: 25 gross is too much, 20 is all of it.
        r.amount.as_mut().unwrap().amount = dec("25");
        let over = credit(&inv, std::slice::from_ref(&first), &r, header(2));
        assert!(matches!(over, Err(CreditRefused::Exceeds(ref m)) if m.contains("20.00")));
        r.amount.as_mut().unwrap().amount = dec("20");
        let second = credit(&inv, std::slice::from_ref(&first), &r, header(2)).unwrap();
        assert_eq!(second.gross, dec("-20.00"));
        // A rate the invoice does not have is a bad request.
        r.amount.as_mut().unwrap().vat_rate = dec("0.12");
        assert!(matches!(
            credit(&inv, &[], &r, header(2)),
            Err(CreditRefused::Invalid {
                field: "amount.vatRate",
                ..
            })
        ));
        // A net amount gets its VAT.
        r.amount = Some(CreditAmount {
            amount: dec("10"),
            includes_vat: false,
            vat_rate: dec("0.06"),
        });
        let net = credit(&inv, &[], &r, header(2)).unwrap();
        assert_eq!(
            (net.net, net.vat_total, net.gross),
            (dec("-10.00"), dec("-0.60"), dec("-10.60"))
        );
        assert_eq!(totals(&net.lines).unwrap().3, net.gross);
    }

    #[test]
    fn a_request_names_something_and_a_reason() {
        let inv = sample();
        assert!(matches!(
            credit(&inv, &[], &request(), header(1)),
            Err(CreditRefused::Invalid {
                field: "sessions",
                ..
            })
        ));
        let mut r = request();
        r.sessions = vec![SessionId::parse("CP-1~3").unwrap()];
        r.reason = " ".into();
        assert!(matches!(
            credit(&inv, &[], &r, header(1)),
            Err(CreditRefused::Invalid {
                field: "reason",
                ..
            })
        ));
    }
}
