"""Issue 20, the portal's load-balancing pages in a real browser (Debian's Chromium through Playwright, axe-core on
every page, screenshots in the test log directory; the browser and the visit come from test_portal.py).

Organisation A has a site with load balancing set through the API (a 25 A main fuse, a board of 20 A, two EVSEs of one
OCPP 1.6 charger with their own limits and priorities) and the charger connected with a session running on EVSE 1.
Its viewer finds the site in the list, and its page shows the set-up as configured, and each EVSE's limit as the API's
GET /sites/{id}/load/allocation says, with the chargers' total against the fuse; the live part answers on its own.
There is no plan until the session gives a need (the page says so); then the plan shows against the spot prices. A driver gets a 403 page; organisation B's
load-balanced site is a 404 page."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16

from csms_e2e import boot_accepted, connect_ws, iso, now_utc, poll, quote, unique
from test_portal import PASSWORD, ChargerThread, PortalCharger, Visit, browser  # noqa: F401  (a fixture)


class BalancedCharger(PortalCharger):
    """Accepts the balancer's charging profiles."""

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, **kw):
        return result16.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **kw):
        return result16.ClearChargingProfile(status="Accepted")


class Charger(ChargerThread):
    """The portal tests' charger thread with a charger that takes profiles."""

    async def _connect(self):
        self.ws = await connect_ws(self.runner.ws_url(self.station_id), ["ocpp1.6"])
        self.cp = BalancedCharger(self.station_id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())
        await boot_accepted(self.cp, "1.6", model="Portal")


STOCKHOLM = ZoneInfo("Europe/Stockholm")


def put_spot_prices(runner, zone: str):
    """Quarter-hour spot prices for the local days around now: 0.20 to 0.90 per kWh in a repeating two hours."""
    today = datetime.now(STOCKHOLM).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        nxt = day + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM).astimezone(timezone.utc)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=STOCKHOLM).astimezone(timezone.utc)
        slots = int((end - start).total_seconds() // 900)
        prices = [f"{(i % 8 + 2) / 10:.2f}" for i in range(slots)]
        runner.api_ok("PUT", f"/spot-prices/{zone}/{day.isoformat()}", {"resolutionMinutes": 15, "prices": prices})


def amps_sv(value) -> str:
    """Amperes as the Swedish page writes them: `16 A`, `10,5 A`."""
    d = Decimal(str(value)).normalize()
    text = format(d, "f").replace(".", ",")
    return f"{text} A"


@pytest.fixture(scope="module")
def world(runner):
    site = unique("lastplats").lower()
    station = unique("LOAD")
    runner.create_station(station, name="Carporten", siteId=site)
    runner.api_ok("PUT", f"/sites/{site}/load", {
        "gridFuseA": {"l1": 25, "l2": 25, "l3": 25}, "mode": "static", "biddingZone": "SE4",
        "boards": [{"id": "carport", "fuseA": {"l1": 20, "l2": 20, "l3": 20}}],
        "evses": [{"stationId": station, "evseId": 1, "board": "carport", "maxA": 16, "minA": 6, "priority": 5},
                  {"stationId": station, "evseId": 2, "board": "carport", "maxA": 11, "priority": 1}],
    })
    people = {}
    for role in ("viewer", "driver"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Last {role}",
                                                         "password": PASSWORD, "role": role}, status=201)
        people[role]["password"] = PASSWORD
    put_spot_prices(runner, "SE4")
    tag = unique("LTAG")[:20]
    runner.create_token(tag)
    org_b = runner.create_organisation("lastb")
    site_b = unique("bplats").lower()
    station_b = unique("BLOAD")
    b = {"X-Organisation": org_b}
    runner.ensure_site(site_b, headers=b)
    runner.api_ok("POST", "/stations", {"id": station_b, "siteId": site_b}, status=201, headers=b)
    runner.api_ok("PUT", f"/sites/{site_b}/load", {"gridFuseA": {"l1": 40, "l2": 40, "l3": 40}, "mode": "static",
                                                   "evses": [{"stationId": station_b, "evseId": 1, "maxA": 32}]},
                  headers=b)
    ch = Charger(runner, station)
    try:
        ch.status(1, "Available")
        ch.status(2, "Available")
        started = ch.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0,
                                                  timestamp=iso(now_utc())))
        ch.status(1, "Charging")
        assert started.id_tag_info["status"] == "Accepted", started

        def allocated():
            a = runner.api_ok("GET", f"/sites/{site}/load/allocation")
            e1 = next(e for e in a["evses"] if e["evseId"] == 1)
            return a if e1.get("currentA") is not None and e1["transactionId"] else None

        poll(allocated, timeout=15, what="EVSE 1's allocation")
        session = runner.session_for(station, started.transaction_id)["id"]
        yield {"site": site, "station": station, "people": people, "site_b": site_b, "session": session}
    finally:
        ch.close()


