//! An issued invoice delivered: its PDF rendered once and kept in the
//! document store under the invoice's id, and mailed once to the driver
//! with the PDF attached.
//!
//! - **The PDF** is rendered when the invoice is first delivered and kept;
//!   a later delivery or download finds it and renders nothing, so a re-run
//!   of the period neither makes a second file nor a different one. A file
//!   that went missing is rendered again on demand (from the stored invoice,
//!   so with the same content).
//! - **The mail** is claimed in the idempotency store (`invoice-mail`, the
//!   invoice's id) before it is handed to the mailer: a repeated run, two
//!   runs at once, or a run that crashed after mailing find the claim and
//!   send nothing. The price of that order is that a crash between the
//!   claim and the send, or a send the provider refuses, leaves the invoice
//!   unmailed: the run lists such a failure (`failed`), and the PDF stays
//!   downloadable.
//! - A driver without an e-mail address on the invoice gets no mail, and
//!   the run counts them (`noEmail`).
//! - A driver who charged for a company when the invoice was issued (the
//!   company kept with the invoice; for an invoice from before that was
//!   kept, their record's `company`) also gets the invoice's Peppol file
//!   attached ([`crate::peppol`]), made from the invoice as the download
//!   makes it; a credit note's mail likewise carries its `CreditNote` file.
//!
//! The invoice record itself is not touched: what was delivered is the
//! document and the claim, both keyed by the invoice's id.

use crate::pdf::{self, PdfContext};
use crate::peppol::{self, PeppolContext};
use crate::{BillingError, BillingService, BillingStore};
use chrono::TimeDelta;
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::invoice::{Buyer, ChargedFor, Invoice, InvoiceId};
use csms_domain::billing::period::DEFAULT_ZONE;
use csms_domain::tenant::{Bankgiro, Language, Organisation};
use csms_domain::user::BuyerCompany;
use csms_domain::OrgId;
use csms_kernel::ports::{DocumentKey, DocumentStore};
use csms_notify::mail::letters::{self, InvoiceLetter};
use csms_notify::mail::{Attachment, Mailer};
use std::sync::Arc;

/// The idempotency scope of invoice mails.
const MAIL_SCOPE: &str = "invoice-mail";
/// How long a mail's claim is kept: longer than anyone re-runs a period.
const MAIL_CLAIM_DAYS: i64 = 3_650;
pub const PDF_TYPE: &str = "application/pdf";

/// What delivering invoices needs besides the store.
#[derive(Clone)]
pub struct Delivery {
    pub documents: Arc<dyn DocumentStore>,
    pub mailer: Arc<dyn Mailer>,
    /// The platform's client-funds Bankgiro (`CSMS_BANKGIRO`), printed on
    /// every invoice. Without it no PDF is made and no invoice mailed;
    /// runs and downloads say so.
    pub bankgiro: Option<Bankgiro>,
}

/// What delivering a run's invoices did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryResult {
    /// PDFs rendered and stored (a re-run finds them: 0).
    pub pdfs_rendered: usize,
    /// Invoices mailed by this run.
    pub mailed: Vec<InvoiceId>,
    /// Invoices mailed before (a re-run).
    pub mailed_before: usize,
    /// Invoices whose driver has no e-mail address.
    pub no_email: Vec<InvoiceId>,
    /// Invoices whose PDF or mail failed, and why.
    pub failed: Vec<(InvoiceId, String)>,
    /// Why nothing was delivered (a missing setting), if so.
    pub unavailable: Option<String>,
}

