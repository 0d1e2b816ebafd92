"""Webhooks as a partner meets them: a key from the operator, a subscription, remote-started sessions on a 1.6
and a 2.0.1 charger, signed deliveries to a real HTTP receiver, retries, the delivery log, deletion.

The receiver checks every signature itself with Python's hmac module, independently of the Rust code.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import assert_error, iso, now_utc, poll, run, started_runner, unique
from test_commands import Connected


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every POST; `fail[path] = n` answers 500 n times first."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail: dict[str, int] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                with outer.lock:
                    left = outer.fail.get(self.path, 0)
                    if left:
                        outer.fail[self.path] = left - 1
                    # Header names are case-insensitive; hyper sends them in lower case.
                    outer.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                           "answered": 500 if left else 200})
                self.send_response(500 if left else 200)
                self.end_headers()
                self.wfile.write(b"try later" if left else b"thanks")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def events(self, path: str, type_: str | None = None) -> list[dict]:
        with self.lock:
            out = [dict(r, event=json.loads(r["body"])) for r in self.received if r["path"] == path]
        return [r for r in out if type_ is None or r["event"]["type"] == type_]

    def wait_for(self, path: str, type_: str, pred=lambda e: True, timeout: float = 10.0) -> dict:
        def find():
            hits = [r for r in self.events(path, type_) if pred(r["event"]) and r["answered"] == 200]
            return hits[0] if hits else None
        return poll(find, timeout=timeout, what=f"{type_} webhook at {path}")

    def close(self):
        self.server.shutdown()


def verify(secret: str, delivery: dict) -> None:
    """What a partner's receiver does with `Csms-Signature: t=…,v1=…`."""
    header = delivery["headers"]["csms-signature"]
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{delivery['body']}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "signature does not verify"
    assert abs(time.time() - int(parts["t"])) < 300, "timestamp not recent"
    assert delivery["headers"]["csms-event-type"] == json.loads(delivery["body"])["type"]
    assert delivery["headers"]["content-type"] == "application/json"


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    """A runner that retries failed deliveries after 1 s, then 1 s, then gives up."""
    with started_runner(csms_bin, e2e_tmp, "webhooks", extra_env={"CSMS_WEBHOOK_RETRY_SCHEDULE": "1,1"}) as r:
        yield r


@pytest.fixture(scope="module")
def receiver():
    """A webhook receiver for the tests of one module (other modules import this fixture)."""
    rec = Receiver()
    yield rec
    rec.close()


def partner_key(runner, scopes=("read", "commands")) -> str:
    return runner.api_ok("POST", "/api-keys", {"name": "partner", "scopes": list(scopes)}, status=201)["key"]


