//! The recomputation's decision: from what was read to what to send and what
//! to keep. Pure — no store, no clock, no randomness: the same
//! [`SiteSnapshot`], time and [`Settings`] give the same [`Decision`].
//!
//! A recomputation is three phases ([`super::service`] runs them):
//! 1. **gather** reads the site, its state, the stations and their sessions,
//!    the answers to limits in flight and (only when a plan is due, see
//!    [`spot_request`]) the spot prices into a [`SiteSnapshot`];
//! 2. [`decide`] follows the store (transactions that started or ended,
//!    stations that rebooted), allocates, plans, and says which limits to
//!    send — decreases apart from increases — and the state to keep;
//! 3. **send** submits the decreases and awaits their answers, then each
//!    increase that [`raise`] lets through given those answers, then lowers
//!    the defaults of transactions whose limit is now in force
//!    ([`defaults_to_zero`]), recording each limit with [`record`] and
//!    closing with [`conclude`].
//!
//! The gates of the send phase are here too, as pure functions of the state
//! the answers left: what may rise depends on what the chargers took.
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
//!   charger may draw now (`envelope`: a limit in flight, refused or
//!   unanswered at the higher of old and new), a raise is sent only if it
//!   adds no excess over any bound; otherwise it waits for the next round.
//! - **Who cannot be told is held.** An offline station, or a charger that
//!   did not take its last limit (until it is tried again), is reserved at
//!   what it may draw before anybody else is served.

use super::model::{self, amps, evse_key, phase_amps, phases_of};
use super::plan::{self, Held, Wanted};
use csms_domain::command::{
    ChargingProfile, CommandId, CommandRequest, CommandStatus, ProfileKind, ProfilePurpose,
    RateUnit, SchedulePeriod, LOAD_PROFILE_IDS,
};
use csms_domain::load::{
    Allocated, EvseLoadState, HeldLimit, LoadConfig, LoadEvse, LoadSite, LoadState, SentLimit,
    SentStatus, SitePlan, StationLoadState,
};
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::{OcppVersion, StationId, Timestamp};
use csms_energy::{
    allocate_with_reserved, ChargeState, Conditions, Current, Phase, PhaseCurrents, Phases,
    Priority, PvDecision, PvSettings, PvState, Reserved, SessionInput, Site,
};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Stack level of the balancer's profiles: above an operator's usual 0,
/// below the pause (90), so a paused car stays paused.
pub const LOAD_STACK_LEVEL: u32 = 50;

/// The profile id of an EVSE's TxDefaultProfile or TxProfile.
pub fn profile_id(purpose: ProfilePurpose, evse_id: u32) -> i32 {
    let evse = i32::try_from(evse_id.min(9_999)).unwrap_or(9_999);
    match purpose {
        ProfilePurpose::TxProfile => LOAD_PROFILE_IDS.start + 10_000 + evse,
        ProfilePurpose::StationMax => LOAD_PROFILE_IDS.start + 20_000,
        ProfilePurpose::TxDefault => LOAD_PROFILE_IDS.start + evse,
    }
}

/// How long what the balancer knows keeps counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A measured current older than this (seconds) is not used.
    pub measured_max_age_s: i64,
    /// A refused profile is tried again after this long, not at every signal.
    pub retry_after_s: i64,
    /// A car's need that no transaction has claimed is forgotten after this.
    pub unbound_need_max_age_s: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            measured_max_age_s: 300,
            retry_after_s: 60,
            unbound_need_max_age_s: 600,
        }
    }
}

/// One EVSE of the site as the store saw it when it was gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// The live connection's OCPP version; `None` while offline.
    pub version: Option<OcppVersion>,
    /// Running transaction and when it started.
    pub transaction: Option<(String, Timestamp)>,
    /// A car is plugged in without a transaction yet, since when (only
    /// when recently enough to be served ahead of its start).
    pub plugged: Option<Timestamp>,
    /// When the station last booted: profiles sent before may be gone.
    pub booted_at: Option<Timestamp>,
    /// Energy the running transaction has charged so far, in Wh.
    pub energy_wh: Option<Decimal>,
    /// The session's priority: its EVSE's, raised by its driver's (or
    /// vehicle's) identifier group.
    pub priority: u8,
}

impl Live {
    pub fn connected(&self) -> bool {
        self.version.is_some()
    }
}

/// An EVSE the snapshot does not have (gather reads every configured one).
const UNSEEN: Live = Live {
    version: None,
    transaction: None,
    plugged: None,
    booted_at: None,
    energy_wh: None,
    priority: 0,
};

