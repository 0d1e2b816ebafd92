//! Figure: DynamoDB requests per OCPP message, through the real Lambda
//! handlers against a moto server.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:5005 cargo run -p csms-aws --example ddb-requests
//! ```
//!
//! One 1.6 and one 2.0.1 charger connect, boot, authorize, run a metered
//! transaction (with a replayed end) and send every other charger-initiated
//! message; each is fed as an API Gateway event to the `$connect`, `$default`
//! or `$disconnect` handler, and the DynamoDB requests the SDK sent for it
//! (retries included) are counted. The table is printed as Markdown.
//! Its last column is what the reports' usage aggregate
//! (`csms_reports::UsageSubscriber`, on the event bus as in every
//! deployment) adds to the message: counted apart, on a store of its own
//! counter over the same table. (A session's price reaches it from the
//! pricing function, not from a charger message: one `GetItem` of the
//! session, one of the day, one `PutItem`.)
//!
//! Exits non-zero when a message is not answered with a CALLRESULT (the
//! figure would be meaningless) or when a Heartbeat costs more than one
//! request (the budget every later change is held to).

#[path = "../tests/support/mod.rs"]
mod support;

use anyhow::{bail, Context};
use aws_lambda_events::encodings::Body;
use csms_aws::ws::WsHandlers;
use csms_aws::{DynamoStore, RequestCounter};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::{self, NewIdToken, NewStation};
use csms_kernel::events::Bus;
use csms_kernel::ports::{Clock, Store, SystemClock};
use csms_reports::UsageSubscriber;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

struct Row {
    version: &'static str,
    message: String,
    total: u64,
    detail: String,
    usage: u64,
    usage_detail: String,
}

struct Figure {
    handlers: WsHandlers,
    counter: RequestCounter,
    /// The usage aggregate's requests.
    usage: RequestCounter,
    rows: Vec<Row>,
    seq: u32,
}

impl Figure {
    fn record(&mut self, version: &'static str, message: &str) {
        let snap = self.counter.snapshot();
        let detail = snap
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let usage_detail = self
            .usage
            .snapshot()
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.rows.push(Row {
            version,
            message: message.to_owned(),
            total: self.counter.total(),
            detail,
            usage: self.usage.total(),
            usage_detail,
        });
    }

    async fn connect(
        &mut self,
        version: &'static str,
        cid: &str,
        station: &str,
    ) -> anyhow::Result<()> {
        self.counter.reset();
        self.usage.reset();
        let r = self
            .handlers
            .connect(connect_event(
                cid,
                station,
                Some(version_protocol(version)),
                None,
            ))
            .await;
        if r.status_code != 200 {
            bail!("$connect of {station} refused with {}", r.status_code);
        }
        self.record(version, "$connect");
        Ok(())
    }

    async fn disconnect(&mut self, version: &'static str, cid: &str) {
        self.counter.reset();
        self.usage.reset();
        self.handlers.disconnect(disconnect_event(cid)).await;
        self.record(version, "$disconnect");
    }

    /// Send a CALL; return its CALLRESULT payload.
    async fn call(
        &mut self,
        version: &'static str,
        cid: &str,
        label: &str,
        action: &str,
        payload: Value,
    ) -> anyhow::Result<Value> {
        self.seq += 1;
        let frame = json!([2, format!("m{}", self.seq), action, payload]).to_string();
        self.counter.reset();
        self.usage.reset();
        let r = self.handlers.message(message_event(cid, &frame)).await;
        let reply = match r.body {
            Some(Body::Text(t)) => serde_json::from_str::<Value>(&t)?,
            other => bail!("{version} {action}: no reply ({other:?})"),
        };
        if reply[0] != 3 {
            bail!("{version} {action} was not accepted: {reply}");
        }
        self.record(version, label);
        Ok(reply[2].clone())
    }
}

