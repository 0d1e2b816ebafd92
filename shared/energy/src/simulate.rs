//! A day at a site, replayed minute by minute.
//!
//! Cars arrive with an energy need and a departure time, and draw the smaller
//! of what they are given and their on-board charger's maximum until they are
//! full; the building's own load follows a profile. Every minute the engine
//! ([`allocate()`](crate::allocate())) recomputes, seeing the previous
//! minute's meter readings — as in production, where the building load can
//! rise between two readings and the margin has to absorb it. The report says
//! what the site's owner and drivers care about: energy delivered against
//! demanded, peak grid power, pauses, cost, and the highest load any fuse saw.
//!
//! Two strategies:
//! - [`Strategy::Immediate`]: every car charges as soon as it arrives, as
//!   fast as the engine allows;
//! - [`Strategy::Scheduled`]: at every slot boundary the cars present are
//!   re-planned by [`plan()`](crate::schedule::plan()) with their remaining
//!   need (later arrivals are not known in advance), the engine then runs
//!   over the cars the plan has charging in that slot, and each is held to
//!   its planned current. The engine stays the safety net: the plan only ever
//!   lowers what it hands out.
//!
//! [`Day::generate`] builds a day deterministically from a seed: a housing
//! association ("BRF") car park with the cars arriving in the evening and
//! leaving in the morning, a day-ahead price curve, and apartments' load.
//! The day runs from 12:00 to 12:00 the next day so that one night is whole.

use crate::allocate::{
    allocate, grid_phases, AllocateError, ChargeState, Conditions, Priority, SessionInput,
};
use crate::schedule::{plan, Horizon, PlanError, PlanSession, SLOT_SECS};
use crate::site::{
    BoardConfig, BoardId, EvseConfig, EvseId, Mode, Rotation, Site, SiteConfig, SiteError,
};
use crate::units::{Current, Phase, PhaseCurrents, Phases, Timestamp};
use serde::{Deserialize, Serialize};

/// One simulation step.
pub const STEP_SECS: u32 = 60;
/// Steps in a day.
pub const DAY_STEPS: usize = 24 * 60;
const STEPS_PER_SLOT: usize = (SLOT_SECS / STEP_SECS) as usize;
/// Slots in a day.
pub const DAY_SLOTS: usize = DAY_STEPS / STEPS_PER_SLOT;

/// A car's visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Visit {
    pub evse: EvseId,
    /// Minutes since the start of the day (12:00).
    pub arrive: usize,
    /// Exclusive; at most [`DAY_STEPS`].
    pub depart: usize,
    pub energy_wh: u32,
    pub phases: Phases,
    /// The on-board charger's maximum per phase.
    pub max_current: Current,
    pub priority: Priority,
}

/// Everything that happens in a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    pub site: SiteConfig,
    /// Micro-units of currency per kWh, one per 15-minute slot.
    pub prices: Vec<i64>,
    /// The building's own load per minute, per grid phase (all zero in a
    /// static site).
    pub building: Vec<PhaseCurrents>,
    pub visits: Vec<Visit>,
}

/// What [`Day::generate`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayParams {
    pub seed: u64,
    pub evses: usize,
    pub cars: usize,
    /// Main fuse per phase.
    pub grid_amps: u32,
    /// `Some`: the EVSEs sit on a car-park board with this fuse.
    pub board_amps: Option<u32>,
    /// `true`: the apartments load the grid connection (dynamic mode);
    /// `false`: the connection is the chargers' alone (static mode).
    pub building: bool,
}

impl DayParams {
    /// The scheduling issue's day: a BRF car park with 20 EVSEs behind a 63 A
    /// connection and no other load, 20 cars.
    pub fn brf_static(seed: u64) -> Self {
        DayParams {
            seed,
            evses: 20,
            cars: 20,
            grid_amps: 63,
            board_amps: None,
            building: false,
        }
    }

