//! Operator use cases over a station's life after registration: rename and
//! move it, rotate its Basic-auth password with a grace period for the old
//! one, take it out of service and back, and delete it while it has no
//! history. Each checks the caller's organisation itself: a station of
//! another one is [`RegistryError::NotFound`], like one that does not exist.

use crate::password;
use crate::registry::RegistryError;
use csms_domain::actor::Actor;
use csms_domain::session::SessionStatus;
use csms_domain::station::{PasswordChange, PreviousPassword, Station, StationChange};
use csms_domain::{SiteId, StationId, Timestamp};
use csms_kernel::ports::{
    CommandStore, ConnectionSender, PageRequest, SessionQuery, SessionStore, StationStore,
};
use rand::distributions::{Alphanumeric, DistString};

/// How long the previous password stays valid after a rotation unless the
/// operator says otherwise.
pub const DEFAULT_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The longest grace an operator may give the previous password.
pub const MAX_GRACE_HOURS: u32 = 720;
/// Length of a password the CSMS makes up (within OCPP 2.0.1's 16–40).
pub const GENERATED_LENGTH: usize = 32;

/// The caller's station `id`.
pub async fn own_station<S: StationStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
) -> Result<Station, RegistryError> {
    store
        .get_station(id)
        .await?
        .filter(|s| actor.owns(&s.org_id))
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &StationId) -> RegistryError {
    RegistryError::NotFound(format!("station {:?} not found", id.as_str()))
}

/// What the API asks to change of a station's description; `None` leaves a
/// field as it is, `Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct StationEdit {
    pub name: Option<Option<String>>,
    /// The site to move the station to (one of its organisation's).
    pub site_id: Option<Option<String>>,
}

/// Renames and moves a station. Sessions keep the site they happened at;
/// those started after the move are of the new site.
pub async fn edit_station<S: StationStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    edit: StationEdit,
) -> Result<Station, RegistryError> {
    let change = StationChange {
        name: edit.name.map(crate::registry::station_name).transpose()?,
        site_id: edit
            .site_id
            .map(|s| {
                s.map(SiteId::parse)
                    .transpose()
                    .map_err(|e| RegistryError::Invalid(format!("siteId: {e}")))
            })
            .transpose()?,
        ..Default::default()
    };
    let station = own_station(store, actor, id).await?;
    if change.is_empty() {
        return Ok(station);
    }
    store
        .update_station(id, &change)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A rotated password: the station as it is now, and the new password
/// when the CSMS made it up (shown once, never stored in clear).
#[derive(Debug)]
pub struct Rotated {
    pub station: Station,
    pub generated: Option<String>,
}

/// Gives a station a new Basic-auth password (`None`: one the CSMS makes
/// up). The one it had stays valid for `grace` so the charger can be
/// re-configured (a `SetVariables`/`ChangeConfiguration` of its password,
/// then a reconnect) without a gap; a grace of zero ends it at once.
pub async fn rotate_password<S: StationStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    new: Option<String>,
    grace: chrono::TimeDelta,
    now: Timestamp,
) -> Result<Rotated, RegistryError> {
    let (password, generated) = match new {
        Some(p) => {
            password::validate(&p).map_err(|e| RegistryError::Invalid(format!("password: {e}")))?;
            (p, false)
        }
        None => (
            Alphanumeric.sample_string(&mut rand::thread_rng(), GENERATED_LENGTH),
            true,
        ),
    };
    let station = own_station(store, actor, id).await?;
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || password::hash(&password)
    })
    .await
    .map_err(|e| RegistryError::Invalid(format!("password: {e}")))?
    .map_err(|e| RegistryError::Invalid(format!("password: {e}")))?;
    let previous = station
        .password_hash
        .clone()
        .filter(|_| grace > chrono::TimeDelta::zero())
        .and_then(|hash| {
            Some(PreviousPassword {
                hash,
                valid_until: now.checked_add_signed(grace)?,
            })
        });
    let change = StationChange {
        password: Some(PasswordChange {
            hash: Some(hash),
            previous,
        }),
        ..Default::default()
    };
    let station = store
        .update_station(id, &change)
        .await?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(station = %id, "station password rotated");
    Ok(Rotated {
        station,
        generated: generated.then_some(password),
    })
}

