//! Session pricing in process: the part the SQS pricing queue and the
//! `session-pricing` function play in AWS. A completed session's id goes on
//! a channel; a worker prices it. What cannot be priced yet (spot prices not
//! stored) is tried again after `retry`, up to a day. Nothing is lost on a
//! restart: at start, recently completed sessions without a price are queued
//! again (pricing is idempotent, so queueing one twice is harmless).

use async_trait::async_trait;
use chrono::TimeDelta;
use csms_core::ports::{Clock, PageRequest, SessionQuery, Store};
use csms_core::pricing::{Priced, PricingQueue, PricingService};
use csms_domain::session::SessionStatus;
use csms_domain::{OrgId, SessionId};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct LocalPricing {
    tx: mpsc::UnboundedSender<(SessionId, u32)>,
}

pub type PricingRx = mpsc::UnboundedReceiver<(SessionId, u32)>;

/// How often a session waiting for spot prices is tried before giving up
/// (it can still be priced through the API's reprice).
const MAX_TRIES: u32 = 144;

impl LocalPricing {
    pub fn new() -> (Self, PricingRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalPricing { tx }, rx)
    }

    pub fn run(
        &self,
        mut rx: PricingRx,
        service: PricingService<dyn Store>,
        retry: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some((id, tries)) = rx.recv().await {
                match service.price_session(&id).await {
                    Ok(Priced::Done { priced, new: true }) => {
                        tracing::info!(session = %id, gross = %priced.gross, currency = %priced.currency, "session priced");
                    }
                    Ok(Priced::Done { new: false, .. }) => {}
                    Ok(Priced::NoTariff(_)) => {
                        tracing::warn!(session = %id, "no tariff applies: session left unpriced");
                    }
                    Err(e) if e.is_retryable() && tries + 1 < MAX_TRIES => {
                        tracing::warn!(session = %id, error = %e, "pricing deferred, retrying in {}s", retry.as_secs());
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(retry).await;
                            let _ = tx.send((id, tries + 1));
                        });
                    }
                    Err(e) => {
                        tracing::error!(session = %id, error = %e, "session cannot be priced")
                    }
                }
            }
        })
    }

    /// Queue completed sessions of the last `days` that have no price yet.
    pub async fn recover(
        &self,
        store: &dyn Store,
        clock: &dyn Clock,
        days: i64,
    ) -> anyhow::Result<usize> {
        let mut query = SessionQuery {
            org_id: OrgId::default_org(),
            station_id: None,
            from: Some(clock.now() - TimeDelta::days(days)),
            to: None,
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        let mut queued = 0;
        loop {
            let page = store.list_sessions(&query).await?;
            for s in &page.items {
                if s.status == SessionStatus::Completed
                    && store.get_priced_session(&s.id).await?.is_none()
                {
                    self.enqueue(&s.id).await.map_err(anyhow::Error::msg)?;
                    queued += 1;
                }
            }
            match page.next_cursor {
                Some(c) => query.page.cursor = Some(c),
                None => return Ok(queued),
            }
        }
    }
}

#[async_trait]
impl PricingQueue for LocalPricing {
    async fn enqueue(&self, session: &SessionId) -> Result<(), String> {
        self.tx
            .send((session.clone(), 0))
            .map_err(|_| "shutting down".to_owned())
    }
}
