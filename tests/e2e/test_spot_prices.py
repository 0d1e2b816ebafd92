"""Day-ahead spot prices end to end: csms-local fetches them from a fake elprisetjustnu.se on 127.0.0.1.

The fake serves the documented day format (a JSON array of 15-minute slots with local offsets) for
whichever days a test publishes, re-dating the prices of the sample file
`shared/pricing/tests/fixtures/spot/elpris-2025-10-01-SE3.json` onto the requested day (92/96/100 slots on
DST days). The number texts are served exactly as in the sample and must come back digit for digit.

- at start the runner stores today's prices of each configured zone; a restart asks for nothing stored;
- unknown zones and bad dates are 400, a day not stored 404;
- tomorrow missing after the alarm time: an active `spot-missing` alarm and the previous day's prices
  as a fallback; once the source has the day, a run replaces the fallback and resolves the alarm;
- an unreachable source is logged and changes nothing else: the runner keeps serving.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from csms_e2e import free_port, parse_time, poll

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SAMPLE = Path(__file__).resolve().parents[2] / "shared/pricing/tests/fixtures/spot/elpris-2025-10-01-SE3.json"
PATH = re.compile(r"^/api/v1/prices/(\d{4})/(\d{2})-(\d{2})_(SE[1-4])\.json$")


def sample_prices() -> list[str]:
    """The SEK_per_kWh number texts of the sample, exactly as written."""
    entries = json.loads(SAMPLE.read_text(), parse_float=str, parse_int=str)
    return [e["SEK_per_kWh"] for e in entries]


def local_slots(day: date) -> list[tuple[datetime, datetime]]:
    """The quarter-hours of a Stockholm calendar day, as aware local times."""
    start = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM).astimezone(timezone.utc)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=STOCKHOLM).astimezone(timezone.utc)
    out = []
    t = start
    while t < end:
        out.append((t.astimezone(STOCKHOLM), (t + timedelta(minutes=15)).astimezone(STOCKHOLM)))
        t += timedelta(minutes=15)
    return out


def day_prices(day: date, zone: str) -> list[str]:
    """What the fake serves for (day, zone): the sample's prices, shifted per zone so zones differ."""
    prices = sample_prices()
    shift = int(zone[-1])
    return [prices[(i + shift) % len(prices)] for i in range(len(local_slots(day)))]


