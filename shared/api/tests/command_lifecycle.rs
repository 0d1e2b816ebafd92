//! The command lifecycle of `csms-commands` over the embedded store, with a
//! controlled clock and a recording socket: queueing, answers, errors,
//! timeouts, offline stations, idempotency. The same flow runs end to end
//! against simulated chargers in `tests/e2e/test_commands.py`.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use csms_charging::charger::{ChargerConfig, ChargerService};
use csms_charging::registry::NewStation;
use csms_commands::service::{CommandError, CommandService, CommandTimers, SubmitOptions};
use csms_domain::command::{CommandId, CommandRequest, CommandStatus, ResetKind};
use csms_domain::{OcppVersion, StationId, Timestamp};
use csms_kernel::ports::StationLogEntry;
use csms_kernel::ports::{ConnectionSender, SendError, Store};
use csms_store_redb::EmbeddedStore;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

mod support;
use support::{register_station, ManualClock};

/// Records the frames "sent" to each connection; `gone` makes every send
/// fail like API Gateway's 410.
#[derive(Default)]
struct Socket {
    frames: Mutex<Vec<(String, Value)>>,
    gone: Mutex<bool>,
}

#[async_trait]
impl ConnectionSender for Socket {
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), SendError> {
        if *self.gone.lock().unwrap() {
            return Err(SendError::Gone);
        }
        self.frames
            .lock()
            .unwrap()
            .push((connection_id.into(), serde_json::from_str(frame).unwrap()));
        Ok(())
    }
    async fn close(&self, _connection_id: &str) -> Result<(), SendError> {
        Ok(())
    }
}

#[derive(Default)]
struct Timers(Mutex<Vec<(StationId, Timestamp)>>);

#[async_trait]
impl CommandTimers for Timers {
    async fn schedule(&self, station: &StationId, _id: &CommandId, at: Timestamp) {
        self.0.lock().unwrap().push((station.clone(), at));
    }
}

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    socket: Arc<Socket>,
    timers: Arc<Timers>,
    commands: CommandService<dyn Store>,
    charger: ChargerService<dyn Store>,
}

async fn world() -> World {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
    ));
    let socket = Arc::new(Socket::default());
    let timers = Arc::new(Timers::default());
    let commands =
        CommandService::new(store.clone(), clock.clone(), socket.clone(), timers.clone());
    let charger = ChargerService::new(store.clone(), clock.clone(), ChargerConfig::default())
        .with_replies(Arc::new(commands.clone()));
    World {
        store,
        clock,
        socket,
        timers,
        commands,
        charger,
    }
}

impl World {
    async fn station(&self, id: &str, version: Option<OcppVersion>) -> StationId {
        let new = NewStation {
            id: id.into(),
            ..Default::default()
        };
        register_station(&*self.store, &*self.clock, new, version).await
    }

    async fn submit(
        &self,
        station: &StationId,
        req: CommandRequest,
    ) -> csms_domain::command::Command {
        self.commands
            .submit(&operator(), station, req, SubmitOptions::default())
            .await
            .unwrap()
    }

    /// The error a submission with the default options is refused with.
    async fn refused(&self, station: &StationId, req: CommandRequest) -> CommandError {
        self.commands
            .submit(&operator(), station, req, SubmitOptions::default())
            .await
            .unwrap_err()
    }

    async fn submit_with_timeout(
        &self,
        station: &StationId,
        req: CommandRequest,
        timeout_s: u32,
    ) -> csms_domain::command::Command {
        let opts = SubmitOptions {
            timeout_s: Some(timeout_s),
            idempotency_key: None,
            ..SubmitOptions::default()
        };
        self.commands
            .submit(&operator(), station, req, opts)
            .await
            .unwrap()
    }