/// Every EVSE of the site as the store sees it, by station and EVSE.
pub type LiveMap = BTreeMap<(StationId, u32), Live>;

fn live_of<'a>(live: &'a LiveMap, c: &LoadEvse) -> &'a Live {
    live.get(&(c.station_id.clone(), c.evse_id))
        .unwrap_or(&UNSEEN)
}

/// Everything a recomputation reads, read before it decides anything.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSnapshot {
    pub config: LoadSite,
    /// The site's state as written with the run's lease.
    pub state: LoadState,
    /// Each configured EVSE. Not read (empty) when the configuration cannot
    /// be used.
    pub live: LiveMap,
    /// The status of the command of each limit that was in flight, by the
    /// command id the limit records; a command not found is absent (its
    /// limit failed).
    pub answers: BTreeMap<String, CommandStatus>,
    /// The spot days of [`spot_request`], or why they could not be read;
    /// `None` when no plan was due (nothing was read).
    pub spot: Option<Result<Vec<SpotDay>, String>>,
}

/// The days of spot prices a plan due now needs: the bidding zone's, from
/// the day of the first slot to the day of the last departure planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpotRequest {
    pub zone: BiddingZone,
    pub first: chrono::NaiveDate,
    pub last: chrono::NaiveDate,
}

/// A limit to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub station: StationId,
    pub evse_id: u32,
    pub purpose: ProfilePurpose,
    pub transaction_id: Option<String>,
    pub limit: Current,
    pub phases: Phases,
    pub decrease: bool,
    /// What the charger held before, for [`SentLimit::before`].
    pub before: Option<HeldLimit>,
}

/// What a recomputation decided.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The state to keep; the send phase records its limits into it.
    pub state: LoadState,
    /// `None` when there is nothing to send (the configuration cannot be
    /// used, the engine failed): the state is saved as it is.
    pub sends: Option<Sends>,
}

/// The limits to send, and what their gates need.
#[derive(Debug, Clone)]
pub struct Sends {
    pub site: Site,
    pub cond: Conditions,
    /// Sent first, in this order; their answers are awaited.
    pub decreases: Vec<Limit>,
    /// Then each in this order (a station's own limit before its EVSEs'),
    /// if [`raise`] lets it through.
    pub increases: Vec<Limit>,
}

