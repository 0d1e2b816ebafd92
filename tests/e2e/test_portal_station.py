"""Issue 20, the rest of the portal's station page and the overview's map in a real browser (Debian's Chromium through
Playwright, axe-core on every page, screenshots in the test log directory; the browser and the visit come from
test_portal.py).

Organisation A has a load-balanced site with coordinates and two stations on it, one of them an OCPP 1.6 charger that
answers every command and records what it was asked, and a station at a site without coordinates. Its operator opens
the charger's page: the events list the boot; reading the configuration from the page shows the charger's answer as a
table; changing availability, a remote start and a stop of the transaction it started reach the charger as sent; a
firmware update is accepted, and bad values are refused naming the field, at the form; the site's allocation shows each EVSE's limit
and why. On the overview the map has one marker per station with coordinates, each a link to the station's page
coloured by its state, drawn although no tile loads (the test answers every tile request with an error, as an offline
machine would), and only that page lets images come from the tile server. A viewer sees the events but no command, and a forged one is
refused; another organisation's station is not found."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16

from csms_e2e import boot_accepted, connect_ws, iso, now_utc, poll, quote, started_runner, unique
from test_portal import PASSWORD, ChargerThread, PortalCharger, Visit, browser  # noqa: F401  (a fixture)

TILES = "https://tile.openstreetmap.org/"
# Pause profiles' ids start here (shared/commands/src/wire/pause.rs, PAUSE_PROFILE_IDS).
PAUSE_IDS = 1_900_000_000


class StationCharger(PortalCharger):
    """A 1.6 charger that answers the station page's commands and records each."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.asked: list[tuple] = []
        # How long the charger takes to answer a pause or resume: longer than the page waits, so its outcome
        # must arrive live.
        self.pause_delay = 0.0

    @on("GetConfiguration")
    async def on_get_configuration(self, key=None, **kw):
        self.asked.append(("GetConfiguration", tuple(key or ())))
        known = {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60"}
        keys = key or list(known)
        return result16.GetConfiguration(
            configuration_key=[{"key": k, "readonly": k == "MeterValueSampleInterval", "value": known[k]}
                               for k in keys if k in known],
            unknown_key=[k for k in keys if k not in known] or None)

    @on("ChangeAvailability")
    async def on_change_availability(self, connector_id, type, **kw):
        self.asked.append(("ChangeAvailability", connector_id, type))
        return result16.ChangeAvailability(status="Accepted")

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag, connector_id=None, **kw):
        self.asked.append(("RemoteStartTransaction", id_tag, connector_id))
        return result16.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id, **kw):
        self.asked.append(("RemoteStopTransaction", transaction_id))
        return result16.RemoteStopTransaction(status="Accepted")

    @on("GetDiagnostics")
    async def on_get_diagnostics(self, location, **kw):
        self.asked.append(("GetDiagnostics", location))
        return result16.GetDiagnostics(file_name="diag.zip")

    @on("UpdateFirmware")
    async def on_update_firmware(self, location, retrieve_date, **kw):
        self.asked.append(("UpdateFirmware", location, retrieve_date))
        return result16.UpdateFirmware()

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, connector_id, cs_charging_profiles, **kw):
        profile = cs_charging_profiles
        if profile["charging_profile_id"] >= PAUSE_IDS:  # the pause's own profile, not the load balancer's
            periods = profile["charging_schedule"]["charging_schedule_period"]
            self.asked.append(("Pause", connector_id, profile["charging_profile_purpose"],
                               profile.get("transaction_id"), [p["limit"] for p in periods],
                               profile["charging_profile_id"]))
            await asyncio.sleep(self.pause_delay)
        return result16.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, id=None, **kw):
        if id is not None and id >= PAUSE_IDS:
            self.asked.append(("Resume", id))
            await asyncio.sleep(self.pause_delay)
        return result16.ClearChargingProfile(status="Accepted")


class Charger(ChargerThread):
    async def _connect(self):
        self.ws = await connect_ws(self.runner.ws_url(self.station_id), ["ocpp1.6"])
        self.cp = StationCharger(self.station_id, self.ws, response_timeout=10)
        self.task = asyncio.create_task(self.cp.start())
        await boot_accepted(self.cp, "1.6", model="Station")

    def asked(self, name: str) -> list[tuple]:
        return [a for a in self.cp.asked if a[0] == name]


