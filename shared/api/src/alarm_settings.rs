//! An organisation's alarm thresholds: `GET /alarm-settings` (what the rules
//! use now: the organisation's own, or the platform's defaults) and
//! `PUT /alarm-settings` (replaces them; a field left out is the platform's
//! default). Every value is checked here, a 400 naming the field; the
//! organisation is always the caller's.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::{json_body, time};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::State;
use axum::{Extension, Json};
use csms_domain::alarm::{
    AlarmRecipient, AlarmSettings, Bounds, Churn, InARow, Limit, LimitBounds, Lingering,
    OfflineGrace, ProfileTolerance, QuietHours, Severity, Threshold, Thresholds,
};
use csms_domain::tenant::{Email, Language};
use csms_kernel::ports::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The thresholds to use from now on; a field left out takes the platform's
/// default.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AlarmSettingsInput {
    /// A station whose connection closed raises `stationOffline` when it
    /// has not come back for this long: 60 to 604800 seconds.
    #[schema(example = 600, minimum = 60, maximum = 604800)]
    offline_grace_seconds: Option<u64>,
    /// A station that connects this often within the window raises
    /// `stationFlapping` (warning); default 6 within 3600 seconds.
    flapping: Option<ChurnInput>,
    /// A station that boots this often within the window raises
    /// `stationBootLoop` (critical); default 3 within 900 seconds.
    boot_loop: Option<ChurnInput>,
    /// A connector in `Preparing` or `Finishing` longer than this raises
    /// `connectorStuck` (warning; OCPP 1.6 statuses); default 15 and 180
    /// minutes.
    stuck_connector: Option<LingeringInput>,
    /// A running session without an energy register reading for this long
    /// raises `noMeterValues` (warning): 5 to 1440 minutes, default 30.
    #[schema(example = 30, minimum = 5, maximum = 1440)]
    no_meter_values_minutes: Option<u64>,
    /// A running session whose register stands still this long while its
    /// connector says `Charging` raises `chargingNothing` (warning): 5 to
    /// 1440 minutes, default 30.
    #[schema(example = 30, minimum = 5, maximum = 1440)]
    charging_nothing_minutes: Option<u64>,
    /// A connector that reports `Unavailable` or `Reserved` while a
    /// transaction runs on it, for this long, raises
    /// `statusContradictsSession` (warning): 5 to 3600 seconds, default 120.
    #[schema(example = 120, minimum = 5, maximum = 3600)]
    status_contradicts_session_seconds: Option<u64>,
    /// A station whose message timestamps are off the server's clock by
    /// more than this raises `clockDrift` (warning): 30 to 86400 seconds,
    /// default 300.
    #[schema(example = 300, minimum = 30, maximum = 86400)]
    clock_drift_seconds: Option<u64>,
    /// A station that sends more messages than `count` within the window
    /// raises `messageFlood` (warning): 10 to 10000 within 10 to 3600
    /// seconds, default 120 within 60.
    message_flood: Option<LimitInput>,
    /// A station whose connects come from more distinct source addresses
    /// than `count` within the window raises `stationManyAddresses`
    /// (critical; an IPv6 address counts by its /64): 1 to 20 within 10 to
    /// 604800 seconds, default 3 within 86400.
    many_addresses: Option<LimitInput>,
    /// A charger that draws more than its charging profile's limit plus
    /// `percent` of it plus `amps`, for longer than `seconds`, raises
    /// `profileIgnored` (warning; by its Current.Import or Power.Active.Import readings): 0 to 50
    /// %, 1 to 16 A, 10 to 3600 seconds, default 10 %, 1 A, 120 seconds.
    profile_ignored: Option<ToleranceInput>,
    /// A station that leaves this many commands in a row unanswered within
    /// their timeout raises `commandTimeouts` (warning): 2 to 10, default 3.
    #[schema(example = 3, minimum = 2, maximum = 10)]
    command_timeouts_in_a_row: Option<u64>,
    /// Warnings that open within these hours are mailed in one digest when
    /// they end; critical alarms are mailed at once, always. None when left
    /// out.
    quiet_hours: Option<QuietHoursInput>,
    /// Mail warnings in one digest a day (when the quiet hours end, else at
    /// 07:00 Stockholm time) instead of one by one; default false.
    digest_warnings: Option<bool>,
    /// Who is mailed when an alarm opens and when it resolves (one mail per
    /// alarm and change, never per evaluation): at most 20; none when left
    /// out.
    notify: Option<Vec<RecipientInput>>,
}

