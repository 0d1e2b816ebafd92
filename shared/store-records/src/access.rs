//! Access policies and refused attempts as stored: [`StoredStationAccess`],
//! [`StoredAccessAttempt`]. New with access modes, written with camel-case
//! names. A station without a stored access record has no policy: it is
//! private to its organisation, as every station was before (the domain's
//! `AccessPolicy::legacy`). Every value is read back through the domain's
//! own checks, so a schedule that overlaps (written by hand) is a
//! [`DecodeError`].

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::access::{
    AccessAttempt, AccessMode, AccessPolicy, AccessRefusal, Exception, GarageIdentity, Rule,
    Schedule, StationAccess, Weekdays,
};
use csms_domain::tenant::DayInterval;
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, StationId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredStationAccess {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "policy")]
    pub policy: StoredAccessPolicy,
    /// EVSE id (as a JSON key, a string) → its override.
    #[serde(rename = "evses", default)]
    pub evses: BTreeMap<String, StoredAccessPolicy>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccessPolicy {
    #[serde(rename = "default")]
    pub default: String,
    #[serde(rename = "rules", default)]
    pub rules: Vec<StoredRule>,
    #[serde(rename = "exceptions", default)]
    pub exceptions: Vec<StoredException>,
    #[serde(rename = "groups", default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRule {
    #[serde(rename = "days")]
    pub days: Vec<String>,
    /// `HH:MM-HH:MM`.
    #[serde(rename = "time")]
    pub time: String,
    #[serde(rename = "mode")]
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredException {
    #[serde(rename = "from")]
    pub from: NaiveDate,
    #[serde(rename = "to")]
    pub to: NaiveDate,
    #[serde(rename = "mode")]
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccessAttempt {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "evseId", default)]
    pub evse_id: Option<u32>,
    #[serde(rename = "connectorId", default)]
    pub connector_id: Option<u32>,
    #[serde(rename = "idToken")]
    pub token: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "mode")]
    pub mode: String,
    #[serde(rename = "reason")]
    pub reason: String,
    #[serde(rename = "source")]
    pub source: String,
}

impl From<&AccessPolicy> for StoredAccessPolicy {
    fn from(p: &AccessPolicy) -> Self {
        let AccessPolicy { schedule, groups } = p;
        StoredAccessPolicy {
            default: schedule.default_mode().as_str().to_owned(),
            rules: schedule
                .rules()
                .iter()
                .map(|r| StoredRule {
                    days: r.days.names().into_iter().map(str::to_owned).collect(),
                    time: r.time.to_string(),
                    mode: r.mode.as_str().to_owned(),
                })
                .collect(),
            exceptions: schedule
                .exceptions()
                .iter()
                .map(|e| StoredException {
                    from: e.from,
                    to: e.to,
                    mode: e.mode.as_str().to_owned(),
                })
                .collect(),
            groups: groups.clone(),
        }
    }
}

fn mode(s: &str) -> Result<AccessMode, DecodeError> {
    AccessMode::parse(s).ok_or_else(|| DecodeError::new(format!("access mode {s:?}")))
}

impl TryFrom<StoredAccessPolicy> for AccessPolicy {
    type Error = DecodeError;

