//! Reports: how an organisation's chargers are used and what they earn.
//!
//! Usage is kept incrementally: [`UsageSubscriber`] turns charger events
//! (connector statuses, connects and disconnects, power readings, sessions
//! started, ended and priced) into facts of the EVSE's day
//! (`csms_domain::usage`), one read and at most one write of one
//! `UsageDay` per event; a replayed event changes nothing and writes
//! nothing. A report ([`ReportService::usage`]) reads the organisation's
//! days of the period and computes its figures ([`compute`], pure): no raw
//! meter value is read again.
//!
//! # Layout
//! - `lib.rs`: [`UsageSubscriber`] (events → facts, the versioned write)
//!   and [`ReportService`] (a period's days → the report and the previous
//!   period's, in the organisation's or site's time zone).
//! - [`compute`]: timelines, hours of a time zone, groups, comparison.

pub mod compute;

use async_trait::async_trait;
use chrono_tz::Tz;
use compute::{Change, Figures, GroupBy, Scope, Span, Usage};
use csms_domain::meter::MeterReading;
use csms_domain::session::Session;
use csms_domain::usage::{day_of, Revenue, UsageDay, UsageFact, UsageKey, Use};
use csms_domain::{OrgId, SiteId, StationId, Timestamp};
use csms_kernel::events::{DomainEvent, Subscriber};
use csms_kernel::ports::{
    PageRequest, SessionStore, SiteStore, StoreError, StoreResult, UsageStore,
};
use rust_decimal::Decimal;
use std::sync::Arc;

/// The zone of a report when neither a site nor the caller names one and
/// the organisation's sites do not agree (or it has none).
pub const DEFAULT_TZ: Tz = chrono_tz::Europe::Stockholm;

/// Tries of a usage day's read-modify-write before giving up (a busy EVSE
/// whose events race).
const TRIES: usize = 4;

/// Keeps EVSEs' usage days from charger events.
pub struct UsageSubscriber<S: ?Sized> {
    store: Arc<S>,
}

impl<S: UsageStore + SessionStore + ?Sized> UsageSubscriber<S> {
    pub fn new(store: Arc<S>) -> Self {
        UsageSubscriber { store }
    }

    /// Applies `fact` to its EVSE's day: one read, and one write if the
    /// fact changed the day (a new day also reads the EVSE's previous day
    /// for its opening state). Whether it wrote.
    pub async fn record(
        &self,
        org: &OrgId,
        station: &StationId,
        evse_id: u32,
        site: Option<&SiteId>,
        fact: &UsageFact,
    ) -> StoreResult<bool> {
        let key = UsageKey {
            org_id: org.clone(),
            station_id: station.clone(),
            evse_id,
            day: day_of(fact.at()),
        };
        let mut last = None;
        for _ in 0..TRIES {
            let (mut day, expected) = match self.store.get_usage_day(&key).await? {
                Some(d) => {
                    let v = d.version;
                    (d, v)
                }
                None => {
                    // A previous day that no longer decodes opens this one
                    // in an unknown state rather than stopping the count.
                    let before = match self.store.usage_day_before(&key).await {
                        Ok(d) => d,
                        Err(StoreError::Undecodable { kind, key, reason }) => {
                            tracing::warn!(%kind, %key, %reason, "a previous usage day does not decode: the next opens unknown");
                            None
                        }
                        Err(e) => return Err(e),
                    };
                    let opening = before.and_then(|d| d.closing());
                    (UsageDay::new(key.clone(), site.cloned(), opening), 0)
                }
            };
            if !day.apply(fact) {
                return Ok(false);
            }
            if let Some(site) = site {
                day.site_id = Some(site.clone());
            }
            day.version = expected.saturating_add(1);
            match self.store.put_usage_day(&day, expected).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict(m)) => last = Some(StoreError::Conflict(m)),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Conflict("usage day".into())))
    }

    /// A session's fact, under its EVSE (EVSE 0: the station, when the
    /// session named none).
    async fn session(&self, session: &Session, fact: UsageFact) {
        let evse = session.evse_id.unwrap_or(0);
        self.log(
            self.record(
                &session.org_id,
                &session.station_id,
                evse,
                session.site_id.as_ref(),
                &fact,
            )
            .await,
            "session",
        );
    }

    fn log(&self, r: StoreResult<bool>, what: &str) {
        if let Err(e) = r {
            tracing::warn!(fact = what, error = %e, "could not keep a usage fact for reports");
        }
    }
}

