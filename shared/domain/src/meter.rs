//! Meter readings, normalised to base units and bounded at the edge.
//!
//! Chargers report energy in Wh or kWh (1.6 `unit`, 2.0.1 `unitOfMeasure` with a
//! power-of-ten `multiplier`), power in W or kW, and so on. Readings are stored
//! in base units (Wh, W, A, V, var, varh, VA, Percent, Celsius, Hz) so that
//! every later computation is unit-free.
//!
//! A charger's numbers are outside data: firmware bugs and attackers send
//! registers of 10^28 kWh or multipliers of 28. [`normalise`] therefore scales
//! with checked arithmetic and refuses any value outside the physically
//! plausible range of its base unit ([`limits`]); every later sum or
//! difference of readings then stays far below `Decimal::MAX`, and still uses
//! checked operations because records stored before these bounds existed may
//! hold anything. The module denies clippy's `arithmetic_side_effects` lint so
//! that a bare `+ - * /` cannot creep back in.

#![deny(clippy::arithmetic_side_effects)]

use crate::Timestamp;
use rust_decimal::Decimal;

pub const ENERGY_IMPORT_REGISTER: &str = "Energy.Active.Import.Register";

/// The largest power-of-ten `multiplier` (2.0.1 `unitOfMeasure`) accepted,
/// either way: −9..=9 covers nano to giga, every prefix a meter uses.
pub const MAX_MULTIPLIER: i32 = 9;

/// Largest |energy| in Wh/varh: 10^12 Wh = 1 TWh. An 8-digit kWh register
/// (the widest meters in chargers) tops out at 10^11 Wh; a 350 kW charger
/// running non-stop for 300 years stays below 10^12.
pub const MAX_ENERGY_WH: i64 = 1_000_000_000_000;
/// Largest |power| in W/var/VA: 10 MW, far above any charging site's connection.
pub const MAX_POWER_W: i64 = 10_000_000;
/// Largest |current| in A: 100 kA.
pub const MAX_CURRENT_A: i64 = 100_000;
/// Largest |voltage| in V: 100 kV (a medium-voltage grid meter).
pub const MAX_VOLTAGE_V: i64 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterReading {
    pub timestamp: Timestamp,
    pub measurand: String,
    pub phase: Option<String>,
    pub location: Option<String>,
    pub context: Option<String>,
    /// Value in `unit`, already scaled to the base unit.
    pub value: Decimal,
    pub unit: String,
}

/// Unit a measurand has when the charger names none (OCPP 1.6 §7.31/7.45; 2.0.1
/// defaults `unitOfMeasure.unit` to "Wh" but that only makes sense for energy).
pub fn default_unit(measurand: &str) -> &'static str {
    if measurand.starts_with("Energy.Reactive") {
        "varh"
    } else if measurand.starts_with("Energy") {
        "Wh"
    } else if measurand.starts_with("Power.Reactive") {
        "var"
    } else if measurand.starts_with("Power.Factor") {
        ""
    } else if measurand.starts_with("Power") {
        "W"
    } else if measurand.starts_with("Current") {
        "A"
    } else if measurand == "Voltage" {
        "V"
    } else if measurand == "SoC" {
        "Percent"
    } else if measurand == "Temperature" {
        "Celsius"
    } else if measurand == "Frequency" {
        "Hz"
    } else if measurand == "RPM" {
        "RPM"
    } else {
        ""
    }
}

/// Why a sampled value was not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingError {
    #[error("multiplier {0} is outside -{MAX_MULTIPLIER}..={MAX_MULTIPLIER}")]
    Multiplier(i32),
    #[error(
        "{value} {unit} (x10^{multiplier}) is outside the plausible range {min}..={max} {base}"
    )]
    OutOfRange {
        value: Decimal,
        unit: String,
        multiplier: i32,
        base: String,
        min: Decimal,
        max: Decimal,
    },
}

fn symmetric(max: i64) -> (Decimal, Decimal) {
    (Decimal::from(max.saturating_neg()), Decimal::from(max))
}

/// The plausible range (inclusive) of a value in base unit `unit`. A unit we
/// do not know still gets a bound (the energy one), so that no value the
/// charger can send makes a later sum or difference overflow.
pub fn limits(unit: &str) -> (Decimal, Decimal) {
    match unit {
        "Wh" | "varh" => symmetric(MAX_ENERGY_WH),
        "W" | "var" | "VA" => symmetric(MAX_POWER_W),
        "A" => symmetric(MAX_CURRENT_A),
        "V" => symmetric(MAX_VOLTAGE_V),
        // SoC, the only measurand 1.6 and 2.0.1 report in percent.
        "Percent" => (Decimal::ZERO, Decimal::ONE_HUNDRED),
        // From absolute zero to far above any cable or cabinet.
        "Celsius" => (Decimal::new(-27315, 2), Decimal::from(1_000)),
        "Fahrenheit" => (Decimal::new(-45967, 2), Decimal::from(2_000)),
        "K" => (Decimal::ZERO, Decimal::from(1_300)),
        "Hz" => (Decimal::ZERO, Decimal::from(10_000)),
        "RPM" => (Decimal::ZERO, Decimal::from(1_000_000)),
        _ => symmetric(MAX_ENERGY_WH),
    }
}

