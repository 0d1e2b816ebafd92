//! [`DynamoStore`]'s ratings: drivers' ratings of sessions and the running
//! sums of each station and site.
//!
//! # Layout
//!
//! | item        | PK                                   | SK     | GSI1PK / GSI1SK |
//! |-------------|--------------------------------------|--------|-----------------|
//! | rating      | `RATING#{sessionId}`                 | `META` | `ORG#{org}#STATION#{stationId}#RATING` / `{firstRated}#{sessionId}` |
//! | station sum | `RATINGSUM#{org}#STATION#{stationId}` | `SUM`  | |
//! | site sum    | `RATINGSUM#{org}#SITE#{siteId}`       | `SUM`  | |
//!
//! A rating is kept whole as JSON in `body` (its stored form) with its
//! `version` beside it for the condition. Writing one is a
//! `TransactWriteItems` of the rating (conditional on the version read)
//! and an `ADD` of the count and stars difference to each sum, so the sums
//! never drift from the ratings; an average is one `GetItem`.

use super::table::{
    n, org_partition, record_from, set_key, versioned_item, Condition, ConditionFailed, Index,
    Query, Update, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use csms_domain::rating::{Rating, RatingSummary};
use csms_domain::{OrgId, SessionId, StationId};
use csms_kernel::ports::{
    sort_key_time, Page, PageRequest, RatedPlace, RatingStore, StoreError, StoreResult,
};
use csms_store_records::Record;

const SUM: &str = "SUM";

fn rating_pk(session: &SessionId) -> String {
    format!("RATING#{session}")
}

fn station_ratings(org: &OrgId, station: &StationId) -> String {
    org_partition(org, &format!("STATION#{station}#RATING"))
}

fn sum_pk(org: &OrgId, of: RatedPlace<'_>) -> String {
    match of {
        RatedPlace::Station(s) => format!("RATINGSUM#{org}#STATION#{s}"),
        RatedPlace::Site(s) => format!("RATINGSUM#{org}#SITE#{s}"),
    }
}

fn rating_item(r: &Rating) -> StoreResult<Key> {
    let mut item = versioned_item(
        rating_pk(&r.session_id),
        META,
        &r.to_stored(),
        r.version,
        "rating",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        station_ratings(&r.org_id, &r.station_id),
        format!("{}#{}", sort_key_time(r.created_at), r.session_id),
    );
    Ok(item)
}

fn count_of(item: &Key, attribute: &str) -> StoreResult<u64> {
    match item.get(attribute) {
        None => Ok(0),
        Some(AttributeValue::N(v)) => {
            v.parse::<i64>()
                .map(|v| v.max(0).unsigned_abs())
                .map_err(|_| {
                    StoreError::Backend(format!(
                        "rating sum {attribute} holds {v:?}, not a whole number"
                    ))
                })
        }
        Some(other) => Err(StoreError::Backend(format!(
            "rating sum {attribute} holds {other:?}, not a number"
        ))),
    }
}

#[async_trait]
impl RatingStore for DynamoStore {
    async fn put_rating(&self, rating: &Rating, previous: Option<&Rating>) -> StoreResult<()> {
        let expected = previous.map_or(0, |p| p.version);
        let (count, sum) = RatingSummary::change(previous, rating);
        let mut items =
            vec![self.transact_put(rating_item(rating)?, Some(Condition::expecting(expected)))?];
        let mut places = vec![RatedPlace::Station(&rating.station_id)];
        if let Some(site) = &rating.site_id {
            places.push(RatedPlace::Site(site));
        }
        for place in places {
            items.push(
                self.transact_update(
                    Update::new(sum_pk(&rating.org_id, place), SUM, "ADD #c :c, #s :s")
                        .name("#c", "count")
                        .name("#s", "sum")
                        .value(":c", n(count))
                        .value(":s", n(sum)),
                )?,
            );
        }
        let lost = |reasons: &[CancellationReason]| {
            reasons.iter().any(|r| {
                matches!(
                    r.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        };
        match self.transact(items, lost).await? {
            Ok(()) => Ok(()),
            Err(ConditionFailed) => Err(StoreError::Conflict(format!(
                "the rating of session {} is not at version {expected}",
                rating.session_id
            ))),
        }
    }

    async fn get_rating(&self, session: &SessionId) -> StoreResult<Option<Rating>> {
        self.get_as(rating_pk(session), META, record_from).await
    }

    async fn list_station_ratings(
        &self,
        org: &OrgId,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Rating>> {
        let query = Query::index(Index::Gsi1, station_ratings(org, station)).newest_first();
        self.page_of(org, &query, page, record_from).await
    }

    async fn rating_summary(&self, org: &OrgId, of: RatedPlace<'_>) -> StoreResult<RatingSummary> {
        Ok(match self.get(sum_pk(org, of), SUM).await? {
            Some(item) => RatingSummary {
                count: count_of(&item, "count")?,
                sum: count_of(&item, "sum")?,
            },
            None => RatingSummary::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::s;
    use csms_store_records::golden;

    #[test]
    fn ratings_hold_the_golden_json_and_read_back() {
        for (rating, line) in golden::<Rating>("ratings.jsonl") {
            let item = rating_item(&rating).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("RATING#{}", rating.session_id)));
            assert_eq!(
                item["GSI1PK"],
                s(format!(
                    "ORG#{}#STATION#{}#RATING",
                    rating.org_id, rating.station_id
                ))
            );
            assert_eq!(record_from::<Rating>(item).unwrap(), rating);
        }
    }
}