fn version_protocol(v: &str) -> &'static str {
    if v == "1.6" {
        "ocpp1.6"
    } else {
        "ocpp2.0.1"
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn run_v16(f: &mut Figure) -> anyhow::Result<()> {
    let (v, c) = ("1.6", "fig-c16");
    f.connect(v, c, "FIG-16").await?;
    f.call(
        v,
        c,
        "BootNotification",
        "BootNotification",
        json!({"chargePointVendor": "Acme", "chargePointModel": "W22", "firmwareVersion": "1.0"}),
    )
    .await?;
    f.call(v, c, "Heartbeat", "Heartbeat", json!({})).await?;
    f.call(
        v,
        c,
        "StatusNotification",
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Preparing", "timestamp": now()}),
    )
    .await?;
    f.call(v, c, "Authorize", "Authorize", json!({"idTag": "FIG-TAG"}))
        .await?;
    // An unknown card is noted as seen, not registered: one conditional
    // UpdateItem, which writes nothing within a minute of the last sighting.
    for label in ["Authorize (unknown tag)", "Authorize (unknown tag, again)"] {
        f.call(v, c, label, "Authorize", json!({"idTag": "FIG-UNKNOWN"}))
            .await?;
    }
    let start = f
        .call(
            v,
            c,
            "StartTransaction",
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "FIG-TAG", "meterStart": 1000, "timestamp": now()}),
        )
        .await?;
    let tx = start["transactionId"]
        .as_i64()
        .context("StartTransaction without transactionId")?;
    f.call(
        v,
        c,
        "MeterValues (in transaction)",
        "MeterValues",
        json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": now(),
            "sampledValue": [
                {"value": "2500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                {"value": "10.4", "measurand": "Current.Import", "phase": "L1", "unit": "A"}]}]}),
    )
    .await?;
    let stop = json!({"transactionId": tx, "meterStop": 4000, "timestamp": now(), "reason": "Local",
        "transactionData": [{"timestamp": now(), "sampledValue": [
            {"value": "4000", "measurand": "Energy.Active.Import.Register", "context": "Transaction.End"}]}]});
    f.call(v, c, "StopTransaction", "StopTransaction", stop.clone())
        .await?;
    f.call(v, c, "StopTransaction (replayed)", "StopTransaction", stop)
        .await?;
    f.call(
        v,
        c,
        "DataTransfer",
        "DataTransfer",
        json!({"vendorId": "com.acme", "messageId": "ping", "data": "x"}),
    )
    .await?;
    f.call(
        v,
        c,
        "DiagnosticsStatusNotification",
        "DiagnosticsStatusNotification",
        json!({"status": "Uploading"}),
    )
    .await?;
    f.call(
        v,
        c,
        "FirmwareStatusNotification",
        "FirmwareStatusNotification",
        json!({"status": "Downloading"}),
    )
    .await?;
    f.disconnect(v, c).await;
    Ok(())
}

async fn run_v201(f: &mut Figure) -> anyhow::Result<()> {
    let (v, c) = ("2.0.1", "fig-c201");
    f.connect(v, c, "FIG-201").await?;
    f.call(
        v,
        c,
        "BootNotification",
        "BootNotification",
        json!({"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "AC22"}}),
    )
    .await?;
    f.call(v, c, "Heartbeat", "Heartbeat", json!({})).await?;
    f.call(
        v,
        c,
        "StatusNotification",
        "StatusNotification",
        json!({"timestamp": now(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
    )
    .await?;
    f.call(
        v,
        c,
        "Authorize",
        "Authorize",
        json!({"idToken": {"idToken": "FIG-TAG", "type": "ISO14443"}}),
    )
    .await?;
    let event = |seq: u32, kind: &str, trigger: &str, wh: u32| {
        let mut p = json!({"eventType": kind, "timestamp": now(), "triggerReason": trigger,
            "seqNo": seq, "transactionInfo": {"transactionId": "FIG-TX"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": now(), "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register"},
                {"value": 11000, "measurand": "Power.Active.Import"}]}]});
        if kind == "Started" {
            p["idToken"] = json!({"idToken": "FIG-TAG", "type": "ISO14443"});
        }
        p
    };
    f.call(
        v,
        c,
        "TransactionEvent Started",
        "TransactionEvent",
        event(0, "Started", "Authorized", 500),
    )
    .await?;
    f.call(
        v,
        c,
        "TransactionEvent Updated",
        "TransactionEvent",
        event(1, "Updated", "MeterValuePeriodic", 1500),
    )
    .await?;
    let ended = event(2, "Ended", "StopAuthorized", 2500);
    f.call(
        v,
        c,
        "TransactionEvent Ended",
        "TransactionEvent",
        ended.clone(),
    )
    .await?;
    f.call(
        v,
        c,
        "TransactionEvent Ended (replayed)",
        "TransactionEvent",
        ended,
    )
    .await?;
    f.call(
        v,
        c,
        "MeterValues",
        "MeterValues",
        json!({"evseId": 1, "meterValue": [{"timestamp": now(), "sampledValue": [{"value": 2500.0}]}]}),
    )
    .await?;
    f.call(
        v,
        c,
        "NotifyReport",
        "NotifyReport",
        json!({"requestId": 1, "generatedAt": now(), "seqNo": 0, "tbc": false, "reportData": [
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"},
             "variableAttribute": [{"type": "Actual", "value": "AC22"}]}]}),
    )
    .await?;
    f.call(
        v,
        c,
        "NotifyEvent",
        "NotifyEvent",
        json!({"generatedAt": now(), "seqNo": 0, "tbc": false, "eventData": [
            {"eventId": 1, "timestamp": now(), "trigger": "Delta", "actualValue": "Faulted",
             "eventNotificationType": "HardWiredNotification",
             "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
             "variable": {"name": "AvailabilityState"}}]}),
    )
    .await?;
    f.call(
        v,
        c,
        "SecurityEventNotification",
        "SecurityEventNotification",
        json!({"type": "SettingSystemTime", "timestamp": now()}),
    )
    .await?;
    f.call(
        v,
        c,
        "FirmwareStatusNotification",
        "FirmwareStatusNotification",
        json!({"status": "Downloading", "requestId": 1}),
    )
    .await?;
    f.call(
        v,
        c,
        "LogStatusNotification",
        "LogStatusNotification",
        json!({"status": "Uploading", "requestId": 1}),
    )
    .await?;
    f.call(
        v,
        c,
        "DataTransfer",
        "DataTransfer",
        json!({"vendorId": "com.acme", "messageId": "ping", "data": "x"}),
    )
    .await?;
    f.disconnect(v, c).await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sdk = sdk_config().await;
    let counter = RequestCounter::new();
    let table = unique_table("csms-figure");
    let store = Arc::new(DynamoStore::with_counter(&sdk, table.clone(), &counter));
    let usage = RequestCounter::new();
    let usage_store: Arc<dyn Store> = Arc::new(DynamoStore::with_counter(&sdk, table, &usage));
    store.create_table().await.context("creating the table")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    for id in ["FIG-16", "FIG-201"] {
        registry::register_station(
            &*store,
            &SystemClock,
            NewStation {
                id: id.into(),
                ..Default::default()
            },
        )
        .await?;
    }
    registry::register_id_token(
        &*store,
        &SystemClock,
        NewIdToken {
            id_token: "FIG-TAG".into(),
            token_type: "ISO14443".into(),
            fields: csms_charging::laddid::TokenFields {
                status: Some("Accepted".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let dyn_store: Arc<dyn Store> = store.clone();
    let charger = ChargerService::new(dyn_store, clock.clone(), ChargerConfig::default())
        .with_events(Arc::new(Bus::new(vec![Arc::new(UsageSubscriber::new(
            usage_store,
        ))])));
    // No Management API sender: no connection is replaced here, and the
    // figure is about DynamoDB.
    let mut f = Figure {
        handlers: WsHandlers::new(charger, clock, None),
        counter,
        usage,
        rows: Vec::new(),
        seq: 0,
    };
    run_v16(&mut f).await?;
    run_v201(&mut f).await?;

    println!("DynamoDB requests per OCPP message (Lambda handlers against moto):\n");
    println!("| OCPP | message | requests | by operation | + usage aggregate (reports) |");
    println!("|---|---|---:|---|---|");
    for r in &f.rows {
        println!(
            "| {} | {} | {} | {} | {} {} |",
            r.version,
            r.message,
            r.total,
            r.detail,
            r.usage,
            if r.usage_detail.is_empty() {
                String::new()
            } else {
                format!("({})", r.usage_detail)
            }
        );
    }
    let messages = f.rows.len().max(1) as f64;
    let writes: u64 = f
        .rows
        .iter()
        .flat_map(|r| r.usage_detail.split(", "))
        .filter_map(|part| part.strip_prefix("PutItem "))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    println!(
        "\nThe usage aggregate: {} requests over {} messages, {writes} of them writes ({:.2} writes per message).",
        f.rows.iter().map(|r| r.usage).sum::<u64>(),
        f.rows.len(),
        writes as f64 / messages
    );
    let worst_heartbeat = f
        .rows
        .iter()
        .filter(|r| r.message == "Heartbeat")
        .map(|r| r.total)
        .max()
        .unwrap_or(0);
    if worst_heartbeat > 1 {
        bail!("a Heartbeat cost {worst_heartbeat} DynamoDB requests; the budget is 1");
    }
    Ok(())
}
