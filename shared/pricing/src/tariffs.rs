//! Tariffs and their assignments: the rules of their life cycle, whatever
//! asks (the HTTP API today).
//!
//! - Every change is a new version (an update and the deletion alike), in
//!   force from now but never before the version it follows; old versions
//!   stay readable, and a session is priced with the version in force when it
//!   started. A change may name the version it is based on and is refused
//!   when the tariff has moved on; a change that loses a concurrent write is
//!   refused too, never merged.
//! - A deleted tariff is a last version marked deleted: it leaves the list,
//!   can be neither changed nor assigned, and prices no session that starts
//!   afterwards. A tariff still assigned is not deleted.
//! - One tariff per target and group: a new assignment replaces the older
//!   ones for the same target and group. A station target must be a station
//!   of the organisation.
//!
//! Where a request carries parts that are read in steps (`If-Match`, the
//! body, an assignment's target), the service takes them as closures and
//! reads each only when the rules before it have passed, so a request with
//! several faults is answered with the first of them in a fixed order.

use csms_domain::tariff::{
    validate_group, AssignmentTarget, Tariff, TariffAssignment, TariffElement,
};
use csms_domain::{OrgId, StationId, Timestamp};
use csms_kernel::ports::{Clock, Page, PageRequest, StationStore, StoreError, TariffStore};
use rust_decimal::Decimal;
use std::sync::Arc;

/// How many times a deletion reads the tariff again after losing a write to
/// a concurrent change before it gives up.
const DELETE_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum TariffServiceError {
    /// No tariff with this id in the organisation.
    #[error("tariff {0:?} not found")]
    NotFound(String),
    /// A change of a deleted tariff.
    #[error("tariff {0} was deleted")]
    Deleted(String),
    /// The change is based on a version that is no longer the latest.
    #[error("tariff {id} is at version {latest}, not {based_on}")]
    Stale {
        id: String,
        latest: u64,
        based_on: u64,
    },
    /// The tariff would not be valid.
    #[error(transparent)]
    Invalid(#[from] csms_domain::tariff::TariffError),
    /// A concurrent change was written first.
    #[error("tariff {0} was changed meanwhile")]
    ChangedMeanwhile(String),
    /// The deletion kept losing to concurrent changes.
    #[error("tariff {0} kept changing")]
    KeptChanging(String),
    /// A deletion of a tariff that these assignments still point to.
    #[error("tariff {id} is still assigned")]
    StillAssigned {
        id: String,
        assignments: Vec<TariffAssignment>,
    },
    /// The tariff an assignment names is not one of the organisation's.
    #[error("assigned tariff {0:?} not found")]
    AssignedNotFound(String),
    /// The tariff an assignment names is deleted.
    #[error("assigned tariff {0} is deleted")]
    AssignedDeleted(String),
    /// The tariff was deleted while it was being assigned (the assignment is undone).
    #[error("tariff {0} was deleted meanwhile")]
    DeletedMeanwhile(String),
    /// A station target that is not a station of the organisation.
    #[error("station {0} is not registered")]
    StationNotRegistered(StationId),
    #[error("invalid group: {0}")]
    InvalidGroup(String),
    #[error("tariff assignment {0:?} not found")]
    AssignmentNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = TariffServiceError> = std::result::Result<T, E>;

/// What a tariff says, as a caller gives it; the service adds its identity
/// and history.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffContent {
    pub name: String,
    pub currency: String,
    pub vat_rate: Decimal,
    /// `None`: the site's zone at pricing time.
    pub time_zone: Option<String>,
    pub elements: Vec<TariffElement>,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
}

impl TariffContent {
    /// `base` with this content, checked.
    fn onto(self, base: Tariff) -> Result<Tariff> {
        let t = Tariff {
            name: self.name,
            currency: self.currency,
            vat_rate: self.vat_rate,
            time_zone: self.time_zone,
            elements: self.elements,
            min_price: self.min_price,
            max_price: self.max_price,
            ..base
        };
        t.validate()?;
        Ok(t)
    }
}

/// A new assignment and the older ones it replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub assignment: TariffAssignment,
    pub replaced: Vec<String>,
}

