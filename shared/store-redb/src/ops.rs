//! The store's operations as plain blocking functions, one redb transaction
//! each, so every call is atomic and writes are durable when it returns.
//!
//! This file holds [`Db`] (opening, read and write transactions, skipping
//! undecodable records), the JSON helpers and the indexed pager every
//! context uses; the operations are in one file per context beside it
//! (`charging`, `commands`, `notify`, `pricing`, `load`, `device`).

use crate::error::{conflict, Fail, R};
use crate::keys::*;
use chrono::Utc;
use csms_domain::alarm::Alarm;
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{Page, PageRequest, StoreError};
use csms_kernel::undecodable::{undecodable, SkippedRecords};
use csms_store_records::Record;
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

pub(crate) type JsonTable<'t> = Table<'t, &'static str, &'static [u8]>;
pub(crate) type JsonReadTable = ReadOnlyTable<&'static str, &'static [u8]>;

#[derive(Debug)]
pub(crate) struct Db {
    db: Database,
    /// Undecodable records met by listings: counted, logged, alarmed once.
    skipped: SkippedRecords,
    /// Alarms about them, raised when the read that met them is over (a
    /// read transaction cannot write).
    alarms: Mutex<Vec<Alarm>>,
    /// Those of them that opened, to be told on the bus once the blocking
    /// operation is over ([`Db::take_opened`]).
    opened: Mutex<Vec<Alarm>>,
}

/// What an idempotency claim stores. Expired claims count as absent, like an
/// item past its DynamoDB TTL (which DynamoDB deletes only eventually, so the
/// other adapter has to check the time too).
#[derive(Serialize, Deserialize)]
pub(crate) struct Claim {
    pub(crate) value: String,
    pub(crate) expires_at: Timestamp,
}

impl Claim {
    pub(crate) fn live(&self, now: Timestamp) -> bool {
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
pub(crate) type Lenient<'a> = Option<(&'a Db, &'a OrgId)>;

pub(crate) fn lenient<T>(how: Lenient<'_>, r: R<Option<T>>) -> R<Option<T>> {
    match how {
        Some((db, org)) => db.skip(org, r),
        None => r,
    }
}

pub(crate) fn put_json<T: Serialize>(table: &mut JsonTable<'_>, key: &str, v: &T) -> R<()> {
    table.insert(key, json(v)?.as_slice())?;
    Ok(())
}

/// Decodes a domain record kept through its stored form
/// (`csms-store-records`); like [`parse`], the error names the kind of
/// record (the domain type's name) and the key.
pub(crate) fn parse_record<T: Record>(key: &str, bytes: &[u8]) -> R<T> {
    csms_store_records::from_json(bytes).map_err(|e| Fail(undecodable::<T>(key, e)))
}

pub(crate) fn get_record<T: Record>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> R<Option<T>> {
    table
        .get(key)?
        .map(|g| parse_record(key, g.value()))
        .transpose()
}

/// Writes a domain record as its stored form, never as the domain type's
/// own serde form.
pub(crate) fn put_record<T: Record>(table: &mut JsonTable<'_>, key: &str, v: &T) -> R<()> {
    put_json(table, key, &v.to_stored())
}

/// Read-modify-write of a domain record kept through its stored form; `f`
/// says whether it changed anything, so unchanged records are not
/// rewritten. `None` when the record does not exist.
pub(crate) fn update_record<T: Record>(
    table: &mut JsonTable<'_>,
    key: &str,
    f: impl FnOnce(&mut T) -> bool,
) -> R<Option<T>> {
    let Some(mut v) = get_record::<T>(table, key)? else {
        return Ok(None);
    };
    if f(&mut v) {
        put_record(table, key, &v)?;
    }
    Ok(Some(v))
}

pub(crate) fn bump(txn: &WriteTransaction, counter: &str) -> R<u64> {
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
            txn.open_table(ID_TOKENS_BY_USER)?;
            txn.open_table(UNREGISTERED_TOKENS)?;
            txn.open_table(SESSIONS)?;
            txn.open_table(SESSIONS_BY_ORG)?;
            txn.open_table(SESSIONS_BY_STATION)?;
            txn.open_table(SESSIONS_BY_USER)?;
            txn.open_table(RATINGS)?;
            txn.open_table(RATINGS_BY_STATION)?;
            txn.open_table(RATING_SUMS)?;
            txn.open_table(EMAIL_LINKS)?;
            txn.open_table(FEES)?;
            txn.open_table(CHARGES)?;
            txn.open_table(BOOKINGS_BY_USER)?;
            txn.open_table(INVITATIONS_BY_ORG)?;
            txn.open_table(METER)?;
            txn.open_table(COUNTERS)?;
            txn.open_table(LEDGER)?;
            txn.open_table(INVOICES)?;
            txn.open_table(CREDIT_NOTES)?;
            txn.open_table(INVOICES_BY_ORG)?;
            txn.open_table(INVOICES_BY_USER)?;
            txn.open_table(INVOICES_BY_OCR)?;
            txn.open_table(PAYMENTS)?;
            txn.open_table(PAYMENTS_BY_INVOICE)?;
            txn.open_table(UNMATCHED_PAYMENTS)?;
            txn.open_table(STATION_EVENTS)?;
            txn.open_table(AUDIT_LOG)?;
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
            txn.open_table(ORGANISATIONS)?;
            txn.open_table(ORGANISATIONS_INDEX)?;
            txn.open_table(SITES)?;
            txn.open_table(SITES_BY_ORG)?;
            txn.open_table(USERS)?;
            txn.open_table(USER_EMAILS)?;
            txn.open_table(USERS_BY_ORG)?;
            txn.open_table(USER_SESSIONS)?;
            txn.open_table(USER_SESSIONS_BY_USER)?;
            txn.open_table(STATION_ACCESS)?;
            txn.open_table(GARAGE_IDENTITIES)?;
            txn.open_table(ACCESS_ATTEMPTS)?;
            txn.open_table(ACCESS_ATTEMPTS_BY_ORG)?;
            txn.open_table(BOOKINGS)?;
            txn.open_table(BOOKINGS_BY_EVSE)?;
            txn.open_table(BOOKINGS_BY_ORG)?;
            txn.open_table(BOOKINGS_DUE)?;
            txn.open_table(OFFLINE_DUE)?;
            txn.open_table(ALARM_SETTINGS)?;
            txn.open_table(USAGE_DAYS)?;
            txn.open_table(USAGE_DAYS_BY_ORG)?;
            txn.open_table(OFFLINE_BY_STATION)?;
            txn.open_table(LINGER_DUE)?;
            txn.open_table(LINGER_BY_CONNECTOR)?;
            txn.open_table(LOCAL_LISTS)?;
            txn.open_table(LOCAL_LISTS_BY_ORG)?;
            txn.open_table(CHARGING_KEYS)?;
            txn.open_table(EVSE_CHARGING_KEYS)?;
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
            opened: Mutex::new(Vec::new()),
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
            match self.raise_alarm(&alarm) {
                Ok(true) => self
                    .opened
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(alarm),
                Ok(false) => {}
                Err(Fail(e)) => {
                    tracing::error!(alarm = %alarm.id, error = %e, "could not raise the alarm about an undecodable record");
                    self.skipped.alarm_failed(&alarm.id);
                }
            }
        }
    }

