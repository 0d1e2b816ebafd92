//! Smart charging: SetChargingProfile, ClearChargingProfile and
//! GetCompositeSchedule, plus the conversion of a version-neutral
//! [`ChargingProfile`] into each version's `ChargingProfileType`, which
//! remote start and pause use too.

use super::pause::PAUSE_PROFILE_IDS;
use super::{call, status_in, time, v16_transaction_id, Call, EncodeError};
use csms_domain::command::{
    ChargingProfile, ProfileKind, ProfilePurpose, RateUnit, Recurrency, LOAD_PROFILE_IDS,
};
use csms_domain::OcppVersion;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::{Number, Value};

/// 1.6 `csChargingProfiles` / `chargingProfile`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile16 {
    charging_profile_id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<i32>,
    stack_level: u32,
    charging_profile_purpose: &'static str,
    charging_profile_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrency_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
    charging_schedule: Schedule,
}

/// 2.0.1 `ChargingProfileType`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile201 {
    id: i32,
    stack_level: u32,
    charging_profile_purpose: &'static str,
    charging_profile_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrency_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
    /// 2.0.1 allows up to three schedules (for ISO 15118); we send one.
    charging_schedule: [Schedule; 1],
}

/// `ChargingScheduleType` of both versions; only 2.0.1 has the `id`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Schedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<u32>,
    charging_rate_unit: &'static str,
    charging_schedule_period: Vec<Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_charging_rate: Option<Number>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Period {
    start_period: u32,
    limit: Number,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_phases: Option<u8>,
}

/// The id of the one schedule of a 2.0.1 profile. ISO 15118 passes schedule
/// ids to the car as SAScheduleTupleID (1..=255), so a small constant fits.
const SCHEDULE_ID: i32 = 1;

fn purpose(p: ProfilePurpose, version: OcppVersion) -> &'static str {
    match (p, version) {
        (ProfilePurpose::StationMax, OcppVersion::V16) => "ChargePointMaxProfile",
        (ProfilePurpose::StationMax, OcppVersion::V201) => "ChargingStationMaxProfile",
        (ProfilePurpose::TxDefault, _) => "TxDefaultProfile",
        (ProfilePurpose::TxProfile, _) => "TxProfile",
    }
}

fn kind(k: ProfileKind) -> &'static str {
    match k {
        ProfileKind::Absolute => "Absolute",
        ProfileKind::Recurring => "Recurring",
        ProfileKind::Relative => "Relative",
    }
}

fn recurrency(r: Recurrency) -> &'static str {
    match r {
        Recurrency::Daily => "Daily",
        Recurrency::Weekly => "Weekly",
    }
}

fn unit(u: RateUnit) -> &'static str {
    match u {
        RateUnit::A => "A",
        RateUnit::W => "W",
    }
}

/// A limit as a JSON number. Both versions take at most one decimal place
/// (1.6 schema: `multipleOf 0.1`; 2.0.1 spec: "accepts at most one digit
/// fraction"), so finer values are cut toward zero: rounding never raises
/// a maximum. The decimal turns into a JSON number only here, from its
/// text, so no float arithmetic ever touches it.
fn limit(field: &str, d: Decimal) -> Result<Number, EncodeError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(EncodeError::Invalid(format!("{field}: {d} is negative")));
    }
    let d = d
        .round_dp_with_strategy(1, RoundingStrategy::ToZero)
        .normalize();
    let n = if d.is_zero() {
        Some(Number::from(0))
    } else if d.scale() == 0 {
        d.to_i64().map(Number::from)
    } else {
        serde_json::from_str::<Number>(&d.to_string()).ok()
    };
    n.ok_or_else(|| EncodeError::Invalid(format!("{field}: {d} is out of range")))
}

