"""Registration status (issue 14, point 5), with real `ocpp` chargers on both versions.

- A station created `approval: pending` boots and is answered `Pending` with the pending boot interval
  (`CSMS_PENDING_BOOT_INTERVAL`, 15 s here); its StatusNotification and Authorize get CALLERROR SecurityError and
  change nothing; a reset or remote start through the API is 409 naming the registration status, while
  getConfiguration goes out and is answered.
- `PATCH /stations/{id} {"approval": "accepted"}` sends it TriggerMessage BootNotification; it boots again and is
  answered `Accepted` with the heartbeat interval; from then on everything works.
- A station `rejected` is answered `Rejected` with the interval; its other messages get SecurityError, every command
  is 409.
- `station.registration` webhooks announce each change of the answer (signed like every delivery).
- Bad input: an unknown approval is 400 naming `approval`, an unknown field 400, a missing station 404.
"""

from __future__ import annotations

import asyncio

import pytest
from ocpp.exceptions import SecurityError
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import iso, now_utc, poll, run, started_runner, unique
from test_commands import RecordingConnection
from test_webhooks import receiver, subscribe, verify  # noqa: F401 (receiver: the module fixture)

PENDING_INTERVAL = 15


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "registration",
                        extra_env={"CSMS_PENDING_BOOT_INTERVAL": str(PENDING_INTERVAL)}) as r:
        yield r


