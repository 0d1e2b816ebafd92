//! PV-surplus charging of one EVSE with 1-phase/3-phase switching.
//!
//! The smallest current a car may be given is 6 A, so on three phases the
//! smallest charging power is 6 A × 3 × 230 V ≈ 4.1 kW, on one phase ≈ 1.4 kW.
//! With less surplus than that, three-phase charging would import from the
//! grid, so the EVSE switches to one phase; with more, it switches back to
//! charge faster. The threshold is derived from the EVSE's minimum current and
//! the site voltage rather than configured, so it cannot disagree with them.
//!
//! Each switch interrupts charging (the car's on-board charger restarts) and
//! wears the contactor, so two guards keep a cloud passing over the panels
//! from toggling it: a band of `hysteresis_w` around the threshold, and a
//! minimum time between switches.
//!
//! The decision is an upper bound for [`crate::allocate()`]: the fuses and the
//! site power cap still apply on top of it.

use crate::units::{Current, Phases, Timestamp};
use serde::{Deserialize, Serialize};

/// What PV-surplus charging allows an EVSE right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvDecision {
    pub phases: Phases,
    /// Zero: not enough surplus, pause.
    pub max_current: Current,
}

/// Fixed settings of one EVSE in PV mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvSettings {
    pub min_current: Current,
    pub max_current: Current,
    pub voltage: u32,
    /// Half-width of the band around each threshold in which nothing changes.
    pub hysteresis_w: u32,
    pub min_switch_secs: u32,
    /// The EVSE (and the car) can switch phases; otherwise `phases` stays.
    pub can_switch: bool,
}

impl Default for PvSettings {
    fn default() -> Self {
        PvSettings {
            min_current: Current::amps(6),
            max_current: Current::amps(16),
            voltage: 230,
            hysteresis_w: 300,
            min_switch_secs: 5 * 60,
            can_switch: true,
        }
    }
}

/// What must be remembered between two decisions for one EVSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvState {
    pub phases: Phases,
    pub last_switch: Option<Timestamp>,
}

impl PvState {
    pub fn new(phases: Phases) -> Self {
        PvState {
            phases,
            last_switch: None,
        }
    }

    /// Decides phases and current for `surplus_w` watts of PV surplus
    /// (production minus the building's own consumption; negative means
    /// importing) and updates the state when the phases switch.
    pub fn decide(&mut self, s: &PvSettings, surplus_w: i64, now: Timestamp) -> PvDecision {
        let min_power = |phases: Phases| {
            i64::from(s.min_current.deciamps()) * i64::from(phases.count()) * i64::from(s.voltage)
                / 10
        };
        let hyst = i64::from(s.hysteresis_w);
        let may_switch = self
            .last_switch
            .is_none_or(|t| now.secs_since(t) >= i64::from(s.min_switch_secs));
        if s.can_switch && may_switch {
            let three_min = min_power(Phases::Three);
            let next = match self.phases {
                Phases::One if surplus_w >= three_min + hyst => Phases::Three,
                Phases::Three if surplus_w < three_min - hyst => Phases::One,
                same => same,
            };
            if next != self.phases {
                self.phases = next;
                self.last_switch = Some(now);
            }
        }
        let n = i64::from(self.phases.count());
        let fit = (surplus_w.max(0) * 10 / (i64::from(s.voltage) * n)).min(i64::from(u32::MAX));
        let mut current = Current::from_deciamps(fit as u32).min(s.max_current);
        if current < s.min_current {
            // Within the band below the minimum, keep charging at the minimum
            // (a little import) rather than stop and start on every cloud.
            current = if surplus_w >= min_power(self.phases) - hyst {
                s.min_current
            } else {
                Current::ZERO
            };
        }
        PvDecision {
            phases: self.phases,
            max_current: current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_up_above_threshold_plus_hysteresis_and_not_too_often() {
        let s = PvSettings::default();
        let mut st = PvState::new(Phases::One);
        // 6 A × 3 × 230 V = 4140 W; up at 4440 W.
        let d = st.decide(&s, 4400, Timestamp(0));
        assert_eq!(d.phases, Phases::One);
        assert_eq!(d.max_current, Current::amps(16)); // 4400/230 = 19.1 A, capped
        let d = st.decide(&s, 4440, Timestamp(10));
        assert_eq!(d.phases, Phases::Three);
        assert_eq!(d.max_current, Current::from_deciamps(64)); // 4440/690 = 6.43
                                                               // Surplus collapses right after: no switch back within 5 min; 3 kW is
                                                               // below 3-phase minimum minus hysteresis, so pause.
        let d = st.decide(&s, 3000, Timestamp(100));
        assert_eq!(
            d,
            PvDecision {
                phases: Phases::Three,
                max_current: Current::ZERO
            }
        );
        // In the band just under 4140 W: keep the minimum.
        let d = st.decide(&s, 3900, Timestamp(200));
        assert_eq!(d.max_current, Current::amps(6));
        // After the interval, switch down.
        let d = st.decide(&s, 3000, Timestamp(310));
        assert_eq!(d.phases, Phases::One);
        assert_eq!(d.max_current, Current::from_deciamps(130)); // 3000/230 = 13.04
    }

    #[test]
    fn pauses_without_surplus_and_never_switches_when_it_cannot() {
        let s = PvSettings {
            can_switch: false,
            ..PvSettings::default()
        };
        let mut st = PvState::new(Phases::Three);
        let d = st.decide(&s, 2000, Timestamp(0));
        assert_eq!(
            d,
            PvDecision {
                phases: Phases::Three,
                max_current: Current::ZERO
            }
        );
        let mut one = PvState::new(Phases::One);
        assert_eq!(
            one.decide(&s, -500, Timestamp(0)).max_current,
            Current::ZERO
        );
        // 1380 W minimum on one phase, band down to 1080 W.
        assert_eq!(
            one.decide(&s, 1100, Timestamp(0)).max_current,
            Current::amps(6)
        );
    }
}