    fn frames(&self) -> Vec<Value> {
        self.socket
            .frames
            .lock()
            .unwrap()
            .iter()
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// The charger's reply frame, through the same path a real one takes.
    async fn reply(&self, station: &str, frame: Value) {
        let out = self
            .charger
            .on_message(&format!("conn-{station}"), &frame.to_string())
            .await;
        assert_eq!(out, None, "a reply gets no reply");
    }

    async fn status(&self, id: &CommandId) -> CommandStatus {
        self.commands.get(id).await.unwrap().unwrap().status
    }
}

fn reset() -> CommandRequest {
    CommandRequest::Reset {
        kind: Some(ResetKind::Hard),
        when: None,
        evse_id: None,
    }
}

fn clear_cache() -> CommandRequest {
    CommandRequest::ClearCache
}

#[tokio::test]
async fn one_call_at_a_time_in_order() {
    let w = world().await;
    let st = w.station("CP-Q", Some(OcppVersion::V16)).await;
    let a = w.submit(&st, reset()).await;
    let b = w.submit(&st, clear_cache()).await;
    let c = w.submit(&st, reset()).await;
    assert_eq!(a.status, CommandStatus::Pending);
    assert!(a.sent_at.is_some(), "the first goes out at once");
    assert!(b.sent_at.is_none() && c.sent_at.is_none(), "the rest wait");
    let frames = w.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0],
        json!([2, a.id.as_str(), "Reset", {"type": "Hard"}])
    );
    assert_eq!(w.timers.0.lock().unwrap().len(), 1, "a timer per sent call");

    w.reply("CP-Q", json!([3, a.id.as_str(), {"status": "Accepted"}]))
        .await;
    assert_eq!(w.status(&a.id).await, CommandStatus::Accepted);
    let frames = w.frames();
    assert_eq!(frames.len(), 2, "the answer frees the slot for the next");
    assert_eq!(frames[1], json!([2, b.id.as_str(), "ClearCache", {}]));

    w.reply("CP-Q", json!([3, b.id.as_str(), {"status": "Rejected"}]))
        .await;
    assert_eq!(w.status(&b.id).await, CommandStatus::Rejected);
    let done = w.commands.get(&b.id).await.unwrap().unwrap();
    assert_eq!(done.response, Some(json!({"status": "Rejected"})));
    assert_eq!(w.frames().len(), 3);

    w.reply(
        "CP-Q",
        json!([4, c.id.as_str(), "NotSupported", "no resets here", {}]),
    )
    .await;
    let failed = w.commands.get(&c.id).await.unwrap().unwrap();
    assert_eq!(failed.status, CommandStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("NotSupported: no resets here")
    );
}

#[tokio::test]
async fn timeouts_free_the_slot_and_late_answers_change_nothing() {
    let w = world().await;
    let st = w.station("CP-T", Some(OcppVersion::V201)).await;
    let a = w.submit_with_timeout(&st, reset(), 5).await;
    let b = w.submit(&st, clear_cache()).await;
    assert_eq!(w.frames().len(), 1);
    assert_eq!(w.frames()[0][3], json!({"type": "OnIdle"}), "2.0.1 reset");

    w.clock.advance(4);
    w.commands.check_timeout(&st).await.unwrap();
    assert_eq!(w.status(&a.id).await, CommandStatus::Pending, "not yet due");

    w.clock.advance(2);
    w.commands.check_timeout(&st).await.unwrap();
    let timed_out = w.commands.get(&a.id).await.unwrap().unwrap();
    assert_eq!(timed_out.status, CommandStatus::Timeout);
    assert_eq!(w.frames().len(), 2, "the queue moves on");
    assert_eq!(w.frames()[1][1], json!(b.id.as_str()));

    w.reply("CP-T", json!([3, a.id.as_str(), {"status": "Accepted"}]))
        .await;
    assert_eq!(
        w.commands.get(&a.id).await.unwrap().unwrap(),
        timed_out,
        "an answer after the timeout does not rewrite the outcome"
    );
}

#[tokio::test]
async fn offline_stations_answer_at_once() {
    let w = world().await;
    let never = w.station("CP-NEVER", None).await;
    let cmd = w.submit(&never, reset()).await;
    assert_eq!(cmd.status, CommandStatus::Offline);
    assert!(cmd.completed_at.is_some());

    // Connected in the store, but the socket is gone (API Gateway 410).
    let st = w.station("CP-GONE", Some(OcppVersion::V16)).await;
    *w.socket.gone.lock().unwrap() = true;
    let cmd = w.submit(&st, reset()).await;
    assert_eq!(cmd.status, CommandStatus::Offline);

    let err = w
        .refused(&StationId::parse("CP-NONE").unwrap(), reset())
        .await;
    assert!(matches!(err, CommandError::NotFound(_)), "{err}");
}

