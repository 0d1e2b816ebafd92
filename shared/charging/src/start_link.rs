//! An EVSE's start link: its charging key (made when first asked for,
//! rotated on demand), what the link resolves to, and whether the access
//! mode lets the link's caller start a charge there now.
//!
//! The operator's use cases check the caller's organisation like the other
//! station use cases (another organisation's station is `NotFound`). The
//! driver's side has no organisation to check: the key is the permission
//! to see the EVSE; the access mode at the EVSE decides who may start:
//! `public` and `semiPublic` anyone with the link (the key is what
//! semi-public means), `private` only a signed-in member of the station's
//! organisation (and, when the policy names user groups, one whose id
//! token is in one of them). A booking that holds the EVSE now lets only
//! the booker's id token in. Refusals are kept as access attempts with the
//! source `startLink`, like a charger's.

use crate::access::DEFAULT_ZONE;
use crate::lifecycle::own_station;
use crate::registry::RegistryError;
use csms_domain::access::{admits, AccessAttempt, AccessMode, AccessRefusal};
use csms_domain::actor::Actor;
use csms_domain::charging_key::{
    one_off_token, ChargingKey, EvseChargingKey, KEY_BYTES, ONE_OFF_BYTES, ONE_OFF_VALIDITY,
};
use csms_domain::station::StationView;
use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
use csms_domain::user::User;
use csms_domain::{IdTokenValue, OrgId, StationId, Timestamp};
use csms_kernel::ports::{
    AccessStore, BookingStore, ChargingKeyStore, SiteStore, StationStore, StoreError,
};
use rand::RngCore;

/// The source access attempts refused at the start link carry.
pub const SOURCE: &str = "startLink";

/// A fresh key from the operating system's random source.
fn fresh_key() -> ChargingKey {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    ChargingKey::from_random(bytes)
}

/// The EVSE's key, if it is the station's (a key left from a deleted
/// station whose id another organisation took is not).
async fn current<S: ChargingKeyStore + ?Sized>(
    store: &S,
    station: &StationId,
    org: &OrgId,
    evse: u32,
) -> Result<(Option<EvseChargingKey>, Option<ChargingKey>), StoreError> {
    let stored = store.get_evse_charging_key(station, evse).await?;
    let replaces = stored.as_ref().map(|k| k.key.clone());
    Ok((stored.filter(|k| &k.org_id == org), replaces))
}

