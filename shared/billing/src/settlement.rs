//! The monthly self-invoice and payout of an organisation: the month's
//! settlement (`csms_domain::billing::settlement`) booked, drawn as a PDF,
//! mailed, and paid out by a bank file.
//!
//! [`BillingService::settle_month`] is the run, by the daily billing from the
//! organisation's payout day on (its previous month) or by hand:
//! 1. the month's platform fee is booked once (`platform-fee:{period}`:
//!    the organisation's payable debited, the fee income and its VAT
//!    credited);
//! 2. what the platform then holds for the organisation is paid out once
//!    (`payout:{period}`: the payable debited, `payouts:{org}` credited),
//!    unless there is nothing to pay, no payout account, or no client-funds
//!    account to pay from (the settlement says which, and the money stays
//!    held for a later month);
//! 3. the self-invoice PDF is rendered and kept (`settlements/{org}/{period}.pdf`)
//!    with the bank file of the payout, and mailed once to the
//!    organisation's contact address (claimed in the idempotency store
//!    first, as invoices are). The bank file follows the organisation's
//!    payout account: to a Bankgiro, a Bankgirot supplier-payment file
//!    (`settlements/{org}/{period}.lb`, [`crate::lb`]) paid from the
//!    platform's client-funds Bankgiro (`CSMS_BANKGIRO`); to an IBAN (or to
//!    a Bankgiro when the platform has no Bankgiro of its own), an ISO 20022
//!    credit transfer (`settlements/{org}/{period}.xml`, `pain.001.001.09`).
//!
//! The self-invoice itemises the month's late payments: payments booked in
//! the month that were paid after their invoice's due date, each with its
//! invoice, driver, month, due date, amount and day paid; they sum to
//! `paidLate`, part of `paidIn`.
//!
//! Every step is idempotent by its reference or its claim, so a re-run
//! changes nothing and a run that stopped half-way goes on where it
//! stopped. The figures are never stored apart from the ledger: reading a
//! settlement derives them again, the booked fee and payout as booked.

use crate::lb::{self, LbPayment};
use crate::pain001::{self, Debtor, Transfer};
use crate::pdf::{self, Item, Layout, Meta, Metrics, Pen, MARGIN, PAGE_H, PAGE_W};
use crate::{BillingError, BillingService, BillingStore};
use chrono::{NaiveDate, TimeDelta};
use csms_domain::billing::ledger::{Account, LedgerTransaction, Posting};
use csms_domain::billing::payment::PaymentId;
use csms_domain::billing::period::{Period, DEFAULT_ZONE};
use csms_domain::billing::settlement::{
    self, fee_reference, payout_reference, LatePayment, Settlement, SettlementInput,
};
use csms_domain::tenant::{Bankgiro, Language, Organisation, PayoutAccount};
use csms_domain::OrgId;
use csms_kernel::ports::{DocumentKey, PageRequest, StoreError};
use csms_notify::mail::{Attachment, Mail};
use rust_decimal::Decimal;

/// The idempotency scope of settlement mails.
const MAIL_SCOPE: &str = "settlement-mail";
const MAIL_CLAIM_DAYS: i64 = 3_650;
const CURRENCY: &str = "SEK";

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleResult {
    pub settlement: Settlement,
    /// This run booked the month's fee / payout (a re-run: false).
    pub fee_booked_now: bool,
    pub payout_booked_now: bool,
    /// The PDF and the bank file were rendered and stored by this run.
    pub documents_stored: bool,
    /// This run mailed the self-invoice.
    pub mailed: bool,
    /// Why the documents or the mail were not made, if so.
    pub delivery_problem: Option<String>,
}

/// A payout's bank file: its bytes and how it is stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFile {
    /// `xml` (pain.001) or `lb` (Bankgirot supplier payments).
    pub ext: &'static str,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl PayoutFile {
    /// The file's name for a download.
    pub fn name(&self, org: &OrgId, period: Period) -> String {
        let ext = if self.ext == "lb" { "txt" } else { self.ext };
        format!("payout-{org}-{period}.{ext}")
    }
}

