"""Issue 20, the web portal's first increment in a real browser: Debian's Chromium driven by Playwright (its own
browsers are never downloaded), every page checked with axe-core (no serious or critical violation), in Swedish and
English, with screenshots at desktop and phone width written to the test log directory.

An organisation admin, a viewer and a driver of one organisation sign in through the portal's form. The admin sees the
organisation's station live (a connector's new status appears without reloading), filters by site, opens the station
and sends a soft reset to a connected OCPP 1.6 charger, whose outcome the page shows live; another organisation's
station is a 404 page. The viewer sees no command buttons and a forged reset is refused with 403. The driver finds
their charging history with its energy and their card, and gets 403 pages for operator pages."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from pathlib import Path

import pytest
import requests
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16

from csms_e2e import Charger16, boot_accepted, connect_ws, iso, now_utc, quote, unique

pw = pytest.importorskip("playwright.sync_api", reason="playwright is in tests/requirements.txt")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[1] / "portal" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "portal-pass-123"
# What each language's overview heading says: how a test knows the page's language.
OVERVIEW = {"sv": "Laddstationer", "en": "Charging stations"}


class PortalCharger(Charger16):
    """A 1.6 charger that accepts resets and unlocks, recording them."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.resets: list[str] = []
        self.unlocks: list[int] = []

    @on("Reset")
    async def on_reset(self, type, **kw):
        self.resets.append(type)
        return result16.Reset(status="Accepted")

    @on("UnlockConnector")
    async def on_unlock_connector(self, connector_id, **kw):
        self.unlocks.append(connector_id)
        return result16.UnlockConnector(status="Unlocked")


