"""Stopping csms-local with SIGTERM/SIGINT is clean, and everything survives a restart."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

import websockets
from ocpp.v16 import call

from csms_e2e import ago, charger, iso, parse_time, run, unique

PASSWORD = "restart-pass-777"


def test_data_survives_a_restart(runner_factory):
    first = runner_factory("before").start()
    station = first.create_station(unique("CP-restart"), password=PASSWORD, name="Restart me")
    first.create_token("TAG-OK", "Accepted")
    t0 = ago(minutes=15).replace(microsecond=0)

    async def session_then_sigterm():
        async with charger(first, station["id"], "1.6", PASSWORD) as cp:
            await cp.send(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
            tx = (await cp.send(call.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=10,
                                                      timestamp=iso(t0)))).transaction_id
            await cp.send(call.StopTransaction(meter_stop=2010, timestamp=iso(t0 + timedelta(minutes=5)),
                                               transaction_id=tx, reason="Local"))
            await cp.send(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
            # SIGTERM with the charger still connected: the runner closes the socket and exits 0.
            await asyncio.to_thread(first.stop, check=True)
            try:
                await asyncio.wait_for(cp.ws.wait_closed(), 5)
            except asyncio.TimeoutError:
                raise AssertionError("the charger's socket was not closed by the stopping runner") from None
        return tx

    tx_before = run(session_then_sigterm())

    second = runner_factory("after", data_dir=first.data_dir).start()
    view = second.station(station["id"])
    assert view["id"] == station["id"] and view["name"] == "Restart me", view
    assert view["connected"] is False, f"nothing is connected right after a restart: {view}"
    assert (view["vendor"], view["model"]) == ("V", "M"), view
    session_before = second.session_for(station["id"], tx_before)
    assert session_before["status"] == "completed", session_before
    assert (session_before["meterStartWh"], session_before["meterStopWh"], session_before["energyWh"]) == (
        10, 2010, 2000), session_before
    assert parse_time(session_before["startedAt"]) == t0
    tokens = {t["idToken"] for t in second.api_ok("GET", "/id-tokens")["items"]}
    assert "TAG-OK" in tokens, tokens

    async def start_again():
        async with charger(second, station["id"], "1.6", PASSWORD) as cp:
            await cp.send(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
            auth = await cp.send(call.Authorize(id_tag="TAG-OK"))
            assert auth.id_tag_info["status"] == "Accepted", auth
            return (await cp.send(call.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=2010,
                                                        timestamp=iso(ago(minutes=1))))).transaction_id

    tx_after = run(start_again())
    assert tx_after > tx_before, f"transaction ids must keep growing across restarts: {tx_before} then {tx_after}"
    assert second.session_record(session_before["id"]) == session_before
    second.stop(check=True)


def test_sigint_is_a_clean_stop_too(runner_factory):
    r = runner_factory("sigint").start()
    sid = r.create_station(unique("CP-int"))["id"]
    r.stop(check=True, sig=signal.SIGINT)
    again = runner_factory("sigint-again", data_dir=r.data_dir).start()
    assert again.station(sid)["id"] == sid
    again.stop(check=True)


def test_stop_with_idle_open_sockets(runner_factory):
    r = runner_factory("open-sockets").start()
    ids = [r.create_station(unique("CP-idle"))["id"] for _ in range(3)]

    async def scenario():
        sockets = [await websockets.connect(r.ws_url(i), subprotocols=["ocpp2.0.1"], open_timeout=10)
                   for i in ids]
        await asyncio.to_thread(r.stop, check=True)
        for ws in sockets:
            await asyncio.wait_for(ws.wait_closed(), 5)

    run(scenario())
