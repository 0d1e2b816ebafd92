//! People and their signed-in sessions as stored: [`StoredUser`] (with its
//! memberships) and [`StoredUserSession`]. New with sign-in, written with
//! camel-case names; every value is read back through the domain's parser.

use crate::tenant::StoredLanguage;
use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::tenant::{Language, OrganisationNumber};
use csms_domain::user::{
    BuyerCompany, Membership, Role, SavedCard, SecondFactor, User, UserEmail, UserId, UserSession,
};
use csms_domain::OrgId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUser {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "email")]
    pub email: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "language")]
    pub language: StoredLanguage,
    #[serde(rename = "passwordHash")]
    pub password_hash: String,
    #[serde(rename = "disabled")]
    pub disabled: bool,
    #[serde(rename = "memberships")]
    pub memberships: Vec<StoredMembership>,
    /// Absent for a person without a second factor (and in records written
    /// before there was one).
    #[serde(
        rename = "secondFactor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub second_factor: Option<StoredSecondFactor>,
    /// Absent until the person first saves a card.
    #[serde(
        rename = "stripeCustomer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stripe_customer: Option<String>,
    #[serde(rename = "savedCard", default, skip_serializing_if = "Option::is_none")]
    pub saved_card: Option<StoredSavedCard>,
    /// Absent for a person who charges privately.
    #[serde(rename = "company", default, skip_serializing_if = "Option::is_none")]
    pub company: Option<StoredBuyerCompany>,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

/// The company a person charges for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBuyerCompany {
    #[serde(rename = "legalName")]
    pub legal_name: String,
    #[serde(rename = "organisationNumber")]
    pub organisation_number: String,
}

/// A saved card: what can be shown of it, and its Stripe PaymentMethod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSavedCard {
    #[serde(rename = "paymentMethod")]
    pub payment_method: String,
    #[serde(rename = "brand")]
    pub brand: String,
    #[serde(rename = "last4")]
    pub last4: String,
    #[serde(rename = "expMonth")]
    pub exp_month: u8,
    #[serde(rename = "expYear")]
    pub exp_year: u16,
    #[serde(rename = "savedAt")]
    pub saved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecondFactor {
    #[serde(rename = "secret")]
    pub secret: String,
    #[serde(rename = "confirmed")]
    pub confirmed: bool,
    #[serde(rename = "lastStep")]
    pub last_step: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMembership {
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "role")]
    pub role: StoredRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRole {
    #[serde(rename = "platformAdmin")]
    PlatformAdmin,
    #[serde(rename = "orgAdmin")]
    OrgAdmin,
    #[serde(rename = "operator")]
    Operator,
    #[serde(rename = "accountant")]
    Accountant,
    #[serde(rename = "viewer")]
    Viewer,
    #[serde(rename = "driver")]
    Driver,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUserSession {
    #[serde(rename = "idHash")]
    pub id_hash: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "lastSeenAt")]
    pub last_seen_at: DateTime<Utc>,
    #[serde(rename = "expiresAt")]
    pub expires_at: DateTime<Utc>,
    #[serde(rename = "csrfToken")]
    pub csrf_token: String,
}

impl From<Role> for StoredRole {
    fn from(r: Role) -> Self {
        match r {
            Role::PlatformAdmin => StoredRole::PlatformAdmin,
            Role::OrgAdmin => StoredRole::OrgAdmin,
            Role::Operator => StoredRole::Operator,
            Role::Accountant => StoredRole::Accountant,
            Role::Viewer => StoredRole::Viewer,
            Role::Driver => StoredRole::Driver,
        }
    }
}

impl From<StoredRole> for Role {
    fn from(r: StoredRole) -> Self {
        match r {
            StoredRole::PlatformAdmin => Role::PlatformAdmin,
            StoredRole::OrgAdmin => Role::OrgAdmin,
            StoredRole::Operator => Role::Operator,
            StoredRole::Accountant => Role::Accountant,
            StoredRole::Viewer => Role::Viewer,
            StoredRole::Driver => Role::Driver,
        }
    }
}

