//! The embedded persistent store of the local runner: every port of
//! [`csms_core::ports`] over one [redb](https://docs.rs/redb) database file,
//! so `cargo run` keeps all data across restarts with no cloud and no Docker.
//!
//! It mirrors the access patterns of the DynamoDB single-table design (a
//! primary key per item plus the by-org and by-station indexes) with one typed
//! redb table per item kind and per index, and passes the same contract suite
//! (`csms_core::contract`) as the DynamoDB adapter.
//!
//! Every call is one redb transaction: atomic, isolated (redb has a single
//! writer, so read-modify-write operations such as versioned session writes or
//! counters need no retry loop) and durable when it returns (redb's default
//! durability fsyncs each commit).
//!
//! # Layout
//! - [`EmbeddedStore`] (this file): opening the database and the async port
//!   implementations, which hand each call to tokio's blocking pool.
//! - `ops`: the operations as blocking functions, one transaction each.
//! - `keys`: the tables, their key layouts, cursors and the shared pager.
//! - `error`: mapping redb and serde_json errors to `StoreError::Backend`.

mod device;
mod error;
mod keys;
mod load;
mod ops;

use async_trait::async_trait;
use csms_core::ports::{
    AlarmStore, ApiKeyStore, CommandStore, ConnectionStore, DeviceModelStore, IdempotencyStore,
    LoadStore, MeterTarget, Page, PageRequest, PricedSessionStore, SessionQuery, SessionStore,
    SpotPriceStore, StationEvent, StationStore, StoreError, StoreResult, TariffStore, TokenStore,
    WebhookStore,
};
use csms_domain::alarm::Alarm;
use csms_domain::api_key::ApiKey;
use csms_domain::command::{Command, CommandId};
use csms_domain::device_model::{DeviceModel, ReportPart};
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::meter::MeterReading;
use csms_domain::pricing::PricedSession;
use csms_domain::session::Session;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::station::{Approval, BootInfo, Connection, ConnectorStatus, Station, StationView};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::token::IdTokenRecord;
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::{IdTokenValue, OrgId, SessionId, SiteId, StationId, Timestamp};
use error::R;
use ops::Db;
use std::path::Path;
use std::sync::Arc;

/// The file inside the data directory that holds everything.
pub const DATABASE_FILE: &str = "csms.redb";

/// Every store port over one redb database. Cheap to clone: clones share
/// the database.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Db>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`, creating the directory if needed.
    ///
    /// Fails with `StoreError::Backend` if the directory cannot be created,
    /// the file is not a redb database, or another process has it open.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "creating the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let db = redb::Database::create(dir.join(DATABASE_FILE)).map_err(error::Fail::from)?;
        Ok(EmbeddedStore {
            db: Arc::new(Db::init(db)?),
        })
    }

    /// A fresh, empty store in memory, for tests.
    ///
    /// # Panics
    /// If the in-memory database cannot be set up, which only happens when
    /// memory runs out.
    pub fn temporary() -> Self {
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(error::Fail::from)
            .and_then(Db::init)
            .expect("creating an in-memory redb database");
        EmbeddedStore { db: Arc::new(db) }
    }

    /// How many stored records of `kind` (e.g. `Session`) listings left out
    /// since the store opened because they do not decode.
    pub fn skipped_records(&self, kind: &str) -> u64 {
        self.db.skipped_count(kind)
    }

    /// Runs one blocking store operation. redb calls block on the file and,
    /// when writing, on the single writer lock and an fsync; on tokio's
    /// blocking pool they do not stall the async workers that serve the
    /// charger sockets. Outside a tokio runtime the call runs inline.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Db) -> R<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return f(&db).map_err(Into::into);
        };
        match handle.spawn_blocking(move || f(&db)).await {
            Ok(result) => result.map_err(Into::into),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Backend(format!(
                "store task did not finish: {e}"
            ))),
        }
    }
}

#[async_trait]
impl StationStore for EmbeddedStore {
    async fn create_station(&self, station: &Station) -> StoreResult<()> {
        let station = station.clone();
        self.run(move |db| db.create_station(&station)).await
    }

