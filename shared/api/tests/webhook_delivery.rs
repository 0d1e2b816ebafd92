//! Webhook fan-out and delivery in `csms-notify` over the embedded store, with
//! a hand-moved clock, a scripted receiver and a recording queue: who gets a
//! delivery, what is signed, how failures are retried and when they stop.
//! The same flow runs end to end with a real HTTP receiver in
//! `tests/e2e/test_webhooks.py`.

mod support;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use csms_domain::webhook::{DeliveryStatus, EventType, Webhook};
use csms_domain::OrgId;
use csms_kernel::ports::Store;
use csms_notify::deliver::TransportReply;
use csms_notify::signature;
use csms_notify::{
    Deliverer, DeliveryQueue, Event, RetrySchedule, SubscriptionCache, WebhookPublisher,
    WebhookTransport,
};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::ManualClock;

#[derive(Default)]
struct Queue(Mutex<Vec<(String, Duration)>>);

#[async_trait]
impl DeliveryQueue for Queue {
    async fn enqueue(&self, id: &str, delay: Duration) -> Result<(), String> {
        self.0.lock().unwrap().push((id.into(), delay));
        Ok(())
    }
}

impl Queue {
    fn take(&self) -> Vec<(String, Duration)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// (url, headers, body) of one request.
type Seen = (String, Vec<(String, String)>, String);

/// Answers with the scripted replies in order (then 200) and keeps every request.
#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Result<u16, String>>>,
    seen: Mutex<Vec<Seen>>,
}

#[async_trait]
impl WebhookTransport for Receiver {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<TransportReply, String> {
        self.seen.lock().unwrap().push((
            url.into(),
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            body.into(),
        ));
        let next = self.script.lock().unwrap().pop_front().unwrap_or(Ok(200));
        next.map(|status| TransportReply {
            status,
            body: Some("ok".into()),
        })
    }
}

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    queue: Arc<Queue>,
    receiver: Arc<Receiver>,
    publisher: WebhookPublisher<dyn Store>,
    deliverer: Deliverer<dyn Store>,
}

fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
    ));
    let queue = Arc::new(Queue::default());
    let receiver = Arc::new(Receiver::default());
    let publisher = WebhookPublisher::new(
        store.clone(),
        clock.clone(),
        queue.clone(),
        Duration::from_secs(3600),
    );
    let deliverer = Deliverer::new(
        store.clone(),
        clock.clone(),
        receiver.clone(),
        queue.clone(),
        RetrySchedule::parse("10,60").unwrap(),
    );
    World {
        store,
        clock,
        queue,
        receiver,
        publisher,
        deliverer,
    }
}

impl World {
    async fn hook(&self, id: &str, org: &str, events: &[EventType]) -> Webhook {
        let hook = Webhook {
            id: id.into(),
            org_id: OrgId::parse(org).unwrap(),
            url: format!("https://hooks.example.com/{id}"),
            events: events.to_vec(),
            description: None,
            secret: format!("whsec_{id}"),
            created_by: None,
            created_at: self.clock.0.lock().unwrap().to_owned(),
            deleted_at: None,
            failing_since: None,
            version: 1,
        };
        self.store.create_webhook(&hook).await.unwrap();
        self.publisher.subscriptions_changed(&hook.org_id);
        hook
    }

    /// Webhook `a` of the default organisation subscribed to `kind`, one
    /// such event published: its queued delivery's id, the receiver
    /// scripted to answer it with `replies`.
    async fn one_delivery<const N: usize>(
        &self,
        kind: EventType,
        replies: [Result<u16, String>; N],
    ) -> String {
        self.hook("a", "default", &[kind]).await;
        self.publish(kind, "default").await;
        let (id, _) = self.queue.take().remove(0);
        self.receiver.script.lock().unwrap().extend(replies);
        id
    }

    async fn publish(&self, kind: EventType, org: &str) {
        let now = *self.clock.0.lock().unwrap();
        self.publisher
            .publish(Event::new(
                kind,
                OrgId::parse(org).unwrap(),
                now,
                json!({"stationId": "CP-1"}),
            ))
            .await;
    }
}

#[tokio::test]
async fn events_go_to_subscribed_live_webhooks_of_the_organisation() {
    let w = world();
    w.hook(
        "a",
        "default",
        &[EventType::SessionStarted, EventType::SessionEnded],
    )
    .await;
    w.hook("b", "default", &[EventType::StationStatus]).await;
    w.hook("c", "other-org", &[EventType::SessionStarted]).await;
    let mut gone = w.hook("d", "default", &[EventType::SessionStarted]).await;
    gone.deleted_at = Some(gone.created_at);
    gone.version = 2;
    w.store.put_webhook(&gone, 1).await.unwrap();
    w.publisher.subscriptions_changed(&gone.org_id);

    w.publish(EventType::SessionStarted, "default").await;
    let queued = w.queue.take();
    assert_eq!(queued.len(), 1, "only webhook a wants it: {queued:?}");
    assert_eq!(queued[0].1, Duration::ZERO, "first attempt at once");
    let d = w.store.get_delivery(&queued[0].0).await.unwrap().unwrap();
    assert_eq!(d.webhook_id, "a");
    let body: Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(body["type"], "session.started");
    assert_eq!(body["data"]["stationId"], "CP-1");
    assert_eq!(body["createdAt"], "2026-11-23T10:00:00.000Z");

    w.publish(EventType::CommandCompleted, "default").await;
    assert!(w.queue.take().is_empty(), "nobody subscribed");
}

