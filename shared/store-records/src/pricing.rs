//! Spot prices and priced sessions as stored: a [`StoredSpotDay`] (snake
//! case, the zone by its code, the source as a name or, for a fallback, an
//! object with its rule) and a [`StoredPricedSession`] (camel case, `null`
//! for an absent token, group or requester, a line's element and spot
//! price left out when absent).
//!
//! Priced sessions written before warnings were kept read with none.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::pricing::{LineKind, PriceLine, PricedSession, PricingAudit};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::{OrgId, SessionId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSpotDay {
    /// The bidding zone's code (`SE3`).
    #[serde(rename = "zone")]
    pub zone: String,
    #[serde(rename = "date")]
    pub date: NaiveDate,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "resolution_minutes")]
    pub resolution_minutes: u32,
    #[serde(rename = "slots")]
    pub slots: Vec<StoredSpotSlot>,
    #[serde(rename = "source")]
    pub source: StoredSpotSource,
    #[serde(rename = "fetched_at")]
    pub fetched_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSpotSlot {
    #[serde(rename = "start")]
    pub start: DateTime<Utc>,
    #[serde(rename = "end")]
    pub end: DateTime<Utc>,
    #[serde(rename = "price")]
    pub price: Decimal,
}

/// A plain name, or `{"fallback": {"rule": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredSpotSource {
    #[serde(rename = "elprisetjustnu")]
    Elprisetjustnu,
    #[serde(rename = "entsoe")]
    Entsoe,
    #[serde(rename = "manual")]
    Manual,
    #[serde(rename = "fallback")]
    Fallback {
        #[serde(rename = "rule")]
        rule: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPricedSession {
    #[serde(rename = "sessionId")]
    pub session_id: String,
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "revision")]
    pub revision: u32,
    #[serde(rename = "tariffId")]
    pub tariff_id: String,
    #[serde(rename = "tariffVersion")]
    pub tariff_version: u64,
    #[serde(rename = "tariffName")]
    pub tariff_name: String,
    #[serde(rename = "tariffReason")]
    pub tariff_reason: Vec<String>,
    #[serde(rename = "idToken", default)]
    pub id_token: Option<String>,
    #[serde(rename = "group", default)]
    pub group: Option<String>,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "vatRate")]
    pub vat_rate: Decimal,
    #[serde(rename = "startedAt")]
    pub started_at: DateTime<Utc>,
    #[serde(rename = "endedAt")]
    pub ended_at: DateTime<Utc>,
    #[serde(rename = "chargingEndedAt")]
    pub charging_ended_at: DateTime<Utc>,
    #[serde(rename = "energyWh")]
    pub energy_wh: Decimal,
    #[serde(rename = "lines")]
    pub lines: Vec<StoredPriceLine>,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "vat")]
    pub vat: Decimal,
    #[serde(rename = "gross")]
    pub gross: Decimal,
    /// The rounding rule, as text.
    #[serde(rename = "rounding")]
    pub rounding: String,
    #[serde(rename = "warnings", default)]
    pub warnings: Vec<String>,
    #[serde(rename = "pricedAt")]
    pub priced_at: DateTime<Utc>,
    #[serde(rename = "audit")]
    pub audit: StoredPricingAudit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPriceLine {
    #[serde(rename = "kind")]
    pub kind: StoredLineKind,
    #[serde(rename = "start")]
    pub start: DateTime<Utc>,
    #[serde(rename = "end")]
    pub end: DateTime<Utc>,
    #[serde(rename = "quantity")]
    pub quantity: Decimal,
    #[serde(rename = "unit")]
    pub unit: String,
    #[serde(rename = "unitPrice")]
    pub unit_price: Decimal,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "element", default, skip_serializing_if = "Option::is_none")]
    pub element: Option<usize>,
    #[serde(rename = "spotPrice", default, skip_serializing_if = "Option::is_none")]
    pub spot_price: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredLineKind {
    #[serde(rename = "energy")]
    Energy,
    #[serde(rename = "time")]
    Time,
    #[serde(rename = "sessionFee")]
    SessionFee,
    #[serde(rename = "idle")]
    Idle,
    #[serde(rename = "minimumPriceAdjustment")]
    MinimumPriceAdjustment,
    #[serde(rename = "maximumPriceAdjustment")]
    MaximumPriceAdjustment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPricingAudit {
    #[serde(rename = "reason")]
    pub reason: String,
    #[serde(rename = "requestedBy", default)]
    pub requested_by: Option<String>,
}

// ---- domain → stored ----

impl From<&SpotDay> for StoredSpotDay {
    fn from(d: &SpotDay) -> Self {
        let SpotDay {
            zone,
            date,
            currency,
            resolution_minutes,
            slots,
            source,
            fetched_at,
        } = d;
        StoredSpotDay {
            zone: zone.code().to_owned(),
            date: *date,
            currency: currency.clone(),
            resolution_minutes: *resolution_minutes,
            slots: slots
                .iter()
                .map(|SpotSlot { start, end, price }| StoredSpotSlot {
                    start: *start,
                    end: *end,
                    price: *price,
                })
                .collect(),
            source: match source {
                SpotSource::Elprisetjustnu => StoredSpotSource::Elprisetjustnu,
                SpotSource::Entsoe => StoredSpotSource::Entsoe,
                SpotSource::Manual => StoredSpotSource::Manual,
                SpotSource::Fallback { rule } => StoredSpotSource::Fallback { rule: rule.clone() },
            },
            fetched_at: *fetched_at,
        }
    }
}

impl From<&PricedSession> for StoredPricedSession {
    fn from(p: &PricedSession) -> Self {
        let PricedSession {
            session_id,
            station_id,
            org_id,
            revision,
            tariff_id,
            tariff_version,
            tariff_name,
            tariff_reason,
            id_token,
            group,
            currency,
            vat_rate,
            started_at,
            ended_at,
            charging_ended_at,
            energy_wh,
            lines,
            net,
            vat,
            gross,
            rounding,
            warnings,
            priced_at,
            audit,
        } = p;
        let PricingAudit {
            reason,
            requested_by,
        } = audit;
        StoredPricedSession {
            session_id: session_id.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            revision: *revision,
            tariff_id: tariff_id.clone(),
            tariff_version: *tariff_version,
            tariff_name: tariff_name.clone(),
            tariff_reason: tariff_reason.clone(),
            id_token: id_token.clone(),
            group: group.clone(),
            currency: currency.clone(),
            vat_rate: *vat_rate,
            started_at: *started_at,
            ended_at: *ended_at,
            charging_ended_at: *charging_ended_at,
            energy_wh: *energy_wh,
            lines: lines.iter().map(Into::into).collect(),
            net: *net,
            vat: *vat,
            gross: *gross,
            rounding: rounding.clone(),
            warnings: warnings.clone(),
            priced_at: *priced_at,
            audit: StoredPricingAudit {
                reason: reason.clone(),
                requested_by: requested_by.clone(),
            },
        }
    }
}

impl From<&PriceLine> for StoredPriceLine {
    fn from(l: &PriceLine) -> Self {
        let PriceLine {
            kind,
            start,
            end,
            quantity,
            unit,
            unit_price,
            net,
            element,
            spot_price,
        } = l;
        StoredPriceLine {
            kind: match kind {
                LineKind::Energy => StoredLineKind::Energy,
                LineKind::Time => StoredLineKind::Time,
                LineKind::SessionFee => StoredLineKind::SessionFee,
                LineKind::Idle => StoredLineKind::Idle,
                LineKind::MinimumPriceAdjustment => StoredLineKind::MinimumPriceAdjustment,
                LineKind::MaximumPriceAdjustment => StoredLineKind::MaximumPriceAdjustment,
            },
            start: *start,
            end: *end,
            quantity: *quantity,
            unit: unit.clone(),
            unit_price: *unit_price,
            net: *net,
            element: *element,
            spot_price: *spot_price,
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredSpotDay> for SpotDay {
    type Error = DecodeError;

    fn try_from(d: StoredSpotDay) -> Result<Self, DecodeError> {
        let StoredSpotDay {
            zone,
            date,
            currency,
            resolution_minutes,
            slots,
            source,
            fetched_at,
        } = d;
        Ok(SpotDay {
            zone: parse("bidding zone", zone, |z| BiddingZone::parse(&z))?,
            date,
            currency,
            resolution_minutes,
            slots: slots
                .into_iter()
                .map(|StoredSpotSlot { start, end, price }| SpotSlot { start, end, price })
                .collect(),
            source: match source {
                StoredSpotSource::Elprisetjustnu => SpotSource::Elprisetjustnu,
                StoredSpotSource::Entsoe => SpotSource::Entsoe,
                StoredSpotSource::Manual => SpotSource::Manual,
                StoredSpotSource::Fallback { rule } => SpotSource::Fallback { rule },
            },
            fetched_at,
        })
    }
}

impl TryFrom<StoredPricedSession> for PricedSession {
    type Error = DecodeError;

    fn try_from(p: StoredPricedSession) -> Result<Self, DecodeError> {
        let StoredPricedSession {
            session_id,
            station_id,
            org_id,
            revision,
            tariff_id,
            tariff_version,
            tariff_name,
            tariff_reason,
            id_token,
            group,
            currency,
            vat_rate,
            started_at,
            ended_at,
            charging_ended_at,
            energy_wh,
            lines,
            net,
            vat,
            gross,
            rounding,
            warnings,
            priced_at,
            audit,
        } = p;
        let StoredPricingAudit {
            reason,
            requested_by,
        } = audit;
        Ok(PricedSession {
            session_id: parse("session id", session_id, SessionId::parse)?,
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            revision,
            tariff_id,
            tariff_version,
            tariff_name,
            tariff_reason,
            id_token,
            group,
            currency,
            vat_rate,
            started_at,
            ended_at,
            charging_ended_at,
            energy_wh,
            lines: lines.into_iter().map(Into::into).collect(),
            net,
            vat,
            gross,
            rounding,
            warnings,
            priced_at,
            audit: PricingAudit {
                reason,
                requested_by,
            },
        })
    }
}

impl From<StoredPriceLine> for PriceLine {
    fn from(l: StoredPriceLine) -> Self {
        let StoredPriceLine {
            kind,
            start,
            end,
            quantity,
            unit,
            unit_price,
            net,
            element,
            spot_price,
        } = l;
        PriceLine {
            kind: match kind {
                StoredLineKind::Energy => LineKind::Energy,
                StoredLineKind::Time => LineKind::Time,
                StoredLineKind::SessionFee => LineKind::SessionFee,
                StoredLineKind::Idle => LineKind::Idle,
                StoredLineKind::MinimumPriceAdjustment => LineKind::MinimumPriceAdjustment,
                StoredLineKind::MaximumPriceAdjustment => LineKind::MaximumPriceAdjustment,
            },
            start,
            end,
            quantity,
            unit,
            unit_price,
            net,
            element,
            spot_price,
        }
    }
}

impl Record for SpotDay {
    type Stored = StoredSpotDay;
}

impl Record for PricedSession {
    type Stored = StoredPricedSession;
}
