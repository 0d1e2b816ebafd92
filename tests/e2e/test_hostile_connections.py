"""Hostile connections: password floods, idle and slowloris sockets, oversized and non-UTF-8 frames,
silent chargers, subprotocol spelling, and a short load run (issue #13, points 4, 5, 7 and 8).

One runner for the module with short limits so the tests run in seconds:
header-read timeout 2 s, 40 connections per source address, pings every second and an idle
timeout of 4 s. Floods come from their own loopback source addresses (127.0.0.2 …), so the
per-address caps and throttles they trip never touch the checks made from 127.0.0.1.
After every case the runner must still serve: /healthz, the API and a new charger.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import socket
import struct
import sys
import time
from pathlib import Path

import pytest
import requests

from csms_e2e import (Runner, basic_auth, charger, handshake_status, poll, raw_charger, run, started_runner,
                      unique)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "load"))
import chargers as load  # noqa: E402
from test_webhooks import receiver, subscribe, verify  # noqa: E402,F401 (receiver: the module fixture)

PASSWORD = "station-pass-0042"
PER_ADDRESS = 40
HEADER_READ_TIMEOUT_S = 2
IDLE_TIMEOUT_S = 4


@pytest.fixture(scope="module")
def hostile(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_hostile_connections", data_name="hostile", extra_env={
        "CSMS_HEADER_READ_TIMEOUT_SECONDS": str(HEADER_READ_TIMEOUT_S),
        "CSMS_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
        "CSMS_WS_PING_SECONDS": "1",
        "CSMS_WS_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT_S),
        # Debug builds only: DataTransfer vendorId "csms-test-panic" panics in the handler,
        # "csms-test-panic-task" in the connection task.
        "CSMS_TEST_PANICS": "1",
    }) as r:
        yield r


def still_serves(runner: Runner) -> None:
    """The runner is up, answers the API and accepts a new charger whose Heartbeat is answered."""
    assert runner.running, f"the runner died\n{runner.log_tail()}"
    assert requests.get(f"{runner.base_url}/healthz", timeout=5).status_code == 200
    runner.api_ok("GET", "/stations", params={"limit": 1})
    sid = runner.create_station(unique("CP-after"))["id"]

    async def heartbeat():
        from ocpp.v16 import call
        async with charger(runner, sid, "1.6") as cp:
            await cp.send(call.Heartbeat())
    run(heartbeat(), timeout=30)


# --------------------------------------------------------------------------- raw WebSocket helpers


async def open_raw_ws(port: int, station_id: str, subprotocol: str = "ocpp1.6",
                      headers: dict[str, str] | None = None, source: str = "127.0.0.1"):
    """A hand-made WebSocket (no library: it never answers pings by itself). Returns (reader, writer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET /ocpp/{station_id} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             f"Sec-WebSocket-Protocol: {subprotocol}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status = int(head.split(b" ")[1])
    assert status == 101, f"handshake for {station_id} refused: {head[:300]!r}"
    return reader, writer


def client_frame(opcode: int, payload: bytes, declared_length: int | None = None) -> bytes:
    """A masked client frame (FIN set); `declared_length` lies about the payload length."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([0x80 | opcode])
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", length)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader, timeout: float) -> tuple[int, bytes]:
    """The next server frame (opcode, payload); server frames are never masked."""
    b0, b1 = await asyncio.wait_for(reader.readexactly(2), timeout)
    length = b1 & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return b0 & 0x0F, await reader.readexactly(length)


async def close_code(reader, timeout: float) -> int | None:
    """Read frames until a Close; its code (None if the socket just ended)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            opcode, payload = await read_frame(reader, max(0.1, deadline - time.monotonic()))
        except asyncio.IncompleteReadError:
            return None
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


# --------------------------------------------------------------------------- point 8: subprotocol, 1007


@pytest.mark.parametrize("offered,answered", [(["OCPP1.6"], "OCPP1.6"), (["Ocpp2.0.1"], "Ocpp2.0.1"),
                                              (["ocpp1.6"], "ocpp1.6")])
def test_the_subprotocol_is_answered_exactly_as_the_client_offered_it(hostile, offered, answered):
    sid = hostile.create_station(unique("CP-case"))["id"]
    code, sub = run(handshake_status(hostile.ws_url(sid), offered))
    assert (code, sub) == (101, answered), f"offering {offered}: got {(code, sub)}"


def test_an_invalid_utf8_text_frame_gets_close_code_1007(hostile):
    sid = hostile.create_station(unique("CP-utf8"))["id"]

    async def scenario():
        reader, writer = await open_raw_ws(hostile.port, sid)
        try:
            writer.write(client_frame(0x1, b'[2,"x","Heartbeat",{"a":"\xff\xfe"}]'))
            await writer.drain()
            return await close_code(reader, 10)
        finally:
            writer.close()
    assert run(scenario()) == 1007
    still_serves(hostile)


# --------------------------------------------------------------------------- point 5: frames, sockets


def test_a_frame_declaring_16_mib_is_refused_with_1009_before_its_payload_arrives(hostile):
    sid = hostile.create_station(unique("CP-big"))["id"]

    async def scenario():
        reader, writer = await open_raw_ws(hostile.port, sid)
        try:
            # Only the header and a few bytes: a server that buffers the declared 16 MiB waits forever.
            frame = client_frame(0x1, b'[2,"x","Heartbeat",{}]', declared_length=16 * 1024 * 1024)
            writer.write(frame)
            await writer.drain()
            t0 = time.monotonic()
            code = await close_code(reader, 10)
            return code, time.monotonic() - t0
        finally:
            writer.close()
    code, waited = run(scenario())
    assert code == 1009, f"expected close 1009 (message too big), got {code}"
    assert waited < 5, f"the refusal took {waited:.1f}s"
    still_serves(hostile)


def test_a_silent_charger_is_closed_after_the_idle_timeout_and_shown_disconnected(hostile):
    sid = hostile.create_station(unique("CP-silent"))["id"]

    async def scenario():
        reader, writer = await open_raw_ws(hostile.port, sid)
        try:
            # The connection is recorded just after the 101.
            await asyncio.to_thread(poll, lambda: hostile.station(sid)["connected"] is True, timeout=5,
                                    what="the station to be shown connected")
            t0 = time.monotonic()
            pings = 0
            while True:  # never answer: a dead peer looks like this
                try:
                    opcode, _ = await read_frame(reader, IDLE_TIMEOUT_S + 5)
                except asyncio.IncompleteReadError:
                    return None, pings, time.monotonic() - t0
                if opcode == 0x9:
                    pings += 1
                if opcode == 0x8:
                    return opcode, pings, time.monotonic() - t0
        finally:
            writer.close()
    opcode, pings, waited = run(scenario())
    assert opcode == 0x8, "the CSMS should close the silent socket with a Close frame"
    assert pings >= 1, "the CSMS should ping a silent charger before giving up"
    assert IDLE_TIMEOUT_S - 0.5 <= waited <= IDLE_TIMEOUT_S + 3, f"closed after {waited:.1f}s"
    poll(lambda: hostile.station(sid)["connected"] is False, timeout=5,
         what="the silent station to be shown disconnected", show=lambda: hostile.station(sid))
    still_serves(hostile)


def test_a_charger_that_answers_pings_is_not_idle(hostile):
    sid = hostile.create_station(unique("CP-pong"))["id"]

    async def scenario():
        async with charger(hostile, sid, "1.6") as cp:  # the websockets library answers pings
            await asyncio.sleep(IDLE_TIMEOUT_S + 2)
            assert cp.ws.close_code is None, f"closed with {cp.ws.close_code} although it answered pings"
    run(scenario())


def test_slowloris_sockets_are_closed_after_the_header_read_timeout(hostile):
    n = 30

    async def scenario():
        conns = []
        for _ in range(n):
            reader, writer = await asyncio.open_connection("127.0.0.1", hostile.port, local_addr=("127.0.0.5", 0))
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
            await writer.drain()
            conns.append((reader, writer))
        t0 = time.monotonic()
        closed_after = []
        for reader, writer in conns:
            data = await asyncio.wait_for(reader.read(), HEADER_READ_TIMEOUT_S + 8)  # EOF when the server closes
            closed_after.append(time.monotonic() - t0)
            writer.close()
        return closed_after
    closed_after = run(scenario())
    assert len(closed_after) == n
    assert max(closed_after) <= HEADER_READ_TIMEOUT_S + 3, f"slowloris sockets lived {max(closed_after):.1f}s"
    still_serves(hostile)


def test_idle_sockets_beyond_the_per_address_cap_are_refused_and_others_still_served(hostile):
    extra = 10

    def open_idle():
        s = socket.socket()
        s.bind(("127.0.0.6", 0))
        s.connect(("127.0.0.1", hostile.port))
        return s
    socks = [open_idle() for _ in range(PER_ADDRESS + extra)]
    try:
        # Look before the header-read timeout closes the admitted ones too.
        time.sleep(0.5)
        refused = 0
        for s in socks:
            try:
                data = s.recv(200, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue  # admitted: waiting for a request
            if data.startswith(b"HTTP/1.1 503") or data == b"":
                refused += 1
        assert refused == extra, f"expected the {extra} sockets over the cap to be refused, {refused} were"
        # Meanwhile, from another address, everything works.
        still_serves(hostile)
    finally:
        for s in socks:
            s.close()
    assert "CSMS_MAX_CONNECTIONS_PER_ADDRESS" in hostile.log_path.read_text(errors="replace"), \
        "hitting the cap should be logged"


# --------------------------------------------------------------------------- point 4: password flood


async def bad_handshake(port: int, station_id: str, source: str) -> int:
    """One handshake with a wrong password from `source`; the HTTP status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        auth = basic_auth(station_id, "wrong-" + os.urandom(4).hex())["Authorization"]
        req = (f"GET /ocpp/{station_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
               f"Authorization: {auth}\r\n\r\n")
        writer.write(req.encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        return int(head.split(b" ")[1])
    finally:
        writer.close()


def test_a_bad_password_flood_is_throttled_and_does_not_slow_other_chargers(hostile):
    victim = hostile.create_station(unique("CP-victim"), password=PASSWORD)["id"]
    bystander = hostile.create_station(unique("CP-bystander"))["id"]
    flood = 200

    async def scenario():
        from ocpp.v16 import call
        async with charger(hostile, bystander, "1.6") as cp:
            rtts: list[float] = []
            stop = asyncio.Event()

            async def heartbeats():
                while not stop.is_set():
                    t0 = time.perf_counter()
                    await cp.send(call.Heartbeat())
                    rtts.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.02)
            hb = asyncio.create_task(heartbeats())
            await asyncio.sleep(0.3)
            # 200 concurrent, from eight addresses (25 each: under the per-address connection cap,
            # and the per-address throttle is not the only one that holds).
            statuses = await asyncio.gather(*(
                bad_handshake(hostile.port, victim, f"127.0.0.{10 + i % 8}") for i in range(flood)))
            await asyncio.sleep(0.3)
            stop.set()
            await hb
            return statuses, rtts
    statuses, rtts = run(scenario(), timeout=120)
    counts = {s: statuses.count(s) for s in set(statuses)}
    assert set(counts) <= {401, 429}, f"only 401 and 429 expected, got {counts}"
    # Every 401 here means one argon2 check ran; the rest were refused before hashing.
    assert counts.get(429, 0) >= flood - 25, f"the flood was not throttled: {counts}"
    rtts.sort()
    p99 = rtts[int(0.99 * (len(rtts) - 1))]
    assert len(rtts) >= 10, f"too few heartbeats measured: {len(rtts)}"
    assert p99 < 1.0, f"bystander heartbeat p99 {p99 * 1000:.0f} ms during the flood (max {rtts[-1] * 1000:.0f})"
    print(f"flood: {counts}; bystander heartbeats n={len(rtts)} p50={rtts[len(rtts) // 2] * 1000:.1f} ms "
          f"p99={p99 * 1000:.1f} ms max={rtts[-1] * 1000:.1f} ms")


def test_repeated_wrong_passwords_lock_the_station_raise_one_alarm_and_a_good_login_clears_it(hostile, receiver):
    sid = hostile.create_station(unique("CP-guessed"), password=PASSWORD)["id"]
    path = f"/guessed-{sid}"
    hook = subscribe(hostile, receiver.url(path), ["alarm.opened", "alarm.resolved"])

    async def guesses():
        return [await bad_handshake(hostile.port, sid, "127.0.0.40") for _ in range(8)]
    statuses = run(guesses())
    assert statuses[:5] == [401] * 5, f"the first five wrong passwords are plain 401s: {statuses}"
    assert 429 in statuses[5:], f"then the station is locked out (429): {statuses}"

    def alarms():
        items = hostile.api_ok("GET", "/alarms", params={"active": "true"})["items"]
        return [a for a in items if a.get("kind") == "stationAuthFailures" and sid in a.get("id", "")]
    found = alarms()
    assert len(found) == 1, f"one active alarm for the station: {found}"
    assert "lock" in hostile.log_path.read_text(errors="replace"), "repeated failures are logged"
    # Someone is on it: acknowledged once, by whom and when.
    alarm_id = found[0]["id"]
    acked = hostile.api_ok("POST", f"/alarms/{alarm_id}/acknowledge")
    assert acked["acknowledgedBy"] == "admin" and acked["active"] is True, acked
    again = hostile.api("POST", f"/alarms/{alarm_id}/acknowledge")
    assert again.status_code == 409 and "by admin" in again.json()["error"]["message"], again.text

    # The right password gets in once the (short, first) lockout is over, and clears the alarm.
    def good_login():
        code, _ = run(handshake_status(hostile.ws_url(sid), ["ocpp1.6"], basic_auth(sid, PASSWORD)))
        return code == 101
    poll(good_login, timeout=20, interval=1, what="the right password to be accepted after the lockout")
    assert alarms() == [], "a good login resolves the alarm"
    # Told as the other alarms are: one signed webhook when it opened, one when it resolved.
    for kind in ("alarm.opened", "alarm.resolved"):
        verify(hook["secret"], receiver.wait_for(path, kind, lambda e: e["data"]["id"] == alarm_id, timeout=10))
    assert [r["event"]["type"] for r in receiver.events(path) if r["event"]["data"]["id"] == alarm_id] \
        == ["alarm.opened", "alarm.resolved"]
    resolved = hostile.api_ok("GET", f"/alarms/{alarm_id}")
    assert resolved["resolvedBy"] is None and resolved["acknowledgedBy"] == "admin", \
        f"resolved by itself, the acknowledgement kept: {resolved}"
    still_serves(hostile)


def test_an_alarm_the_station_cannot_clear_is_resolved_by_hand_with_a_note(hostile):
    sid = hostile.create_station(unique("CP-forgotten"), password=PASSWORD)["id"]

    async def guesses():
        return [await bad_handshake(hostile.port, sid, "127.0.0.42") for _ in range(6)]
    run(guesses())
    active = [a for a in hostile.api_ok("GET", "/alarms", params={"active": "true"})["items"]
              if a.get("kind") == "stationAuthFailures" and sid in a.get("id", "")]
    assert len(active) == 1, active
    alarm_id = active[0]["id"]
    bad = hostile.api("POST", f"/alarms/{alarm_id}/resolve", json={"note": "x" * 2001})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("note:"), bad.text
    done = hostile.api_ok("POST", f"/alarms/{alarm_id}/resolve",
                          json={"note": "Old charger taken down; password no longer used"})
    assert done["active"] is False and done["resolvedBy"] == "admin", done
    assert done["resolutionNote"] == "Old charger taken down; password no longer used", done
    assert done["acknowledgedBy"] == "admin", "resolving acknowledges too"
    assert all(a["id"] != alarm_id
               for a in hostile.api_ok("GET", "/alarms", params={"active": "true"})["items"])
    assert hostile.api("POST", f"/alarms/{alarm_id}/resolve").status_code == 409
    log = hostile.api_ok("GET", "/audit-log")["items"]
    assert log[0]["operation"] == "POST /alarms/{id}/resolve" and log[0]["fields"] == ["note"], log[0]


def test_wrong_api_keys_from_one_address_are_throttled_with_429(hostile):
    session = requests.Session()
    # requests cannot pick a source address; the API is called from 127.0.0.1 here, so use a
    # raw socket from an address of its own.
    def get(key: str) -> int:
        s = socket.create_connection(("127.0.0.1", hostile.port), timeout=5, source_address=("127.0.0.41", 0))
        try:
            s.sendall(f"GET /api/v1/stations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                      f"Connection: close\r\n\r\n".encode())
            return int(s.recv(100).split(b" ")[1])
        finally:
            s.close()
    statuses = [get("csk_nope_" + os.urandom(8).hex()) for _ in range(25)]
    assert statuses[:20] == [401] * 20, f"twenty wrong keys are plain 401s: {statuses}"
    assert 429 in statuses[20:], f"then the address is throttled: {statuses}"
    assert get(hostile.admin_key) == 429, "even a right key waits while the address is locked"
    # Other addresses are not affected.
    assert session.get(f"{hostile.base_url}/api/v1/stations",
                       headers={"Authorization": f"Bearer {hostile.admin_key}"}, timeout=5).status_code == 200


# --------------------------------------------------------------------------- panics


def test_a_panicking_message_handler_answers_internal_error_and_the_socket_stays(hostile):
    sid = hostile.create_station(unique("CP-panic"))["id"]

    async def scenario():
        async with raw_charger(hostile, sid, "1.6") as cp:
            await cp.send_text(json.dumps([2, "p1", "DataTransfer", {"vendorId": "csms-test-panic"}]))
            reply = await cp.expect_reply()
            assert reply[:3] == [4, "p1", "InternalError"], f"expected an InternalError CALLERROR: {reply!r}"
            await cp.heartbeat_works("after-panic")
            view = await asyncio.to_thread(hostile.station, sid)
            assert view["connected"] is True, f"still connected after the panic: {view}"
    run(scenario())
    still_serves(hostile)


def test_a_panicking_connection_task_still_records_the_disconnect(hostile):
    sid = hostile.create_station(unique("CP-task-panic"))["id"]

    async def scenario():
        async with raw_charger(hostile, sid, "2.0.1") as cp:
            await cp.send_text(json.dumps([2, "p2", "DataTransfer", {"vendorId": "csms-test-panic-task"}]))
            with pytest.raises(Exception):  # the socket is gone: no reply ever comes
                await cp.reply(timeout=5)
    run(scenario())
    poll(lambda: hostile.station(sid)["connected"] is False, timeout=5,
         what="the station to be shown disconnected after its task panicked", show=lambda: hostile.station(sid))
    r = hostile.api("POST", f"/stations/{sid}/commands", {"type": "reset", "kind": "hard"})
    assert r.status_code == 200 and r.json()["status"] == "offline", f"commands fail cleanly: {r.text[:300]}"
    still_serves(hostile)


# --------------------------------------------------------------------------- point 7: load, short


def test_a_short_load_run_is_answered_in_full(hostile):
    result = run(load.run_load(hostile, chargers=200, rate=200, seconds=10, per_source=PER_ADDRESS // 2),
                 timeout=170)
    print(f"short load run: {json.dumps(result)}")
    assert result["connectFailures"] == 0, result
    assert result["unanswered"] == 0, result
    assert not result["errors"], result
    still_serves(hostile)


# --------------------------------------------------------------------------- start-up


def test_the_file_descriptor_soft_limit_is_raised_to_the_hard_limit_at_start(runner_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard limit is {hard}: nothing to raise")
    r = runner_factory("fd-limit")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # inherited by the runner
    try:
        r.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    log = re.sub(r"\x1b\[[0-9;]*m", "", r.log_path.read_text(errors="replace"))
    line = next((l for l in log.splitlines() if "file-descriptor limit" in l), None)
    assert line is not None, f"the start-up log names the file-descriptor limit:\n{log[:2000]}"
    assert "before=1024" in line and f"now={hard}" in line, line
    r.stop(check=True)


# --------------------------------------------------------------------------- finally: a restart


def test_after_all_that_the_runner_stops_cleanly_and_starts_again(hostile):
    hostile.stop(check=True)
    # Over 200 wrong passwords were presented in this module; the throttle let only a few reach argon2.
    log = re.sub(r"\x1b\[[0-9;]*m", "", hostile.log_path.read_text(errors="replace"))
    found = re.findall(r"password_checks=(\d+)", log)
    assert found, "the runner logs how many password hashes it checked when it stops"
    assert int(found[-1]) <= 30, f"{found[-1]} argon2 checks ran for 200+ wrong passwords"
    print(f"argon2 checks run in the module: {found[-1]}")
    hostile.start()
    still_serves(hostile)
