//! [`DynamoStore`]'s EVSEs' charging keys.
//!
//! # Layout
//!
//! | item         | PK                              | SK     | other |
//! |--------------|---------------------------------|--------|-------|
//! | charging key | `CHARGEKEY#{key}`               | `META` | `body` |
//! | EVSE's key   | `CHARGEKEYEVSE#{station}#{evse}`| `META` | `body`, `key` |
//!
//! Both hold the whole record as JSON in `body` (its stored form), so
//! either lookup is one strongly consistent `GetItem`: a start link by its
//! key, the operator's routes by the EVSE. Making or rotating a key is one
//! `TransactWriteItems`: the EVSE's item on the condition that its `key` is
//! still the one replaced (or that it does not exist yet), the new key's
//! item on the condition that it does not exist, and the old key's item
//! deleted — a concurrent rotation cancels the whole write (`Conflict`),
//! and an old link stops resolving in the same write. No index, no `Scan`.

use super::table::{record_from, s, set_key, Condition, ConditionFailed, Index, META};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::CancellationReason;
use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
use csms_domain::StationId;
use csms_kernel::ports::{ChargingKeyStore, StoreError, StoreResult};
use csms_store_records::Record;

fn key_pk(key: &ChargingKey) -> String {
    format!("CHARGEKEY#{key}")
}

fn evse_pk(station: &StationId, evse: u32) -> String {
    format!("CHARGEKEYEVSE#{station}#{evse}")
}

fn items(k: &EvseChargingKey) -> StoreResult<(Key, Key)> {
    let by_key = super::table::json_item(key_pk(&k.key), META, &k.to_stored(), "charging key")?;
    let mut by_evse = by_key.clone();
    set_key(
        &mut by_evse,
        Index::Table,
        evse_pk(&k.station_id, k.evse_id),
        META,
    );
    by_evse.insert("key".into(), s(k.key.as_str()));
    Ok((by_key, by_evse))
}

fn any_condition_failed(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|r| r.code() == Some("ConditionalCheckFailed"))
}

#[async_trait]
impl ChargingKeyStore for DynamoStore {
    async fn get_charging_key(&self, key: &ChargingKey) -> StoreResult<Option<EvseChargingKey>> {
        self.get_as(key_pk(key), META, record_from).await
    }

    async fn get_evse_charging_key(
        &self,
        station: &StationId,
        evse: u32,
    ) -> StoreResult<Option<EvseChargingKey>> {
        self.get_as(evse_pk(station, evse), META, record_from).await
    }

    async fn put_charging_key(
        &self,
        new: &EvseChargingKey,
        replaces: Option<&ChargingKey>,
    ) -> StoreResult<()> {
        let (by_key, by_evse) = items(new)?;
        let evse_condition = match replaces {
            None => Condition::absent(),
            Some(old) => Condition::new("#k = :old")
                .name("#k", "key")
                .value(":old", s(old.as_str())),
        };
        let mut writes = vec![
            self.transact_put(by_evse, Some(evse_condition))?,
            self.transact_put(by_key, Some(Condition::absent()))?,
        ];
        if let Some(old) = replaces {
            writes.push(self.transact_delete(key_pk(old), META, None)?);
        }
        self.transact(writes, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| {
                StoreError::Conflict(format!(
                    "the charging key of EVSE {} of station {} changed concurrently",
                    new.evse_id, new.station_id
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn charging_keys_hold_the_golden_json_under_both_keys_and_read_back() {
        for (k, line) in golden::<EvseChargingKey>("charging_keys.jsonl") {
            let (by_key, by_evse) = items(&k).unwrap();
            assert_eq!(by_key["body"], s(&line));
            assert_eq!(by_evse["body"], s(&line));
            assert_eq!(by_key["PK"], s(format!("CHARGEKEY#{}", k.key)));
            assert_eq!(
                by_evse["PK"],
                s(format!("CHARGEKEYEVSE#{}#{}", k.station_id, k.evse_id))
            );
            assert_eq!(by_evse["key"], s(k.key.as_str()));
            assert_eq!(record_from::<EvseChargingKey>(by_key).unwrap(), k);
            assert_eq!(record_from::<EvseChargingKey>(by_evse).unwrap(), k);
        }
    }
}