/// Hours of the day when warnings wait for the digest.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct QuietHoursInput {
    /// Local time `HH:MM`.
    #[schema(example = "22:00")]
    from: String,
    /// Local time `HH:MM`; earlier than `from` for hours across midnight.
    #[schema(example = "07:00")]
    to: String,
    /// IANA time zone; default `Europe/Stockholm`.
    #[schema(example = "Europe/Stockholm")]
    time_zone: Option<String>,
}

/// Hours of the day when warnings wait for the digest.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuietHoursView {
    pub from: String,
    pub to: String,
    pub time_zone: String,
}

fn quiet_hours(input: QuietHoursInput) -> Result<QuietHours, ApiError> {
    let bad = |field: &str, why: String| ApiError::BadRequest(format!("quietHours.{field}: {why}"));
    let time = |field: &str, t: &str| {
        chrono::NaiveTime::parse_from_str(t, "%H:%M")
            .map_err(|_| bad(field, format!("{t:?} is not a time HH:MM")))
    };
    let from = time("from", &input.from)?;
    let to = time("to", &input.to)?;
    let time_zone = match input.time_zone.as_deref() {
        None => AlarmSettings::DIGEST_TZ,
        Some(tz) => tz
            .parse()
            .map_err(|_| bad("timeZone", format!("{tz:?} is not an IANA time zone")))?,
    };
    QuietHours::new(from, to, time_zone).map_err(|(field, why)| bad(field, why))
}

/// How often something may happen within a window before it is an alarm.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChurnInput {
    /// 3 to 50.
    #[schema(example = 6, minimum = 3, maximum = 50)]
    count: u64,
    /// 60 to 3600 seconds.
    #[schema(example = 3600, minimum = 60, maximum = 3600)]
    window_seconds: u64,
}

/// How far above its profile's limit, and for how long, a charger may draw.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToleranceInput {
    /// Of the limit: 0 to 50.
    #[schema(example = 10, minimum = 0, maximum = 50)]
    percent: u64,
    /// Whole amperes on top: 1 to 16.
    #[schema(example = 1, minimum = 1, maximum = 16)]
    amps: u64,
    /// 10 to 3600 seconds.
    #[schema(example = 120, minimum = 10, maximum = 3600)]
    seconds: u64,
}

/// How far above its profile's limit, and for how long, a charger may draw.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToleranceView {
    pub percent: u8,
    pub amps: u8,
    pub seconds: u32,
}

/// More than `count` within `windowSeconds` is an alarm; the bounds are the
/// rule's.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LimitInput {
    #[schema(example = 120, minimum = 1, maximum = 10000)]
    count: u64,
    #[schema(example = 60, minimum = 10, maximum = 604800)]
    window_seconds: u64,
}

/// More than `count` within `windowSeconds` is an alarm.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitView {
    pub count: u32,
    pub window_seconds: u32,
}

impl From<Limit> for LimitView {
    fn from(l: Limit) -> Self {
        LimitView {
            count: l.count(),
            window_seconds: l.window_secs(),
        }
    }
}

fn limit(field: &str, input: Option<LimitInput>, bounds: LimitBounds) -> Result<Limit, ApiError> {
    input.map_or(Ok(bounds.default), |l| {
        bounds
            .limit(l.count, l.window_seconds)
            .map_err(|(what, why)| ApiError::BadRequest(format!("{field}.{what}: {why}")))
    })
}

