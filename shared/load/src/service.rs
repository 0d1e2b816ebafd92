//! The load-balancing use cases: configure a site, take in measurements,
//! recompute, and tell the chargers.
//!
//! A recomputation reads the truth from the store (which stations are
//! connected, which sessions run on which EVSE), keeps in the site's state
//! only what the store does not have (measured currents, the grid meter,
//! what each charger was told), runs the engine and sends what changed. It
//! is three phases: **gather** ([`LoadService::recompute`]'s reads, into a
//! [`SiteSnapshot`]), **decide** ([`decide::decide`], pure; the invariant
//! it keeps and the rules that keep it are described there), and **send**
//! (the limits, decreases first, each raise through [`decide::raise`],
//! then the state, saved with versioning).

use super::decide::{self, Decision, Limit, LiveMap, Raise, Settings, SiteSnapshot, SpotRequest};
use super::model;
use super::LoadSignal;
use csms_commands::service::CommandsStore;
use csms_commands::service::{CommandError, CommandService, SubmitOptions};
use csms_domain::actor::Actor;
use csms_domain::alarm::ProfileTolerance;
use csms_domain::command::{CommandId, CommandRequest, CommandStatus, ProfilePurpose};
use csms_domain::load::{
    ChargingNeed, GridReading, LoadConfig, LoadSite, LoadState, Measured, MeasuredPower,
    NeedSource, PhaseAmps, RecomputeLease, SentStatus,
};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::station::StationView;
use csms_domain::{IdTokenValue, OrgId, SiteId, StationId, Timestamp};
use csms_kernel::events::{raise_alarm, resolve_alarm, EventBus, NoEvents};
use csms_kernel::ports::{
    AlarmSettingsStore, Clock, LoadStore, PageRequest, SessionQuery, SessionStore, SpotPriceStore,
    StationStore, StoreError, TokenStore,
};
use futures::StreamExt;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub use super::decide::{profile_id, LOAD_STACK_LEVEL};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// `If-Match` named another version.
    #[error("{0}")]
    Precondition(String),
    /// The request is well-formed but the thing is not in a state to take it.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// A need as a driver or an integration gives it.
#[derive(Debug, Clone, Default)]
pub struct NeedInput {
    pub energy_wh: Option<Decimal>,
    pub target_soc: Option<Decimal>,
    pub battery_wh: Option<Decimal>,
    pub departure_at: Option<Timestamp>,
}

impl NeedInput {
    /// Checks the input against the session and makes the need. Every
    /// error names the field in the API's spelling.
    fn into_need(self, session: &Session, now: Timestamp) -> Result<ChargingNeed, LoadError> {
        let bad = |m: String| Err(LoadError::Invalid(m));
        if session.status != SessionStatus::Active {
            return Err(LoadError::Conflict(format!(
                "session {} has ended",
                session.id
            )));
        }
        let wh_max = Decimal::from(1_000_000);
        if let Some(e) = self.energy_wh {
            if e <= Decimal::ZERO || e > wh_max {
                return bad("energyKwh: above 0 and at most 1000".into());
            }
        }
        if let Some(b) = self.battery_wh {
            if b <= Decimal::ZERO || b > wh_max {
                return bad("batteryKwh: above 0 and at most 1000".into());
            }
        }
        if let Some(t) = self.target_soc {
            if t <= Decimal::ZERO || t > Decimal::ONE_HUNDRED {
                return bad("targetSocPercent: above 0 and at most 100".into());
            }
        }
        match (self.energy_wh, self.target_soc, self.battery_wh) {
            (_, Some(_), None) => return bad("batteryKwh: needed with targetSocPercent".into()),
            (_, None, Some(_)) => return bad("targetSocPercent: needed with batteryKwh".into()),
            (None, None, None) => {
                return bad(
                    "energyKwh, or targetSocPercent with batteryKwh: say how much the car needs"
                        .into(),
                )
            }
            _ => {}
        }
        let Some(departure) = self.departure_at else {
            return bad("departureAt: required".into());
        };
        if departure <= now {
            return bad("departureAt: in the past".into());
        }
        if departure > now + chrono::TimeDelta::days(7) {
            return bad("departureAt: at most 7 days ahead".into());
        }
        Ok(ChargingNeed {
            source: NeedSource::Driver,
            transaction_id: Some(session.transaction_id.clone()),
            energy_wh: self.energy_wh,
            target_soc: self.target_soc,
            battery_wh: self.battery_wh,
            soc: None,
            departure_at: Some(departure),
            car_max_a: None,
            set_at: now,
            base_wh: Some(session.energy_wh().unwrap_or_default()),
        })
    }
}

/// How many sites one batch of signals or one sweep recomputes at once.
const SITES_AT_ONCE: usize = 8;
/// A car plugged in (1.6 `Preparing`, 2.0.1 `Occupied`) without a
/// transaction is given its share ahead of its start for this long; one
/// that waits longer for its driver waits like a new car.
const PLUGGED_MAX_AGE_S: i64 = 300;

