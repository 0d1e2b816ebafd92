//! Dunning: the daily run over an organisation's unpaid invoices. For each,
//! the pure decision (`csms_domain::billing::dunning::next_step`) names the
//! step due today in the organisation's zone: a reminder (its fee, if the
//! organisation charges one, booked first as its own balanced transaction
//! by the reference `reminder-fee:{number}:{n}`, then the reminder recorded
//! on the invoice by a versioned write) or the block (recorded on the
//! invoice, then the driver's identifiers of that organisation blocked).
//! The mail of a reminder is sent after it is recorded
//! (`csms_notify::mail::reminders`), which marks it mailed.
//!
//! Idempotent and resumable: a step recorded is not taken again, a fee
//! booked is not booked again, and the identifiers of a blocked unpaid
//! invoice are blocked again by every run (a run that stopped between the
//! record and the identifiers finishes the next day). A paid invoice lifts
//! its block ([`BillingService::lift_block`]): the identifiers the block
//! blocked are accepted again unless another unpaid invoice of the same
//! driver and organisation still blocks them.

use crate::{BillingError, BillingService, BillingStore};
use chrono::NaiveDate;
use csms_domain::billing::dunning::{
    next_step, DunningStep, InvoiceBlock, InvoiceDispute, Reminder,
};
use csms_domain::billing::invoice::{Invoice, InvoiceId, InvoiceStatus};
use csms_domain::billing::ledger::{Account, LedgerReference, LedgerTransaction, Posting};
use csms_domain::billing::period::DEFAULT_ZONE;
use csms_domain::token::{IdTokenRecord, TokenBlock, TokenStatus};
use csms_domain::user::UserId;
use csms_domain::OrgId;
use csms_kernel::events::InvoiceChange;
use csms_kernel::ports::{InvoiceQuery, PageRequest, StoreError};

/// Who lifts a block when the invoice is paid.
pub const LIFTED_BY_PAYMENT: &str = "payment";

/// How often a versioned write is tried again.
const ATTEMPTS: usize = 10;

/// What one run did in one organisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DunningResult {
    /// Reminders recorded by this run: the invoice and the reminder's number.
    pub reminded: Vec<(InvoiceId, u8)>,
    /// Invoices this run blocked their driver for.
    pub blocked: Vec<InvoiceId>,
    /// Identifiers this run blocked (a block recorded earlier included).
    pub tokens_blocked: usize,
}

