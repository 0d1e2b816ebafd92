//! Pricing: tariffs with their versions, tariff assignments, spot-price
//! days, alarms and priced sessions.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use chrono::NaiveDate;
use csms_domain::alarm::{Alarm, AlarmSettings};
use csms_domain::pricing::PricedSession;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::{OrgId, SessionId, Timestamp};
use csms_kernel::ports::{Page, PageRequest};
use redb::ReadableTable;

impl Db {
    // --- tariffs and assignments -----------------------------------------

    /// Writes the new version and the latest copy in one transaction, so a
    /// reader never sees a latest version that is not among the versions.
    pub(crate) fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut latest = txn.open_table(TARIFFS)?;
            let stored: Option<Tariff> = get_record(&latest, &tariff.id)?;
            match (&stored, expected_version) {
                (None, 0) => {}
                (Some(t), v) if t.version == v => {}
                (None, v) => {
                    return Err(conflict(format!(
                        "tariff {} does not exist (expected version {v})",
                        tariff.id
                    )))
                }
                (Some(t), v) => {
                    return Err(conflict(format!(
                        "tariff {} is at version {}, not {v}",
                        tariff.id, t.version
                    )))
                }
            }
            // Versions are immutable: a caller that forgot to bump the
            // version must not rewrite history.
            let mut versions = txn.open_table(TARIFF_VERSIONS)?;
            let vkey = tariff_version_key(&tariff.id, tariff.version)?;
            if versions.get(vkey.as_str())?.is_some() {
                return Err(conflict(format!(
                    "tariff {} version {} exists",
                    tariff.id, tariff.version
                )));
            }
            put_record(&mut versions, &vkey, tariff)?;
            put_record(&mut latest, &tariff.id, tariff)?;
            let mut by_org = txn.open_table(TARIFFS_BY_ORG)?;
            if let Some(old) = &stored {
                by_org.remove(tariff_org_key(&old.org_id, &old.id)?.as_str())?;
            }
            if tariff.deleted_at.is_none() {
                by_org.insert(
                    tariff_org_key(&tariff.org_id, &tariff.id)?.as_str(),
                    tariff.id.as_str(),
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_tariff(&self, id: &str) -> R<Option<Tariff>> {
        self.read(|txn| get_record(&txn.open_table(TARIFFS)?, id))
    }

    pub(crate) fn tariff_versions(&self, id: &str) -> R<Vec<Tariff>> {
        let range = KeyRange::partition(id);
        self.read(|txn| {
            let versions = txn.open_table(TARIFF_VERSIONS)?;
            let mut out = Vec::new();
            for entry in versions.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(t) = self.skip(&org, parse_record(k.value(), v.value()).map(Some))? {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> R<Page<Tariff>> {
        self.list_indexed_records(
            TARIFFS_BY_ORG,
            TARIFFS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn create_assignment(&self, a: &TariffAssignment) -> R<()> {
        self.write(|txn| {
            let mut assignments = txn.open_table(ASSIGNMENTS)?;
            if assignments.get(a.id.as_str())?.is_some() {
                return Err(conflict(format!("tariff assignment {} exists", a.id)));
            }
            put_record(&mut assignments, &a.id, a)?;
            txn.open_table(ASSIGNMENTS_BY_ORG)?.insert(
                assignment_org_key(&a.org_id, a.created_at, &a.id)?.as_str(),
                a.id.as_str(),
            )?;
            Ok(())
        })
    }

    pub(crate) fn get_assignment(&self, id: &str) -> R<Option<TariffAssignment>> {
        self.read(|txn| get_record(&txn.open_table(ASSIGNMENTS)?, id))
    }

    pub(crate) fn delete_assignment(&self, id: &str) -> R<bool> {
        self.write(|txn| {
            let removed = txn
                .open_table(ASSIGNMENTS)?
                .remove(id)?
                .map(|g| parse_record::<TariffAssignment>(id, g.value()))
                .transpose()?;
            let Some(a) = removed else { return Ok(false) };
            txn.open_table(ASSIGNMENTS_BY_ORG)?
                .remove(assignment_org_key(&a.org_id, a.created_at, &a.id)?.as_str())?;
            Ok(true)
        })
    }

    pub(crate) fn list_assignments(&self, org: &OrgId) -> R<Vec<TariffAssignment>> {
        let range = KeyRange::partition(org.as_str());
        self.read(|txn| {
            let index = txn.open_table(ASSIGNMENTS_BY_ORG)?;
            let assignments = txn.open_table(ASSIGNMENTS)?;
            let mut out = Vec::new();
            for entry in index.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (_, id) = entry?;
                if let Some(a) = self.skip(org, get_record(&assignments, id.value()))? {
                    out.push(a);
                }
            }
            Ok(out)
        })
    }

    // --- spot prices ------------------------------------------------------

    pub(crate) fn put_spot_day(&self, day: &SpotDay) -> R<()> {
        self.write(|txn| {
            put_record(
                &mut txn.open_table(SPOT_DAYS)?,
                &spot_day_key(day.zone, day.date),
                day,
            )
        })
    }

    pub(crate) fn get_spot_day(&self, zone: BiddingZone, date: NaiveDate) -> R<Option<SpotDay>> {
        self.read(|txn| get_record(&txn.open_table(SPOT_DAYS)?, &spot_day_key(zone, date)))
    }

    // --- alarms -----------------------------------------------------------

    pub(crate) fn raise_alarm(&self, alarm: &Alarm) -> R<bool> {
        self.write(|txn| {
            let mut alarms = txn.open_table(ALARMS)?;
            let stored: Option<Alarm> = get_record(&alarms, &alarm.id)?;
            let raised = match &stored {
                // A repeat: the open alarm counts it, its index key stays.
                Some(s) if s.is_active() => {
                    put_record(&mut alarms, &s.id, &s.repeated(alarm))?;
                    return Ok(false);
                }
                // Raised again: the stored one is replaced, the version moves on
                // so a reader holding the old one can tell.
                Some(s) => Alarm {
                    version: s.version + 1,
                    ..alarm.clone()
                },
                None => alarm.clone(),
            };
            put_record(&mut alarms, &raised.id, &raised)?;
            let mut by_org = txn.open_table(ALARMS_BY_ORG)?;
            if let Some(old) = &stored {
                by_org.remove(alarm_org_key(&old.org_id, old.raised_at, &old.id)?.as_str())?;
            }
            by_org.insert(
                alarm_org_key(&raised.org_id, raised.raised_at, &raised.id)?.as_str(),
                raised.id.as_str(),
            )?;
            Ok(true)
        })
    }

    pub(crate) fn get_alarm_settings(&self, org: &OrgId) -> R<Option<AlarmSettings>> {
        self.read(|txn| get_record(&txn.open_table(ALARM_SETTINGS)?, org.as_str()))
    }

    pub(crate) fn put_alarm_settings(&self, settings: &AlarmSettings, expected: u64) -> R<()> {
        self.write(|txn| {
            let mut table = txn.open_table(ALARM_SETTINGS)?;
            let key = settings.org_id.as_str();
            let stored: Option<AlarmSettings> = get_record(&table, key)?;
            let at = stored.map_or(0, |s| s.version);
            if at != expected {
                return Err(conflict(format!(
                    "alarm settings of {key} are at version {at}, not {expected}"
                )));
            }
            put_record(&mut table, key, settings)
        })
    }

    pub(crate) fn resolve_alarm(&self, id: &str, at: Timestamp) -> R<Option<Alarm>> {
        self.write(|txn| {
            let mut resolved = None;
            update_record::<Alarm>(&mut txn.open_table(ALARMS)?, id, |a| {
                if !a.is_active() {
                    return false;
                }
                a.resolved_at = Some(at);
                a.version += 1;
                resolved = Some(a.clone());
                true
            })?;
            Ok(resolved)
        })
    }

    pub(crate) fn put_alarm(&self, alarm: &Alarm, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut alarms = txn.open_table(ALARMS)?;
            let stored: Option<Alarm> = get_record(&alarms, &alarm.id)?;
            check_version(
                "alarm",
                &alarm.id,
                stored.as_ref().map(|a| a.version),
                expected_version,
            )?;
            if stored.is_some_and(|s| s.org_id != alarm.org_id || s.raised_at != alarm.raised_at) {
                return Err(conflict(format!(
                    "alarm {} keeps its organisation and raise time",
                    alarm.id
                )));
            }
            put_record(&mut alarms, &alarm.id, alarm)
        })
    }

    pub(crate) fn get_alarm(&self, id: &str) -> R<Option<Alarm>> {
        self.read(|txn| get_record(&txn.open_table(ALARMS)?, id))
    }

    pub(crate) fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> R<Page<Alarm>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let index = txn.open_table(ALARMS_BY_ORG)?;
            let alarms = txn.open_table(ALARMS)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |_, id| {
                    let a: Option<Alarm> = self.skip(org, get_record(&alarms, id.value()))?;
                    Ok(a.filter(|a| !active_only || a.is_active()))
                },
            )
        })
    }

    // --- priced sessions --------------------------------------------------

    pub(crate) fn put_priced_session(&self, p: &PricedSession) -> R<()> {
        self.write(|txn| {
            let mut priced = txn.open_table(PRICED_SESSIONS)?;
            let key = priced_key(&p.session_id, p.revision)?;
            if priced.get(key.as_str())?.is_some() {
                return Err(conflict(format!(
                    "session {} is priced at revision {}",
                    p.session_id, p.revision
                )));
            }
            put_record(&mut priced, &key, p)
        })
    }

    pub(crate) fn get_priced_session(&self, id: &SessionId) -> R<Option<PricedSession>> {
        let range = KeyRange::partition(id.as_str());
        self.read(|txn| {
            let priced = txn.open_table(PRICED_SESSIONS)?;
            let last = priced
                .range::<&str>(range.lo.as_str()..range.hi.as_str())?
                .next_back()
                .transpose()?;
            last.map(|(k, v)| parse_record(k.value(), v.value()))
                .transpose()
        })
    }

    pub(crate) fn priced_revisions(&self, id: &SessionId) -> R<Vec<PricedSession>> {
        let range = KeyRange::partition(id.as_str());
        self.read(|txn| {
            let priced = txn.open_table(PRICED_SESSIONS)?;
            let mut out = Vec::new();
            for entry in priced.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(p) = self.skip(&org, parse_record(k.value(), v.value()).map(Some))? {
                    out.push(p);
                }
            }
            Ok(out)
        })
    }
}
