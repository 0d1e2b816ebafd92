//! Webhook events (the public form of the domain events partners see) and
//! their fan-out to the subscribed webhooks.

use super::deliver::DeliveryQueue;
use async_trait::async_trait;
use csms_domain::webhook::{Delivery, DeliveryStatus, EventType, Webhook};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::events::{DomainEvent, InvoiceChange, Subscriber};
use csms_kernel::ports::{Clock, PageRequest, WebhookStore};
use csms_kernel::views::{
    time, CommandView, ConnectionEventView, PricedSessionView, RegistrationEventView, SessionView,
    StatusEventView,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A webhook event: something that happened, in the form partners receive.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// A ULID, the same in every delivery of this event.
    pub id: String,
    pub event_type: EventType,
    pub org_id: OrgId,
    pub occurred_at: Timestamp,
    /// The record the event is about, in its API form.
    pub data: Value,
}

impl Event {
    pub fn new(
        event_type: EventType,
        org_id: OrgId,
        occurred_at: Timestamp,
        data: impl Serialize,
    ) -> Self {
        Event {
            id: ulid::Ulid::new().to_string(),
            event_type,
            org_id,
            occurred_at,
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        }
    }

    /// The delivery body: the exact bytes that are signed and sent.
    pub fn body(&self) -> String {
        json!({
            "id": self.id,
            "type": self.event_type.as_str(),
            "createdAt": time(self.occurred_at),
            "data": self.data,
        })
        .to_string()
    }
}

/// The public webhook event for a domain event, if partners see it:
/// the record it is about in its API form. Meter values, transaction
/// messages and charging needs are internal.
pub fn webhook_event(event: &DomainEvent) -> Option<Event> {
    let org = event.org_id().clone();
    Some(match event {
        DomainEvent::StationConnected { connection } => Event::new(
            EventType::StationConnected,
            org,
            connection.connected_at,
            ConnectionEventView::new(connection, None),
        ),
        DomainEvent::StationDisconnected { connection, at } => Event::new(
            EventType::StationDisconnected,
            org,
            *at,
            ConnectionEventView::new(connection, Some(*at)),
        ),
        DomainEvent::StationRegistration {
            station,
            status,
            previous,
            approval,
            at,
        } => Event::new(
            EventType::StationRegistration,
            org,
            *at,
            RegistrationEventView::new(
                station.station_id.as_str(),
                *status,
                *previous,
                *approval,
                *at,
            ),
        ),
        DomainEvent::ConnectorStatus {
            station,
            status,
            at,
        } => Event::new(
            EventType::StationStatus,
            org,
            *at,
            StatusEventView::new(station.station_id.as_str(), status),
        ),
        DomainEvent::SessionStarted { session, at } => Event::new(
            EventType::SessionStarted,
            org,
            *at,
            SessionView::from(session),
        ),
        DomainEvent::SessionEnded { session, at } => Event::new(
            EventType::SessionEnded,
            org,
            *at,
            SessionView::from(session),
        ),
        DomainEvent::SessionPriced { priced } => Event::new(
            EventType::SessionPriced,
            org,
            priced.priced_at,
            PricedSessionView::from(priced),
        ),
        DomainEvent::CommandCompleted { command, at } => Event::new(
            EventType::CommandCompleted,
            org,
            *at,
            CommandView::from(command),
        ),
        DomainEvent::BookingRefused { booking, at } => Event::new(
            EventType::BookingRefused,
            org,
            *at,
            csms_kernel::views::BookingView::from(booking),
        ),
        DomainEvent::AlarmOpened { alarm, at } => Event::new(
            EventType::AlarmOpened,
            org,
            *at,
            csms_kernel::views::AlarmView::from(alarm),
        ),
        DomainEvent::AlarmResolved { alarm, at } => Event::new(
            EventType::AlarmResolved,
            org,
            *at,
            csms_kernel::views::AlarmView::from(alarm),
        ),
        DomainEvent::Invoice {
            invoice,
            change,
            at,
        } => Event::new(
            match change {
                InvoiceChange::Issued => EventType::InvoiceIssued,
                InvoiceChange::Paid => EventType::InvoicePaid,
                InvoiceChange::Reminded(_) => EventType::InvoiceReminded,
                InvoiceChange::Blocked => EventType::InvoiceBlocked,
            },
            org,
            *at,
            csms_kernel::views::InvoiceSummary::from(invoice.as_ref()),
        ),
        DomainEvent::MeterValues { .. }
        | DomainEvent::Transaction { .. }
        | DomainEvent::ChargingNeed { .. } => return None,
    })
}

