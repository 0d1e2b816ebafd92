"""Issue 19, alarm rules, as `ocpp` library chargers of both versions trigger them, with a short offline grace (3 s)
and a sweep every second: a station that goes away and stays away raises exactly one `stationOffline` alarm and one
signed `alarm.opened` webhook, and its reconnect resolves it (`alarm.resolved`); a station back within the grace
raises nothing; a Faulted status raises `connectorFaulted` with the error code and the vendor's info, and the next
Available resolves it. A station that floods the CSMS with messages raises `messageFlood`, one that connects from more
addresses than its organisation allows raises `stationManyAddresses` (from 127.0.0.2, .3, … on the loopback), and a
load-balanced charger that draws above the TxProfile it accepted raises `profileIgnored`; each resolves by itself
once the window is quiet again, or the charger complies."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import websockets
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import OCPP_RESPONSE_TIMEOUT_S, Charger16, ago, boot_accepted, charger, iso, now_utc, poll, quote, run, started_runner, unique
from test_webhooks import receiver, subscribe, verify  # noqa: F401 (receiver: the module fixture)

VERSIONS = ["1.6", "2.0.1"]
GRACE_S = 3
EVENTS = ["alarm.opened", "alarm.resolved"]


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    env = {"CSMS_OFFLINE_GRACE_SECONDS": str(GRACE_S), "CSMS_MONITOR_SWEEP_SECONDS": "1",
           "CSMS_SESSION_SWEEP_SECONDS": "1"}
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


async def start_backdated(cp, version: str, minutes: int, tx_id: str, tag: str) -> str:
    """A transaction the station started `minutes` ago and kept while offline (a 1.6 StartTransaction is queued as
    it is; a 2.0.1 one says `offline`), without readings since its start: its transaction id."""
    t0 = iso(ago(minutes=minutes))
    if version == "1.6":
        started = await cp.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=1000,
                                                        timestamp=t0))
        return str(started.transaction_id)
    await cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=t0, trigger_reason="Authorized", seq_no=0, offline=True,
        transaction_info={"transaction_id": tx_id, "charging_state": "Charging"},
        evse={"id": 1, "connector_id": 1}, id_token={"id_token": tag, "type": "ISO14443"}))
    return tx_id


async def reading(cp, version: str, tx: str, wh: int) -> None:
    value = [{"timestamp": iso(now_utc()), "sampled_value": [
        {"value": wh, "measurand": "Energy.Active.Import.Register", "unit_of_measure": {"unit": "Wh"}}
        if version == "2.0.1" else
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]
    if version == "1.6":
        await cp.send(call16.MeterValues(connector_id=1, transaction_id=int(tx), meter_value=value))
    else:
        await cp.send(call201.TransactionEvent(
            event_type="Updated", timestamp=iso(now_utc()), trigger_reason="MeterValuePeriodic", seq_no=1,
            transaction_info={"transaction_id": tx}, meter_value=value))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_session_without_readings_is_late_by_the_organisations_threshold_and_a_reading_resolves_it(
        runner, receiver, version):
    """`noMeterValuesMinutes` is the organisation's: a session 40 minutes without a reading raises nothing under a
    threshold of 60, one `noMeterValues` alarm once the threshold is 30 (not one per sweep), and a reading resolves
    it. A 400 names a threshold out of range."""
    tag = unique("W")[:20]
    runner.create_token(tag)
    bad = runner.api("PUT", "/alarm-settings", {"noMeterValuesMinutes": 4})
    assert bad.status_code == 400 and "noMeterValuesMinutes" in bad.text, bad.text
    assert runner.api_ok("PUT", "/alarm-settings", {"noMeterValuesMinutes": 60})["noMeterValuesMinutes"] == 60
    cs = runner.create_station(unique(f"QUIET{version.replace('.', '')}"))["id"]
    path = f"/quiet-{cs}"
    subscribe(runner, receiver.url(path), EVENTS)

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            tx = await start_backdated(cp, version, 40, unique("tx"), tag)
            session = runner.session_for(cs, tx)
            alarm_id = f"no-meter-values:{session['id']}"
            await asyncio.sleep(2.5)  # sweeps under the organisation's 60 minutes
            assert alarm(runner, alarm_id) is None
            runner.api_ok("PUT", "/alarm-settings", {"noMeterValuesMinutes": 30})
            opened = await asyncio.to_thread(
                receiver.wait_for, path, "alarm.opened", lambda e: e["data"]["id"] == alarm_id, timeout=10)
            assert opened["event"]["data"]["kind"] == "noMeterValues", opened
            await asyncio.sleep(2.5)  # more sweeps: the same alarm
            assert alarm(runner, alarm_id)["occurrences"] == 1
            await reading(cp, version, tx, 1500)
            await asyncio.to_thread(
                receiver.wait_for, path, "alarm.resolved", lambda e: e["data"]["id"] == alarm_id, timeout=10)
            return alarm_id

    try:
        alarm_id = run(scenario())
    finally:
        runner.api_ok("PUT", "/alarm-settings", {})
    assert alarm_events(receiver, path, alarm_id) == ["alarm.opened", "alarm.resolved"]
    mine = [e["event"]["data"]["id"] for e in receiver.events(path) if e["event"]["data"]["details"]["stationId"] == cs]
    assert mine == [alarm_id] * 2, "nothing else of the station"


async def status_of(cp, version: str, state: str) -> None:
    """Connector 1 (EVSE 1) reports `state`; 2.0.1 says `Occupied` for every status of a session."""
    if version == "1.6":
        await cp.send(call16.StatusNotification(connector_id=1, status=state, error_code="NoError",
                                                timestamp=iso(now_utc())))
    else:
        state = "Occupied" if state in ("Preparing", "Charging", "Finishing") else state
        await cp.send(call201.StatusNotification(timestamp=iso(now_utc()), connector_status=state,
                                                 evse_id=1, connector_id=1))


async def start_now(cp, version: str, tag: str) -> str:
    if version == "1.6":
        started = await cp.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0,
                                                        timestamp=iso(now_utc())))
        return str(started.transaction_id)
    tx = unique("tx")
    await cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
        transaction_info={"transaction_id": tx, "charging_state": "Charging"},
        evse={"id": 1, "connector_id": 1}, id_token={"id_token": tag, "type": "ISO14443"}))
    return tx


async def stop_now(cp, version: str, tx: str) -> None:
    if version == "1.6":
        await cp.send(call16.StopTransaction(meter_stop=100, timestamp=iso(now_utc()), transaction_id=int(tx),
                                             reason="Local"))
    else:
        await cp.send(call201.TransactionEvent(
            event_type="Ended", timestamp=iso(now_utc()), trigger_reason="EVCommunicationLost", seq_no=2,
            transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"}))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_status_that_contradicts_the_running_session_raises_one_alarm_until_it_is_consistent(
        runner, receiver, version):
    """With `statusContradictsSessionSeconds` 5: a station that says `Unavailable` (then `Reserved`) while its
    transaction runs raises one `statusContradictsSession` alarm after 5 s; 1.6 resolves it by reporting `Charging`
    again, 2.0.1 by ending the session (the sweep sees it ended). A normal session, and one whose `Unavailable`
    comes just before its stop, raise nothing."""
    grace = 5
    runner.api_ok("PUT", "/alarm-settings", {"statusContradictsSessionSeconds": grace})
    tag = unique("S")[:20]
    runner.create_token(tag)
    cs = runner.create_station(unique(f"CONTRA{version.replace('.', '')}"))["id"]
    path = f"/contra-{cs}"
    subscribe(runner, receiver.url(path), EVENTS)
    alarm_id = f"status-contradicts-session:{cs}:1:1"

    def mine():
        return [(e["event"]["type"], e["event"]["data"]["id"]) for e in receiver.events(path)
                if e["event"]["data"]["details"]["stationId"] == cs]

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            # A normal session; its last status change comes just before the stop.
            await status_of(cp, version, "Available")
            await status_of(cp, version, "Preparing")
            tx = await start_now(cp, version, tag)
            await status_of(cp, version, "Charging")
            await asyncio.sleep(1)
            await status_of(cp, version, "Unavailable")
            await asyncio.sleep(1)
            await stop_now(cp, version, tx)
            await status_of(cp, version, "Available")
            await asyncio.sleep(grace + 3)  # past the threshold, several sweeps
            assert mine() == [], mine()

            # A session during which the station says it is unavailable.
            await status_of(cp, version, "Preparing")
            tx = await start_now(cp, version, tag)
            session = runner.session_for(cs, tx)
            await status_of(cp, version, "Charging")
            await status_of(cp, version, "Unavailable")
            said = time.time()
            opened = await asyncio.to_thread(
                receiver.wait_for, path, "alarm.opened", lambda e: e["data"]["id"] == alarm_id, timeout=grace + 10)
            assert time.time() - said >= grace - 0.5, "not before the threshold"
            data = opened["event"]["data"]
            assert data["kind"] == "statusContradictsSession" and data["severity"] == "warning", data
            assert data["details"]["sessionId"] == session["id"] and data["details"]["status"] == "Unavailable", data
            assert data["title"] and data["suggestedAction"], data
            await asyncio.sleep(2)  # more sweeps: the same alarm
            assert alarm(runner, alarm_id)["occurrences"] == 1
            if version == "1.6":
                await status_of(cp, version, "Charging")
            else:
                await stop_now(cp, version, tx)
            await asyncio.to_thread(
                receiver.wait_for, path, "alarm.resolved", lambda e: e["data"]["id"] == alarm_id, timeout=10)
            if version == "1.6":
                await stop_now(cp, version, tx)
            await status_of(cp, version, "Available")

    try:
        run(scenario())
    finally:
        runner.api_ok("PUT", "/alarm-settings", {})
    time.sleep(1.5)
    assert mine() == [("alarm.opened", alarm_id), ("alarm.resolved", alarm_id)], mine()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_station_clock_off_by_ten_minutes_raises_clock_drift_once_and_a_good_clock_resolves_it(
        runner, receiver, version):
    """A station whose StatusNotification (and on 2.0.1 a TransactionEvent that was not offline) is timed 10 minutes
    off raises one `clockDrift` warning, however many such messages follow; a message timed right resolves it. A
    month-old 1.6 StartTransaction, MeterValues and StopTransaction (queued offline, or the demo's replay) and a
    2.0.1 TransactionEvent that says `offline` raise nothing."""
    cs = runner.create_station(unique(f"CLOCK{version.replace('.', '')}"))["id"]
    path = f"/clock-{cs}"
    hook = subscribe(runner, receiver.url(path), EVENTS)
    alarm_id = f"clock-drift:{cs}"
    tag = unique("C")[:20]
    runner.create_token(tag)

    def mine():
        return [(e["event"]["type"], e["event"]["data"]["id"]) for e in receiver.events(path)
                if e["event"]["data"]["details"]["stationId"] == cs]

    async def status(cp, at):
        if version == "1.6":
            await cp.send(call16.StatusNotification(connector_id=1, status="Available", error_code="NoError",
                                                    timestamp=iso(at)))
        else:
            await cp.send(call201.StatusNotification(timestamp=iso(at), connector_status="Available",
                                                     evse_id=1, connector_id=1))

    async def backdated_session(cp):
        month = ago(days=30)
        if version == "1.6":
            tx = (await cp.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0,
                                                        timestamp=iso(month)))).transaction_id
            await cp.send(call16.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
                {"timestamp": iso(month + timedelta(minutes=30)),
                 "sampled_value": [{"value": "3000", "measurand": "Energy.Active.Import.Register"}]}]))
            await cp.send(call16.StopTransaction(meter_stop=6000, timestamp=iso(month + timedelta(hours=1)),
                                                 transaction_id=tx, reason="Local"))
        else:
            tx = unique("tx")
            await cp.send(call201.TransactionEvent(
                event_type="Started", timestamp=iso(month), trigger_reason="Authorized", seq_no=0, offline=True,
                transaction_info={"transaction_id": tx}, evse={"id": 1, "connector_id": 1},
                id_token={"id_token": tag, "type": "ISO14443"}))
            await cp.send(call201.TransactionEvent(
                event_type="Ended", timestamp=iso(month + timedelta(hours=1)), trigger_reason="EVCommunicationLost",
                seq_no=1, offline=True, transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"}))

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            await status(cp, now_utc())
            await backdated_session(cp)
            await asyncio.sleep(1)
            assert mine() == [], mine()
            assert alarm(runner, alarm_id) is None

            if version == "1.6":
                await status(cp, now_utc() + timedelta(minutes=10))
            else:
                tx = unique("tx")
                await cp.send(call201.TransactionEvent(
                    event_type="Started", timestamp=iso(ago(minutes=10)), trigger_reason="Authorized", seq_no=0,
                    offline=False, transaction_info={"transaction_id": tx}, evse={"id": 1, "connector_id": 1},
                    id_token={"id_token": tag, "type": "ISO14443"}))
            opened = await asyncio.to_thread(
                receiver.wait_for, path, "alarm.opened", lambda e: e["data"]["id"] == alarm_id)
            verify(hook["secret"], opened)
            data = opened["event"]["data"]
            assert data["kind"] == "clockDrift" and data["severity"] == "warning", data
            offset = data["details"]["offsetSeconds"]
            assert (offset > 590) if version == "1.6" else (offset < -590), data
            assert "NTP" in data["suggestedAction"], data
            for _ in range(3):  # the clock stays off: nothing new
                await status(cp, now_utc() + (timedelta(minutes=10) if version == "1.6" else -timedelta(minutes=10)))
            await asyncio.sleep(0.5)
            assert alarm(runner, alarm_id)["occurrences"] == 1
            await status(cp, now_utc())  # NTP set
            await asyncio.to_thread(
                receiver.wait_for, path, "alarm.resolved", lambda e: e["data"]["id"] == alarm_id)

    run(scenario())
    time.sleep(0.5)
    assert mine() == [("alarm.opened", alarm_id), ("alarm.resolved", alarm_id)], mine()


def test_a_station_that_floods_the_csms_raises_one_alarm_a_second_burst_repeats_it_and_quiet_resolves_it(runner):
    """An organisation that allows 20 messages within 10 s: a 2.0.1 station that sends 30 heartbeats at once raises
    one `messageFlood` warning (the counting rides on the connection record each message touches anyway), a second
    burst counts on the open alarm, and its first message after a quiet window resolves it."""
    org = runner.create_organisation("org-flood", kind="cpo", legal_name="Brus AB")
    h = {"X-Organisation": org}
    bad = runner.api("PUT", "/alarm-settings", {"messageFlood": {"count": 5, "windowSeconds": 10}}, headers=h)
    assert bad.status_code == 400 and "messageFlood.count" in bad.text, bad.text
    settings = runner.api_ok("PUT", "/alarm-settings", {"messageFlood": {"count": 20, "windowSeconds": 10}},
                             headers=h)
    assert settings["messageFlood"] == {"count": 20, "windowSeconds": 10}, settings
    assert runner.api_ok("GET", "/alarm-settings")["messageFlood"] == {"count": 120, "windowSeconds": 60}
    cs = unique("FLOOD")
    runner.api_ok("POST", "/stations", {"id": cs}, status=201, headers=h)
    alarm_id = f"message-flood:{cs}"

    def get():
        r = runner.api("GET", f"/alarms/{quote(alarm_id)}", headers=h)
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def burst(cp, n: int):
        await asyncio.gather(*(cp.send(call201.Heartbeat()) for _ in range(n)))

    async def scenario():
        async with charger(runner, cs, "2.0.1") as cp:
            await boot_accepted(cp, "2.0.1")
            await burst(cp, 10)
            assert get() is None, "11 messages are within the limit"
            await burst(cp, 20)
            flood = get()
            assert flood and flood["active"] and flood["kind"] == "messageFlood", flood
            assert flood["severity"] == "warning" and flood["occurrences"] == 1, flood
            assert flood["details"]["limit"] == 20 and flood["details"]["messages"] == 21, flood
            assert "HeartbeatInterval" in flood["suggestedAction"], flood
            await burst(cp, 25)
            assert get()["occurrences"] == 2, "a second burst counts on the open alarm"
            await asyncio.sleep(10.5)
            await cp.send(call201.Heartbeat())
            resolved = get()
            assert not resolved["active"] and resolved["resolvedAt"], resolved

    run(scenario())
    assert runner.api("GET", f"/alarms/{quote(alarm_id)}").status_code == 404, "another organisation's alarm"


def test_a_flood_after_a_quiet_period_is_seen_at_the_message_over_the_limit(runner):
    """An organisation that allows 20 messages within 10 s: a 1.6 station that boots, stays quiet for longer than the
    window, then sends heartbeats one after another raises `messageFlood` at the 21st of them — not later, as a
    window counted from the connect would (its average rate hides the burst) — naming 21 messages within less than
    10 s."""
    org = runner.create_organisation("org-flood-quiet", kind="cpo", legal_name="Tyst AB")
    h = {"X-Organisation": org}
    runner.api_ok("PUT", "/alarm-settings", {"messageFlood": {"count": 20, "windowSeconds": 10}}, headers=h)
    cs = unique("QUIET")
    runner.api_ok("POST", "/stations", {"id": cs}, status=201, headers=h)
    alarm_id = f"message-flood:{cs}"

    def get():
        r = runner.api("GET", f"/alarms/{quote(alarm_id)}", headers=h)
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def scenario():
        async with charger(runner, cs, "1.6") as cp:
            await boot_accepted(cp, "1.6")
            await asyncio.sleep(10.5)
            for _ in range(20):
                await cp.send(call16.Heartbeat())
            assert get() is None, "20 messages are within the limit"
            await cp.send(call16.Heartbeat())
            flood = get()
            assert flood and flood["active"] and flood["occurrences"] == 1, flood
            assert flood["details"]["messages"] == 21, flood
            assert flood["details"]["withinMilliseconds"] < 10_000, flood

    run(scenario())


def test_a_station_connecting_from_more_addresses_than_allowed_raises_one_alarm_until_the_window_passes(runner):
    """An organisation that allows 2 addresses within 10 s: a 1.6 station that connects from 127.0.0.1, .2, .3 and .4
    raises one critical `stationManyAddresses` alarm on the third address with the addresses as evidence, the
    fourth counts on it, and the sweep resolves it once the window ending now holds no more than 2."""
    org = runner.create_organisation("org-addr", kind="cpo", legal_name="Adress AB")
    h = {"X-Organisation": org}
    runner.api_ok("PUT", "/alarm-settings", {"manyAddresses": {"count": 2, "windowSeconds": 10}}, headers=h)
    assert runner.api_ok("GET", "/alarm-settings")["manyAddresses"] == {"count": 3, "windowSeconds": 86400}
    cs = unique("ADDR")
    runner.api_ok("POST", "/stations", {"id": cs}, status=201, headers=h)
    alarm_id = f"station-addresses:{cs}"

    def get():
        r = runner.api("GET", f"/alarms/{quote(alarm_id)}", headers=h)
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def visit(source: str):
        ws = await websockets.connect(runner.ws_url(cs), subprotocols=["ocpp1.6"], open_timeout=10,
                                      close_timeout=5, local_addr=(source, 0))
        cp = Charger16(cs, ws, response_timeout=OCPP_RESPONSE_TIMEOUT_S)
        task = asyncio.create_task(cp.start())
        try:
            await boot_accepted(cp, "1.6")
        finally:
            task.cancel()
            await ws.close()

    for source in ["127.0.0.1", "127.0.0.2", "127.0.0.2"]:
        run(visit(source))
    assert get() is None, "two addresses are allowed"
    run(visit("127.0.0.3"))
    raised = get()
    assert raised and raised["active"] and raised["kind"] == "stationManyAddresses", raised
    assert raised["severity"] == "critical" and raised["occurrences"] == 1, raised
    assert [a["address"] for a in raised["details"]["addresses"]] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"], raised
    assert "password" in raised["suggestedAction"], raised
    run(visit("127.0.0.4"))
    assert get()["occurrences"] == 2, "a fourth address counts on the open alarm"
    resolved = poll(lambda: (a := get()) and not a["active"] and a, timeout=15)
    assert resolved["resolvedAt"], resolved


def test_a_charger_that_draws_above_its_accepted_profile_raises_profile_ignored_until_it_complies(runner):
    """A static site that holds a 1.6 charger to 16 A (TxProfile accepted), an organisation tolerance of 0 % + 1 A for
    10 s: the car reporting 24 A per phase for 10 s raises one `profileIgnored` warning with the limit and the
    readings, a later reading over the limit repeats on it with its value, and a reading of 15 A resolves it; 15 A
    with a Power.Active.Import of 16 kW for 10 s raises it again, by power."""
    from test_load_balancing import Site, connect, draw, settled, start

    site_id = unique("PIGN")
    cs = unique("PIGN")
    runner.create_station(cs, siteId=site_id)
    runner.create_token("PIGN-TAG")
    runner.api_ok("PUT", f"/sites/{site_id}/load", {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32}, "mode": "static",
        "evses": [{"stationId": cs, "evseId": 1, "maxA": 16}]})
    bad = runner.api("PUT", "/alarm-settings", {"profileIgnored": {"percent": 0, "amps": 0, "seconds": 10}})
    assert bad.status_code == 400 and "profileIgnored.amps" in bad.text, bad.text
    runner.api_ok("PUT", "/alarm-settings", {"profileIgnored": {"percent": 0, "amps": 1, "seconds": 10}})
    alarm_id = f"profile-ignored:{cs}:1"

    async def scenario():
        site = Site()
        cp = await connect(runner, site, cs, "1.6")
        try:
            await start(cp, "PIGN-TAG")
            await settled(runner, site_id, site, {cs: Decimal(16)}, "the TxProfile of 16 A")
            await draw(cp, "24.0")
            await asyncio.sleep(1)
            assert alarm(runner, alarm_id) is None, "over, not yet for 10 s"
            await asyncio.sleep(9.5)
            await draw(cp, "23.5")
            raised = await asyncio.to_thread(poll, lambda: alarm(runner, alarm_id), timeout=10, what="the alarm")
            assert raised["active"] and raised["kind"] == "profileIgnored", raised
            assert raised["severity"] == "warning", raised
            assert Decimal(raised["details"]["limitA"]) == 16, raised
            assert Decimal(raised["details"]["measuredA"][0]) == Decimal("23.5"), raised
            await draw(cp, "25.0")
            repeated = await asyncio.to_thread(
                poll, lambda: (a := alarm(runner, alarm_id)) and a["occurrences"] >= 2 and a, timeout=10,
                what="a repeat")
            assert Decimal(repeated["details"]["measuredA"][0]) == 25, "the latest reading as evidence"
            await draw(cp, "15.0")
            resolved = await asyncio.to_thread(
                poll, lambda: (a := alarm(runner, alarm_id)) and not a["active"] and a, timeout=10,
                what="the resolution")
            assert resolved["resolvedAt"], resolved
            assert raised["details"]["purpose"] == "TxProfile", raised

            # Power alone: 15 A is within the limit, 16 kW is over its watts (16 A × phases × 230 V) for 10 s.
            async def draw_power(watts: str):
                sampled = [{"value": "15.0", "measurand": "Current.Import", "phase": p, "unit": "A"}
                           for p in ("L1", "L2", "L3")]
                sampled.append({"value": watts, "measurand": "Power.Active.Import", "unit": "W"})
                await cp.send(call16.MeterValues(connector_id=1, transaction_id=int(cp.transaction),
                                                 meter_value=[{"timestamp": iso(now_utc()), "sampled_value": sampled}]))

            await draw_power("16000")
            await asyncio.sleep(10.5)
            await draw_power("16000")
            again = await asyncio.to_thread(
                poll, lambda: (a := alarm(runner, alarm_id)) and a["active"] and a, timeout=10,
                what="the alarm by power")
            assert Decimal(again["details"]["measuredW"]) == 16000, again
            assert Decimal(again["details"]["limitW"]) == 16 * 230 * again["details"]["phases"], again
        finally:
            cp.task.cancel()
            await cp.ws.close()

    run(scenario(), timeout=90)
