//! Operator use cases: registering stations and id tokens.

use crate::password;
use csms_domain::station::{Approval, Station};
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::{IdTokenValue, OrgId, SiteId, StationId, Timestamp};
use csms_kernel::ports::{Clock, StationStore, StoreError, TokenStore};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// No such record for the caller (another organisation's is not found
    /// either).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => RegistryError::Conflict(m),
            e => RegistryError::Store(e),
        }
    }
}

/// A station as the API receives it, before validation.
#[derive(Debug, Clone, Default)]
pub struct NewStation {
    pub id: String,
    pub password: Option<String>,
    pub name: Option<String>,
    pub site_id: Option<String>,
    pub org_id: Option<OrgId>,
    /// `accepted` (the default), `pending` or `rejected`.
    pub approval: Option<String>,
}

/// The API's `approval` value, named in the error when it is none.
pub fn parse_approval(raw: &str) -> Result<Approval, RegistryError> {
    Approval::parse(raw).ok_or_else(|| {
        RegistryError::Invalid(format!(
            "approval: {raw:?} is not one of {}",
            Approval::NAMES.join(", ")
        ))
    })
}

/// A station's name as given: trimmed, empty is none, at most 200
/// characters.
pub fn station_name(name: Option<String>) -> Result<Option<String>, RegistryError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(RegistryError::Invalid(
            "name: at most 200 characters".into(),
        ));
    }
    if name
        .as_ref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(RegistryError::Invalid(
            "name: must not contain control characters".into(),
        ));
    }
    Ok(name)
}

pub async fn register_station<S: StationStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    new: NewStation,
) -> Result<Station, RegistryError> {
    let id = StationId::parse(new.id).map_err(|e| RegistryError::Invalid(format!("id: {e}")))?;
    let approval = new
        .approval
        .as_deref()
        .map(parse_approval)
        .transpose()?
        .unwrap_or_default();
    let site_id = new
        .site_id
        .map(SiteId::parse)
        .transpose()
        .map_err(|e| RegistryError::Invalid(format!("siteId: {e}")))?;
    let name = station_name(new.name)?;
    let password_hash = match new.password {
        None => None,
        Some(p) => {
            password::validate(&p).map_err(|e| RegistryError::Invalid(format!("password: {e}")))?;
            // Hashing is CPU-heavy by design; keep it off the async workers.
            Some(password::hash(&p).map_err(|e| RegistryError::Invalid(e.to_string()))?)
        }
    };
    let station = Station {
        id,
        org_id: new.org_id.unwrap_or_else(OrgId::default_org),
        site_id,
        name,
        password_hash,
        created_at: clock.now(),
        boot: None,
        ocpp_version: None,
        connection_id: None,
        last_seen_at: None,
        approval,
        previous_password: None,
        decommissioned_at: None,
    };
    store.create_station(&station).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            RegistryError::Conflict(format!("station {} already exists", station.id))
        }
        e => RegistryError::Store(e),
    })?;
    Ok(station)
}

#[derive(Debug, Clone, Default)]
pub struct NewIdToken {
    pub id_token: String,
    pub token_type: String,
    pub status: String,
    pub expires_at: Option<Timestamp>,
    pub org_id: Option<OrgId>,
    pub group: Option<String>,
}

pub async fn register_id_token<S: TokenStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    new: NewIdToken,
) -> Result<IdTokenRecord, RegistryError> {
    let token = IdTokenValue::parse(new.id_token)
        .map_err(|e| RegistryError::Invalid(format!("idToken: {e}")))?;
    let token_type = IdTokenType::parse(&new.token_type).ok_or_else(|| {
        let names: Vec<&str> = IdTokenType::ALL.iter().map(|t| t.as_str()).collect();
        RegistryError::Invalid(format!("type: must be one of {}", names.join(", ")))
    })?;
    let status = TokenStatus::parse(&new.status).ok_or_else(|| {
        RegistryError::Invalid("status: must be one of Accepted, Blocked, Expired, Invalid".into())
    })?;
    let record = IdTokenRecord {
        token,
        token_type,
        status,
        expires_at: new.expires_at,
        org_id: new.org_id.unwrap_or_else(OrgId::default_org),
        group: new.group,
        created_at: clock.now(),
    };
    store.create_id_token(&record).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            RegistryError::Conflict(format!("id token {} already exists", record.token))
        }
        e => RegistryError::Store(e),
    })?;
    Ok(record)
}
