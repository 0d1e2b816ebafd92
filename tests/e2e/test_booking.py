"""Issue 17, bookings, as `ocpp` library chargers of both versions see them. A driver's token books EVSE 1 for a
window; the booking sweep (every second here, with an hour's lead time so it acts at once) sends ReserveNow, which
the charger accepts, and the station shows the EVSE reserved; an overlapping booking is refused with the free
windows; during the window another token is refused on the EVSE (listed with the reason `booked`) while the booker
starts; a second booking, reserved too, is cancelled and the charger receives CancelReservation for it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import contextlib
import json
import time
from datetime import datetime, timedelta

import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import (Charger16, Charger201, assert_error, connect_ws, iso, now_utc, quote, run,
                      started_runner, unique)

VERSIONS = ["1.6", "2.0.1"]
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


class Reserving16(Charger16):
    """A 1.6 charger that accepts reservations and records the CSMS's calls."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received: list[tuple[str, dict]] = []

    async def route_message(self, raw_msg):
        msg = json.loads(raw_msg)
        if isinstance(msg, list) and msg and msg[0] == 2:
            self.received.append((msg[2], msg[3]))
        return await super().route_message(raw_msg)

    @on("ReserveNow")
    async def on_reserve_now(self, **kwargs):
        return result16.ReserveNow(status="Accepted")

    @on("CancelReservation")
    async def on_cancel_reservation(self, **kwargs):
        return result16.CancelReservation(status="Accepted")


class Reserving201(Charger201):
    """A 2.0.1 charger that accepts reservations and records the CSMS's calls."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received: list[tuple[str, dict]] = []

    async def route_message(self, raw_msg):
        msg = json.loads(raw_msg)
        if isinstance(msg, list) and msg and msg[0] == 2:
            self.received.append((msg[2], msg[3]))
        return await super().route_message(raw_msg)

    @on("ReserveNow")
    async def on_reserve_now(self, **kwargs):
        return result201.ReserveNow(status="Accepted")

    @on("CancelReservation")
    async def on_cancel_reservation(self, **kwargs):
        return result201.CancelReservation(status="Accepted")


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    env = {
        "CSMS_BOOKING_SWEEP_SECONDS": "1",
        "CSMS_BOOKING_LEAD_SECONDS": "3600",
        "CSMS_BOOKING_GRACE_SECONDS": "900",
    }
    with started_runner(csms_bin, e2e_tmp, "test_booking", extra_env=env) as r:
        yield r


def card(runner, value: str) -> str:
    runner.api_ok("POST", "/id-tokens", {"idToken": value, "type": "ISO14443", "status": "Accepted"}, status=201)
    return value


async def boot(cp, version: str) -> None:
    if version == "1.6":
        result = await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="B-16"))
        assert result.status == "Accepted", result
        for connector in (1, 2):
            await cp.send(call16.StatusNotification(connector_id=connector, error_code="NoError",
                                                    status="Available"))
    else:
        result = await cp.send(call201.BootNotification(
            reason="PowerUp", charging_station={"model": "B-201", "vendor_name": "Acme"}))
        assert result.status == "Accepted", result
        for evse in (1, 2):
            await cp.send(call201.StatusNotification(timestamp=iso(now_utc()), connector_status="Available",
                                                     evse_id=evse, connector_id=1))


async def start(cp, version: str, value: str) -> str:
    """The answer's status to a transaction started with `value` on EVSE (connector) 1."""
    if version == "1.6":
        result = await cp.send(call16.StartTransaction(
            connector_id=1, id_tag=value, meter_start=0, timestamp=iso(now_utc())))
        return result.id_tag_info["status"]
    result = await cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
        transaction_info={"transaction_id": unique("tx")[:36]}, evse={"id": 1, "connector_id": 1},
        id_token={"id_token": value, "type": "ISO14443"}))
    return result.id_token_info["status"]


