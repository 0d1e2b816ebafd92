"""Issue 17, start links: an EVSE's charging key and QR code, and the public start behind the link, as `ocpp` library
chargers of both versions see it. The operator fetches EVSE 1's charging key (the link points at the runner) and its
QR codes; an anonymous driver POSTs the link of a public EVSE; the charger receives the remote start
(RemoteStartTransaction / RequestStartTransaction) with a one-off central identity, answers Accepted, authorises it
and starts the transaction, which the CSMS accepts; the session carries the identity. On a private EVSE the anonymous
start is refused (403 `signInRequired`), nothing reaches the charger, and the refusal is in the attempts list with the
source `startLink`. The `ocpp` library checks every CALL the CSMS sends against the version's schema."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import requests
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import Charger16, Charger201, boot_accepted, connect_ws, iso, now_utc, quote, run, unique

VERSIONS = ["1.6", "2.0.1"]
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


class Starting16(Charger16):
    """A 1.6 charger that accepts remote starts and records the CSMS's calls."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received: list[tuple[str, dict]] = []

    async def route_message(self, raw_msg):
        msg = json.loads(raw_msg)
        if isinstance(msg, list) and msg and msg[0] == 2:
            self.received.append((msg[2], msg[3]))
        return await super().route_message(raw_msg)

    @on("RemoteStartTransaction")
    async def on_remote_start(self, **kwargs):
        return result16.RemoteStartTransaction(status="Accepted")


