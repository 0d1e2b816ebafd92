//! Price-optimised plans at run time: which sessions have a need, the spot
//! prices of the hours ahead, and the planner of `csms-energy` run against
//! what the other cars leave.
//!
//! Cars without a need (or without a departure) charge at once, as they
//! would without planning; the cars with one are planned into the cheapest
//! slots of the capacity the others leave. The plan only ever lowers a
//! car's current: every recomputation still runs the allocation engine with
//! each planned car capped at its plan for the running slot, so the fuses
//! hold whatever the plan says.
//!
//! A plan is made again at each new slot (with what is left of each need)
//! and whenever the planned sessions, their needs or the configuration
//! change; in between, the stored plan is followed.

use super::model::{amps, evse_key, load as load_of, phase_count};
use csms_domain::load::{ChargingNeed, PlannedSession, SitePlan};
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::{StationId, Timestamp};
use csms_energy::allocate::grid_phases;
use csms_energy::schedule::{plan, Horizon, PlanSession, Unmet, SLOT_SECS};
use csms_energy::{Current, EvseId, Node, PhaseCurrents, Phases, Priority, Site};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// How the warning begins that says why no plan could be made, so the API
/// can pick it out of the allocation's warnings.
pub const NO_PLAN_WARNING: &str = "no charging plan";

/// The furthest a plan looks ahead; day-ahead prices never reach further.
pub const MAX_HORIZON_SLOTS: usize = 48 * 4;

/// What is left of a need: by the car's SoC when it is known with a target
/// and a capacity, else the energy asked for less what was charged since.
/// `None`: the need says nothing to plan with, or its figures (from a car,
/// through the charger) overflow a `Decimal`, which no real need does.
pub fn remaining_wh(
    need: &ChargingNeed,
    soc_now: Option<Decimal>,
    energy_now_wh: Option<Decimal>,
) -> Option<Decimal> {
    let hundred = Decimal::ONE_HUNDRED;
    if let (Some(target), Some(battery), Some(soc)) =
        (need.target_soc, need.battery_wh, soc_now.or(need.soc))
    {
        let wh = target
            .checked_sub(soc)?
            .checked_div(hundred)?
            .checked_mul(battery)?;
        return Some(wh.max(Decimal::ZERO));
    }
    let asked = need.energy_wh?;
    let charged = match (energy_now_wh, need.base_wh) {
        (Some(now), Some(base)) => now.checked_sub(base)?.max(Decimal::ZERO),
        _ => Decimal::ZERO,
    };
    Some(asked.checked_sub(charged)?.max(Decimal::ZERO))
}

/// A session to plan.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub station: StationId,
    pub evse_id: u32,
    pub transaction_id: String,
    pub priority: u8,
    pub departure_at: Timestamp,
    pub need_wh: Decimal,
    pub car_max: Option<Current>,
    /// When its need was given: a plan made before does not know it.
    pub set_at: Timestamp,
}

/// A load the planned cars must leave room for, held for the whole horizon.
pub struct Held {
    pub evse: EvseId,
    pub current: Current,
    pub phases: Phases,
}

/// The start of the quarter-hour containing `t`.
pub fn slot_start(t: Timestamp) -> Timestamp {
    let secs = t.timestamp();
    let start = secs - secs.rem_euclid(i64::from(SLOT_SECS));
    chrono::DateTime::from_timestamp(start, 0).unwrap_or(t)
}

/// Spot prices per quarter-hour from `start`, as far as they are known (at
/// most `slots`); hourly prices count for each of their quarters.
pub fn quarter_prices(
    zone: BiddingZone,
    days: &[SpotDay],
    start: Timestamp,
    slots: usize,
) -> Vec<Decimal> {
    let mut out = Vec::with_capacity(slots);
    for i in 0..slots {
        let t = start + chrono::TimeDelta::seconds(i as i64 * i64::from(SLOT_SECS));
        let date = zone.local_date(t);
        let Some(price) = days
            .iter()
            .find(|d| d.date == date)
            .and_then(|d| d.slot_at(t))
            .map(|s| s.price)
        else {
            break;
        };
        out.push(price);
    }
    out
}