    async fn get_station(&self, id: &StationId) -> StoreResult<Option<Station>> {
        let id = id.clone();
        self.run(move |db| db.get_station(&id)).await
    }

    async fn get_station_view(&self, id: &StationId) -> StoreResult<Option<StationView>> {
        let id = id.clone();
        self.run(move |db| db.get_station_view(&id)).await
    }

    async fn list_stations(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationView>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_stations(&org, &page)).await
    }

    async fn record_boot(&self, id: &StationId, boot: &BootInfo) -> StoreResult<()> {
        let (id, boot) = (id.clone(), boot.clone());
        self.run(move |db| db.record_boot(&id, &boot)).await
    }

    async fn set_station_approval(
        &self,
        id: &StationId,
        approval: Approval,
    ) -> StoreResult<Option<Station>> {
        let id = id.clone();
        self.run(move |db| db.set_station_approval(&id, approval))
            .await
    }

    async fn set_connector_status(
        &self,
        id: &StationId,
        status: &ConnectorStatus,
    ) -> StoreResult<()> {
        let (id, status) = (id.clone(), status.clone());
        self.run(move |db| db.set_connector_status(&id, &status))
            .await
    }

    async fn append_station_event(&self, event: &StationEvent) -> StoreResult<()> {
        let event = event.clone();
        self.run(move |db| db.append_station_event(&event)).await
    }

    async fn list_station_events(
        &self,
        id: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<StationEvent>> {
        let (id, page) = (id.clone(), page.clone());
        self.run(move |db| db.list_station_events(&id, &page)).await
    }
}

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn open_connection(&self, conn: &Connection) -> StoreResult<Option<String>> {
        let conn = conn.clone();
        self.run(move |db| db.open_connection(&conn)).await
    }

    async fn touch_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        let connection_id = connection_id.to_owned();
        self.run(move |db| db.touch_connection(&connection_id, at))
            .await
    }

    async fn close_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<Connection>> {
        let connection_id = connection_id.to_owned();
        self.run(move |db| db.close_connection(&connection_id, at))
            .await
    }
}

#[async_trait]
impl TokenStore for EmbeddedStore {
    async fn create_id_token(&self, token: &IdTokenRecord) -> StoreResult<()> {
        let token = token.clone();
        self.run(move |db| db.create_id_token(&token)).await
    }

    async fn get_id_token(&self, token: &IdTokenValue) -> StoreResult<Option<IdTokenRecord>> {
        let token = token.clone();
        self.run(move |db| db.get_id_token(&token)).await
    }

    async fn list_id_tokens(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<IdTokenRecord>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_id_tokens(&org, &page)).await
    }
}

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn next_transaction_id(&self) -> StoreResult<i64> {
        self.run(|db| db.next_transaction_id()).await
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        let id = id.clone();
        self.run(move |db| db.get_session(&id)).await
    }

    async fn put_session(&self, session: &Session, expected_version: u64) -> StoreResult<()> {
        let session = session.clone();
        self.run(move |db| db.put_session(&session, expected_version))
            .await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> StoreResult<Page<Session>> {
        let query = query.clone();
        self.run(move |db| db.list_sessions(&query)).await
    }

    async fn put_meter_readings(
        &self,
        target: &MeterTarget,
        readings: &[MeterReading],
    ) -> StoreResult<()> {
        let (target, readings) = (target.clone(), readings.to_vec());
        self.run(move |db| db.put_meter_readings(&target, &readings))
            .await
    }

    async fn list_meter_readings(&self, target: &MeterTarget) -> StoreResult<Vec<MeterReading>> {
        let target = target.clone();
        self.run(move |db| db.list_meter_readings(&target)).await
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        value: &str,
        ttl: chrono::TimeDelta,
    ) -> StoreResult<Option<String>> {
        let (scope, key, value) = (scope.to_owned(), key.to_owned(), value.to_owned());
        self.run(move |db| db.claim(&scope, &key, &value, ttl))
            .await
    }
}

#[async_trait]
impl CommandStore for EmbeddedStore {
    async fn create_command(&self, cmd: &Command) -> StoreResult<()> {
        let cmd = cmd.clone();
        self.run(move |db| db.create_command(&cmd)).await
    }