    /// A BRF car park: 20 EVSEs of 32 A on a 63 A board behind a 100 A
    /// connection shared with the apartments, 20 cars.
    pub fn brf(seed: u64) -> Self {
        DayParams {
            seed,
            evses: 20,
            cars: 20,
            grid_amps: 100,
            board_amps: Some(63),
            building: true,
        }
    }
}

/// A small deterministic generator, so that days compare across runs and no
/// dependency is needed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(n.max(1))) as u32
    }
}

impl Day {
    pub fn generate(p: DayParams) -> Day {
        let mut rng = Lcg(p.seed ^ 0x5eed);
        let rotations = [Rotation::L1L2L3, Rotation::L2L3L1, Rotation::L3L1L2];
        let board = p
            .board_amps
            .map(|_| BoardId::parse("carpark").expect("valid id"));
        let evses = (0..p.evses)
            .map(|i| EvseConfig {
                id: EvseId::parse(format!("evse-{i:02}")).expect("valid id"),
                board: board.clone(),
                phases_wired: Phases::Three,
                rotation: rotations[i % 3],
                max_current: Current::amps(32),
                min_current: Current::amps(6),
                phase_switching: false,
            })
            .collect::<Vec<_>>();
        let site = SiteConfig {
            grid: PhaseCurrents::uniform(Current::amps(p.grid_amps)),
            boards: match (&board, p.board_amps) {
                (Some(id), Some(a)) => vec![BoardConfig {
                    id: id.clone(),
                    parent: None,
                    limit: PhaseCurrents::uniform(Current::amps(a)),
                }],
                _ => vec![],
            },
            evses,
            mode: if p.building {
                Mode::TrueDynamic {
                    margin: Current::amps(5),
                    headroom: Current::amps(2),
                    settle_secs: 60,
                }
            } else {
                Mode::Static
            },
            power_cap_w: None,
            voltage: 230,
            rotation_secs: 900,
        };

        // Day-ahead prices from 12:00: a midday solar dip, the evening peak,
        // a cheap night with its trough around 03:00, the morning peak.
        let prices = (0..DAY_SLOTS)
            .map(|t| {
                let hour = (12.0 + t as f64 / 4.0) % 24.0;
                let shape = match hour {
                    h if (6.0..9.0).contains(&h) => 0.16 + 0.04 * (1.0 - ((h - 7.5) / 1.5).abs()),
                    h if (9.0..16.0).contains(&h) => 0.09 - 0.03 * (1.0 - ((h - 12.5) / 3.5).abs()),
                    h if (16.0..22.0).contains(&h) => {
                        0.14 + 0.10 * (1.0 - ((h - 19.0) / 3.0).abs())
                    }
                    h => {
                        // 22:00 → 06:00, lowest at 03:00.
                        let from = if h >= 22.0 { h - 22.0 } else { h + 2.0 };
                        0.03 + 0.08 * ((from - 5.0) / 5.0).abs()
                    }
                };
                let noise = f64::from(rng.next(2001)) / 1000.0 - 1.0; // ±1
                ((shape + 0.01 * noise) * 1e6).round() as i64
            })
            .collect();

        // Apartments: low at night, a bump in the morning, a peak around
        // 19:00; phases a little unbalanced, a few amperes of noise a minute.
        let building = (0..DAY_STEPS)
            .map(|m| {
                if !p.building {
                    return PhaseCurrents::default();
                }
                let hour = (12.0 + m as f64 / 60.0) % 24.0;
                let evening = (-((hour - 19.0) / 2.0).powi(2)).exp();
                let morning = (-((hour - 7.5) / 1.0).powi(2)).exp();
                let base = 10.0 + 30.0 * evening + 12.0 * morning;
                let mut phase = |k: f64| {
                    let noise = f64::from(rng.next(31)) / 10.0; // 0–3 A
                    Current::from_amps_ceil(base * k + noise).expect("finite")
                };
                PhaseCurrents([phase(1.1), phase(0.95), phase(1.0)])
            })
            .collect();

        // Cars: arrive 16:00–21:00, leave 06:00–09:00, need 10–40 kWh, at
        // most 90 % of what their charger can take in the window.
        let kinds = [
            (Phases::One, 16),
            (Phases::Three, 16),
            (Phases::Three, 16),
            (Phases::Three, 32),
        ];
        let mut visits: Vec<Visit> = (0..p.cars.min(p.evses))
            .map(|i| {
                let arrive = 240 + rng.next(301) as usize;
                let depart = 1080 + rng.next(181) as usize;
                let (phases, amps) = kinds[rng.next(kinds.len() as u32) as usize];
                let max_wh = u64::from(amps * phases.count() * 230) * (depart - arrive) as u64 / 60;
                let want = 10_000 + rng.next(30_001);
                Visit {
                    evse: site.evses[i].id.clone(),
                    arrive,
                    depart,
                    energy_wh: want.min((max_wh * 9 / 10) as u32),
                    phases,
                    max_current: Current::amps(amps),
                    priority: Priority(0),
                }
            })
            .collect();
        visits.sort_by_key(|v| v.arrive);
        Day {
            site,
            prices,
            building,
            visits,
        }
    }

