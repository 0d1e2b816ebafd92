"""Issue 14, Tests: a second, independent charger implementation. `tests/node-charger/charger.js` runs on the
`ocpp-rpc` npm package in strict mode, which validates every message both ways against its own copy of the OCPP
1.6 and 2.0.1 schemas; it runs sessions with known meter readings on both versions, and its totals are checked
against the CSMS's API. Any strict-mode failure (either direction) fails the test. `tests/run.sh` installs the
package (`npm ci`) before the e2e step."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from csms_e2e import model_values, poll, unique

NODE_DIR = Path(__file__).resolve().parents[1] / "node-charger"
ENERGY = "Energy.Active.Import.Register"


def command_bodies(version: str) -> list[tuple[dict, str]]:
    """(command body, the OCPP action the charger must receive), for what the API's command endpoint sends."""
    v16 = version == "1.6"
    key = {"variable": "HeartbeatInterval"} if v16 else {"component": "OCPPCommCtrlr",
                                                           "variable": "HeartbeatInterval"}
    return [
        ({"type": "remoteStart", "idToken": "NODE-RS", "evseId": 1},
         "RemoteStartTransaction" if v16 else "RequestStartTransaction"),
        ({"type": "remoteStop", "transactionId": "55"},
         "RemoteStopTransaction" if v16 else "RequestStopTransaction"),
        ({"type": "reset", "kind": "soft", "when": "immediate"}, "Reset"),
        ({"type": "unlock", "evseId": 1}, "UnlockConnector"),
        ({"type": "getConfiguration", "keys": [key]}, "GetConfiguration" if v16 else "GetVariables"),
        ({"type": "changeConfiguration", "key": key, "value": "120"},
         "ChangeConfiguration" if v16 else "SetVariables"),
        ({"type": "triggerMessage", "message": "Heartbeat"}, "TriggerMessage"),
        ({"type": "changeAvailability", "evseId": 1, "operative": True}, "ChangeAvailability"),
        ({"type": "clearCache"}, "ClearCache"),
    ]


def send_commands(runner, station: str, version: str) -> list[str]:
    """Send every command through the API; each must end accepted. Returns the actions sent, in order."""
    actions = []
    for body, action in command_bodies(version):
        r = runner.api("POST", f"/stations/{station}/commands", body, params={"wait": 10})
        assert r.status_code == 200, f"{version} {body} -> {r.status_code}: {r.text[:400]}"
        cmd = r.json()
        assert cmd["status"] == "accepted", f"{version} {body}: {cmd}"
        actions.append(action)
    return actions


def test_the_node_charger_runs_complete_and_correct_sessions_on_both_versions(runner):
    node = shutil.which("node")
    assert node, "node is not on PATH"
    assert (NODE_DIR / "node_modules" / "ocpp-rpc").is_dir(), \
        "ocpp-rpc is not installed: tests/run.sh runs `npm ci` in tests/node-charger before the e2e step"
    s16, s201 = unique("NODE16"), unique("NODE201")
    tag = unique("NODETAG")[:20]
    runner.create_station(s16)
    runner.create_station(s201)
    runner.create_token(tag)
    runner.create_token("NODE-RS")
    base = runner.ws_url("x").rsplit("/", 1)[0]
    proc = subprocess.Popen([node, "charger.js", base, s16, s201, tag], cwd=NODE_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a hung charger fails the test instead of hanging it
    watchdog.start()
    try:
        ready = proc.stdout.readline()
        assert json.loads(ready or "{}").get("ready"), f"the node charger did not get ready: {ready}"
        answered = {version: send_commands(runner, station, version) for version, station in
                    (("1.6", s16), ("2.0.1", s201))}
        # The boot's report is in, with SetVariables' value written into it.
        booted = poll(lambda: (m := runner.device_model(s201)) and
                      model_values(m).get(("OCPPCommCtrlr", None, None, "HeartbeatInterval")) == {"Actual": "120"}
                      and m, what="the 2.0.1 device model with HeartbeatInterval 120",
                      show=lambda: runner.device_model(s201))
        # The whole configuration of a 2.0.1 station is a new report.
        r = runner.api("POST", f"/stations/{s201}/commands", {"type": "getConfiguration"}, params={"wait": 10})
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert r.json()["action"] == "GetBaseReport", r.json()
        renewed = poll(lambda: (m := runner.device_model(s201)) and m["requestId"] != booted["requestId"] and m,
                       what="the device model of the second report", timeout=10)
        stdout, stderr = proc.communicate(input="", timeout=60)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 0, f"node charger failed ({proc.returncode}):\n{ready}{stdout}\n{stderr}"
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["failures"] == [], out["failures"]
    for version in ("1.6", "2.0.1"):
        assert out[version]["commands"] == answered[version], \
            f"{version}: the charger received {out[version]['commands']}, the CSMS sent {answered[version]}"

    # Two reports (boot and getConfiguration), the API showing the last, as the charger sent it.
    assert len(out["2.0.1"]["reports"]) == 2, out["2.0.1"]
    assert renewed["requestId"] == out["2.0.1"]["reports"][-1], renewed
    assert booted["requestId"] == out["2.0.1"]["reports"][0], booted
    assert model_values(renewed) == {
        ("OCPPCommCtrlr", None, None, "HeartbeatInterval"): {"Actual": "120"},
        ("EVSE", 1, None, "Power"): {"Actual": "22000", "MaxSet": "22000"},
        ("Connector", 1, 1, "ConnectorType"): {"Actual": "cType2"},
        ("SecurityCtrlr", None, None, "BasicAuthPassword"): {"Actual": None},
    }, renewed
    power = runner.device_model(s201, component="evse")["components"][0]["variables"][0]
    assert power["characteristics"] == {"unit": "W", "dataType": "decimal", "minLimit": "0", "maxLimit": "22000",
                                        "valuesList": None, "supportsMonitoring": True}, power
    for version, station in (("1.6", s16), ("2.0.1", s201)):
        ran = out[version]
        assert ran["boot"] == "Accepted", ran
        # Three own sessions; on 2.0.1 a fourth, the remote start's, sent without idToken (issue 14, point 6).
        assert len(ran["sessions"]) == (3 if version == "1.6" else 4), ran
        stored = runner.all_sessions(stationId=station)
        assert len(stored) == len(ran["sessions"]), f"{version}: sessions stored {stored}"
        for sent in ran["sessions"]:
            listed = runner.session_for(station, sent["transactionId"])
            session = runner.session_record(listed["id"])
            expected = {"status": "completed", "idToken": sent.get("idToken", tag), "meterStartWh": sent["meterStartWh"],
                        "meterStopWh": sent["meterStopWh"],
                        "energyWh": sent["meterStopWh"] - sent["meterStartWh"]}
            assert {k: session.get(k) for k in expected} == expected, f"{version}: {session}"
            energy = [r for r in runner.meter_values(session["id"]) if r["measurand"] == ENERGY]
            assert sorted(r["value"] for r in energy) == sent["readingsWh"], f"{version}: {energy}"
