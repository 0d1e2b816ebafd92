//! The id-token registry and the authorization decision.

use crate::{IdTokenValue, OrgId, Timestamp};
use serde::{Deserialize, Serialize};

/// Kinds of identifiers (names of OCPP 2.0.1 `IdTokenEnumType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdTokenType {
    Central,
    #[serde(rename = "eMAID")]
    EMaid,
    ISO14443,
    ISO15693,
    KeyCode,
    Local,
    MacAddress,
    NoAuthorization,
}

impl IdTokenType {
    pub const ALL: [IdTokenType; 8] = [
        IdTokenType::Central,
        IdTokenType::EMaid,
        IdTokenType::ISO14443,
        IdTokenType::ISO15693,
        IdTokenType::KeyCode,
        IdTokenType::Local,
        IdTokenType::MacAddress,
        IdTokenType::NoAuthorization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenType::Central => "Central",
            IdTokenType::EMaid => "eMAID",
            IdTokenType::ISO14443 => "ISO14443",
            IdTokenType::ISO15693 => "ISO15693",
            IdTokenType::KeyCode => "KeyCode",
            IdTokenType::Local => "Local",
            IdTokenType::MacAddress => "MacAddress",
            IdTokenType::NoAuthorization => "NoAuthorization",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Status an operator gives a token in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStatus {
    Accepted,
    Blocked,
    Expired,
    Invalid,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Accepted => "Accepted",
            TokenStatus::Blocked => "Blocked",
            TokenStatus::Expired => "Expired",
            TokenStatus::Invalid => "Invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Accepted, Self::Blocked, Self::Expired, Self::Invalid]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdTokenRecord {
    pub token: IdTokenValue,
    pub token_type: IdTokenType,
    pub status: TokenStatus,
    pub expires_at: Option<Timestamp>,
    pub org_id: OrgId,
    /// The user group whose tariffs apply to this token ("residents",
    /// "staff"); `None`: the public tariff.
    pub group: Option<String>,
    pub created_at: Timestamp,
}

/// The answer to "may this token charge?", common to both OCPP versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorization {
    pub status: TokenStatus,
    pub expires_at: Option<Timestamp>,
}

/// Decide authorization from the registry entry. Unknown tokens are `Invalid`;
/// an accepted token past its expiry date is `Expired`.
pub fn authorize(record: Option<&IdTokenRecord>, now: Timestamp) -> Authorization {
    match record {
        None => Authorization {
            status: TokenStatus::Invalid,
            expires_at: None,
        },
        Some(r) => {
            let status = match (r.status, r.expires_at) {
                (TokenStatus::Accepted, Some(exp)) if exp <= now => TokenStatus::Expired,
                (s, _) => s,
            };
            Authorization {
                status,
                expires_at: r.expires_at,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn rec(status: TokenStatus, exp: Option<Timestamp>) -> IdTokenRecord {
        IdTokenRecord {
            token: IdTokenValue::parse("T").unwrap(),
            token_type: IdTokenType::ISO14443,
            status,
            expires_at: exp,
            org_id: OrgId::default_org(),
            group: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn decisions() {
        let now = chrono::Utc::now();
        assert_eq!(authorize(None, now).status, TokenStatus::Invalid);
        assert_eq!(
            authorize(Some(&rec(TokenStatus::Accepted, None)), now).status,
            TokenStatus::Accepted
        );
        let past = Some(now - TimeDelta::seconds(1));
        assert_eq!(
            authorize(Some(&rec(TokenStatus::Accepted, past)), now).status,
            TokenStatus::Expired
        );
        let future = Some(now + TimeDelta::days(1));
        assert_eq!(
            authorize(Some(&rec(TokenStatus::Accepted, future)), now).status,
            TokenStatus::Accepted
        );
        assert_eq!(
            authorize(Some(&rec(TokenStatus::Blocked, future)), now).status,
            TokenStatus::Blocked
        );
    }
}