@pytest.fixture(scope="module")
def world(runner):
    site = unique("karta").lower()
    runner.api_ok("POST", "/sites", {"id": site, "name": "Kartplatsen",
                                     "address": {"street": "Gatan 3", "postalCode": "111 22", "city": "Stockholm"},
                                     "coordinates": {"lat": 59.3293, "lon": 18.0686}}, status=201)
    station, idle = unique("MAP"), unique("IDLE")
    runner.create_station(station, name="Kartladdaren", siteId=site)
    runner.create_station(idle, name="Vilande", siteId=site)
    elsewhere = unique("NOWHERE")
    runner.create_station(elsewhere, siteId=unique("utan").lower())
    runner.api_ok("PUT", f"/sites/{site}/load", {
        "gridFuseA": {"l1": 25, "l2": 25, "l3": 25}, "mode": "static",
        "evses": [{"stationId": station, "evseId": 1, "maxA": 16}, {"stationId": station, "evseId": 2, "maxA": 16}]})
    people = {}
    for role in ("operator", "viewer"):
        email = f"{unique(role).lower()}@example.se"
        people[role] = runner.api_ok("POST", "/users", {"email": email, "name": f"Test {role}", "password": PASSWORD,
                                                        "role": role}, status=201)
        people[role]["password"] = PASSWORD
    org_b = runner.create_organisation("kartb")
    station_b = unique("BMAP")
    runner.api_ok("POST", "/stations", {"id": station_b}, status=201, headers={"X-Organisation": org_b})
    tag = unique("STAG")[:20]
    runner.create_token(tag)
    ch = Charger(runner, station)
    try:
        ch.status(1, "Available")
        ch.status(2, "Available")
        yield {"site": site, "station": station, "idle": idle, "elsewhere": elsewhere,
               "operator": people["operator"], "viewer": people["viewer"], "station_b": station_b, "tag": tag,
               "charger": ch}
    finally:
        ch.close()


def send_from_the_page(v, group: str, action: str, fill=None):
    """Opens a command group, fills its form, sends it and waits for the charger's answer on the page."""
    v.page.click(f"#{group} > summary")
    form = f"#{group} form[action$='/{action}']"
    if fill:
        fill(form)
    v.page.click(f"{form} button[type=submit]")
    v.page.wait_for_load_state()
    assert "?command=" in v.page.url, v.page.url
    v.page.wait_for_selector("#command[data-status=accepted]", timeout=15000)


