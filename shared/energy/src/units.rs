//! Electrical units and time as small integer newtypes.
//!
//! Currents are whole **deciamperes** (0.1 A): OCPP charging profiles carry
//! limits with one decimal, so every value the engine hands out can be sent to
//! a charger unchanged — no rounding at the edge that could push a sum over a
//! fuse. Integers also make the fuse check exact and the engine fast.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A current in deciamperes (0.1 A). `Current::amps(16)` is 16.0 A.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Current(u32);

impl Current {
    pub const ZERO: Current = Current(0);

    /// Whole amperes.
    pub const fn amps(a: u32) -> Self {
        Current(a * 10)
    }

    /// Deciamperes (0.1 A steps).
    pub const fn from_deciamps(da: u32) -> Self {
        Current(da)
    }

    pub const fn deciamps(self) -> u32 {
        self.0
    }

    /// For limits (fuses, EVSE maxima): rounds *down*, so a limit never
    /// grows by parsing. Negative and non-finite values are `None`.
    pub fn from_amps_floor(a: f64) -> Option<Self> {
        Self::from_f64(a, f64::floor)
    }

    /// For measured loads (building, car draw): rounds *up*, so a load never
    /// shrinks by parsing. Negative and non-finite values are `None`.
    pub fn from_amps_ceil(a: f64) -> Option<Self> {
        Self::from_f64(a, f64::ceil)
    }

    fn from_f64(a: f64, round: fn(f64) -> f64) -> Option<Self> {
        let da = round(a * 10.0);
        (a.is_finite() && a >= 0.0 && da <= f64::from(u32::MAX)).then_some(Current(da as u32))
    }

    pub fn as_amps_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} A", self.0 / 10, self.0 % 10)
    }
}

/// A conductor of the grid connection (or, for an EVSE, of its own terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    L1,
    L2,
    L3,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::L1, Phase::L2, Phase::L3];

    pub const fn index(self) -> usize {
        match self {
            Phase::L1 => 0,
            Phase::L2 => 1,
            Phase::L3 => 2,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::L1 => "L1",
            Phase::L2 => "L2",
            Phase::L3 => "L3",
        })
    }
}

/// How many phases something uses: an EVSE's wiring, a car's on-board
/// charger, or what the engine tells an EVSE to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phases {
    One,
    Three,
}

impl Phases {
    pub const fn count(self) -> u32 {
        match self {
            Phases::One => 1,
            Phases::Three => 3,
        }
    }
}

/// One current per phase, indexed by [`Phase`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhaseCurrents(pub [Current; 3]);

impl PhaseCurrents {
    /// The same value on all three phases (the usual fuse).
    pub const fn uniform(c: Current) -> Self {
        PhaseCurrents([c, c, c])
    }

    pub const fn get(&self, p: Phase) -> Current {
        self.0[p.index()]
    }

    pub fn max(&self) -> Current {
        self.0.into_iter().max().unwrap_or(Current::ZERO)
    }
}

/// A moment as Unix seconds. The engine only compares and subtracts
/// moments, so it needs no calendar (and no `chrono` dependency).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn plus_secs(self, s: u32) -> Timestamp {
        Timestamp(self.0.saturating_add(s as i64))
    }

    pub const fn secs_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_rounds_limits_down_and_loads_up() {
        assert_eq!(
            Current::from_amps_floor(6.49),
            Some(Current::from_deciamps(64))
        );
        assert_eq!(
            Current::from_amps_ceil(6.41),
            Some(Current::from_deciamps(65))
        );
        assert_eq!(Current::from_amps_floor(-1.0), None);
        assert_eq!(Current::from_amps_ceil(f64::NAN), None);
        assert_eq!(Current::from_deciamps(64).to_string(), "6.4 A");
    }
}
