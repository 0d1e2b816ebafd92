//! Billing records as stored: ledger transactions ([`StoredLedgerTransaction`],
//! accounts by their keys, amounts as decimal strings) and invoices
//! ([`StoredInvoice`], the seller and buyer as printed, one line per
//! session). Snake-case names, absent options left out. A stored
//! transaction that does not balance, or an invoice whose totals are not
//! its lines' sums, does not decode.

use crate::{parse, try_all, DecodeError, Record};
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::billing::credit_note::{
    self, CreditLine, CreditNote, CreditNoteRef, CreditedItem,
};
use csms_domain::billing::dunning::{InvoiceBlock, InvoiceDispute, Reminder};
use csms_domain::billing::fee::{ChargeId, Fee, FeeId, FeeTarget, OneOffCharge};
use csms_domain::billing::invoice::{
    Buyer, ChargeKind, ChargeLine, ChargedFor, Invoice, InvoiceId, InvoiceLine, InvoiceNumber,
    InvoiceParts, InvoiceStatus, Seller,
};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting, Side};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::payment::{AttemptOutcome, CardAttempt, Payment, PaymentId};
use csms_domain::billing::period::Period;
use csms_domain::billing::refund::{Refund, RefundId, RefundMethod, RefundStatus};
use csms_domain::tenant::OrganisationNumber;
use csms_domain::user::{BuyerCompany, UserId};
use csms_domain::{OrgId, SessionId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLedgerTransaction {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "reference")]
    pub reference: String,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "description")]
    pub description: String,
    #[serde(rename = "postings")]
    pub postings: Vec<StoredPosting>,
    #[serde(rename = "recorded_at")]
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPosting {
    #[serde(rename = "account")]
    pub account: String,
    /// `debit` or `credit`.
    #[serde(rename = "side")]
    pub side: String,
    #[serde(rename = "amount")]
    pub amount: Decimal,
}

impl From<&LedgerTransaction> for StoredLedgerTransaction {
    fn from(tx: &LedgerTransaction) -> Self {
        StoredLedgerTransaction {
            org_id: tx.org_id.to_string(),
            reference: tx.reference.to_string(),
            currency: tx.currency.clone(),
            description: tx.description.clone(),
            postings: tx
                .postings()
                .iter()
                .map(|p| StoredPosting {
                    account: p.account.as_key(),
                    side: p.side.as_str().into(),
                    amount: p.amount,
                })
                .collect(),
            recorded_at: tx.recorded_at,
        }
    }
}

impl TryFrom<StoredLedgerTransaction> for LedgerTransaction {
    type Error = DecodeError;

