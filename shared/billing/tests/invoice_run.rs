//! The monthly invoice run against the embedded store: sessions of two
//! drivers and an anonymous one in a month become two invoices with
//! consecutive numbers, valid OCR references and the priced sums; the
//! ledger balances; a re-run changes nothing.

use chrono::{DateTime, Utc};
use csms_billing::invoice_run::SkipReason;
use csms_billing::BillingService;
use csms_domain::billing::ledger::Account;
use csms_domain::billing::ocr::OcrReference;
use csms_domain::billing::period::Period;
use csms_domain::pricing::{PricedSession, PricingAudit, ROUNDING_RULE};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::PaymentTerms;
use csms_domain::user::{Role, User};
use csms_domain::{OrgId, StationId, Timestamp, TransactionId};
use csms_kernel::contract::{organisation, user};
use csms_kernel::ports::{
    Clock, InvoiceQuery, InvoiceStore, OrganisationStore, PageRequest, PricedSessionStore,
    SessionStore, UserStore,
};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::sync::Arc;

struct At(Timestamp);

impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A completed session at `CP-B1` started at `start`, priced at `net` (25 % VAT).
async fn charged(store: &EmbeddedStore, tx: &str, start: &str, driver: Option<&User>, net: &str) {
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
    s.user_id = driver.map(|u| u.id.clone());
    s.id_token = Some("TAG".into());
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    let net = dec(net);
    let vat = (net * dec("0.25")).round_dp(2);
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
            vat_rate: dec("0.25"),
            started_at: t(start),
            ended_at: t(start) + chrono::Duration::hours(2),
            charging_ended_at: t(start) + chrono::Duration::hours(1),
            energy_wh: dec("10500"),
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

#[tokio::test]
async fn a_month_becomes_one_invoice_per_driver_once() {
    let store = Arc::new(EmbeddedStore::temporary());
    store
        .create_organisation(&organisation("brf-b"))
        .await
        .unwrap();
    let ada = user(1, "ada@example.se", &[("brf-b", Role::Driver)]);
    let bo = user(2, "bo@example.se", &[("brf-b", Role::Driver)]);
    for u in [&ada, &bo] {
        store.create_user(u).await.unwrap();
    }
    // November in Stockholm starts 2026-10-31T23:00Z.
    charged(&store, "1", "2026-10-31T23:30:00Z", Some(&ada), "40.00").await;
    charged(&store, "2", "2026-11-15T17:00:00Z", Some(&ada), "12.34").await;
    charged(&store, "3", "2026-11-20T08:00:00Z", Some(&bo), "8.00").await;
    charged(&store, "4", "2026-11-21T08:00:00Z", None, "5.00").await;
    // October (Stockholm time) and December: not November's.
    charged(&store, "5", "2026-10-31T22:30:00Z", Some(&ada), "1.00").await;
    charged(&store, "6", "2026-11-30T23:00:00Z", Some(&bo), "1.00").await;

    let clock = Arc::new(At(t("2026-12-01T05:00:00Z")));
    let billing = BillingService::new(store.clone(), clock);
    let org = OrgId::parse("brf-b").unwrap();
    let nov = Period::parse("2026-11").unwrap();
    let run = billing.run_invoices(&org, nov).await.unwrap();

    assert_eq!(run.created.len(), 2);
    assert!(run.existing.is_empty());
    assert_eq!(run.sessions_invoiced, 3);
    assert_eq!(run.ledger_posted, 2);
    assert_eq!(run.skipped.len(), 1);
    assert_eq!(run.skipped[0].reason, SkipReason::Anonymous);
    assert_eq!(run.skipped[0].session_id.as_str(), "CP-B1~4");

    let (a, b) = (&run.created[0], &run.created[1]);
    assert_eq!((a.number.seq(), b.number.seq()), (1, 2));
    assert_eq!(a.user_id, ada.id);
    assert_eq!(a.lines.len(), 2);
    assert_eq!(a.lines[0].session_id.as_str(), "CP-B1~1");
    assert_eq!(
        (a.net, a.vat_total, a.gross),
        (dec("52.34"), dec("13.08"), dec("65.42"))
    );
    assert_eq!(b.gross, dec("10.00"));
    assert_eq!(OcrReference::parse(a.ocr.as_str()), Ok(a.ocr.clone()));
    assert_eq!(a.issue_date.to_string(), "2026-12-01");
    assert_eq!(a.due_date.to_string(), "2026-12-31");
    assert_eq!(a.seller.vat_number.as_deref(), Some("SE556036079301"));
    assert_eq!(a.buyer.email, "ada@example.se");

    let books = billing.balances(&org).await.unwrap();
    assert!(books.balanced());
    let payable = books.accounts[&(
        Account::OrganisationPayable { org: org.clone() },
        "SEK".into(),
    )];
    assert_eq!(payable.credits, dec("75.42"));

    // Again: nothing new, nothing booked twice.
    let again = billing.run_invoices(&org, nov).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.existing.len(), 2);
    assert_eq!(again.ledger_posted, 0);
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 2);
    assert_eq!(billing.balances(&org).await.unwrap(), books);

    // A session priced after its driver's invoice is noted, not invoiced.
    charged(&store, "7", "2026-11-25T08:00:00Z", Some(&bo), "3.00").await;
    let late = billing.run_invoices(&org, nov).await.unwrap();
    assert!(late.created.is_empty());
    assert_eq!(
        late.skipped.iter().map(|s| s.reason).collect::<Vec<_>>(),
        [SkipReason::Anonymous, SkipReason::AfterInvoice]
    );

    // December: the series goes on.
    let dec_run = billing
        .run_invoices(&org, Period::parse("2026-12").unwrap())
        .await
        .unwrap();
    assert_eq!(
        dec_run
            .created
            .iter()
            .map(|i| i.number.seq())
            .collect::<Vec<_>>(),
        [3]
    );
    let listed = store
        .list_invoices(&InvoiceQuery {
            org_id: org.clone(),
            period: Some(nov),
            user_id: None,
            status: None,
            page: PageRequest::first(10),
        })
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
}

