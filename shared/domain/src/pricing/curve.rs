//! The energy register over a session, and energy between two instants.
//!
//! Chargers report the register at intervals (a minute, fifteen, or only at
//! start and stop). Between two readings the energy is taken to have flowed
//! at a constant rate — linear interpolation — which is the only assumption
//! that never invents energy: before the first and after the last known point
//! nothing is assumed, and the curve's total is exactly stop − start.
//!
//! Registers come from chargers: no operator here may overflow or panic
//! (clippy's `arithmetic_side_effects` is denied in this module).
#![deny(clippy::arithmetic_side_effects)]

use crate::Timestamp;
use rust_decimal::Decimal;

/// Cumulative energy is kept to this many decimals of a Wh when it is cut at
/// a boundary: a milliwatt-hour is far below what any meter resolves, and a
/// fixed precision keeps every line's quantity short and exact.
const CUM_DP: u32 = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct EnergyCurve {
    /// Strictly increasing times, non-decreasing Wh, at least one point;
    /// Wh relative to the session's start register.
    points: Vec<(Timestamp, Decimal)>,
    /// Why readings were left out, for the priced session's warnings.
    pub warnings: Vec<String>,
}

impl EnergyCurve {
    /// Build the curve of a session that ran `[start, end]` with the start and
    /// stop register values (if known) and register `readings` in any order.
    ///
    /// Readings outside the session, outside `[meter_start, meter_stop]`, or
    /// lower than an earlier reading (a glitch or a meter swap) are left out
    /// with a warning. Readings at the same instant keep the highest value.
    /// Without usable start and stop values the curve is flat (no energy).
    pub fn build(
        start: Timestamp,
        end: Timestamp,
        meter_start: Option<Decimal>,
        meter_stop: Option<Decimal>,
        readings: &[(Timestamp, Decimal)],
    ) -> Self {
        let mut warnings = Vec::new();
        let end = end.max(start);
        let (first, last, total) = match (meter_start, meter_stop) {
            // The difference must fit a decimal too (registers −max and +max).
            (Some(a), Some(b)) if b >= a && b.checked_sub(a).is_some() => {
                (a, b, b.checked_sub(a).unwrap_or(Decimal::ZERO))
            }
            (Some(a), Some(b)) if b >= a => {
                warnings.push(format!(
                    "start register {a} Wh and stop register {b} Wh are too far apart: no energy priced"
                ));
                return Self::flat(start, end, warnings);
            }
            (Some(a), Some(b)) => {
                warnings.push(format!(
                    "stop register {b} Wh is below start register {a} Wh (meter replaced?): no energy priced"
                ));
                return Self::flat(start, end, warnings);
            }
            _ => {
                warnings.push("no start or stop register: no energy priced".to_owned());
                return Self::flat(start, end, warnings);
            }
        };
        let mut sorted: Vec<(Timestamp, Decimal)> = readings.to_vec();
        // Highest value first within an instant, so dedup keeps it.
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        sorted.dedup_by_key(|p| p.0);
        let mut points = vec![(start, Decimal::ZERO)];
        let mut dropped = 0usize;
        for (t, wh) in sorted {
            if t <= start || t >= end {
                continue;
            }
            let prev = points.last().map_or(Decimal::ZERO, |p| p.1);
            // `first <= wh <= last` once it fits, and `last - first` does.
            let Some(rel) = wh.checked_sub(first) else {
                dropped = dropped.saturating_add(1);
                continue;
            };
            if wh > last || rel < prev {
                dropped = dropped.saturating_add(1);
                continue;
            }
            points.push((t, rel));
        }
        if dropped > 0 {
            warnings.push(format!(
                "{dropped} register reading(s) outside the start–stop range or going backwards were left out"
            ));
        }
        if end > start {
            points.push((end, total));
        } else {
            // A zero-length session: all its energy sits at one instant.
            points[0].1 = total;
        }
        EnergyCurve { points, warnings }
    }

