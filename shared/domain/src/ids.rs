//! Identity newtypes, each parsed once at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} must be at most {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} may only contain letters, digits, '.', '_' and '-'")]
    InvalidChars { kind: &'static str },
    #[error("{kind} must not contain control characters or '~'")]
    InvalidToken { kind: &'static str },
}

fn check_plain(kind: &'static str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.chars().count() > max {
        return Err(IdError::TooLong { kind, max });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(IdError::InvalidChars { kind });
    }
    Ok(())
}

macro_rules! plain_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_plain($kind, &s, $max)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

plain_id!(
    /// The identity a charging station uses in its OCPP URL (`…/ocpp/{id}`) and
    /// as its Basic-auth user name. Restricted to URL-safe characters so it can
    /// be used in paths and keys without escaping.
    StationId,
    "station id",
    48
);
plain_id!(
    /// An organisation (charge point operator, housing co-operative, company).
    OrgId,
    "organisation id",
    64
);
plain_id!(
    /// A site (a car park, a building) owned by an organisation.
    SiteId,
    "site id",
    64
);

impl OrgId {
    /// The organisation that owns everything until tenancy is configured.
    pub fn default_org() -> Self {
        OrgId("default".to_owned())
    }
}

/// An identifier a driver presents: RFID UID, EVCC-ID/MAC, e-mail, app token.
///
/// OCPP defines id tokens as case-insensitive, so lookups use [`IdTokenValue::key`]
/// while the value as first registered is kept for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdTokenValue(String);

impl IdTokenValue {
    /// OCPP 2.0.1 `IdTokenType.idToken` is 36 characters (1.6 `idTag`: 20).
    pub const MAX_LEN: usize = 36;

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let kind = "id token";
        if s.is_empty() {
            return Err(IdError::Empty { kind });
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(IdError::TooLong {
                kind,
                max: Self::MAX_LEN,
            });
        }
        if s.chars().any(|c| c.is_control() || c == '~') {
            return Err(IdError::InvalidToken { kind });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used as the registry key.
    pub fn key(&self) -> String {
        self.0.to_uppercase()
    }
}

impl TryFrom<String> for IdTokenValue {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<IdTokenValue> for String {
    fn from(v: IdTokenValue) -> String {
        v.0
    }
}

impl fmt::Display for IdTokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A charging session: one OCPP transaction on one station.
///
/// Derived from the station and the transaction id so that every message about
/// a transaction (start, meter values, stop — in any order, repeated or not)
/// lands on the same record without a lookup. `~` appears in neither part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    pub fn new(station: &StationId, transaction_id: &str) -> Self {
        SessionId(format!("{}~{}", station.as_str(), transaction_id))
    }

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let kind = "session id";
        match s.split_once('~') {
            Some((st, tx)) if !tx.is_empty() && !tx.contains('~') => {
                StationId::parse(st)?;
                if tx.chars().any(char::is_control) || tx.len() > 64 {
                    return Err(IdError::InvalidToken { kind });
                }
                Ok(SessionId(s))
            }
            _ => Err(IdError::InvalidToken { kind }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn station_id(&self) -> StationId {
        StationId(
            self.0
                .split_once('~')
                .map(|(s, _)| s)
                .unwrap_or_default()
                .to_owned(),
        )
    }

    pub fn transaction_id(&self) -> &str {
        self.0.split_once('~').map(|(_, t)| t).unwrap_or_default()
    }
}

impl TryFrom<String> for SessionId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<SessionId> for String {
    fn from(v: SessionId) -> String {
        v.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn station_ids() {
        assert!(StationId::parse("CP-001_a.b").is_ok());
        assert_eq!(
            StationId::parse(""),
            Err(IdError::Empty { kind: "station id" })
        );
        assert!(StationId::parse("a/b").is_err());
        assert!(StationId::parse("a b").is_err());
        assert!(StationId::parse("x".repeat(49)).is_err());
        assert!(StationId::parse("x".repeat(48)).is_ok());
    }

    #[test]
    fn session_ids_round_trip() {
        let st = StationId::parse("CP1").unwrap();
        let id = SessionId::new(&st, "TX:1|a");
        let back = SessionId::parse(id.as_str()).unwrap();
        assert_eq!(back.station_id(), st);
        assert_eq!(back.transaction_id(), "TX:1|a");
        assert!(SessionId::parse("nostation").is_err());
        assert!(SessionId::parse("CP1~").is_err());
    }

    #[test]
    fn tokens_fold_case_for_lookup() {
        let t = IdTokenValue::parse("04a2bC").unwrap();
        assert_eq!(t.key(), "04A2BC");
        assert_eq!(t.as_str(), "04a2bC");
        assert!(IdTokenValue::parse("x".repeat(37)).is_err());
    }
}