/// Scale `value` given in `unit` × 10^`multiplier` to the base unit.
/// Returns the value and the base unit's name, or why the value is not
/// plausible: a multiplier outside −9..=9, or a scaled value outside
/// [`limits`] of its base unit (which includes every value whose scaling
/// would overflow a `Decimal`).
pub fn normalise(
    value: Decimal,
    unit: &str,
    multiplier: i32,
) -> Result<(Decimal, String), ReadingError> {
    if !(-MAX_MULTIPLIER..=MAX_MULTIPLIER).contains(&multiplier) {
        return Err(ReadingError::Multiplier(multiplier));
    }
    let (factor, base) = match unit {
        "kWh" => (Decimal::ONE_THOUSAND, "Wh"),
        "kW" => (Decimal::ONE_THOUSAND, "W"),
        "kvarh" => (Decimal::ONE_THOUSAND, "varh"),
        "kvar" => (Decimal::ONE_THOUSAND, "var"),
        "kVA" => (Decimal::ONE_THOUSAND, "VA"),
        // 1.6 spells it "Celcius" in its enum; keep one spelling.
        "Celcius" => (Decimal::ONE, "Celsius"),
        other => (Decimal::ONE, other),
    };
    let (min, max) = limits(base);
    let out_of_range = || ReadingError::OutOfRange {
        value,
        unit: unit.to_owned(),
        multiplier,
        base: base.to_owned(),
        min,
        max,
    };
    let power = 10i64
        .checked_pow(multiplier.unsigned_abs())
        .map(Decimal::from)
        .ok_or_else(out_of_range)?;
    let scaled = value.checked_mul(factor).and_then(|v| {
        if multiplier >= 0 {
            v.checked_mul(power)
        } else {
            v.checked_div(power)
        }
    });
    match scaled {
        Some(v) if v >= min && v <= max => Ok((v.normalize(), base.to_owned())),
        _ => Err(out_of_range()),
    }
}

/// The session-relevant energy register in a group of readings taken at one
/// instant: the phase-less `Energy.Active.Import.Register` at the outlet (the
/// default location), else at any location, else the sum over phases.
pub fn energy_register(readings: &[MeterReading]) -> Option<Decimal> {
    let reg: Vec<&MeterReading> = readings
        .iter()
        .filter(|r| r.measurand == ENERGY_IMPORT_REGISTER && r.unit == "Wh")
        .collect();
    let outlet = |r: &&&MeterReading| r.location.as_deref().is_none_or(|l| l == "Outlet");
    if let Some(r) = reg.iter().filter(|r| r.phase.is_none()).find(outlet) {
        return Some(r.value);
    }
    if let Some(r) = reg.iter().find(|r| r.phase.is_none()) {
        return Some(r.value);
    }
    let phases: Vec<&&MeterReading> = reg
        .iter()
        .filter(|r| matches!(r.phase.as_deref(), Some("L1" | "L2" | "L3")))
        .collect();
    if phases.is_empty() {
        None
    } else {
        // Checked: records stored before the bounds in `normalise` may hold
        // registers whose sum overflows; such a group has no register. And
        // bounded like a single register: three plausible phases can add up
        // to an implausible total, which must not become a session's start
        // or stop value.
        let limit = Decimal::from(MAX_ENERGY_WH);
        phases
            .iter()
            .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(r.value))
            .filter(|sum| sum.abs() <= limit)
    }
}