class FakeElpris:
    """elprisetjustnu.se on 127.0.0.1: 404 for days not published, the day document for the rest."""

    def __init__(self):
        self.published: set[tuple[date, str]] = set()
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with fake.lock:
                    fake.requests[self.path] += 1
                m = PATH.match(self.path)
                if not m:
                    return self.answer(404, "text/plain", "no such file")
                day = date(int(m[1]), int(m[2]), int(m[3]))
                zone = m[4]
                with fake.lock:
                    published = (day, zone) in fake.published
                if not published:
                    return self.answer(404, "text/html", "<html><body>404 Not Found</body></html>")
                entries = [
                    '{"SEK_per_kWh":%s,"EUR_per_kWh":0.01,"EXR":11.0394,"time_start":"%s","time_end":"%s"}'
                    % (price, start.isoformat(), end.isoformat())
                    for price, (start, end) in zip(day_prices(day, zone), local_slots(day))
                ]
                self.answer(200, "application/json", "[" + ",".join(entries) + "]")

            def answer(self, status, content_type, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/v1/prices"

    def publish(self, day: date, *zones: str) -> None:
        with self.lock:
            self.published.update((day, z) for z in zones)

    def asked(self, day: date, zone: str) -> int:
        with self.lock:
            return self.requests[f"/api/v1/prices/{day:%Y/%m-%d}_{zone}.json"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elpris():
    fake = FakeElpris()
    yield fake
    fake.close()


def today() -> date:
    return datetime.now(STOCKHOLM).date()


def stored(runner, zone: str, day: date, timeout: float = 15.0, source: str | None = None) -> dict:
    """Poll until the day is stored (from `source`, when given)."""
    def get():
        r = runner.api("GET", f"/spot-prices/{zone}/{day}")
        if r.status_code != 200:
            return None
        body = r.json()
        return body if source is None or body["source"] == source else None
    return poll(get, timeout=timeout, what=f"{zone} {day} to be stored" + (f" from {source}" if source else ""),
                show=lambda: runner.api("GET", f"/spot-prices/{zone}/{day}").text[:300])


def spot_runner(runner_factory, elpris: FakeElpris, name: str, data_dir=None, **env):
    r = runner_factory(name, data_dir)
    r.extra_env = {
        "CSMS_SPOT_FETCH": "on",  # the suite's runners have it off by default
        "CSMS_ELPRIS_BASE_URL": elpris.base_url,
        "CSMS_SPOT_ZONES": "SE3,SE4",
        **env,
    }
    return r


def assert_day(day: dict, zone: str, d: date, source: str) -> None:
    slots = local_slots(d)
    assert day["zone"] == zone and day["date"] == str(d), day
    assert day["currency"] == "SEK"
    assert day["resolutionMinutes"] == 15
    assert day["source"] == source
    parse_time(day["fetchedAt"])
    assert len(day["slots"]) == len(slots), f"{d} has {len(slots)} quarter-hours in Stockholm"
    for got, (start, end) in zip(day["slots"], slots):
        assert parse_time(got["start"]) == start and parse_time(got["end"]) == end, got


def test_todays_prices_are_stored_at_start_exactly_and_not_asked_for_again(runner_factory, elpris):
    d = today()
    elpris.publish(d, "SE3", "SE4")
    # Tomorrow is not due before 23:59, so only today is asked for.
    r = spot_runner(runner_factory, elpris, "fetch", CSMS_SPOT_PUBLISH_TIME="23:59",
                    CSMS_SPOT_ALARM_TIME="23:59", RUST_LOG="info,csms::spot=debug").start()
    fetched_at = {}
    for zone in ("SE3", "SE4"):
        day = stored(r, zone, d)
        assert_day(day, zone, d, "elprisetjustnu")
        assert day["fallbackRule"] is None
        # Digit for digit the number texts that were served.
        assert [s["price"] for s in day["slots"]] == day_prices(d, zone)
        assert elpris.asked(d, zone) == 1
        fetched_at[zone] = day["fetchedAt"]
    assert r.api_ok("GET", "/alarms", params={"active": "true"})["items"] == []

    # Errors: unknown zone, bad date, not stored, no key.
    assert r.api("GET", f"/spot-prices/SE5/{d}").status_code == 400
    assert r.api("GET", "/spot-prices/SE3/2026-13-01").status_code == 400
    assert r.api("GET", "/alarms", params={"active": "maybe"}).status_code == 400
    missing = r.api("GET", f"/spot-prices/SE3/{d + timedelta(days=30)}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert r.api("GET", f"/spot-prices/SE3/{d}", key=None).status_code == 401

    # A restart runs again at once: what is stored is not asked for again.
    r.stop()
    r.start()
    for zone in ("SE3", "SE4"):
        poll(lambda: f"spot prices {zone} {d}: stored (elprisetjustnu)" in r.log_path.read_text(errors="replace"),
             timeout=15, what=f"the run after the restart to find {zone} stored", show=r.log_tail)
        assert elpris.asked(d, zone) == 1
        assert stored(r, zone, d)["fetchedAt"] == fetched_at[zone]


def test_missing_tomorrow_raises_an_alarm_falls_back_and_recovers(runner_factory, elpris):
    d = today()
    tomorrow = d + timedelta(days=1)
    elpris.publish(d, "SE3", "SE4")
    # Publication and alarm time at midnight: tomorrow is due and late from the first run.
    env = {"CSMS_SPOT_PUBLISH_TIME": "00:00", "CSMS_SPOT_ALARM_TIME": "00:00"}
    r = spot_runner(runner_factory, elpris, "late", **env).start()
    fallback = stored(r, "SE3", tomorrow, source="fallback")
    assert_day(fallback, "SE3", tomorrow, "fallback")
    assert fallback["fallbackRule"] == "previous-day"
    # Copied by local clock time from today (DST days map the repeated or missing hour).
    todays = {parse_time(s["start"]).astimezone(STOCKHOLM).strftime("%H:%M"): s["price"]
              for s in reversed(stored(r, "SE3", d)["slots"])}
    for s in fallback["slots"]:
        clock = parse_time(s["start"]).astimezone(STOCKHOLM)
        assert s["price"] in (todays.get(clock.strftime("%H:%M")),
                              todays.get((clock - timedelta(hours=1)).strftime("%H:%M"))), s

    def active_alarms():
        return {a["id"]: a for a in r.api_ok("GET", "/alarms", params={"active": "true"})["items"]}
    alarms = poll(lambda: (a := active_alarms()) and len(a) == 2 and a, timeout=10, what="two active alarms",
                  show=active_alarms)
    alarm = alarms[f"spot-missing:SE3:{tomorrow}"]
    assert alarm["kind"] == "spotPricesMissing"
    assert alarm["severity"] == "warning"
    assert alarm["active"] is True and alarm["resolvedAt"] is None
    assert alarm["details"]["zone"] == "SE3" and alarm["details"]["date"] == str(tomorrow)
    assert alarm["details"]["copiedFrom"] == str(d)
    assert "not published yet" in alarm["details"]["sources"][0]
    assert f"spot-missing:SE4:{tomorrow}" in alarms

    # The source publishes; the next run (here: the one at restart) replaces the fallback.
    elpris.publish(tomorrow, "SE3", "SE4")
    r.stop()
    r.start()
    real = stored(r, "SE3", tomorrow, source="elprisetjustnu")
    assert_day(real, "SE3", tomorrow, "elprisetjustnu")
    poll(lambda: active_alarms() == {}, timeout=10, what="the alarms to be resolved", show=active_alarms)
    everything = r.api_ok("GET", "/alarms")["items"]
    resolved = next(a for a in everything if a["id"] == f"spot-missing:SE3:{tomorrow}")
    assert resolved["active"] is False
    assert parse_time(resolved["resolvedAt"]) >= parse_time(resolved["raisedAt"])


def test_an_unreachable_source_is_logged_and_nothing_else_happens(runner_factory):
    r = runner_factory("offline")
    r.extra_env = {
        "CSMS_SPOT_FETCH": "on",
        "CSMS_ELPRIS_BASE_URL": f"http://127.0.0.1:{free_port()}/api/v1/prices",
        "CSMS_SPOT_ZONES": "SE1",
        "CSMS_SPOT_FALLBACK": "none",
        # Only today is due.
        "CSMS_SPOT_PUBLISH_TIME": "23:59",
        "CSMS_SPOT_ALARM_TIME": "23:59",
    }
    r.start()
    line = poll(lambda: next((l for l in r.log_path.read_text(errors="replace").splitlines()
                              if "spot prices SE1" in l and "no answer" in l), None),
                timeout=15, what="a warning about the unreachable source", show=r.log_tail)
    assert "WARN" in line
    assert r.api("GET", f"/spot-prices/SE1/{today()}").status_code == 404
    # Today is due at once and nothing can fill it in (rule none): alarmed.
    alarms = r.api_ok("GET", "/alarms", params={"active": "true"})["items"]
    assert [a["id"] for a in alarms] == [f"spot-missing:SE1:{today()}"]
    assert r.running and r.api("GET", "/stations").status_code == 200
