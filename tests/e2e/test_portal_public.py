"""Issues 20 and 18, the public pages behind an EVSE's QR code, in real Chromium (axe-core on every page, screenshots at
desktop and phone width like test_portal.py), with an `ocpp` 1.6 charger in a thread and localstripe for the card.

A visitor whose browser asks for English opens a public EVSE's start link: the page (served at the link itself; an API
client there still gets the JSON) shows the station, its site's address, the status and access mode in words and the
price now excluding and including VAT. They pay: e-mail and the receipt's language, then Stripe.js's card element
(localstripe's mock) on a page whose content security policy alone names Stripe's origin; the card is confirmed with
localstripe's API as Stripe.js would, and the page's start button starts the charge: the charger gets the remote start
for the hold's one-off identity and the page shows the charger's answer live. The station's status page lists its
EVSEs in words and follows a new status (the car plugged in) by itself, without any identifier. A private EVSE tells the visitor to sign
in; a member who signs in from there sees their user group's own price and starts with their own card; once the car
charges, a start there is refused as in use, on the page and through the API. An organisation admin prints the station's QR codes
(the start links the API gives, print CSS without the frame) and replaces one after confirming: the old link is gone."""

from __future__ import annotations

import asyncio
import re

import pytest
import requests
from ocpp.routing import on
from ocpp.v16 import call_result as result16

from csms_e2e import boot_accepted, connect_ws, quote, started_runner, unique
from test_card_payments import SECRET_KEY, WEBHOOK_SECRET, pay_with, stripe  # noqa: F401  (the localstripe fixture)
from test_portal import (AXE, DESKTOP, PASSWORD, PHONE, ChargerThread, PortalCharger, Visit,  # noqa: F401
                         browser, shots_dir)


class StartingCharger(PortalCharger):
    """A 1.6 charger that accepts remote starts, recording their id tags."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.started: list[str] = []

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag, **kw):
        self.started.append(id_tag)
        return result16.RemoteStartTransaction(status="Accepted")


class StartingThread(ChargerThread):
    """test_portal's charger thread, with a charger that takes remote starts."""

    async def _connect(self):
        self.ws = await connect_ws(self.runner.ws_url(self.station_id), ["ocpp1.6"])
        self.cp = StartingCharger(self.station_id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())
        await boot_accepted(self.cp, "1.6", model="Public")


class PublicVisit(Visit):
    """A browser with a language of its own (Accept-Language), signed in or not."""

    def __init__(self, browser, runner, role: str, locale: str):  # noqa: F811
        self.runner, self.role = runner, role
        self.context = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale=locale)
        self.page = self.context.new_page()
        self.base = runner.base_url
        self.shots = shots_dir(runner)
        self.axe = AXE.read_text()

    def check(self, name: str, exclude: str | None = None):
        if exclude is None:
            return super().check(name)
        # Stripe's element is Stripe's (here localstripe's mock): left out of axe, as test_card_payments does.
        self.page.add_script_tag(content=self.axe)
        result = self.page.evaluate("""async (sel) => await axe.run({exclude: [[sel]]}, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""",
                                    exclude)
        bad = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {name}: {bad}"
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=str(self.shots / f"{self.role}-{name}-{self.lang()}-{label}.png"),
                                 full_page=True)
        self.page.set_viewport_size(DESKTOP)


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, stripe):  # noqa: F811
    env = {
        "CSMS_STRIPE_SECRET_KEY": SECRET_KEY,
        "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_csms_e2e",
        "CSMS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CSMS_STRIPE_API_URL": stripe,
        "CSMS_STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
    }
    with started_runner(csms_bin, e2e_tmp, "test_portal_public", extra_env=env) as r:
        yield r