/// What both versions require of any profile, beyond the schema.
fn check_profile(field: &str, p: &ChargingProfile) -> Result<(), EncodeError> {
    let invalid = |what: String| Err(EncodeError::Invalid(format!("{field}.{what}")));
    if p.periods.is_empty() {
        return invalid("periods: at least one period".into());
    }
    // Each startPeriod also ends the previous period: out of order, the
    // schedule would mean nothing.
    if let Some(i) = (1..p.periods.len())
        .find(|&i| p.periods[i].start_period_s <= p.periods[i - 1].start_period_s)
    {
        return invalid(format!(
            "periods[{i}].startPeriodS: periods go in increasing order of start"
        ));
    }
    if let Some(i) = p
        .periods
        .iter()
        .position(|x| x.number_phases.is_some_and(|n| !(1..=3).contains(&n)))
    {
        return invalid(format!("periods[{i}].numberPhases: 1, 2 or 3"));
    }
    match (p.kind, p.recurrency) {
        (ProfileKind::Recurring, None) => {
            return invalid("recurrency: a recurring profile is daily or weekly".into())
        }
        (ProfileKind::Absolute | ProfileKind::Relative, Some(_)) => {
            return invalid("recurrency: only a recurring profile recurs".into())
        }
        _ => {}
    }
    // A relative schedule starts with the transaction; a start time would
    // contradict it.
    if p.kind == ProfileKind::Relative && p.start_schedule.is_some() {
        return invalid("startSchedule: a relative profile starts with the transaction".into());
    }
    if let (Some(from), Some(to)) = (p.valid_from, p.valid_to) {
        if from >= to {
            return invalid("validTo: not after validFrom".into());
        }
    }
    if p.transaction_id.is_some() && p.purpose != ProfilePurpose::TxProfile {
        return invalid("transactionId: only a txProfile limits a transaction".into());
    }
    Ok(())
}

/// Profiles from the API may not take the ids pause reserves, or a resume
/// would clear a profile the operator set.
pub(super) fn check_user_profile(field: &str, p: &ChargingProfile) -> Result<(), EncodeError> {
    if PAUSE_PROFILE_IDS.contains(&p.id) {
        return Err(EncodeError::Invalid(format!(
            "{field}.id: ids from {} on are reserved for pause",
            PAUSE_PROFILE_IDS.start
        )));
    }
    if LOAD_PROFILE_IDS.contains(&p.id) {
        return Err(EncodeError::Invalid(format!(
            "{field}.id: ids {} to {} are reserved for load balancing",
            LOAD_PROFILE_IDS.start,
            LOAD_PROFILE_IDS.end - 1
        )));
    }
    Ok(())
}

fn schedule(field: &str, p: &ChargingProfile, id: Option<i32>) -> Result<Schedule, EncodeError> {
    let periods = p
        .periods
        .iter()
        .enumerate()
        .map(|(i, x)| {
            Ok(Period {
                start_period: x.start_period_s,
                limit: limit(&format!("{field}.periods[{i}].limit"), x.limit)?,
                number_phases: x.number_phases,
            })
        })
        .collect::<Result<_, EncodeError>>()?;
    Ok(Schedule {
        id,
        start_schedule: p.start_schedule.map(time),
        duration: p.duration_s,
        charging_rate_unit: unit(p.rate_unit),
        charging_schedule_period: periods,
        min_charging_rate: p
            .min_charging_rate
            .map(|m| limit(&format!("{field}.minChargingRate"), m))
            .transpose()?,
    })
}

/// The profile as 1.6 `ChargingProfile`; `field` names it in errors.
pub(super) fn v16(field: &str, p: &ChargingProfile) -> Result<Profile16, EncodeError> {
    check_profile(field, p)?;
    Ok(Profile16 {
        charging_profile_id: p.id,
        transaction_id: p
            .transaction_id
            .as_deref()
            .map(|tx| v16_transaction_id(&format!("{field}.transactionId"), tx))
            .transpose()?,
        stack_level: p.stack_level,
        charging_profile_purpose: purpose(p.purpose, OcppVersion::V16),
        charging_profile_kind: kind(p.kind),
        recurrency_kind: p.recurrency.map(recurrency),
        valid_from: p.valid_from.map(time),
        valid_to: p.valid_to.map(time),
        charging_schedule: schedule(field, p, None)?,
    })
}

