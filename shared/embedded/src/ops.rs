//! The store's operations as plain blocking functions, one redb transaction
//! each, so every call is atomic and writes are durable when it returns.

use crate::error::{conflict, Fail, R};
use crate::keys::*;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use csms_core::ports::{
    reading_key, sort_key_time, MeterTarget, Page, PageRequest, SessionQuery, StationEvent,
    StoreError,
};
use csms_core::undecodable::{undecodable, SkippedRecords};
use csms_domain::alarm::Alarm;
use csms_domain::api_key::ApiKey;
use csms_domain::command::{Command, CommandId};
use csms_domain::meter::MeterReading;
use csms_domain::pricing::PricedSession;
use csms_domain::session::Session;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::station::{Approval, BootInfo, Connection, ConnectorStatus, Station, StationView};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::token::IdTokenRecord;
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::{IdTokenValue, OrgId, SessionId, StationId, Timestamp};
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

pub(crate) type JsonTable<'t> = Table<'t, &'static str, &'static [u8]>;
type JsonReadTable = ReadOnlyTable<&'static str, &'static [u8]>;

#[derive(Debug)]
pub(crate) struct Db {
    db: Database,
    /// Undecodable records met by listings: counted, logged, alarmed once.
    skipped: SkippedRecords,
    /// Alarms about them, raised when the read that met them is over (a
    /// read transaction cannot write).
    alarms: Mutex<Vec<Alarm>>,
}

/// What an idempotency claim stores. Expired claims count as absent, like an
/// item past its DynamoDB TTL (which DynamoDB deletes only eventually, so the
/// other adapter has to check the time too).
#[derive(Serialize, Deserialize)]
struct Claim {
    value: String,
    expires_at: Timestamp,
}

impl Claim {
    fn live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}

pub(crate) fn json<T: Serialize>(v: &T) -> R<Vec<u8>> {
    Ok(serde_json::to_vec(v)?)
}

/// Decodes the record stored under `key`; the error names the kind of
/// record and the key, so a listing can skip it and an API answer name it.
pub(crate) fn parse<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> R<T> {
    serde_json::from_slice(bytes).map_err(|e| Fail(undecodable::<T>(key, e)))
}

pub(crate) fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> R<Option<T>> {
    table.get(key)?.map(|g| parse(key, g.value())).transpose()
}

/// In a listing, an undecodable record is left out (see [`Db::skip`]); in a
/// read of one record it is an error. `ViewTables` serves both.
type Lenient<'a> = Option<(&'a Db, &'a OrgId)>;

fn lenient<T>(how: Lenient<'_>, r: R<Option<T>>) -> R<Option<T>> {
    match how {
        Some((db, org)) => db.skip(org, r),
        None => r,
    }
}

pub(crate) fn put_json<T: Serialize>(table: &mut JsonTable<'_>, key: &str, v: &T) -> R<()> {
    table.insert(key, json(v)?.as_slice())?;
    Ok(())
}

/// Read-modify-write of one record; `f` says whether it changed anything, so
/// unchanged records are not rewritten. `None` when the record does not exist.
fn update_json<T: Serialize + DeserializeOwned>(
    table: &mut JsonTable<'_>,
    key: &str,
    f: impl FnOnce(&mut T) -> bool,
) -> R<Option<T>> {
    let Some(mut v) = get_json::<T>(table, key)? else {
        return Ok(None);
    };
    if f(&mut v) {
        put_json(table, key, &v)?;
    }
    Ok(Some(v))
}

fn bump(txn: &WriteTransaction, counter: &str) -> R<u64> {
    let mut counters = txn.open_table(COUNTERS)?;
    let last = counters.get(counter)?.map_or(0, |g| g.value());
    let next = last
        .checked_add(1)
        .ok_or_else(|| Fail(StoreError::Backend(format!("counter {counter} overflowed"))))?;
    counters.insert(counter, next)?;
    Ok(next)
}

pub(crate) fn cursor(page: &PageRequest, prefix: &str, parts: usize) -> R<Option<String>> {
    page.cursor
        .as_deref()
        .map(|c| decode_cursor(c, prefix, parts))
        .transpose()
}

/// The index keys a session is listed under.
fn session_index_keys(
    s: &Session,
) -> R<
    [(
        redb::TableDefinition<'static, &'static str, &'static str>,
        String,
    ); 2],
> {
    let t = s.sort_time();
    Ok([
        (
            SESSIONS_BY_ORG,
            session_index_key(&session_scope(&s.org_id, None)?, t, &s.id)?,
        ),
        (
            SESSIONS_BY_STATION,
            session_index_key(&session_scope(&s.org_id, Some(&s.station_id))?, t, &s.id)?,
        ),
    ])
}

/// The tables a station view is assembled from, opened once per read.
struct ViewTables {
    stations: JsonReadTable,
    connectors: JsonReadTable,
    connections: JsonReadTable,
}

impl ViewTables {
    fn open(txn: &ReadTransaction) -> R<Self> {
        Ok(ViewTables {
            stations: txn.open_table(STATIONS)?,
            connectors: txn.open_table(CONNECTORS)?,
            connections: txn.open_table(CONNECTIONS)?,
        })
    }