/// The `by` of an identifier's block that an invoice put there.
fn blocked_by(invoice: &Invoice) -> String {
    format!("invoice:{}", invoice.number)
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Today in the zone of invoices (the organisation's).
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&DEFAULT_ZONE).date_naive()
    }

    /// The day's dunning in every organisation; an organisation that fails
    /// is logged and the others go on.
    pub async fn run_dunning_everywhere(&self, today: NaiveDate) -> Result<usize, BillingError> {
        let mut steps = 0;
        for org in csms_kernel::tenants::organisation_ids(&*self.store).await? {
            match self.run_dunning(&org, today).await {
                Ok(r) => steps += r.reminded.len() + r.blocked.len(),
                Err(e) => tracing::error!(org = %org, error = %e, "dunning failed"),
            }
        }
        Ok(steps)
    }

    /// Takes the step due on `today` of each unpaid invoice of `org`.
    pub async fn run_dunning(
        &self,
        org: &OrgId,
        today: NaiveDate,
    ) -> Result<DunningResult, BillingError> {
        let organisation = self
            .store
            .get_organisation(org)
            .await?
            .ok_or_else(|| BillingError::OrganisationNotFound(org.to_string()))?;
        let settings = organisation.dunning();
        let mut result = DunningResult::default();
        for invoice in self.unpaid_invoices(org).await? {
            if invoice.due_date >= today {
                continue;
            }
            match next_step(&invoice, &settings, today) {
                Some(DunningStep::Reminder(n)) => {
                    let id = invoice.id.clone();
                    if self
                        .remind(invoice, n, settings.reminder_fee(), today)
                        .await?
                        .is_some()
                    {
                        result.reminded.push((id, n));
                    }
                }
                Some(DunningStep::Block) => {
                    if let Some(blocked) = self.record_block(invoice, today).await? {
                        result.tokens_blocked += self.block_tokens(&blocked).await?;
                        result.blocked.push(blocked.id);
                    }
                }
                None if invoice.blocks() => {
                    result.tokens_blocked += self.block_tokens(&invoice).await?;
                }
                None => {}
            }
        }
        Ok(result)
    }
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// `org`'s invoices not paid in full.
    async fn unpaid_invoices(&self, org: &OrgId) -> Result<Vec<Invoice>, BillingError> {
        Ok(csms_kernel::ports::unpaid_invoices(&*self.store, org).await?)
    }

    /// Records reminder `n` of `invoice` (its fee booked first): the
    /// invoice as recorded, or `None` when another writer moved it or it
    /// is paid meanwhile (the next run decides again).
    async fn remind(
        &self,
        invoice: Invoice,
        n: u8,
        fee: Option<rust_decimal::Decimal>,
        today: NaiveDate,
    ) -> Result<Option<Invoice>, BillingError> {
        let owed = self.invoice_payments(&invoice).await?;
        if owed.due <= rust_decimal::Decimal::ZERO {
            return Ok(None);
        }
        if let Some(fee) = fee {
            self.store
                .append_ledger_transaction(&fee_transaction(&invoice, n, fee, self.clock.now())?)
                .await?;
        }
        let mut next = invoice.clone();
        next.reminders.push(Reminder {
            number: n,
            on: today,
            amount_due: owed.due,
            fee,
            recorded_at: self.clock.now(),
            mailed_at: None,
        });
        next.version = invoice.version + 1;
        match self.store.put_invoice(&next, invoice.version).await {
            Ok(()) => {
                self.tell(&next, InvoiceChange::Reminded(n)).await;
                Ok(Some(next))
            }
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the block on `invoice`: the invoice as recorded, or `None`
    /// when another writer moved it meanwhile.
    async fn record_block(
        &self,
        invoice: Invoice,
        today: NaiveDate,
    ) -> Result<Option<Invoice>, BillingError> {
        let mut next = invoice.clone();
        next.block = Some(InvoiceBlock {
            on: today,
            at: self.clock.now(),
            lifted_at: None,
            lifted_by: None,
        });
        next.version = invoice.version + 1;
        match self.store.put_invoice(&next, invoice.version).await {
            Ok(()) => {
                self.tell(&next, InvoiceChange::Blocked).await;
                Ok(Some(next))
            }
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The identifiers `user` holds at `org`.
    async fn held_tokens(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Vec<IdTokenRecord>, BillingError> {
        let mut held = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_user_id_tokens(user, &page).await?;
            held.extend(listed.items.into_iter().filter(|t| &t.org_id == org));
            match listed.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        Ok(held)
    }

    /// Blocks the accepted identifiers of the invoice's driver at its
    /// organisation (what authorisation already reads: no extra request
    /// per charger message); how many it blocked.
    async fn block_tokens(&self, invoice: &Invoice) -> Result<usize, BillingError> {
        let by = blocked_by(invoice);
        let reason = format!("invoice {} unpaid", invoice.number);
        let mut blocked = 0;
        for token in self.held_tokens(&invoice.org_id, &invoice.user_id).await? {
            let changed = self
                .change_token(token, |t, now| {
                    if t.status != TokenStatus::Accepted {
                        return false;
                    }
                    t.status = TokenStatus::Blocked;
                    t.block = Some(TokenBlock {
                        reason: reason.clone(),
                        by: by.clone(),
                        at: now,
                        unblocked_at: None,
                        unblocked_by: None,
                    });
                    true
                })
                .await?;
            blocked += usize::from(changed);
        }
        Ok(blocked)
    }

    /// Accepts again the identifiers an invoice's block blocked (those an
    /// operator blocked stay blocked), unless another unpaid invoice of the
    /// same driver and organisation blocks them; how many.
    async fn unblock_tokens(&self, invoice: &Invoice, by: &str) -> Result<usize, BillingError> {
        let others = self
            .store
            .list_invoices(&InvoiceQuery {
                org_id: invoice.org_id.clone(),
                period: None,
                user_id: Some(invoice.user_id.clone()),
                status: None,
                page: PageRequest::first(PageRequest::MAX_LIMIT),
            })
            .await?;
        if others
            .items
            .iter()
            .any(|o| o.id != invoice.id && o.blocks() && o.status != InvoiceStatus::Paid)
        {
            return Ok(0);
        }
        let mut unblocked = 0;
        for token in self.held_tokens(&invoice.org_id, &invoice.user_id).await? {
            let changed = self
                .change_token(token, |t, now| {
                    let ours = t
                        .block
                        .as_ref()
                        .is_some_and(|b| b.by.starts_with("invoice:") && b.unblocked_at.is_none());
                    if t.status != TokenStatus::Blocked || !ours {
                        return false;
                    }
                    t.status = TokenStatus::Accepted;
                    if let Some(b) = t.block.as_mut() {
                        b.unblocked_at = Some(now);
                        b.unblocked_by = Some(by.to_owned());
                    }
                    true
                })
                .await?;
            unblocked += usize::from(changed);
        }
        Ok(unblocked)
    }

    /// Changes a token with `f` (which says whether it changed it) by a
    /// versioned write, read again when another writer moved it.
    async fn change_token(
        &self,
        mut token: IdTokenRecord,
        f: impl Fn(&mut IdTokenRecord, csms_domain::Timestamp) -> bool,
    ) -> Result<bool, BillingError> {
        for _ in 0..ATTEMPTS {
            let stored = token.version;
            let now = self.clock.now();
            let mut next = token.clone();
            if !f(&mut next, now) {
                return Ok(false);
            }
            next.updated_at = Some(now);
            next.version = stored + 1;
            match self.store.put_id_token(&next, stored).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict(_)) => {
                    match self.store.get_id_token(&token.token).await? {
                        Some(t) => token = t,
                        None => return Ok(false),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "id token {} kept changing",
            token.token
        ))))
    }

    /// Lifts the block of invoice `id` of `org` (`by`: [`LIFTED_BY_PAYMENT`]
    /// when it is paid, else who lifts it by hand): its identifiers are
    /// accepted again and the block is marked lifted, so dunning does not
    /// block again for it. Lifting a lifted block changes nothing.
    pub async fn lift_block(
        &self,
        org: &OrgId,
        id: &InvoiceId,
        by: &str,
    ) -> Result<Invoice, BillingError> {
        for _ in 0..ATTEMPTS {
            let invoice = self
                .store
                .get_invoice(id)
                .await?
                .filter(|i| &i.org_id == org)
                .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))?;
            let Some(block) = invoice.block.clone() else {
                return Err(BillingError::Refused(format!("invoice {id} blocks nobody")));
            };
            if !block.active() {
                return Ok(invoice);
            }
            // The identifiers first: a crash after them leaves the block
            // recorded, and the next lift or payment finishes it.
            self.unblock_tokens(&invoice, by).await?;
            let mut next = invoice.clone();
            next.block = Some(InvoiceBlock {
                lifted_at: Some(self.clock.now()),
                lifted_by: Some(by.to_owned()),
                ..block
            });
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} kept changing; its block is not lifted"
        ))))
    }
}

