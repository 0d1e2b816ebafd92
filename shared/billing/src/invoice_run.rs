//! The monthly invoice run of one organisation: every priced session at
//! its stations that started in the period (in the organisation's zone),
//! grouped per driver (the person whose identifier started it) into one
//! invoice per driver with a line per session. Each invoice takes the next
//! number of the organisation's series in the write that stores it and
//! posts its ledger transaction. Re-running a period finds each invoice by
//! its id (organisation, period, driver) and changes nothing; a run that
//! stopped half-way continues where it stopped, and an invoice stored
//! before its ledger transaction gets it on the re-run.

use crate::delivery::DeliveryResult;
use crate::{BillingError, BillingService, BillingStore};
use chrono::{Days, NaiveDate};
use csms_domain::billing::invoice::{
    Buyer, Invoice, InvoiceId, InvoiceLine, InvoiceNumber, InvoiceParts, Seller,
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
use std::collections::BTreeMap;

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
    pub skipped: Vec<SkippedSession>,
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
            skipped: Vec::new(),
            ledger_posted: 0,
            delivery: DeliveryResult::default(),
        };
        // Every invoice of the period this run saw, to deliver at the end.
        let mut invoices: Vec<Invoice> = Vec::new();
        let per_driver = self.priced_per_driver(org, period, &mut result).await?;
        let billing_code = match per_driver.is_empty() {
            true => 0,
            false => self.store.billing_code(org).await?,
        };
        let now = self.clock.now();
        let issue_date = now.with_timezone(&zone).date_naive();
        let due_date = issue_date
            .checked_add_days(Days::new(organisation.payment_terms().days().into()))
            .ok_or_else(|| BillingError::Books("the due date is out of range".into()))?;
        for (user, priced) in per_driver {
            let id = InvoiceId::new(org, period, &user);
            if let Some(existing) = self.store.get_invoice(&id).await? {
                invoices.push(existing.clone());
                self.found(existing, &priced, &mut result).await?;
                continue;
            }
            let Some(person) = self.store.get_user(&user).await? else {
                result.skipped.extend(priced.iter().map(|p| SkippedSession {
                    session_id: p.session_id.clone(),
                    reason: SkipReason::UnknownDriver,
                }));
                continue;
            };
            let buyer = Buyer {
                user_id: user.clone(),
                name: person.name.clone(),
                email: person.email.as_str().to_owned(),
            };
            let lines = lines_of(&priced, &mut result.skipped);
            let draft = Draft {
                organisation: &organisation,
                billing_code,
                period,
                issue_date,
                due_date,
                buyer,
                lines,
                currency: priced[0].currency.clone(),
            };
            match self.issue(&draft, &id).await? {
                Issued::New(invoice) => {
                    if self.post_invoice(&invoice).await? {
                        result.ledger_posted += 1;
                    }
                    result.sessions_invoiced += invoice.lines.len();
                    invoices.push(invoice.clone());
                    result.created.push(invoice);
                }
                Issued::Raced(existing) => {
                    invoices.push(existing.clone());
                    self.found(existing, &priced, &mut result).await?
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
        result: &mut RunResult,
    ) -> Result<(), BillingError> {
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
            created_at: now,
        })
        .map_err(|e| BillingError::Books(format!("invoice for {}: {}", self.buyer.user_id, e.0)))?;
        invoice.ocr = ocr;
        Ok(invoice)
    }
}

/// The lines of a driver's priced sessions in the currency of the first;
/// sessions in another currency are noted as skipped.
fn lines_of(priced: &[PricedSession], skipped: &mut Vec<SkippedSession>) -> Vec<InvoiceLine> {
    let currency = &priced[0].currency;
    priced
        .iter()
        .filter(|p| {
            let same = &p.currency == currency;
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
