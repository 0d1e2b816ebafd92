//! Session pricing in process: the part the SQS pricing queue and the
//! `session-pricing` function play in AWS. A completed session's id goes on
//! a channel; a worker prices it. What cannot be priced yet (spot prices not
//! stored) is tried again after `retry`, up to a day. Nothing is lost on a
//! restart: at start, recently completed sessions without a price are queued
//! again (pricing is idempotent, so queueing one twice is harmless).
//!
//! One session must never stop the others: each is priced in its own task
//! (a panic ends that task only) under a timeout, at most
//! [`Limits::concurrency`] at a time. A session whose pricing panics or times
//! out is tried again with back-off, [`Limits::attempts`] times in all; then
//! it is dead-lettered — an alarm naming it (`GET /alarms`, kind
//! `sessionPricingFailed`) — and left for the operator (the API's reprice).
//! Sessions that fail for good (a record that does not decode, amounts out of
//! range) get the same alarm at once.

use async_trait::async_trait;
use chrono::TimeDelta;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::session::SessionStatus;
use csms_domain::{OrgId, SessionId};
use csms_kernel::ports::{
    AlarmStore, Clock, OrganisationStore, PageRequest, PricedSessionStore, SessionQuery,
    SessionStore, Store,
};
use csms_pricing::{PriceSessionError, Priced, PricingQueue, PricingService};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// One session waiting to be priced, with what happened to it so far.
#[derive(Debug, Clone)]
pub struct Job {
    session: SessionId,
    /// Tries deferred because spot prices were missing.
    deferred: u32,
    /// Tries that panicked or timed out.
    failures: u32,
}

#[derive(Clone)]
pub struct LocalPricing {
    tx: mpsc::UnboundedSender<Job>,
}

pub type PricingRx = mpsc::UnboundedReceiver<Job>;

/// How often a session waiting for spot prices is tried before giving up
/// (it can still be priced through the API's reprice).
const MAX_TRIES: u32 = 144;

/// The alarm kind of a dead-lettered session.
pub const DEAD_LETTER_KIND: &str = "sessionPricingFailed";

/// How the worker isolates sessions from each other.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest one pricing may take (`CSMS_PRICING_TIMEOUT_SECONDS`, 30).
    pub timeout: Duration,
    /// Tries of a session that panics or times out before it is
    /// dead-lettered (`CSMS_PRICING_ATTEMPTS`, 3).
    pub attempts: u32,
    /// Wait before the second try; doubled for each further one
    /// (`CSMS_PRICING_BACKOFF_SECONDS`, 5).
    pub backoff: Duration,
    /// Sessions priced at once.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_secs(5),
            concurrency: 4,
        }
    }
}

impl Limits {
    /// From the shared settings (`CSMS_PRICING_*`).
    pub fn from_settings(s: &csms_app::settings::PricingSettings) -> Self {
        Limits {
            timeout: s.timeout,
            attempts: s.attempts,
            backoff: s.backoff,
            concurrency: Limits::default().concurrency,
        }
    }
}

#[async_trait]
pub trait Pricer: Send + Sync + 'static {
    async fn price(&self, id: &SessionId) -> Result<Priced, PriceSessionError>;
}

#[async_trait]
impl Pricer for PricingService<dyn Store> {
    async fn price(&self, id: &SessionId) -> Result<Priced, PriceSessionError> {
        self.price_session(id).await
    }
}

/// How one try ended.
enum Outcome {
    Done(Result<Priced, PriceSessionError>),
    Panicked(String),
    TimedOut,
}

