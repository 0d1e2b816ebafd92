"""Hostile numbers and timestamps from chargers, on both OCPP versions (issue #13, points 2 and 3).

Raw `websockets` chargers send exactly the JSON an attacker or broken firmware would: energy registers at
`Decimal::MAX` in kWh, a 2.0.1 `multiplier` of 28, three phase registers at the maximum, registers −max then
+max, numbers beyond any decimal, timestamps in year 1 and year 262142, a stop before its start. Each message
must be answered (a CALLRESULT with the value dropped, or a CALLERROR naming the field) on a socket that stays
open; afterwards the station is still connected and the session list, each session and the export answer
200. Then the runner restarts on the same data, starts, lists, and prices a normal session.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from csms_e2e import ago, charger, iso, parse_time, poll, quote, raw_charger, run, unique
from ocpp.v16 import call as call16

MAX = "79228162514264337593543950335"  # rust_decimal's Decimal::MAX
TWH = 1_000_000_000_000  # the largest plausible |energy| in Wh (README: plausible ranges)


def register(value, unit: str = "Wh", phase: str | None = None) -> dict:
    """A 1.6 sampled value of the energy register (values are strings in 1.6)."""
    sv = {"value": str(value), "measurand": "Energy.Active.Import.Register", "unit": unit}
    if phase:
        sv["phase"] = phase
    return sv


def register201(value, unit: str = "Wh", multiplier: int | None = None, phase: str | None = None) -> dict:
    """A 2.0.1 sampled value of the energy register (values are JSON numbers in 2.0.1)."""
    sv: dict = {"value": value, "measurand": "Energy.Active.Import.Register"}
    uom: dict = {"unit": unit}
    if multiplier is not None:
        uom["multiplier"] = multiplier
    sv["unitOfMeasure"] = uom
    if phase:
        sv["phase"] = phase
    return sv


def frame(message_id: str, action: str, payload_json: str) -> str:
    """A CALL whose payload is written by hand: numbers Python's json would not write (beyond float)."""
    return f'[2,{json.dumps(message_id)},{json.dumps(action)},{payload_json}]'


async def accepted(raw, message_id: str, action: str, payload: dict | str) -> dict:
    """Send a CALL; it must get a CALLRESULT. Returns the result payload."""
    text = frame(message_id, action, payload if isinstance(payload, str) else json.dumps(payload))
    await raw.send_text(text)
    reply = await raw.expect_reply()
    assert reply[:2] == [3, message_id], f"{action} {text[:300]} was not answered with a CALLRESULT: {reply!r}"
    return reply[2]


async def answered(raw, message_id: str, action: str, payload_json: str) -> list:
    """Send a CALL; it must be answered (CALLRESULT or CALLERROR) with the same message id."""
    await raw.send_text(frame(message_id, action, payload_json))
    reply = await raw.expect_reply()
    assert reply[0] in (3, 4) and reply[1] == message_id, f"{action} got {reply!r}"
    return reply


def assert_service_healthy(runner, station: str, session_ids: list[str]) -> None:
    """List, get every session (with its energy), and export: 200 each, fully readable."""
    items = runner.all_sessions(stationId=station)
    listed = {s["id"] for s in items}
    for sid in session_ids:
        assert sid in listed, f"session {sid} is not listed: {sorted(listed)}"
        body = runner.session(sid)
        assert body["id"] == sid
        assert body["energyWh"] is None or isinstance(body["energyWh"], (int, float)), body
        runner.api_ok("GET", f"/sessions/{quote(sid)}/meter-values")
    for fmt in ("csv", "json"):
        r = runner.api("GET", "/sessions/export", params={"format": fmt, "stationId": station})
        assert r.status_code == 200, f"export {fmt}: HTTP {r.status_code} {r.text[:300]}"
        text = r.text  # streamed: a failure mid-stream raises here
        for sid in session_ids:
            if fmt == "json":
                assert any(s["id"] == sid for s in json.loads(text)), f"{sid} missing from the JSON export"