#[tokio::test]
async fn a_delivery_is_signed_retried_on_failure_and_settled_on_2xx() {
    let w = world();
    let id = w
        .one_delivery(
            EventType::SessionStarted,
            [Err("connection refused".to_owned()), Ok(503)],
        )
        .await;

    // First attempt: the receiver is down.
    w.deliverer.attempt(&id).await.unwrap();
    let d = w.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert_eq!(d.attempts[0].error.as_deref(), Some("connection refused"));
    assert_eq!(w.queue.take(), [(id.clone(), Duration::from_secs(10))]);

    // A duplicate queue message before the retry is due only re-queues.
    w.clock.advance(4);
    w.deliverer.attempt(&id).await.unwrap();
    assert_eq!(
        w.receiver.seen.lock().unwrap().len(),
        1,
        "nothing sent early"
    );
    assert_eq!(w.queue.take(), [(id.clone(), Duration::from_secs(6))]);

    // Second attempt: 503.
    w.clock.advance(6);
    w.deliverer.attempt(&id).await.unwrap();
    let d = w.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(d.attempts[1].status_code, Some(503));
    assert_eq!(
        d.attempts[1].error.as_deref(),
        Some("endpoint answered 503")
    );
    assert_eq!(w.queue.take(), [(id.clone(), Duration::from_secs(60))]);

    // Third: 200, settled; later copies of the message change nothing.
    w.clock.advance(60);
    w.deliverer.attempt(&id).await.unwrap();
    w.deliverer.attempt(&id).await.unwrap();
    let d = w.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.attempts.len(), 3);
    assert_eq!(d.attempts[2].response_body.as_deref(), Some("ok"));
    assert!(w.queue.take().is_empty());

    // Every attempt carried the same body, the ids, and a valid signature.
    let seen = w.receiver.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (url, headers, body) in seen.iter() {
        assert_eq!(url, "https://hooks.example.com/a");
        assert_eq!(body, &d.body);
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("Csms-Webhook-Id"), id);
        assert_eq!(header("Csms-Event-Type"), "session.started");
        let sig = header("Csms-Signature");
        let t: i64 = sig[2..sig.find(',').unwrap()].parse().unwrap();
        assert_eq!(signature::verify("whsec_a", &sig, body, t), Ok(()));
        assert!(signature::verify("whsec_b", &sig, body, t).is_err());
    }
}