class Station(RecordingConnection):
    """A registered station with the given approval, connected as a recording charger (answers every command)."""

    def __init__(self, runner, version: str, approval: str):
        self.runner = runner
        self.version = version
        self.id = unique(f"REG{version.replace('.', '')}")
        created = runner.api_ok("POST", "/stations", {"id": self.id, "approval": approval}, status=201)
        assert created["approval"] == approval and created["registrationStatus"] is None, created

    async def __aenter__(self):
        await self.connect(self.id)
        return self

    async def refused(self, payload) -> str:
        """Send a CALL that must get CALLERROR SecurityError; its description."""
        with pytest.raises(SecurityError) as e:
            await self.cp.call(payload, suppress=False)
        return e.value.description

    def status_notification(self):
        if self.version == "1.6":
            return call16.StatusNotification(connector_id=1, error_code="NoError", status="Available")
        return call201.StatusNotification(timestamp=iso(now_utc()), connector_status="Available",
                                          evse_id=1, connector_id=1)

    def authorize(self):
        if self.version == "1.6":
            return call16.Authorize(id_tag="TAG-REG")
        return call201.Authorize(id_token={"id_token": "TAG-REG", "type": "ISO14443"})

    async def command(self, body: dict, status: int):
        r = await asyncio.to_thread(self.runner.api, "POST", f"/stations/{self.id}/commands", body,
                                    params={"wait": 5})
        assert r.status_code == status, f"{body} -> {r.status_code}: {r.text[:400]}"
        return r.json()

    async def view(self) -> dict:
        return await asyncio.to_thread(self.runner.station, self.id)

    def get_configuration(self) -> dict:
        key = {"variable": "HeartbeatInterval"} if self.version == "1.6" else {
            "component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}
        return {"type": "getConfiguration", "keys": [key]}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_pending_station_is_held_until_approved(runner, receiver, version):
    hook = subscribe(runner, receiver.url(f"/reg-{version}"), ["station.registration"])

    async def scenario():
        async with Station(runner, version, "pending") as st:
            assert await st.boot() == ("Pending", PENDING_INTERVAL)
            view = await st.view()
            assert (view["registrationStatus"], view["approval"]) == ("Pending", "pending"), view

            # Nothing but the boot: refused with SecurityError, and not applied.
            message = await st.refused(st.status_notification())
            assert "Pending" in message, message
            await st.refused(st.authorize())
            assert (await st.view())["evses"] == [], "a refused status is not kept"

            # Commands: configuration may be read; anything else is 409 and never sent.
            for body in ({"type": "reset"}, {"type": "remoteStart", "idToken": "TAG-REG", "evseId": 1}):
                err = (await st.command(body, status=409))["error"]
                assert err["code"] == "conflict" and "Pending" in err["message"], err
            assert [a for a, _ in st.cp.received] == [], st.cp.received
            done = await st.command(st.get_configuration(), status=200)
            assert done["status"] == "accepted", done
            config_action = "GetConfiguration" if version == "1.6" else "GetVariables"
            assert [a for a, _ in st.cp.received] == [config_action], st.cp.received

            # The operator approves: the station is asked to boot again, and is accepted.
            approved = await asyncio.to_thread(
                runner.api_ok, "PATCH", f"/stations/{st.id}", {"approval": "accepted"})
            assert approved["approval"] == "accepted", approved
            await asyncio.to_thread(
                poll, lambda: len(st.cp.received) == 2, what="TriggerMessage BootNotification")
            assert st.cp.received[-1] == ("TriggerMessage", {"requestedMessage": "BootNotification"}), \
                st.cp.received
            status, interval = await st.boot()
            assert status == "Accepted" and interval != PENDING_INTERVAL, (status, interval)
            await st.cp.send(st.status_notification())
            view = await st.view()
            assert view["registrationStatus"] == "Accepted", view
            assert view["evses"][0]["connectors"][0]["status"] == "Available", view
            await st.command({"type": "reset"}, status=200)

            # Each change of the answer is announced, signed.
            path = f"/reg-{version}"
            first = await asyncio.to_thread(
                receiver.wait_for, path, "station.registration",
                lambda e: e["data"]["stationId"] == st.id and e["data"]["registrationStatus"] == "Pending")
            second = await asyncio.to_thread(
                receiver.wait_for, path, "station.registration",
                lambda e: e["data"]["stationId"] == st.id and e["data"]["registrationStatus"] == "Accepted")
            verify(hook["secret"], first)
            verify(hook["secret"], second)
            assert first["event"]["data"]["previousStatus"] is None, first["event"]
            assert second["event"]["data"]["previousStatus"] == "Pending", second["event"]
            assert second["event"]["data"]["approval"] == "accepted", second["event"]

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_rejected_station_may_send_and_be_sent_nothing(runner, version):
    async def scenario():
        async with Station(runner, version, "rejected") as st:
            assert await st.boot() == ("Rejected", PENDING_INTERVAL)
            message = await st.refused(st.status_notification())
            assert "Rejected" in message, message
            await st.refused(st.authorize())
            for body in ({"type": "reset"}, st.get_configuration()):
                err = (await st.command(body, status=409))["error"]
                assert "Rejected" in err["message"], err
            await asyncio.sleep(0.3)
            assert st.cp.received == [], "nothing is sent to a rejected station"
            view = await st.view()
            assert (view["registrationStatus"], view["approval"]) == ("Rejected", "rejected"), view

            # Approved later: a rejected station does not listen, so nothing is sent; its next boot is accepted.
            await asyncio.to_thread(runner.api_ok, "PATCH", f"/stations/{st.id}", {"approval": "accepted"})
            await asyncio.sleep(0.3)
            assert st.cp.received == [], st.cp.received
            assert (await st.boot())[0] == "Accepted"

    run(scenario())


def test_approval_input_is_checked(runner):
    sid = unique("REGBAD")
    r = runner.api("POST", "/stations", {"id": sid, "approval": "maybe"})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("approval:"), r.text
    runner.api_ok("POST", "/stations", {"id": sid}, status=201)
    assert runner.station(sid)["approval"] == "accepted", "accepted by default"
    for body, field in (({"approval": "Pending"}, "approval:"), ({"approved": True}, "approved"), ({}, "approval")):
        r = runner.api("PATCH", f"/stations/{sid}", body)
        assert r.status_code == 400 and field in r.json()["error"]["message"], (body, r.text)
    r = runner.api("PATCH", f"/stations/{unique('NOPE')}", {"approval": "pending"})
    assert r.status_code == 404, r.text
    assert runner.api_ok("PATCH", f"/stations/{sid}", {"approval": "pending"})["approval"] == "pending"
    # Not connected: nothing to trigger, the next boot gets the answer.
    assert runner.station(sid)["approval"] == "pending"