/// A record read for itemising that is gone or does not decode: skipped
/// and reported, never stopping the settlement.
fn skipped<T>(
    kind: &str,
    key: &str,
    read: Result<Option<T>, StoreError>,
) -> Result<Option<T>, BillingError> {
    match read {
        Ok(Some(v)) => Ok(Some(v)),
        Ok(None) => {
            tracing::error!(
                kind,
                key,
                "a late payment's record is missing; not itemised"
            );
            Ok(None)
        }
        Err(e @ StoreError::Undecodable { .. }) => {
            tracing::error!(kind, key, error = %e, "a late payment's record does not decode; not itemised");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The self-invoice's number: one a month in the organisation's series of
/// self-invoices.
pub fn self_invoice_number(period: Period) -> String {
    format!("SF-{period}")
}

fn document_key(org: &OrgId, period: Period, ext: &str) -> Result<DocumentKey, BillingError> {
    DocumentKey::parse(&format!("settlements/{org}/{period}.{ext}"))
        .map_err(|e| BillingError::Books(format!("settlement key: {e}")))
}

/// A short stable hash (16 hex digits) of `s`, for bank-file ids that must
/// stay within 35 characters whatever the organisation's id.
fn short_hash(s: &str) -> String {
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016X}")
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    async fn organisation(&self, org: &OrgId) -> Result<Organisation, BillingError> {
        self.store
            .get_organisation(org)
            .await?
            .ok_or_else(|| BillingError::OrganisationNotFound(org.to_string()))
    }

    async fn ledger_of(&self, org: &OrgId) -> Result<Vec<LedgerTransaction>, BillingError> {
        let mut all = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_ledger_transactions(org, &page).await?;
            all.extend(listed.items);
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Stations in service (the fixed fee is per station and month).
    async fn stations_in_service(&self, org: &OrgId) -> Result<u32, BillingError> {
        let mut n = 0u32;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_stations(org, &page).await?;
            n = n.saturating_add(
                listed
                    .items
                    .iter()
                    .filter(|v| !v.station.is_decommissioned())
                    .count() as u32,
            );
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(n),
            }
        }
    }

    fn payout_blocked(&self, org: &Organisation) -> Option<String> {
        if self.payouts.is_none() {
            Some("no client-funds account is set up to pay from (CSMS_CLIENT_FUNDS_IBAN)".into())
        } else if org.payout_account.is_none() {
            Some("the organisation has no payout account (payoutAccount)".into())
        } else {
            None
        }
    }

    /// `org`'s settlement of `period` as the ledger has it now.
    pub async fn settlement(
        &self,
        org: &OrgId,
        period: Period,
    ) -> Result<Settlement, BillingError> {
        let organisation = self.organisation(org).await?;
        let ledger = self.ledger_of(org).await?;
        self.settle_from(&organisation, period, &ledger).await
    }

    async fn settle_from(
        &self,
        org: &Organisation,
        period: Period,
        ledger: &[LedgerTransaction],
    ) -> Result<Settlement, BillingError> {
        let input = SettlementInput {
            org_id: &org.id,
            period,
            zone: DEFAULT_ZONE,
            terms: org.payout_terms(),
            stations: self.stations_in_service(&org.id).await?,
            payout_blocked: self.payout_blocked(org),
        };
        let s = settlement::settle(&input, ledger, CURRENCY)
            .map_err(|e| BillingError::Books(format!("settlement {period}: {e}")))?;
        let late = self.late_payments(&input, ledger).await?;
        s.with_late_payments(late)
            .map_err(|e| BillingError::Books(format!("settlement {period}: {e}")))
    }

    /// The month's payments made after their invoice's due date.
    async fn late_payments(
        &self,
        input: &SettlementInput<'_>,
        ledger: &[LedgerTransaction],
    ) -> Result<Vec<LatePayment>, BillingError> {
        let mut out = Vec::new();
        for p in settlement::payments_of_month(input, ledger, CURRENCY) {
            // Every payment of an invoice is booked under its payment's id.
            let Ok(id) = PaymentId::parse(p.reference.as_str()) else {
                continue;
            };
            let Some(payment) = skipped("Payment", id.as_str(), self.store.get_payment(&id).await)?
            else {
                continue;
            };
            let Some(invoice_id) = payment.invoice_id else {
                continue;
            };
            let Some(invoice) = skipped(
                "Invoice",
                invoice_id.as_str(),
                self.store.get_invoice(&invoice_id).await,
            )?
            else {
                continue;
            };
            if payment.paid_on <= invoice.due_date {
                continue;
            }
            out.push(LatePayment {
                payment: p.reference,
                invoice_id: invoice.id,
                invoice_number: invoice.number,
                driver: invoice.user_id,
                driver_name: invoice.buyer.name,
                invoice_period: invoice.period,
                due_date: invoice.due_date,
                amount: p.amount,
                paid_on: payment.paid_on,
            });
        }
        Ok(out)
    }

    /// Settles `org`'s `period` (see the module docs): books its fee and
    /// payout once, stores and mails the self-invoice and the bank file.
    /// `today` is the payout's execution date.
    pub async fn settle_month(
        &self,
        org: &OrgId,
        period: Period,
        today: NaiveDate,
    ) -> Result<SettleResult, BillingError> {
        let current = Period::of(today).ok_or_else(|| {
            BillingError::Invalid(format!("date: {today} is not of the years 2000 to 2999"))
        })?;
        if period >= current {
            return Err(BillingError::Refused(format!(
                "period: {period} has not ended yet; a month is settled after it ends"
            )));
        }
        let organisation = self.organisation(org).await?;
        // A credit note whose booking a crash stopped is booked first.
        self.book_unbooked_credit_notes(org).await?;
        let mut ledger = self.ledger_of(org).await?;
        let mut s = self.settle_from(&organisation, period, &ledger).await?;
        let now = self.clock.now();
        let mut fee_booked_now = false;
        if !s.fee_booked && s.fee.gross > Decimal::ZERO {
            let mut postings = vec![
                Posting::debit(
                    Account::OrganisationPayable { org: org.clone() },
                    s.fee.gross,
                ),
                Posting::credit(Account::PlatformFeeIncome, s.fee.net),
            ];
            if s.fee.vat > Decimal::ZERO {
                postings.push(Posting::credit(Account::PlatformVat, s.fee.vat));
            }
            let tx = LedgerTransaction::new(
                org.clone(),
                fee_reference(period),
                CURRENCY.into(),
                format!("platform fee {period}: {}", s.fee.basis),
                postings,
                now,
            )
            .map_err(|e| BillingError::Books(format!("platform fee {period}: {e}")))?;
            let (stored, appended) = self.store.append_ledger_transaction(&tx).await?;
            fee_booked_now = appended;
            ledger.push(stored);
            s = self.settle_from(&organisation, period, &ledger).await?;
        }
        let mut payout_booked_now = false;
        if s.payout_booked_at.is_none() && s.payout_blocked.is_none() && s.payout > Decimal::ZERO {
            let tx = LedgerTransaction::new(
                org.clone(),
                payout_reference(period),
                CURRENCY.into(),
                format!(
                    "payout {period} to {}, self-invoice {}",
                    organisation.legal_name,
                    self_invoice_number(period)
                ),
                vec![
                    Posting::debit(Account::OrganisationPayable { org: org.clone() }, s.payout),
                    Posting::credit(Account::Payouts { org: org.clone() }, s.payout),
                ],
                now,
            )
            .map_err(|e| BillingError::Books(format!("payout {period}: {e}")))?;
            let (stored, appended) = self.store.append_ledger_transaction(&tx).await?;
            payout_booked_now = appended;
            ledger.push(stored);
            s = self.settle_from(&organisation, period, &ledger).await?;
        }
        let mut result = SettleResult {
            settlement: s,
            fee_booked_now,
            payout_booked_now,
            documents_stored: false,
            mailed: false,
            delivery_problem: None,
        };
        if let Err(e) = self.deliver_settlement(&organisation, &mut result).await {
            tracing::error!(org = %org, %period, error = %e, "a settlement was not delivered");
            result.delivery_problem = Some(e.to_string());
        }
        Ok(result)
    }

    /// The self-invoice PDF (stored if there is a document store).
    async fn deliver_settlement(
        &self,
        org: &Organisation,
        result: &mut SettleResult,
    ) -> Result<(), BillingError> {
        let Some(d) = self.delivery.clone() else {
            result.delivery_problem =
                Some("no document store or mailer is set up (CSMS_BANKGIRO)".into());
            return Ok(());
        };
        let s = &result.settlement;
        let pdf_key = document_key(&org.id, s.period, "pdf")?;
        if d.documents.get_document(&pdf_key).await?.is_none() {
            let pdf = self.settlement_pdf_of(org, s)?;
            d.documents
                .put_document(&pdf_key, crate::delivery::PDF_TYPE, &pdf)
                .await?;
            result.documents_stored = true;
        }
        // One bank file per payout: one stored before (whichever its kind)
        // is the payout's, whatever the payout account says now.
        if self.stored_payout_file(&org.id, s.period).await?.is_none() {
            if let Some(file) = self.payout_file_of(org, s)? {
                let key = document_key(&org.id, s.period, file.ext)?;
                d.documents
                    .put_document(&key, file.content_type, &file.bytes)
                    .await?;
            }
        }
        let Some(to) = org.contact_email.as_ref() else {
            return Ok(());
        };
        d.mailer
            .ready()
            .map_err(|e| BillingError::Unavailable(e.to_string()))?;
        let claim = format!("{}:{}", org.id, s.period);
        if self
            .store
            .claim(
                MAIL_SCOPE,
                &claim,
                &self.clock.now().to_rfc3339(),
                TimeDelta::days(MAIL_CLAIM_DAYS),
            )
            .await?
            .is_some()
        {
            return Ok(());
        }
        let pdf = match d.documents.get_document(&pdf_key).await? {
            Some(bytes) => bytes,
            None => self.settlement_pdf_of(org, s)?,
        };
        let mail = settlement_mail(org, s, to.as_str(), pdf);
        d.mailer
            .send(&mail)
            .await
            .map_err(|e| BillingError::Unavailable(format!("the mail was not sent: {e}")))?;
        result.mailed = true;
        Ok(())
    }

    /// The self-invoice of `org`'s `period` as a PDF: the stored one, else
    /// drawn now from the ledger.
    pub async fn settlement_pdf(
        &self,
        org: &OrgId,
        period: Period,
    ) -> Result<(String, Vec<u8>), BillingError> {
        let organisation = self.organisation(org).await?;
        let name = format!("{}-{}.pdf", self_invoice_number(period), org);
        if let Some(d) = &self.delivery {
            if let Some(bytes) = d
                .documents
                .get_document(&document_key(org, period, "pdf")?)
                .await?
            {
                return Ok((name, bytes));
            }
        }
        let s = self.settlement(org, period).await?;
        if !s.fee_booked && s.payout_booked_at.is_none() {
            return Err(BillingError::NotFound(format!(
                "the settlement of {period} (not settled yet)"
            )));
        }
        Ok((name, self.settlement_pdf_of(&organisation, &s)?))
    }

    /// The bank file of `org`'s payout of `period` (its download name and
    /// the file); `NotFound` when no payout was booked.
    pub async fn payout_file(
        &self,
        org: &OrgId,
        period: Period,
    ) -> Result<(String, PayoutFile), BillingError> {
        if let Some(stored) = self.stored_payout_file(org, period).await? {
            return Ok((stored.name(org, period), stored));
        }
        let organisation = self.organisation(org).await?;
        let s = self.settlement(org, period).await?;
        match self.payout_file_of(&organisation, &s)? {
            Some(made) => Ok((made.name(org, period), made)),
            None => Err(BillingError::NotFound(format!(
                "a payout of {period} (none was booked)"
            ))),
        }
    }

    /// The bank file stored for `org`'s payout of `period`, of either kind.
    async fn stored_payout_file(
        &self,
        org: &OrgId,
        period: Period,
    ) -> Result<Option<PayoutFile>, BillingError> {
        let Some(d) = &self.delivery else {
            return Ok(None);
        };
        for (ext, content_type) in [("lb", lb::CONTENT_TYPE), ("xml", pain001::CONTENT_TYPE)] {
            if let Some(bytes) = d
                .documents
                .get_document(&document_key(org, period, ext)?)
                .await?
            {
                return Ok(Some(PayoutFile {
                    ext,
                    content_type,
                    bytes,
                }));
            }
        }
        Ok(None)
    }

    /// The platform's own Bankgiro a supplier-payment file pays from.
    fn payer_bankgiro(&self) -> Option<&Bankgiro> {
        self.delivery.as_ref().and_then(|d| d.bankgiro.as_ref())
    }

    /// The bank file of a booked payout; `None` when none is booked.
    fn payout_file_of(
        &self,
        org: &Organisation,
        s: &Settlement,
    ) -> Result<Option<PayoutFile>, BillingError> {
        let (Some(at), Some(debtor), Some(account)) = (
            s.payout_booked_at,
            self.payouts.as_ref(),
            org.payout_account.as_ref(),
        ) else {
            return Ok(None);
        };
        let execution_date = at.with_timezone(&DEFAULT_ZONE).date_naive();
        if let (PayoutAccount::Bankgiro(to), Some(payer)) = (account, self.payer_bankgiro()) {
            let reference = self_invoice_number(s.period);
            let bytes = lb::render(
                payer,
                execution_date,
                &[LbPayment {
                    to,
                    reference: &reference,
                    amount: s.payout,
                    date: execution_date,
                }],
            )
            .map_err(|e| BillingError::Books(format!("payout {} file: {e}", s.period)))?;
            return Ok(Some(PayoutFile {
                ext: "lb",
                content_type: lb::CONTENT_TYPE,
                bytes,
            }));
        }
        let compact = format!("{:04}{:02}", s.period.year(), s.period.month());
        let message_id = format!("PO{compact}{}", short_hash(org.id.as_str()));
        let end_to_end = format!(
            "{}-{}",
            self_invoice_number(s.period),
            short_hash(org.id.as_str())
        );
        let remittance = match org.language {
            Language::Sv => format!(
                "Utbetalning {}, självfaktura {}",
                s.period,
                self_invoice_number(s.period)
            ),
            Language::En => format!(
                "Payout {}, self-invoice {}",
                s.period,
                self_invoice_number(s.period)
            ),
        };
        Ok(Some(PayoutFile {
            ext: "xml",
            content_type: pain001::CONTENT_TYPE,
            bytes: pain001::render(
                debtor,
                &Transfer {
                    message_id: &message_id,
                    end_to_end_id: &end_to_end,
                    created_at: at,
                    execution_date,
                    amount: s.payout,
                    currency: &s.currency,
                    creditor_name: &org.legal_name,
                    creditor_account: account,
                    remittance: &remittance,
                },
            ),
        }))
    }

    fn settlement_pdf_of(
        &self,
        org: &Organisation,
        s: &Settlement,
    ) -> Result<Vec<u8>, BillingError> {
        let layout = settlement_layout(org, s, self.payouts.as_ref())
            .map_err(|e| BillingError::Books(format!("settlement PDF: {e}")))?;
        pdf::draw(
            &layout,
            &Meta {
                title: format!(
                    "{} {}",
                    words(org.language).title,
                    self_invoice_number(s.period)
                ),
                author: &org.legal_name,
                created: s
                    .payout_booked_at
                    .unwrap_or_else(|| s.period.end_in(DEFAULT_ZONE)),
                id: pdf::document_id(&format!("settlement:{}:{}", org.id, s.period)),
            },
        )
        .map_err(|e| BillingError::Books(format!("settlement PDF: {e}")))
    }
}

struct Words {
    title: &'static str,
    intro: &'static str,
    period: &'static str,
    number: &'static str,
    self_billing: &'static str,
    paid_in: &'static str,
    payments: &'static str,
    public: &'static str,
    unpaid: &'static str,
    stations: &'static str,
    fee_net: &'static str,
    fee_vat: &'static str,
    fee_gross: &'static str,
    payout: &'static str,
    withheld: &'static str,
    account: &'static str,
    books: &'static str,
    paid_in_total: &'static str,
    fees_total: &'static str,
    payouts_total: &'static str,
    held: &'static str,
    basis: &'static str,
    late: &'static str,
    late_intro: &'static str,
    late_invoice: &'static str,
    late_driver: &'static str,
    late_period: &'static str,
    late_due: &'static str,
    late_paid_on: &'static str,
    late_amount: &'static str,
    late_total: &'static str,
    on_time: &'static str,
}

const SV: Words = Words {
    title: "Självfaktura och utbetalning",
    intro: "Avräkning av klientmedel som plattformen tagit emot för er räkning.",
    period: "Period",
    number: "Nummer",
    self_billing: "Självfaktura: utfärdad av plattformen för organisationens räkning.",
    paid_in: "Inbetalt av förare under perioden",
    payments: "Antal betalningar",
    public: "Betalt vid laddaren under perioden",
    unpaid: "Obetalt vid periodens slut",
    stations: "Laddstationer i drift",
    fee_net: "Plattformsavgift exkl. moms",
    fee_vat: "Moms 25 % på avgiften",
    fee_gross: "Plattformsavgift inkl. moms",
    payout: "Utbetalning",
    withheld: "Ingen utbetalning",
    account: "Till konto",
    books: "Avstämning (t.o.m. periodens slut)",
    paid_in_total: "Inbetalt totalt",
    fees_total: "Avgifter totalt",
    payouts_total: "Utbetalt totalt",
    held: "Innestående hos plattformen",
    basis: "Avgiftens grund",
    late: "Sent betalt sedan förra perioden",
    late_intro: "Betalningar bokförda under perioden som betalades efter fakturans förfallodag.",
    late_invoice: "Faktura",
    late_driver: "Förare",
    late_period: "Avser",
    late_due: "Förföll",
    late_paid_on: "Betald",
    late_amount: "Belopp",
    late_total: "Sent betalt totalt",
    on_time: "Övrigt inbetalt under perioden",
};

const EN: Words = Words {
    title: "Self-invoice and payout",
    intro: "Settlement of the client funds the platform received on your behalf.",
    period: "Period",
    number: "Number",
    self_billing: "Self-billing invoice: issued by the platform on the organisation's behalf.",
    paid_in: "Paid in by drivers in the period",
    payments: "Payments",
    public: "Paid at the chargers in the period",
    unpaid: "Unpaid at the end of the period",
    stations: "Stations in service",
    fee_net: "Platform fee excl. VAT",
    fee_vat: "VAT 25 % on the fee",
    fee_gross: "Platform fee incl. VAT",
    payout: "Payout",
    withheld: "No payout",
    account: "To account",
    books: "Reconciliation (to the end of the period)",
    paid_in_total: "Paid in, all time",
    fees_total: "Fees, all time",
    payouts_total: "Paid out, all time",
    held: "Held by the platform",
    basis: "Fee basis",
    late: "Paid late since the last period",
    late_intro: "Payments booked in the period that were made after their invoice's due date.",
    late_invoice: "Invoice",
    late_driver: "Driver",
    late_period: "For",
    late_due: "Due",
    late_paid_on: "Paid",
    late_amount: "Amount",
    late_total: "Paid late, total",
    on_time: "Other payments in the period",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::Sv => &SV,
        Language::En => &EN,
    }
}