    async fn get_command(&self, id: &CommandId) -> StoreResult<Option<Command>> {
        let id = id.clone();
        self.run(move |db| db.get_command(&id)).await
    }

    async fn put_command(&self, cmd: &Command, expected_version: u64) -> StoreResult<()> {
        let cmd = cmd.clone();
        self.run(move |db| db.put_command(&cmd, expected_version))
            .await
    }

    async fn pending_commands(&self, station: &StationId) -> StoreResult<Vec<Command>> {
        let station = station.clone();
        self.run(move |db| db.pending_commands(&station)).await
    }

    async fn all_pending_commands(&self, limit: usize) -> StoreResult<Vec<Command>> {
        self.run(move |db| db.all_pending_commands(limit)).await
    }

    async fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Command>> {
        let (station, page) = (station.clone(), page.clone());
        self.run(move |db| db.list_station_commands(&station, &page))
            .await
    }
}

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let key = key.clone();
        self.run(move |db| db.create_api_key(&key)).await
    }

    async fn get_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        let id = id.to_owned();
        self.run(move |db| db.get_api_key(&id)).await
    }

    async fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> StoreResult<()> {
        let key = key.clone();
        self.run(move |db| db.put_api_key(&key, expected_version))
            .await
    }

    async fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<ApiKey>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_api_keys(&org, &page)).await
    }
}

#[async_trait]
impl WebhookStore for EmbeddedStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        let hook = hook.clone();
        self.run(move |db| db.create_webhook(&hook)).await
    }

    async fn get_webhook(&self, id: &str) -> StoreResult<Option<Webhook>> {
        let id = id.to_owned();
        self.run(move |db| db.get_webhook(&id)).await
    }

    async fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> StoreResult<()> {
        let hook = hook.clone();
        self.run(move |db| db.put_webhook(&hook, expected_version))
            .await
    }

    async fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Webhook>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_webhooks(&org, &page)).await
    }

    async fn create_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        let delivery = delivery.clone();
        self.run(move |db| db.create_delivery(&delivery)).await
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let id = id.to_owned();
        self.run(move |db| db.get_delivery(&id)).await
    }

    async fn put_delivery(&self, delivery: &Delivery, expected_version: u64) -> StoreResult<()> {
        let delivery = delivery.clone();
        self.run(move |db| db.put_delivery(&delivery, expected_version))
            .await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let (id, page) = (webhook_id.to_owned(), page.clone());
        self.run(move |db| db.list_deliveries(&id, &page)).await
    }

    async fn pending_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        self.run(move |db| db.pending_deliveries(limit)).await
    }
}

#[async_trait]
impl TariffStore for EmbeddedStore {
    async fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> StoreResult<()> {
        let tariff = tariff.clone();
        self.run(move |db| db.put_tariff(&tariff, expected_version))
            .await
    }

    async fn get_tariff(&self, id: &str) -> StoreResult<Option<Tariff>> {
        let id = id.to_owned();
        self.run(move |db| db.get_tariff(&id)).await
    }

    async fn tariff_versions(&self, id: &str) -> StoreResult<Vec<Tariff>> {
        let id = id.to_owned();
        self.run(move |db| db.tariff_versions(&id)).await
    }

    async fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<Tariff>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_tariffs(&org, &page)).await
    }

    async fn create_assignment(&self, assignment: &TariffAssignment) -> StoreResult<()> {
        let assignment = assignment.clone();
        self.run(move |db| db.create_assignment(&assignment)).await
    }

    async fn get_assignment(&self, id: &str) -> StoreResult<Option<TariffAssignment>> {
        let id = id.to_owned();
        self.run(move |db| db.get_assignment(&id)).await
    }

    async fn delete_assignment(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.run(move |db| db.delete_assignment(&id)).await
    }

    async fn list_assignments(&self, org: &OrgId) -> StoreResult<Vec<TariffAssignment>> {
        let org = org.clone();
        self.run(move |db| db.list_assignments(&org)).await
    }
}

#[async_trait]
impl SpotPriceStore for EmbeddedStore {
    async fn put_spot_day(&self, day: &SpotDay) -> StoreResult<()> {
        let day = day.clone();
        self.run(move |db| db.put_spot_day(&day)).await
    }

