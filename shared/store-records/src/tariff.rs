//! Tariffs as stored: every version of a tariff (and the copy of its latest
//! version) is a [`StoredTariff`]; an assignment is a
//! [`StoredTariffAssignment`]. Both have always been stored with snake-case
//! top-level names, and `null` for absent optional values, while what is
//! inside an element is in camel case.

use crate::{parse, try_all, DecodeError, Record};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use csms_domain::spot::BiddingZone;
use csms_domain::tariff::{
    AssignmentTarget, EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff,
    TariffAssignment, TariffElement, TimeUnit,
};
use csms_domain::{OrgId, SiteId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTariff {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "vat_rate")]
    pub vat_rate: Decimal,
    /// Always written (`null`: the site's zone); every tariff stored before
    /// the site's zone could apply has one.
    #[serde(rename = "time_zone")]
    pub time_zone: Option<String>,
    #[serde(rename = "elements")]
    pub elements: Vec<StoredTariffElement>,
    #[serde(rename = "min_price", default)]
    pub min_price: Option<Decimal>,
    #[serde(rename = "max_price", default)]
    pub max_price: Option<Decimal>,
    #[serde(rename = "version")]
    pub version: u64,
    #[serde(rename = "effective_at")]
    pub effective_at: DateTime<Utc>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "deleted_at", default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTariffElement {
    #[serde(rename = "components")]
    pub components: Vec<StoredPriceComponent>,
    #[serde(rename = "restrictions", default)]
    pub restrictions: StoredRestrictions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StoredPriceComponent {
    #[serde(rename = "energy")]
    Energy {
        #[serde(rename = "price")]
        price: StoredEnergyPrice,
    },
    #[serde(rename = "time")]
    Time {
        #[serde(rename = "price")]
        price: Decimal,
        #[serde(rename = "per")]
        per: StoredTimeUnit,
        #[serde(rename = "freeMinutes", default)]
        free_minutes: u32,
    },
    #[serde(rename = "sessionFee")]
    SessionFee {
        #[serde(rename = "price")]
        price: Decimal,
    },
    #[serde(rename = "idle")]
    Idle {
        #[serde(rename = "price")]
        price: Decimal,
        #[serde(rename = "per")]
        per: StoredTimeUnit,
        #[serde(rename = "graceMinutes", default)]
        grace_minutes: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredTimeUnit {
    #[serde(rename = "minute")]
    Minute,
    #[serde(rename = "hour")]
    Hour,
}

/// Fixed, or the spot formula's fields next to `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredEnergyPrice {
    #[serde(rename = "fixed")]
    Fixed {
        #[serde(rename = "perKwh")]
        per_kwh: Decimal,
    },
    #[serde(rename = "spot")]
    Spot(StoredSpotFormula),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSpotFormula {
    /// The bidding zone's code (`SE3`).
    #[serde(rename = "zone")]
    pub zone: String,
    #[serde(rename = "factor")]
    pub factor: Decimal,
    #[serde(rename = "markup")]
    pub markup: Decimal,
    #[serde(rename = "gridFee", default)]
    pub grid_fee: Decimal,
    #[serde(rename = "energyTax", default)]
    pub energy_tax: Decimal,
    #[serde(rename = "floor", default)]
    pub floor: Option<Decimal>,
    #[serde(rename = "ceiling", default)]
    pub ceiling: Option<Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRestrictions {
    /// chrono's three-letter names (`Mon`).
    #[serde(rename = "daysOfWeek", default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<Weekday>,
    #[serde(rename = "startTime", default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<NaiveTime>,
    #[serde(rename = "endTime", default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<NaiveTime>,
    #[serde(rename = "startDate", default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(rename = "endDate", default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTariffAssignment {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "tariff_id")]
    pub tariff_id: String,
    #[serde(rename = "target")]
    pub target: StoredAssignmentTarget,
    #[serde(rename = "group", default)]
    pub group: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id")]
pub enum StoredAssignmentTarget {
    #[serde(rename = "station")]
    Station(String),
    #[serde(rename = "site")]
    Site(String),
    #[serde(rename = "organisation")]
    Organisation,
}

// ---- domain → stored ----

impl From<&Tariff> for StoredTariff {
    fn from(t: &Tariff) -> Self {
        let Tariff {
            id,
            org_id,
            name,
            currency,
            vat_rate,
            time_zone,
            elements,
            min_price,
            max_price,
            version,
            effective_at,
            created_at,
            deleted_at,
        } = t;
        StoredTariff {
            id: id.clone(),
            org_id: org_id.as_str().to_owned(),
            name: name.clone(),
            currency: currency.clone(),
            vat_rate: *vat_rate,
            time_zone: time_zone.clone(),
            elements: elements.iter().map(Into::into).collect(),
            min_price: *min_price,
            max_price: *max_price,
            version: *version,
            effective_at: *effective_at,
            created_at: *created_at,
            deleted_at: *deleted_at,
        }
    }
}

impl From<&TariffElement> for StoredTariffElement {
    fn from(e: &TariffElement) -> Self {
        let TariffElement {
            components,
            restrictions,
        } = e;
        let Restrictions {
            days_of_week,
            start_time,
            end_time,
            start_date,
            end_date,
        } = restrictions;
        StoredTariffElement {
            components: components.iter().map(Into::into).collect(),
            restrictions: StoredRestrictions {
                days_of_week: days_of_week.clone(),
                start_time: *start_time,
                end_time: *end_time,
                start_date: *start_date,
                end_date: *end_date,
            },
        }
    }
}

impl From<TimeUnit> for StoredTimeUnit {
    fn from(u: TimeUnit) -> Self {
        match u {
            TimeUnit::Minute => StoredTimeUnit::Minute,
            TimeUnit::Hour => StoredTimeUnit::Hour,
        }
    }
}

impl From<&PriceComponent> for StoredPriceComponent {
    fn from(c: &PriceComponent) -> Self {
        match c {
            PriceComponent::Energy { price } => StoredPriceComponent::Energy {
                price: match price {
                    EnergyPrice::Fixed { per_kwh } => {
                        StoredEnergyPrice::Fixed { per_kwh: *per_kwh }
                    }
                    EnergyPrice::Spot(f) => StoredEnergyPrice::Spot(f.into()),
                },
            },
            PriceComponent::Time {
                price,
                per,
                free_minutes,
            } => StoredPriceComponent::Time {
                price: *price,
                per: (*per).into(),
                free_minutes: *free_minutes,
            },
            PriceComponent::SessionFee { price } => {
                StoredPriceComponent::SessionFee { price: *price }
            }
            PriceComponent::Idle {
                price,
                per,
                grace_minutes,
            } => StoredPriceComponent::Idle {
                price: *price,
                per: (*per).into(),
                grace_minutes: *grace_minutes,
            },
        }
    }
}

impl From<&SpotFormula> for StoredSpotFormula {
    fn from(f: &SpotFormula) -> Self {
        let SpotFormula {
            zone,
            factor,
            markup,
            grid_fee,
            energy_tax,
            floor,
            ceiling,
        } = f;
        StoredSpotFormula {
            zone: zone.code().to_owned(),
            factor: *factor,
            markup: *markup,
            grid_fee: *grid_fee,
            energy_tax: *energy_tax,
            floor: *floor,
            ceiling: *ceiling,
        }
    }
}

impl From<&TariffAssignment> for StoredTariffAssignment {
    fn from(a: &TariffAssignment) -> Self {
        let TariffAssignment {
            id,
            org_id,
            tariff_id,
            target,
            group,
            created_at,
        } = a;
        StoredTariffAssignment {
            id: id.clone(),
            org_id: org_id.as_str().to_owned(),
            tariff_id: tariff_id.clone(),
            target: match target {
                AssignmentTarget::Station(s) => StoredAssignmentTarget::Station(s.as_str().into()),
                AssignmentTarget::Site(s) => StoredAssignmentTarget::Site(s.as_str().into()),
                AssignmentTarget::Organisation => StoredAssignmentTarget::Organisation,
            },
            group: group.clone(),
            created_at: *created_at,
        }
    }
}

// ---- stored → domain ----

impl TryFrom<StoredTariff> for Tariff {
    type Error = DecodeError;

    fn try_from(t: StoredTariff) -> Result<Self, DecodeError> {
        let StoredTariff {
            id,
            org_id,
            name,
            currency,
            vat_rate,
            time_zone,
            elements,
            min_price,
            max_price,
            version,
            effective_at,
            created_at,
            deleted_at,
        } = t;
        Ok(Tariff {
            id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            name,
            currency,
            vat_rate,
            time_zone,
            elements: try_all(elements)?,
            min_price,
            max_price,
            version,
            effective_at,
            created_at,
            deleted_at,
        })
    }
}

impl TryFrom<StoredTariffElement> for TariffElement {
    type Error = DecodeError;

    fn try_from(e: StoredTariffElement) -> Result<Self, DecodeError> {
        let StoredTariffElement {
            components,
            restrictions,
        } = e;
        let StoredRestrictions {
            days_of_week,
            start_time,
            end_time,
            start_date,
            end_date,
        } = restrictions;
        Ok(TariffElement {
            components: try_all(components)?,
            restrictions: Restrictions {
                days_of_week,
                start_time,
                end_time,
                start_date,
                end_date,
            },
        })
    }
}

impl From<StoredTimeUnit> for TimeUnit {
    fn from(u: StoredTimeUnit) -> Self {
        match u {
            StoredTimeUnit::Minute => TimeUnit::Minute,
            StoredTimeUnit::Hour => TimeUnit::Hour,
        }
    }
}

impl TryFrom<StoredPriceComponent> for PriceComponent {
    type Error = DecodeError;

    fn try_from(c: StoredPriceComponent) -> Result<Self, DecodeError> {
        Ok(match c {
            StoredPriceComponent::Energy { price } => PriceComponent::Energy {
                price: match price {
                    StoredEnergyPrice::Fixed { per_kwh } => EnergyPrice::Fixed { per_kwh },
                    StoredEnergyPrice::Spot(f) => EnergyPrice::Spot(f.try_into()?),
                },
            },
            StoredPriceComponent::Time {
                price,
                per,
                free_minutes,
            } => PriceComponent::Time {
                price,
                per: per.into(),
                free_minutes,
            },
            StoredPriceComponent::SessionFee { price } => PriceComponent::SessionFee { price },
            StoredPriceComponent::Idle {
                price,
                per,
                grace_minutes,
            } => PriceComponent::Idle {
                price,
                per: per.into(),
                grace_minutes,
            },
        })
    }
}

impl TryFrom<StoredSpotFormula> for SpotFormula {
    type Error = DecodeError;

    fn try_from(f: StoredSpotFormula) -> Result<Self, DecodeError> {
        let StoredSpotFormula {
            zone,
            factor,
            markup,
            grid_fee,
            energy_tax,
            floor,
            ceiling,
        } = f;
        Ok(SpotFormula {
            zone: parse("bidding zone", zone, |z| BiddingZone::parse(&z))?,
            factor,
            markup,
            grid_fee,
            energy_tax,
            floor,
            ceiling,
        })
    }
}

impl TryFrom<StoredTariffAssignment> for TariffAssignment {
    type Error = DecodeError;

    fn try_from(a: StoredTariffAssignment) -> Result<Self, DecodeError> {
        let StoredTariffAssignment {
            id,
            org_id,
            tariff_id,
            target,
            group,
            created_at,
        } = a;
        Ok(TariffAssignment {
            id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            tariff_id,
            target: match target {
                StoredAssignmentTarget::Station(s) => {
                    AssignmentTarget::Station(parse("station id", s, StationId::parse)?)
                }
                StoredAssignmentTarget::Site(s) => {
                    AssignmentTarget::Site(parse("site id", s, SiteId::parse)?)
                }
                StoredAssignmentTarget::Organisation => AssignmentTarget::Organisation,
            },
            group,
            created_at,
        })
    }
}

impl Record for Tariff {
    type Stored = StoredTariff;
}

impl Record for TariffAssignment {
    type Stored = StoredTariffAssignment;
}