def test_an_operator_reads_and_changes_a_station_from_its_page(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "operator-station", world["operator"])
    station, ch, tag = world["station"], world["charger"], world["tag"]
    try:
        v.switch_to("sv")
        v.goto(f"/portal/stations/{quote(station)}")
        # The events list the boot (vendor and model as the charger sent them), newest first.
        boot = v.page.inner_text("#event-list tr[data-kind=EvBoot]")
        assert "Uppstart" in boot and "Acme Station-16" in boot, boot
        assert v.page.locator("#event-list tr[data-kind=EvConnected]").count() == 1
        # The site's load balancing: each EVSE of this station with its limit and why.
        alloc = runner.api_ok("GET", f"/sites/{world['site']}/load/allocation")
        for e in alloc["evses"]:
            assert e["stationId"] == station
            limit = v.page.inner_text(f"#station-allocation tr[data-evse='{e['evseId']}'] td.limit")
            assert limit.endswith(" A") or "A " in limit, limit
        assert v.page.locator(f"a[href='/portal/load/{quote(world['site'])}']").count() == 1
        v.check("station-page")

        # Read configuration: the charger is asked for the keys, the page shows its answer as a table.
        send_from_the_page(v, "cmd-configuration", "configuration/read",
                           lambda f: v.page.fill(f"{f} input[name=keys]", "HeartbeatInterval, NoSuchKey"))
        assert ch.asked("GetConfiguration")[-1] == ("GetConfiguration", ("HeartbeatInterval", "NoSuchKey"))
        assert v.page.inner_text("#configuration tr[data-key=HeartbeatInterval] td.value") == "300"
        assert "NoSuchKey" in v.page.inner_text("#command")
        v.check("station-configuration")

        # Change availability of EVSE 1 to inoperative: the charger receives exactly that.
        def inoperative(f):
            v.page.select_option(f"{f} select[name=evseId]", "1")
            v.page.select_option(f"{f} select[name=operative]", "false")
        send_from_the_page(v, "cmd-availability", "availability", inoperative)
        assert ch.asked("ChangeAvailability") == [("ChangeAvailability", 1, "Inoperative")], ch.cp.asked

        # Remote start on EVSE 2 for the organisation's card, then stop the transaction it started.
        def start(f):
            v.page.select_option(f"{f} select[name=evseId]", "2")
            v.page.select_option(f"{f} select[name=idToken]", tag)
        send_from_the_page(v, "cmd-charging", "start", start)
        assert ch.asked("RemoteStartTransaction") == [("RemoteStartTransaction", tag, 2)], ch.cp.asked
        started = ch.send(call16.StartTransaction(connector_id=2, id_tag=tag, meter_start=0, timestamp=iso(now_utc())))
        ch.status(2, "Charging")
        tx = started.transaction_id
        v.goto(f"/portal/stations/{quote(station)}")

        # Pause and resume it: the charger answers after the page has stopped waiting (2 s), so the page shows the
        # command pending and the outcome arrives live (htmx); a pause is a 0 A TxProfile on the transaction's
        # connector, and resume clears exactly that profile.
        ch.cp.pause_delay = 3.5
        try:
            for action in ("pause", "resume"):
                v.page.click("#cmd-charging > summary")
                v.page.click(f"#running tr[data-transaction='{tx}'] form[action$='/{action}'] button")
                v.page.wait_for_load_state()
                assert "?command=" in v.page.url, v.page.url
                assert v.page.get_attribute("#command", "data-status") == "pending"
                assert v.page.get_attribute("#command", "hx-trigger") == "every 1s"
                if action == "pause":
                    v.check("station-pause-pending")
                v.page.wait_for_selector("#command[data-status=accepted]", timeout=15000)
                assert v.page.get_attribute("#command", "hx-trigger") is None
        finally:
            ch.cp.pause_delay = 0.0
        paused, resumed = ch.asked("Pause"), ch.asked("Resume")
        assert len(paused) == 1 and paused[0][:5] == ("Pause", 2, "TxProfile", tx, [0]), paused
        assert resumed == [("Resume", paused[0][5])], resumed
        outcome = v.page.inner_text("#command")  # the page is in Swedish here
        assert outcome.startswith("Återuppta"), outcome
        v.page.click("#cmd-charging > summary")
        v.page.click(f"#running tr[data-transaction='{tx}'] form[action$='/stop'] button")
        v.page.wait_for_load_state()
        v.page.wait_for_selector("#command[data-status=accepted]", timeout=15000)
        assert ch.asked("RemoteStopTransaction") == [("RemoteStopTransaction", tx)], ch.cp.asked
        ch.send(call16.StopTransaction(transaction_id=tx, meter_stop=1200, timestamp=iso(now_utc()), id_tag=tag))

        # A firmware update from a URL at a local time: sent as the UTC instant.
        def firmware(f):
            v.page.fill(f"{f} input[name=location]", "https://firmware.example.com/fw-2.bin")
            v.page.fill(f"{f} input[name=retrieveAt]", "2030-01-15T10:30")
        send_from_the_page(v, "cmd-maintenance", "firmware", firmware)
        assert ch.asked("UpdateFirmware") == [
            ("UpdateFirmware", "https://firmware.example.com/fw-2.bin", "2030-01-15T09:30:00.000Z")], ch.cp.asked
        # A diagnostics upload to a URL.
        send_from_the_page(v, "cmd-maintenance", "diagnostics",
                           lambda f: v.page.fill(f"{f} input[name=location]", "ftp://logs.example.com/up"))
        assert ch.asked("GetDiagnostics") == [("GetDiagnostics", "ftp://logs.example.com/up")], ch.cp.asked
        # The commands are in the events too.
        assert v.page.locator("#event-list tr[data-kind=EvCommand]").count() >= 4
        v.switch_to("en")
        events = v.page.inner_text("#event-list")
        assert "Update firmware: The station accepted the command." in events and "Boot" in events, events

        # Bad values are refused naming the field, and nothing reaches the charger.
        before = len(ch.cp.asked)
        for form, field in (({"location": "not a url"}, "location: "),
                            ({"location": "https://x.example/fw", "retrieveAt": "soon"}, "retrieveAt: ")):
            r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/firmware",
                                    form={**form, "csrf": v.csrf()}, max_redirects=0)
            assert r.status == 400 and field in r.text(), (r.status, r.text()[:400])
            # The page again has the form as it was sent.
            assert 'value="https://x.example/fw"' in r.text() or 'value="not a url"' in r.text(), r.text()[:400]
        # In the browser: the station's page again, the message at the form's group, opened.
        v.page.click("#cmd-configuration > summary")
        v.page.fill("#config-key", "a/b/c")
        v.page.fill("#config-value", "1")
        with v.page.expect_response(lambda r: r.url.endswith("/configuration/change")) as answer:
            v.page.click("#cmd-configuration form[action$='/configuration/change'] button[type=submit]")
        assert answer.value.status == 400
        alert = v.page.inner_text("#cmd-configuration[open] [role=alert]")
        assert alert.startswith("key: ") and "a/b/c" in alert, alert
        # What was typed is still there, and the reason is at the field it names (the other form's fields empty).
        assert v.page.input_value("#config-key") == "a/b/c"
        assert v.page.input_value("#config-value") == "1"
        assert v.page.input_value("#config-keys") == ""
        assert v.page.get_attribute("#config-key", "aria-invalid") == "true"
        assert v.page.get_attribute("#config-key", "aria-describedby") == "e-config-key"
        assert "a/b/c" in v.page.inner_text("#e-config-key")
        assert v.page.get_attribute("#config-value", "aria-invalid") is None
        v.check("station-refused")
        assert len(ch.cp.asked) == before

        # Another organisation's station is not found, for a command as for the page.
        r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(world['station_b'])}/availability",
                                form={"evseId": "0", "operative": "false", "csrf": v.csrf()}, max_redirects=0)
        assert r.status == 404, r.status

        # Every command sent from the page is in the audit log as the operator's.
        log = runner.api_ok("GET", "/audit-log", params={"limit": 500})["items"]
        ops = {e["operation"] for e in log if world["operator"]["id"] in e["actor"]}
        assert {"POST /portal/stations/{id}/configuration/read", "POST /portal/stations/{id}/availability",
                "POST /portal/stations/{id}/start", "POST /portal/stations/{id}/stop",
                "POST /portal/stations/{id}/firmware"} <= ops, ops
    finally:
        v.close()


