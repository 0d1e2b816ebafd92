//! Access modes at run time: which mode a station's EVSE is in now (its
//! schedule read in its site's time zone), whether it lets a registered
//! token charge, the refused attempts kept for the operator, and the
//! operator's use cases over the policy. Each use case checks the caller's
//! organisation itself: another organisation's station is
//! [`RegistryError::NotFound`], like one that does not exist.
//!
//! The charger service asks [`admit`] on Authorize (no EVSE: the station's
//! policy), StartTransaction and TransactionEvent `Started` (the EVSE's);
//! the command service on a remote start. Where the EVSE is known, a
//! booking that holds it now lets only the booker's id token in
//! ([`crate::booking::holding`]: one more request, a `Query` of the EVSE's
//! bookings); an Authorize names no EVSE and is not checked against
//! bookings.

use crate::lifecycle::own_station;
use crate::registry::RegistryError;
use csms_domain::access::{
    admits, mode_at, AccessAttempt, AccessMode, AccessPolicy, AccessRefusal, StationAccess,
};
use csms_domain::actor::Actor;
use csms_domain::station::Station;
use csms_domain::token::IdTokenRecord;
use csms_domain::{OrgId, SiteId, StationId, Timestamp};
use csms_kernel::ports::{
    AccessStore, BookingStore, Page, PageRequest, SiteStore, StationStore, StoreError,
};

/// The zone of a station without a site record (as tariffs).
pub const DEFAULT_ZONE: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

/// Where a token is presented: the station, its organisation and site (as
/// the connection or the station record has them), and the EVSE when the
/// message names one.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub station_id: &'a StationId,
    pub org_id: &'a OrgId,
    pub site_id: Option<&'a SiteId>,
    pub evse_id: Option<u32>,
}

/// The mode at a place now, and the policy it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeNow {
    pub mode: AccessMode,
    /// When the mode next changes (within a year); `None`: not within it.
    pub until: Option<Timestamp>,
    pub policy: AccessPolicy,
    /// Whether the EVSE has its own policy.
    pub evse_override: bool,
    pub time_zone: chrono_tz::Tz,
}

/// The station's access record, if it is of the station's organisation (a
/// record left from a deleted station whose id another organisation took
/// is not).
async fn record<S: AccessStore + ?Sized>(
    store: &S,
    station: &StationId,
    org: &OrgId,
) -> Result<Option<StationAccess>, StoreError> {
    Ok(store
        .get_station_access(station)
        .await?
        .filter(|a| &a.org_id == org))
}

/// The site's zone, only read when the schedule needs a clock.
async fn zone<S: SiteStore + ?Sized>(
    store: &S,
    site: Option<&SiteId>,
) -> Result<chrono_tz::Tz, StoreError> {
    Ok(match site {
        Some(site) => store
            .get_site(site)
            .await?
            .map_or(DEFAULT_ZONE, |s| s.time_zone),
        None => DEFAULT_ZONE,
    })
}

fn policy_at(access: Option<&StationAccess>, evse: Option<u32>) -> (AccessPolicy, bool) {
    match access {
        Some(a) => (
            a.policy_at(evse).clone(),
            evse.is_some_and(|e| a.evses.contains_key(&e)),
        ),
        None => (AccessPolicy::legacy(), false),
    }
}

fn is_constant(p: &AccessPolicy) -> bool {
    p.schedule.rules().is_empty() && p.schedule.exceptions().is_empty()
}

async fn mode_of<S: SiteStore + ?Sized>(
    store: &S,
    policy: &AccessPolicy,
    site: Option<&SiteId>,
    now: Timestamp,
) -> Result<AccessMode, StoreError> {
    if is_constant(policy) {
        return Ok(policy.schedule.default_mode());
    }
    let zone = zone(store, site).await?;
    Ok(mode_at(
        &policy.schedule,
        now.with_timezone(&zone).naive_local(),
    ))
}

/// Whether the mode at `place` lets `token` (registered, valid) charge
/// now: `Ok(mode)`, or the mode and why not. `access` is the station's
/// record as read with the token (`AccessStore::get_token_and_access`;
/// none stored: private to the organisation, as before access modes); the
/// site is read only when the schedule changes over time.
async fn check<S: SiteStore + ?Sized>(
    store: &S,
    place: Place<'_>,
    access: Option<&StationAccess>,
    token: &IdTokenRecord,
    now: Timestamp,
) -> Result<Result<AccessMode, (AccessMode, AccessRefusal)>, StoreError> {
    let access = access.filter(|a| &a.org_id == place.org_id);
    let (policy, _) = policy_at(access, place.evse_id);
    let mode = mode_of(store, &policy, place.site_id, now).await?;
    Ok(admits(mode, &policy.groups, place.org_id, token)
        .map(|()| mode)
        .map_err(|r| (mode, r)))
}