/// A Peppol file as a mail's attachment; none when it cannot be made
/// (logged: the mail goes with its PDF, and the download says why).
fn attachment_or_none(
    made: Result<Vec<u8>, BillingError>,
    filename: String,
    number: String,
) -> Result<Option<Attachment>, BillingError> {
    match made {
        Ok(bytes) => Ok(Some(Attachment {
            filename,
            content_type: peppol::XML_TYPE.into(),
            bytes,
        })),
        Err(BillingError::Refused(why)) => {
            tracing::warn!(%number, %why, "mailed without its Peppol file");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The key of an invoice's PDF.
pub fn pdf_key(invoice: &InvoiceId) -> Result<DocumentKey, BillingError> {
    DocumentKey::parse(&format!("invoices/{invoice}.pdf"))
        .map_err(|e| BillingError::Books(format!("invoice {invoice}: {e}")))
}

/// The PDF's file name: `faktura-17.pdf`, `invoice-17.pdf`.
pub fn pdf_filename(invoice: &Invoice, language: Language) -> String {
    let stem = match language {
        Language::Sv => "faktura",
        Language::En => "invoice",
    };
    format!("{stem}-{}.pdf", invoice.number)
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    fn delivery(&self) -> Result<(&Delivery, &Bankgiro), BillingError> {
        let d = self
            .delivery
            .as_ref()
            .ok_or_else(|| BillingError::Unavailable("invoice delivery is not set up".into()))?;
        let bankgiro = d.bankgiro.as_ref().ok_or_else(|| {
            BillingError::Unavailable(
                "set CSMS_BANKGIRO (the client-funds Bankgiro printed on invoices)".into(),
            )
        })?;
        Ok((d, bankgiro))
    }

    /// The buyer's language: the person's, else the organisation's.
    async fn language_of(&self, invoice: &Invoice) -> Result<Language, BillingError> {
        self.buyer_language(&invoice.user_id, &invoice.org_id).await
    }

    /// `user`'s language, else `org`'s.
    pub(crate) async fn buyer_language(
        &self,
        user: &csms_domain::user::UserId,
        org: &csms_domain::OrgId,
    ) -> Result<Language, BillingError> {
        if let Some(user) = self.store.get_user(user).await? {
            return Ok(user.language);
        }
        Ok(self
            .store
            .get_organisation(org)
            .await?
            .map(|o| o.language)
            .unwrap_or(Language::Sv))
    }

    /// The invoice's PDF: the stored one, else rendered and stored now.
    /// The flag says whether it was rendered.
    pub async fn invoice_pdf(&self, invoice: &Invoice) -> Result<(Vec<u8>, bool), BillingError> {
        let (d, bankgiro) = self.delivery()?;
        let key = pdf_key(&invoice.id)?;
        if let Some(bytes) = d.documents.get_document(&key).await? {
            return Ok((bytes, false));
        }
        let language = self.language_of(invoice).await?;
        let bytes = pdf::render(
            invoice,
            &PdfContext {
                language,
                bankgiro,
                zone: DEFAULT_ZONE,
            },
        )
        .map_err(|e| BillingError::Books(format!("invoice {}: {e}", invoice.id)))?;
        d.documents.put_document(&key, PDF_TYPE, &bytes).await?;
        Ok((bytes, true))
    }

    /// The company a document's buyer charged for: the one kept with it, or
    /// for a document issued before that was kept, the driver's record now.
    pub(crate) async fn charged_company(
        &self,
        buyer: &Buyer,
    ) -> Result<Option<BuyerCompany>, BillingError> {
        Ok(match &buyer.charged_for {
            ChargedFor::Unrecorded => self
                .store
                .get_user(&buyer.user_id)
                .await?
                .and_then(|u| u.company),
            issued => issued.company(None).cloned(),
        })
    }

    /// The seller's record, for a Peppol file.
    async fn seller_record(&self, org: &OrgId) -> Result<Organisation, BillingError> {
        self.store
            .get_organisation(org)
            .await?
            .ok_or_else(|| BillingError::OrganisationNotFound(org.to_string()))
    }

    /// The invoice as a Peppol BIS Billing 3.0 file, made now from the
    /// invoice (its buyer's company as issued), its seller's record
    /// ([`crate::peppol`]); refused (naming the missing field) when the
    /// seller or the buyer lacks what the file must hold.
    pub async fn invoice_peppol(&self, invoice: &Invoice) -> Result<Vec<u8>, BillingError> {
        let (_, bankgiro) = self.delivery()?;
        let seller = self.seller_record(&invoice.org_id).await?;
        let current = self.charged_company(&invoice.buyer).await?;
        peppol::invoice_xml(
            invoice,
            &PeppolContext {
                seller: &seller,
                bankgiro,
                current_company: current.as_ref(),
            },
        )
        .map_err(|e| {
            BillingError::Refused(format!(
                "no Peppol file for invoice {}: {e}",
                invoice.number
            ))
        })
    }

    /// The credit note as a Peppol BIS Billing 3.0 `CreditNote`, made now
    /// like its invoice's file; refused (naming the missing field) when the
    /// seller or the buyer lacks what the file must hold.
    pub async fn credit_note_peppol(&self, note: &CreditNote) -> Result<Vec<u8>, BillingError> {
        let (_, bankgiro) = self.delivery()?;
        let invoice = self
            .store
            .get_invoice(&note.invoice_id)
            .await?
            .ok_or_else(|| {
                BillingError::Books(format!(
                    "credit note {} credits invoice {}, which is not stored",
                    note.number, note.invoice_id
                ))
            })?;
        let seller = self.seller_record(&note.org_id).await?;
        let current = self.charged_company(&note.buyer).await?;
        peppol::credit_note_xml(
            note,
            &invoice,
            &PeppolContext {
                seller: &seller,
                bankgiro,
                current_company: current.as_ref(),
            },
        )
        .map_err(|e| {
            BillingError::Refused(format!(
                "no Peppol file for credit note {}: {e}",
                note.number
            ))
        })
    }

    /// The Peppol file for the mail of a driver who charged for a company;
    /// none for a private driver, nor when the file cannot be made (the mail
    /// still goes with its PDF, and the download says why).
    async fn peppol_attachment(
        &self,
        invoice: &Invoice,
    ) -> Result<Option<Attachment>, BillingError> {
        if self.charged_company(&invoice.buyer).await?.is_none() {
            return Ok(None);
        }
        attachment_or_none(
            self.invoice_peppol(invoice).await,
            peppol::filename(invoice),
            invoice.number.to_string(),
        )
    }

    /// The credit note's Peppol file for its mail, as
    /// [`Self::peppol_attachment`] for an invoice.
    pub(crate) async fn credit_note_peppol_attachment(
        &self,
        note: &CreditNote,
    ) -> Result<Option<Attachment>, BillingError> {
        if self.charged_company(&note.buyer).await?.is_none() {
            return Ok(None);
        }
        attachment_or_none(
            self.credit_note_peppol(note).await,
            peppol::credit_note_filename(note),
            note.number.to_string(),
        )
    }

    /// Delivers each invoice (see the module docs); one invoice's failure
    /// is noted and the others go on.
    pub(crate) async fn deliver_all(&self, invoices: &[Invoice]) -> DeliveryResult {
        let mut result = DeliveryResult::default();
        if invoices.is_empty() {
            return result;
        }
        let ready = self.delivery().and_then(|(d, _)| {
            d.mailer
                .ready()
                .map_err(|e| BillingError::Unavailable(e.to_string()))
        });
        if let Err(e) = ready {
            tracing::warn!(reason = %e, invoices = invoices.len(), "invoices are not delivered");
            result.unavailable = Some(e.to_string());
            return result;
        }
        for invoice in invoices {
            if let Err(e) = self.deliver(invoice, &mut result).await {
                tracing::error!(invoice = %invoice.id, error = %e, "an invoice was not delivered");
                result.failed.push((invoice.id.clone(), e.to_string()));
            }
        }
        result
    }

    async fn deliver(
        &self,
        invoice: &Invoice,
        result: &mut DeliveryResult,
    ) -> Result<(), BillingError> {
        let (d, bankgiro) = self.delivery()?;
        let (bytes, rendered) = self.invoice_pdf(invoice).await?;
        if rendered {
            result.pdfs_rendered += 1;
        }
        if invoice.buyer.email.trim().is_empty() {
            result.no_email.push(invoice.id.clone());
            return Ok(());
        }
        let claimed = self
            .store
            .claim(
                MAIL_SCOPE,
                invoice.id.as_str(),
                &self.clock.now().to_rfc3339(),
                TimeDelta::days(MAIL_CLAIM_DAYS),
            )
            .await?;
        if claimed.is_some() {
            result.mailed_before += 1;
            return Ok(());
        }
        let language = self.language_of(invoice).await?;
        let peppol = self.peppol_attachment(invoice).await?;
        let mail = letters::invoice(&InvoiceLetter {
            to: invoice.buyer.email.trim(),
            to_name: &invoice.buyer.name,
            org_name: &invoice.seller.legal_name,
            number: &invoice.number.to_string(),
            period: &invoice.period.to_string(),
            amount: &pdf::money(invoice.gross, &invoice.currency, language),
            due_date: invoice.due_date,
            ocr: invoice.ocr.as_str(),
            bankgiro: bankgiro.as_str(),
            language,
            pdf: Attachment {
                filename: pdf_filename(invoice, language),
                content_type: PDF_TYPE.into(),
                bytes,
            },
            peppol,
        });
        d.mailer
            .send(&mail)
            .await
            .map_err(|e| BillingError::Unavailable(format!("the mail was not sent: {e}")))?;
        result.mailed.push(invoice.id.clone());
        Ok(())
    }
}
