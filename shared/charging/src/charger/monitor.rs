//! Alarms about stations from what the charging context sees. The
//! decisions are pure functions of what is stored; the service around them
//! reads and writes.
//!
//! - **Station offline** (`stationOffline`, critical): a close of a
//!   station's current connection puts the station on its organisation's
//!   offline list ([`OfflineStore`]), a connect takes it off. The sweep
//!   ([`ChargerService::raise_offline_alarms_everywhere`], every minute)
//!   reads the stations on the list for longer than the grace, takes each
//!   off once and raises its alarm; the station's next connect resolves it
//!   ([`crate::connect::opened`]). A station back within the grace (API
//!   Gateway's two-hourly reconnect, a reboot) leaves nothing to look at.

use super::{ChargerService, ChargingStore, HandlerError};
use chrono::{SecondsFormat, TimeDelta};
use csms_domain::alarm::{Alarm, Severity};
use csms_domain::station::Station;
use csms_domain::{OrgId, StationId, Timestamp};
use csms_kernel::ports::{OfflineStation, OrganisationStore};

/// Alarm kind of a station gone offline beyond its grace.
pub const OFFLINE_KIND: &str = "stationOffline";

/// How many stations of an organisation one sweep looks at; the rest wait
/// for the next minute.
const OFFLINE_BATCH: usize = 500;

/// The offline alarm of `station`: one per station.
pub fn offline_alarm_id(station: &StationId) -> String {
    format!("station-offline:{station}")
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The alarm a station on the offline list raises at `now`, or `None`: a
/// decommissioned station is not expected to connect, and one that is
/// connected again (the list is read eventually consistently) is not
/// offline.
pub fn offline_alarm(station: &Station, since: Timestamp, now: Timestamp) -> Option<Alarm> {
    if station.is_decommissioned() || station.connection_id.is_some() {
        return None;
    }
    let minutes = now.signed_duration_since(since).num_minutes().max(0);
    Some(Alarm {
        id: offline_alarm_id(&station.id),
        org_id: station.org_id.clone(),
        kind: OFFLINE_KIND.to_owned(),
        severity: Severity::Critical,
        message: format!(
            "station {} has been offline for {minutes} min (since {}); check its power and network, then its OCPP settings",
            station.id,
            rfc3339(since)
        ),
        details: serde_json::json!({
            "stationId": station.id.as_str(),
            "siteId": station.site_id.as_ref().map(|s| s.as_str()),
            "disconnectedAt": rfc3339(since),
            "lastMessageAt": station.last_seen_at.map(rfc3339),
        }),
        raised_at: now,
        resolved_at: None,
        handling: Default::default(),
        version: 1,
    })
}

impl<S: ChargingStore + ?Sized> ChargerService<S> {
    /// Raises the alarm of each of the organisation's stations offline
    /// since `now - grace` or earlier; how many were raised.
    pub async fn raise_offline_alarms(
        &self,
        org: &OrgId,
        grace: TimeDelta,
        now: Timestamp,
    ) -> Result<usize, HandlerError> {
        let due = self
            .store
            .offline_due(org, now - grace, OFFLINE_BATCH)
            .await?;
        let mut raised = 0;
        for OfflineStation { station, since } in due {
            // Only the sweep that takes it off acts; a station that came back
            // meanwhile is not on the list at `since` any more.
            if !self.store.settle_offline(&station.id, since).await? {
                continue;
            }
            let Some(alarm) = offline_alarm(&station, since, now) else {
                continue;
            };
            if self.store.raise_alarm(&alarm).await? {
                raised += 1;
                tracing::warn!(station = %station.id, since = %since, "station offline: alarm raised");
            }
            // A connect between the list read and the raise resolved nothing.
            let back = self
                .store
                .get_station(&station.id)
                .await?
                .is_some_and(|s| s.connection_id.is_some());
            if back {
                self.store.resolve_alarm(&alarm.id, now).await?;
            }
        }
        Ok(raised)
    }

    /// [`raise_offline_alarms`](Self::raise_offline_alarms) of every
    /// organisation; one that fails does not stop the others (the first
    /// error is returned after all were tried).
    pub async fn raise_offline_alarms_everywhere(
        &self,
        grace: TimeDelta,
        now: Timestamp,
    ) -> Result<usize, HandlerError>
    where
        S: OrganisationStore,
    {
        let orgs = csms_kernel::tenants::organisation_ids(&*self.store).await?;
        let mut raised = 0;
        let mut failed = None;
        for org in &orgs {
            match self.raise_offline_alarms(org, grace, now).await {
                Ok(n) => raised += n,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "offline sweep of an organisation failed");
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(raised), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use csms_domain::station::Approval;

    fn t(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    fn station() -> Station {
        Station {
            id: StationId::parse("CP-1").unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            name: None,
            password_hash: None,
            created_at: t(0),
            boot: None,
            ocpp_version: None,
            connection_id: None,
            last_seen_at: Some(t(50)),
            approval: Approval::Accepted,
            previous_password: None,
            decommissioned_at: None,
        }
    }

    #[test]
    fn an_offline_station_raises_a_critical_alarm_with_its_times() {
        let a = offline_alarm(&station(), t(60), t(60 + 11 * 60)).unwrap();
        assert_eq!(a.id, "station-offline:CP-1");
        assert_eq!(a.kind, OFFLINE_KIND);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.details["disconnectedAt"], rfc3339(t(60)));
        assert_eq!(a.details["lastMessageAt"], rfc3339(t(50)));
        assert!(a.message.contains("offline for 11 min"), "{}", a.message);
    }

    #[test]
    fn decommissioned_or_connected_stations_raise_nothing() {
        let mut gone = station();
        gone.decommissioned_at = Some(t(10));
        assert_eq!(offline_alarm(&gone, t(60), t(6000)), None);
        let mut back = station();
        back.connection_id = Some("c2".into());
        assert_eq!(offline_alarm(&back, t(60), t(6000)), None);
    }
}
