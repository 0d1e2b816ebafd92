//! An organisation's books as the ledger holds them: every account's
//! debits, credits and balance, and the proof that debits equal credits,
//! all derived from its transactions (no balance is stored).

use crate::{BillingError, BillingService, BillingStore};
use csms_domain::billing::invoice::Invoice;
use csms_domain::billing::ledger::{
    Account, Balances, LedgerReference, LedgerTransaction, Posting,
};
use csms_domain::OrgId;
use csms_kernel::ports::PageRequest;

/// The reference of the transaction an invoice posts.
pub fn invoice_reference(invoice: &Invoice) -> LedgerReference {
    LedgerReference::parse(format!("invoice:{}", invoice.number))
        .expect("an invoice number is letters, digits and -")
}

/// The transaction an issued invoice posts: the driver owes its gross
/// amount (receivable, debit), which the platform will hold for the
/// organisation (payable, credit). `None` for an invoice of nothing.
pub fn invoice_transaction(invoice: &Invoice) -> Option<LedgerTransaction> {
    LedgerTransaction::new(
        invoice.org_id.clone(),
        invoice_reference(invoice),
        invoice.currency.clone(),
        format!("invoice {} for {}", invoice.number, invoice.period),
        vec![
            Posting::debit(
                Account::DriverReceivable {
                    org: invoice.org_id.clone(),
                    user: invoice.user_id.clone(),
                },
                invoice.gross,
            ),
            Posting::credit(
                Account::OrganisationPayable {
                    org: invoice.org_id.clone(),
                },
                invoice.gross,
            ),
        ],
        invoice.created_at,
    )
    .ok()
}

impl<S: BillingStore + ?Sized> BillingService<S> {
    /// Every transaction of `org`'s ledger summed per account and currency.
    pub async fn balances(&self, org: &OrgId) -> Result<Balances, BillingError> {
        let mut balances = Balances::default();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self.store.list_ledger_transactions(org, &page).await?;
            for tx in &listed.items {
                balances
                    .add(tx)
                    .map_err(|e| BillingError::Books(format!("{}: {e}", tx.reference)))?;
            }
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(balances),
            }
        }
    }

    /// Books `invoice`'s transaction unless it is booked (idempotent by its
    /// reference); whether this call booked it.
    pub(crate) async fn post_invoice(&self, invoice: &Invoice) -> Result<bool, BillingError> {
        match invoice_transaction(invoice) {
            Some(tx) => Ok(self.store.append_ledger_transaction(&tx).await?.1),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_kernel::contract::sample_invoice;
    use csms_kernel::ports::{LedgerStore, SystemClock};
    use csms_store_redb::EmbeddedStore;
    use rust_decimal::Decimal;
    use std::sync::Arc;

    #[tokio::test]
    async fn an_invoice_posts_once_and_the_books_balance() {
        let store = Arc::new(EmbeddedStore::temporary());
        let billing = BillingService::new(store.clone(), Arc::new(SystemClock));
        let a = sample_invoice("org-b", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ1", 1);
        let b = sample_invoice("org-b", "2026-11", "usr_01JABCDEFGHJKMNPQRSTVWXYZ2", 2);
        assert!(billing.post_invoice(&a).await.unwrap());
        assert!(!billing.post_invoice(&a).await.unwrap(), "booked once");
        assert!(billing.post_invoice(&b).await.unwrap());
        let org = OrgId::parse("org-b").unwrap();
        let books = billing.balances(&org).await.unwrap();
        assert_eq!(books.transactions, 2);
        assert!(books.balanced());
        let payable = books.accounts[&(
            Account::OrganisationPayable { org: org.clone() },
            "SEK".to_owned(),
        )];
        assert_eq!(payable.balance(), -(a.gross + b.gross));
        assert_eq!(payable.credits, "100.00".parse::<Decimal>().unwrap());
        let listed = store
            .list_ledger_transactions(&org, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items[0].reference.as_str(), "invoice:F-1");
    }
}
