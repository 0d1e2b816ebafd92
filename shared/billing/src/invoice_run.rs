//! The monthly invoice run of one organisation: every priced session at
//! its stations that started in the period (in the organisation's zone),
//! grouped per driver (the person whose identifier started it) into one
//! invoice per driver with a line per session, then a line per monthly fee
//! active in the period (pro rata, see `csms_domain::billing::fee`) and per
//! one-off charge dated in it; a driver with fees or charges and no
//! sessions gets an invoice too. Fees and charges are in [`FEE_CURRENCY`]:
//! a driver who has them is invoiced in it (sessions priced in another
//! currency are skipped). Each invoice takes the next
//! number of the organisation's series in the write that stores it and
//! posts its ledger transaction. Re-running a period finds each invoice by
//! its id (organisation, period, driver) and changes nothing; a run that
//! stopped half-way continues where it stopped, and an invoice stored
//! before its ledger transaction gets it on the re-run. So each fee-month
//! and each charge is invoiced once: on the one invoice of its driver and
//! period, made in one write with all its lines; a charge or fee added
//! after that invoice was issued is reported as skipped, never a second
//! invoice.

use crate::delivery::DeliveryResult;
use crate::{BillingError, BillingService, BillingStore};
use chrono::{Days, NaiveDate};
use csms_domain::billing::fee::FeeTarget;
use csms_domain::billing::invoice::{
    Buyer, ChargeKind, ChargeLine, ChargedFor, Invoice, InvoiceId, InvoiceLine, InvoiceNumber,
    InvoiceParts, Seller,
};
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::period::{Period, DEFAULT_ZONE};
use csms_domain::pricing::PricedSession;
use csms_domain::session::SessionStatus;
use csms_domain::tenant::Organisation;
use csms_domain::user::UserId;
use csms_domain::{OrgId, SessionId};
use csms_kernel::events::InvoiceChange;
use csms_kernel::ports::{PageRequest, SessionQuery, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// The currency of fees and one-off charges (the platform invoices in
/// Swedish kronor through Bankgiro).
pub const FEE_CURRENCY: &str = "SEK";

/// How often issuing one invoice is tried when other writers move the
/// series between the read and the write.
const ISSUE_ATTEMPTS: usize = 10;

/// Why a session of the period is on no invoice of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// No person holds the identifier that started it.
    Anonymous,
    /// Still charging.
    Active,
    /// Not priced (yet).
    NotPriced,
    /// Priced in another currency than the driver's other sessions.
    OtherCurrency,
    /// The driver's invoice for the period was issued before it was priced
    /// (a correction line on a later invoice is a later increment).
    AfterInvoice,
    /// The person no longer exists.
    UnknownDriver,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Anonymous => "anonymous",
            SkipReason::Active => "active",
            SkipReason::NotPriced => "notPriced",
            SkipReason::OtherCurrency => "otherCurrency",
            SkipReason::AfterInvoice => "afterInvoice",
            SkipReason::UnknownDriver => "unknownDriver",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkippedSession {
    pub session_id: SessionId,
    pub reason: SkipReason,
}

/// A fee or one-off charge of the period on no invoice of this run:
/// `UnknownDriver` or `AfterInvoice`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedCharge {
    /// The fee's or charge's id.
    pub source_id: String,
    pub user_id: UserId,
    pub reason: SkipReason,
}

