//! Meter readings, normalised to base units at the edge.
//!
//! Chargers report energy in Wh or kWh (1.6 `unit`, 2.0.1 `unitOfMeasure` with a
//! power-of-ten `multiplier`), power in W or kW, and so on. Readings are stored
//! in base units (Wh, W, A, V, var, varh, VA, Percent, Celsius, Hz) so that
//! every later computation is unit-free.

use crate::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub const ENERGY_IMPORT_REGISTER: &str = "Energy.Active.Import.Register";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Scale `value` given in `unit` × 10^`multiplier` to the base unit.
/// Returns the value and the base unit's name.
pub fn normalise(value: Decimal, unit: &str, multiplier: i32) -> (Decimal, String) {
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
    let mut v = value * factor;
    if multiplier > 0 {
        for _ in 0..multiplier.min(28) {
            v *= Decimal::TEN;
        }
    } else if multiplier < 0 {
        for _ in 0..(-multiplier).min(28) {
            v /= Decimal::TEN;
        }
    }
    (v.normalize(), base.to_owned())
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
        Some(phases.iter().map(|r| r.value).sum())
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
        assert_eq!(normalise(d("1.5"), "kWh", 0), (d("1500"), "Wh".into()));
        assert_eq!(normalise(d("7"), "Wh", 3), (d("7000"), "Wh".into()));
        assert_eq!(normalise(d("12345"), "Wh", -1), (d("1234.5"), "Wh".into()));
        assert_eq!(normalise(d("11"), "kW", 0), (d("11000"), "W".into()));
        assert_eq!(normalise(d("16.2"), "A", 0), (d("16.2"), "A".into()));
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
        assert_eq!(energy_register(&[r("SoC", None, None, "50")]), None);
    }
}
