//! Issued invoices delivered: the PDF rendered once and kept under the
//! invoice's id, mailed once with the PDF attached, in the driver's
//! language; a re-run renders and mails nothing; a run that issued without
//! delivering is caught up; a missing Bankgiro or address is said.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use csms_billing::delivery::{pdf_key, Delivery};
use csms_billing::{BillingError, BillingService};
use csms_domain::billing::period::Period;
use csms_domain::pricing::{PricedSession, PricingAudit, ROUNDING_RULE};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::{Bankgiro, Language};
use csms_domain::user::{Role, User};
use csms_domain::{OrgId, StationId, Timestamp, TransactionId};
use csms_kernel::contract::{organisation, user};
use csms_kernel::ports::{
    Clock, DocumentStore, InvoiceStore, OrganisationStore, PricedSessionStore, SessionStore,
    UserStore,
};
use csms_notify::mail::{Mail, MailError, Mailer};
use csms_store_redb::{EmbeddedStore, FileDocuments};
use rust_decimal::Decimal;
use std::sync::{Arc, Mutex};

struct At(Timestamp);

impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Keeps what it is asked to send; refuses everything when `refuse`.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Mail>>,
    refuse: bool,
}

#[async_trait]
impl Mailer for Recorder {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        if self.refuse {
            return Err(MailError::Failed("throttled".into()));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(mail.clone());
        Ok(format!("m{}", sent.len()))
    }
}

impl Recorder {
    fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap().clone()
    }
}

async fn charged(store: &EmbeddedStore, tx: &str, start: &str, driver: &User, net: &str) {
    let station = StationId::parse("CP-B1").unwrap();
    let org = OrgId::parse("brf-b").unwrap();
    let mut s = Session::blank(
        &station,
        org.clone(),
        None,
        &TransactionId::parse(tx).unwrap(),
        t(start),
    );
    s.started_at = Some(t(start));
    s.ended_at = Some(t(start) + chrono::Duration::hours(2));
    s.status = SessionStatus::Completed;
    s.user_id = Some(driver.id.clone());
    s.id_token = Some("TAG".into());
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    let net: Decimal = net.parse().unwrap();
    let vat = (net * Decimal::new(25, 2)).round_dp(2);
    store
        .put_priced_session(&PricedSession {
            session_id: s.id.clone(),
            station_id: station,
            org_id: org,
            revision: 1,
            tariff_id: "trf".into(),
            tariff_version: 1,
            tariff_name: "Boende".into(),
            tariff_reason: vec![],
            id_token: Some("TAG".into()),
            group: None,
            currency: "SEK".into(),
            vat_rate: Decimal::new(25, 2),
            started_at: t(start),
            ended_at: t(start) + chrono::Duration::hours(2),
            charging_ended_at: t(start) + chrono::Duration::hours(1),
            energy_wh: Decimal::from(10_500),
            lines: vec![],
            net,
            vat,
            gross: net + vat,
            rounding: ROUNDING_RULE.into(),
            warnings: vec![],
            priced_at: t(start) + chrono::Duration::hours(3),
            audit: PricingAudit {
                reason: "session completed".into(),
                requested_by: None,
            },
        })
        .await
        .unwrap();
}

struct World {
    store: Arc<EmbeddedStore>,
    docs: Arc<FileDocuments>,
    dir: std::path::PathBuf,
    clock: Arc<At>,
    ada: User,
    bo: User,
}

/// Ada (Swedish) and Bo (English) charged at brf-b in November.
async fn world() -> World {
    let store = Arc::new(EmbeddedStore::temporary());
    store
        .create_organisation(&organisation("brf-b"))
        .await
        .unwrap();
    let ada = user(1, "ada@example.se", &[("brf-b", Role::Driver)]);
    let mut bo = user(2, "bo@example.se", &[("brf-b", Role::Driver)]);
    bo.language = Language::En;
    for u in [&ada, &bo] {
        store.create_user(u).await.unwrap();
    }
    charged(&store, "1", "2026-11-03T17:00:00Z", &ada, "40.00").await;
    charged(&store, "2", "2026-11-15T17:00:00Z", &ada, "12.34").await;
    charged(&store, "3", "2026-11-20T08:00:00Z", &bo, "1234.00").await;
    let dir = std::env::temp_dir().join(format!("csms-delivery-{}", ulid_like()));
    World {
        docs: Arc::new(FileDocuments::open(&dir).unwrap()),
        dir,
        store,
        clock: Arc::new(At(t("2026-12-01T05:00:00Z"))),
        ada,
        bo,
    }
}

fn ulid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

impl World {
    fn billing(&self, mailer: Arc<dyn Mailer>, bankgiro: bool) -> BillingService<EmbeddedStore> {
        BillingService::new(self.store.clone(), self.clock.clone()).with_delivery(Delivery {
            documents: self.docs.clone(),
            mailer,
            bankgiro: bankgiro.then(|| Bankgiro::parse("5050-1055").unwrap()),
        })
    }
}

fn nov() -> Period {
    Period::parse("2026-11").unwrap()
}