    /// The highest building load in each slot: a perfect forecast.
    pub fn building_forecast(&self) -> Vec<PhaseCurrents> {
        self.building
            .chunks(STEPS_PER_SLOT)
            .map(|c| {
                let mut m = PhaseCurrents::default();
                for pc in c {
                    for p in Phase::ALL {
                        m.0[p.index()] = m.0[p.index()].max(pc.get(p));
                    }
                }
                m
            })
            .collect()
    }

    /// The whole day as one planning problem, every car known in advance
    /// (what the LP comparison uses). A car's window is the slots it is
    /// plugged in for entirely.
    pub fn plan_sessions(&self) -> Vec<PlanSession> {
        self.visits
            .iter()
            .map(|v| PlanSession {
                evse: v.evse.clone(),
                car_phases: Some(v.phases),
                car_max: Some(v.max_current),
                priority: v.priority,
                energy_wh: v.energy_wh,
                arrival: v.arrive.div_ceil(STEPS_PER_SLOT),
                departure: v.depart / STEPS_PER_SLOT,
            })
            .collect()
    }

    pub fn horizon(&self) -> Horizon {
        Horizon {
            prices: self.prices.clone(),
            building_load: Some(self.building_forecast()),
        }
    }

    /// What the engine sees at minute `m`: a session for each visit in
    /// `which`, its car in the state and drawing the deciamperes per phase
    /// `car` gives (on the visit's `phases`, as the meter shows it), and last
    /// minute's building load.
    pub(crate) fn engine_input(
        &self,
        m: usize,
        which: &[usize],
        phases: &[Phases],
        car: impl Fn(usize) -> (ChargeState, u32),
    ) -> (Vec<SessionInput>, Conditions) {
        let sessions = which
            .iter()
            .map(|&i| {
                let (state, draw) = car(i);
                SessionInput {
                    evse: self.visits[i].evse.clone(),
                    car_phases: Some(self.visits[i].phases),
                    priority: self.visits[i].priority,
                    state,
                    measured: Some(measured(phases[i], draw)),
                    pv: None,
                    plan: None,
                }
            })
            .collect();
        let cond = Conditions {
            building_load: Some(self.building[m.saturating_sub(1)]),
            now: Timestamp(m as i64 * 60),
        };
        (sessions, cond)
    }
}

/// How cars are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    Immediate,
    Scheduled,
}

/// One car's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarReport {
    pub evse: EvseId,
    pub demanded_wh: u32,
    pub delivered_wh: f64,
    /// Micro-units of currency.
    pub cost: f64,
}

/// The day's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub strategy: Strategy,
    pub cars: Vec<CarReport>,
    pub demanded_wh: f64,
    pub delivered_wh: f64,
    /// Building plus cars, summed over the phases.
    pub peak_grid_w: f64,
    pub peak_ev_w: f64,
    /// Times the engine paused a car that was charging and still wanted to.
    pub pauses: u32,
    /// Micro-units of currency, for the cars' energy.
    pub cost: f64,
    /// Highest load / fuse over every node, phase and minute; 1.0 is a full
    /// fuse.
    pub max_fuse_utilisation: f64,
}