impl From<&User> for StoredUser {
    fn from(u: &User) -> Self {
        let User {
            id,
            email,
            name,
            language,
            password_hash,
            disabled,
            memberships,
            second_factor,
            stripe_customer,
            saved_card,
            company,
            created_at,
            updated_at,
            version,
        } = u;
        StoredUser {
            company: company.as_ref().map(|c| StoredBuyerCompany {
                legal_name: c.legal_name.clone(),
                organisation_number: c.organisation_number.to_string(),
            }),
            stripe_customer: stripe_customer.clone(),
            saved_card: saved_card.as_ref().map(|c| StoredSavedCard {
                payment_method: c.payment_method.clone(),
                brand: c.brand.clone(),
                last4: c.last4.clone(),
                exp_month: c.exp_month,
                exp_year: c.exp_year,
                saved_at: c.saved_at,
            }),
            id: id.to_string(),
            email: email.to_string(),
            name: name.clone(),
            language: match language {
                Language::Sv => StoredLanguage::Sv,
                Language::En => StoredLanguage::En,
            },
            password_hash: password_hash.clone(),
            disabled: *disabled,
            memberships: memberships
                .iter()
                .map(|Membership { org_id, role }| StoredMembership {
                    org_id: org_id.to_string(),
                    role: (*role).into(),
                })
                .collect(),
            second_factor: second_factor.as_ref().map(|f| StoredSecondFactor {
                secret: f.secret.clone(),
                confirmed: f.confirmed,
                last_step: f.last_step,
            }),
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl TryFrom<StoredUser> for User {
    type Error = DecodeError;

    fn try_from(u: StoredUser) -> Result<Self, DecodeError> {
        let StoredUser {
            id,
            email,
            name,
            language,
            password_hash,
            disabled,
            memberships,
            second_factor,
            stripe_customer,
            saved_card,
            company,
            created_at,
            updated_at,
            version,
        } = u;
        let company = company
            .map(|c| {
                Ok::<_, DecodeError>(BuyerCompany {
                    organisation_number: parse(
                        "company organisation number",
                        c.organisation_number,
                        |s| OrganisationNumber::parse(&s),
                    )?,
                    legal_name: c.legal_name,
                })
            })
            .transpose()?;
        Ok(User {
            company,
            stripe_customer,
            saved_card: saved_card.map(|c| SavedCard {
                payment_method: c.payment_method,
                brand: c.brand,
                last4: c.last4,
                exp_month: c.exp_month,
                exp_year: c.exp_year,
                saved_at: c.saved_at,
            }),
            second_factor: second_factor.map(|f| SecondFactor {
                secret: f.secret,
                confirmed: f.confirmed,
                last_step: f.last_step,
            }),
            id: parse("user id", id, UserId::parse)?,
            email: UserEmail::parse(&email)
                .map_err(|e| DecodeError::new(format!("e-mail: {e}")))?,
            name,
            language: match language {
                StoredLanguage::Sv => Language::Sv,
                StoredLanguage::En => Language::En,
            },
            password_hash,
            disabled,
            memberships: memberships
                .into_iter()
                .map(|m| {
                    Ok(Membership {
                        org_id: parse("organisation id", m.org_id, OrgId::parse)?,
                        role: m.role.into(),
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
            created_at,
            updated_at,
            version,
        })
    }
}

impl From<&UserSession> for StoredUserSession {
    fn from(s: &UserSession) -> Self {
        let UserSession {
            id_hash,
            user_id,
            created_at,
            last_seen_at,
            expires_at,
            csrf_token,
        } = s;
        StoredUserSession {
            id_hash: id_hash.clone(),
            user_id: user_id.to_string(),
            created_at: *created_at,
            last_seen_at: *last_seen_at,
            expires_at: *expires_at,
            csrf_token: csrf_token.clone(),
        }
    }
}

impl TryFrom<StoredUserSession> for UserSession {
    type Error = DecodeError;

    fn try_from(s: StoredUserSession) -> Result<Self, DecodeError> {
        let StoredUserSession {
            id_hash,
            user_id,
            created_at,
            last_seen_at,
            expires_at,
            csrf_token,
        } = s;
        Ok(UserSession {
            id_hash,
            user_id: parse("user id", user_id, UserId::parse)?,
            created_at,
            last_seen_at,
            expires_at,
            csrf_token,
        })
    }
}

impl Record for User {
    type Stored = StoredUser;
}

impl Record for UserSession {
    type Stored = StoredUserSession;
}