fn org() -> OrgId {
    OrgId::parse("brf-b").unwrap()
}

#[tokio::test]
async fn each_invoice_is_rendered_and_mailed_once_in_its_drivers_language() {
    let w = world().await;
    let mailer = Arc::new(Recorder::default());
    let billing = w.billing(mailer.clone(), true);
    let run = billing.run_invoices(&org(), nov()).await.unwrap();
    assert_eq!(run.created.len(), 2);
    let d = &run.delivery;
    assert_eq!(d.pdfs_rendered, 2);
    assert_eq!(
        d.mailed,
        vec![run.created[0].id.clone(), run.created[1].id.clone()]
    );
    assert!(
        d.failed.is_empty() && d.no_email.is_empty() && d.unavailable.is_none(),
        "{d:?}"
    );

    let sent = mailer.sent();
    assert_eq!(sent.len(), 2);
    let (a, b) = (&run.created[0], &run.created[1]);
    assert_eq!(a.user_id, w.ada.id);
    let (to_ada, to_bo) = (&sent[0], &sent[1]);
    assert_eq!(to_ada.to, "ada@example.se");
    assert_eq!(to_ada.kind, "invoice");
    assert_eq!(
        to_ada.subject,
        "Faktura 1 från Bostadsrättsföreningen brf-b"
    );
    for wanted in [
        "Att betala: 65,42 kr",
        "Förfallodatum: 2026-12-31",
        "Bankgiro: 5050-1055",
        &format!("OCR-nummer: {}", a.ocr),
    ] {
        assert!(
            to_ada.text.contains(wanted),
            "{wanted:?} in {}",
            to_ada.text
        );
    }
    assert_eq!(to_bo.to, w.bo.email.as_str());
    assert_eq!(to_bo.subject, "Invoice 2 from Bostadsrättsföreningen brf-b");
    assert!(
        to_bo.text.contains("Amount due: SEK 1,542.50"),
        "{}",
        to_bo.text
    );
    assert!(to_bo.text.contains(&format!("OCR reference: {}", b.ocr)));

    // The attachment is the stored PDF.
    for (mail, invoice, name) in [(to_ada, a, "faktura-1.pdf"), (to_bo, b, "invoice-2.pdf")] {
        assert_eq!(mail.attachments.len(), 1);
        let att = &mail.attachments[0];
        assert_eq!(
            (att.filename.as_str(), att.content_type.as_str()),
            (name, "application/pdf")
        );
        let stored = w
            .docs
            .get_document(&pdf_key(&invoice.id).unwrap())
            .await
            .unwrap();
        assert_eq!(stored.as_deref(), Some(att.bytes.as_slice()));
        assert!(att.bytes.starts_with(b"%PDF-"));
    }
    let first_pdf = mailer.sent()[0].attachments[0].bytes.clone();

    // A re-run renders nothing and mails nobody.
    let again = billing.run_invoices(&org(), nov()).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.delivery.pdfs_rendered, 0);
    assert!(again.delivery.mailed.is_empty());
    assert_eq!(again.delivery.mailed_before, 2);
    assert_eq!(mailer.sent().len(), 2);

    // A stored file that went missing is rendered again, the same file.
    std::fs::remove_file(w.dir.join("invoices").join(format!("{}.pdf", a.id))).unwrap();
    let (bytes, rendered) = billing.invoice_pdf(a).await.unwrap();
    assert!(rendered);
    assert_eq!(bytes, first_pdf);
    let (_, rendered) = billing.invoice_pdf(a).await.unwrap();
    assert!(!rendered);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[tokio::test]