def subscribe(runner, url: str, events: list[str]) -> dict:
    """The receiver is on loopback: only the admin key may register it; partner keys of the organisation then
    read it and its delivery log (tests/e2e/test_hostile_webhooks.py checks that they cannot register it)."""
    hook = runner.api_ok("POST", "/webhooks", {"url": url, "events": events, "description": "e2e"},
                         status=201, key="admin")
    assert hook["secret"].startswith("whsec_") and set(hook["events"]) == set(events), hook
    return hook


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_partner_journey(runner, receiver, version):
    """The issue's "done when", per OCPP version: key, webhook, remote start, pause, resume, stop, export."""
    key = partner_key(runner)
    path = f"/journey-{version}"
    hook = subscribe(runner, receiver.url(path), ["session.started", "session.ended", "command.completed"])
    tag = unique("WH")[:20]
    runner.create_token(tag)

    async def scenario():
        async with Connected(runner, version) as c:
            async def command(body):
                r = await asyncio.to_thread(runner.api, "POST", f"/stations/{c.station}/commands", body,
                                            params={"wait": 5}, key=key)
                assert r.status_code == 200, r.text
                return r.json()

            started_cmd = await command({"type": "remoteStart", "idToken": tag, "evseId": 1})
            assert started_cmd["status"] == "accepted", started_cmd
            _, payload = c.cp.received[-1]
            # The charger does what it was asked: a transaction for that token.
            if version == "1.6":
                tx = str((await c.cp.send(call16.StartTransaction(
                    connector_id=1, id_tag=payload["idTag"], meter_start=1000,
                    timestamp=iso(now_utc())))).transaction_id)
            else:
                tx = unique("TX")[:30]
                await c.cp.send(call201.TransactionEvent(
                    event_type="Started", timestamp=iso(now_utc()), trigger_reason="RemoteStart", seq_no=0,
                    transaction_info={"transaction_id": tx, "remote_start_id": payload["remoteStartId"]},
                    id_token={"id_token": tag, "type": "ISO14443"}, evse={"id": 1, "connector_id": 1},
                    meter_value=[{"timestamp": iso(now_utc()), "sampled_value": [
                        {"value": 1000, "measurand": "Energy.Active.Import.Register"}]}]))
            got = await asyncio.to_thread(receiver.wait_for, path, "session.started",
                                          lambda e: e["data"]["transactionId"] == tx)
            verify(hook["secret"], got)
            assert got["event"]["data"]["stationId"] == c.station
            assert got["event"]["data"]["idToken"] == tag and got["event"]["data"]["status"] == "active"

            assert (await command({"type": "pause", "transactionId": tx}))["status"] == "accepted"
            assert (await command({"type": "resume", "transactionId": tx}))["status"] == "accepted"
            stop = await command({"type": "remoteStop", "transactionId": tx})
            assert stop["status"] == "accepted"
            if version == "1.6":
                await c.cp.send(call16.StopTransaction(
                    transaction_id=int(tx), meter_stop=8500, timestamp=iso(now_utc()), reason="Remote"))
            else:
                await c.cp.send(call201.TransactionEvent(
                    event_type="Ended", timestamp=iso(now_utc()), trigger_reason="RemoteStop", seq_no=1,
                    transaction_info={"transaction_id": tx, "stopped_reason": "Remote"},
                    meter_value=[{"timestamp": iso(now_utc()), "sampled_value": [
                        {"value": 8500, "measurand": "Energy.Active.Import.Register"}]}]))
            ended = await asyncio.to_thread(receiver.wait_for, path, "session.ended",
                                            lambda e: e["data"]["transactionId"] == tx)
            verify(hook["secret"], ended)
            assert ended["event"]["data"]["status"] == "completed"
            assert ended["event"]["data"]["energyWh"] == 7500
            return c.station, tx, [started_cmd["id"], stop["id"]]

    station, tx, command_ids = run(scenario())

    # Every command's completion was told too, once each.
    completed = {r["event"]["data"]["id"]: r["event"]["data"]
                 for r in receiver.events(path, "command.completed")}
    for cid in command_ids:
        assert completed[cid]["status"] == "accepted"
    assert [c["type"] for c in completed.values()].count("pause") == 1
    started = [r for r in receiver.events(path, "session.started") if r["event"]["data"]["transactionId"] == tx]
    assert len(started) == 1, "one session, one session.started"

    # The export has the session.
    r = runner.api("GET", "/sessions/export", params={"format": "csv", "stationId": station}, key=key)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["transactionId"], x["energyWh"], x["status"]) for x in rows] == [(tx, "7500", "completed")]

    # The delivery log shows each delivery with its single successful attempt.
    log = runner.api_ok("GET", f"/webhooks/{hook['id']}/deliveries", key=key)["items"]
    assert log and all(d["status"] == "succeeded" for d in log), log
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["statusCode"] == 200 for d in log)
    assert {d["eventType"] for d in log} == {"session.started", "session.ended", "command.completed"}


def test_station_events_and_replays_publish_once(runner, receiver):
    key = partner_key(runner, ["read"])
    path = "/stations"
    hook = subscribe(runner, receiver.url(path),
                     ["station.connected", "station.disconnected", "station.status", "session.started",
                      "session.ended"])

    async def scenario():
        async with Connected(runner, "2.0.1") as c:
            await c.cp.send(call201.StatusNotification(
                timestamp=iso(now_utc()), connector_status="Occupied", evse_id=1, connector_id=1))
            tx = unique("TX")[:30]
            ended = call201.TransactionEvent(
                event_type="Ended", timestamp=iso(now_utc()), trigger_reason="EVDeparted", seq_no=3,
                transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"},
                evse={"id": 1, "connector_id": 1})
            # Sent twice, as a charger does when it missed our answer: one session, told once.
            await c.cp.send(ended)
            await c.cp.send(ended)
            return c.station, tx

    station, tx = run(scenario())
    connected = receiver.wait_for(path, "station.connected", lambda e: e["data"]["stationId"] == station)
    verify(hook["secret"], connected)
    assert connected["event"]["data"]["ocppVersion"] == "2.0.1"
    status = receiver.wait_for(path, "station.status", lambda e: e["data"]["stationId"] == station)
    assert status["event"]["data"]["status"] == "Occupied" and status["event"]["data"]["evseId"] == 1
    gone = receiver.wait_for(path, "station.disconnected", lambda e: e["data"]["stationId"] == station)
    assert gone["event"]["data"]["disconnectedAt"] is not None
    receiver.wait_for(path, "session.ended", lambda e: e["data"]["transactionId"] == tx)
    time.sleep(0.5)
    for kind in ["session.started", "session.ended"]:
        hits = [r for r in receiver.events(path, kind) if r["event"]["data"]["transactionId"] == tx]
        assert len(hits) == 1, f"{kind} told {len(hits)} times for a replayed message"


