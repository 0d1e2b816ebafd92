"""Session pricing end to end: a 1.6 charger (the `ocpp` library) replays sessions through csms-local,
which prices them when they complete. Expected prices are computed here, independently, from the tariff
and the meter values the charger sent.

- a scheduled tariff (weekday peak 17–20 local) with a session that crosses the peak boundary;
- a spot-following tariff over manually stored SE3 quarter-hour prices, with a session that crosses local
  midnight, the autumn DST change (25 Oct 2026, 100 quarter-hours) and negative prices (the floor rule);
- user groups and the price preview's explanation; repricing as an audited new revision;
- a session whose spot prices are missing stays unpriced and is priced once they are stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from ocpp.v16 import call

from csms_e2e import assert_error, charger, iso, poll, quote, run, started_runner, unique
from test_webhooks import Receiver, subscribe, verify

PASSWORD = "pricing-pass-1234"
UTC = timezone.utc


def money(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    # A session waiting for spot prices is retried every second here (default 10 minutes).
    with started_runner(csms_bin, e2e_tmp, "pricing",
                        extra_env={"CSMS_PRICING_RETRY_SECONDS": "1", "CSMS_SPOT_FETCH": "off"}) as r:
        yield r


def energy(wh: int) -> dict:
    return {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
            "context": "Sample.Periodic"}


async def replay(runner, station: str, tag: str, start: datetime, end: datetime, watts: int,
                 meter_start: int = 100_000) -> str:
    """Boot, start at `start`, a register reading every minute at constant `watts`, stop at `end`.
    Returns the session id."""
    async with charger(runner, station, "1.6", password=PASSWORD) as cp:
        await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Price-16"))
        started = await cp.send(call.StartTransaction(connector_id=1, id_tag=tag, meter_start=meter_start,
                                                      timestamp=iso(start)))
        tx = started.transaction_id
        minutes = int((end - start).total_seconds() // 60)
        for m in range(1, minutes):
            t = start + timedelta(minutes=m)
            await cp.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
                {"timestamp": iso(t), "sampled_value": [energy(meter_start + watts * m // 60)]}]))
        stop_wh = meter_start + watts * minutes // 60
        await cp.send(call.StopTransaction(meter_stop=stop_wh, timestamp=iso(end), transaction_id=tx,
                                           reason="EVDisconnected", id_tag=tag))
    return runner.session_for(station, tx)["id"]


def priced(runner, session_id: str, timeout: float = 10.0) -> dict:
    def get():
        r = runner.api("GET", f"/sessions/{quote(session_id)}/price")
        return r.json() if r.status_code == 200 else None
    return poll(get, timeout=timeout, what=f"session {session_id} to be priced",
                show=lambda: runner.api("GET", f"/sessions/{quote(session_id)}/price").text)


def lines_of(price: dict, kind: str) -> list[dict]:
    return [l for l in price["lines"] if l["kind"] == kind]


def assert_totals_add_up(price: dict) -> None:
    lines = sum(Decimal(l["net"]) for l in price["lines"])
    assert lines == Decimal(price["net"]), f"lines sum to {lines}, net is {price['net']}"
    assert Decimal(price["gross"]) == Decimal(price["net"]) + Decimal(price["vat"]), price
    assert Decimal(price["vat"]) == money(Decimal(price["net"]) * Decimal(price["vatRate"])), price


def test_scheduled_tariff_across_the_peak_boundary(runner):
    receiver = Receiver()
    hook = subscribe(runner, receiver.url("/priced"), ["session.priced"])
    station = runner.create_station(unique("PRICE-S"), password=PASSWORD)["id"]
    tag = unique("TAG-S")[:20]
    runner.create_token(tag)
    tariff = runner.api_ok("POST", "/tariffs", {
        "name": "Weekday peak",
        "elements": [
            {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "5.00"}}],
             "restrictions": {"daysOfWeek": ["Mon", "Tue", "Wed", "Thu", "Fri"],
                              "startTime": "17:00", "endTime": "20:00"}},
            {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "3.00"}},
                            {"type": "sessionFee", "price": "10"}]},
        ],
    }, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}, "group": None},
                  status=201)

    # Monday 16 Nov 2026, 16:30–17:30 Stockholm (CET, UTC+1) at 11 kW.
    start = datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    session_id = run(replay(runner, station, tag, start, start + timedelta(hours=1), 11_000))
    price = priced(runner, session_id)

    energy_lines = [(l["unitPrice"], l["quantity"]) for l in lines_of(price, "energy")]
    assert energy_lines == [("3", "5.5"), ("5", "5.5")], price["lines"]
    assert [l["net"] for l in lines_of(price, "energy")] == ["16.50", "27.50"]
    assert [l["net"] for l in lines_of(price, "sessionFee")] == ["10.00"]
    assert (price["net"], price["vat"], price["gross"]) == ("54.00", "13.50", "67.50"), price
    assert price["currency"] == "SEK" and price["energyWh"] == "11000"
    assert (price["revision"], price["tariffId"], price["tariffVersion"]) == (1, tariff["id"], 1)
    assert price["reason"] == "session completed" and price["requestedBy"] is None
    assert price["rounding"], "the rounding rule is named"
    assert_totals_add_up(price)
    # The session itself carries its price, and partners are told.
    assert runner.session(session_id)["price"] == price
    told = receiver.wait_for("/priced", "session.priced", lambda e: e["data"]["sessionId"] == session_id)
    verify(hook["secret"], told)
    assert told["event"]["data"] == price, "the webhook carries the priced session as the API shows it"

    # A repricing is an explicit, audited new revision; the first stays readable.
    r = runner.api("POST", f"/sessions/{quote(session_id)}/reprice", {"reason": ""})
    assert_error(r, 400)
    again = runner.api_ok("POST", f"/sessions/{quote(session_id)}/reprice",
                          {"reason": "customer complaint, checked"}, status=201)
    assert again["revision"] == 2 and again["reason"] == "customer complaint, checked"
    assert again["requestedBy"] == "admin"
    assert again["gross"] == price["gross"], "same data, same tariff: same price"
    revisions = runner.api_ok("GET", f"/sessions/{quote(session_id)}/price/revisions")["items"]
    assert [p["revision"] for p in revisions] == [1, 2]
    assert revisions[0] == price
    assert runner.session(session_id)["price"]["revision"] == 2
    receiver.wait_for("/priced", "session.priced",
                      lambda e: e["data"]["sessionId"] == session_id and e["data"]["revision"] == 2)
    receiver.close()


def spot_prices(day_start_utc: datetime, slots: int, f) -> list[str]:
    return [str(f(i)) for i in range(slots)]


def test_spot_tariff_across_midnight_dst_and_negative_prices(runner):
    station = runner.create_station(unique("PRICE-D"), password=PASSWORD)["id"]
    tag = unique("TAG-D")[:20]
    runner.create_token(tag)
    # Local days in Stockholm: 24 Oct 2026 starts 23 Oct 22:00Z (CEST) and has 96 quarter-hours;
    # 25 Oct starts 24 Oct 22:00Z and has 100 (clocks go back at 01:00Z).
    day24 = lambda i: Decimal("0.50") + Decimal(i) / 100  # noqa: E731
    day25 = lambda i: Decimal("-0.30") + Decimal(i) * Decimal("0.02")  # noqa: E731
    r = runner.api("PUT", "/spot-prices/SE3/2026-10-25",
                   {"resolutionMinutes": 15, "prices": [str(day25(i)) for i in range(96)]})
    assert_error(r, 400)
    assert "100" in r.json()["error"]["message"], "the error says how many slots the DST day has"
    runner.api_ok("PUT", "/spot-prices/SE3/2026-10-24",
                  {"resolutionMinutes": 15, "prices": [str(day24(i)) for i in range(96)]})
    runner.api_ok("PUT", "/spot-prices/SE3/2026-10-25",
                  {"resolutionMinutes": 15, "prices": [str(day25(i)) for i in range(100)]})

    tariff = runner.api_ok("POST", "/tariffs", {
        "name": "Spot SE3",
        "elements": [{"components": [{"type": "energy", "price": {
            "kind": "spot", "zone": "SE3", "factor": "1", "markup": "0.25", "energyTax": "0.439",
            "floor": "0"}}]}],
    }, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201)

    # 23:45 local on the 24th (21:45Z) to 02:30 local CET on the 25th (01:30Z): 3 h 45 min at 6 kW.
    start = datetime(2026, 10, 24, 21, 45, tzinfo=UTC)
    end = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    session_id = run(replay(runner, station, tag, start, end, 6_000))
    price = priced(runner, session_id)

    # Independently: every quarter-hour carries 1.5 kWh; find its slot in its local day.
    expected = []
    t = start
    while t < end:
        if t < datetime(2026, 10, 24, 22, tzinfo=UTC):
            spot = day24(int((t - datetime(2026, 10, 23, 22, tzinfo=UTC)) / timedelta(minutes=15)))
        else:
            spot = day25(int((t - datetime(2026, 10, 24, 22, tzinfo=UTC)) / timedelta(minutes=15)))
        unit = max(spot + Decimal("0.25"), Decimal(0)) + Decimal("0.439")
        expected.append((iso(t), spot, unit, money(unit * Decimal("1.5"))))
        t += timedelta(minutes=15)
    got = lines_of(price, "energy")
    assert len(got) == len(expected) == 15, [(l["start"], l["unitPrice"]) for l in got]
    for line, (at, spot, unit, net) in zip(got, expected):
        assert Decimal(line["quantity"]) == Decimal("1.5"), line
        assert Decimal(line["spotPrice"]) == spot, (line, at)
        assert Decimal(line["unitPrice"]) == unit, (line, at)
        assert Decimal(line["net"]) == net, (line, at)
    assert any(Decimal(l["spotPrice"]) < 0 for l in got), "some slots had negative spot prices"
    assert any(Decimal(l["unitPrice"]) == Decimal("0.439") for l in got), "the floor turned them into tax only"
    assert Decimal(price["net"]) == sum(n for *_, n in expected)
    assert Decimal(price["energyWh"]) == Decimal(6_000 * 225 // 60)
    assert_totals_add_up(price)

    # The day as stored, with its 100 slots.
    stored = runner.api_ok("GET", "/spot-prices/SE3/2026-10-25")
    assert len(stored["slots"]) == 100 and stored["source"] == "manual"


def test_groups_choose_the_tariff_and_the_preview_explains(runner):
    station = runner.create_station(unique("PRICE-G"), password=PASSWORD, siteId="brf-linden")["id"]
    resident = unique("TAG-R")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": resident, "type": "ISO14443", "status": "Accepted",
                                         "group": "residents"}, status=201)
    guest = unique("TAG-G")[:20]
    runner.create_token(guest)
    public = runner.api_ok("POST", "/tariffs", {"name": "Public", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "4.50"}}]}]}, status=201)
    residents = runner.api_ok("POST", "/tariffs", {"name": "Residents", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.00"}},
                        {"type": "idle", "price": "1", "per": "minute", "graceMinutes": 30}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": public["id"],
                                                  "target": {"kind": "site", "id": "brf-linden"}}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": residents["id"],
                                                  "target": {"kind": "site", "id": "brf-linden"},
                                                  "group": "residents"}, status=201)

    p = runner.api_ok("GET", f"/stations/{quote(station)}/price-preview", params={"idToken": resident})
    assert p["tariffId"] == residents["id"] and p["group"] == "residents", p
    assert [(x["component"], x["unitPrice"], x["unitPriceInclVat"]) for x in p["prices"]] == [
        ("energy", "2", "2.5"), ("idle", "1", "1.25")], p["prices"]
    assert [s["lookedFor"] for s in p["resolution"]] == [
        f"station {station}, group residents", f"station {station}, everyone", "site brf-linden, group residents"]
    assert "site brf-linden, group residents" in p["explanation"]

    p = runner.api_ok("GET", f"/stations/{quote(station)}/price-preview", params={"idToken": guest})
    assert p["tariffId"] == public["id"] and p["group"] is None
    assert p["resolution"][-1]["lookedFor"] == "site brf-linden, everyone"

    other = runner.create_station(unique("PRICE-N"), password=PASSWORD)["id"]
    p = runner.api_ok("GET", f"/stations/{quote(other)}/price-preview")
    assert p["tariffId"] is None and p["prices"] == [] and "no tariff" in p["explanation"], p
    assert_error(runner.api("GET", "/stations/NOPE-404/price-preview"), 404)
    assert_error(runner.api("GET", f"/stations/{quote(station)}/price-preview", params={"at": "yesterday"}), 400)

    # A resident's session is priced with the residents' tariff, idle time after the grace period included.
    start = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    session_id = run(replay(runner, station, resident, start, start + timedelta(minutes=90), 7_200,
                            meter_start=5_000))
    price = priced(runner, session_id)
    assert price["tariffId"] == residents["id"] and price["group"] == "residents"
    assert [l["net"] for l in lines_of(price, "energy")] == ["21.60"]  # 10.8 kWh × 2.00
    assert lines_of(price, "idle") == [], "charged all the way: no idle time"
    assert_totals_add_up(price)


def test_missing_spot_prices_wait_until_they_are_stored(runner):
    station = runner.create_station(unique("PRICE-W"), password=PASSWORD)["id"]
    tag = unique("TAG-W")[:20]
    runner.create_token(tag)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Spot SE4", "elements": [{"components": [
        {"type": "energy", "price": {"kind": "spot", "zone": "SE4", "markup": "0.10"}}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201)
    start = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # 12:00 local, CEST
    session_id = run(replay(runner, station, tag, start, start + timedelta(minutes=30), 4_000))
    r = runner.api("GET", f"/sessions/{quote(session_id)}/price")
    assert_error(r, 404)
    r = runner.api("POST", f"/sessions/{quote(session_id)}/reprice", {"reason": "try"})
    assert_error(r, 409)
    assert "SE4" in r.json()["error"]["message"], r.text

    runner.api_ok("PUT", "/spot-prices/SE4/2026-09-01", {"resolutionMinutes": 60, "prices": ["1.00"] * 24})
    price = priced(runner, session_id, timeout=10)
    assert [l["unitPrice"] for l in lines_of(price, "energy")] == ["1.1"]
    assert price["net"] == "2.20" and price["revision"] == 1  # 2 kWh × 1.10
