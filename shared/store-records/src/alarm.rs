//! Alarms as stored: a [`StoredAlarm`], with snake-case names and `null` for
//! an unresolved alarm's `resolved_at`. The details are free JSON and stay
//! whatever JSON the raiser gave.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::alarm::{
    Alarm, AlarmRecipient, AlarmSettings, Bounds, Churn, Handling, InARow, Limit, LimitBounds,
    Lingering, OfflineGrace, ProfileTolerance, QuietHours, Severity, Threshold, Thresholds,
};
use csms_domain::tenant::{Email, Language};
use csms_domain::OrgId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlarm {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "kind")]
    pub kind: String,
    #[serde(rename = "severity")]
    pub severity: StoredSeverity,
    // Title, action and repeats: absent in alarms raised before they
    // existed, and while there is none.
    #[serde(rename = "title", default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "message")]
    pub message: String,
    #[serde(rename = "details")]
    pub details: serde_json::Value,
    #[serde(rename = "action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(rename = "raised_at")]
    pub raised_at: DateTime<Utc>,
    #[serde(
        rename = "occurrences",
        default = "one",
        skip_serializing_if = "is_one"
    )]
    pub occurrences: u32,
    #[serde(
        rename = "last_seen_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(rename = "resolved_at", default)]
    pub resolved_at: Option<DateTime<Utc>>,
    // What people did about it: absent until someone did something, so an
    // alarm nobody touched is stored as it always was.
    #[serde(
        rename = "acknowledged_by",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub acknowledged_by: Option<String>,
    #[serde(
        rename = "acknowledged_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "resolved_by",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_by: Option<String>,
    #[serde(
        rename = "resolution_note",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolution_note: Option<String>,
    #[serde(rename = "version")]
    pub version: u64,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredSeverity {
    #[serde(rename = "warning")]
    Warning,
    #[serde(rename = "critical")]
    Critical,
}

impl From<&Alarm> for StoredAlarm {
    fn from(a: &Alarm) -> Self {
        let Alarm {
            id,
            org_id,
            kind,
            severity,
            title,
            message,
            details,
            action,
            raised_at,
            occurrences,
            last_seen_at,
            resolved_at,
            handling,
            version,
        } = a;
        StoredAlarm {
            id: id.clone(),
            org_id: org_id.as_str().to_owned(),
            kind: kind.clone(),
            severity: match severity {
                Severity::Warning => StoredSeverity::Warning,
                Severity::Critical => StoredSeverity::Critical,
            },
            title: title.clone(),
            message: message.clone(),
            details: details.clone(),
            action: action.clone(),
            raised_at: *raised_at,
            occurrences: *occurrences,
            last_seen_at: *last_seen_at,
            resolved_at: *resolved_at,
            acknowledged_by: handling.acknowledged.as_ref().map(|(by, _)| by.clone()),
            acknowledged_at: handling.acknowledged.as_ref().map(|(_, at)| *at),
            resolved_by: handling.resolved_by.clone(),
            resolution_note: handling.note.clone(),
            version: *version,
        }
    }
}

impl TryFrom<StoredAlarm> for Alarm {
    type Error = DecodeError;

    fn try_from(a: StoredAlarm) -> Result<Self, DecodeError> {
        let StoredAlarm {
            id,
            org_id,
            kind,
            severity,
            title,
            message,
            details,
            action,
            raised_at,
            occurrences,
            last_seen_at,
            resolved_at,
            acknowledged_by,
            acknowledged_at,
            resolved_by,
            resolution_note,
            version,
        } = a;
        let acknowledged = match (acknowledged_by, acknowledged_at) {
            (Some(by), Some(at)) => Some((by, at)),
            (None, None) => None,
            _ => {
                return Err(DecodeError::new(
                    "acknowledged_by and acknowledged_at: both or neither",
                ))
            }
        };
        Ok(Alarm {
            id,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            kind,
            severity: match severity {
                StoredSeverity::Warning => Severity::Warning,
                StoredSeverity::Critical => Severity::Critical,
            },
            title,
            message,
            details,
            action,
            raised_at,
            occurrences,
            last_seen_at,
            resolved_at,
            handling: Handling {
                acknowledged,
                resolved_by,
                note: resolution_note,
            },
            version,
        })
    }
}

