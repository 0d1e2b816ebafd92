//! Domain events: what happened, typed, and the bus that hands each one to
//! the contexts that react to it.
//!
//! A use case publishes a [`DomainEvent`] on an [`EventBus`] **after** the
//! write that produced it succeeded (a lost race or a replayed message
//! publishes nothing). It does not know who listens: the composition root
//! ([`Bus::new`] in `csms-app`'s wiring) subscribes
//! - load balancing (`csms_load::LoadSubscriber`): turns the events that
//!   change who may draw how much into load signals;
//! - notify (`csms_notify::WebhookPublisher`): turns the public ones
//!   into webhook events for the organisation's subscriptions;
//! - pricing (`csms_pricing::PricingSubscriber`): queues ended sessions
//!   for pricing;
//! - reports (`csms_reports::UsageSubscriber`): keeps the usage facts of
//!   EVSEs' days that reports are computed from.
//!
//! Publishing never fails the caller: a charger's message must not be
//! refused because a queue could not be reached. Each subscriber logs what
//! it could not do; the periodic load recomputation, pricing recovery and
//! delivery sweeps catch up.

use async_trait::async_trait;
use csms_domain::command::Command;
use csms_domain::load::ChargingNeed;
use csms_domain::meter::MeterReading;
use csms_domain::pricing::PricedSession;
use csms_domain::session::Session;
use csms_domain::station::{Approval, Connection, ConnectorStatus, RegistrationStatus};
use csms_domain::{OrgId, SiteId, StationId, Timestamp};
use std::sync::Arc;

/// The station a charger event came from, as its connection knew it.
#[derive(Debug, Clone, PartialEq)]
pub struct StationRef {
    pub org_id: OrgId,
    pub station_id: StationId,
    /// The load-balancing site the station was on when it connected.
    pub site_id: Option<SiteId>,
}

impl From<&Connection> for StationRef {
    fn from(c: &Connection) -> Self {
        StationRef {
            org_id: c.org_id.clone(),
            station_id: c.station_id.clone(),
            site_id: c.site_id.clone(),
        }
    }
}

/// Something that happened, after it was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A station's WebSocket connection was opened and stored.
    StationConnected { connection: Connection },
    /// A station's connection closed, and no newer one replaced it.
    StationDisconnected {
        connection: Connection,
        at: Timestamp,
    },
    /// The answer to a station's BootNotification changed (or it booted for
    /// the first time).
    StationRegistration {
        station: StationRef,
        status: RegistrationStatus,
        previous: Option<RegistrationStatus>,
        approval: Approval,
        at: Timestamp,
    },
    /// A connector's (EVSE 0: the station's) status was stored.
    ConnectorStatus {
        station: StationRef,
        status: ConnectorStatus,
        at: Timestamp,
    },
    /// Meter values were stored (in or outside a transaction).
    MeterValues {
        station: StationRef,
        evse_id: u32,
        readings: Vec<MeterReading>,
        at: Timestamp,
    },
    /// A transaction message was applied to its session. `started_or_ended`
    /// is false for updates, which matter as measurements only.
    Transaction {
        station: StationRef,
        evse_id: Option<u32>,
        started_or_ended: bool,
        readings: Vec<MeterReading>,
        at: Timestamp,
    },
    /// A car said how much energy it needs and by when (ISO 15118).
    ChargingNeed {
        station: StationRef,
        evse_id: u32,
        need: ChargingNeed,
        at: Timestamp,
    },
    /// A session was stored for the first time.
    SessionStarted { session: Session, at: Timestamp },
    /// A session was completed, or a late charger end corrected a session
    /// the CSMS had closed.
    SessionEnded { session: Session, at: Timestamp },
    /// A price revision of a session was written.
    SessionPriced { priced: PricedSession },
    /// A command settled (answered, refused, timed out or offline).
    CommandCompleted { command: Command, at: Timestamp },
    /// The station refused a booking's ReserveNow, or was offline.
    BookingRefused {
        booking: csms_domain::booking::Booking,
        at: Timestamp,
    },
    /// An alarm opened: raised, or raised again after it was resolved (a
    /// repeat of an open alarm is not published).
    AlarmOpened {
        alarm: csms_domain::alarm::Alarm,
        at: Timestamp,
    },
    /// An alarm resolved (by itself; by hand through the API).
    AlarmResolved {
        alarm: csms_domain::alarm::Alarm,
        at: Timestamp,
    },
    /// An invoice was issued, paid in full, reminded of or blocked its
    /// driver: published once, after the write that did it (a re-run that
    /// finds it done publishes nothing).
    Invoice {
        invoice: Box<csms_domain::billing::invoice::Invoice>,
        change: InvoiceChange,
        at: Timestamp,
    },
}

/// What happened to an invoice ([`DomainEvent::Invoice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceChange {
    Issued,
    Paid,
    /// Reminder number n was recorded.
    Reminded(u8),
    /// Its being unpaid blocked the driver's identifiers.
    Blocked,
}

