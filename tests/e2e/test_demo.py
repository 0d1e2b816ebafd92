"""Issue 20.6, the demo from the outside: `csms-local --demo` on a fresh data dir seeds two organisations and runs a
simulated charger per station. The people it prints sign in (API and portal); each organisation's admin sees its own
stations connected and none of the other's; a month of back-dated sessions is there, priced and spread over the
days; a live session starts and meters within seconds; a restart with the same data dir seeds nothing twice and the
chargers come back."""

from __future__ import annotations

import re
import time
from collections import Counter
from decimal import Decimal

import requests

from csms_e2e import Runner, new_data_dir, parse_time, poll, quote, remove_tree, now_utc

SOLROSEN, VOLTWAY = "brf-solrosen", "voltway"
READY = "demo: seeded and all chargers connected"
# A table row: e-mail, password, role, organisation(s).
ROW = re.compile(r"^\s+(\S+@\S+)\s+(demo-\S+)\s+(orgAdmin|operator|driver)\s+(.+?)\s*$")
ORG_NAMES = {"BRF Solrosen": SOLROSEN, "Voltway Charging AB": VOLTWAY}
# Fast enough for a test: a live session every 2 s, metering every 2 s.
ENV = {"CSMS_DEMO_SESSION_EVERY_SECONDS": "2"}


