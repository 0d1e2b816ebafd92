//! Alarms about stations, driven through the charger handlers and the
//! sweep at a manual clock, read through the API: a station offline for
//! longer than the grace raises `stationOffline` once and its next connect
//! resolves it; a station back within the grace, or decommissioned, raises
//! nothing; a station that keeps reconnecting or booting raises
//! `stationFlapping` or `stationBootLoop` once, and the sweep resolves it
//! when it settled; one that floods the CSMS with messages raises
//! `messageFlood` until a quiet window, and one that connects from more
//! addresses than allowed raises `stationManyAddresses` until the sweep
//! sees the window ending now within the limit.

mod support;

use csms_charging::connect;
use csms_domain::OcppVersion;
use csms_kernel::events::NoEvents;
use csms_kernel::ports::Clock;
use support::ChargerWorld;

const GRACE_SECS: u64 = 600;

/// The alarm events published, as their webhook events: (type, alarm id).
#[derive(Default)]
struct Published(std::sync::Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl csms_kernel::events::EventBus for Published {
    async fn publish(&self, event: csms_kernel::events::DomainEvent) {
        let Some(hook) = csms_notify::webhook_event(&event) else {
            return;
        };
        if hook.event_type.as_str().starts_with("alarm.") {
            let id = hook.data["id"].as_str().unwrap_or_default().to_owned();
            self.0
                .lock()
                .unwrap()
                .push((hook.event_type.as_str().to_owned(), id));
        }
    }
}

impl Published {
    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn pair(kind: &str, id: &str) -> (String, String) {
    (kind.to_owned(), id.to_owned())
}

/// A world whose charger service publishes to the returned recorder.
fn world() -> (ChargerWorld, std::sync::Arc<Published>) {
    let published = std::sync::Arc::new(Published::default());
    let (store, clock) = ChargerWorld::parts();
    let charger = csms_charging::charger::ChargerService::new(
        store.clone(),
        clock.clone(),
        csms_charging::charger::ChargerConfig::default(),
    )
    .with_events(published.clone());
    (ChargerWorld::with_charger(store, clock, charger), published)
}

async fn sweep(w: &ChargerWorld) -> usize {
    w.charger
        .raise_offline_alarms_everywhere(
            csms_domain::alarm::OfflineGrace::platform(GRACE_SECS),
            w.clock.now(),
        )
        .await
        .unwrap()
}

async fn alarms(w: &ChargerWorld, active: bool) -> Vec<serde_json::Value> {
    let a = w
        .admin("GET", &format!("/alarms?active={active}"), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["items"].as_array().unwrap().clone()
}

async fn disconnect(w: &ChargerWorld, conn: &str) {
    connect::closed(&*w.store, &NoEvents, conn, w.clock.now())
        .await
        .unwrap();
}

async fn reconnect(
    w: &ChargerWorld,
    events: &dyn csms_kernel::events::EventBus,
    id: &csms_domain::StationId,
    conn: &str,
) {
    let st = w.store.get_station(id).await.unwrap().unwrap();
    connect::opened(
        &*w.store,
        events,
        None,
        &st,
        connect::Opening {
            connection_id: conn,
            version: OcppVersion::V16,
            source: None,
        },
        w.clock.now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn offline_beyond_the_grace_raises_once_and_a_connect_resolves() {
    let (w, published) = world();
    let id = w.station("CP-OFF", OcppVersion::V16, None).await;
    w.clock.advance(30);
    w.ocpp(&id, "Heartbeat", serde_json::json!({})).await;
    let last_message = w.clock.now();
    w.clock.advance(30);
    let gone_at = w.clock.now();
    disconnect(&w, "conn-CP-OFF").await;

    w.clock.advance(9 * 60);
    assert_eq!(sweep(&w).await, 0, "within the grace");
    w.clock.advance(61);
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(sweep(&w).await, 0, "raised once, not per sweep");
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let a = &open[0];
    assert_eq!(a["id"], "station-offline:CP-OFF");
    assert_eq!(a["kind"], "stationOffline");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["title"], "Station CP-OFF offline");
    assert!(a["suggestedAction"].as_str().unwrap().contains("network"));
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(a["details"]["disconnectedAt"], at(gone_at));
    assert_eq!(a["details"]["lastMessageAt"], at(last_message));

    w.clock.advance(3600);
    assert_eq!(sweep(&w).await, 0, "still one alarm an hour later");
    reconnect(&w, &*published, &id, "conn-2").await;
    assert_eq!(
        published.take(),
        [
            pair("alarm.opened", "station-offline:CP-OFF"),
            pair("alarm.resolved", "station-offline:CP-OFF")
        ],
        "one event per change, not per sweep"
    );
    assert!(alarms(&w, true).await.is_empty(), "resolved by the connect");
    let all = alarms(&w, false).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["active"], false);
}

#[tokio::test]
async fn back_within_the_grace_or_decommissioned_raises_nothing() {
    let w = ChargerWorld::new();
    let id = w.station("CP-BACK", OcppVersion::V16, None).await;
    disconnect(&w, "conn-CP-BACK").await;
    w.clock.advance(5 * 60);
    reconnect(&w, &csms_kernel::events::NoEvents, &id, "conn-2").await;
    w.clock.advance(3600);
    assert_eq!(sweep(&w).await, 0);

    let old = w.station("CP-OLD", OcppVersion::V16, None).await;
    let d = w
        .admin("POST", &format!("/stations/{old}/decommission"), None)
        .await;
    assert!(d.status.is_success(), "{}", d.text);
    disconnect(&w, "conn-CP-OLD").await;
    w.clock.advance(3600);
    assert_eq!(sweep(&w).await, 0);
    assert!(alarms(&w, false).await.is_empty());
}

async fn status16(w: &ChargerWorld, id: &csms_domain::StationId, status: &str, code: &str) {
    w.ocpp(
        id,
        "StatusNotification",
        serde_json::json!({
            "connectorId": 1, "status": status, "errorCode": code,
            "info": "RCD tripped", "vendorErrorCode": "E42",
        }),
    )
    .await;
}

#[tokio::test]
async fn a_faulted_connector_raises_once_with_its_error_code_and_recovers() {
    let (w, published) = world();
    let id = w.station("CP-F16", OcppVersion::V16, None).await;
    status16(&w, &id, "Available", "NoError").await;
    assert!(alarms(&w, false).await.is_empty());
    w.clock.advance(10);
    status16(&w, &id, "Faulted", "GroundFailure").await;
    w.clock.advance(10);
    status16(&w, &id, "Faulted", "GroundFailure").await;
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"], "connector-faulted:CP-F16:1:1");
    assert_eq!(open[0]["kind"], "connectorFaulted");
    assert_eq!(open[0]["details"]["errorCode"], "GroundFailure");
    assert_eq!(open[0]["details"]["info"], "RCD tripped (vendor error E42)");
    assert_eq!(
        open[0]["title"],
        "Station CP-F16 EVSE 1 connector 1 faulted"
    );
    assert!(open[0]["suggestedAction"].as_str().is_some());
    assert_eq!(
        open[0]["occurrences"], 1,
        "the same fault again is no repeat"
    );
    // Another error code while faulted: a repeat of the open alarm.
    w.clock.advance(10);
    status16(&w, &id, "Faulted", "OverVoltage").await;
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["occurrences"], 2);
    assert_eq!(open[0]["details"]["errorCode"], "OverVoltage");
    assert!(open[0]["lastSeenAt"].as_str().is_some());
    w.clock.advance(10);
    status16(&w, &id, "Unavailable", "NoError").await;
    assert_eq!(
        alarms(&w, true).await.len(),
        1,
        "Unavailable is not working"
    );
    w.clock.advance(10);
    status16(&w, &id, "Available", "NoError").await;
    assert!(alarms(&w, true).await.is_empty(), "resolved");
    assert_eq!(alarms(&w, false).await.len(), 1);
    assert_eq!(
        published.take(),
        [
            pair("alarm.opened", "connector-faulted:CP-F16:1:1"),
            pair("alarm.resolved", "connector-faulted:CP-F16:1:1")
        ],
        "a repeat is no new event"
    );
}

#[tokio::test]
async fn a_faulted_201_connector_raises_and_recovers() {
    let w = ChargerWorld::new();
    let id = w.station("CP-F201", OcppVersion::V201, None).await;
    let status = |s: &str| {
        serde_json::json!({
            "timestamp": w.clock.now().to_rfc3339(),
            "connectorStatus": s, "evseId": 2, "connectorId": 1,
        })
    };
    w.ocpp(&id, "StatusNotification", status("Faulted")).await;
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"], "connector-faulted:CP-F201:2:1");
    w.clock.advance(10);
    w.ocpp(&id, "StatusNotification", status("Occupied")).await;
    assert!(alarms(&w, true).await.is_empty());
}

#[tokio::test]
async fn alarm_settings_are_checked_per_organisation_and_the_sweep_uses_them() {
    let w = ChargerWorld::new();
    let got = w.admin("GET", "/alarm-settings", None).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(
        got.body,
        serde_json::json!({"offlineGraceSeconds": 600, "flapping": {"count": 6, "windowSeconds": 3600}, "bootLoop": {"count": 3, "windowSeconds": 900}, "stuckConnector": {"preparingMinutes": 15, "finishingMinutes": 180}, "noMeterValuesMinutes": 30, "chargingNothingMinutes": 30, "statusContradictsSessionSeconds": 120, "clockDriftSeconds": 300, "messageFlood": {"count": 120, "windowSeconds": 60}, "manyAddresses": {"count": 3, "windowSeconds": 86400}, "profileIgnored": {"percent": 10, "amps": 1, "seconds": 120}, "commandTimeoutsInARow": 3, "notify": [], "quietHours": null, "digestWarnings": false, "lastDigestAt": null, "setByOrganisation": false, "updatedAt": null, "version": 0})
    );
    for (body, field) in [
        (
            serde_json::json!({"offlineGraceSeconds": 59}),
            "offlineGraceSeconds",
        ),
        (
            serde_json::json!({"offlineGraceSeconds": 604801}),
            "offlineGraceSeconds",
        ),
        (
            serde_json::json!({"offlineGraceSeconds": "ten"}),
            "invalid JSON body: offlineGraceSeconds",
        ),
        (
            serde_json::json!({"offlineGrace": 600}),
            "invalid JSON body: offlineGrace: unknown field",
        ),
        (
            serde_json::json!({"notify": [{"email": "ok@example.se"}, {"email": "nope"}]}),
            "notify[1].email",
        ),
        (
            serde_json::json!({"notify": [{"email": "ok@example.se", "minSeverity": "info"}]}),
            "notify[0].minSeverity",
        ),
        (
            serde_json::json!({"notify": [{"email": "ok@example.se", "language": "de"}]}),
            "notify[0].language",
        ),
        (
            serde_json::json!({"notify": vec![serde_json::json!({"email": "a@example.se"}); 21]}),
            "notify: at most 20",
        ),
        (
            serde_json::json!({"flapping": {"count": 2, "windowSeconds": 600}}),
            "flapping.count",
        ),
        (
            serde_json::json!({"bootLoop": {"count": 3, "windowSeconds": 3601}}),
            "bootLoop.windowSeconds",
        ),
        (
            serde_json::json!({"quietHours": {"from": "22:00", "to": "25:00"}}),
            "quietHours.to",
        ),
        (
            serde_json::json!({"quietHours": {"from": "07:00", "to": "07:00"}}),
            "quietHours.to: must differ",
        ),
        (
            serde_json::json!({"quietHours": {"from": "22:00", "to": "07:00", "timeZone": "Mars/Olympus"}}),
            "quietHours.timeZone",
        ),
        (
            serde_json::json!({"stuckConnector": {"preparingMinutes": 4, "finishingMinutes": 60}}),
            "stuckConnector.preparingMinutes",
        ),
        (
            serde_json::json!({"stuckConnector": {"preparingMinutes": 15, "finishingMinutes": 1441}}),
            "stuckConnector.finishingMinutes",
        ),
        (
            serde_json::json!({"noMeterValuesMinutes": 4}),
            "noMeterValuesMinutes: must be whole minutes between 5 and 1440",
        ),
        (
            serde_json::json!({"chargingNothingMinutes": 1441}),
            "chargingNothingMinutes",
        ),
        (
            serde_json::json!({"statusContradictsSessionSeconds": 3601}),
            "statusContradictsSessionSeconds",
        ),
        (
            serde_json::json!({"clockDriftSeconds": 29}),
            "clockDriftSeconds",
        ),
        (
            serde_json::json!({"clockDriftSeconds": -5}),
            "invalid JSON body: clockDriftSeconds",
        ),
        (
            serde_json::json!({"commandTimeoutsInARow": 1}),
            "commandTimeoutsInARow: must be a whole number between 2 and 10",
        ),
        (
            serde_json::json!({"commandTimeoutsInARow": 11}),
            "commandTimeoutsInARow",
        ),
        (
            serde_json::json!({"bootLoop": {"count": 3}}),
            "invalid JSON body: bootLoop: missing field `windowSeconds`",
        ),
    ] {
        let bad = w.admin("PUT", "/alarm-settings", Some(body.clone())).await;
        assert_eq!(bad.status, 400, "{body}: {}", bad.text);
        let msg = bad.body["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with(field), "{body}: {msg}");
    }
    let set = w
        .admin(
            "PUT",
            "/alarm-settings",
            Some(serde_json::json!({"offlineGraceSeconds": 1200, "notify": [
                {"email": "Jour@Example.se", "minSeverity": "critical", "language": "en"},
                {"email": "board@example.se"}
            ], "quietHours": {"from": "22:00", "to": "06:30"}, "digestWarnings": true,
               "noMeterValuesMinutes": 45, "clockDriftSeconds": 90, "commandTimeoutsInARow": 5})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        (
            &set.body["noMeterValuesMinutes"],
            &set.body["chargingNothingMinutes"],
            &set.body["statusContradictsSessionSeconds"],
            &set.body["clockDriftSeconds"]
        ),
        (
            &serde_json::json!(45),
            &serde_json::json!(30),
            &serde_json::json!(120),
            &serde_json::json!(90)
        ),
        "what was set, the defaults for the rest"
    );
    assert_eq!(
        set.body["quietHours"],
        serde_json::json!({"from": "22:00", "to": "06:30", "timeZone": "Europe/Stockholm"})
    );
    assert_eq!(set.body["digestWarnings"], true);
    assert_eq!(set.body["commandTimeoutsInARow"], 5);
    assert_eq!(set.body["lastDigestAt"], serde_json::Value::Null);
    assert_eq!(
        set.body["notify"],
        serde_json::json!([
            {"email": "Jour@example.se", "minSeverity": "critical", "language": "en"},
            {"email": "board@example.se", "minSeverity": "warning", "language": "sv"}
        ]),
        "the domain in lower case, the defaults filled in"
    );
    assert_eq!(
        (
            &set.body["offlineGraceSeconds"],
            &set.body["setByOrganisation"],
            &set.body["version"]
        ),
        (
            &serde_json::json!(1200),
            &serde_json::json!(true),
            &serde_json::json!(1)
        )
    );
    let org = csms_domain::OrgId::default_org();
    let reader =
        support::partner_key(&*w.store, &org, vec![csms_domain::api_key::Scope::Read]).await;
    let refused = w
        .call(
            &reader,
            "PUT",
            "/alarm-settings",
            &[],
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let read = w.call(&reader, "GET", "/alarm-settings", &[], None).await;
    assert_eq!(read.body["offlineGraceSeconds"], 1200);
    let other = csms_domain::OrgId::parse("org-other").unwrap();
    support::organisation(&*w.store, &other).await;
    let theirs =
        support::partner_key(&*w.store, &other, csms_domain::api_key::Scope::ALL.to_vec()).await;
    let seen = w.call(&theirs, "GET", "/alarm-settings", &[], None).await;
    assert_eq!(
        seen.body["setByOrganisation"], false,
        "another organisation's own: {}",
        seen.text
    );

    // The sweep uses the organisation's 20 minutes, not the platform's 10.
    let id = w.station("CP-SET", OcppVersion::V16, None).await;
    disconnect(&w, "conn-CP-SET").await;
    w.clock.advance(11 * 60);
    assert_eq!(sweep(&w).await, 0, "within the organisation's grace");
    w.clock.advance(10 * 60);
    assert_eq!(sweep(&w).await, 1);
    let _ = id;
}

#[tokio::test]
async fn an_energy_register_going_backwards_in_a_transaction_raises_once() {
    let (w, published) = world();
    let id = w.station("CP-REG", OcppVersion::V16, None).await;
    let tag = w
        .admin(
            "POST",
            "/id-tokens",
            Some(
                serde_json::json!({"idToken": "REG-TAG", "type": "ISO14443", "status": "Accepted"}),
            ),
        )
        .await;
    assert_eq!(tag.status, 201, "{}", tag.text);
    let at = |secs: i64| (w.clock.now() + chrono::TimeDelta::seconds(secs)).to_rfc3339();
    let started = w
        .ocpp(
            &id,
            "StartTransaction",
            serde_json::json!({"connectorId": 1, "idTag": "REG-TAG", "meterStart": 1000, "timestamp": at(0)}),
        )
        .await;
    let tx = started["transactionId"].as_i64().unwrap();
    let meter = |secs: i64, wh: &str| {
        serde_json::json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
            "timestamp": at(secs),
            "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
        }]})
    };
    w.ocpp(&id, "MeterValues", meter(60, "1500")).await;
    w.ocpp(&id, "MeterValues", meter(30, "1200")).await; // late, older: not a step back
    assert!(alarms(&w, true).await.is_empty());
    w.ocpp(&id, "MeterValues", meter(120, "1400")).await;
    w.ocpp(&id, "MeterValues", meter(180, "1300")).await;
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "energyRegisterBackwards");
    // The latest step back's evidence (1500 -> 1400 raised it).
    assert_eq!(open[0]["details"]["before"]["wh"], "1400");
    assert_eq!(open[0]["details"]["after"]["wh"], "1300");
    assert_eq!(
        open[0]["occurrences"], 2,
        "the second step back is a repeat"
    );
    let opened: Vec<_> = published
        .take()
        .into_iter()
        .filter(|(kind, _)| kind == "alarm.opened")
        .collect();
    assert_eq!(opened.len(), 1, "one event per alarm: {opened:?}");
}

