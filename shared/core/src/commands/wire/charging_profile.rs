//! Charging profiles: set, clear, composite schedule — and pause/resume,
//! which are a 0 A transaction profile and its removal.

use super::{call, time, v16_transaction_id, Call, EncodeError};
use csms_domain::command::{ChargingProfile, ProfileKind, ProfilePurpose, RateUnit, Recurrency};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Stack level of the pause profile: above anything an operator sets by
/// hand (the spec leaves the range to the CSMS), so the pause wins.
const PAUSE_STACK_LEVEL: u32 = 90;

/// The profile id `pause` uses for a transaction, so `resume` clears exactly
/// it. In 1_900_000_000..=2_147_483_647, far from the small ids operators
/// choose.
pub fn pause_profile_id(transaction_id: &str) -> i32 {
    let mut h: u32 = 0x811c9dc5;
    for b in transaction_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    let span = (i32::MAX as u32) - 1_900_000_000 + 1;
    (1_900_000_000 + h % span) as i32
}

fn purpose(p: ProfilePurpose, v16: bool) -> &'static str {
    match p {
        ProfilePurpose::StationMax if v16 => "ChargePointMaxProfile",
        ProfilePurpose::StationMax => "ChargingStationMaxProfile",
        ProfilePurpose::TxDefault => "TxDefaultProfile",
        ProfilePurpose::TxProfile => "TxProfile",
    }
}

fn unit(u: RateUnit) -> &'static str {
    match u {
        RateUnit::A => "A",
        RateUnit::W => "W",
    }
}

/// A limit as a JSON number. 1.6 wants multiples of 0.1 (the schema says
/// so); the value is rounded, never sent with more precision than allowed.
fn number(d: Decimal, v16: bool) -> Result<Value, EncodeError> {
    let d = if v16 { d.round_dp(1) } else { d }.normalize();
    if d.is_sign_negative() && !d.is_zero() {
        return Err(EncodeError::Invalid(format!("limit: {d} is negative")));
    }
    let n = if d.scale() == 0 {
        d.to_i64().map(Value::from)
    } else {
        d.to_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
    };
    n.ok_or_else(|| EncodeError::Invalid(format!("limit: {d} is out of range")))
}