def test_the_overview_places_each_station_with_coordinates_on_the_map(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "operator-map", world["operator"])
    tiles: list[str] = []

    def offline(route):
        tiles.append(route.request.url)
        route.abort()

    v.context.route(f"{TILES}**", offline)
    station, idle = world["station"], world["idle"]
    try:
        v.switch_to("sv")
        r = v.goto("/portal/stations")
        assert TILES.rstrip("/") in r.headers["content-security-policy"], r.headers["content-security-policy"]
        v.page.wait_for_selector("#map a.map-pin")
        pins = v.page.locator("#map a.map-pin")
        assert pins.count() == 2, v.page.inner_html("#map")[:1000]
        hrefs = {pins.nth(i).get_attribute("href") for i in range(2)}
        assert hrefs == {f"/portal/stations/{quote(station)}", f"/portal/stations/{quote(idle)}"}, hrefs
        # Coloured by state: the charger is connected, the other station never was.
        pin = f"#map a.map-pin[data-station='{station}']"
        assert "s-off" in v.page.get_attribute(f"#map a.map-pin[data-station='{idle}']", "class")
        assert "s-off" not in v.page.get_attribute(pin, "class")
        assert "Kartladdaren – Ansluten" in v.page.get_attribute(pin, "aria-label")
        # The station at a site without coordinates is in the list only.
        assert v.page.locator(f"tr[data-station='{world['elsewhere']}']:not([data-lat])").count() == 1
        # The tiles were asked for (and failed): the markers did not wait for them.
        assert tiles, "no tile was requested"
        v.check("overview-map")

        # Live: a fault turns the marker red without reloading the page.
        world["charger"].status(1, "Faulted")
        v.page.wait_for_function("sel => document.querySelector(sel)?.classList.contains('s-bad')", arg=pin,
                                 timeout=12000)
        # A marker is a link to the station's page.
        v.page.click(pin)
        v.page.wait_for_load_state()
        assert v.page.url.endswith(f"/portal/stations/{quote(station)}"), v.page.url
        # Only the overview lets images come from the tile server.
        r = v.goto(f"/portal/stations/{quote(station)}")
        assert TILES.rstrip("/") not in r.headers["content-security-policy"]
        v.switch_to("en")
        v.goto("/portal/stations")
        v.page.wait_for_selector("#map a.map-pin")
        assert v.page.inner_text("#map-h") == "Map"
        v.check("overview-map")
    finally:
        v.close()


