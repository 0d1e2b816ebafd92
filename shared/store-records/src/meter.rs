//! Meter readings as stored by the embedded store: a [`StoredMeterReading`],
//! with `null` for an absent phase, location or context and the value in
//! the base unit. The DynamoDB store keeps readings as items of named
//! attributes (its own item struct), so only the embedded store writes this
//! form.

use crate::Record;
use chrono::{DateTime, Utc};
use csms_domain::meter::MeterReading;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMeterReading {
    #[serde(rename = "timestamp")]
    pub timestamp: DateTime<Utc>,
    /// OCPP's measurand name.
    #[serde(rename = "measurand")]
    pub measurand: String,
    #[serde(rename = "phase", default)]
    pub phase: Option<String>,
    #[serde(rename = "location", default)]
    pub location: Option<String>,
    #[serde(rename = "context", default)]
    pub context: Option<String>,
    #[serde(rename = "value")]
    pub value: Decimal,
    #[serde(rename = "unit")]
    pub unit: String,
}

impl From<&MeterReading> for StoredMeterReading {
    fn from(r: &MeterReading) -> Self {
        let MeterReading {
            timestamp,
            measurand,
            phase,
            location,
            context,
            value,
            unit,
        } = r;
        StoredMeterReading {
            timestamp: *timestamp,
            measurand: measurand.clone(),
            phase: phase.clone(),
            location: location.clone(),
            context: context.clone(),
            value: *value,
            unit: unit.clone(),
        }
    }
}

impl From<StoredMeterReading> for MeterReading {
    fn from(r: StoredMeterReading) -> Self {
        let StoredMeterReading {
            timestamp,
            measurand,
            phase,
            location,
            context,
            value,
            unit,
        } = r;
        MeterReading {
            timestamp,
            measurand,
            phase,
            location,
            context,
            value,
            unit,
        }
    }
}

impl Record for MeterReading {
    type Stored = StoredMeterReading;
}
