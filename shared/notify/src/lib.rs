//! Webhooks: events fanned out to partner subscriptions, delivered signed,
//! retried on a schedule, every attempt recorded.
//!
//! Flow: a use case publishes a domain event after its write succeeded
//! ([`csms_kernel::events`]); the [`publish::WebhookPublisher`], one of the bus's
//! subscribers, turns the public ones into webhook events and creates one pending [`Delivery`] per
//! subscribed webhook and puts its id on a [`DeliveryQueue`] (SQS in AWS, an
//! in-process queue locally); whoever consumes the queue calls
//! [`deliver::Deliverer::attempt`], which POSTs, records the attempt, and
//! re-queues the delivery with the next delay of the [`RetrySchedule`] until
//! the endpoint answers 2xx or the schedule is used up.
//!
//! Delivery is at least once: a receiver de-duplicates on `Csms-Webhook-Id`.
//!
//! # Layout
//! - [`signature`]: the `Csms-Signature` header (HMAC-SHA256) and its check.
//! - [`target`]: which URLs a webhook may point at.
//! - [`publish`]: webhook events from domain events, and the fan-out to deliveries.
//! - [`mail`]: e-mail to people (invitations, password resets): the message,
//!   the [`mail::Mailer`] port, the local file outbox.
//! - [`deliver`]: one delivery attempt, the retry schedule, the ports for
//!   the queue and the HTTP transport.
//!
//! [`Delivery`]: csms_domain::webhook::Delivery

pub mod deliver;
pub mod mail;
pub mod publish;
pub mod signature;
pub mod target;

pub use deliver::{Deliverer, DeliveryQueue, RetrySchedule, WebhookTransport};
pub use publish::{webhook_event, Event, SubscriptionCache, WebhookPublisher};
