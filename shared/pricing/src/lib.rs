//! Pricing: tariffs, session pricing, and day-ahead spot prices.
//!
//! Session pricing goes from a completed session to its immutable priced record.
//!
//! When a session ends, the [`PricingSubscriber`] of the domain events puts
//! its id on the [`PricingQueue`] (SQS in AWS, an in-process queue locally). The consumer
//! calls [`PricingService::price_session`], which is idempotent: revision 1 is
//! created once (a conditional write decides), and a redelivered message finds
//! it and changes nothing. Repricing is explicit ([`PricingService::reprice`])
//! and writes revision n+1 with who asked and why.
//!
//! Which tariff: the assignments of the session's organisation resolved for
//! its station, site and the driver's user group (the token's group), and of
//! that tariff the version in force when the session started — so a price
//! change never reaches back into a session that was already running.
//!
//! # Layout
//! - this module: [`PricingService`] (price, reprice, preview) and the
//!   [`PricingQueue`] that triggers it, fed by the [`PricingSubscriber`].
//! - [`tariffs`]: the tariffs and assignments it prices with — versions, the
//!   delete guard, one tariff per target and group ([`tariffs::TariffService`]).
//! - [`spot`]: day-ahead spot prices: the sources (elprisetjustnu.se,
//!   ENTSO-E), the scheduled fetcher, the missing-prices alarm and fallback.

pub mod spot;
pub mod tariffs;

use async_trait::async_trait;
use csms_domain::actor::Actor;
use csms_domain::meter::energy_registers;
use csms_domain::pricing::engine::{self, PricingError, PricingInput, SpotTable};
use csms_domain::pricing::{PricedSession, PricingAudit, ROUNDING_RULE};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::spot::SpotSource;
use csms_domain::tariff::{resolve, Resolution, Tariff};
use csms_domain::{IdTokenValue, SessionId, SiteId, StationId, Timestamp};
use csms_kernel::events::{
    raise_alarm, resolve_alarm, DomainEvent, EventBus, NoEvents, Subscriber,
};
use csms_kernel::ports::{
    AlarmStore, Clock, PricedSessionStore, SessionStore, SiteStore, SpotPriceStore, StationStore,
    StoreError, TariffStore, TokenStore,
};
use std::sync::Arc;

/// Where completed sessions wait to be priced.
#[async_trait]
pub trait PricingQueue: Send + Sync {
    async fn enqueue(&self, session: &SessionId) -> Result<(), String>;
}

/// For runs without pricing (tests of other things).
pub struct NoPricing;

#[async_trait]
impl PricingQueue for NoPricing {
    async fn enqueue(&self, _session: &SessionId) -> Result<(), String> {
        Ok(())
    }
}

/// Pricing's subscription to the domain events: every ended session
/// (completed, or corrected by a late stop from the charger) is queued for
/// pricing.
pub struct PricingSubscriber {
    queue: Arc<dyn PricingQueue>,
}

impl PricingSubscriber {
    pub fn new(queue: Arc<dyn PricingQueue>) -> Self {
        PricingSubscriber { queue }
    }
}