async fn invoices_issued_without_delivery_are_delivered_by_the_next_run() {
    let w = world().await;
    // A run that issued and stopped before delivering (here: none set up).
    let bare = BillingService::new(w.store.clone(), w.clock.clone());
    let first = bare.run_invoices(&org(), nov()).await.unwrap();
    assert_eq!(first.created.len(), 2);
    assert!(first.delivery.unavailable.is_some());

    let mailer = Arc::new(Recorder::default());
    let run = w
        .billing(mailer.clone(), true)
        .run_invoices(&org(), nov())
        .await
        .unwrap();
    assert!(run.created.is_empty());
    assert_eq!(run.existing.len(), 2);
    assert_eq!(run.delivery.pdfs_rendered, 2);
    assert_eq!(run.delivery.mailed.len(), 2);
    assert_eq!(mailer.sent().len(), 2);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[tokio::test]
async fn without_a_bankgiro_nothing_is_rendered_or_mailed_and_the_run_says_why() {
    let w = world().await;
    let mailer = Arc::new(Recorder::default());
    let billing = w.billing(mailer.clone(), false);
    let run = billing.run_invoices(&org(), nov()).await.unwrap();
    assert_eq!(run.created.len(), 2);
    let why = run.delivery.unavailable.clone().unwrap();
    assert!(why.contains("CSMS_BANKGIRO"), "{why}");
    assert_eq!(run.delivery.pdfs_rendered, 0);
    assert!(mailer.sent().is_empty());
    assert!(matches!(
        billing.invoice_pdf(&run.created[0]).await,
        Err(BillingError::Unavailable(m)) if m.contains("CSMS_BANKGIRO")
    ));
    let key = pdf_key(&run.created[0].id).unwrap();
    assert_eq!(w.docs.get_document(&key).await.unwrap(), None);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[tokio::test]
async fn a_driver_without_an_address_is_counted_and_a_refused_mail_is_listed_once() {
    let w = world().await;
    let bare = BillingService::new(w.store.clone(), w.clock.clone());
    let first = bare.run_invoices(&org(), nov()).await.unwrap();
    // Ada's invoice was issued to no address.
    let mut ada = w
        .store
        .get_invoice(&first.created[0].id)
        .await
        .unwrap()
        .unwrap();
    ada.buyer.email = String::new();
    ada.version += 1;
    w.store.put_invoice(&ada, ada.version - 1).await.unwrap();

    let refusing = Arc::new(Recorder {
        refuse: true,
        ..Default::default()
    });
    let run = w
        .billing(refusing.clone(), true)
        .run_invoices(&org(), nov())
        .await
        .unwrap();
    assert_eq!(run.delivery.no_email, vec![ada.id.clone()]);
    assert_eq!(run.delivery.pdfs_rendered, 2);
    assert!(run.delivery.mailed.is_empty());
    assert_eq!(run.delivery.failed.len(), 1);
    assert_eq!(run.delivery.failed[0].0, first.created[1].id);
    assert!(run.delivery.failed[0].1.contains("throttled"));
    // The claim was taken before the provider refused: no second mail is
    // tried, so none is ever sent twice (the PDF is there to download).
    let mailer = Arc::new(Recorder::default());
    let again = w
        .billing(mailer.clone(), true)
        .run_invoices(&org(), nov())
        .await
        .unwrap();
    assert_eq!(again.delivery.mailed_before, 1);
    assert_eq!(again.delivery.no_email, vec![ada.id.clone()]);
    assert!(mailer.sent().is_empty());
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[tokio::test]
async fn a_company_driver_s_mail_carries_the_peppol_file_and_a_private_one_s_does_not() {
    let w = world().await;
    let mut ada = w.ada.clone();
    ada.company = Some(csms_domain::user::BuyerCompany {
        legal_name: "Ada AB".into(),
        organisation_number: csms_domain::tenant::OrganisationNumber::parse("556677-8899").unwrap(),
    });
    ada.version += 1;
    w.store.put_user(&ada, w.ada.version).await.unwrap();
    let mailer = Arc::new(Recorder::default());
    let billing = w.billing(mailer.clone(), true);
    let run = billing.run_invoices(&org(), nov()).await.unwrap();
    let sent = mailer.sent();
    assert_eq!(sent.len(), 2);
    let (to_ada, to_bo) = (&sent[0], &sent[1]);
    let names: Vec<&str> = to_ada
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["faktura-1.pdf", "faktura-1.xml"]);
    let xml = &to_ada.attachments[1];
    assert_eq!(xml.content_type, "application/xml");
    assert_eq!(
        xml.bytes,
        billing.invoice_peppol(&run.created[0]).await.unwrap(),
        "the file the download makes"
    );
    assert!(to_ada.text.contains("Peppol"), "{}", to_ada.text);
    assert_eq!(to_bo.attachments.len(), 1, "Bo charges privately");
    assert!(!to_bo.text.contains("Peppol"));
    assert!(matches!(
        billing.invoice_peppol(&run.created[1]).await,
        Err(BillingError::Refused(m)) if m.contains("company")
    ));

    // The company is dropped after issue: the issued invoice keeps it.
    let mut later = w.store.get_user(&ada.id).await.unwrap().unwrap();
    let read = later.version;
    later.company = None;
    later.version += 1;
    w.store.put_user(&later, read).await.unwrap();
    assert_eq!(
        billing.invoice_peppol(&run.created[0]).await.unwrap(),
        xml.bytes
    );
    // Its credit note is mailed with its Peppol CreditNote.
    let issued = billing
        .issue_credit_note(
            &org(),
            &run.created[0].id,
            &csms_domain::billing::credit_note::CreditRequest {
                sessions: vec![],
                charges: vec![],
                amount: Some(csms_domain::billing::credit_note::CreditAmount {
                    amount: "1.00".parse().unwrap(),
                    includes_vat: true,
                    vat_rate: "0.25".parse().unwrap(),
                }),
                reason: "Rabatt".into(),
            },
            "user:a",
        )
        .await
        .unwrap();
    assert_eq!(issued.mailed, Ok(()));
    let sent = mailer.sent();
    let note_mail = sent.last().unwrap();
    let names: Vec<&str> = note_mail
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["kreditfaktura-K1.pdf", "kreditfaktura-K1.xml"]);
    assert_eq!(
        note_mail.attachments[1].bytes,
        billing.credit_note_peppol(&issued.note).await.unwrap()
    );
    assert!(note_mail.text.contains("Peppol"), "{}", note_mail.text);
}
