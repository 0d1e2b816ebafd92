//! One delivery attempt, and what decides the next.

use super::{signature, target};
use async_trait::async_trait;
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::api_key::Scope;
use csms_domain::webhook::{Attempt, Delivery, DeliveryStatus, Webhook};
use csms_kernel::events::{raise_alarm, resolve_alarm, EventBus, NoEvents};
use csms_kernel::ports::{AlarmStore, ApiKeyStore, Clock, StoreError, WebhookStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Holds delivery ids until they are due: SQS with `DelaySeconds` in AWS, a
/// sleeping task locally. Consumers call [`Deliverer::attempt`].
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    async fn enqueue(&self, delivery_id: &str, delay: Duration) -> Result<(), String>;
}

/// What an attempt got back. A failed attempt is an `Err` with a coarse,
/// fixed text (one of the `FAILED_*`/`REFUSED` constants below): the
/// delivery log is read by whoever registered the webhook, and a detailed
/// error ("connection refused" against "certificate not valid for name")
/// would let them map ports of hosts the CSMS can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportReply {
    pub status: u16,
    /// The start of the answer's body, for the delivery log.
    pub body: Option<String>,
}

/// The target's address is not one this delivery may connect to.
pub const REFUSED: &str = "refused: address not allowed";
/// The name did not resolve.
pub const FAILED_DNS: &str = "name not resolved";
/// No TCP connection (refused, unreachable, reset).
pub const FAILED_CONNECT: &str = "connection failed";
/// The TLS handshake failed (certificate, protocol).
pub const FAILED_TLS: &str = "TLS error";
/// No answer within the transport's timeout.
pub const FAILED_TIMEOUT: &str = "timed out";
/// Anything else between connecting and the status line.
pub const FAILED_REQUEST: &str = "request failed";

/// POSTs a delivery. Implementations bound the whole exchange by a timeout,
/// do not follow redirects (a redirect is an answer, and not a 2xx), check
/// the addresses they connect to (see [`super::target`]) and fail with one
/// of the coarse texts above, logging the detail for the operator only.
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, String>;
}

/// Delays between attempts: after the first failure wait `delays[0]`, and
/// so on; when they are used up the delivery fails for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// Eight attempts over about 21 hours: quick retries for a blip, slow
    /// ones for an endpoint that is down for the night.
    fn default() -> Self {
        RetrySchedule {
            delays: [10, 60, 300, 1800, 7200, 21600, 43200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        }
    }
}

impl RetrySchedule {
    /// A comma-separated list of seconds, e.g. `10,60,300`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let delays = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("retry schedule: {p:?} is not a number of seconds"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RetrySchedule { delays })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The retry could not be queued; the caller should let its queue retry.
    #[error("could not queue the next attempt: {0}")]
    Queue(String),
}

pub struct Deliverer<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn WebhookTransport>,
    queue: Arc<dyn DeliveryQueue>,
    schedule: RetrySchedule,
    /// Where the `webhookFailing` alarm is told.
    events: Arc<dyn EventBus>,
}

impl<S: ?Sized> Clone for Deliverer<S> {
    fn clone(&self) -> Self {
        Deliverer {
            store: self.store.clone(),
            clock: self.clock.clone(),
            transport: self.transport.clone(),
            queue: self.queue.clone(),
            schedule: self.schedule.clone(),
            events: self.events.clone(),
        }
    }
}

/// Alarm kind of a webhook whose deliveries keep failing.
pub const FAILING_KIND: &str = "webhookFailing";

/// A delivery that failed this many attempts in a row (about six minutes
/// with the default schedule: a blip is retried away before) raises the
/// webhook's `webhookFailing` alarm; each further failed attempt of any of
/// its deliveries counts on it.
pub const FAILING_AFTER_ATTEMPTS: usize = 4;

/// The failing alarm of a webhook: one per webhook.
pub fn failing_alarm_id(webhook_id: &str) -> String {
    format!("webhook-failing:{webhook_id}")
}

