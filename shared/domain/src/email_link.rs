//! Single-use links sent by e-mail: an [`Invitation`] to join an
//! organisation, and a password reset.
//!
//! The link carries `{id}.{secret}` ([`LinkToken`]); the store keeps the
//! record under its id with only the secret's SHA-256 (made where the
//! hashing lives, in the API), so a copy of the store opens nothing. A link
//! is used once: using it, revoking it or its expiry ends it
//! ([`EmailLink::state`]). A password reset also dies when the password
//! changes by any other way ([`LinkPurpose::PasswordReset`] holds a
//! fingerprint of the hash it was made for), so an older reset link
//! cannot undo a newer password.

use crate::ids::IdError;
use crate::tenant::Language;
use crate::user::{Role, UserEmail, UserId};
use crate::{OrgId, Timestamp};
use chrono::Duration;
use std::fmt;

/// A link's id: `lnk_` followed by a ULID. Not secret: an administrator
/// names an invitation by it to revoke it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(String);

impl LinkId {
    pub const PREFIX: &'static str = "lnk_";

    pub fn generate() -> Self {
        LinkId(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
    }

    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let ok = s
            .strip_prefix(Self::PREFIX)
            .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok());
        if ok {
            Ok(LinkId(s))
        } else {
            Err(IdError::InvalidChars { kind: "link id" })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a link's holder gets: `{id}.{secret}` as it stands in the link.
/// The secret is 43 characters of URL-safe base64 (256 bits).
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub id: LinkId,
    pub secret: String,
}

impl LinkToken {
    pub const SECRET_LEN: usize = 43;

    /// Reads a token; `None` for anything that is not one (the caller
    /// answers the same for a malformed, unknown, used or expired token).
    pub fn parse(text: &str) -> Option<Self> {
        let (id, secret) = text.trim().split_once('.')?;
        let id = LinkId::parse(id).ok()?;
        let well_formed = secret.len() == Self::SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| LinkToken {
            id,
            secret: secret.to_owned(),
        })
    }

    pub fn text(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkToken({}.***)", self.id)
    }
}

/// An invitation to join an organisation with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub org_id: OrgId,
    pub email: UserEmail,
    pub role: Role,
    /// The invitee's name as the inviter wrote it; a new person may change
    /// it when accepting.
    pub name: Option<String>,
    /// The e-mail's language, and a new person's.
    pub language: Language,
    /// Who invited ([`crate::actor::Actor::audit_name`]).
    pub invited_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation(Invitation),
    /// Sets a new password for `user_id`, while their password hash is
    /// still the one whose fingerprint this holds.
    PasswordReset {
        user_id: UserId,
        password_fingerprint: String,
    },
}

impl LinkPurpose {
    pub fn kind(&self) -> &'static str {
        match self {
            LinkPurpose::Invitation(_) => "invitation",
            LinkPurpose::PasswordReset { .. } => "passwordReset",
        }
    }
}

/// Where a link is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Pending,
    Used,
    Revoked,
    Expired,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Pending => "pending",
            LinkState::Used => "accepted",
            LinkState::Revoked => "revoked",
            LinkState::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLink {
    pub id: LinkId,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    pub purpose: LinkPurpose,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// Revoked by hand: who and when.
    pub revoked: Option<(String, Timestamp)>,
    pub version: u64,
}

/// Why a link cannot be used or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has been used")]
    Used,
    #[error("the link has been revoked")]
    Revoked,
    #[error("the link has expired")]
    Expired,
}

impl EmailLink {
    /// How long an invitation stays open.
    pub const INVITATION_TTL: Duration = Duration::days(7);
    /// How long a password reset link works.
    pub const RESET_TTL: Duration = Duration::hours(1);

    pub fn new(id: LinkId, secret_hash: String, purpose: LinkPurpose, now: Timestamp) -> Self {
        let ttl = match purpose {
            LinkPurpose::Invitation(_) => Self::INVITATION_TTL,
            LinkPurpose::PasswordReset { .. } => Self::RESET_TTL,
        };
        EmailLink {
            id,
            secret_hash,
            purpose,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
            revoked: None,
            version: 1,
        }
    }

