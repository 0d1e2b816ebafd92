//! Reminders of unpaid invoices by mail. Billing's daily dunning run
//! (`csms_billing::dunning`) records each reminder on its invoice first;
//! [`ReminderMail::send_recorded`] then mails every recorded reminder not
//! mailed yet, in the driver's language, and marks it mailed with a
//! versioned write of the invoice. So a reminder goes out once however
//! often the run repeats; a run that stops between the mail and the mark
//! sends that one again the next time (at least once, never lost). A
//! reminder of an invoice paid before its mail went out is not mailed.
//!
//! The letter ([`reminder`]) says what is left to pay, the original due
//! date, the OCR reference, the Bankgiro number to pay to (when the
//! installation names one: `CSMS_BANKGIRO`) and the fee, if
//! the organisation charges one.

use super::{Mail, Mailer};
use chrono::NaiveDate;
use csms_domain::billing::invoice::Invoice;
use csms_domain::tenant::Language;
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{unpaid_invoices, InvoiceStore, StoreError, UserStore};
use std::sync::Arc;

/// Reminder `number` of an invoice.
pub struct ReminderLetter<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    pub language: Language,
    /// Who issued the invoice.
    pub seller: &'a str,
    pub invoice_number: &'a str,
    pub number: u8,
    pub currency: &'a str,
    /// What is left of the invoice, a decimal string.
    pub amount_due: &'a str,
    /// This reminder's fee, if any.
    pub fee: Option<&'a str>,
    /// Everything to pay: what is left and the fees so far.
    pub total: &'a str,
    pub due_date: NaiveDate,
    pub ocr: &'a str,
    pub bankgiro: Option<&'a str>,
}

pub fn reminder(l: &ReminderLetter<'_>) -> Mail {
    let (subject, text) = match l.language {
        Language::Sv => {
            let fee = l
                .fee
                .map(|f| format!("Påminnelseavgift: {f} {}\n", l.currency))
                .unwrap_or_default();
            let bankgiro = l
                .bankgiro
                .map(|b| format!("Bankgiro: {b}\n"))
                .unwrap_or_default();
            (
                format!("Påminnelse {}: faktura {} från {}", l.number, l.invoice_number, l.seller),
                format!(
                    "Hej {}!\n\nVi har inte fått full betalning för faktura {} från {}, som förföll {}.\n\nKvar att betala på fakturan: {} {}\n{fee}Att betala: {} {}\n\nBetala till\n{bankgiro}OCR-nummer: {}\n\nHar du redan betalat kan du bortse från detta mejl. Obetalda fakturor kan leda till att dina laddbrickor spärras hos {}.\n",
                    l.to_name, l.invoice_number, l.seller, l.due_date, l.amount_due, l.currency,
                    l.total, l.currency, l.ocr, l.seller
                ),
            )
        }
        Language::En => {
            let fee = l
                .fee
                .map(|f| format!("Reminder fee: {f} {}\n", l.currency))
                .unwrap_or_default();
            let bankgiro = l
                .bankgiro
                .map(|b| format!("Bankgiro: {b}\n"))
                .unwrap_or_default();
            (
                format!("Reminder {}: invoice {} from {}", l.number, l.invoice_number, l.seller),
                format!(
                    "Hello {}!\n\nWe have not received full payment of invoice {} from {}, due on {}.\n\nLeft to pay on the invoice: {} {}\n{fee}To pay: {} {}\n\nPay to\n{bankgiro}OCR reference: {}\n\nIf you have already paid, you can ignore this e-mail. Unpaid invoices can lead to your charging cards being blocked at {}.\n",
                    l.to_name, l.invoice_number, l.seller, l.due_date, l.amount_due, l.currency,
                    l.total, l.currency, l.ocr, l.seller
                ),
            )
        }
    };
    Mail {
        to: l.to.to_owned(),
        to_name: Some(l.to_name.to_owned()),
        subject,
        text,
        kind: "invoiceReminder",
        attachments: Vec::new(),
    }
}

/// See the module docs.
pub struct ReminderMail<S: ?Sized> {
    store: Arc<S>,
    mailer: Arc<dyn Mailer>,
    bankgiro: Option<String>,
}

impl<S: InvoiceStore + UserStore + ?Sized> ReminderMail<S> {
    /// `bankgiro`: the client-funds Bankgiro number printed on reminders.
    pub fn new(store: Arc<S>, mailer: Arc<dyn Mailer>, bankgiro: Option<String>) -> Self {
        ReminderMail {
            store,
            mailer,
            bankgiro,
        }
    }

    /// Mails `org`'s recorded reminders not mailed yet; how many it mailed.
    /// A reminder that could not be sent is logged and tried by the next run.
    pub async fn send_recorded(&self, org: &OrgId, now: Timestamp) -> Result<usize, StoreError> {
        if let Err(e) = self.mailer.ready() {
            tracing::info!(org = %org, reason = %e, "reminders are not mailed");
            return Ok(0);
        }
        let mut sent = 0;
        for invoice in unpaid_invoices(&*self.store, org).await? {
            for n in invoice
                .reminders
                .iter()
                .filter(|r| r.mailed_at.is_none())
                .map(|r| r.number)
                .collect::<Vec<_>>()
            {
                sent += usize::from(self.send_one(&invoice, n, now).await?);
            }
        }
        Ok(sent)
    }

