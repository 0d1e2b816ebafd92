//! Drivers' ratings as stored: a [`StoredRating`], snake-case names, the
//! comment left out when there is none.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::rating::{Rating, Stars};
use csms_domain::user::UserId;
use csms_domain::{OrgId, SessionId, SiteId, StationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRating {
    #[serde(rename = "session_id")]
    pub session_id: String,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "site_id", default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(rename = "user_id")]
    pub user_id: String,
    #[serde(rename = "stars")]
    pub stars: u8,
    #[serde(rename = "comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updated_at")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

impl From<&Rating> for StoredRating {
    fn from(r: &Rating) -> Self {
        let Rating {
            session_id,
            org_id,
            station_id,
            site_id,
            user_id,
            stars,
            comment,
            created_at,
            updated_at,
            version,
        } = r;
        StoredRating {
            session_id: session_id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            station_id: station_id.as_str().to_owned(),
            site_id: site_id.as_ref().map(|s| s.as_str().to_owned()),
            user_id: user_id.as_str().to_owned(),
            stars: stars.get(),
            comment: comment.clone(),
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredRating> for Rating {
    type Error = DecodeError;

    fn try_from(r: StoredRating) -> Result<Self, DecodeError> {
        let StoredRating {
            session_id,
            org_id,
            station_id,
            site_id,
            user_id,
            stars,
            comment,
            created_at,
            updated_at,
            version,
        } = r;
        Ok(Rating {
            session_id: parse("session id", session_id, SessionId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            station_id: parse("station id", station_id, StationId::parse)?,
            site_id: site_id
                .map(|s| parse("site id", s, SiteId::parse))
                .transpose()?,
            user_id: parse("user id", user_id, UserId::parse)?,
            stars: Stars::new(stars)
                .ok_or_else(|| DecodeError::new(format!("stars: {stars} is not 1 to 5")))?,
            comment,
            created_at,
            updated_at,
            version,
        })
    }
}

impl Record for Rating {
    type Stored = StoredRating;
}
