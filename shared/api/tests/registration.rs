//! Registration status over the embedded store: a station's approval decides
//! the answer to its BootNotification and the interval with it; a station
//! that is not accepted may send only its boot (and, while pending, what the
//! CSMS asked for); commands to it are limited; approving a connected
//! pending station asks it to boot again; `station.registration` is
//! published when the answer changes. End to end on real sockets:
//! `tests/e2e/test_field_registration.py`.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::{self, NewStation};
use csms_commands::service::{CommandError, CommandService, NoTimers, SubmitOptions};
use csms_domain::command::{CommandRequest, CommandStatus, ConfigRef, ResetKind};
use csms_domain::station::{Approval, RegistrationStatus};
use csms_domain::webhook::EventType;
use csms_domain::{OcppVersion, StationId};
use csms_kernel::events::{DomainEvent, EventBus};
use csms_kernel::ports::{ConnectionSender, SendError, Store};
use csms_notify::{webhook_event, Event};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

mod support;
use support::{register_station, ManualClock};

#[derive(Default)]
struct Socket(Mutex<Vec<Value>>);

#[async_trait]
impl ConnectionSender for Socket {
    async fn send(&self, _connection_id: &str, frame: &str) -> Result<(), SendError> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_str(frame).unwrap());
        Ok(())
    }
    async fn close(&self, _connection_id: &str) -> Result<(), SendError> {
        Ok(())
    }
}

/// The webhook events of what was published.
#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

#[async_trait]
impl EventBus for Events {
    async fn publish(&self, event: DomainEvent) {
        if let Some(event) = webhook_event(&event) {
            self.0.lock().unwrap().push(event);
        }
    }
}

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    socket: Arc<Socket>,
    events: Arc<Events>,
    commands: CommandService<dyn Store>,
    charger: ChargerService<dyn Store>,
}

const PENDING_INTERVAL: u32 = 45;

async fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap(),
    ));
    let socket = Arc::new(Socket::default());
    let events = Arc::new(Events::default());
    let commands = CommandService::new(
        store.clone(),
        clock.clone(),
        socket.clone(),
        Arc::new(NoTimers),
    );
    let config = ChargerConfig {
        heartbeat_interval_secs: 300,
        pending_boot_interval_secs: PENDING_INTERVAL,
    };
    let charger = ChargerService::new(store.clone(), clock.clone(), config)
        .with_replies(Arc::new(commands.clone()))
        .with_events(events.clone());
    World {
        store,
        clock,
        socket,
        events,
        commands,
        charger,
    }
}

impl World {
    async fn station(&self, id: &str, approval: &str, version: OcppVersion) -> StationId {
        let new = NewStation {
            id: id.into(),
            approval: Some(approval.into()),
            ..Default::default()
        };
        register_station(&*self.store, &*self.clock, new, Some(version)).await
    }

    /// The reply to a CALL from the charger.
    async fn call(&self, station: &StationId, action: &str, payload: Value) -> Value {
        let frame = json!([2, "m-1", action, payload]);
        let out = self
            .charger
            .on_message(&format!("conn-{station}"), &frame.to_string())
            .await
            .expect("a CALL is answered");
        serde_json::from_str(&out).unwrap()
    }