/// The profile as 2.0.1 `ChargingProfileType`; `field` names it in errors.
pub(super) fn v201(field: &str, p: &ChargingProfile) -> Result<Profile201, EncodeError> {
    check_profile(field, p)?;
    Ok(Profile201 {
        id: p.id,
        stack_level: p.stack_level,
        charging_profile_purpose: purpose(p.purpose, OcppVersion::V201),
        charging_profile_kind: kind(p.kind),
        recurrency_kind: p.recurrency.map(recurrency),
        valid_from: p.valid_from.map(time),
        valid_to: p.valid_to.map(time),
        transaction_id: p.transaction_id.clone(),
        charging_schedule: [schedule(field, p, Some(SCHEDULE_ID))?],
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetChargingProfile16 {
    connector_id: u32,
    cs_charging_profiles: Profile16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetChargingProfile201 {
    evse_id: u32,
    charging_profile: Profile201,
}

/// SetChargingProfile of a profile from the API.
pub(super) fn set(
    evse_id: u32,
    p: &ChargingProfile,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    check_user_profile("profile", p)?;
    set_any(evse_id, p, version)
}

/// SetChargingProfile of any profile, the pause's included.
pub(super) fn set_any(
    evse_id: u32,
    p: &ChargingProfile,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    match p.purpose {
        // The station's own limit lives on connector/EVSE 0 only.
        ProfilePurpose::StationMax if evse_id != 0 => {
            return Err(EncodeError::Invalid(
                "evseId: a stationMax profile applies to the whole station (evseId 0)".into(),
            ))
        }
        // A transaction runs on an EVSE, never on the station as a whole.
        ProfilePurpose::TxProfile if evse_id == 0 => {
            return Err(EncodeError::Invalid(
                "evseId: a txProfile goes to the EVSE of its transaction (> 0)".into(),
            ))
        }
        // 1.6 lets a txProfile without id apply to whatever runs on the
        // connector; 2.0.1 requires the transaction to be named.
        ProfilePurpose::TxProfile if version == OcppVersion::V201 && p.transaction_id.is_none() => {
            return Err(EncodeError::Invalid(
                "profile.transactionId: OCPP 2.0.1 needs the transaction a txProfile limits".into(),
            ))
        }
        _ => {}
    }
    match version {
        OcppVersion::V16 => call(
            "SetChargingProfile",
            &SetChargingProfile16 {
                connector_id: evse_id,
                cs_charging_profiles: v16("profile", p)?,
            },
        ),
        OcppVersion::V201 => call(
            "SetChargingProfile",
            &SetChargingProfile201 {
                evse_id,
                charging_profile: v201("profile", p)?,
            },
        ),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClearChargingProfile16 {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_level: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClearChargingProfile201 {
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile_criteria: Option<Criteria201>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Criteria201 {
    #[serde(skip_serializing_if = "Option::is_none")]
    evse_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_profile_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_level: Option<u32>,
}

/// ClearChargingProfile by id and/or criteria; nothing given clears every
/// profile the station holds, as both versions define it.
pub(super) fn clear(
    profile_id: Option<i32>,
    evse_id: Option<u32>,
    purpose_: Option<ProfilePurpose>,
    stack_level: Option<u32>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => call(
            "ClearChargingProfile",
            &ClearChargingProfile16 {
                id: profile_id,
                connector_id: evse_id,
                charging_profile_purpose: purpose_.map(|p| purpose(p, version)),
                stack_level,
            },
        ),
        OcppVersion::V201 => {
            let criteria =
                (evse_id.is_some() || purpose_.is_some() || stack_level.is_some()).then(|| {
                    Criteria201 {
                        evse_id,
                        charging_profile_purpose: purpose_.map(|p| purpose(p, version)),
                        stack_level,
                    }
                });
            call(
                "ClearChargingProfile",
                &ClearChargingProfile201 {
                    charging_profile_id: profile_id,
                    charging_profile_criteria: criteria,
                },
            )
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetCompositeSchedule16 {
    connector_id: u32,
    duration: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_rate_unit: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetCompositeSchedule201 {
    evse_id: u32,
    duration: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_rate_unit: Option<&'static str>,
}

pub(super) fn composite(
    evse_id: u32,
    duration_s: u32,
    rate_unit: Option<RateUnit>,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    if duration_s == 0 {
        return Err(EncodeError::Invalid(
            "durationS: a schedule of 0 seconds holds nothing".into(),
        ));
    }
    let charging_rate_unit = rate_unit.map(unit);
    match version {
        OcppVersion::V16 => call(
            "GetCompositeSchedule",
            &GetCompositeSchedule16 {
                connector_id: evse_id,
                duration: duration_s,
                charging_rate_unit,
            },
        ),
        OcppVersion::V201 => call(
            "GetCompositeSchedule",
            &GetCompositeSchedule201 {
                evse_id,
                duration: duration_s,
                charging_rate_unit,
            },
        ),
    }
}

/// Set: Accepted or Rejected. Clear: Accepted or Unknown (no such profile).
/// Composite: Accepted (with the schedule) or Rejected.
pub(super) fn accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::limit;
    use csms_domain::command::{
        ChargingProfile, CommandRequest, ProfileKind, ProfilePurpose, RateUnit, Recurrency,
    };
    use csms_ocpp::schema::{self, Kind};
    use rust_decimal::Decimal;
    use serde_json::json;

    fn set(evse_id: u32, profile: ChargingProfile) -> CommandRequest {
        CommandRequest::SetChargingProfile { evse_id, profile }
    }

    #[test]
    fn v16_set_charging_profile() {
        let c = ok(&set(0, profile(ProfilePurpose::StationMax, None)), V16);
        assert_eq!(c.action, "SetChargingProfile");
        assert_eq!(
            c.payload,
            json!({"connectorId": 0, "csChargingProfiles": {
                "chargingProfileId": 7,
                "stackLevel": 2,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "startSchedule": "2026-11-24T01:00:00.000Z",
                    "duration": 3600,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 16, "numberPhases": 3},
                        {"startPeriod": 1800, "limit": 6.3},
                    ],
                },
            }})
        );
        let c = ok(&set(2, profile(ProfilePurpose::TxProfile, Some("42"))), V16);
        assert_eq!(c.payload["csChargingProfiles"]["transactionId"], 42);
        // 1.6 lets a txProfile apply to whatever runs on the connector.
        ok(&set(2, profile(ProfilePurpose::TxProfile, None)), V16);
    }

    #[test]
    fn v201_set_charging_profile() {
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.kind = ProfileKind::Recurring;
        p.recurrency = Some(Recurrency::Daily);
        p.valid_from = Some(t(0));
        p.valid_to = Some(t(23));
        p.min_charging_rate = Some(Decimal::new(60, 1));
        let c = ok(&set(0, p), V201);
        assert_eq!(
            c.payload,
            json!({"evseId": 0, "chargingProfile": {
                "id": 7,
                "stackLevel": 2,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Recurring",
                "recurrencyKind": "Daily",
                "validFrom": "2026-11-24T00:00:00.000Z",
                "validTo": "2026-11-24T23:00:00.000Z",
                "chargingSchedule": [{
                    "id": 1,
                    "startSchedule": "2026-11-24T01:00:00.000Z",
                    "duration": 3600,
                    "chargingRateUnit": "A",
                    "minChargingRate": 6,
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 16, "numberPhases": 3},
                        {"startPeriod": 1800, "limit": 6.3},
                    ],
                }],
            }})
        );
        let c = ok(&set(0, profile(ProfilePurpose::StationMax, None)), V201);
        assert_eq!(
            c.payload["chargingProfile"]["chargingProfilePurpose"],
            "ChargingStationMaxProfile"
        );
        let c = ok(
            &set(1, profile(ProfilePurpose::TxProfile, Some("tx-9"))),
            V201,
        );
        assert_eq!(c.payload["chargingProfile"]["transactionId"], "tx-9");
    }

    #[test]
    fn refused_profiles() {
        let both = |req: &CommandRequest, starts: &str| {
            for v in [V16, V201] {
                let e = invalid(req, v);
                assert!(e.starts_with(starts), "{v:?}: {e}");
            }
        };
        both(&set(1, profile(ProfilePurpose::StationMax, None)), "evseId");
        both(
            &set(0, profile(ProfilePurpose::TxProfile, Some("1"))),
            "evseId",
        );
        both(
            &set(1, profile(ProfilePurpose::TxDefault, Some("1"))),
            "profile.transactionId",
        );
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.periods.clear();
        both(&set(1, p), "profile.periods");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.periods[1].start_period_s = 0;
        both(&set(1, p), "profile.periods[1].startPeriodS");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.periods[0].number_phases = Some(4);
        both(&set(1, p), "profile.periods[0].numberPhases");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.periods[1].limit = Decimal::new(-1, 0);
        both(&set(1, p), "profile.periods[1].limit");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.kind = ProfileKind::Recurring;
        both(&set(1, p), "profile.recurrency");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.recurrency = Some(Recurrency::Weekly);
        both(&set(1, p), "profile.recurrency");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.kind = ProfileKind::Relative;
        both(&set(1, p), "profile.startSchedule");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        (p.valid_from, p.valid_to) = (Some(t(5)), Some(t(5)));
        both(&set(1, p), "profile.validTo");
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.id = crate::wire::pause_profile_id("7");
        both(&set(1, p), "profile.id");

        assert!(
            invalid(&set(1, profile(ProfilePurpose::TxProfile, None)), V201)
                .starts_with("profile.transactionId: OCPP 2.0.1")
        );
        assert!(invalid(
            &set(1, profile(ProfilePurpose::TxProfile, Some("tx-9"))),
            V16
        )
        .starts_with("profile.transactionId: OCPP 1.6"));
        let e = invalid(
            &set(1, profile(ProfilePurpose::TxProfile, Some(&"t".repeat(37)))),
            V201,
        );
        assert!(e.contains("/chargingProfile/transactionId"), "{e}");
    }

    #[test]
    fn limits_have_one_decimal_place_and_never_grow() {
        // The JSON text on the wire, which is what the charger reads.
        let n = |s: &str| {
            limit("l", s.parse::<Decimal>().unwrap())
                .unwrap()
                .to_string()
        };
        assert_eq!(n("16"), "16");
        assert_eq!(n("16.00"), "16");
        assert_eq!(n("6.3"), "6.3");
        assert_eq!(n("12.39"), "12.3");
        assert_eq!(n("0.05"), "0");
        assert_eq!(n("-0.0"), "0");
        assert_eq!(n("22080.5"), "22080.5");
        assert_eq!(n("1234567.8"), "1234567.8");
        assert!(limit("l", Decimal::new(-1, 1)).is_err());

        // Every tenth up to 2 kW (and a stretch of large watt values) passes
        // the 1.6 `multipleOf 0.1` check once it is a JSON number.
        let tenths = (0..20_000).chain(2_200_000..2_201_000);
        for tenth in tenths {
            let value = limit("l", Decimal::new(tenth, 1)).unwrap();
            let payload = json!({"connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative", "chargingSchedule": {"chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": value}]}}});
            assert_eq!(
                schema::validate(
                    csms_ocpp::Version::V16,
                    "SetChargingProfile",
                    Kind::Request,
                    &payload
                ),
                Ok(()),
                "{tenth} tenths"
            );
        }
    }

    #[test]
    fn limits_in_watts_and_units() {
        let mut p = profile(ProfilePurpose::TxDefault, None);
        p.rate_unit = RateUnit::W;
        p.periods[0].limit = Decimal::new(11_0405, 1);
        let c = ok(&set(1, p.clone()), V16);
        let s = &c.payload["csChargingProfiles"]["chargingSchedule"];
        assert_eq!(s["chargingRateUnit"], "W");
        assert_eq!(s["chargingSchedulePeriod"][0]["limit"], json!(11040.5));
        let c = ok(&set(1, p), V201);
        assert_eq!(
            c.payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
                ["limit"],
            json!(11040.5)
        );
    }

    fn clear(
        profile_id: Option<i32>,
        evse_id: Option<u32>,
        purpose: Option<ProfilePurpose>,
        stack_level: Option<u32>,
    ) -> CommandRequest {
        CommandRequest::ClearChargingProfile {
            profile_id,
            evse_id,
            purpose,
            stack_level,
        }
    }

    #[test]
    fn clear_charging_profile() {
        let by_id = clear(Some(12), None, None, None);
        assert_eq!(ok(&by_id, V16).payload, json!({"id": 12}));
        assert_eq!(ok(&by_id, V201).payload, json!({"chargingProfileId": 12}));
        let by_criteria = clear(None, Some(1), Some(ProfilePurpose::StationMax), Some(3));
        let c = ok(&by_criteria, V16);
        assert_eq!(c.action, "ClearChargingProfile");
        assert_eq!(
            c.payload,
            json!({"connectorId": 1, "chargingProfilePurpose": "ChargePointMaxProfile", "stackLevel": 3})
        );
        assert_eq!(
            ok(&by_criteria, V201).payload,
            json!({"chargingProfileCriteria": {"evseId": 1,
                "chargingProfilePurpose": "ChargingStationMaxProfile", "stackLevel": 3}})
        );
        for v in [V16, V201] {
            assert_eq!(ok(&clear(None, None, None, None), v).payload, json!({}));
        }
    }

    fn composite(rate_unit: Option<RateUnit>, duration_s: u32) -> CommandRequest {
        CommandRequest::GetCompositeSchedule {
            evse_id: 1,
            duration_s,
            rate_unit,
        }
    }

    #[test]
    fn get_composite_schedule() {
        let c = ok(&composite(Some(RateUnit::W), 86_400), V16);
        assert_eq!(c.action, "GetCompositeSchedule");
        assert_eq!(
            c.payload,
            json!({"connectorId": 1, "duration": 86400, "chargingRateUnit": "W"})
        );
        assert_eq!(
            ok(&composite(None, 600), V201).payload,
            json!({"evseId": 1, "duration": 600})
        );
        for v in [V16, V201] {
            assert!(invalid(&composite(None, 0), v).starts_with("durationS"));
        }
    }

    #[test]
    fn answers() {
        let set_req = set(0, profile(ProfilePurpose::StationMax, None));
        let clear_req = clear(Some(12), None, None, None);
        let comp = composite(None, 600);
        for v in [V16, V201] {
            assert_answers(
                &set_req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Rejected"}),
                json!({"status": "Unknown"}),
            );
            assert_answers(
                &clear_req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "Unknown"}),
                json!({"status": "Rejected"}),
            );
        }
        assert_answers(
            &comp,
            V16,
            json!({"status": "Accepted", "connectorId": 1, "scheduleStart": "2026-11-24T01:00:00Z",
                   "chargingSchedule": {"chargingRateUnit": "A",
                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}),
            json!({"status": "Rejected"}),
            json!({"status": "Accepted", "chargingSchedule": {"chargingRateUnit": "A"}}),
        );
        assert_answers(
            &comp,
            V201,
            json!({"status": "Accepted", "schedule": {"evseId": 1, "duration": 600,
                   "scheduleStart": "2026-11-24T01:00:00Z", "chargingRateUnit": "A",
                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}),
            json!({"status": "Rejected"}),
            json!({"status": "Accepted", "schedule": {"evseId": 1}}),
        );
    }
}