class Person:
    """A signed-in person: the API with their session cookie and CSRF token (a browser tab)."""

    def __init__(self, runner: Runner, email: str, password: str):
        self.base = runner.base_url
        self.http = requests.Session()
        r = self.http.post(f"{self.base}/api/v1/auth/sign-in", json={"email": email, "password": password},
                           timeout=10)
        assert r.status_code == 200, f"{email} cannot sign in with the printed password: {r.status_code} {r.text}"
        self.csrf = r.json()["csrfToken"]

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.base}/api/v1{path}", params=params or None, timeout=10)

    def ok(self, path: str, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, f"GET {path} -> {r.status_code}: {r.text[:300]}"
        return r.json()

    def all(self, path: str, **params) -> list[dict]:
        items, cursor = [], None
        for _ in range(50):
            page = self.ok(path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return items
        raise AssertionError(f"{path}: the cursor never ends")


def printed_people(runner: Runner) -> list[tuple[str, str, str, list[str]]]:
    """The demo's table of people from the runner's log: (e-mail, password, role, organisation ids)."""
    rows = []
    for line in runner.log_path.read_text("utf-8", "replace").splitlines():
        m = ROW.match(line)
        if m:
            orgs = [ORG_NAMES[o.strip()] for o in m.group(4).split(" + ")]
            rows.append((m.group(1), m.group(2), m.group(3), orgs))
    return rows


def wait_ready(runner: Runner, timeout: float) -> float:
    """Seconds until the demo logs that it is seeded and every charger is connected."""
    began = time.monotonic()
    poll(lambda: READY in runner.log_path.read_text("utf-8", "replace"), timeout=timeout, interval=0.2,
         what="the demo to be seeded and its chargers connected", show=lambda: runner.log_tail(30))
    return time.monotonic() - began


def stations_connected(person: Person, expected: set[str]) -> list[dict]:
    def ready():
        items = person.ok("/stations")["items"]
        ids = {s["id"] for s in items}
        assert ids == expected, f"stations {ids}, expected {expected}"
        return items if all(s["connected"] for s in items) else None
    return poll(ready, timeout=30, interval=0.5, what=f"stations {sorted(expected)} connected",
                show=lambda: [(s["id"], s["connected"]) for s in person.ok("/stations")["items"]])


def counts(runner: Runner) -> dict:
    """What the demo seeds, counted by the platform admin, per organisation."""
    out = {"organisations": Counter(o["id"] for o in runner.api_ok("GET", "/organisations",
                                                                     params={"limit": 500})["items"])}
    for org in (SOLROSEN, VOLTWAY):
        h = {"X-Organisation": org}
        for what in ("/sites", "/stations", "/users", "/id-tokens", "/tariffs", "/tariff-assignments"):
            out[(org, what)] = len(runner.api_ok("GET", what, params={"limit": 500}, headers=h)["items"])
    return out


def old_sessions(person: Person) -> set[str]:
    """Ids of the sessions that ended more than ten minutes before the demo's first start (the replayed month)."""
    cutoff = now_utc().timestamp() - 600
    return {s["id"] for s in person.all("/sessions")
            if s["status"] == "completed" and parse_time(s["endedAt"]).timestamp() < cutoff}


def test_the_demo_seeds_a_living_portal_once(csms_bin, e2e_tmp):
    data = new_data_dir(e2e_tmp, "demo")
    runner = Runner(csms_bin, data, e2e_tmp / "logs", name="demo", extra_env=ENV, args=["--demo"])
    try:
        began = time.monotonic()
        runner.start()
        wait_ready(runner, timeout=120)
        seeded_in = time.monotonic() - began
        print(f"\ndemo: from start to seeded and all chargers connected: {seeded_in:.1f} s")

        people = printed_people(runner)
        assert len(people) == 9, runner.log_tail(40)
        assert f"{runner.base_url}/portal/" in runner.log_path.read_text(), "the portal's address is printed"
        signed = {}
        for email, password, role, orgs in people:
            p = Person(runner, email, password)
            me = p.ok("/auth/me")["user"]
            assert {(m["organisationId"], m["role"]) for m in me["memberships"]} == {(o, role) for o in orgs}, me
            signed[email] = p
        admins = {orgs[0]: signed[email] for email, _, role, orgs in people if role == "orgAdmin"}
        drivers = {email: (signed[email], orgs) for email, _, role, orgs in people if role == "driver"}
        assert set(admins) == {SOLROSEN, VOLTWAY}
        assert any(len(orgs) == 2 for _, orgs in drivers.values()), "one driver is in both organisations"

        # Each admin: their organisation, their sites in Sweden, their stations connected — and nothing of the other.
        expected = {SOLROSEN: {"SOLROSEN-G1", "SOLROSEN-G2", "SOLROSEN-P1"},
                    VOLTWAY: {"VOLTWAY-K1", "VOLTWAY-K2", "VOLTWAY-U1"}}
        for org, admin in admins.items():
            other = VOLTWAY if org == SOLROSEN else SOLROSEN
            assert [o["id"] for o in admin.ok("/organisations")["items"]] == [org]
            sites = admin.ok("/sites")["items"]
            assert len(sites) == 2 and all(s["timeZone"] == "Europe/Stockholm" and s["biddingZone"] == "SE3"
                                           and 55 < s["coordinates"]["lat"] < 70 for s in sites), sites
            stations = stations_connected(admin, expected[org])
            assert {s["ocppVersion"] for s in stations} == {"1.6", "2.0.1"}, stations
            for theirs in expected[other]:
                assert admin.get(f"/stations/{theirs}").status_code == 404
            r = admin.http.get(f"{runner.base_url}/api/v1/stations", headers={"X-Organisation": other}, timeout=10)
            assert r.status_code == 404, r.text
            page = admin.http.get(f"{runner.base_url}/portal/stations", timeout=10)
            assert page.status_code == 200, page.text[:500]
            assert all(s in page.text for s in expected[org]), "the overview lists the organisation's stations"
            assert not any(s in page.text for s in expected[other]), "and none of the other's"

        # The month: completed sessions spread over the days, each priced, with the charger's own timestamps.
        for org, admin in admins.items():
            old = [s for s in admin.all("/sessions") if s["status"] == "completed"
                   and (now_utc() - parse_time(s["endedAt"])).total_seconds() > 600]
            assert len(old) >= 80, f"{org}: {len(old)} past sessions"
            days = {parse_time(s["startedAt"]).date() for s in old}
            assert len(days) >= 20, f"{org}: sessions on {len(days)} days only"
            assert min(parse_time(s["startedAt"]) for s in old).timestamp() < now_utc().timestamp() - 25 * 86400
            assert {s["stationId"] for s in old} == expected[org]
            assert not any(s["chargerClockReplaced"] for s in old), "the charger's timestamps are kept"
            for s in old:
                assert s["energyWh"] and float(s["energyWh"]) > 0, s

            def all_priced():
                missing = [s["id"] for s in old if admin.get(f"/sessions/{quote(s['id'])}/price").status_code != 200]
                return not missing or None
            poll(all_priced, timeout=60, interval=1, what=f"every past session of {org} priced")
            for s in old[:20]:
                price = admin.ok(f"/sessions/{quote(s['id'])}/price")
                assert price["currency"] == "SEK" and Decimal(price["gross"]) > 0, price
                assert [l["kind"] for l in price["lines"]][:1] == ["energy"], price

        # Drivers see their own sessions; the driver of both organisations has some at each.
        for email, (driver, orgs) in drivers.items():
            mine = driver.all("/me/sessions")
            assert mine, f"{email} has no sessions"
            prefixes = {s["stationId"].split("-")[0] for s in mine}
            assert prefixes == {{SOLROSEN: "SOLROSEN", VOLTWAY: "VOLTWAY"}[o] for o in orgs}, (email, prefixes)
            assert driver.get("/stations").status_code == 403, "a driver reads no stations"

        # Live: sessions start and meter within seconds.
        def live():
            for admin in admins.values():
                for s in admin.ok("/sessions", limit=50)["items"]:
                    if s["status"] == "active":
                        values = admin.ok(f"/sessions/{quote(s['id'])}/meter-values")["items"]
                        if any(v["measurand"] == "Power.Active.Import" and v["value"] > 0 for v in values):
                            return s
            return None
        poll(live, timeout=30, interval=0.5, what="a live session with power readings")

        # The chargers answer the commands the portal and the API send, in both versions: an operator's session.
        operator = next(signed[e] for e, _, role, orgs in people if role == "operator" and orgs == [VOLTWAY])
        since = {s: operator.ok(f"/stations/{s}")["connectedSince"] for s in ("VOLTWAY-U1", "VOLTWAY-K2")}
        for station, version in (("VOLTWAY-U1", "1.6"), ("VOLTWAY-K2", "2.0.1")):
            key = ({"variable": "HeartbeatInterval"} if version == "1.6"
                   else {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"})
            for body in ({"type": "getConfiguration", "keys": [key]},
                         {"type": "changeConfiguration", "key": key, "value": "120"},
                         {"type": "changeAvailability", "evseId": 2, "operative": False},
                         {"type": "changeAvailability", "evseId": 2, "operative": True},
                         {"type": "triggerMessage", "message": "StatusNotification", "evseId": 1},
                         {"type": "unlock", "evseId": 1},
                         {"type": "clearCache"},
                         {"type": "reset"}):
                r = operator.http.post(f"{runner.base_url}/api/v1/stations/{station}/commands", params={"wait": 10},
                                       json=body, headers={"X-CSRF-Token": operator.csrf}, timeout=20)
                assert r.status_code == 200 and r.json()["status"] == "accepted", (station, body, r.text[:500])
            if version == "1.6":
                got = operator.ok(f"/commands/{r.json()['id']}")
                assert got["status"] == "accepted", got
        # After the resets the chargers close their sockets and dial again.
        for station, was in since.items():
            poll(lambda: (lambda v: v["connected"] and v["connectedSince"] != was)(operator.ok(f"/stations/{station}")),
                 timeout=20, interval=0.3, what=f"{station} connected again after its reset")
        poll(lambda: all(c["status"] != "Unavailable" for e in operator.ok("/stations/VOLTWAY-U1")["evses"]
                         for c in e["connectors"]), timeout=15, what="VOLTWAY-U1's connectors operative again")

        before = counts(runner)
        history = {org: old_sessions(a) for org, a in admins.items()}
        runner.stop(check=True)

        # A second start: nothing seeded twice, the chargers come back, the month is the same month.
        runner.start()
        wait_ready(runner, timeout=60)
        assert "demo: the organisations exist already; nothing seeded" in runner.log_path.read_text()
        assert counts(runner) == before
        assert before["organisations"][SOLROSEN] == 1 and before["organisations"][VOLTWAY] == 1
        again = {org: Person(runner, email, pw) for email, pw, role, orgs in people if role == "orgAdmin"
                 for org in orgs}
        for org, admin in again.items():
            stations_connected(admin, expected[org])
            assert old_sessions(admin) == history[org], f"{org}: the replayed month changed on restart"
        runner.stop(check=True)
    finally:
        runner.discard()
        remove_tree(data)