/// What is cached about an organisation's webhook subscriptions, to be
/// forgotten when they change through this process.
pub trait SubscriptionCache: Send + Sync {
    /// An organisation's webhooks were created or deleted: stop using what
    /// is cached about them.
    fn subscriptions_changed(&self, org: &OrgId);
}

/// An organisation's webhooks as read at a time.
type Cached = (Instant, Arc<Vec<Webhook>>);

/// Fans an event out to one [`Delivery`] per subscribed webhook.
///
/// Subscriptions are read per organisation and kept for `cache_ttl`: every
/// status notification publishes an event, and most organisations have no
/// webhook at all, so the read must not happen per message. A new or
/// deleted webhook is seen by other processes within the TTL; this process
/// sees it at once ([`SubscriptionCache::subscriptions_changed`]).
pub struct WebhookPublisher<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    queue: Arc<dyn DeliveryQueue>,
    cache_ttl: Duration,
    cache: Mutex<HashMap<OrgId, Cached>>,
}

impl<S: WebhookStore + ?Sized> WebhookPublisher<S> {
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        queue: Arc<dyn DeliveryQueue>,
        cache_ttl: Duration,
    ) -> Self {
        WebhookPublisher {
            store,
            clock,
            queue,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn subscriptions(
        &self,
        org: &OrgId,
    ) -> Result<Arc<Vec<Webhook>>, csms_kernel::StoreError> {
        if let Some((at, hooks)) = self.cache.lock().expect("cache lock").get(org) {
            if at.elapsed() < self.cache_ttl {
                return Ok(hooks.clone());
            }
        }
        let mut hooks = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let result = self.store.list_webhooks(org, &page).await?;
            hooks.extend(result.items);
            match result.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        let hooks = Arc::new(hooks);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(org.clone(), (Instant::now(), hooks.clone()));
        Ok(hooks)
    }

    async fn fan_out(&self, event: &Event) -> Result<usize, csms_kernel::StoreError> {
        let hooks = self.subscriptions(&event.org_id).await?;
        let now = self.clock.now();
        let body = event.body();
        let mut n = 0;
        for hook in hooks.iter().filter(|h| h.wants(event.event_type)) {
            let delivery = Delivery {
                id: ulid::Ulid::new().to_string(),
                webhook_id: hook.id.clone(),
                org_id: hook.org_id.clone(),
                event_id: event.id.clone(),
                event_type: event.event_type,
                body: body.clone(),
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                version: 1,
            };
            self.store.create_delivery(&delivery).await?;
            if let Err(e) = self.queue.enqueue(&delivery.id, Duration::ZERO).await {
                // Recorded as pending: the restart sweep (locally) or an
                // operator replay picks it up.
                tracing::error!(delivery = %delivery.id, error = %e, "could not queue a webhook delivery");
            }
            n += 1;
        }
        Ok(n)
    }
}

impl<S: WebhookStore + ?Sized> WebhookPublisher<S> {
    /// Queues `event` for every subscribed webhook of its organisation.
    /// Never fails the caller: what could not be recorded is logged.
    pub async fn publish(&self, event: Event) {
        match self.fan_out(&event).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(event = %event.id, kind = %event.event_type, deliveries = n, "event published")
            }
            Err(e) => {
                tracing::error!(event = %event.id, kind = %event.event_type, error = %e, "event not published")
            }
        }
    }
}

#[async_trait]
impl<S: WebhookStore + ?Sized + 'static> Subscriber for WebhookPublisher<S> {
    async fn on(&self, event: &DomainEvent) {
        if let Some(event) = webhook_event(event) {
            self.publish(event).await;
        }
    }
}

impl<S: WebhookStore + ?Sized + 'static> SubscriptionCache for WebhookPublisher<S> {
    fn subscriptions_changed(&self, org: &OrgId) {
        self.cache.lock().expect("cache lock").remove(org);
    }
}
