"""Price-optimised charging end to end: spot prices through the API, a driver's need for a 1.6 session and a
car's own need over ISO 15118 (2.0.1 NotifyEVChargingNeeds), both planned into the cheap quarter-hours before
departure; until then the car is paused by its TxProfile and the others get its share.

The prices are laid out around the real clock: two cheap quarter-hours two hours from now, dear ones before and
after. 5 kWh at 16 A on three phases (11 kW) takes two quarter-hours, so a correct plan charges exactly then.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import assert_error, iso, now_utc, poll, run, unique
from test_load_balancing import Site, connect, start

ZONE = "SE2"
TZ = ZoneInfo("Europe/Stockholm")
DEAR, CHEAP = Decimal("2.50"), Decimal("0.10")


def quarter(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def put_prices(runner, cheap_from: datetime, cheap_until: datetime):
    """Stores the local days around now: dear everywhere except [cheap_from, cheap_until)."""
    today = datetime.now(TZ).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        start = datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(timezone.utc)
        nxt = day + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=TZ).astimezone(timezone.utc)
        slots = int((end - start).total_seconds() // 900)
        prices = []
        for i in range(slots):
            t = start + timedelta(minutes=15 * i)
            prices.append(str(CHEAP if cheap_from <= t < cheap_until else DEAR))
        runner.api_ok("PUT", f"/spot-prices/{ZONE}/{day.isoformat()}",
                      {"resolutionMinutes": 15, "prices": prices})


def evse(runner, site_id: str, station: str) -> dict:
    a = runner.api_ok("GET", f"/sites/{site_id}/load/allocation")
    return next(e for e in a["evses"] if e["stationId"] == station)


async def holds(cp, limit: Decimal, what: str):
    await asyncio.to_thread(poll, lambda: cp.effective() == limit, timeout=15, what=what)


def check_plan(plan: dict, cheap_from: datetime, cheap_until: datetime):
    """The session charges in the two cheap quarter-hours and nowhere else."""
    charging = [s for s in plan["slots"] if Decimal(str(s["currentA"])) > 0]
    assert charging, json.dumps(plan)
    for s in charging:
        t = datetime.fromisoformat(s["start"].replace("Z", "+00:00"))
        assert cheap_from <= t < cheap_until, f"charges at {s['start']} outside the cheap slots: {json.dumps(plan)}"
        assert Decimal(str(s["price"])) == CHEAP
    assert Decimal(str(plan["plannedKwh"])) >= 5 and Decimal(str(plan["unmetKwh"])) == 0, plan
    # 5 kWh at 0.10 per kWh; the last slot's current is rounded up to a whole 0.1 A.
    assert Decimal("0.5") <= Decimal(str(plan["cost"])) < Decimal("0.51"), plan


def smart_site(runner, site_id: str, evses: list[tuple[str, int]]):
    """Prices with a cheap half-hour two hours from now, and a static 32 A site planning on them; returns
    (now, start of the cheap slots, their end)."""
    now = now_utc()
    cheap_from = quarter(now) + timedelta(hours=2)
    cheap_until = cheap_from + timedelta(minutes=30)
    put_prices(runner, cheap_from, cheap_until)
    runner.api_ok("PUT", f"/sites/{site_id}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32},
        "mode": "static",
        "biddingZone": ZONE,
        "evses": [{"stationId": s, "evseId": 1, "maxA": max_a} for s, max_a in evses],
    })
    return now, cheap_from, cheap_until


def test_a_drivers_need_is_planned_into_the_cheap_quarter_hours(runner):
    site_id = unique("SMART")
    p0, p1, lone = unique("SC0"), unique("SC1"), unique("SCX")
    runner.create_station(p0, siteId=site_id)
    runner.create_station(p1, siteId=site_id)
    runner.create_station(lone)
    runner.create_token("SC-TAG")
    now, cheap_from, cheap_until = smart_site(runner, site_id, [(p0, 16), (p1, 32)])

    async def scenario():
        site = Site()
        a = await connect(runner, site, p0, "1.6")
        b = await connect(runner, site, p1, "2.0.1")
        await start(a, "SC-TAG")
        await start(b, "SC-TAG")
        await holds(a, Decimal(16), "car A at its fair share")
        await holds(b, Decimal(16), "car B at its fair share")
        session = runner.session_for(p0, a.transaction)["id"]
        departure = now + timedelta(hours=4)

        # Bad needs are refused and change nothing.
        path = f"/sessions/{session}/charging-need"
        for body, fragment in [
            ({"energyKwh": 5, "departureAt": iso(now - timedelta(minutes=5))}, "departureAt"),
            ({"energyKwh": 0, "departureAt": iso(departure)}, "energyKwh"),
            ({"targetSocPercent": 80, "departureAt": iso(departure)}, "batteryKwh"),
            ({"departureAt": iso(departure)}, "energyKwh"),
            ({"energyKwh": 5}, "departureAt"),
            ({"energyKwh": 5, "departureAt": iso(departure), "colour": "red"}, "colour"),
        ]:
            r = runner.api("PUT", path, body)
            assert_error(r, 400)
            assert fragment in r.json()["error"]["message"], (body, r.text)
        assert runner.api("GET", path).status_code == 404
        assert runner.api("GET", "/sessions/NOPE~1/charging-need").status_code == 404

        # Through a thread: the answer waits for the chargers to take their new limits.
        need = await asyncio.to_thread(runner.api_ok, "PUT", path,
                                       {"energyKwh": 5, "departureAt": iso(departure)})
        assert need["status"] == "planned" and need["source"] == "driver", need
        assert Decimal(str(need["remainingKwh"])) == 5
        check_plan(need["plan"], cheap_from, cheap_until)
        assert datetime.fromisoformat(need["plan"]["slots"][-1]["end"].replace("Z", "+00:00")) <= departure + timedelta(minutes=15)

        # Paused now, by its TxProfile; car B takes the whole fuse.
        await holds(a, Decimal(0), "car A paused until the cheap slots")
        await holds(b, Decimal(32), "car B gets what car A leaves")
        e = evse(runner, site_id, p0)
        assert e["state"] == "paused" and e["reason"]["kind"] == "paused", e
        assert e["reason"]["cause"]["kind"] == "planned", e
        assert "cheaper slots later" in e["explanation"]
        assert not site.violations, site.violations

        # The site's plan shows the same, slot by slot, with the prices.
        plan = runner.api_ok("GET", f"/sites/{site_id}/load/plan")
        assert plan["biddingZone"] == ZONE and plan["currency"] == "SEK" and plan["slotMinutes"] == 15
        (planned,) = plan["sessions"]
        assert planned["sessionId"] == session and len(planned["currentsA"]) == len(plan["slots"])
        i = next(i for i, s in enumerate(plan["slots"]) if s["start"] == iso(cheap_from).replace("+00:00", "Z")
                 or datetime.fromisoformat(s["start"].replace("Z", "+00:00")) == cheap_from)
        assert Decimal(str(planned["currentsA"][i])) == 16 and Decimal(str(planned["currentsA"][0])) == 0, planned
        assert Decimal(str(plan["slots"][i]["price"])) == CHEAP
        assert runner.api_ok("GET", path)["status"] == "planned"

        # A station on no balanced site has nobody to plan for it.
        lone_cp = await connect(runner, Site(), lone, "1.6")
        await start(lone_cp, "SC-TAG")
        lone_session = runner.session_for(lone, lone_cp.transaction)["id"]
        r = runner.api("PUT", f"/sessions/{lone_session}/charging-need",
                       {"energyKwh": 5, "departureAt": iso(departure)})
        assert_error(r, 409)

        # The driver changes their mind: charging at once again.
        assert (await asyncio.to_thread(runner.api, "DELETE", path)).status_code == 204
        await holds(b, Decimal(16), "car B back to its share")
        await holds(a, Decimal(16), "car A charges at once again")
        assert runner.api("GET", path).status_code == 404
        assert runner.api("DELETE", path).status_code == 404
        assert runner.api_ok("GET", f"/sites/{site_id}/load/plan")["sessions"] == []
        for cp in (a, b, lone_cp):
            cp.task.cancel()
            await cp.ws.close()
        return site

    site = run(scenario(), timeout=120)
    assert not site.violations, site.violations


def test_a_cars_own_need_over_iso_15118_is_planned(runner):
    site_id = unique("ISO")
    station, lone = unique("ISO0"), unique("ISOX")
    runner.create_station(station, siteId=site_id)
    runner.create_station(lone)
    runner.create_token("ISO-TAG")
    now, cheap_from, cheap_until = smart_site(runner, site_id, [(station, 32)])
    needs = {
        "requested_energy_transfer": "AC_three_phase",
        "departure_time": iso(now + timedelta(hours=4)),
        # The car's on-board charger takes 16 A per phase: 5 kWh in two quarter-hours.
        "ac_charging_parameters": {"energy_amount": 5000, "ev_min_current": 6, "ev_max_current": 16,
                                   "ev_max_voltage": 400},
    }

    async def scenario():
        site = Site()
        cp = await connect(runner, site, station, "2.0.1")
        await start(cp, "ISO-TAG")
        await holds(cp, Decimal(32), "the only car takes the fuse")
        r = await cp.send(call201.NotifyEVChargingNeeds(charging_needs=needs, evse_id=1))
        assert r.status == "Accepted", r
        await holds(cp, Decimal(0), "paused until the cheap slots")
        session = runner.session_for(station, cp.transaction)["id"]
        # The balancer writes its state once the charger has answered: read it after.
        need = await asyncio.to_thread(
            poll, lambda: (n := runner.api_ok("GET", f"/sessions/{session}/charging-need"))["status"] == "planned"
            and n, timeout=15, what="the car's need planned")
        assert need["source"] == "iso15118", need
        assert Decimal(str(need["energyKwh"])) == 5
        check_plan(need["plan"], cheap_from, cheap_until)
        # The car's own limit shapes the plan: never above its 16 A.
        assert max(Decimal(str(s["currentA"])) for s in need["plan"]["slots"]) == 16

        # Where nothing plans, the station is told so and the car charges without a schedule.
        other = await connect(runner, Site(), lone, "2.0.1")
        await start(other, "ISO-TAG")
        r = await other.send(call201.NotifyEVChargingNeeds(charging_needs=needs, evse_id=1))
        assert r.status == "Rejected", r
        for c in (cp, other):
            c.task.cancel()
            await c.ws.close()
        return site

    site = run(scenario(), timeout=90)
    assert not site.violations, site.violations


async def car_draws(cp, l1: str, l2: str = "0", l3: str = "0"):
    """A 1.6 car reports what it draws per phase."""
    sampled = [{"value": v, "measurand": "Current.Import", "phase": p, "unit": "A"}
               for p, v in (("L1", l1), ("L2", l2), ("L3", l3))]
    await cp.send(call16.MeterValues(connector_id=1, transaction_id=int(cp.transaction),
                                     meter_value=[{"timestamp": iso(now_utc()), "sampled_value": sampled}]))


def test_pv_surplus_charging_switches_between_three_phases_and_one(runner):
    """A car on solar surplus alone: the grid meter's export (negative readings) plus what the car already
    takes is its budget; below 6 A on three phases (≈ 4.1 kW, less 300 W hysteresis) it goes to one phase,
    and it does not switch back within five minutes however the sun comes out."""
    site_id = unique("PV")
    station = unique("PV0")
    runner.create_station(station, siteId=site_id)
    runner.create_token("PV-TAG")
    bad = runner.api("PUT", f"/sites/{site_id}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32}, "mode": "static",
        "evses": [{"stationId": station, "evseId": 1, "maxA": 16, "pvSurplus": True}]})
    assert_error(bad, 400)
    assert "pvSurplus" in bad.json()["error"]["message"]
    bad = runner.api("PUT", f"/sites/{site_id}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32}, "mode": "dynamic", "meter": {},
        "evses": [{"stationId": station, "evseId": 1, "maxA": 16, "phases": 1, "phaseSwitching": True}]})
    assert_error(bad, 400)
    assert "phaseSwitching" in bad.json()["error"]["message"]
    runner.api_ok("PUT", f"/sites/{site_id}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32}, "mode": "dynamic", "meter": {},
        "evses": [{"stationId": station, "evseId": 1, "maxA": 16, "pvSurplus": True, "phaseSwitching": True}]})

    def meter(amps: str):
        return runner.api_ok("POST", f"/sites/{site_id}/load/meter", {"l1": amps, "l2": amps, "l3": amps})

    async def gets(cp, limit: str, phases: int, what: str):
        await asyncio.to_thread(poll, lambda: cp.tx_limit() == Decimal(limit) and cp.phases == phases,
                                timeout=15, what=what)

    async def scenario():
        site = Site()
        cp = await connect(runner, site, station, "1.6")
        await start(cp, "PV-TAG")
        # The building exports 8 A per phase: 5520 W → 8 A on three phases.
        await asyncio.to_thread(meter, "-8")
        await gets(cp, "8", 3, "8 A on three phases from 5.5 kW of surplus")
        # A cloud: the car takes its 8 A, yet the meter shows 3 A imported per phase. Surplus
        # 5520 − 2070 = 3450 W: one phase at 15 A.
        await car_draws(cp, "8", "8", "8")
        await asyncio.to_thread(meter, "3")
        await gets(cp, "15", 1, "15 A on one phase from 3.45 kW")
        # The balancer writes its state once the charger has answered: read it after.
        await asyncio.to_thread(poll, lambda: (e := evse(runner, site_id, station))["reason"]["kind"] == "pvSurplus"
                                and e["phases"] == 1 and e["profile"]["status"] == "accepted",
                                timeout=15, what="allocation shows PV surplus on one phase")
        # The sun is back (6.9 kW): more current, but no switch back to three phases within five minutes.
        await car_draws(cp, "15")
        await asyncio.to_thread(meter, "-5")
        await gets(cp, "16", 1, "16 A (its maximum), still one phase")
        # Heavy clouds: the house imports 14 A per phase; the car's 15 A cannot make up for it. Paused.
        await asyncio.to_thread(meter, "14")
        await gets(cp, "0", 1, "paused without surplus")
        await asyncio.to_thread(poll, lambda: (e := evse(runner, site_id, station))["state"] == "paused"
                                and e["reason"]["kind"] == "paused" and e["reason"]["cause"]["kind"] == "pvSurplus",
                                timeout=15, what="allocation shows the pause for want of surplus")
        cp.task.cancel()
        await cp.ws.close()
        return site

    site = run(scenario(), timeout=90)
    assert not site.violations, site.violations
