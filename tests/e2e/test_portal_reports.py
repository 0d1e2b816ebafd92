"""Issues 19 and 20, the portal's reports page in a real browser: a 1.6 charger of the organisation runs two priced
sessions this month and a driver rates one; a viewer (a role that reads the organisation) opens
`/portal/reports` for this month and sees the same sessions, energy, revenue, peak power and faults as the API's
`GET /reports/usage` JSON for the same query, the bar charts, the hours of the week and the station's rating; the
CSV and XLSX download links serve the API's files; a bad period is a 400 page naming `period`, another
organisation's site a 404 page, and a driver gets a 403 page. axe-core finds no serious violation; screenshots go to
the test log directory."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from ocpp.v16 import call

from csms_e2e import charger, poll, quote, run, unique
from test_me import Driver
from test_portal import Visit, browser  # noqa: F401 (the browser fixture)
from test_reports import session, status

PASSWORD = "reports-page-123"
STATION_PASSWORD = "reports-station-pass-1"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def sv(d: Decimal, places: int) -> str:
    """A number as the Swedish page writes it: `1 234,50`."""
    return f"{d:,.{places}f}".replace(",", " ").replace(".", ",")


def en(d: Decimal, places: int) -> str:
    return f"{d:,.{places}f}"


@pytest.fixture(scope="module")
def world(runner):
    """The default organisation's site and station with a tariff, two priced sessions of a driver's card this
    month (one rated 4 stars), a viewer and the driver; another organisation with a site."""
    site = unique("garage").lower()
    runner.ensure_site(site)
    station = unique("CP-RPAGE")
    runner.create_station(station, password=STATION_PASSWORD, siteId=site)
    people = {}
    for role in ("viewer", "driver"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Test {role}", "password": PASSWORD,
                                                         "role": role}, status=201)
        people[role]["password"] = PASSWORD
    tag = unique("TAG-RP")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": tag, "type": "ISO14443", "status": "Accepted",
                                         "userId": people["driver"]["id"]}, status=201)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Flat", "elements": [{"components": [
        {"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}},
        {"type": "sessionFee", "price": "5"}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201)

    async def drive():
        async with charger(runner, station, "1.6", password=STATION_PASSWORD) as cp:
            await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Report-16"))
            await cp.send(status(1, "Available"))
            await session(cp, tag, 10_000, 6_000, 1.0)
            await session(cp, tag, 16_000, 2_500, 0.5)

    run(drive())
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    query = {"period": month, "groupBy": "station"}
    # The prices reach the report through the event bus right after they are written.
    poll(lambda: len(runner.api_ok("GET", "/reports/usage", params=query)["total"]["revenue"]) > 0 or None,
         timeout=10, what="revenue in the report")
    driver = Driver(runner, people["driver"]["email"], PASSWORD)
    mine = poll(lambda: driver.get("/me/sessions").json()["items"] or None, what="the driver's sessions")
    rated = driver.put(f"/me/sessions/{quote(mine[0]['id'])}/rating", {"stars": 4})
    assert rated.status_code == 201, rated.text
    org_b = runner.create_organisation("rep-b")
    site_b = unique("b-site").lower()
    runner.ensure_site(site_b, headers={"X-Organisation": org_b})
    return {"site": site, "station": station, "people": people, "month": month, "query": query,
            "site_b": site_b}


def cells(v: Visit, table: str) -> dict[str, list[str]]:
    """A table's rows by their heading cell: the other cells' text."""
    out = {}
    for row in v.page.locator(f"#{table} tbody tr").all():
        out[row.locator("th").inner_text().strip()] = [c.strip() for c in row.locator("td").all_inner_texts()]
    return out


def test_a_viewer_sees_the_apis_figures_and_downloads_its_files(runner, world, browser):  # noqa: F811
    api = runner.api_ok("GET", "/reports/usage", params=world["query"])
    total = api["total"]
    assert total["sessions"] == 2 and Decimal(total["energyKwh"]) == Decimal("8.5"), total
    [revenue] = total["revenue"]
    station = world["station"]
    v = Visit(browser, runner, "viewer-reports", world["people"]["viewer"])
    try:
        v.switch_to("sv")
        v.goto(f"/portal/reports?period={world['month']}&groupBy=station")
        assert v.page.locator("header nav a[href='/portal/reports']").count() == 1
        totals = cells(v, "totals-table")
        assert totals["Laddningar"][0] == str(total["sessions"]), totals
        assert totals["Energi"][0] == f"{sv(Decimal(total['energyKwh']), 2)} kWh", totals
        assert totals["Intäkt exkl. moms"][0] == f"{sv(Decimal(revenue['net']), 2)} kr", totals
        assert totals["Moms"][0] == f"{sv(Decimal(revenue['vat']), 2)} kr", totals
        assert totals["Intäkt inkl. moms"][0] == f"{sv(Decimal(revenue['gross']), 2)} kr", totals
        assert totals["Högsta effekt"][0] == f"{sv(Decimal(total['peakPowerKw']), 1)} kW", totals
        assert totals["Fel"][0] == str(total["faults"]), totals
        # Nothing last month: the change of the sessions has no per cent.
        assert totals["Laddningar"][1:] == ["0", "+2"], totals
        rows = cells(v, "rows-table")
        [row] = api["rows"]
        assert list(rows) == [row["stationId"]] == [station], rows
        assert rows[station][:3] == [str(row["sessions"]), f"{sv(Decimal(row['energyKwh']), 2)} kWh",
                                     f"{sv(Decimal(row['revenue'][0]['gross']), 2)} kr"], rows
        # The charts: one bar per group, the figures again in their tables.
        assert v.page.locator("#energy-chart rect").count() == 1
        assert v.page.locator("#revenue-chart-0 rect").count() == 1
        assert v.page.locator("table.heat tbody td").count() == 168
        assert cells(v, "ratings-table")[station] == ["1", "4,00"]
        v.check("reports")

        # The downloads: the API's CSV and XLSX of the same query.
        csv_href = v.page.get_attribute("a[href^='/portal/reports/usage.csv']", "href")
        r = v.page.request.get(f"{runner.base_url}{csv_href}")
        assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r.status
        assert f"usage-{world['month']}-01-" in r.headers["content-disposition"]
        lines = list(csv.DictReader(io.StringIO(r.text())))
        assert [l["row"] for l in lines] == ["group", "total", "previousTotal"], lines
        assert (lines[0]["stationId"], lines[0]["sessions"]) == (station, "2"), lines[0]
        assert Decimal(lines[1]["revenueGrossSEK"]) == Decimal(revenue["gross"]), lines[1]
        xlsx_href = v.page.get_attribute("a[href^='/portal/reports/usage.xlsx']", "href")
        r = v.page.request.get(f"{runner.base_url}{xlsx_href}")
        assert r.status == 200, r.status
        book = openpyxl.load_workbook(io.BytesIO(r.body()))
        assert book.sheetnames == ["By station", "By site", "By evse", "By month", "Change", "Hours of week"]
        head, first = list(book["By station"].iter_rows(values_only=True))[:2]
        by_station = dict(zip(head, first))
        assert (by_station["stationId"], by_station["sessions"]) == (station, 2), by_station
        assert Decimal(str(by_station["energyKwh"])) == Decimal(total["energyKwh"])

        # By site, one site's row named by the site's name; in English the locale's numbers.
        v.page.select_option("#groupBy", "site")
        v.page.select_option("#siteId", world["site"])
        v.page.click("form.filter button[type=submit]")
        v.page.wait_for_load_state()
        assert f"siteId={world['site']}" in v.page.url and "groupBy=site" in v.page.url, v.page.url
        assert list(cells(v, "rows-table")) == [f"Site {world['site']}"]
        v.switch_to("en")
        totals = cells(v, "totals-table")
        assert totals["Energy"][0] == f"{en(Decimal(total['energyKwh']), 2)} kWh", totals
        assert totals["Revenue incl. VAT"][0] == f"SEK {en(Decimal(revenue['gross']), 2)}", totals
        v.check("reports-by-site")

        # A bad month is the page's 400 naming the field; another organisation's site is not found.
        v.goto("/portal/reports?period=2026-13", 400)
        assert "period" in v.page.inner_text("main")
        v.check("reports-bad-period")
        v.goto(f"/portal/reports?siteId={world['site_b']}", 404)
        v.goto(f"/portal/reports/usage.csv?siteId={world['site_b']}", 404)
    finally:
        v.close()


def test_a_driver_cannot_reach_the_reports(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "driver-reports", world["people"]["driver"])
    try:
        v.goto("/portal/reports", 403)
        assert v.page.locator("header nav a[href='/portal/reports']").count() == 0
        r = v.page.request.get(f"{runner.base_url}/portal/reports/usage.xlsx?period={world['month']}")
        assert r.status == 403, r.status
    finally:
        v.close()
