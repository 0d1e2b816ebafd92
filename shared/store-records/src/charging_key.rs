//! EVSEs' charging keys as stored: [`StoredChargingKey`], new with start
//! links, snake-case names like the other records kept whole.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
use csms_domain::{OrgId, StationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChargingKey {
    #[serde(rename = "key")]
    pub key: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "evse_id")]
    pub evse_id: u32,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
}

impl From<&EvseChargingKey> for StoredChargingKey {
    fn from(k: &EvseChargingKey) -> Self {
        let EvseChargingKey {
            key,
            station_id,
            org_id,
            evse_id,
            created_at,
        } = k;
        StoredChargingKey {
            key: key.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            evse_id: *evse_id,
            created_at: *created_at,
        }
    }
}

impl TryFrom<StoredChargingKey> for EvseChargingKey {
    type Error = DecodeError;

    fn try_from(k: StoredChargingKey) -> Result<Self, DecodeError> {
        let StoredChargingKey {
            key,
            station_id,
            org_id,
            evse_id,
            created_at,
        } = k;
        Ok(EvseChargingKey {
            key: parse("charging key", key, |k| ChargingKey::parse(&k))?,
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            evse_id,
            created_at,
        })
    }
}

impl Record for EvseChargingKey {
    type Stored = StoredChargingKey;
}