/// How long a connector may stay in `Preparing` and in `Finishing`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LingeringInput {
    /// 5 to 1440 minutes.
    #[schema(example = 15, minimum = 5, maximum = 1440)]
    preparing_minutes: u64,
    /// 5 to 1440 minutes.
    #[schema(example = 180, minimum = 5, maximum = 1440)]
    finishing_minutes: u64,
}

/// How long a connector may stay in `Preparing` and in `Finishing`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LingeringView {
    pub preparing_minutes: u16,
    pub finishing_minutes: u16,
}

/// How often something may happen within a window before it is an alarm.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurnView {
    pub count: u8,
    pub window_seconds: u16,
}

impl From<Churn> for ChurnView {
    fn from(c: Churn) -> Self {
        ChurnView {
            count: c.count(),
            window_seconds: c.window_secs(),
        }
    }
}

fn churn(field: &str, input: Option<ChurnInput>, default: Churn) -> Result<Churn, ApiError> {
    input.map_or(Ok(default), |c| {
        Churn::new(c.count, c.window_seconds)
            .map_err(|(what, why)| ApiError::BadRequest(format!("{field}.{what}: {why}")))
    })
}

/// A threshold from `value` (the bounds' unit), the default when left
/// out; a 400 names `field`.
fn threshold(field: &str, value: Option<u64>, bounds: Bounds) -> Result<Threshold, ApiError> {
    value.map_or(Ok(bounds.default_threshold()), |v| {
        bounds
            .threshold(v)
            .map_err(|why| ApiError::BadRequest(format!("{field}: {why}")))
    })
}

/// Someone on duty.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RecipientInput {
    #[schema(example = "jour@brf-solsidan.se")]
    email: String,
    /// `warning` (every alarm) or `critical` (critical ones only); default
    /// `warning`.
    min_severity: Option<String>,
    /// `sv` or `en`, default `sv`.
    language: Option<String>,
}

/// Someone on duty, as stored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    pub email: String,
    /// `warning` or `critical`.
    pub min_severity: String,
    pub language: String,
}

fn recipients(input: Vec<RecipientInput>) -> Result<Vec<AlarmRecipient>, ApiError> {
    if input.len() > AlarmSettings::MAX_RECIPIENTS {
        return Err(ApiError::BadRequest(format!(
            "notify: at most {} recipients",
            AlarmSettings::MAX_RECIPIENTS
        )));
    }
    input
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let bad = |field: &str, why: String| {
                ApiError::BadRequest(format!("notify[{i}].{field}: {why}"))
            };
            Ok(AlarmRecipient {
                email: Email::parse(&r.email).map_err(|e| bad("email", e.to_string()))?,
                min_severity: match r.min_severity.as_deref() {
                    None | Some("warning") => Severity::Warning,
                    Some("critical") => Severity::Critical,
                    Some(_) => return Err(bad("minSeverity", "one of warning, critical".into())),
                },
                language: match r.language.as_deref() {
                    None => Language::Sv,
                    Some(l) => Language::parse(l).map_err(|e| bad("language", e.to_string()))?,
                },
            })
        })
        .collect()
}

