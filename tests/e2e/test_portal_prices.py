"""Issue 20, the portal's prices pages in a real browser (Debian's Chromium through Playwright, axe-core on every page,
screenshots in the test log directory; the browser and the visit come from test_portal.py).

Organisation A has a site in bidding zone SE3 with a station, a tariff assigned to that station, and today's SE3 spot
prices stored by the platform's admin. Its admin reads the tariffs, sees what a driver pays at the station now and why,
sees today's spot prices as bars per hour, and changes the energy price on the tariff's page: a value that is no
number is refused naming the field and nothing is written; a good one is a new version that the page and the API's
GET /tariffs/{id} show. A viewer reads the page without the form, and a forged change with their own CSRF token is a
403. Organisation B's tariff is a 404 page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from csms_e2e import quote, unique
from test_portal import PASSWORD, Visit, browser  # noqa: F401  (browser is a fixture)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def hours_of(day) -> int:
    """How many hours the local day has in Stockholm (23 or 25 on the days the clocks change)."""
    start = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM)
    end = start + timedelta(days=1)
    end = datetime(end.year, end.month, end.day, tzinfo=STOCKHOLM)
    return int((end.astimezone(ZoneInfo("UTC")) - start.astimezone(ZoneInfo("UTC"))).total_seconds() // 3600)


@pytest.fixture(scope="module")
def world(runner):
    site = unique("prisplats").lower()
    runner.ensure_site(site)
    runner.api_ok("PATCH", f"/sites/{site}", {"biddingZone": "SE3"})
    station = unique("PRICES")
    runner.create_station(station, name="Parkeringen", siteId=site)
    people = {}
    for role in ("orgAdmin", "viewer"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Pris {role}",
                                                         "password": PASSWORD, "role": role}, status=201)
        people[role]["password"] = PASSWORD
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Publik laddning", "currency": "SEK", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "3.50"}},
                        {"type": "sessionFee", "price": "5"},
                        {"type": "idle", "price": "2", "per": "minute", "graceMinutes": 30}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"],
                                                  "target": {"kind": "station", "id": station}}, status=201)
    today = datetime.now(STOCKHOLM).date()
    hours = hours_of(today)
    # 0.10, 0.20, … per kWh: the 18th hour is the day's highest at 1.80 (and the chart says so).
    prices = [f"{(h % 18 + 1) / 10:.2f}" for h in range(hours)]
    runner.api_ok("PUT", f"/spot-prices/SE3/{today.isoformat()}", {"resolutionMinutes": 60, "prices": prices})
    org_b = runner.create_organisation("prisb")
    tariff_b = runner.api_ok("POST", "/tariffs", {"name": "B:s tariff", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "9.99"}}]}]}, status=201,
        headers={"X-Organisation": org_b})
    return {"station": station, "people": people, "tariff": tariff, "tariff_b": tariff_b, "org_b": org_b,
            "today": today}


def test_an_org_admin_sees_the_prices_and_changes_one(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "admin-prices", world["people"]["orgAdmin"])
    tariff = world["tariff"]
    try:
        v.switch_to("sv")
        v.goto("/portal/prices")
        assert v.page.locator("header nav a[href='/portal/prices']").count() == 1
        main = v.page.inner_text("main")
        assert "Publik laddning" in main and "3,50 kr per kWh" in main, main
        assert f"station {world['station']}, alla förare" in main, main
        # Today's spot prices as one bar per hour, said in words for screen readers too.
        chart = v.page.locator(f"figure#spot-se3-{world['today'].isoformat()}")
        assert chart.locator("rect.chart-bar").count() == hours_of(world["today"])
        assert "Högst: 1,8000 kr/kWh (17)" in chart.locator("desc").text_content()
        v.check("prices")

        # What a driver pays at the station now, and why.
        v.page.select_option("#station", world["station"])
        v.page.click("main form[action='/portal/prices'] button[type=submit]")
        v.page.wait_for_load_state()
        preview = v.page.inner_text("#preview-result >> xpath=..")
        assert "Tariffen Publik laddning (version 1)" in preview, preview
        assert "3,50 kr per kWh" in preview and "4,375 kr per kWh" in preview, preview
        assert "5,00 kr per laddning" in preview and "6,25 kr per laddning" in preview, preview
        assert f"station {world['station']}, alla förare: tilldelad tariff" in preview, preview
        v.check("prices-preview")

        # The tariff's page: a bad value is refused naming the field, and nothing is written.
        v.page.click(f"main a[href='/portal/prices/{tariff['id']}']")
        v.page.wait_for_load_state()
        field = "input[name='elements[0].components[0].price.perKwh']"
        assert v.page.input_value(field) == "3,50"
        v.page.fill(field, "fyra")
        v.page.click("main form[method=post] button[type=submit]")
        v.page.wait_for_load_state()
        alert = v.page.inner_text("[role=alert]")
        assert alert.startswith('Energipris per kWh: "fyra" is not a decimal number'), alert
        assert v.page.get_attribute(field, "aria-invalid") == "true"
        v.check("tariff-refused")
        assert runner.api_ok("GET", f"/tariffs/{tariff['id']}")["version"] == 1

        # A good value (with the Swedish decimal comma): version 2, on the page and in the API.
        v.page.fill(field, "4,25")
        v.page.click("main form[method=post] button[type=submit]")
        v.page.wait_for_load_state()
        assert v.page.url.endswith(f"/portal/prices/{tariff['id']}?saved=2"), v.page.url
        main = v.page.inner_text("main")
        assert "Sparat som version 2." in main and "4,25 kr per kWh" in main, main
        rows = v.page.locator("main table").last.locator("tbody tr")
        assert rows.count() == 2 and "3,50 kr per kWh" in rows.nth(1).inner_text()
        stored = runner.api_ok("GET", f"/tariffs/{tariff['id']}")
        assert stored["version"] == 2
        assert stored["elements"][0]["components"][0]["price"] == {"kind": "fixed", "perKwh": "4.25"}
        # The rest of the tariff is as it was.
        assert stored["elements"][0]["components"][2] == {"type": "idle", "price": "2", "per": "minute",
                                                          "graceMinutes": 30}
        # A form left open at version 1 while version 2 was saved is refused, not written over.
        r = v.page.request.post(f"{runner.base_url}/portal/prices/{tariff['id']}",
                                form={"csrf": v.csrf(), "version": "1",
                                      "elements[0].components[0].price.perKwh": "1"}, max_redirects=0)
        assert r.status == 412, r.status
        assert runner.api_ok("GET", f"/tariffs/{tariff['id']}")["version"] == 2
        audit = runner.api_ok("GET", "/audit-log", params={"limit": 50})["items"]
        assert any(e["operation"] == "POST /portal/prices/{id}" for e in audit), audit[:5]

        v.switch_to("en")
        main = v.page.inner_text("main")
        assert "SEK 4.25 per kWh" in main and "Save a new version" in main, main
        v.check("tariff")
        v.goto("/portal/prices")
        assert "Spot price SE3 today" in v.page.inner_text("main")
        v.check("prices")

        # Organisation B's tariff is not found.
        v.goto(f"/portal/prices/{quote(world['tariff_b']['id'])}", 404)
        v.check("tariff-of-another")
        r = v.page.request.post(f"{runner.base_url}/portal/prices/{quote(world['tariff_b']['id'])}",
                                form={"csrf": v.csrf(), "version": "1",
                                      "elements[0].components[0].price.perKwh": "0"}, max_redirects=0)
        assert r.status == 404, r.status
    finally:
        v.close()
    # Nothing of B's was written.
    b = runner.api_ok("GET", f"/tariffs/{world['tariff_b']['id']}", headers={"X-Organisation": world["org_b"]})
    assert b["version"] == 1, b

def test_a_viewer_reads_the_prices_but_cannot_change_them(runner, world, browser):  # noqa: F811
    tariff = world["tariff"]
    v = Visit(browser, runner, "viewer-prices", world["people"]["viewer"])
    try:
        v.switch_to("sv")
        v.goto(f"/portal/prices/{tariff['id']}")
        assert "Publik laddning" in v.page.inner_text("main h1")
        assert v.page.locator("main form[method=post]").count() == 0
        v.check("tariff")
        before = runner.api_ok("GET", f"/tariffs/{tariff['id']}")["version"]
        r = v.page.request.post(f"{runner.base_url}/portal/prices/{tariff['id']}",
                                form={"csrf": v.csrf(), "version": str(before),
                                      "elements[0].components[0].price.perKwh": "0.01"}, max_redirects=0)
        assert r.status == 403, r.status
        assert runner.api_ok("GET", f"/tariffs/{tariff['id']}")["version"] == before
    finally:
        v.close()
