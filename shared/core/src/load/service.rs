//! The load-balancing use cases: configure a site, take in measurements,
//! recompute, and tell the chargers.
//!
//! A recomputation reads the truth from the store (which stations are
//! connected, which sessions run on which EVSE), keeps in the site's state
//! only what the store does not have (measured currents, the grid meter,
//! what each charger was told), runs the engine and sends what changed.
//!
//! The invariant: at every instant, the sum of what every charger *may*
//! draw — what its profiles allow, not what it was allocated — stays within
//! every fuse and the power cap, while cars start and stop, stations go
//! offline and come back, and profiles are in flight or refused. Four
//! rules keep it:
//! - **Idle EVSEs hold only what the running cars leave.** An EVSE without
//!   a transaction gets a TxDefaultProfile of its share of the spare room
//!   (0 when there is none); an EVSE with one gets a TxProfile of its
//!   allocation, then TxDefaultProfile 0. A car that starts takes at once only the
//!   spare room its EVSE holds; otherwise it waits (0 A) until the others
//!   are lowered and its TxProfile arrives, one round trip later — unless
//!   its charger said it was plugged in before it started: then it is
//!   counted in at once and its EVSE's default raised to its share (but
//!   never by pausing a car whose transaction runs). A
//!   running transaction keeps its default until its TxProfile is in
//!   force (lowering it first would pause the car).
//! - **Decreases first.** Lower limits are sent, and their answers awaited,
//!   before any limit goes up.
//! - **Every raise passes the fuse check.** With every EVSE at what its
//!   charger may draw now ([`envelope`]: a limit in flight, refused or
//!   unanswered at the higher of old and new), a raise is sent only if it
//!   adds no excess over any bound; otherwise it waits for the next round.
//! - **Who cannot be told is held.** An offline station, or a charger that
//!   did not take its last limit (until it is tried again), is reserved at
//!   what it may draw before anybody else is served.

use super::model::{self, amps, evse_key, phase_amps, phases_of};
use super::plan::{self, Held, Wanted};
use super::LoadSignal;
use crate::commands::service::CommandsStore;
use crate::commands::service::{CommandError, CommandService, SubmitOptions};
use crate::ports::{
    Clock, LoadStore, PageRequest, SessionQuery, SessionStore, SpotPriceStore, StationStore,
    StoreError, TokenStore,
};
use csms_domain::command::{
    ChargingProfile, CommandId, CommandRequest, CommandStatus, ProfileKind, ProfilePurpose,
    RateUnit, SchedulePeriod, LOAD_PROFILE_IDS,
};
use csms_domain::load::{
    Allocated, ChargingNeed, EvseLoadState, GridReading, HeldLimit, LoadConfig, LoadEvse, LoadSite,
    LoadState, Measured, NeedSource, PhaseAmps, RecomputeLease, SentLimit, SentStatus,
    StationLoadState,
};
use csms_domain::session::{Session, SessionStatus};
use csms_domain::spot::BiddingZone;
use csms_domain::station::StationView;
use csms_domain::{IdTokenValue, OrgId, SiteId, StationId, Timestamp};
use csms_energy::{
    allocate_with_reserved, ChargeState, Conditions, Current, Phase, PhaseCurrents, Phases,
    Priority, PvDecision, PvSettings, PvState, Reserved, SessionInput, Site,
};
use futures::StreamExt;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

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

/// Stack level of the balancer's profiles: above an operator's usual 0,
/// below the pause (90), so a paused car stays paused.
pub const LOAD_STACK_LEVEL: u32 = 50;
/// A measured current older than this is not used.
const MEASURED_MAX_AGE_S: i64 = 300;
/// A refused profile is tried again after this long, not at every signal.
const RETRY_AFTER_S: i64 = 60;
/// How many sites one batch of signals or one sweep recomputes at once.
const SITES_AT_ONCE: usize = 8;
/// A car's need that no transaction has claimed is forgotten after this.
const UNBOUND_NEED_MAX_AGE_S: i64 = 600;
/// A car plugged in (1.6 `Preparing`, 2.0.1 `Occupied`) without a
/// transaction is given its share ahead of its start for this long; one
/// that waits longer for its driver waits like a new car.
const PLUGGED_MAX_AGE_S: i64 = 300;

/// The profile id of an EVSE's TxDefaultProfile or TxProfile.
pub fn profile_id(purpose: ProfilePurpose, evse_id: u32) -> i32 {
    let evse = i32::try_from(evse_id.min(9_999)).unwrap_or(9_999);
    match purpose {
        ProfilePurpose::TxProfile => LOAD_PROFILE_IDS.start + 10_000 + evse,
        ProfilePurpose::StationMax => LOAD_PROFILE_IDS.start + 20_000,
        ProfilePurpose::TxDefault => LOAD_PROFILE_IDS.start + evse,
    }
}

fn engine_time(t: Timestamp) -> csms_energy::Timestamp {
    csms_energy::Timestamp(t.timestamp())
}

crate::store_ports! {
    /// The store ports load balancing uses: its sites and their states, the
    /// stations on a site, their running sessions and the drivers' id tokens
    /// (priority groups), spot prices for the plans — and the command
    /// service's, which sends the charging profiles over the same store.
    pub trait LoadServiceStore:
        LoadStore, StationStore, SessionStore, TokenStore, SpotPriceStore, CommandsStore
}

pub struct LoadService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    commands: CommandService<S>,
    /// How long a recomputation waits for decreases to be accepted.
    confirm_wait: Duration,
}

impl<S: ?Sized> Clone for LoadService<S> {
    fn clone(&self) -> Self {
        LoadService {
            store: self.store.clone(),
            clock: self.clock.clone(),
            commands: self.commands.clone(),
            confirm_wait: self.confirm_wait,
        }
    }
}

