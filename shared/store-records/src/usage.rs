//! EVSEs' usage days as stored: a [`StoredUsageDay`], snake-case names, the
//! day as `YYYY-MM-DD`, uses by name (`charging`), the empty lists and the
//! unknown opening left out.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::usage::{Mark, Peak, Revenue, SessionFact, UsageDay, UsageKey, Use};
use csms_domain::{OrgId, SessionId, SiteId, StationId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUsageDay {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "evse_id")]
    pub evse_id: u32,
    #[serde(rename = "day")]
    pub day: NaiveDate,
    #[serde(rename = "site_id", default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(rename = "opening", default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<String>,
    #[serde(rename = "marks", default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<StoredMark>,
    #[serde(rename = "sessions", default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<StoredSessionFact>,
    #[serde(rename = "peaks", default, skip_serializing_if = "Vec::is_empty")]
    pub peaks: Vec<StoredPeak>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMark {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "use")]
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSessionFact {
    #[serde(rename = "session_id")]
    pub session_id: String,
    #[serde(rename = "started_at")]
    pub started_at: DateTime<Utc>,
    #[serde(rename = "ended_at", default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(rename = "energy_wh", default, skip_serializing_if = "Option::is_none")]
    pub energy_wh: Option<Decimal>,
    #[serde(rename = "revenue", default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<StoredRevenue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRevenue {
    #[serde(rename = "revision")]
    pub revision: u32,
    #[serde(rename = "currency")]
    pub currency: String,
    #[serde(rename = "net")]
    pub net: Decimal,
    #[serde(rename = "vat")]
    pub vat: Decimal,
    #[serde(rename = "gross")]
    pub gross: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPeak {
    #[serde(rename = "hour")]
    pub hour: DateTime<Utc>,
    #[serde(rename = "watts")]
    pub watts: Decimal,
}

fn state(what: &str, s: String) -> Result<Use, DecodeError> {
    Use::parse(&s).ok_or_else(|| DecodeError::new(format!("{what}: unknown use {s:?}")))
}

impl From<&UsageDay> for StoredUsageDay {
    fn from(d: &UsageDay) -> Self {
        let UsageDay {
            key,
            site_id,
            opening,
            marks,
            sessions,
            peaks,
            version,
        } = d;
        let UsageKey {
            org_id,
            station_id,
            evse_id,
            day,
        } = key;
        StoredUsageDay {
            org_id: org_id.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            evse_id: *evse_id,
            day: *day,
            site_id: site_id.as_ref().map(|s| s.as_str().to_owned()),
            opening: opening.map(|u| u.as_str().to_owned()),
            marks: marks
                .iter()
                .map(|Mark { at, state }| StoredMark {
                    at: *at,
                    state: state.as_str().to_owned(),
                })
                .collect(),
            sessions: sessions
                .iter()
                .map(|s| {
                    let SessionFact {
                        session_id,
                        started_at,
                        ended_at,
                        energy_wh,
                        revenue,
                    } = s;
                    StoredSessionFact {
                        session_id: session_id.as_str().to_owned(),
                        started_at: *started_at,
                        ended_at: *ended_at,
                        energy_wh: *energy_wh,
                        revenue: revenue.as_ref().map(|r| {
                            let Revenue {
                                revision,
                                currency,
                                net,
                                vat,
                                gross,
                            } = r;
                            StoredRevenue {
                                revision: *revision,
                                currency: currency.clone(),
                                net: *net,
                                vat: *vat,
                                gross: *gross,
                            }
                        }),
                    }
                })
                .collect(),
            peaks: peaks
                .iter()
                .map(|Peak { hour, watts }| StoredPeak {
                    hour: *hour,
                    watts: *watts,
                })
                .collect(),
            version: *version,
        }
    }
}

impl TryFrom<StoredUsageDay> for UsageDay {
    type Error = DecodeError;

    fn try_from(d: StoredUsageDay) -> Result<Self, DecodeError> {
        let StoredUsageDay {
            org_id,
            station_id,
            evse_id,
            day,
            site_id,
            opening,
            marks,
            sessions,
            peaks,
            version,
        } = d;
        Ok(UsageDay {
            key: UsageKey {
                org_id: parse("organisation id", org_id, OrgId::parse)?,
                station_id: parse("station id", station_id, StationId::parse)?,
                evse_id,
                day,
            },
            site_id: site_id
                .map(|s| parse("site id", s, SiteId::parse))
                .transpose()?,
            opening: opening.map(|s| state("opening", s)).transpose()?,
            marks: marks
                .into_iter()
                .map(|m| {
                    Ok(Mark {
                        at: m.at,
                        state: state("mark", m.state)?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
            sessions: sessions
                .into_iter()
                .map(|s| {
                    Ok(SessionFact {
                        session_id: parse("session id", s.session_id, SessionId::parse)?,
                        started_at: s.started_at,
                        ended_at: s.ended_at,
                        energy_wh: s.energy_wh,
                        revenue: s.revenue.map(|r| Revenue {
                            revision: r.revision,
                            currency: r.currency,
                            net: r.net,
                            vat: r.vat,
                            gross: r.gross,
                        }),
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
            peaks: peaks
                .into_iter()
                .map(|p| Peak {
                    hour: p.hour,
                    watts: p.watts,
                })
                .collect(),
            version,
        })
    }
}

impl Record for UsageDay {
    type Stored = StoredUsageDay;
}
