//! Ratings: drivers' ratings of sessions, listed per station, and the
//! running sums of each station and site, written in one transaction.

use crate::error::R;
use crate::keys::*;
use crate::ops::*;
use csms_domain::rating::{Rating, RatingSummary};
use csms_domain::{OrgId, SessionId, StationId};
use csms_kernel::ports::{sort_key_time, Page, PageRequest, RatedPlace};
use redb::ReadableTable;

fn station_key(r: &Rating) -> R<String> {
    Ok(format!(
        "{}{}",
        prefix(&rating_station_scope(&r.org_id, &r.station_id)?),
        join_time_and_id(&sort_key_time(r.created_at), r.session_id.as_str())
    ))
}

fn join_time_and_id(time: &str, id: &str) -> String {
    format!("{time}\0{id}")
}

fn sum_key(org: &OrgId, of: RatedPlace<'_>) -> R<String> {
    match of {
        RatedPlace::Station(s) => rating_sum_key(org, "T", s.as_str()),
        RatedPlace::Site(s) => rating_sum_key(org, "S", s.as_str()),
    }
}

impl Db {
    pub(crate) fn put_rating(&self, rating: &Rating, previous: Option<&Rating>) -> R<()> {
        let change = RatingSummary::change(previous, rating);
        self.write(|txn| {
            let mut table = txn.open_table(RATINGS)?;
            let key = rating.session_id.as_str();
            let stored = get_record::<Rating>(&table, key)?.map(|r| r.version);
            match previous {
                Some(p) => check_version("rating", key, stored, p.version)?,
                None => {
                    if let Some(v) = stored {
                        check_version("rating", key, Some(v), 0)?;
                    }
                }
            }
            put_record(&mut table, key, rating)?;
            // Listed by when first rated: a change keeps its place.
            if previous.is_none() {
                txn.open_table(RATINGS_BY_STATION)?
                    .insert(station_key(rating)?.as_str(), key)?;
            }
            let mut sums = txn.open_table(RATING_SUMS)?;
            let mut places = vec![RatedPlace::Station(&rating.station_id)];
            if let Some(site) = &rating.site_id {
                places.push(RatedPlace::Site(site));
            }
            for place in places {
                let k = sum_key(&rating.org_id, place)?;
                let (count, sum) = sums.get(k.as_str())?.map(|g| g.value()).unwrap_or((0, 0));
                let next = RatingSummary { count, sum }.with(change);
                sums.insert(k.as_str(), (next.count, next.sum))?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_rating(&self, session: &SessionId) -> R<Option<Rating>> {
        self.read(|txn| get_record(&txn.open_table(RATINGS)?, session.as_str()))
    }

    pub(crate) fn list_station_ratings(
        &self,
        org: &OrgId,
        station: &StationId,
        page: &PageRequest,
    ) -> R<Page<Rating>> {
        // The scope leads with the organisation: another's are not reached.
        self.list_newest_first(
            RATINGS_BY_STATION,
            RATINGS,
            &rating_station_scope(org, station)?,
            org,
            page,
        )
    }

    pub(crate) fn rating_summary(&self, org: &OrgId, of: RatedPlace<'_>) -> R<RatingSummary> {
        let key = sum_key(org, of)?;
        self.read(|txn| {
            let (count, sum) = txn
                .open_table(RATING_SUMS)?
                .get(key.as_str())?
                .map(|g| g.value())
                .unwrap_or((0, 0));
            Ok(RatingSummary { count, sum })
        })
    }
}