def assert_noted(runner, station: str, action: str, field: str) -> None:
    """The station's event log has an ImplausibleValues event of `action` naming `field`."""
    def find():
        events = runner.api_ok("GET", f"/stations/{quote(station)}/events")["items"]
        return next((e for e in events if e["kind"] == "ImplausibleValues" and e["payload"]["action"] == action
                     and any(v["field"] == field for v in e["payload"]["values"])), None)
    poll(find, timeout=3, what=f"an ImplausibleValues event of {action} about {field}",
         show=lambda: runner.api_ok("GET", f"/stations/{quote(station)}/events")["items"][-5:])


async def assert_noted_and_still_served(runner, raw, station: str, heartbeat_id: str, sessions: dict,
                                        noted: list[tuple[str, str]]) -> None:
    """After the hostile values: each (action, field) of `noted` is in the event log, the raw charger's Heartbeat
    is answered, the station is still connected and every session of `sessions` reads back."""
    for action, field in noted:
        assert_noted(runner, station, action, field)
    await raw.heartbeat_works(heartbeat_id)
    assert runner.station(station)["connected"] is True, "the station fell off after hostile values"
    assert_service_healthy(runner, station, list(sessions.values()))


def assign_tariff(runner, station: str) -> None:
    tariff = runner.api_ok("POST", "/tariffs", {
        "name": "Hostile values",
        "elements": [{"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.00"}},
                                     {"type": "time", "price": "1", "per": "hour"},
                                     {"type": "idle", "price": "1", "per": "minute", "graceMinutes": 5}]}],
    }, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}, "group": None},
                  status=201)


def priced(runner, session_id: str, timeout: float = 15.0) -> dict:
    def get():
        r = runner.api("GET", f"/sessions/{quote(session_id)}/price")
        return r.json() if r.status_code == 200 else None
    return poll(get, timeout=timeout, what=f"session {session_id} to be priced",
                show=lambda: runner.api("GET", f"/sessions/{quote(session_id)}/price").text)


def session_id(runner, station: str, tx) -> str:
    return runner.session_for(station, tx)["id"]


# --------------------------------------------------------------------------- OCPP 1.6