    async fn get_spot_day(
        &self,
        zone: BiddingZone,
        date: chrono::NaiveDate,
    ) -> StoreResult<Option<SpotDay>> {
        self.run(move |db| db.get_spot_day(zone, date)).await
    }
}

#[async_trait]
impl AlarmStore for EmbeddedStore {
    async fn raise_alarm(&self, alarm: &Alarm) -> StoreResult<bool> {
        let alarm = alarm.clone();
        self.run(move |db| db.raise_alarm(&alarm)).await
    }

    async fn resolve_alarm(&self, id: &str, at: Timestamp) -> StoreResult<bool> {
        let id = id.to_owned();
        self.run(move |db| db.resolve_alarm(&id, at)).await
    }

    async fn get_alarm(&self, id: &str) -> StoreResult<Option<Alarm>> {
        let id = id.to_owned();
        self.run(move |db| db.get_alarm(&id)).await
    }

    async fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<Alarm>> {
        let (org, page) = (org.clone(), page.clone());
        self.run(move |db| db.list_alarms(&org, active_only, &page))
            .await
    }
}

#[async_trait]
impl PricedSessionStore for EmbeddedStore {
    async fn put_priced_session(&self, priced: &PricedSession) -> StoreResult<()> {
        let priced = priced.clone();
        self.run(move |db| db.put_priced_session(&priced)).await
    }

    async fn get_priced_session(&self, id: &SessionId) -> StoreResult<Option<PricedSession>> {
        let id = id.clone();
        self.run(move |db| db.get_priced_session(&id)).await
    }

    async fn priced_revisions(&self, id: &SessionId) -> StoreResult<Vec<PricedSession>> {
        let id = id.clone();
        self.run(move |db| db.priced_revisions(&id)).await
    }
}

#[async_trait]
impl LoadStore for EmbeddedStore {
    async fn put_load_site(&self, site: &LoadSite, expected_version: u64) -> StoreResult<()> {
        let site = site.clone();
        self.run(move |db| db.put_load_site(&site, expected_version))
            .await
    }

    async fn get_load_site(&self, site: &SiteId) -> StoreResult<Option<LoadSite>> {
        let site = site.clone();
        self.run(move |db| db.get_load_site(&site)).await
    }

    async fn delete_load_site(&self, site: &SiteId) -> StoreResult<bool> {
        let site = site.clone();
        self.run(move |db| db.delete_load_site(&site)).await
    }

    async fn list_load_sites(&self, page: &PageRequest) -> StoreResult<Page<LoadSite>> {
        let page = page.clone();
        self.run(move |db| db.list_load_sites(&page)).await
    }

    async fn put_load_state(&self, state: &LoadState, expected_version: u64) -> StoreResult<()> {
        let state = state.clone();
        self.run(move |db| db.put_load_state(&state, expected_version))
            .await
    }

    async fn get_load_state(&self, site: &SiteId) -> StoreResult<Option<LoadState>> {
        let site = site.clone();
        self.run(move |db| db.get_load_state(&site)).await
    }
}

#[async_trait]
impl DeviceModelStore for EmbeddedStore {
    async fn put_report_part(&self, part: &ReportPart) -> StoreResult<()> {
        let part = part.clone();
        self.run(move |db| db.put_report_part(&part)).await
    }

    async fn report_parts(
        &self,
        station: &StationId,
        request_id: i32,
    ) -> StoreResult<Vec<ReportPart>> {
        let station = station.clone();
        self.run(move |db| db.report_parts(&station, request_id))
            .await
    }

    async fn delete_report_parts(&self, station: &StationId) -> StoreResult<()> {
        let station = station.clone();
        self.run(move |db| db.delete_report_parts(&station)).await
    }

    async fn put_device_model(
        &self,
        model: &DeviceModel,
        expected_version: u64,
    ) -> StoreResult<()> {
        let model = model.clone();
        self.run(move |db| db.put_device_model(&model, expected_version))
            .await
    }

    async fn get_device_model(&self, station: &StationId) -> StoreResult<Option<DeviceModel>> {
        let station = station.clone();
        self.run(move |db| db.get_device_model(&station)).await
    }
}
