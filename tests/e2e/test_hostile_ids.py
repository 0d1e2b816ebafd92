"""Identifiers from a hostile charger (issue #13, point 1), on both OCPP versions.

Raw `websockets` chargers send every identifier a buggy or malicious firmware could: a transaction id, id tag or
id token holding each control character (U+0000..U+001F, U+007F, U+0080..U+009F, NUL included), the session id's
`~` separator, one character over the limit, and message ids with control characters. Each must get a CALLERROR
naming the field, the socket must keep serving, and nothing of the refused message may be stored. Then the runner
restarts on the same data: it must start, list sessions (200), and the normal sessions of the same stations must be
stored and priced, with "victim"'s readings untouched by "victim\\u0000x".
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from csms_e2e import ago, iso, quote, raw_charger, run, unique
from test_pricing import priced

# Every character that could break a store key or a log line, each inside an otherwise harmless id.
HOSTILE_CHARS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]] + ["~"]


def hostile(base: str, limit: int) -> list[str]:
    """`base` with each hostile character inside it, `~` at either end, and one character over `limit`."""
    ids = [f"{base}{c}x" for c in HOSTILE_CHARS]
    ids += [f"~{base}", f"{base}~", "\x00", "x" * (limit + 1)]
    return ids


def assert_refused(reply: list, message_id: str, field: str, sent: str) -> None:
    """A CALLERROR for `message_id` that names `field` (ours say `a.b`, the schema check `/a/b`)."""
    assert reply[:2] == [4, message_id], f"{field}={sent!r} was not refused: {reply!r}"
    assert reply[2] == "PropertyConstraintViolation", f"{field}={sent!r}: {reply!r}"
    pointer = "/" + field.replace(".", "/")
    assert field in reply[3] or pointer in reply[3], f"the CALLERROR for {sent!r} does not name {field}: {reply!r}"


def energy_201(t, wh: int) -> list[dict]:
    return [{"timestamp": iso(t), "sampledValue": [
        {"value": wh, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}]


def energy_16(t, wh: int) -> list[dict]:
    return [{"timestamp": iso(t), "sampledValue": [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]


def tx_event(kind: str, tx: str, seq: int, t, wh: int, token: str | None = None) -> dict:
    body = {"eventType": kind, "timestamp": iso(t), "triggerReason": "Authorized", "seqNo": seq,
            "transactionInfo": {"transactionId": tx}, "evse": {"id": 1, "connectorId": 1},
            "meterValue": energy_201(t, wh)}
    if token is not None:
        body["idToken"] = {"idToken": token, "type": "ISO14443"}
    if kind == "Ended":
        body["transactionInfo"]["stoppedReason"] = "Local"
    return body


def price_stations(runner, *stations: str) -> None:
    """1.00 per kWh on each station, so a priced session's net is its energy."""
    tariff = runner.api_ok("POST", "/tariffs", {
        "name": "Hostile ids flat",
        "elements": [{"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "1.00"}}]}],
    }, status=201)
    for st in stations:
        runner.api_ok("POST", "/tariff-assignments",
                      {"tariffId": tariff["id"], "target": {"kind": "station", "id": st}, "group": None},
                      status=201)


async def hostile_201(runner, station: str, t0) -> None:
    async with raw_charger(runner, station, "2.0.1") as cp:
        started = await cp.call("v0", "TransactionEvent", tx_event("Started", "victim", 0, t0, 1000, "GOOD-TAG"))
        assert started["idTokenInfo"]["status"] == "Accepted", started

        for i, tx in enumerate(hostile("victim", 36)):
            for kind in ("Started", "Updated", "Ended"):
                mid = f"t{i}{kind[0]}"
                await cp.send_text(json.dumps([2, mid, "TransactionEvent",
                                               tx_event(kind, tx, 100 + i, t0 + timedelta(minutes=1), 999_999)]))
                assert_refused(await cp.expect_reply(), mid, "transactionInfo.transactionId", tx)
            await cp.heartbeat_works(f"hb-t{i}")

        for i, token in enumerate(hostile("TAG", 36)):
            mid = f"a{i}"
            await cp.send_text(json.dumps([2, mid, "Authorize", {"idToken": {"idToken": token, "type": "ISO14443"}}]))
            assert_refused(await cp.expect_reply(), mid, "idToken.idToken", token)
            mid = f"e{i}"
            await cp.send_text(json.dumps([2, mid, "TransactionEvent", tx_event(
                "Started", f"T-TOKEN-{i}", 0, t0, 5, token)]))
            assert_refused(await cp.expect_reply(), mid, "idToken.idToken", token)
            await cp.heartbeat_works(f"hb-a{i}")

        # `#` and `|` separate parts of DynamoDB keys, but a session id is always a whole key part or the
        # last one: they are kept as sent and read back.
        await cp.call("s0", "TransactionEvent", tx_event("Started", "TX#1|a", 0, t0, 10, "GOOD-TAG"))
        await cp.call("s1", "TransactionEvent", tx_event("Ended", "TX#1|a", 1, t0 + timedelta(minutes=5), 10))

        await cp.call("v1", "TransactionEvent", tx_event("Ended", "victim", 1, t0 + timedelta(minutes=10), 3000))


async def hostile_16(runner, station: str, t0) -> int:
    async with raw_charger(runner, station, "1.6") as cp:
        for i, tag in enumerate(hostile("TAG", 20)):
            mid = f"a{i}"
            await cp.send_text(json.dumps([2, mid, "Authorize", {"idTag": tag}]))
            assert_refused(await cp.expect_reply(), mid, "idTag", tag)
            mid = f"s{i}"
            await cp.send_text(json.dumps([2, mid, "StartTransaction", {
                "connectorId": 1, "idTag": tag, "meterStart": 0, "timestamp": iso(t0)}]))
            assert_refused(await cp.expect_reply(), mid, "idTag", tag)
            mid = f"p{i}"
            await cp.send_text(json.dumps([2, mid, "StopTransaction", {
                "transactionId": 424242, "idTag": tag, "meterStop": 5, "timestamp": iso(t0),
                "transactionData": energy_16(t0, 5)}]))
            assert_refused(await cp.expect_reply(), mid, "idTag", tag)
            await cp.heartbeat_works(f"hb-{i}")

        start = await cp.call("g0", "StartTransaction", {
            "connectorId": 1, "idTag": "GOOD-TAG", "meterStart": 2000, "timestamp": iso(t0)})
        tx = start["transactionId"]
        await cp.call("g1", "MeterValues", {"connectorId": 1, "transactionId": tx,
                                            "meterValue": energy_16(t0 + timedelta(minutes=5), 2500)})
        await cp.call("g2", "StopTransaction", {"transactionId": tx, "idTag": "GOOD-TAG", "meterStop": 4000,
                                                "timestamp": iso(t0 + timedelta(minutes=10))})
        return tx


async def hostile_message_ids(runner, station: str, version: str) -> None:
    async with raw_charger(runner, station, version) as cp:
        for i, c in enumerate(HOSTILE_CHARS[:-1]):  # `~` is a fine message id
            await cp.send_text(json.dumps([2, f"m{c}{i}", "Heartbeat", {}]))
            reply = await cp.expect_reply()
            assert reply[:2] == [4, "-1"], f"message id with {c!r}: {reply!r}"
            await cp.heartbeat_works(f"hb-m{i}")
        await cp.send_text(json.dumps([2, "m" * 37, "Heartbeat", {}]))
        assert (await cp.expect_reply())[:2] == [4, "-1"]
        await cp.heartbeat_works("m" * 36)


def test_hostile_identifiers_are_refused_and_the_service_restarts_lists_and_prices(runner_factory):
    first = runner_factory("before").start()
    st201 = first.create_station(unique("CP-hid201"))["id"]
    st16 = first.create_station(unique("CP-hid16"))["id"]
    first.create_token("GOOD-TAG")
    price_stations(first, st201, st16)
    t0 = ago(minutes=30).replace(microsecond=0)

    run(hostile_201(first, st201, t0))
    tx16 = run(hostile_16(first, st16, t0))
    run(hostile_message_ids(first, st201, "2.0.1"))
    run(hostile_message_ids(first, st16, "1.6"))
    first.stop(check=True)

    second = runner_factory("after", data_dir=first.data_dir).start()
    r = second.api("GET", "/sessions")
    assert r.status_code == 200, f"GET /sessions after the restart: HTTP {r.status_code} {r.text[:300]}"

    sessions201 = {s["transactionId"]: s for s in second.all_sessions(stationId=st201)}
    assert set(sessions201) == {"victim", "TX#1|a"}, f"only the accepted transactions are stored: {set(sessions201)}"
    sessions16 = {s["transactionId"]: s for s in second.all_sessions(stationId=st16)}
    assert set(sessions16) == {str(tx16)}, f"no refused 1.6 message was stored: {set(sessions16)}"

    victim = sessions201["victim"]
    assert (victim["status"], victim["energyWh"]) == ("completed", 2000), victim
    readings = [Decimal(str(m["value"])) for m in second.meter_values(victim["id"])]
    assert sorted(readings) == [1000, 3000], f"victim's readings hold only its own: {readings}"
    odd = second.session(sessions201["TX#1|a"]["id"])
    assert odd["transactionId"] == "TX#1|a", odd

    s16 = sessions16[str(tx16)]
    assert (s16["status"], s16["energyWh"], s16["idToken"]) == ("completed", 2000, "GOOD-TAG"), s16

    for s in (victim, s16):
        price = priced(second, s["id"])
        assert Decimal(price["net"]) == Decimal("2.00"), f"{s['id']}: {price}"
    r = second.api("GET", f"/sessions/{quote(victim['id'])}/price")
    assert r.status_code == 200, r.text
    second.stop(check=True)
