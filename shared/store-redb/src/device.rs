//! Device models of 2.0.1 stations: one JSON record per station, versioned,
//! and the parts of reports still being received, keyed so that one
//! station's (or one report's) parts are one key range in `seqNo` order.

use crate::error::R;
use crate::keys::{prefix_end, report_part_key, KeyRange, DEVICE_MODELS, REPORT_PARTS};
use crate::load::put_versioned;
use crate::ops::{get_json, parse, put_json, Db};
use csms_domain::device_model::{DeviceModel, ReportPart};
use csms_domain::{OrgId, StationId};
use redb::ReadableTable;

impl Db {
    /// Counts the station's kept parts (up to `max_parts`) and writes in one
    /// transaction, so the bound holds however many writers there are.
    pub(crate) fn put_report_part(&self, part: &ReportPart, max_parts: usize) -> R<bool> {
        let key = report_part_key(&part.station_id, Some(part.request_id), Some(part.seq_no))?;
        let lo = report_part_key(&part.station_id, None, None)?;
        let hi = prefix_end(&lo);
        self.write(|txn| {
            let mut table = txn.open_table(REPORT_PARTS)?;
            if table.get(key.as_str())?.is_none() {
                let mut kept = 0;
                for entry in table
                    .range::<&str>(lo.as_str()..hi.as_str())?
                    .take(max_parts)
                {
                    entry?;
                    kept += 1;
                }
                if kept >= max_parts {
                    return Ok(false);
                }
            }
            put_json(&mut table, &key, part)?;
            Ok(true)
        })
    }

    pub(crate) fn report_parts(&self, station: &StationId, request: i32) -> R<Vec<ReportPart>> {
        let range = KeyRange::under(report_part_key(station, Some(request), None)?);
        self.read(|txn| {
            let table = txn.open_table(REPORT_PARTS)?;
            let mut out = Vec::new();
            for entry in table.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(p) = self.skip(&org, parse(k.value(), v.value()).map(Some))? {
                    out.push(p);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn delete_report_parts(&self, station: &StationId) -> R<()> {
        let lo = report_part_key(station, None, None)?;
        let hi = prefix_end(&lo);
        self.write(|txn| {
            txn.open_table(REPORT_PARTS)?
                .retain_in::<&str, _>(lo.as_str()..hi.as_str(), |_, _| false)?;
            Ok(())
        })
    }

    pub(crate) fn put_device_model(&self, model: &DeviceModel, expected: u64) -> R<()> {
        self.write(|txn| {
            put_versioned(
                &mut txn.open_table(DEVICE_MODELS)?,
                "device model of station",
                model.station_id.as_str(),
                model,
                expected,
                |m: &DeviceModel| m.version,
            )
        })
    }

    pub(crate) fn get_device_model(&self, station: &StationId) -> R<Option<DeviceModel>> {
        self.read(|txn| get_json(&txn.open_table(DEVICE_MODELS)?, station.as_str()))
    }
}