/// The charging key of EVSE `evse` of the caller's station, made now if it
/// has none. Two first requests at once agree on one key (the loser reads
/// the winner's).
pub async fn key_of<S: StationStore + ChargingKeyStore + ?Sized>(
    store: &S,
    actor: &Actor,
    station: &StationId,
    evse: u32,
    now: Timestamp,
) -> Result<EvseChargingKey, RegistryError> {
    let s = own_station(store, actor, station).await?;
    for _ in 0..3 {
        let (own, replaces) = current(store, station, &s.org_id, evse).await?;
        if let Some(k) = own {
            return Ok(k);
        }
        let new = EvseChargingKey {
            key: fresh_key(),
            station_id: s.id.clone(),
            org_id: s.org_id.clone(),
            evse_id: evse,
            created_at: now,
        };
        match store.put_charging_key(&new, replaces.as_ref()).await {
            Ok(()) => return Ok(new),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RegistryError::Conflict(format!(
        "the charging key of EVSE {evse} of station {station} is being changed; try again"
    )))
}

/// Gives EVSE `evse` of the caller's station a new key: links and QR codes
/// with the old one stop working at once.
pub async fn rotate<S: StationStore + ChargingKeyStore + ?Sized>(
    store: &S,
    actor: &Actor,
    station: &StationId,
    evse: u32,
    now: Timestamp,
) -> Result<EvseChargingKey, RegistryError> {
    let s = own_station(store, actor, station).await?;
    let (_, replaces) = current(store, station, &s.org_id, evse).await?;
    let new = EvseChargingKey {
        key: fresh_key(),
        station_id: s.id.clone(),
        org_id: s.org_id.clone(),
        evse_id: evse,
        created_at: now,
    };
    match store.put_charging_key(&new, replaces.as_ref()).await {
        Ok(()) => Ok(new),
        Err(StoreError::Conflict(_)) => Err(RegistryError::Conflict(format!(
            "the charging key of EVSE {evse} of station {station} was changed at the same moment; \
             read it again"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// What a start link resolves to: its key's record and the station with
/// its statuses and connection. `None`: no such key (never made, or
/// rotated away), or its station is gone or now another organisation's.
pub async fn resolve<S: StationStore + ChargingKeyStore + ?Sized>(
    store: &S,
    key: &ChargingKey,
) -> Result<Option<(EvseChargingKey, StationView)>, StoreError> {
    let Some(k) = store.get_charging_key(key).await? else {
        return Ok(None);
    };
    let view = store
        .get_station_view(&k.station_id)
        .await?
        .filter(|v| v.station.org_id == k.org_id);
    Ok(view.map(|v| (k, v)))
}

/// A central one-off identity for a start through the link, in the
/// station's organisation, valid for [`ONE_OFF_VALIDITY`]: the charger's
/// Authorize and start of the remote-started transaction find it like any
/// registered token. `user`: the signed-in driver who holds no card, whose
/// session it then is.
pub fn one_off_identity(k: &EvseChargingKey, user: Option<&User>, now: Timestamp) -> IdTokenRecord {
    let mut bytes = [0u8; ONE_OFF_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    IdTokenRecord {
        token: one_off_token(bytes),
        token_type: IdTokenType::Central,
        status: TokenStatus::Accepted,
        valid_from: None,
        valid_to: Some(now + ONE_OFF_VALIDITY),
        org_id: k.org_id.clone(),
        group: None,
        parent_id: None,
        emaid: None,
        payment_hold: None,
        label: Some(format!(
            "start link of EVSE {} of station {}",
            k.evse_id, k.station_id
        )),
        user_id: user.map(|u| u.id.clone()),
        block: None,
        created_at: now,
        updated_at: None,
        version: 1,
    }
}

/// Whether a start through the link may go ahead now.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The access mode at the EVSE now.
    pub mode: AccessMode,
    /// When it next changes (within a year).
    pub until: Option<Timestamp>,
    /// Whether a booking holds the EVSE now (for anyone).
    pub booked: bool,
    /// `None`: the start may go ahead.
    pub refusal: Option<AccessRefusal>,
}

/// Whether `caller` (`None`: not signed in) may start a charge at the
/// link's EVSE now with `token` (theirs, or the one-off identity the start
/// would make). An offline or decommissioned station refuses
/// ([`AccessRefusal::Unavailable`]), and so does an EVSE a car is charging
/// at ([`AccessRefusal::Occupied`], from its connectors' statuses). Reads only; [`refused`] keeps a
/// refusal.
pub async fn decide<S: SiteStore + AccessStore + BookingStore + ?Sized>(
    store: &S,
    k: &EvseChargingKey,
    view: &StationView,
    caller: Option<&User>,
    token: &IdTokenRecord,
    now: Timestamp,
) -> Result<Decision, StoreError> {
    let station = &view.station;
    let access = store
        .get_station_access(&station.id)
        .await?
        .filter(|a| a.org_id == station.org_id);
    let policy = access
        .as_ref()
        .map_or_else(csms_domain::access::AccessPolicy::legacy, |a| {
            a.policy_at(Some(k.evse_id)).clone()
        });
    let zone = match &station.site_id {
        Some(site) => store
            .get_site(site)
            .await?
            .map_or(DEFAULT_ZONE, |s| s.time_zone),
        None => DEFAULT_ZONE,
    };
    let mode =
        csms_domain::access::mode_at(&policy.schedule, now.with_timezone(&zone).naive_local());
    let until = policy.schedule.next_change(zone, now);
    let holding = crate::booking::holding(store, &station.id, k.evse_id, now).await?;
    let refusal = if station.is_decommissioned() || !view.connected(now) {
        Some(AccessRefusal::Unavailable)
    } else if view.evse_in_use(k.evse_id) {
        Some(AccessRefusal::Occupied)
    } else if mode == AccessMode::Private && caller.is_none() {
        Some(AccessRefusal::SignInRequired)
    } else if mode == AccessMode::Private
        && caller.is_none_or(|u| u.role_in(&station.org_id).is_none())
    {
        Some(AccessRefusal::OtherOrganisation)
    } else if let Err(r) = admits(mode, &policy.groups, &station.org_id, token) {
        Some(r)
    } else if holding
        .as_ref()
        .is_some_and(|b| !b.admits(&token.token, now))
    {
        Some(AccessRefusal::Booked)
    } else {
        None
    };
    Ok(Decision {
        mode,
        until,
        booked: holding.is_some(),
        refusal,
    })
}

/// Keeps a refusal at the start link as an access attempt (source
/// [`SOURCE`]); failing to keep it is logged, never the answer's failure.
pub async fn refused<S: AccessStore + ?Sized>(
    store: &S,
    k: &EvseChargingKey,
    token: &IdTokenValue,
    mode: AccessMode,
    reason: AccessRefusal,
    now: Timestamp,
) {
    let attempt = AccessAttempt {
        station_id: k.station_id.clone(),
        org_id: k.org_id.clone(),
        evse_id: Some(k.evse_id),
        connector_id: None,
        token: token.clone(),
        at: now,
        mode,
        reason,
        source: SOURCE.to_owned(),
    };
    if let Err(e) = store.add_access_attempt(&attempt).await {
        tracing::error!(error = %e, station = %k.station_id, "could not keep a refused start-link attempt");
    }
}
