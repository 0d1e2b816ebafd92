//! Charging: stations with their connector statuses and live connections,
//! id tokens, sessions with their meter readings, the station event log and
//! idempotency claims.

use crate::error::{conflict, Fail, R};
use crate::keys::*;
use crate::ops::*;
use chrono::{DateTime, TimeDelta, Utc};
use csms_domain::alarm::Lingering;
use csms_domain::meter::MeterReading;
use csms_domain::session::Session;
use csms_domain::station::{
    Approval, BootInfo, Connection, ConnectorStatus, Station, StationChange, StationView,
};
use csms_domain::token::{IdTokenRecord, UnregisteredToken, UNREGISTERED_MIN_GAP};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, SessionId, StationId, Timestamp};
use csms_kernel::ports::{
    reading_key, sort_key_time, LingeringConnector, MeterTarget, OfflineStation, Page, PageRequest,
    SessionQuery, StationEvent, StatusWrite, StoreError,
};
use redb::{ReadTransaction, ReadableTable};
use serde::{Deserialize, Serialize};

/// The index keys a session is listed under.
fn session_index_keys(
    s: &Session,
) -> R<
    Vec<(
        redb::TableDefinition<'static, &'static str, &'static str>,
        String,
    )>,
> {
    let t = s.sort_time();
    let mut keys = vec![
        (
            SESSIONS_BY_ORG,
            session_index_key(&session_scope(&s.org_id, None)?, t, &s.id)?,
        ),
        (
            SESSIONS_BY_STATION,
            session_index_key(&session_scope(&s.org_id, Some(&s.station_id))?, t, &s.id)?,
        ),
    ];
    if let Some(user) = &s.user_id {
        keys.push((
            SESSIONS_BY_USER,
            session_index_key(&user_session_scope(user)?, t, &s.id)?,
        ));
    }
    Ok(keys)
}