/// The self-invoice's one page.
pub fn settlement_layout(
    org: &Organisation,
    s: &Settlement,
    debtor: Option<&Debtor>,
) -> Result<Layout, pdf::PdfError> {
    let metrics = Metrics::new()?;
    let mut pen = Pen {
        metrics: &metrics,
        items: Vec::new(),
    };
    let w = words(org.language);
    let money = |d: Decimal| pdf::money(d, &s.currency, org.language);
    let right = PAGE_W - MARGIN;
    let mut y = PAGE_H - MARGIN - 4.0;
    pen.text(MARGIN, y, 16.0, true, w.title);
    y -= 8.0;
    pen.text(MARGIN, y, 9.0, false, w.intro);
    y -= 10.0;
    let field = |pen: &mut Pen<'_>, y: &mut f32, label: &str, value: String, bold: bool| {
        pen.text(MARGIN, *y, 9.0, bold, label.to_owned());
        pen.right(right, *y, 9.0, bold, value);
        *y -= 5.5;
    };
    field(
        &mut pen,
        &mut y,
        w.number,
        self_invoice_number(s.period),
        false,
    );
    field(&mut pen, &mut y, w.period, s.period.to_string(), false);
    let mut seller = org.legal_name.clone();
    if let Some(n) = &org.organisation_number {
        seller.push_str(&format!(", {n}"));
    }
    if let Some(v) = &org.vat_number {
        seller.push_str(&format!(", {v}"));
    }
    pen.fitted(MARGIN, y, PAGE_W - 2.0 * MARGIN, &seller);
    y -= 5.5;
    if let Some(d) = debtor {
        pen.fitted(MARGIN, y, PAGE_W - 2.0 * MARGIN, &d.name);
        y -= 5.5;
    }
    pen.text(MARGIN, y, 8.0, false, w.self_billing);
    y -= 4.0;
    pen.rule(y);
    y -= 7.0;
    field(&mut pen, &mut y, w.paid_in, money(s.paid_in), true);
    field(&mut pen, &mut y, w.payments, s.payments.to_string(), false);
    field(&mut pen, &mut y, w.public, money(s.public_revenue), false);
    field(&mut pen, &mut y, w.unpaid, money(s.unpaid_at_end), false);
    field(&mut pen, &mut y, w.stations, s.stations.to_string(), false);
    y -= 2.0;
    field(&mut pen, &mut y, w.fee_net, money(s.fee.net), false);
    field(&mut pen, &mut y, w.fee_vat, money(s.fee.vat), false);
    field(&mut pen, &mut y, w.fee_gross, money(s.fee.gross), true);
    if !s.fee.basis.is_empty() {
        pen.fitted(
            MARGIN,
            y,
            PAGE_W - 2.0 * MARGIN,
            &format!("{}: {}", w.basis, s.fee.basis),
        );
        y -= 5.5;
    }
    y -= 2.0;
    pen.rule(y + 3.0);
    match (&s.payout_blocked, s.payout > Decimal::ZERO) {
        (Some(why), _) => {
            field(&mut pen, &mut y, w.withheld, money(Decimal::ZERO), true);
            pen.fitted(MARGIN, y, PAGE_W - 2.0 * MARGIN, why);
            y -= 5.5;
        }
        (None, _) => {
            field(&mut pen, &mut y, w.payout, money(s.payout), true);
            if let Some(account) = &org.payout_account {
                let shown = match account {
                    PayoutAccount::Bankgiro(b) => format!("Bankgiro {b}"),
                    PayoutAccount::Iban { iban, bic } => match bic {
                        Some(bic) => format!("IBAN {iban} ({bic})"),
                        None => format!("IBAN {iban}"),
                    },
                };
                field(&mut pen, &mut y, w.account, shown, false);
            }
        }
    }
    y -= 6.0;
    pen.text(MARGIN, y, 10.0, true, w.books);
    y -= 6.0;
    field(
        &mut pen,
        &mut y,
        w.paid_in_total,
        money(s.paid_in_total),
        false,
    );
    field(&mut pen, &mut y, w.fees_total, money(s.fees_total), false);
    field(
        &mut pen,
        &mut y,
        w.payouts_total,
        money(s.payouts_total),
        false,
    );
    field(&mut pen, &mut y, w.held, money(s.held), false);
    pen.items.push(Item::Rule {
        x1: MARGIN,
        x2: right,
        y: y + 2.0,
    });
    let mut pages = Vec::new();
    // The late payments, a row each, on as many pages as they take.
    let top = PAGE_H - MARGIN - 4.0;
    let mut room = |pen: &mut Pen<'_>, y: &mut f32, need: f32| {
        if *y - need < MARGIN {
            pages.push(std::mem::take(&mut pen.items));
            *y = top;
        }
    };
    y -= 6.0;
    room(&mut pen, &mut y, 30.0);
    pen.text(MARGIN, y, 10.0, true, w.late);
    y -= 5.0;
    pen.fitted(MARGIN, y, PAGE_W - 2.0 * MARGIN, w.late_intro);
    y -= 6.0;
    let columns = |pen: &mut Pen<'_>, y: f32, bold: bool, c: [String; 6]| {
        let [number, driver, period, due, paid, amount] = c;
        pen.text(MARGIN, y, 8.0, bold, number);
        pen.fitted(MARGIN + 24.0, y, 50.0, &driver);
        pen.text(MARGIN + 77.0, y, 8.0, bold, period);
        pen.text(MARGIN + 94.0, y, 8.0, bold, due);
        pen.text(MARGIN + 115.0, y, 8.0, bold, paid);
        pen.right(right, y, 8.0, bold, amount);
    };
    columns(
        &mut pen,
        y,
        true,
        [
            w.late_invoice.into(),
            w.late_driver.into(),
            w.late_period.into(),
            w.late_due.into(),
            w.late_paid_on.into(),
            w.late_amount.into(),
        ],
    );
    y -= 5.0;
    for p in &s.late_payments {
        room(&mut pen, &mut y, 5.0);
        columns(
            &mut pen,
            y,
            false,
            [
                p.invoice_number.to_string(),
                p.driver_name.clone(),
                p.invoice_period.to_string(),
                p.due_date.to_string(),
                p.paid_on.to_string(),
                money(p.amount),
            ],
        );
        y -= 5.0;
    }
    room(&mut pen, &mut y, 12.0);
    y -= 1.0;
    field(&mut pen, &mut y, w.late_total, money(s.paid_late), true);
    field(
        &mut pen,
        &mut y,
        w.on_time,
        money(s.paid_in - s.paid_late),
        false,
    );
    pages.push(pen.items);
    Ok(Layout { pages })
}

