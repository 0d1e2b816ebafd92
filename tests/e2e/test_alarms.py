"""Issue 19, alarm rules, as `ocpp` library chargers of both versions trigger them, with a short offline grace (3 s)
and a sweep every second: a station that goes away and stays away raises exactly one `stationOffline` alarm and one
signed `alarm.opened` webhook, and its reconnect resolves it (`alarm.resolved`); a station back within the grace
raises nothing; a Faulted status raises `connectorFaulted` with the error code and the vendor's info, and the next
Available resolves it."""

from __future__ import annotations

import asyncio
import time

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import boot_accepted, charger, iso, now_utc, quote, run, started_runner, unique
from test_webhooks import receiver, subscribe, verify  # noqa: F401 (receiver: the module fixture)

VERSIONS = ["1.6", "2.0.1"]
GRACE_S = 3
EVENTS = ["alarm.opened", "alarm.resolved"]


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    env = {"CSMS_OFFLINE_GRACE_SECONDS": str(GRACE_S), "CSMS_MONITOR_SWEEP_SECONDS": "1"}
    with started_runner(csms_bin, e2e_tmp, "test_alarms", extra_env=env) as r:
        yield r


def alarm(runner, alarm_id: str):
    r = runner.api("GET", f"/alarms/{quote(alarm_id)}")
    assert r.status_code in (200, 404), r.text
    return r.json() if r.status_code == 200 else None