    pub fn state(&self, now: Timestamp) -> LinkState {
        if self.used_at.is_some() {
            LinkState::Used
        } else if self.revoked.is_some() {
            LinkState::Revoked
        } else if now >= self.expires_at {
            LinkState::Expired
        } else {
            LinkState::Pending
        }
    }

    fn check_pending(&self, now: Timestamp) -> Result<(), LinkError> {
        match self.state(now) {
            LinkState::Pending => Ok(()),
            LinkState::Used => Err(LinkError::Used),
            LinkState::Revoked => Err(LinkError::Revoked),
            LinkState::Expired => Err(LinkError::Expired),
        }
    }

    /// Marks the link used at `now` (the caller writes it at the version
    /// it read, so two uses cannot both succeed).
    pub fn use_at(&mut self, now: Timestamp) -> Result<(), LinkError> {
        self.check_pending(now)?;
        self.used_at = Some(now);
        self.version += 1;
        Ok(())
    }

    /// `by` withdraws the link before it is used.
    pub fn revoke(&mut self, by: &str, now: Timestamp) -> Result<(), LinkError> {
        self.check_pending(now)?;
        self.revoked = Some((by.to_owned(), now));
        self.version += 1;
        Ok(())
    }

    pub fn invitation(&self) -> Option<&Invitation> {
        match &self.purpose {
            LinkPurpose::Invitation(i) => Some(i),
            LinkPurpose::PasswordReset { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap()
    }

    fn reset() -> EmailLink {
        EmailLink::new(
            LinkId::generate(),
            "ab".repeat(32),
            LinkPurpose::PasswordReset {
                user_id: UserId::generate(),
                password_fingerprint: "f".into(),
            },
            t0(),
        )
    }

    #[test]
    fn tokens_are_an_id_and_a_43_character_secret() {
        let id = LinkId::generate();
        let secret = "A".repeat(42) + "_";
        let t = LinkToken::parse(&format!("{id}.{secret}")).unwrap();
        assert_eq!(t.id, id);
        assert_eq!(LinkToken::parse(&t.text()).unwrap(), t);
        assert!(
            !format!("{t:?}").contains(&secret),
            "the secret stays out of logs"
        );
        for bad in [
            String::new(),
            id.to_string(),
            format!("{id}.{}", "A".repeat(42)),
            format!("{id}.{}", "A".repeat(44)),
            format!("{id}.{}+", "A".repeat(42)),
            format!("lnk_x.{secret}"),
        ] {
            assert!(LinkToken::parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_link_is_used_once_and_not_after_it_expires_or_is_revoked() {
        let mut l = reset();
        assert_eq!(l.expires_at, t0() + Duration::hours(1));
        assert_eq!(l.state(t0()), LinkState::Pending);
        l.use_at(t0() + Duration::minutes(5)).unwrap();
        assert_eq!(l.version, 2);
        assert_eq!(l.use_at(t0() + Duration::minutes(6)), Err(LinkError::Used));
        assert_eq!(l.state(t0()), LinkState::Used);

        let l = reset();
        assert_eq!(l.state(l.expires_at), LinkState::Expired);
        assert_eq!(l.clone().use_at(l.expires_at), Err(LinkError::Expired));

        let mut l = reset();
        l.revoke("user:usr_x", t0()).unwrap();
        assert_eq!(l.state(t0()), LinkState::Revoked);
        assert_eq!(l.clone().use_at(t0()), Err(LinkError::Revoked));
        assert_eq!(l.revoke("again", t0()), Err(LinkError::Revoked));
    }

    #[test]
    fn invitations_stay_open_a_week() {
        let l = EmailLink::new(
            LinkId::generate(),
            String::new(),
            LinkPurpose::Invitation(Invitation {
                org_id: OrgId::parse("brf-solsidan").unwrap(),
                email: UserEmail::parse("a@b.se").unwrap(),
                role: Role::Driver,
                name: None,
                language: Language::Sv,
                invited_by: "key:k".into(),
            }),
            t0(),
        );
        assert_eq!(l.expires_at, t0() + Duration::days(7));
        assert_eq!(l.purpose.kind(), "invitation");
        assert!(l.invitation().is_some());
    }
}