#[tokio::test]
async fn a_delivery_fails_for_good_when_the_schedule_is_used_up() {
    let w = world();
    let id = w
        .one_delivery(EventType::SessionEnded, [Ok(500), Ok(500), Ok(410)])
        .await;
    for wait in [10, 60, 0] {
        w.deliverer.attempt(&id).await.unwrap();
        w.clock.advance(wait);
    }
    let d = w.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(d.attempts.len(), 3, "first try plus two retries");
    assert_eq!(d.next_attempt_at, None);
    assert!(w.store.pending_deliveries(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_webhook_stops_its_pending_deliveries() {
    let w = world();
    let hook = w.hook("a", "default", &[EventType::StationConnected]).await;
    w.publish(EventType::StationConnected, "default").await;
    let (id, _) = w.queue.take().remove(0);
    let mut gone = hook.clone();
    gone.deleted_at = Some(hook.created_at);
    gone.version = 2;
    w.store.put_webhook(&gone, 1).await.unwrap();

    w.deliverer.attempt(&id).await.unwrap();
    let d = w.store.get_delivery(&id).await.unwrap().unwrap();
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert!(w.receiver.seen.lock().unwrap().is_empty(), "nothing sent");
}

#[tokio::test]
async fn recovery_requeues_pending_deliveries_for_their_due_time() {
    let w = world();
    let id = w.one_delivery(EventType::SessionStarted, [Ok(500)]).await;
    w.deliverer.attempt(&id).await.unwrap();
    w.queue.take();
    w.clock.advance(3);
    assert_eq!(w.deliverer.recover().await.unwrap(), 1);
    assert_eq!(w.queue.take(), [(id, Duration::from_secs(7))]);
}

/// A private target (here loopback) answered by the admin's receiver: the
/// delivery goes out, but the log keeps no answer body. One made by a
/// `read` key (possible before only admin keys could) is refused at
/// delivery time without a request.
#[tokio::test]
async fn private_targets_keep_no_answer_and_need_an_admin_maker() {
    use csms_domain::api_key::{ApiKey, Scope};
    use csms_notify::deliver::REFUSED;
    let w = world();
    let now = *w.clock.0.lock().unwrap();
    for (id, scopes) in [
        ("partner-admin", vec![Scope::Admin]),
        ("partner-read", vec![Scope::Read]),
    ] {
        w.store
            .create_api_key(&ApiKey {
                id: id.into(),
                org_id: OrgId::default_org(),
                name: id.into(),
                scopes,
                secret_hash: "00".into(),
                created_at: now,
                revoked_at: None,
                version: 1,
            })
            .await
            .unwrap();
    }
    for (id, url, maker) in [
        ("admin", "http://127.0.0.1:9/a", None),
        (
            "by-admin-key",
            "http://localhost:9/b",
            Some("partner-admin"),
        ),
        ("by-read-key", "http://10.0.0.7/c", Some("partner-read")),
        ("by-gone-key", "http://[::1]/d", Some("no-such-key")),
        (
            "public",
            "https://hooks.example.com/e",
            Some("partner-read"),
        ),
    ] {
        let mut hook = w.hook(id, "default", &[EventType::SessionStarted]).await;
        hook.url = url.into();
        hook.created_by = maker.map(str::to_owned);
        hook.version = 2;
        w.store.put_webhook(&hook, 1).await.unwrap();
    }
    w.publisher.subscriptions_changed(&OrgId::default_org());
    w.publish(EventType::SessionStarted, "default").await;
    for (id, _) in w.queue.take() {
        w.deliverer.attempt(&id).await.unwrap();
    }
    let mut sent: Vec<String> = w
        .receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.0.clone())
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            "http://127.0.0.1:9/a",
            "http://localhost:9/b",
            "https://hooks.example.com/e"
        ]
    );
    for (hook, body, error) in [
        ("admin", None, None),
        ("by-admin-key", None, None),
        ("by-read-key", None, Some(REFUSED)),
        ("by-gone-key", None, Some(REFUSED)),
        ("public", Some("ok"), None),
    ] {
        let page = w
            .store
            .list_deliveries(hook, &csms_kernel::ports::PageRequest::first(10))
            .await
            .unwrap();
        let attempt = &page.items[0].attempts[0];
        assert_eq!(attempt.response_body.as_deref(), body, "{hook}");
        assert_eq!(attempt.error.as_deref(), error, "{hook}");
    }
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_raises_an_alarm_and_the_next_delivery_through_resolves_it() {
    use csms_kernel::ports::PageRequest;
    let mut w = world();
    w.deliverer = Deliverer::new(
        w.store.clone(),
        w.clock.clone(),
        w.receiver.clone(),
        w.queue.clone(),
        RetrySchedule::parse("10,60,300,1800").unwrap(),
    );
    let active = || async {
        let page = PageRequest {
            limit: 10,
            cursor: None,
        };
        w.store
            .list_alarms(&OrgId::default_org(), true, &page)
            .await
            .unwrap()
            .items
    };
    let id = w
        .one_delivery(
            EventType::SessionEnded,
            [
                Ok(500),
                Err("connection failed".into()),
                Ok(503),
                Ok(502),
                Ok(500),
            ],
        )
        .await;
    for (n, wait) in [0i64, 10, 60, 300].into_iter().enumerate() {
        w.clock.advance(wait);
        w.deliverer.attempt(&id).await.unwrap();
        let open = active().await;
        if n < 3 {
            assert!(open.is_empty(), "{} failed attempts: {open:?}", n + 1);
        } else {
            assert_eq!(open.len(), 1, "{open:?}");
            assert_eq!(open[0].id, "webhook-failing:a");
            assert_eq!(open[0].kind, "webhookFailing");
            assert_eq!(open[0].details["attempts"], 4);
            assert_eq!(open[0].details["lastStatusCode"], 502);
            assert_eq!(open[0].details["url"], "https://hooks.example.com/a");
        }
    }
    let hook = w.store.get_webhook("a").await.unwrap().unwrap();
    assert!(
        hook.failing_since.is_some(),
        "the webhook is marked failing"
    );

    // A further failure counts on the open alarm.
    w.clock.advance(1800);
    w.deliverer.attempt(&id).await.unwrap();
    let open = active().await;
    assert_eq!(open[0].occurrences, 2);

    // A new delivery that gets through resolves it and clears the mark.
    w.publish(EventType::SessionEnded, "default").await;
    let (next, _) = w.queue.take().into_iter().last().unwrap();
    w.deliverer.attempt(&next).await.unwrap();
    assert_eq!(
        w.store.get_delivery(&next).await.unwrap().unwrap().status,
        DeliveryStatus::Succeeded
    );
    assert!(active().await.is_empty(), "resolved");
    let hook = w.store.get_webhook("a").await.unwrap().unwrap();
    assert_eq!(hook.failing_since, None);
}
