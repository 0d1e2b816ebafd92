"""Issue 20, the portal's sessions pages in real Chromium (Playwright over Debian's chromium, axe-core on every page,
screenshots to the test log directory like test_portal.py).

An OCPP 1.6 charger of organisation A charges one session with power readings and a tariff (priced on its end) and
keeps a second one running; organisation B's charger charges one of its own. The admin lists A's sessions (B's is not
there), narrows the list by status and by identifier, downloads the selection as CSV (the API's export), opens the
priced session (the meter curve as an SVG chart, the itemised price with net, VAT and gross, in both languages) and
the running one (not priced yet); B's session is a 404 page, a bad date a 400 naming the field. A driver reaches
none of it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from ocpp.v16 import call as call16

from csms_e2e import iso, now_utc, poll, quote, unique
# The browser, the signed-in visit with axe-core and screenshots, and the threaded charger are test_portal's.
from test_portal import PASSWORD, ChargerThread, Visit, browser  # noqa: F401  (browser is a fixture)


def sv_money(amount: str) -> str:
    """An API amount ("18.75") as the Swedish page shows it (under a thousand)."""
    return f"{Decimal(amount):.2f}".replace(".", ",") + " kr"


def charge(ch: ChargerThread, connector: int, tag: str, *, stop: bool, power: list[int] = (), ago: int = 20) -> str:
    """A transaction on `connector` begun `ago` minutes ago with power readings a minute apart; ended if `stop`."""
    begun = now_utc() - timedelta(minutes=ago)
    started = ch.send(call16.StartTransaction(connector_id=connector, id_tag=tag, meter_start=1000,
                                              timestamp=iso(begun)))
    assert started.id_tag_info["status"] == "Accepted", started
    tx = started.transaction_id
    for i, w in enumerate(power):
        ch.send(call16.MeterValues(connector_id=connector, transaction_id=tx, meter_value=[{
            "timestamp": iso(begun + timedelta(minutes=i + 1)),
            "sampled_value": [{"value": str(w), "measurand": "Power.Active.Import", "unit": "W"},
                              {"value": str(1000 + 1000 * (i + 1)), "measurand": "Energy.Active.Import.Register",
                               "unit": "Wh"}]}]))
    if stop:
        ch.send(call16.StopTransaction(transaction_id=tx, meter_stop=8500, timestamp=iso(begun + timedelta(minutes=15)),
                                       id_tag=tag))
    return f"{ch.station_id}~{tx}"


@pytest.fixture(scope="module")
def world(runner):
    """Organisation A: a station with a tariff, an admin and a driver, one priced session (7.5 kWh) and one running;
    organisation B: a station with a session of its own."""
    station = unique("SESS")
    runner.create_station(station, name="Parkeringen")
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Två kronor", "elements": [{"components": [
        {"type": "energy", "price": {"kind": "fixed", "perKwh": "2.00"}},
        {"type": "sessionFee", "price": "5"}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201)
    people = {}
    for role in ("orgAdmin", "driver"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Test {role}", "password": PASSWORD,
                                                         "role": role}, status=201)
        people[role]["password"] = PASSWORD
    ended_tag, running_tag = unique("ENDED")[:20], unique("RUNNING")[:20]
    for tag in (ended_tag, running_tag):
        runner.create_token(tag)

    org_b = runner.create_organisation("orgb")
    b = {"X-Organisation": org_b}
    station_b = unique("BSESS")
    runner.api_ok("POST", "/stations", {"id": station_b, "name": "B:s station"}, status=201, headers=b)
    tag_b = unique("BTAG")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": tag_b, "type": "ISO14443", "status": "Accepted"}, status=201,
                  headers=b)

    ch = ChargerThread(runner, station)
    try:
        ended = charge(ch, 1, ended_tag, stop=True, power=[7400, 11000, 3700])
        running = charge(ch, 2, running_tag, stop=False, power=[3600], ago=10)
    finally:
        ch.close()
    ch_b = ChargerThread(runner, station_b)
    try:
        ended_b = charge(ch_b, 1, tag_b, stop=True)
    finally:
        ch_b.close()
    assert runner.api_ok("GET", f"/sessions/{quote(ended_b)}", headers=b)["status"] == "completed"
    price = poll(lambda: (r := runner.api("GET", f"/sessions/{quote(ended)}/price")).ok and r.json(),
                 timeout=10, what="the session's price")
    return {"station": station, "station_b": station_b, "people": people, "ended": ended, "running": running,
            "ended_b": ended_b, "ended_tag": ended_tag, "running_tag": running_tag, "price": price}


def rows(v: Visit) -> list[str]:
    return v.page.locator("main table tbody tr").all_inner_texts()


def test_an_admin_lists_filters_downloads_and_opens_sessions(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "admin-sessions", world["people"]["orgAdmin"])
    ended, running, price = world["ended"], world["running"], world["price"]
    try:
        v.switch_to("sv")
        v.goto("/portal/sessions")
        assert v.page.locator("header nav a[href='/portal/sessions']").count() == 1
        listed = "\n".join(rows(v))
        assert world["ended_tag"] in listed and world["running_tag"] in listed, listed
        assert world["station_b"] not in v.page.inner_text("main")
        # Newest first: the running session began after the ended one.
        assert world["running_tag"] in rows(v)[0], rows(v)
        v.check("sessions")

        # Filter by status through the form: only the ended session.
        v.page.select_option("#status", "completed")
        v.page.click("form.filter button[type=submit]")
        v.page.wait_for_load_state()
        assert "status=completed" in v.page.url, v.page.url
        shown = rows(v)
        assert len(shown) == 1 and world["ended_tag"] in shown[0], shown
        # The CSV of the same selection, through the API's export.
        with v.page.expect_download() as dl:
            v.page.click("a[href^='/portal/sessions/export']")
        csv = open(dl.value.path(), encoding="utf-8").read().splitlines()
        assert csv[0].startswith("id,stationId,"), csv[:2]
        assert len(csv) == 2 and csv[1].startswith(f"{ended},") and world["ended_tag"] in csv[1], csv

        # By identifier (any case) and status together: nothing; by identifier alone: the running one.
        v.goto(f"/portal/sessions?idToken={world['running_tag'].lower()}&status=completed")
        assert v.page.locator("main table").count() == 0 and v.page.locator("main p.empty").count() == 1
        v.page.select_option("#status", "")
        v.page.click("form.filter button[type=submit]")
        v.page.wait_for_load_state()
        shown = rows(v)
        assert len(shown) == 1 and world["running_tag"] in shown[0], shown
        v.check("sessions-filtered")

        # A bad date is the page's 400 naming the field.
        v.goto("/portal/sessions?from=7+dec", 400)
        assert "from:" in v.page.inner_text("main")

        # The ended session's page: its curve and its price, linked from the list.
        v.goto(f"/portal/sessions?stationId={quote(world['station'])}&status=completed")
        v.page.click(f"main table a[href='/portal/sessions/{quote(ended)}']")
        v.page.wait_for_load_state()
        assert v.page.url.endswith(f"/portal/sessions/{quote(ended)}"), v.page.url
        main = v.page.inner_text("main")
        assert world["station"] in main and world["ended_tag"] in main and "7,50 kWh" in main, main
        assert v.page.locator("#meter-curve svg[role=img] polyline").count() == 1
        assert "Effekt (kW)" in v.page.inner_text("#meter-curve figcaption")
        # The figures again in the chart's table (folded in <details>).
        assert "11,00" in v.page.locator("#meter-curve table").text_content()
        lines = v.page.inner_text("#price-lines")
        assert "Energi" in lines and "Startavgift" in lines, lines
        assert sv_money(price["net"]) in lines and sv_money(price["gross"]) in lines, (lines, price)
        assert sv_money(price["vat"]) in lines and "25 %" in lines, lines
        v.check("session")
        v.switch_to("en")
        lines = v.page.inner_text("#price-lines")
        assert "Energy" in lines and "Session fee" in lines and f"SEK {price['gross']}" in lines, lines
        v.check("session")

        # The running session: not priced yet, and said so.
        v.goto(f"/portal/sessions/{quote(running)}")
        assert "The price is worked out when the session has ended." in v.page.inner_text("main")
        v.check("session-running")

        # The station page links its sessions here.
        v.goto(f"/portal/stations/{quote(world['station'])}")
        assert v.page.locator(f"main a[href='/portal/sessions/{quote(ended)}']").count() == 1

        # Organisation B's session is not found, like one that does not exist.
        v.goto(f"/portal/sessions/{quote(world['ended_b'])}", 404)
        v.check("session-not-found")
        v.goto("/portal/sessions/NO-SUCH~1", 404)
    finally:
        v.close()


def test_a_driver_reaches_no_sessions_page(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "driver-sessions", world["people"]["driver"])
    try:
        assert v.page.locator("header nav a[href='/portal/sessions']").count() == 0
        v.goto("/portal/sessions", 403)
        v.goto(f"/portal/sessions/{quote(world['ended'])}", 403)
        v.goto("/portal/sessions/export", 403)
    finally:
        v.close()