/// One EVSE of the site as the store sees it right now.
struct Live {
    /// The live connection's OCPP version; `None` while offline.
    version: Option<csms_domain::OcppVersion>,
    /// Running transaction and when it started.
    transaction: Option<(String, Timestamp)>,
    /// A car is plugged in without a transaction yet, since when.
    plugged: Option<Timestamp>,
    /// When the station last booted: profiles sent before may be gone.
    booted_at: Option<Timestamp>,
    /// Energy the running transaction has charged so far, in Wh.
    energy_wh: Option<Decimal>,
    /// The session's priority: its EVSE's, raised by its driver's (or
    /// vehicle's) identifier group.
    priority: u8,
}

impl Live {
    fn connected(&self) -> bool {
        self.version.is_some()
    }
}

/// A limit to send.
struct Send {
    station: StationId,
    evse_id: u32,
    purpose: ProfilePurpose,
    transaction_id: Option<String>,
    limit: Current,
    phases: Phases,
    decrease: bool,
    /// What the charger held before, for [`SentLimit::before`].
    before: Option<HeldLimit>,
}

impl<S: LoadServiceStore + ?Sized> LoadService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, commands: CommandService<S>) -> Self {
        LoadService {
            store,
            clock,
            commands,
            confirm_wait: Duration::from_secs(10),
        }
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
        let existing = self.store.get_load_site(site_id).await?;
        if existing.as_ref().is_some_and(|s| &s.org_id != org) {
            return Err(LoadError::Invalid(format!(
                "site {site_id} belongs to another organisation"
            )));
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
                .submit(station, req, SubmitOptions::default())
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

    async fn recompute_leased(
        &self,
        config: LoadSite,
        mut state: LoadState,
        holder: &str,
    ) -> Result<LoadState, LoadError> {
        let now = self.clock.now();
        let expected = state.version;
        // Every save of this run gives the lease back.
        state.lease = None;
        state.warnings.clear();
        state.computed_at = Some(now);
        state.config_version = config.version;

        let site = match model::site(&config.config) {
            Ok(s) => s,
            Err(e) => {
                state.warnings.push(format!("configuration unusable: {e}"));
                return self.save(state, expected, holder).await;
            }
        };
        let live = self.live(&config).await?;
        // Forget EVSEs that left the configuration.
        state.evses.retain(|e| {
            config
                .config
                .evses
                .iter()
                .any(|c| c.station_id == e.station_id && c.evse_id == e.evse_id)
        });
        self.settle_sent(&mut state).await?;
        forget_before_boot(&mut state, &live);

        let cfg = &config.config;
        // PV surplus, shared equally by the PV cars charging now.
        let pv_cars = cfg
            .evses
            .iter()
            .filter(|c| {
                let l = &live[&(c.station_id.clone(), c.evse_id)];
                c.pv_surplus && l.connected() && l.transaction.is_some()
            })
            .count();
        let pv_share = match (pv_cars, pv_surplus_w(cfg, &state, now)) {
            (0, _) => None,
            (n, Some(w)) => Some(w / n as i64),
            (_, None) => {
                state
                    .warnings
                    .push("no fresh grid meter reading: cars on PV surplus are paused".into());
                None
            }
        };
        let mut inputs = Vec::new();
        // Cars plugged in before their transaction: (since, EVSE).
        let mut plugged = Vec::new();
        let mut reserved = Vec::new();
        for c in &cfg.evses {
            let key = evse_key(&c.station_id, c.evse_id);
            let l = &live[&(c.station_id.clone(), c.evse_id)];
            let es = state.evse_mut(&c.station_id, c.evse_id);
            // Follow the store: a new transaction starts paused (it waits
            // for its turn like everybody else), an ended one is forgotten.
            match &l.transaction {
                Some((tx, started)) if es.transaction_id.as_ref() != Some(tx) => {
                    es.transaction_id = Some(tx.clone());
                    es.charge = Some(ChargeState::Paused(engine_time(*started.min(&now))));
                    es.profile = None;
                    es.allocation = None;
                    es.measured = None;
                    es.soc = None;
                    es.pv = None;
                    // A need given for this transaction, or by the car
                    // before the transaction was seen, stays.
                    if es
                        .need
                        .as_ref()
                        .is_some_and(|n| n.transaction_id.as_ref().is_some_and(|t| t != tx))
                    {
                        es.need = None;
                    }
                }
                Some(_) => {}
                None => {
                    es.transaction_id = None;
                    es.charge = None;
                    es.profile = None;
                    es.allocation = None;
                    es.measured = None;
                    es.soc = None;
                    es.pv = None;
                    // A car may tell its need just before its transaction
                    // starts; anything else ended with its session.
                    if es.need.as_ref().is_some_and(|n| {
                        n.transaction_id.is_some()
                            || (now - n.set_at).num_seconds() > UNBOUND_NEED_MAX_AGE_S
                    }) {
                        es.need = None;
                    }
                }
            }
            if let (Some(tx), Some(need)) = (&es.transaction_id, es.need.as_mut()) {
                need.transaction_id.get_or_insert_with(|| tx.clone());
                if need.base_wh.is_none() {
                    need.base_wh = Some(l.energy_wh.unwrap_or_default());
                }
            }
            // What it may draw now, from what its charger holds.
            let held = envelope(Some(es), c);
            // A charger that cannot be told anything — offline, or it did
            // not take its last limit and it is not yet time to try again —
            // is held at that, before anybody else is served.
            let stuck = if es.transaction_id.is_some() {
                es.profile.as_ref().or(es.default_profile.as_ref())
            } else {
                es.default_profile.as_ref()
            }
            .is_some_and(|s| {
                s.status == SentStatus::Failed && (now - s.sent_at).num_seconds() < RETRY_AFTER_S
            });
            if !l.connected() || stuck {
                reserved.push(Reserved {
                    evse: site_evse(&key),
                    current: model::load(held.limit_a),
                    phases: phases_of(held.phases),
                });
                if es.transaction_id.is_some() {
                    let why = if l.connected() {
                        "its charger did not take its last limit: held at"
                    } else {
                        "station offline: held at"
                    };
                    es.allocation = Some(Allocated {
                        current_a: held.limit_a,
                        phases: held.phases,
                        reason: csms_energy::Reason::EvseMax,
                        explanation: format!(
                            "{why} {} A, the most it may draw under what it was last given",
                            held.limit_a
                        ),
                    });
                }
                continue;
            }
            if let (None, Some(since)) = (&es.transaction_id, l.plugged) {
                // Its share is made room for now and held as its default,
                // so that the car charges the moment it starts.
                plugged.push((since, site_evse(&key)));
                inputs.push(SessionInput {
                    evse: site_evse(&key),
                    car_phases: None,
                    priority: Priority(c.priority),
                    state: ChargeState::Paused(engine_time(since)),
                    measured: None,
                    pv: None,
                    plan: None,
                });
                continue;
            }
            if es.transaction_id.is_some() {
                let fresh = es
                    .measured
                    .filter(|m| (now - m.at).num_seconds() <= MEASURED_MAX_AGE_S);
                let pv = c.pv_surplus.then(|| {
                    let settings = PvSettings {
                        min_current: model::load(c.min_a),
                        max_current: model::load(c.max_a),
                        voltage: cfg.voltage,
                        hysteresis_w: cfg.pv.hysteresis_w,
                        min_switch_secs: cfg.pv.min_switch_seconds,
                        can_switch: c.phase_switching,
                    };
                    let pv_state = es.pv.get_or_insert(PvState::new(phases_of(c.phases)));
                    match pv_share {
                        Some(w) => pv_state.decide(&settings, w, engine_time(now)),
                        None => PvDecision {
                            phases: pv_state.phases,
                            max_current: Current::ZERO,
                        },
                    }
                });
                inputs.push(SessionInput {
                    evse: site_evse(&key),
                    car_phases: None,
                    priority: Priority(l.priority),
                    state: es.charge.unwrap_or(ChargeState::Paused(engine_time(now))),
                    measured: fresh.map(|m| model::phase_loads(&m.current_a)),
                    pv,
                    plan: None,
                });
            }
        }

        let building: Option<PhaseCurrents> = match cfg.mode {
            csms_domain::load::LoadMode::Static => None,
            _ => Some(self.building_load(&site, cfg, &mut state, now)),
        };
        state.building_load_a = building.map(phase_amps);
        let cond = Conditions {
            building_load: building,
            now: engine_time(now),
        };
        let mut allocations =
            match allocate_admitting_plugged(&site, &mut inputs, plugged, &cond, &reserved) {
                Ok(a) => a,
                Err(e) => {
                    state.warnings.push(format!("allocation failed: {e}"));
                    return self.save(state, expected, holder).await;
                }
            };
        // Cars with a need and a departure: planned into the cheapest slots
        // of what the others leave, then capped at their plan for now.
        let wanted = wanted_sessions(cfg, &state, &live, now);
        if wanted.is_empty() {
            state.plan = None;
        } else {
            let reuse = state
                .plan
                .as_ref()
                .is_some_and(|p| plan::still_good(p, config.version, now, &wanted));
            if !reuse {
                let held = held_loads(&inputs, &allocations, &reserved, &wanted);
                match self
                    .make_plan(&site, &config, &wanted, held, building, now)
                    .await
                {
                    Ok(p) => state.plan = Some(p),
                    Err(m) => {
                        state.warnings.push(format!(
                            "{}: {m}; cars with a need charge at once",
                            plan::NO_PLAN_WARNING
                        ));
                        state.plan = None;
                    }
                }
            }
            if let Some(p) = &state.plan {
                for input in &mut inputs {
                    let Some((station, evse_id)) = model::parse_evse_key(input.evse.as_str())
                    else {
                        continue;
                    };
                    let Some(tx) = state
                        .evse(&station, evse_id)
                        .and_then(|e| e.transaction_id.clone())
                    else {
                        continue;
                    };
                    input.plan = plan::current_now(p, &station, evse_id, &tx, now);
                }
                allocations = match allocate_with_reserved(&site, &inputs, &cond, &reserved) {
                    Ok(a) => a,
                    Err(e) => {
                        state.warnings.push(format!("allocation failed: {e}"));
                        return self.save(state, expected, holder).await;
                    }
                };
            }
        }

        // Idle EVSEs: a TxDefaultProfile of what the running cars leave,
        // so that a car that starts there stays within the fuse before the
        // balancer has heard of it. EVSEs with a transaction get 0: their
        // TxProfile governs it, and a next transaction starts from nothing.
        let defaults =
            match idle_defaults(&site, cfg, &state, &live, &reserved, &allocations, &cond) {
                Ok(d) => d,
                Err(e) => {
                    state.warnings.push(format!("allocation failed: {e}"));
                    return self.save(state, expected, holder).await;
                }
            };

        // What to send.
        let mut sends = Vec::new();
        // The default each EVSE without a transaction is to hold.
        let mut idle_targets: HashMap<String, Current> = HashMap::new();
        for c in &cfg.evses {
            let l = &live[&(c.station_id.clone(), c.evse_id)];
            if !l.connected() {
                continue;
            }
            let key = evse_key(&c.station_id, c.evse_id);
            let es = state.evse_mut(&c.station_id, c.evse_id);
            let wiring = wiring(c);
            let held_default = es.default_profile.as_ref().map(|s| s.held(wiring));
            let tx_in_force = tx_in_force(es);
            let default = match (
                &es.transaction_id,
                allocations.iter().find(|a| a.evse.as_str() == key),
            ) {
                // A transaction runs on its default until its TxProfile is
                // in force (lowering it first would pause the car); then 0.
                (Some(_), _) if !tx_in_force => in_force(&es.default_profile),
                (Some(_), _) => Some(Current::ZERO),
                // A plugged-in car: its share, ready for its start.
                (None, Some(a)) => Some(a.current),
                (None, None) => Some(defaults.get(&key).copied().unwrap_or(Current::ZERO)),
            };
            if let (None, Some(d)) = (&es.transaction_id, default) {
                idle_targets.insert(key.clone(), d);
            }
            if let Some(default) = default
                .filter(|&d| needs_send(&es.default_profile, d, phases_of(c.phases), None, now))
            {
                sends.push(Send {
                    station: c.station_id.clone(),
                    evse_id: c.evse_id,
                    purpose: ProfilePurpose::TxDefault,
                    transaction_id: None,
                    limit: default,
                    phases: phases_of(c.phases),
                    decrease: amps(default) < held_default.unwrap_or(wiring).limit_a,
                    before: held_default,
                });
            }
            let Some(tx) = es.transaction_id.clone() else {
                continue;
            };
            let Some(a) = allocations.iter().find(|a| a.evse.as_str() == key) else {
                continue;
            };
            let prev = es.charge;
            es.charge = Some(match (a.is_paused(), prev) {
                (false, Some(ChargeState::Running(t))) => ChargeState::Running(t),
                (false, _) => ChargeState::Running(engine_time(now)),
                (true, Some(ChargeState::Paused(t))) => ChargeState::Paused(t),
                (true, _) => ChargeState::Paused(engine_time(now)),
            });
            es.allocation = Some(Allocated {
                current_a: amps(a.current),
                phases: model::phase_count(a.phases),
                reason: a.reason.clone(),
                explanation: a.reason.to_string(),
            });
            // Until its TxProfile is in force, the transaction runs on the default.
            let held_tx = match &es.profile {
                Some(p) => p.held(held_default.unwrap_or(wiring)),
                None => held_default.unwrap_or(wiring),
            };
            if needs_send(&es.profile, a.current, a.phases, Some(&tx), now) {
                sends.push(Send {
                    station: c.station_id.clone(),
                    evse_id: c.evse_id,
                    purpose: ProfilePurpose::TxProfile,
                    transaction_id: Some(tx),
                    limit: a.current,
                    phases: a.phases,
                    decrease: amps(a.current) < held_tx.limit_a,
                    before: Some(held_tx),
                });
            }
        }

        // Each station's own limit: the sum of its EVSEs' limits, so that a
        // profile set by someone else on an EVSE cannot lift the station
        // above its share.
        state
            .stations
            .retain(|st| cfg.evses.iter().any(|c| c.station_id == st.station_id));
        let mut seen_stations = HashSet::new();
        for c in &cfg.evses {
            if !seen_stations.insert(c.station_id.clone()) {
                continue;
            }
            let ours: Vec<_> = cfg
                .evses
                .iter()
                .filter(|e| e.station_id == c.station_id)
                .collect();
            if !live[&(c.station_id.clone(), c.evse_id)].connected() {
                continue;
            }
            let mut total = 0u32;
            for e in &ours {
                let key = evse_key(&e.station_id, e.evse_id);
                let es = state.evse(&e.station_id, e.evse_id);
                let limit =
                    match es.and_then(|x| x.transaction_id.as_ref().and(x.allocation.as_ref())) {
                        Some(a) => model::load(a.current_a),
                        None => idle_targets.get(&key).copied().unwrap_or(Current::ZERO),
                    };
                total += limit.deciamps();
            }
            let limit = Current::from_deciamps(total);
            let phases = if ours.iter().any(|e| e.phases == 3) {
                Phases::Three
            } else {
                Phases::One
            };
            let sent = state
                .stations
                .iter()
                .find(|st| st.station_id == c.station_id)
                .map(|st| st.max_profile.clone());
            if needs_send(&sent, limit, phases, None, now) {
                sends.push(Send {
                    station: c.station_id.clone(),
                    evse_id: 0,
                    purpose: ProfilePurpose::StationMax,
                    transaction_id: None,
                    limit,
                    phases,
                    decrease: in_force(&sent).is_some_and(|b| limit < b),
                    // Counted as a cap only once accepted ([`station_cap`]).
                    before: None,
                });
            }
        }

        // Decreases first, and their answers awaited. Then each increase
        // only if, with every EVSE at what its charger may draw now (a
        // limit still in flight counted at the higher of old and new), it
        // adds no excess over any fuse or the cap. A station's own limit
        // rises before its EVSEs' do.
        let (decreases, mut increases): (Vec<Send>, Vec<Send>) =
            sends.into_iter().partition(|s| s.decrease);
        increases.sort_by_key(|s| s.purpose != ProfilePurpose::StationMax);
        let mut pending = Vec::new();
        for s in &decreases {
            let id = self.send(&mut state, s, &live, now).await?;
            pending.push(id);
        }
        for id in pending.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait).await?;
        }
        self.settle_sent(&mut state).await?;
        let mut raised = Vec::new();
        let mut held_back = Vec::new();
        for s in &increases {
            let loads = held_loads_now(cfg, &state);
            let over = if s.purpose == ProfilePurpose::StationMax {
                // A station's limit may be all that holds an EVSE whose
                // charger refused its own limits: raised only if that adds
                // no excess either.
                raise_exceeds(&site, &cond, loads, |loads| {
                    for c in cfg.evses.iter().filter(|c| c.station_id == s.station) {
                        let key = site_evse(&evse_key(&c.station_id, c.evse_id));
                        let h = envelope(state.evse(&c.station_id, c.evse_id), c);
                        for r in loads.iter_mut().filter(|r| r.evse == key) {
                            r.current = model::load(h.limit_a.min(amps(s.limit)));
                        }
                    }
                })
                .map(|over| {
                    format!(
                        "station {} waits for its station limit of {} A: with what its EVSEs may draw it would exceed the {over}",
                        s.station,
                        amps(s.limit)
                    )
                })
            } else {
                let Some(c) = cfg
                    .evses
                    .iter()
                    .find(|c| c.station_id == s.station && c.evse_id == s.evse_id)
                else {
                    continue;
                };
                let key = site_evse(&evse_key(&s.station, s.evse_id));
                let raised = envelope(state.evse(&s.station, s.evse_id), c).max(HeldLimit {
                    limit_a: amps(s.limit),
                    phases: model::phase_count(s.phases),
                });
                raise_exceeds(&site, &cond, loads, |loads| {
                    for r in loads.iter_mut().filter(|r| r.evse == key) {
                        r.current = model::load(raised.limit_a);
                        r.phases = phases_of(raised.phases);
                    }
                })
                .map(|over| {
                    format!(
                        "station {} EVSE {} waits for {} A: until the lower limits of others are in force it would exceed the {over}",
                        s.station, s.evse_id, amps(s.limit)
                    )
                })
            };
            if let Some(why) = over {
                held_back.push(why);
                continue;
            }
            raised.push(self.send(&mut state, s, &live, now).await?);
        }
        // Waited for too, so that what the API shows is what the chargers
        // hold, not what they were asked.
        for id in raised.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait).await?;
        }
        self.settle_sent(&mut state).await?;
        // A TxProfile now in force: its transaction's default goes to 0.
        let mut lowered = Vec::new();
        for c in &cfg.evses {
            if !live[&(c.station_id.clone(), c.evse_id)].connected() {
                continue;
            }
            let Some(es) = state.evse(&c.station_id, c.evse_id) else {
                continue;
            };
            if tx_in_force(es)
                && needs_send(
                    &es.default_profile,
                    Current::ZERO,
                    phases_of(c.phases),
                    None,
                    now,
                )
            {
                let before = es.default_profile.as_ref().map(|s| s.held(wiring(c)));
                let s = Send {
                    station: c.station_id.clone(),
                    evse_id: c.evse_id,
                    purpose: ProfilePurpose::TxDefault,
                    transaction_id: None,
                    limit: Current::ZERO,
                    phases: phases_of(c.phases),
                    decrease: true,
                    before,
                };
                lowered.push(self.send(&mut state, &s, &live, now).await?);
            }
        }
        // Nothing waits on these: a short wait keeps a synchronous API call
        // (29 s behind API Gateway) within bounds; the rest settles next round.
        for id in lowered.into_iter().flatten() {
            self.commands.wait(&id, self.confirm_wait / 5).await?;
        }
        self.settle_sent(&mut state).await?;
        if !held_back.is_empty() {
            state.warnings.extend(held_back);
            state.requested_at = Some(now);
        }
        for es in &state.evses {
            for s in [&es.profile, &es.default_profile].into_iter().flatten() {
                if s.status == SentStatus::Failed {
                    state.warnings.push(format!(
                        "station {} EVSE {} did not accept its limit of {} A",
                        es.station_id, es.evse_id, s.limit_a
                    ));
                }
            }
        }
        for st in &state.stations {
            if st.max_profile.status == SentStatus::Failed {
                state.warnings.push(format!(
                    "station {} did not accept its station limit of {} A",
                    st.station_id, st.max_profile.limit_a
                ));
            }
        }
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
    async fn live(&self, site: &LoadSite) -> Result<HashMap<(StationId, u32), Live>, LoadError> {
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
                        Ok(t) => self.store.get_id_token(&t).await?.and_then(|r| r.group),
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
                    Live {
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
    async fn settle_sent(&self, state: &mut LoadState) -> Result<(), LoadError> {
        let evse_sent = state.evses.iter_mut().flat_map(|es| {
            [&mut es.profile, &mut es.default_profile]
                .into_iter()
                .flatten()
        });
        let station_sent = state.stations.iter_mut().map(|s| &mut s.max_profile);
        for sent in evse_sent.chain(station_sent) {
            if sent.status != SentStatus::Pending {
                continue;
            }
            let Some(id) = CommandId::parse(&sent.command_id) else {
                sent.status = SentStatus::Failed;
                continue;
            };
            match self.commands.get(&id).await?.map(|c| c.status) {
                Some(CommandStatus::Pending) => {}
                Some(CommandStatus::Accepted) => sent.status = SentStatus::Accepted,
                _ => sent.status = SentStatus::Failed,
            }
        }
        Ok(())
    }

    /// The building's own load per grid phase: grid meter minus the
    /// chargers' measured draw. Without a fresh reading, the chargers get
    /// the configured fallback and nothing more.
    fn building_load(
        &self,
        site: &Site,
        cfg: &LoadConfig,
        state: &mut LoadState,
        now: Timestamp,
    ) -> PhaseCurrents {
        let Some(meter) = cfg.meter.as_ref() else {
            // A dedicated EV supply: the fuse is the chargers' alone.
            return PhaseCurrents::default();
        };
        let meter = Some(meter);
        let stale_after = meter.map_or(120, |m| i64::from(m.stale_after_seconds));
        let grid = model::phase_limits("grid", &cfg.grid_fuse_a).unwrap_or_default();
        match state
            .grid
            .filter(|g| (now - g.at).num_seconds() <= stale_after)
        {
            Some(reading) => {
                let total = model::phase_loads(&reading.current_a);
                let mut ev = [0u32; 3];
                for es in &state.evses {
                    let Some(m) = es
                        .measured
                        .filter(|m| (now - m.at).num_seconds() <= stale_after)
                    else {
                        continue;
                    };
                    let key = evse_key(&es.station_id, es.evse_id);
                    let Some(c) = site.evse(&site_evse(&key)) else {
                        continue;
                    };
                    let drawn = model::phase_loads(&m.current_a);
                    for p in Phase::ALL {
                        // Only what is surely drawn is subtracted: cut down.
                        let d = drawn.get(p).deciamps().saturating_sub(1);
                        ev[c.rotation.grid_phase(p).index()] += d;
                    }
                }
                PhaseCurrents(Phase::ALL.map(|p| {
                    Current::from_deciamps(total.get(p).deciamps().saturating_sub(ev[p.index()]))
                }))
            }
            None => {
                let fallback = meter.map_or(Current::ZERO, |m| model::load(m.fallback_a));
                let margin = model::load(cfg.margin_a);
                state.warnings.push(match state.grid {
                    Some(g) => format!(
                        "grid meter reading from {} is stale: the chargers share the fallback of {} A per phase",
                        g.at.to_rfc3339(),
                        amps(fallback)
                    ),
                    None => format!(
                        "no grid meter reading yet: the chargers share the fallback of {} A per phase",
                        amps(fallback)
                    ),
                });
                PhaseCurrents(grid.0.map(|g| {
                    Current::from_deciamps(
                        g.deciamps()
                            .saturating_sub(margin.deciamps())
                            .saturating_sub(fallback.deciamps()),
                    )
                }))
            }
        }
    }

    /// Plans the wanted sessions against the spot prices of the site's
    /// bidding zone, as far ahead as their departures and the prices reach.
    async fn make_plan(
        &self,
        site: &Site,
        config: &LoadSite,
        wanted: &[Wanted],
        held: Vec<Held>,
        building: Option<PhaseCurrents>,
        now: Timestamp,
    ) -> Result<csms_domain::load::SitePlan, String> {
        let zone = config
            .config
            .bidding_zone
            .as_deref()
            .ok_or("the site has no biddingZone for spot prices")?;
        let zone = BiddingZone::parse(zone).map_err(|e| format!("biddingZone: {e}"))?;
        let start = plan::slot_start(now);
        let last = wanted
            .iter()
            .map(|w| w.departure_at)
            .max()
            .unwrap_or(now)
            .min(start + chrono::TimeDelta::seconds(plan::MAX_HORIZON_SLOTS as i64 * 900));
        let slots = usize::try_from(((last - start).num_seconds() + 899) / 900)
            .unwrap_or(1)
            .clamp(1, plan::MAX_HORIZON_SLOTS);
        let mut days = Vec::new();
        let mut date = zone.local_date(start);
        while date <= zone.local_date(last) {
            if let Some(d) = self
                .store
                .get_spot_day(zone, date)
                .await
                .map_err(|e| format!("spot prices: {e}"))?
            {
                days.push(d);
            }
            date = date.succ_opt().ok_or("date out of range")?;
        }
        let prices = plan::quarter_prices(zone, &days, start, slots);
        if prices.is_empty() {
            return Err(format!(
                "no {} spot prices for {}",
                zone.code(),
                zone.local_date(start)
            ));
        }
        let currency = days
            .first()
            .map_or_else(|| zone.currency().to_owned(), |d| d.currency.clone());
        plan::make(plan::PlanInput {
            site,
            zone,
            currency,
            start,
            now,
            prices,
            wanted,
            held,
            building,
            config_version: config.version,
        })
    }

    /// Submits one limit and records it; returns the command to wait for.
    async fn send(
        &self,
        state: &mut LoadState,
        s: &Send,
        live: &HashMap<(StationId, u32), Live>,
        now: Timestamp,
    ) -> Result<Option<CommandId>, LoadError> {
        if !live
            .iter()
            .any(|((station, _), l)| station == &s.station && l.connected())
        {
            return Ok(None);
        }
        let limit_a = amps(s.limit);
        let profile = ChargingProfile {
            id: profile_id(s.purpose, s.evse_id),
            stack_level: LOAD_STACK_LEVEL,
            purpose: s.purpose,
            // A station's limit has no transaction to be relative to: it
            // holds from now on.
            kind: match s.purpose {
                ProfilePurpose::StationMax => ProfileKind::Absolute,
                _ => ProfileKind::Relative,
            },
            recurrency: None,
            valid_from: None,
            valid_to: None,
            transaction_id: s.transaction_id.clone(),
            start_schedule: (s.purpose == ProfilePurpose::StationMax).then_some(now),
            duration_s: None,
            rate_unit: RateUnit::A,
            periods: vec![SchedulePeriod {
                start_period_s: 0,
                limit: limit_a,
                number_phases: Some(model::phase_count(s.phases)),
            }],
            min_charging_rate: None,
        };
        let req = CommandRequest::LoadLimit {
            evse_id: s.evse_id,
            profile,
        };
        let (command_id, status) = match self
            .commands
            .submit(&s.station, req, SubmitOptions::default())
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
        let sent = SentLimit {
            limit_a,
            phases: model::phase_count(s.phases),
            transaction_id: s.transaction_id.clone(),
            command_id: command_id.clone(),
            status,
            sent_at: now,
            before: s.before,
        };
        match s.purpose {
            ProfilePurpose::TxProfile => state.evse_mut(&s.station, s.evse_id).profile = Some(sent),
            ProfilePurpose::TxDefault => {
                state.evse_mut(&s.station, s.evse_id).default_profile = Some(sent)
            }
            ProfilePurpose::StationMax => {
                match state
                    .stations
                    .iter_mut()
                    .find(|st| st.station_id == s.station)
                {
                    Some(st) => st.max_profile = sent,
                    None => state.stations.push(StationLoadState {
                        station_id: s.station.clone(),
                        max_profile: sent,
                    }),
                }
            }
        }
        Ok((status == SentStatus::Pending)
            .then(|| CommandId::parse(&command_id))
            .flatten())
    }
}

/// The limit a charger holds from `sent`: anything not refused (a pending
/// limit may already be in force, so it counts as held).
fn in_force(sent: &Option<SentLimit>) -> Option<Current> {
    sent.as_ref()
        .filter(|s| s.status != SentStatus::Failed)
        .map(|s| model::load(s.limit_a))
}

/// Whether `sent` differs from what should be in force (or failed long enough ago).
fn needs_send(
    sent: &Option<SentLimit>,
    limit: Current,
    phases: Phases,
    tx: Option<&String>,
    now: Timestamp,
) -> bool {
    match sent {
        None => true,
        Some(s) => {
            s.limit_a != amps(limit)
                || s.phases != model::phase_count(phases)
                || s.transaction_id.as_ref() != tx
                || (s.status == SentStatus::Failed
                    && (now - s.sent_at).num_seconds() >= RETRY_AFTER_S)
        }
    }
}

fn site_evse(key: &str) -> csms_energy::EvseId {
    // Every key comes from the configuration the site was built from, whose
    // ids were checked by `model::site`.
    csms_energy::EvseId::parse(key).expect("EVSE id of the configuration")
}

/// What an EVSE may draw now, from what its charger holds: the TxProfile
/// of its running transaction (while it is not in force, the default the
/// transaction started on), and always at least its TxDefaultProfile — a
/// car may end and another start before the balancer hears of it. A limit
/// in flight, refused or unanswered counts at the higher of old and new;
/// nothing ever sent, at the EVSE's maximum.
fn envelope(es: Option<&EvseLoadState>, c: &LoadEvse) -> HeldLimit {
    let wiring = wiring(c);
    let Some(es) = es else {
        return wiring;
    };
    let default = es
        .default_profile
        .as_ref()
        .map_or(wiring, |s| s.held(wiring));
    match (&es.transaction_id, &es.profile) {
        (Some(_), Some(tx)) => tx.held(default).max(default),
        _ => default,
    }
}

/// A station that booted since it was sent a limit may have lost it (not
/// every charger keeps profiles over a restart): such a limit is forgotten,
/// so the EVSE counts at its maximum until it is sent again and accepted.
fn forget_before_boot(state: &mut LoadState, live: &HashMap<(StationId, u32), Live>) {
    let boot = |station: &StationId| {
        live.iter()
            .find(|((s, _), _)| s == station)
            .and_then(|(_, l)| l.booted_at)
    };
    for es in &mut state.evses {
        let Some(b) = boot(&es.station_id) else {
            continue;
        };
        for slot in [&mut es.profile, &mut es.default_profile] {
            if slot.as_ref().is_some_and(|s| s.sent_at < b) {
                *slot = None;
            }
        }
    }
    state
        .stations
        .retain(|st| boot(&st.station_id).is_none_or(|b| st.max_profile.sent_at >= b));
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

/// What an EVSE may draw when its charger was told nothing: its maximum.
fn wiring(c: &LoadEvse) -> HeldLimit {
    HeldLimit {
        limit_a: c.max_a,
        phases: c.phases,
    }
}

/// Whether the TxProfile of the EVSE's running transaction was accepted.
fn tx_in_force(es: &EvseLoadState) -> bool {
    es.transaction_id.is_some()
        && es.profile.as_ref().is_some_and(|p| {
            p.status == SentStatus::Accepted && p.transaction_id == es.transaction_id
        })
}

/// The station's own limit, where it is known to be in force (accepted): it
/// caps each of the station's EVSEs. One in flight or refused caps nothing
/// (the charger may hold an older, higher one, or none).
fn station_cap(state: &LoadState, station: &StationId) -> Option<Decimal> {
    state
        .stations
        .iter()
        .find(|s| &s.station_id == station)
        .map(|s| &s.max_profile)
        .filter(|p| p.status == SentStatus::Accepted)
        .map(|p| p.limit_a)
}

/// Every EVSE of the site at what its charger may draw now ([`envelope`]),
/// each capped by its station's own limit in force.
fn held_loads_now(cfg: &LoadConfig, state: &LoadState) -> Vec<Reserved> {
    cfg.evses
        .iter()
        .map(|c| {
            let mut h = envelope(state.evse(&c.station_id, c.evse_id), c);
            if let Some(cap) = station_cap(state, &c.station_id) {
                h.limit_a = h.limit_a.min(cap);
            }
            Reserved {
                evse: site_evse(&evse_key(&c.station_id, c.evse_id)),
                current: model::load(h.limit_a),
                phases: phases_of(h.phases),
            }
        })
        .collect()
}

/// The bound that `raise`, applied to `loads` (every EVSE at what its
/// charger may draw now), would push over or further over, if any.
fn raise_exceeds(
    site: &Site,
    cond: &Conditions,
    mut loads: Vec<Reserved>,
    raise: impl FnOnce(&mut [Reserved]),
) -> Option<String> {
    let before = csms_energy::excess(site, &loads, cond);
    raise(&mut loads);
    adds_excess(before, csms_energy::excess(site, &loads, cond))
}

/// The bound a raise would push over, or further over, if any. An engine
/// error (it cannot happen for loads built from the configuration) counts
/// as unsafe.
fn adds_excess(
    before: Result<Vec<(csms_energy::Limit, i64)>, csms_energy::AllocateError>,
    after: Result<Vec<(csms_energy::Limit, i64)>, csms_energy::AllocateError>,
) -> Option<String> {
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) => return Some(format!("site ({e})")),
    };
    after.into_iter().find_map(|(limit, over)| {
        let was = before
            .iter()
            .find(|(l, _)| *l == limit)
            .map_or(0, |(_, o)| *o);
        (over > was).then(|| limit.to_string())
    })
}

