"""Sessions with charger clocks from year 1 or at chrono's upper limit must not stall or kill pricing:
a real 1.6 charger (the `ocpp` library) replays them through csms-local next to an ordinary session,
which must still be priced promptly; after a restart the service starts, lists and prices.

The edge refuses a timestamp it cannot read (`+262142-…`) with a CALLERROR and replaces a readable one
outside 2000-01-01 .. now + 1 day by the receive time; either way the other sessions are priced and nothing
stops.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from ocpp.v16 import call

from csms_e2e import charger, iso, poll, quote, run, unique

PASSWORD = "hostile-records-1234"
UTC = timezone.utc


def setup_station(runner, station: str, tag: str) -> None:
    runner.create_station(station, password=PASSWORD)
    runner.create_token(tag)
    tariff = runner.api_ok("POST", "/tariffs", {
        "name": "Busy",
        "elements": [
            {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "5.00"}}],
             "restrictions": {"startTime": "06:00", "endTime": "09:30"}},
            {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "3.00"}},
                            {"type": "time", "price": "0.10", "per": "minute"},
                            {"type": "sessionFee", "price": "10"}]},
        ],
    }, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201)


async def session(runner, station: str, tag: str, start: str, end: str, meter_start: int, meter_stop: int):
    """One session with the given raw timestamps. Returns its session id, or None when the CSMS refused
    the start or the stop with a CALLERROR (a valid answer to a hostile clock)."""
    async with charger(runner, station, "1.6", password=PASSWORD) as cp:
        await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Hostile-16"))
        try:
            started = await cp.send(call.StartTransaction(connector_id=1, id_tag=tag, meter_start=meter_start,
                                                          timestamp=start))
            await cp.send(call.StopTransaction(meter_stop=meter_stop, timestamp=end,
                                               transaction_id=started.transaction_id, reason="EVDisconnected",
                                               id_tag=tag))
        except AssertionError as e:
            if "CALLERROR" in str(e):
                return None
            raise
        # The socket still works after a hostile session.
        await cp.send(call.Heartbeat())
    return runner.session_for(station, started.transaction_id)["id"]


def price_of(runner, session_id: str):
    r = runner.api("GET", f"/sessions/{quote(session_id)}/price")
    return r.json() if r.status_code == 200 else None


def test_sessions_at_the_ends_of_time_do_not_stall_pricing_and_survive_a_restart(runner_factory):
    first = runner_factory("before").start()
    station, tag = unique("CP-HOST"), unique("TAG")
    setup_station(first, station, tag)

    hostile = [
        # Year 1 to 2001: two thousand years of local midnights and tariff switches.
        run(session(first, station, tag, "0001-01-01T00:00:00Z", "2001-01-01T00:00:00Z", 0, 40_000)),
        # chrono's upper limit.
        run(session(first, station, tag, "+262142-12-30T00:00:00Z", "+262142-12-31T23:59:59Z", 0, 10_000)),
        # Ends before it starts.
        run(session(first, station, tag, "2026-11-16T12:00:00Z", "2026-11-16T10:00:00Z", 0, 1_000)),
    ]
    start = datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    ordinary = run(session(first, station, tag, iso(start), iso(start + timedelta(hours=1)), 100_000, 111_000))
    assert ordinary is not None

    # Queued behind the hostile ones, the ordinary session is priced within seconds.
    began = time.monotonic()
    price = poll(lambda: price_of(first, ordinary), timeout=10, what="the ordinary session to be priced")
    took = time.monotonic() - began
    assert price["energyWh"] in ("11000", "11000.000", 11000), price
    assert took < 10

    # The edge bounds charger clocks (2000-01-01 .. now + 1 day): the year-1 session is stored with the
    # receive time in place of the charger's and says so, and it is priced like any other. (Sessions that
    # still reach pricing with such times, from older data, are priced over at most 31 days: the Rust
    # property tests of the pricing engine hold that.)
    assert hostile[0] is not None
    old_session = first.api_ok("GET", f"/sessions/{quote(hostile[0])}")
    assert old_session["chargerClockReplaced"] is True, old_session
    assert not old_session["startedAt"].startswith("0001"), old_session
    poll(lambda: price_of(first, hostile[0]), timeout=10, what="the year-1 session to be priced")

    # Every listing still answers.
    sessions = first.all_sessions()
    assert ordinary in [s["id"] for s in sessions]
    first.stop(check=True)

    # The next start reads the same sessions (pricing recovery lists the last 35 days) and serves.
    second = runner_factory("after", data_dir=first.data_dir).start()
    listed = second.api("GET", "/sessions")
    assert listed.status_code == 200, listed.text
    assert price_of(second, ordinary) is not None
    for sid in hostile:
        if sid is not None:
            r = second.api("GET", f"/sessions/{quote(sid)}")
            assert r.status_code == 200, r.text
    # And a new session is priced.
    later = run(session(second, station, tag, iso(start + timedelta(hours=2)), iso(start + timedelta(hours=3)),
                        200_000, 205_000))
    poll(lambda: price_of(second, later), timeout=10, what="a session after the restart to be priced")
    second.stop(check=True)
