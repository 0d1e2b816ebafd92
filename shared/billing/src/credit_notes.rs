//! Credit notes of issued invoices ([`csms_domain::billing::credit_note`]):
//! issued by an organisation admin, numbered in the issuer's own series in
//! the same write that stores the note and the credited invoice, booked
//! once in the ledger (`credit-note:{number}`: the organisation's payable
//! debited, the driver's receivable credited, the note's gross), the
//! invoice's status set from what is paid and credited (an unpaid invoice
//! credited in full is settled: no reminders, block or card charge after;
//! a block it put on the driver is lifted), and mailed once to the driver
//! with the PDF, and with its Peppol `CreditNote` ([`crate::peppol`]) when
//! the buyer charged for a company. The buyer, their company included, is
//! the invoice's as issued (a note of an invoice from before the company
//! was kept keeps the driver's company of the note's day).
//!
//! A crash after the write and before the booking is mended by the next
//! credit note of the invoice, which books every earlier note of the
//! invoice that is not booked, and at the latest by the organisation's
//! monthly settlement, which books every note of the organisation that is
//! not (booking is idempotent).

use crate::credit_pdf;
use crate::delivery::PDF_TYPE;
use crate::{BillingError, BillingService, BillingStore};
use chrono::TimeDelta;
use csms_domain::billing::credit_note::{
    self, CreditHeader, CreditNote, CreditRefused, CreditRequest,
};
use csms_domain::billing::invoice::{ChargedFor, Invoice, InvoiceId, InvoiceNumber};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::billing::period::DEFAULT_ZONE;
use csms_domain::OrgId;
use csms_kernel::ports::StoreError;
use csms_notify::mail::letters::{self, CreditNoteLetter};
use csms_notify::mail::Attachment;

/// The idempotency scope of credit note mails.
const MAIL_SCOPE: &str = "credit-note-mail";
const MAIL_CLAIM_DAYS: i64 = 3_650;
/// How often issuing is tried when another writer moved the invoice or
/// the series in between.
const ATTEMPTS: usize = 10;

/// The ledger transaction of a credit note: the driver owes its gross less
/// (receivable credited), and the platform holds that less for the
/// organisation (payable debited).
pub fn credit_note_transaction(note: &CreditNote) -> Result<LedgerTransaction, BillingError> {
    let reference = LedgerReference::parse(format!("credit-note:{}", note.number))
        .map_err(|e| BillingError::Books(format!("credit note {}: {e}", note.number)))?;
    let amount = note.credited();
    LedgerTransaction::new(
        note.org_id.clone(),
        reference,
        note.currency.clone(),
        format!(
            "credit note {} of invoice {}",
            note.number, note.invoice_number
        ),
        vec![
            Posting::debit(
                Account::OrganisationPayable {
                    org: note.org_id.clone(),
                },
                amount,
            ),
            Posting::credit(
                Account::DriverReceivable {
                    org: note.org_id.clone(),
                    user: note.user_id.clone(),
                },
                amount,
            ),
        ],
        note.created_at,
    )
    .map_err(|e| BillingError::Books(format!("credit note {}: {e}", note.number)))
}