    fn view(&self, id: &str, how: Lenient<'_>) -> R<Option<StationView>> {
        let Some(station) = lenient(how, get_json::<Station>(&self.stations, id))? else {
            return Ok(None);
        };
        let range = KeyRange::partition(id);
        let mut connectors = Vec::new();
        for entry in self
            .connectors
            .range::<&str>(range.lo.as_str()..range.hi.as_str())?
        {
            let (k, v) = entry?;
            if let Some(c) = lenient(how, parse(k.value(), v.value()).map(Some))? {
                connectors.push(c);
            }
        }
        // The station may still name a connection whose record is gone (a
        // close that raced a reconnect): then it is not connected.
        let connection = match &station.connection_id {
            Some(c) => lenient(how, get_json(&self.connections, c))?,
            None => None,
        };
        Ok(Some(StationView {
            station,
            connectors,
            connection,
        }))
    }
}

impl Db {
    /// Creates every table up front, so read transactions never meet a
    /// missing one, and drops idempotency claims that expired while stopped.
    pub(crate) fn init(db: Database) -> R<Self> {
        let txn = db.begin_write()?;
        {
            txn.open_table(STATIONS)?;
            txn.open_table(STATIONS_BY_ORG)?;
            txn.open_table(CONNECTORS)?;
            txn.open_table(CONNECTIONS)?;
            txn.open_table(ID_TOKENS)?;
            txn.open_table(ID_TOKENS_BY_ORG)?;
            txn.open_table(SESSIONS)?;
            txn.open_table(SESSIONS_BY_ORG)?;
            txn.open_table(SESSIONS_BY_STATION)?;
            txn.open_table(METER)?;
            txn.open_table(COUNTERS)?;
            txn.open_table(STATION_EVENTS)?;
            txn.open_table(COMMANDS)?;
            txn.open_table(COMMANDS_BY_STATION)?;
            txn.open_table(COMMAND_QUEUE)?;
            txn.open_table(API_KEYS)?;
            txn.open_table(API_KEYS_BY_ORG)?;
            txn.open_table(WEBHOOKS)?;
            txn.open_table(WEBHOOKS_BY_ORG)?;
            txn.open_table(DELIVERIES)?;
            txn.open_table(DELIVERIES_BY_WEBHOOK)?;
            txn.open_table(DELIVERY_QUEUE)?;
            txn.open_table(TARIFFS)?;
            txn.open_table(TARIFF_VERSIONS)?;
            txn.open_table(TARIFFS_BY_ORG)?;
            txn.open_table(ASSIGNMENTS)?;
            txn.open_table(ASSIGNMENTS_BY_ORG)?;
            txn.open_table(SPOT_DAYS)?;
            txn.open_table(ALARMS)?;
            txn.open_table(ALARMS_BY_ORG)?;
            txn.open_table(PRICED_SESSIONS)?;
            txn.open_table(LOAD_SITES)?;
            txn.open_table(LOAD_SITES_INDEX)?;
            txn.open_table(LOAD_STATES)?;
            txn.open_table(DEVICE_MODELS)?;
            txn.open_table(REPORT_PARTS)?;
            let now = Utc::now();
            // Undecodable claims are kept: deleting data we cannot read is not this code's call.
            txn.open_table(IDEMPOTENCY)?
                .retain(|_, v| serde_json::from_slice::<Claim>(v).map_or(true, |c| c.live(now)))?;
        }
        txn.commit()?;
        Ok(Db {
            db,
            skipped: SkippedRecords::default(),
            alarms: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` in a read transaction, then raises the alarms about
    /// undecodable records it met.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> R<T>) -> R<T> {
        let out = f(&self.db.begin_read()?);
        self.raise_skipped_alarms();
        out
    }

    /// In a listing: an undecodable record becomes "no record" — logged,
    /// counted and alarmed — so one bad row never fails the whole listing
    /// (nor start-up recovery, which lists). Other errors pass.
    pub(crate) fn skip<T>(&self, org: &OrgId, r: R<Option<T>>) -> R<Option<T>> {
        match r {
            Err(Fail(StoreError::Undecodable { kind, key, reason })) => {
                if let Some(alarm) = self.skipped.skipped(org, &kind, &key, &reason, Utc::now()) {
                    self.alarms
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(alarm);
                }
                Ok(None)
            }
            other => other,
        }
    }

    /// How many records of `kind` listings skipped since the store opened.
    pub(crate) fn skipped_count(&self, kind: &str) -> u64 {
        self.skipped.count(kind)
    }

    fn raise_skipped_alarms(&self) {
        let pending = std::mem::take(&mut *self.alarms.lock().unwrap_or_else(|p| p.into_inner()));
        for alarm in pending {
            if let Err(Fail(e)) = self.raise_alarm(&alarm) {
                tracing::error!(alarm = %alarm.id, error = %e, "could not raise the alarm about an undecodable record");
                self.skipped.alarm_failed(&alarm.id);
            }
        }
    }

    /// Runs `f` in a write transaction, committed only if `f` succeeds
    /// (dropping an uncommitted redb transaction aborts it).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> R<T>) -> R<T> {
        let txn = self.db.begin_write()?;
        let out = f(&txn)?;
        txn.commit()?;
        Ok(out)
    }

    /// One page of a listing through an index table (`{scope}\0{…}` → key)
    /// into a table of JSON items: id tokens, commands, API keys. Undecodable
    /// items are skipped and alarmed in `org`.
    pub(crate) fn list_indexed<T: DeserializeOwned>(
        &self,
        index: TableDefinition<&'static str, &'static str>,
        items: TableDefinition<&'static str, &'static [u8]>,
        scope: &str,
        org: &OrgId,
        page: &PageRequest,
        order: Order,
    ) -> R<Page<T>> {
        let range = KeyRange::partition(scope);
        let after = cursor(page, &range.lo, 1)?;
        self.read(|txn| {
            let index = txn.open_table(index)?;
            let items = txn.open_table(items)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                order,
                page.effective_limit(),
                |_, key| self.skip(org, get_json(&items, key.value())),
            )
        })
    }

    // --- stations -------------------------------------------------------

    pub(crate) fn create_station(&self, station: &Station) -> R<()> {
        self.write(|txn| {
            let mut stations = txn.open_table(STATIONS)?;
            if stations.get(station.id.as_str())?.is_some() {
                return Err(conflict(format!("station {} exists", station.id)));
            }
            put_json(&mut stations, station.id.as_str(), station)?;
            let key = station_org_key(&station.org_id, station.site_id.as_ref(), &station.id)?;
            txn.open_table(STATIONS_BY_ORG)?
                .insert(key.as_str(), station.id.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_station(&self, id: &StationId) -> R<Option<Station>> {
        self.read(|txn| get_json(&txn.open_table(STATIONS)?, id.as_str()))
    }

    pub(crate) fn get_station_view(&self, id: &StationId) -> R<Option<StationView>> {
        self.read(|txn| ViewTables::open(txn)?.view(id.as_str(), None))
    }

    pub(crate) fn list_stations(&self, org: &OrgId, page: &PageRequest) -> R<Page<StationView>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let tables = ViewTables::open(txn)?;
            let index = txn.open_table(STATIONS_BY_ORG)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Ascending,
                page.effective_limit(),
                |_, id| tables.view(id.value(), Some((self, org))),
            )
        })
    }

    /// A boot of a station that is not registered (it could not have
    /// connected) is dropped rather than creating half a station.
    pub(crate) fn record_boot(&self, id: &StationId, boot: &BootInfo) -> R<()> {
        self.write(|txn| {
            update_json::<Station>(&mut txn.open_table(STATIONS)?, id.as_str(), |s| {
                s.boot = Some(boot.clone());
                true
            })?;
            Ok(())
        })
    }

    pub(crate) fn set_station_approval(
        &self,
        id: &StationId,
        approval: Approval,
    ) -> R<Option<Station>> {
        self.write(|txn| {
            let station =
                update_json::<Station>(&mut txn.open_table(STATIONS)?, id.as_str(), |s| {
                    s.approval = approval;
                    true
                })?;
            if let Some(cid) = station.as_ref().and_then(|s| s.connection_id.as_deref()) {
                update_json::<Connection>(&mut txn.open_table(CONNECTIONS)?, cid, |c| {
                    c.approval = approval;
                    true
                })?;
            }
            Ok(station)
        })
    }

    pub(crate) fn set_connector_status(&self, id: &StationId, status: &ConnectorStatus) -> R<()> {
        self.write(|txn| {
            let mut connectors = txn.open_table(CONNECTORS)?;
            let key = connector_key(id, status.evse_id, status.connector_id)?;
            let stored: Option<ConnectorStatus> = get_json(&connectors, &key)?;
            // Equal times overwrite: the later message about the same instant wins.
            if stored.is_none_or(|s| status.updated_at >= s.updated_at) {
                put_json(&mut connectors, &key, status)?;
            }
            Ok(())
        })
    }

    pub(crate) fn append_station_event(&self, event: &StationEvent) -> R<()> {
        self.write(|txn| {
            let seq = bump(txn, EVENT_COUNTER)?;
            let key = event_key(&event.station_id, event.at, seq)?;
            put_json(
                &mut txn.open_table(STATION_EVENTS)?,
                &key,
                &EventRecord::from(event),
            )
        })
    }

    pub(crate) fn list_station_events(
        &self,
        id: &StationId,
        page: &PageRequest,
    ) -> R<Page<StationEvent>> {
        let range = KeyRange::partition(id.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let events = txn.open_table(STATION_EVENTS)?;
            paginate(
                &events,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |k, v| {
                    self.skip(
                        &OrgId::default_org(),
                        parse::<EventRecord>(k, v.value()).map(|r| Some(r.into())),
                    )
                },
            )
        })
    }

    // --- connections ----------------------------------------------------

    pub(crate) fn open_connection(&self, conn: &Connection) -> R<Option<String>> {
        self.write(|txn| {
            put_json(&mut txn.open_table(CONNECTIONS)?, &conn.connection_id, conn)?;
            let mut previous = None;
            update_json::<Station>(
                &mut txn.open_table(STATIONS)?,
                conn.station_id.as_str(),
                |s| {
                    previous = s.connection_id.replace(conn.connection_id.clone());
                    s.ocpp_version = Some(conn.ocpp_version);
                    true
                },
            )?;
            Ok(previous)
        })
    }

    pub(crate) fn touch_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> R<Option<Connection>> {
        self.write(|txn| {
            update_json::<Connection>(&mut txn.open_table(CONNECTIONS)?, connection_id, |c| {
                c.last_seen_at = at;
                true
            })
        })
    }

    /// `at` is not needed here: the station keeps the time of the last
    /// message (the connection's `last_seen_at`), not of the disconnect.
    pub(crate) fn close_connection(
        &self,
        connection_id: &str,
        _at: Timestamp,
    ) -> R<Option<Connection>> {
        self.write(|txn| {
            let removed = txn
                .open_table(CONNECTIONS)?
                .remove(connection_id)?
                .map(|g| parse::<Connection>(connection_id, g.value()))
                .transpose()?;
            let Some(conn) = removed else { return Ok(None) };
            update_json::<Station>(
                &mut txn.open_table(STATIONS)?,
                conn.station_id.as_str(),
                |s| {
                    // A reconnect may already have replaced this connection.
                    if s.connection_id.as_deref() != Some(connection_id) {
                        return false;
                    }
                    s.connection_id = None;
                    s.last_seen_at = Some(
                        s.last_seen_at
                            .map_or(conn.last_seen_at, |t| t.max(conn.last_seen_at)),
                    );
                    true
                },
            )?;
            Ok(Some(conn))
        })
    }

    // --- id tokens ------------------------------------------------------

    pub(crate) fn create_id_token(&self, token: &IdTokenRecord) -> R<()> {
        let key = token.token.key();
        self.write(|txn| {
            let mut tokens = txn.open_table(ID_TOKENS)?;
            if tokens.get(key.as_str())?.is_some() {
                return Err(conflict(format!("id token {} exists", token.token)));
            }
            put_json(&mut tokens, &key, token)?;
            txn.open_table(ID_TOKENS_BY_ORG)?
                .insert(token_org_key(&token.org_id, &key)?.as_str(), key.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_id_token(&self, token: &IdTokenValue) -> R<Option<IdTokenRecord>> {
        self.read(|txn| get_json(&txn.open_table(ID_TOKENS)?, &token.key()))
    }

    pub(crate) fn list_id_tokens(&self, org: &OrgId, page: &PageRequest) -> R<Page<IdTokenRecord>> {
        self.list_indexed(
            ID_TOKENS_BY_ORG,
            ID_TOKENS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    // --- sessions -------------------------------------------------------

    pub(crate) fn next_transaction_id(&self) -> R<i64> {
        let id = self.write(|txn| bump(txn, TRANSACTION_COUNTER))?;
        i64::try_from(id).map_err(|_| Fail(StoreError::Backend("transaction ids exhausted".into())))
    }

    pub(crate) fn get_session(&self, id: &SessionId) -> R<Option<Session>> {
        self.read(|txn| get_json(&txn.open_table(SESSIONS)?, id.as_str()))
    }

    pub(crate) fn put_session(&self, session: &Session, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut sessions = txn.open_table(SESSIONS)?;
            let stored: Option<Session> = get_json(&sessions, session.id.as_str())?;
            match (&stored, expected_version) {
                (None, 0) => {}
                (Some(s), v) if v != 0 && s.version == v => {}
                (None, v) => {
                    return Err(conflict(format!(
                        "session {} does not exist (expected version {v})",
                        session.id
                    )))
                }
                (Some(s), v) => {
                    return Err(conflict(format!(
                        "session {} is at version {}, not {v}",
                        session.id, s.version
                    )))
                }
            }
            put_json(&mut sessions, session.id.as_str(), session)?;
            // Index keys contain the sort time: an update that moves it must
            // drop the old keys in the same transaction, or the session would
            // be listed twice.
            if let Some(old) = &stored {
                for (table, key) in session_index_keys(old)? {
                    txn.open_table(table)?.remove(key.as_str())?;
                }
            }
            for (table, key) in session_index_keys(session)? {
                txn.open_table(table)?
                    .insert(key.as_str(), session.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_sessions(&self, q: &SessionQuery) -> R<Page<Session>> {
        let scope = session_scope(&q.org_id, q.station_id.as_ref())?;
        let pfx = prefix(&scope);
        let after = cursor(&q.page, &pfx, 2)?;
        // Index keys hold the time truncated to microseconds, so the key range
        // is widened to whole microseconds and the exact bounds are checked on
        // each session below.
        let range = KeyRange {
            lo: match q.from {
                Some(from) => format!("{pfx}{}", sort_key_time(from)),
                None => pfx.clone(),
            },
            hi: match q.to {
                Some(to) => format!("{pfx}{}\u{1}", sort_key_time(to)),
                None => prefix_end(&pfx),
            },
        };
        let in_range =
            |t: DateTime<Utc>| q.from.is_none_or(|f| t >= f) && q.to.is_none_or(|to| t < to);
        let index = if q.station_id.is_some() {
            SESSIONS_BY_STATION
        } else {
            SESSIONS_BY_ORG
        };
        self.read(|txn| {
            let sessions = txn.open_table(SESSIONS)?;
            let index = txn.open_table(index)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Descending,
                q.page.effective_limit(),
                |_, id| {
                    let s: Option<Session> =
                        self.skip(&q.org_id, get_json(&sessions, id.value()))?;
                    Ok(s.filter(|s| in_range(s.sort_time())))
                },
            )
        })
    }

    pub(crate) fn put_meter_readings(
        &self,
        target: &MeterTarget,
        readings: &[MeterReading],
    ) -> R<()> {
        if readings.is_empty() {
            return Ok(()); // no transaction, no fsync
        }
        let pfx = meter_prefix(target)?;
        self.write(|txn| {
            let mut meter = txn.open_table(METER)?;
            for r in readings {
                // Same reading, same key: a resent batch overwrites itself.
                put_json(&mut meter, &format!("{pfx}{}", reading_key(r)), r)?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_meter_readings(&self, target: &MeterTarget) -> R<Vec<MeterReading>> {
        let range = KeyRange::under(meter_prefix(target)?);
        self.read(|txn| {
            let meter = txn.open_table(METER)?;
            let mut out = Vec::new();
            for entry in meter.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(r) = self.skip(&org, parse(k.value(), v.value()).map(Some))? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    // --- idempotency ----------------------------------------------------

    // --- commands -------------------------------------------------------

    pub(crate) fn create_command(&self, cmd: &Command) -> R<()> {
        self.write(|txn| {
            let mut commands = txn.open_table(COMMANDS)?;
            if commands.get(cmd.id.as_str())?.is_some() {
                return Err(conflict(format!("command {} exists", cmd.id)));
            }
            put_json(&mut commands, cmd.id.as_str(), cmd)?;
            let key = command_station_key(&cmd.station_id, &cmd.id)?;
            txn.open_table(COMMANDS_BY_STATION)?
                .insert(key.as_str(), cmd.id.as_str())?;
            if !cmd.status.is_final() {
                txn.open_table(COMMAND_QUEUE)?
                    .insert(key.as_str(), cmd.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_command(&self, id: &CommandId) -> R<Option<Command>> {
        self.read(|txn| get_json(&txn.open_table(COMMANDS)?, id.as_str()))
    }

    pub(crate) fn put_command(&self, cmd: &Command, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut commands = txn.open_table(COMMANDS)?;
            let stored: Option<Command> = get_json(&commands, cmd.id.as_str())?;
            match stored {
                Some(s) if s.version == expected_version => {}
                Some(s) => {
                    return Err(conflict(format!(
                        "command {} is at version {}, not {expected_version}",
                        cmd.id, s.version
                    )))
                }
                None => return Err(conflict(format!("command {} does not exist", cmd.id))),
            }
            put_json(&mut commands, cmd.id.as_str(), cmd)?;
            if cmd.status.is_final() {
                let key = command_station_key(&cmd.station_id, &cmd.id)?;
                txn.open_table(COMMAND_QUEUE)?.remove(key.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn pending_commands(&self, station: &StationId) -> R<Vec<Command>> {
        let range = KeyRange::partition(station.as_str());
        self.read(|txn| {
            let queue = txn.open_table(COMMAND_QUEUE)?;
            let commands = txn.open_table(COMMANDS)?;
            let mut out = Vec::new();
            for entry in queue.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (_, id) = entry?;
                let cmd = get_json::<Command>(&commands, id.value());
                if let Some(cmd) = self.skip(&OrgId::default_org(), cmd)? {
                    out.push(cmd);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn all_pending_commands(&self, limit: usize) -> R<Vec<Command>> {
        self.read(|txn| {
            let queue = txn.open_table(COMMAND_QUEUE)?;
            let commands = txn.open_table(COMMANDS)?;
            let mut out = Vec::new();
            for entry in queue.iter()? {
                let (_, id) = entry?;
                let cmd = get_json::<Command>(&commands, id.value());
                if let Some(cmd) = self.skip(&OrgId::default_org(), cmd)? {
                    out.push(cmd);
                }
            }
            // The queue is ordered by station first; "oldest first" is by id.
            out.sort_by(|a, b| a.id.cmp(&b.id));
            out.truncate(limit);
            Ok(out)
        })
    }

    pub(crate) fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> R<Page<Command>> {
        self.list_indexed(
            COMMANDS_BY_STATION,
            COMMANDS,
            station.as_str(),
            &OrgId::default_org(),
            page,
            Order::Descending,
        )
    }

    // --- API keys -------------------------------------------------------

    pub(crate) fn create_api_key(&self, key: &ApiKey) -> R<()> {
        self.write(|txn| {
            let mut keys = txn.open_table(API_KEYS)?;
            if keys.get(key.id.as_str())?.is_some() {
                return Err(conflict(format!("API key {} exists", key.id)));
            }
            put_json(&mut keys, &key.id, key)?;
            let by_org = format!("{}\0{}", key.org_id, key.id);
            txn.open_table(API_KEYS_BY_ORG)?
                .insert(by_org.as_str(), key.id.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_api_key(&self, id: &str) -> R<Option<ApiKey>> {
        self.read(|txn| get_json(&txn.open_table(API_KEYS)?, id))
    }

    pub(crate) fn put_api_key(&self, key: &ApiKey, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut keys = txn.open_table(API_KEYS)?;
            match get_json::<ApiKey>(&keys, &key.id)? {
                Some(k) if k.version == expected_version => {}
                _ => {
                    return Err(conflict(format!(
                        "API key {} is not at version {expected_version}",
                        key.id
                    )))
                }
            }
            put_json(&mut keys, &key.id, key)
        })
    }

    pub(crate) fn list_api_keys(&self, org: &OrgId, page: &PageRequest) -> R<Page<ApiKey>> {
        self.list_indexed(
            API_KEYS_BY_ORG,
            API_KEYS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    // --- webhooks -------------------------------------------------------

    pub(crate) fn create_webhook(&self, hook: &Webhook) -> R<()> {
        self.write(|txn| {
            let mut hooks = txn.open_table(WEBHOOKS)?;
            if hooks.get(hook.id.as_str())?.is_some() {
                return Err(conflict(format!("webhook {} exists", hook.id)));
            }
            put_json(&mut hooks, &hook.id, hook)?;
            if hook.deleted_at.is_none() {
                let by_org = format!("{}\0{}", hook.org_id, hook.id);
                txn.open_table(WEBHOOKS_BY_ORG)?
                    .insert(by_org.as_str(), hook.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_webhook(&self, id: &str) -> R<Option<Webhook>> {
        self.read(|txn| get_json(&txn.open_table(WEBHOOKS)?, id))
    }

    pub(crate) fn put_webhook(&self, hook: &Webhook, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut hooks = txn.open_table(WEBHOOKS)?;
            let stored = get_json::<Webhook>(&hooks, &hook.id)?.map(|h| h.version);
            check_version("webhook", &hook.id, stored, expected_version)?;
            put_json(&mut hooks, &hook.id, hook)?;
            if hook.deleted_at.is_some() {
                let by_org = format!("{}\0{}", hook.org_id, hook.id);
                txn.open_table(WEBHOOKS_BY_ORG)?.remove(by_org.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_webhooks(&self, org: &OrgId, page: &PageRequest) -> R<Page<Webhook>> {
        self.list_indexed(
            WEBHOOKS_BY_ORG,
            WEBHOOKS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn create_delivery(&self, d: &Delivery) -> R<()> {
        self.write(|txn| {
            let mut deliveries = txn.open_table(DELIVERIES)?;
            if deliveries.get(d.id.as_str())?.is_some() {
                return Err(conflict(format!("delivery {} exists", d.id)));
            }
            put_json(&mut deliveries, &d.id, d)?;
            let by_hook = format!("{}\0{}", d.webhook_id, d.id);
            txn.open_table(DELIVERIES_BY_WEBHOOK)?
                .insert(by_hook.as_str(), d.id.as_str())?;
            if !d.status.is_final() {
                txn.open_table(DELIVERY_QUEUE)?
                    .insert(d.id.as_str(), d.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_delivery(&self, id: &str) -> R<Option<Delivery>> {
        self.read(|txn| get_json(&txn.open_table(DELIVERIES)?, id))
    }

    pub(crate) fn put_delivery(&self, d: &Delivery, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut deliveries = txn.open_table(DELIVERIES)?;
            let stored = get_json::<Delivery>(&deliveries, &d.id)?.map(|x| x.version);
            check_version("delivery", &d.id, stored, expected_version)?;
            put_json(&mut deliveries, &d.id, d)?;
            if d.status.is_final() {
                txn.open_table(DELIVERY_QUEUE)?.remove(d.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_deliveries(
        &self,
        webhook_id: &str,
        page: &PageRequest,
    ) -> R<Page<Delivery>> {
        self.list_indexed(
            DELIVERIES_BY_WEBHOOK,
            DELIVERIES,
            webhook_id,
            &OrgId::default_org(),
            page,
            Order::Descending,
        )
    }

    pub(crate) fn pending_deliveries(&self, limit: usize) -> R<Vec<Delivery>> {
        self.read(|txn| {
            let queue = txn.open_table(DELIVERY_QUEUE)?;
            let deliveries = txn.open_table(DELIVERIES)?;
            let mut out = Vec::new();
            // Keyed by ULID: key order is age order.
            for entry in queue.iter()?.take(limit) {
                let (_, id) = entry?;
                let d = get_json::<Delivery>(&deliveries, id.value());
                if let Some(d) = self.skip(&OrgId::default_org(), d)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
    }

    // --- tariffs and assignments -----------------------------------------

    /// Writes the new version and the latest copy in one transaction, so a
    /// reader never sees a latest version that is not among the versions.
    pub(crate) fn put_tariff(&self, tariff: &Tariff, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut latest = txn.open_table(TARIFFS)?;
            let stored: Option<Tariff> = get_json(&latest, &tariff.id)?;
            match (&stored, expected_version) {
                (None, 0) => {}
                (Some(t), v) if t.version == v => {}
                (None, v) => {
                    return Err(conflict(format!(
                        "tariff {} does not exist (expected version {v})",
                        tariff.id
                    )))
                }
                (Some(t), v) => {
                    return Err(conflict(format!(
                        "tariff {} is at version {}, not {v}",
                        tariff.id, t.version
                    )))
                }
            }
            // Versions are immutable: a caller that forgot to bump the
            // version must not rewrite history.
            let mut versions = txn.open_table(TARIFF_VERSIONS)?;
            let vkey = tariff_version_key(&tariff.id, tariff.version)?;
            if versions.get(vkey.as_str())?.is_some() {
                return Err(conflict(format!(
                    "tariff {} version {} exists",
                    tariff.id, tariff.version
                )));
            }
            put_json(&mut versions, &vkey, tariff)?;
            put_json(&mut latest, &tariff.id, tariff)?;
            let mut by_org = txn.open_table(TARIFFS_BY_ORG)?;
            if let Some(old) = &stored {
                by_org.remove(tariff_org_key(&old.org_id, &old.id)?.as_str())?;
            }
            if tariff.deleted_at.is_none() {
                by_org.insert(
                    tariff_org_key(&tariff.org_id, &tariff.id)?.as_str(),
                    tariff.id.as_str(),
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_tariff(&self, id: &str) -> R<Option<Tariff>> {
        self.read(|txn| get_json(&txn.open_table(TARIFFS)?, id))
    }

    pub(crate) fn tariff_versions(&self, id: &str) -> R<Vec<Tariff>> {
        let range = KeyRange::partition(id);
        self.read(|txn| {
            let versions = txn.open_table(TARIFF_VERSIONS)?;
            let mut out = Vec::new();
            for entry in versions.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(t) = self.skip(&org, parse(k.value(), v.value()).map(Some))? {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn list_tariffs(&self, org: &OrgId, page: &PageRequest) -> R<Page<Tariff>> {
        self.list_indexed(
            TARIFFS_BY_ORG,
            TARIFFS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn create_assignment(&self, a: &TariffAssignment) -> R<()> {
        self.write(|txn| {
            let mut assignments = txn.open_table(ASSIGNMENTS)?;
            if assignments.get(a.id.as_str())?.is_some() {
                return Err(conflict(format!("tariff assignment {} exists", a.id)));
            }
            put_json(&mut assignments, &a.id, a)?;
            txn.open_table(ASSIGNMENTS_BY_ORG)?.insert(
                assignment_org_key(&a.org_id, a.created_at, &a.id)?.as_str(),
                a.id.as_str(),
            )?;
            Ok(())
        })
    }

    pub(crate) fn get_assignment(&self, id: &str) -> R<Option<TariffAssignment>> {
        self.read(|txn| get_json(&txn.open_table(ASSIGNMENTS)?, id))
    }

    pub(crate) fn delete_assignment(&self, id: &str) -> R<bool> {
        self.write(|txn| {
            let removed = txn
                .open_table(ASSIGNMENTS)?
                .remove(id)?
                .map(|g| parse::<TariffAssignment>(id, g.value()))
                .transpose()?;
            let Some(a) = removed else { return Ok(false) };
            txn.open_table(ASSIGNMENTS_BY_ORG)?
                .remove(assignment_org_key(&a.org_id, a.created_at, &a.id)?.as_str())?;
            Ok(true)
        })
    }

    pub(crate) fn list_assignments(&self, org: &OrgId) -> R<Vec<TariffAssignment>> {
        let range = KeyRange::partition(org.as_str());
        self.read(|txn| {
            let index = txn.open_table(ASSIGNMENTS_BY_ORG)?;
            let assignments = txn.open_table(ASSIGNMENTS)?;
            let mut out = Vec::new();
            for entry in index.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (_, id) = entry?;
                if let Some(a) = self.skip(org, get_json(&assignments, id.value()))? {
                    out.push(a);
                }
            }
            Ok(out)
        })
    }

    // --- spot prices ------------------------------------------------------

    pub(crate) fn put_spot_day(&self, day: &SpotDay) -> R<()> {
        self.write(|txn| {
            put_json(
                &mut txn.open_table(SPOT_DAYS)?,
                &spot_day_key(day.zone, day.date),
                day,
            )
        })
    }

    pub(crate) fn get_spot_day(&self, zone: BiddingZone, date: NaiveDate) -> R<Option<SpotDay>> {
        self.read(|txn| get_json(&txn.open_table(SPOT_DAYS)?, &spot_day_key(zone, date)))
    }

    // --- alarms -----------------------------------------------------------

    pub(crate) fn raise_alarm(&self, alarm: &Alarm) -> R<bool> {
        self.write(|txn| {
            let mut alarms = txn.open_table(ALARMS)?;
            let stored: Option<Alarm> = get_json(&alarms, &alarm.id)?;
            let raised = match &stored {
                Some(s) if s.is_active() => return Ok(false),
                // Raised again: the stored one is replaced, the version moves on
                // so a reader holding the old one can tell.
                Some(s) => Alarm {
                    version: s.version + 1,
                    ..alarm.clone()
                },
                None => alarm.clone(),
            };
            put_json(&mut alarms, &raised.id, &raised)?;
            let mut by_org = txn.open_table(ALARMS_BY_ORG)?;
            if let Some(old) = &stored {
                by_org.remove(alarm_org_key(&old.org_id, old.raised_at, &old.id)?.as_str())?;
            }
            by_org.insert(
                alarm_org_key(&raised.org_id, raised.raised_at, &raised.id)?.as_str(),
                raised.id.as_str(),
            )?;
            Ok(true)
        })
    }

    pub(crate) fn resolve_alarm(&self, id: &str, at: Timestamp) -> R<bool> {
        self.write(|txn| {
            let mut resolved = false;
            update_json::<Alarm>(&mut txn.open_table(ALARMS)?, id, |a| {
                resolved = a.is_active();
                if resolved {
                    a.resolved_at = Some(at);
                    a.version += 1;
                }
                resolved
            })?;
            Ok(resolved)
        })
    }

    pub(crate) fn get_alarm(&self, id: &str) -> R<Option<Alarm>> {
        self.read(|txn| get_json(&txn.open_table(ALARMS)?, id))
    }

    pub(crate) fn list_alarms(
        &self,
        org: &OrgId,
        active_only: bool,
        page: &PageRequest,
    ) -> R<Page<Alarm>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 2)?;
        self.read(|txn| {
            let index = txn.open_table(ALARMS_BY_ORG)?;
            let alarms = txn.open_table(ALARMS)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                Order::Descending,
                page.effective_limit(),
                |_, id| {
                    let a: Option<Alarm> = self.skip(org, get_json(&alarms, id.value()))?;
                    Ok(a.filter(|a| !active_only || a.is_active()))
                },
            )
        })
    }

    // --- priced sessions --------------------------------------------------

    pub(crate) fn put_priced_session(&self, p: &PricedSession) -> R<()> {
        self.write(|txn| {
            let mut priced = txn.open_table(PRICED_SESSIONS)?;
            let key = priced_key(&p.session_id, p.revision)?;
            if priced.get(key.as_str())?.is_some() {
                return Err(conflict(format!(
                    "session {} is priced at revision {}",
                    p.session_id, p.revision
                )));
            }
            put_json(&mut priced, &key, p)
        })
    }

    pub(crate) fn get_priced_session(&self, id: &SessionId) -> R<Option<PricedSession>> {
        let range = KeyRange::partition(id.as_str());
        self.read(|txn| {
            let priced = txn.open_table(PRICED_SESSIONS)?;
            let last = priced
                .range::<&str>(range.lo.as_str()..range.hi.as_str())?
                .next_back()
                .transpose()?;
            last.map(|(k, v)| parse(k.value(), v.value())).transpose()
        })
    }

    pub(crate) fn priced_revisions(&self, id: &SessionId) -> R<Vec<PricedSession>> {
        let range = KeyRange::partition(id.as_str());
        self.read(|txn| {
            let priced = txn.open_table(PRICED_SESSIONS)?;
            let mut out = Vec::new();
            for entry in priced.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (k, v) = entry?;
                let org = OrgId::default_org();
                if let Some(p) = self.skip(&org, parse(k.value(), v.value()).map(Some))? {
                    out.push(p);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn claim(
        &self,
        scope: &str,
        key: &str,
        value: &str,
        ttl: TimeDelta,
    ) -> R<Option<String>> {
        let now = Utc::now();
        self.write(|txn| {
            let mut claims = txn.open_table(IDEMPOTENCY)?;
            let existing = claims
                .get((scope, key))?
                .map(|g| parse::<Claim>(key, g.value()))
                .transpose()?;
            if let Some(c) = existing.filter(|c| c.live(now)) {
                return Ok(Some(c.value));
            }
            let expires_at = now
                .checked_add_signed(ttl)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            claims.insert(
                (scope, key),
                json(&Claim {
                    value: value.to_owned(),
                    expires_at,
                })?
                .as_slice(),
            )?;
            Ok(None)
        })
    }
}

/// The optimistic-concurrency check of every versioned item.
pub(crate) fn check_version(what: &str, id: &str, stored: Option<u64>, expected: u64) -> R<()> {
    match stored {
        Some(v) if v == expected => Ok(()),
        Some(v) => Err(conflict(format!(
            "{what} {id} is at version {v}, not {expected}"
        ))),
        None => Err(conflict(format!("{what} {id} does not exist"))),
    }
}

/// A station event as stored: its kind and JSON payload, in the shape the
/// log has always had (`{"station_id", "kind", "at", "payload"}`), apart
/// from the typed [`StationEvent`], so a change of the entry's Rust form
/// never changes stored data.
#[derive(Serialize, Deserialize)]
struct EventRecord {
    station_id: StationId,
    kind: String,
    at: Timestamp,
    payload: serde_json::Value,
}

impl From<&StationEvent> for EventRecord {
    fn from(e: &StationEvent) -> Self {
        EventRecord {
            station_id: e.station_id.clone(),
            kind: e.kind().to_owned(),
            at: e.at,
            payload: e.payload(),
        }
    }
}

impl From<EventRecord> for StationEvent {
    fn from(r: EventRecord) -> Self {
        StationEvent::from_stored(r.station_id, r.at, r.kind, r.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::EventRecord;
    use csms_core::ports::{StationEvent, StationLogEntry};
    use csms_domain::event::NotificationKind;

    /// Station events written before the log entry was typed read back.
    #[test]
    fn a_station_event_stored_by_an_older_version_reads_back() {
        let stored = r#"{"station_id":"CP-1","kind":"SecurityEvent","at":"2026-11-30T08:00:00Z","payload":{"type":"TamperDetectionActivated"}}"#;
        let record: EventRecord = serde_json::from_str(stored).unwrap();
        let event = StationEvent::from(record);
        assert_eq!(
            event.entry,
            StationLogEntry::Notification {
                kind: NotificationKind::SecurityEvent,
                message: serde_json::json!({"type": "TamperDetectionActivated"}),
            }
        );
        let again = serde_json::to_value(EventRecord::from(&event)).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(stored).unwrap()
        );
    }
}