/// Group readings by timestamp and return each instant's energy register.
pub fn energy_registers(readings: &[MeterReading]) -> Vec<(Timestamp, Decimal)> {
    let mut stamps: Vec<Timestamp> = readings.iter().map(|r| r.timestamp).collect();
    stamps.sort();
    stamps.dedup();
    stamps
        .into_iter()
        .filter_map(|t| {
            let at: Vec<MeterReading> = readings
                .iter()
                .filter(|r| r.timestamp == t)
                .cloned()
                .collect();
            energy_register(&at).map(|wh| (t, wh))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn units_scale_to_base() {
        let ok = |v: &str, unit: &str| Ok((d(v), unit.to_owned()));
        assert_eq!(normalise(d("1.5"), "kWh", 0), ok("1500", "Wh"));
        assert_eq!(normalise(d("7"), "Wh", 3), ok("7000", "Wh"));
        assert_eq!(normalise(d("12345"), "Wh", -1), ok("1234.5", "Wh"));
        assert_eq!(normalise(d("11"), "kW", 0), ok("11000", "W"));
        assert_eq!(normalise(d("16.2"), "A", 0), ok("16.2", "A"));
        assert_eq!(normalise(d("21.5"), "Celcius", 0), ok("21.5", "Celsius"));
    }

    #[test]
    fn values_that_would_overflow_are_refused_not_panicked_on() {
        let max = Decimal::MAX;
        assert!(matches!(
            normalise(max, "kWh", 0),
            Err(ReadingError::OutOfRange { .. })
        ));
        assert!(normalise(Decimal::MIN, "kWh", 9).is_err());
        assert_eq!(
            normalise(d("1"), "Wh", 28),
            Err(ReadingError::Multiplier(28))
        );
        assert_eq!(
            normalise(d("1"), "Wh", i32::MIN),
            Err(ReadingError::Multiplier(i32::MIN))
        );
        assert!(normalise(max, "Wh", -9).is_err(), "still 10^19 Wh");
        assert_eq!(
            normalise(d("0.000000000000000000000000001"), "Wh", -9),
            Ok((Decimal::ZERO, "Wh".into())),
            "underflow rounds to zero"
        );
    }

    #[test]
    fn each_unit_has_a_plausible_range() {
        assert!(normalise(d("1000000000"), "kWh", 0).is_ok(), "1 TWh");
        assert!(normalise(d("1000000001"), "kWh", 0).is_err());
        assert!(normalise(d("-1000000000000"), "Wh", 0).is_ok());
        assert!(normalise(d("10001"), "kW", 0).is_err(), "over 10 MW");
        assert!(normalise(d("100001"), "A", 0).is_err());
        assert!(normalise(d("100001"), "V", 0).is_err());
        assert!(normalise(d("101"), "Percent", 0).is_err());
        assert!(normalise(d("-1"), "Percent", 0).is_err());
        assert!(normalise(d("-274"), "Celsius", 0).is_err());
        assert!(normalise(d("-1"), "Hz", 0).is_err());
        assert!(normalise(d("2"), "", 12).is_err(), "10^12 multiplier");
        assert!(normalise(d("1000000000001"), "Whatever", 0).is_err());
    }

    #[test]
    fn phase_registers_at_the_limit_of_old_records_do_not_overflow() {
        let max = |p| MeterReading {
            value: Decimal::MAX,
            ..r(ENERGY_IMPORT_REGISTER, Some(p), None, "0")
        };
        assert_eq!(energy_register(&[max("L1"), max("L2"), max("L3")]), None);
    }

    fn r(measurand: &str, phase: Option<&str>, location: Option<&str>, v: &str) -> MeterReading {
        MeterReading {
            timestamp: chrono::Utc::now(),
            measurand: measurand.into(),
            phase: phase.map(Into::into),
            location: location.map(Into::into),
            context: None,
            value: d(v),
            unit: default_unit(measurand).into(),
        }
    }

    #[test]
    fn register_prefers_phaseless_outlet() {
        let rs = vec![
            r(ENERGY_IMPORT_REGISTER, None, Some("Inlet"), "10"),
            r(ENERGY_IMPORT_REGISTER, None, None, "20"),
            r("Power.Active.Import", None, None, "7000"),
        ];
        assert_eq!(energy_register(&rs), Some(d("20")));
        let phases = vec![
            r(ENERGY_IMPORT_REGISTER, Some("L1"), None, "1"),
            r(ENERGY_IMPORT_REGISTER, Some("L2"), None, "2"),
            r(ENERGY_IMPORT_REGISTER, Some("L3"), None, "3"),
        ];
        assert_eq!(energy_register(&phases), Some(d("6")));
        let at_the_bound = MAX_ENERGY_WH.to_string();
        let too_much = vec![
            r(
                ENERGY_IMPORT_REGISTER,
                Some("L1"),
                None,
                &format!("-{at_the_bound}"),
            ),
            r(
                ENERGY_IMPORT_REGISTER,
                Some("L2"),
                None,
                &format!("-{at_the_bound}"),
            ),
            r(
                ENERGY_IMPORT_REGISTER,
                Some("L3"),
                None,
                &format!("-{at_the_bound}"),
            ),
        ];
        assert_eq!(
            energy_register(&too_much),
            None,
            "three plausible phases summing beyond the energy bound are no register"
        );
        assert_eq!(energy_register(&[r("SoC", None, None, "50")]), None);
    }
}