/// The site as the planned cars see it: every fuse and the power cap less
/// what the held loads take.
fn leftover_site(site: &Site, held: &[Held]) -> Option<Site> {
    let mut cfg = site.config().clone();
    let voltage = i64::from(cfg.voltage);
    let mut power_used: i64 = 0;
    for h in held {
        let Some(evse) = site.evse(&h.evse) else {
            continue;
        };
        let rotation = evse.rotation;
        let nodes: Vec<Node> = site.path(&h.evse)?.cloned().collect();
        for node in nodes {
            let limit = match &node {
                Node::Grid => &mut cfg.grid,
                Node::Board(b) => match cfg.boards.iter_mut().find(|x| &x.id == b) {
                    Some(x) => &mut x.limit,
                    None => continue,
                },
            };
            for gp in grid_phases(h.phases, rotation) {
                let c = &mut limit.0[gp.index()];
                *c = Current::from_deciamps(c.deciamps().saturating_sub(h.current.deciamps()));
            }
        }
        power_used += i64::from(h.current.deciamps()) * i64::from(h.phases.count()) * voltage / 10;
    }
    if let Some(w) = cfg.power_cap_w.as_mut() {
        *w = u32::try_from((i64::from(*w) - power_used).max(0)).unwrap_or(0);
    }
    Site::new(cfg).ok()
}

/// Everything a plan is made from.
pub struct PlanInput<'a> {
    pub site: &'a Site,
    pub zone: BiddingZone,
    pub currency: String,
    pub start: Timestamp,
    pub now: Timestamp,
    /// One per slot from `start`.
    pub prices: Vec<Decimal>,
    pub wanted: &'a [Wanted],
    pub held: Vec<Held>,
    /// Dynamic modes: the building's own load now, assumed for every slot.
    pub building: Option<PhaseCurrents>,
    pub config_version: u64,
}

/// Plans the wanted sessions. `Err`: why no plan could be made.
pub fn make(input: PlanInput<'_>) -> Result<SitePlan, String> {
    let PlanInput {
        site,
        zone,
        currency,
        start,
        now,
        prices,
        wanted,
        held,
        building,
        config_version,
    } = input;
    let slots = prices.len();
    if slots == 0 {
        return Err("no spot prices from now on".into());
    }
    let leftover = leftover_site(site, &held).ok_or("the site model could not be reduced")?;
    let micro = |p: Decimal| {
        (p * Decimal::from(1_000_000))
            .round()
            .to_i64()
            .unwrap_or(i64::MAX / 4)
    };
    let horizon = Horizon {
        prices: prices.iter().copied().map(micro).collect(),
        building_load: building.map(|b| vec![b; slots]),
    };
    let sessions: Vec<PlanSession> = wanted
        .iter()
        .map(|w| {
            let secs = (w.departure_at - start).num_seconds().max(1);
            let departure =
                usize::try_from((secs + i64::from(SLOT_SECS) - 1) / i64::from(SLOT_SECS))
                    .unwrap_or(slots)
                    .clamp(1, slots);
            PlanSession {
                evse: csms_energy::EvseId::parse(evse_key(&w.station, w.evse_id))
                    .expect("EVSE id of the configuration"),
                car_phases: None,
                car_max: w.car_max,
                priority: Priority(w.priority),
                energy_wh: w.need_wh.ceil().to_u32().unwrap_or(u32::MAX),
                arrival: 0,
                departure,
            }
        })
        .collect();
    let schedule = plan(&leftover, &horizon, &sessions).map_err(|e| e.to_string())?;
    let planned = wanted
        .iter()
        .zip(&schedule.sessions)
        .map(|(w, p)| {
            let wh = |v: u32| Decimal::from(v);
            PlannedSession {
                station_id: w.station.clone(),
                evse_id: w.evse_id,
                transaction_id: w.transaction_id.clone(),
                departure_at: w.departure_at,
                need_wh: w.need_wh.ceil(),
                phases: phase_count(p.phases),
                currents_a: p.currents.iter().map(|&c| amps(c)).collect(),
                planned_wh: wh(p.delivered_wh),
                unmet_wh: wh(p.unmet_wh),
                unmet: p.unmet.as_ref().map(|u| match u {
                    Unmet::WindowTooShort => {
                        "the car cannot take that much before it leaves, even at its maximum"
                            .to_owned()
                    }
                    Unmet::Capacity { limit } => {
                        format!("not enough room: the {limit} is full")
                    }
                }),
                cost: Decimal::new(p.cost, 6).round_dp(4),
            }
        })
        .collect();
    Ok(SitePlan {
        made_at: now,
        start,
        slot_minutes: SLOT_SECS / 60,
        bidding_zone: zone.code().to_owned(),
        currency,
        prices,
        sessions: planned,
        config_version,
    })
}