/// The time a session's facts are kept under: its start (else what is
/// known).
fn anchor(session: &Session, at: Timestamp) -> Timestamp {
    session.started_at.or(session.ended_at).unwrap_or(at)
}

/// The highest total active power of a message's readings, and when.
fn peak(readings: &[MeterReading]) -> Option<(Timestamp, Decimal)> {
    readings
        .iter()
        .filter(|r| r.measurand == "Power.Active.Import" && r.phase.is_none() && r.unit == "W")
        .filter(|r| r.value > Decimal::ZERO)
        .max_by_key(|r| r.value)
        .map(|r| (r.timestamp, r.value))
}

#[async_trait]
impl<S: UsageStore + SessionStore + ?Sized> Subscriber for UsageSubscriber<S> {
    async fn on(&self, event: &DomainEvent) {
        match event {
            DomainEvent::ConnectorStatus {
                station,
                status,
                at,
            } if status.evse_id > 0 => {
                let Some(state) = Use::of_status(&status.status) else {
                    return;
                };
                let fact = UsageFact::State { at: *at, state };
                let r = self
                    .record(
                        &station.org_id,
                        &station.station_id,
                        status.evse_id,
                        station.site_id.as_ref(),
                        &fact,
                    )
                    .await;
                self.log(r, "status");
            }
            DomainEvent::StationConnected { connection } => {
                let fact = UsageFact::State {
                    at: connection.connected_at,
                    state: Use::Online,
                };
                let r = self
                    .record(
                        &connection.org_id,
                        &connection.station_id,
                        0,
                        connection.site_id.as_ref(),
                        &fact,
                    )
                    .await;
                self.log(r, "connected");
            }
            DomainEvent::StationDisconnected { connection, at } => {
                let fact = UsageFact::State {
                    at: *at,
                    state: Use::Offline,
                };
                let r = self
                    .record(
                        &connection.org_id,
                        &connection.station_id,
                        0,
                        connection.site_id.as_ref(),
                        &fact,
                    )
                    .await;
                self.log(r, "disconnected");
            }
            DomainEvent::MeterValues {
                station,
                evse_id,
                readings,
                ..
            }
            | DomainEvent::Transaction {
                station,
                evse_id: Some(evse_id),
                readings,
                ..
            } if *evse_id > 0 => {
                let Some((at, watts)) = peak(readings) else {
                    return;
                };
                let r = self
                    .record(
                        &station.org_id,
                        &station.station_id,
                        *evse_id,
                        station.site_id.as_ref(),
                        &UsageFact::Power { at, watts },
                    )
                    .await;
                self.log(r, "power");
            }
            DomainEvent::SessionStarted { session, at } => {
                let fact = UsageFact::Session {
                    session_id: session.id.clone(),
                    started_at: anchor(session, *at),
                    ended_at: None,
                    energy_wh: None,
                    revenue: None,
                };
                self.session(session, fact).await;
            }
            DomainEvent::SessionEnded { session, at } => {
                let fact = UsageFact::Session {
                    session_id: session.id.clone(),
                    started_at: anchor(session, *at),
                    ended_at: session.ended_at,
                    energy_wh: session.energy_wh(),
                    revenue: None,
                };
                self.session(session, fact).await;
            }
            DomainEvent::SessionPriced { priced } => {
                let session = match self.store.get_session(&priced.session_id).await {
                    Ok(Some(s)) => s,
                    Ok(None) => {
                        tracing::warn!(session = %priced.session_id, "a priced session that is not stored: left out of reports");
                        return;
                    }
                    Err(e) => {
                        self.log(Err(e), "priced");
                        return;
                    }
                };
                let fact = UsageFact::Session {
                    session_id: session.id.clone(),
                    started_at: anchor(&session, priced.started_at),
                    ended_at: session.ended_at,
                    energy_wh: session.energy_wh(),
                    revenue: Some(Revenue {
                        revision: priced.revision,
                        currency: priced.currency.clone(),
                        net: priced.net,
                        vat: priced.vat,
                        gross: priced.gross,
                    }),
                };
                self.session(&session, fact).await;
            }
            _ => {}
        }
    }
}

