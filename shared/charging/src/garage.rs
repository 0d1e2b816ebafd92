//! A private garage charger used by one person (issue 17.3): the station
//! starts for that person without a card.
//!
//! The person's identity is an id token of type `EMail` whose value is
//! their normalised e-mail address and whose holder is them; binding it to
//! a station ([`set`]) makes the token if it is not there yet and keeps one
//! [`GarageIdentity`] per station. The charger side
//! ([`crate::charger`]) reads the binding when a transaction starts without
//! a card (2.0.1: no id token or `NoAuthorization`; 1.6: the free-vend
//! idTag, while no card has that value) and authorises the `EMail` token
//! like any other, so its status, validity, the access mode and a booking
//! all still apply. A charger that presents an `EMail` token itself is
//! refused: only the binding starts for it.

use crate::lifecycle::own_station;
use crate::registry::RegistryError;
use csms_domain::access::GarageIdentity;
use csms_domain::actor::Actor;
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, StationId, Timestamp};
use csms_kernel::ports::{AccessStore, StationStore, StoreError, TokenStore, UserStore};

/// What the API sets: the person and, for a 1.6 charger in free-vend mode,
/// the idTag it sends.
#[derive(Debug, Clone, Default)]
pub struct GarageInput {
    pub user_id: String,
    pub free_vend_id_tag: Option<String>,
}

fn invalid(m: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(m.into())
}

/// The caller's station's garage identity, `None` when it has none.
pub async fn get<S: StationStore + AccessStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
) -> Result<Option<GarageIdentity>, RegistryError> {
    let station = own_station(store, actor, id).await?;
    Ok(store
        .get_garage_identity(id)
        .await?
        .filter(|g| g.org_id == station.org_id))
}

/// Binds the person `input.user_id` (a member of the station's
/// organisation) to the caller's station: their `EMail` token is made if
/// it is not there, and the station's identity set (replacing another
/// person's). `if_match`: the version the caller read (0: none yet), else
/// `Stale`.
pub async fn set<S: StationStore + AccessStore + TokenStore + UserStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    input: GarageInput,
    if_match: Option<u64>,
    now: Timestamp,
) -> Result<GarageIdentity, RegistryError> {
    let user_id = UserId::parse(input.user_id.trim())
        .map_err(|_| invalid("userId: must be a person's id (usr_…)"))?;
    let free_vend = input
        .free_vend_id_tag
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.chars().count() > GarageIdentity::FREE_VEND_TAG_MAX {
                return Err(invalid(format!(
                    "freeVendIdTag: at most {} characters (an OCPP 1.6 idTag)",
                    GarageIdentity::FREE_VEND_TAG_MAX
                )));
            }
            IdTokenValue::parse(t).map_err(|e| invalid(format!("freeVendIdTag: {e}")))
        })
        .transpose()?;
    let station = own_station(store, actor, id).await?;
    let org = station.org_id.clone();
    let user = store
        .get_user(&user_id)
        .await?
        .filter(|u| u.role_in(&org).is_some())
        .ok_or_else(|| {
            invalid(format!(
                "userId: {} is not a person of this organisation",
                user_id.as_str()
            ))
        })?;
    let value = IdTokenValue::parse(user.email.as_str()).map_err(|e| {
        invalid(format!(
            "userId: the person's e-mail address cannot be an identifier ({e})"
        ))
    })?;
    if let Some(tag) = &free_vend {
        if store.get_id_token(tag).await?.is_some() {
            return Err(invalid(
                "freeVendIdTag: a registered identifier has this value; the charger's free-vend tag must be one no card has",
            ));
        }
    }
    let stored = store.get_garage_identity(id).await?;
    let version = stored.as_ref().map_or(0, |g| g.version);
    if let Some(expected) = if_match.filter(|e| *e != version) {
        return Err(RegistryError::Stale(format!(
            "the garage identity of station {:?} is at version {version}, not {expected}",
            id.as_str()
        )));
    }
    // The person's identifier: theirs already, or made now.
    match store.get_id_token(&value).await? {
        Some(t) if t.org_id == org && t.token_type == IdTokenType::EMail => {
            if t.user_id.as_ref() != Some(&user.id) {
                return Err(RegistryError::Conflict(format!(
                    "the identifier {value} is held by someone else; give it back to its person first"
                )));
            }
        }
        Some(_) => {
            return Err(RegistryError::Conflict(format!(
                "userId: {value} is an identifier already (of another kind or organisation)"
            )))
        }
        None => {
            let token = IdTokenRecord {
                token: value.clone(),
                token_type: IdTokenType::EMail,
                status: TokenStatus::Accepted,
                valid_from: None,
                valid_to: None,
                org_id: org.clone(),
                group: None,
                parent_id: None,
                emaid: None,
                payment_hold: None,
                label: Some(format!("garage: {}", station.id)),
                user_id: Some(user.id.clone()),
                block: None,
                created_at: now,
                updated_at: None,
                version: 1,
            };
            match store.create_id_token(&token).await {
                // Made meanwhile by the same call elsewhere: fine if it is
                // the same identity (read again on the next call).
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let garage = GarageIdentity {
        station_id: station.id.clone(),
        org_id: org,
        id_token: value,
        user_id: user.id,
        free_vend_id_tag: free_vend,
        updated_at: now,
        version: version + 1,
    };
    store.put_garage_identity(&garage, version).await?;
    Ok(garage)
}

/// Unbinds the caller's station (the `EMail` identifier stays, with its
/// sessions); `NotFound` when it had none.
pub async fn remove<S: StationStore + AccessStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
) -> Result<(), RegistryError> {
    if get(store, actor, id).await?.is_none() || !store.delete_garage_identity(id).await? {
        return Err(RegistryError::NotFound(format!(
            "station {:?} has no garage identity",
            id.as_str()
        )));
    }
    Ok(())
}