/// The service checks the organisation itself, whoever calls it: a
/// station of another organisation is not found, gets nothing, and its
/// commands cannot be read.
#[tokio::test]
async fn a_station_of_another_organisation_is_not_found_by_the_service() {
    use csms_domain::actor::{ActedBy, Actor};
    let w = world().await;
    let other = csms_domain::OrgId::parse("other-org").unwrap();
    let new = NewStation {
        id: "CP-OTHER".into(),
        org_id: Some(other.clone()),
        ..Default::default()
    };
    let st = register_station(&*w.store, &*w.clock, new, Some(OcppVersion::V16)).await;

    let err = w.refused(&st, reset()).await;
    let CommandError::NotFound(m) = err else {
        panic!("{err}")
    };
    assert_eq!(
        m, "station \"CP-OTHER\" not found",
        "worded like a missing one"
    );
    assert!(w.frames().is_empty(), "nothing sent");
    assert!(w
        .store
        .list_station_commands(&st, &csms_kernel::ports::PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());

    let theirs = Actor::new(other, ActedBy::ApiKey("key-b".into()));
    let cmd = w
        .commands
        .submit(&theirs, &st, reset(), SubmitOptions::default())
        .await
        .unwrap();
    assert_eq!(
        cmd.status,
        CommandStatus::Pending,
        "its own organisation may"
    );
    assert!(w.commands.find(&theirs, &cmd.id).await.unwrap().is_some());
    assert_eq!(w.commands.find(&operator(), &cmd.id).await.unwrap(), None);
}

#[tokio::test]
async fn idempotency_key_returns_the_first_command() {
    let w = world().await;
    let st = w.station("CP-I", Some(OcppVersion::V16)).await;
    let opts = || SubmitOptions {
        timeout_s: None,
        idempotency_key: Some("order-42".into()),
        ..SubmitOptions::default()
    };
    let first = w
        .commands
        .submit(&operator(), &st, reset(), opts())
        .await
        .unwrap();
    let again = w
        .commands
        .submit(&operator(), &st, reset(), opts())
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(w.frames().len(), 1, "sent once");
    let err = w
        .commands
        .submit(&operator(), &st, clear_cache(), opts())
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Conflict(_)), "{err}");
}

#[tokio::test]
async fn replies_from_another_station_or_unknown_ids_are_ignored() {
    let w = world().await;
    let st = w.station("CP-A", Some(OcppVersion::V16)).await;
    w.station("CP-B", Some(OcppVersion::V16)).await;
    let a = w.submit(&st, reset()).await;
    w.reply("CP-B", json!([3, a.id.as_str(), {"status": "Accepted"}]))
        .await;
    assert_eq!(w.status(&a.id).await, CommandStatus::Pending);
    w.reply("CP-A", json!([3, "not-a-command", {"status": "Accepted"}]))
        .await;
    w.reply("CP-A", json!([3, CommandId::new().as_str(), {}]))
        .await;
    assert_eq!(w.status(&a.id).await, CommandStatus::Pending);
    // A schema-violating answer fails the command instead of guessing.
    w.reply("CP-A", json!([3, a.id.as_str(), {"status": "Maybe"}]))
        .await;
    let cmd = w.commands.get(&a.id).await.unwrap().unwrap();
    assert_eq!(cmd.status, CommandStatus::Failed);
    assert!(cmd.error.unwrap().starts_with("invalid response"));
}

#[tokio::test]
async fn version_specific_requests_are_refused_up_front() {
    let w = world().await;
    let st = w.station("CP-V", Some(OcppVersion::V16)).await;
    // 1.6 transaction ids are integers.
    let err = w
        .refused(
            &st,
            CommandRequest::RemoteStop {
                transaction_id: "abc".into(),
            },
        )
        .await;
    assert!(matches!(err, CommandError::Invalid(_)), "{err}");
    // Pause needs a session to find the connector.
    let err = w
        .refused(
            &st,
            CommandRequest::Pause {
                transaction_id: "7".into(),
                evse_id: None,
            },
        )
        .await;
    assert!(matches!(err, CommandError::Invalid(_)), "{err}");
    assert!(w.frames().is_empty(), "nothing invalid reaches the charger");
}

#[tokio::test]
async fn reading_an_overdue_command_settles_it_without_a_timer() {
    let w = world().await;
    let st = w.station("CP-LAZY", Some(OcppVersion::V16)).await;
    let a = w.submit_with_timeout(&st, reset(), 3).await;
    let b = w.submit(&st, clear_cache()).await;
    w.clock.advance(2);
    assert_eq!(w.status(&a.id).await, CommandStatus::Pending);
    w.clock.advance(2);
    // No timer fired (this world's timers only record); reading is enough.
    assert_eq!(w.status(&a.id).await, CommandStatus::Timeout);
    assert_eq!(w.frames().len(), 2, "and the queue moved on");
    assert_eq!(w.frames()[1][1], json!(b.id.as_str()));
}

