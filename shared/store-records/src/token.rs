//! Id tokens as stored by the embedded store: a [`StoredIdToken`]. Tokens
//! have always been stored with snake-case names, `null` for an absent
//! expiry and no `group` at all when there is none; the type and status are
//! OCPP's names. The DynamoDB store keeps tokens as items of named
//! attributes (its own item struct), so only the embedded store writes this
//! form.
//!
//! The life-cycle fields (issue 17.3) came later: each is left out while it
//! has no value, so a token never changed writes exactly what it always
//! did; `expires_at` is the token's `valid_to`. Records without `version`
//! read as version 0. [`StoredUnregisteredToken`] is an identifier a
//! station presented that the registry did not know.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenBlock, TokenStatus, UnregisteredToken};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, StationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdToken {
    /// As first registered (lookups go by its case-folded key).
    #[serde(rename = "token")]
    pub token: String,
    #[serde(rename = "token_type")]
    pub token_type: StoredIdTokenType,
    #[serde(rename = "status")]
    pub status: StoredTokenStatus,
    #[serde(rename = "expires_at", default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "group", default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(
        rename = "valid_from",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(rename = "parent_id", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(rename = "emaid", default, skip_serializing_if = "Option::is_none")]
    pub emaid: Option<String>,
    /// Absent: not a pay-at-the-charger identity.
    #[serde(
        rename = "payment_hold",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_hold: Option<String>,
    #[serde(rename = "label", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(rename = "block", default, skip_serializing_if = "Option::is_none")]
    pub block: Option<StoredTokenBlock>,
    #[serde(
        rename = "updated_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(rename = "version", default, skip_serializing_if = "is_zero")]
    pub version: u64,
    /// The holder (a person's id); left out while there is none.
    #[serde(rename = "user_id", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokenBlock {
    #[serde(rename = "reason")]
    pub reason: String,
    #[serde(rename = "by")]
    pub by: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(
        rename = "unblocked_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unblocked_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "unblocked_by",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unblocked_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredIdTokenType {
    #[serde(rename = "Central")]
    Central,
    #[serde(rename = "eMAID")]
    EMaid,
    #[serde(rename = "ISO14443")]
    Iso14443,
    #[serde(rename = "ISO15693")]
    Iso15693,
    #[serde(rename = "KeyCode")]
    KeyCode,
    #[serde(rename = "Local")]
    Local,
    #[serde(rename = "MacAddress")]
    MacAddress,
    #[serde(rename = "NoAuthorization")]
    NoAuthorization,
    #[serde(rename = "EMail")]
    EMail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredTokenStatus {
    #[serde(rename = "Accepted")]
    Accepted,
    #[serde(rename = "Blocked")]
    Blocked,
    #[serde(rename = "Expired")]
    Expired,
    #[serde(rename = "Invalid")]
    Invalid,
}

impl From<&IdTokenRecord> for StoredIdToken {
    fn from(r: &IdTokenRecord) -> Self {
        let IdTokenRecord {
            token,
            token_type,
            status,
            valid_from,
            valid_to,
            org_id,
            group,
            parent_id,
            emaid,
            payment_hold,
            label,
            user_id,
            block,
            created_at,
            updated_at,
            version,
        } = r;
        StoredIdToken {
            user_id: user_id.as_ref().map(|u| u.as_str().to_owned()),
            token: token.as_str().to_owned(),
            token_type: (*token_type).into(),
            status: match status {
                TokenStatus::Accepted => StoredTokenStatus::Accepted,
                TokenStatus::Blocked => StoredTokenStatus::Blocked,
                TokenStatus::Expired => StoredTokenStatus::Expired,
                TokenStatus::Invalid => StoredTokenStatus::Invalid,
            },
            expires_at: *valid_to,
            org_id: org_id.as_str().to_owned(),
            group: group.clone(),
            created_at: *created_at,
            valid_from: *valid_from,
            parent_id: parent_id.as_ref().map(|p| p.as_str().to_owned()),
            emaid: emaid.clone(),
            payment_hold: payment_hold.clone(),
            label: label.clone(),
            block: block.as_ref().map(|b| StoredTokenBlock {
                reason: b.reason.clone(),
                by: b.by.clone(),
                at: b.at,
                unblocked_at: b.unblocked_at,
                unblocked_by: b.unblocked_by.clone(),
            }),
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredIdToken> for IdTokenRecord {
    type Error = DecodeError;

    fn try_from(r: StoredIdToken) -> Result<Self, DecodeError> {
        let StoredIdToken {
            token,
            token_type,
            status,
            expires_at,
            org_id,
            group,
            created_at,
            valid_from,
            parent_id,
            emaid,
            payment_hold,
            label,
            block,
            updated_at,
            version,
            user_id,
        } = r;
        Ok(IdTokenRecord {
            user_id: user_id
                .map(|u| parse("user id", u, UserId::parse))
                .transpose()?,
            token: parse("id token", token, IdTokenValue::parse)?,
            token_type: token_type.into(),
            status: match status {
                StoredTokenStatus::Accepted => TokenStatus::Accepted,
                StoredTokenStatus::Blocked => TokenStatus::Blocked,
                StoredTokenStatus::Expired => TokenStatus::Expired,
                StoredTokenStatus::Invalid => TokenStatus::Invalid,
            },
            valid_from,
            valid_to: expires_at,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            group,
            parent_id: parent_id
                .map(|p| parse("parent id", p, IdTokenValue::parse))
                .transpose()?,
            emaid,
            payment_hold,
            label,
            block: block.map(|b| TokenBlock {
                reason: b.reason,
                by: b.by,
                at: b.at,
                unblocked_at: b.unblocked_at,
                unblocked_by: b.unblocked_by,
            }),
            created_at,
            updated_at,
            version,
        })
    }
}

impl Record for IdTokenRecord {
    type Stored = StoredIdToken;
}

impl From<IdTokenType> for StoredIdTokenType {
    fn from(t: IdTokenType) -> Self {
        match t {
            IdTokenType::Central => StoredIdTokenType::Central,
            IdTokenType::EMaid => StoredIdTokenType::EMaid,
            IdTokenType::ISO14443 => StoredIdTokenType::Iso14443,
            IdTokenType::ISO15693 => StoredIdTokenType::Iso15693,
            IdTokenType::KeyCode => StoredIdTokenType::KeyCode,
            IdTokenType::Local => StoredIdTokenType::Local,
            IdTokenType::MacAddress => StoredIdTokenType::MacAddress,
            IdTokenType::NoAuthorization => StoredIdTokenType::NoAuthorization,
            IdTokenType::EMail => StoredIdTokenType::EMail,
        }
    }
}

impl From<StoredIdTokenType> for IdTokenType {
    fn from(t: StoredIdTokenType) -> Self {
        match t {
            StoredIdTokenType::Central => IdTokenType::Central,
            StoredIdTokenType::EMaid => IdTokenType::EMaid,
            StoredIdTokenType::Iso14443 => IdTokenType::ISO14443,
            StoredIdTokenType::Iso15693 => IdTokenType::ISO15693,
            StoredIdTokenType::KeyCode => IdTokenType::KeyCode,
            StoredIdTokenType::Local => IdTokenType::Local,
            StoredIdTokenType::MacAddress => IdTokenType::MacAddress,
            StoredIdTokenType::NoAuthorization => IdTokenType::NoAuthorization,
            StoredIdTokenType::EMail => IdTokenType::EMail,
        }
    }
}

/// An identifier seen at a station and not registered (embedded store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUnregisteredToken {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "token")]
    pub token: String,
    #[serde(
        rename = "token_type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_type: Option<StoredIdTokenType>,
    #[serde(rename = "station_id")]
    pub station_id: String,
    #[serde(rename = "first_seen")]
    pub first_seen: DateTime<Utc>,
    #[serde(rename = "last_seen")]
    pub last_seen: DateTime<Utc>,
    #[serde(rename = "count")]
    pub count: u64,
}

impl From<&UnregisteredToken> for StoredUnregisteredToken {
    fn from(u: &UnregisteredToken) -> Self {
        let UnregisteredToken {
            org_id,
            token,
            token_type,
            station_id,
            first_seen,
            last_seen,
            count,
        } = u;
        StoredUnregisteredToken {
            org_id: org_id.as_str().to_owned(),
            token: token.as_str().to_owned(),
            token_type: token_type.map(Into::into),
            station_id: station_id.as_str().to_owned(),
            first_seen: *first_seen,
            last_seen: *last_seen,
            count: *count,
        }
    }
}

impl TryFrom<StoredUnregisteredToken> for UnregisteredToken {
    type Error = DecodeError;

    fn try_from(u: StoredUnregisteredToken) -> Result<Self, DecodeError> {
        let StoredUnregisteredToken {
            org_id,
            token,
            token_type,
            station_id,
            first_seen,
            last_seen,
            count,
        } = u;
        Ok(UnregisteredToken {
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            token: parse("id token", token, IdTokenValue::parse)?,
            token_type: token_type.map(Into::into),
            station_id: parse("station id", station_id, StationId::parse)?,
            first_seen,
            last_seen,
            count,
        })
    }
}

impl Record for UnregisteredToken {
    type Stored = StoredUnregisteredToken;
}
