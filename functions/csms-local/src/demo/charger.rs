//! A simulated charging station of the demo: a tokio task that dials this
//! process's own OCPP endpoint (`ws://…/ocpp/{id}`, Basic auth with the
//! station's password) as a real charger would, in OCPP 1.6 or 2.0.1.
//!
//! It boots, reports each connector's status and heartbeats; replays its
//! month of past sessions once (back-dated, as a charger that was offline
//! sends what it queued); then charges when the demo's conductor hands it a
//! driver's tag, sending the meter every few seconds and stopping after a
//! while. It answers the CSMS's commands (remote start and stop, reset,
//! availability, configuration, charging profiles, unlock, trigger …) and
//! acts on the simple ones, so the portal's buttons work. When the socket
//! closes (a reset, a restart of the listener) it dials again.

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::task::AbortOnDropHandle;

use super::history::PastSession;
use super::world::{Station, Version};

/// How long a CALL waits for its answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Samples per hour in a replayed session's meter curve.
const PAST_SAMPLES_PER_HOUR: i64 = 4;

/// What the conductor asks a charger to do.
#[derive(Debug)]
pub enum Order {
    /// Start charging for this tag on a free connector, for about this long.
    Charge {
        tag: &'static str,
        for_how_long: Duration,
    },
}

/// What the conductor may read of a charger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    pub booted: bool,
    pub free_connectors: usize,
}

/// The timing of live behaviour.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How often a charging connector sends its meter.
    pub meter_every: Duration,
}

pub struct Charger {
    pub spec: &'static Station,
    pub url: String,
    pub password: String,
    pub pace: Pace,
    state: Arc<Mutex<State>>,
    seen: watch::Sender<Seen>,
    next_id: Arc<AtomicU64>,
}

struct State {
    connectors: Vec<Connector>,
    config: HashMap<&'static str, (String, bool)>,
    heartbeat: Duration,
    /// 2.0.1: why the next boot happens (`RemoteReset` after a Reset).
    boot_reason: &'static str,
}

#[derive(Clone)]
struct Connector {
    /// Operative (false after ChangeAvailability Inoperative).
    operative: bool,
    /// Taken by a starting, running or stopping transaction.
    busy: bool,
    running: Option<Running>,
    /// The energy register, Wh.
    register_wh: f64,
}

