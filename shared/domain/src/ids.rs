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

/// The rule for identifiers a charger or driver chooses (id tokens,
/// transaction ids): any text of 1..=`max` characters (not bytes) without a
/// control character (C0, DEL, C1: they end up in keys and logs) or `~` (the
/// session id's separator).
fn check_text(kind: &'static str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.chars().count() > max {
        return Err(IdError::TooLong { kind, max });
    }
    if s.chars().any(|c| c.is_control() || c == '~') {
        return Err(IdError::InvalidToken { kind });
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
        check_text("id token", &s, Self::MAX_LEN)?;
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

/// A transaction id as a charger sends it (2.0.1 `transactionInfo.transactionId`,
/// 1.6 the integer the CSMS handed out, as text).
///
/// This is the one rule for the transaction part of a [`SessionId`]: whatever
/// parses here can be stored and read back, so the edge refuses exactly what
/// the way out would. Control characters (C0, DEL, C1) are refused because they
/// end up in store keys and logs; `~` because it separates station and
/// transaction in the session id. Everything else the 2.0.1 schema allows
/// (`:`, `|`, `#`, `/`, non-ASCII letters …) is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionId(String);

impl TransactionId {
    /// OCPP 2.0.1 `TransactionType.transactionId` is at most 36 characters;
    /// 1.6 integers need at most 20.
    pub const MAX_LEN: usize = 36;

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        check_text("transaction id", &s, Self::MAX_LEN)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for TransactionId {
    /// 1.6 transaction ids are integers: at most 20 characters, digits and a
    /// sign, so always within the rule.
    fn from(n: i64) -> Self {
        TransactionId(n.to_string())
    }
}

impl TryFrom<String> for TransactionId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<TransactionId> for String {
    fn from(v: TransactionId) -> String {
        v.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A charging session: one OCPP transaction on one station.
///
/// Derived from the station and the transaction id so that every message about
/// a transaction (start, meter values, stop — in any order, repeated or not)
/// lands on the same record without a lookup. `~` appears in neither part, and
/// both parts are checked types, so every session id built here parses back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    pub fn new(station: &StationId, transaction_id: &TransactionId) -> Self {
        SessionId(format!("{}~{}", station.as_str(), transaction_id.as_str()))
    }

    /// For transaction ids held as text (commands, plans): checked by the
    /// same rule as [`TransactionId::parse`].
    pub fn try_new(station: &StationId, transaction_id: &str) -> Result<Self, IdError> {
        Ok(Self::new(station, &TransactionId::parse(transaction_id)?))
    }

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let kind = "session id";
        match s.split_once('~') {
            Some((st, tx)) => {
                StationId::parse(st)?;
                TransactionId::parse(tx)?;
                Ok(SessionId(s))
            }
            None => Err(IdError::InvalidToken { kind }),
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
        let id = SessionId::new(&st, &TransactionId::parse("TX:1|a").unwrap());
        let back = SessionId::parse(id.as_str()).unwrap();
        assert_eq!(back.station_id(), st);
        assert_eq!(back.transaction_id(), "TX:1|a");
        assert!(SessionId::parse("nostation").is_err());
        assert!(SessionId::parse("CP1~").is_err());
    }

    /// Every character a charger could use to break a key or a log line:
    /// C0 controls (NUL included), DEL, C1 controls, and the `~` separator.
    fn hostile_chars() -> Vec<char> {
        (0u32..=0x1f)
            .chain([0x7f])
            .chain(0x80..=0x9f)
            .filter_map(char::from_u32)
            .chain(['~'])
            .collect()
    }

    #[test]
    fn transaction_ids_refuse_every_control_character_and_the_separator() {
        for c in hostile_chars() {
            for s in [
                format!("{c}"),
                format!("t{c}"),
                format!("{c}t"),
                format!("a{c}b"),
            ] {
                assert_eq!(
                    TransactionId::parse(s.clone()),
                    Err(IdError::InvalidToken {
                        kind: "transaction id"
                    }),
                    "{s:?}"
                );
                let st = StationId::parse("CP1").unwrap();
                assert!(SessionId::try_new(&st, &s).is_err(), "{s:?}");
                assert!(SessionId::parse(format!("CP1~{s}")).is_err(), "{s:?}");
            }
        }
    }

    #[test]
    fn transaction_ids_are_at_most_36_characters_not_bytes() {
        assert!(TransactionId::parse("x".repeat(36)).is_ok());
        assert_eq!(
            TransactionId::parse("x".repeat(37)),
            Err(IdError::TooLong {
                kind: "transaction id",
                max: 36
            })
        );
        // 36 characters of four bytes each: the schema allows it, so must we.
        let wide = "\u{1F600}".repeat(36);
        let st = StationId::parse("CP1").unwrap();
        let id = SessionId::try_new(&st, &wide).unwrap();
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
        assert!(TransactionId::parse("").is_err());
    }

    #[test]
    fn every_accepted_transaction_id_parses_back_as_a_session() {
        let st = StationId::parse("CP-1").unwrap();
        let mut accepted = vec![
            "TX:1|a".to_owned(),
            "a#b".to_owned(),
            "ä/ü {x}".to_owned(),
            "-1".to_owned(),
            "0".to_owned(),
            " ".to_owned(),
            "\u{a0}".to_owned(),
        ];
        accepted.extend(
            (0x20u8..0x7f)
                .filter(|b| *b != b'~')
                .map(|b| (b as char).to_string()),
        );
        for tx in accepted {
            let tx = TransactionId::parse(tx.clone()).unwrap_or_else(|e| panic!("{tx:?}: {e}"));
            let id = SessionId::new(&st, &tx);
            let back: SessionId = serde_json::from_value(serde_json::to_value(&id).unwrap())
                .unwrap_or_else(|e| panic!("{id:?}: {e}"));
            assert_eq!(back.transaction_id(), tx.as_str());
            assert_eq!(back.station_id(), st);
        }
        assert_eq!(
            TransactionId::from(i64::MIN).as_str(),
            "-9223372036854775808"
        );
        assert!(TransactionId::parse(i64::MIN.to_string()).is_ok());
    }

    /// The whole of Unicode, one character at a time: the edge accepts a
    /// character exactly when it is neither a control character nor `~`, and
    /// whatever it accepts comes back from storage (JSON) unchanged.
    #[test]
    fn every_character_the_edge_accepts_reads_back_and_no_other() {
        let st = StationId::parse("CP1").unwrap();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let raw = format!("t{c}");
            let expected = !c.is_control() && c != '~';
            match TransactionId::parse(raw.clone()) {
                Ok(tx) => {
                    assert!(expected, "{c:?} was accepted");
                    let json = serde_json::to_string(&SessionId::new(&st, &tx)).unwrap();
                    let back: SessionId = serde_json::from_str(&json).unwrap();
                    assert_eq!(back.transaction_id(), raw);
                }
                Err(_) => assert!(!expected, "{c:?} was refused"),
            }
        }
    }

    #[test]
    fn malformed_stored_session_ids_are_errors_not_panics() {
        for s in [
            "", "~", "~~", "CP1~", "~tx", "CP1~a~b", "C P~1", "CP1~\0", "CP1\0~x",
        ] {
            assert!(SessionId::parse(s).is_err(), "{s:?}");
            assert!(serde_json::from_value::<SessionId>(serde_json::json!(s)).is_err());
        }
    }

    #[test]
    fn id_tokens_refuse_every_control_character_and_the_separator() {
        for c in hostile_chars() {
            assert!(IdTokenValue::parse(format!("tag{c}")).is_err(), "{c:?}");
        }
        assert!(IdTokenValue::parse("x".repeat(36)).is_ok());
    }

    #[test]
    fn tokens_fold_case_for_lookup() {
        let t = IdTokenValue::parse("04a2bC").unwrap();
        assert_eq!(t.key(), "04A2BC");
        assert_eq!(t.as_str(), "04a2bC");
        assert!(IdTokenValue::parse("x".repeat(37)).is_err());
    }
}
