//! Property test of issue #13: random and extreme numbers and times from
//! chargers (`Decimal::MAX`/`MIN`, multipliers far beyond ±9, every unit,
//! phase triples at the maximum, timestamps from year 1 to 262142) through
//! the 1.6 and 2.0.1 StartTransaction, StopTransaction, MeterValues and
//! TransactionEvent handlers against this store. No frame may panic, every
//! frame is answered, and every stored session and reading reads back within
//! the plausible ranges and renders its view (energy included).

use chrono::{DateTime, TimeDelta, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_domain::meter::limits;
use csms_domain::station::Connection;
use csms_domain::{OcppVersion, OrgId, StationId, Timestamp};
use csms_kernel::contract::station;
use csms_kernel::ports::{
    MeterTarget, PageRequest, SessionQuery, SessionStore, StationStore, SystemClock,
};
use csms_kernel::views::SessionView;
use csms_store_redb::EmbeddedStore;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

const MAX: &str = "79228162514264337593543950335";
const MIN: &str = "-79228162514264337593543950335";

/// A number as JSON text: extremes, beyond `Decimal`, ordinary.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(MAX.to_owned()),
        Just(MIN.to_owned()),
        Just(format!("{MAX}0")),
        Just("1e28".to_owned()),
        Just("-1e28".to_owned()),
        Just("1e308".to_owned()),
        Just("5e-324".to_owned()),
        Just("1000000000000".to_owned()),
        Just("-1000000000000".to_owned()),
        Just("0.0000000000000000000000000001".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0i64..100_000).prop_map(|n| n.to_string()),
        (any::<i64>(), 0u32..28).prop_map(|(m, s)| Decimal::new(m, s).to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| serde_json::to_string(&f).unwrap()),
    ]
}

/// A 1.6 value string: any number above, or text that is no number.
fn value_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => number(),
        1 => prop_oneof![
            Just("NaN".to_owned()),
            Just("inf".to_owned()),
            Just("1e99999".to_owned()),
            Just("-1e-99999".to_owned()),
            Just("9".repeat(300)),
            ".*",
        ],
    ]
}

fn unit() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "Wh",
        "kWh",
        "varh",
        "kvarh",
        "W",
        "kW",
        "VA",
        "kVA",
        "var",
        "kvar",
        "A",
        "V",
        "K",
        "Celcius",
        "Celsius",
        "Fahrenheit",
        "Percent",
        "Hz",
        "RPM",
        "",
        "bogus",
    ]))
}

fn measurand() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "Energy.Active.Import.Register",
        "Energy.Active.Export.Register",
        "Energy.Reactive.Import.Register",
        "Power.Active.Import",
        "Power.Offered",
        "Current.Import",
        "Current.Export",
        "Current.Offered",
        "Voltage",
        "SoC",
        "Temperature",
        "Frequency",
        "RPM",
        "Power.Factor",
    ]))
}

fn phase() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "L1", "L2", "L3", "N", "L1-N", "L2-L3",
    ]))
}

fn multiplier() -> impl Strategy<Value = i32> {
    prop_oneof![
        -12i32..=12,
        Just(28),
        Just(-28),
        Just(i32::MAX),
        Just(i32::MIN),
        any::<i32>(),
    ]
}