#[async_trait]
impl Subscriber for PricingSubscriber {
    async fn on(&self, event: &DomainEvent) {
        let DomainEvent::SessionEnded { session, .. } = event else {
            return;
        };
        // A lost enqueue is logged, not fatal: the charger's stop must be
        // acknowledged, and pricing recovery or the API asks again.
        if let Err(e) = self.queue.enqueue(&session.id).await {
            tracing::error!(session = %session.id, error = %e, "could not queue session for pricing");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PriceSessionError {
    #[error("session {0} not found")]
    NotFound(String),
    #[error("station {0} not found")]
    StationNotFound(String),
    #[error("session {0} is not completed yet")]
    NotCompleted(String),
    /// Worth retrying later: spot prices may still arrive.
    #[error(transparent)]
    Engine(#[from] PricingError),
    #[error("tariff {0} not found")]
    TariffMissing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PriceSessionError {
    /// Whether the queue should try again later rather than give up.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PriceSessionError::Engine(PricingError::MissingSpotPrice { .. })
                | PriceSessionError::Store(_)
        )
    }
}

/// What pricing a session came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Priced {
    /// Priced now (revision 1) or earlier (a redelivery).
    Done {
        priced: Box<PricedSession>,
        new: bool,
    },
    /// No tariff is assigned where and to whom the session ran: nothing to
    /// price (the resolution says where it looked).
    NoTariff(Resolution),
}

/// The price a driver would pay at a station now, and why.
#[derive(Debug, Clone)]
pub struct Preview {
    pub resolution: Resolution,
    pub group: Option<String>,
    pub tariff: Option<Tariff>,
    pub prices: Vec<engine::CurrentPrice>,
    pub at: Timestamp,
}

csms_kernel::store_ports! {
    /// The store ports session pricing uses: the session and its meter
    /// readings, the station (a preview's organisation and site), the site
    /// (its time zone, for a tariff that names none), the
    /// driver's id token (for its group), tariffs and their assignments,
    /// spot prices, the priced sessions it writes, and the alarm of a
    /// session it cannot price.
    pub trait PricingStore:
        SessionStore, StationStore, SiteStore, TokenStore, TariffStore, SpotPriceStore,
        PricedSessionStore, AlarmStore
}

/// Alarm kind of a completed session that cannot be priced as it stands.
pub const PRICING_FAILED_KIND: &str = "sessionPricingFailed";

/// The pricing alarm of a session: one per session.
pub fn pricing_failed_alarm_id(session: &SessionId) -> String {
    format!("session-pricing-failed:{session}")
}

/// Whether `e` is a failure no retry mends and an operator should see: the
/// engine refused the session's numbers, or its tariff is gone. Missing spot
/// prices are retried (and have their own alarm); a session that is not
/// there or not completed is no failure to price.
pub fn alarms_operator(e: &PriceSessionError) -> bool {
    matches!(
        e,
        PriceSessionError::Engine(_) | PriceSessionError::TariffMissing(_)
    ) && !e.is_retryable()
}

/// The alarm of `session`, which pricing refused with `e`.
pub fn pricing_failed_alarm(
    session: &Session,
    e: &PriceSessionError,
    now: Timestamp,
) -> csms_domain::alarm::Alarm {
    csms_domain::alarm::Alarm {
        title: Some(format!("Session {} cannot be priced", session.id)),
        message: format!(
            "session {} at station {} cannot be priced: {e}",
            session.id, session.station_id
        ),
        action: Some(
            "check the session's meter values and the tariff assigned to it; once mended, price it again with POST /sessions/{id}/reprice (which resolves this alarm)"
                .to_owned(),
        ),
        details: serde_json::json!({
            "sessionId": session.id.as_str(),
            "stationId": session.station_id.as_str(),
            "error": e.to_string(),
        }),
        ..csms_domain::alarm::Alarm::opened(
            pricing_failed_alarm_id(&session.id),
            session.org_id.clone(),
            PRICING_FAILED_KIND,
            csms_domain::alarm::Severity::Warning,
            now,
        )
    }
}

pub struct PricingService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    /// `SessionPriced` goes here.
    events: Arc<dyn EventBus>,
    /// At most this much of a session is priced (`engine::priced_end`).
    max_duration: chrono::TimeDelta,
}

impl<S: ?Sized> Clone for PricingService<S> {
    fn clone(&self) -> Self {
        PricingService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            events: self.events.clone(),
            max_duration: self.max_duration,
        }
    }
}

const AUTOMATIC: &str = "session completed";
/// The audit reason of a revision made because a late stop from the charger
/// corrected a session the CSMS had closed.
const CORRECTED_BY_CHARGER: &str = "corrected by a late stop from the charger";