    async fn boot(&self, station: &StationId, version: OcppVersion) -> Value {
        match version {
            OcppVersion::V16 => {
                self.call(
                    station,
                    "BootNotification",
                    json!({"chargePointVendor": "Acme", "chargePointModel": "W1"}),
                )
                .await
            }
            OcppVersion::V201 => {
                self.call(
                    station,
                    "BootNotification",
                    json!({"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "W1"}}),
                )
                .await
            }
        }
    }

    async fn status_notification(&self, station: &StationId, version: OcppVersion) -> Value {
        match version {
            OcppVersion::V16 => {
                self.call(
                    station,
                    "StatusNotification",
                    json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
                )
                .await
            }
            OcppVersion::V201 => {
                self.call(
                    station,
                    "StatusNotification",
                    json!({"timestamp": "2026-12-05T09:00:00Z", "connectorStatus": "Available",
                           "evseId": 1, "connectorId": 1}),
                )
                .await
            }
        }
    }

    async fn submit(
        &self,
        station: &StationId,
        req: CommandRequest,
    ) -> Result<csms_domain::command::Command, CommandError> {
        self.commands
            .submit(&operator(), station, req, SubmitOptions::default())
            .await
    }

    fn registrations(&self) -> Vec<(String, Value)> {
        self.events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.event_type == EventType::StationRegistration)
            .map(|e| {
                (
                    e.data["stationId"].as_str().unwrap().to_owned(),
                    e.data.clone(),
                )
            })
            .collect()
    }

    fn sent(&self) -> Vec<Value> {
        self.socket.0.lock().unwrap().clone()
    }
}

fn reset() -> CommandRequest {
    CommandRequest::Reset {
        kind: Some(ResetKind::Soft),
        when: None,
        evse_id: None,
    }
}

fn get_configuration(version: OcppVersion) -> CommandRequest {
    CommandRequest::GetConfiguration {
        keys: vec![ConfigRef {
            component: (version == OcppVersion::V201).then(|| "OCPPCommCtrlr".into()),
            component_instance: None,
            evse_id: None,
            variable: "HeartbeatInterval".into(),
            variable_instance: None,
        }],
    }
}

fn security_error(reply: &Value) -> bool {
    reply[0] == 4 && reply[2] == "SecurityError"
}

#[tokio::test]
async fn a_pending_station_is_answered_pending_and_may_send_only_its_boot() {
    for version in [OcppVersion::V16, OcppVersion::V201] {
        let w = world().await;
        let id = format!("CP-PEND-{}", version.as_str().replace('.', ""));
        let st = w.station(&id, "pending", version).await;

        let reply = w.boot(&st, version).await;
        assert_eq!(reply[0], 3, "{reply}");
        assert_eq!(reply[2]["status"], "Pending", "{reply}");
        assert_eq!(reply[2]["interval"], PENDING_INTERVAL, "{reply}");
        let view = w.store.get_station_view(&st).await.unwrap().unwrap();
        assert_eq!(
            view.station.boot.as_ref().map(|b| b.registration),
            Some(RegistrationStatus::Pending)
        );

        // Anything else is refused, and not applied.
        let reply = w.status_notification(&st, version).await;
        assert!(security_error(&reply), "{reply}");
        assert!(reply[3].as_str().unwrap().contains("Pending"), "{reply}");
        let reply = w.call(&st, "Heartbeat", json!({})).await;
        assert!(security_error(&reply), "{reply}");
        let view = w.store.get_station_view(&st).await.unwrap().unwrap();
        assert!(view.connectors.is_empty(), "a refused status is not kept");

        // Commands: configuration yes, anything else 409 naming the status.
        let Err(CommandError::Conflict(m)) = w.submit(&st, reset()).await else {
            panic!("reset to a pending station must be refused")
        };
        assert!(m.contains("Pending") && m.contains("reset"), "{m}");
        let cmd = w.submit(&st, get_configuration(version)).await.unwrap();
        assert_eq!(cmd.status, CommandStatus::Pending, "sent");

        // A message the CSMS triggered is let through.
        let trigger = CommandRequest::TriggerMessage {
            message: "StatusNotification".into(),
            evse_id: None,
            connector_id: None,
        };
        // The configuration read is still outstanding: answer it first.
        let get = w.sent().last().unwrap().clone();
        let answer = match version {
            OcppVersion::V16 => json!({"configurationKey": []}),
            OcppVersion::V201 => json!({"getVariableResult": [{"attributeStatus": "Accepted",
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "300"}]}),
        };
        let out = w
            .charger
            .on_message(
                &format!("conn-{st}"),
                &json!([3, get[1], answer]).to_string(),
            )
            .await;
        assert_eq!(out, None);
        let cmd = w.submit(&st, trigger).await.unwrap();
        assert_eq!(cmd.status, CommandStatus::Pending, "sent");
        let reply = w.status_notification(&st, version).await;
        assert_eq!(reply[0], 3, "a triggered status is taken: {reply}");
        let reply = w.call(&st, "Heartbeat", json!({})).await;
        assert!(security_error(&reply), "only what was triggered: {reply}");

        let events = w.registrations();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].1["registrationStatus"], "Pending");
        assert_eq!(events[0].1["previousStatus"], Value::Null);
        assert_eq!(events[0].1["approval"], "pending");
    }
}