/// The organisation's alarm thresholds, as the rules use them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSettingsView {
    /// A station whose connection closed raises `stationOffline` when it
    /// has not come back for this long.
    pub offline_grace_seconds: u32,
    /// Connects within the window that raise `stationFlapping`.
    pub flapping: ChurnView,
    /// Boots within the window that raise `stationBootLoop`.
    pub boot_loop: ChurnView,
    /// How long a connector may stay in `Preparing` and `Finishing` before
    /// `connectorStuck`.
    pub stuck_connector: LingeringView,
    /// Minutes without an energy reading before `noMeterValues`.
    pub no_meter_values_minutes: u32,
    /// Minutes of a still register while `Charging` before
    /// `chargingNothing`.
    pub charging_nothing_minutes: u32,
    /// Seconds a contradicting status may last before
    /// `statusContradictsSession`.
    pub status_contradicts_session_seconds: u32,
    /// Seconds a station's clock may be off before `clockDrift`.
    pub clock_drift_seconds: u32,
    /// Messages from one station within the window beyond which
    /// `messageFlood` is raised.
    pub message_flood: LimitView,
    /// Distinct source addresses of one station's connects within the
    /// window beyond which `stationManyAddresses` is raised.
    pub many_addresses: LimitView,
    /// How far above its charging profile's limit, and for how long, a
    /// charger may draw before `profileIgnored`.
    pub profile_ignored: ToleranceView,
    /// Commands in a row a station leaves unanswered before
    /// `commandTimeouts`.
    pub command_timeouts_in_a_row: u8,
    /// Who is mailed about alarms.
    pub notify: Vec<RecipientView>,
    /// When warnings wait for the digest; null: never.
    pub quiet_hours: Option<QuietHoursView>,
    /// Whether warnings are mailed in one digest a day.
    pub digest_warnings: bool,
    /// The end of the last digest's window; null before the first.
    pub last_digest_at: Option<String>,
    /// False while the organisation has set nothing: the platform's
    /// thresholds apply.
    pub set_by_organisation: bool,
    /// When they were last set; null for the defaults.
    pub updated_at: Option<String>,
    /// 0 for the defaults, then one more for each change.
    pub version: u64,
}

impl From<&AlarmSettings> for AlarmSettingsView {
    fn from(s: &AlarmSettings) -> Self {
        AlarmSettingsView {
            offline_grace_seconds: s.offline_grace.secs(),
            flapping: s.flapping.into(),
            boot_loop: s.boot_loop.into(),
            stuck_connector: LingeringView {
                preparing_minutes: s.lingering.preparing_mins(),
                finishing_minutes: s.lingering.finishing_mins(),
            },
            no_meter_values_minutes: s
                .thresholds
                .no_meter_values
                .in_unit(Thresholds::NO_METER_VALUES),
            charging_nothing_minutes: s
                .thresholds
                .charging_nothing
                .in_unit(Thresholds::CHARGING_NOTHING),
            status_contradicts_session_seconds: s.thresholds.status_contradiction.secs(),
            clock_drift_seconds: s.thresholds.clock_drift.secs(),
            message_flood: s.message_flood.into(),
            many_addresses: s.many_addresses.into(),
            profile_ignored: ToleranceView {
                percent: s.profile_ignored.percent(),
                amps: s.profile_ignored.amps(),
                seconds: s.profile_ignored.secs(),
            },
            command_timeouts_in_a_row: s.command_timeouts.count(),
            notify: s
                .recipients
                .iter()
                .map(|r| RecipientView {
                    email: r.email.as_str().to_owned(),
                    min_severity: match r.min_severity {
                        Severity::Warning => "warning",
                        Severity::Critical => "critical",
                    }
                    .to_owned(),
                    language: r.language.as_str().to_owned(),
                })
                .collect(),
            quiet_hours: s.quiet_hours.map(|q| QuietHoursView {
                from: q.from.format("%H:%M").to_string(),
                to: q.to.format("%H:%M").to_string(),
                time_zone: q.time_zone.name().to_owned(),
            }),
            digest_warnings: s.digest_warnings,
            last_digest_at: s.digest_through.map(time),
            set_by_organisation: s.version > 0,
            updated_at: s.updated_at.map(time),
            version: s.version,
        }
    }
}

/// The caller's organisation's settings, or the defaults.
async fn current(st: &ApiState, who: &Principal) -> Result<AlarmSettings, ApiError> {
    Ok(st
        .store
        .get_alarm_settings(&who.org_id)
        .await?
        .unwrap_or_else(|| AlarmSettings::defaults(who.org_id.clone(), st.offline_grace)))
}

#[utoipa::path(get, path = "/alarm-settings", operation_id = "getAlarmSettings", tag = "alarms", summary = "The organisation's alarm thresholds", description = "What the alarm rules use now: the organisation's own thresholds, or the platform's (`setByOrganisation: false`).", responses((status = 200, body = AlarmSettingsView), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<AlarmSettingsView>, ApiError> {
    Ok(Json((&current(&st, &who).await?).into()))
}