/// A timestamp string: mostly plausible (so that sessions are stored), else
/// any year from 1 to 262142 (written as chrono writes it, `+262142-…`).
fn timestamp(now: Timestamp) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0i64..3 * 24 * 3600).prop_map(move |s| {
            (now - TimeDelta::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        1 => (1i32..=262_142, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| {
            if y > 9999 {
                format!("+{y}-{m:02}-{d:02}T00:00:00Z")
            } else {
                format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
            }
        }),
        1 => Just("0001-01-01T00:00:00Z".to_owned()),
        1 => Just("+262142-12-31T23:59:59Z".to_owned()),
        1 => Just("9999-12-31T23:59:59Z".to_owned()),
    ]
}

fn opt_json<T: serde::Serialize>(key: &str, v: Option<T>) -> String {
    v.map(|v| format!(",\"{key}\":{}", serde_json::to_string(&v).unwrap()))
        .unwrap_or_default()
}

fn sampled_16() -> impl Strategy<Value = String> {
    (value_string(), measurand(), unit(), phase()).prop_map(|(v, m, u, p)| {
        format!(
            "{{\"value\":{}{}{}{}}}",
            serde_json::to_string(&v).unwrap(),
            opt_json("measurand", m),
            opt_json("unit", u),
            opt_json("phase", p)
        )
    })
}

fn sampled_201() -> impl Strategy<Value = String> {
    (number(), measurand(), unit(), multiplier(), phase()).prop_map(|(v, m, u, k, p)| {
        format!(
            "{{\"value\":{v}{}{},\"unitOfMeasure\":{{\"multiplier\":{k}{}}}}}",
            opt_json("measurand", m),
            opt_json("phase", p),
            opt_json("unit", u)
        )
    })
}

/// A meter value: one timestamp, 1..4 samples, or three phase registers at
/// the same value (the phase-sum case).
fn meter_value(now: Timestamp, v201: bool) -> BoxedStrategy<String> {
    let sample = if v201 {
        sampled_201().boxed()
    } else {
        sampled_16().boxed()
    };
    let phases = number().prop_map(move |v| {
        let v = if v201 { v } else { serde_json::to_string(&v).unwrap() };
        ["L1", "L2", "L3"]
            .map(|p| {
                format!("{{\"value\":{v},\"measurand\":\"Energy.Active.Import.Register\",\"phase\":\"{p}\"}}")
            })
            .join(",")
    });
    let samples = prop_oneof![
        3 => prop::collection::vec(sample, 1..4).prop_map(|s| s.join(",")),
        1 => phases,
    ];
    (timestamp(now), samples)
        .prop_map(|(t, s)| format!("{{\"timestamp\":\"{t}\",\"sampledValue\":[{s}]}}"))
        .boxed()
}

fn meter_values(now: Timestamp, v201: bool) -> impl Strategy<Value = String> {
    prop::collection::vec(meter_value(now, v201), 0..3).prop_map(|v| v.join(","))
}

fn frames_16(now: Timestamp) -> impl Strategy<Value = Vec<String>> {
    let register = prop_oneof![
        any::<i64>(),
        0i64..1_000_000,
        Just(i64::MAX),
        Just(i64::MIN)
    ];
    let frame = prop_oneof![
        (register.clone(), timestamp(now)).prop_map(|(m, t)| format!(
            "\"StartTransaction\",{{\"connectorId\":1,\"idTag\":\"TAG\",\"meterStart\":{m},\"timestamp\":\"{t}\"}}"
        )),
        (1i64..4, meter_values(now, false)).prop_map(|(tx, mv)| format!(
            "\"MeterValues\",{{\"connectorId\":1,\"transactionId\":{tx},\"meterValue\":[{mv}]}}"
        )),
        (1i64..4, register, timestamp(now), meter_values(now, false)).prop_map(|(tx, m, t, mv)| {
            format!("\"StopTransaction\",{{\"transactionId\":{tx},\"meterStop\":{m},\"timestamp\":\"{t}\",\"transactionData\":[{mv}]}}")
        }),
        timestamp(now).prop_map(|t| format!(
            "\"StatusNotification\",{{\"connectorId\":1,\"errorCode\":\"NoError\",\"status\":\"Charging\",\"timestamp\":\"{t}\"}}"
        )),
    ];
    prop::collection::vec(frame, 1..8)
}

fn frames_201(now: Timestamp) -> impl Strategy<Value = Vec<String>> {
    let frame = prop_oneof![
        (
            prop::sample::select(vec!["Started", "Updated", "Ended"]),
            1u32..4,
            any::<u64>(),
            timestamp(now),
            meter_values(now, true),
        )
            .prop_map(|(kind, tx, seq, t, mv)| format!(
                "\"TransactionEvent\",{{\"eventType\":\"{kind}\",\"timestamp\":\"{t}\",\"triggerReason\":\"MeterValuePeriodic\",\"seqNo\":{seq},\"transactionInfo\":{{\"transactionId\":\"T{tx}\"}},\"meterValue\":[{mv}]}}"
            )),
        (0u32..3, meter_values(now, true)).prop_map(|(evse, mv)| format!(
            "\"MeterValues\",{{\"evseId\":{evse},\"meterValue\":[{mv}]}}"
        )),
        timestamp(now).prop_map(|t| format!(
            "\"StatusNotification\",{{\"timestamp\":\"{t}\",\"connectorStatus\":\"Occupied\",\"evseId\":1,\"connectorId\":1}}"
        )),
    ];
    prop::collection::vec(frame, 1..8)
}

fn plausible(t: Timestamp, now: Timestamp) -> bool {
    let earliest = DateTime::from_timestamp(946_684_800, 0).unwrap();
    t >= earliest && t <= now + TimeDelta::days(1)
}

/// One store for every case (each case has its own station): opening a
/// store per case would make the test slow, not stronger.
fn shared_store() -> &'static (tokio::runtime::Runtime, Arc<EmbeddedStore>) {
    static SHARED: OnceLock<(tokio::runtime::Runtime, Arc<EmbeddedStore>)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        (rt, Arc::new(EmbeddedStore::temporary()))
    })
}