def test_a_viewer_sees_the_events_but_sends_no_command(runner, world, browser):  # noqa: F811
    v = Visit(browser, runner, "viewer-station", world["viewer"])
    station, ch = world["station"], world["charger"]
    try:
        v.goto(f"/portal/stations/{quote(station)}")
        assert v.page.locator("#event-list tr[data-kind=EvBoot]").count() >= 1
        assert v.page.locator("details.command-group").count() == 0
        # A forged command with the viewer's own valid CSRF token: refused like the API route (403).
        before = len(ch.cp.asked)
        for action, form in (("availability", {"evseId": "0", "operative": "false"}),
                             ("configuration/read", {"keys": ""})):
            r = v.page.request.post(f"{runner.base_url}/portal/stations/{quote(station)}/{action}",
                                    form={**form, "csrf": v.csrf()}, max_redirects=0)
            assert r.status == 403, (action, r.status)
        assert len(ch.cp.asked) == before
    finally:
        v.close()


def test_the_map_loads_its_tiles_from_the_configured_tile_server(csms_bin, e2e_tmp, browser):  # noqa: F811
    """CSMS_MAP_TILE_URL and CSMS_MAP_TILE_ATTRIBUTION: the map asks that server for its tiles, shows its owner, and
    the overview's content security policy names that origin instead of OpenStreetMap's."""
    own = "http://127.0.0.1:9"
    env = {"CSMS_MAP_TILE_URL": f"{own}/tiles/{{z}}/{{x}}/{{y}}.png",
           "CSMS_MAP_TILE_ATTRIBUTION": "© Kartverket <test>"}
    with started_runner(csms_bin, e2e_tmp, "test_portal_tiles", extra_env=env) as r:
        site = unique("tiles").lower()
        r.api_ok("POST", "/sites", {"id": site, "name": "Egna kartan", "coordinates": {"lat": 59.33, "lon": 18.07},
                                    "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm"}},
                 status=201)
        r.create_station(unique("TILE"), name="Kartstationen", siteId=site)
        person = r.api_ok("POST", "/users", {"email": f"{unique('map').lower()}@example.se", "name": "Karta",
                                            "password": PASSWORD, "role": "viewer"}, status=201)
        person["password"] = PASSWORD
        v = Visit(browser, r, "viewer-tiles", person)
        tiles: list[str] = []

        def served(route):
            tiles.append(route.request.url)
            route.abort()

        v.context.route(f"{own}/**", served)
        try:
            page = v.goto("/portal/stations")
            csp = page.headers["content-security-policy"]
            assert f"img-src 'self' data: {own};" in csp and "openstreetmap" not in csp, csp
            assert v.page.get_attribute("#map", "data-tiles") == f"{own}/tiles/{{z}}/{{x}}/{{y}}.png"
            v.page.wait_for_selector("#map a.map-pin")
            for _ in range(50):  # route handlers run while Playwright waits
                if tiles:
                    break
                v.page.wait_for_timeout(200)
            assert tiles, "no tile was requested from the configured server"
            assert all(t.startswith(f"{own}/tiles/") for t in tiles), tiles
            # The owner is credited as text, never as markup.
            assert "© Kartverket <test>" in v.page.inner_text("#map .leaflet-control-attribution")
        finally:
            v.close()