    fn try_from(s: StoredLedgerTransaction) -> Result<Self, DecodeError> {
        let postings = s
            .postings
            .into_iter()
            .map(|p| {
                Ok(Posting {
                    account: Account::parse(&p.account).map_err(DecodeError::new)?,
                    side: Side::parse(&p.side).map_err(DecodeError::new)?,
                    amount: p.amount,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        LedgerTransaction::new(
            parse("org id", s.org_id, OrgId::parse)?,
            LedgerReference::parse(s.reference).map_err(DecodeError::new)?,
            s.currency,
            s.description,
            postings,
            s.recorded_at,
        )
        .map_err(DecodeError::new)
    }
}

impl Record for LedgerTransaction {
    type Stored = StoredLedgerTransaction;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvoice {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "period")]
    pub period: String,
    /// `{prefix}{seq}`.
    #[serde(rename = "number")]
    pub number: String,
    #[serde(rename = "status")]
    pub status: String,
    /// The OCR reference, when it is not the one made from the number
    /// alone (invoices issued before billing codes leave it out and keep
    /// reading as they were issued).
    #[serde(rename = "ocr", default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<String>,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "issue_date")]
    pub issue_date: NaiveDate,
    #[serde(rename = "due_date")]
    pub due_date: NaiveDate,
    #[serde(rename = "seller")]
    pub seller: StoredSeller,
    #[serde(rename = "buyer")]
    pub buyer: StoredBuyer,
    #[serde(rename = "lines")]
    pub lines: Vec<StoredInvoiceLine>,
    /// Fees and one-off charges; absent: none (and invoices from before
    /// they existed).
    #[serde(rename = "charges", default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<StoredChargeLine>,
    /// What the invoice showed, kept to check the sums on reading.
    #[serde(rename = "gross")]
    pub gross: Decimal,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    /// Absent: none sent (invoices from before reminders existed).
    #[serde(rename = "reminders", default, skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<StoredReminder>,
    #[serde(rename = "block", default, skip_serializing_if = "Option::is_none")]
    pub block: Option<StoredInvoiceBlock>,
    /// Absent: never disputed (and invoices from before disputes).
    #[serde(rename = "dispute", default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<StoredInvoiceDispute>,
    /// Absent: no saved card was charged (invoices from before autopay).
    #[serde(
        rename = "card_attempts",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub card_attempts: Vec<StoredCardAttempt>,
    /// Absent: never credited (and invoices from before credit notes).
    #[serde(
        rename = "credit_notes",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credit_notes: Vec<StoredCreditNoteRef>,
    /// Absent: never refunded (and invoices from before refunds).
    #[serde(rename = "refunds", default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<StoredRefund>,
    #[serde(rename = "version")]
    pub version: u64,
}

/// A refund of what was paid on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRefund {
    /// `rf_{ULID}`.
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "payment_id")]
    pub payment_id: String,
    /// `stripe`, `manual`.
    #[serde(rename = "method")]
    pub method: String,
    #[serde(rename = "amount")]
    pub amount: Decimal,
    #[serde(rename = "reason")]
    pub reason: String,
    /// `pending`, `succeeded`, `failed`.
    #[serde(rename = "status")]
    pub status: String,
    /// The caller's Idempotency-Key.
    #[serde(rename = "key")]
    pub key: String,
    #[serde(
        rename = "provider_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    #[serde(
        rename = "bank_reference",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_reference: Option<String>,
    #[serde(rename = "failure", default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(rename = "created_by")]
    pub created_by: String,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(
        rename = "settled_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub settled_at: Option<DateTime<Utc>>,
}

/// What an invoice keeps of one of its credit notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCreditNoteRef {
    /// `K{seq}`.
    #[serde(rename = "number")]
    pub number: String,
    #[serde(rename = "issue_date")]
    pub issue_date: NaiveDate,
    /// The note's gross, positive.
    #[serde(rename = "credited")]
    pub credited: Decimal,
}

/// A charge of the driver's saved card for an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCardAttempt {
    #[serde(rename = "number")]
    pub number: u8,
    #[serde(rename = "on")]
    pub on: NaiveDate,
    #[serde(rename = "amount")]
    pub amount: Decimal,
    #[serde(rename = "key")]
    pub key: String,
    #[serde(rename = "intent", default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// `pending`, `succeeded`, `failed`.
    #[serde(rename = "outcome")]
    pub outcome: String,
    #[serde(rename = "reason", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
}

/// A reminder sent for an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReminder {
    #[serde(rename = "number")]
    pub number: u8,
    #[serde(rename = "on")]
    pub on: NaiveDate,
    #[serde(rename = "amount_due")]
    pub amount_due: Decimal,
    #[serde(rename = "fee", default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Decimal>,
    #[serde(rename = "recorded_at")]
    pub recorded_at: DateTime<Utc>,
    #[serde(rename = "mailed_at", default, skip_serializing_if = "Option::is_none")]
    pub mailed_at: Option<DateTime<Utc>>,
}

/// An invoice's last dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvoiceDispute {
    #[serde(rename = "reason")]
    pub reason: String,
    #[serde(rename = "by")]
    pub by: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(
        rename = "resolved_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "resolved_by",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_by: Option<String>,
    #[serde(
        rename = "resolved_on",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_on: Option<NaiveDate>,
}