#[tokio::test]
async fn an_unknown_organisation_is_refused() {
    let store = Arc::new(EmbeddedStore::temporary());
    let billing = BillingService::new(store, Arc::new(At(t("2026-12-01T05:00:00Z"))));
    assert!(billing
        .run_invoices(
            &OrgId::parse("nope").unwrap(),
            Period::parse("2026-11").unwrap()
        )
        .await
        .is_err());
}

#[tokio::test]
async fn two_runs_at_once_issue_each_invoice_once_with_no_gap() {
    let store = Arc::new(EmbeddedStore::temporary());
    // With payment terms of its own: due 20 days after the invoice date.
    let mut org_record = organisation("brf-b");
    org_record.payment_terms = Some(PaymentTerms::new(20).unwrap());
    store.create_organisation(&org_record).await.unwrap();
    let mut drivers = Vec::new();
    for n in 1..=6 {
        let u = user(n, &format!("d{n}@example.se"), &[("brf-b", Role::Driver)]);
        store.create_user(&u).await.unwrap();
        drivers.push(u);
    }
    for (i, d) in drivers.iter().enumerate() {
        let start = format!("2026-11-{:02}T10:00:00Z", i + 2);
        charged(&store, &format!("{}", i + 1), &start, Some(d), "10.00").await;
    }
    let org = OrgId::parse("brf-b").unwrap();
    let nov = Period::parse("2026-11").unwrap();
    let one = BillingService::new(store.clone(), Arc::new(At(t("2026-12-01T05:00:00Z"))));
    let two = one.clone();
    let (a, b) = tokio::join!(one.run_invoices(&org, nov), two.run_invoices(&org, nov));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut numbers: Vec<u64> = a
        .created
        .iter()
        .chain(&b.created)
        .map(|i| i.number.seq())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    assert_eq!(a.created.len() + a.existing.len(), 6);
    assert_eq!(b.created.len() + b.existing.len(), 6);
    for invoice in a.created.iter().chain(&b.created) {
        assert_eq!(invoice.due_date.to_string(), "2026-12-21");
    }
    let books = one.balances(&org).await.unwrap();
    assert_eq!(books.transactions, 6);
    assert!(books.balanced());
}

