//! Single-use e-mail links as stored: a [`StoredEmailLink`] with its
//! purpose tagged by `kind` (`invitation`, `password_reset`), snake-case
//! names, absent options left out.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::email_link::{EmailLink, Invitation, LinkId, LinkPurpose};
use csms_domain::tenant::Language;
use csms_domain::user::{Role, UserEmail, UserId};
use csms_domain::OrgId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEmailLink {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "secret_hash")]
    pub secret_hash: String,
    #[serde(rename = "purpose")]
    pub purpose: StoredLinkPurpose,
    #[serde(rename = "created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "expires_at")]
    pub expires_at: DateTime<Utc>,
    #[serde(rename = "used_at", default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "revoked_by",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_by: Option<String>,
    #[serde(
        rename = "revoked_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredLinkPurpose {
    #[serde(rename = "invitation")]
    Invitation {
        #[serde(rename = "org_id")]
        org_id: String,
        #[serde(rename = "email")]
        email: String,
        #[serde(rename = "role")]
        role: String,
        #[serde(rename = "name", default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(rename = "language")]
        language: String,
        #[serde(rename = "invited_by")]
        invited_by: String,
    },
    #[serde(rename = "password_reset")]
    PasswordReset {
        #[serde(rename = "user_id")]
        user_id: String,
        #[serde(rename = "password_fingerprint")]
        password_fingerprint: String,
    },
}

impl From<&EmailLink> for StoredEmailLink {
    fn from(l: &EmailLink) -> Self {
        let EmailLink {
            id,
            secret_hash,
            purpose,
            created_at,
            expires_at,
            used_at,
            revoked,
            version,
        } = l;
        let purpose = match purpose {
            LinkPurpose::Invitation(Invitation {
                org_id,
                email,
                role,
                name,
                language,
                invited_by,
            }) => StoredLinkPurpose::Invitation {
                org_id: org_id.as_str().to_owned(),
                email: email.as_str().to_owned(),
                role: role.as_str().to_owned(),
                name: name.clone(),
                language: language.as_str().to_owned(),
                invited_by: invited_by.clone(),
            },
            LinkPurpose::PasswordReset {
                user_id,
                password_fingerprint,
            } => StoredLinkPurpose::PasswordReset {
                user_id: user_id.as_str().to_owned(),
                password_fingerprint: password_fingerprint.clone(),
            },
        };
        StoredEmailLink {
            id: id.as_str().to_owned(),
            secret_hash: secret_hash.clone(),
            purpose,
            created_at: *created_at,
            expires_at: *expires_at,
            used_at: *used_at,
            revoked_by: revoked.as_ref().map(|(by, _)| by.clone()),
            revoked_at: revoked.as_ref().map(|(_, at)| *at),
            version: *version,
        }
    }
}

impl TryFrom<StoredEmailLink> for EmailLink {
    type Error = DecodeError;

    fn try_from(l: StoredEmailLink) -> Result<Self, DecodeError> {
        let StoredEmailLink {
            id,
            secret_hash,
            purpose,
            created_at,
            expires_at,
            used_at,
            revoked_by,
            revoked_at,
            version,
        } = l;
        let purpose = match purpose {
            StoredLinkPurpose::Invitation {
                org_id,
                email,
                role,
                name,
                language,
                invited_by,
            } => LinkPurpose::Invitation(Invitation {
                org_id: parse("organisation id", org_id, OrgId::parse)?,
                email: UserEmail::parse(&email)
                    .map_err(|e| DecodeError::new(format!("email: {e}")))?,
                role: Role::parse(&role).map_err(|e| DecodeError::new(format!("role: {e}")))?,
                name,
                language: Language::parse(&language)
                    .map_err(|e| DecodeError::new(format!("language: {e}")))?,
                invited_by,
            }),
            StoredLinkPurpose::PasswordReset {
                user_id,
                password_fingerprint,
            } => LinkPurpose::PasswordReset {
                user_id: parse("user id", user_id, UserId::parse)?,
                password_fingerprint,
            },
        };
        let revoked = match (revoked_by, revoked_at) {
            (Some(by), Some(at)) => Some((by, at)),
            (None, None) => None,
            _ => return Err(DecodeError::new("revoked_by and revoked_at come together")),
        };
        Ok(EmailLink {
            id: parse("link id", id, LinkId::parse)?,
            secret_hash,
            purpose,
            created_at,
            expires_at,
            used_at,
            revoked,
            version,
        })
    }
}

impl Record for EmailLink {
    type Stored = StoredEmailLink;
}
