//! Bookings as stored: [`StoredBooking`]. New with bookings, written with
//! camel-case names; every value is read back through the domain's parsers,
//! so a stored window that does not end after it starts is a
//! [`DecodeError`].

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::booking::{Booking, BookingId, BookingStatus, Window};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, StationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBooking {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "evseId")]
    pub evse_id: u32,
    #[serde(rename = "idToken")]
    pub token: String,
    #[serde(rename = "userId", default)]
    pub user_id: Option<String>,
    #[serde(rename = "start")]
    pub start: DateTime<Utc>,
    #[serde(rename = "end")]
    pub end: DateTime<Utc>,
    #[serde(rename = "status")]
    pub status: String,
    #[serde(rename = "reserveOutcome", default)]
    pub reserve_outcome: Option<String>,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

impl From<&Booking> for StoredBooking {
    fn from(b: &Booking) -> Self {
        let Booking {
            id,
            org_id,
            station_id,
            evse_id,
            token,
            user_id,
            window,
            status,
            reserve_outcome,
            created_by,
            created_at,
            updated_at,
            version,
        } = b;
        StoredBooking {
            id: id.to_string(),
            org_id: org_id.to_string(),
            station_id: station_id.to_string(),
            evse_id: *evse_id,
            token: token.as_str().to_owned(),
            user_id: user_id.as_ref().map(|u| u.as_str().to_owned()),
            start: window.start(),
            end: window.end(),
            status: status.as_str().to_owned(),
            reserve_outcome: reserve_outcome.clone(),
            created_by: created_by.clone(),
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredBooking> for Booking {
    type Error = DecodeError;

    fn try_from(b: StoredBooking) -> Result<Self, DecodeError> {
        let StoredBooking {
            id,
            org_id,
            station_id,
            evse_id,
            token,
            user_id,
            start,
            end,
            status,
            reserve_outcome,
            created_by,
            created_at,
            updated_at,
            version,
        } = b;
        Ok(Booking {
            id: parse("booking id", id, BookingId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            station_id: parse("station id", station_id, StationId::parse)?,
            evse_id,
            token: parse("id token", token, IdTokenValue::parse)?,
            user_id: user_id
                .map(|u| parse("user id", u, UserId::parse))
                .transpose()?,
            window: Window::stored(start, end)
                .ok_or_else(|| DecodeError::new("booking window: end is not after start"))?,
            status: BookingStatus::parse(&status)
                .ok_or_else(|| DecodeError::new(format!("booking status {status:?}")))?,
            reserve_outcome,
            created_by,
            created_at,
            updated_at,
            version,
        })
    }
}

impl Record for Booking {
    type Stored = StoredBooking;
}