impl Record for Alarm {
    type Stored = StoredAlarm;
}

/// An organisation's alarm thresholds as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlarmSettings {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "offline_grace_secs")]
    pub offline_grace_secs: u32,
    /// Absent in settings stored before connects and boots were counted:
    /// the platform's defaults.
    #[serde(rename = "flapping", default, skip_serializing_if = "Option::is_none")]
    pub flapping: Option<StoredChurn>,
    #[serde(rename = "boot_loop", default, skip_serializing_if = "Option::is_none")]
    pub boot_loop: Option<StoredChurn>,
    /// Absent in settings stored before stuck connectors were watched, or
    /// holding the defaults.
    #[serde(rename = "lingering", default, skip_serializing_if = "Option::is_none")]
    pub lingering: Option<StoredLingering>,
    /// The one-number thresholds, in seconds: each absent in settings
    /// stored before it existed, or holding its default.
    #[serde(
        rename = "no_meter_values_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_meter_values_secs: Option<u32>,
    #[serde(
        rename = "charging_nothing_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub charging_nothing_secs: Option<u32>,
    #[serde(
        rename = "status_contradiction_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_contradiction_secs: Option<u32>,
    #[serde(
        rename = "clock_drift_secs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub clock_drift_secs: Option<u32>,
    /// Absent in settings stored before the rule existed, or holding its
    /// default (and the next one).
    #[serde(
        rename = "message_flood",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub message_flood: Option<StoredLimit>,
    #[serde(
        rename = "many_addresses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub many_addresses: Option<StoredLimit>,
    #[serde(
        rename = "profile_ignored",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_ignored: Option<StoredTolerance>,
    /// Absent in settings stored before the threshold was a setting, or
    /// holding its default.
    #[serde(
        rename = "command_timeouts_in_a_row",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub command_timeouts_in_a_row: Option<u8>,
    /// Absent in settings stored before alarms were mailed.
    #[serde(rename = "recipients", default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<StoredAlarmRecipient>,
    /// Absent (and the two below) in settings stored before digests.
    #[serde(
        rename = "quiet_hours",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub quiet_hours: Option<StoredQuietHours>,
    #[serde(
        rename = "digest_warnings",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub digest_warnings: bool,
    #[serde(
        rename = "digest_through",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub digest_through: Option<DateTime<Utc>>,
    #[serde(rename = "updated_at", default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(rename = "version")]
    pub version: u64,
}

/// Local times as `HH:MM`, the zone by its IANA name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredQuietHours {
    #[serde(rename = "from")]
    pub from: String,
    #[serde(rename = "to")]
    pub to: String,
    #[serde(rename = "time_zone")]
    pub time_zone: String,
}