csms_kernel::store_ports! {
    /// The store ports load balancing uses: its sites and their states, the
    /// stations on a site, their running sessions and the drivers' id tokens
    /// (priority groups), spot prices for the plans — and the command
    /// service's, which sends the charging profiles over the same store.
    pub trait LoadServiceStore:
        LoadStore, StationStore, SessionStore, TokenStore, SpotPriceStore, CommandsStore,
        AlarmSettingsStore
}

pub struct LoadService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    commands: CommandService<S>,
    /// How long a recomputation waits for decreases to be accepted.
    confirm_wait: Duration,
    settings: Settings,
    /// Where the site's load alarms are told.
    events: Arc<dyn EventBus>,
}

impl<S: ?Sized> Clone for LoadService<S> {
    fn clone(&self) -> Self {
        LoadService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            commands: self.commands.clone(),
            confirm_wait: self.confirm_wait,
            settings: self.settings,
            events: self.events.clone(),
        }
    }
}

impl<S: LoadServiceStore + ?Sized> LoadService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, commands: CommandService<S>) -> Self {
        LoadService {
            store,
            clock,
            commands,
            confirm_wait: Duration::from_secs(10),
            settings: Settings::default(),
            events: Arc::new(NoEvents),
        }
    }

    /// Tell the site's load alarms (`alarm.opened`, `alarm.resolved`) on
    /// `events`.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }

    /// How long a recomputation waits for its chargers' answers before it
    /// goes on (default 10 s); what is unanswered counts as in flight.
    pub fn with_confirm_wait(mut self, wait: Duration) -> Self {
        self.confirm_wait = wait;
        self
    }

    // --- configuration --------------------------------------------------

    /// Stores a site's configuration after checking it and every station
    /// it names (it must exist, belong to `org` and to this site).
    pub async fn configure(
        &self,
        org: &OrgId,
        site_id: &SiteId,
        config: LoadConfig,
        if_match: Option<u64>,
    ) -> Result<LoadSite, LoadError> {
        // Site ids are one namespace for all organisations: another's site
        // is answered as not found (as reading it would be) before the
        // configuration is even looked at, so a caller learns nothing of it.
        let existing = self.store.get_load_site(site_id).await?;
        if existing.as_ref().is_some_and(|s| &s.org_id != org) {
            return Err(LoadError::NotFound(format!(
                "site {site_id} has no load balancing"
            )));
        }
        model::site(&config).map_err(LoadError::Invalid)?;
        if let Some(zone) = &config.bidding_zone {
            BiddingZone::parse(zone)
                .map_err(|e| LoadError::Invalid(format!("biddingZone: {e}")))?;
        }
        let mut stations: Vec<(String, &StationId)> = config
            .evses
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("evses[{i}].stationId"), &e.station_id))
            .collect();
        if let Some(m) = config.meter.as_ref().and_then(|m| m.station_id.as_ref()) {
            stations.push(("meter.stationId".into(), m));
        }
        let mut checked: HashSet<&StationId> = HashSet::new();
        for (field, id) in stations {
            if !checked.insert(id) {
                continue;
            }
            let station = self
                .store
                .get_station(id)
                .await?
                .filter(|s| &s.org_id == org)
                .ok_or_else(|| LoadError::Invalid(format!("{field}: no station {id}")))?;
            if station.site_id.as_ref() != Some(site_id) {
                return Err(LoadError::Invalid(match &station.site_id {
                    Some(other) => format!("{field}: station {id} belongs to site {other}"),
                    None => format!(
                        "{field}: station {id} has no site; register it with siteId {site_id}"
                    ),
                }));
            }
        }
        let current = existing.as_ref().map_or(0, |s| s.version);
        if let Some(v) = if_match {
            if v != current {
                return Err(LoadError::Precondition(format!(
                    "the configuration is at version {current}, not {v}"
                )));
            }
        }
        let site = LoadSite {
            site_id: site_id.clone(),
            org_id: org.clone(),
            config,
            updated_at: self.clock.now(),
            version: current + 1,
        };
        self.store
            .put_load_site(&site, current)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => LoadError::Precondition(m),
                e => e.into(),
            })?;
        Ok(site)
    }

    pub async fn get(&self, org: &OrgId, site: &SiteId) -> Result<LoadSite, LoadError> {
        self.store
            .get_load_site(site)
            .await?
            .filter(|s| &s.org_id == org)
            .ok_or_else(|| LoadError::NotFound(format!("site {site} has no load balancing")))
    }

    pub async fn state(
        &self,
        org: &OrgId,
        site: &SiteId,
    ) -> Result<(LoadSite, LoadState), LoadError> {
        let config = self.get(org, site).await?;
        let state = self
            .store
            .get_load_state(site)
            .await?
            .unwrap_or_else(|| LoadState::new(site.clone()));
        Ok((config, state))
    }

    /// Stops balancing the site: the balancer's profiles are cleared from
    /// the connected stations (offline ones keep theirs, which only limit).
    pub async fn delete(&self, org: &OrgId, site: &SiteId) -> Result<(), LoadError> {
        let (_, state) = self.state(org, site).await?;
        self.store.delete_load_site(site).await?;
        // Every profile the balancer has sent: stations' own limits, then
        // each EVSE's default and transaction limits.
        let stations = state
            .stations
            .iter()
            .map(|st| (&st.station_id, profile_id(ProfilePurpose::StationMax, 0)));
        let evses = state.evses.iter().flat_map(|e| {
            [
                (ProfilePurpose::TxDefault, e.default_profile.is_some()),
                (ProfilePurpose::TxProfile, e.profile.is_some()),
            ]
            .into_iter()
            .filter(|&(_, sent)| sent)
            .map(|(purpose, _)| (&e.station_id, profile_id(purpose, e.evse_id)))
        });
        // Collected first: the future must not hold the iterator's closures.
        let sent: Vec<(&StationId, i32)> = stations.chain(evses).collect();
        for (station, id) in sent {
            let req = CommandRequest::ClearChargingProfile {
                profile_id: Some(id),
                evse_id: None,
                purpose: None,
                stack_level: None,
            };
            if let Err(err) = self
                .commands
                .submit(
                    &Actor::system(org.clone()),
                    station,
                    req,
                    SubmitOptions::default(),
                )
                .await
            {
                tracing::warn!(station = %station, error = %err, "could not clear a load profile");
            }
        }
        Ok(())
    }

    /// A grid meter reading from the API: the whole building, chargers
    /// included, per phase.
    pub async fn record_grid(
        &self,
        org: &OrgId,
        site: &SiteId,
        reading: GridReading,
    ) -> Result<(LoadSite, LoadState), LoadError> {
        let config = self.get(org, site).await?;
        if config.config.meter.is_none() {
            return Err(LoadError::Invalid(
                "this site has no grid meter configured (set meter in its configuration)".into(),
            ));
        }
        let now = self.clock.now();
        if reading.at > now + chrono::TimeDelta::minutes(5) {
            return Err(LoadError::Invalid("at: in the future".into()));
        }
        for (p, a) in ["l1", "l2", "l3"].iter().zip(reading.current_a.as_array()) {
            if a.abs() > Decimal::from(100_000) {
                return Err(LoadError::Invalid(format!(
                    "{p}: {a} A is not a plausible reading"
                )));
            }
        }
        self.update_state(site, |state| {
            if state.grid.is_none_or(|g| g.at <= reading.at) {
                state.grid = Some(reading);
            }
            state.requested_at = Some(now);
        })
        .await?;
        let state = self
            .recompute(site)
            .await?
            .unwrap_or_else(|| LoadState::new(site.clone()));
        Ok((config, state))
    }

    /// Gives a running session an energy need and a departure; the site is
    /// recomputed (and the session planned) at once.
    pub async fn set_need(
        &self,
        org: &OrgId,
        session: &Session,
        input: NeedInput,
    ) -> Result<LoadState, LoadError> {
        let (site, evse_id) = self.balanced_evse(org, session).await?;
        let now = self.clock.now();
        let need = input.into_need(session, now)?;
        self.update_state(&site, |state| {
            let es = state.evse_mut(&session.station_id, evse_id);
            es.need = Some(need.clone());
            state.requested_at = Some(now);
        })
        .await?;
        Ok(self
            .recompute(&site)
            .await?
            .unwrap_or_else(|| LoadState::new(site.clone())))
    }

    /// The session's need, its plan, and the state they come from.
    pub async fn need(
        &self,
        org: &OrgId,
        session: &Session,
    ) -> Result<(LoadState, Option<ChargingNeed>), LoadError> {
        let (site, evse_id) = self.balanced_evse(org, session).await?;
        let state = self
            .store
            .get_load_state(&site)
            .await?
            .unwrap_or_else(|| LoadState::new(site.clone()));
        let need = state
            .evse(&session.station_id, evse_id)
            .and_then(|e| e.need.clone())
            .filter(|n| n.transaction_id.as_deref() == Some(session.transaction_id.as_str()));
        Ok((state, need))
    }

    /// Forgets the session's need: it charges at once again.
    pub async fn clear_need(&self, org: &OrgId, session: &Session) -> Result<(), LoadError> {
        let (site, evse_id) = self.balanced_evse(org, session).await?;
        let now = self.clock.now();
        let mut had = false;
        self.update_state(&site, |state| {
            let es = state.evse_mut(&session.station_id, evse_id);
            if es.need.as_ref().is_some_and(|n| {
                n.transaction_id.as_deref() == Some(session.transaction_id.as_str())
            }) {
                es.need = None;
                had = true;
                state.requested_at = Some(now);
            }
        })
        .await?;
        if !had {
            return Err(LoadError::NotFound(format!(
                "session {} has no charging need",
                session.id
            )));
        }
        self.recompute(&site).await?;
        Ok(())
    }

    /// The balanced site and EVSE of a session that may be given a need.
    async fn balanced_evse(
        &self,
        org: &OrgId,
        session: &Session,
    ) -> Result<(SiteId, u32), LoadError> {
        if &session.org_id != org {
            return Err(LoadError::NotFound(format!(
                "session {} not found",
                session.id
            )));
        }
        let site = session.site_id.clone().ok_or_else(|| {
            LoadError::Conflict(format!(
                "station {} is on no site, so nothing plans its charging",
                session.station_id
            ))
        })?;
        let config = self.store.get_load_site(&site).await?.ok_or_else(|| {
            LoadError::Conflict(format!("site {site} has no load balancing to plan with"))
        })?;
        let evse_id = session
            .evse_id
            .or(session.connector_id)
            .ok_or_else(|| LoadError::Conflict("the session's EVSE is not known".into()))?;
        if !config
            .config
            .evses
            .iter()
            .any(|e| e.station_id == session.station_id && e.evse_id == evse_id)
        {
            return Err(LoadError::Conflict(format!(
                "station {} EVSE {evse_id} is not in the load configuration of site {site}",
                session.station_id
            )));
        }
        Ok((site, evse_id))
    }

    async fn update_state(
        &self,
        site: &SiteId,
        mut f: impl FnMut(&mut LoadState),
    ) -> Result<LoadState, LoadError> {
        for _ in 0..8 {
            let mut state = self
                .store
                .get_load_state(site)
                .await?
                .unwrap_or_else(|| LoadState::new(site.clone()));
            let expected = state.version;
            f(&mut state);
            state.version = expected + 1;
            match self.store.put_load_state(&state, expected).await {
                Ok(()) => return Ok(state),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("load state of {site} keeps changing")).into())
    }

    // --- signals ----------------------------------------------------------

    /// Takes a batch of signals: measurements go into their sites' states,
    /// then each site is recomputed once — unless a recomputation already
    /// ran after the newest signal (another consumer got there first).
    pub async fn absorb(&self, signals: Vec<LoadSignal>) -> Result<(), LoadError> {
        let mut by_site: BTreeMap<SiteId, Vec<LoadSignal>> = BTreeMap::new();
        let mut sites_of: HashMap<StationId, Option<SiteId>> = HashMap::new();
        for s in signals {
            let site = match (&s.site_id, &s.station_id) {
                (Some(site), _) => Some(site.clone()),
                (None, Some(station)) => match sites_of.get(station) {
                    Some(site) => site.clone(),
                    None => {
                        let site = self
                            .store
                            .get_station(station)
                            .await?
                            .and_then(|st| st.site_id);
                        sites_of.insert(station.clone(), site.clone());
                        site
                    }
                },
                (None, None) => None,
            };
            if let Some(site) = site {
                by_site.entry(site).or_default().push(s);
            }
        }
        // Sites are independent: one whose chargers answer slowly (each
        // run waits for their answers) must not hold up the others.
        let mut runs = futures::stream::iter(by_site)
            .map(|(site, signals)| async move {
                let r = self.absorb_site(&site, signals).await;
                (site, r)
            })
            .buffer_unordered(SITES_AT_ONCE);
        let mut first_error = None;
        while let Some((site, r)) = runs.next().await {
            if let Err(e) = r {
                tracing::error!(site = %site, error = %e, "load recomputation failed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// One site's share of [`LoadService::absorb`].
    async fn absorb_site(&self, site: &SiteId, signals: Vec<LoadSignal>) -> Result<(), LoadError> {
        let Some(config) = self.store.get_load_site(site).await? else {
            return Ok(());
        };
        let meter_station = config
            .config
            .meter
            .as_ref()
            .and_then(|m| m.station_id.clone());
        let newest = signals.iter().map(|s| s.at).max();
        let newest_sent = signals.iter().map(LoadSignal::seen_after).max();
        let measurements: Vec<&LoadSignal> =
            signals.iter().filter(|s| s.carries_measurement()).collect();
        let mut changed = false;
        let state = self
            .update_state(site, |state| {
                let before = state.clone();
                for s in &measurements {
                    merge_measurement(state, s, meter_station.as_ref());
                }
                changed = state.grid != before.grid || state.evses != before.evses;
                state.requested_at = state.requested_at.max(newest);
            })
            .await?;
        // Skipped only when a recomputation began after the newest signal
        // was sent (so after its writes) *and* these signals told nothing
        // new: a measurement merged now was not seen by that recomputation.
        if !changed
            && state
                .computed_at
                .is_some_and(|c| newest_sent.is_some_and(|n| c > n))
        {
            return Ok(());
        }
        self.recompute(site).await?;
        Ok(())
    }

    /// Recomputes every configured site (the periodic run).
    pub async fn sweep(&self) -> Result<usize, LoadError> {
        let mut page = PageRequest::first(100);
        let mut n = 0;
        loop {
            let sites = self.store.list_load_sites(&page).await?;
            n += sites.items.len();
            futures::stream::iter(&sites.items)
                .for_each_concurrent(SITES_AT_ONCE, |s| async move {
                    if let Err(e) = self.recompute(&s.site_id).await {
                        tracing::error!(site = %s.site_id, error = %e, "load recomputation failed");
                    }
                })
                .await;
            match sites.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(n),
            }
        }
    }

    // --- recomputation ----------------------------------------------------

    /// Runs the engine for the site and sends what changed. `None` when the
    /// site has no load balancing.
    ///
    /// One run at a time per site, in this process or another: the run takes
    /// the site's lease ([`LoadState::lease`]) first, waiting for a run that
    /// holds it. Two overlapping runs would each send limits computed from a
    /// state the other is changing, and together allow more than the fuse.
    pub async fn recompute(&self, site_id: &SiteId) -> Result<Option<LoadState>, LoadError> {
        let Some(config) = self.store.get_load_site(site_id).await? else {
            return Ok(None);
        };
        let holder = ulid::Ulid::new().to_string();
        let state = self.take_lease(site_id, &holder).await?;
        match self.recompute_leased(config, state, &holder).await {
            Ok(state) => Ok(Some(state)),
            Err(e) => {
                self.release_lease(site_id, &holder).await;
                Err(e)
            }
        }
    }

    /// How long a run may hold its site: its sends wait at most twice
    /// `confirm_wait`. Past it, a run that died no longer blocks the site.
    fn lease_span(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.confirm_wait * 3).unwrap_or(chrono::TimeDelta::MAX)
            + chrono::TimeDelta::seconds(30)
    }

    /// How long a run waits for another to finish: within API Gateway's 29 s
    /// for the default `confirm_wait` of 10 s.
    fn lease_wait(&self) -> Duration {
        self.confirm_wait * 2 + Duration::from_secs(5)
    }

    /// Takes the site's lease, waiting (bounded) while another run holds it.
    /// Returns the state as written with the lease.
    async fn take_lease(&self, site_id: &SiteId, holder: &str) -> Result<LoadState, LoadError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let mut state = self
                .store
                .get_load_state(site_id)
                .await?
                .unwrap_or_else(|| LoadState::new(site_id.clone()));
            let now = self.clock.now();
            if state.lease.as_ref().is_none_or(|l| l.until <= now) {
                let expected = state.version;
                state.lease = Some(RecomputeLease {
                    holder: holder.to_string(),
                    until: now + self.lease_span(),
                });
                state.version = expected + 1;
                match self.store.put_load_state(&state, expected).await {
                    Ok(()) => return Ok(state),
                    // A reading or another run wrote in between: look again.
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if started.elapsed() >= self.lease_wait() {
                return Err(LoadError::Conflict(format!(
                    "site {site_id} is being recomputed by another run; try again shortly"
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Gives the lease back after a failed run (best effort: it expires anyway).
    async fn release_lease(&self, site_id: &SiteId, holder: &str) {
        let _ = self
            .update_state(site_id, |state| {
                if state.lease.as_ref().is_some_and(|l| l.holder == holder) {
                    state.lease = None;
                }
            })
            .await;
    }

    /// One run, holding the lease: gather what the site needs, decide
    /// (pure, [`decide::decide`]), then send what was decided.
    async fn recompute_leased(
        &self,
        config: LoadSite,
        state: LoadState,
        holder: &str,
    ) -> Result<LoadState, LoadError> {
        let now = self.clock.now();
        let expected = state.version;
        let snapshot = self.gather(config, state, now).await?;
        let mut decision = decide::decide(&snapshot, now, &self.settings);
        self.watch_site(&snapshot.config, &mut decision.state, now)
            .await;
        self.send_decision(&snapshot, decision, now, expected, holder)
            .await
    }

    /// Raises the site's load alarms whose condition started and resolves
    /// those whose condition ended, by the ids the state keeps, and keeps
    /// the new set in `state` (saved with the run). Raising and resolving
    /// are idempotent and come before the save: a run that fails to save
    /// leaves the next to do it again. A store failure is logged and the
    /// alarm's id left as it was, so the next run tries again.
    async fn watch_site(&self, site: &LoadSite, state: &mut LoadState, now: Timestamp) {
        // The organisation's tolerance, only when an EVSE might be over
        // its profile (rare): no read per run otherwise.
        let voltage = site.config.voltage;
        let tolerance = if state
            .evses
            .iter()
            .any(|e| super::alarms::drawing_over(e, &state.stations, voltage).is_some())
        {
            match self.store.get_alarm_settings(&site.org_id).await {
                Ok(s) => Some(s.map_or(ProfileTolerance::DEFAULT, |s| s.profile_ignored)),
                Err(e) => {
                    tracing::warn!(site = %site.site_id, error = %e, "could not read the alarm settings; the default tolerance applies");
                    Some(ProfileTolerance::DEFAULT)
                }
            }
        } else {
            None
        };
        super::alarms::track_profiles(state, tolerance, voltage);
        let mut holding = super::alarms::conditions(site, state, now);
        holding.extend(super::alarms::profile_conditions(
            site, state, tolerance, now,
        ));
        let mut open: Vec<String> = Vec::new();
        for alarm in &holding {
            // A charger that keeps ignoring its profile repeats on the open
            // alarm with its latest reading (two requests a run, only while
            // it does); the site's own alarms hold without a request.
            let repeats = alarm.kind == super::alarms::PROFILE_IGNORED_KIND;
            if state.alarms.contains(&alarm.id) && !repeats {
                open.push(alarm.id.clone());
                continue;
            }
            match raise_alarm(&*self.store, &*self.events, alarm, now).await {
                Ok(_) => {
                    tracing::warn!(site = %site.site_id, kind = %alarm.kind, "load alarm raised");
                    open.push(alarm.id.clone());
                }
                Err(e) => {
                    tracing::warn!(alarm = %alarm.id, error = %e, "could not raise a load alarm")
                }
            }
        }
        for id in &state.alarms {
            if holding.iter().any(|a| &a.id == id) {
                continue;
            }
            match resolve_alarm(&*self.store, &*self.events, id, now).await {
                Ok(_) => tracing::info!(site = %site.site_id, alarm = %id, "load alarm resolved"),
                Err(e) => {
                    tracing::warn!(alarm = %id, error = %e, "could not resolve a load alarm");
                    open.push(id.clone());
                }
            }
        }
        state.alarms = open;
    }

    /// Reads everything the decision needs, and nothing when the
    /// configuration cannot be used: the stations and their sessions, the
    /// answers to limits in flight, and the spot prices when a plan is due.
    async fn gather(
        &self,
        config: LoadSite,
        state: LoadState,
        now: Timestamp,
    ) -> Result<SiteSnapshot, LoadError> {
        let mut snapshot = SiteSnapshot {
            config,
            state,
            live: LiveMap::new(),
            answers: BTreeMap::new(),
            spot: None,
        };
        if model::site(&snapshot.config.config).is_err() {
            return Ok(snapshot);
        }
        snapshot.live = self.live(&snapshot.config).await?;
        let pending = decide::pending_commands(&snapshot.state, &snapshot.config.config);
        snapshot.answers = self.answers(pending).await?;
        if let Some(request) = decide::spot_request(&snapshot, now, &self.settings) {
            snapshot.spot = Some(self.spot_days(request).await);
        }
        Ok(snapshot)
    }

    /// Applies the decision: decreases first, and their answers awaited;
    /// then each increase [`decide::raise`] lets through given those
    /// answers; then the defaults of transactions whose limit is now in
    /// force go to 0. The state is saved last.
    async fn send_decision(
        &self,
        snapshot: &SiteSnapshot,
        decision: Decision,
        now: Timestamp,
        expected: u64,
        holder: &str,
    ) -> Result<LoadState, LoadError> {
        let Decision { mut state, sends } = decision;
        let Some(sends) = sends else {
            return self.save(state, expected, holder).await;
        };
        let cfg = &snapshot.config.config;
        let live = &snapshot.live;
        // The balancer acts for the site's organisation: a station of
        // another one in the configuration gets nothing.
        let actor = Actor::system(snapshot.config.org_id.clone());
        let actor = &actor;
        let mut pending = Vec::new();
        for s in &sends.decreases {
            let id = self.send(actor, &mut state, s, live, now).await?;
            pending.push(id);
        }
        for id in pending.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait).await?;
        }
        self.settle_sent(&mut state, cfg).await?;
        let mut raised = Vec::new();
        let mut held_back = Vec::new();
        for s in &sends.increases {
            match decide::raise(&sends, cfg, &state, s) {
                Raise::Send => raised.push(self.send(actor, &mut state, s, live, now).await?),
                Raise::Wait(why) => held_back.push(why),
                Raise::Unknown => {}
            }
        }
        // Waited for too, so that what the API shows is what the chargers
        // hold, not what they were asked.
        for id in raised.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait).await?;
        }
        self.settle_sent(&mut state, cfg).await?;
        // A TxProfile now in force: its transaction's default goes to 0.
        let mut lowered = Vec::new();
        for s in decide::defaults_to_zero(cfg, &state, live, now, &self.settings) {
            lowered.push(self.send(actor, &mut state, &s, live, now).await?);
        }
        // Nothing waits on these: a short wait keeps a synchronous API call
        // (29 s behind API Gateway) within bounds; the rest settles next round.
        for id in lowered.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait / 5).await?;
        }
        self.settle_sent(&mut state, cfg).await?;
        decide::conclude(&mut state, held_back, now);
        self.save(state, expected, holder).await
    }

    /// Writes the computed state. What others wrote while we computed
    /// (measurements, a need, the request time) is carried over onto it. The
    /// run's lease (`holder`) is given back, unless another run has taken the
    /// site since (its lease ran out).
    async fn save(
        &self,
        mut state: LoadState,
        expected: u64,
        holder: &str,
    ) -> Result<LoadState, LoadError> {
        state.version = expected + 1;
        match self.store.put_load_state(&state, expected).await {
            Ok(()) => return Ok(state),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(latest) = self.store.get_load_state(&state.site_id).await? else {
            return Err(StoreError::Conflict("load state vanished".into()).into());
        };
        if latest
            .grid
            .is_some_and(|g| state.grid.is_none_or(|s| g.at > s.at))
        {
            state.grid = latest.grid;
        }
        let run_started = state.computed_at;
        for le in &latest.evses {
            let es = state.evse_mut(&le.station_id, le.evse_id);
            // A need given while this run went on (a driver's PUT, the car's
            // NotifyEVChargingNeeds) is not this run's to drop.
            if let Some(n) = &le.need {
                if run_started.is_none_or(|t| n.set_at >= t) && es.need.as_ref() != Some(n) {
                    es.need = Some(n.clone());
                }
            }
            if le
                .measured
                .is_some_and(|m| es.measured.is_none_or(|s| m.at > s.at))
            {
                es.measured = le.measured;
                es.soc = le.soc.or(es.soc);
            }
            if le
                .measured_power
                .is_some_and(|m| es.measured_power.is_none_or(|s| m.at > s.at))
            {
                es.measured_power = le.measured_power;
            }
        }
        state.requested_at = state.requested_at.max(latest.requested_at);
        if latest.lease.as_ref().is_some_and(|l| l.holder != holder) {
            state.lease = latest.lease;
        }
        self.save_at(state, latest.version).await
    }

    async fn save_at(&self, mut state: LoadState, expected: u64) -> Result<LoadState, LoadError> {
        state.version = expected + 1;
        self.store.put_load_state(&state, expected).await?;
        Ok(state)
    }

    /// Each station of the site: connected or not, and its running sessions by EVSE.
    async fn live(&self, site: &LoadSite) -> Result<LiveMap, LoadError> {
        let now = self.clock.now();
        let mut views: HashMap<StationId, Option<StationView>> = HashMap::new();
        // Per station and EVSE: transaction, start, energy so far.
        type Running = (String, Timestamp, Option<Decimal>, Option<String>);
        let mut sessions: HashMap<StationId, HashMap<u32, Running>> = HashMap::new();
        for c in &site.config.evses {
            if views.contains_key(&c.station_id) {
                continue;
            }
            let view = self.store.get_station_view(&c.station_id).await?;
            let mut running = HashMap::new();
            let q = SessionQuery {
                org_id: site.org_id.clone(),
                station_id: Some(c.station_id.clone()),
                from: None,
                to: None,
                page: PageRequest::first(20),
            };
            for s in self.store.list_sessions(&q).await?.items {
                if s.status != SessionStatus::Active {
                    continue;
                }
                if let Some(evse) = s.evse_id.or(s.connector_id) {
                    let started = s.started_at.unwrap_or(s.updated_at);
                    // Two open sessions on one EVSE: the newer is the real one.
                    let this = (
                        s.transaction_id.clone(),
                        started,
                        s.energy_wh(),
                        s.id_token.clone(),
                    );
                    let e = running.entry(evse).or_insert(this.clone());
                    if started > e.1 {
                        *e = this;
                    }
                }
            }
            views.insert(c.station_id.clone(), view);
            sessions.insert(c.station_id.clone(), running);
        }
        // Identifier groups, read only when the site prioritises by them.
        let mut group_priority: HashMap<String, Option<u8>> = HashMap::new();
        if !site.config.group_priorities.is_empty() {
            for running in sessions.values() {
                for (_, _, _, token) in running.values() {
                    let Some(token) = token else { continue };
                    if group_priority.contains_key(token) {
                        continue;
                    }
                    let group = match IdTokenValue::parse(token) {
                        // A user group is its organisation's (as in pricing).
                        Ok(t) => self
                            .store
                            .get_id_token(&t)
                            .await?
                            .filter(|r| r.org_id == site.org_id)
                            .and_then(|r| r.group),
                        Err(_) => None,
                    };
                    let p = group.and_then(|g| site.config.group_priorities.get(&g).copied());
                    group_priority.insert(token.clone(), p);
                }
            }
        }
        Ok(site
            .config
            .evses
            .iter()
            .map(|c| {
                let view = views.get(&c.station_id).and_then(Option::as_ref);
                let live = view.and_then(|v| v.connection.as_ref().filter(|k| k.is_live(now)));
                let running = sessions
                    .get(&c.station_id)
                    .and_then(|m| m.get(&c.evse_id))
                    .cloned();
                (
                    (c.station_id.clone(), c.evse_id),
                    decide::Live {
                        version: live.map(|k| k.ocpp_version),
                        energy_wh: running.as_ref().and_then(|r| r.2),
                        priority: running
                            .as_ref()
                            .and_then(|r| r.3.as_ref())
                            .and_then(|t| group_priority.get(t).copied().flatten())
                            .map_or(c.priority, |g| g.max(c.priority)),
                        booted_at: view
                            .and_then(|v| v.station.boot.as_ref())
                            .map(|b| b.booted_at),
                        plugged: match running {
                            Some(_) => None,
                            None => view.and_then(|v| plugged_since(v, c.evse_id, now)),
                        },
                        transaction: running.map(|(tx, started, _, _)| (tx, started)),
                    },
                )
            })
            .collect())
    }

    /// Brings pending sends up to date with their commands.
    async fn settle_sent(&self, state: &mut LoadState, cfg: &LoadConfig) -> Result<(), LoadError> {
        let answers = self.answers(decide::pending_commands(state, cfg)).await?;
        decide::settle(state, &answers);
        Ok(())
    }

    /// The status of each command found, one read each, in order, by the
    /// id its limit records.
    async fn answers(
        &self,
        commands: Vec<(String, CommandId)>,
    ) -> Result<BTreeMap<String, CommandStatus>, LoadError> {
        let mut answers = BTreeMap::new();
        for (recorded, id) in commands {
            if let Some(cmd) = self.commands.get(&id).await? {
                answers.insert(recorded, cmd.status);
            }
        }
        Ok(answers)
    }

    /// The spot days a plan needs, or why they could not be read (the
    /// plan is then not made; the run goes on).
    async fn spot_days(&self, request: SpotRequest) -> Result<Vec<SpotDay>, String> {
        let mut days = Vec::new();
        let mut date = request.first;
        while date <= request.last {
            if let Some(d) = self
                .store
                .get_spot_day(request.zone, date)
                .await
                .map_err(|e| format!("spot prices: {e}"))?
            {
                days.push(d);
            }
            date = date.succ_opt().ok_or("date out of range")?;
        }
        Ok(days)
    }

    /// Submits one limit and records it; returns the command to wait for.
    async fn send(
        &self,
        actor: &Actor,
        state: &mut LoadState,
        s: &Limit,
        live: &LiveMap,
        now: Timestamp,
    ) -> Result<Option<CommandId>, LoadError> {
        if !live
            .iter()
            .any(|((station, _), l)| station == &s.station && l.connected())
        {
            return Ok(None);
        }
        let req = decide::request(s, now);
        let (command_id, status) = match self
            .commands
            .submit(actor, &s.station, req, SubmitOptions::default())
            .await
        {
            Ok(cmd) => {
                let status = match cmd.status {
                    CommandStatus::Pending => SentStatus::Pending,
                    CommandStatus::Accepted => SentStatus::Accepted,
                    _ => SentStatus::Failed,
                };
                (cmd.id.to_string(), status)
            }
            Err(CommandError::Invalid(m)) => {
                // The charger cannot take this profile (e.g. its version
                // does not allow it): record the failure, do not stop the others.
                tracing::warn!(station = %s.station, "load limit refused before sending: {m}");
                (String::new(), SentStatus::Failed)
            }
            Err(e) => return Err(e.into()),
        };
        decide::record(state, s, command_id.clone(), status, now);
        Ok((status == SentStatus::Pending)
            .then(|| CommandId::parse(&command_id))
            .flatten())
    }
}

/// When a car was plugged into `evse_id` without a transaction (1.6
/// `Preparing`, 2.0.1 `Occupied`), if recently enough to be served ahead of
/// its start.
fn plugged_since(view: &StationView, evse_id: u32, now: Timestamp) -> Option<Timestamp> {
    view.connectors
        .iter()
        .filter(|c| c.evse_id == evse_id && matches!(c.status.as_str(), "Preparing" | "Occupied"))
        .map(|c| c.updated_at.min(now))
        .filter(|t| (now - *t).num_seconds() <= PLUGGED_MAX_AGE_S)
        .max()
}

/// Keeps a charger's or the grid meter's measurement in the state.
fn merge_measurement(state: &mut LoadState, s: &LoadSignal, meter: Option<&StationId>) {
    let Some(station) = &s.station_id else {
        return;
    };
    let currents = s.currents_a.map(|c| {
        // A missing phase of the grid meter counts as the worst present one;
        // a car's missing phase draws nothing.
        let worst = c.iter().flatten().copied().max().unwrap_or_default();
        let fill = if meter == Some(station) {
            worst
        } else {
            Decimal::ZERO
        };
        PhaseAmps::from_array(c.map(|v| v.unwrap_or(fill)))
    });
    if meter == Some(station) {
        if let Some(current_a) = currents {
            if state.grid.is_none_or(|g| g.at <= s.at) {
                state.grid = Some(GridReading {
                    at: s.at,
                    current_a,
                });
            }
        }
        return;
    }
    let Some(evse) = s.evse_id.filter(|e| *e > 0) else {
        return;
    };
    // An EVSE not seen yet is added; the recomputation drops it if it is
    // not in the configuration.
    let es = state.evse_mut(station, evse);
    if let Some(current_a) = currents {
        if es.measured.is_none_or(|m| m.at <= s.at) {
            es.measured = Some(Measured {
                at: s.at,
                current_a,
            });
        }
    }
    if let Some(watts) = s.power_w {
        if es.measured_power.is_none_or(|m| m.at <= s.at) {
            es.measured_power = Some(MeasuredPower { at: s.at, watts });
        }
    }
    es.soc = s.soc.or(es.soc);
    if let Some(need) = &s.need {
        let mut need = need.clone();
        // Bound to the transaction running now; a car that speaks before
        // its transaction is seen is bound by the recomputation that sees it.
        need.transaction_id = need.transaction_id.or_else(|| es.transaction_id.clone());
        if es.need.as_ref().is_none_or(|n| n.set_at <= need.set_at) {
            es.need = Some(need);
        }
    }
}