@pytest.fixture(scope="module")
def world(runner):
    """A station on a site with a tariff: EVSE 1 public, EVSE 2 private, a charger connected; an organisation admin
    and a member (a driver) with a card."""
    site = unique("pub").lower()
    runner.api_ok("POST", "/sites", {"id": site, "name": "Norra garaget", "address": {
        "street": "Solvägen 3", "postalCode": "123 45", "city": "Solna"}}, status=201)
    station = unique("PUB")
    runner.create_station(station, name="Laddplatsen", siteId=site)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Publik", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"],
                                                  "target": {"kind": "station", "id": station}}, status=201)
    # The residents' own price at this station: what a member whose card is in that group sees on the start page.
    residents = runner.api_ok("POST", "/tariffs", {"name": "Boende", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "1.50"}}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": residents["id"], "group": "residents",
                                                  "target": {"kind": "station", "id": station}}, status=201)
    runner.api_ok("PUT", f"/stations/{quote(station)}/evses/1/access", {"default": "public"})
    runner.api_ok("PUT", f"/stations/{quote(station)}/evses/2/access", {"default": "private"})
    people = {}
    for role in ("orgAdmin", "driver"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Test {role}", "password": PASSWORD,
                                                         "role": role}, status=201)
        people[role]["password"] = PASSWORD
    card = unique("MEMBER")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                         "userId": people["driver"]["id"], "group": "residents"}, status=201)
    links = {evse: runner.api_ok("GET", f"/stations/{quote(station)}/evses/{evse}/charging-key")
             for evse in (1, 2)}
    ch = StartingThread(runner, station)
    try:
        ch.status(1, "Available")
        ch.status(2, "Available")
        yield {"station": station, "people": people, "card": card, "links": links, "charger": ch}
    finally:
        ch.close()


