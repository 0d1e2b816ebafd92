//! Access: stations' access policies and the attempts they refused.

use crate::error::R;
use crate::keys::*;
use crate::ops::*;
use csms_domain::access::{AccessAttempt, GarageIdentity, StationAccess, ATTEMPT_RETENTION};
use csms_domain::token::IdTokenRecord;
use csms_domain::{IdTokenValue, OrgId, StationId};
use csms_kernel::ports::{sort_key_time, Page, PageRequest};
use redb::ReadableTable;

impl Db {
    pub(crate) fn get_station_access(&self, station: &StationId) -> R<Option<StationAccess>> {
        self.read(|txn| get_record(&txn.open_table(STATION_ACCESS)?, station.as_str()))
    }

    pub(crate) fn put_station_access(
        &self,
        access: &StationAccess,
        expected_version: u64,
    ) -> R<()> {
        self.write(|txn| {
            let mut table = txn.open_table(STATION_ACCESS)?;
            let key = access.station_id.as_str();
            let stored = get_record::<StationAccess>(&table, key)?.map(|a| a.version);
            // 0: none stored yet.
            if stored.is_some() || expected_version != 0 {
                check_version("station access", key, stored, expected_version)?;
            }
            put_record(&mut table, key, access)
        })
    }

    pub(crate) fn get_garage_identity(&self, station: &StationId) -> R<Option<GarageIdentity>> {
        self.read(|txn| get_record(&txn.open_table(GARAGE_IDENTITIES)?, station.as_str()))
    }

    pub(crate) fn put_garage_identity(
        &self,
        garage: &GarageIdentity,
        expected_version: u64,
    ) -> R<()> {
        self.write(|txn| {
            let mut table = txn.open_table(GARAGE_IDENTITIES)?;
            let key = garage.station_id.as_str();
            let stored = get_record::<GarageIdentity>(&table, key)?.map(|g| g.version);
            // 0: none stored yet.
            if stored.is_some() || expected_version != 0 {
                check_version("garage identity", key, stored, expected_version)?;
            }
            put_record(&mut table, key, garage)
        })
    }

    pub(crate) fn delete_garage_identity(&self, station: &StationId) -> R<bool> {
        self.write(|txn| {
            let mut table = txn.open_table(GARAGE_IDENTITIES)?;
            let removed = table.remove(station.as_str())?.is_some();
            Ok(removed)
        })
    }

    /// Both in one read transaction.
    pub(crate) fn get_token_and_access(
        &self,
        token: &IdTokenValue,
        station: &StationId,
    ) -> R<(Option<IdTokenRecord>, Option<StationAccess>)> {
        self.read(|txn| {
            let record = get_record(&txn.open_table(ID_TOKENS)?, &token.key())?;
            let access = get_record(&txn.open_table(STATION_ACCESS)?, station.as_str())?;
            Ok((record, access))
        })
    }

    /// Also forgets the station's attempts older than the retention before
    /// this one (the DynamoDB store's TTL), so the table stays bounded by
    /// what 90 days bring.
    pub(crate) fn add_access_attempt(&self, attempt: &AccessAttempt) -> R<()> {
        self.write(|txn| {
            let seq = bump(txn, ACCESS_ATTEMPT_COUNTER)?;
            let mut table = txn.open_table(ACCESS_ATTEMPTS)?;
            let range = KeyRange::partition(attempt.station_id.as_str());
            let cutoff = format!(
                "{}{}",
                range.lo,
                sort_key_time(attempt.at - ATTEMPT_RETENTION)
            );
            let old: Vec<String> = table
                .range::<&str>(range.lo.as_str()..cutoff.as_str())?
                .map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<_, _>>()?;
            let mut by_org = txn.open_table(ACCESS_ATTEMPTS_BY_ORG)?;
            for k in old {
                // The organisation's index entry goes with it (a record that
                // no longer decodes leaves its entry, skipped when listed).
                if let Some(seq) = k.rsplit('\0').next().and_then(|s| s.parse::<u64>().ok()) {
                    if let Ok(Some(old)) = get_record::<AccessAttempt>(&table, &k) {
                        by_org
                            .remove(access_attempt_org_key(&old.org_id, old.at, seq)?.as_str())?;
                    }
                }
                table.remove(k.as_str())?;
            }
            let key = access_attempt_key(&attempt.station_id, attempt.at, seq)?;
            put_record(&mut table, &key, attempt)?;
            by_org.insert(
                access_attempt_org_key(&attempt.org_id, attempt.at, seq)?.as_str(),
                key.as_str(),
            )?;
            Ok(())
        })
    }

    pub(crate) fn list_org_access_attempts(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> R<Page<AccessAttempt>> {
        self.list_newest_first(
            ACCESS_ATTEMPTS_BY_ORG,
            ACCESS_ATTEMPTS,
            org.as_str(),
            org,
            page,
        )
    }

    pub(crate) fn list_access_attempts(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> R<Page<AccessAttempt>> {
        let range = KeyRange::partition(station.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let table = txn.open_table(ACCESS_ATTEMPTS)?;
            paginate(
                &table,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |k, v| {
                    self.skip(
                        &csms_domain::OrgId::default_org(),
                        parse_record::<AccessAttempt>(k, v.value()).map(Some),
                    )
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::EmbeddedStore;
    use csms_domain::access::*;
    use csms_domain::{IdTokenValue, OrgId, StationId};
    use csms_kernel::ports::{AccessStore, PageRequest};

    /// The local stand-in for DynamoDB's TTL: a new attempt forgets the
    /// station's attempts older than the retention, and no other station's.
    #[tokio::test]
    async fn attempts_older_than_the_retention_are_pruned_when_one_arrives() {
        let store = EmbeddedStore::temporary();
        let attempt = |station: &str, at: &str| AccessAttempt {
            station_id: StationId::parse(station).unwrap(),
            org_id: OrgId::default_org(),
            evse_id: None,
            connector_id: None,
            token: IdTokenValue::parse("T-1").unwrap(),
            at: at.parse().unwrap(),
            mode: AccessMode::Private,
            reason: AccessRefusal::OtherOrganisation,
            source: "Authorize".into(),
        };
        for (station, at) in [
            ("CP-1", "2026-01-01T00:00:00Z"),
            ("CP-1", "2026-03-01T00:00:00Z"),
            ("CP-2", "2026-01-01T00:00:00Z"),
            ("CP-1", "2026-05-01T00:00:00Z"),
        ] {
            store
                .add_access_attempt(&attempt(station, at))
                .await
                .unwrap();
        }
        let times = |station: &str| {
            let store = &store;
            let id = StationId::parse(station).unwrap();
            async move {
                store
                    .list_access_attempts(&id, &PageRequest::first(10))
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|a| a.at.to_rfc3339())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            times("CP-1").await,
            ["2026-05-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"]
        );
        assert_eq!(times("CP-2").await.len(), 1);
        // The organisation's list lost the pruned one too.
        let of_org: Vec<String> = store
            .list_org_access_attempts(&OrgId::default_org(), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|a| format!("{} {}", a.station_id, a.at.to_rfc3339()))
            .collect();
        assert_eq!(
            of_org,
            [
                "CP-1 2026-05-01T00:00:00+00:00",
                "CP-1 2026-03-01T00:00:00+00:00",
                "CP-2 2026-01-01T00:00:00+00:00"
            ]
        );
    }
}