/// What issuing a credit note did besides storing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    pub note: CreditNote,
    /// Whether it was mailed to the driver now; why not, if not.
    pub mailed: Result<(), String>,
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// `org`'s invoice `id` (another organisation's is not found).
    pub(crate) async fn org_invoice(
        &self,
        org: &OrgId,
        id: &InvoiceId,
    ) -> Result<Invoice, BillingError> {
        self.store
            .get_invoice(id)
            .await?
            .filter(|i| &i.org_id == org)
            .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))
    }

    /// The invoice's credit notes, in number order.
    pub async fn credit_notes(&self, invoice: &Invoice) -> Result<Vec<CreditNote>, BillingError> {
        let mut notes = Vec::with_capacity(invoice.credit_notes.len());
        for r in &invoice.credit_notes {
            let note = self
                .store
                .get_credit_note(&invoice.org_id, &r.number)
                .await?
                .ok_or_else(|| {
                    BillingError::Books(format!(
                        "invoice {} names credit note {}, which is not stored",
                        invoice.number, r.number
                    ))
                })?;
            notes.push(note);
        }
        Ok(notes)
    }

    /// `org`'s credit note `number` of invoice `id`.
    pub async fn credit_note(
        &self,
        org: &OrgId,
        id: &InvoiceId,
        number: &InvoiceNumber,
    ) -> Result<CreditNote, BillingError> {
        let invoice = self.org_invoice(org, id).await?;
        if !invoice.credit_notes.iter().any(|r| &r.number == number) {
            return Err(BillingError::NotFound(format!(
                "credit note {number} of invoice {id}"
            )));
        }
        self.store
            .get_credit_note(org, number)
            .await?
            .ok_or_else(|| BillingError::NotFound(format!("credit note {number}")))
    }

    /// Books every credit note of `org` whose ledger booking stopped after
    /// its write (a crash between the two): the monthly settlement calls it
    /// before it reads the ledger, so its figures never miss a note. Booking
    /// is idempotent by the note's reference; answers how many notes were
    /// read.
    pub async fn book_unbooked_credit_notes(&self, org: &OrgId) -> Result<u64, BillingError> {
        let last = self.store.last_credit_note_number(org).await?;
        for seq in 1..=last {
            let number = credit_note::number(seq).map_err(|e| BillingError::Books(e.0))?;
            if let Some(note) = self.store.get_credit_note(org, &number).await? {
                self.store
                    .append_ledger_transaction(&credit_note_transaction(&note)?)
                    .await?;
            }
        }
        Ok(last)
    }

    /// Credits `org`'s invoice `id` as `request` asks, for `by` (see the
    /// module). `Invalid` names the field, `Refused` says what is left.
    pub async fn issue_credit_note(
        &self,
        org: &OrgId,
        id: &InvoiceId,
        request: &CreditRequest,
        by: &str,
    ) -> Result<Issued, BillingError> {
        request.check().map_err(refused)?;
        for _ in 0..ATTEMPTS {
            let invoice = self.org_invoice(org, id).await?;
            let previous = self.credit_notes(&invoice).await?;
            // A note whose booking stopped after its write is booked now.
            for note in &previous {
                self.store
                    .append_ledger_transaction(&credit_note_transaction(note)?)
                    .await?;
            }
            let last = self.store.last_credit_note_number(org).await?;
            let seq = last
                .checked_add(1)
                .ok_or_else(|| BillingError::Books("the credit note series is full".into()))?;
            let now = self.clock.now();
            let header = CreditHeader {
                number: credit_note::number(seq).map_err(|e| BillingError::Books(e.0))?,
                issue_date: now.with_timezone(&DEFAULT_ZONE).date_naive(),
                created_by: by.to_owned(),
                created_at: now,
            };
            let mut note =
                credit_note::credit(&invoice, &previous, request, header).map_err(refused)?;
            if note.buyer.charged_for == ChargedFor::Unrecorded {
                // An invoice from before the buyer's company was kept: the
                // note keeps what the driver's record says now.
                note.buyer.charged_for =
                    ChargedFor::of(self.charged_company(&note.buyer).await?.as_ref());
            }
            let mut next = invoice.clone();
            next.credit_notes.push(note.reference());
            next.version = invoice.version + 1;
            match self
                .store
                .issue_credit_note(&note, &next, invoice.version)
                .await
            {
                Ok(()) => {
                    self.store
                        .append_ledger_transaction(&credit_note_transaction(&note)?)
                        .await?;
                    self.settle(&invoice.id).await?;
                    tracing::info!(invoice = %invoice.id, note = %note.number, "credit note issued");
                    let mailed = self.mail_credit_note(&note).await.map_err(|e| {
                        tracing::warn!(note = %note.number, error = %e, "the credit note was not mailed");
                        e.to_string()
                    });
                    return Ok(Issued { note, mailed });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} or the credit note series kept changing; nothing was credited"
        ))))
    }

    /// The note's PDF: the stored one, else rendered and stored now.
    pub async fn credit_note_pdf(
        &self,
        note: &CreditNote,
    ) -> Result<(Vec<u8>, String), BillingError> {
        let d = self
            .delivery
            .as_ref()
            .ok_or_else(|| BillingError::Unavailable("document delivery is not set up".into()))?;
        let language = self.buyer_language(&note.user_id, &note.org_id).await?;
        let name = credit_pdf::filename(note, language);
        let key = csms_kernel::ports::DocumentKey::parse(&format!(
            "credit-notes/{}/{}.pdf",
            note.org_id, note.number
        ))
        .map_err(|e| BillingError::Books(format!("credit note {}: {e}", note.number)))?;
        if let Some(bytes) = d.documents.get_document(&key).await? {
            return Ok((bytes, name));
        }
        let bytes = credit_pdf::render(note, language)
            .map_err(|e| BillingError::Books(format!("credit note {}: {e}", note.number)))?;
        d.documents.put_document(&key, PDF_TYPE, &bytes).await?;
        Ok((bytes, name))
    }

    /// Mails the note once (claimed first, like an invoice's mail).
    async fn mail_credit_note(&self, note: &CreditNote) -> Result<(), BillingError> {
        let to = note.buyer.email.trim();
        if to.is_empty() {
            return Err(BillingError::Unavailable(
                "the driver has no e-mail address".into(),
            ));
        }
        let d = self
            .delivery
            .as_ref()
            .ok_or_else(|| BillingError::Unavailable("invoice delivery is not set up".into()))?;
        d.mailer
            .ready()
            .map_err(|e| BillingError::Unavailable(e.to_string()))?;
        let (bytes, filename) = self.credit_note_pdf(note).await?;
        let claimed = self
            .store
            .claim(
                MAIL_SCOPE,
                &format!("{}~{}", note.org_id, note.number),
                &self.clock.now().to_rfc3339(),
                TimeDelta::days(MAIL_CLAIM_DAYS),
            )
            .await?;
        if claimed.is_some() {
            return Ok(());
        }
        let language = self.buyer_language(&note.user_id, &note.org_id).await?;
        let peppol = self.credit_note_peppol_attachment(note).await?;
        let mail = letters::credit_note(&CreditNoteLetter {
            to,
            to_name: &note.buyer.name,
            org_name: &note.seller.legal_name,
            number: &note.number.to_string(),
            invoice_number: &note.invoice_number.to_string(),
            amount: &crate::pdf::money(note.credited(), &note.currency, language),
            reason: &note.reason,
            language,
            pdf: Attachment {
                filename,
                content_type: PDF_TYPE.into(),
                bytes,
            },
            peppol,
        });
        d.mailer
            .send(&mail)
            .await
            .map_err(|e| BillingError::Unavailable(format!("the mail was not sent: {e}")))?;
        Ok(())
    }
}