/// A charger's CALL through the real path; its CALLRESULT payload.
async fn charger_call(w: &World, station: &str, id: &str, action: &str, payload: Value) -> Value {
    let out = w
        .charger
        .on_message(
            &format!("conn-{station}"),
            &json!([2, id, action, payload]).to_string(),
        )
        .await
        .expect("a CALL is answered");
    let frame: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(frame[0], 3, "{action} answered {frame}");
    frame[2].clone()
}

fn report_entry(component: Value, variable: &str, value: &str) -> Value {
    json!({"component": component, "variable": {"name": variable},
           "variableAttribute": [{"value": value, "mutability": "ReadWrite", "persistent": true}],
           "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": false, "unit": "s"}})
}

/// A NotifyReport; no entries: without `reportData` (an empty list breaks the schema).
fn notify_report(request_id: i64, seq_no: u32, tbc: bool, data: Vec<Value>) -> Value {
    let mut report = json!({"requestId": request_id, "generatedAt": "2026-11-23T09:59:00Z",
                            "seqNo": seq_no, "tbc": tbc});
    if !data.is_empty() {
        report["reportData"] = Value::Array(data);
    }
    report
}

#[tokio::test]
async fn a_201_boot_asks_for_the_device_model_and_reports_and_variables_answers_fill_it() {
    let w = world().await;
    let st = w.station("CP-DM", Some(OcppVersion::V201)).await;
    let boot = json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
    let answer = charger_call(&w, "CP-DM", "b1", "BootNotification", boot).await;
    assert_eq!(answer["status"], "Accepted");
    let frames = w.frames();
    assert_eq!(frames.len(), 1, "the boot queues the report request");
    assert_eq!(frames[0][2], "GetBaseReport");
    assert_eq!(frames[0][3]["reportBase"], "FullInventory");
    let request_id = frames[0][3]["requestId"].as_i64().unwrap();
    let report_cmd = CommandId::parse(frames[0][1].as_str().unwrap()).unwrap();
    w.reply(
        "CP-DM",
        json!([3, report_cmd.as_str(), {"status": "Accepted"}]),
    )
    .await;
    assert_eq!(w.status(&report_cmd).await, CommandStatus::Accepted);

    let ctrl = json!({"name": "OCPPCommCtrlr"});
    let evse = json!({"name": "EVSE", "evse": {"id": 1}});
    charger_call(
        &w,
        "CP-DM",
        "r0",
        "NotifyReport",
        notify_report(
            request_id,
            0,
            true,
            vec![
                report_entry(ctrl.clone(), "HeartbeatInterval", "300"),
                // Breaks the schema (name longer than 50): dropped alone.
                report_entry(json!({"name": "C".repeat(51)}), "X", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(
        w.store.get_device_model(&st).await.unwrap(),
        None,
        "no model until the last part"
    );
    charger_call(
        &w,
        "CP-DM",
        "r1",
        "NotifyReport",
        notify_report(
            request_id,
            1,
            false,
            vec![
                report_entry(evse.clone(), "Power", "22000"),
                // Schema-valid, but no EVSE can have that id: dropped alone.
                report_entry(json!({"name": "EVSE", "evse": {"id": -2}}), "Power", "1"),
            ],
        ),
    )
    .await;
    let model = w.store.get_device_model(&st).await.unwrap().unwrap();
    assert_eq!(model.request_id as i64, request_id);
    let names: Vec<(&str, &str)> = model
        .variables
        .iter()
        .map(|v| (v.component.name.as_str(), v.variable.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("EVSE", "Power"), ("OCPPCommCtrlr", "HeartbeatInterval")]
    );
    let events = w
        .store
        .list_station_events(&st, &csms_kernel::ports::PageRequest::first(20))
        .await
        .unwrap();
    let noted = events
        .items
        .iter()
        .filter(|e| matches!(e.entry, StationLogEntry::ImplausibleValues { .. }))
        .count();
    assert_eq!(noted, 2, "each dropped entry is noted: {events:?}");
    // The last part sent again (its answer lost) leaves the model whole.
    charger_call(
        &w,
        "CP-DM",
        "r1-again",
        "NotifyReport",
        notify_report(
            request_id,
            1,
            false,
            vec![report_entry(evse.clone(), "Power", "22000")],
        ),
    )
    .await;
    let again = w.store.get_device_model(&st).await.unwrap().unwrap();
    assert_eq!(again, model, "a resent last part changes nothing");

    // An accepted SetVariables changes the value in the model.
    let set = w
        .submit(
            &st,
            CommandRequest::ChangeConfiguration {
                key: csms_domain::command::ConfigRef {
                    component: Some("OCPPCommCtrlr".into()),
                    component_instance: None,
                    evse_id: None,
                    variable: "HeartbeatInterval".into(),
                    variable_instance: None,
                },
                value: "120".into(),
            },
        )
        .await;
    w.reply(
        "CP-DM",
        json!([3, set.id.as_str(), {"setVariableResult": [{"attributeStatus": "Accepted",
            "component": ctrl, "variable": {"name": "HeartbeatInterval"}}]}]),
    )
    .await;
    let model = w.store.get_device_model(&st).await.unwrap().unwrap();
    let hb = &model.variables[1];
    assert_eq!(
        hb.attributes[0].value.as_ref().map(|v| v.as_str()),
        Some("120")
    );
    assert_eq!(model.version, 2);

    // A new report replaces the model whole, once complete.
    let again = w
        .submit(&st, CommandRequest::GetConfiguration { keys: vec![] })
        .await;
    let rid = w.frames().last().unwrap()[3]["requestId"].as_i64().unwrap();
    w.reply(
        "CP-DM",
        json!([3, again.id.as_str(), {"status": "Accepted"}]),
    )
    .await;
    charger_call(
        &w,
        "CP-DM",
        "r2",
        "NotifyReport",
        notify_report(rid, 0, true, vec![report_entry(evse, "Power", "11000")]),
    )
    .await;
    let before = w.store.get_device_model(&st).await.unwrap().unwrap();
    assert_eq!(before.variables.len(), 2, "the old model stays readable");
    charger_call(
        &w,
        "CP-DM",
        "r3",
        "NotifyReport",
        notify_report(rid, 1, false, vec![]),
    )
    .await;
    let after = w.store.get_device_model(&st).await.unwrap().unwrap();
    assert_eq!(after.variables.len(), 1);
    assert_eq!(after.request_id as i64, rid);
    assert!(w
        .store
        .report_parts(&st, rid as i32)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_flood_of_report_parts_is_answered_but_kept_only_up_to_the_bound() {
    use csms_charging::device_model::MAX_REPORT_PARTS;
    let w = world().await;
    let st = w.station("CP-FLOOD", Some(OcppVersion::V201)).await;
    let boot = json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
    charger_call(&w, "CP-FLOOD", "b1", "BootNotification", boot).await;
    let evse = json!({"name": "EVSE", "evse": {"id": 1}});
    // Parts of made-up reports, never finished (seqNo 0 would start afresh).
    let sent = MAX_REPORT_PARTS + 25;
    let report_of = |n: usize| 1000 + (n / 10) as i64;
    for n in 0..sent {
        let part = notify_report(
            report_of(n),
            1 + (n % 10) as u32,
            true,
            vec![report_entry(evse.clone(), "Power", "1")],
        );
        let answer = charger_call(&w, "CP-FLOOD", &format!("f{n}"), "NotifyReport", part).await;
        assert_eq!(answer, json!({}), "every part is answered as usual");
    }
    let mut kept = 0;
    for request in report_of(0)..=report_of(sent - 1) {
        kept += w
            .store
            .report_parts(&st, request as i32)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(kept, MAX_REPORT_PARTS);

    // A real report afterwards is kept whole and becomes the model.
    for (seq, tbc, value) in [(0, true, "11000"), (1, false, "22000")] {
        let part = notify_report(
            7,
            seq,
            tbc,
            vec![report_entry(evse.clone(), &format!("Power{seq}"), value)],
        );
        charger_call(&w, "CP-FLOOD", &format!("r{seq}"), "NotifyReport", part).await;
    }
    let model = w.store.get_device_model(&st).await.unwrap().unwrap();
    assert_eq!(model.request_id, 7);
    assert_eq!(model.variables.len(), 2);
    assert!(w
        .store
        .report_parts(&st, report_of(0) as i32)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_boot_report_the_charger_does_not_implement_just_fails() {
    let w = world().await;
    w.station("CP-NI", Some(OcppVersion::V201)).await;
    let boot = json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
    charger_call(&w, "CP-NI", "b1", "BootNotification", boot).await;
    let id = CommandId::parse(w.frames()[0][1].as_str().unwrap()).unwrap();
    w.reply(
        "CP-NI",
        json!([
            4,
            id.as_str(),
            "NotImplemented",
            "no handler for GetBaseReport",
            {}
        ]),
    )
    .await;
    assert_eq!(w.status(&id).await, CommandStatus::Failed);
    // A 1.6 boot asks for nothing.
    w.station("CP-16", Some(OcppVersion::V16)).await;
    let boot16 = json!({"chargePointVendor": "V", "chargePointModel": "M"});
    charger_call(&w, "CP-16", "b2", "BootNotification", boot16).await;
    assert_eq!(w.frames().len(), 1);
}

/// The operator acting in the default organisation, where these stations are.
fn operator() -> csms_domain::actor::Actor {
    csms_domain::actor::Actor::new(
        csms_domain::OrgId::default_org(),
        csms_domain::actor::ActedBy::PlatformAdmin,
    )
}

#[tokio::test]
async fn timeouts_in_a_row_raise_an_alarm_at_the_organisations_count_and_the_next_answer_resolves_it(
) {
    use csms_kernel::ports::PageRequest;
    let w = world().await;
    let st = w.station("CP-DEAF", Some(OcppVersion::V16)).await;
    let active = || async {
        let page = PageRequest {
            limit: 10,
            cursor: None,
        };
        w.store
            .list_alarms(&csms_domain::OrgId::default_org(), true, &page)
            .await
            .unwrap()
            .items
    };
    let mut timed_out = Vec::new();
    for n in 0..4usize {
        let cmd = w.submit_with_timeout(&st, clear_cache(), 5).await;
        w.clock.advance(6);
        w.commands.check_timeout(&st).await.unwrap();
        assert_eq!(w.status(&cmd.id).await, CommandStatus::Timeout);
        timed_out.push(cmd.id);
        let open = active().await;
        if n < 2 {
            assert!(open.is_empty(), "{n} timeouts: {open:?}");
        } else {
            assert_eq!(open.len(), 1, "{open:?}");
            assert_eq!(open[0].id, "command-timeouts:CP-DEAF");
            assert_eq!(open[0].kind, "commandTimeouts");
            assert_eq!(
                open[0].occurrences as usize,
                n - 1,
                "a further timeout counts on it"
            );
            assert_eq!(open[0].details["timeoutsInARow"], n + 1);
            assert_eq!(
                open[0].details["commands"][0]["commandId"],
                timed_out[n].as_str(),
                "the newest first"
            );
        }
    }
    let answered = w.submit(&st, clear_cache()).await;
    w.reply(
        "CP-DEAF",
        json!([3, answered.id.as_str(), {"status": "Accepted"}]),
    )
    .await;
    assert_eq!(w.status(&answered.id).await, CommandStatus::Accepted);
    assert!(active().await.is_empty(), "an answer resolves it");

    // Two timeouts after an answer are no row of three.
    for _ in 0..2 {
        w.submit_with_timeout(&st, clear_cache(), 5).await;
        w.clock.advance(6);
        w.commands.check_timeout(&st).await.unwrap();
    }
    assert!(active().await.is_empty());

    // An organisation that says two: after an answer, the second timeout.
    let mut settings = csms_domain::alarm::AlarmSettings::defaults(
        csms_domain::OrgId::default_org(),
        csms_domain::alarm::OfflineGrace::from_secs(600).unwrap(),
    );
    settings.command_timeouts = csms_domain::alarm::InARow::new(2).unwrap();
    settings.version = 1;
    w.store.put_alarm_settings(&settings, 0).await.unwrap();
    let answered = w.submit(&st, clear_cache()).await;
    w.reply(
        "CP-DEAF",
        json!([3, answered.id.as_str(), {"status": "Accepted"}]),
    )
    .await;
    for n in 1..=2usize {
        w.submit_with_timeout(&st, clear_cache(), 5).await;
        w.clock.advance(6);
        w.commands.check_timeout(&st).await.unwrap();
        let open = active().await;
        if n < 2 {
            assert!(open.is_empty(), "{open:?}");
        } else {
            assert_eq!(open.len(), 1, "{open:?}");
            assert_eq!(open[0].details["timeoutsInARow"], 2);
            assert_eq!(open[0].details["threshold"], 2);
        }
    }
}