/// The allocation with the cars plugged in before their transaction counted
/// in — but never at the cost of a car whose transaction runs: where the
/// fuse cannot give everybody the minimum, a car that may not start for
/// minutes must not pause one that is charging (or has just started).
/// Plugged-in cars are left out, the most recent first, until no running
/// car is paused that would not be paused without them; a car left out
/// gets only its EVSE's share of what is left over (its default).
fn allocate_admitting_plugged(
    site: &Site,
    inputs: &mut Vec<SessionInput>,
    mut plugged: Vec<(Timestamp, csms_energy::EvseId)>,
    cond: &Conditions,
    reserved: &[Reserved],
) -> Result<Vec<csms_energy::EvseAllocation>, csms_energy::AllocateError> {
    let all = allocate_with_reserved(site, inputs, cond, reserved)?;
    if plugged.is_empty() {
        return Ok(all);
    }
    let is_plugged = |plugged: &[(Timestamp, csms_energy::EvseId)], e: &csms_energy::EvseId| {
        plugged.iter().any(|(_, p)| p == e)
    };
    let running: Vec<SessionInput> = inputs
        .iter()
        .filter(|i| !is_plugged(&plugged, &i.evse))
        .cloned()
        .collect();
    let paused_anyway: HashSet<csms_energy::EvseId> =
        allocate_with_reserved(site, &running, cond, reserved)?
            .into_iter()
            .filter(|a| a.is_paused())
            .map(|a| a.evse)
            .collect();
    // Earliest plugged in first: the last one is left out first.
    plugged.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.as_str().cmp(b.1.as_str())));
    let mut allocations = all;
    loop {
        let displaces = allocations.iter().any(|a| {
            a.is_paused() && !is_plugged(&plugged, &a.evse) && !paused_anyway.contains(&a.evse)
        });
        let Some((_, out)) = displaces.then(|| plugged.pop()).flatten() else {
            return Ok(allocations);
        };
        inputs.retain(|i| i.evse != out);
        allocations = allocate_with_reserved(site, inputs, cond, reserved)?;
    }
}