    /// Mails reminder `n` of `invoice` and marks it mailed.
    async fn send_one(&self, invoice: &Invoice, n: u8, now: Timestamp) -> Result<bool, StoreError> {
        let Some(r) = invoice.reminders.iter().find(|r| r.number == n) else {
            return Ok(false);
        };
        // The driver's language and name now; the address invoiced.
        let person = self.store.get_user(&invoice.user_id).await?;
        let language = person.as_ref().map_or(Language::Sv, |p| p.language);
        let fees = invoice.reminder_fees();
        let total = fees.and_then(|f| r.amount_due.checked_add(f));
        let (Some(total), Some(_)) = (total, fees) else {
            tracing::error!(invoice = %invoice.id, "the reminder's sums overflow; not mailed");
            return Ok(false);
        };
        let (amount_due, fee, total) = (
            r.amount_due.to_string(),
            r.fee.map(|f| f.to_string()),
            total.to_string(),
        );
        let (number, ocr) = (invoice.number.to_string(), invoice.ocr.to_string());
        let mail = reminder(&ReminderLetter {
            to: &invoice.buyer.email,
            to_name: &invoice.buyer.name,
            language,
            seller: &invoice.seller.legal_name,
            invoice_number: &number,
            number: n,
            currency: &invoice.currency,
            amount_due: &amount_due,
            fee: fee.as_deref(),
            total: &total,
            due_date: invoice.due_date,
            ocr: &ocr,
            bankgiro: self.bankgiro.as_deref(),
        });
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::error!(invoice = %invoice.id, reminder = n, error = %e, "a reminder could not be sent");
            return Ok(false);
        }
        self.mark_mailed(invoice, n, now).await?;
        Ok(true)
    }

    /// Marks reminder `n` mailed, reading the invoice again when another
    /// writer moved it.
    async fn mark_mailed(
        &self,
        invoice: &Invoice,
        n: u8,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut current = invoice.clone();
        for _ in 0..10 {
            let mut next = current.clone();
            let Some(r) = next
                .reminders
                .iter_mut()
                .find(|r| r.number == n && r.mailed_at.is_none())
            else {
                return Ok(());
            };
            r.mailed_at = Some(now);
            next.version = current.version + 1;
            match self.store.put_invoice(&next, current.version).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => match self.store.get_invoice(&invoice.id).await? {
                    Some(i) => current = i,
                    None => return Ok(()),
                },
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "invoice {} kept changing; reminder {n} is not marked mailed",
            invoice.id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{MemoryOutbox, Outbox, Sender};
    use csms_domain::billing::dunning::Reminder;
    use csms_kernel::contract::sample_invoice;
    use csms_store_redb::EmbeddedStore;

    #[tokio::test]
    async fn each_recorded_reminder_is_mailed_once_with_what_to_pay() {
        let store = Arc::new(EmbeddedStore::temporary());
        let outbox = Arc::new(MemoryOutbox::new(
            Sender::parse("noreply@example.se").unwrap(),
        ));
        let mail = ReminderMail::new(store.clone(), outbox.clone(), Some("5050-1055".into()));
        let mut invoice = sample_invoice("org-r", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        store.issue_invoice(&invoice).await.unwrap();
        let org = invoice.org_id.clone();
        let now: Timestamp = "2027-01-10T05:00:00Z".parse().unwrap();
        assert_eq!(mail.send_recorded(&org, now).await.unwrap(), 0);
        for (n, fee) in [(1, None), (2, Some("60".parse().unwrap()))] {
            invoice.reminders.push(Reminder {
                number: n,
                on: "2027-01-03".parse().unwrap(),
                amount_due: "30.00".parse().unwrap(),
                fee,
                recorded_at: now,
                mailed_at: None,
            });
        }
        invoice.version = 2;
        store.put_invoice(&invoice, 1).await.unwrap();
        assert_eq!(mail.send_recorded(&org, now).await.unwrap(), 2);
        assert_eq!(mail.send_recorded(&org, now).await.unwrap(), 0, "once");
        let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert!(stored.reminders.iter().all(|r| r.mailed_at == Some(now)));
        let listed = outbox.list(10).await.unwrap();
        assert_eq!(listed.len(), 2);
        let message =
            String::from_utf8(outbox.message(&listed[0].id).await.unwrap().unwrap()).unwrap();
        assert_eq!(listed[0].kind, "invoiceReminder");
        // No person record: Swedish (the body is quoted-printable).
        assert!(message.contains("Att betala: 90.00 SEK"), "{message}");
        assert!(message.contains("minnelseavgift: 60 SEK"), "{message}");
        assert!(message.contains("Bankgiro: 5050-1055"), "{message}");
        assert!(
            message.contains(&format!("OCR-nummer: {}", invoice.ocr)),
            "{message}"
        );
        assert!(message.contains("2026-12-31"), "{message}");
    }

    #[test]
    fn the_english_letter_says_the_same() {
        let m = reminder(&ReminderLetter {
            to: "eva@example.se",
            to_name: "Eva",
            language: Language::En,
            seller: "BRF Solsidan",
            invoice_number: "F-7",
            number: 1,
            currency: "SEK",
            amount_due: "50.00",
            fee: None,
            total: "50.00",
            due_date: "2026-12-31".parse().unwrap(),
            ocr: "737",
            bankgiro: None,
        });
        assert_eq!(m.subject, "Reminder 1: invoice F-7 from BRF Solsidan");
        assert!(m.text.contains("due on 2026-12-31"));
        assert!(m.text.contains("To pay: 50.00 SEK"));
        assert!(m.text.contains("OCR reference: 737"));
        assert!(!m.text.contains("fee"));
        assert_eq!(m.kind, "invoiceReminder");
    }
}