/// The block an unpaid invoice put on its driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvoiceBlock {
    #[serde(rename = "on")]
    pub on: NaiveDate,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "lifted_at", default, skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<DateTime<Utc>>,
    #[serde(rename = "lifted_by", default, skip_serializing_if = "Option::is_none")]
    pub lifted_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSeller {
    #[serde(rename = "legal_name")]
    pub legal_name: String,
    #[serde(
        rename = "organisation_number",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub organisation_number: Option<String>,
    #[serde(
        rename = "vat_number",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vat_number: Option<String>,
    #[serde(rename = "address", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBuyer {
    #[serde(rename = "user_id")]
    pub user_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "email")]
    pub email: String,
    /// Whom the driver charged for at issue; absent on documents issued
    /// before it was kept (they read the driver's current record, as they
    /// always did).
    #[serde(
        rename = "charged_for",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub charged_for: Option<StoredChargedFor>,
}

/// Whom the driver charged for when the document was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredChargedFor {
    #[serde(rename = "private")]
    Private,
    #[serde(rename = "company")]
    Company {
        #[serde(rename = "legal_name")]
        legal_name: String,
        #[serde(rename = "organisation_number")]
        organisation_number: String,
    },
}

impl From<&Buyer> for StoredBuyer {
    fn from(b: &Buyer) -> Self {
        StoredBuyer {
            user_id: b.user_id.to_string(),
            name: b.name.clone(),
            email: b.email.clone(),
            charged_for: match &b.charged_for {
                ChargedFor::Unrecorded => None,
                ChargedFor::Private => Some(StoredChargedFor::Private),
                ChargedFor::Company(c) => Some(StoredChargedFor::Company {
                    legal_name: c.legal_name.clone(),
                    organisation_number: c.organisation_number.to_string(),
                }),
            },
        }
    }
}

impl TryFrom<StoredBuyer> for Buyer {
    type Error = DecodeError;

    fn try_from(s: StoredBuyer) -> Result<Self, DecodeError> {
        let charged_for = match s.charged_for {
            None => ChargedFor::Unrecorded,
            Some(StoredChargedFor::Private) => ChargedFor::Private,
            Some(StoredChargedFor::Company {
                legal_name,
                organisation_number,
            }) => ChargedFor::Company(BuyerCompany {
                organisation_number: parse(
                    "buyer's organisation number",
                    organisation_number,
                    |n| OrganisationNumber::parse(&n),
                )?,
                legal_name,
            }),
        };
        Ok(Buyer {
            user_id: parse("user id", s.user_id, UserId::parse)?,
            name: s.name,
            email: s.email,
            charged_for,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvoiceLine {
    #[serde(rename = "session_id")]
    pub session_id: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "started_at")]
    pub started_at: DateTime<Utc>,
    #[serde(rename = "ended_at")]
    pub ended_at: DateTime<Utc>,
    #[serde(rename = "energy_kwh")]
    pub energy_kwh: Decimal,
    #[serde(rename = "tariff_name")]
    pub tariff_name: String,
    #[serde(rename = "price_revision")]
    pub price_revision: u32,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "vat")]
    pub vat: Decimal,
    #[serde(rename = "gross")]
    pub gross: Decimal,
}

/// A fee's or one-off charge's line, its kind tagged by `kind` (`fee`,
/// `one_off`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChargeLine {
    #[serde(flatten)]
    pub kind: StoredChargeKind,
    #[serde(rename = "description")]
    pub description: String,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "vat")]
    pub vat: Decimal,
    #[serde(rename = "gross")]
    pub gross: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredChargeKind {
    #[serde(rename = "fee")]
    Fee {
        #[serde(rename = "fee_id")]
        fee_id: String,
        #[serde(rename = "from")]
        from: NaiveDate,
        #[serde(rename = "to")]
        to: NaiveDate,
        #[serde(rename = "days")]
        days: u32,
        #[serde(rename = "days_in_month")]
        days_in_month: u32,
    },
    #[serde(rename = "one_off")]
    OneOff {
        #[serde(rename = "charge_id")]
        charge_id: String,
        #[serde(rename = "date")]
        date: NaiveDate,
    },
}