#[utoipa::path(put, path = "/alarm-settings", operation_id = "putAlarmSettings", tag = "alarms", summary = "Set the organisation's alarm thresholds and who is mailed about alarms", description = "Replaces them: a field left out takes the platform's default (no recipients). The rules use them from their next evaluation (the offline sweep: within a minute).", request_body = AlarmSettingsInput, responses((status = 200, body = AlarmSettingsView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 409, description = "Changed by someone else meanwhile; read them again", body = ErrorBody)))]
pub async fn put(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Json<AlarmSettingsView>, ApiError> {
    let input: AlarmSettingsInput = json_body(&body)?;
    let offline_grace = match input.offline_grace_seconds {
        None => st.offline_grace,
        Some(secs) => OfflineGrace::from_secs(secs)
            .map_err(|e| ApiError::BadRequest(format!("offlineGraceSeconds: {e}")))?,
    };
    let flapping = churn("flapping", input.flapping, Churn::FLAPPING)?;
    let boot_loop = churn("bootLoop", input.boot_loop, Churn::BOOT_LOOP)?;
    let lingering = input.stuck_connector.map_or(Ok(Lingering::DEFAULT), |l| {
        Lingering::new(l.preparing_minutes, l.finishing_minutes)
            .map_err(|(what, why)| ApiError::BadRequest(format!("stuckConnector.{what}: {why}")))
    })?;
    let thresholds = Thresholds {
        no_meter_values: threshold(
            "noMeterValuesMinutes",
            input.no_meter_values_minutes,
            Thresholds::NO_METER_VALUES,
        )?,
        charging_nothing: threshold(
            "chargingNothingMinutes",
            input.charging_nothing_minutes,
            Thresholds::CHARGING_NOTHING,
        )?,
        status_contradiction: threshold(
            "statusContradictsSessionSeconds",
            input.status_contradicts_session_seconds,
            Thresholds::STATUS_CONTRADICTION,
        )?,
        clock_drift: threshold(
            "clockDriftSeconds",
            input.clock_drift_seconds,
            Thresholds::CLOCK_DRIFT,
        )?,
    };
    let message_flood = limit("messageFlood", input.message_flood, Limit::MESSAGE_FLOOD)?;
    let many_addresses = limit("manyAddresses", input.many_addresses, Limit::MANY_ADDRESSES)?;
    let profile_ignored = input
        .profile_ignored
        .map_or(Ok(ProfileTolerance::DEFAULT), |t| {
            ProfileTolerance::new(t.percent, t.amps, t.seconds).map_err(|(what, why)| {
                ApiError::BadRequest(format!("profileIgnored.{what}: {why}"))
            })
        })?;
    let command_timeouts = input
        .command_timeouts_in_a_row
        .map_or(Ok(InARow::COMMAND_TIMEOUTS), InARow::new)
        .map_err(|e| ApiError::BadRequest(format!("commandTimeoutsInARow: {e}")))?;
    let recipients = recipients(input.notify.unwrap_or_default())?;
    let quiet_hours = input.quiet_hours.map(quiet_hours).transpose()?;
    let stored = current(&st, &who).await?;
    let settings = AlarmSettings {
        org_id: who.org_id.clone(),
        offline_grace,
        flapping,
        boot_loop,
        lingering,
        thresholds,
        message_flood,
        many_addresses,
        profile_ignored,
        command_timeouts,
        recipients,
        quiet_hours,
        digest_warnings: input.digest_warnings.unwrap_or(false),
        // The digest job's place is not the caller's to change.
        digest_through: stored.digest_through,
        updated_at: Some(st.clock.now()),
        version: stored.version + 1,
    };
    match st.store.put_alarm_settings(&settings, stored.version).await {
        Ok(()) => Ok(Json((&settings).into())),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(
            "the alarm settings changed meanwhile; read them again".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