#[tokio::test]
async fn approving_a_connected_pending_station_asks_it_to_boot_again() {
    for version in [OcppVersion::V16, OcppVersion::V201] {
        let w = world().await;
        let id = format!("CP-APPR-{}", version.as_str().replace('.', ""));
        let st = w.station(&id, "pending", version).await;
        w.boot(&st, version).await;
        assert!(w.sent().is_empty());

        let updated =
            csms_commands::approval::set_approval(&*w.store, &w.commands, &st, Approval::Accepted)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(updated.approval, Approval::Accepted);
        let sent = w.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0][2], "TriggerMessage");
        assert_eq!(sent[0][3]["requestedMessage"], "BootNotification");

        // The connection is accepted at once; the boot answers Accepted.
        let reply = w.status_notification(&st, version).await;
        assert_eq!(reply[0], 3, "{reply}");
        let reply = w.boot(&st, version).await;
        assert_eq!(reply[2]["status"], "Accepted", "{reply}");
        assert_eq!(reply[2]["interval"], 300, "{reply}");
        let events = w.registrations();
        let statuses: Vec<(&Value, &Value)> = events
            .iter()
            .map(|(_, d)| (&d["registrationStatus"], &d["previousStatus"]))
            .collect();
        assert_eq!(
            statuses,
            [
                (&json!("Pending"), &Value::Null),
                (&json!("Accepted"), &json!("Pending"))
            ]
        );
        // A boot answered as before announces nothing.
        w.boot(&st, version).await;
        assert_eq!(w.registrations().len(), 2);
        // Approving again changes nothing and sends nothing.
        csms_commands::approval::set_approval(&*w.store, &w.commands, &st, Approval::Accepted)
            .await
            .unwrap();
        assert_eq!(w.sent().len(), 1);
    }
}

#[tokio::test]
async fn a_rejected_station_may_send_nothing_and_be_sent_nothing() {
    let w = world().await;
    let st = w.station("CP-REJ", "rejected", OcppVersion::V16).await;
    let reply = w.boot(&st, OcppVersion::V16).await;
    assert_eq!(reply[2]["status"], "Rejected", "{reply}");
    assert_eq!(reply[2]["interval"], PENDING_INTERVAL, "{reply}");
    let reply = w.call(&st, "Authorize", json!({"idTag": "TAG-1"})).await;
    assert!(security_error(&reply), "{reply}");
    assert!(reply[3].as_str().unwrap().contains("Rejected"), "{reply}");
    for req in [get_configuration(OcppVersion::V16), reset()] {
        let Err(CommandError::Conflict(m)) = w.submit(&st, req).await else {
            panic!("no command to a rejected station")
        };
        assert!(m.contains("Rejected"), "{m}");
    }
    // A rejected station does not listen: changing its approval sends nothing;
    // its next boot gets the new answer.
    csms_commands::approval::set_approval(&*w.store, &w.commands, &st, Approval::Accepted)
        .await
        .unwrap();
    assert!(w.sent().is_empty());
    let reply = w.boot(&st, OcppVersion::V16).await;
    assert_eq!(reply[2]["status"], "Accepted", "{reply}");
}

#[tokio::test]
async fn rejecting_a_connected_accepted_station_asks_it_to_boot_into_rejected() {
    let w = world().await;
    let st = w.station("CP-ACC", "accepted", OcppVersion::V201).await;
    let reply = w.boot(&st, OcppVersion::V201).await;
    assert_eq!(reply[2]["status"], "Accepted", "{reply}");
    assert_eq!(reply[2]["interval"], 300, "{reply}");
    // The accepted boot asked for the device model; the station answers.
    let report = w.sent();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0][2], "GetBaseReport", "{report:?}");
    let answer = json!([3, report[0][1], {"status": "Accepted"}]).to_string();
    w.charger.on_message(&format!("conn-{st}"), &answer).await;
    csms_commands::approval::set_approval(&*w.store, &w.commands, &st, Approval::Rejected)
        .await
        .unwrap();
    let sent: Vec<_> = w
        .sent()
        .into_iter()
        .filter(|f| f[2] == "TriggerMessage")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0][3]["requestedMessage"], "BootNotification");
    let reply = w.status_notification(&st, OcppVersion::V201).await;
    assert!(
        security_error(&reply),
        "refused from the change on: {reply}"
    );
    let reply = w.boot(&st, OcppVersion::V201).await;
    assert_eq!(reply[2]["status"], "Rejected", "{reply}");
}

#[tokio::test]
async fn an_unknown_approval_is_refused_naming_the_field() {
    let w = world().await;
    let e = registry::register_station(
        &*w.store,
        &*w.clock,
        NewStation {
            id: "CP-BAD".into(),
            approval: Some("maybe".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().starts_with("approval: \"maybe\""), "{e}");
    assert!(w
        .store
        .get_station(&StationId::parse("CP-BAD").unwrap())
        .await
        .unwrap()
        .is_none());
}

/// The operator acting in the default organisation, where these stations are.
fn operator() -> csms_domain::actor::Actor {
    csms_domain::actor::Actor::new(
        csms_domain::OrgId::default_org(),
        csms_domain::actor::ActedBy::PlatformAdmin,
    )
}