/// The plan's current for a session in the slot containing `now`: `None`
/// when the plan does not cover the session or the moment.
pub fn current_now(
    plan: &SitePlan,
    station: &StationId,
    evse_id: u32,
    tx: &str,
    now: Timestamp,
) -> Option<Current> {
    let i = plan.slot_at(now)?;
    let s = plan
        .sessions
        .iter()
        .find(|s| &s.station_id == station && s.evse_id == evse_id && s.transaction_id == tx)?;
    s.currents_a.get(i).map(|&a| load_of(a))
}

/// Whether a stored plan can still be followed: same slot, same
/// configuration, and the same sessions with the same needs.
pub fn still_good(plan: &SitePlan, config_version: u64, now: Timestamp, wanted: &[Wanted]) -> bool {
    plan.config_version == config_version
        && plan.slot_at(now).is_some()
        && plan.slot_at(now) == plan.slot_at(plan.made_at)
        && plan.sessions.len() == wanted.len()
        && wanted.iter().all(|w| {
            w.set_at <= plan.made_at
                && plan.sessions.iter().any(|s| {
                    s.station_id == w.station
                        && s.evse_id == w.evse_id
                        && s.transaction_id == w.transaction_id
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::load::NeedSource;

    fn need() -> ChargingNeed {
        ChargingNeed {
            source: NeedSource::Driver,
            transaction_id: None,
            energy_wh: Some(Decimal::from(20_000)),
            target_soc: None,
            battery_wh: None,
            soc: None,
            departure_at: None,
            car_max_a: None,
            set_at: Timestamp::default(),
            base_wh: Some(Decimal::from(1_000)),
        }
    }

    #[test]
    fn what_is_left_counts_off_what_was_charged_or_follows_the_soc() {
        let n = need();
        assert_eq!(
            remaining_wh(&n, None, Some(Decimal::from(6_000))),
            Some(Decimal::from(15_000))
        );
        assert_eq!(
            remaining_wh(&n, None, Some(Decimal::from(40_000))),
            Some(Decimal::ZERO)
        );
        assert_eq!(remaining_wh(&n, None, None), Some(Decimal::from(20_000)));
        let soc = ChargingNeed {
            target_soc: Some(Decimal::from(80)),
            battery_wh: Some(Decimal::from(60_000)),
            ..n
        };
        // 80 % − 35 % of 60 kWh.
        assert_eq!(
            remaining_wh(&soc, Some(Decimal::from(35)), None),
            Some(Decimal::from(27_000))
        );
    }

    #[test]
    fn a_need_whose_figures_overflow_is_no_need_rather_than_a_panic() {
        let huge = ChargingNeed {
            target_soc: Some(Decimal::from(100)),
            battery_wh: Some(Decimal::MAX),
            ..need()
        };
        assert_eq!(remaining_wh(&huge, Some(Decimal::MIN), None), None);
        let n = ChargingNeed {
            energy_wh: Some(Decimal::MIN),
            base_wh: Some(Decimal::MIN),
            ..need()
        };
        assert_eq!(remaining_wh(&n, None, Some(Decimal::MAX)), None);
    }

    #[test]
    fn slots_start_on_the_quarter_hour() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:44:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(slot_start(t).to_rfc3339(), "2026-11-23T10:30:00+00:00");
    }
}