def test_failed_deliveries_are_retried_then_given_up(runner, receiver):
    key = partner_key(runner, ["read"])
    flaky, dead = "/flaky", "/dead"
    receiver.fail[flaky] = 1
    receiver.fail[dead] = 100
    h_flaky = subscribe(runner, receiver.url(flaky), ["station.connected"])
    h_dead = subscribe(runner, receiver.url(dead), ["station.connected"])

    async def scenario():
        async with Connected(runner, "1.6") as c:
            return c.station

    station = run(scenario())
    # First attempt 500, retried 1 s later, 200.
    ok = receiver.wait_for(flaky, "station.connected", lambda e: e["data"]["stationId"] == station)
    attempts = [r for r in receiver.events(flaky) if r["event"]["data"]["stationId"] == station]
    assert [a["answered"] for a in attempts] == [500, 200]
    assert attempts[0]["headers"]["csms-webhook-id"] == ok["headers"]["csms-webhook-id"], "same delivery id"
    assert attempts[0]["body"] == ok["body"], "a retry sends the same bytes"

    def settled(hook_id, status):
        items = runner.api_ok("GET", f"/webhooks/{hook_id}/deliveries", key=key)["items"]
        return items if items and items[0]["status"] == status else None

    log = poll(lambda: settled(h_flaky["id"], "succeeded"), timeout=10, what="flaky delivery settled")
    assert [a["statusCode"] for a in log[0]["attempts"]] == [500, 200]
    assert log[0]["attempts"][0]["error"] == "endpoint answered 500"
    # A private target's answer is not shown (it could be an internal service's).
    assert log[0]["attempts"][0]["responseBody"] is None
    # Schedule "1,1": three attempts, then it fails for good.
    log = poll(lambda: settled(h_dead["id"], "failed"), timeout=15, what="dead delivery given up")
    assert [a["statusCode"] for a in log[0]["attempts"]] == [500, 500, 500]
    assert log[0]["nextAttemptAt"] is None
    assert log[0]["payload"]["data"]["stationId"] == station


def test_subscriptions_are_validated_listed_and_deleted(runner, receiver):
    key = partner_key(runner, ["read"])
    for body in [
        {"url": "ftp://example.com/x", "events": ["session.started"]},
        {"url": "not a url", "events": ["session.started"]},
        {"url": "https://user:pw@example.com/", "events": ["session.started"]},
        {"url": receiver.url("/x"), "events": []},
        {"url": receiver.url("/x"), "events": ["session.exploded"]},
        {"url": receiver.url("/x")},
        {"url": receiver.url("/x"), "events": ["session.started"], "secret": "mine"},
    ]:
        assert_error(runner.api("POST", "/webhooks", body, key=key), 400, "invalid_request")
    hook = subscribe(runner, receiver.url("/deleted"), ["station.connected"])
    listed = runner.api_ok("GET", "/webhooks", key=key)["items"]
    mine = [h for h in listed if h["id"] == hook["id"]]
    assert len(mine) == 1 and "secret" not in mine[0], "the secret is shown once"

    assert runner.api("DELETE", f"/webhooks/{hook['id']}", key=key).status_code == 204
    assert runner.api("DELETE", f"/webhooks/{hook['id']}", key=key).status_code == 204, "idempotent"
    assert hook["id"] not in [h["id"] for h in runner.api_ok("GET", "/webhooks", key=key)["items"]]
    assert runner.api_ok("GET", f"/webhooks/{hook['id']}", key=key)["deletedAt"] is not None

    async def scenario():
        async with Connected(runner, "1.6") as c:
            return c.station

    run(scenario())
    time.sleep(1.0)
    assert receiver.events("/deleted") == [], "a deleted webhook gets nothing"
    assert runner.api_ok("GET", f"/webhooks/{hook['id']}/deliveries", key=key)["items"] == []
    assert_error(runner.api("GET", "/webhooks/01JDX3N6Q8Z4V7T2K9R5M1B0CE", key=key), 404, "not_found")
    assert_error(runner.api("GET", "/webhooks", key=None), 401, "unauthorized")
