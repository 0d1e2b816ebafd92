"""Issue 20, the access and bookings-calendar pages in real Chromium (axe-core on every page, screenshots like
test_portal.py).

The organisation's admin, signed in through the portal's form, finds the station on /portal/access (private, as a
station without a policy is), opens its page and sets a schedule in the editor: public by default, private every
day 00:00–24:00 with a user group; the API's GET /stations/{id}/access/now then says private and the week view says
so in words. A bad time is shown at its field with the parser's reason and nothing is written (the version stays);
a form based on an older version is refused with 412. EVSE 2 gets a policy of its own and follows the station again.
An OCPP 1.6 charger's Authorize with a card outside the group is refused, and both pages list the attempt with its
reason in words. Another organisation's station is a 404 page, and so is a change posted to it.

On /portal/bookings the admin books EVSE 1 for a driver's identifier tomorrow 10:00–11:00 local time: the API lists
the booking and the calendar shows it as a block in tomorrow's column; booking 10:30–11:30 again is a 409 that shows
the free windows in words; the block's button cancels it and the API says cancelled. A bad week is a 400 page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from ocpp.v16 import call as call16

from csms_e2e import quote, unique
from test_portal import PASSWORD, ChargerThread, Visit, browser  # noqa: F401  (browser is a fixture)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture(scope="module")
def world(runner):
    """A station of the default organisation, its admin and a registered identifier of a driver."""
    station = unique("ACC")
    runner.create_station(station, name="Gårdens laddare")
    email = f"{unique('admin').lower()}@example.se"
    admin = runner.api_ok("POST", "/users", {"email": email, "name": "Test admin", "password": PASSWORD,
                                             "role": "orgAdmin"}, status=201)
    admin["password"] = PASSWORD
    card = unique("BOOKER")[:20]
    runner.create_token(card)
    org_b = runner.create_organisation("orgb")
    station_b = unique("BACC")
    runner.api_ok("POST", "/stations", {"id": station_b, "name": "B:s station"}, status=201,
                  headers={"X-Organisation": org_b})
    return {"station": station, "admin": admin, "card": card, "station_b": station_b}


def test_a_schedule_set_in_the_browser_is_the_apis_and_a_bad_time_writes_nothing(runner, world, browser):  # noqa: F811
    station = world["station"]
    v = Visit(browser, runner, "access", world["admin"])
    try:
        v.switch_to("en")
        v.goto("/portal/access")
        assert v.page.locator("header nav a[href='/portal/access']").count() == 1
        row = v.page.locator(f"#access tr[data-station='{station}']")
        assert "Private" in row.inner_text(), row.inner_text()
        v.check("access")
        row.get_by_role("link", name="Gårdens laddare").click()
        v.page.wait_for_load_state()
        assert v.page.url.endswith(f"/portal/stations/{quote(station)}/access"), v.page.url
        v.check("station-access")

        # Public by default, private all week for the residents.
        form = v.page.locator("form.policy")
        form.locator("#f-default").select_option("public")
        rule = form.locator("fieldset.rule[data-row='0']").first
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
            rule.get_by_label(day).check()
        rule.get_by_label("From", exact=True).fill("00:00")
        rule.get_by_label("To", exact=True).fill("24:00")
        rule.get_by_label("Mode").select_option("private")
        form.get_by_label("User groups that may charge while private").fill("residents")
        form.get_by_role("button", name="Save").click()
        v.page.wait_for_load_state()
        assert "saved=1" in v.page.url, v.page.url
        now = runner.api_ok("GET", f"/stations/{quote(station)}/access/now")
        assert (now["mode"], now["policyOf"], now["until"]) == ("private", "station", None), now
        policy = runner.api_ok("GET", f"/stations/{quote(station)}/access")
        assert policy["version"] == 1 and policy["policy"]["groups"] == ["residents"], policy
        assert policy["policy"]["rules"] == [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                              "start": "00:00", "end": "24:00", "mode": "private"}], policy
        assert v.page.locator("#access-now dd[data-now='private']").count() == 1
        week = v.page.locator("#week-text tbody tr")
        assert week.count() == 7 and "00:00–24:00 private" in week.first.inner_text(), week.first.inner_text()
        v.check("station-access-saved")

        # A bad time: the parser's reason at the field, the typed value kept, nothing written.
        v.switch_to("sv")
        rule = v.page.locator("form.policy fieldset.rule[data-row='1']")
        rule.get_by_label("Måndag").check()
        rule.get_by_label("Från kl.").fill("25:00")
        rule.get_by_label("Till kl.").fill("26:00")
        with v.page.expect_response(lambda r: r.request.method == "POST") as resp:
            v.page.locator("form.policy").get_by_role("button", name="Spara").click()
        assert resp.value.status == 400
        start = v.page.locator("#f-rules-1--start")
        assert start.get_attribute("aria-invalid") == "true" and start.input_value() == "25:00"
        error = v.page.locator("#e-f-rules-1--start").inner_text()
        assert error.startswith('"25:00" is not HH:MM'), error
        alert = v.page.locator("#change-error").inner_text()
        assert alert.startswith("rules[1].start:"), alert
        assert runner.api_ok("GET", f"/stations/{quote(station)}/access")["version"] == 1
        v.check("station-access-refused")

        # A form based on an older version is refused, not written over.
        stale = v.page.request.post(f"{v.base}/portal/stations/{quote(station)}/access",
                                    form={"csrf": v.csrf(), "version": "0", "default": "public"})
        assert stale.status == 412, stale.status
        assert runner.api_ok("GET", f"/stations/{quote(station)}/access")["version"] == 1

        # EVSE 2: a policy of its own (public), then the station's again.
        v.switch_to("en")
        v.goto(f"/portal/stations/{quote(station)}/access?evse=2")
        v.page.locator("#f-default").select_option("public")
        # The form starts from the station's policy: its rule is removed by emptying the row.
        rule = v.page.locator("form.policy fieldset.rule[data-row='0']")
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
            rule.get_by_label(day).uncheck()
        rule.get_by_label("From", exact=True).fill("")
        rule.get_by_label("To", exact=True).fill("")
        v.page.locator("form.policy").get_by_role("button", name="Save").click()
        v.page.wait_for_load_state()
        assert "evse=2" in v.page.url and "saved=2" in v.page.url, v.page.url
        evse = runner.api_ok("GET", f"/stations/{quote(station)}/access/now?evseId=2")
        assert (evse["mode"], evse["policyOf"]) == ("public", "evse"), evse
        v.page.get_by_role("button", name="Follow the station's policy again").click()
        v.page.wait_for_load_state()
        evse = runner.api_ok("GET", f"/stations/{quote(station)}/access/now?evseId=2")
        assert (evse["mode"], evse["policyOf"]) == ("private", "station"), evse
        # Every change is in the audit log as the person's.
        log = runner.api_ok("GET", "/audit-log?limit=20")["items"]
        ours = [e for e in log if e["operation"] == "POST /portal/stations/{id}/access"]
        assert len(ours) == 3, log

        # The card is in no group: private for the residents refuses it, and the attempt is listed in words.
        ch = ChargerThread(runner, station)
        try:
            refused = ch.send(call16.Authorize(id_tag=world["card"]))
        finally:
            ch.close()
        assert refused.id_tag_info["status"] == "Invalid", refused
        v.goto(f"/portal/stations/{quote(station)}/access")
        attempt = v.page.locator("#attempts tbody tr").first
        text = attempt.inner_text()
        assert world["card"] in text and "The identifier's user group is not allowed" in text, text
        v.goto("/portal/access")
        text = v.page.locator("#attempts tbody tr").first.inner_text()
        assert "Gårdens laddare" in text and "Authorize" in text and "Private" in text, text
        v.check("access-attempts")

        # Another organisation's station: a 404 page, and nothing changed there.
        v.goto(f"/portal/stations/{quote(world['station_b'])}/access", status=404)
        theirs = v.page.request.post(f"{v.base}/portal/stations/{quote(world['station_b'])}/access",
                                     form={"csrf": v.csrf(), "version": "0", "default": "public"})
        assert theirs.status == 404, theirs.status
    finally:
        v.close()


def test_an_operator_books_and_cancels_in_the_calendar_and_the_api_agrees(runner, world, browser):  # noqa: F811
    station, card = world["station"], world["card"]
    tomorrow = (datetime.now(STOCKHOLM) + timedelta(days=1)).date()
    v = Visit(browser, runner, "calendar", world["admin"])
    try:
        v.switch_to("en")
        v.goto("/portal/bookings")
        assert v.page.locator("header nav a[href='/portal/bookings']").count() == 1
        v.check("calendar")

        form = v.page.locator("#book-form")
        form.locator("#f-stationId").select_option(station)
        form.locator("#f-evseId").fill("1")
        form.locator("#f-idToken").fill(card)
        form.locator("#f-start").fill(f"{tomorrow}T10:00")
        form.locator("#f-end").fill(f"{tomorrow}T11:00")
        form.get_by_role("button", name="Book").click()
        v.page.wait_for_load_state()
        assert "booked=1" in v.page.url, v.page.url
        listed = [b for b in runner.api_ok("GET", "/bookings?limit=50")["items"] if b["idToken"] == card]
        assert len(listed) == 1 and listed[0]["status"] == "booked", listed
        booking = listed[0]
        start = datetime.fromisoformat(booking["start"].replace("Z", "+00:00")).astimezone(STOCKHOLM)
        assert (start.date(), start.hour, start.minute) == (tomorrow, 10, 0), booking
        block = v.page.locator(f"#calendar div.booking[data-booking='{booking['id']}']")
        text = block.inner_text()
        assert "10:00–11:00" in text and card in text and "Booked" in text, text
        # In tomorrow's column, the station's name on its row.
        row = v.page.locator(f"#calendar tr[data-station='{station}'][data-evse='1']")
        assert "Gårdens laddare" in row.locator("th").inner_text()
        column = row.locator("td").nth(tomorrow.weekday())
        assert column.locator(f"div.booking[data-booking='{booking['id']}']").count() == 1
        v.check("calendar-booked")

        # The same EVSE again, overlapping: 409 with the free windows in words; nothing booked.
        form = v.page.locator("#book-form")
        form.locator("#f-stationId").select_option(station)
        form.locator("#f-idToken").fill(card)
        form.locator("#f-start").fill(f"{tomorrow}T10:30")
        form.locator("#f-end").fill(f"{tomorrow}T11:30")
        with v.page.expect_response(lambda r: r.request.method == "POST") as resp:
            form.get_by_role("button", name="Book").click()
        assert resp.value.status == 409
        error = v.page.locator("#book-error").inner_text()
        assert "The charging point is free:" in error and "11:00" in error, error
        assert len([b for b in runner.api_ok("GET", "/bookings?limit=50")["items"] if b["idToken"] == card]) == 1
        v.check("calendar-taken")

        # A bad end: named at its field.
        form = v.page.locator("#book-form")
        form.locator("#f-idToken").fill(card)
        form.locator("#f-start").fill(f"{tomorrow}T12:00")
        form.locator("#f-end").evaluate("e => { e.type = 'text'; e.value = 'soon'; }")
        with v.page.expect_response(lambda r: r.request.method == "POST") as resp:
            form.get_by_role("button", name="Book").click()
        assert resp.value.status == 400
        assert v.page.locator("#f-end").get_attribute("aria-invalid") == "true"
        assert v.page.locator("#e-f-end").inner_text().startswith("end:")

        # Cancelled from its block, back on the same week: the API says cancelled.
        week = f"{tomorrow.isocalendar().year}-W{tomorrow.isocalendar().week:02d}"
        v.goto(f"/portal/bookings?week={week}&station={quote(station)}")
        block = v.page.locator(f"#calendar div.booking[data-booking='{booking['id']}']")
        block.get_by_role("button", name="Cancel").click()
        v.page.wait_for_load_state()
        assert f"week={week}" in v.page.url, v.page.url
        assert runner.api_ok("GET", f"/bookings/{booking['id']}")["status"] == "cancelled"
        text = block.inner_text()
        assert "Cancelled" in text and block.locator("button").count() == 0, text
        v.switch_to("sv")
        assert "Avbokad" in block.inner_text()
        v.check("calendar-cancelled")

        # A bad week is the 400 page naming the parameter.
        r = v.goto("/portal/bookings?week=2026-W99", status=400)
        assert "week:" in v.page.inner_text("main"), r
    finally:
        v.close()