    fn try_from(p: StoredAccessPolicy) -> Result<Self, DecodeError> {
        let StoredAccessPolicy {
            default,
            rules,
            exceptions,
            groups,
        } = p;
        let rules = rules
            .into_iter()
            .map(|r| {
                Ok(Rule {
                    days: Weekdays::parse(r.days.iter().map(String::as_str))
                        .map_err(|e| DecodeError::new(format!("rule days: {e}")))?,
                    time: DayInterval::parse(&r.time)
                        .map_err(|e| DecodeError::new(format!("rule time: {e}")))?,
                    mode: mode(&r.mode)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let exceptions = exceptions
            .into_iter()
            .map(|e| {
                Ok(Exception {
                    from: e.from,
                    to: e.to,
                    mode: mode(&e.mode)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let schedule = Schedule::new(mode(&default)?, rules, exceptions)
            .map_err(|(field, e)| DecodeError::new(format!("{field}: {e}")))?;
        Ok(AccessPolicy { schedule, groups })
    }
}

impl From<&StationAccess> for StoredStationAccess {
    fn from(a: &StationAccess) -> Self {
        let StationAccess {
            station_id,
            org_id,
            policy,
            evses,
            updated_at,
            version,
        } = a;
        StoredStationAccess {
            station_id: station_id.to_string(),
            org_id: org_id.to_string(),
            policy: policy.into(),
            evses: evses
                .iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredStationAccess> for StationAccess {
    type Error = DecodeError;

    fn try_from(a: StoredStationAccess) -> Result<Self, DecodeError> {
        let StoredStationAccess {
            station_id,
            org_id,
            policy,
            evses,
            updated_at,
            version,
        } = a;
        Ok(StationAccess {
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            policy: policy.try_into()?,
            evses: evses
                .into_iter()
                .map(|(k, v)| {
                    let evse = k
                        .parse()
                        .map_err(|_| DecodeError::new(format!("EVSE id {k:?}")))?;
                    Ok((evse, v.try_into()?))
                })
                .collect::<Result<_, DecodeError>>()?,
            updated_at,
            version,
        })
    }
}

impl From<&AccessAttempt> for StoredAccessAttempt {
    fn from(a: &AccessAttempt) -> Self {
        let AccessAttempt {
            station_id,
            org_id,
            evse_id,
            connector_id,
            token,
            at,
            mode,
            reason,
            source,
        } = a;
        StoredAccessAttempt {
            station_id: station_id.to_string(),
            org_id: org_id.to_string(),
            evse_id: *evse_id,
            connector_id: *connector_id,
            token: token.as_str().to_owned(),
            at: *at,
            mode: mode.as_str().to_owned(),
            reason: reason.as_str().to_owned(),
            source: source.clone(),
        }
    }
}

impl TryFrom<StoredAccessAttempt> for AccessAttempt {
    type Error = DecodeError;

    fn try_from(a: StoredAccessAttempt) -> Result<Self, DecodeError> {
        let StoredAccessAttempt {
            station_id,
            org_id,
            evse_id,
            connector_id,
            token,
            at,
            mode: m,
            reason,
            source,
        } = a;
        Ok(AccessAttempt {
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            evse_id,
            connector_id,
            token: parse("id token", token, IdTokenValue::parse)?,
            at,
            mode: mode(&m)?,
            reason: AccessRefusal::parse(&reason)
                .ok_or_else(|| DecodeError::new(format!("refusal reason {reason:?}")))?,
            source,
        })
    }
}

impl Record for StationAccess {
    type Stored = StoredStationAccess;
}

impl Record for AccessAttempt {
    type Stored = StoredAccessAttempt;
}

/// A garage station's e-mail identity (issue 17.3), new with it: one per
/// station, keyed by the station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredGarageIdentity {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "idToken")]
    pub id_token: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "freeVendIdTag", default)]
    pub free_vend_id_tag: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

impl From<&GarageIdentity> for StoredGarageIdentity {
    fn from(g: &GarageIdentity) -> Self {
        let GarageIdentity {
            station_id,
            org_id,
            id_token,
            user_id,
            free_vend_id_tag,
            updated_at,
            version,
        } = g;
        StoredGarageIdentity {
            station_id: station_id.to_string(),
            org_id: org_id.to_string(),
            id_token: id_token.as_str().to_owned(),
            user_id: user_id.to_string(),
            free_vend_id_tag: free_vend_id_tag.as_ref().map(|t| t.as_str().to_owned()),
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredGarageIdentity> for GarageIdentity {
    type Error = DecodeError;

    fn try_from(g: StoredGarageIdentity) -> Result<Self, DecodeError> {
        let StoredGarageIdentity {
            station_id,
            org_id,
            id_token,
            user_id,
            free_vend_id_tag,
            updated_at,
            version,
        } = g;
        Ok(GarageIdentity {
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            id_token: parse("id token", id_token, IdTokenValue::parse)?,
            user_id: parse("user id", user_id, UserId::parse)?,
            free_vend_id_tag: free_vend_id_tag
                .map(|t| parse("free-vend idTag", t, IdTokenValue::parse))
                .transpose()?,
            updated_at,
            version,
        })
    }
}

impl Record for GarageIdentity {
    type Stored = StoredGarageIdentity;
}