/// What one driver is invoiced for in the period.
#[derive(Debug, Default)]
struct DriverItems {
    priced: Vec<PricedSession>,
    charges: Vec<ChargeLine>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub org_id: OrgId,
    pub period: Period,
    /// Invoices this run issued, in number order.
    pub created: Vec<Invoice>,
    /// Invoices of the period found issued before.
    pub existing: Vec<InvoiceId>,
    /// Sessions on the invoices this run issued.
    pub sessions_invoiced: usize,
    /// Fee and charge lines on the invoices this run issued.
    pub charges_invoiced: usize,
    pub skipped: Vec<SkippedSession>,
    pub skipped_charges: Vec<SkippedCharge>,
    /// Ledger transactions this run booked (an earlier run's that were
    /// missing included).
    pub ledger_posted: usize,
    /// The PDFs and mails of the period's invoices, this run's and those
    /// an earlier run issued but did not finish delivering.
    pub delivery: DeliveryResult,
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Invoices `org`'s drivers for `period`. Idempotent and resumable:
    /// what exists is found, not made again.
    pub async fn run_invoices(
        &self,
        org: &OrgId,
        period: Period,
    ) -> Result<RunResult, BillingError> {
        let organisation = self
            .store
            .get_organisation(org)
            .await?
            .ok_or_else(|| BillingError::OrganisationNotFound(org.to_string()))?;
        let zone = DEFAULT_ZONE;
        let mut result = RunResult {
            org_id: org.clone(),
            period,
            created: Vec::new(),
            existing: Vec::new(),
            sessions_invoiced: 0,
            charges_invoiced: 0,
            skipped: Vec::new(),
            skipped_charges: Vec::new(),
            ledger_posted: 0,
            delivery: DeliveryResult::default(),
        };
        // Every invoice of the period this run saw, to deliver at the end.
        let mut invoices: Vec<Invoice> = Vec::new();
        let mut per_driver: BTreeMap<UserId, DriverItems> = self
            .priced_per_driver(org, period, &mut result)
            .await?
            .into_iter()
            .map(|(user, priced)| {
                let items = DriverItems {
                    priced,
                    charges: Vec::new(),
                };
                (user, items)
            })
            .collect();
        self.charges_per_driver(org, period, &mut per_driver)
            .await?;
        let billing_code = match per_driver.is_empty() {
            true => 0,
            false => self.store.billing_code(org).await?,
        };
        let now = self.clock.now();
        let issue_date = now.with_timezone(&zone).date_naive();
        let due_date = issue_date
            .checked_add_days(Days::new(organisation.payment_terms().days().into()))
            .ok_or_else(|| BillingError::Books("the due date is out of range".into()))?;
        for (user, items) in per_driver {
            let DriverItems { priced, charges } = items;
            let id = InvoiceId::new(org, period, &user);
            if let Some(existing) = self.store.get_invoice(&id).await? {
                invoices.push(existing.clone());
                self.found(existing, &priced, &charges, &mut result).await?;
                continue;
            }
            let Some(person) = self.store.get_user(&user).await? else {
                result.skipped.extend(priced.iter().map(|p| SkippedSession {
                    session_id: p.session_id.clone(),
                    reason: SkipReason::UnknownDriver,
                }));
                result
                    .skipped_charges
                    .extend(charges.iter().map(|c| SkippedCharge {
                        source_id: c.source_id().to_owned(),
                        user_id: user.clone(),
                        reason: SkipReason::UnknownDriver,
                    }));
                continue;
            };
            let buyer = Buyer {
                user_id: user.clone(),
                name: person.name.clone(),
                email: person.email.as_str().to_owned(),
                charged_for: ChargedFor::of(person.company.as_ref()),
            };
            let currency = match (charges.is_empty(), priced.first()) {
                (true, Some(first)) => first.currency.clone(),
                _ => FEE_CURRENCY.to_owned(),
            };
            let lines = lines_of(&priced, &currency, &mut result.skipped);
            if lines.is_empty() && charges.is_empty() {
                continue;
            }
            let draft = Draft {
                organisation: &organisation,
                billing_code,
                period,
                issue_date,
                due_date,
                buyer,
                lines,
                charges,
                currency,
            };
            match self.issue(&draft, &id).await? {
                Issued::New(invoice) => {
                    if self.post_invoice(&invoice).await? {
                        result.ledger_posted += 1;
                    }
                    result.sessions_invoiced += invoice.lines.len();
                    result.charges_invoiced += invoice.charges.len();
                    invoices.push(invoice.clone());
                    result.created.push(invoice);
                }
                Issued::Raced(existing) => {
                    invoices.push(existing.clone());
                    let charges = draft.charges.clone();
                    self.found(existing, &priced, &charges, &mut result).await?
                }
            }
        }
        invoices.sort_by(|a, b| a.number.cmp(&b.number));
        result.delivery = self.deliver_all(&invoices).await;
        result
            .skipped
            .sort_by(|a, b| (a.reason, &a.session_id).cmp(&(b.reason, &b.session_id)));
        Ok(result)
    }