async def arrived(cp, action: str, count: int = 1, timeout: float = 15) -> list[dict]:
    """The payloads of the CSMS's `action` calls once `count` of them arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [p for a, p in cp.received if a == action]
        if len(got) >= count:
            return got
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} {action} did not arrive within {timeout}s; received {cp.received!r}")


async def status_becomes(runner, booking: str, status: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        b = runner.api_ok("GET", f"/bookings/{booking}")
        if b["status"] == status or time.monotonic() > deadline:
            assert b["status"] == status, b
            return b
        await asyncio.sleep(0.2)


def when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_booking_is_reserved_guarded_started_and_cancelled(runner, version):
    booker = card(runner, unique("BOOKER")[:20])
    other = card(runner, unique("OTHER")[:20])
    cs = runner.create_station(unique(f"BOOK{version.replace('.', '')}"))["id"]
    path = f"/stations/{quote(cs)}/evses/1/bookings"
    begins = now_utc() + timedelta(seconds=4)
    window = {"start": iso(begins), "end": iso(begins + timedelta(hours=1))}

    async def scenario():
        ws = await connect_ws(runner.ws_url(cs), [SUBPROTOCOL[version]])
        cp = (Reserving16 if version == "1.6" else Reserving201)(cs, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        try:
            await boot(cp, version)
            booking = runner.api_ok("POST", path, {"idToken": booker, **window}, status=201)
            assert booking["status"] == "booked", booking

            # The sweep reserves the EVSE for the booker on the charger.
            reserve = (await arrived(cp, "ReserveNow"))[0]
            if version == "1.6":
                assert (reserve["reservationId"], reserve["idTag"], reserve["connectorId"]) == (
                    booking["reservationId"], booker, 1), reserve
                assert when(reserve["expiryDate"]) == when(booking["end"]), reserve
            else:
                assert (reserve["id"], reserve["idToken"]["idToken"], reserve["evseId"]) == (
                    booking["reservationId"], booker, 1), reserve
                assert reserve["idToken"]["type"] == "ISO14443", reserve
            reserved = await status_becomes(runner, booking["id"], "reserved")
            assert reserved["reserveOutcome"] == "Accepted", reserved
            shown = runner.api_ok("GET", f"/stations/{quote(cs)}")
            evse1 = next(e for e in shown["evses"] if e["id"] == 1)
            assert evse1["reservedFor"] == booking["id"], shown
            assert evse1["connectors"][0]["status"] == "Reserved", shown

            # An overlapping booking: 409 with the free windows, none of which overlaps the booked one.
            clash = runner.api("POST", path, {"idToken": other, "start": iso(begins + timedelta(minutes=30)),
                                              "end": iso(begins + timedelta(minutes=90))})
            assert_error(clash, 409, "conflict")
            free = clash.json()["freeWindows"]
            assert free, clash.text
            for f in free:
                assert when(f["end"]) <= when(booking["start"]) or when(f["start"]) >= when(booking["end"]), free
            assert any(when(f["start"]) == when(booking["end"]) for f in free), free

            # In the window: another token is refused on the EVSE, the booker starts.
            await asyncio.sleep(max(0.0, (begins - now_utc()).total_seconds()) + 0.5)
            assert await start(cp, version, other) == "Invalid"
            refused = runner.api_ok("GET", f"/stations/{quote(cs)}/attempts", params={"limit": 5})["items"]
            assert (refused[0]["idToken"], refused[0]["reason"], refused[0]["evseId"]) == (other, "booked", 1), \
                refused
            assert await start(cp, version, booker) == "Accepted"
            await status_becomes(runner, booking["id"], "active")

            # A second booking on EVSE 2, reserved, then cancelled: the charger gets CancelReservation.
            later = runner.api_ok("POST", f"/stations/{quote(cs)}/evses/2/bookings",
                                  {"idToken": booker, "start": iso(now_utc() + timedelta(minutes=10)),
                                   "end": iso(now_utc() + timedelta(minutes=40))}, status=201)
            await arrived(cp, "ReserveNow", count=2)
            await status_becomes(runner, later["id"], "reserved")
            cancelled = runner.api_ok("POST", f"/bookings/{later['id']}/cancel")
            assert cancelled["status"] == "cancelled", cancelled
            cancel = (await arrived(cp, "CancelReservation"))[0]
            assert cancel["reservationId"] == later["reservationId"], cancel
            # The cancelled window is free again.
            again = runner.api("POST", f"/stations/{quote(cs)}/evses/2/bookings",
                               {"idToken": other, "start": later["start"], "end": later["end"]})
            assert again.status_code == 201, again.text
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await ws.close()

    run(scenario())


def test_a_bad_booking_is_refused_naming_the_field(runner):
    cs = runner.create_station(unique("BOOKBAD"))["id"]
    path = f"/stations/{quote(cs)}/evses/1/bookings"
    token = card(runner, unique("BAD")[:20])
    start = now_utc() + timedelta(hours=1)
    for body, field in [
        ({"idToken": token, "start": iso(start), "end": iso(start)}, "end"),
        ({"idToken": token, "start": iso(start), "end": iso(start + timedelta(hours=25))}, "end"),
        ({"idToken": token, "start": iso(now_utc() - timedelta(hours=1)), "end": iso(start)}, "start"),
        ({"idToken": unique("NOBODY")[:20], "start": iso(start), "end": iso(start + timedelta(hours=1))},
         "idToken"),
        ({"idToken": token, "start": "tomorrow", "end": iso(start)}, "start"),
    ]:
        err = assert_error(runner.api("POST", path, body), 400, "invalid_request")
        assert err["message"].startswith(field), (field, err)


def test_a_booking_the_station_cannot_hold_is_mailed_to_the_driver(runner):
    """The station was never connected: the sweep's ReserveNow cannot go out, the booking is refused, and the person
    holding the card gets a mail saying when, where and why (read back from the local outbox)."""
    cs = runner.create_station(unique("BOOKOFF"))["id"]
    address = f"{unique('booker').lower()}@example.se"
    person = runner.api_ok("POST", "/users", {"email": address, "name": "Bo Oker", "password": "booker-password-1",
                                             "role": "driver", "language": "sv"}, status=201)
    token = card(runner, unique("HELD")[:20])
    runner.api_ok("PATCH", f"/id-tokens/{quote(token)}", {"userId": person["id"]})
    start = now_utc() + timedelta(minutes=30)
    made = runner.api_ok("POST", f"/stations/{quote(cs)}/evses/1/bookings",
                         {"idToken": token, "start": iso(start), "end": iso(start + timedelta(hours=1))}, status=201)
    assert made["userId"] == person["id"], made
    refused = asyncio.run(status_becomes(runner, made["id"], "refused"))
    assert refused["reserveOutcome"], refused
    deadline = time.monotonic() + 10
    while True:
        mails = [m for m in runner.api_ok("GET", "/outbox")["items"] if m["to"] == address]
        if mails or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [m["kind"] for m in mails] == ["bookingRefused"], mails
    raw = runner.api("GET", f"/outbox/{mails[0]['id']}").content
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"].startswith("Din bokning "), message["Subject"]
    text = message.get_content()
    assert f"laddpunkt 1 på {cs}" in text and "laddaren är inte ansluten" in text, text
