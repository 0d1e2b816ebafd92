//! People who sign in to the operator's interface: [`User`] with its
//! [`Membership`]s (a [`Role`] in an organisation; one person may hold roles
//! in several), and a signed-in [`UserSession`].
//!
//! The password is kept as an argon2id PHC string only (made and checked
//! where the hashing lives, never here); a session's secret is kept only as
//! its SHA-256, so a copy of the store signs nobody in.

use crate::ids::IdError;
use crate::tenant::{Email, Invalid, Language, OrganisationNumber};
use crate::{OrgId, Timestamp};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A person's id: `usr_` and a ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub const PREFIX: &'static str = "usr_";

    /// A new id.
    pub fn generate() -> Self {
        UserId(format!("{}{}", Self::PREFIX, ulid::Ulid::new()))
    }

    /// `usr_` followed by 26 ULID characters (Crockford base 32).
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let kind = "user id";
        let Some(rest) = s.strip_prefix(Self::PREFIX) else {
            return Err(IdError::InvalidChars { kind });
        };
        if rest.len() != 26 || ulid::Ulid::from_string(rest).is_err() {
            return Err(IdError::InvalidChars { kind });
        }
        Ok(UserId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<UserId> for String {
    fn from(v: UserId) -> String {
        v.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's e-mail address, their sign-in name: an [`Email`] wholly in
/// lower case, so `Anna@Example.SE` and `anna@example.se` are one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserEmail(String);

impl UserEmail {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let email = Email::parse(s)?;
        Ok(UserEmail(email.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person may do in an organisation. The API maps each to the
/// scopes partner keys have (`platformAdmin` and `orgAdmin`: admin,
/// `operator`: commands, `accountant` and `viewer`: read, `driver`: none of
/// the operator API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    PlatformAdmin,
    OrgAdmin,
    Operator,
    Accountant,
    Viewer,
    Driver,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::PlatformAdmin,
        Role::OrgAdmin,
        Role::Operator,
        Role::Accountant,
        Role::Viewer,
        Role::Driver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platformAdmin",
            Role::OrgAdmin => "orgAdmin",
            Role::Operator => "operator",
            Role::Accountant => "accountant",
            Role::Viewer => "viewer",
            Role::Driver => "driver",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
                Invalid(format!("one of {}", names.join(", ")))
            })
    }
}

/// A role in one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub role: Role,
}

/// A card a person saved for their invoices to be charged to on the due
/// date (a Stripe PaymentMethod of their Stripe customer). Only what can
/// be shown: the card number never reaches the CSMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    /// `pm_…`.
    pub payment_method: String,
    /// `visa`, `mastercard`, …
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub saved_at: Timestamp,
}

/// The company a person charges for (their employer, their own firm): its
/// legal name and Swedish organisation number. It is the buyer's electronic
/// address in the Peppol file of the person's invoices; a private person has
/// none (Peppol has no address scheme for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerCompany {
    pub legal_name: String,
    pub organisation_number: OrganisationNumber,
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: UserEmail,
    pub name: String,
    pub language: Language,
    /// argon2id PHC string.
    pub password_hash: String,
    /// A disabled person cannot sign in, and their sessions are dead.
    pub disabled: bool,
    /// At most one per organisation, the first the default one to act in.
    pub memberships: Vec<Membership>,
    /// A second factor (authenticator app codes), once set up.
    pub second_factor: Option<SecondFactor>,
    /// Their Stripe customer (`cus_…`), made when they first save a card
    /// and kept for the next.
    pub stripe_customer: Option<String>,
    /// The card their invoices are charged to on the due date.
    pub saved_card: Option<SavedCard>,
    /// The company they charge for, if they said so (`PUT /me/company`).
    pub company: Option<BuyerCompany>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl User {
    /// At most this many memberships (each is an item next to the user in
    /// DynamoDB, written in the user's transaction, which holds at most 100
    /// items: the user, two addresses, the new and the removed memberships).
    pub const MAX_MEMBERSHIPS: usize = 40;

    /// The role held in `org`, if any.
    pub fn role_in(&self, org: &OrgId) -> Option<Role> {
        self.memberships
            .iter()
            .find(|m| &m.org_id == org)
            .map(|m| m.role)
    }

    pub fn is_platform_admin(&self) -> bool {
        self.memberships
            .iter()
            .any(|m| m.role == Role::PlatformAdmin)
    }

    /// Sets the role in `org`, adding the membership if it is new (at the end).
    pub fn set_role(&mut self, org: &OrgId, role: Role) {
        match self.memberships.iter_mut().find(|m| &m.org_id == org) {
            Some(m) => m.role = role,
            None => self.memberships.push(Membership {
                org_id: org.clone(),
                role,
            }),
        }
    }

    /// Removes the membership in `org`; whether there was one.
    pub fn remove_membership(&mut self, org: &OrgId) -> bool {
        let before = self.memberships.len();
        self.memberships.retain(|m| &m.org_id != org);
        self.memberships.len() != before
    }
}

