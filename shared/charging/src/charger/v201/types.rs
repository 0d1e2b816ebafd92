//! Types shared by several 2.0.1 actions.
//!
//! Meter values are turned into numbers here: no unchecked arithmetic.

#![deny(clippy::arithmetic_side_effects)]

use crate::charger::wire::{
    charger_time, decimal_from_json, format_time, reading, Dropped, Sample,
};
use crate::charger::HandlerError;
use csms_domain::meter::MeterReading;
use csms_domain::token::{lookup_value, Authorization, IdTokenType};
use csms_domain::{IdTokenValue, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdToken {
    pub id_token: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl IdToken {
    /// The value with its type (`None`: a type this CSMS does not know).
    /// `NoAuthorization` tokens (free vend) carry no identity: `None`
    /// altogether. A `MacAddress` is normalised
    /// ([`csms_domain::token::normalise_mac`]) before it is looked up.
    pub fn typed(&self) -> Result<Option<(IdTokenValue, Option<IdTokenType>)>, HandlerError> {
        if self.kind == "NoAuthorization" {
            return Ok(None);
        }
        let declared = IdTokenType::parse(&self.kind);
        // A 2.0.1 type is given: only `MacAddress` is normalised.
        let (value, _) = match declared {
            Some(IdTokenType::MacAddress) => lookup_value(&self.id_token, declared),
            _ => (self.id_token.clone(), declared),
        };
        IdTokenValue::parse(value)
            .map(|v| Some((v, declared)))
            .map_err(|e| HandlerError::field("idToken.idToken", &self.id_token, e))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTokenInfo {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_expiry_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id_token: Option<GroupIdToken>,
}

/// `groupIdToken`: an `IdTokenType`; the parent id's type is not kept, so
/// it is `Central` (an id the CSMS gives out).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupIdToken {
    pub id_token: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl From<Authorization> for IdTokenInfo {
    fn from(a: Authorization) -> Self {
        IdTokenInfo {
            status: a.status.as_str(),
            cache_expiry_date_time: a.expires_at.map(format_time),
            group_id_token: a.parent_id.map(|p| GroupIdToken {
                id_token: p.as_str().to_owned(),
                kind: "Central",
            }),
        }
    }
}

impl IdTokenInfo {
    pub fn accepted() -> Self {
        IdTokenInfo {
            status: "Accepted",
            cache_expiry_date_time: None,
            group_id_token: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evse {
    pub id: u32,
    pub connector_id: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    pub timestamp: String,
    pub sampled_value: Vec<SampledValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    pub value: serde_json::Number,
    pub context: Option<String>,
    pub measurand: Option<String>,
    pub phase: Option<String>,
    pub location: Option<String>,
    pub unit_of_measure: Option<UnitOfMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitOfMeasure {
    pub unit: Option<String>,
    #[serde(default)]
    pub multiplier: i32,
}

/// Readings in base units (`value × 10^multiplier`, kWh → Wh, …). A sample
/// with an unreadable or implausible timestamp, a multiplier outside −9..=9
/// or a value outside its unit's plausible range is skipped and logged, not
/// the whole message refused: the charger would only resend it. Each is
/// noted in `dropped`.
pub fn readings(values: &[MeterValue], now: Timestamp, dropped: &mut Dropped) -> Vec<MeterReading> {
    let mut out = Vec::new();
    for mv in values {
        let Some(timestamp) = charger_time("meterValue.timestamp", &mv.timestamp, now, dropped)
        else {
            continue;
        };
        for sv in &mv.sampled_value {
            let Some(raw) = decimal_from_json(&sv.value) else {
                dropped.note(
                    "sampledValue.value",
                    &sv.value.to_string(),
                    "beyond a decimal",
                );
                continue;
            };
            let uom = sv.unit_of_measure.as_ref();
            out.extend(reading(
                timestamp,
                Sample {
                    raw,
                    measurand: sv.measurand.as_deref(),
                    unit: uom.and_then(|u| u.unit.as_deref()),
                    multiplier: uom.map_or(0, |u| u.multiplier),
                    phase: &sv.phase,
                    location: &sv.location,
                    context: &sv.context,
                },
                dropped,
            ));
        }
    }
    out
}