/// A month with a session, a driver's fee from the 16th (pro rata), a
/// group's fee, a one-off charge and a driver with only a fee: each driver
/// one invoice with the exact lines; a fee of another month and a charge
/// of another month are not on it; a re-run adds nothing, and a charge
/// added after the invoice is noted, not invoiced.
#[tokio::test]
async fn fees_and_charges_go_on_the_month_s_invoice_once() {
    use csms_billing::invoice_run::FEE_CURRENCY;
    use csms_domain::billing::fee::{ChargeId, Fee, FeeId, FeeTarget, OneOffCharge};
    use csms_domain::billing::invoice::ChargeKind;
    use csms_kernel::contract::token;
    use csms_kernel::ports::{FeeStore, TokenStore};
    let store = Arc::new(EmbeddedStore::temporary());
    store
        .create_organisation(&organisation("brf-b"))
        .await
        .unwrap();
    let org = OrgId::parse("brf-b").unwrap();
    let ada = user(1, "ada@example.se", &[("brf-b", Role::Driver)]);
    let bo = user(2, "bo@example.se", &[("brf-b", Role::Driver)]);
    let cy = user(3, "cy@example.se", &[("brf-b", Role::Driver)]);
    for u in [&ada, &bo, &cy] {
        store.create_user(u).await.unwrap();
    }
    // Bo and Cy hold residents' tags.
    for (tag, u) in [("RES-BO", &bo), ("RES-CY", &cy)] {
        let mut tok = token(tag, "brf-b");
        tok.group = Some("residents".into());
        tok.user_id = Some(u.id.clone());
        store.create_id_token(&tok).await.unwrap();
    }
    charged(&store, "1", "2026-11-15T17:00:00Z", Some(&ada), "40.00").await;
    let fee = |name: &str, target: FeeTarget, amount: &str, gross: bool, start: &str| Fee {
        id: FeeId::generate(),
        org_id: org.clone(),
        name: name.into(),
        target,
        amount: dec(amount),
        includes_vat: gross,
        vat_rate: dec("0.25"),
        start: start.parse().unwrap(),
        end: None,
        created_at: t("2026-11-01T00:00:00Z"),
        updated_at: None,
        version: 1,
    };
    // 500 gross from the 16th: 15/30 → 250.00 gross, 200.00 net.
    let parking = fee(
        "Parkeringsplats 12",
        FeeTarget::Driver(ada.id.clone()),
        "500",
        true,
        "2026-11-16",
    );
    // 80 net a month for the whole month: 80.00 + 20.00.
    let club = fee(
        "Laddklubben",
        FeeTarget::Group("residents".into()),
        "80",
        false,
        "2026-01-01",
    );
    let later = fee(
        "Förråd",
        FeeTarget::Driver(ada.id.clone()),
        "100",
        true,
        "2026-12-01",
    );
    for f in [&parking, &club, &later] {
        store.create_fee(f).await.unwrap();
    }
    let charge = |date: &str, amount: &str| OneOffCharge {
        id: ChargeId::generate(),
        org_id: org.clone(),
        user_id: ada.id.clone(),
        description: "Ny nyckelbricka".into(),
        amount: dec(amount),
        includes_vat: true,
        vat_rate: dec("0.25"),
        date: date.parse().unwrap(),
        created_at: t("2026-11-20T10:00:00Z"),
    };
    let tag = charge("2026-11-20", "100");
    store.create_charge(&tag).await.unwrap();
    store
        .create_charge(&charge("2026-12-02", "7"))
        .await
        .unwrap();

    let billing = BillingService::new(store.clone(), Arc::new(At(t("2026-12-01T05:00:00Z"))));
    let nov = Period::parse("2026-11").unwrap();
    let run = billing.run_invoices(&org, nov).await.unwrap();
    assert_eq!(run.created.len(), 3, "{run:?}");
    assert_eq!(run.charges_invoiced, 4);
    let of = |u: &User| run.created.iter().find(|i| i.user_id == u.id).unwrap();
    let a = of(&ada);
    assert_eq!(a.currency, FEE_CURRENCY);
    assert_eq!(a.lines.len(), 1);
    let described: Vec<_> = a
        .charges
        .iter()
        .map(|c| (c.description.as_str(), c.net, c.vat, c.gross))
        .collect();
    assert_eq!(
        described,
        [
            (
                "Parkeringsplats 12",
                dec("200.00"),
                dec("50.00"),
                dec("250.00")
            ),
            ("Ny nyckelbricka", dec("80.00"), dec("20.00"), dec("100.00")),
        ]
    );
    assert!(matches!(
        a.charges[0].kind,
        ChargeKind::Fee {
            days: 15,
            days_in_month: 30,
            ..
        }
    ));
    // 40 + 200 + 80 net, 10 + 50 + 20 VAT.
    assert_eq!(
        (a.net, a.vat_total, a.gross),
        (dec("320.00"), dec("80.00"), dec("400.00"))
    );
    for u in [&bo, &cy] {
        let i = of(u);
        assert!(i.lines.is_empty());
        assert_eq!(i.charges.len(), 1);
        assert_eq!(
            (i.charges[0].description.as_str(), i.gross),
            ("Laddklubben", dec("100.00"))
        );
    }
    let books = billing.balances(&org).await.unwrap();
    assert!(books.balanced());
    let payable = books.accounts[&(
        Account::OrganisationPayable { org: org.clone() },
        "SEK".into(),
    )];
    assert_eq!(payable.credits, dec("600.00"));

    // Again, and with a charge added after the invoice: nothing new.
    let late = charge("2026-11-29", "9");
    store.create_charge(&late).await.unwrap();
    let again = billing.run_invoices(&org, nov).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.existing.len(), 3);
    assert_eq!(
        again
            .skipped_charges
            .iter()
            .map(|s| (s.source_id.as_str(), s.reason))
            .collect::<Vec<_>>(),
        [(late.id.as_str(), SkipReason::AfterInvoice)]
    );
    assert_eq!(store.last_invoice_number(&org).await.unwrap(), 3);
    assert_eq!(billing.balances(&org).await.unwrap(), books);
}