impl From<&ChargeLine> for StoredChargeLine {
    fn from(l: &ChargeLine) -> Self {
        let ChargeLine {
            kind,
            description,
            vat_rate,
            net,
            vat,
            gross,
        } = l;
        let kind = match kind {
            ChargeKind::Fee {
                fee_id,
                from,
                to,
                days,
                days_in_month,
            } => StoredChargeKind::Fee {
                fee_id: fee_id.to_string(),
                from: *from,
                to: *to,
                days: *days,
                days_in_month: *days_in_month,
            },
            ChargeKind::OneOff { charge_id, date } => StoredChargeKind::OneOff {
                charge_id: charge_id.to_string(),
                date: *date,
            },
        };
        StoredChargeLine {
            kind,
            description: description.clone(),
            vat_rate: *vat_rate,
            net: *net,
            vat: *vat,
            gross: *gross,
        }
    }
}

impl TryFrom<StoredChargeLine> for ChargeLine {
    type Error = DecodeError;

    fn try_from(s: StoredChargeLine) -> Result<Self, DecodeError> {
        let kind = match s.kind {
            StoredChargeKind::Fee {
                fee_id,
                from,
                to,
                days,
                days_in_month,
            } => ChargeKind::Fee {
                fee_id: FeeId::parse(&fee_id).map_err(DecodeError::new)?,
                from,
                to,
                days,
                days_in_month,
            },
            StoredChargeKind::OneOff { charge_id, date } => ChargeKind::OneOff {
                charge_id: ChargeId::parse(&charge_id).map_err(DecodeError::new)?,
                date,
            },
        };
        Ok(ChargeLine {
            kind,
            description: s.description,
            vat_rate: s.vat_rate,
            net: s.net,
            vat: s.vat,
            gross: s.gross,
        })
    }
}

impl From<&Invoice> for StoredInvoice {
    fn from(i: &Invoice) -> Self {
        StoredInvoice {
            org_id: i.org_id.to_string(),
            period: i.period.to_string(),
            number: i.number.to_string(),
            status: i.status.as_str().into(),
            ocr: (i.ocr != i.number.ocr()).then(|| i.ocr.to_string()),
            currency: i.currency.clone(),
            issue_date: i.issue_date,
            due_date: i.due_date,
            seller: StoredSeller {
                legal_name: i.seller.legal_name.clone(),
                organisation_number: i.seller.organisation_number.clone(),
                vat_number: i.seller.vat_number.clone(),
                address: i.seller.address.clone(),
            },
            buyer: StoredBuyer::from(&i.buyer),
            lines: i
                .lines
                .iter()
                .map(|l| StoredInvoiceLine {
                    session_id: l.session_id.to_string(),
                    station_id: l.station_id.to_string(),
                    started_at: l.started_at,
                    ended_at: l.ended_at,
                    energy_kwh: l.energy_kwh,
                    tariff_name: l.tariff_name.clone(),
                    price_revision: l.price_revision,
                    vat_rate: l.vat_rate,
                    net: l.net,
                    vat: l.vat,
                    gross: l.gross,
                })
                .collect(),
            charges: i.charges.iter().map(StoredChargeLine::from).collect(),
            gross: i.gross,
            created_at: i.created_at,
            reminders: i
                .reminders
                .iter()
                .map(|r| StoredReminder {
                    number: r.number,
                    on: r.on,
                    amount_due: r.amount_due,
                    fee: r.fee,
                    recorded_at: r.recorded_at,
                    mailed_at: r.mailed_at,
                })
                .collect(),
            block: i.block.as_ref().map(|b| StoredInvoiceBlock {
                on: b.on,
                at: b.at,
                lifted_at: b.lifted_at,
                lifted_by: b.lifted_by.clone(),
            }),
            dispute: i.dispute.as_ref().map(|d| StoredInvoiceDispute {
                reason: d.reason.clone(),
                by: d.by.clone(),
                at: d.at,
                resolved_at: d.resolved_at,
                resolved_by: d.resolved_by.clone(),
                resolved_on: d.resolved_on,
            }),
            card_attempts: i
                .card_attempts
                .iter()
                .map(|a| StoredCardAttempt {
                    number: a.number,
                    on: a.on,
                    amount: a.amount,
                    key: a.key.clone(),
                    intent: a.intent.clone(),
                    outcome: a.outcome.as_str().to_owned(),
                    reason: a.reason.clone(),
                    at: a.at,
                })
                .collect(),
            credit_notes: i
                .credit_notes
                .iter()
                .map(|n| StoredCreditNoteRef {
                    number: n.number.to_string(),
                    issue_date: n.issue_date,
                    credited: n.credited,
                })
                .collect(),
            refunds: i
                .refunds
                .iter()
                .map(|r| StoredRefund {
                    id: r.id.to_string(),
                    payment_id: r.payment_id.to_string(),
                    method: r.method.as_str().to_owned(),
                    amount: r.amount,
                    reason: r.reason.clone(),
                    status: r.status.as_str().to_owned(),
                    key: r.key.clone(),
                    provider_id: r.provider_id.clone(),
                    bank_reference: r.bank_reference.clone(),
                    failure: r.failure.clone(),
                    created_by: r.created_by.clone(),
                    created_at: r.created_at,
                    settled_at: r.settled_at,
                })
                .collect(),
            version: i.version,
        }
    }
}

