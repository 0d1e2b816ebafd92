"""Issue 14, Tests: a second, independent charger implementation. `tests/node-charger/charger.js` runs on the
`ocpp-rpc` npm package in strict mode, which validates every message both ways against its own copy of the OCPP
1.6 and 2.0.1 schemas; it runs sessions with known meter readings on both versions, and its totals are checked
against the CSMS's API. Any strict-mode failure (either direction) fails the test. `tests/run.sh` installs the
package (`npm ci`) before the e2e step."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from csms_e2e import unique

NODE_DIR = Path(__file__).resolve().parents[1] / "node-charger"
ENERGY = "Energy.Active.Import.Register"


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
    base = runner.ws_url("x").rsplit("/", 1)[0]
    proc = subprocess.run([node, "charger.js", base, s16, s201, tag], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"node charger failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["failures"] == [], out["failures"]

    for version, station in (("1.6", s16), ("2.0.1", s201)):
        ran = out[version]
        assert ran["boot"] == "Accepted", ran
        assert len(ran["sessions"]) == 3, ran
        stored = runner.all_sessions(stationId=station)
        assert len(stored) == len(ran["sessions"]), f"{version}: sessions stored {stored}"
        for sent in ran["sessions"]:
            listed = runner.session_for(station, sent["transactionId"])
            session = runner.session_record(listed["id"])
            expected = {"status": "completed", "idToken": tag, "meterStartWh": sent["meterStartWh"],
                        "meterStopWh": sent["meterStopWh"],
                        "energyWh": sent["meterStopWh"] - sent["meterStartWh"]}
            assert {k: session.get(k) for k in expected} == expected, f"{version}: {session}"
            energy = [r for r in runner.meter_values(session["id"]) if r["measurand"] == ENERGY]
            assert sorted(r["value"] for r in energy) == sent["readingsWh"], f"{version}: {energy}"