/// The recomputation's decision for `snapshot` at `now`.
pub fn decide(snapshot: &SiteSnapshot, now: Timestamp, settings: &Settings) -> Decision {
    let config = &snapshot.config;
    let cfg = &config.config;
    let live = &snapshot.live;
    let mut state = snapshot.state.clone();
    // Every save of this run gives the lease back.
    state.lease = None;
    state.warnings.clear();
    state.computed_at = Some(now);
    state.config_version = config.version;
    let done = |state| Decision { state, sends: None };

    let site = match model::site(cfg) {
        Ok(s) => s,
        Err(e) => {
            state.warnings.push(format!("configuration unusable: {e}"));
            return done(state);
        }
    };
    take_facts(&mut state, snapshot);

    // PV surplus, shared equally by the PV cars charging now.
    let pv_cars = cfg
        .evses
        .iter()
        .filter(|c| {
            let l = live_of(live, c);
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
    follow_store(&mut state, cfg, live, now, settings);

    let mut inputs = Vec::new();
    // Cars plugged in before their transaction: (since, EVSE).
    let mut plugged = Vec::new();
    let mut reserved = Vec::new();
    for c in &cfg.evses {
        let key = evse_key(&c.station_id, c.evse_id);
        let l = live_of(live, c);
        let es = state.evse_mut(&c.station_id, c.evse_id);
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
            s.status == SentStatus::Failed
                && (now - s.sent_at).num_seconds() < settings.retry_after_s
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
                .filter(|m| (now - m.at).num_seconds() <= settings.measured_max_age_s);
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
        _ => Some(building_load(&site, cfg, &mut state, now)),
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
                return done(state);
            }
        };
    // Cars with a need and a departure: planned into the cheapest slots
    // of what the others leave, then capped at their plan for now.
    let wanted = wanted_sessions(cfg, &state, live, now);
    if wanted.is_empty() {
        state.plan = None;
    } else {
        let reuse = state
            .plan
            .as_ref()
            .is_some_and(|p| plan::still_good(p, config.version, now, &wanted));
        if !reuse {
            let held = held_loads(&inputs, &allocations, &reserved, &wanted);
            match make_plan(&site, config, &wanted, held, building, now, &snapshot.spot) {
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
                let Some((station, evse_id)) = model::parse_evse_key(input.evse.as_str()) else {
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
                    return done(state);
                }
            };
        }
    }

    // Idle EVSEs: a TxDefaultProfile of what the running cars leave,
    // so that a car that starts there stays within the fuse before the
    // balancer has heard of it. EVSEs with a transaction get 0: their
    // TxProfile governs it, and a next transaction starts from nothing.
    let defaults = match idle_defaults(&site, cfg, &state, live, &reserved, &allocations, &cond) {
        Ok(d) => d,
        Err(e) => {
            state.warnings.push(format!("allocation failed: {e}"));
            return done(state);
        }
    };

    // What to send.
    let mut sends = Vec::new();
    // The default each EVSE without a transaction is to hold.
    let mut idle_targets: HashMap<String, Current> = HashMap::new();
    for c in &cfg.evses {
        if !live_of(live, c).connected() {
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
        if let Some(default) = default.filter(|&d| {
            needs_send(
                &es.default_profile,
                d,
                phases_of(c.phases),
                None,
                now,
                settings,
            )
        }) {
            sends.push(Limit {
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
        if needs_send(&es.profile, a.current, a.phases, Some(&tx), now, settings) {
            let (phases, decrease) = tx_step(a.current, a.phases, held_tx);
            sends.push(Limit {
                station: c.station_id.clone(),
                evse_id: c.evse_id,
                purpose: ProfilePurpose::TxProfile,
                transaction_id: Some(tx),
                limit: a.current,
                phases,
                decrease,
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
        if !live_of(live, c).connected() {
            continue;
        }
        let mut total = 0u32;
        for e in &ours {
            let key = evse_key(&e.station_id, e.evse_id);
            let es = state.evse(&e.station_id, e.evse_id);
            let limit = match es.and_then(|x| x.transaction_id.as_ref().and(x.allocation.as_ref()))
            {
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
        if needs_send(&sent, limit, phases, None, now, settings) {
            sends.push(Limit {
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
    let (decreases, mut increases): (Vec<Limit>, Vec<Limit>) =
        sends.into_iter().partition(|s| s.decrease);
    increases.sort_by_key(|s| s.purpose != ProfilePurpose::StationMax);
    Decision {
        state,
        sends: Some(Sends {
            site,
            cond,
            decreases,
            increases,
        }),
    }
}

/// Which spot prices [`decide`] will need for `snapshot`, if a plan is
/// due: cars with a need and a departure, and no plan still good for them.
/// Gather reads them, so that nothing is read when no plan is made.
pub fn spot_request(
    snapshot: &SiteSnapshot,
    now: Timestamp,
    settings: &Settings,
) -> Option<SpotRequest> {
    let cfg = &snapshot.config.config;
    model::site(cfg).ok()?;
    let mut state = snapshot.state.clone();
    take_facts(&mut state, snapshot);
    follow_store(&mut state, cfg, &snapshot.live, now, settings);
    let wanted = wanted_sessions(cfg, &state, &snapshot.live, now);
    if wanted.is_empty()
        || state
            .plan
            .as_ref()
            .is_some_and(|p| plan::still_good(p, snapshot.config.version, now, &wanted))
    {
        return None;
    }
    let (zone, start, last, _) = plan_window(cfg, &wanted, now).ok()?;
    Some(SpotRequest {
        zone,
        first: zone.local_date(start),
        last: zone.local_date(last),
    })
}

/// The command of every limit still in flight, in the order they are
/// stored, each with the id as the limit records it (the key of
/// [`SiteSnapshot::answers`]); EVSEs no longer configured are left out
/// (they are forgotten). A limit whose command id does not parse is not
/// listed: it failed.
pub fn pending_commands(state: &LoadState, cfg: &LoadConfig) -> Vec<(String, CommandId)> {
    let configured = |es: &&EvseLoadState| {
        cfg.evses
            .iter()
            .any(|c| c.station_id == es.station_id && c.evse_id == es.evse_id)
    };
    let evse_sent = state
        .evses
        .iter()
        .filter(configured)
        .flat_map(|es| [&es.profile, &es.default_profile].into_iter().flatten());
    let station_sent = state.stations.iter().map(|s| &s.max_profile);
    evse_sent
        .chain(station_sent)
        .filter(|s| s.status == SentStatus::Pending)
        .filter_map(|s| Some((s.command_id.clone(), CommandId::parse(&s.command_id)?)))
        .collect()
}

/// Brings limits in flight up to date with their commands' `answers`: a
/// command that was not found, or whose id does not parse, failed.
pub fn settle(state: &mut LoadState, answers: &BTreeMap<String, CommandStatus>) {
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
        match answers.get(&sent.command_id) {
            Some(CommandStatus::Pending) => {}
            Some(CommandStatus::Accepted) => sent.status = SentStatus::Accepted,
            _ => sent.status = SentStatus::Failed,
        }
    }
}

/// Whether an increase may go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raise {
    Send,
    /// It would push a bound over, or further over: why.
    Wait(String),
    /// Its EVSE is not in the configuration (cannot happen: limits come
    /// from it); skipped.
    Unknown,
}

/// Whether `s`, one of `sends.increases`, may be sent now: with every EVSE
/// at what its charger may draw under `state` (the answers so far, the
/// raises already sent counted at the higher of old and new), it must add
/// no excess over any fuse or the power cap.
pub fn raise(sends: &Sends, cfg: &LoadConfig, state: &LoadState, s: &Limit) -> Raise {
    let (site, cond) = (&sends.site, &sends.cond);
    let loads = held_loads_now(cfg, state);
    let over = if s.purpose == ProfilePurpose::StationMax {
        // A station's limit may be all that holds an EVSE whose
        // charger refused its own limits: raised only if that adds
        // no excess either.
        raise_exceeds(site, cond, loads, |loads| {
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
            return Raise::Unknown;
        };
        let key = site_evse(&evse_key(&s.station, s.evse_id));
        let raised = envelope(state.evse(&s.station, s.evse_id), c).max(HeldLimit {
            limit_a: amps(s.limit),
            phases: model::phase_count(s.phases),
        });
        raise_exceeds(site, cond, loads, |loads| {
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
    match over {
        Some(why) => Raise::Wait(why),
        None => Raise::Send,
    }
}

/// The phases a transaction's limit of `current` on `phases` is sent on,
/// and whether it is a decrease, from what its charger may draw now.
///
/// A lower current is a decrease, sent without a fuse check — unless it
/// also adds phases (a PV car switching from one phase to three): that
/// adds current on the phases the car does not use yet, at an instant
/// when other chargers' decreases may not be in force. Such a switch goes
/// in two steps: lowered on the phases it has now (a decrease), then, at
/// a later recomputation, switched (an increase, which waits for the fuse
/// like any other).
pub fn tx_step(current: Current, phases: Phases, held: HeldLimit) -> (Phases, bool) {
    let decrease = amps(current) < held.limit_a;
    if decrease && model::phase_count(phases) > held.phases {
        (phases_of(held.phases), true)
    } else {
        (phases, decrease)
    }
}

/// Once the raises are answered: the TxDefaultProfile of each connected
/// EVSE whose transaction's TxProfile is now in force goes to 0.
pub fn defaults_to_zero(
    cfg: &LoadConfig,
    state: &LoadState,
    live: &LiveMap,
    now: Timestamp,
    settings: &Settings,
) -> Vec<Limit> {
    let mut out = Vec::new();
    for c in &cfg.evses {
        if !live_of(live, c).connected() {
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
                settings,
            )
        {
            let before = es.default_profile.as_ref().map(|s| s.held(wiring(c)));
            out.push(Limit {
                station: c.station_id.clone(),
                evse_id: c.evse_id,
                purpose: ProfilePurpose::TxDefault,
                transaction_id: None,
                limit: Current::ZERO,
                phases: phases_of(c.phases),
                decrease: true,
                before,
            });
        }
    }
    out
}

/// The command that sets `s` on its charger.
pub fn request(s: &Limit, now: Timestamp) -> CommandRequest {
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
            limit: amps(s.limit),
            number_phases: Some(model::phase_count(s.phases)),
        }],
        min_charging_rate: None,
    };
    CommandRequest::LoadLimit {
        evse_id: s.evse_id,
        profile,
    }
}

/// Records `s` as sent, with its command and where it stands.
pub fn record(
    state: &mut LoadState,
    s: &Limit,
    command_id: String,
    status: SentStatus,
    now: Timestamp,
) {
    let sent = SentLimit {
        limit_a: amps(s.limit),
        phases: model::phase_count(s.phases),
        transaction_id: s.transaction_id.clone(),
        command_id,
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
}

/// The run's warnings, once everything is sent: raises `held_back` (the
/// site is asked to be looked at again) and limits a charger refused.
pub fn conclude(state: &mut LoadState, held_back: Vec<String>, now: Timestamp) {
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
}

fn engine_time(t: Timestamp) -> csms_energy::Timestamp {
    csms_energy::Timestamp(t.timestamp())
}

/// What was read and is not in doubt, applied to the state: EVSEs that
/// left the configuration are forgotten, limits in flight take their
/// answers, and limits a rebooted station may have lost are forgotten.
fn take_facts(state: &mut LoadState, snapshot: &SiteSnapshot) {
    let cfg = &snapshot.config.config;
    state.evses.retain(|e| {
        cfg.evses
            .iter()
            .any(|c| c.station_id == e.station_id && c.evse_id == e.evse_id)
    });
    settle(state, &snapshot.answers);
    forget_before_boot(state, &snapshot.live);
}

/// Follows the store: a new transaction starts paused (it waits for its
/// turn like everybody else), an ended one is forgotten; a need is bound
/// to the transaction it is for.
fn follow_store(
    state: &mut LoadState,
    cfg: &LoadConfig,
    live: &LiveMap,
    now: Timestamp,
    settings: &Settings,
) {
    for c in &cfg.evses {
        let l = live_of(live, c);
        let es = state.evse_mut(&c.station_id, c.evse_id);
        match &l.transaction {
            Some((tx, started)) if es.transaction_id.as_ref() != Some(tx) => {
                es.transaction_id = Some(tx.clone());
                es.charge = Some(ChargeState::Paused(engine_time(*started.min(&now))));
                es.profile = None;
                es.allocation = None;
                es.measured = None;
                es.measured_power = None;
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
                es.measured_power = None;
                es.soc = None;
                es.pv = None;
                // A car may tell its need just before its transaction
                // starts; anything else ended with its session.
                if es.need.as_ref().is_some_and(|n| {
                    n.transaction_id.is_some()
                        || (now - n.set_at).num_seconds() > settings.unbound_need_max_age_s
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
    settings: &Settings,
) -> bool {
    match sent {
        None => true,
        Some(s) => {
            s.limit_a != amps(limit)
                || s.phases != model::phase_count(phases)
                || s.transaction_id.as_ref() != tx
                || (s.status == SentStatus::Failed
                    && (now - s.sent_at).num_seconds() >= settings.retry_after_s)
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
fn forget_before_boot(state: &mut LoadState, live: &LiveMap) {
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
    live: &LiveMap,
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
            live_of(live, c).connected()
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

/// The building's own load per grid phase: grid meter minus the
/// chargers' measured draw. Without a fresh reading, the chargers get
/// the configured fallback and nothing more.
fn building_load(
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

/// The sessions to plan, each with when its need was given: connected, with
/// a need that has a departure ahead and energy still to charge.
fn wanted_sessions(
    cfg: &LoadConfig,
    state: &LoadState,
    live: &LiveMap,
    now: Timestamp,
) -> Vec<Wanted> {
    let mut out = Vec::new();
    for c in &cfg.evses {
        let l = live_of(live, c);
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

/// The zone, the first slot, the last departure planned for (capped at the
/// horizon) and the number of slots of a plan made `now`; `Err` when the
/// site has no usable bidding zone.
fn plan_window(
    cfg: &LoadConfig,
    wanted: &[Wanted],
    now: Timestamp,
) -> Result<(BiddingZone, Timestamp, Timestamp, usize), String> {
    let zone = cfg
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
    Ok((zone, start, last, slots))
}

/// Plans the wanted sessions against the spot prices of the site's
/// bidding zone (`spot`, read for [`spot_request`]), as far ahead as their
/// departures and the prices reach.
fn make_plan(
    site: &Site,
    config: &LoadSite,
    wanted: &[Wanted],
    held: Vec<Held>,
    building: Option<PhaseCurrents>,
    now: Timestamp,
    spot: &Option<Result<Vec<SpotDay>, String>>,
) -> Result<SitePlan, String> {
    let (zone, start, _, slots) = plan_window(&config.config, wanted, now)?;
    let days: &[SpotDay] = match spot {
        Some(Ok(days)) => days,
        Some(Err(e)) => return Err(e.clone()),
        None => &[],
    };
    let prices = plan::quarter_prices(zone, days, start, slots);
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

#[cfg(test)]
mod tests;