/// A time-based one-time code generator the person holds (RFC 6238:
/// HMAC-SHA1, 6 digits, 30-second steps), shared as `secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    /// The shared secret, base32 as authenticator apps take it.
    pub secret: String,
    /// A code proved the app holds the secret: from then on sign-in asks
    /// for one. Until then the factor is being set up and asks nothing.
    pub confirmed: bool,
    /// The last 30-second step a code was accepted for: a code works once.
    pub last_step: u64,
}

/// A signed-in browser. The cookie holds a random secret (256 bits); the
/// store keeps only its SHA-256 in hex, which is the session's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSession {
    /// Hex SHA-256 of the secret in the cookie.
    pub id_hash: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Touched at most once per [`UserSession::TOUCH_EVERY`].
    pub last_seen_at: Timestamp,
    /// The absolute end, whatever the activity.
    pub expires_at: Timestamp,
    /// What a state-changing request must carry in `X-CSRF-Token`.
    pub csrf_token: String,
}

impl UserSession {
    /// A session unused this long is dead.
    pub const IDLE: Duration = Duration::hours(8);
    /// A session ends this long after sign-in, however busy.
    pub const ABSOLUTE: Duration = Duration::days(7);
    /// `last_seen_at` is written at most this often (not on every request).
    pub const TOUCH_EVERY: Duration = Duration::minutes(1);

    pub fn new(id_hash: String, user_id: UserId, csrf_token: String, now: Timestamp) -> Self {
        UserSession {
            id_hash,
            user_id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + Self::ABSOLUTE,
            csrf_token,
        }
    }

    /// Whether the session still signs its user in at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && now < self.last_seen_at + Self::IDLE
    }

    /// Whether a request at `now` should write `last_seen_at`.
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now >= self.last_seen_at + Self::TOUCH_EVERY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn ids_are_usr_and_a_ulid() {
        let id = UserId::generate();
        assert!(id.as_str().starts_with("usr_"));
        assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "",
            "usr_",
            "usr_x",
            "01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "usr_01HZZZZZZZZZZZZZZZZZZZZZZU",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_lower_case() {
        assert_eq!(
            UserEmail::parse(" Anna.Berg@Example.SE ").unwrap().as_str(),
            "anna.berg@example.se"
        );
        assert!(UserEmail::parse("anna").is_err());
    }

    #[test]
    fn roles_parse_by_their_api_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").unwrap_err().0.contains("orgAdmin"));
    }

    #[test]
    fn sessions_die_idle_or_old() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut s = UserSession::new("h".into(), UserId::generate(), "c".into(), t0);
        assert!(s.is_live(t0));
        assert!(!s.needs_touch(t0 + Duration::seconds(59)));
        assert!(s.needs_touch(t0 + Duration::seconds(60)));
        assert!(!s.is_live(t0 + Duration::hours(8)));
        // Kept busy, it still ends after seven days.
        s.last_seen_at = t0 + Duration::days(7) - Duration::minutes(1);
        assert!(s.is_live(t0 + Duration::days(7) - Duration::seconds(1)));
        assert!(!s.is_live(t0 + Duration::days(7)));
    }

    #[test]
    fn memberships_change_by_organisation() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let a = OrgId::parse("a").unwrap();
        let b = OrgId::parse("b").unwrap();
        let mut u = User {
            id: UserId::generate(),
            email: UserEmail::parse("a@b.se").unwrap(),
            name: "A".into(),
            language: Language::Sv,
            password_hash: String::new(),
            disabled: false,
            memberships: vec![],
            second_factor: None,
            stripe_customer: None,
            saved_card: None,
            company: None,
            created_at: t0,
            updated_at: t0,
            version: 1,
        };
        u.set_role(&a, Role::Viewer);
        u.set_role(&b, Role::Operator);
        u.set_role(&a, Role::OrgAdmin);
        assert_eq!(u.role_in(&a), Some(Role::OrgAdmin));
        assert_eq!(u.memberships[0].org_id, a);
        assert!(u.remove_membership(&a));
        assert!(!u.remove_membership(&a));
        assert_eq!(u.role_in(&a), None);
        assert!(!u.is_platform_admin());
    }
}