fn settlement_mail(org: &Organisation, s: &Settlement, to: &str, pdf: Vec<u8>) -> Mail {
    let number = self_invoice_number(s.period);
    let money = |d: Decimal| pdf::money(d, &s.currency, org.language);
    let (subject, text) = match org.language {
        Language::Sv => (
            format!("Självfaktura {number} och utbetalning för {}", s.period),
            format!(
                "Hej {}!\n\nHär är avräkningen för {}.\n\nInbetalt av förare: {}\nPlattformsavgift inkl. moms: {}\nUtbetalning: {}\n\nSjälvfakturan finns som PDF i mejlet.\n",
                org.legal_name,
                s.period,
                money(s.paid_in),
                money(s.fee.gross),
                money(s.payout)
            ),
        ),
        Language::En => (
            format!("Self-invoice {number} and payout for {}", s.period),
            format!(
                "Hello {}!\n\nHere is the settlement for {}.\n\nPaid in by drivers: {}\nPlatform fee incl. VAT: {}\nPayout: {}\n\nThe self-invoice is attached as a PDF.\n",
                org.legal_name,
                s.period,
                money(s.paid_in),
                money(s.fee.gross),
                money(s.payout)
            ),
        ),
    };
    Mail {
        to: to.to_owned(),
        to_name: Some(org.legal_name.clone()),
        subject,
        text,
        kind: "settlement",
        attachments: vec![Attachment {
            filename: format!("{number}.pdf"),
            content_type: crate::delivery::PDF_TYPE.into(),
            bytes: pdf,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::settlement::{settle, SettlementInput};
    use csms_domain::tenant::Bankgiro;
    use csms_kernel::contract::organisation;

    #[test]
    fn the_self_invoice_itemises_late_payments_on_as_many_pages_as_they_take() {
        use csms_domain::billing::invoice::{InvoiceId, InvoiceNumber};
        use csms_domain::billing::ledger::LedgerReference;
        use csms_domain::user::UserId;
        let org = organisation("brf-late");
        let period = Period::parse("2026-11").unwrap();
        let input = SettlementInput {
            org_id: &org.id,
            period,
            zone: DEFAULT_ZONE,
            terms: Default::default(),
            stations: 1,
            payout_blocked: None,
        };
        let mut s = settle(&input, &[], "SEK").unwrap();
        let user = UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ1").unwrap();
        let items: Vec<LatePayment> = (1..=60u64)
            .map(|i| LatePayment {
                payment: LedgerReference::parse(format!("bgmax:1:{i:012}")).unwrap(),
                invoice_id: InvoiceId::new(&org.id, Period::parse("2026-09").unwrap(), &user),
                invoice_number: InvoiceNumber::new("", i).unwrap(),
                driver: user.clone(),
                driver_name: format!("Driver {i}"),
                invoice_period: Period::parse("2026-09").unwrap(),
                due_date: "2026-10-31".parse().unwrap(),
                amount: Decimal::new(1001, 2),
                paid_on: "2026-11-05".parse().unwrap(),
            })
            .collect();
        // What the ledger would have: the payments are the month's paid in.
        s.paid_in = Decimal::new(60 * 1001 + 500, 2);
        let s = s.with_late_payments(items).unwrap();
        assert_eq!(s.paid_late, Decimal::new(60 * 1001, 2));
        assert!(s.reconciles());
        let layout = settlement_layout(&org, &s, None).unwrap();
        assert!(layout.pages.len() >= 2, "60 rows do not fit one page");
        let all: Vec<&str> = (0..layout.pages.len())
            .flat_map(|p| layout.texts(p))
            .collect();
        for want in ["Driver 1", "Driver 60", "2026-09", "2026-11-05"] {
            assert!(all.contains(&want), "{want} in {all:?}");
        }
        let money = |d: Decimal| pdf::money(d, "SEK", org.language);
        assert!(all.contains(&money(s.paid_late).as_str()));
        assert!(all.contains(&money(Decimal::new(500, 2)).as_str()));
    }

    #[test]
    fn the_self_invoice_shows_the_figures_the_payout_and_its_account() {
        let mut org = organisation("brf-sf");
        org.payout_account = Some(PayoutAccount::Bankgiro(
            Bankgiro::parse("5050-1055").unwrap(),
        ));
        let input = SettlementInput {
            org_id: &org.id,
            period: Period::parse("2026-11").unwrap(),
            zone: DEFAULT_ZONE,
            terms: Default::default(),
            stations: 2,
            payout_blocked: None,
        };
        let s = settle(&input, &[], "SEK").unwrap();
        let layout = settlement_layout(&org, &s, None).unwrap();
        let texts = layout.texts(0);
        for want in ["SF-2026-11", "2026-11", "Bankgiro 5050-1055"] {
            assert!(
                texts.iter().any(|t| t.contains(want)),
                "{want} in {texts:?}"
            );
        }
        let mut blocked = input.clone();
        blocked.payout_blocked = Some("no payout account".into());
        let s = settle(&blocked, &[], "SEK").unwrap();
        let texts = settlement_layout(&org, &s, None).unwrap();
        assert!(texts.texts(0).contains(&"no payout account"));
        assert!(!pdf::draw(
            &texts,
            &Meta {
                title: "t".into(),
                author: "a",
                created: "2026-12-25T06:00:00Z".parse().unwrap(),
                id: pdf::document_id("x"),
            }
        )
        .unwrap()
        .is_empty());
    }
}