/// Whether a dispute is opened or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeChange {
    Open,
    Resolve,
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Opens a dispute of invoice `id` of `org` (`reason` already checked
    /// by the caller, `by` who) or resolves the open one: while it is open
    /// dunning takes no step and the saved card is not charged. A paid
    /// invoice is not disputed; opening an open dispute or resolving none
    /// is refused, naming why. Versioned write, retried on a concurrent
    /// change.
    pub async fn change_dispute(
        &self,
        org: &OrgId,
        id: &InvoiceId,
        change: DisputeChange,
        reason: Option<&str>,
        by: &str,
    ) -> Result<Invoice, BillingError> {
        for _ in 0..ATTEMPTS {
            let invoice = self
                .store
                .get_invoice(id)
                .await?
                .filter(|i| &i.org_id == org)
                .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))?;
            let open = invoice.dispute.as_ref().filter(|d| d.open());
            let now = self.clock.now();
            let dispute = match (change, open) {
                (DisputeChange::Open, Some(_)) => {
                    return Err(BillingError::Refused(format!(
                        "invoice {id} is disputed already"
                    )))
                }
                (DisputeChange::Open, None) if invoice.status == InvoiceStatus::Paid => {
                    return Err(BillingError::Refused(format!("invoice {id} is paid")))
                }
                (DisputeChange::Open, None) => InvoiceDispute {
                    reason: reason.unwrap_or_default().to_owned(),
                    by: by.to_owned(),
                    at: now,
                    resolved_at: None,
                    resolved_by: None,
                    resolved_on: None,
                },
                (DisputeChange::Resolve, None) => {
                    return Err(BillingError::Refused(format!(
                        "invoice {id} has no open dispute"
                    )))
                }
                (DisputeChange::Resolve, Some(d)) => InvoiceDispute {
                    resolved_at: Some(now),
                    resolved_by: Some(by.to_owned()),
                    resolved_on: Some(now.with_timezone(&DEFAULT_ZONE).date_naive()),
                    ..d.clone()
                },
            };
            let mut next = invoice.clone();
            next.dispute = Some(dispute);
            next.version = invoice.version + 1;
            match self.store.put_invoice(&next, invoice.version).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BillingError::Store(StoreError::Conflict(format!(
            "invoice {id} kept changing; its dispute is not changed"
        ))))
    }
}