#[tokio::test]
async fn a_station_that_keeps_reconnecting_raises_flapping_once_and_the_sweep_resolves_it() {
    let (w, published) = world();
    let id = w.station("CP-FLAP", OcppVersion::V16, None).await;
    published.take();
    // The registration's connect is the first; five more every 5 minutes
    // make the platform's 6 within an hour.
    for n in 2..=5 {
        w.clock.advance(300);
        reconnect(&w, &*published, &id, &format!("conn-{n}")).await;
    }
    assert!(published.take().is_empty(), "5 connects are not flapping");
    assert!(alarms(&w, true).await.is_empty());
    w.clock.advance(300);
    reconnect(&w, &*published, &id, "conn-6").await;
    assert_eq!(
        published.take(),
        [pair("alarm.opened", "station-flapping:CP-FLAP")]
    );
    w.clock.advance(60);
    reconnect(&w, &*published, &id, "conn-7").await;
    assert!(published.take().is_empty(), "a repeat, not a second alarm");
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let a = &open[0];
    assert_eq!(a["kind"], "stationFlapping");
    assert_eq!(a["severity"], "warning");
    assert_eq!(a["title"], "Station CP-FLAP keeps reconnecting");
    assert_eq!(a["occurrences"], 2);
    assert_eq!(a["details"]["connects"].as_array().unwrap().len(), 7);
    assert_eq!(a["details"]["threshold"], 6);
    assert!(a["suggestedAction"].as_str().unwrap().contains("network"));

    // Still flapping within the hour of the latest connects: it stays.
    w.clock.advance(600);
    sweep(&w).await;
    assert_eq!(alarms(&w, true).await.len(), 1);
    // An hour after the sixth-latest connect the window holds fewer.
    w.clock.advance(3600);
    sweep(&w).await;
    assert!(alarms(&w, true).await.is_empty());
    assert_eq!(
        published.take(),
        [pair("alarm.resolved", "station-flapping:CP-FLAP")]
    );
    assert_eq!(
        w.store
            .get_station(&id)
            .await
            .unwrap()
            .unwrap()
            .recent_connects
            .len(),
        7,
        "what the station keeps is only rewritten by its next connect"
    );
}