pub struct TariffService<S: ?Sized> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<S: ?Sized> Clone for TariffService<S> {
    fn clone(&self) -> Self {
        TariffService {
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// Ids this CSMS hands out are short and plain; anything else cannot exist,
/// and never reaches the store (whose keys have limits of their own).
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl<S: TariffStore + StationStore + ?Sized> TariffService<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        TariffService { store, clock }
    }

    /// The latest version of one of the organisation's tariffs (deleted ones too).
    pub async fn tariff(&self, org: &OrgId, id: &str) -> Result<Tariff> {
        let not_found = || TariffServiceError::NotFound(id.to_owned());
        if !plausible_id(id) {
            return Err(not_found());
        }
        self.store
            .get_tariff(id)
            .await?
            .filter(|t| &t.org_id == org)
            .ok_or_else(not_found)
    }

    /// Every version of one of the organisation's tariffs, oldest first.
    pub async fn versions(&self, org: &OrgId, id: &str) -> Result<Vec<Tariff>> {
        let t = self.tariff(org, id).await?;
        Ok(self.store.tariff_versions(&t.id).await?)
    }

    /// The organisation's live tariffs (latest versions), by id.
    pub async fn list(&self, org: &OrgId, page: &PageRequest) -> Result<Page<Tariff>> {
        Ok(self.store.list_tariffs(org, page).await?)
    }

    /// Version 1 of a new tariff, in force from now.
    pub async fn create(&self, org: &OrgId, content: TariffContent) -> Result<Tariff> {
        let now = self.clock.now();
        let tariff = content.onto(Tariff {
            id: format!("trf_{}", ulid::Ulid::new()),
            org_id: org.clone(),
            name: String::new(),
            currency: String::new(),
            vat_rate: Decimal::ZERO,
            time_zone: None,
            elements: Vec::new(),
            min_price: None,
            max_price: None,
            version: 1,
            effective_at: now,
            created_at: now,
            deleted_at: None,
        })?;
        self.store.put_tariff(&tariff, 0).await?;
        Ok(tariff)
    }

    /// Stores version n+1 with `content`, in force from now: sessions are
    /// priced with the version in force when they started, so an update
    /// never changes the price of a session already running. `based_on`
    /// (the version the change was made to; `None`: whatever is latest) is
    /// read once the tariff is known to be live, `content` once the change
    /// is known to apply to the latest version.
    pub async fn update<E: From<TariffServiceError>>(
        &self,
        org: &OrgId,
        id: &str,
        based_on: impl FnOnce() -> Result<Option<u64>, E>,
        content: impl FnOnce() -> Result<TariffContent, E>,
    ) -> Result<Tariff, E> {
        let current = self.tariff(org, id).await?;
        if current.deleted_at.is_some() {
            return Err(TariffServiceError::Deleted(id.to_owned()).into());
        }
        if let Some(v) = based_on()? {
            if v != current.version {
                return Err(TariffServiceError::Stale {
                    id: id.to_owned(),
                    latest: current.version,
                    based_on: v,
                }
                .into());
            }
        }
        let next = content()?.onto(Tariff {
            version: current.version + 1,
            effective_at: self.effective_after(&current),
            deleted_at: None,
            ..current.clone()
        })?;
        match self.store.put_tariff(&next, current.version).await {
            Ok(()) => Ok(next),
            Err(StoreError::Conflict(_)) => {
                Err(TariffServiceError::ChangedMeanwhile(id.to_owned()).into())
            }
            Err(e) => Err(TariffServiceError::from(e).into()),
        }
    }

    /// Writes a last version marked deleted: the tariff leaves the list,
    /// prices no session that starts from now on, and its versions stay
    /// readable. Refused while assignments point to it; done already when
    /// it was deleted before.
    pub async fn delete(&self, org: &OrgId, id: &str) -> Result<()> {
        for _ in 0..DELETE_ATTEMPTS {
            let current = self.tariff(org, id).await?;
            if current.deleted_at.is_some() {
                return Ok(());
            }
            let assignments: Vec<TariffAssignment> = self
                .store
                .list_assignments(org)
                .await?
                .into_iter()
                .filter(|a| a.tariff_id == current.id)
                .collect();
            if !assignments.is_empty() {
                return Err(TariffServiceError::StillAssigned {
                    id: id.to_owned(),
                    assignments,
                });
            }
            let now = self.effective_after(&current);
            let gone = Tariff {
                version: current.version + 1,
                effective_at: now,
                deleted_at: Some(now),
                ..current.clone()
            };
            match self.store.put_tariff(&gone, current.version).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TariffServiceError::KeptChanging(id.to_owned()))
    }

    /// Assigns the live tariff `tariff_id` to a target, for `group` or (no
    /// group) everyone, replacing the older assignments for the same target
    /// and group. `target` is read once the tariff is known to be live.
    pub async fn assign<E: From<TariffServiceError>>(
        &self,
        org: &OrgId,
        tariff_id: &str,
        target: impl FnOnce() -> Result<AssignmentTarget, E>,
        group: Option<String>,
    ) -> Result<Assigned, E> {
        let tariff = self.tariff(org, tariff_id).await.map_err(|e| match e {
            TariffServiceError::NotFound(id) => TariffServiceError::AssignedNotFound(id),
            e => e,
        })?;
        if tariff.deleted_at.is_some() {
            return Err(TariffServiceError::AssignedDeleted(tariff_id.to_owned()).into());
        }
        Ok(self.assign_live(org, &tariff, target()?, group).await?)
    }

    async fn assign_live(
        &self,
        org: &OrgId,
        tariff: &Tariff,
        target: AssignmentTarget,
        group: Option<String>,
    ) -> Result<Assigned> {
        if let AssignmentTarget::Station(sid) = &target {
            let station = self.store.get_station(sid).await?;
            if station.is_none_or(|s| &s.org_id != org) {
                return Err(TariffServiceError::StationNotRegistered(sid.clone()));
            }
        }
        if let Some(g) = &group {
            validate_group(g).map_err(TariffServiceError::InvalidGroup)?;
        }
        let assignment = TariffAssignment {
            id: format!("ast_{}", ulid::Ulid::new()),
            org_id: org.clone(),
            tariff_id: tariff.id.clone(),
            target,
            group,
            created_at: self.clock.now(),
        };
        self.store.create_assignment(&assignment).await?;
        // Replace what this one supersedes: only older ones (by creation, then
        // id, the order resolution uses), so two concurrent assignments for one
        // target and group leave the newer, never neither.
        let newer = |a: &TariffAssignment, b: &TariffAssignment| {
            (a.created_at, &a.id) > (b.created_at, &b.id)
        };
        let mut replaced = Vec::new();
        for old in self.store.list_assignments(org).await? {
            if old.id != assignment.id
                && old.target == assignment.target
                && old.group == assignment.group
                && newer(&assignment, &old)
            {
                self.store.delete_assignment(&old.id).await?;
                replaced.push(old.id);
            }
        }
        // A deletion of the tariff may have passed its check meanwhile.
        if self
            .store
            .get_tariff(&tariff.id)
            .await?
            .is_none_or(|t| t.deleted_at.is_some())
        {
            self.store.delete_assignment(&assignment.id).await?;
            return Err(TariffServiceError::DeletedMeanwhile(tariff.id.clone()));
        }
        Ok(Assigned {
            assignment,
            replaced,
        })
    }

    /// The organisation's assignments, oldest first; of one tariff when given.
    pub async fn assignments(
        &self,
        org: &OrgId,
        tariff: Option<&str>,
    ) -> Result<Vec<TariffAssignment>> {
        let mut all = self.store.list_assignments(org).await?;
        all.retain(|a| tariff.is_none_or(|t| a.tariff_id == t));
        Ok(all)
    }

    /// Removes one of the organisation's assignments.
    pub async fn unassign(&self, org: &OrgId, id: &str) -> Result<()> {
        let not_found = || TariffServiceError::AssignmentNotFound(id.to_owned());
        if !plausible_id(id) {
            return Err(not_found());
        }
        self.store
            .get_assignment(id)
            .await?
            .filter(|a| &a.org_id == org)
            .ok_or_else(not_found)?;
        if self.store.delete_assignment(id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// A new version never comes into force before the one it follows.
    fn effective_after(&self, current: &Tariff) -> Timestamp {
        self.clock.now().max(current.effective_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use csms_domain::station::{Approval, BootInfo, ConnectorStatus, Station, StationView};
    use csms_domain::tariff::{EnergyPrice, PriceComponent, Restrictions};
    use csms_domain::SiteId;
    use csms_kernel::ports::{StationEvent, StoreResult};
    use std::collections::HashMap;
    use std::sync::Mutex;

    // ------------------------------------------------------------------ fakes

    /// Tariffs with every version, assignments oldest first, stations.
    #[derive(Default)]
    struct MemStore {
        tariffs: Mutex<HashMap<String, Vec<Tariff>>>,
        assignments: Mutex<Vec<TariffAssignment>>,
        stations: Mutex<Vec<Station>>,
        /// The next this many tariff writes lose to a concurrent one.
        lose_writes: Mutex<usize>,
        /// A concurrent deletion of the tariff passes its check while the
        /// next assignment is being created.
        delete_while_assigning: Mutex<bool>,
    }

    #[async_trait]
    impl TariffStore for MemStore {
        async fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> StoreResult<()> {
            let mut lose = self.lose_writes.lock().unwrap();
            if *lose > 0 {
                *lose -= 1;
                return Err(StoreError::Conflict(format!("tariff {}", tariff.id)));
            }
            let mut all = self.tariffs.lock().unwrap();
            let versions = all.entry(tariff.id.clone()).or_default();
            if versions.last().map_or(0, |t| t.version) != expected_version {
                return Err(StoreError::Conflict(format!("tariff {}", tariff.id)));
            }
            versions.push(tariff.clone());
            Ok(())
        }
        async fn get_tariff(&self, id: &str) -> StoreResult<Option<Tariff>> {
            let all = self.tariffs.lock().unwrap();
            Ok(all.get(id).and_then(|v| v.last()).cloned())
        }
        async fn tariff_versions(&self, id: &str) -> StoreResult<Vec<Tariff>> {
            Ok(self
                .tariffs
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .unwrap_or_default())
        }
        async fn list_tariffs(&self, _: &OrgId, _: &PageRequest) -> StoreResult<Page<Tariff>> {
            unimplemented!()
        }
        async fn create_assignment(&self, a: &TariffAssignment) -> StoreResult<()> {
            if std::mem::take(&mut *self.delete_while_assigning.lock().unwrap()) {
                let mut all = self.tariffs.lock().unwrap();
                let versions = all.get_mut(&a.tariff_id).unwrap();
                let last = versions.last().unwrap().clone();
                versions.push(Tariff {
                    version: last.version + 1,
                    deleted_at: Some(last.effective_at),
                    ..last
                });
            }
            self.assignments.lock().unwrap().push(a.clone());
            Ok(())
        }
        async fn get_assignment(&self, id: &str) -> StoreResult<Option<TariffAssignment>> {
            let all = self.assignments.lock().unwrap();
            Ok(all.iter().find(|a| a.id == id).cloned())
        }
        async fn delete_assignment(&self, id: &str) -> StoreResult<bool> {
            let mut all = self.assignments.lock().unwrap();
            let before = all.len();
            all.retain(|a| a.id != id);
            Ok(all.len() < before)
        }
        async fn list_assignments(&self, org: &OrgId) -> StoreResult<Vec<TariffAssignment>> {
            let all = self.assignments.lock().unwrap();
            Ok(all.iter().filter(|a| &a.org_id == org).cloned().collect())
        }
    }

    #[async_trait]
    impl StationStore for MemStore {
        async fn create_station(&self, _: &Station) -> StoreResult<()> {
            unimplemented!()
        }
        async fn get_station(&self, id: &StationId) -> StoreResult<Option<Station>> {
            let all = self.stations.lock().unwrap();
            Ok(all.iter().find(|s| &s.id == id).cloned())
        }
        async fn get_station_view(&self, _: &StationId) -> StoreResult<Option<StationView>> {
            unimplemented!()
        }
        async fn update_station(
            &self,
            _: &StationId,
            _: &csms_domain::station::StationChange,
        ) -> StoreResult<Option<Station>> {
            unimplemented!()
        }
        async fn delete_station(&self, _: &StationId) -> StoreResult<()> {
            unimplemented!()
        }
        async fn list_stations(
            &self,
            _: &OrgId,
            _: &PageRequest,
        ) -> StoreResult<Page<StationView>> {
            unimplemented!()
        }
        async fn record_boot(&self, _: &StationId, _: &BootInfo) -> StoreResult<()> {
            unimplemented!()
        }
        async fn set_station_approval(
            &self,
            _: &StationId,
            _: Approval,
        ) -> StoreResult<Option<Station>> {
            unimplemented!()
        }
        async fn set_connector_status(
            &self,
            _: &csms_domain::OrgId,
            _: &StationId,
            _: &ConnectorStatus,
        ) -> StoreResult<csms_kernel::ports::StatusWrite> {
            unimplemented!()
        }
        async fn append_station_event(&self, _: &StationEvent) -> StoreResult<()> {
            unimplemented!()
        }
        async fn list_station_events(
            &self,
            _: &StationId,
            _: &PageRequest,
        ) -> StoreResult<Page<StationEvent>> {
            unimplemented!()
        }
    }

    struct TestClock(Mutex<Timestamp>);
    impl Clock for TestClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().unwrap()
        }
    }

    // ------------------------------------------------------------------ helpers

    struct Rig {
        store: Arc<MemStore>,
        clock: Arc<TestClock>,
        service: TariffService<MemStore>,
    }

    impl Rig {
        fn new() -> Self {
            let store = Arc::new(MemStore::default());
            let clock = Arc::new(TestClock(Mutex::new(at("2026-03-01T10:00:00Z"))));
            let service = TariffService::new(store.clone(), clock.clone());
            Rig {
                store,
                clock,
                service,
            }
        }
        fn set_now(&self, t: &str) {
            *self.clock.0.lock().unwrap() = at(t);
        }
        fn station(&self, id: &str, org: &OrgId) {
            self.store.stations.lock().unwrap().push(Station {
                id: StationId::parse(id).unwrap(),
                org_id: org.clone(),
                site_id: None,
                name: None,
                password_hash: None,
                created_at: self.clock.now(),
                boot: None,
                ocpp_version: None,
                connection_id: None,
                last_seen_at: None,
                approval: Approval::default(),
                previous_password: None,
                decommissioned_at: None,
                recent_connects: Vec::new(),
                recent_addresses: Vec::new(),
            });
        }
        async fn update(&self, id: &str, based_on: Option<u64>, name: &str) -> Result<Tariff> {
            self.service
                .update(&org(), id, || Ok(based_on), || Ok(content(name)))
                .await
        }
        async fn assign(
            &self,
            tariff: &str,
            target: AssignmentTarget,
            group: Option<&str>,
        ) -> Result<Assigned> {
            self.service
                .assign(&org(), tariff, || Ok(target), group.map(str::to_owned))
                .await
        }
    }

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    fn org() -> OrgId {
        OrgId::default_org()
    }

    fn other_org() -> OrgId {
        OrgId::parse("other").unwrap()
    }

    fn content(name: &str) -> TariffContent {
        TariffContent {
            name: name.to_owned(),
            currency: "SEK".into(),
            vat_rate: Decimal::new(25, 2),
            time_zone: Some("Europe/Stockholm".into()),
            elements: vec![TariffElement {
                components: vec![PriceComponent::Energy {
                    price: EnergyPrice::Fixed {
                        per_kwh: Decimal::new(250, 2),
                    },
                }],
                restrictions: Restrictions::default(),
            }],
            min_price: None,
            max_price: None,
        }
    }

    fn station_target(id: &str) -> AssignmentTarget {
        AssignmentTarget::Station(StationId::parse(id).unwrap())
    }

    fn site_target(id: &str) -> AssignmentTarget {
        AssignmentTarget::Site(SiteId::parse(id).unwrap())
    }

    /// A request part that must not be read.
    fn unread<T>() -> Result<T> {
        panic!("read a part of the request the rules had already refused")
    }

    // ------------------------------------------------------------------ versions

    #[tokio::test]
    async fn an_update_is_the_next_version_in_force_from_now_and_the_earlier_ones_stay_readable() {
        let r = Rig::new();
        let v1 = r.service.create(&org(), content("A")).await.unwrap();
        assert_eq!(
            (v1.version, v1.effective_at, v1.created_at),
            (1, r.clock.now(), r.clock.now())
        );
        assert!(v1.id.starts_with("trf_"));

        r.set_now("2026-03-02T08:00:00Z");
        let v2 = r.update(&v1.id, Some(1), "B").await.unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(v2.name, "B");
        assert_eq!(v2.effective_at, at("2026-03-02T08:00:00Z"));
        assert_eq!(v2.created_at, v1.created_at, "the history keeps its start");

        let versions = r.service.versions(&org(), &v1.id).await.unwrap();
        assert_eq!(versions, vec![v1.clone(), v2.clone()]);
        assert_eq!(r.service.tariff(&org(), &v1.id).await.unwrap(), v2);
    }

    #[tokio::test]
    async fn a_version_never_comes_into_force_before_the_one_it_follows() {
        let r = Rig::new();
        let v1 = r.service.create(&org(), content("A")).await.unwrap();
        r.set_now("2026-02-28T00:00:00Z"); // the clock went back
        let v2 = r.update(&v1.id, None, "B").await.unwrap();
        assert_eq!(v2.effective_at, v1.effective_at);
    }

    #[tokio::test]
    async fn an_update_based_on_an_older_version_is_refused_before_its_content_is_read() {
        let r = Rig::new();
        let v1 = r.service.create(&org(), content("A")).await.unwrap();
        r.update(&v1.id, None, "B").await.unwrap();
        let e = r
            .service
            .update(&org(), &v1.id, || Ok(Some(1)), unread)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                TariffServiceError::Stale {
                    latest: 2,
                    based_on: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(r.store.tariff_versions(&v1.id).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_unknown_or_deleted_tariff_is_refused_before_anything_of_the_request_is_read() {
        let r = Rig::new();
        let e = r
            .service
            .update(&org(), "trf_nope", unread, unread)
            .await
            .unwrap_err();
        assert!(matches!(e, TariffServiceError::NotFound(_)), "{e:?}");
        let e = r
            .service
            .update(&org(), "not a / plausible id", unread, unread)
            .await
            .unwrap_err();
        assert!(matches!(e, TariffServiceError::NotFound(_)), "{e:?}");

        let t = r.service.create(&org(), content("A")).await.unwrap();
        let e = r
            .service
            .update(&other_org(), &t.id, unread, unread)
            .await
            .unwrap_err();
        assert!(
            matches!(e, TariffServiceError::NotFound(_)),
            "another organisation's: {e:?}"
        );

        r.service.delete(&org(), &t.id).await.unwrap();
        let e = r
            .service
            .update(&org(), &t.id, unread, unread)
            .await
            .unwrap_err();
        assert!(matches!(e, TariffServiceError::Deleted(_)), "{e:?}");
    }

    #[tokio::test]
    async fn an_invalid_tariff_is_refused_and_nothing_is_stored() {
        let r = Rig::new();
        let e = r.service.create(&org(), content(" ")).await.unwrap_err();
        assert!(matches!(e, TariffServiceError::Invalid(_)), "{e:?}");
        assert!(r.store.tariffs.lock().unwrap().is_empty());

        let t = r.service.create(&org(), content("A")).await.unwrap();
        let e = r.update(&t.id, None, "").await.unwrap_err();
        assert!(matches!(e, TariffServiceError::Invalid(_)), "{e:?}");
        assert_eq!(r.store.tariff_versions(&t.id).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_update_that_loses_to_a_concurrent_write_is_refused_not_merged() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        *r.store.lose_writes.lock().unwrap() = 1;
        let e = r.update(&t.id, None, "B").await.unwrap_err();
        assert!(
            matches!(e, TariffServiceError::ChangedMeanwhile(_)),
            "{e:?}"
        );
        assert_eq!(r.service.tariff(&org(), &t.id).await.unwrap().name, "A");
    }

    // ------------------------------------------------------------------ deletion

    #[tokio::test]
    async fn a_tariff_still_assigned_is_not_deleted_and_the_refusal_names_its_assignments() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        let other = r.service.create(&org(), content("B")).await.unwrap();
        let a = r.assign(&t.id, site_target("north"), None).await.unwrap();
        r.assign(&other.id, site_target("south"), None)
            .await
            .unwrap();

        let e = r.service.delete(&org(), &t.id).await.unwrap_err();
        match e {
            TariffServiceError::StillAssigned { assignments, .. } => {
                assert_eq!(assignments, vec![a.assignment.clone()], "only its own")
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(r.service.tariff(&org(), &t.id).await.unwrap().version, 1);

        r.service.unassign(&org(), &a.assignment.id).await.unwrap();
        r.service.delete(&org(), &t.id).await.unwrap();
    }

    #[tokio::test]
    async fn deletion_is_a_last_version_marked_deleted_and_deleting_again_changes_nothing() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        r.set_now("2026-03-05T12:00:00Z");
        r.service.delete(&org(), &t.id).await.unwrap();
        r.service.delete(&org(), &t.id).await.unwrap();

        let versions = r.service.versions(&org(), &t.id).await.unwrap();
        assert_eq!(versions.len(), 2, "{versions:?}");
        let gone = &versions[1];
        assert_eq!((gone.version, gone.name.as_str()), (2, "A"));
        assert_eq!(gone.deleted_at, Some(at("2026-03-05T12:00:00Z")));
        assert_eq!(gone.effective_at, at("2026-03-05T12:00:00Z"));
    }

    #[tokio::test]
    async fn a_deletion_reads_the_tariff_again_after_losing_a_write_and_gives_up_after_five() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        *r.store.lose_writes.lock().unwrap() = 4;
        r.service.delete(&org(), &t.id).await.unwrap();

        let u = r.service.create(&org(), content("B")).await.unwrap();
        *r.store.lose_writes.lock().unwrap() = 5;
        let e = r.service.delete(&org(), &u.id).await.unwrap_err();
        assert!(matches!(e, TariffServiceError::KeptChanging(_)), "{e:?}");
        assert!(r
            .service
            .tariff(&org(), &u.id)
            .await
            .unwrap()
            .deleted_at
            .is_none());
    }

    // ------------------------------------------------------------------ assignments

    #[tokio::test]
    async fn a_new_assignment_replaces_the_older_ones_for_its_target_and_group_only() {
        let r = Rig::new();
        let a = r.service.create(&org(), content("A")).await.unwrap();
        let b = r.service.create(&org(), content("B")).await.unwrap();
        let everyone = r.assign(&a.id, site_target("north"), None).await.unwrap();
        let staff = r
            .assign(&a.id, site_target("north"), Some("staff"))
            .await
            .unwrap();
        let elsewhere = r.assign(&a.id, site_target("south"), None).await.unwrap();
        assert!(everyone.replaced.is_empty() && staff.replaced.is_empty());

        r.set_now("2026-03-01T10:00:01Z");
        let newer = r.assign(&b.id, site_target("north"), None).await.unwrap();
        assert_eq!(newer.replaced, vec![everyone.assignment.id.clone()]);

        let left: Vec<String> = r
            .service
            .assignments(&org(), None)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(
            left,
            vec![
                staff.assignment.id,
                elsewhere.assignment.id,
                newer.assignment.id.clone()
            ]
        );
        let of_b = r.service.assignments(&org(), Some(&b.id)).await.unwrap();
        assert_eq!(of_b, vec![newer.assignment]);
    }

    #[tokio::test]
    async fn an_assignment_never_replaces_a_newer_one() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        // A concurrent request created a newer one first (a later clock).
        let newer = TariffAssignment {
            id: "ast_newer".into(),
            org_id: org(),
            tariff_id: t.id.clone(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: at("2026-03-01T10:00:05Z"),
        };
        r.store.create_assignment(&newer).await.unwrap();
        let older = r
            .assign(&t.id, AssignmentTarget::Organisation, None)
            .await
            .unwrap();
        assert!(older.replaced.is_empty());
        assert!(r.store.get_assignment("ast_newer").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn only_a_live_tariff_of_the_organisation_is_assigned_and_the_target_is_read_after() {
        let r = Rig::new();
        let e = r
            .service
            .assign(&org(), "trf_nope", unread, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, TariffServiceError::AssignedNotFound(_)),
            "{e:?}"
        );

        let t = r.service.create(&org(), content("A")).await.unwrap();
        let e = r
            .service
            .assign(&other_org(), &t.id, unread, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, TariffServiceError::AssignedNotFound(_)),
            "{e:?}"
        );

        r.service.delete(&org(), &t.id).await.unwrap();
        let e = r
            .service
            .assign(&org(), &t.id, unread, None)
            .await
            .unwrap_err();
        assert!(matches!(e, TariffServiceError::AssignedDeleted(_)), "{e:?}");
        assert!(r.store.assignments.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_assignment_of_a_tariff_deleted_meanwhile_is_undone() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        *r.store.delete_while_assigning.lock().unwrap() = true;
        let e = r
            .assign(&t.id, AssignmentTarget::Organisation, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, TariffServiceError::DeletedMeanwhile(_)),
            "{e:?}"
        );
        assert!(r
            .service
            .assignments(&org(), None)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn a_station_target_is_a_station_of_the_organisation_and_a_group_a_valid_name() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        r.station("CP-1", &org());
        r.station("CP-THEIRS", &other_org());

        for sid in ["CP-2", "CP-THEIRS"] {
            let e = r
                .assign(&t.id, station_target(sid), None)
                .await
                .unwrap_err();
            assert!(
                matches!(e, TariffServiceError::StationNotRegistered(_)),
                "{sid}: {e:?}"
            );
        }
        // The station is checked before the group.
        let e = r
            .assign(&t.id, station_target("CP-2"), Some("no spaces"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, TariffServiceError::StationNotRegistered(_)),
            "{e:?}"
        );
        let e = r
            .assign(&t.id, station_target("CP-1"), Some("no spaces"))
            .await
            .unwrap_err();
        assert!(matches!(e, TariffServiceError::InvalidGroup(_)), "{e:?}");
        assert!(r.store.assignments.lock().unwrap().is_empty());

        let a = r
            .assign(&t.id, station_target("CP-1"), Some("staff"))
            .await
            .unwrap();
        assert_eq!(a.assignment.target, station_target("CP-1"));
        assert_eq!(a.assignment.group.as_deref(), Some("staff"));
        assert!(a.assignment.id.starts_with("ast_"));
    }

    #[tokio::test]
    async fn an_assignment_is_removed_only_by_its_own_organisation() {
        let r = Rig::new();
        let t = r.service.create(&org(), content("A")).await.unwrap();
        let a = r
            .assign(&t.id, AssignmentTarget::Organisation, None)
            .await
            .unwrap();
        let id = a.assignment.id;
        for (who, id) in [(other_org(), id.as_str()), (org(), "ast_nope"), (org(), "")] {
            let e = r.service.unassign(&who, id).await.unwrap_err();
            assert!(
                matches!(e, TariffServiceError::AssignmentNotFound(_)),
                "{e:?}"
            );
        }
        r.service.unassign(&org(), &id).await.unwrap();
        let e = r.service.unassign(&org(), &id).await.unwrap_err();
        assert!(
            matches!(e, TariffServiceError::AssignmentNotFound(_)),
            "{e:?}"
        );
    }
}
