//! Types shared by several 1.6 actions.
//!
//! Meter values are turned into numbers here: no unchecked arithmetic.

#![deny(clippy::arithmetic_side_effects)]

use crate::charger::wire::{charger_time, decimal_from_str, format_time, reading, Dropped, Sample};
use csms_domain::meter::MeterReading;
use csms_domain::token::Authorization;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTagInfo {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_tag: Option<String>,
}

impl From<Authorization> for IdTagInfo {
    fn from(a: Authorization) -> Self {
        IdTagInfo {
            // 1.6 has no `NotAtThisTime`: a token not valid yet is `Invalid`.
            status: a.status.as_v16_str(),
            expiry_date: a.expires_at.map(format_time),
            parent_id_tag: a.parent_id.map(|p| p.as_str().to_owned()),
        }
    }
}

/// An idTag as looked up: a `VID:` AutoCharge tag holding a MAC address is
/// normalised ([`csms_domain::token::normalise_mac`]) and typed `MacAddress`.
pub fn id_tag(
    raw: &str,
) -> Result<
    (
        csms_domain::IdTokenValue,
        Option<csms_domain::token::IdTokenType>,
    ),
    crate::charger::HandlerError,
> {
    let (value, kind) = csms_domain::token::lookup_value(raw, None);
    let value = csms_domain::IdTokenValue::parse(value)
        .map_err(|e| crate::charger::HandlerError::field("idTag", raw, e))?;
    Ok((value, kind))
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
    pub value: String,
    pub context: Option<String>,
    pub format: Option<String>,
    pub measurand: Option<String>,
    pub phase: Option<String>,
    pub location: Option<String>,
    pub unit: Option<String>,
}

/// Readings in base units. Samples we cannot read as numbers (`SignedData`,
/// garbage, an unparseable or implausible timestamp, a value outside its
/// unit's plausible range) are skipped and logged rather than failing the
/// whole message, which the charger would only resend. Each is noted in
/// `dropped`.
pub fn readings(values: &[MeterValue], now: Timestamp, dropped: &mut Dropped) -> Vec<MeterReading> {
    let mut out = Vec::new();
    for mv in values {
        let Some(timestamp) = charger_time("meterValue.timestamp", &mv.timestamp, now, dropped)
        else {
            continue;
        };
        for sv in &mv.sampled_value {
            if sv.format.as_deref() == Some("SignedData") {
                tracing::info!("signed meter value kept out of the numeric series");
                continue;
            }
            let Some(raw) = decimal_from_str(&sv.value) else {
                dropped.note("sampledValue.value", &sv.value, "not a number within range");
                continue;
            };
            out.extend(reading(
                timestamp,
                Sample {
                    raw,
                    measurand: sv.measurand.as_deref(),
                    unit: sv.unit.as_deref(),
                    multiplier: 0,
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
