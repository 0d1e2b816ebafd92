//! The device model of 2.0.1 stations as a use case: report parts become the
//! station's model when the last one arrives, and the values that
//! Get/SetVariables answers carry are written into it.
//!
//! Store conflicts (two Lambdas writing the same station's model) are
//! retried on a fresh read; both writers' changes survive.

use csms_domain::device_model::{
    AttributeType, AttributeValue, ComponentRef, DeviceModel, ReportPart, VariableRef,
};
use csms_domain::{StationId, Timestamp};
use csms_kernel::ports::{DeviceModelStore, StoreError, StoreResult};

const ATTEMPTS: usize = 8;

/// The most report parts kept per station, of all its unfinished reports
/// together. A part beyond it is answered as usual but not stored (with a
/// warning), so a station sending parts of made-up reports (any `requestId`,
/// any `seqNo`, `tbc` forever) cannot grow the store without bound. A real
/// charger sends a few dozen parts; 500 is the whole [`MAX_VARIABLES`] at
/// ten variables a part. A new report (`seqNo` 0) starts from none kept.
///
/// [`MAX_VARIABLES`]: csms_domain::device_model::MAX_VARIABLES
pub const MAX_REPORT_PARTS: usize = 500;

/// A value a station confirmed for one attribute of one variable.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueUpdate {
    pub component: ComponentRef,
    pub variable: VariableRef,
    pub kind: AttributeType,
    pub value: AttributeValue,
}

/// Keeps one NotifyReport; the last one (`tbc` false) turns the report's
/// parts into the station's model, replacing the previous one. The first
/// part of a report (`seqNo` 0) forgets the parts of any report the station
/// left unfinished. A part beyond [`MAX_REPORT_PARTS`] is not kept; a last
/// part still makes the model of the parts that were. Returns the new model
/// when this part completed one.
pub async fn receive_part<S: DeviceModelStore + ?Sized>(
    store: &S,
    part: ReportPart,
    now: Timestamp,
) -> StoreResult<Option<DeviceModel>> {
    let station = part.station_id.clone();
    if part.seq_no == 0 {
        store.delete_report_parts(&station).await?;
    }
    let (request_id, last, tbc) = (part.request_id, part.seq_no, part.tbc);
    if !store.put_report_part(&part, MAX_REPORT_PARTS).await? {
        tracing::warn!(
            station = %station,
            request_id,
            seq_no = last,
            max = MAX_REPORT_PARTS,
            "device report part not kept: the station has as many report parts kept as allowed"
        );
    }
    if tbc {
        return Ok(None);
    }
    let parts = store.report_parts(&station, request_id).await?;
    let missing: Vec<u32> = (0..=last)
        .filter(|n| !parts.iter().any(|p| p.seq_no == *n))
        .collect();
    if !missing.is_empty()
        && store
            .get_device_model(&station)
            .await?
            .is_some_and(|m| m.request_id == request_id)
    {
        // The last part again, of a report already complete (its answer
        // was lost): the model it made stays; one part would replace it.
        tracing::info!(station = %station, request_id, "last part of a complete device report resent; ignored");
        store.delete_report_parts(&station).await?;
        return Ok(None);
    }
    if !missing.is_empty() {
        // A station that skipped parts still has a model: the parts it sent.
        tracing::warn!(station = %station, request_id, ?missing, "device report is missing parts; kept the parts that arrived");
    }
    let Some(mut model) = DeviceModel::from_parts(parts, now) else {
        return Ok(None);
    };
    if model.omitted > 0 {
        tracing::warn!(
            station = %station,
            request_id,
            kept = model.variables.len(),
            omitted = model.omitted,
            "device report has more variables than are kept"
        );
    }
    let mut last_conflict = String::new();
    for _ in 0..ATTEMPTS {
        let expected = store
            .get_device_model(&station)
            .await?
            .map_or(0, |m| m.version);
        model.version = expected + 1;
        match store.put_device_model(&model, expected).await {
            Ok(()) => {
                store.delete_report_parts(&station).await?;
                tracing::info!(station = %station, request_id, variables = model.variables.len(), "device model replaced");
                return Ok(Some(model));
            }
            Err(StoreError::Conflict(c)) => last_conflict = c,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(last_conflict))
}

/// Writes confirmed values into the station's model. Variables the model
/// does not hold (or no model yet) are left alone: the next report brings
/// them. Returns whether the model changed.
pub async fn apply_values<S: DeviceModelStore + ?Sized>(
    store: &S,
    station: &StationId,
    updates: &[ValueUpdate],
    now: Timestamp,
) -> StoreResult<bool> {
    if updates.is_empty() {
        return Ok(false);
    }
    let mut last_conflict = String::new();
    for _ in 0..ATTEMPTS {
        let Some(mut model) = store.get_device_model(station).await? else {
            return Ok(false);
        };
        let mut changed = false;
        for u in updates {
            changed |= model.set_value(&u.component, &u.variable, u.kind, &u.value);
        }
        if !changed {
            return Ok(false);
        }
        let expected = model.version;
        model.version = expected + 1;
        model.updated_at = now;
        match store.put_device_model(&model, expected).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(c)) => last_conflict = c,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(last_conflict))
}