def test_a_viewer_sees_the_set_up_the_allocation_and_no_plan(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "viewer-load", world["people"]["viewer"])
    site, station = world["site"], world["station"]
    try:
        v.switch_to("sv")
        v.goto("/portal/load")
        assert v.page.locator("header nav a[href='/portal/load']").count() == 1
        v.page.click(f"main a[href='/portal/load/{quote(site)}']")
        v.page.wait_for_load_state()
        assert v.page.url.endswith(f"/portal/load/{quote(site)}"), v.page.url
        # The set-up as configured: fuses per phase, the board, each EVSE's limits and priority.
        fuse = v.page.inner_text("#fuse")
        assert "Huvudsäkring" in fuse and "25 A" in fuse and "Central carport" in fuse and "20 A" in fuse, fuse
        evses = v.page.locator("#evses tbody tr")
        assert evses.count() == 2
        first = evses.nth(0).inner_text()
        assert station in first and "16 A" in first and "6 A" in first and "5" in first, first
        assert "11 A" in evses.nth(1).inner_text()

        # Each EVSE's limit as the API's allocation has it (read again: the page shows the state of now).
        a = runner.api_ok("GET", f"/sites/{site}/load/allocation")
        for e in a["evses"]:
            cell = v.page.inner_text(f"#allocations tr[data-evse='{station}/{e['evseId']}'] td.limit")
            limit = e["currentA"] if e.get("currentA") is not None else (e.get("defaultProfile") or {}).get("limitA")
            assert limit is not None and cell.startswith(amps_sv(limit)), (cell, e)
        e1 = next(e for e in a["evses"] if e["evseId"] == 1)
        assert Decimal(str(e1["currentA"])) > 0, e1
        total = v.page.inner_text("#total")
        assert amps_sv(a["allocatedA"]["l1"]) in total and "25 A" in total, total
        # No session gave a need: no plan, and the page says so.
        assert "Ingen plan" in v.page.inner_text("main")
        v.check("load-site")

        # The driver's need is planned into the cheap quarter-hours: the page shows the plan against the prices.
        need = runner.api_ok("PUT", f"/sessions/{world['session']}/charging-need",
                             {"energyKwh": 5, "departureAt": iso(now_utc() + timedelta(hours=3))})
        assert need["status"] == "planned", need
        plan = runner.api_ok("GET", f"/sites/{site}/load/plan")
        assert plan["slots"] and plan["sessions"], plan
        v.goto(f"/portal/load/{quote(site)}")
        assert v.page.locator("figure#plan-prices rect.chart-bar").count() == len(plan["slots"])
        assert v.page.locator("figure#plan-amps rect.chart-bar").count() == len(plan["slots"])
        planned = v.page.inner_text("#plan-sessions tbody")
        assert station in planned and "5,0 kWh" in planned, planned
        assert "Ingen plan" not in v.page.inner_text("main")
        v.check("load-plan")

        # The live part alone, as htmx fetches it every few seconds.
        r = v.page.request.get(f"{runner.base_url}/portal/live/load/{quote(site)}")
        assert r.status == 200 and 'id="allocation"' in r.text() and "<html" not in r.text(), r.text()[:300]

        v.switch_to("en")
        main = v.page.inner_text("main")
        assert "Allocation now" in main and "Main fuse" in main and "Planned sessions" in main, main
        v.check("load-site")
        v.goto("/portal/load")
        row = v.page.locator(f"main tr:has(a[href='/portal/load/{quote(site)}'])").inner_text()
        assert f"Site {site}" in row and "25 / 25 / 25 A" in row and "Static" in row, row
        assert world["site_b"] not in v.page.inner_text("main")
        v.check("load")

        # Organisation B's load-balanced site is not found, page and live part alike.
        v.goto(f"/portal/load/{quote(world['site_b'])}", 404)
        v.check("load-of-another")
        r = v.page.request.get(f"{runner.base_url}/portal/live/load/{quote(world['site_b'])}")
        assert r.status == 404, r.status
    finally:
        v.close()


def test_a_driver_may_not_see_load_balancing(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "driver-load", world["people"]["driver"])
    try:
        v.goto("/portal/load", 403)
        assert v.page.locator("header nav a[href='/portal/load']").count() == 0
        v.goto(f"/portal/load/{quote(world['site'])}", 403)
    finally:
        v.close()
