//! Id tokens as stored by the embedded store: a [`StoredIdToken`]. Tokens
//! have always been stored with snake-case names, `null` for an absent
//! expiry and no `group` at all when there is none; the type and status are
//! OCPP's names. The DynamoDB store keeps tokens as items of named
//! attributes (its own item struct), so only the embedded store writes this
//! form.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::{IdTokenValue, OrgId};
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
            expires_at,
            org_id,
            group,
            created_at,
        } = r;
        StoredIdToken {
            token: token.as_str().to_owned(),
            token_type: match token_type {
                IdTokenType::Central => StoredIdTokenType::Central,
                IdTokenType::EMaid => StoredIdTokenType::EMaid,
                IdTokenType::ISO14443 => StoredIdTokenType::Iso14443,
                IdTokenType::ISO15693 => StoredIdTokenType::Iso15693,
                IdTokenType::KeyCode => StoredIdTokenType::KeyCode,
                IdTokenType::Local => StoredIdTokenType::Local,
                IdTokenType::MacAddress => StoredIdTokenType::MacAddress,
                IdTokenType::NoAuthorization => StoredIdTokenType::NoAuthorization,
            },
            status: match status {
                TokenStatus::Accepted => StoredTokenStatus::Accepted,
                TokenStatus::Blocked => StoredTokenStatus::Blocked,
                TokenStatus::Expired => StoredTokenStatus::Expired,
                TokenStatus::Invalid => StoredTokenStatus::Invalid,
            },
            expires_at: *expires_at,
            org_id: org_id.as_str().to_owned(),
            group: group.clone(),
            created_at: *created_at,
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
        } = r;
        Ok(IdTokenRecord {
            token: parse("id token", token, IdTokenValue::parse)?,
            token_type: match token_type {
                StoredIdTokenType::Central => IdTokenType::Central,
                StoredIdTokenType::EMaid => IdTokenType::EMaid,
                StoredIdTokenType::Iso14443 => IdTokenType::ISO14443,
                StoredIdTokenType::Iso15693 => IdTokenType::ISO15693,
                StoredIdTokenType::KeyCode => IdTokenType::KeyCode,
                StoredIdTokenType::Local => IdTokenType::Local,
                StoredIdTokenType::MacAddress => IdTokenType::MacAddress,
                StoredIdTokenType::NoAuthorization => IdTokenType::NoAuthorization,
            },
            status: match status {
                StoredTokenStatus::Accepted => TokenStatus::Accepted,
                StoredTokenStatus::Blocked => TokenStatus::Blocked,
                StoredTokenStatus::Expired => TokenStatus::Expired,
                StoredTokenStatus::Invalid => TokenStatus::Invalid,
            },
            expires_at,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            group,
            created_at,
        })
    }
}

impl Record for IdTokenRecord {
    type Stored = StoredIdToken;
}