def alarm_events(receiver, path: str, alarm_id: str) -> list[str]:
    return [r["event"]["type"] for r in receiver.events(path)
            if r["event"]["data"]["id"] == alarm_id and r["answered"] == 200]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_station_away_past_the_grace_raises_one_alarm_and_its_return_resolves_it(runner, receiver, version):
    cs = runner.create_station(unique(f"OFF{version.replace('.', '')}"))["id"]
    path = f"/offline-{cs}"
    hook = subscribe(runner, receiver.url(path), EVENTS)
    alarm_id = f"station-offline:{cs}"

    async def visit():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)

    run(visit())
    left = time.time()
    opened = receiver.wait_for(path, "alarm.opened", lambda e: e["data"]["id"] == alarm_id,
                               timeout=GRACE_S + 15)
    assert time.time() - left >= GRACE_S - 0.5, "not before the grace"
    verify(hook["secret"], opened)
    data = opened["event"]["data"]
    assert data["kind"] == "stationOffline" and data["severity"] == "critical", data
    assert data["details"]["stationId"] == cs and data["details"]["disconnectedAt"], data
    assert data["details"]["lastMessageAt"] is not None, data
    assert data["title"] == f"Station {cs} offline" and data["suggestedAction"], data
    a = alarm(runner, alarm_id)
    assert a["active"] is True and a["occurrences"] == 1, a
    time.sleep(2.5)  # more sweeps: still one alarm, one event

    run(visit())
    resolved = receiver.wait_for(path, "alarm.resolved", lambda e: e["data"]["id"] == alarm_id, timeout=10)
    verify(hook["secret"], resolved)
    assert resolved["event"]["data"]["active"] is False
    # It went away again after the visit: a second, fresh alarm later; the first pair was told once each.
    receiver.wait_for(path, "alarm.opened",
                      lambda e: e["data"]["id"] == alarm_id and e["data"]["raisedAt"] != data["raisedAt"],
                      timeout=GRACE_S + 15)
    assert alarm_events(receiver, path, alarm_id) == ["alarm.opened", "alarm.resolved", "alarm.opened"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_station_back_within_the_grace_raises_nothing(runner, receiver, version):
    cs = runner.create_station(unique(f"BACK{version.replace('.', '')}"))["id"]
    path = f"/back-{cs}"
    subscribe(runner, receiver.url(path), EVENTS)

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
        await asyncio.sleep(1)  # a reboot
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            await asyncio.sleep(GRACE_S + 3)  # several sweeps past the grace while it is back
            assert alarm(runner, f"station-offline:{cs}") is None
            # Every hook of the organisation hears every alarm: this station's only.
            assert [r for r in receiver.events(path) if r["event"]["data"]["details"]["stationId"] == cs] == []

    run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_faulted_connector_raises_its_error_code_and_available_resolves_it(runner, receiver, version):
    cs = runner.create_station(unique(f"FLT{version.replace('.', '')}"))["id"]
    path = f"/fault-{cs}"
    hook = subscribe(runner, receiver.url(path), EVENTS)
    alarm_id = f"connector-faulted:{cs}:1:1"

    async def status(cp, state: str):
        if version == "1.6":
            await cp.send(call16.StatusNotification(
                connector_id=1, status=state, error_code="GroundFailure" if state == "Faulted" else "NoError",
                info="RCD tripped" if state == "Faulted" else None,
                vendor_error_code="E42" if state == "Faulted" else None))
        else:
            await cp.send(call201.StatusNotification(
                timestamp=iso(now_utc()), connector_status=state, evse_id=1, connector_id=1))

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            await status(cp, "Available")
            await status(cp, "Faulted")
            await status(cp, "Faulted")  # the same fault again: nothing new
            opened = await asyncio.to_thread(
                receiver.wait_for, path, "alarm.opened", lambda e: e["data"]["id"] == alarm_id)
            a = alarm(runner, alarm_id)
            assert a["active"] is True and a["kind"] == "connectorFaulted" and a["occurrences"] == 1, a
            if version == "1.6":
                assert a["details"]["errorCode"] == "GroundFailure", a
                assert a["details"]["info"] == "RCD tripped (vendor error E42)", a
            await asyncio.sleep(0.2)
            await status(cp, "Available")
            resolved = await asyncio.to_thread(
                receiver.wait_for, path, "alarm.resolved", lambda e: e["data"]["id"] == alarm_id)
            # Still connected, so the station raises nothing else.
            return opened, resolved

    opened, resolved = run(scenario())
    verify(hook["secret"], opened)
    verify(hook["secret"], resolved)
    assert alarm(runner, alarm_id)["active"] is False
    time.sleep(0.5)
    assert alarm_events(receiver, path, alarm_id) == ["alarm.opened", "alarm.resolved"]


def test_the_people_on_duty_are_mailed_once_when_an_alarm_opens_and_resolves(runner):
    """The organisation's alarm settings name who is mailed: a fault mails them once when it opens (not on the repeat)
    and once when it clears; a recipient of critical alarms only hears nothing of a warning."""
    on_duty = f"{unique('jour').lower()}@example.se"
    critical_only = f"{unique('chef').lower()}@example.se"
    settings = runner.api_ok("PUT", "/alarm-settings", {"notify": [
        {"email": on_duty, "minSeverity": "warning", "language": "en"},
        {"email": critical_only, "minSeverity": "critical"},
    ]})
    assert [r["email"] for r in settings["notify"]] == [on_duty, critical_only]
    cs = runner.create_station(unique("MAIL"))["id"]
    alarm_id = f"connector-faulted:{cs}:1:1"

    async def status(cp, state: str):
        await cp.send(call16.StatusNotification(
            connector_id=1, status=state, error_code="GroundFailure" if state == "Faulted" else "NoError"))

    def mails_to(address: str, count: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while True:
            got = [m for m in runner.api_ok("GET", "/outbox", params={"limit": 500})["items"] if m["to"] == address]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    async def scenario():
        async with charger(runner, cs, "1.6") as cp:
            await boot_accepted(cp, "1.6")
            await status(cp, "Available")
            await status(cp, "Faulted")
            await status(cp, "Faulted")
            opened = await asyncio.to_thread(mails_to, on_duty, 1)
            assert [m["kind"] for m in opened] == ["alarmOpened"], opened
            await status(cp, "Available")
            return await asyncio.to_thread(mails_to, on_duty, 2)

    mails = run(scenario())
    severity = alarm(runner, alarm_id)["severity"]
    time.sleep(0.5)
    mails = mails_to(on_duty, 2)
    assert [m["kind"] for m in mails] == ["alarmResolved", "alarmOpened"], mails
    assert mails[1]["subject"].endswith(alarm(runner, alarm_id)["title"]), mails
    others = mails_to(critical_only, 0)
    assert others == [] if severity == "warning" else len(others) == 2, (severity, others)
    runner.api_ok("PUT", "/alarm-settings", {})


def churn_organisation(runner) -> str:
    return runner.create_organisation("org-churn", kind="cpo", legal_name="Omstart AB")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_station_that_keeps_reconnecting_and_booting_raises_flapping_and_a_boot_loop_once(runner, version):
    org = churn_organisation(runner)
    h = {"X-Organisation": org}
    bad = runner.api("PUT", "/alarm-settings", {"flapping": {"count": 2, "windowSeconds": 60}}, headers=h)
    assert bad.status_code == 400 and "flapping.count" in bad.text, bad.text
    settings = runner.api_ok("PUT", "/alarm-settings", {
        "flapping": {"count": 3, "windowSeconds": 60}, "bootLoop": {"count": 3, "windowSeconds": 60},
    }, headers=h)
    assert settings["flapping"] == {"count": 3, "windowSeconds": 60}, settings
    # The default organisation keeps the platform's thresholds.
    assert runner.api_ok("GET", "/alarm-settings")["flapping"] == {"count": 6, "windowSeconds": 3600}
    cs = unique(f"CHURN{version.replace('.', '')}")
    runner.api_ok("POST", "/stations", {"id": cs}, status=201, headers=h)

    def get(alarm_id: str):
        r = runner.api("GET", f"/alarms/{quote(alarm_id)}", headers=h)
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def visit():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)

    for n in range(2):
        run(visit())
    assert get(f"station-flapping:{cs}") is None and get(f"station-boot-loop:{cs}") is None, "2 of 3"
    run(visit())
    flapping = get(f"station-flapping:{cs}")
    assert flapping and flapping["active"] and flapping["kind"] == "stationFlapping", flapping
    assert flapping["severity"] == "warning" and len(flapping["details"]["connects"]) == 3, flapping
    assert flapping["title"] == f"Station {cs} keeps reconnecting", flapping
    loop = get(f"station-boot-loop:{cs}")
    assert loop and loop["active"] and loop["kind"] == "stationBootLoop", loop
    assert loop["severity"] == "critical" and len(loop["details"]["boots"]) == 3, loop
    assert loop["details"]["model"].startswith("E2E"), loop
    run(visit())
    assert get(f"station-flapping:{cs}")["occurrences"] == 2, "a repeat counts on the open alarm"
    assert get(f"station-boot-loop:{cs}")["occurrences"] == 2
    # Another organisation sees none of it.
    assert runner.api("GET", f"/alarms/{quote('station-flapping:' + cs)}").status_code == 404