impl DomainEvent {
    /// The organisation the event belongs to.
    pub fn org_id(&self) -> &OrgId {
        match self {
            DomainEvent::StationConnected { connection }
            | DomainEvent::StationDisconnected { connection, .. } => &connection.org_id,
            DomainEvent::StationRegistration { station, .. }
            | DomainEvent::ConnectorStatus { station, .. }
            | DomainEvent::MeterValues { station, .. }
            | DomainEvent::Transaction { station, .. }
            | DomainEvent::ChargingNeed { station, .. } => &station.org_id,
            DomainEvent::SessionStarted { session, .. }
            | DomainEvent::SessionEnded { session, .. } => &session.org_id,
            DomainEvent::SessionPriced { priced } => &priced.org_id,
            DomainEvent::CommandCompleted { command, .. } => &command.org_id,
            DomainEvent::BookingRefused { booking, .. } => &booking.org_id,
            DomainEvent::AlarmOpened { alarm, .. } | DomainEvent::AlarmResolved { alarm, .. } => {
                &alarm.org_id
            }
            DomainEvent::Invoice { invoice, .. } => &invoice.org_id,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::StationConnected { .. } => "stationConnected",
            DomainEvent::StationDisconnected { .. } => "stationDisconnected",
            DomainEvent::StationRegistration { .. } => "stationRegistration",
            DomainEvent::ConnectorStatus { .. } => "connectorStatus",
            DomainEvent::MeterValues { .. } => "meterValues",
            DomainEvent::Transaction { .. } => "transaction",
            DomainEvent::ChargingNeed { .. } => "chargingNeed",
            DomainEvent::SessionStarted { .. } => "sessionStarted",
            DomainEvent::SessionEnded { .. } => "sessionEnded",
            DomainEvent::SessionPriced { .. } => "sessionPriced",
            DomainEvent::CommandCompleted { .. } => "commandCompleted",
            DomainEvent::BookingRefused { .. } => "bookingRefused",
            DomainEvent::AlarmOpened { .. } => "alarmOpened",
            DomainEvent::AlarmResolved { .. } => "alarmResolved",
            DomainEvent::Invoice { .. } => "invoice",
        }
    }
}

/// Where use cases publish what happened. Call after the write succeeded;
/// never fails the caller.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, event: DomainEvent);
}

/// Raises `alarm` and, when it opened (not a repeat of an open one),
/// publishes [`DomainEvent::AlarmOpened`] at `at`: what every alarm source
/// does. Whether it opened.
pub async fn raise_alarm<S: crate::ports::AlarmStore + ?Sized>(
    store: &S,
    events: &dyn EventBus,
    alarm: &csms_domain::alarm::Alarm,
    at: Timestamp,
) -> crate::ports::StoreResult<bool> {
    let opened = store.raise_alarm(alarm).await?;
    if opened {
        events
            .publish(DomainEvent::AlarmOpened {
                alarm: alarm.clone(),
                at,
            })
            .await;
    }
    Ok(opened)
}

/// Resolves the alarm `id` if it is open and then publishes
/// [`DomainEvent::AlarmResolved`] at `at`: the other half of
/// [`raise_alarm`]. The alarm it resolved, if one was open.
pub async fn resolve_alarm<S: crate::ports::AlarmStore + ?Sized>(
    store: &S,
    events: &dyn EventBus,
    id: &str,
    at: Timestamp,
) -> crate::ports::StoreResult<Option<csms_domain::alarm::Alarm>> {
    let resolved = store.resolve_alarm(id, at).await?;
    if let Some(alarm) = &resolved {
        events
            .publish(DomainEvent::AlarmResolved {
                alarm: alarm.clone(),
                at,
            })
            .await;
    }
    Ok(resolved)
}

/// A context that reacts to events. It logs what it could not do: one
/// subscriber's failure does not keep the event from the others.
#[async_trait]
pub trait Subscriber: Send + Sync {
    async fn on(&self, event: &DomainEvent);
}

/// Hands each event to every subscriber, in the order they were given,
/// one after the other (the order the composition root chooses: load
/// balancing first, as it is the most urgent).
#[derive(Clone, Default)]
pub struct Bus {
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl Bus {
    pub fn new(subscribers: Vec<Arc<dyn Subscriber>>) -> Self {
        Bus { subscribers }
    }
}

#[async_trait]
impl EventBus for Bus {
    async fn publish(&self, event: DomainEvent) {
        for s in &self.subscribers {
            s.on(&event).await;
        }
    }
}

/// For deployments and tests without subscribers.
pub struct NoEvents;

#[async_trait]
impl EventBus for NoEvents {
    async fn publish(&self, _event: DomainEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Seen(&'static str, Arc<Mutex<Vec<String>>>);

    #[async_trait]
    impl Subscriber for Seen {
        async fn on(&self, event: &DomainEvent) {
            self.1
                .lock()
                .unwrap()
                .push(format!("{}:{}", self.0, event.name()));
        }
    }

    #[tokio::test]
    async fn every_subscriber_sees_every_event_in_the_order_given() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let bus = Bus::new(vec![
            Arc::new(Seen("load", log.clone())),
            Arc::new(Seen("webhooks", log.clone())),
        ]);
        let at = "2026-12-05T10:00:00Z".parse().unwrap();
        let station = StationRef {
            org_id: OrgId::default_org(),
            station_id: StationId::parse("CP-1").unwrap(),
            site_id: None,
        };
        bus.publish(DomainEvent::MeterValues {
            station: station.clone(),
            evse_id: 1,
            readings: vec![],
            at,
        })
        .await;
        bus.publish(DomainEvent::Transaction {
            station,
            evse_id: Some(1),
            started_or_ended: true,
            readings: vec![],
            at,
        })
        .await;
        assert_eq!(
            *log.lock().unwrap(),
            [
                "load:meterValues",
                "webhooks:meterValues",
                "load:transaction",
                "webhooks:transaction"
            ]
        );
    }
}