/// The alarm of `hook` after the failed attempt that ends `d`'s attempts.
/// Its address is left out for a private target (as its answers are).
pub fn failing_alarm(hook: &Webhook, d: &Delivery, now: chrono::DateTime<chrono::Utc>) -> Alarm {
    let last = d.attempts.last();
    let private = target::is_private_url(&hook.url);
    Alarm {
        title: Some(format!("Webhook {} keeps failing", hook.id)),
        message: format!(
            "{} attempts in a row to deliver {} to webhook {} failed (the last: {})",
            d.attempts.len(),
            d.event_type.as_str(),
            hook.id,
            last.and_then(|a| a.error.as_deref()).unwrap_or("failed")
        ),
        action: Some(
            "check that the endpoint is up and answers 2xx within the timeout; deliveries are retried for about 21 hours, and GET /webhooks/{id}/deliveries shows each attempt"
                .to_owned(),
        ),
        details: serde_json::json!({
            "webhookId": hook.id,
            "url": (!private).then_some(hook.url.as_str()),
            "deliveryId": d.id,
            "eventType": d.event_type.as_str(),
            "attempts": d.attempts.len(),
            "lastStatusCode": last.and_then(|a| a.status_code),
            "lastError": last.and_then(|a| a.error.as_deref()),
        }),
        ..Alarm::opened(
            failing_alarm_id(&hook.id),
            hook.org_id.clone(),
            FAILING_KIND,
            Severity::Warning,
            now,
        )
    }
}

/// Headers every delivery carries besides the signature.
pub const ID_HEADER: &str = "Csms-Webhook-Id";
pub const EVENT_HEADER: &str = "Csms-Event-Type";
/// An attempt still counts as "now" this close to its due time (queues
/// wake up a little early).
const EARLY_SLACK: Duration = Duration::from_secs(1);