impl TryFrom<StoredInvoice> for Invoice {
    type Error = DecodeError;

    fn try_from(s: StoredInvoice) -> Result<Self, DecodeError> {
        let lines = s
            .lines
            .into_iter()
            .map(|l| {
                Ok(InvoiceLine {
                    session_id: parse("session id", l.session_id, SessionId::parse)?,
                    station_id: parse("station id", l.station_id, StationId::parse)?,
                    started_at: l.started_at,
                    ended_at: l.ended_at,
                    energy_kwh: l.energy_kwh,
                    tariff_name: l.tariff_name,
                    price_revision: l.price_revision,
                    vat_rate: l.vat_rate,
                    net: l.net,
                    vat: l.vat,
                    gross: l.gross,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let mut invoice = Invoice::issue(InvoiceParts {
            org_id: parse("org id", s.org_id, OrgId::parse)?,
            period: Period::parse(&s.period).map_err(DecodeError::new)?,
            number: InvoiceNumber::parse(&s.number).map_err(DecodeError::new)?,
            currency: s.currency,
            issue_date: s.issue_date,
            due_date: s.due_date,
            seller: Seller {
                legal_name: s.seller.legal_name,
                organisation_number: s.seller.organisation_number,
                vat_number: s.seller.vat_number,
                address: s.seller.address,
            },
            buyer: Buyer::try_from(s.buyer)?,
            lines,
            charges: try_all(s.charges)?,
            created_at: s.created_at,
        })
        .map_err(DecodeError::new)?;
        if invoice.gross != s.gross {
            return Err(DecodeError::new(format!(
                "the stored gross {} is not the lines' sum {}",
                s.gross, invoice.gross
            )));
        }
        invoice.status = InvoiceStatus::parse(&s.status).map_err(DecodeError::new)?;
        if let Some(ocr) = s.ocr {
            invoice.ocr = OcrReference::parse(&ocr).map_err(DecodeError::new)?;
        }
        invoice.reminders = s
            .reminders
            .into_iter()
            .map(|r| Reminder {
                number: r.number,
                on: r.on,
                amount_due: r.amount_due,
                fee: r.fee,
                recorded_at: r.recorded_at,
                mailed_at: r.mailed_at,
            })
            .collect();
        invoice.block = s.block.map(|b| InvoiceBlock {
            on: b.on,
            at: b.at,
            lifted_at: b.lifted_at,
            lifted_by: b.lifted_by,
        });
        invoice.dispute = s.dispute.map(|d| InvoiceDispute {
            reason: d.reason,
            by: d.by,
            at: d.at,
            resolved_at: d.resolved_at,
            resolved_by: d.resolved_by,
            resolved_on: d.resolved_on,
        });
        invoice.card_attempts = s
            .card_attempts
            .into_iter()
            .map(|a| {
                Ok(CardAttempt {
                    number: a.number,
                    on: a.on,
                    amount: a.amount,
                    key: a.key,
                    intent: a.intent,
                    outcome: AttemptOutcome::parse(&a.outcome).map_err(DecodeError::new)?,
                    reason: a.reason,
                    at: a.at,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        invoice.credit_notes = s
            .credit_notes
            .into_iter()
            .map(|n| {
                Ok(CreditNoteRef {
                    number: InvoiceNumber::parse(&n.number).map_err(DecodeError::new)?,
                    issue_date: n.issue_date,
                    credited: n.credited,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        invoice.refunds = s
            .refunds
            .into_iter()
            .map(|r| {
                Ok(Refund {
                    id: RefundId::parse(&r.id).map_err(DecodeError::new)?,
                    payment_id: PaymentId::parse(&r.payment_id).map_err(DecodeError::new)?,
                    method: RefundMethod::parse(&r.method).map_err(DecodeError::new)?,
                    amount: r.amount,
                    reason: r.reason,
                    status: RefundStatus::parse(&r.status).map_err(DecodeError::new)?,
                    key: r.key,
                    provider_id: r.provider_id,
                    bank_reference: r.bank_reference,
                    failure: r.failure,
                    created_by: r.created_by,
                    created_at: r.created_at,
                    settled_at: r.settled_at,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        invoice.version = s.version;
        Ok(invoice)
    }
}

impl Record for Invoice {
    type Stored = StoredInvoice;
}

/// A payment received: amounts as decimal strings, the invoice and its
/// organisation only once matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPayment {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "provider")]
    pub provider: String,
    #[serde(rename = "reference")]
    pub reference: String,
    #[serde(rename = "amount")]
    pub amount: Decimal,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "paid_on")]
    pub paid_on: NaiveDate,
    #[serde(
        rename = "payer_name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payer_name: Option<String>,
    #[serde(
        rename = "invoice_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_id: Option<String>,
    #[serde(rename = "org_id", default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(rename = "surplus")]
    pub surplus: Decimal,
    #[serde(rename = "received_at")]
    pub received_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

impl From<&Payment> for StoredPayment {
    fn from(p: &Payment) -> Self {
        StoredPayment {
            id: p.id.to_string(),
            provider: p.provider.clone(),
            reference: p.reference.clone(),
            amount: p.amount,
            currency: p.currency.clone(),
            paid_on: p.paid_on,
            payer_name: p.payer_name.clone(),
            invoice_id: p.invoice_id.as_ref().map(|i| i.to_string()),
            org_id: p.org_id.as_ref().map(|o| o.to_string()),
            surplus: p.surplus,
            received_at: p.received_at,
            version: p.version,
        }
    }
}

impl TryFrom<StoredPayment> for Payment {
    type Error = DecodeError;

    fn try_from(s: StoredPayment) -> Result<Self, DecodeError> {
        Ok(Payment {
            id: PaymentId::parse(&s.id).map_err(DecodeError::new)?,
            provider: s.provider,
            reference: s.reference,
            amount: s.amount,
            currency: s.currency,
            paid_on: s.paid_on,
            payer_name: s.payer_name,
            invoice_id: s
                .invoice_id
                .map(|i| InvoiceId::parse(&i).map_err(DecodeError::new))
                .transpose()?,
            org_id: s
                .org_id
                .map(|o| parse("org id", o, OrgId::parse))
                .transpose()?,
            surplus: s.surplus,
            received_at: s.received_at,
            version: s.version,
        })
    }
}

impl Record for Payment {
    type Stored = StoredPayment;
}

/// A recurring monthly fee: its target tagged by `target` (`driver` with
/// `user_id`, `group` with `group`), amounts as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFee {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(flatten)]
    pub target: StoredFeeTarget,
    #[serde(rename = "amount")]
    pub amount: Decimal,
    #[serde(rename = "includes_vat")]
    pub includes_vat: bool,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    #[serde(rename = "start")]
    pub start: NaiveDate,
    #[serde(rename = "end", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(
        rename = "updated_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target")]
pub enum StoredFeeTarget {
    #[serde(rename = "driver")]
    Driver {
        #[serde(rename = "user_id")]
        user_id: String,
    },
    #[serde(rename = "group")]
    Group {
        #[serde(rename = "group")]
        group: String,
    },
}

impl From<&Fee> for StoredFee {
    fn from(f: &Fee) -> Self {
        let Fee {
            id,
            org_id,
            name,
            target,
            amount,
            includes_vat,
            vat_rate,
            start,
            end,
            created_at,
            updated_at,
            version,
        } = f;
        StoredFee {
            id: id.to_string(),
            org_id: org_id.to_string(),
            name: name.clone(),
            target: match target {
                FeeTarget::Driver(u) => StoredFeeTarget::Driver {
                    user_id: u.to_string(),
                },
                FeeTarget::Group(g) => StoredFeeTarget::Group { group: g.clone() },
            },
            amount: *amount,
            includes_vat: *includes_vat,
            vat_rate: *vat_rate,
            start: *start,
            end: *end,
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredFee> for Fee {
    type Error = DecodeError;

    fn try_from(s: StoredFee) -> Result<Self, DecodeError> {
        Ok(Fee {
            id: FeeId::parse(&s.id).map_err(DecodeError::new)?,
            org_id: parse("org id", s.org_id, OrgId::parse)?,
            name: s.name,
            target: match s.target {
                StoredFeeTarget::Driver { user_id } => {
                    FeeTarget::Driver(parse("user id", user_id, UserId::parse)?)
                }
                StoredFeeTarget::Group { group } => FeeTarget::Group(group),
            },
            amount: s.amount,
            includes_vat: s.includes_vat,
            vat_rate: s.vat_rate,
            start: s.start,
            end: s.end,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        })
    }
}

impl Record for Fee {
    type Stored = StoredFee;
}

/// A one-off charge to a driver, amounts as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOneOffCharge {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "user_id")]
    pub user_id: String,
    #[serde(rename = "description")]
    pub description: String,
    #[serde(rename = "amount")]
    pub amount: Decimal,
    #[serde(rename = "includes_vat")]
    pub includes_vat: bool,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    #[serde(rename = "date")]
    pub date: NaiveDate,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
}

impl From<&OneOffCharge> for StoredOneOffCharge {
    fn from(c: &OneOffCharge) -> Self {
        let OneOffCharge {
            id,
            org_id,
            user_id,
            description,
            amount,
            includes_vat,
            vat_rate,
            date,
            created_at,
        } = c;
        StoredOneOffCharge {
            id: id.to_string(),
            org_id: org_id.to_string(),
            user_id: user_id.to_string(),
            description: description.clone(),
            amount: *amount,
            includes_vat: *includes_vat,
            vat_rate: *vat_rate,
            date: *date,
            created_at: *created_at,
        }
    }
}

impl TryFrom<StoredOneOffCharge> for OneOffCharge {
    type Error = DecodeError;

    fn try_from(s: StoredOneOffCharge) -> Result<Self, DecodeError> {
        Ok(OneOffCharge {
            id: ChargeId::parse(&s.id).map_err(DecodeError::new)?,
            org_id: parse("org id", s.org_id, OrgId::parse)?,
            user_id: parse("user id", s.user_id, UserId::parse)?,
            description: s.description,
            amount: s.amount,
            includes_vat: s.includes_vat,
            vat_rate: s.vat_rate,
            date: s.date,
            created_at: s.created_at,
        })
    }
}

impl Record for OneOffCharge {
    type Stored = StoredOneOffCharge;
}

/// A credit note as issued: its lines (negative amounts, each naming what
/// it credits: `session`, `charge` or `amount`), the seller and buyer as
/// printed. The totals are summed from the lines on reading and must be
/// the stored gross.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCreditNote {
    #[serde(rename = "org_id")]
    pub org_id: String,
    /// `K{seq}`.
    #[serde(rename = "number")]
    pub number: String,
    #[serde(rename = "invoice_id")]
    pub invoice_id: String,
    #[serde(rename = "invoice_number")]
    pub invoice_number: String,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "issue_date")]
    pub issue_date: NaiveDate,
    #[serde(rename = "reason")]
    pub reason: String,
    #[serde(rename = "seller")]
    pub seller: StoredSeller,
    #[serde(rename = "buyer")]
    pub buyer: StoredBuyer,
    #[serde(rename = "lines")]
    pub lines: Vec<StoredCreditLine>,
    #[serde(rename = "gross")]
    pub gross: Decimal,
    #[serde(rename = "created_by")]
    pub created_by: String,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCreditLine {
    /// `session`, `charge` or `amount`.
    #[serde(rename = "kind")]
    pub kind: String,
    /// The session's or the fee's or charge's id; absent for an amount.
    #[serde(rename = "source_id", default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(rename = "description")]
    pub description: String,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "vat")]
    pub vat: Decimal,
    #[serde(rename = "gross")]
    pub gross: Decimal,
}

impl From<&CreditNote> for StoredCreditNote {
    fn from(c: &CreditNote) -> Self {
        StoredCreditNote {
            org_id: c.org_id.to_string(),
            number: c.number.to_string(),
            invoice_id: c.invoice_id.to_string(),
            invoice_number: c.invoice_number.to_string(),
            currency: c.currency.clone(),
            issue_date: c.issue_date,
            reason: c.reason.clone(),
            seller: StoredSeller {
                legal_name: c.seller.legal_name.clone(),
                organisation_number: c.seller.organisation_number.clone(),
                vat_number: c.seller.vat_number.clone(),
                address: c.seller.address.clone(),
            },
            buyer: StoredBuyer::from(&c.buyer),
            lines: c
                .lines
                .iter()
                .map(|l| {
                    let (kind, source_id) = match &l.item {
                        CreditedItem::Session(s) => ("session", Some(s.to_string())),
                        CreditedItem::Charge(id) => ("charge", Some(id.clone())),
                        CreditedItem::Amount => ("amount", None),
                    };
                    StoredCreditLine {
                        kind: kind.into(),
                        source_id,
                        description: l.description.clone(),
                        vat_rate: l.vat_rate,
                        net: l.net,
                        vat: l.vat,
                        gross: l.gross,
                    }
                })
                .collect(),
            gross: c.gross,
            created_by: c.created_by.clone(),
            created_at: c.created_at,
        }
    }
}

impl TryFrom<StoredCreditNote> for CreditNote {
    type Error = DecodeError;

    fn try_from(s: StoredCreditNote) -> Result<Self, DecodeError> {
        let lines = s
            .lines
            .into_iter()
            .map(|l| {
                let item = match (l.kind.as_str(), l.source_id) {
                    ("session", Some(id)) => {
                        CreditedItem::Session(parse("session id", id, SessionId::parse)?)
                    }
                    ("charge", Some(id)) => CreditedItem::Charge(id),
                    ("amount", None) => CreditedItem::Amount,
                    (kind, _) => {
                        return Err(DecodeError::new(format!(
                            "a credit line of kind {kind:?} with that source"
                        )))
                    }
                };
                Ok(CreditLine {
                    item,
                    description: l.description,
                    vat_rate: l.vat_rate,
                    net: l.net,
                    vat: l.vat,
                    gross: l.gross,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let (vat, net, vat_total, gross) = credit_note::totals(&lines)
            .ok_or_else(|| DecodeError::new("a credit line's amounts do not add up"))?;
        if gross != s.gross || lines.is_empty() {
            return Err(DecodeError::new(format!(
                "the stored gross {} is not the lines' sum {gross}",
                s.gross
            )));
        }
        Ok(CreditNote {
            org_id: parse("org id", s.org_id, OrgId::parse)?,
            number: InvoiceNumber::parse(&s.number).map_err(DecodeError::new)?,
            invoice_id: InvoiceId::parse(&s.invoice_id).map_err(DecodeError::new)?,
            invoice_number: InvoiceNumber::parse(&s.invoice_number).map_err(DecodeError::new)?,
            user_id: parse("user id", s.buyer.user_id.clone(), UserId::parse)?,
            currency: s.currency,
            issue_date: s.issue_date,
            reason: s.reason,
            seller: Seller {
                legal_name: s.seller.legal_name,
                organisation_number: s.seller.organisation_number,
                vat_number: s.seller.vat_number,
                address: s.seller.address,
            },
            buyer: Buyer::try_from(s.buyer)?,
            lines,
            vat,
            net,
            vat_total,
            gross,
            created_by: s.created_by,
            created_at: s.created_at,
        })
    }
}

impl Record for CreditNote {
    type Stored = StoredCreditNote;
}
