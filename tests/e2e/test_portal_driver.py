"""Issue 20, the driver's pages in real Chromium (axe-core on every page, screenshots like test_portal.py): rating a
session and my bookings.

An OCPP 1.6 charger ends a session with the driver's card and one with a card that is not theirs. The driver, signed
in through the portal's form, rates theirs 4 stars with a comment through the radio buttons on `/portal/me`; the
operator's `GET /stations/{id}/ratings` has it and the page shows it (changeable, filled in). The other card's session
is a 404 page and a post without the CSRF token a 403 page, like the API. A booking the driver made through
`POST /me/bookings` is listed on `/portal/me/bookings`, upcoming, and cancelled with its button: the API says
`cancelled`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from ocpp.v16 import call as call16

from csms_e2e import iso, now_utc, quote, unique
# The browser, the signed-in visit with axe-core and screenshots, and the threaded charger are test_portal's.
from test_portal import PASSWORD, ChargerThread, Visit, browser  # noqa: F401  (browser is a fixture)


def charge(ch: ChargerThread, tag: str) -> str:
    """A transaction with `tag` on connector 1, started and stopped: the session's id."""
    begun = now_utc() - timedelta(minutes=30)
    started = ch.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0, timestamp=iso(begun)))
    assert started.id_tag_info["status"] == "Accepted", started
    ch.send(call16.StopTransaction(transaction_id=started.transaction_id, meter_stop=5000, id_tag=tag,
                                   timestamp=iso(begun + timedelta(minutes=20))))
    return f"{ch.station_id}~{started.transaction_id}"


@pytest.fixture(scope="module")
def world(runner):
    """A station; a driver holding a card with an ended session and a booking an hour ahead; another card's
    ended session."""
    station = unique("DRV")
    runner.create_station(station, name="Garaget")
    email = f"{unique('driver').lower()}@example.se"
    driver = runner.api_ok("POST", "/users", {"email": email, "name": "Test förare", "password": PASSWORD,
                                              "role": "driver"}, status=201)
    driver["password"] = PASSWORD
    card, other = unique("HERS")[:20], unique("OTHER")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                         "userId": driver["id"]}, status=201)
    runner.create_token(other)
    ch = ChargerThread(runner, station)
    try:
        mine, theirs = charge(ch, card), charge(ch, other)
    finally:
        ch.close()
    # The driver books for themself through the API, as the app would.
    http = requests.Session()
    signed = http.post(f"{runner.base_url}/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD},
                       timeout=10)
    assert signed.status_code == 200, signed.text
    begins = now_utc() + timedelta(hours=1)
    booked = http.post(f"{runner.base_url}/api/v1/me/bookings", timeout=10,
                       headers={"X-CSRF-Token": signed.json()["csrfToken"]},
                       json={"stationId": station, "evseId": 1, "start": iso(begins),
                             "end": iso(begins + timedelta(hours=1))})
    assert booked.status_code == 201, booked.text
    return {"station": station, "driver": driver, "card": card, "mine": mine, "theirs": theirs,
            "booking": booked.json()}


def test_a_driver_rates_a_session_and_cancels_a_booking(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "driver-pages", world["driver"])
    mine = world["mine"]
    try:
        v.switch_to("sv")
        v.goto("/portal/me")
        assert v.page.locator("header nav a[href='/portal/me/bookings']").count() == 1
        rate = v.page.locator(f"#ratings article[data-session='{mine}']")
        assert rate.locator("input[type=radio][name=stars]").count() == 5
        # Only my sessions are offered.
        assert v.page.locator(f"#ratings article[data-session='{world['theirs']}']").count() == 0
        v.check("me-rate")

        rate.get_by_label("4 stjärnor").check()
        rate.get_by_label("Kommentar (frivillig)").fill("Bra plats, lätt att hitta")
        rate.locator("button[type=submit]").click()
        v.page.wait_for_load_state()
        assert v.page.url.endswith("/portal/me#ratings"), v.page.url
        ratings = runner.api_ok("GET", f"/stations/{quote(world['station'])}/ratings")
        assert (ratings["count"], ratings["average"]) == (1, "4.00"), ratings
        assert ratings["items"][0]["comment"] == "Bra plats, lätt att hitta", ratings
        rated = v.page.locator(f"#ratings article[data-session='{mine}']")
        assert "Ditt betyg: 4 av 5 stjärnor" in rated.inner_text(), rated.inner_text()
        assert "Bra plats, lätt att hitta" in rated.locator("blockquote").inner_text()
        # Still changeable: the form behind "Ändra betyget" holds the rating.
        assert rated.locator("details summary").inner_text() == "Ändra betyget"
        assert rated.locator("input[name=stars][value='4']").is_checked()
        v.check("me-rated")
        v.switch_to("en")
        assert "Your rating: 4 of 5 stars" in v.page.locator(f"#ratings article[data-session='{mine}']").inner_text()
        v.check("me-rated")

        # Another card's session is not mine (404, as in the API); no CSRF token is a 403; nothing changed.
        csrf = v.csrf()
        theirs = v.page.request.post(f"{v.base}/portal/me/sessions/{quote(world['theirs'])}/rating",
                                     form={"csrf": csrf, "stars": "1"})
        assert theirs.status == 404, theirs.status
        forged = v.page.request.post(f"{v.base}/portal/me/sessions/{quote(mine)}/rating", form={"stars": "1"})
        assert forged.status == 403, forged.status
        bad = v.page.request.post(f"{v.base}/portal/me/sessions/{quote(mine)}/rating", form={"csrf": csrf})
        assert bad.status == 400 and "stars:" in bad.text(), bad.status
        ratings = runner.api_ok("GET", f"/stations/{quote(world['station'])}/ratings")
        assert (ratings["count"], ratings["average"]) == (1, "4.00"), ratings

        # My bookings: the one made through the API, upcoming, cancelled with its button.
        booking = world["booking"]
        v.goto("/portal/me/bookings")
        row = v.page.locator(f"#bookings tr[data-booking='{booking['id']}']")
        text = row.inner_text()
        assert world["station"] in text and world["card"] in text and "Booked" in text, text
        v.check("bookings")
        v.switch_to("sv")
        row.get_by_role("button", name="Avboka").click()
        v.page.wait_for_load_state()
        assert v.page.url.endswith("/portal/me/bookings"), v.page.url
        assert runner.api_ok("GET", f"/bookings/{booking['id']}")["status"] == "cancelled"
        text = row.inner_text()
        assert "Avbokad" in text and row.locator("button").count() == 0, text
        v.check("bookings-cancelled")
    finally:
        v.close()