/// Takes a station out of service: its live connection is closed, new
/// ones are refused (403) and nothing can be sent to it; its sessions,
/// commands and events stay. Doing it again changes nothing.
pub async fn decommission<S: StationStore + ?Sized>(
    store: &S,
    sender: &dyn ConnectionSender,
    actor: &Actor,
    id: &StationId,
    now: Timestamp,
) -> Result<Station, RegistryError> {
    let station = own_station(store, actor, id).await?;
    let station = match station.decommissioned_at {
        Some(_) => station,
        None => store
            .update_station(
                id,
                &StationChange {
                    decommissioned_at: Some(Some(now)),
                    ..Default::default()
                },
            )
            .await?
            .ok_or_else(|| not_found(id))?,
    };
    disconnect(sender, &station).await;
    tracing::info!(station = %id, "station decommissioned");
    Ok(station)
}

/// Puts a decommissioned station back in service: it may connect again.
pub async fn recommission<S: StationStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
) -> Result<Station, RegistryError> {
    let station = own_station(store, actor, id).await?;
    if station.decommissioned_at.is_none() {
        return Ok(station);
    }
    let change = StationChange {
        decommissioned_at: Some(None),
        ..Default::default()
    };
    let station = store
        .update_station(id, &change)
        .await?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(station = %id, "station back in service");
    Ok(station)
}

/// Deletes a station that has no history: no session and no command. One
/// with history is refused (409): decommission it instead, so what
/// happened there stays readable. A live connection is closed first.
pub async fn delete<S: StationStore + SessionStore + CommandStore + ?Sized>(
    store: &S,
    sender: &dyn ConnectionSender,
    actor: &Actor,
    id: &StationId,
) -> Result<(), RegistryError> {
    let station = own_station(store, actor, id).await?;
    let sessions = store
        .list_sessions(&SessionQuery {
            org_id: station.org_id.clone(),
            station_id: Some(id.clone()),
            from: None,
            to: None,
            page: PageRequest::first(1),
        })
        .await?;
    let commands = store
        .list_station_commands(id, &PageRequest::first(1))
        .await?;
    if !sessions.items.is_empty() || !commands.items.is_empty() {
        let active = sessions
            .items
            .iter()
            .any(|s| s.status == SessionStatus::Active);
        return Err(RegistryError::Conflict(format!(
            "station {} has history ({}): decommission it instead, so its history stays readable",
            id,
            match (sessions.items.is_empty(), active) {
                (false, true) => "a session in progress",
                (false, false) => "sessions",
                (true, _) => "commands",
            }
        )));
    }
    disconnect(sender, &station).await;
    store.delete_station(id).await?;
    tracing::info!(station = %id, "station deleted");
    Ok(())
}

/// Closes the station's current connection, if it has one. A close that
/// fails (already gone) changes nothing: the connect check refuses the
/// next one anyway.
async fn disconnect(sender: &dyn ConnectionSender, station: &Station) {
    if let Some(cid) = &station.connection_id {
        if let Err(e) = sender.close(cid).await {
            tracing::info!(station = %station.id, error = %e, "closing the connection: already gone");
        }
    }
}

/// A grace given in hours by an operator: 0 to [`MAX_GRACE_HOURS`].
pub fn grace_hours(hours: Option<i64>) -> Result<chrono::TimeDelta, RegistryError> {
    match hours {
        None => Ok(DEFAULT_GRACE),
        Some(h) if (0..=i64::from(MAX_GRACE_HOURS)).contains(&h) => Ok(chrono::TimeDelta::hours(h)),
        Some(_) => Err(RegistryError::Invalid(format!(
            "graceHours: 0 to {MAX_GRACE_HOURS}"
        ))),
    }
}