    /// Adds the period's fee lines (every fee active in it, to its driver
    /// or each member of its group) and one-off charge lines to each
    /// driver's items, fees first (by fee id), then charges (by date).
    async fn charges_per_driver(
        &self,
        org: &OrgId,
        period: Period,
        per_driver: &mut BTreeMap<UserId, DriverItems>,
    ) -> Result<(), BillingError> {
        let mut fees = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_fees(org, &page).await?;
            fees.extend(listed.items);
            match listed.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        let mut groups: Option<BTreeMap<String, BTreeSet<UserId>>> = None;
        for fee in &fees {
            let Some((days, amounts)) = fee.charge_in(period) else {
                continue;
            };
            let users = match &fee.target {
                FeeTarget::Driver(user) => vec![user.clone()],
                FeeTarget::Group(group) => {
                    if groups.is_none() {
                        groups = Some(self.group_members(org).await?);
                    }
                    groups
                        .as_ref()
                        .and_then(|g| g.get(group))
                        .map(|members| members.iter().cloned().collect())
                        .unwrap_or_default()
                }
            };
            let line = ChargeLine {
                kind: ChargeKind::Fee {
                    fee_id: fee.id.clone(),
                    from: days.from,
                    to: days.to,
                    days: days.days,
                    days_in_month: days.days_in_month,
                },
                description: fee.name.clone(),
                vat_rate: fee.vat_rate,
                net: amounts.net,
                vat: amounts.vat,
                gross: amounts.gross,
            };
            for user in users {
                per_driver
                    .entry(user)
                    .or_default()
                    .charges
                    .push(line.clone());
            }
        }
        let mut charges = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_charges(org, Some(period), &page).await?;
            charges.extend(listed.items);
            match listed.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        charges.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
        for charge in charges {
            let amounts = charge.amounts().ok_or_else(|| {
                BillingError::Books(format!("charge {}: the amount overflows", charge.id))
            })?;
            per_driver
                .entry(charge.user_id.clone())
                .or_default()
                .charges
                .push(ChargeLine {
                    kind: ChargeKind::OneOff {
                        charge_id: charge.id.clone(),
                        date: charge.date,
                    },
                    description: charge.description.clone(),
                    vat_rate: charge.vat_rate,
                    net: amounts.net,
                    vat: amounts.vat,
                    gross: amounts.gross,
                });
        }
        Ok(())
    }

    /// The people holding each user group's identifiers in `org`.
    async fn group_members(
        &self,
        org: &OrgId,
    ) -> Result<BTreeMap<String, BTreeSet<UserId>>, BillingError> {
        let mut members: BTreeMap<String, BTreeSet<UserId>> = BTreeMap::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_id_tokens(org, &page).await?;
            for token in listed.items {
                if let (Some(group), Some(user)) = (token.group, token.user_id) {
                    members.entry(group).or_default().insert(user);
                }
            }
            match listed.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        Ok(members)
    }