/// Feed the frames to a new station and check everything stored for it.
fn check(version: OcppVersion, frames: &[String], now: Timestamp) -> Result<(), TestCaseError> {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let (rt, store) = shared_store();
    let station_id = format!("CP{}", CASE.fetch_add(1, Ordering::Relaxed));
    rt.block_on(async {
        let st = station(&station_id, OrgId::default_org().as_str(), None);
        store.create_station(&st).await.unwrap();
        let svc = ChargerService::new(
            store.clone(),
            Arc::new(SystemClock),
            ChargerConfig::default(),
        );
        let conn = Connection {
            connection_id: format!("c-{station_id}"),
            station_id: StationId::parse(&station_id).unwrap(),
            org_id: OrgId::default_org(),
            site_id: None,
            ocpp_version: version,
            connected_at: now,
            last_seen_at: now,
            previous_seen_at: None,
            second_previous_seen_at: None,
            approval: Default::default(),
            clock: None,
            messages: 0,
            flood: None,
        };
        for (i, f) in frames.iter().enumerate() {
            let text = format!("[2,\"m{i}\",{f}]");
            let reply = svc.handle(&conn, &text, now).await;
            let reply: serde_json::Value = serde_json::from_str(
                reply
                    .as_deref()
                    .ok_or_else(|| TestCaseError::fail(format!("no reply to {text}")))?,
            )
            .unwrap();
            prop_assert!(
                reply[0] == 3 || reply[0] == 4,
                "{text} answered with {reply}"
            );
        }
        let page = store
            .list_sessions(&SessionQuery {
                org_id: OrgId::default_org(),
                station_id: Some(conn.station_id.clone()),
                from: None,
                to: None,
                page: PageRequest::first(500),
            })
            .await
            .map_err(|e| TestCaseError::fail(format!("list: {e}")))?;
        let two_twh = Decimal::from(2_000_000_000_000i64);
        for s in &page.items {
            let again = store.get_session(&s.id).await.unwrap();
            prop_assert_eq!(again.as_ref(), Some(s));
            let view = serde_json::to_value(SessionView::from(s)).unwrap();
            prop_assert!(view.get("energyWh").is_some());
            prop_assert!(s
                .energy_wh()
                .is_none_or(|e| e >= Decimal::ZERO && e <= two_twh));
            for t in [s.started_at, s.ended_at].into_iter().flatten() {
                prop_assert!(plausible(t, now), "session time {t} stored");
            }
            let readings = store
                .list_meter_readings(&MeterTarget::Session(s.id.clone()))
                .await
                .map_err(|e| TestCaseError::fail(format!("readings: {e}")))?;
            for r in readings.iter() {
                let (min, max) = limits(&r.unit);
                prop_assert!(r.value >= min && r.value <= max, "stored {r:?}");
                prop_assert!(plausible(r.timestamp, now), "stored {r:?}");
            }
        }
        let station_readings = store
            .list_meter_readings(&MeterTarget::Station(conn.station_id.clone()))
            .await
            .map_err(|e| TestCaseError::fail(format!("station readings: {e}")))?;
        for r in station_readings {
            let (min, max) = limits(&r.unit);
            prop_assert!(r.value >= min && r.value <= max, "stored {r:?}");
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_numbers_and_times_from_a_16_charger_store_only_plausible_readable_values(
        frames in frames_16(Utc::now())
    ) {
        check(OcppVersion::V16, &frames, Utc::now())?;
    }

    #[test]
    fn any_numbers_and_times_from_a_201_charger_store_only_plausible_readable_values(
        frames in frames_201(Utc::now())
    ) {
        check(OcppVersion::V201, &frames, Utc::now())?;
    }
}