/// The TxDefaultProfile of each EVSE: for an idle EVSE on a connected
/// station, its share of what the running cars (`allocations`) and the
/// held EVSEs (`reserved`) leave, in whole amperes (fewer profiles while
/// the building's load moves), 0 below its minimum; 0 for every other.
fn idle_defaults(
    site: &Site,
    cfg: &LoadConfig,
    state: &LoadState,
    live: &HashMap<(StationId, u32), Live>,
    reserved: &[Reserved],
    allocations: &[csms_energy::EvseAllocation],
    cond: &Conditions,
) -> Result<HashMap<String, Current>, csms_energy::AllocateError> {
    let mut held: Vec<Reserved> = reserved.to_vec();
    held.extend(
        allocations
            .iter()
            .filter(|a| !a.is_paused())
            .map(|a| Reserved {
                evse: a.evse.clone(),
                current: a.current,
                phases: a.phases,
            }),
    );
    let idle: Vec<SessionInput> = cfg
        .evses
        .iter()
        .filter(|c| {
            let key = site_evse(&evse_key(&c.station_id, c.evse_id));
            live[&(c.station_id.clone(), c.evse_id)].connected()
                && state
                    .evse(&c.station_id, c.evse_id)
                    .is_none_or(|e| e.transaction_id.is_none())
                && !held.iter().any(|r| r.evse == key)
                && !allocations.iter().any(|a| a.evse == key)
        })
        .map(|c| SessionInput {
            evse: site_evse(&evse_key(&c.station_id, c.evse_id)),
            car_phases: None,
            priority: Priority(0),
            state: ChargeState::Paused(csms_energy::Timestamp(0)),
            measured: None,
            pv: None,
            plan: None,
        })
        .collect();
    let shares = allocate_with_reserved(site, &idle, cond, &held)?;
    Ok(shares
        .into_iter()
        .filter_map(|a| {
            let c = cfg
                .evses
                .iter()
                .find(|c| evse_key(&c.station_id, c.evse_id) == a.evse.as_str())?;
            let whole = Current::from_deciamps(a.current.deciamps() / 10 * 10);
            let share = if amps(whole) < c.min_a {
                Current::ZERO
            } else {
                whole
            };
            Some((a.evse.as_str().to_owned(), share))
        })
        .collect())
}