    /// The latest price of every completed session of the period with a
    /// driver, per driver, oldest first; the rest is noted as skipped.
    async fn priced_per_driver(
        &self,
        org: &OrgId,
        period: Period,
        result: &mut RunResult,
    ) -> Result<BTreeMap<UserId, Vec<PricedSession>>, BillingError> {
        let mut per_driver: BTreeMap<UserId, Vec<PricedSession>> = BTreeMap::new();
        let mut query = SessionQuery {
            org_id: org.clone(),
            station_id: None,
            from: Some(period.start_in(DEFAULT_ZONE)),
            to: Some(period.end_in(DEFAULT_ZONE)),
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        loop {
            let page = self.store.list_sessions(&query).await?;
            for session in page.items {
                let skip = |reason| SkippedSession {
                    session_id: session.id.clone(),
                    reason,
                };
                if session.status == SessionStatus::Active {
                    result.skipped.push(skip(SkipReason::Active));
                    continue;
                }
                let Some(user) = session.user_id.clone() else {
                    result.skipped.push(skip(SkipReason::Anonymous));
                    continue;
                };
                match self.store.get_priced_session(&session.id).await? {
                    Some(priced) => per_driver.entry(user).or_default().push(priced),
                    None => result.skipped.push(skip(SkipReason::NotPriced)),
                }
            }
            match page.next_cursor {
                Some(cursor) => query.page.cursor = Some(cursor),
                None => break,
            }
        }
        for priced in per_driver.values_mut() {
            priced
                .sort_by(|a, b| (a.started_at, &a.session_id).cmp(&(b.started_at, &b.session_id)));
        }
        Ok(per_driver)
    }

    /// An invoice of the period issued before: its ledger transaction is
    /// booked if it is not yet; sessions not on it are noted.
    async fn found(
        &self,
        existing: Invoice,
        priced: &[PricedSession],
        charges: &[ChargeLine],
        result: &mut RunResult,
    ) -> Result<(), BillingError> {
        for c in charges {
            if !existing
                .charges
                .iter()
                .any(|l| l.source_id() == c.source_id())
            {
                result.skipped_charges.push(SkippedCharge {
                    source_id: c.source_id().to_owned(),
                    user_id: existing.user_id.clone(),
                    reason: SkipReason::AfterInvoice,
                });
            }
        }
        if self.post_invoice(&existing).await? {
            result.ledger_posted += 1;
        }
        for p in priced {
            if !existing.lines.iter().any(|l| l.session_id == p.session_id) {
                result.skipped.push(SkippedSession {
                    session_id: p.session_id.clone(),
                    reason: SkipReason::AfterInvoice,
                });
            }
        }
        result.existing.push(existing.id);
        Ok(())
    }

    /// Stores the invoice with the next number of the series; another
    /// writer's number taken in between means reading the series again,
    /// the invoice itself stored in between means it is that one.
    async fn issue(&self, draft: &Draft<'_>, id: &InvoiceId) -> Result<Issued, BillingError> {
        for _ in 0..ISSUE_ATTEMPTS {
            let last = self
                .store
                .last_invoice_number(&draft.organisation.id)
                .await?;
            let seq = last
                .checked_add(1)
                .ok_or_else(|| BillingError::Books("the invoice series is full".into()))?;
            let invoice = draft.invoice(seq, self.clock.now())?;
            match self.store.issue_invoice(&invoice).await {
                Ok(()) => {
                    self.tell(&invoice, InvoiceChange::Issued).await;
                    return Ok(Issued::New(invoice));
                }
                Err(StoreError::Conflict(_)) => {
                    if let Some(existing) = self.store.get_invoice(id).await? {
                        return Ok(Issued::Raced(existing));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "the invoice series of {} kept moving; invoice {id} not issued",
            draft.organisation.id
        ))))
    }
}

enum Issued {
    New(Invoice),
    /// Another run stored it first.
    Raced(Invoice),
}

struct Draft<'a> {
    organisation: &'a Organisation,
    /// The organisation's code, the start of its OCR references.
    billing_code: u64,
    period: Period,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    buyer: Buyer,
    lines: Vec<InvoiceLine>,
    charges: Vec<ChargeLine>,
    currency: String,
}

impl Draft<'_> {
    fn invoice(&self, seq: u64, now: csms_domain::Timestamp) -> Result<Invoice, BillingError> {
        let o = self.organisation;
        let number = InvoiceNumber::new("", seq).map_err(|e| BillingError::Books(e.0))?;
        let ocr = OcrReference::for_invoice(self.billing_code, seq)
            .map_err(|e| BillingError::Books(e.0))?;
        let mut invoice = Invoice::issue(InvoiceParts {
            org_id: o.id.clone(),
            period: self.period,
            number,
            currency: self.currency.clone(),
            issue_date: self.issue_date,
            due_date: self.due_date,
            seller: Seller {
                legal_name: o.legal_name.clone(),
                organisation_number: o.organisation_number.as_ref().map(|n| n.to_string()),
                vat_number: o.vat_number.as_ref().map(|n| n.to_string()),
                address: o
                    .address
                    .as_ref()
                    .map(|a| format!("{}, {} {}", a.street, a.postal_code, a.city)),
            },
            buyer: self.buyer.clone(),
            lines: self.lines.clone(),
            charges: self.charges.clone(),
            created_at: now,
        })
        .map_err(|e| BillingError::Books(format!("invoice for {}: {}", self.buyer.user_id, e.0)))?;
        invoice.ocr = ocr;
        Ok(invoice)
    }
}

/// The lines of a driver's priced sessions in `currency`; sessions in
/// another currency are noted as skipped.
fn lines_of(
    priced: &[PricedSession],
    currency: &str,
    skipped: &mut Vec<SkippedSession>,
) -> Vec<InvoiceLine> {
    priced
        .iter()
        .filter(|p| {
            let same = p.currency == currency;
            if !same {
                skipped.push(SkippedSession {
                    session_id: p.session_id.clone(),
                    reason: SkipReason::OtherCurrency,
                });
            }
            same
        })
        .map(InvoiceLine::of)
        .collect()
}