#[tokio::test]
async fn a_station_in_a_boot_loop_raises_once_with_the_organisations_threshold() {
    let (w, published) = world();
    let id = w.station("CP-BOOT", OcppVersion::V16, None).await;
    let set = w
        .admin(
            "PUT",
            "/alarm-settings",
            Some(serde_json::json!({"bootLoop": {"count": 4, "windowSeconds": 600}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["bootLoop"],
        serde_json::json!({"count": 4, "windowSeconds": 600})
    );
    published.take();
    let boot = serde_json::json!({"chargePointVendor": "Acme", "chargePointModel": "Loop 1", "firmwareVersion": "9.9.9-rc1"});
    for _ in 0..3 {
        w.ocpp(&id, "BootNotification", boot.clone()).await;
        w.clock.advance(120);
    }
    assert!(
        published.take().is_empty(),
        "3 boots: the platform's default would alarm, the organisation's 4 does not"
    );
    w.ocpp(&id, "BootNotification", boot.clone()).await;
    assert_eq!(
        published.take(),
        [pair("alarm.opened", "station-boot-loop:CP-BOOT")]
    );
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let a = &open[0];
    assert_eq!(a["kind"], "stationBootLoop");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["details"]["boots"].as_array().unwrap().len(), 4);
    assert_eq!(a["details"]["firmwareVersion"], "9.9.9-rc1");
    assert_eq!(a["details"]["windowSeconds"], 600);
    assert!(a["message"]
        .as_str()
        .unwrap()
        .contains("booted 4 times within 10 min"));

    // Ten minutes after the second boot only two remain in the window.
    w.clock.advance(7 * 60);
    sweep(&w).await;
    assert!(alarms(&w, true).await.is_empty());
    assert_eq!(
        published.take(),
        [pair("alarm.resolved", "station-boot-loop:CP-BOOT")]
    );
}

#[tokio::test]
async fn failed_firmware_updates_and_uploads_raise_and_their_success_resolves() {
    let (w, published) = world();
    let v16 = w.station("CP-FW16", OcppVersion::V16, None).await;
    let v201 = w.station("CP-FW201", OcppVersion::V201, None).await;
    published.take();
    let fw = |status: &str| serde_json::json!({"status": status});
    w.ocpp(&v16, "FirmwareStatusNotification", fw("Downloading"))
        .await;
    assert!(published.take().is_empty(), "progress raises nothing");
    w.ocpp(&v16, "FirmwareStatusNotification", fw("InstallationFailed"))
        .await;
    w.ocpp(&v16, "DiagnosticsStatusNotification", fw("UploadFailed"))
        .await;
    w.ocpp(
        &v201,
        "FirmwareStatusNotification",
        serde_json::json!({"status": "InvalidSignature", "requestId": 7}),
    )
    .await;
    w.ocpp(
        &v201,
        "LogStatusNotification",
        serde_json::json!({"status": "UploadFailure", "requestId": 8}),
    )
    .await;
    assert_eq!(
        published.take(),
        [
            pair("alarm.opened", "firmware-failed:CP-FW16"),
            pair("alarm.opened", "diagnostics-failed:CP-FW16"),
            pair("alarm.opened", "firmware-failed:CP-FW201"),
            pair("alarm.opened", "diagnostics-failed:CP-FW201"),
        ]
    );
    let open = alarms(&w, true).await;
    let fw201 = open
        .iter()
        .find(|a| a["id"] == "firmware-failed:CP-FW201")
        .unwrap();
    assert_eq!(fw201["kind"], "firmwareUpdateFailed");
    assert_eq!(fw201["details"]["status"], "InvalidSignature");
    assert_eq!(fw201["details"]["requestId"], 7);
    w.ocpp(&v16, "FirmwareStatusNotification", fw("Installed"))
        .await;
    w.ocpp(&v16, "DiagnosticsStatusNotification", fw("Uploaded"))
        .await;
    w.ocpp(
        &v201,
        "LogStatusNotification",
        serde_json::json!({"status": "Uploaded", "requestId": 9}),
    )
    .await;
    assert_eq!(
        published.take(),
        [
            pair("alarm.resolved", "firmware-failed:CP-FW16"),
            pair("alarm.resolved", "diagnostics-failed:CP-FW16"),
            pair("alarm.resolved", "diagnostics-failed:CP-FW201"),
        ]
    );
    assert_eq!(
        alarms(&w, true).await.len(),
        1,
        "the 2.0.1 firmware is still not installed"
    );
}

#[tokio::test]
async fn security_events_raise_once_per_type_and_routine_ones_nothing() {
    let (w, published) = world();
    let id = w.station("CP-SEC", OcppVersion::V201, None).await;
    published.take();
    // Timed by the station a minute before the world's clock (a station ahead of it drifts).
    let event = |kind: &str| serde_json::json!({"type": kind, "timestamp": "2026-12-01T09:59:00Z", "techInfo": "lid open"});
    w.ocpp(
        &id,
        "SecurityEventNotification",
        event("StartupOfTheDevice"),
    )
    .await;
    w.ocpp(&id, "SecurityEventNotification", event("ResetOrReboot"))
        .await;
    assert!(published.take().is_empty(), "routine events raise nothing");
    w.ocpp(
        &id,
        "SecurityEventNotification",
        event("TamperDetectionActivated"),
    )
    .await;
    w.ocpp(
        &id,
        "SecurityEventNotification",
        event("TamperDetectionActivated"),
    )
    .await;
    w.ocpp(&id, "SecurityEventNotification", event("Vendor/Odd type"))
        .await;
    assert_eq!(
        published.take(),
        [
            pair(
                "alarm.opened",
                "security-event:CP-SEC:TamperDetectionActivated"
            ),
            pair("alarm.opened", "security-event:CP-SEC:Vendor_Odd_type"),
        ]
    );
    let open = alarms(&w, true).await;
    let tamper = open
        .iter()
        .find(|a| a["kind"] == "securityEvent" && a["severity"] == "critical")
        .unwrap();
    assert_eq!(tamper["occurrences"], 2);
    assert_eq!(tamper["details"]["techInfo"], "lid open");
    let odd = open.iter().find(|a| a["severity"] == "warning").unwrap();
    assert_eq!(odd["details"]["type"], "Vendor/Odd type");
}

#[tokio::test]
async fn a_session_that_ends_without_its_start_raises_and_a_late_start_resolves() {
    let (w, published) = world();
    let id = w.station("CP-ORPH", OcppVersion::V201, None).await;
    published.take();
    let now = w.clock.now().to_rfc3339();
    w.ocpp(
        &id,
        "TransactionEvent",
        serde_json::json!({
            "eventType": "Ended", "timestamp": now, "triggerReason": "StopAuthorized", "seqNo": 3,
            "transactionInfo": {"transactionId": "tx-late", "stoppedReason": "Local"},
            "evse": {"id": 1, "connectorId": 1}}),
    )
    .await;
    assert_eq!(
        published.take(),
        [pair("alarm.opened", "stop-without-start:CP-ORPH~tx-late")]
    );
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "stopWithoutStart");
    assert_eq!(open[0]["details"]["transactionId"], "tx-late");
    // The station's queue sends the start after the end.
    w.ocpp(
        &id,
        "TransactionEvent",
        serde_json::json!({
            "eventType": "Started", "timestamp": now, "triggerReason": "Authorized", "seqNo": 0,
            "offline": true,
            "transactionInfo": {"transactionId": "tx-late"},
            "idToken": {"idToken": "TAG-1", "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1}}),
    )
    .await;
    assert_eq!(
        published.take(),
        [pair("alarm.resolved", "stop-without-start:CP-ORPH~tx-late")]
    );
}

#[tokio::test]
async fn a_connector_stuck_in_preparing_or_finishing_raises_once_and_moving_on_resolves() {
    let (w, published) = world();
    let id = w.station("CP-STUCK", OcppVersion::V16, None).await;
    let set = w
        .admin(
            "PUT",
            "/alarm-settings",
            Some(serde_json::json!({"stuckConnector": {"preparingMinutes": 10, "finishingMinutes": 30}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["stuckConnector"],
        serde_json::json!({"preparingMinutes": 10, "finishingMinutes": 30})
    );
    status16(&w, &id, "Preparing", "NoError").await;
    w.clock.advance(9 * 60);
    assert_eq!(sweep(&w).await, 0, "within the organisation's 10 minutes");
    w.clock.advance(61);
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(sweep(&w).await, 0, "raised once, not per sweep");
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"], "connector-stuck:CP-STUCK:1:1");
    assert_eq!(open[0]["kind"], "connectorStuck");
    assert_eq!(open[0]["severity"], "warning");
    assert_eq!(open[0]["details"]["status"], "Preparing");
    assert_eq!(open[0]["details"]["limitMinutes"], 10);
    assert_eq!(
        open[0]["title"],
        "Station CP-STUCK EVSE 1 connector 1 stuck in Preparing"
    );
    assert!(open[0]["suggestedAction"].as_str().is_some());

    // Charging starts: resolved. Finishing for 20 minutes is within 30.
    w.clock.advance(60);
    status16(&w, &id, "Charging", "NoError").await;
    assert!(alarms(&w, true).await.is_empty(), "resolved");
    w.clock.advance(3600);
    status16(&w, &id, "Finishing", "NoError").await;
    w.clock.advance(20 * 60);
    assert_eq!(sweep(&w).await, 0);
    // Unplugged before its limit: nothing to raise later.
    status16(&w, &id, "Available", "NoError").await;
    w.clock.advance(3600);
    assert_eq!(sweep(&w).await, 0, "off the list");
    // Finishing for longer than 30 minutes raises; Available resolves.
    status16(&w, &id, "Finishing", "NoError").await;
    w.clock.advance(31 * 60);
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(alarms(&w, true).await[0]["details"]["status"], "Finishing");
    w.clock.advance(60);
    status16(&w, &id, "Available", "NoError").await;
    assert!(alarms(&w, true).await.is_empty());
    assert_eq!(
        published.take(),
        [
            pair("alarm.opened", "connector-stuck:CP-STUCK:1:1"),
            pair("alarm.resolved", "connector-stuck:CP-STUCK:1:1"),
            pair("alarm.opened", "connector-stuck:CP-STUCK:1:1"),
            pair("alarm.resolved", "connector-stuck:CP-STUCK:1:1"),
        ],
        "one event per change, not per sweep"
    );
}

async fn connect_from(
    w: &ChargerWorld,
    events: &dyn csms_kernel::events::EventBus,
    id: &csms_domain::StationId,
    conn: &str,
    ip: &str,
) {
    let st = w.store.get_station(id).await.unwrap().unwrap();
    connect::opened(
        &*w.store,
        events,
        None,
        &st,
        connect::Opening {
            connection_id: conn,
            version: OcppVersion::V16,
            source: Some(csms_kernel::throttle::ClientAddr(ip.parse().unwrap())),
        },
        w.clock.now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_station_connecting_from_many_addresses_raises_once_and_the_sweep_resolves_it() {
    let (w, published) = world();
    let id = w.station("CP-ADDR", OcppVersion::V16, None).await;
    let bad = w
        .admin(
            "PUT",
            "/alarm-settings",
            Some(serde_json::json!({"manyAddresses": {"count": 0, "windowSeconds": 3600}})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("manyAddresses.count"), "{}", bad.text);
    let set = w
        .admin(
            "PUT",
            "/alarm-settings",
            // Seven connects within the hour: not flapping for this test.
            Some(serde_json::json!({
                "manyAddresses": {"count": 2, "windowSeconds": 3600},
                "flapping": {"count": 50, "windowSeconds": 3600},
            })),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    published.take();
    // Two addresses, one of them twice, and an IPv6 subscriber whose
    // privacy address rotates within its /64: three networks.
    connect_from(&w, &*published, &id, "c-1", "192.0.2.1").await;
    w.clock.advance(600);
    connect_from(&w, &*published, &id, "c-2", "2001:db8:1:2::aa").await;
    w.clock.advance(600);
    connect_from(&w, &*published, &id, "c-3", "2001:db8:1:2::bb").await;
    connect_from(&w, &*published, &id, "c-4", "192.0.2.1").await;
    assert!(published.take().is_empty(), "2 networks are allowed");
    w.clock.advance(600);
    connect_from(&w, &*published, &id, "c-5", "198.51.100.9").await;
    assert_eq!(
        published.take(),
        [pair("alarm.opened", "station-addresses:CP-ADDR")]
    );
    connect_from(&w, &*published, &id, "c-6", "203.0.113.4").await;
    assert!(published.take().is_empty(), "a repeat, not a second alarm");
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let a = &open[0];
    assert_eq!(
        (&a["kind"], &a["severity"], &a["occurrences"]),
        (
            &"stationManyAddresses".into(),
            &"critical".into(),
            &2.into()
        )
    );
    let seen: Vec<&str> = a["details"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen,
        [
            "2001:db8:1:2::/64",
            "192.0.2.1",
            "198.51.100.9",
            "203.0.113.4"
        ]
    );
    assert!(a["suggestedAction"].as_str().unwrap().contains("password"));
    w.clock.advance(1800);
    sweep(&w).await;
    assert_eq!(alarms(&w, true).await.len(), 1, "4 within the hour still");
    // An hour after the connect from 198.51.100.9, 203.0.113.4 is alone.
    w.clock.advance(1900);
    sweep(&w).await;
    assert!(alarms(&w, true).await.is_empty());
    assert_eq!(
        published.take(),
        [pair("alarm.resolved", "station-addresses:CP-ADDR")]
    );
}

#[tokio::test]
async fn a_station_that_floods_raises_once_repeats_on_the_next_window_and_a_quiet_window_resolves_it(
) {
    let (w, published) = world();
    let id = w.station("CP-FLOOD", OcppVersion::V16, None).await;
    let set = w
        .admin(
            "PUT",
            "/alarm-settings",
            Some(serde_json::json!({"messageFlood": {"count": 30, "windowSeconds": 60}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["messageFlood"],
        serde_json::json!({"count": 30, "windowSeconds": 60})
    );
    published.take();
    // A healthy station: a heartbeat every 10 s for 10 minutes.
    for _ in 0..60 {
        w.clock.advance(10);
        w.ocpp(&id, "Heartbeat", serde_json::json!({})).await;
    }
    assert!(published.take().is_empty());
    // 61 within a second. With the heartbeats of the last minute the burst
    // floods before its 31st message (the rule counts from its marks, so
    // at most a quarter of the limit late); counted, the next flood needs
    // 31 anew and comes within the same burst: the alarm opens once and
    // repeats.
    for _ in 0..61 {
        w.ocpp(&id, "Heartbeat", serde_json::json!({})).await;
    }
    assert_eq!(
        published.take(),
        [pair("alarm.opened", "message-flood:CP-FLOOD")]
    );
    for _ in 0..31 {
        w.ocpp(&id, "Heartbeat", serde_json::json!({})).await;
    }
    assert!(published.take().is_empty(), "a repeat, not a second alarm");
    let open = alarms(&w, true).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "messageFlood");
    // Opened, repeated within the burst, repeated by the 31 after it.
    assert_eq!(open[0]["occurrences"], 3);
    assert_eq!(open[0]["details"]["limit"], 30);
    // A minute with one message: quiet again.
    w.clock.advance(61);
    w.ocpp(&id, "Heartbeat", serde_json::json!({})).await;
    assert_eq!(
        published.take(),
        [pair("alarm.resolved", "message-flood:CP-FLOOD")]
    );
    assert!(alarms(&w, true).await.is_empty());
}
