//! [`DynamoStore`]'s access context: stations' access policies and the
//! attempts they refused.
//!
//! # Layout
//!
//! | item           | PK                     | SK                  | ttl |
//! |----------------|------------------------|---------------------|-----|
//! | station access | `ACCESS#{stationId}`   | `META`              | |
//! | access attempt | `ACCESSLOG#{stationId}`| `{time}#{random}`   | time + 90 days |
//! | garage identity| `GARAGE#{stationId}`   | `META`              | |
//!
//! Both are kept whole as JSON in `body` through their stored form
//! (`csms-store-records`), the access record with `version` next to it for
//! the conditions. A charger's Authorize reads the access record and the
//! token in one `BatchGetItem` (strongly consistent); a station's attempts are a
//! `Query` of its partition, newest first, a page at a time. DynamoDB's TTL
//! removes attempts after [`ATTEMPT_RETENTION`] (a deletion may lag by
//! days; the listing shows them until then).

use super::table::{
    epoch, json_item, org_partition, record_from, set_key, versioned_item, Index, Query, META,
};
use super::DynamoStore;
use async_trait::async_trait;
use csms_domain::access::{AccessAttempt, GarageIdentity, StationAccess, ATTEMPT_RETENTION};
use csms_domain::token::IdTokenRecord;
use csms_domain::{IdTokenValue, OrgId, StationId};
use csms_kernel::ports::{sort_key_time, AccessStore, Page, PageRequest, StoreResult};
use csms_store_records::Record;

fn access_pk(id: &StationId) -> String {
    format!("ACCESS#{id}")
}

fn garage_pk(id: &StationId) -> String {
    format!("GARAGE#{id}")
}

fn garage_item(garage: &GarageIdentity) -> StoreResult<crate::cursor::Key> {
    versioned_item(
        garage_pk(&garage.station_id),
        META,
        &garage.to_stored(),
        garage.version,
        "garage identity",
    )
}

fn attempts_pk(id: &StationId) -> String {
    format!("ACCESSLOG#{id}")
}

fn access_item(access: &StationAccess) -> StoreResult<crate::cursor::Key> {
    versioned_item(
        access_pk(&access.station_id),
        META,
        &access.to_stored(),
        access.version,
        "station access",
    )
}

fn attempt_item(attempt: &AccessAttempt, random: u64) -> StoreResult<crate::cursor::Key> {
    let sk = format!("{}#{random:016x}", sort_key_time(attempt.at));
    let mut item = json_item(
        attempts_pk(&attempt.station_id),
        sk,
        &attempt.to_stored(),
        "access attempt",
    )?;
    item.insert("ttl".into(), epoch(attempt.at + ATTEMPT_RETENTION));
    // The organisation's attempts at all its stations: GSI1, same order.
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(&attempt.org_id, "ACCESSLOG"),
        format!("{}#{random:016x}", sort_key_time(attempt.at)),
    );
    Ok(item)
}

#[async_trait]
impl AccessStore for DynamoStore {
    async fn get_station_access(&self, station: &StationId) -> StoreResult<Option<StationAccess>> {
        self.get_as(access_pk(station), META, record_from).await
    }

    async fn put_station_access(
        &self,
        access: &StationAccess,
        expected_version: u64,
    ) -> StoreResult<()> {
        let what = format!("station access {}", access.station_id);
        self.put_expecting(access_item(access)?, expected_version, what)
            .await
    }

    async fn get_token_and_access(
        &self,
        token: &IdTokenValue,
        station: &StationId,
    ) -> StoreResult<(Option<IdTokenRecord>, Option<StationAccess>)> {
        let keys = [
            (super::charging::token_pk(token), META.to_owned()),
            (access_pk(station), META.to_owned()),
        ];
        let mut items = self.get_many(&keys).await?.into_iter();
        let token = items
            .next()
            .flatten()
            .map(super::charging::token_from)
            .transpose()?;
        let access = items.next().flatten().map(record_from).transpose()?;
        Ok((token, access))
    }

    async fn add_access_attempt(&self, attempt: &AccessAttempt) -> StoreResult<()> {
        self.put(attempt_item(attempt, rand::random())?).await
    }

    async fn list_access_attempts(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessAttempt>> {
        let query = Query::partition(attempts_pk(station)).newest_first();
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }

    async fn list_org_access_attempts(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<AccessAttempt>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "ACCESSLOG")).newest_first();
        self.page_of(org, &query, page, record_from).await
    }

    async fn get_garage_identity(
        &self,
        station: &StationId,
    ) -> StoreResult<Option<GarageIdentity>> {
        self.get_as(garage_pk(station), META, record_from).await
    }

    async fn put_garage_identity(
        &self,
        garage: &GarageIdentity,
        expected_version: u64,
    ) -> StoreResult<()> {
        let what = format!("garage identity {}", garage.station_id);
        self.put_expecting(garage_item(garage)?, expected_version, what)
            .await
    }

    async fn delete_garage_identity(&self, station: &StationId) -> StoreResult<bool> {
        Ok(self.delete(garage_pk(station), META).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn garage_identities_hold_the_golden_json_and_read_back() {
        for (garage, line) in golden::<GarageIdentity>("garage_identities.jsonl") {
            let item = garage_item(&garage).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("GARAGE#{}", garage.station_id)));
            assert_eq!(record_from::<GarageIdentity>(item).unwrap(), garage);
        }
    }

    #[test]
    fn access_records_and_attempts_hold_the_golden_json_and_read_back() {
        for (access, line) in golden::<StationAccess>("station_access.jsonl") {
            let item = access_item(&access).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("ACCESS#{}", access.station_id)));
            assert_eq!(record_from::<StationAccess>(item).unwrap(), access);
        }
        for (attempt, line) in golden::<AccessAttempt>("access_attempts.jsonl") {
            let item = attempt_item(&attempt, 7).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("ACCESSLOG#{}", attempt.station_id)));
            assert_eq!(
                item["GSI1PK"],
                s(format!("ORG#{}#ACCESSLOG", attempt.org_id))
            );
            assert_eq!(
                item["ttl"],
                epoch(attempt.at + chrono::TimeDelta::days(90)),
                "kept 90 days"
            );
            assert_eq!(record_from::<AccessAttempt>(item).unwrap(), attempt);
        }
    }
}