    /// The alarms about undecodable records opened since the last call.
    pub(crate) fn take_opened(&self) -> Vec<Alarm> {
        std::mem::take(&mut *self.opened.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Tells them on `bus` from now on.
    pub(crate) fn announce_to(&self, bus: std::sync::Arc<dyn csms_kernel::events::EventBus>) {
        self.skipped.announce_to(bus);
    }

    /// Tells the bus of each alarm opened since the last call.
    pub(crate) async fn announce_opened(&self) {
        for alarm in self.take_opened() {
            self.skipped.opened(&alarm).await;
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
    /// into a table of domain records kept through their stored form: id
    /// tokens, commands, API keys, webhooks, deliveries. Undecodable items
    /// are skipped and alarmed in `org`.
    pub(crate) fn list_indexed_records<T: Record>(
        &self,
        index: TableDefinition<&'static str, &'static str>,
        items: TableDefinition<&'static str, &'static [u8]>,
        scope: &str,
        org: &OrgId,
        page: &PageRequest,
        order: Order,
    ) -> R<Page<T>> {
        self.list_indexed_as((index, items), (scope, 1), org, page, order, parse_record)
    }

    /// A listing through an index whose keys are `{scope}\0{time}\0{id}`,
    /// newest first: a person's sessions, a station's ratings, an
    /// organisation's refused access attempts. Undecodable items are
    /// skipped and alarmed in `org`.
    pub(crate) fn list_newest_first<T: Record>(
        &self,
        index: TableDefinition<&'static str, &'static str>,
        items: TableDefinition<&'static str, &'static [u8]>,
        scope: &str,
        org: &OrgId,
        page: &PageRequest,
    ) -> R<Page<T>> {
        self.list_indexed_as(
            (index, items),
            (scope, 2),
            org,
            page,
            Order::Descending,
            parse_record,
        )
    }

    /// The listing itself, decoding each item with `decode`; the index and
    /// items tables come as a pair, the scope with the number of key parts
    /// after it.
    fn list_indexed_as<T>(
        &self,
        (index, items): (
            TableDefinition<&'static str, &'static str>,
            TableDefinition<&'static str, &'static [u8]>,
        ),
        (scope, parts): (&str, usize),
        org: &OrgId,
        page: &PageRequest,
        order: Order,
        decode: impl Fn(&str, &[u8]) -> R<T>,
    ) -> R<Page<T>> {
        let range = KeyRange::partition(scope);
        let after = cursor(page, &range.lo, parts)?;
        self.read(|txn| {
            let index = txn.open_table(index)?;
            let items = txn.open_table(items)?;
            paginate(
                &index,
                &range,
                after.as_deref(),
                order,
                page.effective_limit(),
                |_, key| {
                    let key = key.value();
                    let item = items.get(key)?.map(|g| decode(key, g.value()));
                    self.skip(org, item.transpose())
                },
            )
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