class ChargerThread:
    """A charger on its own event loop in a thread, so the synchronous browser can act while it answers."""

    def __init__(self, runner, station_id: str):
        self.runner, self.station_id = runner, station_id
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._connect())

    def call(self, coro, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self):
        self.ws = await connect_ws(self.runner.ws_url(self.station_id), ["ocpp1.6"])
        self.cp = PortalCharger(self.station_id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())
        await boot_accepted(self.cp, "1.6", model="Portal")

    def send(self, payload):
        return self.call(self.cp.send(payload))

    def status(self, connector: int, status: str):
        self.send(call16.StatusNotification(connector_id=connector, error_code="NoError", status=status,
                                            timestamp=iso(now_utc())))

    def close(self):
        async def stop():
            self.task.cancel()
            try:
                await self.task
            except BaseException:
                pass
            await self.ws.close()
        try:
            self.call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def shots_dir(runner) -> Path:
    base = os.environ.get("CSMS_TEST_LOG_DIR")
    d = (Path(base) if base else runner.log_dir) / "portal"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def world(runner):
    """Organisation A (the default one) with a site, a station driven by a charger, an admin, a viewer and a
    driver with a card and a finished session; organisation B with a station of its own."""
    site = unique("site").lower()
    runner.ensure_site(site)
    station = unique("PORTAL")
    runner.create_station(station, name="Garaget", siteId=site)
    people = {}
    for role in ("orgAdmin", "viewer", "driver"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Test {role}", "password": PASSWORD,
                                                         "role": role}, status=201)
        people[role]["password"] = PASSWORD
    card = unique("CARD")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                         "userId": people["driver"]["id"], "label": "Blå brickan"}, status=201)
    other = unique("OTHER")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": other, "type": "ISO14443", "status": "Accepted"}, status=201)
    org_b = runner.create_organisation("orgb")
    station_b = unique("BSTATION")
    runner.api_ok("POST", "/stations", {"id": station_b, "name": "B:s station"}, status=201,
                  headers={"X-Organisation": org_b})

    ch = ChargerThread(runner, station)
    try:
        ch.status(1, "Available")
        ch.status(2, "Available")
        # The driver's finished session: 7.5 kWh.
        started = ch.send(call16.StartTransaction(connector_id=1, id_tag=card, meter_start=1000,
                                                  timestamp=iso(now_utc())))
        assert started.id_tag_info["status"] == "Accepted", started
        ch.send(call16.StopTransaction(transaction_id=started.transaction_id, meter_stop=8500,
                                       timestamp=iso(now_utc()), id_tag=card))
        # Someone else's running session on connector 2, charging at 7.4 kW.
        running = ch.send(call16.StartTransaction(connector_id=2, id_tag=other, meter_start=0,
                                                  timestamp=iso(now_utc())))
        ch.status(2, "Charging")
        ch.send(call16.MeterValues(connector_id=2, transaction_id=running.transaction_id, meter_value=[{
            "timestamp": iso(now_utc()),
            "sampled_value": [{"value": "7400", "measurand": "Power.Active.Import", "unit": "W"}]}]))
        yield {"site": site, "station": station, "station_b": station_b, "people": people, "card": card,
               "charger": ch}
    finally:
        ch.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: ./tests/run.sh e2e installs Debian's chromium", pytrace=False)
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: ./tests/run.sh e2e runs npm ci in tests/portal", pytrace=False)
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """One person's browser: signs in through the form, checks every page it shows with axe-core and
    photographs it at desktop and phone width."""

    def __init__(self, browser, runner, role: str, person: dict | None):
        self.runner, self.role = runner, role
        # bypass_csp: axe is injected as a script the portal's CSP would (rightly) refuse.
        self.context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
        self.page = self.context.new_page()
        self.base = runner.base_url
        self.shots = shots_dir(runner)
        self.axe = AXE.read_text()
        if person is not None:
            self.sign_in(person["email"], person["password"])

    def sign_in(self, email: str, password: str):
        self.page.goto(f"{self.base}/portal/stations")
        assert "/portal/sign-in" in self.page.url, self.page.url
        self.check("sign-in")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()
        assert "/portal/sign-in" not in self.page.url, self.page.content()[:2000]

    def goto(self, path: str, status: int = 200):
        r = self.page.goto(f"{self.base}{path}")
        assert r is not None and r.status == status, f"{self.role}: GET {path} -> {r and r.status}, not {status}"
        return r

    def lang(self) -> str:
        return self.page.get_attribute("html", "lang")

    def switch_to(self, lang: str):
        if self.lang() != lang:
            self.page.click("header form[action='/portal/language'] button")
            self.page.wait_for_load_state()
        assert self.lang() == lang

    def csrf(self) -> str:
        return self.page.get_attribute("form[action='/portal/sign-out'] input[name=csrf]", "value")

    def check(self, name: str):
        """axe-core on the page (serious and critical violations fail), then its screenshots."""
        self.page.add_script_tag(content=self.axe)
        result = self.page.evaluate("""async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        lang = self.lang()
        assert not bad, f"axe on {self.role}'s {name} ({lang}, {self.page.url}): {bad}"
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=str(self.shots / f"{self.role}-{name}-{lang}-{label}.png"), full_page=True)
        self.page.set_viewport_size(DESKTOP)

    def close(self):
        self.context.close()


def test_not_signed_in_goes_to_the_sign_in_page_and_a_wrong_password_is_refused(runner, world, browser):
    v = Visit(browser, runner, "anonymous", None)
    try:
        v.goto("/", 200)  # redirected to the sign-in page
        assert v.page.url.endswith("/portal/sign-in?next=%2Fportal%2F"), v.page.url
        v.page.fill("#email", world["people"]["viewer"]["email"])
        v.page.fill("#password", "not-the-password")
        with v.page.expect_response(lambda r: r.url.endswith("/portal/sign-in")) as resp:
            v.page.click("main button[type=submit]")
        assert resp.value.status == 401
        alert = v.page.inner_text("[role=alert]")
        assert alert in ("Fel e-postadress, lösenord eller kod.", "Wrong e-mail address, password or code."), alert
        v.check("sign-in-refused")
        # The language can be switched before signing in (a cookie).
        v.switch_to("en")
        assert v.page.inner_text("main h1") == "Sign in"
        v.check("sign-in")
        # A form post without the session is not signed in: to the sign-in page.
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(world['station'])}/reset",
                                form={"kind": "soft"}, max_redirects=0)
        assert r.status == 303 and "/portal/sign-in" in r.headers["location"], r.status
        # Another site's post of the right password (no form guard of this
        # browser's cookie) signs nobody in: the form again, 403, no session.
        viewer = world["people"]["viewer"]
        forged = requests.post(f"{runner.base_url}/portal/sign-in", allow_redirects=False,
                               data={"email": viewer["email"], "password": viewer["password"], "next": "/portal/"})
        assert forged.status_code == 403, forged.status_code
        assert "csms_session" not in forged.headers.get("set-cookie", "")
        assert 'name="form"' in forged.text
    finally:
        v.close()


def test_an_org_admin_sees_the_stations_live_and_resets_one_from_its_page(runner, world, browser):
    v = Visit(browser, runner, "admin", world["people"]["orgAdmin"])
    station, ch = world["station"], world["charger"]
    row = f"tr[data-station='{station}']"
    try:
        for lang in ("sv", "en"):
            v.goto("/portal/stations")
            v.switch_to(lang)
            assert v.page.inner_text("main h1") == OVERVIEW[lang]
            text = v.page.inner_text(row)
            assert "Garaget" in text, text
            assert ("Ansluten" if lang == "sv" else "Online") in text, text
            # Connector 1 became Faulted in the Swedish round's live check.
            assert ("1: Ledig" if lang == "sv" else "1: Faulted") in text, text
            assert ("2: Laddar" if lang == "sv" else "2: Charging") in text, text
            assert ("7,4 kW" if lang == "sv" else "7.4 kW") in text, text
            # Organisation B's station is not listed.
            assert world["station_b"] not in v.page.inner_text("main")
            v.check("overview")

            # Live: a new status shows without reloading the page.
            status = "Faulted" if lang == "sv" else "Available"
            expected = "1: Fel" if lang == "sv" else "1: Available"
            marker = v.page.evaluate("() => (window.__notReloaded = true)")
            ch.status(1, status)
            v.page.wait_for_function(
                "([sel, text]) => document.querySelector(sel)?.innerText.includes(text)", arg=[row, expected],
                timeout=12000)
            assert marker and v.page.evaluate("() => window.__notReloaded === true"), "the page was reloaded"

            # Filter by site: the station is at this site, and no other site's filter shows it.
            v.page.select_option("#site", world["site"])
            v.page.click("form.filter button[type=submit]")
            v.page.wait_for_load_state()
            assert f"site={world['site']}" in v.page.url
            assert v.page.locator(row).count() == 1
            v.check("overview-site")

            # The station's page.
            v.page.click(f"{row} a")
            v.page.wait_for_load_state()
            assert v.page.url.endswith(f"/portal/stations/{station}"), v.page.url
            main = v.page.inner_text("main")
            assert "Garaget" in main and "Acme" in main and "Portal-16" in main, main
            assert ("7,50 kWh" if lang == "sv" else "7.50 kWh") in main, main
            v.check("station")

            # Reset from the page: the outcome appears live.
            before = len(ch.cp.resets)
            v.page.click("form[action$='/reset'] input[value=soft] ~ button")
            v.page.wait_for_load_state()
            assert "?command=" in v.page.url, v.page.url
            v.page.wait_for_selector("#command[data-status=accepted]", timeout=15000)
            assert ch.cp.resets[before:] == ["Soft"], ch.cp.resets
            accepted = v.page.inner_text("#command")
            assert ("Stationen godtog kommandot." if lang == "sv" else "The station accepted the command.") \
                in accepted, accepted
            v.check("station-reset")

            # Unlocking connector 1 from its row: the outcome appears live too.
            v.page.click("form[action$='/unlock']:has(input[name=connector][value='1']) button")
            v.page.wait_for_load_state()
            v.page.wait_for_selector("#command[data-status=accepted]", timeout=15000)
            unlocked = v.page.inner_text("#command")
            assert ("Lås upp uttaget" if lang == "sv" else "Unlock connector") in unlocked, unlocked
            assert ch.cp.unlocks[-1] == 1, ch.cp.unlocks

            v.goto("/portal/me")
            v.check("me")

        # The commands sent from the portal are in the organisation's audit log, as the person's.
        log = runner.api_ok("GET", "/audit-log", params={"limit": 500})["items"]
        mine = [e for e in log if e["path"] == f"/portal/stations/{station}/reset"]
        assert len(mine) == 2 and all(e["operation"] == "POST /portal/stations/{id}/reset" for e in mine), mine
        assert all(world["people"]["orgAdmin"]["id"] in e["actor"] for e in mine), mine
        assert mine[0]["fields"] == ["kind"], mine

        # Organisation B's station is not found, like one that does not exist.
        v.goto(f"/portal/stations/{quote(world['station_b'])}", 404)
        v.check("not-found")
        v.goto("/portal/stations/NO-SUCH-STATION", 404)
        # A form without the session's CSRF token is refused.
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/reset",
                                form={"kind": "hard", "csrf": "forged"}, max_redirects=0)
        assert r.status == 403, r.status
        # And one with it but a bad kind is a 400 naming the field.
        v.goto(f"/portal/stations/{quote(station)}")
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/reset",
                                form={"kind": "warm", "csrf": v.csrf()}, max_redirects=0)
        assert r.status == 400 and "kind: soft or hard" in r.text(), (r.status, r.text()[:500])

        # Signing out ends the session: the pages go to the sign-in page again.
        v.page.click("form[action='/portal/sign-out'] button")
        v.page.wait_for_load_state()
        assert "/portal/sign-in" in v.page.url
        v.page.goto(f"{runner.base_url}/portal/stations")
        assert "/portal/sign-in" in v.page.url
    finally:
        v.close()


def test_a_viewer_sees_but_cannot_send_commands(runner, world, browser):
    v = Visit(browser, runner, "viewer", world["people"]["viewer"])
    station = world["station"]
    try:
        for lang in ("sv", "en"):
            v.goto("/portal/stations")
            v.switch_to(lang)
            v.check("overview")
            v.goto(f"/portal/stations/{quote(station)}")
            assert v.page.locator("form[action$='/reset']").count() == 0
            assert v.page.locator("form[action$='/unlock']").count() == 0
            v.check("station")
        # A forged command with the viewer's own valid CSRF token: refused like the API route (403).
        before = len(world["charger"].cp.resets)
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/reset",
                                form={"kind": "hard", "csrf": v.csrf()}, max_redirects=0)
        assert r.status == 403, r.status
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/unlock",
                                form={"evse": "1", "connector": "1", "csrf": v.csrf()}, max_redirects=0)
        assert r.status == 403, r.status
        assert len(world["charger"].cp.resets) == before
    finally:
        v.close()


def test_a_driver_sees_their_own_charging_and_no_operator_page(runner, world, browser):
    v = Visit(browser, runner, "driver", world["people"]["driver"])
    try:
        # A driver's start page is their own.
        assert v.page.url.endswith("/portal/me") or "/portal/stations" in v.page.url
        for lang in ("sv", "en"):
            v.goto("/portal/")
            assert v.page.url.endswith("/portal/me"), v.page.url
            v.switch_to(lang)
            main = v.page.inner_text("main")
            assert ("7,50 kWh" if lang == "sv" else "7.50 kWh") in main, main
            assert world["station"] in main and world["card"] in main and "Blå brickan" in main, main
            assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}" if lang == "sv" else r"\d{1,2} [A-Z][a-z]{2} \d{4}",
                             main), main
            # The menu offers no operator pages.
            assert v.page.locator("header nav a[href='/portal/stations']").count() == 0
            v.check("me")
            v.goto("/portal/stations", 403)
            assert v.page.inner_text("main h1") == ("Ingen behörighet" if lang == "sv" else "Not allowed")
            v.check("forbidden")
            v.goto(f"/portal/stations/{quote(world['station'])}", 403)
        # The language chosen is the person's setting: a new sign-in keeps it.
        assert runner.api_ok("GET", f"/users/{world['people']['driver']['id']}")["language"] == "en"
    finally:
        v.close()


def test_an_org_admin_blocks_a_card_and_registers_one_seen_at_a_charger(runner, world, browser):
    """LaddID in the portal: the organisation's identifiers with holder and status; a card blocked with a reason is
    refused at the charger at once and accepted again once unblocked; an unknown card shown at the charger is listed
    as seen and registered for a person in one step, then accepted; a viewer sees the list but cannot change it."""
    ch = world["charger"]
    unknown = unique("SEEN")[:20]
    assert ch.send(call16.Authorize(id_tag=unknown)).id_tag_info["status"] == "Invalid"
    card = world["card"]
    v = Visit(browser, runner, "admin-laddid", world["people"]["orgAdmin"])
    try:
        v.switch_to("sv")
        v.goto("/portal/laddid")
        main = v.page.inner_text("main")
        assert card in main and "Blå brickan" in main and "Test driver" in main and unknown in main, main
        v.check("laddid")
        # Block with a reason: the charger is refused at once (the API's use case, local lists and all).
        row = v.page.locator("tr", has_text=card)
        row.locator("input[name=reason]").fill("Tappad")
        row.locator("button", has_text="Spärra").click()
        v.page.wait_for_load_state()
        assert "Klart." in v.page.inner_text("main")
        token = runner.api_ok("GET", f"/id-tokens/{card}")
        assert token["status"] == "Blocked" and token["block"]["reason"] == "Tappad", token
        assert ch.send(call16.Authorize(id_tag=card)).id_tag_info["status"] == "Blocked"
        v.page.locator("tr", has_text=card).locator("button", has_text="Häv spärren").click()
        v.page.wait_for_load_state()
        assert runner.api_ok("GET", f"/id-tokens/{card}")["status"] == "Accepted"
        assert ch.send(call16.Authorize(id_tag=card)).id_tag_info["status"] == "Accepted"
        # The card seen at the charger, registered for the driver in one step.
        seen = v.page.locator("tr", has_text=unknown)
        seen.locator("select[name=user]").select_option(world["people"]["driver"]["id"])
        seen.locator("button", has_text="Registrera").click()
        v.page.wait_for_load_state()
        registered = runner.api_ok("GET", f"/id-tokens/{unknown}")
        assert registered["userId"] == world["people"]["driver"]["id"] and registered["status"] == "Accepted"
        assert ch.send(call16.Authorize(id_tag=unknown)).id_tag_info["status"] == "Accepted"
        v.check("laddid-after")
        # Both changes are in the audit log, by the admin.
        ops = {e["operation"] for e in runner.api_ok("GET", "/audit-log")["items"]}
        assert {"POST /portal/laddid/{value}/block", "POST /portal/laddid/seen/{value}/register"} <= ops, ops
    finally:
        v.close()
    viewer = Visit(browser, runner, "viewer-laddid", world["people"]["viewer"])
    try:
        viewer.goto("/portal/laddid")
        assert card in viewer.page.inner_text("main")
        assert viewer.page.locator("button", has_text="Spärra").count() == 0
        csrf = viewer.csrf()
        r = viewer.page.request.post(f"{runner.base_url}/portal/laddid/{card}/block",
                                     form={"csrf": csrf, "reason": "no"})
        assert r.status == 403, r.status
        assert runner.api_ok("GET", f"/id-tokens/{card}")["status"] == "Accepted"
    finally:
        viewer.close()


def test_an_org_admin_sees_the_people_and_invites_one(runner, world, browser):
    """People in the portal: the organisation's admin sees each person with their role and invites a new one by
    e-mail (the API's invitation use case: one mail with a single-use link); a member already is refused with the
    reason; a viewer may not manage people (403) and has no menu link to it."""
    v = Visit(browser, runner, "admin-users", world["people"]["orgAdmin"])
    email = f"{unique('ny').lower()}@example.se"
    try:
        v.switch_to("sv")
        v.goto("/portal/users")
        main = v.page.inner_text("main")
        for role in ("orgAdmin", "viewer", "driver"):
            assert world["people"][role]["email"] in main, main
        assert v.page.locator("header nav a[href='/portal/users']").count() == 1
        v.check("users")
        v.page.fill("#invite-email", email)
        v.page.fill("#invite-name", "Nya Operatören")
        v.page.select_option("#invite-role", "operator")
        v.page.click("main form[action='/portal/users/invite'] button[type=submit]")
        v.page.wait_for_load_state()
        assert f"Inbjudan är skickad till {email}." in v.page.inner_text("main"), v.page.inner_text("main")
        mails = [m for m in runner.api_ok("GET", "/outbox", params={"limit": 500})["items"] if m["to"] == email]
        assert len(mails) == 1, mails
        assert "/invitation?token=" in runner.api("GET", f"/outbox/{mails[0]['id']}").content.decode()
        invited = [i for i in runner.api_ok("GET", "/invitations")["items"] if i["email"] == email]
        assert [(i["role"], i["status"]) for i in invited] == [("operator", "pending")], invited
        # A member already: refused with the reason, nothing mailed.
        v.page.fill("#invite-email", world["people"]["viewer"]["email"])
        v.page.click("main form[action='/portal/users/invite'] button[type=submit]")
        v.page.wait_for_load_state()
        assert "already a member" in v.page.inner_text("main")
        # A person's role changed on the page: the API's PATCH /users/{id} use case, in the audit log; one's own
        # role is not offered.
        moved = runner.api_ok("POST", "/users", {"email": f"{unique('roll').lower()}@example.se", "name": "Rolle Byte",
                                                 "password": PASSWORD, "role": "viewer"}, status=201)
        v.goto("/portal/users")
        assert v.page.locator(f"#role-{world['people']['orgAdmin']['id']}").count() == 0
        v.page.select_option(f"#role-{moved['id']}", "operator")
        v.page.click(f"main form[action='/portal/users/{moved['id']}/role'] button[type=submit]")
        v.page.wait_for_load_state()
        assert f"Rollen för {moved['email']} är ändrad." in v.page.inner_text("main"), v.page.inner_text("main")
        assert v.page.locator(f"#role-{moved['id']}").input_value() == "operator"
        memberships = runner.api_ok("GET", f"/users/{moved['id']}")["memberships"]
        assert [m["role"] for m in memberships] == ["operator"], memberships
        entries = runner.api_ok("GET", "/audit-log", params={"limit": 50})["items"]
        assert any(e["operation"] == "POST /portal/users/{id}/role" and world["people"]["orgAdmin"]["id"] in e["actor"]
                   for e in entries), entries
        v.check("users-role")
    finally:
        v.close()
    viewer = Visit(browser, runner, "viewer-users", world["people"]["viewer"])
    try:
        assert viewer.page.locator("header nav a[href='/portal/users']").count() == 0
        viewer.goto("/portal/users", 403)
        # A post with the viewer's own valid CSRF token is refused too: the role decides, not the menu.
        viewer.goto("/portal/stations")
        token = viewer.page.evaluate("() => document.querySelector('input[name=csrf]').value")
        assert token
        answer = viewer.page.request.post(f"{runner.base_url}/portal/users/{world['people']['driver']['id']}/role",
                                          form={"csrf": token, "role": "orgAdmin"}, max_redirects=0)
        assert answer.status == 403, answer.status
    finally:
        viewer.close()