#[derive(Clone)]
struct Running {
    /// The CSMS's (1.6) or the station's own (2.0.1) transaction id.
    id: String,
    tag: String,
    power_w: f64,
    ends_at: DateTime<Utc>,
    last_sample: DateTime<Utc>,
    /// 2.0.1: the next TransactionEvent's seqNo.
    seq: u64,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Charger {
    /// A charger whose registers start from `register_wh`.
    pub fn new(
        spec: &'static Station,
        url: String,
        password: String,
        pace: Pace,
        register_wh: f64,
    ) -> (Arc<Self>, watch::Receiver<Seen>) {
        let connectors = (0..spec.connectors)
            .map(|_| Connector {
                operative: true,
                busy: false,
                running: None,
                register_wh,
            })
            .collect();
        let mut config = HashMap::new();
        for (k, v, ro) in [
            ("HeartbeatInterval", "300", false),
            ("MeterValueSampleInterval", "30", false),
            ("ClockAlignedDataInterval", "0", false),
            ("ConnectionTimeOut", "60", false),
            ("AuthorizeRemoteTxRequests", "false", false),
            ("LocalAuthorizeOffline", "true", false),
            ("LocalAuthListEnabled", "true", false),
            ("LocalAuthListMaxLength", "1000", true),
            ("SendLocalListMaxLength", "100", true),
            (
                "MeterValuesSampledData",
                "Energy.Active.Import.Register,Power.Active.Import",
                false,
            ),
            ("ChargeProfileMaxStackLevel", "10", true),
            ("ChargingScheduleAllowedChargingRateUnit", "Current,Power", true),
            ("ChargingScheduleMaxPeriods", "24", true),
            ("MaxChargingProfilesInstalled", "10", true),
            (
                "SupportedFeatureProfiles",
                "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
                true,
            ),
        ] {
            config.insert(k, (v.to_owned(), ro));
        }
        config.insert("NumberOfConnectors", (spec.connectors.to_string(), true));
        let (seen, seen_rx) = watch::channel(Seen::default());
        let charger = Arc::new(Charger {
            spec,
            url,
            password,
            pace,
            state: Arc::new(Mutex::new(State {
                connectors,
                config,
                heartbeat: Duration::from_secs(300),
                boot_reason: "PowerUp",
            })),
            seen,
            next_id: Arc::new(AtomicU64::new(1)),
        });
        (charger, seen_rx)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("charger state lock")
    }

    fn publish(&self, booted: bool) {
        let free = self
            .state()
            .connectors
            .iter()
            .filter(|c| c.operative && !c.busy)
            .count();
        self.seen.send_replace(Seen {
            booted,
            free_connectors: free,
        });
    }

    /// Dial, boot and live until the task is aborted; dial again after a
    /// closed socket. `history` is replayed once, after the first boot;
    /// `ready` is told then.
    pub async fn run(
        self: Arc<Self>,
        mut history: Option<Vec<PastSession>>,
        mut ready: Option<oneshot::Sender<()>>,
        mut orders: mpsc::Receiver<Order>,
    ) {
        loop {
            let result = self.connection(&mut history, &mut ready, &mut orders).await;
            self.publish(false);
            match result {
                Ok(()) => tracing::info!(
                    station = self.spec.id,
                    "demo charger: socket closed; dialling again"
                ),
                Err(e) => {
                    tracing::warn!(station = self.spec.id, error = %format!("{e:#}"), "demo charger: connection failed; dialling again")
                }
            }
            // Whatever ran is gone with the socket (as after a power cut).
            for c in &mut self.state().connectors {
                c.busy = false;
                c.running = None;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }

    async fn connection(
        self: &Arc<Self>,
        history: &mut Option<Vec<PastSession>>,
        ready: &mut Option<oneshot::Sender<()>>,
        orders: &mut mpsc::Receiver<Order>,
    ) -> anyhow::Result<()> {
        let mut req = self.url.as_str().into_client_request()?;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.spec.id, self.password));
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(self.spec.version.subprotocol()),
        );
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Basic {auth}"))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .context("dialling the OCPP endpoint")?;
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        // Both halves end with the connection, also when the charger's task
        // is aborted (the process stops).
        let writer = AbortOnDropHandle::new(tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
        }));
        let link = Link {
            out: out_tx,
            pending: Arc::default(),
            next_id: self.next_id.clone(),
        };
        let (calls_tx, mut calls) = mpsc::unbounded_channel::<(String, String, Value)>();
        let pending = link.pending.clone();
        let reader = AbortOnDropHandle::new(tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                let text = match m {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let kind = frame.first().and_then(Value::as_u64);
                let id = frame
                    .get(1)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                match kind {
                    Some(2) => {
                        let action = frame.get(2).and_then(Value::as_str).unwrap_or_default();
                        let payload = frame.get(3).cloned().unwrap_or(Value::Null);
                        if calls_tx.send((id, action.to_owned(), payload)).is_err() {
                            break;
                        }
                    }
                    Some(3) | Some(4) => {
                        let answer = if kind == Some(3) {
                            Ok(frame.get(2).cloned().unwrap_or(Value::Null))
                        } else {
                            Err(format!(
                                "{} {}",
                                frame.get(2).and_then(Value::as_str).unwrap_or("?"),
                                frame.get(3).and_then(Value::as_str).unwrap_or("")
                            ))
                        };
                        let waiting = pending.lock().expect("pending lock").remove(&id);
                        if let Some(tx) = waiting {
                            let _ = tx.send(answer);
                        }
                    }
                    _ => {}
                }
            }
        }));
        let result = self
            .live(link.clone(), history, ready, orders, &mut calls)
            .await;
        reader.abort();
        let _ = link.out.send(Message::Close(None));
        drop(link);
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
        result
    }

    async fn live(
        self: &Arc<Self>,
        link: Link,
        history: &mut Option<Vec<PastSession>>,
        ready: &mut Option<oneshot::Sender<()>>,
        orders: &mut mpsc::Receiver<Order>,
        calls: &mut mpsc::UnboundedReceiver<(String, String, Value)>,
    ) -> anyhow::Result<()> {
        self.boot(&link).await?;
        self.all_statuses(&link).await?;
        if let Some(past) = history.as_mut() {
            let n = past.len();
            let started = std::time::Instant::now();
            // A socket lost on the way: the next connection goes on with
            // the sessions not yet sent.
            self.replay(&link, past).await?;
            *history = None;
            tracing::info!(
                station = self.spec.id,
                sessions = n,
                secs = started.elapsed().as_secs_f32(),
                "demo charger: replayed its past month"
            );
        }
        self.publish(true);
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
        let heartbeat = self.state().heartbeat;
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut meter = tokio::time::interval(self.pace.meter_every);
        let mut orders_open = true;
        loop {
            tokio::select! {
                call = calls.recv() => {
                    let Some((id, action, payload)) = call else { return Ok(()) };
                    self.answer(&link, &id, &action, &payload);
                }
                order = orders.recv(), if orders_open => match order {
                    Some(Order::Charge { tag, for_how_long }) => {
                        let me = self.clone();
                        let link = link.clone();
                        tokio::spawn(async move {
                            if let Err(e) = me.start(&link, None, tag.to_owned(), for_how_long, None).await {
                                tracing::warn!(station = me.spec.id, error = %format!("{e:#}"), "demo charger: could not start");
                            }
                        });
                    }
                    None => orders_open = false,
                },
                _ = heartbeat.tick() => {
                    link.call("Heartbeat", json!({})).await?;
                }
                _ = meter.tick() => self.meter_tick(&link).await?,
            }
        }
    }

    async fn boot(&self, link: &Link) -> anyhow::Result<()> {
        let s = self.spec;
        let body = match s.version {
            Version::V16 => json!({
                "chargePointVendor": s.vendor, "chargePointModel": s.model,
                "chargePointSerialNumber": format!("SN-{}", s.id), "firmwareVersion": "demo-1.4.2",
            }),
            Version::V201 => json!({
                "reason": self.state().boot_reason,
                "chargingStation": {"model": s.model, "vendorName": s.vendor,
                    "serialNumber": format!("SN-{}", s.id), "firmwareVersion": "demo-2.1.0"},
            }),
        };
        loop {
            let answer = link.call("BootNotification", body.clone()).await?;
            let interval = answer
                .get("interval")
                .and_then(Value::as_u64)
                .filter(|i| *i > 0)
                .unwrap_or(300);
            match answer.get("status").and_then(Value::as_str) {
                Some("Accepted") => {
                    let mut st = self.state();
                    st.boot_reason = "PowerUp";
                    st.heartbeat = Duration::from_secs(interval);
                    st.config
                        .insert("HeartbeatInterval", (interval.to_string(), false));
                    return Ok(());
                }
                _ => tokio::time::sleep(Duration::from_secs(interval.min(60))).await,
            }
        }
    }

    async fn all_statuses(&self, link: &Link) -> anyhow::Result<()> {
        if self.spec.version == Version::V16 {
            self.status(link, 0, "Available").await?;
        }
        for c in 1..=self.spec.connectors {
            let status = self.idle_status(c);
            self.status(link, c, status).await?;
        }
        Ok(())
    }

    /// What a connector without a transaction reports.
    fn idle_status(&self, connector: u32) -> &'static str {
        let operative = self
            .state()
            .connectors
            .get(connector as usize - 1)
            .is_some_and(|c| c.operative);
        if operative {
            "Available"
        } else {
            "Unavailable"
        }
    }

    /// A StatusNotification in 1.6 words (`Charging`, `Finishing` …),
    /// mapped to 2.0.1's connector statuses.
    async fn status(&self, link: &Link, connector: u32, status: &str) -> anyhow::Result<()> {
        let body = match self.spec.version {
            Version::V16 => json!({
                "connectorId": connector, "errorCode": "NoError", "status": status,
                "timestamp": ts(Utc::now()),
            }),
            Version::V201 => {
                let s = match status {
                    "Available" => "Available",
                    "Unavailable" => "Unavailable",
                    "Reserved" => "Reserved",
                    "Faulted" => "Faulted",
                    _ => "Occupied",
                };
                json!({"timestamp": ts(Utc::now()), "connectorStatus": s, "evseId": connector, "connectorId": 1})
            }
        };
        link.call("StatusNotification", body).await.map(|_| ())
    }

    fn sample(&self, at: DateTime<Utc>, wh: f64, w: f64, context: &str) -> Value {
        match self.spec.version {
            Version::V16 => json!({"timestamp": ts(at), "sampledValue": [
                {"value": format!("{:.0}", wh), "context": context, "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": format!("{:.0}", w), "context": context, "measurand": "Power.Active.Import", "unit": "W"},
            ]}),
            Version::V201 => json!({"timestamp": ts(at), "sampledValue": [
                {"value": wh.round(), "context": context, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}},
                {"value": w.round(), "context": context, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
            ]}),
        }
    }

    /// Replays the past sessions, oldest first, with their own times; each
    /// leaves `past` once sent.
    async fn replay(&self, link: &Link, past: &mut Vec<PastSession>) -> anyhow::Result<()> {
        while let Some(p) = past.first().cloned() {
            let idx = p.connector as usize - 1;
            let from = self.state().connectors[idx].register_wh;
            let to = from + f64::from(p.wh);
            let power = p.mean_power_w();
            let span = (p.stop - p.start).num_seconds().max(1) as f64;
            let step = ChronoDuration::minutes(60 / PAST_SAMPLES_PER_HOUR);
            let mut samples = Vec::new();
            let mut at = p.start + step;
            while at < p.stop {
                let done = (at - p.start).num_seconds() as f64 / span;
                samples.push(self.sample(at, from + (to - from) * done, power, "Sample.Periodic"));
                at += step;
            }
            match self.spec.version {
                Version::V16 => {
                    let started = link
                        .call(
                            "StartTransaction",
                            json!({"connectorId": p.connector, "idTag": p.tag,
                                   "meterStart": from.round() as i64, "timestamp": ts(p.start)}),
                        )
                        .await?;
                    let tx = started
                        .get("transactionId")
                        .and_then(Value::as_i64)
                        .ok_or_else(|| {
                            anyhow!("StartTransaction without transactionId: {started}")
                        })?;
                    if !samples.is_empty() {
                        link.call(
                            "MeterValues",
                            json!({"connectorId": p.connector, "transactionId": tx, "meterValue": samples}),
                        )
                        .await?;
                    }
                    link.call(
                        "StopTransaction",
                        json!({"transactionId": tx, "idTag": p.tag, "meterStop": to.round() as i64,
                               "timestamp": ts(p.stop), "reason": "EVDisconnected"}),
                    )
                    .await?;
                }
                Version::V201 => {
                    let id = format!("demo-{}", ulid::Ulid::new());
                    let evse = json!({"id": p.connector, "connectorId": 1});
                    link.call(
                        "TransactionEvent",
                        json!({"eventType": "Started", "timestamp": ts(p.start), "triggerReason": "Authorized",
                               "seqNo": 0, "offline": true,
                               "transactionInfo": {"transactionId": id, "chargingState": "Charging"},
                               "idToken": {"idToken": p.tag, "type": "ISO14443"}, "evse": evse,
                               "meterValue": [self.sample(p.start, from, power, "Transaction.Begin")]}),
                    )
                    .await?;
                    if !samples.is_empty() {
                        link.call(
                            "TransactionEvent",
                            json!({"eventType": "Updated", "timestamp": ts(p.stop - ChronoDuration::minutes(1)),
                                   "triggerReason": "MeterValuePeriodic", "seqNo": 1, "offline": true,
                                   "transactionInfo": {"transactionId": id, "chargingState": "Charging"},
                                   "meterValue": samples}),
                        )
                        .await?;
                    }
                    link.call(
                        "TransactionEvent",
                        json!({"eventType": "Ended", "timestamp": ts(p.stop), "triggerReason": "EVCommunicationLost",
                               "seqNo": 2, "offline": true,
                               "transactionInfo": {"transactionId": id, "chargingState": "Idle", "stoppedReason": "EVDisconnected"},
                               "meterValue": [self.sample(p.stop, to, 0.0, "Transaction.End")]}),
                    )
                    .await?;
                }
            }
            self.state().connectors[idx].register_wh = to;
            past.remove(0);
        }
        Ok(())
    }

    /// Takes a free connector (`want`, or the first free one) and starts a
    /// transaction for `tag` that ends after `for_how_long`.
    async fn start(
        &self,
        link: &Link,
        want: Option<u32>,
        tag: String,
        for_how_long: Duration,
        remote_start_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let (connector, from) = {
            let mut st = self.state();
            let free = |i: usize, c: &Connector| {
                c.operative && !c.busy && want.is_none_or(|w| w as usize == i + 1)
            };
            let Some(i) = st
                .connectors
                .iter()
                .enumerate()
                .position(|(i, c)| free(i, c))
            else {
                bail!("no free connector");
            };
            st.connectors[i].busy = true;
            ((i + 1) as u32, st.connectors[i].register_wh)
        };
        self.publish(true);
        let now = Utc::now();
        let power = {
            let mut rng = rand::thread_rng();
            rng.gen_range(3_700..=self.spec.max_w) as f64
        };
        let ends_at = now + ChronoDuration::from_std(for_how_long).unwrap_or_default();
        let result: anyhow::Result<Option<String>> = async {
            self.status(link, connector, "Preparing").await?;
            match self.spec.version {
                Version::V16 => {
                    let started = link
                        .call(
                            "StartTransaction",
                            json!({"connectorId": connector, "idTag": tag, "meterStart": from.round() as i64,
                                   "timestamp": ts(now)}),
                        )
                        .await?;
                    let tx = started.get("transactionId").and_then(Value::as_i64);
                    let accepted = started
                        .pointer("/idTagInfo/status")
                        .and_then(Value::as_str)
                        == Some("Accepted");
                    match (tx, accepted) {
                        (Some(tx), true) => Ok(Some(tx.to_string())),
                        (Some(tx), false) => {
                            // Refused: the charger ends what the CSMS opened.
                            link.call("StopTransaction", json!({"transactionId": tx, "meterStop": from.round() as i64,
                                "timestamp": ts(Utc::now()), "reason": "DeAuthorized"})).await?;
                            Ok(None)
                        }
                        (None, _) => Ok(None),
                    }
                }
                Version::V201 => {
                    let id = format!("demo-{}", ulid::Ulid::new());
                    let mut info = json!({"transactionId": id, "chargingState": "Charging"});
                    if let Some(r) = remote_start_id {
                        info["remoteStartId"] = json!(r);
                    }
                    let answer = link
                        .call(
                            "TransactionEvent",
                            json!({"eventType": "Started", "timestamp": ts(now),
                                   "triggerReason": if remote_start_id.is_some() { "RemoteStart" } else { "Authorized" },
                                   "seqNo": 0, "transactionInfo": info,
                                   "idToken": {"idToken": tag, "type": "ISO14443"},
                                   "evse": {"id": connector, "connectorId": 1},
                                   "meterValue": [self.sample(now, from, 0.0, "Transaction.Begin")]}),
                        )
                        .await?;
                    let accepted = answer
                        .pointer("/idTokenInfo/status")
                        .and_then(Value::as_str)
                        .is_none_or(|s| s == "Accepted");
                    if accepted {
                        Ok(Some(id))
                    } else {
                        link.call("TransactionEvent", json!({"eventType": "Ended", "timestamp": ts(Utc::now()),
                            "triggerReason": "Deauthorized", "seqNo": 1,
                            "transactionInfo": {"transactionId": id, "chargingState": "Idle", "stoppedReason": "DeAuthorized"}})).await?;
                        Ok(None)
                    }
                }
            }
        }
        .await;
        let id = match result {
            Ok(Some(id)) => id,
            other => {
                self.state().connectors[connector as usize - 1].busy = false;
                let status = self.idle_status(connector);
                let _ = self.status(link, connector, status).await;
                self.publish(true);
                return other.map(|_| ());
            }
        };
        self.state().connectors[connector as usize - 1].running = Some(Running {
            id,
            tag,
            power_w: power,
            ends_at,
            last_sample: now,
            seq: 1,
        });
        self.status(link, connector, "Charging").await?;
        tracing::info!(station = self.spec.id, connector, "demo charger: charging");
        Ok(())
    }

    /// Every running transaction: the register grows by what flowed since
    /// the last sample; the meter is sent; due ones stop.
    async fn meter_tick(&self, link: &Link) -> anyhow::Result<()> {
        let now = Utc::now();
        let mut due = Vec::new();
        let mut sends = Vec::new();
        {
            let mut st = self.state();
            let mut rng = rand::thread_rng();
            for (i, c) in st.connectors.iter_mut().enumerate() {
                let Some(r) = c.running.as_mut() else {
                    continue;
                };
                let secs = (now - r.last_sample).num_milliseconds().max(0) as f64 / 1000.0;
                // A little ripple, as a real car draws.
                let w = (r.power_w * rng.gen_range(0.97..1.03)).min(self.spec.max_w as f64);
                c.register_wh += w * secs / 3600.0;
                r.last_sample = now;
                let seq = r.seq;
                r.seq += 1;
                sends.push(((i + 1) as u32, r.id.clone(), seq, c.register_wh, w));
                if now >= r.ends_at {
                    due.push((i + 1) as u32);
                }
            }
        }
        for (connector, id, seq, wh, w) in sends {
            let sample = self.sample(now, wh, w, "Sample.Periodic");
            match self.spec.version {
                Version::V16 => {
                    let tx: i64 = id.parse().unwrap_or_default();
                    link.call("MeterValues", json!({"connectorId": connector, "transactionId": tx, "meterValue": [sample]}))
                        .await?;
                }
                Version::V201 => {
                    link.call(
                        "TransactionEvent",
                        json!({"eventType": "Updated", "timestamp": ts(now),
                        "triggerReason": "MeterValuePeriodic", "seqNo": seq,
                        "transactionInfo": {"transactionId": id, "chargingState": "Charging"},
                        "meterValue": [sample]}),
                    )
                    .await?;
                }
            }
        }
        for connector in due {
            self.stop(link, connector, "EVDisconnected").await?;
        }
        Ok(())
    }

    /// Ends the transaction on `connector`, if one runs.
    async fn stop(&self, link: &Link, connector: u32, reason: &str) -> anyhow::Result<()> {
        let (running, wh) = {
            let mut st = self.state();
            let Some(c) = st.connectors.get_mut(connector as usize - 1) else {
                return Ok(());
            };
            let Some(r) = c.running.take() else {
                return Ok(());
            };
            (r, c.register_wh)
        };
        let now = Utc::now();
        match self.spec.version {
            Version::V16 => {
                let tx: i64 = running.id.parse().unwrap_or_default();
                link.call(
                    "StopTransaction",
                    json!({"transactionId": tx, "idTag": running.tag, "meterStop": wh.round() as i64,
                           "timestamp": ts(now), "reason": reason}),
                )
                .await?;
                self.status(link, connector, "Finishing").await?;
            }
            Version::V201 => {
                let trigger = match reason {
                    "Remote" => "RemoteStop",
                    "SoftReset" | "HardReset" | "ImmediateReset" => "ResetCommand",
                    _ => "EVCommunicationLost",
                };
                link.call(
                    "TransactionEvent",
                    json!({"eventType": "Ended", "timestamp": ts(now), "triggerReason": trigger,
                           "seqNo": running.seq,
                           "transactionInfo": {"transactionId": running.id, "chargingState": "Idle", "stoppedReason": reason},
                           "meterValue": [self.sample(now, wh, 0.0, "Transaction.End")]}),
                )
                .await?;
            }
        }
        self.state().connectors[connector as usize - 1].busy = false;
        let status = self.idle_status(connector);
        self.status(link, connector, status).await?;
        self.publish(true);
        tracing::info!(station = self.spec.id, connector, "demo charger: stopped");
        Ok(())
    }

    /// A 2.0.1 device model in one NotifyReport: the station, its
    /// controllers' settings and each EVSE and connector.
    fn report(&self, request_id: i64) -> Value {
        let item = |component: Value, name: &str, value: &str, rw: bool, data_type: &str| {
            json!({"component": component, "variable": {"name": name},
                   "variableAttribute": [{"type": "Actual", "value": value,
                       "mutability": if rw { "ReadWrite" } else { "ReadOnly" }}],
                   "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": false}})
        };
        let st = self.state();
        let setting = |k: &str| st.config.get(k).map(|(v, _)| v.clone()).unwrap_or_default();
        let mut data = vec![
            item(
                json!({"name": "ChargingStation"}),
                "Model",
                self.spec.model,
                false,
                "string",
            ),
            item(
                json!({"name": "ChargingStation"}),
                "VendorName",
                self.spec.vendor,
                false,
                "string",
            ),
            item(
                json!({"name": "OCPPCommCtrlr"}),
                "HeartbeatInterval",
                &setting("HeartbeatInterval"),
                true,
                "integer",
            ),
            item(
                json!({"name": "SampledDataCtrlr"}),
                "TxUpdatedInterval",
                &setting("MeterValueSampleInterval"),
                true,
                "integer",
            ),
            item(
                json!({"name": "AuthCtrlr"}),
                "AuthorizeRemoteStart",
                &setting("AuthorizeRemoteTxRequests"),
                true,
                "boolean",
            ),
            item(
                json!({"name": "SmartChargingCtrlr"}),
                "Enabled",
                "true",
                false,
                "boolean",
            ),
        ];
        for (i, c) in st.connectors.iter().enumerate() {
            let evse = i + 1;
            let state = if !c.operative {
                "Unavailable"
            } else if c.busy {
                "Occupied"
            } else {
                "Available"
            };
            data.push(item(
                json!({"name": "EVSE", "evse": {"id": evse}}),
                "AvailabilityState",
                state,
                false,
                "string",
            ));
            data.push(item(
                json!({"name": "EVSE", "evse": {"id": evse}}),
                "Power",
                &self.spec.max_w.to_string(),
                false,
                "decimal",
            ));
            data.push(item(
                json!({"name": "Connector", "evse": {"id": evse, "connectorId": 1}}),
                "ConnectorType",
                "cType2",
                false,
                "string",
            ));
        }
        json!({"requestId": request_id, "generatedAt": ts(Utc::now()), "seqNo": 0, "tbc": false, "reportData": data})
    }

    /// The connector a transaction id runs on.
    fn connector_of(&self, id: &str) -> Option<u32> {
        self.state()
            .connectors
            .iter()
            .position(|c| c.running.as_ref().is_some_and(|r| r.id == id))
            .map(|i| (i + 1) as u32)
    }

    /// Runs `work` after the answer has gone out.
    fn then<F, Fut>(self: &Arc<Self>, link: &Link, work: F)
    where
        F: FnOnce(Arc<Charger>, Link) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let me = self.clone();
        let link = link.clone();
        let station = self.spec.id;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Err(e) = work(me, link).await {
                tracing::warn!(station, error = %format!("{e:#}"), "demo charger: acting on a command failed");
            }
        });
    }

    /// Answers a CALL of the CSMS at once; what follows from it (a start, a
    /// stop, a reboot) runs after.
    fn answer(self: &Arc<Self>, link: &Link, id: &str, action: &str, p: &Value) {
        let live = Duration::from_secs(20 * 60);
        let connector = |k: &str| p.get(k).and_then(Value::as_u64).map(|c| c as u32);
        let reply = match (self.spec.version, action) {
            (Version::V16, "RemoteStartTransaction") => {
                let tag = p
                    .get("idTag")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let want = connector("connectorId").filter(|c| *c > 0);
                let free = self.state().connectors.iter().enumerate().any(|(i, c)| {
                    c.operative && !c.busy && want.is_none_or(|w| w as usize == i + 1)
                });
                if free {
                    self.then(link, move |me, l| async move {
                        me.start(&l, want, tag, live, None).await
                    });
                }
                json!({"status": if free { "Accepted" } else { "Rejected" }})
            }
            (Version::V201, "RequestStartTransaction") => {
                let tag = p
                    .pointer("/idToken/idToken")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let want = connector("evseId").filter(|c| *c > 0);
                let remote = p.get("remoteStartId").and_then(Value::as_i64);
                let free = self.state().connectors.iter().enumerate().any(|(i, c)| {
                    c.operative && !c.busy && want.is_none_or(|w| w as usize == i + 1)
                });
                if free {
                    self.then(link, move |me, l| async move {
                        me.start(&l, want, tag, live, remote).await
                    });
                }
                json!({"status": if free { "Accepted" } else { "Rejected" }})
            }
            (Version::V16, "RemoteStopTransaction") | (Version::V201, "RequestStopTransaction") => {
                let tx = match p.get("transactionId") {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                match self.connector_of(&tx) {
                    Some(c) => {
                        self.then(
                            link,
                            move |me, l| async move { me.stop(&l, c, "Remote").await },
                        );
                        json!({"status": "Accepted"})
                    }
                    None => json!({"status": "Rejected"}),
                }
            }
            (_, "Reset") => {
                let reason = match p.get("type").and_then(Value::as_str) {
                    Some("Hard") => "HardReset",
                    Some("Soft") => "SoftReset",
                    _ => "ImmediateReset",
                };
                let reason: &'static str = reason;
                self.then(link, move |me, l| async move {
                    for c in 1..=me.spec.connectors {
                        me.stop(&l, c, reason).await?;
                    }
                    // The reboot: the socket closes and the charger dials again.
                    me.state().boot_reason = "RemoteReset";
                    let _ = l.out.send(Message::Close(None));
                    Ok(())
                });
                json!({"status": "Accepted"})
            }
            (Version::V16, "ChangeAvailability") | (Version::V201, "ChangeAvailability") => {
                let (which, operative) = match self.spec.version {
                    Version::V16 => (
                        connector("connectorId").unwrap_or(0),
                        p.get("type").and_then(Value::as_str) == Some("Operative"),
                    ),
                    Version::V201 => (
                        p.pointer("/evse/id").and_then(Value::as_u64).unwrap_or(0) as u32,
                        p.get("operationalStatus").and_then(Value::as_str) == Some("Operative"),
                    ),
                };
                let targets: Vec<u32> = if which == 0 {
                    (1..=self.spec.connectors).collect()
                } else {
                    vec![which]
                };
                if targets.iter().any(|c| *c == 0 || *c > self.spec.connectors) {
                    json!({"status": "Rejected"})
                } else {
                    let mut busy = false;
                    {
                        let mut st = self.state();
                        for c in &targets {
                            let conn = &mut st.connectors[*c as usize - 1];
                            conn.operative = operative;
                            busy |= conn.busy;
                        }
                    }
                    self.then(link, move |me, l| async move {
                        for c in targets {
                            if me.state().connectors[c as usize - 1].busy {
                                continue;
                            }
                            let s = me.idle_status(c);
                            me.status(&l, c, s).await?;
                        }
                        me.publish(true);
                        Ok(())
                    });
                    json!({"status": if busy { "Scheduled" } else { "Accepted" }})
                }
            }
            (Version::V16, "GetConfiguration") => {
                let st = self.state();
                let asked: Option<Vec<String>> = p.get("key").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                });
                let mut known = Vec::new();
                let mut unknown = Vec::new();
                let mut keys: Vec<&&str> = st.config.keys().collect();
                keys.sort();
                match asked.filter(|a| !a.is_empty()) {
                    None => {
                        for k in keys {
                            let (v, ro) = &st.config[*k];
                            known.push(json!({"key": k, "readonly": ro, "value": v}));
                        }
                    }
                    Some(asked) => {
                        for k in asked {
                            match st.config.get(k.as_str()) {
                                Some((v, ro)) => {
                                    known.push(json!({"key": k, "readonly": ro, "value": v}))
                                }
                                None => unknown.push(json!(k)),
                            }
                        }
                    }
                }
                let mut body = json!({"configurationKey": known});
                if !unknown.is_empty() {
                    body["unknownKey"] = json!(unknown);
                }
                body
            }
            (Version::V16, "ChangeConfiguration") => {
                let key = p.get("key").and_then(Value::as_str).unwrap_or_default();
                let value = p.get("value").and_then(Value::as_str).unwrap_or_default();
                let mut st = self.state();
                let status = match st.config.get_mut(key) {
                    Some((_, true)) => "Rejected",
                    Some((v, false)) => {
                        *v = value.to_owned();
                        "Accepted"
                    }
                    None => "NotSupported",
                };
                json!({"status": status})
            }
            (Version::V201, "GetVariables") => {
                let items = p
                    .get("getVariableData")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let st = self.state();
                let results: Vec<Value> = items
                    .iter()
                    .map(|d| {
                        let name = d.pointer("/variable/name").and_then(Value::as_str).unwrap_or_default();
                        let mut r = json!({"component": d.get("component").cloned().unwrap_or(json!({"name": "?"})),
                                           "variable": d.get("variable").cloned().unwrap_or(json!({"name": "?"}))});
                        match st.config.get(name) {
                            Some((v, _)) => {
                                r["attributeStatus"] = json!("Accepted");
                                r["attributeValue"] = json!(v);
                            }
                            None => r["attributeStatus"] = json!("UnknownVariable"),
                        }
                        r
                    })
                    .collect();
                json!({"getVariableResult": results})
            }
            (Version::V201, "SetVariables") => {
                let items = p
                    .get("setVariableData")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut st = self.state();
                let results: Vec<Value> = items
                    .iter()
                    .map(|d| {
                        let name = d
                            .pointer("/variable/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let value = d
                            .get("attributeValue")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let status = match st.config.get_mut(name) {
                            Some((_, true)) => "Rejected",
                            Some((v, false)) => {
                                *v = value.to_owned();
                                "Accepted"
                            }
                            None => "UnknownVariable",
                        };
                        json!({"attributeStatus": status,
                        "component": d.get("component").cloned().unwrap_or(json!({"name": "?"})),
                        "variable": d.get("variable").cloned().unwrap_or(json!({"name": "?"}))})
                    })
                    .collect();
                json!({"setVariableResult": results})
            }
            (_, "SetChargingProfile") => json!({"status": "Accepted"}),
            (Version::V16, "ClearChargingProfile") | (Version::V201, "ClearChargingProfile") => {
                json!({"status": "Accepted"})
            }
            (Version::V16, "GetCompositeSchedule") | (Version::V201, "GetCompositeSchedule") => {
                json!({"status": "Rejected"})
            }
            (_, "UnlockConnector") => json!({"status": "Unlocked"}),
            (_, "ClearCache") => json!({"status": "Accepted"}),
            (_, "DataTransfer") => json!({"status": "UnknownVendorId"}),
            (Version::V16, "GetLocalListVersion") => json!({"listVersion": 0}),
            (Version::V201, "GetLocalListVersion") => json!({"versionNumber": 0}),
            (_, "SendLocalList") => json!({"status": "Accepted"}),
            (_, "ReserveNow") => json!({"status": "Accepted"}),
            (_, "CancelReservation") => json!({"status": "Accepted"}),
            (Version::V16, "GetDiagnostics") => json!({}),
            (Version::V16, "UpdateFirmware") => {
                self.then(link, |_, l| async move {
                    for s in ["Downloading", "Downloaded", "Installing", "Installed"] {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        l.call("FirmwareStatusNotification", json!({"status": s}))
                            .await?;
                    }
                    Ok(())
                });
                json!({})
            }
            (Version::V201, "GetBaseReport") => {
                let request = p
                    .get("requestId")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                self.then(link, move |me, l| async move {
                    l.call("NotifyReport", me.report(request)).await.map(|_| ())
                });
                json!({"status": "Accepted"})
            }
            (Version::V201, "GetReport") => json!({"status": "NotSupported"}),
            (Version::V201, "GetLog") | (Version::V201, "UpdateFirmware") => {
                json!({"status": "Rejected"})
            }
            (_, "TriggerMessage") => {
                let what = p
                    .get("requestedMessage")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let known = matches!(
                    what.as_str(),
                    "BootNotification" | "Heartbeat" | "StatusNotification" | "MeterValues"
                );
                if known {
                    self.then(link, move |me, l| async move {
                        match what.as_str() {
                            "BootNotification" => me.boot(&l).await,
                            "Heartbeat" => l.call("Heartbeat", json!({})).await.map(|_| ()),
                            "StatusNotification" => me.all_statuses(&l).await,
                            _ => me.meter_tick(&l).await,
                        }
                    });
                }
                json!({"status": if known { "Accepted" } else { "NotImplemented" }})
            }
            _ => {
                link.error(
                    id,
                    "NotImplemented",
                    &format!("the demo charger does not do {action}"),
                );
                return;
            }
        };
        link.reply(id, reply);
    }
}