fn refused(e: CreditRefused) -> BillingError {
    match e {
        CreditRefused::Invalid { .. } => BillingError::Invalid(e.to_string()),
        CreditRefused::Exceeds(why) => BillingError::Refused(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::credit_note::CreditAmount;
    use csms_domain::billing::invoice::InvoiceStatus;
    use csms_domain::SessionId;
    use csms_kernel::contract::sample_invoice;
    use csms_kernel::ports::{CreditNoteStore, InvoiceStore, SystemClock};
    use csms_store_redb::EmbeddedStore;
    use rust_decimal::Decimal;
    use std::sync::Arc;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn request(amount: Option<&str>, session: Option<&str>) -> CreditRequest {
        CreditRequest {
            sessions: session
                .map(|s| SessionId::parse(s).unwrap())
                .into_iter()
                .collect(),
            charges: vec![],
            amount: amount.map(|a| CreditAmount {
                amount: dec(a),
                includes_vat: true,
                vat_rate: dec("0.25"),
            }),
            reason: "Fel pris".into(),
        }
    }

    #[tokio::test]
    async fn credit_notes_are_numbered_booked_and_settle_what_they_take_off() {
        let store = Arc::new(EmbeddedStore::temporary());
        let billing = BillingService::new(store.clone(), Arc::new(SystemClock));
        let invoice = sample_invoice("org-c", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        store.issue_invoice(&invoice).await.unwrap();
        billing.post_invoice(&invoice).await.unwrap();
        let org = invoice.org_id.clone();
        // 50.00 invoiced: 20 credited, then 40 is more than the 30 left.
        let first = billing
            .issue_credit_note(&org, &invoice.id, &request(Some("20"), None), "user:a")
            .await
            .unwrap();
        assert_eq!(first.note.number.to_string(), "K1");
        assert!(first.mailed.is_err(), "no mailer here: said, not failed");
        let over = billing
            .issue_credit_note(&org, &invoice.id, &request(Some("40"), None), "user:a")
            .await;
        assert!(matches!(over, Err(BillingError::Refused(ref m)) if m.contains("30.00")));
        let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(stored.status, InvoiceStatus::Issued);
        let owed = billing.invoice_payments(&stored).await.unwrap();
        assert_eq!((owed.credited, owed.due), (dec("20.00"), dec("30.00")));
        // The session line is 50.00: more than is left. The rest as an amount settles it.
        let line = stored.lines[0].session_id.to_string();
        assert!(matches!(
            billing
                .issue_credit_note(&org, &invoice.id, &request(None, Some(&line)), "user:a")
                .await,
            Err(BillingError::Refused(_))
        ));
        let second = billing
            .issue_credit_note(&org, &invoice.id, &request(Some("30"), None), "user:a")
            .await
            .unwrap();
        assert_eq!(second.note.number.to_string(), "K2");
        let settled = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(settled.status, InvoiceStatus::Paid);
        assert_eq!(
            billing.invoice_payments(&settled).await.unwrap().due,
            dec("0")
        );
        assert_eq!(billing.credit_notes(&settled).await.unwrap().len(), 2);
        // Booked once each: the receivable is back at zero and the books balance.
        let books = billing.balances(&org).await.unwrap();
        assert!(books.balanced());
        assert_eq!(books.transactions, 3);
        let receivable = books.accounts[&(
            Account::DriverReceivable {
                org: org.clone(),
                user: invoice.user_id.clone(),
            },
            "SEK".to_owned(),
        )];
        assert_eq!(receivable.balance(), Decimal::ZERO);
        // Another organisation's invoice is not found; a bad request names its field.
        let elsewhere = OrgId::parse("org-d").unwrap();
        assert!(matches!(
            billing
                .issue_credit_note(&elsewhere, &invoice.id, &request(Some("1"), None), "user:a")
                .await,
            Err(BillingError::NotFound(_))
        ));
        assert!(matches!(
            billing
                .issue_credit_note(&org, &invoice.id, &request(None, None), "user:a")
                .await,
            Err(BillingError::Invalid(ref m)) if m.starts_with("sessions")
        ));
    }

    #[tokio::test]
    async fn a_note_whose_booking_a_crash_stopped_is_booked_once_by_the_sweep() {
        let store = Arc::new(EmbeddedStore::temporary());
        let billing = BillingService::new(store.clone(), Arc::new(SystemClock));
        let invoice = sample_invoice("org-e", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        store.issue_invoice(&invoice).await.unwrap();
        billing.post_invoice(&invoice).await.unwrap();
        let org = invoice.org_id.clone();
        assert_eq!(billing.book_unbooked_credit_notes(&org).await.unwrap(), 0);
        // K1 written as `issue_credit_note` writes it, then the process stops.
        let header = CreditHeader {
            number: credit_note::number(1).unwrap(),
            issue_date: invoice.issue_date,
            created_by: "user:a".into(),
            created_at: "2026-12-02T08:00:00Z".parse().unwrap(),
        };
        let note = credit_note::credit(&invoice, &[], &request(Some("20"), None), header).unwrap();
        let mut next = invoice.clone();
        next.credit_notes.push(note.reference());
        next.version = invoice.version + 1;
        store
            .issue_credit_note(&note, &next, invoice.version)
            .await
            .unwrap();
        assert_eq!(billing.balances(&org).await.unwrap().transactions, 1);
        // The sweep books it; a second sweep changes nothing.
        assert_eq!(billing.book_unbooked_credit_notes(&org).await.unwrap(), 1);
        assert_eq!(billing.book_unbooked_credit_notes(&org).await.unwrap(), 1);
        let books = billing.balances(&org).await.unwrap();
        assert!(books.balanced());
        assert_eq!(books.transactions, 2, "booked once");
    }
}
