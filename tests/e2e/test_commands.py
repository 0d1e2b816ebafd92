"""Commands from the CSMS to chargers, over real sockets, for OCPP 1.6 and 2.0.1.

The simulated chargers are `ocpp` library charge points, which validate every CALL the CSMS sends against the
official schemas before a handler sees it: a malformed command would come back as a CALLERROR and fail these tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from ocpp.exceptions import NotSupportedError
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import (Charger16, Charger201, assert_error, connect_ws, iso, now_utc, run,
                      unique)

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}

# What a cooperative charger answers to each CSMS action (snake_case, as the ocpp library takes it).
ANSWERS = {
    "1.6": {
        "RemoteStartTransaction": {"status": "Accepted"},
        "RemoteStopTransaction": {"status": "Accepted"},
        "SetChargingProfile": {"status": "Accepted"},
        "ClearChargingProfile": {"status": "Accepted"},
        "UnlockConnector": {"status": "Unlocked"},
        "Reset": {"status": "Accepted"},
        "ChangeAvailability": {"status": "Accepted"},
        "GetDiagnostics": {"file_name": "diag-2026.zip"},
        "UpdateFirmware": {},
        "GetConfiguration": {"configuration_key": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
        "ChangeConfiguration": {"status": "Accepted"},
        "TriggerMessage": {"status": "Accepted"},
        "ClearCache": {"status": "Accepted"},
        "SendLocalList": {"status": "Accepted"},
        "GetLocalListVersion": {"list_version": 3},
        "ReserveNow": {"status": "Accepted"},
        "CancelReservation": {"status": "Accepted"},
        "DataTransfer": {"status": "Accepted", "data": "pong"},
        "GetCompositeSchedule": {"status": "Accepted", "connector_id": 1},
    },
    "2.0.1": {
        "RequestStartTransaction": {"status": "Accepted"},
        "RequestStopTransaction": {"status": "Accepted"},
        "SetChargingProfile": {"status": "Accepted"},
        "ClearChargingProfile": {"status": "Accepted"},
        "UnlockConnector": {"status": "Unlocked"},
        "Reset": {"status": "Accepted"},
        "ChangeAvailability": {"status": "Accepted"},
        "GetLog": {"status": "Accepted", "filename": "diag-2026.zip"},
        "UpdateFirmware": {"status": "Accepted"},
        "GetVariables": {"get_variable_result": [{
            "attribute_status": "Accepted", "attribute_value": "300",
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
        "SetVariables": {"set_variable_result": [{
            "attribute_status": "Accepted",
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
        "TriggerMessage": {"status": "Accepted"},
        "ClearCache": {"status": "Accepted"},
        "SendLocalList": {"status": "Accepted"},
        "GetLocalListVersion": {"version_number": 3},
        "ReserveNow": {"status": "Accepted"},
        "CancelReservation": {"status": "Accepted"},
        "DataTransfer": {"status": "Accepted"},
        "GetCompositeSchedule": {"status": "Accepted"},
    },
}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _recording(base, version: str):
    """A charger class answering every CSMS action from ANSWERS, overridable per test, and recording each CALL
    as it arrived on the wire (camelCase payload)."""
    results = result16 if version == "1.6" else result201

    class Recording(base):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.received: list[tuple[str, dict]] = []
            self.answers = dict(ANSWERS[version])
            self.delay: dict[str, float] = {}
            self.fail: set[str] = set()

        async def route_message(self, raw_msg):
            msg = json.loads(raw_msg)
            if isinstance(msg, list) and msg and msg[0] == 2:
                self.received.append((msg[2], msg[3]))
            return await super().route_message(raw_msg)

    for action in ANSWERS[version]:
        def make(action=action):
            async def handler(self, **kwargs):
                if action in self.delay:
                    await asyncio.sleep(self.delay[action])
                if action in self.fail:
                    raise NotSupportedError(description=f"{action} switched off in this test")
                return getattr(results, action)(**self.answers[action])
            # The library finds handlers by function name.
            handler.__name__ = f"on_{_snake(action)}"
            return on(action)(handler)
        setattr(Recording, f"on_{_snake(action)}", make())
    return Recording


Charger16R = _recording(Charger16, "1.6")
Charger201R = _recording(Charger201, "2.0.1")


class RecordingConnection:
    """The connection of a recording charger (answers every command) of `self.version` to `self.runner`:
    `connect` opens it, leaving the `async with` closes it."""

    async def connect(self, station_id: str) -> None:
        self.ws = await connect_ws(self.runner.ws_url(station_id), [SUBPROTOCOL[self.version]])
        cls = Charger16R if self.version == "1.6" else Charger201R
        self.cp = cls(station_id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())

    async def __aexit__(self, *exc):
        self.task.cancel()
        try:
            await self.task
        except BaseException:
            pass
        await self.ws.close()

    async def boot(self):
        """A BootNotification; the answer's status and interval."""
        if self.version == "1.6":
            r = await self.cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="W1"))
        else:
            r = await self.cp.send(call201.BootNotification(
                charging_station={"vendor_name": "Acme", "model": "W1"}, reason="PowerUp"))
        return r.status, r.interval