/// A version-neutral profile as the version's `ChargingProfileType`.
pub(super) fn profile_json(p: &ChargingProfile, v16: bool) -> Result<Value, EncodeError> {
    if p.periods.is_empty() {
        return Err(EncodeError::Invalid(
            "profile.periods: at least one period".into(),
        ));
    }
    let periods = p
        .periods
        .iter()
        .map(|x| {
            Ok(json!({
                "startPeriod": x.start_period_s,
                "limit": number(x.limit, v16)?,
                "numberPhases": x.number_phases,
            }))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let kind = match p.kind {
        ProfileKind::Absolute => "Absolute",
        ProfileKind::Recurring => "Recurring",
        ProfileKind::Relative => "Relative",
    };
    let recurrency = p.recurrency.map(|r| match r {
        Recurrency::Daily => "Daily",
        Recurrency::Weekly => "Weekly",
    });
    if p.kind == ProfileKind::Recurring && recurrency.is_none() {
        return Err(EncodeError::Invalid(
            "profile.recurrency: a recurring profile is daily or weekly".into(),
        ));
    }
    let min_rate = p.min_charging_rate.map(|m| number(m, v16)).transpose()?;
    let mut schedule = json!({
        "startSchedule": p.start_schedule.map(time),
        "duration": p.duration_s,
        "chargingRateUnit": unit(p.rate_unit),
        "chargingSchedulePeriod": periods,
        "minChargingRate": min_rate,
    });
    Ok(if v16 {
        let tx = p
            .transaction_id
            .as_deref()
            .map(v16_transaction_id)
            .transpose()?;
        json!({
            "chargingProfileId": p.id,
            "transactionId": tx,
            "stackLevel": p.stack_level,
            "chargingProfilePurpose": purpose(p.purpose, true),
            "chargingProfileKind": kind,
            "recurrencyKind": recurrency,
            "validFrom": p.valid_from.map(time),
            "validTo": p.valid_to.map(time),
            "chargingSchedule": schedule,
        })
    } else {
        // 2.0.1 profiles hold a list of schedules, each with its own id.
        schedule["id"] = json!(1);
        json!({
            "id": p.id,
            "stackLevel": p.stack_level,
            "chargingProfilePurpose": purpose(p.purpose, false),
            "chargingProfileKind": kind,
            "recurrencyKind": recurrency,
            "validFrom": p.valid_from.map(time),
            "validTo": p.valid_to.map(time),
            "transactionId": p.transaction_id,
            "chargingSchedule": [schedule],
        })
    })
}

pub(super) fn set(evse_id: u32, p: &ChargingProfile, v16: bool) -> Result<Call, EncodeError> {
    if p.purpose == ProfilePurpose::TxProfile && p.transaction_id.is_none() {
        return Err(EncodeError::Invalid(
            "profile.transactionId: a txProfile limits a running transaction".into(),
        ));
    }
    if p.purpose == ProfilePurpose::StationMax && evse_id != 0 {
        return Err(EncodeError::Invalid(
            "evseId: a stationMax profile applies to the whole station (evseId 0)".into(),
        ));
    }
    let profile = profile_json(p, v16)?;
    Ok(if v16 {
        call(
            "SetChargingProfile",
            json!({"connectorId": evse_id, "csChargingProfiles": profile}),
        )
    } else {
        call(
            "SetChargingProfile",
            json!({"evseId": evse_id, "chargingProfile": profile}),
        )
    })
}

fn pause_evse(evse_id: Option<u32>) -> Result<u32, EncodeError> {
    evse_id.ok_or_else(|| {
        EncodeError::Invalid("evseId is needed to pause or resume a transaction".into())
    })
}

pub(super) fn pause(
    transaction_id: &str,
    evse_id: Option<u32>,
    v16: bool,
) -> Result<Call, EncodeError> {
    let evse = pause_evse(evse_id)?;
    let profile = ChargingProfile {
        id: pause_profile_id(transaction_id),
        stack_level: PAUSE_STACK_LEVEL,
        purpose: ProfilePurpose::TxProfile,
        kind: ProfileKind::Relative,
        recurrency: None,
        valid_from: None,
        valid_to: None,
        transaction_id: Some(transaction_id.to_owned()),
        start_schedule: None,
        duration_s: None,
        rate_unit: RateUnit::A,
        periods: vec![csms_domain::command::SchedulePeriod {
            start_period_s: 0,
            limit: Decimal::ZERO,
            number_phases: None,
        }],
        min_charging_rate: None,
    };
    set(evse, &profile, v16)
}

pub(super) fn resume(
    transaction_id: &str,
    evse_id: Option<u32>,
    v16: bool,
) -> Result<Call, EncodeError> {
    pause_evse(evse_id)?;
    let id = pause_profile_id(transaction_id);
    Ok(if v16 {
        call("ClearChargingProfile", json!({"id": id}))
    } else {
        call("ClearChargingProfile", json!({"chargingProfileId": id}))
    })
}

pub(super) fn clear(
    profile_id: Option<i32>,
    evse_id: Option<u32>,
    purpose_: Option<ProfilePurpose>,
    stack_level: Option<u32>,
    v16: bool,
) -> Call {
    if v16 {
        call(
            "ClearChargingProfile",
            json!({
                "id": profile_id,
                "connectorId": evse_id,
                "chargingProfilePurpose": purpose_.map(|p| purpose(p, true)),
                "stackLevel": stack_level,
            }),
        )
    } else {
        let criteria =
            (evse_id.is_some() || purpose_.is_some() || stack_level.is_some()).then(|| {
                json!({
                    "evseId": evse_id,
                    "chargingProfilePurpose": purpose_.map(|p| purpose(p, false)),
                    "stackLevel": stack_level,
                })
            });
        call(
            "ClearChargingProfile",
            json!({"chargingProfileId": profile_id, "chargingProfileCriteria": criteria}),
        )
    }
}

pub(super) fn composite(
    evse_id: u32,
    duration_s: u32,
    rate_unit: Option<RateUnit>,
    v16: bool,
) -> Call {
    let key = if v16 { "connectorId" } else { "evseId" };
    call(
        "GetCompositeSchedule",
        json!({key: evse_id, "duration": duration_s, "chargingRateUnit": rate_unit.map(unit)}),
    )
}