/// What a report is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    pub span: Span,
    /// `None`: the site's zone (with a site in the scope), else the zone
    /// all the organisation's sites share, else [`DEFAULT_TZ`]. A site in
    /// the scope is checked to be the organisation's either way.
    pub time_zone: Option<Tz>,
    pub group_by: GroupBy,
    pub scope: Scope,
}

/// A usage report: the period's rows and totals, the previous period's
/// totals and the change of the main figures.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    pub span: Span,
    pub previous_span: Span,
    pub time_zone: Tz,
    pub group_by: GroupBy,
    pub usage: Usage,
    pub previous: Figures,
    pub changes: Vec<Change>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("site {0} not found")]
    SiteNotFound(String),
    #[error("the period has no previous period")]
    NoPreviousPeriod,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reports over usage days.
pub struct ReportService<S: ?Sized> {
    store: Arc<S>,
}

impl<S: UsageStore + SiteStore + ?Sized> ReportService<S> {
    pub fn new(store: Arc<S>) -> Self {
        ReportService { store }
    }

    async fn zone(&self, org: &OrgId, req: &ReportRequest) -> Result<Tz, ReportError> {
        if let Some(site) = &req.scope.site {
            let found = self.store.get_site(site).await?;
            let site = found
                .filter(|s| &s.org_id == org)
                .ok_or_else(|| ReportError::SiteNotFound(site.to_string()))?;
            return Ok(req.time_zone.unwrap_or(site.time_zone));
        }
        if let Some(tz) = req.time_zone {
            return Ok(tz);
        }
        let mut zones = std::collections::BTreeSet::new();
        let mut page = PageRequest::default();
        loop {
            let p = self.store.list_sites(org, &page).await?;
            zones.extend(p.items.iter().map(|s| s.time_zone.name().to_owned()));
            match p.next_cursor {
                Some(c) if zones.len() <= 1 => page.cursor = Some(c),
                _ => break,
            }
        }
        Ok(match zones.len() {
            1 => zones
                .first()
                .and_then(|z| z.parse().ok())
                .unwrap_or(DEFAULT_TZ),
            _ => DEFAULT_TZ,
        })
    }

    /// The report of `org` for `req`, time counted up to `now`. A site of
    /// another organisation is not found.
    pub async fn usage(
        &self,
        org: &OrgId,
        req: &ReportRequest,
        now: Timestamp,
    ) -> Result<UsageReport, ReportError> {
        let tz = self.zone(org, req).await?;
        let previous_span = req.span.previous().ok_or(ReportError::NoPreviousPeriod)?;
        let (from, _) = previous_span.instants(tz);
        let (_, to) = req.span.instants(tz);
        // From the UTC day before: a local day starts in the UTC day
        // before it east of Greenwich.
        let first = day_of(from).pred_opt().unwrap_or(day_of(from));
        let days = self.store.list_usage_days(org, first, day_of(to)).await?;
        let usage = compute::compute(&days, &req.span, tz, req.group_by, &req.scope, now);
        let previous =
            compute::compute(&days, &previous_span, tz, req.group_by, &req.scope, now).total;
        let changes = compute::changes(&usage.total, &previous);
        Ok(UsageReport {
            span: req.span,
            previous_span,
            time_zone: tz,
            group_by: req.group_by,
            usage,
            previous,
            changes,
        })
    }
}
