"""OCPP 1.6-J chargers (the `ocpp` library's v16 ChargePoint) against csms-local."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ocpp.v16 import call

from csms_e2e import (ago, assert_connected_follows_the_socket, assert_reading, charger, connectors_of,
                      create_test_tokens, iso, now_utc, parse_time, run, unique)

PASSWORD = "sixteen-pass-1234"
VENDOR, MODEL, SERIAL, FIRMWARE = "Acme Power", "Wallbox-16", "SN-16-0001", "1.6.42"


@pytest.fixture(scope="module", autouse=True)
def tokens(runner):
    create_test_tokens(runner)


@pytest.fixture
def station(runner) -> str:
    return runner.create_station(unique("CP16"), password=PASSWORD)["id"]


async def boot(cp) -> None:
    result = await cp.send(call.BootNotification(
        charge_point_vendor=VENDOR, charge_point_model=MODEL, charge_point_serial_number=SERIAL,
        firmware_version=FIRMWARE))
    assert result.status == "Accepted", f"BootNotification: {result}"
    assert 0 < result.interval < 600, f"heartbeat interval should be in (0, 600) s, got {result.interval}"
    current = parse_time(result.current_time)
    assert abs((current - now_utc()).total_seconds()) < 120, f"currentTime is off: {result.current_time}"


async def status(cp, connector: int, value: str, when=None) -> None:
    await cp.send(call.StatusNotification(connector_id=connector, error_code="NoError", status=value,
                                          timestamp=iso(when or now_utc())))


def energy(value: str, unit: str = "Wh", **extra) -> dict:
    return {"value": value, "measurand": "Energy.Active.Import.Register", "unit": unit, **extra}


# --------------------------------------------------------------------------- the full session

def test_full_session(runner, station):
    t0 = (now_utc() - timedelta(minutes=10)).replace(microsecond=0)
    t_mv1, t_mv2, t_stop = t0 + timedelta(seconds=60), t0 + timedelta(seconds=120), t0 + timedelta(seconds=300)

    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            view = runner.station(station)
            assert view["connected"] is True, view
            assert view["ocppVersion"] == "1.6", view
            assert (view["vendor"], view["model"], view["serialNumber"], view["firmwareVersion"]) == (
                VENDOR, MODEL, SERIAL, FIRMWARE), view
            parse_time(view["lastSeenAt"])

            await status(cp, 0, "Available")
            await status(cp, 1, "Available")
            view = runner.station(station)
            assert connectors_of(view) == {(1, 1): "Available"}, (
                f"1.6 connector 1 should be evse 1 / connector 1 and connector 0 not listed: {view['evses']}")
            parse_time(view["evses"][0]["connectors"][0]["updatedAt"])

            for tag, expected in [("TAG-OK", "Accepted"), ("TAG-BLOCKED", "Blocked"),
                                  ("TAG-EXPIRED", "Expired"), (unique("TAG-UNKNOWN")[:20], "Invalid")]:
                result = await cp.send(call.Authorize(id_tag=tag))
                assert result.id_tag_info["status"] == expected, f"Authorize {tag}: {result.id_tag_info}"

            await status(cp, 1, "Preparing")
            start = await cp.send(call.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=1000,
                                                        timestamp=iso(t0)))
            tx = start.transaction_id
            assert isinstance(tx, int) and tx > 0, f"transactionId should be a positive integer: {tx!r}"
            assert start.id_tag_info["status"] == "Accepted", start.id_tag_info
            await status(cp, 1, "Charging")
            assert connectors_of(runner.station(station)) == {(1, 1): "Charging"}

            active = runner.session_for(station, tx)
            assert active["status"] == "active", active
            assert active["stationId"] == station
            assert active["idToken"] == "TAG-OK"
            assert active["meterStartWh"] == 1000
            assert (active["evseId"], active["connectorId"]) == (1, 1), active
            assert parse_time(active["startedAt"]) == t0, active
            assert active["endedAt"] is None and active["meterStopWh"] is None, active

            await cp.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[{
                "timestamp": iso(t_mv1),
                "sampled_value": [
                    energy("1200", context="Sample.Periodic", location="Outlet"),
                    {"value": "7400", "measurand": "Power.Active.Import", "unit": "W", "context": "Sample.Periodic"},
                    {"value": "10.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    {"value": "10.25", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                    {"value": "10.75", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
                    {"value": "42", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                ],
            }]))
            await cp.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[{
                "timestamp": iso(t_mv2),
                "sampled_value": [
                    energy("1.5", "kWh"),
                    {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                ],
            }]))
            await status(cp, 1, "Finishing")
            stop = call.StopTransaction(
                meter_stop=8500, timestamp=iso(t_stop), transaction_id=tx, reason="Local", id_tag="TAG-OK",
                transaction_data=[{"timestamp": iso(t_stop),
                                   "sampled_value": [energy("8500", context="Transaction.End")]}])
            stopped = await cp.send(stop)
            assert stopped.id_tag_info and stopped.id_tag_info["status"] == "Accepted", stopped
            await status(cp, 1, "Available")
            assert connectors_of(runner.station(station)) == {(1, 1): "Available"}

            session = runner.session_for(station, tx)
            expected = {"status": "completed", "stationId": station, "transactionId": str(tx), "idToken": "TAG-OK",
                        "meterStartWh": 1000, "meterStopWh": 8500, "energyWh": 7500, "stopReason": "Local"}
            assert {k: session.get(k) for k in expected} == expected, session
            assert parse_time(session["endedAt"]) == t_stop, session
            assert runner.session_record(session["id"]) == session, "GET /sessions/{id} differs from the list item"

            readings = runner.meter_values(session["id"])
            stamps = [parse_time(r["timestamp"]) for r in readings]
            assert stamps == sorted(stamps), "meter values must be sorted by timestamp"
            assert_reading(readings, t_mv1, "Energy.Active.Import.Register", 1200, "Wh",
                           context="Sample.Periodic", location="Outlet")
            assert_reading(readings, t_mv1, "Power.Active.Import", 7400, "W")
            assert_reading(readings, t_mv1, "Current.Import", 10.5, "A", phase="L1")
            assert_reading(readings, t_mv1, "Current.Import", 10.25, "A", phase="L2")
            assert_reading(readings, t_mv1, "Current.Import", 10.75, "A", phase="L3")
            assert_reading(readings, t_mv1, "SoC", 42, "Percent")
            assert_reading(readings, t_mv2, "Energy.Active.Import.Register", 1500, "Wh")  # 1.5 kWh
            assert_reading(readings, t_mv2, "Power.Active.Import", 7200, "W")  # 7.2 kW
            assert_reading(readings, t_stop, "Energy.Active.Import.Register", 8500, "Wh", context="Transaction.End")

            # The identical StopTransaction again (a charger resending after a lost answer): nothing changes.
            again = await cp.send(stop)
            assert again.id_tag_info is None or again.id_tag_info["status"] == "Accepted", again
            assert runner.session_record(session["id"]) == session, "a resent StopTransaction changed the session"
            assert runner.meter_values(session["id"]) == readings, "a resent StopTransaction changed the meter values"
            sessions = [s for s in runner.all_sessions(stationId=station) if s["transactionId"] == str(tx)]
            assert len(sessions) == 1, f"one transaction, one session: {sessions}"

    run(scenario())


# --------------------------------------------------------------------------- transactions

def test_start_transaction_is_idempotent(runner, station):
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            first = call.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=500, timestamp=iso(t0))
            tx1 = (await cp.send(first)).transaction_id
            tx1_again = (await cp.send(first)).transaction_id
            assert tx1_again == tx1, f"an identical StartTransaction should get the same id: {tx1} then {tx1_again}"
            other = await cp.send(call.StartTransaction(connector_id=2, id_tag="TAG-OK", meter_start=700,
                                                        timestamp=iso(t0 + timedelta(seconds=5))))
            tx2 = other.transaction_id
            assert tx2 != tx1 and tx2 > tx1, f"a different StartTransaction should get a larger id: {tx1} then {tx2}"

        sessions = runner.all_sessions(stationId=station)
        by_tx = {}
        for s in sessions:
            by_tx.setdefault(s["transactionId"], []).append(s)
        assert len(by_tx.get(str(tx1), [])) == 1, f"the resent start must not create a second session: {sessions}"
        assert len(by_tx.get(str(tx2), [])) == 1, sessions
        assert by_tx[str(tx1)][0]["meterStartWh"] == 500
        assert by_tx[str(tx2)][0]["meterStartWh"] == 700

    run(scenario())


def test_stop_for_unknown_transaction_is_answered_and_kept(runner, station):
    when = ago(minutes=5).replace(microsecond=0)

    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            await cp.send(call.StopTransaction(meter_stop=4200, timestamp=iso(when), transaction_id=999999,
                                               reason="PowerLoss"))
            await cp.send(call.MeterValues(connector_id=1, transaction_id=888888, meter_value=[{
                "timestamp": iso(when), "sampled_value": [energy("4100")]}]))

    run(scenario())
    session = runner.session_for(station, 999999)
    assert session["status"] == "completed", session
    assert session["meterStopWh"] == 4200, session
    assert session["stopReason"] == "PowerLoss", session
    assert parse_time(session["endedAt"]) == when, session


def test_start_with_blocked_tag_is_answered_with_its_status(runner, station):
    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            result = await cp.send(call.StartTransaction(connector_id=1, id_tag="TAG-BLOCKED", meter_start=0,
                                                         timestamp=iso(now_utc())))
            assert result.id_tag_info["status"] == "Blocked", result
            assert isinstance(result.transaction_id, int), result

    run(scenario())


# --------------------------------------------------------------------------- other messages

def test_other_charger_messages_are_answered(runner, station):
    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            hb = await cp.send(call.Heartbeat())
            assert abs((parse_time(hb.current_time) - now_utc()).total_seconds()) < 120, hb
            await cp.send(call.MeterValues(connector_id=1, meter_value=[{
                "timestamp": iso(now_utc()), "sampled_value": [energy("12345"), {"value": "230.1",
                                                                                 "measurand": "Voltage",
                                                                                 "phase": "L1-N", "unit": "V"}]}]))
            await cp.send(call.MeterValues(connector_id=0, meter_value=[{
                "timestamp": iso(now_utc()), "sampled_value": [{"value": "99"}]}]))
            dt = await cp.send(call.DataTransfer(vendor_id="acme", message_id="ping", data='{"hello":1}'))
            assert dt.status in ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"), dt
            for s in ("Uploading", "Uploaded", "Idle"):
                await cp.send(call.DiagnosticsStatusNotification(status=s))
            for s in ("Downloading", "Downloaded", "Installing", "Installed"):
                await cp.send(call.FirmwareStatusNotification(status=s))
            await status(cp, 1, "Faulted")
            await cp.send(call.StatusNotification(connector_id=2, error_code="GroundFailure", status="Faulted",
                                                  info="RCD tripped", vendor_error_code="E42"))
            # 1.6 connector N is EVSE N, connector N.
            assert connectors_of(runner.station(station)) == {(1, 1): "Faulted", (2, 2): "Faulted"}

    run(scenario())


def test_reboot_updates_station_info(runner, station):
    async def scenario():
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            result = await cp.send(call.BootNotification(charge_point_vendor=VENDOR, charge_point_model="Model-2",
                                                         firmware_version="2.0.0"))
            assert result.status == "Accepted"
            view = runner.station(station)
            assert view["model"] == "Model-2" and view["firmwareVersion"] == "2.0.0", view

    run(scenario())


def test_connected_flag_follows_the_socket(runner, station):
    view = assert_connected_follows_the_socket(runner, station, "1.6", PASSWORD, boot)
    assert view["ocppVersion"] in ("1.6", None), view
    parse_time(view["lastSeenAt"])


# --------------------------------------------------------------------------- session queries

def test_session_filters_and_pagination(runner, station):
    t_a = ago(hours=3).replace(microsecond=0)
    t_b = ago(hours=1).replace(microsecond=0)

    async def scenario():
        txs = []
        async with charger(runner, station, "1.6", PASSWORD) as cp:
            await boot(cp)
            for t, m in ((t_a, 100), (t_b, 200)):
                tx = (await cp.send(call.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=m,
                                                          timestamp=iso(t)))).transaction_id
                await cp.send(call.StopTransaction(meter_stop=m + 50, timestamp=iso(t + timedelta(minutes=10)),
                                                   transaction_id=tx, reason="EVDisconnected"))
                txs.append(str(tx))
        return txs

    tx_a, tx_b = run(scenario())
    every = runner.all_sessions(stationId=station)
    assert sorted(s["transactionId"] for s in every) == sorted([tx_a, tx_b]), every
    assert all(s["stationId"] == station for s in every)
    for s in every:
        assert s["energyWh"] == 50 and s["stopReason"] == "EVDisconnected", s

    mid = iso(t_a + timedelta(minutes=60))
    later = runner.sessions(stationId=station, **{"from": mid})["items"]
    assert [s["transactionId"] for s in later] == [tx_b], f"from={mid}: {later}"
    earlier = runner.sessions(stationId=station, to=mid)["items"]
    assert [s["transactionId"] for s in earlier] == [tx_a], f"to={mid}: {earlier}"
    window = runner.sessions(stationId=station, **{"from": iso(t_a - timedelta(minutes=1)),
                                                    "to": iso(t_b + timedelta(minutes=1))})["items"]
    assert sorted(s["transactionId"] for s in window) == sorted([tx_a, tx_b]), window
    none = runner.sessions(stationId=station, **{"from": iso(now_utc() + timedelta(hours=1))})["items"]
    assert none == [], none

    first = runner.sessions(stationId=station, limit=1)
    assert len(first["items"]) == 1, first
    assert first["nextCursor"], f"limit=1 with two sessions should give a nextCursor: {first}"
    seen = [first["items"][0]["transactionId"]]
    cursor = first["nextCursor"]
    for _ in range(5):
        if not cursor:
            break
        page = runner.sessions(stationId=station, limit=1, cursor=cursor)
        assert len(page["items"]) <= 1, page
        seen += [s["transactionId"] for s in page["items"]]
        cursor = page["nextCursor"]
    assert not cursor, "the cursor should end"
    assert sorted(seen) == sorted([tx_a, tx_b]), f"pages should cover both sessions exactly once: {seen}"