impl<S: PricingStore + ?Sized> PricingService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        PricingService {
            store,
            clock,
            events: Arc::new(NoEvents),
            max_duration: engine::DEFAULT_MAX_DURATION,
        }
    }

    /// Price at most `max` of a session, from its start (default 31 days).
    pub fn with_max_duration(mut self, max: chrono::TimeDelta) -> Self {
        self.max_duration = max;
        self
    }

    /// Publish `SessionPriced` for every revision written.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }

    async fn priced_event(&self, priced: &PricedSession) {
        self.events
            .publish(DomainEvent::SessionPriced {
                priced: priced.clone(),
            })
            .await;
    }

    /// Price a completed session once. Safe to call any number of times.
    /// A failure no retry mends raises the session's `sessionPricingFailed`
    /// alarm (once; a redelivery counts on it).
    pub async fn price_session(&self, id: &SessionId) -> Result<Priced, PriceSessionError> {
        let result = self.price_session_once(id).await;
        if let Err(e) = &result {
            if alarms_operator(e) {
                self.pricing_failed(id, e).await;
            }
        }
        result
    }

    /// Raises the session's pricing alarm. A store failure is logged: the
    /// error stands.
    async fn pricing_failed(&self, id: &SessionId, e: &PriceSessionError) {
        let now = self.clock.now();
        let raised = async {
            let Some(session) = self.store.get_session(id).await? else {
                return Ok(false);
            };
            raise_alarm(
                &*self.store,
                &*self.events,
                &pricing_failed_alarm(&session, e, now),
                now,
            )
            .await
        };
        match raised.await {
            Ok(true) => tracing::warn!(session = %id, "session cannot be priced: alarm raised"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(session = %id, error = %e, "could not raise the pricing alarm")
            }
        }
    }

    async fn price_session_once(&self, id: &SessionId) -> Result<Priced, PriceSessionError> {
        if let Some(p) = self.store.get_priced_session(id).await? {
            // Priced when the CSMS had closed it; the charger's late end has
            // corrected it since (the session changed after the pricing):
            // price it again, once.
            if p.audit.reason != CORRECTED_BY_CHARGER {
                if let Some(s) = self.store.get_session(id).await? {
                    if s.inferred_end.is_some() && s.charger_ended && p.priced_at < s.updated_at {
                        return self.revise(s, CORRECTED_BY_CHARGER, None).await;
                    }
                }
            }
            return Ok(Priced::Done {
                priced: Box::new(p),
                new: false,
            });
        }
        let session = self.completed_session(id).await?;
        let audit = PricingAudit {
            reason: AUTOMATIC.to_owned(),
            requested_by: None,
        };
        let priced = match self.compute(&session, 1, audit).await? {
            Ok(p) => p,
            Err(resolution) => return Ok(Priced::NoTariff(resolution)),
        };
        match self.store.put_priced_session(&priced).await {
            Ok(()) => {
                self.priced_event(&priced).await;
                Ok(Priced::Done {
                    priced: Box::new(priced),
                    new: true,
                })
            }
            // Another consumer priced it first: theirs stands.
            Err(StoreError::Conflict(_)) => match self.store.get_priced_session(id).await? {
                Some(p) => Ok(Priced::Done {
                    priced: Box::new(p),
                    new: false,
                }),
                None => Err(StoreError::Conflict(format!("priced session {id}")).into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Price again, as revision n+1, with the reason and who asked. The
    /// session's data and the tariff resolution are read afresh. A session
    /// of another organisation than `actor`'s is `NotFound`.
    pub async fn reprice(
        &self,
        actor: &Actor,
        id: &SessionId,
        reason: &str,
    ) -> Result<Priced, PriceSessionError> {
        let session = self
            .store
            .get_session(id)
            .await?
            .filter(|s| actor.owns(&s.org_id))
            .ok_or_else(|| PriceSessionError::NotFound(id.to_string()))?;
        let priced = self
            .revise(session, reason, Some(actor.audit_name()))
            .await?;
        // Priced now: an alarm from pricing it before is over (a read; a
        // reprice is a person's request).
        if matches!(priced, Priced::Done { .. }) {
            let now = self.clock.now();
            let id = pricing_failed_alarm_id(id);
            if let Err(e) = resolve_alarm(&*self.store, &*self.events, &id, now).await {
                tracing::warn!(alarm = %id, error = %e, "could not resolve the pricing alarm");
            }
        }
        Ok(priced)
    }

    /// A new revision of a completed session's price.
    async fn revise(
        &self,
        session: Session,
        reason: &str,
        requested_by: Option<String>,
    ) -> Result<Priced, PriceSessionError> {
        if session.status != SessionStatus::Completed {
            return Err(PriceSessionError::NotCompleted(session.id.to_string()));
        }
        let latest = self.store.get_priced_session(&session.id).await?;
        let revision = latest.as_ref().map_or(1, |p| p.revision + 1);
        let audit = PricingAudit {
            reason: reason.to_owned(),
            requested_by,
        };
        let priced = match self.compute(&session, revision, audit).await? {
            Ok(p) => p,
            Err(resolution) => return Ok(Priced::NoTariff(resolution)),
        };
        self.store.put_priced_session(&priced).await?;
        self.priced_event(&priced).await;
        Ok(Priced::Done {
            priced: Box::new(priced),
            new: true,
        })
    }

    /// What a driver with `token` would pay at `station` at `at`. A station
    /// of another organisation than `actor`'s is `NotFound`.
    pub async fn preview(
        &self,
        actor: &Actor,
        station: &StationId,
        token: Option<&IdTokenValue>,
        at: Timestamp,
    ) -> Result<Preview, PriceSessionError> {
        let station = self
            .store
            .get_station(station)
            .await?
            .filter(|s| actor.owns(&s.org_id))
            .ok_or_else(|| PriceSessionError::StationNotFound(station.to_string()))?;
        let org = &station.org_id;
        let site = station.site_id.as_ref();
        let station = &station.id;
        // A user group is an organisation's: a token of another
        // organisation (token values are one namespace) has none here, and
        // its group is not shown to this one.
        let group = match token {
            Some(t) => self
                .store
                .get_id_token(t)
                .await?
                .filter(|r| &r.org_id == org)
                .and_then(|r| r.group),
            None => None,
        };
        let assignments = self.store.list_assignments(org).await?;
        let resolution = resolve(&assignments, station, site, group.as_deref());
        let tariff = match &resolution.tariff_id {
            Some(id) => Some(
                self.tariff_at(id, at)
                    .await?
                    .ok_or_else(|| PriceSessionError::TariffMissing(id.clone()))?
                    .in_site_zone(self.site_zone(site).await?),
            ),
            None => None,
        };
        let prices = match &tariff {
            Some(t) => {
                let (spot, _) = self.spot_table(t, at, at).await?;
                engine::prices_at(t, &spot, at)?
            }
            None => Vec::new(),
        };
        Ok(Preview {
            resolution,
            group,
            tariff,
            prices,
            at,
        })
    }

    async fn completed_session(&self, id: &SessionId) -> Result<Session, PriceSessionError> {
        let session = self
            .store
            .get_session(id)
            .await?
            .ok_or_else(|| PriceSessionError::NotFound(id.to_string()))?;
        if session.status != SessionStatus::Completed {
            return Err(PriceSessionError::NotCompleted(id.to_string()));
        }
        Ok(session)
    }

    /// The time zone of `site`, for a tariff that names none: `None` (so
    /// `Europe/Stockholm`) without a site or for a site that has no record
    /// (one from before sites had records).
    async fn site_zone(&self, site: Option<&SiteId>) -> Result<Option<chrono_tz::Tz>, StoreError> {
        let Some(site) = site else {
            return Ok(None);
        };
        Ok(self.store.get_site(site).await?.map(|s| s.time_zone))
    }

    /// The version of tariff `id` in force at `at`: the newest whose
    /// `effective_at` is not after it, else the first version (a session that
    /// started before its tariff existed is priced with the first one).
    pub async fn tariff_at(&self, id: &str, at: Timestamp) -> Result<Option<Tariff>, StoreError> {
        let versions = self.store.tariff_versions(id).await?;
        let chosen = versions
            .iter()
            .rev()
            .find(|t| t.effective_at <= at)
            .or(versions.first())
            .cloned();
        Ok(chosen)
    }

    /// The spot prices a tariff needs over `[from, to]`, and a note for
    /// every day that holds fallback prices rather than a market's.
    async fn spot_table(
        &self,
        tariff: &Tariff,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(SpotTable, Vec<String>), StoreError> {
        let mut table = SpotTable::new();
        let mut notes = Vec::new();
        for zone in tariff.spot_zones() {
            for date in SpotTable::days_needed(zone, from, to) {
                if let Some(day) = self.store.get_spot_day(zone, date).await? {
                    if let SpotSource::Fallback { rule } = &day.source {
                        notes.push(format!(
                            "spot prices of {zone} on {date} are fallback prices (rule {rule}), not the market's: reprice once they are fetched"
                        ));
                    }
                    table.add_day(&day);
                }
            }
        }
        Ok((table, notes))
    }

    /// The priced record, or the resolution that found no tariff.
    async fn compute(
        &self,
        session: &Session,
        revision: u32,
        audit: PricingAudit,
    ) -> Result<Result<PricedSession, Resolution>, PriceSessionError> {
        let group = match &session.id_token {
            Some(t) => match IdTokenValue::parse(t.clone()) {
                // As in `preview`: only a token of the session's organisation
                // brings its user group (and so its group's tariff).
                Ok(v) => self
                    .store
                    .get_id_token(&v)
                    .await?
                    .filter(|r| r.org_id == session.org_id)
                    .and_then(|r| r.group),
                Err(_) => None,
            },
            None => None,
        };
        let assignments = self.store.list_assignments(&session.org_id).await?;
        let resolution = resolve(
            &assignments,
            &session.station_id,
            session.site_id.as_ref(),
            group.as_deref(),
        );
        let Some(tariff_id) = resolution.tariff_id.clone() else {
            return Ok(Err(resolution));
        };
        let start = session.started_at.unwrap_or_else(|| session.sort_time());
        let end = session.ended_at.unwrap_or(session.updated_at).max(start);
        // Spot prices only of the days that are priced (see `engine::priced_end`).
        let end = engine::priced_end(start, end, self.max_duration);
        let tariff = self
            .tariff_at(&tariff_id, start)
            .await?
            .ok_or_else(|| PriceSessionError::TariffMissing(tariff_id.clone()))?
            .in_site_zone(self.site_zone(session.site_id.as_ref()).await?);
        let (spot, fallback_notes) = self.spot_table(&tariff, start, end).await?;
        let readings = self
            .store
            .list_meter_readings(&csms_kernel::ports::MeterTarget::Session(
                session.id.clone(),
            ))
            .await?;
        let registers = energy_registers(&readings);
        let mut b = engine::price(&PricingInput {
            session,
            registers: &registers,
            tariff: &tariff,
            spot: &spot,
            max_duration: self.max_duration,
        })?;
        b.warnings.extend(fallback_notes);
        let reason: Vec<String> = resolution
            .steps
            .iter()
            .map(|s| match &s.tariff_id {
                Some(t) => format!("{}: tariff {t}", s.looked_for),
                None => format!("{}: none", s.looked_for),
            })
            .collect();
        Ok(Ok(PricedSession {
            session_id: session.id.clone(),
            station_id: session.station_id.clone(),
            org_id: session.org_id.clone(),
            revision,
            tariff_id: tariff.id.clone(),
            tariff_version: tariff.version,
            tariff_name: tariff.name.clone(),
            tariff_reason: reason,
            id_token: session.id_token.clone(),
            group,
            currency: tariff.currency.clone(),
            vat_rate: tariff.vat_rate,
            started_at: b.started_at,
            ended_at: b.ended_at,
            charging_ended_at: b.charging_ended_at,
            energy_wh: b.energy_wh,
            lines: b.lines,
            net: b.net,
            vat: b.vat,
            gross: b.gross,
            rounding: ROUNDING_RULE.to_owned(),
            warnings: b.warnings,
            priced_at: self.clock.now(),
            audit,
        }))
    }
}