    fn flat(start: Timestamp, end: Timestamp, warnings: Vec<String>) -> Self {
        let mut points = vec![(start, Decimal::ZERO)];
        if end > start {
            points.push((end, Decimal::ZERO));
        }
        EnergyCurve { points, warnings }
    }

    pub fn start(&self) -> Timestamp {
        self.points[0].0
    }

    /// The last point; there is always one (the start).
    fn last(&self) -> (Timestamp, Decimal) {
        self.points.last().copied().unwrap_or(self.points[0])
    }

    pub fn end(&self) -> Timestamp {
        self.last().0
    }

    /// Energy of the whole session, Wh.
    pub fn total(&self) -> Decimal {
        self.last().1
    }

    /// Energy delivered from the start until `t`, Wh, to `CUM_DP` (3) decimals.
    /// Exact at the start and at the end, so differences over a partition of
    /// the session sum to exactly [`total`](Self::total).
    pub fn at(&self, t: Timestamp) -> Decimal {
        if t <= self.points[0].0 {
            return self.points[0].1;
        }
        let (end, total) = self.last();
        if t >= end {
            return total;
        }
        // Strictly between the first and the last point: 1 <= i < len.
        let i = self.points.partition_point(|p| p.0 <= t);
        let (t0, e0) = self.points[i.saturating_sub(1)];
        let (t1, e1) = self.points[i];
        if t == t0 || e1 == e0 {
            return e0;
        }
        // Any two instants chrono knows are less than i64 milliseconds apart.
        let span = Decimal::from(t1.signed_duration_since(t0).num_milliseconds());
        let part = Decimal::from(t.signed_duration_since(t0).num_milliseconds());
        // 0 <= e0 <= e1 <= total and part < span: the result lies in
        // [e0, e1]. Multiplying first keeps the most precision; when that
        // does not fit, the ratio (at most 1) is taken first.
        let rise = e1.checked_sub(e0).unwrap_or(Decimal::ZERO);
        let delta = rise
            .checked_mul(part)
            .and_then(|v| v.checked_div(span))
            .or_else(|| part.checked_div(span).and_then(|r| rise.checked_mul(r)))
            .unwrap_or(Decimal::ZERO);
        e0.checked_add(delta).unwrap_or(e1).round_dp(CUM_DP)
    }

    /// When charging stopped: the end of the last interval in which the
    /// register rose (the start when it never rose).
    pub fn last_rise(&self) -> Timestamp {
        self.points
            .windows(2)
            .rev()
            .find(|w| w[1].1 > w[0].1)
            .map_or(self.points[0].0, |w| w[1].0)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn t(min: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn interpolates_between_readings_and_never_beyond() {
        let c = EnergyCurve::build(
            t(0),
            t(60),
            Some(d(1000)),
            Some(d(4000)),
            &[(t(30), d(3000))],
        );
        assert_eq!(c.total(), d(3000));
        assert_eq!(c.at(t(15)), d(1000));
        assert_eq!(c.at(t(30)), d(2000));
        assert_eq!(c.at(t(45)), d(2500));
        assert_eq!(c.at(t(-5)), d(0));
        assert_eq!(c.at(t(90)), d(3000));
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn glitches_are_left_out_with_a_warning() {
        let c = EnergyCurve::build(
            t(0),
            t(60),
            Some(d(1000)),
            Some(d(4000)),
            &[
                (t(10), d(2000)),
                (t(20), d(1500)),
                (t(30), d(9000)),
                (t(70), d(5000)),
            ],
        );
        assert_eq!(c.points.len(), 3);
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.total(), d(3000));
    }

    #[test]
    fn last_rise_is_when_charging_stopped() {
        let c = EnergyCurve::build(
            t(0),
            t(120),
            Some(d(0)),
            Some(d(5000)),
            &[(t(30), d(4000)), (t(60), d(5000)), (t(90), d(5000))],
        );
        assert_eq!(c.last_rise(), t(60));
        let flat = EnergyCurve::build(t(0), t(10), None, None, &[]);
        assert_eq!(flat.last_rise(), t(0));
        assert_eq!(flat.total(), d(0));
        assert_eq!(flat.warnings.len(), 1);
    }
}