impl LocalPricing {
    pub fn new() -> (Self, PricingRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalPricing { tx }, rx)
    }

    /// Prices what arrives on `rx` until the channel closes. Alarms (dead
    /// letters) go to `store`.
    pub fn run(
        &self,
        mut rx: PricingRx,
        pricer: Arc<dyn Pricer>,
        store: Arc<dyn AlarmStore>,
        clock: Arc<dyn Clock>,
        retry: Duration,
        limits: Limits,
    ) -> tokio::task::JoinHandle<()> {
        let tx = self.tx.clone();
        let slots = Arc::new(Semaphore::new(limits.concurrency.max(1)));
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return; // never closed
                };
                let (tx, pricer, store, clock, limits) = (
                    tx.clone(),
                    pricer.clone(),
                    store.clone(),
                    clock.clone(),
                    limits.clone(),
                );
                tokio::spawn(async move {
                    let outcome = try_once(pricer, &job.session, limits.timeout).await;
                    drop(slot);
                    settle(job, outcome, &tx, &*store, &*clock, retry, &limits).await;
                });
            }
        })
    }

    /// Queue completed sessions of the last `days` that have no price yet.
    /// Never fails the start: what cannot be read is logged and left out
    /// (listings skip undecodable records themselves).
    pub async fn recover<S: SessionStore + PricedSessionStore + OrganisationStore + ?Sized>(
        &self,
        store: &S,
        clock: &dyn Clock,
        days: i64,
    ) -> usize {
        let orgs = match csms_kernel::tenants::organisation_ids(store).await {
            Ok(orgs) => orgs,
            Err(e) => {
                tracing::error!(error = %e, "pricing recovery could not list organisations: only the default one");
                vec![OrgId::default_org()]
            }
        };
        let mut queued = 0;
        for org in orgs {
            queued += self.recover_org(store, clock, days, org).await;
        }
        queued
    }

    async fn recover_org<S: SessionStore + PricedSessionStore + ?Sized>(
        &self,
        store: &S,
        clock: &dyn Clock,
        days: i64,
        org: OrgId,
    ) -> usize {
        let mut query = SessionQuery {
            org_id: org,
            station_id: None,
            from: clock.now().checked_sub_signed(TimeDelta::days(days)),
            to: None,
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        let mut queued = 0;
        loop {
            let page = match store.list_sessions(&query).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "pricing recovery could not list sessions: stopped early");
                    return queued;
                }
            };
            for s in &page.items {
                if s.status != SessionStatus::Completed {
                    continue;
                }
                match store.get_priced_session(&s.id).await {
                    Ok(Some(_)) => {}
                    // Queued anyway when the price cannot be read: the worker
                    // decides (and dead-letters it if need be).
                    Ok(None) | Err(_) => {
                        if self.enqueue(&s.id).await.is_ok() {
                            queued += 1;
                        }
                    }
                }
            }
            match page.next_cursor {
                Some(c) => query.page.cursor = Some(c),
                None => return queued,
            }
        }
    }
}

/// One try in a task of its own, so a panic ends only that task, under the
/// timeout. A try that overruns is aborted (at its next await; a try stuck
/// in computation keeps its thread until it ends, but no longer holds up the
/// worker or a concurrency slot).
async fn try_once(pricer: Arc<dyn Pricer>, id: &SessionId, timeout: Duration) -> Outcome {
    let id2 = id.clone();
    let task = tokio::spawn(async move { pricer.price(&id2).await });
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => Outcome::Done(result),
        Ok(Err(e)) if e.is_panic() => {
            let panic = e.into_panic();
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Outcome::Panicked(msg)
        }
        Ok(Err(e)) => Outcome::Panicked(format!("pricing task ended: {e}")),
        Err(_) => {
            abort.abort();
            Outcome::TimedOut
        }
    }
}

async fn settle(
    job: Job,
    outcome: Outcome,
    tx: &mpsc::UnboundedSender<Job>,
    store: &dyn AlarmStore,
    clock: &dyn Clock,
    retry: Duration,
    limits: &Limits,
) {
    let id = &job.session;
    let failure = match outcome {
        Outcome::Done(Ok(Priced::Done { priced, new: true })) => {
            tracing::info!(session = %id, gross = %priced.gross, currency = %priced.currency, "session priced");
            return;
        }
        Outcome::Done(Ok(Priced::Done { new: false, .. })) => return,
        Outcome::Done(Ok(Priced::NoTariff(_))) => {
            tracing::warn!(session = %id, "no tariff applies: session left unpriced");
            return;
        }
        Outcome::Done(Err(e)) if e.is_retryable() && job.deferred + 1 < MAX_TRIES => {
            tracing::warn!(session = %id, error = %e, "pricing deferred, retrying in {}s", retry.as_secs());
            later(
                tx,
                Job {
                    deferred: job.deferred + 1,
                    ..job
                },
                retry,
            );
            return;
        }
        Outcome::Done(Err(e @ PriceSessionError::NotFound(_)))
        | Outcome::Done(Err(e @ PriceSessionError::NotCompleted(_))) => {
            tracing::error!(session = %id, error = %e, "session cannot be priced");
            return;
        }
        Outcome::Done(Err(e)) => {
            tracing::error!(session = %id, error = %e, "session cannot be priced");
            dead_letter(store, clock, id, &e.to_string(), job.failures + 1).await;
            return;
        }
        Outcome::Panicked(msg) => format!("pricing panicked: {msg}"),
        Outcome::TimedOut => format!("pricing took longer than {}s", limits.timeout.as_secs()),
    };
    let failures = job.failures + 1;
    if failures < limits.attempts {
        // 1, 2, 4, … times the back-off.
        let wait = limits
            .backoff
            .saturating_mul(1u32 << (failures - 1).min(16));
        tracing::error!(session = %id, failure = %failure, attempt = failures, "pricing failed, trying again in {}s", wait.as_secs());
        later(tx, Job { failures, ..job }, wait);
    } else {
        tracing::error!(session = %id, failure = %failure, attempts = failures, "pricing failed for good: dead-lettered");
        dead_letter(store, clock, id, &failure, failures).await;
    }
}