/// The ledger transaction of reminder `n`'s fee: the driver's receivable
/// debited, what the platform holds for the organisation credited, like
/// the invoice itself.
pub fn fee_transaction(
    invoice: &Invoice,
    n: u8,
    fee: rust_decimal::Decimal,
    at: csms_domain::Timestamp,
) -> Result<LedgerTransaction, BillingError> {
    let reference = LedgerReference::parse(format!("reminder-fee:{}:{n}", invoice.number))
        .map_err(|e| BillingError::Books(format!("invoice {}: {e}", invoice.number)))?;
    LedgerTransaction::new(
        invoice.org_id.clone(),
        reference,
        invoice.currency.clone(),
        format!("reminder fee {n} of invoice {}", invoice.number),
        vec![
            Posting::debit(
                Account::DriverReceivable {
                    org: invoice.org_id.clone(),
                    user: invoice.user_id.clone(),
                },
                fee,
            ),
            Posting::credit(
                Account::OrganisationPayable {
                    org: invoice.org_id.clone(),
                },
                fee,
            ),
        ],
        at,
    )
    .map_err(|e| BillingError::Books(format!("invoice {}: {e:?}", invoice.number)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::dunning::DunningSettings;
    use csms_domain::billing::ledger::Account;
    use csms_domain::Timestamp;
    use csms_kernel::contract::{organisation, sample_invoice, sample_payment, token};
    use csms_kernel::ports::{
        Clock, InvoiceStore, LedgerStore, OrganisationStore, PaymentStore, TokenStore,
    };
    use csms_store_redb::EmbeddedStore;
    use rust_decimal::Decimal;
    use std::sync::{Arc, Mutex};

    struct TestClock(Mutex<Timestamp>);
    impl Clock for TestClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }

    const U1: &str = "usr_01JABCDEFGHJKMNPQRSTVWXYZ1";

    /// What billing told, in order: the invoice's number and the change.
    #[derive(Default)]
    struct Heard(Mutex<Vec<(String, InvoiceChange)>>);
    #[async_trait::async_trait]
    impl csms_kernel::events::EventBus for Heard {
        async fn publish(&self, event: csms_kernel::events::DomainEvent) {
            if let csms_kernel::events::DomainEvent::Invoice {
                invoice, change, ..
            } = event
            {
                self.0
                    .lock()
                    .unwrap()
                    .push((invoice.number.to_string(), change));
            }
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn reminders_a_fee_the_block_and_the_payment_that_lifts_it() {
        let store = Arc::new(EmbeddedStore::temporary());
        let clock = Arc::new(TestClock(Mutex::new(
            "2027-01-03T05:00:00Z".parse().unwrap(),
        )));
        let heard = Arc::new(Heard::default());
        let billing = BillingService::new(store.clone(), clock.clone()).with_events(heard.clone());
        let mut org = organisation("org-d");
        org.dunning =
            Some(DunningSettings::new(&[3, 10], Some(Decimal::from(60)), Some(17)).unwrap());
        store.create_organisation(&org).await.unwrap();
        let user = UserId::parse(U1).unwrap();
        // The driver's card here, another at another organisation, and one
        // an operator blocked.
        for (v, o, status) in [
            ("04CARD", "org-d", TokenStatus::Accepted),
            ("04ELSE", "org-e", TokenStatus::Accepted),
            ("04OPER", "org-d", TokenStatus::Blocked),
        ] {
            let mut t = token(v, o);
            t.user_id = Some(user.clone());
            t.status = status;
            store.create_id_token(&t).await.unwrap();
        }
        let status_of = |v: &'static str| {
            let store = store.clone();
            async move {
                store
                    .get_id_token(&csms_domain::IdTokenValue::parse(v).unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .status
            }
        };
        // Due 2026-12-31; a paid one beside it gets nothing.
        let invoice = sample_invoice("org-d", "2026-11", U1, 1);
        store.issue_invoice(&invoice).await.unwrap();
        let mut paid = sample_invoice("org-d", "2026-10", "usr_01JABCDEFGHJKMNPQRSTVWXYZ2", 2);
        store.issue_invoice(&paid).await.unwrap();
        paid.status = InvoiceStatus::Paid;
        paid.version = 2;
        store.put_invoice(&paid, 1).await.unwrap();
        let oid = org.id.clone();

        let r = billing.run_dunning(&oid, date("2027-01-02")).await.unwrap();
        assert_eq!(r, DunningResult::default());
        let r = billing.run_dunning(&oid, date("2027-01-03")).await.unwrap();
        assert_eq!(r.reminded, [(invoice.id.clone(), 1)]);
        let again = billing.run_dunning(&oid, date("2027-01-03")).await.unwrap();
        assert_eq!(again, DunningResult::default(), "once");
        let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(stored.reminders.len(), 1);
        assert_eq!(stored.reminders[0].amount_due, invoice.gross);
        assert_eq!(stored.reminders[0].fee, Some(Decimal::from(60)));
        assert_eq!(stored.reminders[0].mailed_at, None, "mailed by notify");

        // Part paid: the second reminder is of the rest.
        let p = sample_payment("bgmax:17:000000000001", "", "20.00");
        store.record_payment(&p).await.unwrap();
        billing.match_payment(&p.id, &invoice.id).await.unwrap();
        let r = billing.run_dunning(&oid, date("2027-01-10")).await.unwrap();
        assert_eq!(r.reminded, [(invoice.id.clone(), 2)]);
        let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(stored.reminders[1].amount_due, Decimal::new(3000, 2));
        assert_eq!(stored.reminder_fees(), Some(Decimal::from(120)));
        // Each fee booked once, balanced.
        let books = billing.balances(&oid).await.unwrap();
        assert!(books.balanced());
        assert_eq!(books.transactions, 3, "two fees and the payment");
        let receivable = books.accounts[&(
            Account::DriverReceivable {
                org: oid.clone(),
                user: user.clone(),
            },
            "SEK".to_owned(),
        )];
        assert_eq!(receivable.debits, Decimal::from(120));
        let tx = store
            .get_ledger_transaction(
                &oid,
                &LedgerReference::parse(format!("reminder-fee:{}:2", invoice.number)).unwrap(),
            )
            .await
            .unwrap();
        assert!(tx.is_some());

        assert_eq!(status_of("04CARD").await, TokenStatus::Accepted);
        let r = billing.run_dunning(&oid, date("2027-01-17")).await.unwrap();
        assert_eq!(r.blocked, std::slice::from_ref(&invoice.id));
        assert_eq!(r.tokens_blocked, 1);
        assert_eq!(status_of("04CARD").await, TokenStatus::Blocked);
        assert_eq!(
            status_of("04ELSE").await,
            TokenStatus::Accepted,
            "another organisation's"
        );
        let again = billing.run_dunning(&oid, date("2027-01-18")).await.unwrap();
        assert_eq!(again, DunningResult::default());

        // Paid in full: the block is lifted, the operator's stays.
        let rest = sample_payment("bgmax:17:000000000002", "", "30.00");
        store.record_payment(&rest).await.unwrap();
        billing.match_payment(&rest.id, &invoice.id).await.unwrap();
        let stored = store.get_invoice(&invoice.id).await.unwrap().unwrap();
        assert_eq!(stored.status, InvoiceStatus::Paid);
        let block = stored.block.unwrap();
        assert_eq!(block.lifted_by.as_deref(), Some(LIFTED_BY_PAYMENT));
        assert_eq!(status_of("04CARD").await, TokenStatus::Accepted);
        assert_eq!(status_of("04OPER").await, TokenStatus::Blocked);
        // Each step told once, after its write; the re-runs told nothing,
        // and a part payment is not a paid invoice.
        let n = invoice.number.to_string();
        assert_eq!(
            *heard.0.lock().unwrap(),
            [
                (n.clone(), InvoiceChange::Reminded(1)),
                (n.clone(), InvoiceChange::Reminded(2)),
                (n.clone(), InvoiceChange::Blocked),
                (n.clone(), InvoiceChange::Paid),
            ]
        );
        let r = billing.run_dunning(&oid, date("2027-02-01")).await.unwrap();
        assert_eq!(r, DunningResult::default());
    }

    #[tokio::test]
    async fn a_block_lifted_by_hand_stays_lifted() {
        let store = Arc::new(EmbeddedStore::temporary());
        let clock = Arc::new(TestClock(Mutex::new(
            "2027-01-20T05:00:00Z".parse().unwrap(),
        )));
        let billing = BillingService::new(store.clone(), clock);
        store
            .create_organisation(&organisation("org-h"))
            .await
            .unwrap();
        let mut t = token("04HAND", "org-h");
        t.user_id = Some(UserId::parse(U1).unwrap());
        store.create_id_token(&t).await.unwrap();
        let invoice = sample_invoice("org-h", "2026-11", U1, 1);
        store.issue_invoice(&invoice).await.unwrap();
        let oid = OrgId::parse("org-h").unwrap();
        for day in ["2027-01-03", "2027-01-10", "2027-01-17"] {
            billing.run_dunning(&oid, date(day)).await.unwrap();
        }
        let token_status = || async { store.get_id_token(&t.token).await.unwrap().unwrap().status };
        assert_eq!(token_status().await, TokenStatus::Blocked);
        assert!(matches!(
            billing
                .lift_block(&OrgId::parse("org-x").unwrap(), &invoice.id, "k1")
                .await,
            Err(BillingError::NotFound(_))
        ));
        let lifted = billing.lift_block(&oid, &invoice.id, "k1").await.unwrap();
        assert_eq!(lifted.block.unwrap().lifted_by.as_deref(), Some("k1"));
        assert_eq!(token_status().await, TokenStatus::Accepted);
        billing.run_dunning(&oid, date("2027-01-25")).await.unwrap();
        assert_eq!(
            token_status().await,
            TokenStatus::Accepted,
            "not blocked again"
        );
    }
}
