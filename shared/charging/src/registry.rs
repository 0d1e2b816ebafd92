//! Operator use cases: registering stations and id tokens.

use crate::password;
use csms_domain::station::{Approval, Station};
use csms_domain::{OrgId, SiteId, StationId};
use csms_kernel::ports::{Clock, StationStore, StoreError};

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
    /// The caller's expected version (`If-Match`) is not the stored one.
    #[error("{0}")]
    Stale(String),
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
        recent_connects: Vec::new(),
        recent_addresses: Vec::new(),
    };
    store.create_station(&station).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            RegistryError::Conflict(format!("station {} already exists", station.id))
        }
        e => RegistryError::Store(e),
    })?;
    Ok(station)
}

// Id tokens: see [`crate::laddid`].
pub use crate::laddid::{register_id_token, NewIdToken};