def test_a_visitor_pays_and_starts_from_the_qr_code_and_follows_the_station(runner, world, browser, stripe):  # noqa: F811
    link = world["links"][1]["startUrl"]
    ch = world["charger"]
    # An API client at the link keeps getting JSON.
    for accept in (None, "application/json", "*/*"):
        r = requests.get(link, headers={"Accept": accept} if accept else {}, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text[:200]
        assert r.json()["canStart"] is True and r.json()["mode"] == "public", r.text
    v = PublicVisit(browser, runner, "visitor", "en-GB")
    try:
        r = v.goto(link.removeprefix(runner.base_url))
        assert r.headers["content-type"].startswith("text/html") and "Accept" in r.headers.get("vary", ""), r.headers
        assert v.lang() == "en"
        main = v.page.inner_text("main")
        assert "Laddplatsen" in v.page.inner_text("h1") and "Charging point 1" in v.page.inner_text("h1"), main
        assert "Solvägen 3, 123 45 Solna" in main and world["station"] not in main, main
        assert v.page.get_attribute("#status", "data-status") == "available"
        assert "Available" in v.page.inner_text("#status") and "Open to everyone" in v.page.inner_text("#mode")
        price = v.page.inner_text("#price")
        assert "SEK 2.50 per kWh" in price and "SEK 3.125 per kWh" in price, price  # 25 % VAT
        v.check("start")
        v.switch_to("sv")
        assert "Ledig" in v.page.inner_text("#status") and "2,50 kr per kWh" in v.page.inner_text("#price")
        v.check("start")

        # Pay: the receipt's e-mail and language, then Stripe.js's element on a page of its own CSP.
        v.page.fill("#email", "besokare@example.com")
        v.page.select_option("#language", "en")
        with v.page.expect_response(lambda r: r.url.endswith("/pay")) as answer:
            v.page.click("#pay button[type=submit]")
        csp = answer.value.headers["content-security-policy"]
        assert f"script-src 'self' {stripe};" in csp and f"frame-src {stripe}" in csp, csp
        v.page.wait_for_selector("#card-element input[placeholder=number]")
        v.page.wait_for_selector("#card-form button[type=submit]:not([disabled])")
        intent = v.page.get_attribute("#card-form", "data-intent")
        held = requests.get(f"{stripe}/v1/payment_intents/{intent}", timeout=10,
                            headers={"Authorization": f"Bearer {SECRET_KEY}"}).json()
        assert (held["amount"], held["capture_method"], held["metadata"]["email"],
                held["metadata"]["language"]) == (30000, "manual", "besokare@example.com", "en"), held
        v.check("pay", exclude="#card-element")
        # Before the card is confirmed the start button starts nothing, and says so.
        v.page.click("#start-form button[type=submit]")
        v.page.wait_for_load_state()
        assert "inte godkänts" in v.page.inner_text("main .error"), v.page.inner_text("main")
        assert ch.cp.started == []
        # localstripe's Stripe.js mock cannot confirm a card payment from its element: confirmed as Stripe.js would.
        confirmed = pay_with(stripe, intent, "4242424242424242")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "requires_capture", confirmed.text
        v.page.click("#retry button[type=submit]")
        v.page.wait_for_selector("#outcome[data-status=accepted]", timeout=15000)
        assert "?start=" in v.page.url and "Laddaren startar" in v.page.inner_text("#outcome"), v.page.url
        assert len(ch.cp.started) == 1 and ch.cp.started[0].startswith("SL"), ch.cp.started
        token = runner.api_ok("GET", f"/id-tokens/{ch.cp.started[0]}")
        assert "paid at the charger" in token["label"], token
        v.check("started")

        # The station's status page: every EVSE in words, live, no identifiers.
        v.page.click("main a[href^='/portal/status/']")
        v.page.wait_for_load_state()
        assert v.page.get_attribute("li[data-evse='1']", "data-status") == "available"
        text = v.page.inner_text("main")
        assert world["station"] not in text and "Laddpunkt 1" in text and "SL" not in text, text
        v.check("status")
        # The car is plugged in at EVSE 1: the page follows by itself.
        ch.status(1, "Preparing")
        v.page.wait_for_selector("li[data-evse='1'][data-status=preparing]", timeout=15000)
        assert "Bil ansluten" in v.page.inner_text("li[data-evse='1']")
        v.switch_to("en")
        assert "Car plugged in" in v.page.inner_text("li[data-evse='1']")
        v.check("status")
    finally:
        v.close()


def test_a_member_signs_in_from_a_private_evse_and_starts_with_their_card(runner, world, browser):  # noqa: F811
    link = world["links"][2]["startUrl"].removeprefix(runner.base_url)
    ch = world["charger"]
    v = PublicVisit(browser, runner, "member", "sv-SE")
    try:
        v.goto(link)
        assert v.lang() == "sv"
        assert v.page.get_attribute("#refusal", "data-reason") == "signInRequired"
        assert "Bara för medlemmar" in v.page.inner_text("#mode") and v.page.locator("#pay").count() == 0
        v.check("private")
        v.page.click("#start a.button")
        v.page.fill("#email", world["people"]["driver"]["email"])
        v.page.fill("#password", PASSWORD)
        v.page.click("main button[type=submit]")
        v.page.wait_for_url(f"**{link}")
        # Signed in, the member sees the price their card's user group pays here, not the public one (2.50).
        assert v.page.inner_text("#price-h") == "Ditt pris just nu"
        assert v.page.get_attribute("#price-group", "data-group") == "residents"
        price = v.page.inner_text("#price")
        assert "1,50 kr per kWh" in price and "1,875 kr per kWh" in price and "2,50" not in price, price
        v.check("member-price")
        before = len(ch.cp.started)
        v.page.click("#start form button[type=submit]")
        v.page.wait_for_selector("#outcome[data-status=accepted]", timeout=15000)
        assert ch.cp.started[before:] == [world["card"]], ch.cp.started
        v.check("member-started")
        # A start without the session's CSRF token is refused.
        forged = v.page.request.post(f"{v.base}/portal/start/{world['links'][2]['key']}", form={})
        assert forged.status == 403, forged.status

        # The car charges: the EVSE is in use, and a start there is refused with the reason, on the page (no start
        # button) and through the API (409, `occupied`), and listed as a refused attempt.
        ch.status(2, "Charging")
        key = world["links"][2]["key"]
        info = runner.api_ok("GET", f"/start/{key}", key=None)
        assert info["status"] == "charging" and not info["canStart"], info
        assert info["refusal"]["reason"] == "occupied", info
        r = runner.api("POST", f"/start/{key}", key=None)
        assert r.status_code == 409 and r.json()["reason"] == "occupied", (r.status_code, r.text)
        assert "in use" in r.json()["error"]["message"], r.text
        v.goto(link)
        assert v.page.get_attribute("#refusal", "data-reason") == "occupied"
        assert "en bil laddar här" in v.page.inner_text("#refusal")
        assert v.page.locator("#start form").count() == 0
        v.check("occupied")
        refused = v.page.request.post(f"{v.base}/portal/start/{key}", form={"csrf": v.csrf()})
        assert refused.status == 409 and "en bil laddar här" in refused.text(), refused.status
        attempts = runner.api_ok("GET", "/access-attempts")["items"]
        assert any(a["reason"] == "occupied" and a["source"] == "startLink" for a in attempts), attempts
        ch.status(2, "Available")
        # The QR sheet is the operator's: a driver's 403.
        assert v.page.request.get(f"{v.base}/portal/stations/{quote(world['station'])}/qr").status == 403
    finally:
        v.close()


def test_an_admin_prints_the_qr_codes_and_replaces_one(runner, world, browser):  # noqa: F811
    station = world["station"]
    v = Visit(browser, runner, "admin", world["people"]["orgAdmin"])
    try:
        v.goto(f"/portal/stations/{quote(station)}")
        v.page.click(f"main a[href='/portal/stations/{quote(station)}/qr']")
        v.page.wait_for_load_state()
        labels = v.page.locator("li.qr-label")
        assert labels.count() == 2, v.page.inner_text("main")
        for evse in (1, 2):
            label = v.page.locator(f"li.qr-label[data-evse='{evse}']")
            assert label.locator("svg.qr[role=img]").count() == 1
            assert label.locator(".link code").inner_text() == world["links"][evse]["startUrl"]
        v.check("qr")
        v.switch_to("en" if v.lang() == "sv" else "sv")
        v.check("qr")
        v.page.emulate_media(media="print")
        assert not v.page.is_visible("header.top") and not v.page.is_visible("form.filter")
        v.page.screenshot(path=str(v.shots / f"admin-qr-{v.lang()}-print.png"), full_page=True)
        v.page.emulate_media(media="screen")

        # Replacing EVSE 1's code needs the confirmation; then the old link is gone.
        old = world["links"][1]
        label = v.page.locator("li.qr-label[data-evse='1']")
        label.locator("summary").click()
        label.locator("input[name=confirm]").check()
        label.locator("button[type=submit]").click()
        v.page.wait_for_load_state()
        assert "rotated=1" in v.page.url, v.page.url
        new = runner.api_ok("GET", f"/stations/{quote(station)}/evses/1/charging-key")
        assert new["key"] != old["key"]
        assert v.page.locator("li.qr-label[data-evse='1'] .link code").inner_text() == new["startUrl"]
        assert requests.get(old["startUrl"], timeout=10).status_code == 404
        log = runner.api_ok("GET", "/audit-log", params={"limit": 20})["items"]
        assert any(e["operation"] == "POST /portal/stations/{id}/qr/{evse}/rotate" for e in log), log
        unconfirmed = v.page.request.post(f"{v.base}/portal/stations/{quote(station)}/qr/1/rotate",
                                          form={"csrf": v.csrf()})
        assert unconfirmed.status == 400 and "confirm" in unconfirmed.text(), unconfirmed.status
        assert re.search(r"Laddpunkt 1 har fått en ny kod|Charging point 1 has a new code", v.page.inner_text("main"))
        # A station not installed yet: as many EVSEs as asked for; a bad number is a 400 naming it.
        v.goto(f"/portal/stations/{quote(station)}/qr?evses=3")
        assert v.page.locator("li.qr-label").count() == 3
        assert v.page.request.get(f"{v.base}/portal/stations/{quote(station)}/qr?evses=99").status == 400
    finally:
        v.close()
