//! Partner API keys: who may call the HTTP API, and what they may do.
//!
//! A key is shown once, at creation, as `csk_{id}_{secret}`; only a SHA-256
//! of the secret is kept. The secret is 32 random alphanumerics (~190 bits),
//! so a fast hash is enough — unlike charger passwords, which people choose
//! and which get argon2.

use crate::{OrgId, Timestamp};

/// What a key may do. `Admin` implies the others; `Commands` implies `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read stations, tokens, sessions, commands; exports; manage webhooks
    /// (they push what the key may read).
    Read,
    /// Send commands to stations.
    Commands,
    /// Register stations and id tokens, manage API keys.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Commands, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Commands => "commands",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether holding `self` allows what `needed` guards.
    pub fn covers(self, needed: Scope) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// A ULID; part of the presented key, so lookup is one read.
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the secret part.
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub version: u64,
}

impl ApiKey {
    pub fn allows(&self, needed: Scope) -> bool {
        self.revoked_at.is_none() && self.scopes.iter().any(|s| s.covers(needed))
    }
}

/// Splits a presented `csk_{id}_{secret}` into id and secret.
pub fn parse_presented(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("csk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 26 && secret.len() >= 20).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest() {
        assert!(Scope::Admin.covers(Scope::Read));
        assert!(Scope::Commands.covers(Scope::Read));
        assert!(!Scope::Read.covers(Scope::Commands));
        assert!(!Scope::Commands.covers(Scope::Admin));
    }

    #[test]
    fn presented_keys() {
        let k = "csk_01JDX3N6Q8Z4V7T2K9R5M1B0CE_abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(
            parse_presented(k),
            Some((
                "01JDX3N6Q8Z4V7T2K9R5M1B0CE",
                "abcdefghijklmnopqrstuvwxyz012345"
            ))
        );
        assert_eq!(parse_presented("csk_short_x"), None);
        assert_eq!(parse_presented("Bearer-ish"), None);
    }
}