class Connected(RecordingConnection):
    def __init__(self, runner, version: str):
        self.runner = runner
        self.version = version
        self.station = unique(f"CMD{version.replace('.', '')}")
        runner.create_station(self.station)

    async def __aenter__(self):
        await self.connect(self.station)
        await self.boot()
        self.boot_commands = await self.settle_boot_report()
        return self

    async def settle_boot_report(self) -> list[str]:
        """A 2.0.1 boot makes the CSMS ask for the device report (GetBaseReport), which these chargers do not
        implement (NotImplemented: the command fails). Wait for it to settle and take it out of what the charger
        received, so each test sees only its own commands. Returns the ids of such commands."""
        if self.version == "1.6":
            return []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            items = (await asyncio.to_thread(
                self.runner.api_ok, "GET", f"/stations/{self.station}/commands"))["items"]
            done = [c for c in items if c["action"] == "GetBaseReport" and c["status"] != "pending"]
            if done:
                assert [c["status"] for c in done] == ["failed"], done
                self.cp.received = [r for r in self.cp.received if r[0] != "GetBaseReport"]
                return [c["id"] for c in done]
            await asyncio.sleep(0.05)
        raise AssertionError("the boot's GetBaseReport did not settle")

    async def command(self, body: dict, *, wait: int | None = 5, status: int | None = None, **params):
        """POST a command off the event loop (the charger must keep answering meanwhile)."""
        if wait is not None:
            params["wait"] = wait
        headers = params.pop("headers", None)
        r = await asyncio.to_thread(
            self.runner.api, "POST", f"/stations/{self.station}/commands", body, params=params, headers=headers)
        if status is not None:
            assert r.status_code == status, f"{body} -> {r.status_code}: {r.text[:400]}"
        return r

    def actions(self) -> list[str]:
        return [a for a, _ in self.cp.received]