fn quiet_hours(q: StoredQuietHours) -> Result<QuietHours, DecodeError> {
    let time = |field: &str, t: &str| {
        chrono::NaiveTime::parse_from_str(t, "%H:%M")
            .map_err(|e| DecodeError::new(format!("quiet_hours {field}: {t:?}: {e}")))
    };
    let tz: chrono_tz::Tz = q
        .time_zone
        .parse()
        .map_err(|_| DecodeError::new(format!("quiet_hours time_zone: {:?}", q.time_zone)))?;
    QuietHours::new(time("from", &q.from)?, time("to", &q.to)?, tz)
        .map_err(|(field, why)| DecodeError::new(format!("quiet_hours {field}: {why}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredChurn {
    #[serde(rename = "count")]
    pub count: u8,
    #[serde(rename = "window_secs")]
    pub window_secs: u16,
}

impl From<Churn> for StoredChurn {
    fn from(c: Churn) -> Self {
        StoredChurn {
            count: c.count(),
            window_secs: c.window_secs(),
        }
    }
}

fn churn(name: &str, stored: Option<StoredChurn>, default: Churn) -> Result<Churn, DecodeError> {
    stored.map_or(Ok(default), |c| {
        Churn::new(c.count.into(), c.window_secs.into())
            .map_err(|(what, why)| DecodeError::new(format!("{name} {what}: {why}")))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredTolerance {
    #[serde(rename = "percent")]
    pub percent: u8,
    #[serde(rename = "amps")]
    pub amps: u8,
    #[serde(rename = "secs")]
    pub secs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredLimit {
    #[serde(rename = "count")]
    pub count: u32,
    #[serde(rename = "window_secs")]
    pub window_secs: u32,
}

/// The default is not written.
fn stored_limit(l: Limit, bounds: LimitBounds) -> Option<StoredLimit> {
    (l != bounds.default).then_some(StoredLimit {
        count: l.count(),
        window_secs: l.window_secs(),
    })
}

fn limit(
    name: &str,
    stored: Option<StoredLimit>,
    bounds: LimitBounds,
) -> Result<Limit, DecodeError> {
    stored.map_or(Ok(bounds.default), |l| {
        bounds
            .limit(l.count.into(), l.window_secs.into())
            .map_err(|(what, why)| DecodeError::new(format!("{name} {what}: {why}")))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredLingering {
    #[serde(rename = "preparing_mins")]
    pub preparing_mins: u16,
    #[serde(rename = "finishing_mins")]
    pub finishing_mins: u16,
}

/// A stored threshold, or the default when absent.
fn threshold(name: &str, stored: Option<u32>, bounds: Bounds) -> Result<Threshold, DecodeError> {
    stored.map_or(Ok(bounds.default_threshold()), |secs| {
        bounds
            .stored(secs)
            .map_err(|why| DecodeError::new(format!("{name}: {why}")))
    })
}

/// The default is not written: settings stored before the threshold
/// existed keep their bytes.
fn non_default(t: Threshold, bounds: Bounds) -> Option<u32> {
    (t != bounds.default_threshold()).then_some(t.secs())
}

fn lingering(stored: Option<StoredLingering>) -> Result<Lingering, DecodeError> {
    stored.map_or(Ok(Lingering::DEFAULT), |l| {
        Lingering::new(l.preparing_mins.into(), l.finishing_mins.into())
            .map_err(|(what, why)| DecodeError::new(format!("lingering {what}: {why}")))
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlarmRecipient {
    #[serde(rename = "email")]
    pub email: String,
    /// `warning` or `critical`.
    #[serde(rename = "min_severity")]
    pub min_severity: String,
    #[serde(rename = "language")]
    pub language: String,
}

impl From<&AlarmSettings> for StoredAlarmSettings {
    fn from(s: &AlarmSettings) -> Self {
        let AlarmSettings {
            org_id,
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
            digest_warnings,
            digest_through,
            updated_at,
            version,
        } = s;
        StoredAlarmSettings {
            org_id: org_id.as_str().to_owned(),
            offline_grace_secs: offline_grace.secs(),
            // The defaults are not written: settings stored before there
            // were thresholds keep their bytes.
            flapping: (*flapping != Churn::FLAPPING).then(|| (*flapping).into()),
            boot_loop: (*boot_loop != Churn::BOOT_LOOP).then(|| (*boot_loop).into()),
            lingering: (*lingering != Lingering::DEFAULT).then(|| StoredLingering {
                preparing_mins: lingering.preparing_mins(),
                finishing_mins: lingering.finishing_mins(),
            }),
            no_meter_values_secs: non_default(
                thresholds.no_meter_values,
                Thresholds::NO_METER_VALUES,
            ),
            charging_nothing_secs: non_default(
                thresholds.charging_nothing,
                Thresholds::CHARGING_NOTHING,
            ),
            status_contradiction_secs: non_default(
                thresholds.status_contradiction,
                Thresholds::STATUS_CONTRADICTION,
            ),
            clock_drift_secs: non_default(thresholds.clock_drift, Thresholds::CLOCK_DRIFT),
            message_flood: stored_limit(*message_flood, Limit::MESSAGE_FLOOD),
            many_addresses: stored_limit(*many_addresses, Limit::MANY_ADDRESSES),
            profile_ignored: (*profile_ignored != ProfileTolerance::DEFAULT).then_some(
                StoredTolerance {
                    percent: profile_ignored.percent(),
                    amps: profile_ignored.amps(),
                    secs: profile_ignored.secs(),
                },
            ),
            command_timeouts_in_a_row: (*command_timeouts != InARow::COMMAND_TIMEOUTS)
                .then(|| command_timeouts.count()),
            recipients: recipients
                .iter()
                .map(|r| StoredAlarmRecipient {
                    email: r.email.as_str().to_owned(),
                    min_severity: match r.min_severity {
                        Severity::Warning => "warning",
                        Severity::Critical => "critical",
                    }
                    .to_owned(),
                    language: r.language.as_str().to_owned(),
                })
                .collect(),
            quiet_hours: quiet_hours.map(|q| StoredQuietHours {
                from: q.from.format("%H:%M").to_string(),
                to: q.to.format("%H:%M").to_string(),
                time_zone: q.time_zone.name().to_owned(),
            }),
            digest_warnings: *digest_warnings,
            digest_through: *digest_through,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredAlarmSettings> for AlarmSettings {
    type Error = DecodeError;

    fn try_from(s: StoredAlarmSettings) -> Result<Self, DecodeError> {
        Ok(AlarmSettings {
            org_id: parse("organisation id", s.org_id, OrgId::parse)?,
            // Any grace this deployment could have stored reads back: a
            // platform default shorter than an organisation may choose too.
            offline_grace: OfflineGrace::stored(s.offline_grace_secs.into())
                .map_err(|e| DecodeError::new(format!("offline_grace_secs: {e}")))?,
            flapping: churn("flapping", s.flapping, Churn::FLAPPING)?,
            boot_loop: churn("boot_loop", s.boot_loop, Churn::BOOT_LOOP)?,
            lingering: lingering(s.lingering)?,
            thresholds: Thresholds {
                no_meter_values: threshold(
                    "no_meter_values_secs",
                    s.no_meter_values_secs,
                    Thresholds::NO_METER_VALUES,
                )?,
                charging_nothing: threshold(
                    "charging_nothing_secs",
                    s.charging_nothing_secs,
                    Thresholds::CHARGING_NOTHING,
                )?,
                status_contradiction: threshold(
                    "status_contradiction_secs",
                    s.status_contradiction_secs,
                    Thresholds::STATUS_CONTRADICTION,
                )?,
                clock_drift: threshold(
                    "clock_drift_secs",
                    s.clock_drift_secs,
                    Thresholds::CLOCK_DRIFT,
                )?,
            },
            message_flood: limit("message_flood", s.message_flood, Limit::MESSAGE_FLOOD)?,
            many_addresses: limit("many_addresses", s.many_addresses, Limit::MANY_ADDRESSES)?,
            profile_ignored: s
                .profile_ignored
                .map_or(Ok(ProfileTolerance::DEFAULT), |t| {
                    ProfileTolerance::new(t.percent.into(), t.amps.into(), t.secs.into()).map_err(
                        |(what, why)| DecodeError::new(format!("profile_ignored {what}: {why}")),
                    )
                })?,
            command_timeouts: s
                .command_timeouts_in_a_row
                .map_or(Ok(InARow::COMMAND_TIMEOUTS), |n| InARow::new(n.into()))
                .map_err(|e| DecodeError::new(format!("command_timeouts_in_a_row: {e}")))?,
            recipients: s
                .recipients
                .into_iter()
                .map(|r| {
                    Ok(AlarmRecipient {
                        email: Email::parse(&r.email)
                            .map_err(|e| DecodeError::new(format!("recipient email: {e}")))?,
                        min_severity: match r.min_severity.as_str() {
                            "warning" => Severity::Warning,
                            "critical" => Severity::Critical,
                            other => {
                                return Err(DecodeError::new(format!(
                                    "recipient min_severity: {other:?}"
                                )))
                            }
                        },
                        language: Language::parse(&r.language)
                            .map_err(|e| DecodeError::new(format!("recipient language: {e}")))?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
            quiet_hours: s.quiet_hours.map(quiet_hours).transpose()?,
            digest_warnings: s.digest_warnings,
            digest_through: s.digest_through,
            updated_at: s.updated_at,
            version: s.version,
        })
    }
}

impl Record for AlarmSettings {
    type Stored = StoredAlarmSettings;
}