impl<S: WebhookStore + ApiKeyStore + AlarmStore + ?Sized> Deliverer<S> {
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn WebhookTransport>,
        queue: Arc<dyn DeliveryQueue>,
        schedule: RetrySchedule,
    ) -> Self {
        Deliverer {
            store,
            clock,
            transport,
            queue,
            schedule,
            events: Arc::new(NoEvents),
        }
    }

    /// Tell the `webhookFailing` alarm on `events`.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }

    /// Try a delivery once, if it is due, and record the outcome. Safe to
    /// call for a delivery that is final, unknown or not yet due (a
    /// duplicate queue message): that changes nothing.
    pub async fn attempt(&self, id: &str) -> Result<(), DeliveryError> {
        let Some(d) = self.store.get_delivery(id).await? else {
            tracing::warn!(delivery = id, "queued delivery does not exist");
            return Ok(());
        };
        if d.status.is_final() {
            return Ok(());
        }
        let now = self.clock.now();
        if let Some(due) = d.next_attempt_at {
            let wait = (due - now).to_std().unwrap_or_default();
            if wait > EARLY_SLACK {
                // SQS delays top out at 15 minutes: longer waits hop.
                return self
                    .queue
                    .enqueue(id, wait)
                    .await
                    .map_err(DeliveryError::Queue);
            }
        }
        let hook = self.store.get_webhook(&d.webhook_id).await?;
        let Some(hook) = hook.filter(|h| h.deleted_at.is_none()) else {
            self.record(d, None, |d| {
                d.status = DeliveryStatus::Failed;
                d.next_attempt_at = None;
            })
            .await?;
            return Ok(());
        };

        let t = now.timestamp();
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            (
                "User-Agent",
                concat!("csms-webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
            (ID_HEADER, d.id.clone()),
            (EVENT_HEADER, d.event_type.as_str().to_owned()),
            (signature::HEADER, signature::sign(&hook.secret, t, &d.body)),
        ];
        let started = Instant::now();
        let private = target::is_private_url(&hook.url);
        let reply = if private && !self.admin_made(&hook).await? {
            // Registered before only admin keys could (or by a key since
            // changed): the rule holds at delivery time too.
            tracing::warn!(webhook = %hook.id, "private webhook target not registered by an admin key; not delivering");
            Err(REFUSED.to_owned())
        } else {
            self.transport.post(&hook.url, &headers, &d.body).await
        };
        let attempt = Attempt {
            at: now,
            status_code: reply.as_ref().ok().map(|r| r.status),
            // What an internal service answers is not for the key that
            // pointed us at it.
            response_body: reply
                .as_ref()
                .ok()
                .and_then(|r| r.body.clone())
                .filter(|_| !private),
            error: match &reply {
                Ok(r) if (200..300).contains(&r.status) => None,
                Ok(r) => Some(format!("endpoint answered {}", r.status)),
                Err(e) => Some(e.clone()),
            },
            duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
        };
        let ok = attempt.error.is_none();
        let schedule = &self.schedule.delays;
        let tried = d.attempts.len() + 1;
        let written = self
            .record(d, Some(attempt), |d| {
                let tried = d.attempts.len();
                if ok {
                    d.status = DeliveryStatus::Succeeded;
                    d.next_attempt_at = None;
                } else if let Some(delay) = schedule.get(tried - 1) {
                    d.next_attempt_at =
                        Some(now + chrono::TimeDelta::from_std(*delay).unwrap_or_default());
                } else {
                    d.status = DeliveryStatus::Failed;
                    d.next_attempt_at = None;
                }
            })
            .await?;
        if written.is_some() {
            self.watch_failing(&hook, written.as_ref(), ok, tried, now)
                .await;
        }
        match written {
            Some(d) if d.status == DeliveryStatus::Pending => {
                let wait = d
                    .next_attempt_at
                    .and_then(|due| (due - now).to_std().ok())
                    .unwrap_or_default();
                tracing::info!(delivery = %d.id, attempts = d.attempts.len(), "webhook delivery failed; retrying in {wait:?}");
                self.queue
                    .enqueue(&d.id, wait)
                    .await
                    .map_err(DeliveryError::Queue)
            }
            Some(d) => {
                tracing::info!(delivery = %d.id, status = d.status.as_str(), attempts = d.attempts.len(), "webhook delivery settled");
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Whether the webhook was made by the admin key or a key with the admin
    /// scope (a revoked one still counts: what it made was allowed then).
    async fn admin_made(&self, hook: &Webhook) -> Result<bool, StoreError> {
        let Some(key_id) = &hook.created_by else {
            return Ok(true);
        };
        Ok(self
            .store
            .get_api_key(key_id)
            .await?
            .is_some_and(|k| k.scopes.iter().any(|s| s.covers(Scope::Admin))))
    }

    /// After a restart: queue every pending delivery again for its due time.
    pub async fn recover(&self) -> Result<usize, DeliveryError> {
        let pending = self.store.pending_deliveries(10_000).await?;
        let now = self.clock.now();
        for d in &pending {
            let wait = d
                .next_attempt_at
                .and_then(|due| (due - now).to_std().ok())
                .unwrap_or_default();
            self.queue
                .enqueue(&d.id, wait)
                .await
                .map_err(DeliveryError::Queue)?;
        }
        Ok(pending.len())
    }

    /// Raises the webhook's failing alarm after [`FAILING_AFTER_ATTEMPTS`]
    /// failed attempts of one delivery and marks the webhook, so that the
    /// next delivery that gets through (which reads the webhook anyway)
    /// resolves it: an attempt costs no request more unless the webhook is
    /// failing. A store failure is logged: the delivery's record stands.
    async fn watch_failing(
        &self,
        hook: &Webhook,
        written: Option<&Delivery>,
        ok: bool,
        tried: usize,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let outcome = async {
            if ok {
                if hook.failing_since.is_none() {
                    return Ok(());
                }
                resolve_alarm(
                    &*self.store,
                    &*self.events,
                    &failing_alarm_id(&hook.id),
                    now,
                )
                .await?;
                self.mark_failing(hook, None).await
            } else {
                let Some(d) = written.filter(|_| tried >= FAILING_AFTER_ATTEMPTS) else {
                    return Ok(());
                };
                raise_alarm(
                    &*self.store,
                    &*self.events,
                    &failing_alarm(hook, d, now),
                    now,
                )
                .await?;
                if hook.failing_since.is_some() {
                    return Ok(());
                }
                tracing::warn!(webhook = %hook.id, "webhook keeps failing: alarm raised");
                self.mark_failing(hook, Some(now)).await
            }
        };
        if let Err(e) = outcome.await {
            tracing::warn!(webhook = %hook.id, error = %e, "could not update the webhook's failing alarm");
        }
    }

    /// Sets or clears the webhook's `failing_since`. Changed meanwhile (a
    /// delete, another attempt): the next attempt looks again.
    async fn mark_failing(
        &self,
        hook: &Webhook,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), StoreError> {
        let next = Webhook {
            failing_since: since,
            version: hook.version + 1,
            ..hook.clone()
        };
        match self.store.put_webhook(&next, hook.version).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Append `attempt` and apply `settle` under the version check. Two
    /// copies of one queue message may race: the loser re-reads and, if
    /// the winner already settled the delivery, keeps its own attempt out.
    async fn record(
        &self,
        mut d: Delivery,
        attempt: Option<Attempt>,
        settle: impl Fn(&mut Delivery),
    ) -> Result<Option<Delivery>, DeliveryError> {
        for _ in 0..8 {
            let expected = d.version;
            let mut next = d.clone();
            next.attempts.extend(attempt.clone());
            settle(&mut next);
            next.version = expected + 1;
            match self.store.put_delivery(&next, expected).await {
                Ok(()) => return Ok(Some(next)),
                Err(StoreError::Conflict(_)) => match self.store.get_delivery(&d.id).await? {
                    Some(fresh) if !fresh.status.is_final() => d = fresh,
                    _ => return Ok(None),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("delivery {} kept changing", d.id)).into())
    }
}