/// [`check`], and a refusal kept as an access attempt at `place` (its
/// `connector_id` and `source`, the message or command that presented the
/// token), for the operator's list.
///
/// At a known EVSE a mode that lets the token in is then asked about the
/// booking that holds the EVSE now: another token than the booker's is
/// refused ([`AccessRefusal::Booked`]); the booker's starting a transaction
/// (any `source` but `remoteStart`) marks the booking active.
pub async fn admit<S: SiteStore + AccessStore + BookingStore + ?Sized>(
    store: &S,
    place: Place<'_>,
    connector_id: Option<u32>,
    source: &str,
    access: Option<&StationAccess>,
    token: &IdTokenRecord,
    now: Timestamp,
) -> Result<Result<AccessMode, (AccessMode, AccessRefusal)>, StoreError> {
    let mut decision = check(store, place, access, token, now).await?;
    if let (Ok(mode), Some(evse)) = (decision, place.evse_id) {
        if let Some(booking) = crate::booking::holding(store, place.station_id, evse, now).await? {
            if !booking.admits(&token.token, now) {
                decision = Err((mode, AccessRefusal::Booked));
            } else if source != "remoteStart" {
                crate::booking::mark_started(store, &booking, now).await;
            }
        }
    }
    if let Err((mode, reason)) = decision {
        let attempt = AccessAttempt {
            station_id: place.station_id.clone(),
            org_id: place.org_id.clone(),
            evse_id: place.evse_id,
            connector_id,
            token: token.token.clone(),
            at: now,
            mode,
            reason,
            source: source.to_owned(),
        };
        note_refusal(store, &attempt).await;
    }
    Ok(decision)
}

/// Keeps a refused attempt; failing to keep it is logged, never the
/// answer's failure.
async fn note_refusal<S: AccessStore + ?Sized>(store: &S, attempt: &AccessAttempt) {
    if let Err(e) = store.add_access_attempt(attempt).await {
        tracing::error!(error = %e, station = %attempt.station_id, "could not keep a refused access attempt");
    }
}

/// The caller's station with its access record (`None`: none stored).
pub async fn get<S: StationStore + AccessStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
) -> Result<(Station, Option<StationAccess>), RegistryError> {
    let station = own_station(store, actor, id).await?;
    let access = record(store, id, &station.org_id).await?;
    Ok((station, access))
}

/// What a write changes: the station's policy, or one EVSE's override
/// (`None`: remove it).
#[derive(Debug, Clone)]
pub enum AccessChange {
    Station(AccessPolicy),
    Evse(u32, Option<AccessPolicy>),
}

/// Changes a station's access. `if_match`: the version the caller read (0:
/// no record yet), else `Stale`; without it the write is made on the
/// version just read, and a concurrent change is a `Conflict`.
pub async fn change<S: StationStore + AccessStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    change: AccessChange,
    if_match: Option<u64>,
    now: Timestamp,
) -> Result<StationAccess, RegistryError> {
    let (station, stored) = get(store, actor, id).await?;
    let version = stored.as_ref().map_or(0, |a| a.version);
    if let Some(expected) = if_match {
        if expected != version {
            return Err(RegistryError::Stale(format!(
                "the access of station {:?} is at version {version}, not {expected}",
                id.as_str()
            )));
        }
    }
    let mut access = stored.unwrap_or_else(|| StationAccess {
        station_id: station.id.clone(),
        org_id: station.org_id.clone(),
        policy: AccessPolicy::legacy(),
        evses: Default::default(),
        updated_at: now,
        version: 0,
    });
    match change {
        AccessChange::Station(p) => access.policy = p,
        AccessChange::Evse(evse, Some(p)) => {
            if !access.evses.contains_key(&evse) && access.evses.len() >= MAX_EVSE_OVERRIDES {
                return Err(RegistryError::Invalid(format!(
                    "evseId: at most {MAX_EVSE_OVERRIDES} EVSEs may have their own access"
                )));
            }
            access.evses.insert(evse, p);
        }
        AccessChange::Evse(evse, None) => {
            if access.evses.remove(&evse).is_none() {
                return Err(RegistryError::NotFound(format!(
                    "EVSE {evse} of station {:?} has no access of its own",
                    id.as_str()
                )));
            }
        }
    }
    access.updated_at = now;
    access.version = version + 1;
    store.put_station_access(&access, version).await?;
    Ok(access)
}

/// The most EVSEs of one station with a policy of their own.
pub const MAX_EVSE_OVERRIDES: usize = 32;

/// The mode at the caller's station (or one of its EVSEs) now, and until
/// when.
pub async fn now<S: StationStore + AccessStore + SiteStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    evse: Option<u32>,
    now: Timestamp,
) -> Result<ModeNow, RegistryError> {
    let (station, access) = get(store, actor, id).await?;
    let (policy, evse_override) = policy_at(access.as_ref(), evse);
    let time_zone = zone(store, station.site_id.as_ref()).await?;
    let mode = mode_at(
        &policy.schedule,
        now.with_timezone(&time_zone).naive_local(),
    );
    Ok(ModeNow {
        mode,
        until: policy.schedule.next_change(time_zone, now),
        policy,
        evse_override,
        time_zone,
    })
}

/// The refused attempts at the caller's station, newest first.
pub async fn attempts<S: StationStore + AccessStore + ?Sized>(
    store: &S,
    actor: &Actor,
    id: &StationId,
    page: &PageRequest,
) -> Result<Page<AccessAttempt>, RegistryError> {
    let station = own_station(store, actor, id).await?;
    let mut page = store.list_access_attempts(id, page).await?;
    // Attempts at an earlier station of the same id, of another
    // organisation, are not this one's.
    page.items.retain(|a| a.org_id == station.org_id);
    Ok(page)
}