/// Lists `token` under its holder, or (`remove`) takes it off the list.
fn index_token_holder(
    txn: &redb::WriteTransaction,
    token: &IdTokenRecord,
    key: &str,
    remove: bool,
) -> R<()> {
    if let Some(user) = &token.user_id {
        let mut by_user = txn.open_table(ID_TOKENS_BY_USER)?;
        let user_key = token_user_key(user, key)?;
        if remove {
            by_user.remove(user_key.as_str())?;
        } else {
            by_user.insert(user_key.as_str(), key)?;
        }
    }
    Ok(())
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
        let Some(station) = lenient(how, get_record::<Station>(&self.stations, id))? else {
            return Ok(None);
        };
        let range = KeyRange::partition(id);
        let mut connectors = Vec::new();
        for entry in self
            .connectors
            .range::<&str>(range.lo.as_str()..range.hi.as_str())?
        {
            let (k, v) = entry?;
            if let Some(c) = lenient(how, parse_record(k.value(), v.value()).map(Some))? {
                connectors.push(c);
            }
        }
        // The station may still name a connection whose record is gone (a
        // close that raced a reconnect): then it is not connected.
        let connection = match &station.connection_id {
            Some(c) => lenient(how, get_record(&self.connections, c))?,
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
    // --- stations -------------------------------------------------------

    pub(crate) fn create_station(&self, station: &Station) -> R<()> {
        self.write(|txn| {
            let mut stations = txn.open_table(STATIONS)?;
            if stations.get(station.id.as_str())?.is_some() {
                return Err(conflict(format!("station {} exists", station.id)));
            }
            put_record(&mut stations, station.id.as_str(), station)?;
            let key = station_org_key(&station.org_id, station.site_id.as_ref(), &station.id)?;
            txn.open_table(STATIONS_BY_ORG)?
                .insert(key.as_str(), station.id.as_str())?;
            Ok(())
        })
    }

    pub(crate) fn get_station(&self, id: &StationId) -> R<Option<Station>> {
        self.read(|txn| get_record(&txn.open_table(STATIONS)?, id.as_str()))
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
            update_record::<Station>(&mut txn.open_table(STATIONS)?, id.as_str(), |s| {
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
                update_record::<Station>(&mut txn.open_table(STATIONS)?, id.as_str(), |s| {
                    s.approval = approval;
                    true
                })?;
            if let Some(cid) = station.as_ref().and_then(|s| s.connection_id.as_deref()) {
                update_record::<Connection>(&mut txn.open_table(CONNECTIONS)?, cid, |c| {
                    c.approval = approval;
                    true
                })?;
            }
            Ok(station)
        })
    }

    pub(crate) fn update_station(
        &self,
        id: &StationId,
        change: &StationChange,
    ) -> R<Option<Station>> {
        self.write(|txn| {
            let mut stations = txn.open_table(STATIONS)?;
            let Some(before) = get_record::<Station>(&stations, id.as_str())? else {
                return Ok(None);
            };
            let mut after = before.clone();
            change.apply(&mut after);
            put_record(&mut stations, id.as_str(), &after)?;
            if after.site_id != before.site_id {
                let mut index = txn.open_table(STATIONS_BY_ORG)?;
                let old = station_org_key(&before.org_id, before.site_id.as_ref(), id)?;
                index.remove(old.as_str())?;
                let new = station_org_key(&after.org_id, after.site_id.as_ref(), id)?;
                index.insert(new.as_str(), id.as_str())?;
                if let Some(cid) = after.connection_id.as_deref() {
                    update_record::<Connection>(&mut txn.open_table(CONNECTIONS)?, cid, |c| {
                        c.site_id = after.site_id.clone();
                        true
                    })?;
                }
            }
            Ok(Some(after))
        })
    }

    pub(crate) fn delete_station(&self, id: &StationId) -> R<()> {
        self.write(|txn| {
            let mut stations = txn.open_table(STATIONS)?;
            let Some(station) = get_record::<Station>(&stations, id.as_str())? else {
                return Ok(());
            };
            stations.remove(id.as_str())?;
            let key = station_org_key(&station.org_id, station.site_id.as_ref(), id)?;
            txn.open_table(STATIONS_BY_ORG)?.remove(key.as_str())?;
            let range = KeyRange::partition(id.as_str());
            let mut connectors = txn.open_table(CONNECTORS)?;
            let keys: Vec<String> = connectors
                .range::<&str>(range.lo.as_str()..range.hi.as_str())?
                .map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<_, _>>()?;
            let mut by_connector = txn.open_table(LINGER_BY_CONNECTOR)?;
            let mut linger = txn.open_table(LINGER_DUE)?;
            for k in keys {
                connectors.remove(k.as_str())?;
                let due = by_connector
                    .remove(k.as_str())?
                    .map(|g| g.value().to_owned());
                if let Some(due) = due {
                    linger.remove(due.as_str())?;
                }
            }
            let due = txn
                .open_table(OFFLINE_BY_STATION)?
                .remove(id.as_str())?
                .map(|g| g.value().to_owned());
            if let Some(due) = due {
                txn.open_table(OFFLINE_DUE)?.remove(due.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn set_connector_status(
        &self,
        org: &OrgId,
        id: &StationId,
        status: &ConnectorStatus,
    ) -> R<StatusWrite> {
        self.write(|txn| {
            let mut connectors = txn.open_table(CONNECTORS)?;
            let key = connector_key(id, status.evse_id, status.connector_id)?;
            let stored: Option<ConnectorStatus> = get_record(&connectors, &key)?;
            // Equal times overwrite: the later message about the same instant wins.
            if stored
                .as_ref()
                .is_some_and(|s| status.updated_at < s.updated_at)
            {
                return Ok(StatusWrite::Late);
            }
            put_record(&mut connectors, &key, status)?;
            // Off the lingering list, and on it again for such a status.
            let mut by_connector = txn.open_table(LINGER_BY_CONNECTOR)?;
            let mut due = txn.open_table(LINGER_DUE)?;
            let old = by_connector
                .remove(key.as_str())?
                .map(|g| g.value().to_owned());
            if let Some(old) = old {
                due.remove(old.as_str())?;
            }
            if Lingering::listed(&status.status) {
                let linger = linger_key(org, &status.status, status.updated_at, &key)?;
                due.insert(linger.as_str(), key.as_str())?;
                by_connector.insert(key.as_str(), linger.as_str())?;
            }
            Ok(StatusWrite::Stored { previous: stored })
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

    pub(crate) fn open_connection(
        &self,
        conn: &Connection,
        recent_connects: &[Timestamp],
        recent_addresses: &[csms_domain::station::SeenAddress],
    ) -> R<Option<String>> {
        self.write(|txn| {
            put_record(&mut txn.open_table(CONNECTIONS)?, &conn.connection_id, conn)?;
            // Back: off the offline list.
            let due = txn
                .open_table(OFFLINE_BY_STATION)?
                .remove(conn.station_id.as_str())?
                .map(|g| g.value().to_owned());
            if let Some(due) = due {
                txn.open_table(OFFLINE_DUE)?.remove(due.as_str())?;
            }
            let mut previous = None;
            update_record::<Station>(
                &mut txn.open_table(STATIONS)?,
                conn.station_id.as_str(),
                |s| {
                    previous = s.connection_id.replace(conn.connection_id.clone());
                    s.ocpp_version = Some(conn.ocpp_version);
                    s.recent_connects = recent_connects.to_vec();
                    s.recent_addresses = recent_addresses.to_vec();
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
            update_record::<Connection>(&mut txn.open_table(CONNECTIONS)?, connection_id, |c| {
                // As the DynamoDB touch: the connect's time stands in for
                // the times before the first message.
                c.second_previous_seen_at = Some(c.previous_seen_at.unwrap_or(c.last_seen_at));
                c.previous_seen_at = Some(c.last_seen_at);
                c.last_seen_at = at;
                c.messages = c.messages.saturating_add(1);
                true
            })
        })
    }

    pub(crate) fn set_connection_clock(
        &self,
        connection_id: &str,
        check: csms_domain::station::ClockCheck,
    ) -> R<bool> {
        self.write(|txn| {
            Ok(update_record::<Connection>(
                &mut txn.open_table(CONNECTIONS)?,
                connection_id,
                |c| {
                    c.clock = Some(check);
                    true
                },
            )?
            .is_some())
        })
    }

    pub(crate) fn set_connection_flood(
        &self,
        connection_id: &str,
        check: csms_domain::station::FloodCheck,
    ) -> R<bool> {
        self.write(|txn| {
            Ok(update_record::<Connection>(
                &mut txn.open_table(CONNECTIONS)?,
                connection_id,
                |c| {
                    c.flood = Some(check);
                    true
                },
            )?
            .is_some())
        })
    }

    /// The station keeps the time of the last message (the connection's
    /// `last_seen_at`); `at`, the disconnect, puts it on the offline list.
    pub(crate) fn close_connection(
        &self,
        connection_id: &str,
        at: Timestamp,
    ) -> R<Option<Connection>> {
        self.write(|txn| {
            let removed = txn
                .open_table(CONNECTIONS)?
                .remove(connection_id)?
                .map(|g| parse_record::<Connection>(connection_id, g.value()))
                .transpose()?;
            let Some(conn) = removed else { return Ok(None) };
            let mut gone = None;
            update_record::<Station>(
                &mut txn.open_table(STATIONS)?,
                conn.station_id.as_str(),
                |s| {
                    // A reconnect may already have replaced this connection.
                    if s.connection_id.as_deref() != Some(connection_id) {
                        return false;
                    }
                    gone = Some(s.org_id.clone());
                    s.connection_id = None;
                    s.last_seen_at = Some(
                        s.last_seen_at
                            .map_or(conn.last_seen_at, |t| t.max(conn.last_seen_at)),
                    );
                    true
                },
            )?;
            if let Some(org) = gone {
                let key = offline_key(&org, at, &conn.station_id)?;
                let previous = txn
                    .open_table(OFFLINE_BY_STATION)?
                    .insert(conn.station_id.as_str(), key.as_str())?
                    .map(|g| g.value().to_owned());
                let mut due = txn.open_table(OFFLINE_DUE)?;
                if let Some(previous) = previous {
                    due.remove(previous.as_str())?;
                }
                due.insert(key.as_str(), conn.station_id.as_str())?;
            }
            Ok(Some(conn))
        })
    }

    // --- stations gone offline -------------------------------------------

    pub(crate) fn offline_due(
        &self,
        org: &OrgId,
        until: Timestamp,
        limit: usize,
    ) -> R<Vec<OfflineStation>> {
        let scope = prefix(org.as_str());
        // Every close up to and including `until`.
        let hi = format!("{scope}{}\u{1}", sort_key_time(until));
        self.read(|txn| {
            let index = txn.open_table(OFFLINE_DUE)?;
            let stations = txn.open_table(STATIONS)?;
            let mut out = Vec::new();
            for entry in index.range::<&str>(scope.as_str()..hi.as_str())? {
                if out.len() >= limit {
                    break;
                }
                let (key, id) = entry?;
                let (_, since) = offline_key_parts(key.value())?;
                let id = id.value();
                let record = stations
                    .get(id)?
                    .map(|g| parse_record::<Station>(id, g.value()));
                if let Some(station) = self.skip(org, record.transpose())? {
                    out.push(OfflineStation { station, since });
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn settle_offline(&self, station: &StationId, since: Timestamp) -> R<bool> {
        self.write(|txn| {
            let mut by_station = txn.open_table(OFFLINE_BY_STATION)?;
            let Some(key) = by_station
                .get(station.as_str())?
                .map(|g| g.value().to_owned())
            else {
                return Ok(false);
            };
            if offline_key_parts(&key)?.1 != since {
                return Ok(false);
            }
            by_station.remove(station.as_str())?;
            txn.open_table(OFFLINE_DUE)?.remove(key.as_str())?;
            Ok(true)
        })
    }

    // --- connectors lingering -------------------------------------------

    pub(crate) fn lingering_due(
        &self,
        org: &OrgId,
        status: &str,
        until: Timestamp,
        limit: usize,
    ) -> R<Vec<LingeringConnector>> {
        let scope = prefix(&format!("{}{}{status}", org.as_str(), '\0'));
        // Every status time up to and including `until`.
        let hi = format!("{scope}{}\u{1}", sort_key_time(until));
        self.read(|txn| {
            let index = txn.open_table(LINGER_DUE)?;
            let connectors = txn.open_table(CONNECTORS)?;
            let mut out = Vec::new();
            for entry in index.range::<&str>(scope.as_str()..hi.as_str())? {
                if out.len() >= limit {
                    break;
                }
                let (_, key) = entry?;
                let key = key.value();
                let Ok(station_id) = StationId::parse(connector_key_station(key)) else {
                    continue;
                };
                let record = connectors
                    .get(key)?
                    .map(|g| parse_record::<ConnectorStatus>(key, g.value()));
                if let Some(status) = self.skip(org, record.transpose())? {
                    out.push(LingeringConnector { station_id, status });
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn settle_lingering(
        &self,
        station: &StationId,
        evse_id: u32,
        connector_id: u32,
        since: Timestamp,
    ) -> R<bool> {
        let key = connector_key(station, evse_id, connector_id)?;
        self.write(|txn| {
            let mut by_connector = txn.open_table(LINGER_BY_CONNECTOR)?;
            let Some(due) = by_connector
                .get(key.as_str())?
                .map(|g| g.value().to_owned())
            else {
                return Ok(false);
            };
            if linger_key_since(&due)? != since {
                return Ok(false);
            }
            by_connector.remove(key.as_str())?;
            txn.open_table(LINGER_DUE)?.remove(due.as_str())?;
            Ok(true)
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
            put_record(&mut tokens, &key, token)?;
            txn.open_table(ID_TOKENS_BY_ORG)?
                .insert(token_org_key(&token.org_id, &key)?.as_str(), key.as_str())?;
            index_token_holder(txn, token, &key, false)
        })
    }

    pub(crate) fn get_id_token(&self, token: &IdTokenValue) -> R<Option<IdTokenRecord>> {
        self.read(|txn| get_record(&txn.open_table(ID_TOKENS)?, &token.key()))
    }

    pub(crate) fn list_id_tokens(&self, org: &OrgId, page: &PageRequest) -> R<Page<IdTokenRecord>> {
        self.list_indexed_records(
            ID_TOKENS_BY_ORG,
            ID_TOKENS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn list_user_id_tokens(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> R<Page<IdTokenRecord>> {
        self.list_indexed_records(
            ID_TOKENS_BY_USER,
            ID_TOKENS,
            user.as_str(),
            &OrgId::default_org(),
            page,
            Order::Ascending,
        )
    }

    // --- LaddID life cycle (issue 17.3) ----------------------------------

    pub(crate) fn put_id_token(&self, token: &IdTokenRecord, expected_version: u64) -> R<()> {
        let key = token.token.key();
        self.write(|txn| {
            let mut tokens = txn.open_table(ID_TOKENS)?;
            let stored: Option<IdTokenRecord> = get_record(&tokens, &key)?;
            match stored {
                Some(s) if s.version == expected_version => {
                    // The organisation is fixed; the index key stays.
                    if s.org_id != token.org_id {
                        return Err(conflict(format!("id token {} moved", token.token)));
                    }
                    if s.user_id != token.user_id {
                        index_token_holder(txn, &s, &key, true)?;
                        index_token_holder(txn, token, &key, false)?;
                    }
                }
                Some(s) => {
                    return Err(conflict(format!(
                        "id token {} is at version {}, not {expected_version}",
                        token.token, s.version
                    )))
                }
                None => return Err(conflict(format!("id token {} does not exist", token.token))),
            }
            put_record(&mut tokens, &key, token)
        })
    }

    pub(crate) fn delete_id_token(&self, token: &IdTokenValue) -> R<Option<IdTokenRecord>> {
        let key = token.key();
        self.write(|txn| {
            let mut tokens = txn.open_table(ID_TOKENS)?;
            let stored: Option<IdTokenRecord> = get_record(&tokens, &key)?;
            if let Some(s) = &stored {
                tokens.remove(key.as_str())?;
                txn.open_table(ID_TOKENS_BY_ORG)?
                    .remove(token_org_key(&s.org_id, &key)?.as_str())?;
                index_token_holder(txn, s, &key, true)?;
            }
            Ok(stored)
        })
    }

    pub(crate) fn note_unregistered(&self, seen: &UnregisteredToken) -> R<()> {
        let key = token_org_key(&seen.org_id, &seen.token.key())?;
        self.write(|txn| {
            let mut table = txn.open_table(UNREGISTERED_TOKENS)?;
            let next = match get_record::<UnregisteredToken>(&table, &key)? {
                Some(old) if seen.last_seen - old.last_seen < UNREGISTERED_MIN_GAP => return Ok(()),
                Some(old) => UnregisteredToken {
                    first_seen: old.first_seen,
                    count: old.count.saturating_add(1),
                    token_type: seen.token_type.or(old.token_type),
                    ..seen.clone()
                },
                None => seen.clone(),
            };
            put_record(&mut table, &key, &next)
        })
    }

    pub(crate) fn get_unregistered(
        &self,
        org: &OrgId,
        token: &IdTokenValue,
    ) -> R<Option<UnregisteredToken>> {
        let key = token_org_key(org, &token.key())?;
        self.read(|txn| get_record(&txn.open_table(UNREGISTERED_TOKENS)?, &key))
    }

    pub(crate) fn list_unregistered(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> R<Page<UnregisteredToken>> {
        let range = KeyRange::partition(org.as_str());
        let after = cursor(page, &range.lo, 1)?;
        self.read(|txn| {
            let table = txn.open_table(UNREGISTERED_TOKENS)?;
            paginate(
                &table,
                &range,
                after.as_deref(),
                Order::Ascending,
                page.effective_limit(),
                |k, v| self.skip(org, parse_record(k, v.value()).map(Some)),
            )
        })
    }

    pub(crate) fn register_unregistered(&self, token: &IdTokenRecord) -> R<()> {
        let key = token.token.key();
        self.write(|txn| {
            let mut tokens = txn.open_table(ID_TOKENS)?;
            if tokens.get(key.as_str())?.is_some() {
                return Err(conflict(format!("id token {} exists", token.token)));
            }
            put_record(&mut tokens, &key, token)?;
            let org_key = token_org_key(&token.org_id, &key)?;
            txn.open_table(ID_TOKENS_BY_ORG)?
                .insert(org_key.as_str(), key.as_str())?;
            txn.open_table(UNREGISTERED_TOKENS)?
                .remove(org_key.as_str())?;
            index_token_holder(txn, token, &key, false)
        })
    }

    // --- sessions -------------------------------------------------------

    pub(crate) fn next_transaction_id(&self) -> R<i64> {
        let id = self.write(|txn| bump(txn, TRANSACTION_COUNTER))?;
        i64::try_from(id).map_err(|_| Fail(StoreError::Backend("transaction ids exhausted".into())))
    }

    pub(crate) fn get_session(&self, id: &SessionId) -> R<Option<Session>> {
        self.read(|txn| get_record(&txn.open_table(SESSIONS)?, id.as_str()))
    }

    pub(crate) fn put_session(&self, session: &Session, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut sessions = txn.open_table(SESSIONS)?;
            let stored: Option<Session> = get_record(&sessions, session.id.as_str())?;
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
            put_record(&mut sessions, session.id.as_str(), session)?;
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
                        self.skip(&q.org_id, get_record(&sessions, id.value()))?;
                    Ok(s.filter(|s| in_range(s.sort_time())))
                },
            )
        })
    }

    pub(crate) fn list_user_sessions(&self, user: &UserId, page: &PageRequest) -> R<Page<Session>> {
        self.list_newest_first(
            SESSIONS_BY_USER,
            SESSIONS,
            &user_session_scope(user)?,
            &OrgId::default_org(),
            page,
        )
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
                put_record(&mut meter, &format!("{pfx}{}", reading_key(r)), r)?;
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
                if let Some(r) = self.skip(&org, parse_record(k.value(), v.value()).map(Some))? {
                    out.push(r);
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
    use csms_domain::event::NotificationKind;
    use csms_kernel::ports::{StationEvent, StationLogEntry};

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