def command_cases(version: str) -> list[tuple[dict, str, dict]]:
    """(command body, OCPP action, fields the CALL payload must have) for every type."""
    v16 = version == "1.6"
    later = iso(now_utc() + timedelta(hours=2))
    key = {"variable": "HeartbeatInterval"} if v16 else {"component": "OCPPCommCtrlr",
                                                           "variable": "HeartbeatInterval"}
    profile = {"id": 12, "stackLevel": 1, "purpose": "txDefault", "kind": "absolute",
               "startSchedule": iso(now_utc()), "rateUnit": "A",
               "periods": [{"startPeriodS": 0, "limit": 16}, {"startPeriodS": 3600, "limit": 8.5}]}
    cases = [
        ({"type": "remoteStart", "idToken": "TAG-1", "evseId": 1},
         "RemoteStartTransaction" if v16 else "RequestStartTransaction",
         {"idTag": "TAG-1", "connectorId": 1} if v16 else {"idToken": {"idToken": "TAG-1", "type": "ISO14443"},
                                                           "evseId": 1}),
        ({"type": "remoteStop", "transactionId": "55"},
         "RemoteStopTransaction" if v16 else "RequestStopTransaction",
         {"transactionId": 55} if v16 else {"transactionId": "55"}),
        ({"type": "unlock", "evseId": 2}, "UnlockConnector",
         {"connectorId": 2} if v16 else {"evseId": 2, "connectorId": 1}),
        ({"type": "reset", "kind": "hard", "when": "immediate"}, "Reset",
         {"type": "Hard"} if v16 else {"type": "Immediate"}),
        ({"type": "changeAvailability", "evseId": 1, "operative": False}, "ChangeAvailability",
         {"connectorId": 1, "type": "Inoperative"} if v16 else {"operationalStatus": "Inoperative",
                                                                 "evse": {"id": 1}}),
        ({"type": "getDiagnostics", "location": "ftp://logs.example.com/in"},
         "GetDiagnostics" if v16 else "GetLog",
         {"location": "ftp://logs.example.com/in"} if v16 else {"logType": "DiagnosticsLog"}),
        ({"type": "updateFirmware", "location": "https://fw.example.com/2.0.bin", "retrieveAt": later},
         "UpdateFirmware", {"location": "https://fw.example.com/2.0.bin"} if v16 else {}),
        ({"type": "getConfiguration", "keys": [key]}, "GetConfiguration" if v16 else "GetVariables",
         {"key": ["HeartbeatInterval"]} if v16 else {}),
        ({"type": "changeConfiguration", "key": key, "value": "120"},
         "ChangeConfiguration" if v16 else "SetVariables",
         {"key": "HeartbeatInterval", "value": "120"} if v16 else {}),
        ({"type": "triggerMessage", "message": "StatusNotification", "evseId": 1}, "TriggerMessage",
         {"requestedMessage": "StatusNotification"}),
        ({"type": "clearCache"}, "ClearCache", {}),
        ({"type": "sendLocalList", "version": 4, "full": True,
          "entries": [{"idToken": "TAG-1", "status": "Accepted"}]}, "SendLocalList",
         {"updateType": "Full"}),
        ({"type": "getLocalListVersion"}, "GetLocalListVersion", {}),
        ({"type": "reserveNow", "reservationId": 8, "idToken": "TAG-1", "expiresAt": later, "evseId": 1},
         "ReserveNow", {"reservationId": 8, "idTag": "TAG-1"} if v16 else {"id": 8}),
        ({"type": "cancelReservation", "reservationId": 8}, "CancelReservation", {"reservationId": 8}),
        ({"type": "dataTransfer", "vendorId": "com.acme", "messageId": "ping", "data": "hello"},
         "DataTransfer", {"vendorId": "com.acme", "messageId": "ping", "data": "hello"}),
        ({"type": "setChargingProfile", "evseId": 1, "profile": profile}, "SetChargingProfile",
         {"connectorId": 1} if v16 else {"evseId": 1}),
        ({"type": "clearChargingProfile", "profileId": 12}, "ClearChargingProfile",
         {"id": 12} if v16 else {"chargingProfileId": 12}),
        ({"type": "getCompositeSchedule", "evseId": 1, "durationS": 3600}, "GetCompositeSchedule",
         {"duration": 3600}),
    ]
    return cases


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_every_command_type_reaches_the_charger(runner, version):
    cases = command_cases(version)

    async def scenario():
        async with Connected(runner, version) as c:
            for body, action, fields in cases:
                r = await c.command(body, status=200)
                cmd = r.json()
                assert cmd["status"] == "accepted", f"{body['type']}: {cmd}"
                assert cmd["type"] == body["type"] and cmd["action"] == action, cmd
                assert cmd["stationId"] == c.station
                assert cmd["sentAt"] and cmd["completedAt"] and cmd["error"] is None, cmd
                got_action, payload = c.cp.received[-1]
                assert got_action == action, f"{body['type']}: charger got {got_action}"
                for k, v in fields.items():
                    assert payload.get(k) == v, f"{action}.{k}: {payload.get(k)!r} != {v!r} in {payload}"
            assert len(c.cp.received) == len(cases), "one CALL per command"

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_answers_are_kept_and_rejections_reported(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            cfg_action = "GetConfiguration" if version == "1.6" else "GetVariables"
            key = ({"variable": "HeartbeatInterval"} if version == "1.6"
                   else {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"})
            cmd = (await c.command({"type": "getConfiguration", "keys": [key]}, status=200)).json()
            assert cmd["action"] == cfg_action and cmd["status"] == "accepted"
            assert "300" in json.dumps(cmd["response"]), f"the charger's values are in the response: {cmd}"

            c.cp.answers["UnlockConnector"] = {"status": "UnlockFailed"}
            cmd = (await c.command({"type": "unlock", "evseId": 1}, status=200)).json()
            assert cmd["status"] == "rejected" and cmd["response"] == {"status": "UnlockFailed"}, cmd

            c.cp.answers["Reset"] = {"status": "Rejected"}
            cmd = (await c.command({"type": "reset"}, status=200)).json()
            assert cmd["status"] == "rejected", cmd

            c.cp.fail.add("ClearCache")
            cmd = (await c.command({"type": "clearCache"}, status=200)).json()
            assert cmd["status"] == "failed" and cmd["error"].startswith("NotSupported"), cmd

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_timeout_then_the_queue_moves_on(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            c.cp.delay["Reset"] = 3.5
            slow = (await c.command({"type": "reset"}, wait=None, timeout=1, status=202)).json()
            assert slow["status"] == "pending"
            queued = (await c.command({"type": "clearCache"}, wait=None, status=202)).json()
            assert queued["sentAt"] is None, "a second command waits for the first"
            done = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{slow['id']}")
            deadline = time.monotonic() + 6
            while done["status"] == "pending" and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                done = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{slow['id']}")
            assert done["status"] == "timeout", done
            # The charger answers ClearCache once it is past its slow Reset.
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                q = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{queued['id']}")
                if q["status"] != "pending":
                    break
                await asyncio.sleep(0.1)
            assert q["status"] == "accepted", q
            assert q["sentAt"] >= done["completedAt"], (q, done)
            late = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{slow['id']}")
            assert late["status"] == "timeout", "the late answer changes nothing"

    run(scenario())


def test_offline_station_answers_at_once(runner):
    station = unique("CMDOFF")
    runner.create_station(station)
    started = time.monotonic()
    r = runner.api("POST", f"/stations/{station}/commands", {"type": "reset"}, params={"wait": 10})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "offline" and r.json()["sentAt"] is None
    assert time.monotonic() - started < 2, "offline is known without waiting"

    # A later connect does not replay the command.
    async def connect_later():
        ws = await connect_ws(runner.ws_url(station), ["ocpp1.6"])
        cp = Charger16R(station, ws, response_timeout=5)
        task = asyncio.create_task(cp.start())
        await asyncio.sleep(0.5)
        task.cancel()
        await ws.close()
        assert cp.received == [], cp.received

    run(connect_later())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_queued_commands_go_one_at_a_time_in_order(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            for a in ("Reset", "ClearCache", "GetLocalListVersion"):
                c.cp.delay[a] = 0.3
            bodies = [{"type": "reset"}, {"type": "clearCache"}, {"type": "getLocalListVersion"}]
            ids = [(await c.command(b, wait=None)).json()["id"] for b in bodies]
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                cmds = [await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{i}") for i in ids]
                if all(x["status"] != "pending" for x in cmds):
                    break
                await asyncio.sleep(0.1)
            assert [x["status"] for x in cmds] == ["accepted"] * 3, cmds
            assert c.actions() == ["Reset", "ClearCache", "GetLocalListVersion"]
            for before, after in zip(cmds, cmds[1:]):
                assert after["sentAt"] >= before["completedAt"], "never two calls in flight"
            history = await asyncio.to_thread(c.runner.api_ok, "GET", f"/stations/{c.station}/commands",
                                              params={"limit": 2})
            assert [x["id"] for x in history["items"]] == ids[::-1][:2], "newest first"
            rest = await asyncio.to_thread(c.runner.api_ok, "GET", f"/stations/{c.station}/commands",
                                           params={"limit": 2, "cursor": history["nextCursor"]})
            # On 2.0.1 the boot's report request is the oldest.
            assert [x["id"] for x in rest["items"]] == ids[:1] + c.boot_commands and rest["nextCursor"] is None

    run(scenario())


def test_idempotency_key(runner):
    async def scenario():
        async with Connected(runner, "1.6") as c:
            h = {"Idempotency-Key": unique("order")}
            first = (await c.command({"type": "reset", "kind": "soft"}, headers=h, status=200)).json()
            again = (await c.command({"type": "reset", "kind": "soft"}, headers=h, status=200)).json()
            assert again["id"] == first["id"]
            assert c.actions() == ["Reset"], "sent once"
            other = await c.command({"type": "reset", "kind": "hard"}, headers=h)
            assert_error(other, 409, "conflict")

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_pause_and_resume_a_transaction(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            if version == "1.6":
                started = await c.cp.send(call16.StartTransaction(
                    connector_id=2, id_tag="TAG-P", meter_start=100, timestamp=iso(now_utc())))
                tx = str(started.transaction_id)
            else:
                tx = unique("TX")[:30]
                await c.cp.send(call201.TransactionEvent(
                    event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
                    transaction_info={"transaction_id": tx}, evse={"id": 2, "connector_id": 1}))
            paused = (await c.command({"type": "pause", "transactionId": tx}, status=200)).json()
            assert paused["status"] == "accepted" and paused["action"] == "SetChargingProfile", paused
            action, payload = c.cp.received[-1]
            if version == "1.6":
                prof = payload["csChargingProfiles"]
                assert payload["connectorId"] == 2 and prof["transactionId"] == int(tx), payload
                periods = prof["chargingSchedule"]["chargingSchedulePeriod"]
                profile_id = prof["chargingProfileId"]
            else:
                prof = payload["chargingProfile"]
                assert payload["evseId"] == 2 and prof["transactionId"] == tx, payload
                periods = prof["chargingSchedule"][0]["chargingSchedulePeriod"]
                profile_id = prof["id"]
            assert prof["chargingProfilePurpose"] == "TxProfile"
            assert [p["limit"] for p in periods] == [0], periods

            resumed = (await c.command({"type": "resume", "transactionId": tx}, status=200)).json()
            assert resumed["status"] == "accepted" and resumed["action"] == "ClearChargingProfile"
            _, payload = c.cp.received[-1]
            assert payload == ({"id": profile_id} if version == "1.6" else {"chargingProfileId": profile_id})

            r = await c.command({"type": "pause", "transactionId": "999999"})
            assert_error(r, 400, "invalid_request")

    run(scenario())


def test_remote_start_runs_a_session(runner):
    tag = unique("RS")[:20]
    runner.create_token(tag)

    async def scenario():
        async with Connected(runner, "1.6") as c:
            cmd = (await c.command({"type": "remoteStart", "idToken": tag, "evseId": 1}, status=200)).json()
            assert cmd["status"] == "accepted"
            _, payload = c.cp.received[-1]
            assert payload["idTag"] == tag
            # What a charger does next: start the transaction for that tag.
            started = await c.cp.send(call16.StartTransaction(
                connector_id=1, id_tag=payload["idTag"], meter_start=0, timestamp=iso(now_utc())))
            session = runner.session_for(c.station, started.transaction_id)
            assert session["idToken"] == tag and session["status"] == "active"
            stop = (await c.command({"type": "remoteStop", "transactionId": str(started.transaction_id)},
                                    status=200)).json()
            assert stop["status"] == "accepted"
            assert c.cp.received[-1] == ("RemoteStopTransaction", {"transactionId": started.transaction_id})

    run(scenario())


def test_bad_requests(runner):
    async def scenario():
        async with Connected(runner, "1.6") as c:
            r = await c.command({"type": "selfDestruct"})
            err = assert_error(r, 400, "invalid_request")
            assert "remoteStart" in err["message"], "the message lists the valid types"
            assert_error(await c.command({"idToken": "X"}), 400, "invalid_request")
            assert_error(await c.command({"type": "remoteStart"}), 400, "invalid_request")
            assert_error(await c.command({"type": "unlock", "evseId": "one"}), 400, "invalid_request")
            # A 2.0.1-only trigger on a 1.6 station.
            r = await c.command({"type": "triggerMessage", "message": "TransactionEvent"})
            assert_error(r, 400, "invalid_request")
            assert_error(await c.command({"type": "reset"}, wait=99), 400, "invalid_request")
            assert_error(await c.command({"type": "reset"}, timeout=0), 400, "invalid_request")
            assert c.cp.received == [], "nothing invalid reaches the charger"

    run(scenario())
    assert_error(runner.api("POST", "/stations/NO-SUCH-STATION/commands", {"type": "reset"}), 404, "not_found")
    assert_error(runner.api("GET", "/commands/01JDX3N6Q8Z4V7T2K9R5M1B0CE"), 404, "not_found")
    assert_error(runner.api("GET", "/commands/not-an-id"), 404, "not_found")
    assert_error(runner.api("POST", "/stations/X/commands", {"type": "reset"}, key=None), 401, "unauthorized")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_firmware_and_diagnostics_progress_is_tracked(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            later = iso(now_utc() + timedelta(minutes=5))
            fw = (await c.command({"type": "updateFirmware", "location": "https://fw.example.com/3.1.bin",
                                   "retrieveAt": later}, status=200)).json()
            assert fw["status"] == "accepted" and fw["progress"] == [], fw
            _, payload = c.cp.received[-1]
            request_id = payload.get("requestId")
            for status in ["Downloading", "Downloaded", "Installing", "Installed"]:
                if version == "1.6":
                    await c.cp.send(call16.FirmwareStatusNotification(status=status))
                else:
                    await c.cp.send(call201.FirmwareStatusNotification(status=status, request_id=request_id))
            got = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{fw['id']}")
            assert [p["status"] for p in got["progress"]] == ["Downloading", "Downloaded", "Installing",
                                                              "Installed"], got
            # A notification after the final one belongs to nothing: it is kept as a station event only.
            if version == "1.6":
                await c.cp.send(call16.FirmwareStatusNotification(status="Idle"))
            got = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{fw['id']}")
            assert len(got["progress"]) == 4

            diag = (await c.command({"type": "getDiagnostics", "location": "ftp://logs.example.com/in"},
                                    status=200)).json()
            _, payload = c.cp.received[-1]
            if version == "1.6":
                await c.cp.send(call16.DiagnosticsStatusNotification(status="Uploading"))
                await c.cp.send(call16.DiagnosticsStatusNotification(status="Uploaded"))
            else:
                rid = payload["requestId"]
                # A status for another request must not land on this command.
                await c.cp.send(call201.LogStatusNotification(status="Uploading", request_id=rid + 1))
                await c.cp.send(call201.LogStatusNotification(status="Uploading", request_id=rid))
                await c.cp.send(call201.LogStatusNotification(status="Uploaded", request_id=rid))
            got = await asyncio.to_thread(c.runner.api_ok, "GET", f"/commands/{diag['id']}")
            assert [p["status"] for p in got["progress"]] == ["Uploading", "Uploaded"], got

    run(scenario())
