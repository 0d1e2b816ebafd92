//! Usage days: EVSEs' usage facts per day, for reports. Kept by EVSE and
//! day (so an EVSE's latest day before another is the last key of a range)
//! and indexed by organisation and day (so a report reads a date range of
//! a whole organisation in key order).

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use chrono::NaiveDate;
use csms_domain::usage::{UsageDay, UsageKey};
use csms_domain::OrgId;

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn evse_key(key: &UsageKey) -> R<String> {
    Ok(format!(
        "{}{}",
        prefix(&usage_evse_scope(
            &key.org_id,
            &key.station_id,
            key.evse_id
        )?),
        day_text(key.day)
    ))
}

impl Db {
    pub(crate) fn get_usage_day(&self, key: &UsageKey) -> R<Option<UsageDay>> {
        let k = evse_key(key)?;
        self.read(|txn| get_record(&txn.open_table(USAGE_DAYS)?, &k))
    }

    pub(crate) fn usage_day_before(&self, key: &UsageKey) -> R<Option<UsageDay>> {
        let lo = prefix(&usage_evse_scope(
            &key.org_id,
            &key.station_id,
            key.evse_id,
        )?);
        let hi = evse_key(key)?;
        self.read(|txn| {
            let table = txn.open_table(USAGE_DAYS)?;
            let last = table.range(lo.as_str()..hi.as_str())?.next_back();
            match last {
                Some(entry) => {
                    let (k, v) = entry?;
                    parse_record(k.value(), v.value()).map(Some)
                }
                None => Ok(None),
            }
        })
    }

    pub(crate) fn put_usage_day(&self, day: &UsageDay, expected: u64) -> R<()> {
        let k = evse_key(&day.key)?;
        let by_org = usage_org_key(
            &day.key.org_id,
            &day_text(day.key.day),
            &day.key.station_id,
            day.key.evse_id,
        )?;
        self.write(|txn| {
            let mut table = txn.open_table(USAGE_DAYS)?;
            let stored: Option<UsageDay> = get_record(&table, &k)?;
            let at = stored.map_or(0, |d| d.version);
            if at != expected {
                return Err(conflict(format!(
                    "usage day {} {} {} {} is at version {at}, not {expected}",
                    day.key.org_id, day.key.station_id, day.key.evse_id, day.key.day
                )));
            }
            put_record(&mut table, &k, day)?;
            txn.open_table(USAGE_DAYS_BY_ORG)?
                .insert(by_org.as_str(), k.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn list_usage_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> R<Vec<UsageDay>> {
        let lo = prefix(&usage_org_day_scope(org, &day_text(from))?);
        let hi = prefix_end(&prefix(&usage_org_day_scope(org, &day_text(to))?));
        self.read(|txn| {
            let days = txn.open_table(USAGE_DAYS)?;
            let index = txn.open_table(USAGE_DAYS_BY_ORG)?;
            let mut out = Vec::new();
            for entry in index.range(lo.as_str()..hi.as_str())? {
                let (_, key) = entry?;
                if let Some(d) = self.skip(org, get_record::<UsageDay>(&days, key.value()))? {
                    out.push(d);
                }
            }
            Ok(out)
        })
    }
}
