//! From the operator's configuration to the engine's model, and back.
//!
//! The engine knows EVSEs by an opaque id; here that id is
//! `{station}/{evse}` so an allocation finds its charger without a lookup
//! table. Amperes arrive as decimals and become deciamperes: limits round
//! down, loads round up, so parsing never makes room that is not there.

use csms_domain::load::{LoadConfig, LoadMode, PhaseAmps};
use csms_domain::StationId;
use csms_energy::{
    BoardConfig, BoardId, Current, EvseConfig, EvseId, Mode, PhaseCurrents, Phases, Site,
    SiteConfig,
};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashSet;

/// The engine's id of an EVSE.
pub fn evse_key(station: &StationId, evse_id: u32) -> String {
    format!("{station}/{evse_id}")
}

/// The station and EVSE number behind an engine id made by [`evse_key`].
pub fn parse_evse_key(key: &str) -> Option<(StationId, u32)> {
    let (station, evse) = key.rsplit_once('/')?;
    Some((StationId::parse(station).ok()?, evse.parse().ok()?))
}

/// Largest current a fuse may carry: 0 to 10 000 A, cut to 0.1 A downwards.
fn limit(field: &str, a: Decimal) -> Result<Current, String> {
    if a.is_sign_negative() || a > Decimal::from(10_000) {
        return Err(format!("{field}: {a} A is not between 0 and 10000"));
    }
    let da = (a * Decimal::TEN).round_dp_with_strategy(0, RoundingStrategy::ToZero);
    Ok(Current::from_deciamps(
        u32::try_from(da.mantissa() / 10i128.pow(da.scale())).unwrap_or(0),
    ))
}

/// A measured load: negative readings (export) count as 0, rounding goes up.
pub fn load(a: Decimal) -> Current {
    if a.is_sign_negative() {
        return Current::ZERO;
    }
    let da = (a.min(Decimal::from(100_000)) * Decimal::TEN)
        .round_dp_with_strategy(0, RoundingStrategy::AwayFromZero);
    Current::from_deciamps(u32::try_from(da.mantissa() / 10i128.pow(da.scale())).unwrap_or(0))
}

/// Deciamperes back to amperes.
pub fn amps(c: Current) -> Decimal {
    Decimal::new(i64::from(c.deciamps()), 1)
}

pub fn phase_limits(field: &str, p: &PhaseAmps) -> Result<PhaseCurrents, String> {
    Ok(PhaseCurrents([
        limit(&format!("{field}.l1"), p.l1)?,
        limit(&format!("{field}.l2"), p.l2)?,
        limit(&format!("{field}.l3"), p.l3)?,
    ]))
}

pub fn phase_loads(p: &PhaseAmps) -> PhaseCurrents {
    PhaseCurrents([load(p.l1), load(p.l2), load(p.l3)])
}

pub fn phase_amps(c: PhaseCurrents) -> PhaseAmps {
    PhaseAmps::from_array(c.0.map(amps))
}

pub fn phases_of(n: u8) -> Phases {
    if n == 1 {
        Phases::One
    } else {
        Phases::Three
    }
}

pub fn phase_count(p: Phases) -> u8 {
    p.count() as u8
}

