//! The records kept through their stored form (`csms-store-records`) are
//! written byte for byte as the golden fixtures say, under the same keys,
//! and what the fixtures hold reads back through the store: data written
//! before the stored forms existed and data written after are the same.

use csms_domain::alarm::Alarm;
use csms_domain::api_key::ApiKey;
use csms_domain::command::Command;
use csms_domain::load::{LoadSite, LoadState};
use csms_domain::meter::MeterReading;
use csms_domain::pricing::PricedSession;
use csms_domain::session::Session;
use csms_domain::spot::SpotDay;
use csms_domain::station::{Connection, ConnectorStatus, Station};
use csms_domain::tariff::{Tariff, TariffAssignment};
use csms_domain::token::IdTokenRecord;
use csms_domain::webhook::{Delivery, Webhook};
use csms_domain::{SessionId, StationId};
use csms_kernel::ports::{
    reading_key, AlarmStore, ApiKeyStore, CommandStore, ConnectionStore, LoadStore, MeterTarget,
    PricedSessionStore, SessionStore, SpotPriceStore, StationStore, TariffStore, TokenStore,
    WebhookStore,
};
use csms_store_records::golden;
use csms_store_redb::{EmbeddedStore, DATABASE_FILE};
use redb::{Database, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("csms-stored-records-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every key and value of the JSON table `table`, as text.
fn raw_table(dir: &Path, table: &str) -> BTreeMap<String, String> {
    let db = Database::open(dir.join(DATABASE_FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let def: TableDefinition<&str, &[u8]> = TableDefinition::new(table);
    let t = txn.open_table(def).unwrap();
    t.iter()
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            (
                k.value().to_owned(),
                String::from_utf8(v.value().to_vec()).unwrap(),
            )
        })
        .collect()
}

/// The records' lines under their keys.
fn keyed<'a, C: FromIterator<(String, String)>>(
    rows: impl Iterator<Item = (String, &'a String)>,
) -> C {
    rows.map(|(k, l)| (k, l.clone())).collect()
}

/// Overwrites the tables' values as an older version left them.
fn plant(dir: &Path, table: &str, rows: Vec<(String, String)>) {
    let db = Database::open(dir.join(DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let def: TableDefinition<&str, &[u8]> = TableDefinition::new(table);
        let mut t = txn.open_table(def).unwrap();
        for (k, v) in &rows {
            t.insert(k.as_str(), v.as_bytes()).unwrap();
        }
    }
    txn.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_through_the_store_are_the_golden_json_under_the_same_keys() {
    let tmp = TempDir::new("write");
    let commands = golden::<Command>("commands.jsonl");
    let sites = golden::<LoadSite>("load_sites.jsonl");
    let states = golden::<LoadState>("load_states.jsonl");
    let tariffs = golden::<Tariff>("tariffs.jsonl");
    let assignments = golden::<TariffAssignment>("tariff_assignments.jsonl");
    {
        let store = EmbeddedStore::open(tmp.path()).unwrap();
        for (c, _) in &commands {
            store.create_command(c).await.unwrap();
        }
        for (s, _) in &sites {
            store.put_load_site(s, 0).await.unwrap();
        }
        for (s, _) in &states {
            store.put_load_state(s, 0).await.unwrap();
        }
        // Version 2 of the first tariff replaces version 1; the second is new.
        for (t, _) in &tariffs {
            store.put_tariff(t, t.version - 1).await.unwrap();
        }
        for (a, _) in &assignments {
            store.create_assignment(a).await.unwrap();
        }
    }
    assert_eq!(
        raw_table(tmp.path(), "commands"),
        keyed(commands.iter().map(|(c, l)| (c.id.to_string(), l)))
    );
    assert_eq!(
        raw_table(tmp.path(), "load_sites"),
        keyed(sites.iter().map(|(s, l)| (s.site_id.to_string(), l)))
    );
    assert_eq!(
        raw_table(tmp.path(), "load_states"),
        keyed(states.iter().map(|(s, l)| (s.site_id.to_string(), l)))
    );
    assert_eq!(
        raw_table(tmp.path(), "tariff_versions"),
        keyed(
            tariffs
                .iter()
                .map(|(t, l)| (format!("{}\0{:020}", t.id, t.version), l))
        )
    );
    // The latest copy of each tariff: the later line of the same id wins.
    assert_eq!(
        raw_table(tmp.path(), "tariffs"),
        keyed(tariffs.iter().map(|(t, l)| (t.id.clone(), l)))
    );
    assert_eq!(
        raw_table(tmp.path(), "assignments"),
        keyed(assignments.iter().map(|(a, l)| (a.id.clone(), l)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_an_older_version_wrote_read_back_through_the_store() {
    let tmp = TempDir::new("read");
    drop(EmbeddedStore::open(tmp.path()).unwrap());
    let commands = golden::<Command>("commands.jsonl");
    let sites = golden::<LoadSite>("load_sites.jsonl");
    let states = golden::<LoadState>("load_states.jsonl");
    let tariffs = golden::<Tariff>("tariffs.jsonl");
    let assignments = golden::<TariffAssignment>("tariff_assignments.jsonl");
    plant(
        tmp.path(),
        "commands",
        keyed(commands.iter().map(|(c, l)| (c.id.to_string(), l))),
    );
    plant(
        tmp.path(),
        "load_sites",
        keyed(sites.iter().map(|(s, l)| (s.site_id.to_string(), l))),
    );
    plant(
        tmp.path(),
        "load_states",
        keyed(states.iter().map(|(s, l)| (s.site_id.to_string(), l))),
    );
    plant(
        tmp.path(),
        "tariff_versions",
        keyed(
            tariffs
                .iter()
                .map(|(t, l)| (format!("{}\0{:020}", t.id, t.version), l)),
        ),
    );
    plant(
        tmp.path(),
        "assignments",
        keyed(assignments.iter().map(|(a, l)| (a.id.clone(), l))),
    );
    let store = EmbeddedStore::open(tmp.path()).unwrap();
    for (c, _) in &commands {
        assert_eq!(store.get_command(&c.id).await.unwrap().as_ref(), Some(c));
    }
    for (s, _) in &sites {
        assert_eq!(
            store.get_load_site(&s.site_id).await.unwrap().as_ref(),
            Some(s)
        );
    }
    for (s, _) in &states {
        assert_eq!(
            store.get_load_state(&s.site_id).await.unwrap().as_ref(),
            Some(s)
        );
    }
    let first: Vec<Tariff> = tariffs
        .iter()
        .filter(|(t, _)| t.id == "tariff-1")
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(store.tariff_versions("tariff-1").await.unwrap(), first);
    for (a, _) in &assignments {
        assert_eq!(store.get_assignment(&a.id).await.unwrap().as_ref(), Some(a));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_written_as_the_golden_json_and_read_back_as_an_older_version_wrote_them() {
    let written = TempDir::new("sessions-write");
    let sessions = golden::<Session>("sessions.jsonl");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        for (s, _) in &sessions {
            store.put_session(s, 0).await.unwrap();
        }
    }
    let rows: BTreeMap<String, String> = keyed(sessions.iter().map(|(s, l)| (s.id.to_string(), l)));
    assert_eq!(raw_table(written.path(), "sessions"), rows);

    let planted = TempDir::new("sessions-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(planted.path(), "sessions", rows.into_iter().collect());
    let store = EmbeddedStore::open(planted.path()).unwrap();
    for (s, _) in &sessions {
        assert_eq!(store.get_session(&s.id).await.unwrap().as_ref(), Some(s));
    }
}

/// The connector key of the embedded store: station, EVSE and connector.
fn connector_key(station: &str, c: &ConnectorStatus) -> String {
    format!("{station}\0{:010}\0{:010}", c.evse_id, c.connector_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_connectors_and_connections_are_written_as_the_golden_json_and_read_back() {
    let stations = golden::<Station>("stations.jsonl");
    let connectors = golden::<ConnectorStatus>("connector_statuses.jsonl");
    let connections = golden::<Connection>("connections.jsonl");
    let cp1 = StationId::parse("CP-1").unwrap();
    let station_rows: BTreeMap<String, String> =
        keyed(stations.iter().map(|(s, l)| (s.id.to_string(), l)));
    let connector_rows: BTreeMap<String, String> = keyed(
        connectors
            .iter()
            .map(|(c, l)| (connector_key("CP-1", c), l)),
    );
    let connection_rows: BTreeMap<String, String> = keyed(
        connections
            .iter()
            .map(|(c, l)| (c.connection_id.clone(), l)),
    );

    let written = TempDir::new("stations-write");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        for (s, _) in &stations {
            store.create_station(s).await.unwrap();
        }
        let org = &stations.iter().find(|(s, _)| s.id == cp1).unwrap().0.org_id;
        for (c, _) in &connectors {
            store.set_connector_status(org, &cp1, c).await.unwrap();
        }
    }
    assert_eq!(raw_table(written.path(), "stations"), station_rows);
    assert_eq!(raw_table(written.path(), "connectors"), connector_rows);
    // Opening a connection rewrites its station: a store without stations
    // keeps the connections alone.
    let opened = TempDir::new("connections-write");
    {
        let store = EmbeddedStore::open(opened.path()).unwrap();
        for (c, _) in &connections {
            store.open_connection(c, &[], &[]).await.unwrap();
        }
    }
    assert_eq!(raw_table(opened.path(), "connections"), connection_rows);

    let planted = TempDir::new("stations-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(
        planted.path(),
        "stations",
        station_rows.into_iter().collect(),
    );
    plant(
        planted.path(),
        "connectors",
        connector_rows.into_iter().collect(),
    );
    plant(
        planted.path(),
        "connections",
        connection_rows.into_iter().collect(),
    );
    let store = EmbeddedStore::open(planted.path()).unwrap();
    for (s, _) in &stations {
        assert_eq!(store.get_station(&s.id).await.unwrap().as_ref(), Some(s));
    }
    let view = store.get_station_view(&cp1).await.unwrap().unwrap();
    let expected: Vec<ConnectorStatus> = connectors.into_iter().map(|(c, _)| c).collect();
    assert_eq!(view.connectors, expected);
    for (c, _) in &connections {
        let closed = store
            .close_connection(&c.connection_id, c.last_seen_at)
            .await
            .unwrap();
        assert_eq!(closed.as_ref(), Some(c));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_are_written_as_the_golden_json_and_read_back() {
    let tokens = golden::<IdTokenRecord>("id_tokens.jsonl");
    let rows: BTreeMap<String, String> = keyed(tokens.iter().map(|(t, l)| (t.token.key(), l)));
    let written = TempDir::new("tokens-write");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        for (t, _) in &tokens {
            store.create_id_token(t).await.unwrap();
        }
    }
    assert_eq!(raw_table(written.path(), "id_tokens"), rows);

    let planted = TempDir::new("tokens-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(planted.path(), "id_tokens", rows.into_iter().collect());
    let store = EmbeddedStore::open(planted.path()).unwrap();
    for (t, _) in &tokens {
        assert_eq!(
            store.get_id_token(&t.token).await.unwrap().as_ref(),
            Some(t)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_webhooks_and_deliveries_are_written_as_the_golden_json_and_read_back() {
    let keys = golden::<ApiKey>("api_keys.jsonl");
    let hooks = golden::<Webhook>("webhooks.jsonl");
    let deliveries = golden::<Delivery>("deliveries.jsonl");
    let key_rows: BTreeMap<String, String> = keyed(keys.iter().map(|(k, l)| (k.id.clone(), l)));
    let hook_rows: BTreeMap<String, String> = keyed(hooks.iter().map(|(h, l)| (h.id.clone(), l)));
    let delivery_rows: BTreeMap<String, String> =
        keyed(deliveries.iter().map(|(d, l)| (d.id.clone(), l)));
    let written = TempDir::new("notify-write");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        for (k, _) in &keys {
            store.create_api_key(k).await.unwrap();
        }
        for (h, _) in &hooks {
            store.create_webhook(h).await.unwrap();
        }
        for (d, _) in &deliveries {
            store.create_delivery(d).await.unwrap();
        }
    }
    assert_eq!(raw_table(written.path(), "api_keys"), key_rows);
    assert_eq!(raw_table(written.path(), "webhooks"), hook_rows);
    assert_eq!(raw_table(written.path(), "deliveries"), delivery_rows);

    let planted = TempDir::new("notify-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(planted.path(), "api_keys", key_rows.into_iter().collect());
    plant(planted.path(), "webhooks", hook_rows.into_iter().collect());
    plant(
        planted.path(),
        "deliveries",
        delivery_rows.into_iter().collect(),
    );
    let store = EmbeddedStore::open(planted.path()).unwrap();
    for (k, _) in &keys {
        assert_eq!(store.get_api_key(&k.id).await.unwrap().as_ref(), Some(k));
    }
    for (h, _) in &hooks {
        assert_eq!(store.get_webhook(&h.id).await.unwrap().as_ref(), Some(h));
    }
    for (d, _) in &deliveries {
        assert_eq!(store.get_delivery(&d.id).await.unwrap().as_ref(), Some(d));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_spot_days_and_priced_sessions_are_written_as_the_golden_json_and_read_back() {
    let alarms = golden::<Alarm>("alarms.jsonl");
    let days = golden::<SpotDay>("spot_days.jsonl");
    let priced = golden::<PricedSession>("priced_sessions.jsonl");
    let alarm_rows: BTreeMap<String, String> = keyed(alarms.iter().map(|(a, l)| (a.id.clone(), l)));
    let day_rows: BTreeMap<String, String> = keyed(
        days.iter()
            .map(|(d, l)| (format!("{}\0{}", d.zone.code(), d.date), l)),
    );
    let priced_rows: BTreeMap<String, String> = keyed(
        priced
            .iter()
            .map(|(p, l)| (format!("{}\0{:010}", p.session_id, p.revision), l)),
    );
    let written = TempDir::new("pricing-write");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        for (a, _) in &alarms {
            assert!(store.raise_alarm(a).await.unwrap());
        }
        for (d, _) in &days {
            store.put_spot_day(d).await.unwrap();
        }
        for (p, _) in &priced {
            store.put_priced_session(p).await.unwrap();
        }
    }
    assert_eq!(raw_table(written.path(), "alarms"), alarm_rows);
    assert_eq!(raw_table(written.path(), "spot_days"), day_rows);
    assert_eq!(raw_table(written.path(), "priced_sessions"), priced_rows);

    let planted = TempDir::new("pricing-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(planted.path(), "alarms", alarm_rows.into_iter().collect());
    plant(planted.path(), "spot_days", day_rows.into_iter().collect());
    plant(
        planted.path(),
        "priced_sessions",
        priced_rows.into_iter().collect(),
    );
    let store = EmbeddedStore::open(planted.path()).unwrap();
    for (a, _) in &alarms {
        assert_eq!(store.get_alarm(&a.id).await.unwrap().as_ref(), Some(a));
    }
    for (d, _) in &days {
        assert_eq!(
            store.get_spot_day(d.zone, d.date).await.unwrap().as_ref(),
            Some(d)
        );
    }
    let revisions: Vec<PricedSession> = priced.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        store
            .priced_revisions(&revisions[0].session_id)
            .await
            .unwrap(),
        revisions
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meter_readings_are_written_as_the_golden_json_and_read_back() {
    let readings = golden::<MeterReading>("meter_readings.jsonl");
    let session = SessionId::parse("CP-1~1234").unwrap();
    let target = MeterTarget::Session(session.clone());
    let rows: BTreeMap<String, String> = keyed(
        readings
            .iter()
            .map(|(r, l)| (format!("S\0{session}\0{}", reading_key(r)), l)),
    );
    let written = TempDir::new("meter-write");
    {
        let store = EmbeddedStore::open(written.path()).unwrap();
        let all: Vec<MeterReading> = readings.iter().map(|(r, _)| r.clone()).collect();
        store.put_meter_readings(&target, &all).await.unwrap();
    }
    assert_eq!(raw_table(written.path(), "meter"), rows);

    let planted = TempDir::new("meter-read");
    drop(EmbeddedStore::open(planted.path()).unwrap());
    plant(planted.path(), "meter", rows.into_iter().collect());
    let store = EmbeddedStore::open(planted.path()).unwrap();
    let mut read = store.list_meter_readings(&target).await.unwrap();
    read.sort_by_key(|r| r.timestamp);
    let expected: Vec<MeterReading> = readings.into_iter().map(|(r, _)| r).collect();
    assert_eq!(read, expected);
}