/// Why a day could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Allocate(#[from] AllocateError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "a day needs {DAY_SLOTS} prices, {DAY_STEPS} building loads and visits inside the day"
    )]
    BadDay,
}

struct CarState {
    /// Wh still wanted.
    left: f64,
    delivered: f64,
    cost: f64,
    /// Per phase, deciamperes, last minute.
    draw: u32,
    state: ChargeState,
    /// Planned current for the running slot (scheduled strategy).
    planned: u32,
}

/// Replays `day` with `strategy`.
/// What a car drawing `draw` deciamperes on `phases` shows on the meter.
pub(crate) fn measured(phases: Phases, draw: u32) -> PhaseCurrents {
    let d = Current::from_deciamps(draw);
    PhaseCurrents(match phases {
        Phases::One => [d, Current::ZERO, Current::ZERO],
        Phases::Three => [d; 3],
    })
}

pub fn simulate(day: &Day, strategy: Strategy) -> Result<Report, SimError> {
    let site = Site::new(day.site.clone())?;
    if day.prices.len() < DAY_SLOTS
        || day.building.len() < DAY_STEPS
        || day
            .visits
            .iter()
            .any(|v| v.arrive >= v.depart || v.depart > DAY_STEPS)
    {
        return Err(SimError::BadDay);
    }
    let voltage = f64::from(day.site.voltage);
    let forecast = day.building_forecast();
    let ei: Vec<usize> = day
        .visits
        .iter()
        .map(|v| site.evse_index.get(&v.evse).map(|&i| i as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            let bad = day.visits.iter().find(|v| site.evse(&v.evse).is_none());
            AllocateError::UnknownEvse(bad.map(|v| v.evse.clone()).expect("some visit"))
        })?;
    let phases: Vec<Phases> = day
        .visits
        .iter()
        .zip(&ei)
        .map(|(v, &e)| day.site.evses[e].phases_wired.min(v.phases))
        .collect();
    let mut cars: Vec<CarState> = day
        .visits
        .iter()
        .map(|v| CarState {
            left: f64::from(v.energy_wh),
            delivered: 0.0,
            cost: 0.0,
            draw: 0,
            state: ChargeState::Paused(Timestamp(v.arrive as i64 * 60)),
            planned: 0,
        })
        .collect();
    let (mut peak_grid_w, mut peak_ev_w, mut pauses, mut max_util) = (0f64, 0f64, 0u32, 0f64);
    for m in 0..DAY_STEPS {
        let slot = m / STEPS_PER_SLOT;
        let present = |i: usize, cars: &[CarState]| {
            let v = &day.visits[i];
            (v.arrive..v.depart).contains(&m) && cars[i].left > 1e-9
        };
        if strategy == Strategy::Scheduled && m % STEPS_PER_SLOT == 0 {
            let ids: Vec<usize> = (0..cars.len())
                .filter(|&i| present(i, &cars) && day.visits[i].depart / STEPS_PER_SLOT > slot)
                .collect();
            let sessions: Vec<PlanSession> = ids
                .iter()
                .map(|&i| {
                    let v = &day.visits[i];
                    PlanSession {
                        evse: v.evse.clone(),
                        car_phases: Some(v.phases),
                        car_max: Some(v.max_current),
                        priority: v.priority,
                        energy_wh: cars[i].left.ceil() as u32,
                        arrival: 0,
                        departure: v.depart / STEPS_PER_SLOT - slot,
                    }
                })
                .collect();
            let horizon = Horizon {
                prices: day.prices[slot..].to_vec(),
                building_load: Some(forecast[slot..].to_vec()),
            };
            let schedule = plan(&site, &horizon, &sessions)?;
            for c in &mut cars {
                c.planned = 0;
            }
            for (&i, p) in ids.iter().zip(&schedule.sessions) {
                cars[i].planned = p.currents[0].deciamps();
            }
        }
        let now = Timestamp(m as i64 * 60);
        let wanted: Vec<usize> = (0..cars.len())
            .filter(|&i| {
                present(i, &cars) && (strategy == Strategy::Immediate || cars[i].planned > 0)
            })
            .collect();
        let (sessions, cond) =
            day.engine_input(m, &wanted, &phases, |i| (cars[i].state, cars[i].draw));
        let out = allocate(&site, &sessions, &cond)?;
        let mut draw = vec![0u32; cars.len()];
        for (&i, a) in wanted.iter().zip(&out) {
            let c = &mut cars[i];
            let mut given = a.current.deciamps();
            if strategy == Strategy::Scheduled {
                given = given.min(c.planned);
            }
            if given == 0 && matches!(c.state, ChargeState::Running(_)) {
                pauses += 1;
            }
            c.state = match (c.state, given == 0) {
                (ChargeState::Running(_), true) => ChargeState::Paused(now),
                (ChargeState::Paused(_), false) => ChargeState::Running(now),
                (same, _) => same,
            };
            // The car takes what it can, and only what it still needs.
            let n = f64::from(phases[i].count());
            let amps = given.min(day.visits[i].max_current.deciamps());
            let full_at = c.left * 600.0 / (n * voltage); // deciamperes for one minute
            let d = (f64::from(amps)).min(full_at);
            let wh = d * n * voltage / 600.0;
            c.left -= wh;
            c.delivered += wh;
            c.cost += wh * day.prices[slot] as f64 / 1000.0;
            draw[i] = d.ceil() as u32;
        }
        for (i, c) in cars.iter_mut().enumerate() {
            c.draw = draw[i];
            if !wanted.contains(&i) {
                // Unplugged, full, or held back by the plan.
                if let ChargeState::Running(_) = c.state {
                    c.state = ChargeState::Paused(now);
                }
            }
        }

        // Loads on every node and grid phase, from the cars' actual draw, in
        // whole deciamperes so that a full fuse is exactly 100 %.
        let mut load = vec![[0u32; 3]; site.nodes.len()];
        for p in Phase::ALL {
            load[0][p.index()] = day.building[m].get(p).deciamps();
        }
        let building_w = f64::from(load[0].iter().sum::<u32>()) / 10.0 * voltage;
        let mut ev_w = 0.0;
        for (i, &d) in draw.iter().enumerate() {
            if d == 0 {
                continue;
            }
            let rot = day.site.evses[ei[i]].rotation;
            for &node in &site.paths[ei[i]] {
                for gp in grid_phases(phases[i], rot) {
                    load[node as usize][gp.index()] += d;
                }
            }
            ev_w += f64::from(d) / 10.0 * f64::from(phases[i].count()) * voltage;
        }
        for (n, l) in load.iter().enumerate() {
            for p in Phase::ALL {
                let limit = site.node_limits[n].get(p).deciamps();
                max_util = max_util.max(f64::from(l[p.index()]) / f64::from(limit));
            }
        }
        peak_ev_w = peak_ev_w.max(ev_w);
        peak_grid_w = peak_grid_w.max(ev_w + building_w);
    }
    let reports: Vec<CarReport> = day
        .visits
        .iter()
        .zip(&cars)
        .map(|(v, c)| CarReport {
            evse: v.evse.clone(),
            demanded_wh: v.energy_wh,
            delivered_wh: c.delivered,
            cost: c.cost,
        })
        .collect();
    Ok(Report {
        strategy,
        demanded_wh: reports.iter().map(|c| f64::from(c.demanded_wh)).sum(),
        delivered_wh: reports.iter().map(|c| c.delivered_wh).sum(),
        cost: reports.iter().map(|c| c.cost).sum(),
        cars: reports,
        peak_grid_w,
        peak_ev_w,
        pauses,
        max_fuse_utilisation: max_util,
    })
}