/// Watts of solar surplus for the PV cars: what the grid meter shows
/// exported, plus what the PV cars draw (they live on the surplus, so
/// their draw is surplus too). `None` without a fresh reading.
fn pv_surplus_w(cfg: &LoadConfig, state: &LoadState, now: Timestamp) -> Option<i64> {
    let meter = cfg.meter.as_ref()?;
    let fresh = |at: Timestamp| (now - at).num_seconds() <= i64::from(meter.stale_after_seconds);
    let grid = state.grid.filter(|g| fresh(g.at))?;
    let volts = Decimal::from(cfg.voltage);
    let exported: Decimal = -grid.current_a.as_array().iter().sum::<Decimal>() * volts;
    let drawn: Decimal = cfg
        .evses
        .iter()
        .filter(|c| c.pv_surplus)
        .filter_map(|c| state.evse(&c.station_id, c.evse_id))
        .filter(|e| e.transaction_id.is_some())
        .filter_map(|e| e.measured.filter(|m| fresh(m.at)))
        .map(|m| {
            m.current_a
                .as_array()
                .iter()
                .map(|a| (*a).max(Decimal::ZERO))
                .sum::<Decimal>()
                * volts
        })
        .sum();
    (exported + drawn).round().to_i64()
}

/// The sessions to plan, each with when its need was given: connected, with
/// a need that has a departure ahead and energy still to charge.
fn wanted_sessions(
    cfg: &LoadConfig,
    state: &LoadState,
    live: &HashMap<(StationId, u32), Live>,
    now: Timestamp,
) -> Vec<Wanted> {
    let mut out = Vec::new();
    for c in &cfg.evses {
        let l = &live[&(c.station_id.clone(), c.evse_id)];
        if !l.connected() {
            continue;
        }
        let Some(es) = state.evse(&c.station_id, c.evse_id) else {
            continue;
        };
        let (Some(tx), Some(need)) = (&es.transaction_id, &es.need) else {
            continue;
        };
        let Some(departure_at) = need.departure_at.filter(|d| *d > now) else {
            continue;
        };
        let Some(need_wh) = plan::remaining_wh(need, es.soc, l.energy_wh) else {
            continue;
        };
        // Met: the car charges on like any other.
        if need_wh <= Decimal::ZERO {
            continue;
        }
        out.push(Wanted {
            station: c.station_id.clone(),
            evse_id: c.evse_id,
            transaction_id: tx.clone(),
            priority: l.priority,
            departure_at,
            need_wh,
            car_max: need.car_max_a.map(model::load),
            set_at: need.set_at,
        });
    }
    out
}

/// What the planned cars must leave to the others: the allocations of the
/// cars without a plan and the holds of offline stations.
fn held_loads(
    inputs: &[SessionInput],
    allocations: &[csms_energy::EvseAllocation],
    reserved: &[Reserved],
    wanted: &[Wanted],
) -> Vec<Held> {
    let planned: HashSet<String> = wanted
        .iter()
        .map(|w| evse_key(&w.station, w.evse_id))
        .collect();
    let mut held: Vec<Held> = allocations
        .iter()
        .filter(|a| !planned.contains(a.evse.as_str()))
        .filter(|a| inputs.iter().any(|i| i.evse == a.evse))
        .map(|a| Held {
            evse: a.evse.clone(),
            current: a.current,
            phases: a.phases,
        })
        .collect();
    held.extend(reserved.iter().map(|r| Held {
        evse: r.evse.clone(),
        current: r.current,
        phases: r.phases,
    }));
    held
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