fn later(tx: &mpsc::UnboundedSender<Job>, job: Job, wait: Duration) {
    let tx = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        let _ = tx.send(job);
    });
}

/// The alarm that names a session pricing gave up on.
pub fn dead_letter_id(id: &SessionId) -> String {
    format!("pricing-failed:{id}")
}

async fn dead_letter(
    store: &dyn AlarmStore,
    clock: &dyn Clock,
    id: &SessionId,
    failure: &str,
    attempts: u32,
) {
    let alarm = Alarm {
        id: dead_letter_id(id),
        org_id: OrgId::default_org(),
        kind: DEAD_LETTER_KIND.to_owned(),
        severity: Severity::Critical,
        title: Some(format!("Session {id} not priced")),
        message: format!(
            "session {id} could not be priced ({failure}); reprice it once the cause is fixed"
        ),
        details: serde_json::json!({"sessionId": id.as_str(), "failure": failure, "attempts": attempts}),
        raised_at: clock.now(),
        action: Some(format!(
            "fix the cause, then price the session again (POST /api/v1/sessions/{id}/reprice)"
        )),
        occurrences: 1,
        last_seen_at: None,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    };
    if let Err(e) = store.raise_alarm(&alarm).await {
        tracing::error!(session = %id, error = %e, "could not raise the dead-letter alarm");
    }
}

#[async_trait]
impl PricingQueue for LocalPricing {
    async fn enqueue(&self, session: &SessionId) -> Result<(), String> {
        self.tx
            .send(Job {
                session: session.clone(),
                deferred: 0,
                failures: 0,
            })
            .map_err(|_| "shutting down".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::tariff::Resolution;
    use csms_kernel::ports::SystemClock;
    use std::sync::Mutex;

    /// Panics on `boom`, never finishes `spin` (a busy loop that yields, as a
    /// runaway computation over awaits would), prices everything else.
    struct Double {
        priced: Mutex<Vec<String>>,
        tries: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Pricer for Double {
        async fn price(&self, id: &SessionId) -> Result<Priced, PriceSessionError> {
            self.tries.lock().unwrap().push(id.to_string());
            match id.as_str() {
                s if s.ends_with("boom") => panic!("overflow in a test double"),
                s if s.ends_with("spin") => loop {
                    tokio::task::yield_now().await;
                },
                s => {
                    self.priced.lock().unwrap().push(s.to_owned());
                    Ok(Priced::NoTariff(Resolution {
                        tariff_id: None,
                        assignment_id: None,
                        group: None,
                        steps: Vec::new(),
                    }))
                }
            }
        }
    }

    fn session_id(tx: &str) -> SessionId {
        SessionId::new(
            &csms_domain::StationId::parse("CP1").unwrap(),
            &csms_domain::TransactionId::parse(tx).unwrap(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_that_panics_or_spins_is_dead_lettered_and_the_next_one_is_priced() {
        let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
        let double = Arc::new(Double {
            priced: Mutex::default(),
            tries: Mutex::default(),
        });
        let (pricing, rx) = LocalPricing::new();
        let limits = Limits {
            timeout: Duration::from_millis(300),
            attempts: 2,
            backoff: Duration::from_millis(50),
            concurrency: 1,
        };
        let task = pricing.run(
            rx,
            double.clone(),
            store.clone(),
            Arc::new(SystemClock),
            Duration::from_secs(60),
            limits,
        );
        for tx in ["boom", "spin", "fine"] {
            pricing.enqueue(&session_id(tx)).await.unwrap();
        }
        // Two tries of each bad one: 2 × 300 ms of spinning plus back-off.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let alarms = loop {
            let alarms = store
                .list_alarms(&OrgId::default_org(), true, &PageRequest::first(50))
                .await
                .unwrap();
            if alarms.items.len() >= 2 || tokio::time::Instant::now() > deadline {
                break alarms;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            *double.priced.lock().unwrap(),
            [session_id("fine").to_string()]
        );
        let mut named: Vec<String> = alarms
            .items
            .iter()
            .filter(|a| a.kind == DEAD_LETTER_KIND)
            .map(|a| a.details["sessionId"].as_str().unwrap().to_owned())
            .collect();
        named.sort();
        let mut want = vec![
            session_id("boom").to_string(),
            session_id("spin").to_string(),
        ];
        want.sort();
        assert_eq!(named, want, "each bad session is dead-lettered by name");
        let tries = double.tries.lock().unwrap().clone();
        let count = |s: &str| {
            tries
                .iter()
                .filter(|t| **t == session_id(s).to_string())
                .count()
        };
        assert_eq!(
            (count("boom"), count("spin")),
            (2, 2),
            "tried `attempts` times"
        );
        // The worker is still alive: a session queued now is priced.
        pricing.enqueue(&session_id("later")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(double
            .priced
            .lock()
            .unwrap()
            .contains(&session_id("later").to_string()));
        task.abort();
    }
}
