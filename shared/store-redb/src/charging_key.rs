//! EVSEs' charging keys: the record under its key (a start link's lookup)
//! and again under its EVSE (the operator's), both written in one
//! transaction.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
use csms_domain::StationId;
use redb::ReadableTable;

impl Db {
    pub(crate) fn get_charging_key(&self, key: &ChargingKey) -> R<Option<EvseChargingKey>> {
        self.read(|txn| get_record(&txn.open_table(CHARGING_KEYS)?, key.as_str()))
    }

    pub(crate) fn get_evse_charging_key(
        &self,
        station: &StationId,
        evse: u32,
    ) -> R<Option<EvseChargingKey>> {
        let at = evse_key(station, evse)?;
        self.read(|txn| get_record(&txn.open_table(EVSE_CHARGING_KEYS)?, &at))
    }

    pub(crate) fn put_charging_key(
        &self,
        new: &EvseChargingKey,
        replaces: Option<&ChargingKey>,
    ) -> R<()> {
        let at = evse_key(&new.station_id, new.evse_id)?;
        self.write(|txn| {
            let mut by_evse = txn.open_table(EVSE_CHARGING_KEYS)?;
            let current = get_record::<EvseChargingKey>(&by_evse, &at)?.map(|k| k.key);
            if current.as_ref() != replaces {
                return Err(conflict(format!(
                    "the charging key of EVSE {} of station {} changed concurrently",
                    new.evse_id, new.station_id
                )));
            }
            let mut keys = txn.open_table(CHARGING_KEYS)?;
            if keys.get(new.key.as_str())?.is_some() {
                return Err(conflict("charging key exists"));
            }
            if let Some(old) = replaces {
                keys.remove(old.as_str())?;
            }
            put_record(&mut keys, new.key.as_str(), new)?;
            put_record(&mut by_evse, &at, new)
        })
    }
}