/// Checks the configuration and builds the engine's site. Every error names
/// the field, in the API's spelling.
pub fn site(config: &LoadConfig) -> Result<Site, String> {
    let mut margin = limit("marginA", config.margin_a)?;
    if config.meter.is_none() {
        // The margin covers building load that rises between two readings;
        // without a meter there is no building load on this fuse.
        margin = Current::ZERO;
    }
    let mode = match config.mode {
        LoadMode::Static => Mode::Static,
        LoadMode::Dynamic => Mode::Dynamic { margin },
        LoadMode::TrueDynamic => Mode::TrueDynamic {
            margin,
            headroom: limit("headroomA", config.headroom_a)?,
            settle_secs: config.settle_seconds,
        },
    };
    // Truly dynamic without a meter is a dedicated EV supply: no building
    // load, but what a car does not draw still goes to the others.
    if config.mode == LoadMode::Dynamic && config.meter.is_none() {
        return Err(
            "meter: dynamic mode needs a grid meter (a meter station, or {} for readings through the API)"
                .into(),
        );
    }
    if let Some(m) = &config.meter {
        limit("meter.fallbackA", m.fallback_a)?;
        if m.stale_after_seconds == 0 {
            return Err("meter.staleAfterSeconds: at least 1".into());
        }
    }
    if config.evses.is_empty() {
        return Err("evses: at least one EVSE".into());
    }
    if config.evses.len() > 2_000 {
        return Err("evses: at most 2000 per site".into());
    }
    for (group, p) in &config.group_priorities {
        if *p > 9 {
            return Err(format!("groupPriorities.{group}: 0 to 9"));
        }
    }
    if config.rotation_seconds < 60 {
        return Err("rotationSeconds: at least 60".into());
    }
    let boards = config
        .boards
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Ok(BoardConfig {
                id: BoardId::parse(b.id.clone()).map_err(|e| format!("boards[{i}].id: {e}"))?,
                parent: b
                    .parent
                    .clone()
                    .map(BoardId::parse)
                    .transpose()
                    .map_err(|e| format!("boards[{i}].parent: {e}"))?,
                limit: phase_limits(&format!("boards[{i}].fuseA"), &b.fuse_a)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut seen = HashSet::new();
    let evses = config
        .evses
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let f = |what: &str| format!("evses[{i}].{what}");
            if e.evse_id == 0 {
                return Err(format!("{}: EVSEs are numbered from 1", f("evseId")));
            }
            if !seen.insert((e.station_id.clone(), e.evse_id)) {
                return Err(format!(
                    "evses[{i}]: station {} EVSE {} is listed twice",
                    e.station_id, e.evse_id
                ));
            }
            if e.phases != 1 && e.phases != 3 {
                return Err(format!("{}: 1 or 3", f("phases")));
            }
            if e.priority > 9 {
                return Err(format!("{}: 0 to 9", f("priority")));
            }
            if e.pv_surplus && config.meter.is_none() {
                return Err(format!(
                    "{}: PV surplus is what the grid meter shows exported; configure meter",
                    f("pvSurplus")
                ));
            }
            if e.pv_surplus && config.mode == LoadMode::Static {
                return Err(format!(
                    "{}: needs the dynamic or trueDynamic mode (the meter's readings)",
                    f("pvSurplus")
                ));
            }
            if e.phase_switching && e.phases != 3 {
                return Err(format!(
                    "{}: only a three-phase EVSE can switch to one phase",
                    f("phaseSwitching")
                ));
            }
            let min = limit(&f("minA"), e.min_a)?;
            let max = limit(&f("maxA"), e.max_a)?;
            if min == Current::ZERO || min > max {
                return Err(format!(
                    "{}: above 0 and at most maxA ({} A)",
                    f("minA"),
                    e.max_a
                ));
            }
            Ok(EvseConfig {
                id: EvseId::parse(evse_key(&e.station_id, e.evse_id))
                    .map_err(|err| format!("evses[{i}]: {err}"))?,
                board: e
                    .board
                    .clone()
                    .map(BoardId::parse)
                    .transpose()
                    .map_err(|err| format!("{}: {err}", f("board")))?,
                phases_wired: phases_of(e.phases),
                rotation: e.rotation,
                max_current: max,
                min_current: min,
                phase_switching: e.phase_switching,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Site::new(SiteConfig {
        grid: phase_limits("gridFuseA", &config.grid_fuse_a)?,
        boards,
        evses,
        mode,
        power_cap_w: config.power_cap_w,
        voltage: config.voltage,
        rotation_secs: config.rotation_seconds,
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amperes_round_toward_safety() {
        assert_eq!(limit("x", Decimal::new(3299, 2)).unwrap().deciamps(), 329);
        assert_eq!(load(Decimal::new(1201, 2)).deciamps(), 121);
        assert_eq!(load(Decimal::new(-5, 0)), Current::ZERO);
        assert!(limit("x", Decimal::new(-1, 0)).is_err());
        assert_eq!(amps(Current::from_deciamps(64)), Decimal::new(64, 1));
    }

    #[test]
    fn evse_keys_round_trip() {
        let s = StationId::parse("CP-1").unwrap();
        assert_eq!(parse_evse_key(&evse_key(&s, 2)), Some((s, 2)));
        assert_eq!(parse_evse_key("nonsense"), None);
    }
}
