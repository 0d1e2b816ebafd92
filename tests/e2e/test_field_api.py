"""Field quirks at the edges of the API, with real `ocpp` chargers on both versions (issue 14, points 3, 7, 8).

- Connector numbers: a 1.6 connector N is EVSE N, connector N everywhere — its status, its sessions, the commands
  that address it and the ones the CSMS derives from a session (pause); a `connectorId` other than N beside
  `evseId` N is refused for a 1.6 station; a 2.0.1 EVSE/connector pair is kept as the charger sent it.
- A command body with a field the API does not know is refused naming it, and nothing reaches the charger.
- `GET /stations/{id}` shows the registration status the station's boot was answered (null before it booted).
- Stopping the runner with chargers of a load-balanced site connected logs no "could not signal load balancing".
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import charger, connectors_of, iso, now_utc, poll, run, unique
from test_commands import Connected


async def start_on(c: Connected, evse: int, connector: int, tag: str, tx_201: str) -> str:
    """A charging session on the given 1.6 connector (`evse`) or 2.0.1 EVSE/connector; its transaction id."""
    t0 = (now_utc() - timedelta(minutes=5)).replace(microsecond=0)
    if c.version == "1.6":
        await c.cp.send(call16.StatusNotification(connector_id=evse, error_code="NoError", status="Charging"))
        started = await c.cp.send(call16.StartTransaction(
            connector_id=evse, id_tag=tag, meter_start=1000, timestamp=iso(t0)))
        return str(started.transaction_id)
    await c.cp.send(call201.StatusNotification(
        timestamp=iso(now_utc()), connector_status="Occupied", evse_id=evse, connector_id=connector))
    await c.cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(t0), trigger_reason="Authorized", seq_no=0,
        transaction_info={"transaction_id": tx_201, "charging_state": "Charging"},
        evse={"id": evse, "connector_id": connector}, id_token={"id_token": tag, "type": "ISO14443"},
        meter_value=[{"timestamp": iso(t0), "sampled_value": [
            {"value": 1000, "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register"}]}]))
    return tx_201


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_session_on_a_second_connector_keeps_its_number_everywhere(runner, version):
    tag = unique("TAG")
    runner.create_token(tag)
    # 1.6 numbers connectors station-wide: connector 2 is EVSE 2, connector 2 (the number on the charger's label).
    # 2.0.1 names both: connector 2 of EVSE 2 stays that.
    evse, connector = 2, 2

    async def scenario():
        async with Connected(runner, version) as c:
            tx = await start_on(c, evse, connector, tag, unique("TX"))
            view = await asyncio.to_thread(runner.station, c.station)
            status = "Charging" if version == "1.6" else "Occupied"
            assert connectors_of(view) == {(evse, connector): status}, view

            session = await asyncio.to_thread(runner.session_for, c.station, tx)
            assert (session["evseId"], session["connectorId"]) == (evse, connector), session

            # A command derived from the session goes to the same place.
            r = await c.command({"type": "pause", "transactionId": tx}, status=200)
            assert r.json()["status"] == "accepted", r.text
            action, payload = c.cp.received[-1]
            assert action == "SetChargingProfile", c.cp.received
            if version == "1.6":
                assert payload["connectorId"] == evse, payload
            else:
                assert payload["evseId"] == evse, payload

            # And one addressed by the API: evseId is the 1.6 connector number.
            await c.command({"type": "unlock", "evseId": evse, "connectorId": connector}, status=200)
            action, payload = c.cp.received[-1]
            assert action == "UnlockConnector", c.cp.received
            if version == "1.6":
                assert payload == {"connectorId": evse}, payload
                # Any other connector of a 1.6 EVSE does not exist: refused naming the field, never sent.
                sent = len(c.cp.received)
                r = await c.command({"type": "unlock", "evseId": evse, "connectorId": 1}, status=400)
                assert r.json()["error"]["message"].startswith("connectorId: 1"), r.text
                assert len(c.cp.received) == sent, c.cp.received
            else:
                assert payload == {"evseId": evse, "connectorId": connector}, payload

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_remote_start_with_an_unknown_field_is_refused_and_never_sent(runner, version):
    async def scenario():
        async with Connected(runner, version) as c:
            r = await c.command({"type": "remoteStart", "idToken": "TAG-1", "connectorId": 2}, status=400)
            message = r.json()["error"]["message"]
            assert "connectorId" in message and "unknown field" in message, message
            r = await c.command({"type": "clearCache", "evseId": 1}, status=400)
            assert "evseId" in r.json()["error"]["message"], r.text
            await asyncio.sleep(0.3)
            assert c.actions() == [], c.cp.received
            listed = await asyncio.to_thread(runner.api_ok, "GET", f"/stations/{c.station}/commands")
            # Nothing but the boot's report request (2.0.1).
            assert [i["id"] for i in listed["items"]] == c.boot_commands, listed
            # The same start without it goes out.
            await c.command({"type": "remoteStart", "idToken": "TAG-1", "evseId": 2}, status=200)
            assert len(c.actions()) == 1, c.cp.received

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_station_view_shows_the_registration_status_of_its_boot(runner, version):
    async def scenario():
        c = Connected(runner, version)
        assert (await asyncio.to_thread(runner.station, c.station))["registrationStatus"] is None
        async with c:  # boots
            view = await asyncio.to_thread(runner.station, c.station)
            assert view["registrationStatus"] == "Accepted", view
            assert view["lastBootAt"] is not None, view

    run(scenario())


def test_stopping_with_load_balanced_chargers_connected_logs_no_load_warning(runner_factory):
    r = runner_factory("lb-stop")
    r.start()
    site = unique("SITE")
    stations = [unique("LBSTOP16"), unique("LBSTOP201")]
    for s in stations:
        r.create_station(s, siteId=site)
    r.api_ok("PUT", f"/sites/{site}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32}, "mode": "static",
        "evses": [{"stationId": s, "evseId": 1, "maxA": 16} for s in stations]})

    async def scenario():
        async with charger(r, stations[0], "1.6") as cp16, charger(r, stations[1], "2.0.1") as cp201:
            await cp16.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="W1"))
            await cp201.send(call201.BootNotification(
                charging_station={"vendor_name": "Acme", "model": "W1"}, reason="PowerUp"))
            await asyncio.to_thread(poll, lambda: all(r.station(s)["connected"] for s in stations),
                                    what="both stations connected")
            # Stop while both sockets are open: their disconnects happen during the shutdown.
            await asyncio.to_thread(r.stop)

    run(scenario())
    log = r.log_path.read_text(errors="replace")
    assert "shutting down" in log and "stopped" in log, log[-2000:]
    assert "could not signal load balancing" not in log, log[-2000:]