async def hostile_16(runner, station: str) -> dict[str, str]:
    """Every hostile case on one raw 1.6 socket. Returns name -> session id."""
    t0 = ago(minutes=30).replace(microsecond=0)
    sessions: dict[str, str] = {}
    async with raw_charger(runner, station, "1.6") as raw:

        async def start(mid: str, meter_start, timestamp: str) -> int:
            payload = (f'{{"connectorId":1,"idTag":"HOSTILE","meterStart":{meter_start},'
                       f'"timestamp":{json.dumps(timestamp)}}}')
            return (await accepted(raw, mid, "StartTransaction", payload))["transactionId"]

        async def meter(mid: str, tx: int, at: str, *samples: dict) -> None:
            await accepted(raw, mid, "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
                {"timestamp": at, "sampledValue": list(samples)}]})

        async def stop(mid: str, tx: int, meter_stop, timestamp: str) -> None:
            payload = (f'{{"transactionId":{tx},"meterStop":{meter_stop},'
                       f'"timestamp":{json.dumps(timestamp)},"reason":"Local"}}')
            await accepted(raw, mid, "StopTransaction", payload)

        # A register of Decimal::MAX kWh (×1000 overflowed), then Decimal::MAX Wh on three phases
        # (the phase sum overflowed): dropped, the session keeps its plausible readings.
        tx = await start("s1", 1000, iso(t0))
        sessions["max-kwh"] = session_id(runner, station, tx)
        await meter("m1", tx, iso(t0 + timedelta(minutes=1)), register(MAX, "kWh"))
        await meter("m2", tx, iso(t0 + timedelta(minutes=2)),
                    register(MAX, phase="L1"), register(MAX, phase="L2"), register(MAX, phase="L3"))
        await meter("m3", tx, iso(t0 + timedelta(minutes=3)), register("1e99999"), register("NaN"),
                    register("-" + MAX + "0"), register("9" * 5000))
        await meter("m4", tx, iso(t0 + timedelta(minutes=4)), register(3000))
        await stop("e1", tx, 4000, iso(t0 + timedelta(minutes=5)))
        s = runner.session(sessions["max-kwh"])
        assert (s["meterStartWh"], s["meterStopWh"], s["energyWh"]) == (1000, 4000, 3000), s
        stored = [(v["measurand"], v["value"]) for v in runner.meter_values(sessions["max-kwh"])]
        assert all(abs(float(v)) <= TWH for _, v in stored), f"an implausible reading was stored: {stored}"

        # Registers −max then +max (stop − start overflowed): dropped; at the bound (±1 TWh) kept.
        tx = await start("s2", 0, iso(t0 + timedelta(seconds=2)))
        sessions["minus-max-plus-max"] = session_id(runner, station, tx)
        await meter("m5", tx, iso(t0 + timedelta(minutes=1)), register("-" + MAX))
        await meter("m6", tx, iso(t0 + timedelta(minutes=2)), register(MAX))
        await meter("m7", tx, iso(t0 + timedelta(minutes=3)), register(-TWH))
        await meter("m8", tx, iso(t0 + timedelta(minutes=4)), register(TWH))
        s = runner.session(sessions["minus-max-plus-max"])
        assert s["energyWh"] == TWH, f"0 Wh at the start, 1 TWh (the bound) at the latest reading: {s}"

        # meterStart/meterStop at the ends of 64-bit integers: dropped, the registers decide.
        # (Each start its own time: the same connector, tag, meterStart and time is a resend.)
        tx = await start("s3", 9223372036854775807, iso(t0 + timedelta(seconds=3)))
        sessions["i64-meter"] = session_id(runner, station, tx)
        await meter("m9", tx, iso(t0 + timedelta(minutes=1)), register(500))
        await meter("m10", tx, iso(t0 + timedelta(minutes=2)), register(700))
        await stop("e3", tx, -9223372036854775808, iso(t0 + timedelta(minutes=3)))
        s = runner.session(sessions["i64-meter"])
        assert (s["meterStartWh"], s["meterStopWh"], s["energyWh"]) == (500, 700, 200), s

        # A meterStart beyond any decimal is no integer: a CALLERROR, the socket stays.
        reply = await answered(raw, "s4", "StartTransaction",
                               f'{{"connectorId":1,"idTag":"HOSTILE","meterStart":{MAX}0,"timestamp":"{iso(t0)}"}}')
        assert reply[0] == 4, f"meterStart beyond 64 bits: {reply!r}"

        # Year 1 start, year 262142 stop: the receive time is used and the session says so.
        tx = await start("s5", 100, "0001-01-01T00:00:00Z")
        sessions["year-1"] = session_id(runner, station, tx)
        await meter("m11", tx, "0001-01-01T00:00:00Z", register(150))
        reply = await answered(raw, "e5", "StopTransaction",
                               f'{{"transactionId":{tx},"meterStop":200,'
                               f'"timestamp":"+262142-12-31T00:00:00Z","reason":"Local"}}')
        if reply[0] == 4:  # unreadable as a time: refused naming the field; stop it with a readable one
            assert "timestamp" in json.dumps(reply), reply
            await stop("e5b", tx, 200, "9999-12-31T23:59:59Z")
        s = runner.session(sessions["year-1"])
        assert s["chargerClockReplaced"] is True, s
        for field in ("startedAt", "endedAt"):
            at = parse_time(s[field])
            assert abs(at - ago(seconds=0)) < timedelta(minutes=5), f"{field} is not the receive time: {s}"
        assert s["energyWh"] == 100, f"the year-1 reading is dropped, meterStart/meterStop kept: {s}"
        assert runner.meter_values(sessions["year-1"]) == [], "a year-1 meter reading was stored"

        # A stop before its start (both plausible).
        tx = await start("s6", 0, iso(t0 + timedelta(seconds=6)))
        sessions["stop-before-start"] = session_id(runner, station, tx)
        await stop("e6", tx, 1000, iso(t0 - timedelta(hours=5)))
        runner.session(sessions["stop-before-start"])

        await accepted(raw, "st1", "StatusNotification", {
            "connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "0001-01-01T00:00:00Z"})
        await assert_noted_and_still_served(runner, raw, station, "hb-16", sessions, [
            ("MeterValues", "Energy.Active.Import.Register"), ("MeterValues", "sampledValue.value"),
            ("StartTransaction", "meterStart"), ("StartTransaction", "timestamp"),
            ("StatusNotification", "timestamp")])
    return sessions


# --------------------------------------------------------------------------- OCPP 2.0.1


async def hostile_201(runner, station: str) -> dict[str, str]:
    t0 = ago(minutes=30).replace(microsecond=0)
    sessions: dict[str, str] = {}
    seq = iter(range(1000))
    async with raw_charger(runner, station, "2.0.1") as raw:

        async def event(mid: str, tx: str, kind: str, timestamp: str, samples_json: str,
                        at: str | None = None) -> None:
            at = at or timestamp
            payload = (f'{{"eventType":"{kind}","timestamp":{json.dumps(timestamp)},"triggerReason":"MeterValuePeriodic",'
                       f'"seqNo":{next(seq)},"transactionInfo":{{"transactionId":"{tx}"}},'
                       f'"evse":{{"id":1,"connectorId":1}},'
                       f'"meterValue":[{{"timestamp":{json.dumps(at)},"sampledValue":{samples_json}}}]}}')
            await accepted(raw, mid, "TransactionEvent", payload)

        def samples(*svs: dict) -> str:
            return json.dumps(list(svs))

        # Decimal::MAX kWh, a multiplier of 28 (and i32::MIN), three phases at the maximum: dropped.
        tx = unique("TX-max")[:36]
        await event("a1", tx, "Started", iso(t0), samples(register201(1000)))
        sessions["max"] = session_id(runner, station, tx)
        await event("a2", tx, "Updated", iso(t0 + timedelta(minutes=1)),
                    f'[{{"value":{MAX},"measurand":"Energy.Active.Import.Register","unitOfMeasure":{{"unit":"kWh"}}}}]')
        await event("a3", tx, "Updated", iso(t0 + timedelta(minutes=2)),
                    samples(register201(1, multiplier=28), register201(1, multiplier=-2147483648),
                            register201(1e28, "kWh")))
        await event("a4", tx, "Updated", iso(t0 + timedelta(minutes=3)),
                    f'[{{"value":{MAX},"measurand":"Energy.Active.Import.Register","phase":"L1"}},'
                    f'{{"value":{MAX},"measurand":"Energy.Active.Import.Register","phase":"L2"}},'
                    f'{{"value":{MAX},"measurand":"Energy.Active.Import.Register","phase":"L3"}}]')
        await event("a5", tx, "Updated", iso(t0 + timedelta(minutes=4)),
                    samples({"value": 1e308, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                            {"value": 1e20, "measurand": "Current.Import", "phase": "L1",
                             "unitOfMeasure": {"unit": "A"}},
                            {"value": 250, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
                            {"value": -1e25, "measurand": "Voltage", "unitOfMeasure": {"unit": "V"}}))
        await event("a6", tx, "Ended", iso(t0 + timedelta(minutes=5)), samples(register201(4, "kWh")))
        s = runner.session(sessions["max"])
        assert (s["meterStartWh"], s["meterStopWh"], s["energyWh"]) == (1000, 4000, 3000), s
        stored = runner.meter_values(sessions["max"])
        assert all(abs(float(v["value"])) <= TWH for v in stored), f"an implausible reading was stored: {stored}"

        # A number beyond a double is not JSON we can read: a CALLERROR (for a frame that does not
        # parse, with message id "-1"), and the socket stays.
        await raw.send_text(frame("a7", "MeterValues", f'{{"evseId":1,"meterValue":[{{"timestamp":"{iso(t0)}",'
                                                       f'"sampledValue":[{{"value":1e99999}}]}}]}}'))
        reply = await raw.expect_reply()
        assert reply[0] == 4 and reply[1] in ("a7", "-1"), reply

        # −max then +max, then the bounds.
        tx = unique("TX-pm")[:36]
        await event("b1", tx, "Started", iso(t0), samples(register201(0)))
        sessions["minus-max-plus-max"] = session_id(runner, station, tx)
        await event("b2", tx, "Updated", iso(t0 + timedelta(minutes=1)),
                    f'[{{"value":-{MAX},"measurand":"Energy.Active.Import.Register"}}]')
        await event("b3", tx, "Updated", iso(t0 + timedelta(minutes=2)),
                    f'[{{"value":{MAX},"measurand":"Energy.Active.Import.Register"}}]')
        await event("b4", tx, "Updated", iso(t0 + timedelta(minutes=3)), samples(register201(1, "kWh", 9)))
        s = runner.session(sessions["minus-max-plus-max"])
        assert s["energyWh"] == TWH, f"1 kWh x 10^9 = 1 TWh, the bound, is kept: {s}"

        # Year 1 start, year 262142 end (sent as the raw string), readings in year 1.
        tx = unique("TX-clock")[:36]
        await event("c1", tx, "Started", "0001-01-01T00:00:00Z", samples(register201(100)), at=iso(t0))
        sessions["clock"] = session_id(runner, station, tx)
        await event("c2", tx, "Updated", iso(t0), samples(register201(120)), at="0001-01-01T00:00:00Z")
        payload = (f'{{"eventType":"Ended","timestamp":"+262142-12-31T00:00:00Z","triggerReason":"EVDeparted",'
                   f'"seqNo":{next(seq)},"transactionInfo":{{"transactionId":"{tx}"}},'
                   f'"meterValue":[{{"timestamp":"{iso(ago(seconds=1))}","sampledValue":{samples(register201(300))}}}]}}')
        reply = await answered(raw, "c3", "TransactionEvent", payload)
        if reply[0] == 4:
            assert "timestamp" in json.dumps(reply), reply
            await event("c3b", tx, "Ended", "9999-12-31T23:59:59Z", samples(register201(300)), at=iso(ago(seconds=1)))
        s = runner.session(sessions["clock"])
        assert s["chargerClockReplaced"] is True, s
        assert abs(parse_time(s["startedAt"]) - ago(seconds=0)) < timedelta(minutes=5), s
        assert s["status"] == "completed", s
        assert s["energyWh"] == 200, f"the year-1 reading is dropped: 100 Wh at the start, 300 at the end: {s}"

        # Stop before start.
        tx = unique("TX-back")[:36]
        await event("d1", tx, "Started", iso(t0), samples(register201(0)))
        sessions["stop-before-start"] = session_id(runner, station, tx)
        await event("d2", tx, "Ended", iso(t0 - timedelta(hours=5)), samples(register201(500)))

        await accepted(raw, "st1", "StatusNotification", {
            "timestamp": "0001-01-01T00:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1})
        await accepted(raw, "mv1", "MeterValues", {"evseId": 0, "meterValue": [
            {"timestamp": iso(t0), "sampledValue": [register201(1, "Wh", 2147483647)]}]})
        await assert_noted_and_still_served(runner, raw, station, "hb-201", sessions, [
            ("TransactionEvent", "Energy.Active.Import.Register"), ("TransactionEvent", "timestamp"),
            ("MeterValues", "Energy.Active.Import.Register")])
    return sessions


async def normal_session_16(runner, station: str) -> str:
    t0 = ago(minutes=20).replace(microsecond=0)
    async with charger(runner, station, "1.6") as cp:
        await cp.send(call16.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        tx = (await cp.send(call16.StartTransaction(connector_id=1, id_tag="HOSTILE", meter_start=0,
                                                    timestamp=iso(t0)))).transaction_id
        await cp.send(call16.StopTransaction(meter_stop=5000, timestamp=iso(t0 + timedelta(minutes=10)),
                                             transaction_id=tx, reason="Local"))
    return runner.session_for(station, tx)["id"]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_hostile_numbers_and_times_then_restart(runner_factory, version):
    first = runner_factory("hostile").start()
    first.create_token("HOSTILE")
    station = first.create_station(unique("CP-hostile"))["id"]
    assign_tariff(first, station)
    hostile = hostile_16 if version == "1.6" else hostile_201
    sessions = run(hostile(first, station))

    # Pricing still works in this process: a normal session afterwards is priced.
    normal = run(normal_session_16(first, station))
    assert priced(first, normal)["energyWh"] == "5000"
    first.stop(check=True)

    second = runner_factory("after", data_dir=first.data_dir).start()
    assert second.station(station)["connected"] is False
    assert_service_healthy(second, station, list(sessions.values()) + [normal])
    again = run(normal_session_16(second, station))
    price = priced(second, again)
    assert price["energyWh"] == "5000" and price["currency"], price
    second.stop(check=True)