class Starting201(Charger201):
    """A 2.0.1 charger that accepts remote starts and records the CSMS's calls."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received: list[tuple[str, dict]] = []

    async def route_message(self, raw_msg):
        msg = json.loads(raw_msg)
        if isinstance(msg, list) and msg and msg[0] == 2:
            self.received.append((msg[2], msg[3]))
        return await super().route_message(raw_msg)

    @on("RequestStartTransaction")
    async def on_request_start(self, **kwargs):
        return result201.RequestStartTransaction(status="Accepted")


def key_of(runner, station: str, evse: int) -> dict:
    return runner.api_ok("GET", f"/stations/{quote(station)}/evses/{evse}/charging-key")


def attempts(runner, station: str) -> list[dict]:
    return runner.api_ok("GET", f"/stations/{quote(station)}/attempts", params={"limit": 50})["items"]


async def public(method: str, url: str, **kw) -> requests.Response:
    """A request without a key, off the event loop (the charger keeps answering meanwhile)."""
    return await asyncio.to_thread(requests.request, method, url, timeout=30, **kw)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_anonymous_start_link_starts_a_public_evse_and_is_refused_at_a_private_one(runner, version):
    cs = runner.create_station(unique(f"SL{version.replace('.', '')}"))["id"]
    runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/1/access", {"default": "public"})
    runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/2/access", {"default": "private"})
    key = key_of(runner, cs, 1)
    link = key["startUrl"]
    assert link == f"{runner.base_url}/api/v1/start/{key['key']}", key
    assert key_of(runner, cs, 1)["key"] == key["key"], "made once"
    private_link = key_of(runner, cs, 2)["startUrl"]
    # The QR codes of the link (their content is checked in the Rust tests, which decode them).
    svg = runner.api("GET", f"/stations/{quote(cs)}/evses/1/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml", svg.text[:200]
    assert svg.text.startswith("<?xml") and "<svg" in svg.text
    png = runner.api("GET", f"/stations/{quote(cs)}/evses/1/qr.png", params={"size": 300})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")

    async def scenario():
        ws = await connect_ws(runner.ws_url(cs), [SUBPROTOCOL[version]])
        cp = (Starting16 if version == "1.6" else Starting201)(cs, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        try:
            await steps(cp)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await ws.close()

    async def steps(cp):
        await boot_accepted(cp, version)
        if version == "1.6":
            await cp.send(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        else:
            await cp.send(call201.StatusNotification(timestamp=iso(now_utc()), connector_status="Available",
                                                     evse_id=1, connector_id=1))

        info = (await public("GET", link)).json()
        assert (info["mode"], info["canStart"], info["status"], info["evseId"]) == (
            "public", True, "available", 1), info

        # Anonymous, no key: the charger gets the remote start and accepts it.
        r = await public("POST", link, params={"wait": 10})
        assert r.status_code == 200, r.text
        started = r.json()
        assert started["status"] == "accepted", started
        tag = started["idToken"]
        assert tag.startswith("SL") and len(tag) == 20 and started["idTokenType"] == "Central", started
        action, payload = cp.received[-1]
        if version == "1.6":
            assert action == "RemoteStartTransaction", cp.received
            assert payload == {"connectorId": 1, "idTag": tag}, payload
            auth = await cp.send(call16.Authorize(id_tag=tag))
            assert auth.id_tag_info["status"] == "Accepted", auth
            tx = await cp.send(call16.StartTransaction(
                connector_id=1, id_tag=tag, meter_start=0, timestamp=iso(now_utc())))
            assert tx.id_tag_info["status"] == "Accepted", tx
            transaction = str(tx.transaction_id)
        else:
            assert action == "RequestStartTransaction", cp.received
            assert payload["evseId"] == 1 and payload["idToken"] == {"idToken": tag, "type": "Central"}, payload
            auth = await cp.send(call201.Authorize(id_token={"id_token": tag, "type": "Central"}))
            assert auth.id_token_info["status"] == "Accepted", auth
            transaction = unique("tx")[:36]
            ev = await cp.send(call201.TransactionEvent(
                event_type="Started", timestamp=iso(now_utc()), trigger_reason="RemoteStart", seq_no=0,
                transaction_info={"transaction_id": transaction,
                                  "remote_start_id": payload["remoteStartId"]},
                evse={"id": 1, "connector_id": 1}, id_token={"id_token": tag, "type": "Central"}))
            assert ev.id_token_info["status"] == "Accepted", ev
        # The poll route says the same as the answer did.
        polled = (await public("GET", f"{link}/starts/{started['commandId']}")).json()
        assert polled["status"] == "accepted", polled

        session = runner.api_ok("GET", f"/sessions/{quote(cs + '~' + transaction)}")
        assert session["idToken"] == tag and session["evseId"] == 1, session
        token = runner.api_ok("GET", f"/id-tokens/{tag}")
        assert token["type"] == "Central" and "start link" in token["label"], token
        # The start is in the organisation's audit log, by `anonymous` (the route takes no key).
        logged = [e for e in runner.api_ok("GET", "/audit-log")["items"]
                  if e["operation"] == "POST /start/{key}" and e["path"] == f"/api/v1/start/{key['key']}"]
        assert [(e["actor"], e["status"]) for e in logged] == [("anonymous", 200)], logged

        # The private EVSE refuses the anonymous caller; nothing reaches the charger.
        sent = len(cp.received)
        info = (await public("GET", private_link)).json()
        assert (info["mode"], info["canStart"], info["refusal"]["reason"]) == (
            "private", False, "signInRequired"), info
        r = await public("POST", private_link)
        assert r.status_code == 403, r.text
        assert r.json()["reason"] == "signInRequired", r.text
        await asyncio.sleep(0.3)
        assert len(cp.received) == sent, cp.received[sent:]
        latest = attempts(runner, cs)[0]
        assert (latest["source"], latest["reason"], latest["mode"], latest["evseId"], latest["idToken"]) == (
            "startLink", "signInRequired", "private", 2, "anonymous"), latest

    run(scenario())


def test_a_rotated_link_stops_working(runner):
    cs = runner.create_station(unique("SLROT"))["id"]
    old = key_of(runner, cs, 1)
    new = runner.api_ok("POST", f"/stations/{quote(cs)}/evses/1/charging-key/rotate")
    assert new["key"] != old["key"] and new["startUrl"] != old["startUrl"], new
    assert requests.get(old["startUrl"], timeout=10).status_code == 404
    assert requests.get(new["startUrl"], timeout=10).status_code == 200