/// The CALLs awaiting answers, by message id: a CALLRESULT's payload, or a
/// CALLERROR's code and description.
type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<Value, String>>>>>;

/// The sending half of a charger's socket and the CALLs awaiting answers.
#[derive(Clone)]
pub struct Link {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl Link {
    /// Sends a CALL and waits for its CALLRESULT; a CALLERROR is an error.
    async fn call(&self, action: &str, payload: Value) -> anyhow::Result<Value> {
        let id = format!("demo-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending lock")
            .insert(id.clone(), tx);
        let frame = json!([2, id, action, payload]).to_string();
        self.out
            .send(Message::Text(frame.into()))
            .map_err(|_| anyhow!("{action}: the socket is closed"))?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, rx).await;
        self.pending.lock().expect("pending lock").remove(&id);
        match answer {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => bail!("{action} was answered with CALLERROR {e}"),
            Ok(Err(_)) => bail!("{action}: the socket closed before the answer"),
            Err(_) => bail!("{action}: no answer within {}s", ANSWER_TIMEOUT.as_secs()),
        }
    }

    fn reply(&self, id: &str, payload: Value) {
        let _ = self
            .out
            .send(Message::Text(json!([3, id, payload]).to_string().into()));
    }

    fn error(&self, id: &str, code: &str, description: &str) {
        let _ = self.out.send(Message::Text(
            json!([4, id, code, description, {}]).to_string().into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    //! The simulated charger's frames, both ways, against the official OCPP
    //! JSON schemas (the CSMS checks them too; here every branch is hit).
    use super::*;
    use crate::demo::history::month_of;
    use crate::demo::world::{tags_of, STATIONS};
    use csms_ocpp::schema::{validate, Kind};

    fn wire(v: Version) -> csms_ocpp::Version {
        match v {
            Version::V16 => csms_ocpp::Version::V16,
            Version::V201 => csms_ocpp::Version::V201,
        }
    }

    fn charger(id: &str) -> Arc<Charger> {
        let spec = STATIONS
            .iter()
            .find(|s| s.id == id)
            .expect("a demo station");
        let pace = Pace {
            meter_every: Duration::from_secs(1),
        };
        Charger::new(spec, "ws://unused".into(), "unused".into(), pace, 1_000.0).0
    }

    /// A link whose CALLs a fake CSMS answers (minimal valid answers),
    /// after checking each against its request schema; the violations.
    fn csms(version: Version) -> (Link, Arc<Mutex<Vec<String>>>) {
        let (out, mut rx) = mpsc::unbounded_channel::<Message>();
        let link = Link {
            out,
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        };
        let bad = Arc::new(Mutex::new(Vec::new()));
        let (pending, found) = (link.pending.clone(), bad.clone());
        tokio::spawn(async move {
            let mut tx = 0;
            while let Some(Message::Text(t)) = rx.recv().await {
                let frame: Value = serde_json::from_str(&t).expect("JSON");
                let (id, action, payload) = (
                    frame[1].as_str().unwrap(),
                    frame[2].as_str().unwrap(),
                    &frame[3],
                );
                if let Err(v) = validate(wire(version), action, Kind::Request, payload) {
                    found
                        .lock()
                        .unwrap()
                        .push(format!("{action} {payload}: {v:?}"));
                }
                let now = ts(Utc::now());
                tx += 1;
                let answer = match (version, action) {
                    (_, "BootNotification") => {
                        json!({"status": "Accepted", "currentTime": now, "interval": 300})
                    }
                    (_, "Heartbeat") => json!({"currentTime": now}),
                    (Version::V16, "StartTransaction") => {
                        json!({"transactionId": tx, "idTagInfo": {"status": "Accepted"}})
                    }
                    (Version::V16, "StopTransaction") => {
                        json!({"idTagInfo": {"status": "Accepted"}})
                    }
                    (Version::V201, "TransactionEvent") => {
                        json!({"idTokenInfo": {"status": "Accepted"}})
                    }
                    _ => json!({}),
                };
                if let Some(waiting) = pending.lock().unwrap().remove(id) {
                    let _ = waiting.send(Ok(answer));
                }
            }
        });
        (link, bad)
    }

    #[tokio::test]
    async fn its_calls_follow_the_schemas_of_its_version() {
        for id in ["SOLROSEN-G1", "SOLROSEN-P1"] {
            let c = charger(id);
            let (link, bad) = csms(c.spec.version);
            c.boot(&link).await.unwrap();
            c.all_statuses(&link).await.unwrap();
            let month = month_of(c.spec, &tags_of(c.spec.org), Utc::now());
            let mut three: Vec<_> = month.into_iter().take(3).collect();
            c.replay(&link, &mut three).await.unwrap();
            assert!(three.is_empty(), "every session sent");
            c.start(
                &link,
                Some(1),
                "04A1B2C3D4E501".into(),
                Duration::ZERO,
                Some(7),
            )
            .await
            .unwrap();
            assert!(c.state().connectors[0].running.is_some(), "{id} charges");
            c.meter_tick(&link).await.unwrap();
            assert!(
                c.state().connectors[0].running.is_none(),
                "{id} stopped when due"
            );
            assert!(!c.state().connectors[0].busy);
            if c.spec.version == Version::V201 {
                link.call("NotifyReport", c.report(3)).await.unwrap();
            }
            assert_eq!(*bad.lock().unwrap(), Vec::<String>::new(), "{id}");
        }
    }

    /// The CALLRESULT `c` answers to a CALL of the CSMS.
    async fn answer_of(c: &Arc<Charger>, action: &str, payload: Value) -> Value {
        let (out, mut rx) = mpsc::unbounded_channel::<Message>();
        let link = Link {
            out,
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        };
        c.answer(&link, "m-1", action, &payload);
        let Some(Message::Text(t)) = rx.recv().await else {
            panic!("no answer to {action}")
        };
        let frame: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(frame[0], 3, "{action} answered {frame}");
        frame[2].clone()
    }

    #[tokio::test]
    async fn its_answers_follow_the_schemas_of_its_version() {
        let v16 = charger("VOLTWAY-K1");
        let cases16 = [
            (
                "RemoteStartTransaction",
                json!({"idTag": "04F6E5D4C3B201", "connectorId": 1}),
                Some("Accepted"),
            ),
            (
                "RemoteStopTransaction",
                json!({"transactionId": 99}),
                Some("Rejected"),
            ),
            ("Reset", json!({"type": "Soft"}), Some("Accepted")),
            (
                "ChangeAvailability",
                json!({"connectorId": 2, "type": "Inoperative"}),
                Some("Accepted"),
            ),
            (
                "GetConfiguration",
                json!({"key": ["HeartbeatInterval", "Nope"]}),
                None,
            ),
            ("GetConfiguration", json!({}), None),
            (
                "ChangeConfiguration",
                json!({"key": "HeartbeatInterval", "value": "120"}),
                Some("Accepted"),
            ),
            (
                "ChangeConfiguration",
                json!({"key": "NumberOfConnectors", "value": "9"}),
                Some("Rejected"),
            ),
            (
                "ChangeConfiguration",
                json!({"key": "Nope", "value": "1"}),
                Some("NotSupported"),
            ),
            (
                "SetChargingProfile",
                json!({"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}}}),
                Some("Accepted"),
            ),
            ("ClearChargingProfile", json!({}), Some("Accepted")),
            (
                "GetCompositeSchedule",
                json!({"connectorId": 1, "duration": 3600}),
                Some("Rejected"),
            ),
            (
                "UnlockConnector",
                json!({"connectorId": 1}),
                Some("Unlocked"),
            ),
            (
                "TriggerMessage",
                json!({"requestedMessage": "Heartbeat"}),
                Some("Accepted"),
            ),
            (
                "TriggerMessage",
                json!({"requestedMessage": "DiagnosticsStatusNotification"}),
                Some("NotImplemented"),
            ),
            ("ClearCache", json!({}), Some("Accepted")),
            (
                "DataTransfer",
                json!({"vendorId": "x"}),
                Some("UnknownVendorId"),
            ),
            ("GetLocalListVersion", json!({}), None),
            (
                "SendLocalList",
                json!({"listVersion": 1, "updateType": "Full"}),
                Some("Accepted"),
            ),
            (
                "ReserveNow",
                json!({"connectorId": 1, "expiryDate": ts(Utc::now()), "idTag": "x", "reservationId": 1}),
                Some("Accepted"),
            ),
            (
                "CancelReservation",
                json!({"reservationId": 1}),
                Some("Accepted"),
            ),
            ("GetDiagnostics", json!({"location": "ftp://x/y"}), None),
            (
                "UpdateFirmware",
                json!({"location": "https://x/y", "retrieveDate": ts(Utc::now())}),
                None,
            ),
        ];
        let v201 = charger("VOLTWAY-K2");
        let var = |c: &str, v: &str| json!({"component": {"name": c}, "variable": {"name": v}});
        let cases201 = [
            (
                "RequestStartTransaction",
                json!({"idToken": {"idToken": "x", "type": "ISO14443"}, "remoteStartId": 1, "evseId": 1}),
                Some("Accepted"),
            ),
            (
                "RequestStopTransaction",
                json!({"transactionId": "nope"}),
                Some("Rejected"),
            ),
            ("Reset", json!({"type": "Immediate"}), Some("Accepted")),
            (
                "ChangeAvailability",
                json!({"operationalStatus": "Inoperative", "evse": {"id": 2}}),
                Some("Accepted"),
            ),
            (
                "GetVariables",
                json!({"getVariableData": [var("OCPPCommCtrlr", "HeartbeatInterval"), var("X", "Nope")]}),
                None,
            ),
            (
                "SetVariables",
                json!({"setVariableData": [{"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"}}]}),
                None,
            ),
            (
                "SetChargingProfile",
                json!({"evseId": 1, "chargingProfile": {"id": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}}),
                Some("Accepted"),
            ),
            ("ClearChargingProfile", json!({}), Some("Accepted")),
            (
                "UnlockConnector",
                json!({"evseId": 1, "connectorId": 1}),
                Some("Unlocked"),
            ),
            (
                "TriggerMessage",
                json!({"requestedMessage": "StatusNotification"}),
                Some("Accepted"),
            ),
            (
                "GetBaseReport",
                json!({"requestId": 1, "reportBase": "FullInventory"}),
                Some("Accepted"),
            ),
            ("GetReport", json!({"requestId": 2}), Some("NotSupported")),
            ("ClearCache", json!({}), Some("Accepted")),
            ("GetLocalListVersion", json!({}), None),
            (
                "SendLocalList",
                json!({"versionNumber": 1, "updateType": "Full"}),
                Some("Accepted"),
            ),
            (
                "ReserveNow",
                json!({"id": 1, "expiryDateTime": ts(Utc::now()), "idToken": {"idToken": "x", "type": "ISO14443"}}),
                Some("Accepted"),
            ),
            (
                "CancelReservation",
                json!({"reservationId": 1}),
                Some("Accepted"),
            ),
            (
                "GetLog",
                json!({"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": "ftp://x/y"}}),
                Some("Rejected"),
            ),
        ];
        for (c, cases) in [(&v16, &cases16[..]), (&v201, &cases201[..])] {
            let version = wire(c.spec.version);
            for (action, request, status) in cases {
                validate(version, action, Kind::Request, request)
                    .unwrap_or_else(|v| panic!("the test's {action} request is invalid: {v:?}"));
                let answer = answer_of(c, action, request.clone()).await;
                validate(version, action, Kind::Response, &answer).unwrap_or_else(|v| {
                    panic!("{} answered {action} with {answer}: {v:?}", c.spec.id)
                });
                if let Some(s) = status {
                    assert_eq!(answer["status"], *s, "{action}: {answer}");
                }
            }
        }
        assert_eq!(
            answer_of(
                &v16,
                "GetConfiguration",
                json!({"key": ["HeartbeatInterval"]})
            )
            .await["configurationKey"][0]["value"],
            "120",
            "ChangeConfiguration changed it"
        );
        // An action it does not do is a CALLERROR.
        let (out, mut rx) = mpsc::unbounded_channel::<Message>();
        let link = Link {
            out,
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        };
        v16.answer(&link, "m-2", "CertificateSigned", &json!({}));
        let Some(Message::Text(t)) = rx.recv().await else {
            panic!()
        };
        assert!(t.starts_with("[4,\"m-2\",\"NotImplemented\""), "{t}");
    }
}
